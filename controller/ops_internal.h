/* ops_internal.h: what ops.c shares with reshard.c, which plans and runs
 * the resharding steps: the step being run, its transaction, and the
 * planning building blocks. Not for the rest of the controller. */
#ifndef CF_CTL_OPS_INTERNAL_H
#define CF_CTL_OPS_INTERNAL_H

#include <jansson.h>
#include <sqlite3.h>

#include "ops.h"
#include "placement.h"

struct ctl;

enum step_result { STEP_DONE, STEP_WAIT, STEP_FAIL };

struct step {
    const char *op, *cluster, *kind;
    long long seq;
    const char *action, *node, *arg;
    long long started_ms;      /* a waiting step fails CTL_STEP_DEADLINE_MS after this */
    int in_tx;                 /* the step's write transaction is open */
    char error[256];
};

/* Steps talk to agents and nodes first and write afterwards, so no write
 * lock is held across network I/O; this opens the step's one transaction
 * (committed with the step's "done" mark). 0 or -1. */
int ops_step_tx(sqlite3 *db, struct step *s);

/* Fills e and returns status. */
int ops_error(struct op_error *e, int status, const char *code, const char *message);
/* 0 when the cluster exists and no other operation blocks a change of the
 * whole cluster (shard NULL) or of one shard; else an error status. */
int ops_check_modifiable(sqlite3 *db, const char *name, const char *shard, struct op_error *e);
/* Every planner runs in one transaction, so all of it is stored or none:
 * ops_plan_begin clears e, draws a new operation id into op_id and begins
 * (0, else an error status); ops_plan_end takes the planner's status,
 * commits and wakes the worker on 202, else rolls back. */
int ops_plan_begin(sqlite3 *db, char *op_id, struct op_error *e);
int ops_plan_end(struct ctl *c, sqlite3 *db, struct op_error *e, int status);
/* A guard step for the primary of every shard. */
int ops_add_guard_steps(sqlite3 *db, const char *op_id, int *seq, const char *cluster);
/* A step with an argument other than a node (a shard id). */
int ops_add_step_arg(sqlite3 *db, const char *op_id, int *seq, const char *action, const char *arg);

/* New shards first..first+shards-1 of a cluster (ids "%04d" of index + 1),
 * each of 1 primary and `replicas` replicas: placed together (nothing is
 * stored when one does not fit), then their rows and launch steps. With
 * spread their slots are their even share of first+shards shards; without,
 * they start with none ("-"). */
struct new_shards {
    const char *name;
    int first, shards, replicas, spread;
    long long node_memory_mb;
};
int ops_plan_new_shards(struct ctl *c, sqlite3 *db, const struct new_shards *r, const char *op_id, int *seq,
                        struct op_error *e);

/* The placement snapshot of every host for new nodes of (cluster, shard):
 * free memory, primaries, and the nodes of that shard each runs (a node
 * being deleted does not count). Returns how many hosts were read. */
size_t ops_load_hosts(struct ctl *c, sqlite3 *db, const char *cluster, const char *shard, struct place_host *h,
                      size_t max);
/* The next node id of a cluster (NAME-SHARD-NNN), and a new node's row. */
int ops_next_node_id(sqlite3 *db, const char *cluster, const char *shard, char *out, size_t len);
int ops_insert_node(sqlite3 *db, const char *id, const char *cluster, const char *shard, const char *role,
                    const char *host, long long memory_mb);
/* Marks `count` nodes of a shard for removal (of role, NULL: any; failed
 * ones first, then the newest) and appends their ids to gone. */
int ops_pick_removals(sqlite3 *db, const char *name, const char *shard, const char *role, long long count, json_t *gone);
/* A placement refusal as an op_error (422 InsufficientHosts, 507 InsufficientCapacity). */
int ops_place_error(struct op_error *e, enum place_result r, const char *msg);

/* nodeplan.c: clusters of independent nodes (an engine without shards,
 * memcached): create, scale to N nodes, replace a lost node, resize. Each runs in
 * the caller's transaction and returns 202 or an error status. */
int nodeplan_create(struct ctl *c, sqlite3 *db, const struct create_request *r, const char *op_id, int *seq,
                    struct op_error *e);
int nodeplan_scale(struct ctl *c, sqlite3 *db, const char *name, int nodes, const char *op_id, struct op_error *e);
int nodeplan_replace(struct ctl *c, sqlite3 *db, const char *node, const char *op_id, struct op_error *e);

/* reshard.c: the resharding steps (move, retire_shard, forget_shard). */
enum step_result reshard_run_step(struct ctl *c, sqlite3 *db, struct step *s);
/* slotmove.c: the move step. */
enum step_result slotmove_step(struct ctl *c, sqlite3 *db, struct step *s);
/* A failed operation's move step: the target stops importing (it would
 * stream the source's writes for ever). Best effort. */
void slotmove_abandon(sqlite3 *db, struct step *s);
/* At start-up: a move that was importing is cancelled and started again
 * (unless its hand-off already happened). */
void reshard_resume(sqlite3 *db);

#endif
