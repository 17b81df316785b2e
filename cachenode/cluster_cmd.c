/* cluster_cmd.c: the CLUSTER command and its subcommands (SETTOPOLOGY,
 * SLOTS, SHARDS, NODES, INFO, MYID, MYSHARDID, KEYSLOT, COUNTKEYSINSLOT,
 * GETKEYSINSLOT, REPLICAS, LINKS, HELP; the gossip commands refused),
 * READONLY, READWRITE and ASKING, replying from cluster.c's topology in
 * Redis Cluster 7.0's formats. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cluster.h"
#include "cluster_int.h"
#include "sha1.h"

#define CLUSTER_PORT_INCR 10000 /* the bus port CLUSTER NODES shows, as Redis's default */

static int enabled(client *c)
{
    if (server.cluster_enabled) return 1;
    reply_error(c, "ERR This instance has cluster support disabled");
    return 0;
}

static const struct topo_node *my_node(void)
{
    if (cluster.my_shard < 0) return NULL;
    return &cluster.topo.shards[cluster.my_shard].nodes[cluster.my_index];
}

/* ---- SETTOPOLOGY -------------------------------------------------------------------- */

static void settopology_command(client *c)
{
    char err[512];
    propagate_prevent(); /* replicas get their topology from the control plane */
    if (cluster_set_topology(c->argv + 2, c->argc - 2, err, sizeof(err)) == -1) reply_error(c, err);
    else reply_ok(c);
}

/* ---- SLOTS and SHARDS ------------------------------------------------------------- */

static void reply_slots_node(client *c, const struct topo_node *n)
{
    reply_array(c, 4);
    reply_bulk_cstr(c, n->host);
    reply_int(c, n->port);
    reply_bulk(c, n->id, 40);
    reply_map(c, 0); /* no hostname: Redis 7.0 sends an empty map */
}

static void slots_command(client *c)
{
    const struct topology *t = &cluster.topo;
    void *len = reply_deferred(c);
    long ranges = 0;
    for (int s = 0; s < CLUSTER_SLOTS;) {
        int shard = t->owner[s], from = s, start, end;
        if (shard < 0 || !topology_next_range(t, shard, &from, &start, &end)) {
            s++;
            continue;
        }
        const struct topo_shard *sh = &t->shards[shard];
        reply_array(c, 2 + sh->nnodes);
        reply_int(c, start);
        reply_int(c, end);
        for (int i = 0; i < sh->nnodes; i++) reply_slots_node(c, &sh->nodes[i]);
        ranges++;
        s = end + 1;
    }
    reply_set_deferred_array(c, len, ranges);
}

static void reply_shard_node(client *c, const struct topo_node *n, int primary)
{
    reply_map(c, 7);
    reply_bulk_cstr(c, "id");
    reply_bulk(c, n->id, 40);
    reply_bulk_cstr(c, "port");
    reply_int(c, n->port);
    reply_bulk_cstr(c, "ip");
    reply_bulk_cstr(c, n->host);
    reply_bulk_cstr(c, "endpoint");
    reply_bulk_cstr(c, n->host);
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, primary ? "master" : "replica");
    reply_bulk_cstr(c, "replication-offset");
    reply_int(c, n == my_node() ? replication_offset() : 0);
    reply_bulk_cstr(c, "health");
    reply_bulk_cstr(c, "online");
}

static void shards_command(client *c)
{
    const struct topology *t = &cluster.topo;
    reply_array(c, t->nshards);
    for (int s = 0; s < t->nshards; s++) {
        int from = 0, start, end;
        long n = 0;
        reply_map(c, 2);
        reply_bulk_cstr(c, "slots");
        void *len = reply_deferred(c);
        for (; topology_next_range(t, s, &from, &start, &end); n += 2) {
            reply_int(c, start);
            reply_int(c, end);
        }
        reply_set_deferred_array(c, len, n);
        reply_bulk_cstr(c, "nodes");
        reply_array(c, t->shards[s].nnodes);
        for (int i = 0; i < t->shards[s].nnodes; i++) reply_shard_node(c, &t->shards[s].nodes[i], i == 0);
    }
}

/* ---- NODES, REPLICAS, INFO ------------------------------------------------------- */

static void add_node_line(struct text *out, int shard, int index)
{
    const struct topo_shard *sh = &cluster.topo.shards[shard];
    const struct topo_node *n = &sh->nodes[index];
    int me = n == my_node();
    text_addf(out, "%s %s:%d@%d %s%s %s 0 %lld %lld connected", n->id, n->host, n->port,
              n->port + CLUSTER_PORT_INCR, me ? "myself," : "", index == 0 ? "master" : "slave",
              index == 0 ? "-" : sh->nodes[0].id, me ? 0LL : server.now_ms, cluster.topo.epoch);
    int from = 0, start, end;
    while (index == 0 && topology_next_range(&cluster.topo, shard, &from, &start, &end)) {
        if (start == end) text_addf(out, " %d", start);
        else text_addf(out, " %d-%d", start, end);
    }
    if (me && index == 0) migrate_open_slots(out);
    text_addf(out, "\n");
}

static void reply_text(client *c, struct text *t)
{
    reply_verbatim(c, t->buf ? t->buf : "", t->len, "txt");
    zfree(t->buf);
}

static void nodes_command(client *c)
{
    struct text out = {NULL, 0, 0};
    for (int s = 0; s < cluster.topo.nshards; s++)
        for (int i = 0; i < cluster.topo.shards[s].nnodes; i++) add_node_line(&out, s, i);
    reply_text(c, &out);
}

/* REPLICAS <node-id>: the CLUSTER NODES lines of a primary's replicas. */
static void replicas_command(client *c)
{
    for (int s = 0; s < cluster.topo.nshards; s++) {
        const struct topo_shard *sh = &cluster.topo.shards[s];
        if (c->argv[2].len != 40 || strncasecmp(sh->nodes[0].id, c->argv[2].p, 40) != 0) continue;
        reply_array(c, sh->nnodes - 1);
        for (int i = 1; i < sh->nnodes; i++) {
            struct text out = {NULL, 0, 0};
            add_node_line(&out, s, i);
            reply_bulk(c, out.buf, out.len);
            zfree(out.buf);
        }
        return;
    }
    int len = c->argv[2].len > 128 ? 128 : (int)c->argv[2].len;
    reply_errorf(c, "ERR Unknown node %.*s", len, c->argv[2].p);
}

static void info_command_cluster(client *c)
{
    const struct topology *t = &cluster.topo;
    int assigned = 0, size = 0, known = 0;
    for (int s = 0; s < CLUSTER_SLOTS; s++) assigned += t->owner[s] >= 0;
    for (int s = 0; s < t->nshards; s++) {
        int from = 0, start, end;
        size += topology_next_range(t, s, &from, &start, &end);
        known += t->shards[s].nnodes;
    }
    int ok = cluster.my_shard >= 0 && assigned == CLUSTER_SLOTS;
    struct text out = {NULL, 0, 0};
    text_addf(&out,
              "cluster_state:%s\r\ncluster_slots_assigned:%d\r\ncluster_slots_ok:%d\r\n"
              "cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:%d\r\n"
              "cluster_size:%d\r\ncluster_current_epoch:%lld\r\ncluster_my_epoch:%lld\r\n"
              "cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n"
              "total_cluster_links_buffer_limit_exceeded:0\r\n",
              ok ? "ok" : "fail", assigned, assigned, cluster.my_shard >= 0 ? known : known + 1, size, t->epoch,
              cluster.my_shard >= 0 ? t->epoch : 0);
    reply_text(c, &out);
}

/* ---- identity and slots -------------------------------------------------------------- */

static void myid_command(client *c)
{
    char id[41];
    const char *name = server.node_id ? server.node_id : "";
    sha1_hex(name, strlen(name), id);
    reply_bulk(c, id, 40);
}

static void myshardid_command(client *c)
{
    if (cluster.my_shard < 0) reply_error(c, "ERR this node is not in the cluster topology yet");
    else reply_bulk(c, cluster.topo.shards[cluster.my_shard].id, 40);
}

static void keyslot_command(client *c) { reply_int(c, key_hash_slot(c->argv[2].p, c->argv[2].len)); }

static void countkeysinslot_command(client *c)
{
    long long slot;
    if (!arg_to_ll(c, &c->argv[2], &slot)) return;
    if (slot < 0 || slot >= CLUSTER_SLOTS) reply_error(c, "ERR Invalid slot");
    else reply_int(c, (long long)db_slot_size(server.dbs[0], (unsigned)slot));
}

struct keys_out {
    client *c;
    long long left;
};

static int reply_slot_key(void *priv, const entry *e)
{
    struct keys_out *o = priv;
    if (o->left <= 0) return -1;
    reply_bulk(o->c, entry_key(e), e->keylen);
    o->left--;
    return 0;
}

static void getkeysinslot_command(client *c)
{
    long long slot, count;
    if (!arg_to_ll(c, &c->argv[2], &slot) || !arg_to_ll(c, &c->argv[3], &count)) return;
    if (slot < 0 || slot >= CLUSTER_SLOTS || count < 0) {
        reply_error(c, "ERR Invalid slot or number of keys");
        return;
    }
    size_t have = db_slot_size(server.dbs[0], (unsigned)slot);
    struct keys_out o = {c, (long long)have < count ? (long long)have : count};
    reply_array(c, o.left);
    db_walk_slot(server.dbs[0], (unsigned)slot, reply_slot_key, &o);
}

static void links_command(client *c) { reply_array(c, 0); /* no cluster bus */ }

/* The commands that run a gossip cluster: the control plane does that. */
static void gossip_command(client *c)
{
    const char *name = strchr(c->cmd->name, '|') + 1;
    char upper[32];
    size_t n = 0;
    for (; name[n] && n < sizeof(upper) - 1; n++)
        upper[n] = (name[n] >= 'a' && name[n] <= 'z') ? (char)(name[n] - 32) : name[n];
    upper[n] = '\0';
    reply_errorf(c, "ERR CLUSTER %s is not supported: the cluster topology is managed by the control plane "
                    "(CLUSTER SETTOPOLOGY)", upper);
}

static void help_command(client *c)
{
    static const char *help[] = {
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "SETTOPOLOGY <epoch> <shard-count> {<shard-id> <slots> <node-count> {<node-id> <host> <port>}...}...",
        "    Apply the topology the control plane computed (see docs/cluster.md).",
        "COUNTKEYSINSLOT <slot>",
        "    Return the number of keys in <slot>.",
        "GETKEYSINSLOT <slot> <count>",
        "    Return key names stored by current node in a slot.",
        "INFO",
        "    Return information about the cluster.",
        "KEYSLOT <key>",
        "    Return the hash slot for <key>.",
        "MYID",
        "    Return the node id.",
        "MYSHARDID",
        "    Return the node's shard id.",
        "NODES",
        "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "REPLICAS <node-id>",
        "    Return <node-id> replicas.",
        "SLOTS",
        "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "SHARDS",
        "    Return information about slot range mappings and the nodes associated with them.",
        "LINKS",
        "    Return information about all network links between this node and its peers.",
        "    Output format is an array where each array element is a map containing attributes of a link",
        "HELP",
        "    Prints this help.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

/* Every CLUSTER subcommand runs through here: none works outside cluster
 * mode, as in Redis. */
static const struct {
    const char *name;
    command_proc proc;
} cluster_procs[] = {
    {"cluster|settopology", settopology_command}, {"cluster|slots", slots_command},
    {"cluster|shards", shards_command},           {"cluster|nodes", nodes_command},
    {"cluster|replicas", replicas_command},       {"cluster|slaves", replicas_command},
    {"cluster|info", info_command_cluster},       {"cluster|myid", myid_command},
    {"cluster|myshardid", myshardid_command},     {"cluster|keyslot", keyslot_command},
    {"cluster|countkeysinslot", countkeysinslot_command},
    {"cluster|getkeysinslot", getkeysinslot_command},
    {"cluster|links", links_command},             {"cluster|help", help_command},
};

static void cluster_sub_command(client *c)
{
    if (!enabled(c)) return;
    for (const struct cluster_proc *p = cluster_migrate_procs; p->name; p++) {
        if (strcmp(p->name, c->cmd->name) == 0) {
            p->proc(c);
            return;
        }
    }
    for (size_t i = 0; i < sizeof(cluster_procs) / sizeof(cluster_procs[0]); i++) {
        if (strcmp(cluster_procs[i].name, c->cmd->name) == 0) {
            cluster_procs[i].proc(c);
            return;
        }
    }
    gossip_command(c);
}

/* ---- READONLY, READWRITE, ASKING ---------------------------------------------------- */

static void readonly_command(client *c)
{
    if (!enabled(c)) return;
    c->flags |= CLIENT_READONLY;
    reply_ok(c);
}

static void readwrite_command(client *c)
{
    if (!enabled(c)) return;
    c->flags &= ~CLIENT_READONLY;
    reply_ok(c);
}

/* No slot migrates between nodes on their own here, so ASKING changes nothing. */
static void asking_command(client *c)
{
    if (!enabled(c)) return;
    c->flags |= CLIENT_ASKING;
    reply_ok(c);
}

static void cluster_container_command(client *c) { reply_arity_error(c); }

#define F_ADMIN (CMD_ADMIN | CMD_STALE | CMD_NO_ASYNC_LOADING)
#define SUB(name, arity, flags, tips, summary, since, cx) \
    {"cluster|" name, cluster_sub_command, arity, flags, 0, 0, 0, 0, NULL, tips, "cluster", summary, since, cx, NULL, 0, 0, 0, 0}
#define GOSSIP(name, arity, summary, since) SUB(name, arity, F_ADMIN, NULL, summary, since, "O(1)")

static struct command cluster_subcommands[] = {
    SUB("settopology", -4, F_ADMIN | CMD_NOSCRIPT, NULL, "Apply the cluster topology computed by the control plane", "7.0.0", "O(N) where N is the number of slots and nodes"),
    SUB("slots", 2, CMD_STALE, "nondeterministic_output", "Get array of cluster slots to node mappings", "3.0.0", "O(N) where N is the total number of Cluster nodes"),
    SUB("shards", 2, CMD_STALE, "nondeterministic_output", "Get array of cluster slots to node mappings", "7.0.0", "O(N) where N is the total number of cluster nodes"),
    SUB("nodes", 2, CMD_STALE, "nondeterministic_output", "Get cluster config for the node", "3.0.0", "O(N) where N is the total number of Cluster nodes"),
    SUB("replicas", 3, CMD_ADMIN | CMD_STALE, "nondeterministic_output", "List replica nodes of the specified master node", "5.0.0", "O(1)"),
    SUB("slaves", 3, CMD_ADMIN | CMD_STALE, "nondeterministic_output", "List replica nodes of the specified master node", "3.0.0", "O(1)"),
    SUB("info", 2, CMD_STALE, "nondeterministic_output", "Provides info about Redis Cluster node state", "3.0.0", "O(1)"),
    SUB("myid", 2, CMD_STALE, NULL, "Return the node id", "3.0.0", "O(1)"),
    SUB("myshardid", 2, CMD_STALE, "nondeterministic_output", "Return the node shard id", "7.2.0", "O(1)"),
    SUB("keyslot", 3, CMD_STALE, NULL, "Returns the hash slot of the specified key", "3.0.0", "O(N) where N is the number of bytes in the key"),
    SUB("countkeysinslot", 3, CMD_STALE, NULL, "Return the number of local keys in the specified hash slot", "3.0.0", "O(1)"),
    SUB("getkeysinslot", 4, CMD_STALE, "nondeterministic_output", "Return local key names in the specified hash slot", "3.0.0", "O(log(N)) where N is the number of requested keys"),
    SUB("links", 2, CMD_STALE, "nondeterministic_output", "Returns a list of all TCP links to and from peer nodes in cluster", "7.0.0", "O(N) where N is the total number of Cluster nodes"),
    SUB("import", 6, F_ADMIN | CMD_NOSCRIPT, NULL, "Import hash slots from their owner (a slot move's target)", "7.0.0", "O(1); the sync runs in the background"),
    SUB("import-finish", -3, F_ADMIN | CMD_NOSCRIPT, NULL, "Hand off the slots being imported to this node", "7.0.0", "O(1)"),
    SUB("import-cancel", 3, F_ADMIN | CMD_NOSCRIPT, NULL, "Cancel an import and drop what it loaded", "7.0.0", "O(N) where N is the number of keys imported"),
    SUB("migrations", 2, CMD_ADMIN | CMD_STALE, "nondeterministic_output", "List the slot moves this node takes part in", "7.0.0", "O(1)"),
    SUB("syncslots", 5, F_ADMIN | CMD_NOSCRIPT | CMD_NO_MULTI, NULL, "Internal command: sync as a slot replica", "7.0.0", "O(1)"),
    SUB("syncslots-ctl", -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NO_MULTI | CMD_ALLOW_BUSY, NULL, "Internal command: a slot move link's control message", "7.0.0", "O(1)"),
    SUB("help", 2, CMD_LOADING | CMD_STALE, NULL, "Show helpful text about the different subcommands", "5.0.0", "O(1)"),
    GOSSIP("addslots", -3, "Assign new hash slots to receiving node", "3.0.0"),
    GOSSIP("addslotsrange", -4, "Assign new hash slots to receiving node", "7.0.0"),
    SUB("bumpepoch", 2, F_ADMIN, "nondeterministic_output", "Advance the cluster config epoch", "3.0.0", "O(1)"),
    SUB("count-failure-reports", 3, CMD_ADMIN | CMD_STALE, "nondeterministic_output", "Return the number of failure reports active for a given node", "3.0.0", "O(N) where N is the number of failure reports"),
    GOSSIP("delslots", -3, "Set hash slots as unbound in receiving node", "3.0.0"),
    GOSSIP("delslotsrange", -4, "Set hash slots as unbound in receiving node", "7.0.0"),
    GOSSIP("failover", -2, "Forces a replica to perform a manual failover of its master.", "3.0.0"),
    GOSSIP("flushslots", 2, "Delete a node's own slots information", "3.0.0"),
    GOSSIP("forget", 3, "Remove a node from the nodes table", "3.0.0"),
    GOSSIP("meet", -4, "Force a node cluster to handshake with another node", "3.0.0"),
    GOSSIP("replicate", 3, "Reconfigure a node as a replica of the specified master node", "3.0.0"),
    SUB("reset", -2, CMD_ADMIN | CMD_STALE | CMD_NOSCRIPT, NULL, "Reset a Redis Cluster node", "3.0.0", "O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect."),
    GOSSIP("saveconfig", 2, "Forces the node to save cluster state on disk", "3.0.0"),
    GOSSIP("set-config-epoch", 3, "Set the configuration epoch in a new node", "3.0.0"),
    GOSSIP("setslot", -4, "Bind a hash slot to a specific node", "3.0.0"),
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};

#define CONN(name, proc, flags, summary) \
    {name, proc, 1, flags, ACL_CONNECTION, 0, 0, 0, NULL, NULL, "cluster", summary, "3.0.0", "O(1)", NULL, 0, 0, 0, 0}

struct command cluster_commands[] = {
    {"cluster", cluster_container_command, -2, 0, 0, 0, 0, 0, NULL, NULL, "cluster", "A container for cluster commands", "3.0.0", "Depends on subcommand.", cluster_subcommands, 0, 0, 0, 0},
    CONN("readonly", readonly_command, CMD_FAST | CMD_LOADING | CMD_STALE, "Enables read queries for a connection to a cluster replica node"),
    CONN("readwrite", readwrite_command, CMD_FAST | CMD_LOADING | CMD_STALE, "Disables read queries for a connection to a cluster replica node"),
    CONN("asking", asking_command, CMD_FAST, "Sent by cluster clients after an -ASK redirect"),
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
