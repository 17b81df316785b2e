/* replication.c: primary/replica replication.
 *
 * The primary turns every write into a stream of RESP commands. The stream
 * goes into a ring buffer (the backlog) and to every attached replica. Its
 * position is the replication offset; with the replication ID it names a
 * point in the dataset's history.
 *
 * A replica connects and asks with PSYNC <replid> <offset>:
 *   - when that point is still in the backlog (same ID, or the previous ID
 *     of a promoted primary up to where it was promoted), the primary says
 *     +CONTINUE and sends the backlog from there: a partial resync;
 *   - otherwise it says +FULLRESYNC <replid> <offset>, forks a snapshot, and
 *     sends the file followed by everything written since the fork. The
 *     snapshot is a file block in the replica's output list, so the stream
 *     that accumulates meanwhile queues up behind it in order.
 *
 * A replica applies the stream through a client flagged CLIENT_MASTER and
 * copies the bytes into its own backlog, so that once promoted it can serve
 * partial resyncs to the other replicas of its old primary. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eventloop.h"
#include "log.h"
#include "proto.h"
#include "server.h"
#include "slot.h"
#include "snapshot.h"

#define MAX_REPLICAS 64
#define HANDSHAKE_BUF 4096

/* ---- primary-side state -------------------------------------------------- */

enum replica_link { RL_NONE = 0, RL_WAIT_SNAPSHOT_START, RL_WAIT_SNAPSHOT_END, RL_SEND_SNAPSHOT, RL_ONLINE };

struct replica_state {
    enum replica_link state;
    int listening_port;
    char ip[64];
    long long ack_offset;
    long long ack_time_ms;
    struct reply_block *snapshot_block; /* RL_WAIT_SNAPSHOT_END */
    /* a slot replica (cluster_migrate.c): the slots it gets, NULL for a
     * whole replica; the bytes it was sent since its snapshot's first */
    const unsigned char *slots;
    struct slot_replica_ops ops;
    long long slot_offset;
};

static char replid[41], replid2[41];
static long long master_repl_offset, second_repl_offset = -1;
static int stream_db = -1; /* the db the stream has selected; -1 forces SELECT */

static struct {
    char *buf;
    long long size, idx, histlen;
    long long first_offset; /* offset of the oldest byte held */
} backlog;

static client *replicas[MAX_REPLICAS];
static int nreplicas;
static client *waiters[1024]; /* clients blocked in WAIT */
static int nwaiters;
static int getack_pending;
/* After a stall: -1 none; FENCE_UNSET until the GETACK is in the stream;
 * then the offset replicas must acknowledge before writes resume. */
#define FENCE_UNSET LLONG_MAX
static long long fence_offset = -1;
static long long last_ping_ms;
static long long stat_sync_full, stat_sync_partial_ok, stat_sync_partial_err;
static char snapshot_path[4096];

/* ---- replica-side state ---------------------------------------------------- */

enum link_state { LINK_NONE = 0, LINK_CONNECT, LINK_CONNECTING, LINK_HANDSHAKE, LINK_TRANSFER, LINK_CONNECTED };

static struct {
    enum link_state state;
    char host[256];
    int port;
    int fd;
    char buf[HANDSHAKE_BUF];
    size_t buflen;
    int replies_expected;
    long long transfer_size, transfer_read;
    int transfer_fd;
    char transfer_path[4096];
    char master_replid[41];
    long long master_offset;
    client *master;
    long long last_io_ms, down_since_ms, last_ack_ms;
    /* where our copy of the history ends, for PSYNC after a reconnection */
    char cached_replid[41];
    long long cached_offset;
    int cached_db;
    int ack_after_apply; /* a GETACK is being applied */
} upstream = {.fd = -1, .transfer_fd = -1, .cached_db = 0};

static void link_abort(const char *why);
static void connect_to_primary(void);

int server_is_replica(void) { return upstream.state != LINK_NONE; }

int replication_primary_addr(char *buf, size_t size)
{
    if (upstream.state == LINK_NONE) return -1;
    snprintf(buf, size, "%s:%d", upstream.host, upstream.port);
    return 0;
}

static void new_replid(void) { random_hex(replid, 40); }

/* ---- the backlog ---------------------------------------------------------- */

static void backlog_create(void)
{
    if (backlog.buf) return;
    backlog.size = server.repl_backlog_size > 16384 ? server.repl_backlog_size : 16384;
    backlog.buf = zmalloc((size_t)backlog.size);
    backlog.idx = backlog.histlen = 0;
    backlog.first_offset = master_repl_offset + 1;
}

/* Restarts the backlog empty at `offset` (after a full resync). */
static void backlog_reset(long long offset)
{
    backlog_create();
    master_repl_offset = offset;
    backlog.idx = backlog.histlen = 0;
    backlog.first_offset = offset + 1;
}

static void backlog_append(const char *p, size_t len)
{
    master_repl_offset += (long long)len;
    while (len > 0) {
        size_t room = (size_t)(backlog.size - backlog.idx);
        size_t n = len < room ? len : room;
        memcpy(backlog.buf + backlog.idx, p, n);
        backlog.idx = (backlog.idx + (long long)n) % backlog.size;
        backlog.histlen += (long long)n;
        p += n;
        len -= n;
    }
    if (backlog.histlen > backlog.size) backlog.histlen = backlog.size;
    backlog.first_offset = master_repl_offset - backlog.histlen + 1;
}

/* Sends the backlog from `offset` (the first byte the replica lacks). */
static void backlog_send_from(client *c, long long offset)
{
    long long skip = offset - backlog.first_offset;
    long long len = backlog.histlen - skip;
    long long start = (backlog.idx - backlog.histlen + skip + 2 * backlog.size) % backlog.size;
    while (len > 0) {
        long long n = backlog.size - start < len ? backlog.size - start : len;
        reply_raw(c, backlog.buf + start, (size_t)n);
        start = (start + n) % backlog.size;
        len -= n;
    }
}

/* ---- feeding the stream ------------------------------------------------------ */

static int nslot_replicas;

static int is_slot_replica(const client *c) { return c->repl && c->repl->slots; }

void replication_slot_replica_send(client *c, const char *p, size_t len)
{
    reply_raw(c, p, len);
    c->repl->slot_offset += (long long)len;
}

/* What a slot replica gets of one command of the stream: the commands of
 * its slots, a flush as the flush of its slots, nothing else. */
static void feed_slot_replica(client *c, const char *p, size_t len, int slot)
{
    static const char flush[] = "*3\r\n$7\r\nCLUSTER\r\n$13\r\nSYNCSLOTS-CTL\r\n$5\r\nFLUSH\r\n";
    if (slot == STREAM_SLOT_FLUSH) replication_slot_replica_send(c, flush, sizeof(flush) - 1);
    else if (slot >= 0 && slot_bit(c->repl->slots, (unsigned)slot)) replication_slot_replica_send(c, p, len);
}

/* `slot`: the hash slot of the command's keys, STREAM_SLOT_NONE for none
 * (SELECT, PING, MULTI...), STREAM_SLOT_FLUSH for FLUSHALL/FLUSHDB. */
static void feed_bytes(const char *p, size_t len, int slot)
{
    if (backlog.buf) backlog_append(p, len);
    for (int i = 0; i < nreplicas; i++) {
        struct replica_state *r = replicas[i]->repl;
        /* replicas still waiting for a snapshot to start get the stream
         * from the fork point on, not before */
        if (r->state == RL_WAIT_SNAPSHOT_START) continue;
        if (r->slots) feed_slot_replica(replicas[i], p, len, slot);
        else reply_raw(replicas[i], p, len);
    }
}

/* The slot a command of the stream goes with, for slot replicas only. */
static int stream_slot(int argc, const arg *argv)
{
    return nslot_replicas > 0 ? cluster_stream_slot(argc, argv) : STREAM_SLOT_NONE;
}

/* Writes "<prefix><n>\r\n" at p; returns the end. */
static char *put_header(char *p, char prefix, size_t n)
{
    *p++ = prefix;
    p += ull2str(p, 24, n);
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* A command encoded as RESP: in the inline buffer when it fits, else on
 * the heap. `p` is always the one to read; encoding_free() releases it. */
struct encoding {
    char *p;
    size_t len;
    char inline_buf[512];
};

static void encode(struct encoding *e, int argc, const arg *argv)
{
    size_t need = 16;
    for (int i = 0; i < argc; i++) need += argv[i].len + 32;
    e->p = need <= sizeof(e->inline_buf) ? e->inline_buf : zmalloc(need);
    char *w = put_header(e->p, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        w = put_header(w, '$', argv[i].len);
        memcpy(w, argv[i].p, argv[i].len);
        w += argv[i].len;
        *w++ = '\r';
        *w++ = '\n';
    }
    e->len = (size_t)(w - e->p);
}

static void encoding_free(struct encoding *e)
{
    if (e->p != e->inline_buf) zfree(e->p);
    e->p = NULL;
}

static void feed_select(int dbid)
{
    if (dbid == stream_db) return;
    char num[16];
    int n = snprintf(num, sizeof(num), "%d", dbid);
    arg argv[2] = {{"SELECT", 6}, {num, (size_t)n}};
    struct encoding e;
    encode(&e, 2, argv);
    feed_bytes(e.p, e.len, STREAM_SLOT_NONE);
    encoding_free(&e);
    stream_db = dbid;
}

static int stream_wanted(void) { return backlog.buf != NULL || nreplicas > 0; }

void replication_feed(int dbid, int argc, const arg *argv)
{
    if (!stream_wanted() || server_is_replica()) return;
    feed_select(dbid);
    struct encoding e;
    encode(&e, argc, argv);
    feed_bytes(e.p, e.len, stream_slot(argc, argv));
    encoding_free(&e);
}

/* Feeds an already encoded command. */
static void feed_encoded(int dbid, const char *p, size_t len, int slot)
{
    if (!stream_wanted() || server_is_replica()) return;
    feed_select(dbid);
    feed_bytes(p, len, slot);
}

void replication_feed_proxy(const char *bytes, size_t len)
{
    backlog_create();
    feed_bytes(bytes, len, STREAM_SLOT_NONE); /* a replica has no slot replicas */
}

/* ---- what one top-level command propagates ---------------------------------
 *
 * Every command a command propagates, its nested calls' (EXEC's queued
 * commands, a script's writes) and the deletions of expired keys it
 * meets are collected here, each with its database, and fed when the
 * top-level command ends: alone when there is one, else wrapped in
 * MULTI/EXEC so a replica applies them as one unit, as Redis 7 does. */
struct pending_op {
    int dbid, slot;
    size_t off, len; /* in pending.bytes */
};

static struct {
    char *bytes;
    size_t len, cap;
    struct pending_op *ops;
    size_t nops, ops_cap;
} pending;

static void pending_add(int dbid, int slot, const char *p, size_t len)
{
    if (pending.len + len > pending.cap) {
        pending.cap = (pending.len + len) * 2;
        pending.bytes = zrealloc(pending.bytes, pending.cap);
    }
    if (pending.nops == pending.ops_cap) {
        pending.ops_cap = pending.ops_cap ? pending.ops_cap * 2 : 8;
        pending.ops = zrealloc(pending.ops, pending.ops_cap * sizeof(*pending.ops));
    }
    memcpy(pending.bytes + pending.len, p, len);
    pending.ops[pending.nops++] = (struct pending_op){dbid, slot, pending.len, len};
    pending.len += len;
}

static void pending_add_argv(int dbid, int argc, const arg *argv)
{
    if (!stream_wanted() || server_is_replica()) return;
    struct encoding e;
    encode(&e, argc, argv);
    pending_add(dbid, stream_slot(argc, argv), e.p, e.len);
    encoding_free(&e);
}

static void feed_word(const char *word)
{
    arg a = {word, strlen(word)};
    struct encoding e;
    encode(&e, 1, &a);
    feed_bytes(e.p, e.len, STREAM_SLOT_NONE);
    encoding_free(&e);
}

void propagate_flush(void)
{
    if (pending.nops == 0) return;
    if (stream_wanted() && !server_is_replica()) {
        int wrap = pending.nops > 1;
        if (wrap) feed_word("MULTI");
        for (size_t i = 0; i < pending.nops; i++)
            feed_encoded(pending.ops[i].dbid, pending.bytes + pending.ops[i].off, pending.ops[i].len,
                         pending.ops[i].slot);
        if (wrap) feed_word("EXEC");
    }
    pending.nops = 0;
    pending.len = 0;
    if (pending.cap > 64 * 1024) { /* one huge command does not pin its buffer */
        zfree(pending.bytes);
        pending.bytes = NULL;
        pending.cap = 0;
    }
}

void propagate_del(db *d, const char *key, size_t len)
{
    arg argv[2] = {{"DEL", 3}, {key, len}};
    if (server.call_frame) pending_add_argv(d->id, 2, argv);
    else replication_feed(d->id, 2, argv);
}

void propagate_command(client *c, int argc, const arg *argv)
{
    pending_add_argv(c->dbid, argc, argv);
    if (server.call_frame) server.call_frame->propagated = 1;
    else propagate_flush();
}

void propagate_prevent(void)
{
    if (server.call_frame) server.call_frame->propagated = 1;
}

/* A command changed the dataset and propagated nothing of its own: it goes
 * as it came. A top-level multibulk request with nothing else pending is
 * fed straight from the query buffer, where its bytes are already RESP. */
void replication_propagate(client *c, int top_level)
{
    if (c->flags & CLIENT_MASTER) return;
    if (top_level && pending.nops == 0 && c->reqtype == '*')
        feed_encoded(c->dbid, c->querybuf + c->req_start, c->qb_pos - c->req_start, stream_slot(c->argc, c->argv));
    else
        pending_add_argv(c->dbid, c->argc, c->argv);
}

/* ---- replicas attached to us ------------------------------------------------ */

static struct replica_state *replica_state_of(client *c)
{
    if (c->repl == NULL) c->repl = zcalloc(sizeof(struct replica_state));
    return c->repl;
}

static int good_replicas(long long offset)
{
    int good = 0;
    for (int i = 0; i < nreplicas; i++) {
        struct replica_state *r = replicas[i]->repl;
        if (r->state == RL_ONLINE && !r->slots && r->ack_offset >= offset) good++;
    }
    return good;
}

static int fresh_replicas(void)
{
    int fresh = 0;
    for (int i = 0; i < nreplicas; i++) {
        struct replica_state *r = replicas[i]->repl;
        if (r->state == RL_ONLINE && !r->slots && (fence_offset < 0 || r->ack_offset >= fence_offset) &&
            server.now_ms - r->ack_time_ms <= (long long)server.min_replicas_max_lag * 1000)
            fresh++;
    }
    if (fence_offset >= 0 && fence_offset != FENCE_UNSET && fresh >= server.min_replicas_to_write) {
        log_msg(LOG_NOTICE, "Replicas acknowledged after the stall: writes resume");
        fence_offset = -1;
    }
    return fresh;
}

void replication_note_stall(long long gap_ms)
{
    if (server_is_replica() || server.min_replicas_to_write <= 0) return;
    if (fence_offset < 0)
        log_msg(LOG_WARNING, "The process did not run for %lld ms: writes wait until %d replica(s) "
                "acknowledge", gap_ms, server.min_replicas_to_write);
    fence_offset = FENCE_UNSET;
    getack_pending = 1;
}

const char *replication_write_refusal(const client *c, uint32_t cmd_flags)
{
    if (!(cmd_flags & CMD_WRITE) || (c->flags & (CLIENT_MASTER | CLIENT_IMPORT))) return NULL;
    if (server_is_replica()) return "READONLY You can't write against a read only replica.";
    if (server.min_replicas_to_write > 0 && fresh_replicas() < server.min_replicas_to_write)
        return "NOREPLICAS Not enough good replicas to write.";
    return NULL;
}

/* Registers the client as a replica; returns 0, or -1 (after replying the
 * error) when the table of replicas is full. */
static int attach_replica(client *c, enum replica_link state)
{
    if (!(c->flags & CLIENT_REPLICA) && nreplicas == MAX_REPLICAS) {
        reply_error(c, "ERR too many replicas attached to this primary");
        c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        return -1;
    }
    struct replica_state *r = replica_state_of(c);
    r->state = state;
    r->ack_time_ms = server.now_ms;
    if (!(c->flags & CLIENT_REPLICA)) {
        c->flags |= CLIENT_REPLICA;
        replicas[nreplicas++] = c;
    }
    if (r->ip[0] == '\0') {
        snprintf(r->ip, sizeof(r->ip), "%s", c->addr);
        char *colon = strrchr(r->ip, ':');
        if (colon) *colon = '\0';
    }
    return 0;
}

static void detach_replica(client *c)
{
    for (int i = 0; i < nreplicas; i++) {
        if (replicas[i] == c) {
            replicas[i] = replicas[--nreplicas];
            break;
        }
    }
    c->flags &= ~CLIENT_REPLICA;
    if (is_slot_replica(c)) {
        nslot_replicas--;
        c->repl->ops.gone(c->repl->ops.priv);
    }
}

static void snapshot_done(int ok, void *priv);

static void slot_snapshot_done(int ok, void *priv);
static void start_snapshot_for_replicas(void);

/* A slot snapshot's child writes straight to the replica's socket; the
 * parent stays off it (a placeholder holds the stream back) until the
 * child exits. The child leaves the byte count in a small file named by
 * the client's id. */
static void slot_snapshot_path(char *buf, size_t size, uint64_t id)
{
    snprintf(buf, size, "%s/temp-slots-%d-%llu.count", server.dir, (int)getpid(), (unsigned long long)id);
}

static struct {
    int fd;
    int (*write)(int fd, long long *bytes, void *priv);
    void *priv;
} slot_job;

static int slot_snapshot_child(const char *path, void *arg)
{
    (void)arg;
    long long bytes = 0;
    if (slot_job.write(slot_job.fd, &bytes, slot_job.priv) != 0) return -1;
    FILE *f = fopen(path, "w");
    if (f == NULL) return -1;
    int rc = fprintf(f, "%lld\n", bytes) < 0;
    return fclose(f) != 0 || rc ? -1 : 0;
}

static long long read_count(const char *path)
{
    FILE *f = fopen(path, "r");
    long long n = -1;
    if (f == NULL) return -1;
    if (fscanf(f, "%lld", &n) != 1) n = -1;
    fclose(f);
    return n;
}

/* Forks the snapshot of the first slot replica waiting for one. */
static void start_slot_snapshot(void)
{
    client *c = NULL;
    for (int i = 0; i < nreplicas && c == NULL; i++)
        if (is_slot_replica(replicas[i]) && replicas[i]->repl->state == RL_WAIT_SNAPSHOT_START) c = replicas[i];
    if (c == NULL) return;
    /* "$-1": a snapshot of a size told at its end; with what is queued
     * before it, on the socket before the child writes there */
    reply_raw(c, "$-1\r\n", 5);
    if (client_write_now(c) == -1) return; /* freed */
    struct replica_state *r = c->repl;
    if (client_output_bytes(c) != 0) {
        log_msg(LOG_WARNING, "Cannot start the slot snapshot for %s: its socket is full", c->addr);
        close_client_async(c);
        return;
    }
    r->snapshot_block = reply_file_placeholder(c);
    char path[4096];
    slot_snapshot_path(path, sizeof(path), c->id);
    slot_job.fd = c->fd;
    slot_job.write = r->ops.write_snapshot;
    slot_job.priv = r->ops.priv;
    if (r->snapshot_block == NULL ||
        snapshot_fork_job(path, slot_snapshot_child, NULL, slot_snapshot_done, (void *)(uintptr_t)c->id) == -1) {
        log_msg(LOG_WARNING, "Cannot fork the slot snapshot for %s", c->addr);
        close_client_async(c);
        return;
    }
    r->state = RL_WAIT_SNAPSHOT_END;
}

static void slot_snapshot_done(int ok, void *priv)
{
    char path[4096];
    uint64_t id = (uint64_t)(uintptr_t)priv;
    slot_snapshot_path(path, sizeof(path), id);
    long long size = ok ? read_count(path) : -1;
    unlink(path);
    client *c = client_by_id(id);
    if (c && is_slot_replica(c) && c->repl->state == RL_WAIT_SNAPSHOT_END && c->repl->snapshot_block) {
        if (size < 0) {
            log_msg(LOG_WARNING, "Slot snapshot for %s failed", c->addr);
            close_client_async(c);
        } else {
            reply_file_sent(c, c->repl->snapshot_block);
            c->repl->snapshot_block = NULL;
            c->repl->slot_offset += size;
            c->repl->ops.snapshot_sent(c->repl->ops.priv, size);
            replication_snapshot_sent(c);
        }
    }
    start_snapshot_for_replicas();
}

int replication_add_slot_replica(client *c, const unsigned char *slots, const struct slot_replica_ops *ops)
{
    if (c->flags & CLIENT_REPLICA) {
        reply_error(c, "ERR this connection is already a replica");
        return -1;
    }
    if (attach_replica(c, RL_WAIT_SNAPSHOT_START) == -1) return -1;
    c->repl->slots = slots;
    c->repl->ops = *ops;
    c->repl->slot_offset = 0;
    c->reply_mode = REPLY_ON;
    nslot_replicas++;
    start_snapshot_for_replicas();
    return 0;
}

long long replication_slot_replica_offset(const client *c) { return c->repl ? c->repl->slot_offset : 0; }

/* Forks one snapshot for every replica waiting for one; slot replicas,
 * one child each, come after them. */
static void start_snapshot_for_replicas(void)
{
    int waiting = 0;
    for (int i = 0; i < nreplicas; i++)
        if (replicas[i]->repl->state == RL_WAIT_SNAPSHOT_START && !replicas[i]->repl->slots) waiting++;
    if (snapshot_in_progress()) return;
    if (waiting == 0) {
        start_slot_snapshot();
        return;
    }
    snprintf(snapshot_path, sizeof(snapshot_path), "%s/temp-repl-%d.cfs", server.dir, (int)getpid());
    if (snapshot_bgsave_start(snapshot_path, snapshot_done, NULL) == -1) {
        log_msg(LOG_WARNING, "Cannot start the snapshot for replication: dropping %d waiting replicas", waiting);
        for (int i = nreplicas - 1; i >= 0; i--)
            if (replicas[i]->repl->state == RL_WAIT_SNAPSHOT_START && !replicas[i]->repl->slots)
                close_client_async(replicas[i]);
        return;
    }
    stream_db = -1; /* the stream after the fork starts with a SELECT */
    for (int i = 0; i < nreplicas; i++) {
        client *c = replicas[i];
        if (c->repl->state != RL_WAIT_SNAPSHOT_START || c->repl->slots) continue;
        char line[128];
        int n = snprintf(line, sizeof(line), "+FULLRESYNC %s %lld\r\n", replid, master_repl_offset);
        reply_raw(c, line, (size_t)n);
        c->repl->snapshot_block = reply_file_placeholder(c);
        c->repl->state = RL_WAIT_SNAPSHOT_END;
        if (c->repl->snapshot_block == NULL) close_client_async(c); /* it was closing */
    }
    log_msg(LOG_NOTICE, "Starting a snapshot for replication: %d replica(s), offset %lld", waiting,
            master_repl_offset);
}

static void snapshot_done(int ok, void *priv)
{
    (void)priv;
    struct stat st;
    int have_file = ok && stat(snapshot_path, &st) == 0;
    for (int i = nreplicas - 1; i >= 0; i--) {
        client *c = replicas[i];
        if (c->repl->state != RL_WAIT_SNAPSHOT_END || c->repl->snapshot_block == NULL || c->repl->slots) continue;
        int fd = have_file ? open(snapshot_path, O_RDONLY | O_CLOEXEC) : -1;
        if (fd == -1) {
            log_msg(LOG_WARNING, "Snapshot for replica %s failed", c->addr);
            close_client_async(c);
            continue;
        }
        reply_file_ready(c, c->repl->snapshot_block, fd, (long long)st.st_size);
        c->repl->snapshot_block = NULL;
        c->repl->state = RL_SEND_SNAPSHOT;
    }
    /* the open descriptors keep the file alive for as long as it is sent */
    unlink(snapshot_path);
    start_snapshot_for_replicas(); /* replicas that arrived meanwhile */
}

void replication_snapshot_sent(client *c)
{
    if (c->repl == NULL) return;
    c->repl->state = RL_ONLINE;
    c->repl->ack_time_ms = server.now_ms;
    if (c->repl->slots) {
        c->repl->ops.online(c->repl->ops.priv);
        return;
    }
    log_msg(LOG_NOTICE, "Synchronization with replica %s succeeded", c->addr);
}

static int try_partial_resync(client *c, const arg *id, long long offset)
{
    char want[41];
    snprintf(want, sizeof(want), "%.*s", (int)(id->len > 40 ? 40 : id->len), id->p);
    int same_history = strcasecmp(want, replid) == 0 ||
                       (strcasecmp(want, replid2) == 0 && offset <= second_repl_offset);
    if (!same_history || backlog.buf == NULL || offset < backlog.first_offset ||
        offset > master_repl_offset + 1) {
        if (want[0] != '?') stat_sync_partial_err++;
        return 0;
    }
    if (attach_replica(c, RL_ONLINE) == -1) return 1; /* refused: replied */
    char line[128];
    int n = snprintf(line, sizeof(line), "+CONTINUE %s\r\n", replid);
    reply_raw(c, line, (size_t)n);
    backlog_send_from(c, offset);
    stat_sync_partial_ok++;
    log_msg(LOG_NOTICE, "Partial resynchronization request from %s accepted, sending %lld bytes",
            c->addr, master_repl_offset - offset + 1);
    return 1;
}

static void psync_command(client *c)
{
    if (c->flags & CLIENT_REPLICA) return;
    if (server_is_replica() && upstream.state != LINK_CONNECTED) {
        reply_error(c, "NOMASTERLINK Can't SYNC while not connected with my master");
        return;
    }
    long long offset = -1;
    int is_psync = c->argc == 3;
    if (is_psync && !string2ll(c->argv[2].p, c->argv[2].len, &offset)) {
        reply_not_integer(c);
        return;
    }
    if (is_psync && try_partial_resync(c, &c->argv[1], offset)) return;
    if (attach_replica(c, RL_WAIT_SNAPSHOT_START) == -1) return;
    stat_sync_full++;
    backlog_create();
    c->reply_mode = REPLY_ON;
    start_snapshot_for_replicas();
}

/* REPLCONF: replicas tell us their port and acknowledge offsets; our
 * primary asks us for an acknowledgement with GETACK. */
static void replconf_command(client *c)
{
    if (c->argc % 2 == 0) {
        reply_syntax_error(c);
        return;
    }
    for (int i = 1; i < c->argc; i += 2) {
        const arg *opt = &c->argv[i], *val = &c->argv[i + 1];
        long long v = 0;
        if (arg_is(opt->p, opt->len, "listening-port")) {
            if (!arg_to_ll(c, val, &v)) return;
            replica_state_of(c)->listening_port = (int)v;
        } else if (arg_is(opt->p, opt->len, "ip-address")) {
            snprintf(replica_state_of(c)->ip, sizeof(c->repl->ip), "%.*s", (int)val->len, val->p);
        } else if (arg_is(opt->p, opt->len, "capa") || arg_is(opt->p, opt->len, "rdb-only") ||
                   arg_is(opt->p, opt->len, "rdb-filter-only")) {
            /* we only speak psync2 */
        } else if (arg_is(opt->p, opt->len, "ack")) {
            if (!(c->flags & CLIENT_REPLICA) || !string2ll(val->p, val->len, &v)) return;
            if (v > c->repl->ack_offset) c->repl->ack_offset = v;
            c->repl->ack_time_ms = server.now_ms;
            return; /* acknowledgements get no reply */
        } else if (arg_is(opt->p, opt->len, "getack")) {
            /* answered once this command's bytes count in our offset, so
             * that the ack proves we received the GETACK itself */
            if (c->flags & CLIENT_MASTER) upstream.ack_after_apply = 1;
            return;
        } else {
            reply_errorf(c, "ERR Unrecognized REPLCONF option: %.*s", (int)opt->len, opt->p);
            return;
        }
    }
    reply_ok(c);
}

/* ---- WAIT ---------------------------------------------------------------- */

static void remove_waiter(client *c)
{
    for (int i = 0; i < nwaiters; i++) {
        if (waiters[i] == c) {
            waiters[i] = waiters[--nwaiters];
            return;
        }
    }
}

static void wait_command(client *c)
{
    if (server_is_replica()) {
        reply_error(c, "ERR WAIT cannot be used with replica instances. Please also note that since "
                       "Redis 4.0 if a replica is configured to be writable (which is not the default) "
                       "writes to replicas are just local and are not propagated.");
        return;
    }
    long long numreplicas, timeout;
    if (!arg_to_ll(c, &c->argv[1], &numreplicas)) return;
    if (!arg_to_ll(c, &c->argv[2], &timeout)) return;
    if (timeout < 0) {
        reply_error(c, "ERR timeout is negative");
        return;
    }
    long long target = master_repl_offset;
    int acked = good_replicas(target);
    if (acked >= numreplicas || (c->flags & CLIENT_DENY_BLOCKING) || nwaiters == (int)(sizeof(waiters) / sizeof(waiters[0]))) {
        reply_int(c, acked);
        return;
    }
    c->wait_offset = target;
    c->wait_replicas = (long)numreplicas;
    block_client(c, timeout > 0 ? server.now_ms + timeout : 0);
    waiters[nwaiters++] = c;
    getack_pending = 1;
}

/* Answers the WAIT clients whose condition holds or whose time is up. */
static void serve_waiters(void)
{
    for (int i = nwaiters - 1; i >= 0; i--) {
        client *c = waiters[i];
        int acked = good_replicas(c->wait_offset);
        int timed_out = c->block_deadline_ms && server.now_ms >= c->block_deadline_ms;
        if (acked < c->wait_replicas && !timed_out) continue;
        waiters[i] = waiters[--nwaiters];
        reply_int(c, acked);
        unblock_client(c);
    }
}

static void release_waiters_with_error(void)
{
    while (nwaiters > 0) {
        client *c = waiters[--nwaiters];
        reply_error(c, "UNBLOCKED force unblock from blocking operation, instance state changed "
                       "(master -> replica?)");
        unblock_client(c);
    }
}

/* ---- the replica side: connecting and syncing ---------------------------------- */

/* Handshake commands are a few hundred bytes on a fresh socket: a short
 * write means the link is broken, and aborts it once. */
static void send_to_primary(const char *bytes, size_t len)
{
    if (upstream.fd < 0) return; /* an earlier write aborted the link */
    ssize_t n = write(upstream.fd, bytes, len);
    if (n != (ssize_t)len) link_abort("short write during the handshake");
}

static void send_command_to_primary(int argc, const arg *argv)
{
    struct encoding e;
    encode(&e, argc, argv);
    send_to_primary(e.p, e.len);
    encoding_free(&e);
}

void replication_send_ack(void)
{
    if (upstream.state != LINK_CONNECTED || upstream.master == NULL) return;
    char off[32];
    size_t n = ll2str(off, sizeof(off), master_repl_offset);
    arg argv[3] = {{"REPLCONF", 8}, {"ACK", 3}, {off, n}};
    struct encoding e;
    encode(&e, 3, argv);
    client *m = upstream.master;
    enum reply_mode mode = m->reply_mode;
    m->reply_mode = REPLY_ON; /* the link gets no replies, only this */
    reply_raw(m, e.p, e.len);
    m->reply_mode = mode;
    encoding_free(&e);
    upstream.last_ack_ms = server.now_ms;
}

static void close_link_socket(void)
{
    if (upstream.fd >= 0) {
        el_del(upstream.fd, EL_READABLE | EL_WRITABLE);
        close(upstream.fd);
        upstream.fd = -1;
    }
    if (upstream.transfer_fd >= 0) {
        close(upstream.transfer_fd);
        upstream.transfer_fd = -1;
        unlink(upstream.transfer_path);
    }
    upstream.buflen = 0;
}

static void link_abort(const char *why)
{
    log_msg(LOG_WARNING, "Replication with %s:%d interrupted: %s", upstream.host, upstream.port, why);
    close_link_socket();
    if (upstream.state != LINK_NONE) upstream.state = LINK_CONNECT;
}

/* Turns the synced socket into the client that applies the stream. */
static void become_connected(const char *leftover, size_t len, int dbid)
{
    int fd = upstream.fd;
    el_del(fd, EL_READABLE | EL_WRITABLE);
    upstream.fd = -1;
    client *m = client_create(fd);
    if (m == NULL) {
        upstream.state = LINK_CONNECT;
        return;
    }
    m->flags |= CLIENT_MASTER | CLIENT_AUTHENTICATED;
    m->reply_mode = REPLY_OFF;
    select_db(m, dbid);
    upstream.master = m;
    upstream.state = LINK_CONNECTED;
    upstream.last_io_ms = server.now_ms;
    upstream.down_since_ms = 0;
    snprintf(m->addr, sizeof(m->addr), "%.40s:%d", upstream.host, upstream.port);
    if (len > 0) {
        proto_reserve(m, len);
        memcpy(m->querybuf, leftover, len);
        m->qb_len = len;
        process_client_input(m);
    }
    replication_send_ack();
}

static void finish_transfer(void)
{
    close(upstream.transfer_fd);
    upstream.transfer_fd = -1;
    char err[256] = "";
    long long start = monotonic_us();
    if (snapshot_load(upstream.transfer_path, err, sizeof(err)) == -1) {
        unlink(upstream.transfer_path);
        link_abort(err[0] ? err : "cannot load the snapshot from the primary");
        return;
    }
    unlink(upstream.transfer_path);
    log_msg(LOG_NOTICE, "Loaded the primary's snapshot (%lld bytes) in %.3f s", upstream.transfer_size,
            (double)(monotonic_us() - start) / 1e6);
    memcpy(replid, upstream.master_replid, sizeof(replid));
    replid2[0] = '\0';
    second_repl_offset = -1;
    backlog_reset(upstream.master_offset);
    become_connected(NULL, 0, 0);
}

/* Reads the snapshot into a temporary file. */
static void transfer_bytes(const char *p, size_t len)
{
    size_t want = (size_t)(upstream.transfer_size - upstream.transfer_read);
    size_t n = len < want ? len : want;
    if (n > 0 && write(upstream.transfer_fd, p, n) != (ssize_t)n) {
        link_abort("cannot write the snapshot to disk");
        return;
    }
    upstream.transfer_read += (long long)n;
    if (upstream.transfer_read < upstream.transfer_size) return;
    /* bytes after the snapshot already belong to the stream; copy them out
     * first, since loading the snapshot may take a while */
    size_t rest_len = len - n;
    char *rest = rest_len ? zmalloc(rest_len) : NULL;
    if (rest_len) memcpy(rest, p + n, rest_len);
    finish_transfer();
    if (rest_len && upstream.master) {
        client *m = upstream.master;
        proto_reserve(m, rest_len);
        memcpy(m->querybuf + m->qb_len, rest, rest_len);
        m->qb_len += rest_len;
        process_client_input(m);
    }
    zfree(rest);
}

static int start_transfer(long long size)
{
    snprintf(upstream.transfer_path, sizeof(upstream.transfer_path), "%s/temp-sync-%d.cfs", server.dir,
             (int)getpid());
    upstream.transfer_fd = open(upstream.transfer_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (upstream.transfer_fd == -1) {
        link_abort("cannot create the temporary file for the snapshot");
        return -1;
    }
    upstream.transfer_size = size;
    upstream.transfer_read = 0;
    upstream.state = LINK_TRANSFER;
    return 0;
}

/* One reply line of the handshake; returns -1 when the link was aborted,
 * 1 when the line started the transfer or the stream. */
static int handshake_line(const char *line)
{
    if (upstream.replies_expected > 1) {
        /* PING, AUTH, REPLCONF: only a refused password is fatal (PING may
         * say NOAUTH before our AUTH; PSYNC will tell if that persists) */
        upstream.replies_expected--;
        if (strncmp(line, "-WRONGPASS", 10) == 0 || strncmp(line, "-ERR invalid password", 21) == 0) {
            link_abort(line);
            return -1;
        }
        return 0;
    }
    if (strncmp(line, "+FULLRESYNC ", 12) == 0) {
        char id[64];
        long long off;
        if (sscanf(line + 12, "%40s %lld", id, &off) != 2) {
            link_abort("malformed FULLRESYNC");
            return -1;
        }
        snprintf(upstream.master_replid, sizeof(upstream.master_replid), "%.40s", id);
        upstream.master_offset = off;
        upstream.replies_expected = -1; /* now the "$<size>" line */
        return 0;
    }
    if (upstream.replies_expected == -1 && line[0] == '$') {
        long long size;
        if (!string2ll(line + 1, strlen(line + 1), &size) || size < 0) {
            link_abort("malformed snapshot size");
            return -1;
        }
        log_msg(LOG_NOTICE, "Full resync from the primary: receiving %lld bytes", size);
        return start_transfer(size) == 0 ? 1 : -1;
    }
    if (strncmp(line, "+CONTINUE", 9) == 0) {
        char id[64] = "";
        if (sscanf(line + 9, " %40s", id) == 1 && strcmp(id, upstream.cached_replid) != 0) {
            /* the primary was promoted: our history is its previous one */
            memcpy(replid2, upstream.cached_replid, sizeof(replid2));
            second_repl_offset = master_repl_offset + 1;
            snprintf(replid, sizeof(replid), "%.40s", id);
        }
        log_msg(LOG_NOTICE, "Partial resync with the primary accepted");
        return 2;
    }
    link_abort(line);
    return -1;
}

static void handshake_read(int fd, void *data, int mask)
{
    (void)data;
    (void)mask;
    if (upstream.state == LINK_TRANSFER) {
        char buf[64 * 1024];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
            link_abort("connection lost during the transfer");
            return;
        }
        upstream.last_io_ms = server.now_ms;
        transfer_bytes(buf, (size_t)n);
        return;
    }
    ssize_t n = read(fd, upstream.buf + upstream.buflen, sizeof(upstream.buf) - upstream.buflen - 1);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        link_abort("connection lost during the handshake");
        return;
    }
    upstream.buflen += (size_t)n;
    upstream.last_io_ms = server.now_ms;
    size_t pos = 0;
    while (pos < upstream.buflen) {
        char *nl = memchr(upstream.buf + pos, '\n', upstream.buflen - pos);
        if (nl == NULL) break;
        char line[HANDSHAKE_BUF];
        size_t len = (size_t)(nl - (upstream.buf + pos));
        if (len > 0 && upstream.buf[pos + len - 1] == '\r') len--;
        memcpy(line, upstream.buf + pos, len);
        line[len] = '\0';
        pos = (size_t)(nl - upstream.buf) + 1;
        if (len == 0) continue; /* keep-alive newline while the primary forks */
        int r = handshake_line(line);
        if (r < 0) return;
        if (r == 1) {
            transfer_bytes(upstream.buf + pos, upstream.buflen - pos);
            upstream.buflen = 0;
            return;
        }
        if (r == 2) {
            become_connected(upstream.buf + pos, upstream.buflen - pos, upstream.cached_db);
            return;
        }
    }
    memmove(upstream.buf, upstream.buf + pos, upstream.buflen - pos);
    upstream.buflen -= pos;
    if (upstream.buflen >= sizeof(upstream.buf) - 1) link_abort("handshake reply too long");
}

static void send_handshake(void)
{
    int replies = 0;
    arg ping[1] = {{"PING", 4}};
    send_command_to_primary(1, ping);
    replies++;
    if (server.masterauth && server.masterauth[0]) {
        arg auth[2] = {{"AUTH", 4}, {server.masterauth, strlen(server.masterauth)}};
        send_command_to_primary(2, auth);
        replies++;
    }
    char port[16];
    size_t plen = ll2str(port, sizeof(port), server.port);
    arg lport[3] = {{"REPLCONF", 8}, {"listening-port", 14}, {port, plen}};
    send_command_to_primary(3, lport);
    arg capa[3] = {{"REPLCONF", 8}, {"capa", 4}, {"psync2", 6}};
    send_command_to_primary(3, capa);
    replies += 2;
    char off[32];
    const char *id = upstream.cached_replid[0] ? upstream.cached_replid : "?";
    size_t olen = upstream.cached_replid[0] ? ll2str(off, sizeof(off), upstream.cached_offset + 1)
                                        : (size_t)snprintf(off, sizeof(off), "-1");
    arg psync[3] = {{"PSYNC", 5}, {id, strlen(id)}, {off, olen}};
    send_command_to_primary(3, psync);
    replies++;
    if (upstream.fd < 0) return; /* a write failed and aborted the link */
    upstream.replies_expected = replies;
    upstream.state = LINK_HANDSHAKE;
}

static void connected_handler(int fd, void *data, int mask)
{
    (void)data;
    (void)mask;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0) {
        link_abort(err ? strerror(err) : "connect failed");
        return;
    }
    el_del(fd, EL_WRITABLE);
    if (el_add(fd, EL_READABLE, handshake_read, NULL) == -1) {
        link_abort("cannot watch the primary's socket");
        return;
    }
    upstream.last_io_ms = server.now_ms;
    send_handshake();
}

/* Reconnections to one primary are at least 200 ms apart; a new primary
 * (REPLICAOF, a failover) is tried at once: waiting out the dead one's
 * interval would add up to 200 ms to every failover. */
static long long link_last_attempt_ms;

static void connect_to_primary(void)
{
    static long long last_failure_log_ms;
    if (server.now_ms - link_last_attempt_ms < 200) return;
    link_last_attempt_ms = server.now_ms;
    int quiet = server.now_ms - last_failure_log_ms < 10000;
    char err[256];
    int fd = net_connect_nonblock(upstream.host, upstream.port, err, sizeof(err));
    if (fd == -1) {
        if (!quiet && err[0]) log_msg(LOG_WARNING, "Cannot connect to the primary: %s", err);
        if (err[0]) last_failure_log_ms = server.now_ms;
        return;
    }
    if (el_add(fd, EL_WRITABLE, connected_handler, NULL) == -1) {
        close(fd);
        return;
    }
    upstream.fd = fd;
    upstream.buflen = 0;
    upstream.state = LINK_CONNECTING;
    upstream.last_io_ms = server.now_ms;
    log_msg(LOG_NOTICE, "Connecting to the primary %s:%d", upstream.host, upstream.port);
}

/* Remembers where our history ends, so the next PSYNC can continue it. */
static void cache_history(int dbid)
{
    memcpy(upstream.cached_replid, replid, sizeof(replid));
    upstream.cached_offset = master_repl_offset;
    upstream.cached_db = dbid;
}

void replication_client_freed(client *c)
{
    if (c->flags & CLIENT_BLOCKED) remove_waiter(c);
    if (c->flags & CLIENT_REPLICA) detach_replica(c);
    zfree(c->repl);
    c->repl = NULL;
    if ((c->flags & CLIENT_MASTER) && upstream.master == c) {
        cache_history(c->dbid);
        upstream.master = NULL;
        if (upstream.state == LINK_CONNECTED) {
            upstream.state = LINK_CONNECT;
            upstream.down_since_ms = server.now_ms;
            log_msg(LOG_WARNING, "Connection with the primary lost");
        }
    }
}

void replication_master_applied(client *c, size_t bytes)
{
    if (upstream.master != c) return;
    replication_feed_proxy(c->querybuf + c->req_start, bytes);
    upstream.last_io_ms = server.now_ms;
    if (upstream.ack_after_apply) {
        upstream.ack_after_apply = 0;
        replication_send_ack();
    }
}

/* ---- changing roles ---------------------------------------------------------- */

static void drop_replicas(void)
{
    for (int i = nreplicas - 1; i >= 0; i--) close_client_async(replicas[i]);
}

static void set_replicaof_config(void)
{
    zfree(server.replicaof);
    server.replicaof = NULL;
    if (upstream.state == LINK_NONE) return;
    char buf[300];
    int n = snprintf(buf, sizeof(buf), "%s %d", upstream.host, upstream.port);
    server.replicaof = zstrndup(buf, (size_t)n);
}

static void set_primary(const char *host, int port)
{
    if (!server_is_replica()) {
        /* our own history is what the new primary may share with us */
        backlog_create();
        cache_history(0);
        release_waiters_with_error();
        blocking_unblock_all("UNBLOCKED force unblock from blocking operation, instance state "
                             "changed (master -> replica?)");
        drop_replicas();
    }
    if (upstream.master) {
        client *m = upstream.master;
        upstream.state = LINK_NONE; /* no reconnection from the free below */
        free_client(m);
    }
    close_link_socket();
    snprintf(upstream.host, sizeof(upstream.host), "%s", host);
    upstream.port = port;
    upstream.state = LINK_CONNECT;
    upstream.down_since_ms = server.now_ms;
    stream_db = -1;
    fence_offset = -1; /* a replica takes no writes anyway */
    set_replicaof_config();
    log_msg(LOG_NOTICE, "Replicating %s:%d", host, port);
    link_last_attempt_ms = 0;
    connect_to_primary();
}

static void become_primary(void)
{
    if (upstream.master) {
        client *m = upstream.master;
        upstream.state = LINK_NONE;
        free_client(m);
    }
    close_link_socket();
    upstream.state = LINK_NONE;
    upstream.master = NULL;
    /* keep the old history under the second ID: the other replicas of our
     * old primary continue from it by partial resync */
    memcpy(replid2, replid, sizeof(replid2));
    second_repl_offset = master_repl_offset + 1;
    new_replid();
    backlog_create();
    stream_db = -1;
    fence_offset = -1;
    set_replicaof_config();
    log_msg(LOG_NOTICE, "Promoted to primary: new replication ID %s, previous %s up to offset %lld",
            replid, replid2, second_repl_offset - 1);
}

static void replicaof_command(client *c)
{
    if (c->flags & CLIENT_MASTER) return;
    if (arg_is(c->argv[1].p, c->argv[1].len, "no") && arg_is(c->argv[2].p, c->argv[2].len, "one")) {
        if (server_is_replica()) become_primary();
        reply_ok(c);
        return;
    }
    long long port = 0;
    if (!string2ll(c->argv[2].p, c->argv[2].len, &port) || port <= 0 || port > 65535) {
        reply_error(c, "ERR Invalid master port");
        return;
    }
    char host[256];
    snprintf(host, sizeof(host), "%.*s", (int)(c->argv[1].len > 255 ? 255 : c->argv[1].len), c->argv[1].p);
    if (server_is_replica() && strcasecmp(host, upstream.host) == 0 && upstream.port == port) {
        reply_status(c, "OK Already connected to specified master");
        return;
    }
    set_primary(host, (int)port);
    reply_ok(c);
}

static const char *link_state_name(void)
{
    switch (upstream.state) {
    case LINK_CONNECT: return "connect";
    case LINK_CONNECTING: return "connecting";
    case LINK_HANDSHAKE: return "handshake";
    case LINK_TRANSFER: return "sync";
    case LINK_CONNECTED: return "connected";
    default: return "none";
    }
}

static void role_command(client *c)
{
    if (server_is_replica()) {
        reply_array(c, 5);
        reply_bulk_cstr(c, "slave");
        reply_bulk_cstr(c, upstream.host);
        reply_int(c, upstream.port);
        reply_bulk_cstr(c, link_state_name());
        reply_int(c, upstream.state == LINK_CONNECTED ? master_repl_offset : -1);
        return;
    }
    int online = 0;
    for (int i = 0; i < nreplicas; i++) online += replicas[i]->repl->state == RL_ONLINE && !replicas[i]->repl->slots;
    reply_array(c, 3);
    reply_bulk_cstr(c, "master");
    reply_int(c, master_repl_offset);
    reply_array(c, online);
    for (int i = 0; i < nreplicas; i++) {
        struct replica_state *r = replicas[i]->repl;
        if (r->state != RL_ONLINE || r->slots) continue;
        reply_array(c, 3);
        reply_bulk_cstr(c, r->ip);
        reply_bulk_ll(c, r->listening_port);
        reply_bulk_ll(c, r->ack_offset);
    }
}

/* ---- periodic work ------------------------------------------------------------ */

void replication_cron(void)
{
    if (upstream.state == LINK_CONNECT) connect_to_primary();
    if ((upstream.state == LINK_CONNECTING || upstream.state == LINK_HANDSHAKE || upstream.state == LINK_TRANSFER) &&
        server.now_ms - upstream.last_io_ms > (long long)server.repl_timeout * 1000)
        link_abort("timeout");
    if (upstream.state == LINK_CONNECTED && upstream.master &&
        server.now_ms - upstream.master->last_interaction_ms > (long long)server.repl_timeout * 1000) {
        log_msg(LOG_WARNING, "Primary timed out: no data for %d s", server.repl_timeout);
        free_client(upstream.master);
    }
    if (upstream.state == LINK_CONNECTED && server.now_ms - upstream.last_ack_ms >= 1000) replication_send_ack();

    if (!server_is_replica() && nreplicas > 0 &&
        server.now_ms - last_ping_ms >= (long long)server.repl_ping_period * 1000) {
        arg ping[1] = {{"PING", 4}};
        replication_feed(stream_db >= 0 ? stream_db : 0, 1, ping);
        last_ping_ms = server.now_ms;
    }
    for (int i = nreplicas - 1; i >= 0; i--) {
        struct replica_state *r = replicas[i]->repl;
        if (r->state == RL_ONLINE && !r->slots && server.now_ms - r->ack_time_ms > (long long)server.repl_timeout * 1000) {
            log_msg(LOG_WARNING, "Disconnecting timed out replica %s", replicas[i]->addr);
            close_client_async(replicas[i]);
        }
    }
    start_snapshot_for_replicas();
    serve_waiters();
}

void replication_before_sleep(void)
{
    if (getack_pending && nreplicas > 0 && !server_is_replica()) {
        arg getack[3] = {{"REPLCONF", 8}, {"GETACK", 6}, {"*", 1}};
        replication_feed(stream_db >= 0 ? stream_db : 0, 3, getack);
        /* acknowledgements that cover this GETACK were sent after it */
        if (fence_offset == FENCE_UNSET) fence_offset = master_repl_offset;
        getack_pending = 0;
    } else if (fence_offset != FENCE_UNSET) {
        getack_pending = 0; /* a fence keeps asking until replicas are there */
    }
    if (nwaiters > 0) serve_waiters();
}

void replication_init(void)
{
    new_replid();
    replid2[0] = '\0';
    if (server.replicaof && server.replicaof[0]) {
        char host[256];
        int port;
        if (sscanf(server.replicaof, "%255s %d", host, &port) == 2) set_primary(host, port);
    }
}

/* ---- INFO -------------------------------------------------------------------- */

size_t replication_info(char *buf, size_t size)
{
    size_t n = 0;
#define OUT(...)                                                                \
    do {                                                                        \
        int w = snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__);       \
        if (w > 0) n += (size_t)w;                                              \
    } while (0)
    if (server_is_replica()) {
        OUT("role:slave\r\nmaster_host:%s\r\nmaster_port:%d\r\n", upstream.host, upstream.port);
        OUT("master_link_status:%s\r\n", upstream.state == LINK_CONNECTED ? "up" : "down");
        long long io = upstream.master ? (server.now_ms - upstream.master->last_interaction_ms) / 1000 : -1;
        OUT("master_last_io_seconds_ago:%lld\r\n", io);
        OUT("master_sync_in_progress:%d\r\n", upstream.state == LINK_TRANSFER);
        OUT("slave_read_repl_offset:%lld\r\nslave_repl_offset:%lld\r\n", master_repl_offset, master_repl_offset);
        if (upstream.state == LINK_TRANSFER)
            OUT("master_sync_total_bytes:%lld\r\nmaster_sync_read_bytes:%lld\r\nmaster_sync_left_bytes:%lld\r\n",
                upstream.transfer_size, upstream.transfer_read, upstream.transfer_size - upstream.transfer_read);
        if (upstream.state != LINK_CONNECTED)
            OUT("master_link_down_since_seconds:%lld\r\n",
                upstream.down_since_ms ? (server.now_ms - upstream.down_since_ms) / 1000 : -1);
        OUT("slave_priority:100\r\nslave_read_only:1\r\nreplica_announced:1\r\n");
    } else {
        OUT("role:master\r\n");
    }
    int online = 0;
    for (int i = 0; i < nreplicas; i++) online += replicas[i]->repl->state == RL_ONLINE && !replicas[i]->repl->slots;
    OUT("connected_slaves:%d\r\n", online);
    if (server.min_replicas_to_write > 0) OUT("min_slaves_good_slaves:%d\r\n", fresh_replicas());
    int k = 0;
    for (int i = 0; i < nreplicas; i++) {
        struct replica_state *r = replicas[i]->repl;
        if (r->slots) continue;
        const char *state = r->state == RL_ONLINE ? "online" : r->state == RL_SEND_SNAPSHOT ? "send_bulk" : "wait_bgsave";
        OUT("slave%d:ip=%s,port=%d,state=%s,offset=%lld,lag=%lld\r\n", k++, r->ip, r->listening_port, state,
            r->ack_offset, (server.now_ms - r->ack_time_ms) / 1000);
    }
    OUT("master_failover_state:no-failover\r\n");
    OUT("master_replid:%s\r\nmaster_replid2:%s\r\n", replid, replid2[0] ? replid2 : "0000000000000000000000000000000000000000");
    OUT("master_repl_offset:%lld\r\nsecond_repl_offset:%lld\r\n", master_repl_offset, second_repl_offset);
    OUT("repl_backlog_active:%d\r\nrepl_backlog_size:%lld\r\n", backlog.buf != NULL, backlog.buf ? backlog.size : server.repl_backlog_size);
    OUT("repl_backlog_first_byte_offset:%lld\r\nrepl_backlog_histlen:%lld\r\n", backlog.buf ? backlog.first_offset : 0, backlog.histlen);
#undef OUT
    return n < size ? n : (size ? size - 1 : 0);
}

size_t replication_stats_info(char *buf, size_t size)
{
    int n = snprintf(buf, size, "sync_full:%lld\r\nsync_partial_ok:%lld\r\nsync_partial_err:%lld\r\n",
                     stat_sync_full, stat_sync_partial_ok, stat_sync_partial_err);
    return n < 0 ? 0 : ((size_t)n < size ? (size_t)n : size - 1);
}

long long replication_offset(void) { return master_repl_offset; }

size_t replication_output_bytes(void)
{
    size_t total = 0;
    for (int i = 0; i < nreplicas; i++) total += client_output_bytes(replicas[i]);
    return total;
}

struct command replication_commands[] = {
    {"psync", psync_command, -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_NO_MULTI, 0, 0, 0, 0, NULL, NULL, "server", "Internal command used for replication", "2.8.0", NULL, NULL, 0, 0, 0, 0},
    {"sync", psync_command, 1, CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_NO_MULTI, 0, 0, 0, 0, NULL, NULL, "server", "Internal command used for replication", "1.0.0", NULL, NULL, 0, 0, 0, 0},
    {"replconf", replconf_command, -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_ALLOW_BUSY, 0, 0, 0, 0, NULL, NULL, "server", "An internal command for configuring the replication stream", "3.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"replicaof", replicaof_command, 3, CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE | CMD_NO_ASYNC_LOADING, 0, 0, 0, 0, NULL, NULL, "server", "Make the server a replica of another instance, or promote it as master.", "5.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"slaveof", replicaof_command, 3, CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE | CMD_NO_ASYNC_LOADING, 0, 0, 0, 0, NULL, NULL, "server", "Make the server a replica of another instance, or promote it as master.", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"role", role_command, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST, ACL_ADMIN | ACL_DANGEROUS, 0, 0, 0, NULL, NULL, "server", "Return the role of the instance in the context of replication", "2.8.12", "O(1)", NULL, 0, 0, 0, 0},
    {"wait", wait_command, 3, CMD_NOSCRIPT, ACL_CONNECTION, 0, 0, 0, NULL, "request_policy:all_shards response_policy:agg_min", "generic", "Wait for the synchronous replication of all the write commands sent in the context of the current connection", "3.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
