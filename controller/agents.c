/* agents.c: the agent link, both directions. Inbound: registration and
 * heartbeats fill the hosts table and the nodes' observed columns, and turn
 * what agents see into node and cluster status (available -> failed ->
 * available; degraded clusters). Outbound: agent_call(), the one way the
 * controller talks to an agent (JSON over libcurl, bounded by a timeout,
 * counted in the metrics). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "nodestats.h"
#include "httpc.h"
#include "json.h"
#include "log.h"
#include "store.h"

#define AGENT_FIELD_MAX 256
#define HELLO_REQUIRED "'az', 'address', 'agent_url' (http://...) and 'capacity' are required"

static int valid_host_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '-') return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

/* A string member that exists and is short enough; else NULL. */
static const char *field(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && strlen(s) <= AGENT_FIELD_MAX ? s : NULL;
}

/* What a registration or heartbeat must carry about its host. */
static int hello_valid(const json_t *hello)
{
    const char *url = field(hello, "agent_url");
    return field(hello, "az") != NULL && field(hello, "address") != NULL && url != NULL &&
           strncmp(url, "http://", 7) == 0 && json_is_object(json_object_get(hello, "capacity"));
}

/* hello must be hello_valid. */
static int upsert_host(sqlite3 *db, const json_t *hello, const char *host_id)
{
    json_t *cap = json_object_get(hello, "capacity");
    long long now = wall_ms();
    return db_run(db,
                  "INSERT INTO hosts(id, az, address, agent_url, memory_mb, memory_used_mb, port_first, port_last,"
                  " registered_ms, last_seen_ms) VALUES(?,?,?,?,?,?,?,?,?,?)"
                  " ON CONFLICT(id) DO UPDATE SET az = excluded.az, address = excluded.address,"
                  " agent_url = excluded.agent_url, memory_mb = excluded.memory_mb,"
                  " memory_used_mb = excluded.memory_used_mb, port_first = excluded.port_first,"
                  " port_last = excluded.port_last, last_seen_ms = excluded.last_seen_ms",
                  "ssssIIIIII", host_id, field(hello, "az"), field(hello, "address"), field(hello, "agent_url"),
                  (long long)json_integer_value(json_object_get(cap, "memory_mb")),
                  (long long)json_integer_value(json_object_get(cap, "memory_used_mb")),
                  (long long)json_integer_value(json_object_get(cap, "port_first")),
                  (long long)json_integer_value(json_object_get(cap, "port_last")), now, now);
}

int agents_register(sqlite3 *db, const json_t *hello, char *err, size_t errlen)
{
    const char *id = field(hello, "host_id");
    if (id == NULL || !valid_host_id(id)) {
        snprintf(err, errlen, "'host_id' is missing or not allowed");
        return 400;
    }
    if (!hello_valid(hello)) {
        snprintf(err, errlen, "%s", HELLO_REQUIRED);
        return 400;
    }
    int known = db_int(db, 0, "SELECT count(*) FROM hosts WHERE id = ?", "s", id) > 0;
    snprintf(err, errlen, "the database is busy; register again");
    if (db_begin(db) != 0) return 503;
    int rc = upsert_host(db, hello, id);
    if (rc == 0) rc = store_event(db, NULL, NULL, known ? "host_reregistered" : "host_registered", id);
    if (rc != 0 || db_commit(db) != 0) {
        db_rollback(db);
        return 503;
    }
    log_msg(LOG_NOTICE, "agent %s %s (az %s, %s)", id, known ? "registered again" : "registered", field(hello, "az"),
            field(hello, "agent_url"));
    return 200;
}

/* The cluster's status after one of its nodes changed health. */
static void recheck_cluster(sqlite3 *db, const char *cluster)
{
    long long failed = db_int(db, 0, "SELECT count(*) FROM nodes WHERE cluster = ? AND status = 'failed'", "s", cluster);
    const char *to = failed ? "degraded" : "available", *from = failed ? "available" : "degraded";
    if (db_int(db, 0, "SELECT count(*) FROM clusters WHERE name = ? AND status = ?", "ss", cluster, from) == 0) return;
    db_run(db, "UPDATE clusters SET status = ?, updated_ms = ? WHERE name = ?", "sIs", to, wall_ms(), cluster);
    store_event(db, cluster, NULL, failed ? "cluster_degraded" : "cluster_recovered",
                failed ? "a node has failed" : "every node is available again");
}

/* Records one observed node; moves available <-> failed on health. */
static int observe_node(struct ctl *c, sqlite3 *db, const char *host, const json_t *o)
{
    const char *id = field(o, "id");
    if (id == NULL) return 0;
    json_t *row = db_row(db, "SELECT cluster, status, role FROM nodes WHERE id = ? AND host = ?", "ss", id, host);
    if (row == NULL) return 0; /* not ours (or already forgotten) */
    nodestats_record(c->stats, id, o, wall_ms());
    const char *health = field(o, "health");
    const char *link = field(o, "master_link_status");
    json_t *pid = json_object_get(o, "pid");
    json_t *epoch = json_object_get(o, "topology_epoch");
    /* used memory, operations per second and the discovery version come
     * from INFO or memcached's stats; -1 (not known) is stored as NULL */
    db_run(db,
           "UPDATE nodes SET obs_health = ?, obs_role = ?, obs_link = ?, obs_offset = ?, obs_pid = ?, obs_ms = ?,"
           " obs_topology_epoch = ?, obs_used_memory = NULLIF(?, -1), obs_ops_per_sec = NULLIF(?, -1),"
           " obs_discovery_version = NULLIF(?, -1), obs_generation = COALESCE(NULLIF(?, -1), obs_generation)"
           " WHERE id = ?",
           "zzzIIIIIIIIs", health, field(o, "observed_role"), link,
           (long long)json_integer_value(json_object_get(o, "repl_offset")),
           (long long)(json_is_integer(pid) ? json_integer_value(pid) : 0), wall_ms(),
           (long long)(json_is_integer(epoch) ? json_integer_value(epoch) : 0), json_count(o, "used_memory"),
           json_count(o, "ops_per_sec"), json_count(o, "discovery_version"), json_count(o, "generation"), id);
    const char *status = row_str(row, "status");
    int up = health && strcmp(health, "up") == 0;
    int replica_ok = strcmp(row_str(row, "role"), "primary") == 0 || (link && strcmp(link, "up") == 0);
    const char *to = NULL;
    if (strcmp(status, "available") == 0 && health && strcmp(health, "down") == 0) to = "failed";
    else if (strcmp(status, "failed") == 0 && up && replica_ok) to = "available";
    if (to) {
        db_run(db, "UPDATE nodes SET status = ? WHERE id = ?", "ss", to, id);
        store_event(db, row_str(row, "cluster"), id, strcmp(to, "failed") == 0 ? "node_failed" : "node_recovered",
                    strcmp(to, "failed") == 0 ? "the agent reports the node down" : "the node is up again");
        recheck_cluster(db, row_str(row, "cluster"));
    }
    int lost_primary = to && strcmp(to, "failed") == 0 && strcmp(row_str(row, "role"), "primary") == 0;
    json_decref(row);
    return lost_primary;
}

/* An agent's event type becomes agent_<type>: [a-z0-9_]{1,64}, as the API
 * documents it. */
static int valid_event_type(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* Agent events worth keeping: ours are derived above, these add detail.
 * An event numbered at or below the host's newest stored one is a resend. */
static void record_agent_event(sqlite3 *db, const json_t *e, long long stored_seq, long long *newest_seq)
{
    const char *type = field(e, "type"), *node = field(e, "node"), *msg = field(e, "message");
    if (!valid_event_type(type) || msg == NULL) {
        log_msg(LOG_VERBOSE, "an agent event without a valid type or message was not stored");
        return;
    }
    json_t *seq = json_object_get(e, "seq");
    if (json_is_integer(seq)) {
        long long n = (long long)json_integer_value(seq);
        if (n <= stored_seq) return;
        if (n > *newest_seq) *newest_seq = n;
    }
    const char *cluster = field(e, "cluster");
    if (cluster && *cluster == '\0') cluster = NULL;
    char t[96];
    snprintf(t, sizeof(t), "agent_%s", type);
    store_event(db, cluster, node && *node ? node : NULL, t, msg);
}

int agents_heartbeat(struct ctl *c, sqlite3 *db, const char *host, const json_t *beat, char *err, size_t errlen)
{
    snprintf(err, errlen, "unknown host; register first");
    if (!valid_host_id(host) || db_int(db, 0, "SELECT count(*) FROM hosts WHERE id = ?", "s", host) == 0) return 404;
    snprintf(err, errlen, "%s", HELLO_REQUIRED);
    if (!hello_valid(beat)) return 400;
    snprintf(err, errlen, "the database is busy; send the heartbeat again");
    if (db_begin(db) != 0) return 503;
    int rc = upsert_host(db, beat, host);
    size_t i;
    json_t *o;
    int lost_primary = 0;
    json_array_foreach(json_object_get(beat, "nodes"), i, o) lost_primary |= observe_node(c, db, host, o);
    long long stored_seq = db_int(db, 0, "SELECT events_seq FROM hosts WHERE id = ?", "s", host), newest_seq = stored_seq;
    json_array_foreach(json_object_get(beat, "events"), i, o) if (i < 1000) record_agent_event(db, o, stored_seq, &newest_seq);
    if (newest_seq > stored_seq) db_run(db, "UPDATE hosts SET events_seq = ? WHERE id = ?", "Is", newest_seq, host);
    if (rc != 0 || db_commit(db) != 0) {
        db_rollback(db);
        return 503;
    }
    pthread_mutex_lock(&c->lock);
    c->count.heartbeats++;
    pthread_mutex_unlock(&c->lock);
    if (lost_primary) ctl_wake_failover(c);
    return 200;
}

int agent_call(struct ctl *c, const char *agent_url, const char *method, const char *path, const json_t *body,
               long *status, json_t **reply)
{
    char url[1024];
    *status = 0;
    *reply = NULL;
    if (snprintf(url, sizeof(url), "%s%s", agent_url, path) >= (int)sizeof(url)) return -1;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && text == NULL) return -1;
    struct httpc_result res;
    int rc = httpc_request(method, url, c->cfg.agent_token, text, CTL_AGENT_CALL_MS, &res);
    if (text) {
        explicit_bzero(text, strlen(text)); /* it may hold the cluster's auth token */
        free(text);
    }
    int failed = rc != 0 || res.status >= 500;
    metrics_count_agent_call(c, failed);
    if (rc != 0) {
        log_msg(LOG_VERBOSE, "%s %s: %s", method, url, res.error);
        return -1;
    }
    *status = res.status;
    if (res.body) *reply = json_loads(res.body, 0, NULL);
    free(res.body);
    if (res.status >= 400) log_msg(LOG_VERBOSE, "%s %s -> HTTP %ld", method, url, res.status);
    return 0;
}
