/* nodeplan.c: plans for clusters of independent nodes, the engines without
 * shards or replicas (memcached; engine_caps.h). Such a cluster keeps one
 * internal shard "0001" holding every node, each a primary of nothing;
 * its users see "nodes" and the discovery list (discovery.c). Nodes are
 * spread over zones and hosts (place_spread). Every change is an operation
 * of persisted steps like any other (ops.c):
 *   create:   put and wait_up every node; publish the list; finish
 *   add:      put and wait_up the new nodes; publish the list (they join); finish
 *   remove:   mark the leaving nodes; publish the list (they leave, every
 *             node learns it, the leaving ones too); then delete them; finish
 *   replace:  a lost node (process or host gone) is marked; a new node on a
 *             host that is up is put and awaited; the list is published
 *             (the new one in, the lost one out); the lost one is deleted
 *             (or abandoned when its host is down); finish
 * A memory resize changes the running nodes (ops.c, as for Redis: each
 * node's agent sends cache_memlimit); the list does not change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "discovery.h"
#include "engine_caps.h"
#include "failover.h"
#include "ops_internal.h"
#include "placement.h"
#include "store.h"

#define NODEPLAN_SHARD "0001"

/* Places `count` new nodes (never on avoid_host, if not NULL), inserts
 * their rows and their put and wait_up steps. */
static int plan_nodes(struct ctl *c, sqlite3 *db, const char *cluster, int count, long long memory_mb,
                      const char *avoid_host, const char *op_id, int *seq, struct op_error *e)
{
    struct place_host *hosts = malloc(CTL_MAX_HOSTS * sizeof(*hosts));
    int *where = calloc((size_t)count + 1, sizeof(*where));
    char (*ids)[96] = calloc((size_t)count + 1, sizeof(*ids));
    char msg[256];
    int status = 202;
    if (hosts == NULL || where == NULL || ids == NULL) {
        status = ops_error(e, 500, "InternalError", "out of memory");
        goto out;
    }
    size_t n = ops_load_hosts(c, db, cluster, NODEPLAN_SHARD, hosts, CTL_MAX_HOSTS);
    for (size_t i = 0; avoid_host && i < n; i++)
        if (strcmp(hosts[i].id, avoid_host) == 0) hosts[i].up = 0;
    enum place_result r = place_spread(hosts, n, count, memory_mb, where, msg, sizeof(msg));
    if (r != PLACE_OK) {
        status = ops_place_error(e, r, msg);
        goto out;
    }
    int rc = 0;
    for (int k = 0; k < count && rc == 0; k++)
        rc = ops_next_node_id(db, cluster, NODEPLAN_SHARD, ids[k], sizeof(ids[k])) ||
             ops_insert_node(db, ids[k], cluster, NODEPLAN_SHARD, "primary", hosts[where[k]].id, memory_mb);
    for (int k = 0; k < count && rc == 0; k++) rc = ops_add_step(db, op_id, seq, "put", ids[k]);
    for (int k = 0; k < count && rc == 0; k++) rc = ops_add_step(db, op_id, seq, "wait_up", ids[k]);
    if (rc) status = ops_error(e, 500, "InternalError", "cannot store the new nodes");
out:
    free(hosts);
    free(where);
    free(ids);
    return status;
}

int nodeplan_create(struct ctl *c, sqlite3 *db, const struct create_request *r, const char *op_id, int *seq,
                    struct op_error *e)
{
    if (db_run(db, "INSERT INTO shards(cluster, id, slots) VALUES(?,?,'-')", "ss", r->name, NODEPLAN_SHARD) != 0 ||
        db_run(db, "UPDATE clusters SET shards = 0, replicas = 0, node_count = ? WHERE name = ?", "ds", r->nodes,
               r->name) != 0)
        return ops_error(e, 500, "InternalError", "cannot store the cluster");
    int status = plan_nodes(c, db, r->name, r->nodes, r->node_memory_mb, NULL, op_id, seq, e);
    if (status != 202) return status;
    if (discovery_add_steps(db, op_id, seq, r->name, NULL) != 0 || ops_add_step(db, op_id, seq, "finish", NULL) != 0)
        return ops_error(e, 500, "InternalError", "cannot store the steps");
    char msg[160];
    snprintf(msg, sizeof(msg), "creating: %d %s node(s) of %lld MB", r->nodes, r->engine, r->node_memory_mb);
    store_event(db, r->name, NULL, "cluster_creating", msg);
    return 202;
}

/* The leaving nodes are marked now; then the list without them goes out,
 * and only then do they stop. */
static int plan_removal(sqlite3 *db, const char *name, int count, const char *op_id, int *seq, struct op_error *e)
{
    json_t *gone = json_array();
    int rc = gone ? ops_pick_removals(db, name, NODEPLAN_SHARD, NULL, count, gone) : -1;
    /* the list first: clients stop using the leaving nodes before they stop */
    rc |= discovery_add_steps(db, op_id, seq, name, NULL);
    size_t i;
    json_t *id;
    json_array_foreach(gone, i, id) {
        rc |= ops_add_step(db, op_id, seq, "delete", json_string_value(id));
        rc |= ops_add_step(db, op_id, seq, "forget_node", json_string_value(id));
    }
    json_decref(gone);
    return rc ? ops_error(e, 500, "InternalError", "cannot store the change") : 202;
}

int nodeplan_scale(struct ctl *c, sqlite3 *db, const char *name, int nodes, const char *op_id, struct op_error *e)
{
    int busy = ops_check_modifiable(db, name, NULL, e);
    if (busy) return busy;
    json_t *cl = db_row(db, "SELECT engine, node_count, node_memory_mb FROM clusters WHERE name = ?", "s", name);
    const struct engine_caps *caps = engine_by_name(row_str(cl, "engine"));
    long long memory = row_int(cl, "node_memory_mb"), before = row_int(cl, "node_count");
    json_decref(cl);
    if (caps == NULL || nodes < caps->min_nodes || nodes > caps->max_nodes) {
        char msg[128];
        snprintf(msg, sizeof(msg), "'nodes' must be between %d and %d", caps ? caps->min_nodes : 1,
                 caps ? caps->max_nodes : 1);
        return ops_error(e, 400, "InvalidParameterValue", msg);
    }
    int have = (int)db_int(db, 0, "SELECT count(*) FROM nodes WHERE cluster = ? AND status != 'deleting'", "s", name);
    if (have == nodes && before == nodes) return OPS_NO_CHANGE;
    int seq = 1, rc = ops_insert(db, op_id, name, nodes > have ? "add_nodes" : "remove_nodes", NULL);
    int status = rc ? ops_error(e, 500, "InternalError", "cannot store the change") : 202;
    if (status == 202 && nodes > have) {
        status = plan_nodes(c, db, name, nodes - have, memory, NULL, op_id, &seq, e);
        if (status == 202) rc |= discovery_add_steps(db, op_id, &seq, name, NULL);
    } else if (status == 202) {
        status = plan_removal(db, name, have - nodes, op_id, &seq, e);
    }
    if (status != 202) return status;
    rc |= ops_add_step(db, op_id, &seq, "finish", NULL);
    rc |= db_run(db, "UPDATE clusters SET status = 'modifying', node_count = ?, updated_ms = ? WHERE name = ?", "dIs",
                 nodes, wall_ms(), name);
    char msg[128];
    snprintf(msg, sizeof(msg), "%s nodes: %d (%d before)", nodes > have ? "adding" : "removing", nodes, have);
    rc |= store_event(db, name, NULL, "cluster_modifying", msg);
    return rc ? ops_error(e, 500, "InternalError", "cannot store the change") : 202;
}

int nodeplan_replace(struct ctl *c, sqlite3 *db, const char *node, const char *op_id, struct op_error *e)
{
    /* a host that has gone quiet is suspect: the new node goes elsewhere */
    json_t *n = db_row(db, "SELECT n.cluster, n.memory_mb, CASE WHEN ? - h.last_seen_ms > ? THEN n.host END AS avoid"
                           " FROM nodes n JOIN hosts h ON h.id = n.host WHERE n.id = ? AND n.status IN ('failed', 'available')",
                       "IIs", wall_ms(), (long long)FO_SUSPECT_SILENCE_MS, node);
    if (n == NULL) return ops_error(e, 409, "InvalidNodeState", "the node is not there to replace");
    const char *cluster = row_str(n, "cluster");
    int seq = 1, rc = ops_insert(db, op_id, cluster, "replace_node", NULL);
    rc |= db_run(db, "UPDATE nodes SET status = 'deleting' WHERE id = ?", "s", node);
    int status = rc ? ops_error(e, 500, "InternalError", "cannot store the replacement")
                    : plan_nodes(c, db, cluster, 1, row_int(n, "memory_mb"),
                                 json_string_value(json_object_get(n, "avoid")), op_id, &seq, e);
    if (status == 202) {
        rc |= discovery_add_steps(db, op_id, &seq, cluster, node);
        rc |= ops_add_step(db, op_id, &seq, "delete", node);
        rc |= ops_add_step(db, op_id, &seq, "forget_node", node);
        rc |= ops_add_step(db, op_id, &seq, "finish", NULL);
        rc |= store_event(db, cluster, node, "node_replacing", "the node is lost: a new node takes its place in the list");
        if (rc) status = ops_error(e, 500, "InternalError", "cannot store the replacement");
    }
    json_decref(n);
    return status;
}
