/* snapshot.h: point-in-time snapshots of the whole dataset in our own
 * binary format (versioned, checksummed): SAVE, BGSAVE, loading at start-up,
 * and the files that full resynchronisation ships to replicas. */
#ifndef CN_SNAPSHOT_H
#define CN_SNAPSHOT_H

#include <stddef.h>

/* Writes every database to `path` (through a temporary file renamed into
 * place) in this process. Returns 0, or -1 with errno-style logging. */
int snapshot_save(const char *path);

/* Forks a child that writes the snapshot to `path`; `done` is called from
 * snapshot_cron() in the parent when the child ends (ok = 1 on success).
 * Returns -1 when a child is already running or fork fails. */
typedef void (*snapshot_done_fn)(int ok, void *priv);
int snapshot_bgsave_start(const char *path, snapshot_done_fn done, void *priv);
int snapshot_in_progress(void);
/* Reaps a finished child; called by the server cron. */
void snapshot_cron(void);

/* Verifies the whole file (magic, version, checksum) before touching the
 * dataset; on success replaces every database with the file's contents.
 * On failure returns -1, fills err, and leaves the dataset as it was. */
int snapshot_load(const char *path, char *err, size_t errlen);

/* INFO persistence lines ("loading:0\r\nrdb_...") appended to buf. */
size_t snapshot_info(char *buf, size_t size);

#endif
