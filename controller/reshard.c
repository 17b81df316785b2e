/* reshard.c: online resharding of cluster-mode clusters (docs/cluster.md,
 * "Moving slots", "Controller"): PATCH {"shards": N} and rebalance planned
 * into one operation whose steps are, in order:
 *   scale out: the new shards' nodes (placed as create places them), then
 *              the topology with them owning no slots, put to every node
 *   move       one range of slots from shard A to shard B (slotmove.c), each
 *              followed by a topology step and fences that publish it
 *   scale in:  retire_shard (the emptied shard leaves the topology), the
 *              topology published, its nodes deleted, forget_shard
 *   finish
 * This file plans them and runs retire_shard and forget_shard. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctl.h"
#include "ops.h"
#include "ops_internal.h"
#include "reshard_plan.h"
#include "store.h"
#include "topology.h"

static void shard_id(int index, char *out, size_t len)
{
    snprintf(out, len, "%04d", index + 1);
}

/* The planner over the shard rows; -1 when the rows are not 0001..000N in
 * order or their slots are not a partition of 0..16383. */
static int plan_rows(const json_t *shards, int nnew, struct plan_move **moves)
{
    size_t n = json_array_size(shards), i;
    const char **texts = calloc(n ? n : 1, sizeof(char *));
    json_t *sh;
    int rc = texts ? 0 : -1;
    json_array_foreach(shards, i, sh) {
        char want[16];
        shard_id((int)i, want, sizeof(want));
        if (strcmp(row_str(sh, "id"), want) != 0) rc = -1;
        texts[i] = row_str(sh, "slots");
    }
    if (rc == 0) rc = plan_moves(texts, (int)n, nnew, moves);
    free(texts);
    return rc;
}

/* A move step and its slot_moves row, then the steps that publish it. */
static int add_move(sqlite3 *db, const char *op_id, int *seq, const char *name, const struct plan_move *m)
{
    char src[16], dst[16];
    shard_id(m->from, src, sizeof(src));
    shard_id(m->to, dst, sizeof(dst));
    int at = *seq;
    int rc = ops_add_step(db, op_id, seq, "move", NULL);
    rc |= db_run(db, "INSERT INTO slot_moves(op, seq, cluster, src, dst, slots, slot_count) VALUES(?,?,?,?,?,?,?)",
                 "sdssssd", op_id, at, name, src, dst, m->slots, m->count);
    return rc | topology_add_steps(db, op_id, seq, name, NULL, NULL, 0);
}

/* Shards nnew..nold-1, emptied by the moves: out of the topology, their
 * nodes deleted, their rows forgotten. */
static int add_removals(sqlite3 *db, const char *op_id, int *seq, const char *name, int nold, int nnew)
{
    int rc = 0;
    char id[16];
    for (int i = nnew; i < nold; i++) {
        shard_id(i, id, sizeof(id));
        rc |= ops_add_step_arg(db, op_id, seq, "retire_shard", id);
    }
    rc |= topology_add_steps(db, op_id, seq, name, NULL, NULL, 0);
    for (int i = nnew; i < nold; i++) {
        shard_id(i, id, sizeof(id));
        json_t *nodes = db_rows(db, "SELECT id FROM nodes WHERE cluster = ? AND shard = ? ORDER BY role DESC, id", "ss",
                                name, id);
        size_t k;
        json_t *n;
        rc |= nodes ? 0 : -1;
        json_array_foreach(nodes, k, n) {
            rc |= ops_add_step(db, op_id, seq, "delete", row_str(n, "id"));
            rc |= ops_add_step(db, op_id, seq, "forget_node", row_str(n, "id"));
        }
        json_decref(nodes);
        rc |= ops_add_step_arg(db, op_id, seq, "forget_shard", id);
    }
    return rc;
}

/* Scale out: the new shards' nodes, then every node runs the topology in
 * which they own no slots yet, before any slot moves. */
static int add_new_shards(struct ctl *c, sqlite3 *db, const json_t *cl, int nold, int nnew, const char *op_id,
                          int *seq, struct op_error *e)
{
    struct new_shards ns = {.name = row_str(cl, "name"), .first = nold, .shards = nnew - nold,
                            .replicas = (int)row_int(cl, "replicas"), .node_memory_mb = row_int(cl, "node_memory_mb")};
    int status = ops_plan_new_shards(c, db, &ns, op_id, seq, e);
    if (status != 202) return status;
    int rc = ops_add_guard_steps(db, op_id, seq, ns.name) || topology_add_steps(db, op_id, seq, ns.name, NULL, NULL, 1);
    return rc ? ops_error(e, 500, "InternalError", "cannot store the new shards' steps") : 202;
}

static int add_steps(struct ctl *c, sqlite3 *db, const json_t *cl, int nold, int nnew, const struct plan_move *moves,
                     int nm, const char *op_id, struct op_error *e)
{
    const char *name = row_str(cl, "name");
    int seq = 1, status = 202;
    if (nnew > nold) status = add_new_shards(c, db, cl, nold, nnew, op_id, &seq, e);
    if (status != 202) return status;
    int rc = 0;
    for (int i = 0; i < nm; i++) rc |= add_move(db, op_id, &seq, name, &moves[i]);
    if (nnew < nold) rc |= add_removals(db, op_id, &seq, name, nold, nnew);
    rc |= ops_add_step(db, op_id, &seq, "finish", NULL);
    rc |= db_run(db, "UPDATE clusters SET status = 'modifying', updated_ms = ?,"
                     " shards = (SELECT count(*) FROM shards WHERE cluster = ?) WHERE name = ?", "Iss",
                 wall_ms(), name, name);
    return rc ? ops_error(e, 500, "InternalError", "cannot store the resharding steps") : 202;
}

static int plan_event(sqlite3 *db, const char *name, int want, int nold, int nnew, const struct plan_move *m, int nm)
{
    int slots = 0;
    for (int i = 0; i < nm; i++) slots += m[i].count;
    char msg[200];
    if (want < 0) snprintf(msg, sizeof(msg), "rebalancing %d shard(s): %d slot(s) in %d move(s)", nold, slots, nm);
    else snprintf(msg, sizeof(msg), "resharding from %d to %d shard(s): %d slot(s) in %d move(s)", nold, nnew, slots, nm);
    return store_event(db, name, NULL, "cluster_modifying", msg);
}

/* want < 0: rebalance. */
static int reshard_rows(struct ctl *c, sqlite3 *db, const char *name, int want, const char *op_id, struct op_error *e)
{
    int busy = ops_check_modifiable(db, name, NULL, e);
    if (busy) return busy;
    json_t *cl = db_row(db, "SELECT name, cluster_mode, replicas, node_memory_mb FROM clusters WHERE name = ?", "s", name);
    if (cl == NULL || !row_int(cl, "cluster_mode")) {
        json_decref(cl);
        return ops_error(e, 400, "InvalidParameterValue",
                         want < 0 ? "rebalancing needs cluster_mode true; this cluster has one shard"
                                  : "changing 'shards' needs cluster_mode true; this cluster has one shard");
    }
    json_t *shards = db_rows(db, "SELECT id, slots FROM shards WHERE cluster = ? ORDER BY id", "s", name);
    int nold = (int)json_array_size(shards), nnew = want < 0 ? nold : want, nm = -1, status;
    struct plan_move *moves = NULL;
    if (shards != NULL && nold > 0) nm = plan_rows(shards, nnew, &moves);
    json_decref(shards);
    if (nm < 0) status = ops_error(e, 409, "InvalidClusterState", "the shards' slots do not cover 0-16383 exactly once");
    else if (nm == 0 && nnew == nold) status = OPS_NO_CHANGE;
    else if (ops_insert(db, op_id, name, want < 0 ? "rebalance" : "reshard", NULL) != 0)
        status = ops_error(e, 500, "InternalError", "cannot store the operation");
    else status = add_steps(c, db, cl, nold, nnew, moves, nm, op_id, e);
    if (status == 202 && plan_event(db, name, want, nold, nnew, moves, nm) != 0)
        status = ops_error(e, 500, "InternalError", "cannot store the event");
    plan_free(moves, nm);
    json_decref(cl);
    return status;
}

int ops_reshard(struct ctl *c, sqlite3 *db, const char *name, int shards, char *op_id, struct op_error *e)
{
    int status = ops_plan_begin(db, op_id, e);
    return status ? status : ops_plan_end(c, db, e, reshard_rows(c, db, name, shards, op_id, e));
}

/* ---- steps ------------------------------------------------------------------- */

/* The emptied shard's nodes leave the topology (the next topology step). */
static enum step_result step_retire_shard(sqlite3 *db, struct step *s)
{
    if (ops_step_tx(db, s) != 0) return STEP_WAIT;
    json_t *sh = db_row(db, "SELECT slots FROM shards WHERE cluster = ? AND id = ?", "ss", s->cluster, s->arg);
    int empty = sh == NULL || strcmp(row_str(sh, "slots"), "-") == 0;
    json_decref(sh);
    if (!empty) {
        snprintf(s->error, sizeof(s->error), "shard %s still owns slots; it is not removed", s->arg);
        return STEP_FAIL;
    }
    if (db_run(db, "UPDATE nodes SET status = 'deleting' WHERE cluster = ? AND shard = ?", "ss", s->cluster, s->arg) != 0)
        return STEP_WAIT;
    char msg[96];
    snprintf(msg, sizeof(msg), "shard %s owns no slot any more; its nodes leave the topology", s->arg);
    store_event(db, s->cluster, NULL, "shard_retired", msg);
    return STEP_DONE;
}

static enum step_result step_forget_shard(sqlite3 *db, struct step *s)
{
    if (ops_step_tx(db, s) != 0) return STEP_WAIT;
    int rc = db_run(db, "DELETE FROM shards WHERE cluster = ? AND id = ?", "ss", s->cluster, s->arg);
    rc |= db_run(db, "UPDATE clusters SET shards = (SELECT count(*) FROM shards WHERE cluster = ?) WHERE name = ?", "ss",
                 s->cluster, s->cluster);
    return rc ? STEP_WAIT : STEP_DONE;
}

enum step_result reshard_run_step(struct ctl *c, sqlite3 *db, struct step *s)
{
    if (strcmp(s->action, "retire_shard") == 0) return step_retire_shard(db, s);
    if (strcmp(s->action, "forget_shard") == 0) return step_forget_shard(db, s);
    return slotmove_step(c, db, s);
}
