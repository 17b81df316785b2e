/* snapshot.h: point-in-time snapshots of the whole dataset in our own
 * binary format (versioned, checksummed): SAVE, BGSAVE, loading at start-up,
 * and the files that full resynchronisation ships to replicas.
 * The format is described at the top of snapshot.c and in
 * docs/snapshot-format.md. */
#ifndef CN_SNAPSHOT_H
#define CN_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

struct client;

/* Writes every database to `path` (through a temporary file renamed into
 * place) in this process. Returns 0, or -1 with errno-style logging. */
int snapshot_save(const char *path);

/* Forks a child that writes the snapshot to `path`; `done` is called from
 * snapshot_cron() in the parent when the child ends (ok = 1 on success).
 * Returns -1 when a child is already running or fork fails. */
typedef void (*snapshot_done_fn)(int ok, void *priv);
int snapshot_bgsave_start(const char *path, snapshot_done_fn done, void *priv);
int snapshot_in_progress(void);
/* Forks a child that runs job(path, arg) (0 on success) instead of a
 * snapshot, e.g. the keys of some slots for a slot move; one child at a
 * time with BGSAVE, `done` as for snapshot_bgsave_start, nothing counted
 * as a save. The file at path is removed if the child is killed. */
typedef int (*snapshot_job_fn)(const char *path, void *arg);
int snapshot_fork_job(const char *path, snapshot_job_fn job, void *arg, snapshot_done_fn done, void *priv);
/* Reaps a finished child; called by the server cron. */
void snapshot_cron(void);

/* Verifies the whole file (magic, version, checksum) before touching the
 * dataset; on success replaces every database with the file's contents.
 * On failure returns -1, fills err, and leaves the dataset as it was. */
int snapshot_load(const char *path, char *err, size_t errlen);

/* INFO persistence lines ("loading:0\r\nrdb_...") appended to buf. */
size_t snapshot_info(char *buf, size_t size);

/* ---- additions ---------------------------------------------------------- */

/* Asks to be told, like `done`, when the running BGSAVE child ends (e.g. a
 * replica that arrives while a snapshot is being written). Returns -1 when
 * no child runs or too many are waiting. */
int snapshot_bgsave_attach(snapshot_done_fn done, void *priv);

/* Kills the running child, if any, and removes its temporary file; for
 * SHUTDOWN and for replication when a sync is abandoned. Waiters are told
 * ok = 0. */
void snapshot_kill_child(void);

/* Writes the snapshot stream to an open, blocking descriptor (a pipe or a
 * socket for diskless sync): no temporary file, no fsync. 0 or -1. */
int snapshot_write_fd(int fd);

/* Same as snapshot_load, from bytes in memory (a snapshot received by a
 * replica). The buffer is only read. */
int snapshot_load_buffer(const unsigned char *buf, size_t len, char *err, size_t errlen);

/* "<dir>/<dbfilename>" into buf; -1 when it does not fit (config.c admits
 * only a plain file name as dbfilename). */
int snapshot_default_path(char *buf, size_t size);

/* Start-up: loads the default file when it exists. Returns 0 (loaded or
 * absent), or -1 after logging why the file was refused. */
int snapshot_load_at_startup(void);

/* CRC-64/Jones (reflected, as used by the file trailer), incremental:
 * start with crc = 0. */
uint64_t snapshot_crc64(uint64_t crc, const void *p, size_t len);

/* The dataset digest of DEBUG DIGEST: 40 hex characters and a NUL. */
void snapshot_dataset_digest(char out[41]);

/* DEBUG DIGEST, DIGEST-VALUE and RELOAD for cmd_server.c's DEBUG: returns 1
 * when argv[1] named one of them (the reply is given), 0 otherwise. */
int snapshot_debug_command(struct client *c);
/* Their HELP lines, to append to DEBUG HELP. */
const char *const *snapshot_debug_help(size_t *n);

/* DUMP: the value of `e` as a self-checking payload (see snapshot.c); the
 * caller zfrees it. */
unsigned char *snapshot_dump_payload(const struct entry *e, size_t *len);
/* RESTORE: verifies the payload and adds its value under the key, which
 * must not exist in d. NULL with *err set to Redis's error text when the
 * payload is refused; nothing is added then. */
struct entry *snapshot_restore_payload(struct db *d, const char *key, size_t klen,
                                       const unsigned char *p, size_t len, const char **err);

/* For INFO stats (fork accounting). */
long long snapshot_latest_fork_usec(void);
long long snapshot_total_forks(void);
/* Unix time of the last successful save (LASTSAVE). */
long long snapshot_lastsave(void);

#endif
