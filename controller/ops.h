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
 * code and message set (nothing is written then). */
struct op_error {
    char code[48];
    char message[256];
};
int ops_create_cluster(struct ctl *c, sqlite3 *db, const struct create_request *r, char *op_id, struct op_error *e);
int ops_delete_cluster(struct ctl *c, sqlite3 *db, const char *name, char *op_id, struct op_error *e);
int ops_scale_replicas(struct ctl *c, sqlite3 *db, const char *name, int replicas, char *op_id, struct op_error *e);
int ops_resize_memory(struct ctl *c, sqlite3 *db, const char *name, long long memory_mb, char *op_id,
                      struct op_error *e);

/* Worker: runs every step that can run now; returns how many completed. */
int ops_run(struct ctl *c, sqlite3 *db);
/* At start-up: waiting steps get a fresh deadline. */
void ops_resume(sqlite3 *db);

#endif
