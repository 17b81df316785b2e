/* metrics.c: GET /metrics in the Prometheus text format (0.0.4). State
 * (clusters, nodes, hosts, operations) is counted from the database at
 * scrape time, so it survives restarts; request and agent-call counters
 * are in memory since start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textbuf.h"
#include "ctl.h"
#include "store.h"

static const double latency_bounds[CTL_LATENCY_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                           0.05,  0.1,    0.25,  0.5,  1.0};

void metrics_count_request(struct ctl *c, int status, double seconds)
{
    pthread_mutex_lock(&c->lock);
    int class = status / 100;
    if (class >= 1 && class <= 5) c->count.api_requests[class]++;
    for (int i = 0; i < CTL_LATENCY_BUCKETS; i++)
        if (seconds <= latency_bounds[i]) { c->count.latency_buckets[i]++; break; }
    c->count.latency_count++;
    c->count.latency_sum_s += seconds;
    pthread_mutex_unlock(&c->lock);
}

void metrics_count_agent_call(struct ctl *c, int failed)
{
    pthread_mutex_lock(&c->lock);
    c->count.agent_calls++;
    if (failed) c->count.agent_call_failures++;
    pthread_mutex_unlock(&c->lock);
}

/* One gauge family with a `status` label, every listed status present. */
static void by_status(struct textbuf *o, sqlite3 *db, const char *name, const char *help, const char *sql,
                      const char *const *statuses)
{
    textbuf_printf(o, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    json_t *rows = db_rows(db, sql, "");
    for (const char *const *s = statuses; *s; s++) {
        long long n = 0;
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r) if (strcmp(row_str(r, "status"), *s) == 0) n = row_int(r, "n");
        textbuf_printf(o, "%s{status=\"%s\"} %lld\n", name, *s, n);
    }
    json_decref(rows);
}

/* A gauge with one series per row of sql: the columns named in labels
 * (NULL-ended) as its labels, the column n as its value (1 without one). */
static void rows_metric(struct textbuf *o, sqlite3 *db, const char *name, const char *help, const char *sql,
                        const char *const *labels)
{
    textbuf_printf(o, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    json_t *rows = db_rows(db, sql, "");
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        textbuf_printf(o, "%s{", name);
        for (int l = 0; labels[l]; l++) textbuf_printf(o, "%s%s=\"%s\"", l ? "," : "", labels[l], row_str(r, labels[l]));
        textbuf_printf(o, "} %lld\n", json_object_get(r, "n") ? row_int(r, "n") : 1);
    }
    json_decref(rows);
}

static void state_metrics(struct textbuf *o, struct ctl *c, sqlite3 *db)
{
    static const char *const cluster_st[] = {"creating", "available", "modifying", "degraded", "deleting", "create-failed", NULL};
    static const char *const node_st[] = {"creating", "available", "failed", "deleting", NULL};
    by_status(o, db, "cachefleet_clusters", "Clusters by status.",
              "SELECT status, count(*) AS n FROM clusters GROUP BY status", cluster_st);
    by_status(o, db, "cachefleet_nodes", "Cache nodes by status.", "SELECT status, count(*) AS n FROM nodes GROUP BY status",
              node_st);
    json_t *h = db_row(db, "SELECT sum(? - last_seen_ms <= ?) AS up, sum(? - last_seen_ms > ?) AS down FROM hosts", "IIII",
                       wall_ms(), c->cfg.agent_timeout_ms, wall_ms(), c->cfg.agent_timeout_ms);
    textbuf_printf(o, "# HELP cachefleet_hosts Registered hosts (agents) by status.\n# TYPE cachefleet_hosts gauge\n");
    textbuf_printf(o, "cachefleet_hosts{status=\"up\"} %lld\ncachefleet_hosts{status=\"down\"} %lld\n", row_int(h, "up"),
         row_int(h, "down"));
    json_decref(h);
    static const char *const cluster_labels[] = {"cluster", "engine", "status", NULL};
    static const char *const op_labels[] = {"kind", "status", NULL};
    /* one series per cluster: alerts name the cluster */
    rows_metric(o, db, "cachefleet_cluster_status", "A cluster's status (1 for the one it has).",
                "SELECT name AS cluster, engine, status FROM clusters ORDER BY name", cluster_labels);
    rows_metric(o, db, "cachefleet_operations", "Operations by kind and status (finished ones are results).",
                "SELECT kind, status, count(*) AS n FROM operations GROUP BY kind, status ORDER BY kind, status",
                op_labels);
}

static void counter_metrics(struct textbuf *o, struct ctl *c)
{
    struct ctl_counters k;
    pthread_mutex_lock(&c->lock);
    k = c->count;
    pthread_mutex_unlock(&c->lock);
    textbuf_printf(o, "# HELP cachefleet_api_requests_total API requests by status class.\n# TYPE cachefleet_api_requests_total counter\n");
    for (int i = 1; i <= 5; i++) textbuf_printf(o, "cachefleet_api_requests_total{code=\"%dxx\"} %llu\n", i, k.api_requests[i]);
    textbuf_printf(o, "# HELP cachefleet_api_request_duration_seconds API request latency.\n"
            "# TYPE cachefleet_api_request_duration_seconds histogram\n");
    unsigned long long cumulative = 0;
    for (int i = 0; i < CTL_LATENCY_BUCKETS; i++) {
        cumulative += k.latency_buckets[i];
        textbuf_printf(o, "cachefleet_api_request_duration_seconds_bucket{le=\"%g\"} %llu\n", latency_bounds[i], cumulative);
    }
    textbuf_printf(o, "cachefleet_api_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", k.latency_count);
    textbuf_printf(o, "cachefleet_api_request_duration_seconds_sum %.6f\n", k.latency_sum_s);
    textbuf_printf(o, "cachefleet_api_request_duration_seconds_count %llu\n", k.latency_count);
    textbuf_printf(o, "# HELP cachefleet_agent_calls_total Calls from the controller to agents.\n# TYPE cachefleet_agent_calls_total counter\n");
    textbuf_printf(o, "cachefleet_agent_calls_total %llu\n", k.agent_calls);
    textbuf_printf(o, "# HELP cachefleet_agent_call_failures_total Agent calls with no answer or a 5xx.\n"
            "# TYPE cachefleet_agent_call_failures_total counter\n");
    textbuf_printf(o, "cachefleet_agent_call_failures_total %llu\n", k.agent_call_failures);
    textbuf_printf(o, "# HELP cachefleet_agent_heartbeats_total Heartbeats received.\n# TYPE cachefleet_agent_heartbeats_total counter\n");
    textbuf_printf(o, "cachefleet_agent_heartbeats_total %llu\n", k.heartbeats);
}

/* Finished failovers by cluster, cause and outcome, the ones in progress,
 * and the time from detection to the new primary taking its spec (the
 * failovers table, so it survives a restart). A running failover is left out
 * of the counter: its row changes outcome when it ends, and a series that
 * went down would read as a counter reset. */
static void failover_counts(struct textbuf *o, sqlite3 *db)
{
    textbuf_printf(o, "# HELP cachefleet_failovers_total Finished failovers by cluster, cause (node_down, host_silent,"
                      " planned) and outcome (succeeded, failed, no_candidate).\n"
                      "# TYPE cachefleet_failovers_total counter\n");
    json_t *rows = db_rows(db, "SELECT cluster, cause, outcome, count(*) AS n FROM failovers WHERE outcome != 'running'"
                               " GROUP BY cluster, cause, outcome ORDER BY cluster, cause, outcome", "");
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
        textbuf_printf(o, "cachefleet_failovers_total{cluster=\"%s\",cause=\"%s\",outcome=\"%s\"} %lld\n",
                       row_str(r, "cluster"), row_str(r, "cause"), row_str(r, "outcome"), row_int(r, "n"));
    json_decref(rows);
    textbuf_printf(o, "# HELP cachefleet_failovers_in_progress Failovers under way, per cluster that has had one.\n"
                      "# TYPE cachefleet_failovers_in_progress gauge\n");
    rows = db_rows(db, "SELECT cluster, sum(outcome = 'running') AS n FROM failovers GROUP BY cluster ORDER BY cluster", "");
    json_array_foreach(rows, i, r)
        textbuf_printf(o, "cachefleet_failovers_in_progress{cluster=\"%s\"} %lld\n", row_str(r, "cluster"),
                       row_int(r, "n"));
    json_decref(rows);
}

static void failover_metrics(struct textbuf *o, sqlite3 *db)
{
    failover_counts(o, db);
    textbuf_printf(o, "# HELP cachefleet_failover_recovery_seconds Detection to the new primary taking writes, per cluster.\n"
            "# TYPE cachefleet_failover_recovery_seconds summary\n");
    json_t *rows = db_rows(db, "SELECT cluster, count(*) AS n, sum(recovered_ms - started_ms) AS ms FROM failovers"
                               " WHERE recovered_ms IS NOT NULL GROUP BY cluster ORDER BY cluster", "");
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        textbuf_printf(o, "cachefleet_failover_recovery_seconds_sum{cluster=\"%s\"} %.3f\n", row_str(r, "cluster"),
             (double)row_int(r, "ms") / 1000.0);
        textbuf_printf(o, "cachefleet_failover_recovery_seconds_count{cluster=\"%s\"} %lld\n", row_str(r, "cluster"), row_int(r, "n"));
    }
    json_decref(rows);
}

/* One family with a `cluster` label, from a query of (cluster, v). */
static void per_cluster(struct textbuf *o, sqlite3 *db, const char *name, const char *type, const char *help,
                        const char *sql)
{
    textbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    json_t *rows = db_rows(db, sql, "");
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
        textbuf_printf(o, "%s{cluster=\"%s\"} %lld\n", name, row_str(r, "cluster"), row_int(r, "v"));
    json_decref(rows);
}

/* Online resharding (slot_moves, so it survives a restart). */
static void reshard_metrics(struct textbuf *o, sqlite3 *db)
{
    per_cluster(o, db, "cachefleet_slots_moved_total", "counter", "Hash slots handed off to another shard.",
                "SELECT cluster, sum(slot_count) AS v FROM slot_moves WHERE phase = 'done' GROUP BY cluster ORDER BY cluster");
    per_cluster(o, db, "cachefleet_slot_move_keys_total", "counter", "Keys copied by finished slot moves.",
                "SELECT cluster, sum(keys) AS v FROM slot_moves WHERE phase = 'done' GROUP BY cluster ORDER BY cluster");
    per_cluster(o, db, "cachefleet_slot_moves_in_progress", "gauge", "Slot moves importing now.",
                "SELECT cluster, sum(phase != 'done' AND phase != 'pending') AS v FROM slot_moves GROUP BY cluster"
                " ORDER BY cluster");
    per_cluster(o, db, "cachefleet_slot_move_bytes_per_second", "gauge", "Import rate of the moves under way.",
                "SELECT cluster, sum(CASE WHEN phase = 'importing' THEN bytes_per_s ELSE 0 END) AS v FROM slot_moves"
                " GROUP BY cluster ORDER BY cluster");
}

/* What the agents observe of the nodes (INFO or memcached's stats), summed
 * per cluster, and the discovery list version of engines that have one. */
static void observed_metrics(struct textbuf *o, sqlite3 *db)
{
    per_cluster(o, db, "cachefleet_cluster_memory_used_bytes", "gauge",
                "Memory the cluster's nodes use, as their agents last reported.",
                "SELECT cluster, sum(obs_used_memory) AS v FROM nodes WHERE obs_used_memory IS NOT NULL"
                " GROUP BY cluster ORDER BY cluster");
    per_cluster(o, db, "cachefleet_cluster_ops_per_second", "gauge",
                "Operations per second over the cluster's nodes, as their agents last reported.",
                "SELECT cluster, sum(obs_ops_per_sec) AS v FROM nodes WHERE obs_ops_per_sec IS NOT NULL"
                " GROUP BY cluster ORDER BY cluster");
    per_cluster(o, db, "cachefleet_discovery_version", "gauge",
                "The Auto Discovery list version the cluster's nodes were last sent (memcached).",
                "SELECT name AS cluster, discovery_version AS v FROM clusters WHERE engine_can(engine, 'discovery')"
                " ORDER BY name");
}

char *metrics_render(struct ctl *c, sqlite3 *db)
{
    struct textbuf o;
    if (textbuf_init(&o, 8192) != 0) return NULL;
    state_metrics(&o, c, db);
    failover_metrics(&o, db);
    reshard_metrics(&o, db);
    observed_metrics(&o, db);
    counter_metrics(&o, c);
    return textbuf_finish(&o);
}
