/* ctl_testdb.h: a database file in a temporary directory for the
 * controller's unit tests, and its removal (the file, its WAL and shared
 * memory files, the directory). Header-only: each test includes it once. */
#ifndef CTL_TESTDB_H
#define CTL_TESTDB_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char testdb_dir[64];
static char testdb_path[128];

/* Makes the directory; testdb_path names the database file in it. */
static int testdb_make(const char *prefix)
{
    snprintf(testdb_dir, sizeof(testdb_dir), "/tmp/%s-XXXXXX", prefix);
    if (mkdtemp(testdb_dir) == NULL) return -1;
    snprintf(testdb_path, sizeof(testdb_path), "%s/c.db", testdb_dir);
    return 0;
}

static void testdb_remove(void)
{
    char p[160];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", testdb_path, suffix[i]);
        unlink(p);
    }
    rmdir(testdb_dir);
}

#endif
