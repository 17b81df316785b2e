/* test_snapshot_dir.h: what unit tests that save and load snapshots share:
 * a server with default configuration and a fresh temp dir whose
 * dump_path they save to, removed again at the end. */
#ifndef CN_TEST_SNAPSHOT_DIR_H
#define CN_TEST_SNAPSHOT_DIR_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "server.h"

static char tmpdir[PATH_MAX];
static char dump_path[PATH_MAX + 16];

/* name: the test's name, for the temp dir's. Returns 0, or -1. */
static inline int snapshot_dir_setup(const char *name)
{
    config_set_defaults();
    server_init();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/%s.XXXXXX", name);
    if (mkdtemp(tmpdir) == NULL) return -1;
    snprintf(dump_path, sizeof(dump_path), "%s/dump.cfs", tmpdir);
    return 0;
}

static inline void snapshot_dir_teardown(void)
{
    unlink(dump_path);
    rmdir(tmpdir);
}

#endif
