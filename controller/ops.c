/* ops.c: operations and their persisted steps (see ops.h).
 *
 * Step actions:
 *   put          send the node's spec (generation from the nodes row) to its agent
 *   wait_up      the agent reports the node up            -> node available
 *   wait_synced  a replica's link to its primary is up    -> node available
 *   delete       DELETE the node on its agent (gone counts as done)
 *   forget_node  drop the node's row
 *   finish       the cluster's status after the change; the operation succeeds
 *   forget_cluster  drop the cluster (its shards and nodes go with it)
 *   fence        best-effort put: a node whose agent or process does not
 *                answer now gets its spec later (failover.c re-sends it)
 *   guard        min-replicas-to-write 1 on a primary once a replica is
 *                connected (0 for a cluster without replicas), so a primary
 *                cut off from its replicas refuses writes by itself
 *   pause        planned failover: the primary refuses writes (NOREPLICAS)
 *   catch_up     the chosen replica's offset equals the paused primary's
 *   switch       swap the roles in the database, every generation + 1
 *   topology     cluster mode: the stored topology catches up with the
 *                shards and nodes (a new epoch, every generation + 1, when
 *                it changed); the put or fence steps after it send it
 *   wait_topology  the agent reports the node runs the cluster's epoch
 *   discovery    engines with Auto Discovery: the stored node list catches
 *                up with the available nodes (a new version, every
 *                generation + 1, when it changed; arg: a lost node that
 *                gets no new spec); the put steps after it send it
 *   wait_discovery  the agent reports the node serves the list's version
 * A planner writes the desired rows, the operation and its steps in one
 * transaction; a step's effect and its "done" mark are one transaction too. */
#include "ops.h"
#include "ops_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ctl.h"
#include "discovery.h"
#include "engine_caps.h"
#include "failover.h"
#include "json.h"
#include "log.h"
#include "placement.h"
#include "resp.h"
#include "slots.h"
#include "store.h"
#include "topology.h"

int ops_error(struct op_error *e, int status, const char *code, const char *message)
{
    snprintf(e->code, sizeof(e->code), "%s", code);
    snprintf(e->message, sizeof(e->message), "%s", message);
    return status;
}

int ops_new_id(char *out)
{
    unsigned char raw[8];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) return -1;
    int n = snprintf(out, OP_ID_MAX, "op-");
    for (int i = 0; i < 8; i++) n += snprintf(out + n, (size_t)(OP_ID_MAX - n), "%02x", raw[i]);
    return 0;
}

/* ---- planning ------------------------------------------------------------ */

/* The placement snapshot: every host, what it has free, how many primaries
 * it runs, and whether it already holds a node of (cluster, shard) that
 * stays (a node being replaced does not claim its host's zone). */
size_t ops_load_hosts(struct ctl *c, sqlite3 *db, const char *cluster, const char *shard, struct place_host *h,
                      size_t max)
{
    json_t *rows = db_rows(db,
                           "SELECT id, az, memory_mb, memory_used_mb, ? - last_seen_ms <= ? AS up,"
                           " (SELECT coalesce(sum(memory_mb),0) FROM nodes n WHERE n.host = hosts.id) AS reserved,"
                           " (SELECT count(*) FROM nodes n WHERE n.host = hosts.id AND n.role = 'primary') AS primaries,"
                           " (SELECT count(*) FROM nodes n WHERE n.host = hosts.id AND n.cluster = ? AND n.shard = ?"
                           "   AND n.status != 'deleting') AS mine"
                           " FROM hosts ORDER BY id",
                           "IIss", wall_ms(), c->cfg.agent_timeout_ms, cluster, shard);
    size_t n = 0, i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        if (n >= max) break;
        struct place_host *p = &h[n++];
        memset(p, 0, sizeof(*p));
        snprintf(p->id, sizeof(p->id), "%s", row_str(r, "id"));
        snprintf(p->az, sizeof(p->az), "%s", row_str(r, "az"));
        long long used = row_int(r, "reserved") > row_int(r, "memory_used_mb") ? row_int(r, "reserved") : row_int(r, "memory_used_mb");
        p->free_mb = row_int(r, "memory_mb") - used;
        p->up = (int)row_int(r, "up");
        p->primaries = (int)row_int(r, "primaries");
        p->in_shard = row_int(r, "mine") > 0;
        p->cluster_nodes = (int)row_int(r, "mine");
    }
    json_decref(rows);
    return n;
}

int ops_insert(sqlite3 *db, const char *op_id, const char *cluster, const char *kind, const char *shard)
{
    long long now = wall_ms();
    return db_run(db,
                  "INSERT INTO operations(id, cluster, kind, status, created_ms, updated_ms, shard)"
                  " VALUES(?,?,?,'pending',?,?,?)",
                  "sssIIz", op_id, cluster, kind, now, now, shard);
}

int ops_add_step(sqlite3 *db, const char *op_id, int *seq, const char *action, const char *node)
{
    return db_run(db, "INSERT INTO op_steps(op, seq, action, node) VALUES(?,?,?,?)", "sdsz", op_id, (*seq)++, action, node);
}

int ops_add_step_arg(sqlite3 *db, const char *op_id, int *seq, const char *action, const char *arg)
{
    return db_run(db, "INSERT INTO op_steps(op, seq, action, arg) VALUES(?,?,?,?)", "sdss", op_id, (*seq)++, action, arg);
}

/* Allocates the next node id of a cluster: NAME-SHARD-NNN. */
int ops_next_node_id(sqlite3 *db, const char *cluster, const char *shard, char *out, size_t len)
{
    long long seq = db_int(db, -1, "SELECT next_node FROM clusters WHERE name = ?", "s", cluster);
    if (seq < 0 || db_run(db, "UPDATE clusters SET next_node = next_node + 1 WHERE name = ?", "s", cluster) != 0) return -1;
    snprintf(out, len, "%s-%s-%03lld", cluster, shard, seq);
    return 0;
}

int ops_insert_node(sqlite3 *db, const char *id, const char *cluster, const char *shard, const char *role,
                    const char *host, long long memory_mb)
{
    return db_run(db,
                  "INSERT INTO nodes(id, cluster, shard, role, host, memory_mb, generation, status, created_ms)"
                  " VALUES(?,?,?,?,?,?,1,'creating',?)",
                  "sssssII", id, cluster, shard, role, host, memory_mb, wall_ms());
}

/* New nodes whose rows are inserted and whose launch steps are to come. */
struct launch {
    char (*ids)[96];
    int *primary;
    int n, cap;
};

static int launch_init(struct launch *l, int cap)
{
    l->n = 0;
    l->cap = cap;
    l->ids = calloc((size_t)cap, sizeof(*l->ids));
    l->primary = calloc((size_t)cap, sizeof(*l->primary));
    return l->ids && l->primary ? 0 : -1;
}

static void launch_free(struct launch *l)
{
    free(l->ids);
    free(l->primary);
}

/* Inserts the rows of `count` new nodes of a shard, node k on hosts[where[k]]. */
static int insert_shard_nodes(sqlite3 *db, const char *cluster, const char *shard, int count, int first_is_primary,
                              long long memory_mb, const struct place_host *hosts, const int *where, struct launch *l)
{
    for (int k = 0; k < count; k++) {
        int primary = first_is_primary && k == 0;
        if (l->n >= l->cap || ops_next_node_id(db, cluster, shard, l->ids[l->n], sizeof(l->ids[0])) != 0 ||
            ops_insert_node(db, l->ids[l->n], cluster, shard, primary ? "primary" : "replica", hosts[where[k]].id,
                            memory_mb) != 0)
            return -1;
        l->primary[l->n++] = primary;
    }
    return 0;
}

/* The launch steps: every new primary is put, then awaited; then the
 * replicas (whose primaries have ports by then) are put and awaited in sync. */
static int add_launch_steps(sqlite3 *db, const char *op_id, int *seq, const struct launch *l)
{
    int rc = 0;
    for (int i = 0; i < l->n; i++) if (l->primary[i]) rc |= ops_add_step(db, op_id, seq, "put", l->ids[i]);
    for (int i = 0; i < l->n; i++) if (l->primary[i]) rc |= ops_add_step(db, op_id, seq, "wait_up", l->ids[i]);
    for (int i = 0; i < l->n; i++) if (!l->primary[i]) rc |= ops_add_step(db, op_id, seq, "put", l->ids[i]);
    for (int i = 0; i < l->n; i++) if (!l->primary[i]) rc |= ops_add_step(db, op_id, seq, "wait_synced", l->ids[i]);
    return rc;
}

int ops_place_error(struct op_error *e, enum place_result r, const char *msg)
{
    return ops_error(e, (int)r, r == PLACE_NO_HOSTS ? "InsufficientHosts" : "InsufficientCapacity", msg);
}

/* Places and inserts `count` new nodes of one shard, with their launch steps. */
static int plan_new_nodes(struct ctl *c, sqlite3 *db, const char *cluster, const char *shard, int count,
                          int first_is_primary, long long memory_mb, const char *op_id, int *seq, struct op_error *e)
{
    struct place_host hosts[CTL_MAX_HOSTS];
    int where[CTL_MAX_REPLICAS + 1];
    char msg[256];
    if (count > CTL_MAX_REPLICAS + 1) return ops_error(e, 400, "InvalidParameterValue", "too many nodes");
    size_t n = ops_load_hosts(c, db, cluster, shard, hosts, CTL_MAX_HOSTS);
    enum place_result r = place_shard(hosts, n, count, first_is_primary, memory_mb, where, msg, sizeof(msg));
    if (r != PLACE_OK) return ops_place_error(e, r, msg);
    struct launch l;
    int rc = launch_init(&l, count);
    rc = rc || insert_shard_nodes(db, cluster, shard, count, first_is_primary, memory_mb, hosts, where, &l) ||
         add_launch_steps(db, op_id, seq, &l);
    launch_free(&l);
    return rc ? ops_error(e, 500, "InternalError", "cannot store the new nodes") : 202;
}

/* Shard index i of n: its row, with its share of the slots (slots.h), or
 * with none ("-") when spread is 0 (a new shard of a resharding). */
static int insert_shard(sqlite3 *db, const char *cluster, int i, int n, int spread, char *id, size_t idlen)
{
    int first, last;
    char slots[32] = "-";
    if (spread && slots_spread(n, i, &first, &last) != 0) return -1;
    if (spread && first == last) snprintf(slots, sizeof(slots), "%d", first);
    else if (spread) snprintf(slots, sizeof(slots), "%d-%d", first, last);
    snprintf(id, idlen, "%04d", i + 1);
    return db_run(db, "INSERT INTO shards(cluster, id, slots) VALUES(?,?,?)", "sss", cluster, id, slots);
}

int ops_plan_new_shards(struct ctl *c, sqlite3 *db, const struct new_shards *r, const char *op_id, int *seq,
                        struct op_error *e)
{
    int count = 1 + r->replicas, total = r->shards * count;
    char msg[256];
    struct place_host *hosts = malloc(CTL_MAX_HOSTS * sizeof(*hosts));
    int *where = calloc((size_t)total, sizeof(*where));
    if (where == NULL || hosts == NULL) {
        free(hosts);
        free(where);
        return ops_error(e, 500, "InternalError", "out of memory");
    }
    size_t n = ops_load_hosts(c, db, r->name, "", hosts, CTL_MAX_HOSTS);
    enum place_result pr = place_shards(hosts, n, r->shards, count, r->node_memory_mb, where, msg, sizeof(msg));
    if (pr != PLACE_OK) {
        free(hosts);
        free(where);
        return ops_place_error(e, pr, msg);
    }
    struct launch l;
    int rc = launch_init(&l, total);
    for (int i = 0; rc == 0 && i < r->shards; i++) {
        char shard[16];
        rc = insert_shard(db, r->name, r->first + i, r->first + r->shards, r->spread, shard, sizeof(shard)) ||
             insert_shard_nodes(db, r->name, shard, count, 1, r->node_memory_mb, hosts, where + i * count, &l);
    }
    rc = rc || add_launch_steps(db, op_id, seq, &l);
    launch_free(&l);
    free(hosts);
    free(where);
    return rc ? ops_error(e, 500, "InternalError", "cannot store the new shards") : 202;
}

/* A guard step for the primary of every shard. */
int ops_add_guard_steps(sqlite3 *db, const char *op_id, int *seq, const char *cluster)
{
    json_t *primaries = db_rows(db, "SELECT id FROM nodes WHERE cluster = ? AND role = 'primary' AND status != 'deleting'"
                                    " ORDER BY shard", "s", cluster);
    int rc = json_array_size(primaries) > 0 ? 0 : -1;
    size_t i;
    json_t *p;
    json_array_foreach(primaries, i, p) rc |= ops_add_step(db, op_id, seq, "guard", row_str(p, "id"));
    json_decref(primaries);
    return rc;
}

static int create_rows(struct ctl *c, sqlite3 *db, const struct create_request *r, const char *op_id, struct op_error *e)
{
    long long now = wall_ms();
    if (db_int(db, 0, "SELECT count(*) FROM clusters WHERE name = ?", "s", r->name) > 0)
        return ops_error(e, 409, "ClusterAlreadyExists", "a cluster with this name exists");
    if (db_run(db,
               "INSERT INTO clusters(name, engine, cluster_mode, shards, replicas, node_memory_mb, eviction_policy,"
               " auth_token, status, created_ms, updated_ms) VALUES(?,?,?,?,?,?,?,?,'creating',?,?)",
               "ssdddIszII", r->name, r->engine, r->cluster_mode, r->shards, r->replicas, r->node_memory_mb,
               r->eviction_policy, r->auth_token[0] ? r->auth_token : NULL, now, now) != 0 ||
        ops_insert(db, op_id, r->name, "create", NULL) != 0)
        return ops_error(e, 500, "InternalError", "cannot store the cluster");
    int seq = 1;
    if (!engine_by_name(r->engine)->shards) return nodeplan_create(c, db, r, op_id, &seq, e);
    struct new_shards ns = {.name = r->name, .first = 0, .shards = r->shards, .replicas = r->replicas,
                            .node_memory_mb = r->node_memory_mb, .spread = 1};
    int status = ops_plan_new_shards(c, db, &ns, op_id, &seq, e);
    if (status != 202) return status;
    /* cluster mode: once every node has a port, the topology (epoch 1) goes
     * to every node, and the cluster is available when they all run it */
    int rc = ops_add_guard_steps(db, op_id, &seq, r->name) ||
             (r->cluster_mode && topology_add_steps(db, op_id, &seq, r->name, NULL, NULL, 1) != 0) ||
             ops_add_step(db, op_id, &seq, "finish", NULL) != 0;
    if (rc) return ops_error(e, 500, "InternalError", "cannot store the steps");
    char msg[160];
    snprintf(msg, sizeof(msg), "creating: %d shard(s) of 1 primary and %d replica(s), %lld MB each%s", r->shards,
             r->replicas, r->node_memory_mb, r->cluster_mode ? ", cluster mode" : "");
    store_event(db, r->name, NULL, "cluster_creating", msg);
    return 202;
}

int ops_plan_begin(sqlite3 *db, char *op_id, struct op_error *e)
{
    memset(e, 0, sizeof(*e));
    if (ops_new_id(op_id) != 0) return ops_error(e, 500, "InternalError", "no randomness");
    if (db_begin(db) != 0) return ops_error(e, 503, "ServiceUnavailable", "the database is busy");
    return 0;
}

int ops_plan_end(struct ctl *c, sqlite3 *db, struct op_error *e, int status)
{
    if (status == 202) {
        if (db_commit(db) == 0) {
            ctl_wake_worker(c);
            return 202;
        }
        db_rollback(db);
        return ops_error(e, 500, "InternalError", "cannot commit");
    }
    db_rollback(db);
    return status;
}

int ops_create_cluster(struct ctl *c, sqlite3 *db, const struct create_request *r, char *op_id, struct op_error *e)
{
    int status = ops_plan_begin(db, op_id, e);
    return status ? status : ops_plan_end(c, db, e, create_rows(c, db, r, op_id, e));
}

/* Fails the cluster's active operations: a delete supersedes them. A
 * failover among them is over too, or it would count as in progress for ever. */
static int supersede_ops(sqlite3 *db, const char *name)
{
    int rc = db_run(db,
                    "UPDATE failovers SET outcome = 'failed' WHERE outcome = 'running' AND op IN"
                    " (SELECT id FROM operations WHERE cluster = ? AND status IN ('pending', 'running'))",
                    "s", name);
    return rc | db_run(db,
                       "UPDATE operations SET status = 'failed', error = 'superseded by a delete', updated_ms = ?"
                       " WHERE cluster = ? AND status IN ('pending', 'running')",
                       "Is", wall_ms(), name);
}

static int delete_rows(sqlite3 *db, const char *name, const char *op_id, struct op_error *e)
{
    json_t *cl = db_row(db, "SELECT status FROM clusters WHERE name = ?", "s", name);
    if (cl == NULL) return ops_error(e, 404, "ClusterNotFound", "no such cluster");
    int deleting = strcmp(row_str(cl, "status"), "deleting") == 0;
    json_decref(cl);
    if (deleting) return ops_error(e, 409, "InvalidClusterState", "the cluster is being deleted");
    json_t *nodes = db_rows(db, "SELECT id FROM nodes WHERE cluster = ? ORDER BY role DESC, id", "s", name);
    int seq = 1, rc = nodes ? 0 : -1;
    size_t i;
    json_t *n;
    rc |= supersede_ops(db, name);
    rc |= ops_insert(db, op_id, name, "delete", NULL);
    json_array_foreach(nodes, i, n) rc |= ops_add_step(db, op_id, &seq, "delete", row_str(n, "id"));
    json_decref(nodes);
    rc |= ops_add_step(db, op_id, &seq, "forget_cluster", NULL);
    rc |= db_run(db, "UPDATE clusters SET status = 'deleting', updated_ms = ? WHERE name = ?", "Is", wall_ms(), name);
    rc |= db_run(db, "UPDATE nodes SET status = 'deleting' WHERE cluster = ?", "s", name);
    rc |= store_event(db, name, NULL, "cluster_deleting", "deleting every node");
    return rc ? ops_error(e, 500, "InternalError", "cannot store the delete") : 202;
}

int ops_delete_cluster(struct ctl *c, sqlite3 *db, const char *name, char *op_id, struct op_error *e)
{
    int status = ops_plan_begin(db, op_id, e);
    return status ? status : ops_plan_end(c, db, e, delete_rows(db, name, op_id, e));
}

/* A cluster that exists and is not busy with another change: for a change
 * of the whole cluster (shard NULL) no operation may be running on it; for
 * a change of one shard, none on that shard or on the whole cluster. */
int ops_check_modifiable(sqlite3 *db, const char *name, const char *shard, struct op_error *e)
{
    json_t *cl = db_row(db, "SELECT status FROM clusters WHERE name = ?", "s", name);
    if (cl == NULL) return ops_error(e, 404, "ClusterNotFound", "no such cluster");
    const char *s = row_str(cl, "status");
    int ok = strcmp(s, "available") == 0 || strcmp(s, "degraded") == 0 || (shard && strcmp(s, "modifying") == 0);
    json_decref(cl);
    if (!ok) return ops_error(e, 409, "InvalidClusterState", "the cluster is busy with another change; retry when it is available");
    if (db_int(db, 0, "SELECT count(*) FROM operations WHERE cluster = ? AND status IN ('pending','running')"
                      " AND (? IS NULL OR shard IS NULL OR shard = ?)", "szz", name, shard, shard) > 0)
        return ops_error(e, 409, "InvalidClusterState", shard ? "another operation is running on this shard or cluster"
                                                              : "another operation is running on this cluster");
    return 0;
}

int ops_pick_removals(sqlite3 *db, const char *name, const char *shard, const char *role, long long count, json_t *gone)
{
    json_t *rows = db_rows(db,
                           "SELECT id FROM nodes WHERE cluster = ? AND shard = ? AND (? IS NULL OR role = ?)"
                           " AND status != 'deleting' ORDER BY status = 'failed' DESC, created_ms DESC, id DESC LIMIT ?",
                           "sszzI", name, shard, role, role, count);
    int rc = rows ? 0 : -1;
    size_t i;
    json_t *n;
    json_array_foreach(rows, i, n) {
        rc |= db_run(db, "UPDATE nodes SET status = 'deleting' WHERE id = ?", "s", row_str(n, "id"));
        rc |= json_array_append(gone, json_object_get(n, "id"));
    }
    json_decref(rows);
    return rc;
}

/* Every shard gets `replicas` replicas: new ones placed and launched,
 * surplus ones taken out of the topology and then deleted. */
static int scale_shards(struct ctl *c, sqlite3 *db, const char *name, int replicas, const json_t *shards,
                        const char *op_id, int *seq, struct op_error *e)
{
    long long memory = db_int(db, 64, "SELECT node_memory_mb FROM clusters WHERE name = ?", "s", name);
    json_t *gone = json_array();
    int rc = gone ? 0 : -1;
    size_t i;
    json_t *sh;
    json_array_foreach(shards, i, sh) {
        long long have = row_int(sh, "have");
        if (have < replicas) {
            int status = plan_new_nodes(c, db, name, row_str(sh, "id"), (int)(replicas - have), 0, memory, op_id, seq, e);
            if (status != 202) { json_decref(gone); return status; }
        } else if (have > replicas) {
            rc |= ops_pick_removals(db, name, row_str(sh, "id"), "replica", have - replicas, gone);
        }
    }
    rc |= topology_add_steps(db, op_id, seq, name, NULL, NULL, 0);
    json_array_foreach(gone, i, sh) {
        rc |= ops_add_step(db, op_id, seq, "delete", json_string_value(sh));
        rc |= ops_add_step(db, op_id, seq, "forget_node", json_string_value(sh));
    }
    json_decref(gone);
    return rc ? ops_error(e, 500, "InternalError", "cannot store the change") : 202;
}

static int scale_rows(struct ctl *c, sqlite3 *db, const char *name, int replicas, const char *op_id, struct op_error *e)
{
    int busy = ops_check_modifiable(db, name, NULL, e);
    if (busy) return busy;
    json_t *shards = db_rows(db,
                             "SELECT s.id, (SELECT count(*) FROM nodes n WHERE n.cluster = s.cluster AND n.shard = s.id"
                             "   AND n.role = 'replica' AND n.status != 'deleting') AS have"
                             " FROM shards s WHERE s.cluster = ? ORDER BY s.id", "s", name);
    if (shards == NULL) return ops_error(e, 500, "InternalError", "cannot read the shards");
    long long before = db_int(db, -1, "SELECT replicas FROM clusters WHERE name = ?", "s", name);
    long long fewer = replicas, more = replicas; /* the fewest and most replicas a shard has */
    size_t i;
    json_t *sh;
    json_array_foreach(shards, i, sh) {
        if (i == 0 || row_int(sh, "have") < fewer) fewer = row_int(sh, "have");
        if (i == 0 || row_int(sh, "have") > more) more = row_int(sh, "have");
    }
    if (replicas == before && fewer == replicas && more == replicas) { json_decref(shards); return OPS_NO_CHANGE; }
    int seq = 1, rc = ops_insert(db, op_id, name, replicas > fewer ? "add_replicas" : "remove_replicas", NULL);
    int status = rc ? ops_error(e, 500, "InternalError", "cannot store the change")
                    : scale_shards(c, db, name, replicas, shards, op_id, &seq, e);
    json_decref(shards);
    if (status != 202) return status;
    rc |= ops_add_guard_steps(db, op_id, &seq, name);
    rc |= ops_add_step(db, op_id, &seq, "finish", NULL);
    rc |= db_run(db, "UPDATE clusters SET status = 'modifying', replicas = ?, updated_ms = ? WHERE name = ?", "dIs",
                 replicas, wall_ms(), name);
    char msg[128];
    snprintf(msg, sizeof(msg), "%s replicas: %d per shard (%lld before)", replicas > fewer ? "adding" : "removing",
             replicas, before);
    rc |= store_event(db, name, NULL, "cluster_modifying", msg);
    return rc ? ops_error(e, 500, "InternalError", "cannot store the change") : 202;
}

int ops_scale_replicas(struct ctl *c, sqlite3 *db, const char *name, int replicas, char *op_id, struct op_error *e)
{
    int status = ops_plan_begin(db, op_id, e);
    return status ? status : ops_plan_end(c, db, e, scale_rows(c, db, name, replicas, op_id, e));
}

/* Every node's host must fit the difference; then each node gets a newer
 * generation with the new size, replicas before the primary. */
static int resize_rows(struct ctl *c, sqlite3 *db, const char *name, long long memory_mb, const char *op_id,
                       struct op_error *e)
{
    int busy = ops_check_modifiable(db, name, NULL, e);
    if (busy) return busy;
    if (memory_mb == db_int(db, -1, "SELECT node_memory_mb FROM clusters WHERE name = ?", "s", name) &&
        db_int(db, 1, "SELECT count(*) FROM nodes WHERE cluster = ? AND memory_mb != ?", "sI", name, memory_mb) == 0)
        return OPS_NO_CHANGE;
    json_t *nodes = db_rows(db,
                            "SELECT n.id, n.memory_mb, h.memory_mb AS capacity,"
                            " (SELECT sum(memory_mb) FROM nodes m WHERE m.host = n.host) AS reserved"
                            " FROM nodes n JOIN hosts h ON h.id = n.host WHERE n.cluster = ? ORDER BY n.role DESC, n.id",
                            "s", name);
    size_t i;
    json_t *n;
    int seq = 1, rc = nodes ? ops_insert(db, op_id, name, "resize_memory", NULL) : -1;
    json_array_foreach(nodes, i, n) {
        long long after = row_int(n, "reserved") - row_int(n, "memory_mb") + memory_mb;
        if (after > row_int(n, "capacity")) {
            char msg[256];
            snprintf(msg, sizeof(msg), "node %s: its host has %lld MB and would need %lld MB", row_str(n, "id"),
                     row_int(n, "capacity"), after);
            json_decref(nodes);
            return ops_error(e, 507, "InsufficientCapacity", msg);
        }
        rc |= db_run(db, "UPDATE nodes SET memory_mb = ?, generation = generation + 1 WHERE id = ?", "Is", memory_mb,
                     row_str(n, "id"));
        rc |= ops_add_step(db, op_id, &seq, "put", row_str(n, "id"));
    }
    json_decref(nodes);
    rc |= ops_add_step(db, op_id, &seq, "finish", NULL);
    rc |= db_run(db, "UPDATE clusters SET status = 'modifying', node_memory_mb = ?, updated_ms = ? WHERE name = ?",
                 "IIs", memory_mb, wall_ms(), name);
    char msg[96];
    snprintf(msg, sizeof(msg), "resizing every node to %lld MB", memory_mb);
    rc |= store_event(db, name, NULL, "cluster_modifying", msg);
    (void)c;
    return rc ? ops_error(e, 500, "InternalError", "cannot store the change") : 202;
}

int ops_resize_memory(struct ctl *c, sqlite3 *db, const char *name, long long memory_mb, char *op_id,
                      struct op_error *e)
{
    int status = ops_plan_begin(db, op_id, e);
    return status ? status : ops_plan_end(c, db, e, resize_rows(c, db, name, memory_mb, op_id, e));
}

/* ---- planned failover and replacement --------------------------------------- */

static int planned_rows(sqlite3 *db, const char *name, const char *shard, const char *op_id, struct op_error *e)
{
    int busy = ops_check_modifiable(db, name, shard, e);
    if (busy) return busy;
    json_t *p = db_row(db, "SELECT n.id, h.az FROM nodes n JOIN hosts h ON h.id = n.host WHERE n.cluster = ?"
                           " AND n.shard = ? AND n.role = 'primary' AND n.status = 'available'", "ss", name, shard);
    if (p == NULL) {
        int known = db_int(db, 0, "SELECT count(*) FROM shards WHERE cluster = ? AND id = ?", "ss", name, shard) > 0;
        return known ? ops_error(e, 409, "InvalidClusterState", "the shard has no available primary")
                     : ops_error(e, 404, "ShardNotFound", "no such shard");
    }
    /* an available replica, another zone first */
    json_t *to = db_row(db, "SELECT n.id FROM nodes n JOIN hosts h ON h.id = n.host WHERE n.cluster = ? AND n.shard = ?"
                            " AND n.role = 'replica' AND n.status = 'available' ORDER BY h.az = ?, n.id",
                        "sss", name, shard, row_str(p, "az"));
    if (to == NULL) {
        json_decref(p);
        return ops_error(e, 409, "InvalidClusterState", "the shard has no available replica to promote");
    }
    const char *old = row_str(p, "id"), *new_primary = row_str(to, "id");
    int seq = 1, rc = ops_insert(db, op_id, name, "planned_failover", shard);
    rc |= ops_add_step(db, op_id, &seq, "pause", old);
    rc |= ops_add_step(db, op_id, &seq, "catch_up", new_primary);
    rc |= ops_add_step(db, op_id, &seq, "switch", new_primary);
    /* cluster mode: the new primary's spec carries the topology naming it
     * (or it would send its shard's writes back to the old one); the one
     * topology_add_steps adds then finds nothing new */
    rc |= ops_add_step(db, op_id, &seq, "topology", NULL);
    rc |= ops_add_step(db, op_id, &seq, "put", new_primary);
    rc |= topology_add_steps(db, op_id, &seq, name, shard, new_primary, 0);
    rc |= ops_add_step(db, op_id, &seq, "unpause", old);
    rc |= ops_add_step(db, op_id, &seq, "guard", new_primary);
    rc |= ops_add_step(db, op_id, &seq, "finish", NULL);
    rc |= db_run(db, "INSERT INTO failovers(cluster, shard, op, cause, outcome, old_primary, new_primary, started_ms)"
                     " VALUES(?,?,?,'planned','running',?,?,?)", "sssssI", name, shard, op_id, old, new_primary, wall_ms());
    rc |= db_run(db, "UPDATE clusters SET status = 'modifying', updated_ms = ? WHERE name = ?", "Is", wall_ms(), name);
    char msg[256];
    snprintf(msg, sizeof(msg), "planned failover of shard %s: %s to %s", shard, old, new_primary);
    rc |= store_event(db, name, old, "failover_started", msg);
    json_decref(p);
    json_decref(to);
    return rc ? ops_error(e, 500, "InternalError", "cannot store the failover") : 202;
}

int ops_planned_failover(struct ctl *c, sqlite3 *db, const char *name, const char *shard, char *op_id,
                         struct op_error *e)
{
    int status = ops_plan_begin(db, op_id, e);
    return status ? status : ops_plan_end(c, db, e, planned_rows(db, name, shard, op_id, e));
}

static int replace_rows(struct ctl *c, sqlite3 *db, const char *node, const char *op_id, struct op_error *e)
{
    if (db_int(db, 1, "SELECT engine_can(c.engine, 'shards') FROM nodes n JOIN clusters c ON c.name = n.cluster"
                      " WHERE n.id = ?", "s", node) == 0)
        return nodeplan_replace(c, db, node, op_id, e);
    json_t *n = db_row(db, "SELECT cluster, shard, memory_mb FROM nodes WHERE id = ? AND status = 'failed'", "s", node);
    if (n == NULL) return ops_error(e, 409, "InvalidNodeState", "the node is not failed");
    const char *cluster = row_str(n, "cluster");
    int seq = 1, rc = ops_insert(db, op_id, cluster, "replace_node", row_str(n, "shard"));
    rc |= db_run(db, "UPDATE nodes SET status = 'deleting' WHERE id = ?", "s", node);
    int status = rc ? ops_error(e, 500, "InternalError", "cannot store the replacement")
                    : plan_new_nodes(c, db, cluster, row_str(n, "shard"), 1, 0, row_int(n, "memory_mb"), op_id, &seq, e);
    if (status == 202) {
        rc |= topology_add_steps(db, op_id, &seq, cluster, NULL, NULL, 0);
        rc |= ops_add_step(db, op_id, &seq, "finish", NULL);
        rc |= ops_add_step(db, op_id, &seq, "delete", node);
        rc |= ops_add_step(db, op_id, &seq, "forget_node", node);
        rc |= store_event(db, cluster, node, "node_replacing", "the node's host is gone: a new replica takes its place");
        if (rc) status = ops_error(e, 500, "InternalError", "cannot store the replacement");
    }
    json_decref(n);
    return status;
}

int ops_scale_nodes(struct ctl *c, sqlite3 *db, const char *name, int nodes, char *op_id, struct op_error *e)
{
    int status = ops_plan_begin(db, op_id, e);
    return status ? status : ops_plan_end(c, db, e, nodeplan_scale(c, db, name, nodes, op_id, e));
}

int ops_check_engine(sqlite3 *db, const char *name, const char *capability, const char *what, struct op_error *e)
{
    json_t *cl = db_row(db, "SELECT engine, engine_can(engine, ?) AS can FROM clusters WHERE name = ?", "ss", capability,
                        name);
    if (cl == NULL) return ops_error(e, 404, "ClusterNotFound", "no such cluster");
    char msg[200];
    snprintf(msg, sizeof(msg), "%s does not apply to engine '%s'", what, row_str(cl, "engine"));
    int can = row_int(cl, "can") == 1;
    json_decref(cl);
    return can ? 0 : ops_error(e, 400, "InvalidParameterValue", msg);
}

int ops_replace_node(struct ctl *c, sqlite3 *db, const char *node, char *op_id, struct op_error *e)
{
    int status = ops_plan_begin(db, op_id, e);
    return status ? status : ops_plan_end(c, db, e, replace_rows(c, db, node, op_id, e));
}

/* ---- running steps (the worker thread) ------------------------------------ */

/* Steps talk to agents first and write afterwards, so no write lock is held
 * across network I/O; this opens the step's one transaction. */
int ops_step_tx(sqlite3 *db, struct step *s)
{
    if (s->in_tx) return 0;
    if (db_begin(db) != 0) return -1;
    s->in_tx = 1;
    return 0;
}

/* The node's spec as its agent wants it. The auth token is read here (and
 * in replica_link_up, to AUTH); it goes to the agent and the node only. */
static json_t *node_spec(sqlite3 *db, const char *node, char *agent_url, size_t urllen, char *err, size_t errlen)
{
    json_t *n = db_row(db,
                       "SELECT n.cluster, n.shard, n.role, n.memory_mb, n.port, n.generation, h.agent_url,"
                       " c.engine, c.eviction_policy, c.auth_token, c.cluster_mode"
                       " FROM nodes n JOIN hosts h ON h.id = n.host JOIN clusters c ON c.name = n.cluster WHERE n.id = ?",
                       "s", node);
    if (n == NULL) { snprintf(err, errlen, "node %s is not in the database", node); return NULL; }
    snprintf(agent_url, urllen, "%s", row_str(n, "agent_url"));
    json_t *spec = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:I}", "cluster", row_str(n, "cluster"), "shard",
                             row_str(n, "shard"), "role", row_str(n, "role"), "memory_mb",
                             (json_int_t)row_int(n, "memory_mb"), "engine", row_str(n, "engine"), "eviction_policy",
                             row_str(n, "eviction_policy"), "generation", (json_int_t)row_int(n, "generation"));
    if (spec && row_int(n, "port") > 0) json_object_set_new(spec, "port", json_integer(row_int(n, "port")));
    if (spec && json_is_string(json_object_get(n, "auth_token")))
        json_object_set(spec, "auth_token", json_object_get(n, "auth_token"));
    json_t *list = spec ? discovery_for_spec(db, row_str(n, "cluster")) : NULL; /* engines with discovery */
    if (list) json_object_set_new(spec, "discovery", list);
    if (spec && row_int(n, "cluster_mode")) {
        json_t *topology = topology_for_spec(db, row_str(n, "cluster")); /* none before epoch 1 */
        json_object_set_new(spec, "cluster_mode", json_true());
        if (topology) json_object_set_new(spec, "topology", topology);
    }
    if (spec && strcmp(row_str(n, "role"), "replica") == 0) {
        json_t *p = db_row(db,
                           "SELECT h.address, n.port FROM nodes n JOIN hosts h ON h.id = n.host"
                           " WHERE n.cluster = ? AND n.shard = ? AND n.role = 'primary'",
                           "ss", row_str(n, "cluster"), row_str(n, "shard"));
        if (p == NULL || row_int(p, "port") <= 0) {
            snprintf(err, errlen, "the primary of %s has no port yet", node);
            json_decref(spec);
            spec = NULL;
        } else {
            json_object_set_new(spec, "primary", json_pack("{s:s,s:I}", "host", row_str(p, "address"), "port",
                                                           (json_int_t)row_int(p, "port")));
        }
        json_decref(p);
    }
    json_decref(n);
    return spec;
}

static const char *reply_message(const json_t *reply)
{
    const char *m = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    return m ? m : "no message";
}

/* 5xx and transport failures are retried until the step's deadline; a
 * refusal (4xx, 507) fails the step at once. */
static enum step_result call_failed(struct step *s, const char *what, long status, const json_t *reply)
{
    if (status == 0 || (status >= 500 && status != 507)) {
        snprintf(s->error, sizeof(s->error), "%s: %s", what, status ? reply_message(reply) : "agent unreachable");
        return STEP_WAIT;
    }
    snprintf(s->error, sizeof(s->error), "%s refused (HTTP %ld): %s", what, status, reply_message(reply));
    return STEP_FAIL;
}

long ops_push_spec(struct ctl *c, sqlite3 *db, const char *node, char *err, size_t errlen)
{
    char url[512];
    json_t *spec = node_spec(db, node, url, sizeof(url), err, errlen);
    if (spec == NULL) return 400;
    char path[160];
    snprintf(path, sizeof(path), "/v1/nodes/%s", node);
    long status = 0;
    json_t *reply = NULL;
    agent_call(c, url, "PUT", path, spec, &status, &reply);
    json_decref(spec);
    if (status == 200 || status == 201) {
        db_run(db, "UPDATE nodes SET port = ?, obs_pid = ?, obs_generation = ? WHERE id = ?", "IIIs",
               (long long)json_integer_value(json_object_get(reply, "port")),
               (long long)json_integer_value(json_object_get(reply, "pid")),
               (long long)json_integer_value(json_object_get(reply, "generation")), node);
        snprintf(err, errlen, "%s %s on port %lld", node, status == 201 ? "launched" : "applied",
                 (long long)json_integer_value(json_object_get(reply, "port")));
    } else if (status == 0) {
        snprintf(err, errlen, "agent unreachable");
    } else {
        snprintf(err, errlen, "HTTP %ld: %s", status, reply_message(reply));
    }
    json_decref(reply);
    return status;
}

/* A failover is over for its clients once the new primary took its spec. */
static void failover_recovered(sqlite3 *db, struct step *s)
{
    if (strcmp(s->kind, "failover") != 0 && strcmp(s->kind, "planned_failover") != 0) return;
    if (db_int(db, 0, "SELECT role = 'primary' FROM nodes WHERE id = ?", "s", s->node) != 1) return;
    /* only from running: a finished outcome never changes (a counter counts it) */
    db_run(db, "UPDATE failovers SET outcome = 'succeeded', recovered_ms = ? WHERE op = ? AND outcome = 'running'",
           "Is", wall_ms(), s->op);
    long long took = wall_ms() - db_int(db, 0, "SELECT started_ms FROM failovers WHERE op = ?", "s", s->op);
    char msg[160];
    snprintf(msg, sizeof(msg), "%s is the primary and takes writes (%lld ms after detection)", s->node, took);
    store_event(db, s->cluster, s->node, "replica_promoted", msg);
    log_msg(LOG_NOTICE, "cluster %s: %s", s->cluster, msg);
}

static enum step_result step_put(struct ctl *c, sqlite3 *db, struct step *s)
{
    char msg[256];
    long status = ops_push_spec(c, db, s->node, msg, sizeof(msg));
    if ((status == 200 || status == 201) && ops_step_tx(db, s) != 0) {
        snprintf(s->error, sizeof(s->error), "the database is busy");
        return STEP_WAIT; /* replayed next tick: the same spec is a no-op */
    }
    if (status == 200 || status == 201) {
        store_event(db, s->cluster, s->node, status == 201 ? "node_launched" : "node_spec_applied", msg);
        failover_recovered(db, s);
        return STEP_DONE;
    }
    if (status == 400) { snprintf(s->error, sizeof(s->error), "%s", msg); return STEP_FAIL; }
    snprintf(s->error, sizeof(s->error), "PUT to the agent: %.200s", msg);
    return status == 0 || (status >= 500 && status != 507) ? STEP_WAIT : STEP_FAIL;
}

/* Reads the agent's view of a node; NULL (with the step's error) if none. */
static json_t *observe_node(struct ctl *c, sqlite3 *db, struct step *s, const char *node, enum step_result *r)
{
    json_t *h = db_row(db, "SELECT h.agent_url FROM nodes n JOIN hosts h ON h.id = n.host WHERE n.id = ?", "s", node);
    if (h == NULL) { snprintf(s->error, sizeof(s->error), "node %s is gone", node); *r = STEP_FAIL; return NULL; }
    char path[160];
    snprintf(path, sizeof(path), "/v1/nodes/%s", node);
    long status = 0;
    json_t *reply = NULL;
    agent_call(c, row_str(h, "agent_url"), "GET", path, NULL, &status, &reply);
    json_decref(h);
    if (status == 200) return reply;
    *r = call_failed(s, "GET from the agent", status, reply);
    json_decref(reply);
    return NULL;
}

static json_t *observe(struct ctl *c, sqlite3 *db, struct step *s, enum step_result *r)
{
    return observe_node(c, db, s, s->node, r);
}

/* Asks a replica itself whether its link is up: the agent refreshes INFO
 * only about once a second, and create-to-available should not wait for it. */
static int replica_link_up(sqlite3 *db, const char *node)
{
    json_t *n = db_row(db,
                       "SELECT h.address, n.port, c.auth_token FROM nodes n JOIN hosts h ON h.id = n.host"
                       " JOIN clusters c ON c.name = n.cluster WHERE n.id = ?",
                       "s", node);
    if (n == NULL || row_int(n, "port") <= 0) { json_decref(n); return 0; }
    char err[128];
    struct resp_conn *conn = resp_connect(row_str(n, "address"), (int)row_int(n, "port"), 500, err, sizeof(err));
    int up = 0;
    if (conn) {
        struct resp_reply *r = NULL;
        const char *token = json_string_value(json_object_get(n, "auth_token"));
        int ok = 1;
        if (token) {
            const char *auth[] = {"AUTH", token};
            r = resp_command(conn, 500, 2, auth);
            ok = r && r->type == RESP_STATUS;
            resp_reply_free(r);
        }
        const char *info[] = {"INFO", "replication"};
        r = ok ? resp_command(conn, 500, 2, info) : NULL;
        char role[16] = "", link[16] = "";
        if (r && r->type == RESP_BULK && resp_info_field(r->str, "role", role, sizeof(role)) == 0 &&
            resp_info_field(r->str, "master_link_status", link, sizeof(link)) == 0)
            up = strcmp(role, "slave") == 0 && strcmp(link, "up") == 0;
        resp_reply_free(r);
        resp_close(conn);
    }
    json_decref(n);
    return up;
}

static enum step_result step_wait(struct ctl *c, sqlite3 *db, struct step *s, int synced)
{
    enum step_result r = STEP_WAIT;
    json_t *o = observe(c, db, s, &r);
    if (o == NULL) return r;
    const char *health = json_string_value(json_object_get(o, "health"));
    const char *link = json_string_value(json_object_get(o, "master_link_status"));
    const char *role = json_string_value(json_object_get(o, "observed_role"));
    int ready = health && strcmp(health, "up") == 0;
    if (synced && ready) ready = (link && strcmp(link, "up") == 0 && role && strcmp(role, "slave") == 0) ||
                                replica_link_up(db, s->node);
    if (ready && ops_step_tx(db, s) != 0) ready = 0;
    if (ready) {
        db_run(db, "UPDATE nodes SET status = 'available', obs_health = 'up', obs_pid = ?, obs_ms = ? WHERE id = ?",
               "IIs", (long long)json_integer_value(json_object_get(o, "pid")), wall_ms(), s->node);
        store_event(db, s->cluster, s->node, synced ? "replica_synced" : "node_available",
                    synced ? "the replica is linked to its primary and in sync" : "the node is up");
    } else {
        snprintf(s->error, sizeof(s->error), "node %s not %s yet (health %s)", s->node, synced ? "in sync" : "up",
                 health ? health : "unknown");
    }
    json_decref(o);
    return ready ? STEP_DONE : STEP_WAIT;
}

/* Gives up on stopping a node whose host cannot be reached: the node is
 * remembered so that it is stopped once the host is back (reconcile.c).
 * Runs in the step's transaction. */
static void abandon_node(sqlite3 *db, struct step *s, const char *why)
{
    db_run(db,
           "INSERT OR REPLACE INTO abandoned_nodes(id, host, cluster, abandoned_ms)"
           " SELECT id, host, cluster, ? FROM nodes WHERE id = ?",
           "Is", wall_ms(), s->node);
    store_event(db, s->cluster, s->node, "node_abandoned", why);
}

static enum step_result step_delete(struct ctl *c, sqlite3 *db, struct step *s)
{
    json_t *h = db_row(db, "SELECT h.agent_url, ? - h.last_seen_ms > ? AS host_down FROM nodes n JOIN hosts h"
                           " ON h.id = n.host WHERE n.id = ?", "IIs", wall_ms(), c->cfg.agent_timeout_ms, s->node);
    if (h == NULL) return STEP_DONE; /* already forgotten */
    if (strcmp(s->kind, "replace_node") == 0 && row_int(h, "host_down")) {
        /* the replacement is synced; a host that is gone cannot be asked */
        json_decref(h);
        if (ops_step_tx(db, s) != 0) return STEP_WAIT;
        abandon_node(db, s, "its host is down; the node was replaced");
        return STEP_DONE;
    }
    char path[160];
    snprintf(path, sizeof(path), "/v1/nodes/%s", s->node);
    long status = 0;
    json_t *reply = NULL;
    agent_call(c, row_str(h, "agent_url"), "DELETE", path, NULL, &status, &reply);
    json_decref(h);
    enum step_result r = STEP_DONE;
    if ((status == 200 || status == 404) && ops_step_tx(db, s) != 0) status = 503;
    if (status == 200 || status == 404) store_event(db, s->cluster, s->node, "node_deleted", "the node was stopped");
    else r = call_failed(s, "DELETE on the agent", status, reply);
    json_decref(reply);
    return r;
}

/* The cluster's status once operation op is over: degraded while a node is
 * failed, modifying while another shard's operation still runs. */
static void settle_cluster(sqlite3 *db, const char *cluster, const char *op)
{
    long long failed = db_int(db, 0, "SELECT count(*) FROM nodes WHERE cluster = ? AND status = 'failed'", "s", cluster);
    long long others = db_int(db, 0, "SELECT count(*) FROM operations WHERE cluster = ? AND id != ?"
                                     " AND status IN ('pending', 'running')", "ss", cluster, op);
    db_run(db, "UPDATE clusters SET status = ?, updated_ms = ? WHERE name = ?", "sIs",
           failed ? "degraded" : others ? "modifying" : "available", wall_ms(), cluster);
}

static enum step_result step_finish(sqlite3 *db, struct step *s)
{
    /* one transaction: nobody sees the cluster settled with its operation
     * still running (when finish is the last step) */
    if (ops_step_tx(db, s) != 0) return STEP_WAIT;
    settle_cluster(db, s->cluster, s->op);
    if (db_int(db, 1, "SELECT count(*) FROM op_steps WHERE op = ? AND seq > ?", "sI", s->op, s->seq) == 0)
        db_run(db, "UPDATE operations SET status = 'succeeded', updated_ms = ? WHERE id = ?", "Is", wall_ms(), s->op);
    long long created = db_int(db, 0, "SELECT created_ms FROM operations WHERE id = ?", "s", s->op);
    char msg[160];
    snprintf(msg, sizeof(msg), "%s finished in %lld ms", s->kind, wall_ms() - created);
    /* the types stay literals in the call: test_controller_openapi reads them */
    store_event(db, s->cluster, NULL,
                strcmp(s->kind, "create") == 0                                                   ? "cluster_available"
                : strstr(s->kind, "failover") != NULL || strcmp(s->kind, "replace_node") == 0 ? "failover_completed"
                                                                                                : "cluster_modified",
                msg);
    return STEP_DONE;
}

/* ---- failover steps ------------------------------------------------------- */

/* Best effort: the node takes its new spec now if its agent and process can
 * answer; otherwise failover.c sends it when they are back. Never waits, so
 * a lost host cannot hold a failover up. */
static enum step_result step_fence(struct ctl *c, sqlite3 *db, struct step *s)
{
    json_t *n = db_row(db,
                       "SELECT coalesce(n.obs_health, '') AS health, coalesce(n.obs_pid, 0) AS pid,"
                       " ? - h.last_seen_ms <= ? AS host_up FROM nodes n JOIN hosts h ON h.id = n.host WHERE n.id = ?",
                       "IIs", wall_ms(), c->cfg.agent_timeout_ms, s->node);
    if (n == NULL) return STEP_DONE; /* gone */
    int reachable = row_int(n, "host_up") && (strcmp(row_str(n, "health"), "up") == 0 || row_int(n, "pid") == 0);
    json_decref(n);
    enum step_result r = reachable ? step_put(c, db, s) : STEP_WAIT;
    if (r == STEP_DONE) return r;
    if (ops_step_tx(db, s) != 0) return STEP_WAIT;
    store_event(db, s->cluster, s->node, "node_fence_pending",
                "the node cannot take its new spec now; it gets it as soon as it answers");
    return STEP_DONE;
}

static enum step_result step_guard(sqlite3 *db, struct step *s)
{
    long long replicas = db_int(db, 0, "SELECT replicas FROM clusters WHERE name = ?", "s", s->cluster);
    struct repl_info ri;
    if (node_repl_info(db, s->node, FO_PROBE_MS, &ri) != 0) {
        snprintf(s->error, sizeof(s->error), "%s does not answer INFO", s->node);
        return STEP_WAIT;
    }
    if (replicas > 0 && ri.connected < 1 && wall_ms() - s->started_ms < FO_GUARD_GRACE_MS) {
        snprintf(s->error, sizeof(s->error), "%s: waiting for a replica to connect", s->node);
        return STEP_WAIT;
    }
    int on = replicas > 0 && ri.connected >= 1;
    if (node_config_set(db, s->node, FO_PROBE_MS, "min-replicas-max-lag", FO_GUARD_MAX_LAG) != 0 ||
        node_config_set(db, s->node, FO_PROBE_MS, "min-replicas-to-write", on ? "1" : "0") != 0) {
        snprintf(s->error, sizeof(s->error), "%s refused CONFIG SET min-replicas-*", s->node);
        return STEP_WAIT;
    }
    if (ops_step_tx(db, s) != 0) return STEP_WAIT;
    store_event(db, s->cluster, s->node, "write_guard",
                on ? "min-replicas-to-write 1: cut off from every replica, the primary refuses writes"
                   : "min-replicas-to-write 0: no replica to guard with");
    return STEP_DONE;
}

/* Planned failover: no write is accepted on the primary from here on. */
/* Writes to the primary wait (CLIENT PAUSE WRITE) until the switch is made
 * and published; then they run again and meet the new roles: MOVED to the
 * new primary in cluster mode, so a cluster client sees no error. Should
 * the pause end before that (its deadline, a controller that died), the
 * impossible min-replicas-to-write refuses them: no write reaches a primary
 * that is no longer the one its replicas follow. */
#define PLANNED_PAUSE_MS "10000"

static int pause_or_unpause(sqlite3 *db, const char *node, int pause)
{
    const char *pause_argv[] = {"CLIENT", "PAUSE", PLANNED_PAUSE_MS, "WRITE"};
    const char *unpause_argv[] = {"CLIENT", "UNPAUSE"};
    struct resp_reply *r = pause ? node_command(db, node, FO_PROBE_MS, 4, pause_argv)
                                 : node_command(db, node, FO_PROBE_MS, 2, unpause_argv);
    int ok = r && r->type == RESP_STATUS;
    resp_reply_free(r);
    return ok ? 0 : -1;
}

static enum step_result step_pause(sqlite3 *db, struct step *s)
{
    /* the pause first: between the two, a write would meet the refusal */
    if (pause_or_unpause(db, s->node, 1) != 0 ||
        node_config_set(db, s->node, FO_PROBE_MS, "min-replicas-to-write", "1000000") != 0) {
        snprintf(s->error, sizeof(s->error), "%s refused to pause writes", s->node);
        return STEP_WAIT;
    }
    if (ops_step_tx(db, s) != 0) return STEP_WAIT;
    store_event(db, s->cluster, s->node, "writes_paused", "writes to the primary wait until the switch");
    return STEP_DONE;
}

static int runs_cluster_epoch(struct ctl *c, sqlite3 *db, struct step *s, const char *node)
{
    enum step_result ignored;
    json_t *o = observe_node(c, db, s, node, &ignored);
    long long runs = o ? json_integer_value(json_object_get(o, "topology_epoch")) : 0;
    json_decref(o);
    return runs >= db_int(db, 0, "SELECT topology_epoch FROM clusters WHERE name = ?", "s", s->cluster);
}

/* The old primary (s->node) follows the new one and, in cluster mode, both
 * run the topology that says so: the held writes get MOVED to the new
 * primary and stay there, not an error or a redirection back. */
static int took_new_role(struct ctl *c, sqlite3 *db, struct step *s)
{
    struct repl_info ri;
    if (node_repl_info(db, s->node, FO_PROBE_MS, &ri) != 0 || strcmp(ri.role, "slave") != 0) return 0;
    if (db_int(db, 0, "SELECT cluster_mode FROM clusters WHERE name = ?", "s", s->cluster) != 1) return 1;
    json_t *p = db_row(db, "SELECT id FROM nodes WHERE cluster = ? AND role = 'primary'"
                           " AND shard = (SELECT shard FROM nodes WHERE id = ?)", "ss", s->cluster, s->node);
    int ok = p && runs_cluster_epoch(c, db, s, row_str(p, "id")) && runs_cluster_epoch(c, db, s, s->node);
    json_decref(p);
    return ok;
}

/* The old primary lets its held writes run once it has taken its new role
 * (see took_new_role). Best effort after UNPAUSE_WAIT_MS: a node that does
 * not answer ends its pause at the deadline anyway, and the failover is
 * done. */
#define UNPAUSE_WAIT_MS 5000

static enum step_result step_unpause(struct ctl *c, sqlite3 *db, struct step *s)
{
    if (!took_new_role(c, db, s) && wall_ms() - s->started_ms < UNPAUSE_WAIT_MS) {
        snprintf(s->error, sizeof(s->error), "%s has not taken its role as a replica yet", s->node);
        return STEP_WAIT;
    }
    if (pause_or_unpause(db, s->node, 0) != 0)
        log_msg(LOG_WARNING, "cluster %s: %s did not answer CLIENT UNPAUSE; its pause ends by itself", s->cluster,
                s->node);
    return STEP_DONE;
}

/* The chosen replica (s->node) has every byte of the paused primary. */
static enum step_result step_catch_up(sqlite3 *db, struct step *s)
{
    json_t *p = db_row(db, "SELECT id FROM nodes WHERE cluster = ? AND shard = (SELECT shard FROM nodes WHERE id = ?)"
                           " AND role = 'primary'", "ss", s->cluster, s->node);
    struct repl_info pi, ri;
    int ok = p && node_repl_info(db, row_str(p, "id"), FO_PROBE_MS, &pi) == 0 &&
             node_repl_info(db, s->node, FO_PROBE_MS, &ri) == 0;
    json_decref(p);
    if (!ok || strcmp(ri.role, "slave") != 0 || ri.offset < pi.offset) {
        snprintf(s->error, sizeof(s->error), "%s has not caught up with its primary", s->node);
        return STEP_WAIT;
    }
    if (ops_step_tx(db, s) != 0) return STEP_WAIT;
    char msg[128];
    snprintf(msg, sizeof(msg), "caught up at offset %lld", ri.offset);
    store_event(db, s->cluster, s->node, "replica_caught_up", msg);
    return STEP_DONE;
}

/* Swaps the roles of the shard's primary and s->node; every node of the
 * shard gets a higher generation. */
static enum step_result step_switch(sqlite3 *db, struct step *s)
{
    if (ops_step_tx(db, s) != 0) return STEP_WAIT;
    json_t *n = db_row(db, "SELECT shard FROM nodes WHERE id = ?", "s", s->node);
    if (n == NULL) { snprintf(s->error, sizeof(s->error), "node %s is gone", s->node); return STEP_FAIL; }
    const char *shard = row_str(n, "shard");
    int rc = db_run(db, "UPDATE nodes SET role = 'replica' WHERE cluster = ? AND shard = ? AND role = 'primary'", "ss",
                    s->cluster, shard);
    rc |= db_run(db, "UPDATE nodes SET role = 'primary' WHERE id = ?", "s", s->node);
    rc |= db_run(db, "UPDATE nodes SET generation = generation + 1 WHERE cluster = ? AND shard = ?", "ss", s->cluster, shard);
    json_decref(n);
    if (rc != 0) { snprintf(s->error, sizeof(s->error), "cannot switch the roles"); return STEP_FAIL; }
    store_event(db, s->cluster, s->node, "roles_switched", "the caught-up replica is the primary from now on");
    return STEP_DONE;
}

/* ---- cluster mode ------------------------------------------------------------ */

/* The stored topology catches up with the shards and nodes (topology.c). */
static enum step_result step_topology(sqlite3 *db, struct step *s)
{
    if (ops_step_tx(db, s) != 0) return STEP_WAIT;
    if (topology_refresh(db, s->cluster) < 0) {
        snprintf(s->error, sizeof(s->error), "cannot store the topology");
        return STEP_WAIT; /* rolled back; tried again until the step's deadline */
    }
    return STEP_DONE;
}

/* A versioned configuration the agents hand to their nodes: what the agent
 * reports a node runs, the cluster's current version, and where the
 * controller notes what the node runs. */
struct pushed {
    const char *what, *reported, *want_sql, *note_sql;
};
static const struct pushed pushed_topology = {
    "topology epoch", "topology_epoch", "SELECT topology_epoch FROM clusters WHERE name = ?",
    "UPDATE nodes SET obs_topology_epoch = ? WHERE id = ?"};
static const struct pushed pushed_discovery = {
    "discovery list version", "discovery_version", "SELECT discovery_version FROM clusters WHERE name = ?",
    "UPDATE nodes SET obs_discovery_version = ? WHERE id = ?"};

/* The node runs the cluster's version of p (or a later one). */
static enum step_result step_wait_pushed(struct ctl *c, sqlite3 *db, struct step *s, const struct pushed *p)
{
    enum step_result r = STEP_WAIT;
    json_t *o = observe(c, db, s, &r);
    if (o == NULL) return r;
    long long runs = json_integer_value(json_object_get(o, p->reported));
    long long want = db_int(db, 0, p->want_sql, "s", s->cluster);
    json_decref(o);
    if (runs < want || want <= 0) {
        snprintf(s->error, sizeof(s->error), "node %s runs %s %lld, not %lld yet", s->node, p->what, runs, want);
        return STEP_WAIT;
    }
    if (ops_step_tx(db, s) != 0) return STEP_WAIT;
    db_run(db, p->note_sql, "Is", runs, s->node);
    return STEP_DONE;
}

/* The stored discovery list catches up with the nodes (discovery.c). */
static enum step_result step_discovery(sqlite3 *db, struct step *s)
{
    if (ops_step_tx(db, s) != 0) return STEP_WAIT;
    if (discovery_refresh(db, s->cluster, s->arg && *s->arg ? s->arg : NULL) < 0) {
        snprintf(s->error, sizeof(s->error), "cannot store the discovery list");
        return STEP_WAIT;
    }
    return STEP_DONE;
}

static enum step_result run_step(struct ctl *c, sqlite3 *db, struct step *s)
{
    if (strcmp(s->action, "put") == 0) return step_put(c, db, s);
    if (strcmp(s->action, "wait_up") == 0) return step_wait(c, db, s, 0);
    if (strcmp(s->action, "wait_synced") == 0) return step_wait(c, db, s, 1);
    if (strcmp(s->action, "delete") == 0) return step_delete(c, db, s);
    if (strcmp(s->action, "forget_node") == 0)
        return db_run(db, "DELETE FROM nodes WHERE id = ?", "s", s->node) == 0 ? STEP_DONE : STEP_WAIT;
    if (strcmp(s->action, "finish") == 0) return step_finish(db, s);
    if (strcmp(s->action, "fence") == 0) return step_fence(c, db, s);
    if (strcmp(s->action, "guard") == 0) return step_guard(db, s);
    if (strcmp(s->action, "pause") == 0) return step_pause(db, s);
    if (strcmp(s->action, "unpause") == 0) return step_unpause(c, db, s);
    if (strcmp(s->action, "catch_up") == 0) return step_catch_up(db, s);
    if (strcmp(s->action, "switch") == 0) return step_switch(db, s);
    if (strcmp(s->action, "topology") == 0) return step_topology(db, s);
    if (strcmp(s->action, "wait_topology") == 0) return step_wait_pushed(c, db, s, &pushed_topology);
    if (strcmp(s->action, "discovery") == 0) return step_discovery(db, s);
    if (strcmp(s->action, "wait_discovery") == 0) return step_wait_pushed(c, db, s, &pushed_discovery);
    if (strcmp(s->action, "move") == 0 || strcmp(s->action, "retire_shard") == 0 ||
        strcmp(s->action, "forget_shard") == 0)
        return reshard_run_step(c, db, s);
    if (strcmp(s->action, "forget_cluster") == 0) {
        if (db_run(db, "DELETE FROM clusters WHERE name = ?", "s", s->cluster) != 0) return STEP_WAIT;
        store_event(db, s->cluster, NULL, "cluster_deleted", "every node stopped; the cluster is forgotten");
        return STEP_DONE;
    }
    snprintf(s->error, sizeof(s->error), "unknown step action '%s'", s->action);
    return STEP_FAIL;
}

/* A planned failover that gave up before its switch lets the primary take
 * writes again. */
static void unpause_primary(sqlite3 *db, const char *cluster, const char *node)
{
    json_t *p = db_row(db, "SELECT id FROM nodes WHERE cluster = ? AND role = 'primary'"
                           " AND shard = (SELECT shard FROM nodes WHERE id = ?)", "ss", cluster, node);
    long long replicas = db_int(db, 0, "SELECT replicas FROM clusters WHERE name = ?", "s", cluster);
    /* the writes it held run after the guard is back to normal */
    if (p && (node_config_set(db, row_str(p, "id"), FO_PROBE_MS, "min-replicas-to-write", replicas > 0 ? "1" : "0") != 0 ||
              pause_or_unpause(db, row_str(p, "id"), 0) != 0))
        log_msg(LOG_WARNING, "cluster %s: cannot let %s take writes again", cluster, row_str(p, "id"));
    json_decref(p);
}

static void fail_op(sqlite3 *db, struct step *s)
{
    db_run(db, "UPDATE operations SET status = 'failed', error = ?, updated_ms = ? WHERE id = ?", "sIs", s->error,
           wall_ms(), s->op);
    if (strcmp(s->kind, "create") == 0)
        db_run(db, "UPDATE clusters SET status = 'create-failed', updated_ms = ? WHERE name = ?", "Is", wall_ms(),
               s->cluster);
    else if (strcmp(s->kind, "delete") != 0)
        settle_cluster(db, s->cluster, s->op);
    db_run(db, "UPDATE failovers SET outcome = 'failed' WHERE op = ? AND outcome = 'running'", "s", s->op);
    if (strcmp(s->kind, "planned_failover") == 0 && (strcmp(s->action, "pause") == 0 || strcmp(s->action, "catch_up") == 0))
        unpause_primary(db, s->cluster, s->node);
    if (strcmp(s->action, "move") == 0) slotmove_abandon(db, s);
    char msg[400];
    snprintf(msg, sizeof(msg), "%s failed at step %lld (%s): %s", s->kind, s->seq, s->action, s->error);
    store_event(db, s->cluster, s->node, "operation_failed", msg);
    log_msg(LOG_WARNING, "operation %s: %s", s->op, msg);
}

/* A delete step that cannot reach its agent gives up at the deadline: the
 * host is gone or unreachable and the delete must still finish. */
static int deadline_passed(const struct step *s)
{
    return s->started_ms > 0 && wall_ms() - s->started_ms > CTL_STEP_DEADLINE_MS;
}

/* Runs one step in a transaction with its "done" mark. 1 = go on, 0 = stop. */
static int advance(struct ctl *c, sqlite3 *db, struct step *s)
{
    if (s->started_ms == 0) {
        s->started_ms = wall_ms();
        db_run(db, "UPDATE op_steps SET started_ms = ? WHERE op = ? AND seq = ?", "IsI", s->started_ms, s->op, s->seq);
        db_run(db, "UPDATE operations SET status = 'running', updated_ms = ? WHERE id = ? AND status = 'pending'", "Is",
               wall_ms(), s->op);
    }
    enum step_result r = run_step(c, db, s);
    if (r == STEP_WAIT && deadline_passed(s)) {
        if (strcmp(s->action, "delete") == 0) {
            r = STEP_DONE;
            if (ops_step_tx(db, s) == 0) abandon_node(db, s, s->error);
        } else {
            r = STEP_FAIL;
        }
    }
    if (r == STEP_WAIT && !s->in_tx) return 0; /* polled again next tick; nothing to write */
    if (ops_step_tx(db, s) != 0) {
        if (r == STEP_DONE) log_msg(LOG_WARNING, "operation %s: cannot record step %lld; it will run again", s->op, s->seq);
        return 0;
    }
    if (r == STEP_DONE)
        db_run(db, "UPDATE op_steps SET status = 'done' WHERE op = ? AND seq = ?", "sI", s->op, s->seq);
    else if (r == STEP_FAIL)
        fail_op(db, s);
    if (db_commit(db) != 0) { db_rollback(db); return 0; }
    return r == STEP_DONE;
}

static int run_op(struct ctl *c, sqlite3 *db, const json_t *op)
{
    int done = 0;
    for (int guard = 0; guard < 64 && !c->stopping; guard++) {
        json_t *row = db_row(db, "SELECT seq, action, node, arg, coalesce(started_ms, 0) AS started_ms FROM op_steps"
                                 " WHERE op = ? AND status != 'done' ORDER BY seq",
                             "s", row_str(op, "id"));
        if (row == NULL) {
            db_run(db, "UPDATE operations SET status = 'succeeded', updated_ms = ? WHERE id = ?", "Is", wall_ms(),
                   row_str(op, "id"));
            return done;
        }
        struct step s = {.op = row_str(op, "id"), .cluster = row_str(op, "cluster"), .kind = row_str(op, "kind"),
                         .seq = row_int(row, "seq"), .action = row_str(row, "action"), .node = row_str(row, "node"),
                         .arg = row_str(row, "arg"),
                         .started_ms = row_int(row, "started_ms")};
        int go_on = advance(c, db, &s);
        json_decref(row);
        if (!go_on) break;
        done++;
        /* a delete may have failed this op meanwhile (superseded) */
        if (db_int(db, 0, "SELECT status IN ('pending','running') FROM operations WHERE id = ?", "s", s.op) == 0) break;
    }
    return done;
}

int ops_run(struct ctl *c, sqlite3 *db)
{
    json_t *ops = db_rows(db, "SELECT id, cluster, kind FROM operations WHERE status IN ('pending','running')"
                              " ORDER BY created_ms, id", "");
    size_t i;
    json_t *op;
    int done = 0;
    json_array_foreach(ops, i, op) done += run_op(c, db, op);
    json_decref(ops);
    return done;
}

void ops_resume(sqlite3 *db)
{
    long long active = db_int(db, 0, "SELECT count(*) FROM operations WHERE status IN ('pending','running')", "");
    db_run(db, "UPDATE op_steps SET started_ms = NULL WHERE status != 'done'", "");
    reshard_resume(db);
    if (active > 0) log_msg(LOG_NOTICE, "resuming %lld operation(s) where they stood", active);
}
