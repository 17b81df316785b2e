/* snapshot.c: the snapshot format, SAVE/BGSAVE/LASTSAVE, loading. (stub) */
#include "server.h"
#include "snapshot.h"

int snapshot_save(const char *path) { (void)path; return -1; }
int snapshot_bgsave_start(const char *path, snapshot_done_fn done, void *priv) { (void)path; (void)done; (void)priv; return -1; }
int snapshot_in_progress(void) { return 0; }
void snapshot_cron(void) {}
int snapshot_load(const char *path, char *err, size_t errlen) { (void)path; (void)err; (void)errlen; return -1; }
size_t snapshot_info(char *buf, size_t size) { (void)buf; (void)size; return 0; }

struct command persistence_commands[] = {
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
