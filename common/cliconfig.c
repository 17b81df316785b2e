/* cliconfig.c: `--config FILE` for the control-plane programs: a file of
 * `name value` lines that stand for long options (see cliconfig.h). */
#include "cliconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void config_args_free(struct config_args *ca)
{
    for (size_t i = 0; i < ca->nowned; i++) free(ca->owned[i]);
    free(ca->owned);
    free(ca->argv);
    memset(ca, 0, sizeof(*ca));
}

static int config_push(struct config_args *ca, char *s)
{
    if (s == NULL) return -1;
    if (ca->nowned == ca->cap) {
        size_t cap = ca->cap ? ca->cap * 2 : 16;
        char **grown = realloc(ca->owned, cap * sizeof(*grown));
        if (grown == NULL) { free(s); return -1; }
        ca->owned = grown;
        ca->cap = cap;
    }
    ca->owned[ca->nowned++] = s;
    return 0;
}

static int config_known(const struct option *opts, const char *name)
{
    for (const struct option *o = opts; o->name; o++)
        if (o->has_arg == required_argument && strcmp(o->name, name) == 0) return 1;
    return 0;
}

static int config_read(const char *path, const struct option *opts, struct config_args *ca)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) { fprintf(stderr, "--config %s: %s\n", path, strerror(errno)); return -1; }
    char *line = NULL;
    size_t linecap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    while (rc == 0 && (n = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        char *p = line, *end = line + n;
        while (end > p && isspace((unsigned char)end[-1])) *--end = '\0';
        while (isspace((unsigned char)*p)) p++;
        if (*p == '\0' || *p == '#') continue;
        char *name = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        if (*p) *p++ = '\0';
        while (isspace((unsigned char)*p)) p++;
        if (!config_known(opts, name)) {
            fprintf(stderr, "%s:%d: unknown option '%s'\n", path, lineno, name);
            rc = -1;
        } else if (*p == '\0') {
            fprintf(stderr, "%s:%d: '%s' needs a value\n", path, lineno, name);
            rc = -1;
        } else {
            size_t len = strlen(name) + 3;
            char *flag = malloc(len);
            if (flag) snprintf(flag, len, "--%s", name);
            rc = config_push(ca, flag) != 0 || config_push(ca, strdup(p)) != 0 ? -1 : 0;
        }
    }
    if (rc == 0 && ferror(f)) { fprintf(stderr, "--config %s: read error\n", path); rc = -1; }
    free(line);
    fclose(f);
    return rc;
}

/* Builds config_args.argv: argv[0], the config file's options, then the
 * command line without --config. */
int config_args_expand(int argc, char **argv, const struct option *opts, struct config_args *ca)
{
    const char *path = NULL;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) { fprintf(stderr, "--config needs a file\n"); return -1; }
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        }
    }
    if (path && config_read(path, opts, ca) != 0) return -1;
    ca->argv = calloc((size_t)argc + ca->nowned + 1, sizeof(char *));
    if (ca->argv == NULL) return -1;
    ca->argv[ca->argc++] = argv[0];
    for (size_t i = 0; i < ca->nowned; i++) ca->argv[ca->argc++] = ca->owned[i];
    int rest = 0;
    for (int i = 1; i < argc; i++) {
        if (!rest && strcmp(argv[i], "--") == 0) rest = 1;
        else if (!rest && strcmp(argv[i], "--config") == 0) { i++; continue; }
        else if (!rest && strncmp(argv[i], "--config=", 9) == 0) continue;
        ca->argv[ca->argc++] = argv[i];
    }
    return 0;
}

