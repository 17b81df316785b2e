/* snapshot.c: point-in-time snapshots of the dataset: the file format, the
 * writer (SAVE, BGSAVE in a forked child, the stream for diskless sync),
 * the loader (start-up, DEBUG RELOAD, replicas), INFO persistence, the
 * commands SAVE and BGSAVE, and what LASTSAVE and the DEBUG subcommands
 * DIGEST, DIGEST-VALUE and RELOAD (dispatched from cmd_server.c) answer.
 *
 * File format, version 1 (also in docs/snapshot-format.md). Integers in
 * fixed width are little-endian; "varint" is unsigned LEB128 (7 bits per
 * byte, low group first, at most 10 bytes); a "string" is a varint length
 * followed by that many bytes.
 *
 *   header    "CFSNAP" (6 bytes), version (uint16, = 1)
 *   records   any number of:
 *     0xFA AUX        string name, string value (informational; the
 *                     loader skips names it does not know)
 *     0xFE SELECTDB   varint db id, varint key count, varint TTL count
 *                     (the counts are hints); following keys belong to it
 *     0xFC EXPIRE_MS  int64 absolute unix time in ms; must be followed by
 *                     a key record, whose expiry it is
 *     0xF5 FUNCTION   string: a function library's code, as FUNCTION LOAD
 *                     took it; written before the databases; a loaded file
 *                     replaces every library (none when it has no record)
 *     key record      type byte, string key, then the value by type:
 *       0x00 STRING       string
 *       0x01 STRING_INT   zigzag varint (a string that is an integer)
 *       0x02..0x06        reserved: list, set, zset, hash, stream
 *       anything else     refused
 *   trailer   0xFF EOF, then the CRC-64/Jones (uint64) of every byte
 *             before it, header and the 0xFF included.
 *
 * Keys whose TTL has passed when they are written are left out; keys whose
 * TTL passed while the file sat on disk are skipped when it is loaded.
 *
 * Loading is all or nothing: the checksum is verified first, then the
 * records are parsed, with every length checked against the bytes left,
 * into fresh databases; only a file that parses to the end replaces the
 * live databases. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "object.h"
#include "server.h"
#include "snapshot.h"

#define SNAP_MAGIC "CFSNAP"
#define SNAP_MAGIC_LEN 6
#define SNAP_VERSION 1
#define SNAP_HEADER_LEN 8
#define SNAP_TRAILER_LEN 9 /* EOF opcode + CRC-64 */

#define OP_FUNCTION 0xF5 /* a function library: its FUNCTION LOAD code */
#define OP_AUX 0xFA
#define OP_EXPIRE_MS 0xFC
#define OP_SELECTDB 0xFE
#define OP_EOF 0xFF

#define VT_STRING 0x00
#define VT_STRING_INT 0x01

#define SNAP_BUF_SIZE (64 * 1024)
#define SNAP_MAX_WAITERS 64

/* ---- state ---------------------------------------------------------------- */

struct waiter {
    snapshot_done_fn fn;
    void *priv;
};

static struct {
    pid_t child_pid;            /* -1 when no child runs */
    int child_is_save;          /* a BGSAVE (stats, LASTSAVE), not another job */
    char child_tmp[PATH_MAX];   /* the child's temporary file, for cleanup */
    long long child_start_ms;
    long long dirty_at_fork;
    struct waiter waiters[SNAP_MAX_WAITERS];
    int nwaiters;

    long long lastsave;         /* unix seconds; 0 = never (start time) */
    long long dirty_at_save;
    int last_bgsave_ok;
    long long last_bgsave_secs; /* -1 until one finished */
    long long saves;
    long long latest_fork_usec, total_forks;
    int loading;
    long long last_load_loaded, last_load_expired;
} snap = {.child_pid = -1, .last_bgsave_ok = 1, .last_bgsave_secs = -1};

/* ---- CRC-64/Jones ---------------------------------------------------------- */

/* Reflected form of the Jones polynomial 0xad93d23594c935a9; init 0, no
 * final xor. Slice-by-8 tables: eight bytes per step. */
#define CRC64_POLY_REFLECTED 0x95AC9329AC4BC9B5ULL

static uint64_t crc_table[8][256];
static int crc_ready;

static void crc64_init(void)
{
    for (int i = 0; i < 256; i++) {
        uint64_t c = (uint64_t)i;
        for (int b = 0; b < 8; b++) c = (c & 1) ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
        crc_table[0][i] = c;
    }
    for (int i = 0; i < 256; i++)
        for (int k = 1; k < 8; k++)
            crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^ crc_table[0][crc_table[k - 1][i] & 0xff];
    crc_ready = 1;
}

static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline void store_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

uint64_t snapshot_crc64(uint64_t crc, const void *data, size_t len)
{
    if (!crc_ready) crc64_init();
    const unsigned char *p = data;
    while (len >= 8) {
        crc ^= load_le64(p);
        crc = crc_table[7][crc & 0xff] ^ crc_table[6][(crc >> 8) & 0xff] ^
              crc_table[5][(crc >> 16) & 0xff] ^ crc_table[4][(crc >> 24) & 0xff] ^
              crc_table[3][(crc >> 32) & 0xff] ^ crc_table[2][(crc >> 40) & 0xff] ^
              crc_table[1][(crc >> 48) & 0xff] ^ crc_table[0][crc >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

/* ---- buffered writer --------------------------------------------------------- */

struct snap_writer {
    int fd;             /* -1: the bytes stay in buf, which grows (DUMP) */
    unsigned char *buf;
    size_t used, cap;
    uint64_t crc; /* of every byte flushed so far */
    int err;      /* errno of the first failure, 0 while all is well */
};

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void w_flush(struct snap_writer *w)
{
    if (w->fd < 0) {
        w->cap = w->cap < 64 ? 64 : w->cap * 2;
        w->buf = zrealloc(w->buf, w->cap);
        return;
    }
    if (w->err || w->used == 0) return;
    w->crc = snapshot_crc64(w->crc, w->buf, w->used);
    if (write_all(w->fd, w->buf, w->used) == -1) w->err = errno ? errno : EIO;
    w->used = 0;
}

static void w_bytes(struct snap_writer *w, const void *p, size_t len)
{
    const unsigned char *s = p;
    while (len > 0) {
        if (w->used == w->cap) {
            w_flush(w);
            if (w->err) return;
        }
        size_t room = w->cap - w->used;
        size_t n = len < room ? len : room;
        memcpy(w->buf + w->used, s, n);
        w->used += n;
        s += n;
        len -= n;
    }
}

static void w_byte(struct snap_writer *w, unsigned char b) { w_bytes(w, &b, 1); }

static void w_varint(struct snap_writer *w, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        unsigned char b = v & 0x7f;
        v >>= 7;
        tmp[n++] = (unsigned char)(v ? b | 0x80 : b);
    } while (v);
    w_bytes(w, tmp, n);
}

static void w_string(struct snap_writer *w, const void *p, size_t len)
{
    w_varint(w, len);
    w_bytes(w, p, len);
}

static uint64_t zigzag(long long v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static long long unzigzag(uint64_t v) { return (long long)(v >> 1) ^ -(long long)(v & 1); }

/* What value types write with (object.h). */
void snapw_byte(struct snap_writer *w, unsigned char b) { w_byte(w, b); }
void snapw_varint(struct snap_writer *w, uint64_t v) { w_varint(w, v); }
void snapw_svarint(struct snap_writer *w, long long v) { w_varint(w, zigzag(v)); }
void snapw_string(struct snap_writer *w, const void *p, size_t len) { w_string(w, p, len); }

void snapw_double(struct snap_writer *w, double v)
{
    uint64_t bits;
    unsigned char b[8];
    memcpy(&bits, &v, 8);
    store_le64(b, bits);
    w_bytes(w, b, 8);
}

/* ---- writing the dataset ----------------------------------------------------- */

static void write_aux(struct snap_writer *w, const char *name, const char *value)
{
    w_byte(w, OP_AUX);
    w_string(w, name, strlen(name));
    w_string(w, value, strlen(value));
}

/* The type code, the key when with_key, then the value. */
static void write_value(struct snap_writer *w, const entry *e, int with_key)
{
    const struct object_type *type = object_type((enum value_type)e->type);
    unsigned char code = type ? type->snap_code : e->enc == ENC_INT ? VT_STRING_INT : VT_STRING;
    w_byte(w, code);
    if (with_key) w_string(w, entry_key(e), e->keylen);
    if (type) {
        type->save(entry_object(e), w);
    } else if (e->enc == ENC_INT) {
        w_varint(w, zigzag(entry_int(e)));
    } else {
        char tmp[24];
        size_t len;
        const char *s = entry_string(e, tmp, &len);
        w_string(w, s, len);
    }
}

/* Writes one key; returns -1 for a value type this version cannot store,
 * so that a snapshot never silently drops data. */
static int write_entry(struct snap_writer *w, const entry *e)
{
    const struct object_type *type = object_type((enum value_type)e->type);
    if (e->type != TYPE_STRING && (type == NULL || type->save == NULL)) {
        log_msg(LOG_WARNING, "Snapshot: cannot write keys of type %d yet", (int)e->type);
        return -1;
    }
    if (e->has_expire) {
        unsigned char when[8];
        store_le64(when, (uint64_t)entry_expire(e));
        w_byte(w, OP_EXPIRE_MS);
        w_bytes(w, when, 8);
    }
    write_value(w, e, 1);
    return 0;
}

/* Keys still alive at `now` and, of those, the ones with a TTL. */
static void count_live(db *d, long long now, size_t *keys, size_t *vol)
{
    *keys = db_size(d);
    *vol = 0;
    for (size_t i = 0; i < d->vol_len; i++) {
        if (entry_expire(d->vol[i]) <= now) (*keys)--;
        else (*vol)++;
    }
}

/* Calls fn for every key of `d` that is alive at `now`, stopping at the
 * first -1. */
struct live_walk {
    long long now;
    walk_fn fn;
    void *priv;
};

static int live_only(void *priv, const entry *e)
{
    const struct live_walk *w = priv;
    if (e->has_expire && entry_expire(e) <= w->now) return 0;
    return w->fn(w->priv, e);
}

static int walk_live(db *d, long long now, walk_fn fn, void *priv)
{
    struct live_walk w = {now, fn, priv};
    return db_walk(d, live_only, &w);
}

static int write_entry_cb(void *priv, const entry *e)
{
    struct snap_writer *w = priv;
    return write_entry(w, e) == -1 || w->err ? -1 : 0;
}

static int write_db(struct snap_writer *w, db *d, long long now)
{
    size_t keys, vol;
    count_live(d, now, &keys, &vol);
    if (keys == 0) return 0;
    w_byte(w, OP_SELECTDB);
    w_varint(w, (uint64_t)d->id);
    w_varint(w, keys);
    w_varint(w, vol);
    return walk_live(d, now, write_entry_cb, w);
}

static int write_function_cb(void *priv, const char *code, size_t len)
{
    struct snap_writer *w = priv;
    w_byte(w, OP_FUNCTION);
    w_string(w, code, len);
    return 0;
}

/* The whole stream: header, aux fields, function libraries, databases,
 * trailer. */
static int write_snapshot(struct snap_writer *w)
{
    long long now = mstime();
    char num[32];
    w_bytes(w, SNAP_MAGIC, SNAP_MAGIC_LEN);
    unsigned char ver[2] = {SNAP_VERSION & 0xff, SNAP_VERSION >> 8};
    w_bytes(w, ver, 2);
    write_aux(w, "cachenode-ver", CN_VERSION);
    write_aux(w, "cachefleet-ver", CACHEFLEET_VERSION);
    snprintf(num, sizeof(num), "%lld", now / 1000);
    write_aux(w, "ctime", num);
    functions_foreach_code(write_function_cb, w);
    for (int i = 0; i < server.databases && i < DB_COUNT; i++)
        if (write_db(w, server.dbs[i], now) == -1) return -1;
    w_byte(w, OP_EOF);
    w_flush(w);
    if (w->err) return -1;
    unsigned char crc[8];
    store_le64(crc, w->crc);
    if (write_all(w->fd, crc, 8) == -1) {
        w->err = errno;
        return -1;
    }
    return 0;
}

int snapshot_write_fd(int fd)
{
    struct snap_writer w = {.fd = fd, .buf = zmalloc(SNAP_BUF_SIZE), .cap = SNAP_BUF_SIZE};
    int rc = write_snapshot(&w);
    if (rc == -1 && w.err) log_msg(LOG_WARNING, "Snapshot: write error: %s", strerror(w.err));
    zfree(w.buf);
    return rc;
}

static int temp_path_for(const char *path, pid_t pid, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s.tmp-%d", path, (int)pid);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Writes, flushes and fsyncs the temporary file; returns the failed step's
 * name, or NULL when the file is complete on disk. */
static const char *write_temp_file(const char *tmp)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) return "open";
    const char *failed = NULL;
    if (snapshot_write_fd(fd) == -1) failed = "write";
    else if (fsync(fd) == -1) failed = "fsync";
    int saved = errno;
    if (close(fd) == -1 && failed == NULL) return "close";
    errno = saved;
    return failed;
}

int snapshot_save(const char *path)
{
    char tmp[PATH_MAX];
    if (temp_path_for(path, getpid(), tmp, sizeof(tmp)) == -1) {
        log_msg(LOG_WARNING, "Snapshot: path too long: %s", path);
        return -1;
    }
    const char *failed = write_temp_file(tmp);
    if (failed == NULL && rename(tmp, path) == -1) failed = "rename";
    if (failed) {
        log_msg(LOG_WARNING, "Snapshot: %s of %s failed: %s", failed, tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (fsync_parent_dir(path) == -1) {
        log_msg(LOG_WARNING, "Snapshot: fsync of the directory of %s failed: %s", path,
                strerror(errno));
        return -1;
    }
    log_msg(LOG_NOTICE, "DB saved on disk");
    return 0;
}

int snapshot_default_path(char *buf, size_t size)
{
    /* config.c admits only a plain file name */
    const char *name = server.dbfilename ? server.dbfilename : "dump.cfs";
    const char *dir = server.dir && server.dir[0] ? server.dir : ".";
    int n = snprintf(buf, size, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static void note_save_success(long long dirty_then)
{
    /* wall_ms(), like the start time LASTSAVE reports before any save:
     * time() reads the coarse clock, which can lag a tick behind it */
    snap.lastsave = wall_ms() / 1000;
    snap.dirty_at_save = dirty_then;
    snap.last_bgsave_ok = 1;
}

/* SAVE, DEBUG RELOAD: a foreground save to the configured file. */
static int save_foreground(void)
{
    char path[PATH_MAX];
    if (snapshot_default_path(path, sizeof(path)) == -1) {
        log_msg(LOG_WARNING, "Snapshot: dbfilename must be a plain file name");
        return -1;
    }
    long long dirty = server.dirty;
    snap.saves++; /* counted when a save starts, as Redis's rdb_saves is */
    if (snapshot_save(path) == -1) {
        snap.last_bgsave_ok = 0;
        return -1;
    }
    note_save_success(dirty);
    return 0;
}

/* ---- BGSAVE: the forked child ------------------------------------------------ */

static void child_main(const char *path, snapshot_job_fn job, void *arg)
{
    log_set_role('C');
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    /* the parent keeps serving on this socket; the child must not accept */
    if (server.listen_fd >= 0) close(server.listen_fd);
    _exit((job ? job(path, arg) : snapshot_save(path)) == 0 ? 0 : 1);
}

/* Forks the child that runs job (NULL: a snapshot of everything). */
static int fork_child(const char *path, snapshot_job_fn job, void *arg, snapshot_done_fn done, void *priv)
{
    if (snap.child_pid != -1) return -1;
    long long start = ustime();
    pid_t pid = fork();
    if (pid == -1) {
        log_msg(LOG_WARNING, "Can't fork the background child: %s", strerror(errno));
        if (job == NULL) snap.last_bgsave_ok = 0;
        return -1;
    }
    if (pid == 0) child_main(path, job, arg); /* does not return */
    snap.latest_fork_usec = ustime() - start;
    latency_add_sample_if_needed("fork", snap.latest_fork_usec / 1000);
    snap.total_forks++;
    snap.child_is_save = job == NULL;
    if (job == NULL) snap.saves++;
    snap.child_pid = pid;
    snap.child_start_ms = mstime();
    snap.dirty_at_fork = server.dirty;
    if (job != NULL) snprintf(snap.child_tmp, sizeof(snap.child_tmp), "%s", path);
    else if (temp_path_for(path, pid, snap.child_tmp, sizeof(snap.child_tmp)) == -1)
        snap.child_tmp[0] = '\0';
    snap.nwaiters = 0;
    if (done) snapshot_bgsave_attach(done, priv);
    log_msg(LOG_NOTICE, "Background %s started by pid %d", job ? "job" : "saving", (int)pid);
    return 0;
}

int snapshot_bgsave_start(const char *path, snapshot_done_fn done, void *priv)
{
    return fork_child(path, NULL, NULL, done, priv);
}

int snapshot_fork_job(const char *path, snapshot_job_fn job, void *arg, snapshot_done_fn done, void *priv)
{
    return job ? fork_child(path, job, arg, done, priv) : -1;
}

int snapshot_bgsave_attach(snapshot_done_fn done, void *priv)
{
    if (snap.child_pid == -1 || done == NULL || snap.nwaiters == SNAP_MAX_WAITERS) return -1;
    snap.waiters[snap.nwaiters].fn = done;
    snap.waiters[snap.nwaiters].priv = priv;
    snap.nwaiters++;
    return 0;
}

int snapshot_in_progress(void) { return snap.child_pid != -1; }

/* The child is gone: account for it and tell whoever waits. Waiters may
 * start a new BGSAVE from their callback, so the list is copied first. */
static void child_finished(int ok)
{
    long long secs = (mstime() - snap.child_start_ms) / 1000;
    snap.child_pid = -1;
    if (snap.child_is_save) {
        snap.last_bgsave_secs = secs;
        if (ok) note_save_success(snap.dirty_at_fork);
        else snap.last_bgsave_ok = 0;
    }
    struct waiter waiters[SNAP_MAX_WAITERS];
    int n = snap.nwaiters;
    memcpy(waiters, snap.waiters, sizeof(waiters[0]) * (size_t)n);
    snap.nwaiters = 0;
    for (int i = 0; i < n; i++) waiters[i].fn(ok, waiters[i].priv);
}

void snapshot_cron(void)
{
    if (snap.child_pid == -1) return;
    int status = 0;
    pid_t r = waitpid(snap.child_pid, &status, WNOHANG);
    if (r == 0) return;
    int ok = 0;
    if (r == -1) {
        log_msg(LOG_WARNING, "waitpid() on the snapshot child failed: %s", strerror(errno));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        ok = 1;
        log_msg(LOG_NOTICE, "Background saving terminated with success");
    } else if (WIFSIGNALED(status)) {
        log_msg(LOG_WARNING, "Background saving terminated by signal %d", WTERMSIG(status));
        if (snap.child_tmp[0]) unlink(snap.child_tmp);
    } else {
        log_msg(LOG_WARNING, "Background saving error");
    }
    child_finished(ok);
}

void snapshot_kill_child(void)
{
    if (snap.child_pid == -1) return;
    pid_t pid = snap.child_pid;
    if (kill(pid, SIGKILL) == -1 && errno != ESRCH)
        log_msg(LOG_WARNING, "Can't kill the snapshot child %d: %s", (int)pid, strerror(errno));
    int status;
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {}
    if (snap.child_tmp[0]) unlink(snap.child_tmp);
    log_msg(LOG_NOTICE, "Killed the background saving child %d", (int)pid);
    child_finished(0);
}

/* ---- reading ------------------------------------------------------------------- */

struct snap_reader {
    const unsigned char *p, *end;
    const char *err; /* first problem, NULL while all is well */
};

static int r_fail(struct snap_reader *r, const char *why)
{
    if (r->err == NULL) r->err = why;
    return -1;
}

static int r_byte(struct snap_reader *r, unsigned char *out)
{
    if (r->p >= r->end) return r_fail(r, "truncated record");
    *out = *r->p++;
    return 0;
}

static int r_varint(struct snap_reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        unsigned char b;
        if (r_byte(r, &b) == -1) return -1;
        if (shift == 63 && (b & 0x7e)) return r_fail(r, "varint overflows 64 bits");
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return r_fail(r, "varint too long");
}

/* A length-prefixed string: points into the buffer, no copy. */
static int r_string(struct snap_reader *r, const char **s, size_t *len)
{
    uint64_t n;
    if (r_varint(r, &n) == -1) return -1;
    if (n > (uint64_t)(r->end - r->p)) return r_fail(r, "string length beyond the end of the file");
    *s = (const char *)r->p;
    *len = (size_t)n;
    r->p += n;
    return 0;
}

int snapr_byte(struct snap_reader *r, unsigned char *out) { return r_byte(r, out); }
int snapr_varint(struct snap_reader *r, uint64_t *out) { return r_varint(r, out); }
int snapr_string(struct snap_reader *r, const char **p, size_t *len) { return r_string(r, p, len); }
size_t snapr_remaining(const struct snap_reader *r) { return (size_t)(r->end - r->p); }
int snapr_fail(struct snap_reader *r, const char *why) { return r_fail(r, why); }

int snapr_svarint(struct snap_reader *r, long long *out)
{
    uint64_t v;
    if (r_varint(r, &v) == -1) return -1;
    *out = unzigzag(v);
    return 0;
}

int snapr_double(struct snap_reader *r, double *out)
{
    if (r->end - r->p < 8) return r_fail(r, "truncated double");
    uint64_t bits = load_le64(r->p);
    r->p += 8;
    memcpy(out, &bits, 8);
    return 0;
}

struct load_state {
    struct function_batch *functions; /* replace the live libraries on success */
    db *dbs[DB_COUNT];
    db *cur;
    long long now;
    long long loaded, expired;
};

static void release_dbs(db **dbs)
{
    for (int i = 0; i < DB_COUNT; i++) {
        db_release(dbs[i]);
        dbs[i] = NULL;
    }
}

static int load_selectdb(struct snap_reader *r, struct load_state *st)
{
    uint64_t id, keys, vol;
    if (r_varint(r, &id) == -1 || r_varint(r, &keys) == -1 || r_varint(r, &vol) == -1) return -1;
    if (id >= (uint64_t)server.databases || id >= DB_COUNT)
        return r_fail(r, "database id out of range for this server's 'databases'");
    st->cur = st->dbs[id];
    /* the hint is untrusted: no key record is shorter than 3 bytes */
    uint64_t most = (uint64_t)(r->end - r->p) / 3;
    size_t hint = keys < most ? (size_t)keys : (size_t)most;
    if (hint >= 64) db_expand(st->cur, hint);
    return 0;
}

/* Reads a string value (the string codes) or an object (a type's code):
 * sets *obj for an object, and *val, *vlen or *as_int for a string. */
static int load_value(struct snap_reader *r, unsigned char code, const struct object_type **type,
                      enum value_type *t, void **obj, const char **val, size_t *vlen,
                      long long *as_int)
{
    *type = NULL;
    *obj = NULL;
    if (code == VT_STRING) return r_string(r, val, vlen);
    if (code == VT_STRING_INT) return snapr_svarint(r, as_int);
    *type = object_type_by_code(code, t);
    if (*type == NULL || (*type)->load == NULL) return r_fail(r, "unknown or unsupported value type");
    *obj = (*type)->load(r);
    if (*obj == NULL) return r_fail(r, "malformed value");
    return 0;
}

/* Adds what load_value read under key. */
static entry *add_loaded(db *d, const char *key, size_t klen, unsigned char code, enum value_type t,
                         void *obj, const char *val, size_t vlen, long long as_int)
{
    if (obj) return db_add_object(d, key, klen, t, obj);
    if (code == VT_STRING) return db_add_string(d, key, klen, val, vlen);
    return db_add_int(d, key, klen, as_int);
}

static int load_key(struct snap_reader *r, struct load_state *st, unsigned char code, long long expire)
{
    const char *key, *val = NULL;
    size_t klen, vlen = 0;
    long long as_int = 0;
    const struct object_type *type;
    enum value_type t = TYPE_STRING;
    void *obj;
    if (st->cur == NULL) return r_fail(r, "key before any database selector");
    if (r_string(r, &key, &klen) == -1) return -1;
    if (klen > UINT32_MAX) return r_fail(r, "key too long");
    if (load_value(r, code, &type, &t, &obj, &val, &vlen, &as_int) == -1) return -1;
    if ((expire != -1 && expire <= st->now) || db_find(st->cur, key, klen)) {
        if (obj) type->free(obj);
        if (expire != -1 && expire <= st->now) {
            st->expired++;
            return 0;
        }
        return r_fail(r, "duplicate key");
    }
    entry *e = add_loaded(st->cur, key, klen, code, t, obj, val, vlen, as_int);
    if (expire != -1) db_set_expire(st->cur, e, expire);
    st->loaded++;
    return 0;
}

static int load_function(struct snap_reader *r, struct load_state *st)
{
    const char *code;
    size_t len;
    char err[256];
    if (r_string(r, &code, &len) == -1) return -1;
    if (functions_batch_add(st->functions, code, len, err, sizeof(err)) == -1) {
        log_msg(LOG_WARNING, "Snapshot: function library refused: %s", err);
        return r_fail(r, "function library refused");
    }
    return 0;
}

/* Parses the records between the header and the trailer into st->dbs. */
static int load_records(struct snap_reader *r, struct load_state *st)
{
    long long expire = -1;
    while (r->p < r->end) {
        unsigned char op;
        if (r_byte(r, &op) == -1) return -1;
        if (op == OP_EXPIRE_MS) {
            if (expire != -1) return r_fail(r, "two expiry records in a row");
            if (r->end - r->p < 8) return r_fail(r, "truncated expiry");
            expire = (long long)load_le64(r->p);
            r->p += 8;
            if (expire < 0) return r_fail(r, "negative expiry time");
            continue;
        }
        if (expire != -1 && op >= 0x80) return r_fail(r, "expiry not followed by a key");
        if (op == OP_AUX) {
            const char *s;
            size_t n;
            if (r_string(r, &s, &n) == -1 || r_string(r, &s, &n) == -1) return -1;
        } else if (op == OP_SELECTDB) {
            if (load_selectdb(r, st) == -1) return -1;
        } else if (op == OP_FUNCTION) {
            if (load_function(r, st) == -1) return -1;
        } else if (op == OP_EOF) {
            return r_fail(r, "end marker before the end of the file");
        } else if (op < 0x80) {
            if (load_key(r, st, op, expire) == -1) return -1;
            expire = -1;
        } else {
            return r_fail(r, "unknown record opcode");
        }
    }
    if (expire != -1) return r_fail(r, "expiry not followed by a key");
    return 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Header and trailer: magic, version, end marker, checksum. */
static int check_envelope(const unsigned char *buf, size_t len, char *err, size_t errlen)
{
    if (len < SNAP_HEADER_LEN + SNAP_TRAILER_LEN) {
        set_err(err, errlen, "%s", "file too short (truncated?)");
        return -1;
    }
    if (memcmp(buf, SNAP_MAGIC, SNAP_MAGIC_LEN) != 0) {
        set_err(err, errlen, "%s", "wrong signature: not a cachenode snapshot");
        return -1;
    }
    unsigned version = buf[6] | (unsigned)buf[7] << 8;
    if (version != SNAP_VERSION) {
        set_err(err, errlen, "unsupported snapshot format version %u", version);
        return -1;
    }
    if (buf[len - SNAP_TRAILER_LEN] != OP_EOF) {
        set_err(err, errlen, "%s", "no end marker where expected (truncated?)");
        return -1;
    }
    uint64_t want = load_le64(buf + len - 8);
    if (snapshot_crc64(0, buf, len - 8) != want) {
        set_err(err, errlen, "%s", "checksum mismatch (corrupt or truncated file)");
        return -1;
    }
    return 0;
}

/* Fresh databases replace the live ones; clients follow by their db id. */
static void swap_in(db **fresh)
{
    for (int i = 0; i < DB_COUNT; i++) {
        db *old = server.dbs[i];
        server.dbs[i] = fresh[i];
        fresh[i] = old;
    }
    for (client *c = server.clients; c; c = c->next)
        if (c->dbid >= 0 && c->dbid < DB_COUNT) c->db = server.dbs[c->dbid];
    release_dbs(fresh);
}

int snapshot_load_buffer(const unsigned char *buf, size_t len, char *err, size_t errlen)
{
    if (check_envelope(buf, len, err, errlen) == -1) return -1;
    struct load_state st = {.now = mstime(), .functions = functions_batch_new()};
    for (int i = 0; i < DB_COUNT; i++) st.dbs[i] = db_create(i, server.cluster_enabled && i == 0);
    struct snap_reader r = {.p = buf + SNAP_HEADER_LEN, .end = buf + len - SNAP_TRAILER_LEN};
    snap.loading = 1;
    int rc = load_records(&r, &st);
    snap.loading = 0;
    if (rc == -1) {
        set_err(err, errlen, "%s at offset %zu", r.err, (size_t)(r.p - buf));
        release_dbs(st.dbs);
        functions_batch_free(st.functions);
        return -1;
    }
    swap_in(st.dbs);
    functions_batch_commit(st.functions);
    snap.last_load_loaded = st.loaded;
    snap.last_load_expired = st.expired;
    return 0;
}

int snapshot_load(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        set_err(err, errlen, "can't open: %s", strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
        set_err(err, errlen, "%s", "not a regular file");
        close(fd);
        return -1;
    }
    size_t len = (size_t)sb.st_size;
    if (len < SNAP_HEADER_LEN + SNAP_TRAILER_LEN) {
        set_err(err, errlen, "%s", "file too short (truncated?)");
        close(fd);
        return -1;
    }
    /* Files are replaced by rename, never truncated in place, so the
     * mapping stays valid while we read it. */
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);
    if (map == MAP_FAILED) {
        set_err(err, errlen, "mmap: %s", strerror(saved));
        return -1;
    }
    madvise(map, len, MADV_SEQUENTIAL);
    int rc = snapshot_load_buffer(map, len, err, errlen);
    if (munmap(map, len) == -1) log_msg(LOG_WARNING, "munmap: %s", strerror(errno));
    return rc;
}

int snapshot_load_at_startup(void)
{
    char path[PATH_MAX], err[256];
    if (snapshot_default_path(path, sizeof(path)) == -1) {
        log_msg(LOG_WARNING, "Fatal: dbfilename must be a plain file name. Exiting.");
        return -1;
    }
    struct stat sb;
    if (stat(path, &sb) == -1) {
        if (errno == ENOENT) return 0;
        log_msg(LOG_WARNING, "Fatal error: can't stat the snapshot %s: %s. Exiting.", path,
                strerror(errno));
        return -1;
    }
    long long start = ustime();
    if (snapshot_load(path, err, sizeof(err)) == -1) {
        log_msg(LOG_WARNING, "Fatal error loading the snapshot %s: %s. Refusing to start. Exiting.",
                path, err);
        return -1;
    }
    log_msg(LOG_NOTICE, "DB loaded from disk: %.3f seconds (%lld keys, %lld expired skipped)",
            (double)(ustime() - start) / 1e6, snap.last_load_loaded, snap.last_load_expired);
    return 0;
}

/* ---- INFO ------------------------------------------------------------------------- */

long long snapshot_lastsave(void)
{
    return snap.lastsave ? snap.lastsave : server.start_time_ms / 1000;
}

long long snapshot_latest_fork_usec(void) { return snap.latest_fork_usec; }
long long snapshot_total_forks(void) { return snap.total_forks; }

size_t snapshot_info(char *buf, size_t size)
{
    long long changes = server.dirty - snap.dirty_at_save;
    long long current = snap.child_pid != -1 ? (mstime() - snap.child_start_ms) / 1000 : -1;
    int n = snprintf(buf, size,
                     "loading:%d\r\n"
                     "async_loading:0\r\n"
                     "current_cow_peak:0\r\n"
                     "current_cow_size:0\r\n"
                     "current_cow_size_age:0\r\n"
                     "current_fork_perc:0.00\r\n"
                     "current_save_keys_processed:0\r\n"
                     "current_save_keys_total:0\r\n"
                     "rdb_changes_since_last_save:%lld\r\n"
                     "rdb_bgsave_in_progress:%d\r\n"
                     "rdb_last_save_time:%lld\r\n"
                     "rdb_last_bgsave_status:%s\r\n"
                     "rdb_last_bgsave_time_sec:%lld\r\n"
                     "rdb_current_bgsave_time_sec:%lld\r\n"
                     "rdb_saves:%lld\r\n"
                     "rdb_last_cow_size:0\r\n"
                     "rdb_last_load_keys_expired:%lld\r\n"
                     "rdb_last_load_keys_loaded:%lld\r\n"
                     "aof_enabled:0\r\n"
                     "aof_rewrite_in_progress:0\r\n"
                     "aof_rewrite_scheduled:0\r\n"
                     "aof_last_rewrite_time_sec:-1\r\n"
                     "aof_current_rewrite_time_sec:-1\r\n"
                     "aof_last_bgrewrite_status:ok\r\n"
                     "aof_rewrites:0\r\n"
                     "aof_rewrites_consecutive_failures:0\r\n"
                     "aof_last_write_status:ok\r\n"
                     "aof_last_cow_size:0\r\n"
                     "module_fork_in_progress:0\r\n"
                     "module_fork_last_cow_size:0\r\n",
                     snap.loading, changes < 0 ? 0 : changes, snap.child_pid != -1,
                     snapshot_lastsave(), snap.last_bgsave_ok ? "ok" : "err",
                     snap.last_bgsave_secs, current, snap.saves, snap.last_load_expired,
                     snap.last_load_loaded);
    if (n < 0) return 0;
    return (size_t)n < size ? (size_t)n : (size ? size - 1 : 0);
}

/* ---- DUMP and RESTORE payloads ------------------------------------------------------ */

/* A payload is one value as the snapshot writes it (type code, value),
 * then the format version (uint16) and the CRC-64 of everything before it
 * (uint64), little-endian: a payload from a newer format or a damaged one
 * is refused before anything is parsed. */
#define PAYLOAD_TRAILER_LEN 10

unsigned char *snapshot_dump_payload(const entry *e, size_t *len)
{
    struct snap_writer w = {.fd = -1, .buf = zmalloc(256), .cap = 256};
    write_value(&w, e, 0);
    unsigned char trailer[PAYLOAD_TRAILER_LEN] = {SNAP_VERSION & 0xff, SNAP_VERSION >> 8};
    w_bytes(&w, trailer, 2);
    store_le64(trailer + 2, snapshot_crc64(0, w.buf, w.used));
    w_bytes(&w, trailer + 2, 8);
    *len = w.used;
    return w.buf;
}

entry *snapshot_restore_payload(db *d, const char *key, size_t klen, const unsigned char *p,
                                size_t len, const char **err)
{
    *err = "ERR DUMP payload version or checksum are wrong";
    if (len < PAYLOAD_TRAILER_LEN + 1) return NULL;
    size_t body = len - PAYLOAD_TRAILER_LEN;
    unsigned version = (unsigned)p[body] | (unsigned)p[body + 1] << 8;
    if (version != SNAP_VERSION || load_le64(p + body + 2) != snapshot_crc64(0, p, body + 2))
        return NULL;
    struct snap_reader r = {.p = p + 1, .end = p + body};
    const struct object_type *type;
    enum value_type t = TYPE_STRING;
    void *obj;
    const char *val = NULL;
    size_t vlen = 0;
    long long as_int = 0;
    *err = "ERR Bad data format";
    if (load_value(&r, p[0], &type, &t, &obj, &val, &vlen, &as_int) == -1) return NULL;
    if (r.p != r.end) { /* trailing bytes: not what DUMP wrote */
        if (obj) type->free(obj);
        return NULL;
    }
    *err = NULL;
    return add_loaded(d, key, klen, p[0], t, obj, val, vlen, as_int);
}

/* ---- DEBUG DIGEST ----------------------------------------------------------------- */

/* A fixed-seed hash (not the keyspace's per-process seeded one): digests
 * must agree across processes, restarts and between primary and replica.
 * Three independent 64-bit lanes give the 160 bits that are printed. */
#define DIGEST_LANES 3

static const uint64_t digest_seed[DIGEST_LANES] = {0x243F6A8885A308D3ULL, 0x13198A2E03707344ULL,
                                                   0xA4093822299F31D0ULL};

static inline uint64_t dmix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static uint64_t digest_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    h = dmix(h ^ (uint64_t)len ^ 0x9E3779B97F4A7C15ULL, 0xBF58476D1CE4E5B9ULL);
    while (len >= 8) {
        h = dmix(h ^ load_le64(p) ^ 0x94D049BB133111EBULL, 0xBF58476D1CE4E5B9ULL);
        p += 8;
        len -= 8;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < len; i++) tail |= (uint64_t)p[i] << (8 * i);
    return dmix(h ^ tail ^ 0x2127599BF4325C37ULL, 0x94D049BB133111EBULL);
}

/* A value's digest: ordered bytes chain through the lanes; the elements of
 * an unordered collection are hashed each on their own and summed, so
 * their order does not matter. */
struct digest {
    uint64_t lanes[DIGEST_LANES];
    uint64_t unordered[DIGEST_LANES];
};

void digest_add(struct digest *d, const void *p, size_t len)
{
    for (int i = 0; i < DIGEST_LANES; i++) d->lanes[i] = digest_bytes(d->lanes[i], p, len);
}

void digest_add_element(struct digest *d, const void *a, size_t alen, const void *b, size_t blen)
{
    for (int i = 0; i < DIGEST_LANES; i++) {
        uint64_t h = digest_bytes(digest_seed[i], a, alen);
        d->unordered[i] += digest_bytes(h, b, blen);
    }
}

/* Hashes the value: its type and its contents as a client would read
 * them, so that an integer and the same digits as a string digest alike,
 * and so do two encodings of one collection. */
static void digest_value(uint64_t lanes[DIGEST_LANES], const entry *e)
{
    struct digest d = {.unordered = {0, 0, 0}};
    unsigned char type = (unsigned char)e->type;
    memcpy(d.lanes, lanes, sizeof(d.lanes));
    digest_add(&d, &type, 1);
    const struct object_type *vt = object_type((enum value_type)e->type);
    if (vt && vt->digest) {
        vt->digest(entry_object(e), &d);
    } else {
        char tmp[24];
        size_t len = 0;
        const char *s = e->type == TYPE_STRING ? entry_string(e, tmp, &len) : "";
        digest_add(&d, s, len);
    }
    unsigned char sum[8];
    for (int i = 0; i < DIGEST_LANES; i++) {
        store_le64(sum, d.unordered[i]);
        lanes[i] = digest_bytes(d.lanes[i], sum, 8);
    }
}

static void digest_key(uint64_t acc[DIGEST_LANES], int dbid, const entry *e)
{
    uint64_t lanes[DIGEST_LANES];
    unsigned char idbuf[8], expbuf[8];
    store_le64(idbuf, (uint64_t)dbid);
    store_le64(expbuf, (uint64_t)entry_expire(e));
    for (int i = 0; i < DIGEST_LANES; i++) {
        lanes[i] = digest_bytes(digest_seed[i], idbuf, 8);
        lanes[i] = digest_bytes(lanes[i], entry_key(e), e->keylen);
    }
    digest_value(lanes, e);
    for (int i = 0; i < DIGEST_LANES; i++) {
        lanes[i] = digest_bytes(lanes[i], expbuf, 8);
        acc[i] += lanes[i]; /* a sum: the order of keys does not matter */
    }
}

static void digest_hex(const uint64_t acc[DIGEST_LANES], char out[41])
{
    snprintf(out, 41, "%016llx%016llx%08llx", (unsigned long long)acc[0],
             (unsigned long long)acc[1], (unsigned long long)(acc[2] >> 32));
}

struct digest_walk {
    uint64_t acc[DIGEST_LANES];
    int dbid;
};

static int digest_entry_cb(void *priv, const entry *e)
{
    struct digest_walk *dw = priv;
    digest_key(dw->acc, dw->dbid, e);
    return 0;
}

void snapshot_dataset_digest(char out[41])
{
    struct digest_walk dw = {.acc = {0, 0, 0}};
    for (int i = 0; i < server.databases && i < DB_COUNT; i++) {
        dw.dbid = i;
        walk_live(server.dbs[i], server.now_ms, digest_entry_cb, &dw);
    }
    digest_hex(dw.acc, out);
}

/* ---- commands -------------------------------------------------------------------- */

static void save_command(client *c)
{
    if (snapshot_in_progress()) {
        reply_error(c, "ERR Background save already in progress");
        return;
    }
    if (save_foreground() == 0) reply_ok(c);
    else reply_error(c, "ERR");
}

static void bgsave_command(client *c)
{
    if (c->argc > 2 || (c->argc == 2 && !arg_is(c->argv[1].p, c->argv[1].len, "schedule"))) {
        reply_syntax_error(c);
        return;
    }
    if (snapshot_in_progress()) {
        reply_error(c, "ERR Background save already in progress");
        return;
    }
    char path[PATH_MAX];
    if (snapshot_default_path(path, sizeof(path)) == -1) {
        reply_error(c, "ERR dbfilename must be a plain file name");
        return;
    }
    if (snapshot_bgsave_start(path, NULL, NULL) == 0) reply_status(c, "Background saving started");
    else reply_error(c, "ERR");
}

static void debug_digest_value(client *c)
{
    reply_array(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        entry *e = lookup_quiet(c, c->db, &c->argv[i]);
        uint64_t acc[DIGEST_LANES] = {0, 0, 0};
        if (e) {
            uint64_t lanes[DIGEST_LANES];
            memcpy(lanes, digest_seed, sizeof(lanes));
            digest_value(lanes, e);
            memcpy(acc, lanes, sizeof(acc));
        }
        char hex[41];
        digest_hex(acc, hex);
        reply_status(c, hex);
    }
}

/* DEBUG RELOAD [NOSAVE]: save (unless NOSAVE), then load the file back. */
static void debug_reload(client *c)
{
    int nosave = 0;
    for (int i = 2; i < c->argc; i++) {
        if (arg_is(c->argv[i].p, c->argv[i].len, "nosave")) {
            nosave = 1;
        } else {
            reply_error(c, "ERR DEBUG RELOAD only supports the NOSAVE option.");
            return;
        }
    }
    if (!nosave && save_foreground() == -1) {
        reply_error(c, "ERR Error trying to save the DB");
        return;
    }
    char path[PATH_MAX], err[256];
    if (snapshot_default_path(path, sizeof(path)) == -1 || snapshot_load(path, err, sizeof(err)) == -1) {
        log_msg(LOG_WARNING, "DEBUG RELOAD: loading failed, the dataset is unchanged");
        reply_error(c, "ERR Error trying to load the snapshot, check server logs.");
        return;
    }
    log_msg(LOG_NOTICE, "DB reloaded by DEBUG RELOAD");
    reply_ok(c);
}

static const char *debug_help_lines[] = {
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "RELOAD [NOSAVE]",
    "    Save the snapshot on disk and reload it back to memory.",
};

const char *const *snapshot_debug_help(size_t *n)
{
    *n = sizeof(debug_help_lines) / sizeof(debug_help_lines[0]);
    return debug_help_lines;
}

int snapshot_debug_command(client *c)
{
    const arg *sub = &c->argv[1];
    if (arg_is(sub->p, sub->len, "digest") && c->argc == 2) {
        char hex[41];
        snapshot_dataset_digest(hex);
        reply_status(c, hex);
    } else if (arg_is(sub->p, sub->len, "digest-value")) {
        debug_digest_value(c);
    } else if (arg_is(sub->p, sub->len, "reload")) {
        debug_reload(c);
    } else {
        return 0;
    }
    return 1;
}

/* LASTSAVE and DEBUG are cmd_server.c's commands: its LASTSAVE replies
 * snapshot_lastsave() and its DEBUG hands DIGEST, DIGEST-VALUE and RELOAD to
 * snapshot_debug_command() (one command-table entry each). */
struct command persistence_commands[] = {
    {"save", save_command, 1, CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_NO_MULTI, 0, 0, 0, 0, NULL, NULL, "server", "Synchronously save the dataset to disk", "1.0.0", "O(N) where N is the total number of keys in all databases", NULL, 0, 0, 0, 0},
    {"bgsave", bgsave_command, -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING, 0, 0, 0, 0, NULL, NULL, "server", "Asynchronously save the dataset to disk", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
