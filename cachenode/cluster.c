/* cluster.c: cluster mode. Owns the topology this node runs (set by the
 * control plane with CLUSTER SETTOPOLOGY, kept in cluster-config-file,
 * loaded at start-up), which node and shard this node is, the per-slot
 * owner table routing reads in O(1), dropping the keys of slots the shard
 * lost, and routing: where a command's keys are served (MOVED, CROSSSLOT,
 * CLUSTERDOWN) before it runs, and what a script may touch. The CLUSTER
 * replies are in cluster_cmd.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"
#include "cluster_int.h"
#include "log.h"
#include "slot.h"

struct cluster_state cluster = {.my_shard = -1, .my_index = -1};

long long cluster_epoch(void) { return cluster.topo.epoch; }

int cluster_slot_is_mine(unsigned slot)
{
    return slot < CLUSTER_SLOTS && cluster.my_shard >= 0 && cluster.topo.owner[slot] == cluster.my_shard;
}

/* ---- routing -------------------------------------------------------------------- */

struct key_slots {
    int slot;  /* the first key's, -1 before any */
    int cross; /* a key in another slot */
};

static void note_key(void *priv, const arg *key)
{
    struct key_slots *ks = priv;
    int slot = (int)key_hash_slot(key->p, key->len);
    if (ks->slot == -1) ks->slot = slot;
    else if (ks->slot != slot) ks->cross = 1;
}

enum route { ROUTE_HERE = 0, ROUTE_MOVED, ROUTE_CROSSSLOT, ROUTE_DOWN, ROUTE_MY_PRIMARY };

/* Where keys of `slot` are served for a client (readonly: READONLY given
 * and the command does not write); *to is the shard to redirect to. A
 * topology that names this node its shard's primary while the node follows
 * another is behind (a node restarted as a replica, with its stored
 * topology, before its agent sends the new one): the node's role wins, and
 * clients go to the primary it follows, as a replica sends them (before,
 * READONLY errors). */
static enum route route_slot(int slot, int readonly, int *to)
{
    int owner = cluster.topo.owner[slot];
    if (owner < 0 || cluster.my_shard < 0) return ROUTE_DOWN;
    *to = owner;
    if (owner != cluster.my_shard) return ROUTE_MOVED;
    if (readonly) return ROUTE_HERE;
    if (cluster.my_index == 0) return server_is_replica() ? ROUTE_MY_PRIMARY : ROUTE_HERE;
    return ROUTE_MOVED;
}

static enum route route_keys(const struct key_slots *ks, int readonly, int *to)
{
    if (ks->slot == -1) return ROUTE_HERE; /* no keys: any node serves it */
    enum route r = route_slot(ks->slot, readonly, to);
    /* as Redis: the first key's slot unserved wins over keys across slots */
    if (r == ROUTE_DOWN) return r;
    return ks->cross ? ROUTE_CROSSSLOT : r;
}

static void route_error(enum route r, int slot, int to, char *err, size_t size)
{
    if (r == ROUTE_CROSSSLOT) {
        snprintf(err, size, "CROSSSLOT Keys in request don't hash to the same slot");
    } else if (r == ROUTE_DOWN) {
        snprintf(err, size, "CLUSTERDOWN Hash slot not served");
    } else if (r == ROUTE_MY_PRIMARY) {
        char addr[300];
        if (replication_primary_addr(addr, sizeof(addr)) == -1) snprintf(addr, sizeof(addr), "?");
        snprintf(err, size, "MOVED %d %s", slot, addr);
    } else {
        const struct topo_node *n = &cluster.topo.shards[to].nodes[0];
        snprintf(err, size, "MOVED %d %s:%d", slot, n->host, n->port);
    }
}

static int has_key_args(const struct command *cmd) { return cmd->key_specs != NULL || cmd->first_key > 0; }

/* cluster_redirect for the command with these arguments. */
static int redirect_args(const client *c, const struct command *cmd, const arg *argv, int argc, char *err,
                         size_t size)
{
    struct key_slots ks = {-1, 0};
    int exec = multi_is_exec(cmd);
    /* our primary's stream is obeyed; so is a slot move's source */
    if (c->flags & (CLIENT_MASTER | CLIENT_IMPORT)) return 0;
    if (!exec && !has_key_args(cmd)) return 0;
    if (exec) multi_queued_keys(c, note_key, &ks);
    else command_slot_args(cmd, argv, argc, note_key, &ks);
    uint32_t flags = cmd->flags | multi_exec_flags(c, cmd);
    int to = -1;
    /* a replica serves reads after READONLY, and shard channels always */
    int local_ok = ((c->flags & CLIENT_READONLY) || (flags & CMD_PUBSUB)) && !(flags & CMD_WRITE);
    enum route r = route_keys(&ks, local_ok, &to);
    if (r == ROUTE_HERE) return 0;
    route_error(r, ks.slot, to, err, size);
    return 1;
}

int cluster_redirect(const client *c, const struct command *cmd, char *err, size_t size)
{
    return redirect_args(c, cmd, c->argv, c->argc, err, size);
}

int cluster_stream_slot(int argc, const arg *argv)
{
    struct command *cmd = argc > 0 ? command_lookup(argv[0].p, argv[0].len) : NULL;
    if (cmd && cmd->subcommands && argc >= 2) cmd = command_find_subcommand(cmd, &argv[1]);
    if (cmd == NULL || (cmd->flags & CMD_PUBSUB)) return STREAM_SLOT_NONE;
    if (strcmp(cmd->name, "flushall") == 0 || strcmp(cmd->name, "flushdb") == 0) return STREAM_SLOT_FLUSH;
    struct key_slots ks = {-1, 0};
    if (has_key_args(cmd)) command_slot_args(cmd, argv, argc, note_key, &ks);
    return ks.slot >= 0 ? ks.slot : STREAM_SLOT_NONE;
}

int cluster_command_slot(const client *c, const struct command *cmd)
{
    struct key_slots ks = {-1, 0};
    if (multi_is_exec(cmd)) multi_queued_keys(c, note_key, &ks);
    else if (has_key_args(cmd)) command_slot_args(cmd, c->argv, c->argc, note_key, &ks);
    return ks.slot;
}

/* ---- local overrides of the topology (slot moves) --------------------------------
 *
 * A hand-off changes the owner of the moved slots here before the
 * controller publishes the next epoch; the topology as published is kept
 * aside, for comparing a replayed SETTOPOLOGY and for the next apply. */
static int16_t *published_owner; /* NULL: no override */

static void override_slots(const unsigned char *slots, int shard)
{
    if (published_owner == NULL) {
        published_owner = zmalloc(sizeof(cluster.topo.owner));
        memcpy(published_owner, cluster.topo.owner, sizeof(cluster.topo.owner));
    }
    for (unsigned s = 0; s < CLUSTER_SLOTS; s++)
        if (slot_bit(slots, s)) cluster.topo.owner[s] = (int16_t)shard;
    blocking_unblock_refused(redirect_args);
}

static void end_overrides(void)
{
    if (published_owner == NULL) return;
    memcpy(cluster.topo.owner, published_owner, sizeof(cluster.topo.owner));
    zfree(published_owner);
    published_owner = NULL;
}

void cluster_take_slots(const unsigned char *slots) { override_slots(slots, cluster.my_shard); }

/* To the target's shard, whatever the target's role there now: its shard
 * may have failed over since the move began, and the new primary has the
 * imported keys (the target's replicas got them); only the slots' owner
 * matters here. */
int cluster_give_slots(const unsigned char *slots, const char *node_id)
{
    int index = -1;
    int shard = topology_find_node(&cluster.topo, node_id, &index);
    if (shard < 0) return -1;
    override_slots(slots, shard);
    return 0;
}

int cluster_node_addr(const char *node_id, char *buf, size_t size)
{
    int index = -1;
    int shard = topology_find_node(&cluster.topo, node_id, &index);
    if (shard < 0) return -1;
    const struct topo_node *n = &cluster.topo.shards[shard].nodes[index];
    snprintf(buf, size, "%s:%d", n->host, n->port);
    return index;
}

int cluster_is_primary(void) { return cluster.my_shard >= 0 && cluster.my_index == 0; }

/* Deletes the keys of the slots this node neither owns nor imports: a
 * primary's leftovers of a slot move that did not complete. Replicas get
 * the deletions when propagate is set. */
void cluster_drop_unowned(int propagate)
{
    db *d = server.dbs[0];
    size_t dropped = 0;
    for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
        if (cluster_slot_is_mine(s) || migrate_importing(s) || db_slot_size(d, s) == 0) continue;
        dropped += cluster_drop_slot(s, propagate);
    }
    if (dropped) log_msg(LOG_NOTICE, "Cluster: dropped %zu keys of slots this node does not serve", dropped);
}

const char *cluster_script_refusal(const client *caller, const struct command *cmd, const arg *argv, int argc)
{
    struct key_slots ks = {-1, 0};
    if (!server.cluster_enabled || (caller->flags & CLIENT_MASTER) || !has_key_args(cmd)) return NULL;
    command_slot_args(cmd, argv, argc, note_key, &ks);
    int to;
    int readonly = (caller->flags & CLIENT_READONLY) && !(cmd->flags & CMD_WRITE);
    if (route_keys(&ks, readonly, &to) == ROUTE_HERE) return NULL;
    return "ERR Script attempted to access a non local key in a cluster node";
}

/* ---- the config file -------------------------------------------------------------- */

static int config_path(char *buf, size_t size)
{
    const char *file = server.cluster_config_file && server.cluster_config_file[0] ? server.cluster_config_file
                                                                                    : "nodes.conf";
    const char *dir = server.dir && server.dir[0] ? server.dir : ".";
    int n = file[0] == '/' ? snprintf(buf, size, "%s", file) : snprintf(buf, size, "%s/%s", dir, file);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Writes the file durably: a temporary file, fsync, rename, fsync of the
 * directory. Returns the failed step's name, or NULL. */
static const char *write_config(const char *path, const char *text, size_t len)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp)) return "path";
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) return "open";
    const char *failed = write_all(fd, text, len) == -1 ? "write" : fsync(fd) == -1 ? "fsync" : NULL;
    int saved = errno;
    if (close(fd) == -1 && failed == NULL) failed = "close";
    if (failed == NULL && rename(tmp, path) == -1) failed = "rename";
    if (failed) {
        saved = errno;
        unlink(tmp);
        errno = saved;
        return failed;
    }
    return fsync_parent_dir(path) == -1 ? "fsync of the directory" : NULL;
}

static int persist(const struct topology *t, char *err, size_t errlen)
{
    char path[PATH_MAX];
    size_t len;
    if (config_path(path, sizeof(path)) == -1) {
        snprintf(err, errlen, "ERR the cluster config file's path is too long");
        return -1;
    }
    char *text = topology_text(t, &len);
    const char *failed = write_config(path, text, len);
    zfree(text);
    if (failed == NULL) return 0;
    snprintf(err, errlen, "ERR could not save the topology to %s: %s: %s", path, failed, strerror(errno));
    log_msg(LOG_WARNING, "Cluster: %s", err + 4);
    return -1;
}

/* Reads the whole file into a zmalloc'd buffer; NULL with errno set. */
static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) == -1) {
        /* errno says why */
    } else if (st.st_size < 0 || st.st_size > 64LL * 1024 * 1024) {
        errno = EFBIG;
    } else {
        buf = zmalloc((size_t)st.st_size + 1);
        ssize_t got = read(fd, buf, (size_t)st.st_size);
        if (got != (ssize_t)st.st_size) {
            if (got >= 0) errno = EIO;
            zfree(buf);
            buf = NULL;
        } else {
            buf[got] = '\0';
            *len = (size_t)got;
        }
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return buf;
}

/* ---- applying a topology ---------------------------------------------------------- */

/* A key of a lost slot counts as modified: watchers' EXEC fails and
 * tracking clients are told. */
static int touch_dropped(void *priv, const entry *e)
{
    arg key = {entry_key(e), e->keylen};
    key_modified(priv, &key);
    return 0;
}

static int touch_and_propagate(void *priv, const entry *e)
{
    touch_dropped(priv, e);
    propagate_del(priv, entry_key(e), e->keylen);
    return 0;
}

size_t cluster_drop_slot(unsigned slot, int propagate)
{
    db *d = server.dbs[0];
    size_t n = db_slot_size(d, slot);
    if (n == 0) return 0;
    if (propagate || key_modified_matters()) db_walk_slot(d, slot, propagate ? touch_and_propagate : touch_dropped, d);
    else server.dirty += (long long)n; /* what touch_dropped would count, without the walk */
    return lazyfree_slot(d, slot);
}

/* Takes t (the caller's copy is emptied): drops the keys of the slots this
 * node's shard loses, then runs the new topology. */
static void apply(struct topology *t)
{
    int index = -1;
    int shard = server.node_id ? topology_find_node(t, server.node_id, &index) : -1;
    size_t dropped = 0;
    end_overrides(); /* the published topology supersedes them */
    for (int s = 0; s < CLUSTER_SLOTS; s++)
        if (cluster_slot_is_mine((unsigned)s) && (shard < 0 || t->owner[s] != shard))
            dropped += cluster_drop_slot((unsigned)s, 0);
    topology_free(&cluster.topo);
    cluster.topo = *t;
    topology_init(t);
    cluster.my_shard = shard;
    cluster.my_index = index;
    /* clients blocked on keys no longer served here get MOVED or CLUSTERDOWN */
    blocking_unblock_refused(redirect_args);
    if (index == 0) cluster_drop_unowned(1);
    log_msg(LOG_NOTICE, "Cluster: topology epoch %lld applied (%s%s), %zu keys of lost slots dropped",
            cluster.topo.epoch, shard < 0 ? "this node is not in it" : index == 0 ? "primary of shard " :
            "replica in shard ", shard < 0 ? "" : cluster.topo.shards[shard].name, dropped);
}

/* 1: the same epoch and content as the running topology (nothing to do);
 * 0: newer, to apply; -1: refused, with the reason in err. */
static int compare_epoch(const struct topology *t, char *err, size_t errlen)
{
    if (t->epoch < cluster.topo.epoch) {
        snprintf(err, errlen, "ERR stale topology epoch %lld, this node has %lld", t->epoch, cluster.topo.epoch);
        return -1;
    }
    if (t->epoch > cluster.topo.epoch) return 0;
    size_t a_len, b_len;
    int16_t overridden[CLUSTER_SLOTS];
    if (published_owner) { /* compare with the topology as published */
        memcpy(overridden, cluster.topo.owner, sizeof(overridden));
        memcpy(cluster.topo.owner, published_owner, sizeof(overridden));
    }
    char *a = topology_text(t, &a_len), *b = topology_text(&cluster.topo, &b_len);
    if (published_owner) memcpy(cluster.topo.owner, overridden, sizeof(overridden));
    int same = a_len == b_len && memcmp(a, b, a_len) == 0;
    zfree(a);
    zfree(b);
    if (same) return 1;
    snprintf(err, errlen, "ERR topology epoch %lld is already applied with different content", t->epoch);
    return -1;
}

int cluster_set_topology(const arg *argv, int argc, char *err, size_t errlen)
{
    struct topology t;
    int rc = topology_parse(argv, argc, &t, err, errlen);
    if (rc == 0) rc = compare_epoch(&t, err, errlen);
    if (rc == 0) rc = persist(&t, err, errlen);
    if (rc == 0) apply(&t);
    topology_free(&t);
    return rc == -1 ? -1 : 0;
}

int cluster_init(void)
{
    char path[PATH_MAX], err[512];
    size_t len = 0;
    topology_init(&cluster.topo);
    if (server.node_id == NULL || server.node_id[0] == '\0') {
        log_msg(LOG_WARNING, "Cluster mode needs --node-id (the controller's id of this node)");
        return -1;
    }
    if (config_path(path, sizeof(path)) == -1) {
        log_msg(LOG_WARNING, "Cluster: the cluster config file's path is too long");
        return -1;
    }
    errno = 0;
    char *text = read_file(path, &len);
    if (text == NULL && errno == ENOENT) return 0; /* no topology yet */
    if (text == NULL) {
        log_msg(LOG_WARNING, "Cluster: cannot read the cluster config file %s: %s", path, strerror(errno));
        return -1;
    }
    struct topology t;
    int rc = topology_parse_text(text, len, &t, err, sizeof(err));
    zfree(text);
    if (rc == 0) apply(&t);
    else log_msg(LOG_WARNING, "Cluster: bad cluster config file %s: %s; refusing to start", path, err + 4);
    topology_free(&t);
    return rc;
}

void cluster_release(void)
{
    zfree(published_owner);
    published_owner = NULL;
    topology_free(&cluster.topo);
    cluster.my_shard = cluster.my_index = -1;
}
