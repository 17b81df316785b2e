/* ctl_testdb.h: a database file in a temporary directory for the
 * controller's unit tests, and its removal (the file, its WAL and shared
 * memory files, the directory); and a cmocka setup/teardown pair that
 * opens the store there as the test's state. Header-only: each test
 * includes it once. */
#ifndef CTL_TESTDB_H
#define CTL_TESTDB_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store.h"

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

/* cmocka setup: a new database, opened with store_open, as *state. */
static inline int testdb_open_state(void **state, const char *prefix)
{
    char err[256];
    if (testdb_make(prefix) != 0) return -1;
    sqlite3 *db = store_open(testdb_path, err, sizeof(err));
    if (db == NULL) return -1;
    *state = db;
    return 0;
}

/* cmocka teardown of testdb_open_state. */
static inline int testdb_close_state(void **state)
{
    store_close(*state);
    testdb_remove();
    return 0;
}

#endif
