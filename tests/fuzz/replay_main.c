/* replay_main.c: runs files through LLVMFuzzerTestOneInput without
 * libFuzzer, for compilers that lack it and for the ctest that replays the
 * seed corpus (and any crash reproducer) on every build.
 * Usage: fuzz_proto_replay FILE|DIR... ; exits non-zero if nothing ran. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (16 * 1024 * 1024)

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    uint8_t *buf = malloc(REPLAY_MAX_INPUT);
    if (buf == NULL) {
        fclose(f);
        return -1;
    }
    size_t n = fread(buf, 1, REPLAY_MAX_INPUT, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        fprintf(stderr, "%s: read error\n", path);
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int run_path(const char *path, int *ran)
{
    struct stat st;
    if (stat(path, &st) == -1) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (run_file(path) == -1) return -1;
        (*ran)++;
        return 0;
    }
    DIR *d = opendir(path);
    if (d == NULL) {
        perror(path);
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && rc == 0) {
        if (de->d_name[0] == '.') continue;
        char child[4096];
        int len = snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
        if (len < 0 || (size_t)len >= sizeof(child)) continue;
        rc = run_path(child, ran);
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    int ran = 0;
    for (int i = 1; i < argc; i++)
        if (run_path(argv[i], &ran) == -1) return 1;
    printf("replayed %d input(s)\n", ran);
    return ran > 0 ? 0 : 1;
}
