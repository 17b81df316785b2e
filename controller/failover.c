/* failover.c: automatic failover, fencing and self-healing (see
 * failover.h), run by the worker thread.
 *
 * Failover: a primary is suspect when its agent reports it down (the node
 * is then `failed`) or its host has been silent for FO_SUSPECT_SILENCE_MS.
 * The controller confirms by its own path, a direct RESP PING with a short
 * deadline: a node that answers is never failed over (a dead agent alone
 * changes nothing). Confirmed, it asks every available replica for its
 * offset at that moment (INFO replication), picks the highest (ties go to
 * another zone than the lost primary's), and in one transaction swaps the
 * roles, raises the generation of every node of the shard and plans a
 * `failover` operation: put (promote), fence (re-point the others and the
 * old primary, best effort), guard (min-replicas-to-write on the new
 * primary), finish. Clients follow through the Sentinel port (sentinel.c).
 *
 * Fencing: a node whose agent reports a generation older than its row's
 * gets its spec again as soon as it can take it (agent and node up, or the
 * node not running), so an old primary that wakes up is made a replica of
 * the new one; until then its own min-replicas-to-write refuses writes.
 *
 * Self-healing: a failed replica whose host is down (silent past
 * --agent-timeout-ms) and whose node does not answer either is replaced by
 * a new replica elsewhere (ops_replace_node). A node that died on a live
 * host is relaunched in place by its agent when it gets its new spec.
 * Engines without failover (memcached, engine_caps.h) are never failed
 * over: a lost node of theirs is replaced by a new one, announced in the
 * discovery list. */
#include "failover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "engine_io.h"
#include "json.h"
#include "log.h"
#include "ops.h"
#include "resp.h"
#include "store.h"
#include "topology.h"

/* ---- the direct RESP path ---------------------------------------------------- */

struct resp_conn *node_connect(sqlite3 *db, const char *node, int timeout_ms)
{
    json_t *n = db_row(db,
                       "SELECT h.address, n.port, c.auth_token FROM nodes n JOIN hosts h ON h.id = n.host"
                       " JOIN clusters c ON c.name = n.cluster WHERE n.id = ?",
                       "s", node);
    if (n == NULL || row_int(n, "port") <= 0) { json_decref(n); return NULL; }
    struct resp_conn *conn = resp_connect(row_str(n, "address"), (int)row_int(n, "port"), timeout_ms, NULL, 0);
    const char *token = json_string_value(json_object_get(n, "auth_token"));
    if (conn && token) {
        const char *auth[] = {"AUTH", token};
        struct resp_reply *r = resp_command(conn, timeout_ms, 2, auth);
        int ok = r && r->type == RESP_STATUS;
        resp_reply_free(r);
        if (!ok) { resp_close(conn); conn = NULL; }
    }
    json_decref(n);
    return conn;
}

struct resp_reply *node_command(sqlite3 *db, const char *node, int timeout_ms, int argc, const char **argv)
{
    struct resp_conn *conn = node_connect(db, node, timeout_ms);
    if (conn == NULL) return NULL;
    struct resp_reply *r = resp_command(conn, timeout_ms, argc, argv);
    resp_close(conn);
    return r;
}

int node_answers(sqlite3 *db, const char *node, int timeout_ms)
{
    json_t *row = db_row(db, "SELECT c.engine FROM nodes n JOIN clusters c ON c.name = n.cluster WHERE n.id = ?", "s", node);
    const struct engine_caps *e = engine_by_name(row_str(row, "engine"));
    json_decref(row);
    if (e && e->wire == WIRE_TEXT) { /* no AUTH, no PING: the engine's own health check */
        struct resp_conn *conn = node_connect(db, node, timeout_ms);
        int ok = conn && engine_health_send(conn, e, timeout_ms) == 0 && engine_health_read(conn, e, mono_ms() + timeout_ms);
        resp_close(conn);
        return ok;
    }
    const char *ping[] = {"PING"};
    struct resp_reply *r = node_command(db, node, timeout_ms, 1, ping);
    int ok = r && r->type == RESP_STATUS;
    resp_reply_free(r);
    return ok;
}

int node_repl_info(sqlite3 *db, const char *node, int timeout_ms, struct repl_info *out)
{
    memset(out, 0, sizeof(*out));
    const char *info[] = {"INFO", "replication"};
    struct resp_reply *r = node_command(db, node, timeout_ms, 2, info);
    int rc = -1;
    if (r && r->type == RESP_BULK && resp_info_field(r->str, "role", out->role, sizeof(out->role)) == 0) {
        int replica = strcmp(out->role, "slave") == 0;
        if (replica) resp_info_field(r->str, "master_link_status", out->link, sizeof(out->link));
        if (resp_info_ll(r->str, replica ? "slave_repl_offset" : "master_repl_offset", &out->offset) != 0)
            resp_info_ll(r->str, "master_repl_offset", &out->offset);
        resp_info_ll(r->str, "connected_slaves", &out->connected);
        rc = 0;
    }
    resp_reply_free(r);
    return rc;
}

int node_config_set(sqlite3 *db, const char *node, int timeout_ms, const char *name, const char *value)
{
    const char *argv[] = {"CONFIG", "SET", name, value};
    struct resp_reply *r = node_command(db, node, timeout_ms, 4, argv);
    int ok = r && r->type == RESP_STATUS;
    resp_reply_free(r);
    return ok ? 0 : -1;
}

/* ---- retry spacing (worker thread only) ---------------------------------------- */

#define BACKOFF_SLOTS 64
static struct {
    char key[128];
    long long until_ms;
} backoff[BACKOFF_SLOTS];

static int backing_off(const char *key)
{
    long long now = mono_ms();
    for (int i = 0; i < BACKOFF_SLOTS; i++)
        if (strcmp(backoff[i].key, key) == 0 && backoff[i].until_ms > now) return 1;
    return 0;
}

static void back_off(const char *key, long long ms)
{
    int slot = 0;
    for (int i = 0; i < BACKOFF_SLOTS; i++) {
        if (strcmp(backoff[i].key, key) == 0) { slot = i; break; }
        if (backoff[i].until_ms < backoff[slot].until_ms) slot = i;
    }
    snprintf(backoff[slot].key, sizeof(backoff[slot].key), "%s", key);
    backoff[slot].until_ms = mono_ms() + ms;
}

/* ---- failover -------------------------------------------------------------------- */

struct candidate {
    char id[96];
    long long offset;
    int other_zone;
};

/* The available replica with the highest offset right now; ties prefer a
 * zone other than the lost primary's, then the lower id. 0 when found. */
static int choose_replica(sqlite3 *db, const json_t *primary, struct candidate *best)
{
    json_t *reps = db_rows(db,
                           "SELECT n.id, h.az FROM nodes n JOIN hosts h ON h.id = n.host WHERE n.cluster = ?"
                           " AND n.shard = ? AND n.role = 'replica' AND n.status = 'available' ORDER BY n.id",
                           "ss", row_str(primary, "cluster"), row_str(primary, "shard"));
    size_t i;
    json_t *r;
    int found = 0;
    json_array_foreach(reps, i, r) {
        struct repl_info ri;
        if (node_repl_info(db, row_str(r, "id"), FO_PROBE_MS, &ri) != 0 || strcmp(ri.role, "slave") != 0) continue;
        int other = strcmp(row_str(r, "az"), row_str(primary, "az")) != 0;
        if (!found || ri.offset > best->offset || (ri.offset == best->offset && other && !best->other_zone)) {
            snprintf(best->id, sizeof(best->id), "%s", row_str(r, "id"));
            best->offset = ri.offset;
            best->other_zone = other;
            found = 1;
        }
    }
    json_decref(reps);
    return found ? 0 : -1;
}

/* Swaps the roles, raises every generation of the shard, and plans the
 * failover operation, all in one transaction. */
static int plan_failover(struct ctl *c, sqlite3 *db, const json_t *p, const struct candidate *to, const char *cause)
{
    const char *cluster = row_str(p, "cluster"), *shard = row_str(p, "shard"), *old = row_str(p, "id");
    char op[OP_ID_MAX];
    if (ops_new_id(op) != 0 || db_begin(db) != 0) return -1;
    int seq = 1, rc = 0;
    rc |= db_run(db, "UPDATE nodes SET generation = generation + 1 WHERE cluster = ? AND shard = ?", "ss", cluster, shard);
    rc |= db_run(db, "UPDATE nodes SET role = 'primary' WHERE id = ?", "s", to->id);
    rc |= db_run(db, "UPDATE nodes SET role = 'replica', status = 'failed' WHERE id = ?", "s", old);
    rc |= db_run(db, "UPDATE clusters SET status = 'degraded', updated_ms = ? WHERE name = ? AND status = 'available'",
                 "Is", wall_ms(), cluster);
    rc |= ops_insert(db, op, cluster, "failover", shard);
    rc |= ops_add_step(db, op, &seq, "put", to->id);
    /* the shard's other nodes follow the new primary; in cluster mode every
     * node of the cluster gets the new topology */
    rc |= topology_add_steps(db, op, &seq, cluster, shard, to->id, 0);
    rc |= ops_add_step(db, op, &seq, "guard", to->id);
    rc |= ops_add_step(db, op, &seq, "finish", NULL);
    rc |= db_run(db, "INSERT INTO failovers(cluster, shard, op, cause, outcome, old_primary, new_primary, started_ms)"
                     " VALUES(?,?,?,?,'running',?,?,?)", "ssssssI", cluster, shard, op, cause, old, to->id, wall_ms());
    char msg[256];
    snprintf(msg, sizeof(msg), "primary %s lost (%s; it does not answer PING either); promoting %s (offset %lld, %s zone)",
             old, cause, to->id, to->offset, to->other_zone ? "another" : "the same");
    rc |= store_event(db, cluster, old, "failover_started", msg);
    if (rc != 0 || db_commit(db) != 0) { db_rollback(db); return -1; }
    log_msg(LOG_WARNING, "cluster %s shard %s: %s (operation %s)", cluster, shard, msg, op);
    ctl_wake_worker(c);
    return 0;
}

static void failover_impossible(sqlite3 *db, const json_t *p, const char *cause, const char *why)
{
    char key[128];
    snprintf(key, sizeof(key), "fo:%s", row_str(p, "id"));
    back_off(key, FO_RETRY_MS);
    if (db_begin(db) != 0) return;
    int rc = store_event(db, row_str(p, "cluster"), row_str(p, "id"), "failover_blocked", why);
    rc |= db_run(db, "INSERT INTO failovers(cluster, shard, cause, outcome, old_primary, started_ms)"
                     " VALUES(?,?,?,'no_candidate',?,?)",
                 "ssssI", row_str(p, "cluster"), row_str(p, "shard"), cause, row_str(p, "id"), wall_ms());
    if (rc != 0 || db_commit(db) != 0) db_rollback(db);
    log_msg(LOG_WARNING, "cluster %s: primary %s lost: %s", row_str(p, "cluster"), row_str(p, "id"), why);
}

static int failover_scan(struct ctl *c, sqlite3 *db)
{
    long long now = wall_ms();
    json_t *lost = db_rows(db,
                           "SELECT n.id, n.cluster, n.shard, n.status, h.az, ? - h.last_seen_ms AS silent_ms"
                           " FROM nodes n JOIN hosts h ON h.id = n.host JOIN clusters c ON c.name = n.cluster"
                           " WHERE n.role = 'primary' AND c.status IN ('available', 'degraded', 'modifying')"
                           " AND engine_can(c.engine, 'failover')"
                           " AND (n.status = 'failed' OR (n.status = 'available' AND ? - h.last_seen_ms > ?))"
                           " AND NOT EXISTS (SELECT 1 FROM operations o WHERE o.cluster = n.cluster"
                           "   AND (o.shard IS NULL OR o.shard = n.shard)"
                           "   AND o.kind IN ('failover', 'planned_failover') AND o.status IN ('pending', 'running'))",
                           "III", now, now, (long long)FO_SUSPECT_SILENCE_MS);
    size_t i;
    json_t *p;
    int acted = 0;
    json_array_foreach(lost, i, p) {
        char key[128];
        snprintf(key, sizeof(key), "fo:%s", row_str(p, "id"));
        if (backing_off(key)) continue;
        if (node_answers(db, row_str(p, "id"), FO_PROBE_MS)) { /* alive: no failover; look again soon */
            back_off(key, 200);
            continue;
        }
        const char *cause = row_int(p, "silent_ms") > FO_SUSPECT_SILENCE_MS ? "host_silent" : "node_down";
        struct candidate to;
        memset(&to, 0, sizeof(to));
        if (choose_replica(db, p, &to) != 0) {
            failover_impossible(db, p, cause,
                                "no available replica answers; the shard waits for its primary or a new replica");
            continue;
        }
        if (plan_failover(c, db, p, &to, cause) == 0) acted++;
        else back_off(key, 200);
    }
    json_decref(lost);
    return acted;
}

/* ---- fencing: newer specs reach nodes that missed them -------------------------- */

static int resend_stale_specs(struct ctl *c, sqlite3 *db)
{
    json_t *stale = db_rows(db,
                            "SELECT n.id, n.cluster FROM nodes n JOIN hosts h ON h.id = n.host"
                            " JOIN clusters c ON c.name = n.cluster"
                            " WHERE n.obs_generation IS NOT NULL AND n.obs_generation < n.generation"
                            " AND n.status IN ('available', 'failed') AND ? - h.last_seen_ms <= ?"
                            /* a lost node of an engine without failover is replaced, never relaunched */
                            " AND (n.status = 'available' OR engine_can(c.engine, 'failover'))"
                            " AND (n.obs_health = 'up' OR coalesce(n.obs_pid, 0) = 0)",
                            "II", wall_ms(), c->cfg.agent_timeout_ms);
    size_t i;
    json_t *n;
    int acted = 0;
    json_array_foreach(stale, i, n) {
        char key[128], msg[256];
        snprintf(key, sizeof(key), "spec:%s", row_str(n, "id"));
        if (backing_off(key)) continue;
        back_off(key, 500);
        long status = ops_push_spec(c, db, row_str(n, "id"), msg, sizeof(msg));
        if (status == 200 || status == 201) {
            store_event(db, row_str(n, "cluster"), row_str(n, "id"), "node_fenced",
                        "the node took its newer spec (a returning node follows the current primary)");
            log_msg(LOG_NOTICE, "node %s: newer spec applied: %s", row_str(n, "id"), msg);
            acted++;
        }
    }
    json_decref(stale);
    return acted;
}

/* ---- self-healing ------------------------------------------------------------------ */

/* A lost node (row: id, cluster) cannot be replaced yet; retried later. */
static void replacement_blocked(sqlite3 *db, const json_t *n, const char *why)
{
    log_msg(LOG_WARNING, "cluster %s: cannot replace %s yet: %s", row_str(n, "cluster"), row_str(n, "id"), why);
    if (db_begin(db) != 0) return;
    if (store_event(db, row_str(n, "cluster"), row_str(n, "id"), "replacement_blocked", why) != 0 || db_commit(db) != 0)
        db_rollback(db);
}

/* Replaces each lost node (rows: id, cluster, ordered by cluster) that does
 * not answer its health check either, one per cluster per pass: the
 * replacement's operation holds the cluster until it ends. A node that
 * answers is probed again after recheck_ms; one that cannot be replaced is
 * retried after retry_ms. Releases lost. */
static int replace_each(struct ctl *c, sqlite3 *db, json_t *lost, long long recheck_ms, long long retry_ms)
{
    size_t i;
    json_t *n;
    int acted = 0;
    char done_cluster[CTL_NAME_MAX + 1] = "";
    json_array_foreach(lost, i, n) {
        char key[128], op[OP_ID_MAX];
        if (strcmp(done_cluster, row_str(n, "cluster")) == 0) continue;
        snprintf(key, sizeof(key), "heal:%s", row_str(n, "id"));
        if (backing_off(key)) continue;
        if (node_answers(db, row_str(n, "id"), FO_PROBE_MS)) { /* serving: keep it */
            back_off(key, recheck_ms);
            continue;
        }
        struct op_error e;
        if (ops_replace_node(c, db, row_str(n, "id"), op, &e) == 202) {
            log_msg(LOG_NOTICE, "cluster %s: replacing lost node %s (operation %s)", row_str(n, "cluster"),
                    row_str(n, "id"), op);
            snprintf(done_cluster, sizeof(done_cluster), "%s", row_str(n, "cluster"));
            acted++;
            continue;
        }
        back_off(key, retry_ms);
        replacement_blocked(db, n, e.message);
    }
    json_decref(lost);
    return acted;
}

/* Engines with failover: a failed replica whose host fell silent. */
static int replace_lost_nodes(struct ctl *c, sqlite3 *db)
{
    json_t *lost = db_rows(db,
                           "SELECT n.id, n.cluster FROM nodes n JOIN hosts h ON h.id = n.host"
                           " JOIN clusters c ON c.name = n.cluster"
                           " WHERE n.status = 'failed' AND n.role = 'replica' AND ? - h.last_seen_ms > ?"
                           " AND c.status IN ('available', 'degraded', 'modifying')"
                           " AND NOT EXISTS (SELECT 1 FROM operations o WHERE o.cluster = n.cluster"
                           "   AND (o.shard IS NULL OR o.shard = n.shard) AND o.status IN ('pending', 'running'))"
                           " ORDER BY n.cluster, n.id",
                           "II", wall_ms(), c->cfg.agent_timeout_ms);
    return replace_each(c, db, lost, 1000, FO_RETRY_MS * 5);
}

/* Engines without failover (memcached): a node whose process is gone
 * (failed) or whose host fell silent is replaced by a new node on a host
 * that is up; clients learn it from the discovery list. */
static int replace_lost_independent_nodes(struct ctl *c, sqlite3 *db)
{
    json_t *lost = db_rows(db,
                           "SELECT n.id, n.cluster FROM nodes n JOIN hosts h ON h.id = n.host"
                           " JOIN clusters c ON c.name = n.cluster"
                           " WHERE NOT engine_can(c.engine, 'failover') AND c.status IN ('available', 'degraded')"
                           " AND (n.status = 'failed' OR (n.status = 'available' AND ? - h.last_seen_ms > ?))"
                           " AND NOT EXISTS (SELECT 1 FROM operations o WHERE o.cluster = n.cluster"
                           "   AND o.status IN ('pending', 'running'))"
                           " ORDER BY n.cluster, n.id",
                           "II", wall_ms(), (long long)FO_SUSPECT_SILENCE_MS);
    return replace_each(c, db, lost, 200, FO_RETRY_MS);
}

/* Whether any node is failed or any host silent past FO_SUSPECT_SILENCE_MS
 * (the shortest silence the scans above act on; replacing a replica also
 * needs it failed): every node the failover and self-healing scans pick
 * satisfies one of the two. With a healthy fleet neither holds, and this
 * reads the index of statuses and the few hosts instead of the scans'
 * joins over every node, 20 times a second. 1 when unsure (an error). */
static int anything_lost(sqlite3 *db)
{
    return db_int(db, 1,
                  "SELECT EXISTS (SELECT 1 FROM nodes WHERE status = 'failed')"
                  " OR EXISTS (SELECT 1 FROM hosts WHERE ? - last_seen_ms > ?)",
                  "II", wall_ms(), (long long)FO_SUSPECT_SILENCE_MS) != 0;
}

/* Whether any node runs an older spec than its row's (fencing's candidates),
 * from the partial index of just those nodes. 1 when unsure. */
static int any_spec_behind(sqlite3 *db)
{
    return db_int(db, 1, "SELECT EXISTS (SELECT 1 FROM nodes WHERE obs_generation < generation)", "") != 0;
}

int failover_pass(struct ctl *c, sqlite3 *db)
{
    /* a failover raises generations and fails the old primary: fencing is
     * asked after it, and the replacements need no new answer (they pick
     * failed nodes, and a pass that failed one had lost set) */
    int lost = anything_lost(db), acted = 0;
    if (lost) acted += failover_scan(c, db);
    if (any_spec_behind(db)) acted += resend_stale_specs(c, db);
    if (lost) acted += replace_lost_nodes(c, db);
    if (lost) acted += replace_lost_independent_nodes(c, db);
    return acted;
}
