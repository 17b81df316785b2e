/* api.c: the controller's HTTP routes, authentication, idempotency keys
 * and JSON replies. Validation lives in validate.c and the state changes in
 * ops.c; nothing here calls an agent (the HTTP thread must stay free for
 * heartbeats), so every route answers from the database at once.
 *   GET  /healthz, /metrics
 *   POST /v1/clusters             GET /v1/clusters[/{name}]
 *   PATCH|DELETE /v1/clusters/{name}
 *   POST /v1/clusters/{name}/failover   {"shard":"0001"}: planned failover of a shard
 *   POST /v1/clusters/{name}/rebalance  cluster mode: even the slots out, online
 *   GET  /v1/operations/{id}, /v1/events, /v1/hosts
 *   POST /v1/agents/register, /v1/agents/{host}/heartbeat  (agent token) */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "nodestats.h"
#include "dashboard.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "ops.h"
#include "store.h"
#include "validate.h"

#define IDEMPOTENCY_KEY_MAX 128

static int token_ok(const struct http_request *req, const char *expected)
{
    const char *given = http_bearer_token(req->authorization);
    return given != NULL && http_token_equal(given, expected);
}

static void reply_json(struct http_response *res, int status, json_t *doc)
{
    char *text = json_dump_and_free(doc);
    if (text == NULL) http_respond_error(res, 500, "InternalError", "cannot build the reply");
    else http_respond(res, status, text);
}

static int method_is(const struct http_request *req, const char *m) { return strcmp(req->method, m) == 0; }

static void method_not_allowed(struct http_response *res, const char *allowed)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "use %s", allowed);
    http_respond_error(res, 405, "MethodNotAllowed", msg);
}

/* ---- agents ---------------------------------------------------------------- */

static json_t *parse_body(const struct http_request *req)
{
    return json_loads(req->body, JSON_REJECT_DUPLICATES, NULL);
}

/* An agent route's error reply from its status (err says why). */
static void agent_error(struct http_response *res, int status, const char *err)
{
    const char *code = status == 400 ? "InvalidParameterValue" : status == 404 ? "HostNotFound" : "ServiceUnavailable";
    http_respond_error(res, status, code, err);
}

static void heartbeat(struct ctl *c, const char *rest, const json_t *doc, struct http_response *res)
{
    char host[80], err[160];
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : 0;
    if (slash == NULL || strcmp(slash, "/heartbeat") != 0 || n == 0 || n >= sizeof(host)) {
        http_respond_error(res, 404, "NotFound", "no such route");
        return;
    }
    memcpy(host, rest, n);
    host[n] = '\0';
    int status = agents_heartbeat(c, c->api_db, host, doc, err, sizeof(err));
    if (status == 200) http_respond(res, 200, strdup("{\"ok\":true}"));
    else agent_error(res, status, err);
}

static void agent_routes(struct ctl *c, const struct http_request *req, struct http_response *res)
{
    if (!token_ok(req, c->cfg.agent_token)) { http_respond_error(res, 401, "Unauthorized", "missing or wrong agent token"); return; }
    if (!method_is(req, "POST")) { method_not_allowed(res, "POST"); return; }
    json_t *doc = parse_body(req);
    if (!json_is_object(doc)) {
        json_decref(doc);
        http_respond_error(res, 400, "InvalidParameterValue", "the body must be a JSON object");
        return;
    }
    const char *rest = req->path + strlen("/v1/agents/");
    if (strcmp(rest, "register") == 0) {
        char err[160];
        int status = agents_register(c->api_db, doc, err, sizeof(err));
        if (status == 200) http_respond(res, 200, strdup("{\"registered\":true}"));
        else agent_error(res, status, err);
    } else {
        heartbeat(c, rest, doc, res);
    }
    json_decref(doc);
}

/* ---- idempotency ---------------------------------------------------------- */

/* 1 when a stored reply for (key, route) was sent; -1 after an error reply. */
static int idempotent_replay(struct ctl *c, const struct http_request *req, const char *route, struct http_response *res)
{
    const char *key = http_request_header(req, "Idempotency-Key");
    if (key == NULL) return 0;
    if (strlen(key) == 0 || strlen(key) > IDEMPOTENCY_KEY_MAX) {
        http_respond_error(res, 400, "InvalidParameterValue", "Idempotency-Key must be 1 to 128 characters");
        return -1;
    }
    json_t *row = db_row(c->api_db, "SELECT request, status, response FROM idempotency WHERE key = ? AND route = ?", "ss",
                         key, route);
    if (row == NULL) return 0;
    int same = strcmp(row_str(row, "request"), req->body) == 0;
    if (same) http_respond(res, (int)row_int(row, "status"), strdup(row_str(row, "response")));
    else http_respond_error(res, 422, "IdempotencyKeyMismatch", "this Idempotency-Key was used with a different request");
    json_decref(row);
    return same ? 1 : -1;
}

static void idempotent_store(struct ctl *c, const struct http_request *req, const char *route, int status,
                             const char *response)
{
    const char *key = http_request_header(req, "Idempotency-Key");
    if (key == NULL || route == NULL || response == NULL) return;
    if (db_run(c->api_db, "INSERT OR IGNORE INTO idempotency(key, route, request, status, response, created_ms) VALUES(?,?,?,?,?,?)",
               "sssdsI", key, route, req->body, status, response, wall_ms()) != 0)
        log_msg(LOG_WARNING, "cannot store an idempotency key");
}

/* ---- clusters ------------------------------------------------------------- */

/* The reply to a change: 202 {"cluster", "operation"}, or 200 with
 * "operation": null when there was nothing to change (op_id NULL). Either
 * is what a retry with the same Idempotency-Key gets back. */
static void accepted(struct ctl *c, const struct http_request *req, const char *route, const char *name,
                     const char *op_id, struct http_response *res)
{
    json_t *cluster = store_cluster_json(c->api_db, name);
    json_t *op = op_id ? store_operation_json(c->api_db, op_id) : NULL;
    json_t *doc = json_pack("{s:o,s:o}", "cluster", cluster ? cluster : json_null(), "operation", op ? op : json_null());
    char *text = json_dump_and_free(doc);
    int status = op_id ? 202 : 200;
    idempotent_store(c, req, route, status, text);
    if (text) http_respond(res, status, text);
    else http_respond_error(res, 500, "InternalError", "cannot build the reply");
}

static void create_cluster(struct ctl *c, const struct http_request *req, struct http_response *res)
{
    const char *route = "POST /v1/clusters";
    if (idempotent_replay(c, req, route, res) != 0) return;
    struct create_request r;
    char err[256], op_id[OP_ID_MAX];
    if (parse_create(req->body, &r, err, sizeof(err)) != 0) {
        explicit_bzero(&r, sizeof(r));
        http_respond_error(res, 400, "InvalidParameterValue", err);
        return;
    }
    struct op_error e;
    int status = ops_create_cluster(c, c->api_db, &r, op_id, &e);
    explicit_bzero(r.auth_token, sizeof(r.auth_token));
    if (status != 202) { http_respond_error(res, status, e.code, e.message); return; }
    log_msg(LOG_NOTICE, "cluster %s: create accepted (operation %s)", r.name, op_id);
    accepted(c, req, route, r.name, op_id, res);
}

static void modify_cluster(struct ctl *c, const struct http_request *req, const char *name, struct http_response *res)
{
    char route[96];
    snprintf(route, sizeof(route), "PATCH /v1/clusters/%s", name);
    if (idempotent_replay(c, req, route, res) != 0) return;
    struct modify_request m;
    char err[256], op_id[OP_ID_MAX];
    if (parse_modify(req->body, &m, err, sizeof(err)) != 0) { http_respond_error(res, 400, "InvalidParameterValue", err); return; }
    struct op_error e;
    /* what the change needs of the cluster's engine (engine_caps.h) */
    int status = m.shards >= 0     ? ops_check_engine(c->api_db, name, "shards", "'shards'", &e)
                 : m.replicas >= 0 ? ops_check_engine(c->api_db, name, "replicas", "'replicas'", &e)
                 : m.nodes >= 0    ? ops_check_engine(c->api_db, name, "nodes", "'nodes'", &e)
                                   : 0;
    if (status == 0)
        status = m.shards >= 0     ? ops_reshard(c, c->api_db, name, m.shards, op_id, &e)
                 : m.replicas >= 0 ? ops_scale_replicas(c, c->api_db, name, m.replicas, op_id, &e)
                 : m.nodes >= 0    ? ops_scale_nodes(c, c->api_db, name, m.nodes, op_id, &e)
                                   : ops_resize_memory(c, c->api_db, name, m.node_memory_mb, op_id, &e);
    if (status == OPS_NO_CHANGE) { accepted(c, req, route, name, NULL, res); return; }
    if (status != 202) { http_respond_error(res, status, e.code, e.message); return; }
    log_msg(LOG_NOTICE, "cluster %s: change accepted (operation %s)", name, op_id);
    accepted(c, req, route, name, op_id, res);
}

static void delete_cluster(struct ctl *c, const struct http_request *req, const char *name, struct http_response *res)
{
    char op_id[OP_ID_MAX];
    struct op_error e;
    int status = ops_delete_cluster(c, c->api_db, name, op_id, &e);
    if (status != 202) { http_respond_error(res, status, e.code, e.message); return; }
    log_msg(LOG_NOTICE, "cluster %s: delete accepted (operation %s)", name, op_id);
    accepted(c, req, NULL, name, op_id, res); /* a repeated DELETE is safe without a key */
}

static void failover_cluster(struct ctl *c, const struct http_request *req, const char *name, struct http_response *res)
{
    char route[96];
    snprintf(route, sizeof(route), "POST /v1/clusters/%s/failover", name);
    if (idempotent_replay(c, req, route, res) != 0) return;
    json_t *doc = parse_body(req);
    const char *shard = json_string_value(json_object_get(doc, "shard"));
    if (!json_is_object(doc) || json_object_size(doc) != 1 || shard == NULL || strlen(shard) == 0 || strlen(shard) > 16) {
        json_decref(doc);
        http_respond_error(res, 400, "InvalidParameterValue", "the body must be {\"shard\": \"<shard id>\"}");
        return;
    }
    char op_id[OP_ID_MAX], shard_id[20];
    snprintf(shard_id, sizeof(shard_id), "%s", shard);
    json_decref(doc);
    struct op_error e;
    int status = ops_check_engine(c->api_db, name, "failover", "a failover", &e);
    if (status == 0) status = ops_planned_failover(c, c->api_db, name, shard_id, op_id, &e);
    if (status != 202) { http_respond_error(res, status, e.code, e.message); return; }
    log_msg(LOG_NOTICE, "cluster %s: planned failover of shard %s accepted (operation %s)", name, shard_id, op_id);
    accepted(c, req, route, name, op_id, res);
}

/* POST /v1/clusters/{name}/rebalance: no body, or {}. */
static void rebalance_cluster(struct ctl *c, const struct http_request *req, const char *name, struct http_response *res)
{
    char route[96], op_id[OP_ID_MAX];
    snprintf(route, sizeof(route), "POST /v1/clusters/%s/rebalance", name);
    if (idempotent_replay(c, req, route, res) != 0) return;
    json_t *doc = req->body && req->body[0] ? parse_body(req) : json_object();
    int ok = json_is_object(doc) && json_object_size(doc) == 0;
    json_decref(doc);
    if (!ok) { http_respond_error(res, 400, "InvalidParameterValue", "the body must be empty or {}"); return; }
    struct op_error e;
    int status = ops_check_engine(c->api_db, name, "shards", "a rebalance", &e);
    if (status == 0) status = ops_reshard(c, c->api_db, name, -1, op_id, &e);
    if (status == OPS_NO_CHANGE) { accepted(c, req, route, name, NULL, res); return; }
    if (status != 202) { http_respond_error(res, status, e.code, e.message); return; }
    log_msg(LOG_NOTICE, "cluster %s: rebalance accepted (operation %s)", name, op_id);
    accepted(c, req, route, name, op_id, res);
}

static void cluster_route(struct ctl *c, const struct http_request *req, const char *name, struct http_response *res)
{
    if (!valid_cluster_name(name)) { http_respond_error(res, 404, "ClusterNotFound", "no such cluster"); return; }
    if (method_is(req, "GET")) {
        json_t *doc = store_cluster_json(c->api_db, name);
        if (doc == NULL) http_respond_error(res, 404, "ClusterNotFound", "no such cluster");
        else reply_json(res, 200, doc);
    } else if (method_is(req, "PATCH")) {
        modify_cluster(c, req, name, res);
    } else if (method_is(req, "DELETE")) {
        delete_cluster(c, req, name, res);
    } else {
        method_not_allowed(res, "GET, PATCH or DELETE");
    }
}

/* GET /v1/clusters/{name}/discovery: the node list an engine with Auto
 * Discovery serves, its version, and `config get cluster`'s text. */
static void get_discovery(struct ctl *c, const char *name, struct http_response *res)
{
    json_t *doc = store_discovery_json(c->api_db, name);
    if (doc) { reply_json(res, 200, doc); return; }
    struct op_error e;
    int status = ops_check_engine(c->api_db, name, "discovery", "a discovery list", &e);
    http_respond_error(res, status ? status : 404, status ? e.code : "ClusterNotFound", status ? e.message : "no such cluster");
}

/* A query parameter that must be a whole number in [min, max]; an absent or
 * empty one is dflt. Digits only: strtoll alone would take "-1", " 7" and
 * "+7", and saturate a number too large for a long long. */
static int query_count(const char *text, long long min, long long max, long long dflt, long long *out)
{
    *out = dflt;
    if (text == NULL || *text == '\0') return 0;
    size_t n = strlen(text);
    if (n > 19 || strspn(text, "0123456789") != n) return -1;
    errno = 0;
    long long v = strtoll(text, NULL, 10);
    if (errno != 0 || v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* GET /v1/clusters/{name}/stats[?since=ms]: each node's latest numbers and
 * its last 15 minutes (nodestats.h), only the points after since. */
static void get_stats(struct ctl *c, const struct http_request *req, const char *name, struct http_response *res)
{
    long long since;
    if (query_count(http_request_arg(req, "since"), 0, LLONG_MAX, 0, &since) != 0) {
        http_respond_error(res, 400, "InvalidParameterValue", "since must be a time in milliseconds since the epoch");
        return;
    }
    if (db_int(c->api_db, 0, "SELECT count(*) FROM clusters WHERE name = ?", "s", name) == 0) {
        http_respond_error(res, 404, "ClusterNotFound", "no such cluster");
        return;
    }
    json_t *rows = db_rows(c->api_db, "SELECT id FROM nodes WHERE cluster = ? ORDER BY shard, role, id", "s", name);
    json_t *doc = rows ? nodestats_json(c->stats, rows, since, wall_ms()) : NULL;
    json_decref(rows);
    if (doc == NULL) { http_respond_error(res, 503, "ServiceUnavailable", "the database is busy; try again"); return; }
    json_object_set_new(doc, "cluster", json_string(name));
    reply_json(res, 200, doc);
}

/* POST /v1/clusters/{name}/failover and /rebalance, GET .../discovery and
 * .../stats; rest is "{name}/...". */
static void cluster_action(struct ctl *c, const struct http_request *req, const char *rest, struct http_response *res)
{
    char name[CTL_NAME_MAX + 1];
    const char *action = strchr(rest, '/');
    size_t n = (size_t)(action - rest);
    int failover = strcmp(action, "/failover") == 0, rebalance = strcmp(action, "/rebalance") == 0;
    int discovery = strcmp(action, "/discovery") == 0, stats = strcmp(action, "/stats") == 0;
    if (!failover && !rebalance && !discovery && !stats) { http_respond_error(res, 404, "NotFound", "no such route"); return; }
    snprintf(name, sizeof(name), "%.*s", (int)(n > CTL_NAME_MAX ? 0 : n), rest);
    if (n > CTL_NAME_MAX || !valid_cluster_name(name)) http_respond_error(res, 404, "ClusterNotFound", "no such cluster");
    else if ((discovery || stats) && !method_is(req, "GET")) method_not_allowed(res, "GET");
    else if (discovery) get_discovery(c, name, res);
    else if (stats) get_stats(c, req, name, res);
    else if (!method_is(req, "POST")) method_not_allowed(res, "POST");
    else if (failover) failover_cluster(c, req, name, res);
    else rebalance_cluster(c, req, name, res);
}

/* ---- the rest --------------------------------------------------------------- */

static void get_events(struct ctl *c, const struct http_request *req, struct http_response *res)
{
    const char *cluster = http_request_arg(req, "cluster");
    long long since_id, max;
    if (query_count(http_request_arg(req, "since"), 0, LLONG_MAX, 0, &since_id) != 0) {
        http_respond_error(res, 400, "InvalidParameterValue", "since: an event id, a whole number >= 0");
        return;
    }
    if (query_count(http_request_arg(req, "limit"), 1, 1000, 1000, &max) != 0) {
        http_respond_error(res, 400, "InvalidParameterValue", "limit: a whole number from 1 to 1000");
        return;
    }
    if (cluster && *cluster && !valid_cluster_name(cluster)) {
        http_respond_error(res, 400, "InvalidParameterValue", "cluster: a cluster name ([a-z0-9-]{1,40})");
        return;
    }
    reply_json(res, 200, store_events_json(c->api_db, cluster && *cluster ? cluster : NULL, since_id, (int)max));
}

/* ?view=summary asks a list for its summary form; 0 with *summary set,
 * else -1 after the 400 reply. */
static int view_arg(const struct http_request *req, struct http_response *res, int *summary)
{
    const char *view = http_request_arg(req, "view");
    *summary = view && strcmp(view, "summary") == 0;
    if (view == NULL || *view == '\0' || *summary || strcmp(view, "full") == 0) return 0;
    http_respond_error(res, 400, "InvalidParameterValue", "view: summary, or full (the default)");
    return -1;
}

static void list_clusters(struct ctl *c, const struct http_request *req, struct http_response *res)
{
    int summary;
    if (view_arg(req, res, &summary) == 0) reply_json(res, 200, store_clusters_json(c->api_db, summary));
}

static void list_hosts(struct ctl *c, const struct http_request *req, struct http_response *res)
{
    int summary;
    if (view_arg(req, res, &summary) == 0)
        reply_json(res, 200, store_hosts_json(c->api_db, wall_ms(), c->cfg.agent_timeout_ms, summary));
}

/* GET /v1/operations?cluster=&status=running&limit= */
static void list_operations(struct ctl *c, const struct http_request *req, struct http_response *res)
{
    const char *cluster = http_request_arg(req, "cluster"), *status = http_request_arg(req, "status");
    long long max;
    if (query_count(http_request_arg(req, "limit"), 1, 1000, 100, &max) != 0) {
        http_respond_error(res, 400, "InvalidParameterValue", "limit: a whole number from 1 to 1000");
        return;
    }
    if (cluster && *cluster && !valid_cluster_name(cluster)) {
        http_respond_error(res, 400, "InvalidParameterValue", "cluster: a cluster name ([a-z0-9-]{1,40})");
        return;
    }
    if (status && *status && strcmp(status, "running") != 0) {
        http_respond_error(res, 400, "InvalidParameterValue", "status: running (pending and running), or none for all");
        return;
    }
    reply_json(res, 200, store_operations_json(c->api_db, cluster && *cluster ? cluster : NULL, status && *status,
                                               (int)max));
}

static void get_operation(struct ctl *c, const char *id, struct http_response *res)
{
    json_t *op = strlen(id) < OP_ID_MAX ? store_operation_json(c->api_db, id) : NULL;
    if (op == NULL) http_respond_error(res, 404, "OperationNotFound", "no such operation");
    else reply_json(res, 200, op);
}

static void user_routes(struct ctl *c, const struct http_request *req, struct http_response *res)
{
    const char *p = req->path;
    if (strcmp(p, "/v1/clusters") == 0 || strcmp(p, "/v1/clusters/") == 0) {
        if (method_is(req, "GET")) list_clusters(c, req, res);
        else if (method_is(req, "POST")) create_cluster(c, req, res);
        else method_not_allowed(res, "GET or POST");
    } else if (strncmp(p, "/v1/clusters/", 13) == 0 && strchr(p + 13, '/') == NULL) {
        cluster_route(c, req, p + 13, res);
    } else if (strncmp(p, "/v1/clusters/", 13) == 0) {
        cluster_action(c, req, p + 13, res);
    } else if (strcmp(p, "/v1/operations") == 0) {
        if (method_is(req, "GET")) list_operations(c, req, res);
        else method_not_allowed(res, "GET");
    } else if (strncmp(p, "/v1/operations/", 15) == 0 && strchr(p + 15, '/') == NULL) {
        if (method_is(req, "GET")) get_operation(c, p + 15, res);
        else method_not_allowed(res, "GET");
    } else if (strcmp(p, "/v1/events") == 0) {
        if (method_is(req, "GET")) get_events(c, req, res);
        else method_not_allowed(res, "GET");
    } else if (strcmp(p, "/v1/hosts") == 0) {
        if (method_is(req, "GET")) list_hosts(c, req, res);
        else method_not_allowed(res, "GET");
    } else {
        http_respond_error(res, 404, "NotFound", "no such route");
    }
}

static void route(struct ctl *c, const struct http_request *req, struct http_response *res)
{
    const char *p = req->path;
    if (strcmp(p, "/healthz") == 0) {
        if (!method_is(req, "GET")) { method_not_allowed(res, "GET"); return; }
        int db_ok = store_user_version(c->api_db) == STORE_SCHEMA_VERSION;
        http_respond(res, db_ok ? 200 : 503, strdup(db_ok ? "{\"status\":\"ok\"}" : "{\"status\":\"database unavailable\"}"));
        return;
    }
    if (strncmp(p, "/v1/agents/", 11) == 0) { agent_routes(c, req, res); return; }
    if (dashboard_route(req, res, c->cfg.token)) return;
    /* the dashboard's session cookie stands in for the token */
    if (!token_ok(req, c->cfg.token) && !dashboard_session_ok(req)) {
        http_respond_error(res, 401, "Unauthorized", "missing or wrong bearer token");
        return;
    }
    if (strcmp(p, "/metrics") == 0) {
        if (!method_is(req, "GET")) { method_not_allowed(res, "GET"); return; }
        char *text = metrics_render(c, c->api_db);
        if (text == NULL) { http_respond_error(res, 500, "InternalError", "cannot render metrics"); return; }
        http_respond(res, 200, text);
        res->content_type = "text/plain; version=0.0.4; charset=utf-8";
        return;
    }
    if (strncmp(p, "/v1/", 4) == 0) { user_routes(c, req, res); return; }
    http_respond_error(res, 404, "NotFound", "no such route");
}

void api_handle(const struct http_request *req, struct http_response *res, void *ctx)
{
    struct ctl *c = ctx;
    long long start = mono_ms();
    route(c, req, res);
    if (res->body == NULL) http_respond_error(res, 500, "InternalError", "no reply");
    metrics_count_request(c, res->status, (double)(mono_ms() - start) / 1000.0);
    if (strncmp(req->path, "/v1/agents/", 11) != 0)
        log_msg(LOG_VERBOSE, "%s %s -> %d", req->method, req->path, res->status);
}
