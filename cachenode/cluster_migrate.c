/* cluster_migrate.c: moving slots between shards, node side (docs/cluster.md,
 * "Moving slots"). Owns the migrations this node takes part in and their
 * commands:
 *   - on the target: CLUSTER IMPORT, IMPORT-FINISH, IMPORT-CANCEL, and the
 *     link to the source: a handshake, then a client flagged CLIENT_IMPORT
 *     that runs the source's stream (the snapshot's keys as
 *     migrate_snapshot.c writes them, then the writes to the slots) like any client's
 *     commands, so they propagate to this node's replicas as they come;
 *   - on the source: CLUSTER SYNCSLOTS, which makes the connection a slot
 *     replica of replication.c, and the pause of writes to the slots during
 *     the hand-off;
 *   - CLUSTER SYNCSLOTS-CTL, the control messages of the link (both ways);
 *   - CLUSTER MIGRATIONS on both.
 * The routing overrides a hand-off leaves are cluster.c's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster.h"
#include "cluster_int.h"
#include "eventloop.h"
#include "log.h"
#include "migrate_snapshot.h"
#include "proto.h"
#include "snapshot.h"

#define MAX_MIGRATIONS 16
#define DEFAULT_HANDOFF_MS 2000
#define SOURCE_GRACE_MS 1000 /* the source waits this much longer than the target */
#define MEMORY_MARGIN 0.9    /* an import may fill maxmemory up to this share */
#define LINK_BUF 4096

enum mig_state { MS_CONNECTING, MS_SNAPSHOT, MS_STREAMING, MS_HANDOFF, MS_DONE, MS_FAILED, MS_CANCELLED };
static const char *const state_names[] = {"connecting", "snapshot", "streaming", "handoff",
                                          "done",       "failed",   "cancelled"};

struct migration {
    int used;
    int import; /* 1: this node is the target, 0: the source */
    char id[TOPO_NAME_MAX + 1];
    char peer[TOPO_HOST_MAX + 16]; /* host:port */
    char peer_host[TOPO_HOST_MAX + 1];
    int peer_port;
    char peer_node[TOPO_NAME_MAX + 1]; /* source side: the target's node id */
    unsigned char slots[SLOT_BITMAP_BYTES];
    char *slots_text;
    enum mig_state state;
    long long keys, bytes;
    char error[256];
    long long seq; /* creation order, for reusing the oldest finished entry */
    long long deadline_ms;
    uint64_t waiter; /* target: the client waiting in IMPORT or IMPORT-FINISH */
    /* target: the link */
    int fd; /* during the handshake, -1 after */
    char buf[LINK_BUF];
    size_t buflen;
    int auth_pending;
    uint64_t link; /* the CLIENT_IMPORT client once the stream flows */
    long long snapshot_size, applied;
    long long handoff; /* the hand-off attempt: FINISH, END and ACK carry it */
    /* source */
    uint64_t replica; /* the slot replica's client */
    struct held_clients paused; /* writes to the slots during the hand-off */
};

static struct migration migrations[MAX_MIGRATIONS];
static long long next_seq;

static int active(const struct migration *m) { return m->used && m->state < MS_DONE; }

static struct migration *find(const char *id, size_t len, int want_import)
{
    struct migration *best = NULL;
    for (int i = 0; i < MAX_MIGRATIONS; i++) {
        struct migration *m = &migrations[i];
        if (!m->used || m->import != want_import || strlen(m->id) != len || memcmp(m->id, id, len) != 0) continue;
        if (best == NULL || active(m) || (!active(best) && m->seq > best->seq)) best = m;
    }
    return best;
}

static struct migration *find_by_client(uint64_t id, int import)
{
    for (int i = 0; i < MAX_MIGRATIONS; i++) {
        struct migration *m = &migrations[i];
        if (active(m) && m->import == import && (import ? m->link : m->replica) == id) return m;
    }
    return NULL;
}

/* A free entry, or the oldest finished one; NULL when all are active. */
static struct migration *new_migration(const arg *id, const arg *slots, const unsigned char *bits, int import)
{
    struct migration *m = NULL;
    for (int i = 0; i < MAX_MIGRATIONS; i++) {
        struct migration *e = &migrations[i];
        if (!e->used) {
            m = e;
            break;
        }
        if (!active(e) && (m == NULL || e->seq < m->seq)) m = e;
    }
    if (m == NULL) return NULL;
    zfree(m->slots_text);
    held_free(&m->paused);
    memset(m, 0, sizeof(*m));
    m->used = 1;
    m->import = import;
    m->fd = -1;
    m->seq = ++next_seq;
    memcpy(m->id, id->p, id->len);
    m->slots_text = zstrndup(slots->p, slots->len);
    memcpy(m->slots, bits, SLOT_BITMAP_BYTES);
    return m;
}

static int overlaps_active_import(const unsigned char *bits)
{
    for (int i = 0; i < MAX_MIGRATIONS; i++) {
        const struct migration *m = &migrations[i];
        if (!active(m) || !m->import) continue;
        for (int b = 0; b < SLOT_BITMAP_BYTES; b++)
            if (m->slots[b] & bits[b]) return 1;
    }
    return 0;
}

int migrate_importing(unsigned slot)
{
    for (int i = 0; i < MAX_MIGRATIONS; i++)
        if (active(&migrations[i]) && migrations[i].import && slot_bit(migrations[i].slots, slot)) return 1;
    return 0;
}

/* The hex id of a migration's peer: the target's for an export, the
 * slots' owner's primary for an import; NULL when not in the topology. */
static const char *peer_hex_id(const struct migration *m, unsigned slot)
{
    int index = 0, shard = m->import ? cluster.topo.owner[slot] : topology_find_node(&cluster.topo, m->peer_node, &index);
    return shard >= 0 && index >= 0 && index < cluster.topo.shards[shard].nnodes
               ? cluster.topo.shards[shard].nodes[index].id
               : NULL;
}

void migrate_open_slots(struct text *out)
{
    for (int i = 0; i < MAX_MIGRATIONS; i++) {
        const struct migration *m = &migrations[i];
        if (!active(m)) continue;
        for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
            const char *id = slot_bit(m->slots, s) ? peer_hex_id(m, s) : NULL;
            if (id) text_addf(out, " [%u-%s-%s]", s, m->import ? "<" : ">", id);
        }
    }
}

static long long slots_keys(const unsigned char *bits)
{
    long long n = 0;
    for (unsigned s = 0; s < CLUSTER_SLOTS; s++)
        if (slot_bit(bits, s)) n += (long long)db_slot_size(server.dbs[0], s);
    return n;
}

/* Answers the client waiting in IMPORT or IMPORT-FINISH: err NULL for +OK. */
static void answer_waiter(struct migration *m, const char *err)
{
    client *c = m->waiter ? client_by_id(m->waiter) : NULL;
    m->waiter = 0;
    if (c == NULL || !(c->flags & CLIENT_BLOCKED)) return;
    if (err) reply_error(c, err);
    else reply_ok(c);
    unblock_client(c);
}

/* The slots of IMPORT or SYNCSLOTS into bits, checked against the
 * topology: this node is a primary and its shard owns every slot (the
 * source), or another shard does (the target). -1 after replying. */
static int parse_slots_here(client *c, const arg *slots, unsigned char *bits, int target)
{
    char err[256];
    if (topology_parse_slot_set(slots, bits, err, sizeof(err)) == -1) {
        reply_error(c, err);
        return -1;
    }
    if (!cluster_is_primary()) {
        reply_errorf(c, "ERR %s needs a primary named in the topology", target ? "IMPORT" : "SYNCSLOTS");
        return -1;
    }
    for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
        int mine = cluster_slot_is_mine(s);
        if (slot_bit(bits, s) && (target ? mine || cluster.topo.owner[s] < 0 : !mine)) {
            reply_errorf(c, "ERR slot %u is %s", s, target ? "not owned by another shard" : "not served by this node");
            return -1;
        }
    }
    return 0;
}

/* ---- the source: the pause of writes during a hand-off ------------------------- */

int migrate_pause_write(client *c, const struct command *cmd)
{
    if (c->flags & (CLIENT_MASTER | CLIENT_IMPORT | CLIENT_REPLICA)) return 0;
    uint32_t flags = cmd->flags | multi_exec_flags(c, cmd);
    if (!(flags & (CMD_WRITE | CMD_MAY_REPLICATE))) return 0; /* reads go on */
    struct migration *m = NULL;
    int slot = -2;
    for (int i = 0; i < MAX_MIGRATIONS && m == NULL; i++) {
        struct migration *e = &migrations[i];
        if (!e->used || e->import || e->state != MS_HANDOFF) continue;
        if (slot == -2) slot = cluster_command_slot(c, cmd);
        if (slot >= 0 && slot_bit(e->slots, (unsigned)slot)) m = e;
    }
    if (m == NULL) return 0;
    held_add(&m->paused, c);
    return 1;
}


/* ---- the source: the slot replica ---------------------------------------------- */

/* In the forked child: the slots' keys, straight to the target's socket
 * (no file, so the target loads while the child writes). */
static int write_slots_snapshot(int fd, long long *bytes, void *priv)
{
    const struct migration *m = priv;
    return migrate_write_slots(fd, m->slots, bytes);
}

/* The child wrote the snapshot: the target learns its size in the stream. */
static void export_snapshot_sent(void *priv, long long size)
{
    struct migration *m = priv;
    client *c = m->replica ? client_by_id(m->replica) : NULL;
    if (c == NULL) return;
    char num[24], line[128];
    size_t len = ll2str(num, sizeof(num), size);
    int n = snprintf(line, sizeof(line), "*4\r\n$7\r\nCLUSTER\r\n$13\r\nSYNCSLOTS-CTL\r\n$12\r\nSNAPSHOT-END\r\n$%zu\r\n%s\r\n",
                     len, num);
    replication_slot_replica_send(c, line, (size_t)n);
    log_msg(LOG_NOTICE, "Migration %s: sent %lld bytes of the slots' keys to %s", m->id, size, m->peer);
}

static void export_online(void *priv)
{
    struct migration *m = priv;
    if (m->state == MS_SNAPSHOT) m->state = MS_STREAMING;
}

static void export_gone(void *priv)
{
    struct migration *m = priv;
    if (m->replica) m->bytes = replication_slot_replica_offset(client_by_id(m->replica));
    m->replica = 0;
    if (!active(m)) return;
    m->state = MS_FAILED;
    snprintf(m->error, sizeof(m->error), "the link to the target was lost");
    held_release(&m->paused);
    log_msg(LOG_WARNING, "Migration %s: the target %s is gone; the slots stay here", m->id, m->peer);
}

/* A new migration named id for these slots, or NULL after the error reply
 * (one of that name under way, or no room for another). */
static struct migration *claim_migration(client *c, const arg *id, const arg *slots, const unsigned char *bits,
                                         int import)
{
    struct migration *old = find(id->p, id->len, import);
    if (old && active(old)) {
        reply_errorf(c, "ERR migration %s is already %s", old->id, import ? "importing" : "exporting");
        return NULL;
    }
    struct migration *m = new_migration(id, slots, bits, import);
    if (m == NULL) reply_error(c, "ERR too many migrations under way");
    return m;
}

/* CLUSTER SYNCSLOTS <migration-id> <slots> <target-node-id> */
static void syncslots_command(client *c)
{
    unsigned char bits[SLOT_BITMAP_BYTES];
    const arg *id = &c->argv[2], *node = &c->argv[4];
    if (!topology_name_ok(id->p, id->len) || !topology_name_ok(node->p, node->len)) {
        reply_error(c, "ERR invalid migration or node id: 1 to 64 of [A-Za-z0-9_-]");
        return;
    }
    if (parse_slots_here(c, &c->argv[3], bits, 0) == -1) return;
    char node_id[TOPO_NAME_MAX + 1], peer[sizeof(((struct migration *)0)->peer)];
    snprintf(node_id, sizeof(node_id), "%.*s", (int)node->len, node->p);
    if (cluster_node_addr(node_id, peer, sizeof(peer)) != 0) {
        reply_errorf(c, "ERR node %s is no primary in this node's topology", node_id);
        return;
    }
    struct migration *m = claim_migration(c, id, &c->argv[3], bits, 0);
    if (m == NULL) return;
    snprintf(m->peer, sizeof(m->peer), "%s", peer);
    snprintf(m->peer_node, sizeof(m->peer_node), "%s", node_id);
    m->state = MS_SNAPSHOT;
    m->keys = slots_keys(bits);
    /* the slots' share of the memory, by their share of the keys */
    long long total = (long long)db_size(server.dbs[0]);
    long long estimate = total > 0 ? (long long)((double)zmalloc_used() * (double)m->keys / (double)total) : 0;
    char line[96];
    snprintf(line, sizeof(line), "SYNCSLOTS %lld %lld", m->keys, estimate);
    reply_status(c, line);
    struct slot_replica_ops ops = {write_slots_snapshot, export_snapshot_sent, export_online, export_gone, m};
    m->replica = c->id;
    if (replication_add_slot_replica(c, m->slots, &ops) == -1) {
        m->replica = 0;
        m->state = MS_FAILED;
        snprintf(m->error, sizeof(m->error), "no room for another replica");
        return;
    }
    log_msg(LOG_NOTICE, "Migration %s: exporting slots %s (%lld keys) to %s", m->id, m->slots_text, m->keys,
            m->peer);
}

/* ---- the target: the link to the source ------------------------------------------ */

static void drop_imported(struct migration *m)
{
    size_t dropped = 0;
    for (unsigned s = 0; s < CLUSTER_SLOTS; s++)
        if (slot_bit(m->slots, s) && !cluster_slot_is_mine(s)) dropped += cluster_drop_slot(s, 1);
    if (dropped) log_msg(LOG_NOTICE, "Migration %s: dropped the %zu keys imported", m->id, dropped);
}

static void close_handshake(struct migration *m)
{
    if (m->fd < 0) return;
    el_del(m->fd, EL_READABLE | EL_WRITABLE);
    close(m->fd);
    m->fd = -1;
}

/* Ends an import that did not complete: state, error, the link, the keys. */
static void end_import(struct migration *m, enum mig_state state, const char *why)
{
    if (!active(m)) return;
    m->keys = slots_keys(m->slots);
    m->state = state;
    snprintf(m->error, sizeof(m->error), "%s", why);
    close_handshake(m);
    client *link = m->link ? client_by_id(m->link) : NULL;
    m->link = 0;
    if (link) close_client_async(link);
    drop_imported(m);
    char err[320];
    snprintf(err, sizeof(err), "ERR migration %s %s: %s", m->id, state_names[state], why);
    answer_waiter(m, err);
    log_msg(LOG_WARNING, "Migration %s: import %s: %s", m->id, state_names[state], why);
}

/* Writes a control message to the source on the link. */
static void send_to_source(struct migration *m, int argc, const arg *argv)
{
    client *link = m->link ? client_by_id(m->link) : NULL;
    if (link == NULL) return;
    enum reply_mode mode = link->reply_mode;
    link->reply_mode = REPLY_ON; /* the link gets no replies, only this */
    reply_array(link, argc);
    for (int i = 0; i < argc; i++) reply_bulk(link, argv[i].p, argv[i].len);
    link->reply_mode = mode;
}

static void send_ctl(struct migration *m, const char *verb, const char *value, const char *value2)
{
    arg argv[5] = {{"CLUSTER", 7}, {"SYNCSLOTS-CTL", 13}, {verb, strlen(verb)}, {value, value ? strlen(value) : 0},
                   {value2, value2 ? strlen(value2) : 0}};
    send_to_source(m, value2 ? 5 : value ? 4 : 3, argv);
}

/* The handshake is over: the socket becomes the client that runs the stream. */
static void start_stream(struct migration *m, const char *leftover, size_t len)
{
    int fd = m->fd;
    el_del(fd, EL_READABLE | EL_WRITABLE);
    m->fd = -1;
    client *link = client_create(fd);
    if (link == NULL) {
        end_import(m, MS_FAILED, "cannot create the link's client");
        return;
    }
    link->flags |= CLIENT_IMPORT | CLIENT_AUTHENTICATED;
    link->reply_mode = REPLY_OFF;
    select_db(link, 0);
    snprintf(link->addr, sizeof(link->addr), "%.63s", m->peer);
    m->link = link->id;
    m->state = MS_SNAPSHOT;
    if (m->snapshot_size == 0) m->state = MS_STREAMING;
    if (len > 0) {
        proto_reserve(link, len);
        memcpy(link->querybuf, leftover, len);
        link->qb_len = len;
        process_client_input(link);
    }
}

/* One line of the source's replies; -1 when the import ended, 1 when the
 * stream starts after it. */
static int handshake_line(struct migration *m, const char *line)
{
    if (line[0] == '-') {
        end_import(m, MS_FAILED, strncmp(line, "-ERR ", 5) == 0 ? line + 5 : line + 1);
        return -1;
    }
    if (m->auth_pending) {
        m->auth_pending = 0;
        return 0;
    }
    long long keys, bytes;
    if (strncmp(line, "+SYNCSLOTS ", 11) == 0 && sscanf(line + 11, "%lld %lld", &keys, &bytes) == 2) {
        long long used = (long long)zmalloc_used();
        if (server.maxmemory > 0 && (double)(used + bytes) > (double)server.maxmemory * MEMORY_MARGIN) {
            char why[256];
            snprintf(why, sizeof(why), "not enough memory: the slots take about %lld bytes on the source, this "
                     "node uses %lld of maxmemory %lld (%.0f%% at most)", bytes, used,
                     (long long)server.maxmemory, MEMORY_MARGIN * 100);
            end_import(m, MS_FAILED, why);
            return -1;
        }
        m->keys = keys;
        m->state = MS_SNAPSHOT; /* no timeout while the source writes it */
        answer_waiter(m, NULL); /* IMPORT succeeds: the sync has begun */
        return 0;
    }
    /* "$-1": the snapshot's size comes at its end (SNAPSHOT-END) */
    if (line[0] == '$' && string2ll(line + 1, strlen(line + 1), &m->snapshot_size) && m->snapshot_size >= -1)
        return 1;
    end_import(m, MS_FAILED, "unexpected reply from the source");
    return -1;
}

static void handshake_read(int fd, void *data, int mask)
{
    (void)mask;
    struct migration *m = data;
    ssize_t n = read(fd, m->buf + m->buflen, sizeof(m->buf) - m->buflen - 1);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        end_import(m, MS_FAILED, "the link to the source was lost during the handshake");
        return;
    }
    m->buflen += (size_t)n;
    size_t pos = 0;
    while (pos < m->buflen) {
        char *nl = memchr(m->buf + pos, '\n', m->buflen - pos);
        if (nl == NULL) break;
        char line[LINK_BUF];
        size_t len = (size_t)(nl - (m->buf + pos));
        if (len > 0 && m->buf[pos + len - 1] == '\r') len--;
        memcpy(line, m->buf + pos, len);
        line[len] = '\0';
        pos = (size_t)(nl - m->buf) + 1;
        if (len == 0) continue; /* keep-alive newline while the source forks */
        int r = handshake_line(m, line);
        if (r < 0) return;
        if (r == 1) {
            start_stream(m, m->buf + pos, m->buflen - pos);
            return;
        }
    }
    memmove(m->buf, m->buf + pos, m->buflen - pos);
    m->buflen -= pos;
    if (m->buflen >= sizeof(m->buf) - 1) end_import(m, MS_FAILED, "handshake reply too long");
}

static int write_command(int fd, int argc, const arg *argv)
{
    char buf[LINK_BUF];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "*%d\r\n", argc);
    for (int i = 0; i < argc && n < sizeof(buf); i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "$%zu\r\n%.*s\r\n", argv[i].len, (int)argv[i].len, argv[i].p);
    if (n >= sizeof(buf)) return -1;
    return write(fd, buf, n) == (ssize_t)n ? 0 : -1;
}

static void connected(int fd, void *data, int mask)
{
    (void)mask;
    struct migration *m = data;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0) {
        end_import(m, MS_FAILED, err ? strerror(err) : "cannot connect to the source");
        return;
    }
    el_del(fd, EL_WRITABLE);
    if (el_add(fd, EL_READABLE, handshake_read, m) == -1) {
        end_import(m, MS_FAILED, "cannot watch the link's socket");
        return;
    }
    int rc = 0;
    if (server.masterauth && server.masterauth[0]) {
        arg auth[2] = {{"AUTH", 4}, {server.masterauth, strlen(server.masterauth)}};
        rc = write_command(fd, 2, auth);
        m->auth_pending = 1;
    }
    arg sync[5] = {{"CLUSTER", 7}, {"SYNCSLOTS", 9}, {m->id, strlen(m->id)}, {m->slots_text, strlen(m->slots_text)},
                   {server.node_id, strlen(server.node_id)}};
    if (rc == 0) rc = write_command(fd, 5, sync);
    if (rc == -1) end_import(m, MS_FAILED, "cannot write to the source");
}

void migrate_link_applied(client *c, size_t bytes)
{
    struct migration *m = find_by_client(c->id, 1);
    if (m == NULL) return;
    m->applied += (long long)bytes;
    m->bytes = m->applied;
    if (m->state == MS_SNAPSHOT && m->snapshot_size >= 0 && m->applied >= m->snapshot_size) {
        m->state = MS_STREAMING;
        log_msg(LOG_NOTICE, "Migration %s: snapshot of %lld bytes loaded, streaming", m->id, m->snapshot_size);
    }
}

void migrate_client_freed(client *c)
{
    if (!(c->flags & CLIENT_IMPORT)) return;
    struct migration *m = find_by_client(c->id, 1);
    if (m == NULL) return;
    m->link = 0;
    end_import(m, MS_FAILED, "the link to the source was lost");
}

/* ---- the target's commands -------------------------------------------------------- */

/* CLUSTER IMPORT <migration-id> <source-host> <source-port> <slots> */
static void import_command(client *c)
{
    unsigned char bits[SLOT_BITMAP_BYTES];
    char err[256] = "";
    const arg *id = &c->argv[2], *host = &c->argv[3];
    long long port;
    if (!topology_name_ok(id->p, id->len)) {
        reply_error(c, "ERR invalid migration id: 1 to 64 of [A-Za-z0-9_-]");
        return;
    }
    if (host->len == 0 || host->len > TOPO_HOST_MAX || !string2ll(c->argv[4].p, c->argv[4].len, &port) ||
        port <= 0 || port > 65535) {
        reply_error(c, "ERR invalid source host or port");
        return;
    }
    if (parse_slots_here(c, &c->argv[5], bits, 1) == -1) return;
    if (overlaps_active_import(bits)) {
        reply_error(c, "ERR some of these slots are already being imported");
        return;
    }
    struct migration *m = claim_migration(c, id, &c->argv[5], bits, 1);
    if (m == NULL) return;
    snprintf(m->peer_host, sizeof(m->peer_host), "%.*s", (int)host->len, host->p);
    m->peer_port = (int)port;
    snprintf(m->peer, sizeof(m->peer), "%s:%d", m->peer_host, m->peer_port);
    m->state = MS_CONNECTING;
    m->deadline_ms = server.now_ms + (long long)server.repl_timeout * 1000;
    m->waiter = c->id;
    block_client(c, 0);
    m->fd = net_connect_nonblock(m->peer_host, m->peer_port, err, sizeof(err));
    if (m->fd == -1 || el_add(m->fd, EL_WRITABLE, connected, m) == -1) {
        end_import(m, MS_FAILED, err[0] ? err : "cannot connect to the source");
        return;
    }
    log_msg(LOG_NOTICE, "Migration %s: importing slots %s from %s", m->id, m->slots_text, m->peer);
}

static struct migration *import_named(client *c, const arg *id)
{
    struct migration *m = find(id->p, id->len, 1);
    if (m == NULL) reply_errorf(c, "ERR no import named %.*s", (int)(id->len > 64 ? 64 : id->len), id->p);
    return m;
}

/* CLUSTER IMPORT-FINISH <migration-id> [TIMEOUT <ms>] */
static void import_finish_command(client *c)
{
    long long timeout = DEFAULT_HANDOFF_MS;
    if (c->argc != 3 && !(c->argc == 5 && arg_is(c->argv[3].p, c->argv[3].len, "timeout"))) {
        reply_syntax_error(c);
        return;
    }
    if (c->argc == 5 && (!string2ll(c->argv[4].p, c->argv[4].len, &timeout) || timeout <= 0 || timeout > 600000)) {
        reply_error(c, "ERR TIMEOUT must be from 1 to 600000 ms");
        return;
    }
    struct migration *m = import_named(c, &c->argv[2]);
    if (m == NULL) return;
    if (m->state == MS_DONE) {
        reply_ok(c);
        return;
    }
    if (m->state != MS_STREAMING || m->waiter) {
        reply_errorf(c, "ERR migration %s is %s, not streaming", m->id, state_names[m->state]);
        return;
    }
    char ms[24], attempt[24];
    ll2str(ms, sizeof(ms), timeout);
    ll2str(attempt, sizeof(attempt), ++m->handoff);
    m->state = MS_HANDOFF;
    m->deadline_ms = server.now_ms + timeout;
    m->waiter = c->id;
    block_client(c, 0);
    send_ctl(m, "FINISH", ms, attempt);
}

/* CLUSTER IMPORT-CANCEL <migration-id> */
static void import_cancel_command(client *c)
{
    struct migration *m = import_named(c, &c->argv[2]);
    if (m == NULL) return;
    if (m->state == MS_DONE) {
        reply_errorf(c, "ERR migration %s is done: the slots were handed off", m->id);
        return;
    }
    end_import(m, MS_CANCELLED, "cancelled");
    propagate_prevent(); /* the deletions propagated, not this */
    reply_ok(c);
}

/* ---- the link's control messages ------------------------------------------------ */

/* On the source: FINISH <ms> (pause, mark the end), ACK (hand the slots
 * over), RESUME (the target gave up). */
static void source_ctl(client *c, struct migration *m, const arg *verb)
{
    long long ms, attempt;
    /* FINISH, END and ACK name the hand-off attempt, so that an END or ACK
     * of an attempt that timed out is never taken for a later one's */
    if (arg_is(verb->p, verb->len, "finish") && c->argc == 5 && m->state == MS_STREAMING &&
        string2ll(c->argv[3].p, c->argv[3].len, &ms) && string2ll(c->argv[4].p, c->argv[4].len, &attempt)) {
        m->state = MS_HANDOFF;
        m->handoff = attempt;
        m->deadline_ms = server.now_ms + ms + SOURCE_GRACE_MS;
        char off[24], line[160];
        ll2str(off, sizeof(off), replication_slot_replica_offset(c));
        int n = snprintf(line, sizeof(line),
                         "*5\r\n$7\r\nCLUSTER\r\n$13\r\nSYNCSLOTS-CTL\r\n$3\r\nEND\r\n$%zu\r\n%s\r\n$%zu\r\n%.*s\r\n",
                         strlen(off), off, c->argv[4].len, (int)c->argv[4].len, c->argv[4].p);
        replication_slot_replica_send(c, line, (size_t)n);
    } else if (arg_is(verb->p, verb->len, "ack") && m->state == MS_HANDOFF && c->argc == 4 &&
               string2ll(c->argv[3].p, c->argv[3].len, &attempt) && attempt == m->handoff) {
        if (cluster_give_slots(m->slots, m->peer_node) == -1)
            log_msg(LOG_WARNING, "Migration %s: %s is in no shard of this node's topology", m->id, m->peer_node);
        m->bytes = replication_slot_replica_offset(c);
        m->state = MS_DONE;
        m->replica = 0;
        held_release(&m->paused); /* they get MOVED now */
        close_client_async(c);
        log_msg(LOG_NOTICE, "Migration %s: slots %s handed off to %s", m->id, m->slots_text, m->peer);
    } else if (arg_is(verb->p, verb->len, "resume") && m->state == MS_HANDOFF) {
        m->state = MS_STREAMING;
        held_release(&m->paused);
    }
}

/* On the target: SNAPSHOT-END <bytes> (the snapshot is over: it was that
 * long), FLUSH (FLUSHALL/FLUSHDB on the source), END <offset>. */
static void target_ctl(client *c, struct migration *m, const arg *verb)
{
    long long off;
    if (arg_is(verb->p, verb->len, "flush")) {
        drop_imported(m);
        propagate_prevent();
        return;
    }
    if (arg_is(verb->p, verb->len, "snapshot-end")) {
        if (c->argc == 4 && string2ll(c->argv[3].p, c->argv[3].len, &off) && off >= 0) m->snapshot_size = off;
        return;
    }
    long long attempt;
    if (!arg_is(verb->p, verb->len, "end") || c->argc != 5 || !string2ll(c->argv[3].p, c->argv[3].len, &off) ||
        !string2ll(c->argv[4].p, c->argv[4].len, &attempt))
        return;
    /* an END of an attempt that timed out (the source resumed) is stale */
    if (m->state != MS_HANDOFF || attempt != m->handoff) return;
    if (mstime() > m->deadline_ms) { /* this node stalled past its own limit: the source resumes on its own */
        m->state = MS_STREAMING;
        send_ctl(m, "RESUME", NULL, NULL);
        answer_waiter(m, "ERR hand-off timed out: the slots stay with the source");
        return;
    }
    if (off != m->applied) {
        char why[128];
        snprintf(why, sizeof(why), "stream offset mismatch: source at %lld, applied %lld", off, m->applied);
        send_ctl(m, "RESUME", NULL, NULL);
        end_import(m, MS_FAILED, why);
        return;
    }
    char attempt_text[24];
    ll2str(attempt_text, sizeof(attempt_text), m->handoff);
    cluster_take_slots(m->slots);
    send_ctl(m, "ACK", attempt_text, NULL);
    m->keys = slots_keys(m->slots);
    m->state = MS_DONE;
    m->link = 0; /* the source closes it */
    answer_waiter(m, NULL);
    log_msg(LOG_NOTICE, "Migration %s: took slots %s from %s (%lld keys)", m->id, m->slots_text, m->peer, m->keys);
}

/* CLUSTER SYNCSLOTS-CTL <verb> [<value>]: no reply either way. */
static void syncslots_ctl_command(client *c)
{
    struct migration *m = find_by_client(c->id, (c->flags & CLIENT_IMPORT) != 0);
    if (m == NULL) return;
    if (m->import) target_ctl(c, m, &c->argv[2]);
    else source_ctl(c, m, &c->argv[2]);
}

/* ---- MIGRATIONS, cron ------------------------------------------------------------------ */

static void migrations_command(client *c)
{
    int n = 0;
    for (int i = 0; i < MAX_MIGRATIONS; i++) n += migrations[i].used;
    reply_array(c, n);
    for (int i = 0; i < MAX_MIGRATIONS; i++) {
        struct migration *m = &migrations[i];
        if (!m->used) continue;
        client *peer = m->import ? (m->link ? client_by_id(m->link) : NULL) : (m->replica ? client_by_id(m->replica) : NULL);
        long long keys = m->keys, bytes = m->bytes, lag = 0;
        if (peer && m->import) {
            keys = slots_keys(m->slots);
            lag = (long long)(peer->qb_len - peer->qb_pos);
        } else if (peer) {
            bytes = replication_slot_replica_offset(peer);
            lag = (long long)client_output_bytes(peer);
        }
        reply_map(c, 9);
        reply_bulk_cstr(c, "id");
        reply_bulk_cstr(c, m->id);
        reply_bulk_cstr(c, "role");
        reply_bulk_cstr(c, m->import ? "import" : "export");
        reply_bulk_cstr(c, "peer");
        reply_bulk_cstr(c, m->peer);
        reply_bulk_cstr(c, "slots");
        reply_bulk_cstr(c, m->slots_text);
        reply_bulk_cstr(c, "state");
        reply_bulk_cstr(c, state_names[m->state]);
        reply_bulk_cstr(c, "keys");
        reply_int(c, keys);
        reply_bulk_cstr(c, "bytes");
        reply_int(c, bytes);
        reply_bulk_cstr(c, "lag_bytes");
        reply_int(c, lag);
        reply_bulk_cstr(c, "error");
        reply_bulk_cstr(c, m->error);
    }
}

void migrate_cron(void)
{
    for (int i = 0; i < MAX_MIGRATIONS; i++) {
        struct migration *m = &migrations[i];
        if (!active(m) || server.now_ms <= m->deadline_ms) continue;
        if (m->import && m->state == MS_CONNECTING) {
            end_import(m, MS_FAILED, "timeout connecting to the source");
        } else if (m->import && m->state == MS_HANDOFF) {
            m->state = MS_STREAMING;
            send_ctl(m, "RESUME", NULL, NULL);
            answer_waiter(m, "ERR hand-off timed out: the slots stay with the source");
        } else if (!m->import && m->state == MS_HANDOFF) {
            log_msg(LOG_WARNING, "Migration %s: no hand-off acknowledgement in time; resuming writes", m->id);
            m->state = MS_STREAMING;
            held_release(&m->paused);
        }
    }
}

void cluster_migrate_release(void)
{
    for (int i = 0; i < MAX_MIGRATIONS; i++) {
        close_handshake(&migrations[i]);
        zfree(migrations[i].slots_text);
        held_free(&migrations[i].paused);
        memset(&migrations[i], 0, sizeof(migrations[i]));
    }
}

const struct cluster_proc cluster_migrate_procs[] = {
    {"cluster|import", import_command},
    {"cluster|import-finish", import_finish_command},
    {"cluster|import-cancel", import_cancel_command},
    {"cluster|migrations", migrations_command},
    {"cluster|syncslots", syncslots_command},
    {"cluster|syncslots-ctl", syncslots_ctl_command},
    {NULL, NULL},
};
