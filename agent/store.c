/* store.c: the agent's memory across restarts. One file per node,
 * DATA/specs/ID.json = {"spec":{...},"pid":N,"starttime":N}, written
 * atomically (temp file + rename) and mode 0600 (it holds the auth token). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "json.h"
#include "log.h"

static int spec_path(const struct agent *a, const char *id, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/specs/%s.json", a->cfg.data_dir, id);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

int store_save(const struct agent *a, const struct node *n)
{
    char path[1200];
    if (spec_path(a, n->spec.id, path, sizeof(path)) != 0) return -1;
    json_t *o = json_pack("{s:o,s:i,s:I,s:i}", "spec", spec_to_json(&n->spec, 1), "pid", (int)n->pid,
                          "starttime", (json_int_t)n->starttime, "restarts", n->restarts);
    if (o == NULL) return -1;
    int rc = json_save_path_atomic(o, path);
    json_decref(o);
    if (rc != 0) log_msg(LOG_WARNING, "node %s: cannot save %s: %s", n->spec.id, path, strerror(errno));
    return rc;
}

int store_remove(const struct agent *a, const char *id)
{
    char path[1200];
    if (spec_path(a, id, path, sizeof(path)) != 0) return -1;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int store_load_all(const struct agent *a, void (*fn)(struct agent *, json_t *, void *), void *ctx)
{
    char dirpath[1100];
    snprintf(dirpath, sizeof(dirpath), "%s/specs", a->cfg.data_dir);
    DIR *d = opendir(dirpath);
    if (d == NULL) return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && count < AGENT_MAX_NODES) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) continue; /* skips .tmp leftovers */
        char path[1400], err[256];
        snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
        json_t *o = json_load_path(path, err, sizeof(err));
        if (o == NULL) {
            log_msg(LOG_WARNING, "ignoring unreadable spec file: %s", err);
            continue;
        }
        fn((struct agent *)a, o, ctx);
        json_decref(o);
        count++;
    }
    closedir(d);
    return count;
}
