/* reconcile.c: the worker thread. It owns its own database connection and
 * drives every active operation's steps (ops.c), which converge the agents
 * on the desired state by sending declarative specs, and runs the failover,
 * fencing and self-healing pass (failover.c) every FAILOVER_PASS_MS, and at
 * once when a heartbeat reports a primary lost. It sleeps a tick between
 * passes, or until the API queues work. */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "ctl.h"
#include "failover.h"
#include "log.h"
#include "ops.h"
#include "resp.h"
#include "store.h"

#define FAILOVER_PASS_MS 50


void ctl_wake_worker(struct ctl *c)
{
    pthread_mutex_lock(&c->lock);
    c->work_queued = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

void ctl_wake_failover(struct ctl *c)
{
    pthread_mutex_lock(&c->lock);
    c->work_queued = c->failover_due = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

/* Whether a failover pass was asked for since the last one (and clears it). */
static int failover_due(struct ctl *c)
{
    pthread_mutex_lock(&c->lock);
    int due = c->failover_due;
    c->failover_due = 0;
    pthread_mutex_unlock(&c->lock);
    return due;
}

/* Waits up to ms, or until work is queued or the controller stops. */
static void idle(struct ctl *c, long long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&c->lock);
    while (!c->work_queued && !c->stopping) {
        int rc = pthread_cond_timedwait(&c->wake, &c->lock, &ts);
        if (rc == ETIMEDOUT || rc != 0) break;
    }
    c->work_queued = 0;
    pthread_mutex_unlock(&c->lock);
}

/* A host silent for --agent-timeout-ms cannot vouch for its nodes: they
 * are failed (and their clusters degraded) until a heartbeat shows them up
 * again (agents.c moves them back). */
static void fail_nodes_of_silent_hosts(struct ctl *c, sqlite3 *db)
{
    json_t *lost = db_rows(db,
                           "SELECT n.id, n.cluster, n.host FROM nodes n JOIN hosts h ON h.id = n.host"
                           " WHERE n.status = 'available' AND ? - h.last_seen_ms > ?",
                           "II", wall_ms(), c->cfg.agent_timeout_ms);
    if (json_array_size(lost) == 0 || db_begin(db) != 0) { json_decref(lost); return; }
    size_t i;
    json_t *n;
    json_array_foreach(lost, i, n) {
        char msg[160];
        snprintf(msg, sizeof(msg), "host %s has sent no heartbeat for %lld ms", row_str(n, "host"), c->cfg.agent_timeout_ms);
        db_run(db, "UPDATE nodes SET status = 'failed' WHERE id = ?", "s", row_str(n, "id"));
        store_event(db, row_str(n, "cluster"), row_str(n, "id"), "node_failed", msg);
        if (db_int(db, 0, "SELECT count(*) FROM clusters WHERE name = ? AND status = 'available'", "s", row_str(n, "cluster"))) {
            db_run(db, "UPDATE clusters SET status = 'degraded', updated_ms = ? WHERE name = ?", "Is", wall_ms(),
                   row_str(n, "cluster"));
            store_event(db, row_str(n, "cluster"), NULL, "cluster_degraded", "a node has failed");
        }
        log_msg(LOG_WARNING, "node %s failed: %s", row_str(n, "id"), msg);
    }
    if (db_commit(db) != 0) db_rollback(db);
    json_decref(lost);
}

/* A node given up on while its host was unreachable (ops.c) may still run
 * there: an old primary that clients could reach directly. Once the host
 * sends heartbeats again, its agent is told to stop the node; a failed call
 * is tried again after a second. */
static void stop_abandoned_nodes(struct ctl *c, sqlite3 *db)
{
    long long now = wall_ms();
    json_t *rows = db_rows(db,
                           "SELECT a.id, a.cluster, h.agent_url FROM abandoned_nodes a JOIN hosts h ON h.id = a.host"
                           " WHERE ? - h.last_seen_ms <= ? AND ? - a.tried_ms >= 1000"
                           " AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = a.id)",
                           "III", now, c->cfg.agent_timeout_ms, now);
    size_t i;
    json_t *a;
    json_array_foreach(rows, i, a) {
        const char *id = row_str(a, "id"), *cluster = row_str(a, "cluster");
        char path[160];
        snprintf(path, sizeof(path), "/v1/nodes/%s", id);
        long status = 0;
        json_t *reply = NULL;
        agent_call(c, row_str(a, "agent_url"), "DELETE", path, NULL, &status, &reply);
        json_decref(reply);
        if (status != 200 && status != 404) {
            db_run(db, "UPDATE abandoned_nodes SET tried_ms = ? WHERE id = ?", "Is", now, id);
            continue;
        }
        if (db_begin(db) != 0) continue;
        db_run(db, "DELETE FROM abandoned_nodes WHERE id = ?", "s", id);
        if (status == 200)
            store_event(db, *cluster ? cluster : NULL, id, "abandoned_node_stopped",
                        "its host is back; the node it no longer needs was stopped");
        if (db_commit(db) != 0) db_rollback(db);
        else if (status == 200) log_msg(LOG_NOTICE, "stopped abandoned node %s", id);
    }
    json_decref(rows);
}

/* Keeps the history bounded: the newest events, idempotency keys for a day. */
static void prune(sqlite3 *db)
{
    db_run(db, "DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?", "d", CTL_EVENTS_KEPT);
    db_run(db, "DELETE FROM idempotency WHERE created_ms < ?", "I", wall_ms() - CTL_IDEMPOTENCY_KEEP_MS);
}

void *worker_thread(void *arg)
{
    struct ctl *c = arg;
    char err[256];
    sqlite3 *db = store_open(c->cfg.db_path, err, sizeof(err));
    if (db == NULL) {
        log_msg(LOG_WARNING, "worker: %s", err);
        return NULL;
    }
    ops_resume(db);
    long long next_liveness = 0, next_prune = 0, next_failover = 0;
    while (!c->stopping) {
        int progressed = ops_run(c, db);
        long long now = mono_ms();
        if (failover_due(c) || now >= next_failover) {
            progressed += failover_pass(c, db);
            next_failover = now + FAILOVER_PASS_MS;
        }
        if (now >= next_liveness) {
            fail_nodes_of_silent_hosts(c, db);
            stop_abandoned_nodes(c, db);
            next_liveness = now + 250;
        }
        if (now >= next_prune) {
            prune(db);
            next_prune = now + 60000;
        }
        /* a step that completed may have unblocked the next one at once */
        if (progressed == 0) idle(c, CTL_WORKER_TICK_MS);
    }
    store_close(db);
    return NULL;
}
