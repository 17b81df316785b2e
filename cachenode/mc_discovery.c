/* mc_discovery.c: ElastiCache Auto Discovery. The node serves its
 * cluster's node list to "config get cluster" (and "get
 * AmazonElastiCache:cluster"); the agent gives it the list in the file
 * named by --discovery-file, which is read at start-up, on SIGHUP and when
 * its stat changes (the main thread looks once a second). The file is
 *     [<version>\n]<host>|<ip>|<port>[ <host>|<ip>|<port> ...]\n
 * With a version line the version is the agent's, and must rise whenever
 * the list changes; without one the node numbers the lists it has seen
 * (1, 2, ...). Either way the version changes only when the list does; a
 * file that does not parse is refused (logged) and the last good list
 * stays. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "mc.h"
#include "server.h"

#define DISCOVERY_MAX (64 * 1024)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *list;        /* the current list, without its newline */
static uint64_t version;  /* 0 until a list was loaded */
static struct stat seen;  /* the file as last read */
static int seen_valid;

/* host|ip|port, space-separated; hosts and addresses of printable
 * characters without spaces or bars. */
static int list_valid(const char *s)
{
    if (!*s) return 0;
    for (;;) {
        for (int field = 0; field < 2; field++) {
            while (*s > ' ' && *s < 127 && *s != '|') s++;
            if (*s++ != '|') return 0;
        }
        long port = 0;
        const char *digits = s;
        while (*s >= '0' && *s <= '9' && port <= 65535) port = port * 10 + (*s++ - '0');
        if (s == digits || port < 1 || port > 65535) return 0;
        if (*s == '\0') return 1;
        if (*s++ != ' ' || *s == '\0') return 0;
    }
}

/* Splits the file's text into an optional version and the list; -1 when it
 * does not parse. */
static int parse_file(char *text, uint64_t *file_version, char **file_list)
{
    char *nl = strchr(text, '\n');
    char *second = nl ? nl + 1 : NULL;
    if (nl) *nl = '\0';
    size_t l = strlen(text);
    if (l && text[l - 1] == '\r') text[--l] = '\0';
    *file_version = 0;
    if (second && *second) { /* two lines: version, then list */
        if (mc_strtoull(text, file_version) == -1 || *file_version == 0 || strchr(text, ' ')) return -1;
        char *end = strchr(second, '\n');
        if (end) {
            if (end[1] != '\0') return -1;
            *end = '\0';
        }
        l = strlen(second);
        if (l && second[l - 1] == '\r') second[--l] = '\0';
        text = second;
    }
    if (!list_valid(text)) return -1;
    *file_list = text;
    return 0;
}

static int apply(uint64_t file_version, const char *file_list, const char *path)
{
    int same = list && strcmp(list, file_list) == 0;
    if (same) return 0; /* the version moves only with the list */
    if (file_version && file_version <= version) {
        log_msg(LOG_WARNING, "Discovery file %s: version %llu is not above %llu for a new list; ignored",
                path, (unsigned long long)file_version, (unsigned long long)version);
        return -1;
    }
    char *copy = strdup(file_list);
    if (!copy) return -1;
    free(list);
    list = copy;
    version = file_version ? file_version : version + 1;
    log_msg(LOG_NOTICE, "Discovery list version %llu: %s", (unsigned long long)version, list);
    return 0;
}

int mc_discovery_reload(void)
{
    const char *path = server.mc_discovery_file;
    if (!path || !path[0]) return 0;
    struct stat st;
    if (stat(path, &st) == -1) return errno == ENOENT ? 0 : -1;
    pthread_mutex_lock(&lock);
    int unchanged = seen_valid && st.st_ino == seen.st_ino && st.st_size == seen.st_size &&
                    st.st_mtim.tv_sec == seen.st_mtim.tv_sec && st.st_mtim.tv_nsec == seen.st_mtim.tv_nsec;
    pthread_mutex_unlock(&lock);
    if (unchanged) return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        log_msg(LOG_WARNING, "Discovery file %s: %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(DISCOVERY_MAX + 1);
    size_t n = text ? fread(text, 1, DISCOVERY_MAX + 1, f) : 0;
    int err = ferror(f);
    fclose(f);
    if (!text || err || n > DISCOVERY_MAX) {
        log_msg(LOG_WARNING, "Discovery file %s: unreadable or larger than %d bytes", path, DISCOVERY_MAX);
        free(text);
        return -1;
    }
    text[n] = '\0';
    uint64_t fv;
    char *fl;
    int rc = -1;
    pthread_mutex_lock(&lock);
    seen = st;
    seen_valid = 1;
    if (parse_file(text, &fv, &fl) == -1)
        log_msg(LOG_WARNING, "Discovery file %s does not parse ([version\\n]host|ip|port ...); ignored", path);
    else
        rc = apply(fv, fl, path);
    pthread_mutex_unlock(&lock);
    free(text);
    return rc;
}

int mc_discovery_body(struct mc_buf *out)
{
    if (!server.mc_discovery_file || !server.mc_discovery_file[0]) return -1;
    pthread_mutex_lock(&lock);
    mc_buf_u64(out, version);
    mc_buf_add(out, "\n", 1);
    if (list) mc_buf_str(out, list);
    mc_buf_add(out, "\n", 1);
    pthread_mutex_unlock(&lock);
    return 0;
}

void mc_discovery_release(void)
{
    pthread_mutex_lock(&lock);
    free(list);
    list = NULL;
    version = 0;
    seen_valid = 0;
    pthread_mutex_unlock(&lock);
}
