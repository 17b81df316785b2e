/* ops.h: operations as persisted steps. Planning (on the HTTP thread)
 * writes the desired state, the operation and all its steps in one
 * transaction; the worker runs the steps. Each step is idempotent (a PUT
 * replays the same spec and generation, a DELETE of a gone node is done),
 * so a controller killed at any moment resumes where it stood and never
 * re-creates or restarts a node that exists. */
#ifndef CF_CTL_OPS_H
#define CF_CTL_OPS_H

#include <sqlite3.h>
#include <stddef.h>

#include "validate.h"

struct ctl;

#define OP_ID_MAX 40

/* Each returns an HTTP status: 202 with op_id set, or an error status with
 * code and message set (nothing is written then). A resize to what the
 * cluster already has returns OPS_NO_CHANGE and writes nothing: no
 * operation, the cluster stays as it is. */
#define OPS_NO_CHANGE 200
struct op_error {
    char code[48];
    char message[256];
};
int ops_create_cluster(struct ctl *c, sqlite3 *db, const struct create_request *r, char *op_id, struct op_error *e);
int ops_delete_cluster(struct ctl *c, sqlite3 *db, const char *name, char *op_id, struct op_error *e);
int ops_scale_replicas(struct ctl *c, sqlite3 *db, const char *name, int replicas, char *op_id, struct op_error *e);
int ops_resize_memory(struct ctl *c, sqlite3 *db, const char *name, long long memory_mb, char *op_id,
                      struct op_error *e);

/* Cluster mode, online: shards >= 1 reshards to that many shards (new
 * ones created and published with no slots, removed ones emptied and then
 * deleted); shards < 0 rebalances the existing shards. Slots move one
 * range at a time (reshard.c); a cluster already even returns
 * OPS_NO_CHANGE. */
int ops_reshard(struct ctl *c, sqlite3 *db, const char *name, int shards, char *op_id, struct op_error *e);

/* An engine without shards (memcached): scale to `nodes` nodes online,
 * new ones joining the discovery list once up, leaving ones dropping out
 * of it before they stop (nodeplan.c). */
int ops_scale_nodes(struct ctl *c, sqlite3 *db, const char *name, int nodes, char *op_id, struct op_error *e);
/* 0 when the cluster's engine can do capability (engine_can, e.g.
 * "replicas", "nodes"); else 404 (no such cluster) or 400 saying that
 * `what` does not apply to its engine. */
int ops_check_engine(sqlite3 *db, const char *name, const char *capability, const char *what, struct op_error *e);

/* Planned failover of one shard: pause writes on the primary, let the
 * chosen replica catch up, switch roles, demote the old primary. */
int ops_planned_failover(struct ctl *c, sqlite3 *db, const char *name, const char *shard, char *op_id,
                         struct op_error *e);
/* Self-healing: a new replica for a lost node, then the lost one goes.
 * Called by the worker (failover.c) inside no transaction. */
int ops_replace_node(struct ctl *c, sqlite3 *db, const char *node, char *op_id, struct op_error *e);

/* Building blocks shared with failover.c (all inside the caller's
 * transaction). */
int ops_new_id(char *out);
/* shard: the one shard the operation changes (failover, replacement), so
 * that other shards' operations may run meanwhile; NULL: the whole cluster. */
int ops_insert(sqlite3 *db, const char *op_id, const char *cluster, const char *kind, const char *shard);
int ops_add_step(sqlite3 *db, const char *op_id, int *seq, const char *action, const char *node);
/* Sends a node's spec (from its row) to its agent: the HTTP status, 0 when
 * the agent did not answer. On success the row's port, pid and observed
 * generation are updated (outside any transaction the caller holds none). */
long ops_push_spec(struct ctl *c, sqlite3 *db, const char *node, char *err, size_t errlen);

/* Worker: runs every step that can run now; returns how many completed. */
int ops_run(struct ctl *c, sqlite3 *db);
/* At start-up: waiting steps get a fresh deadline. */
void ops_resume(sqlite3 *db);

#endif
