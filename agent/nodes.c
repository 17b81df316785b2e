/* nodes.c: the node table and the declarative API's logic: PUT makes a node
 * so (launch, or change it live over RESP), DELETE stops and forgets it, and
 * at start-up the stored specs are adopted or relaunched. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "engine_io.h"
#include "json.h"
#include "log.h"
#include "resp.h"

#define LIVE_TIMEOUT_MS 2000


const char *health_name(enum node_health h)
{
    return h == HEALTH_UP ? "up" : h == HEALTH_DOWN ? "down" : "starting";
}

struct node *agent_find(struct agent *a, const char *id)
{
    for (size_t i = 0; i < a->nnodes; i++)
        if (strcmp(a->nodes[i]->spec.id, id) == 0) return a->nodes[i];
    return NULL;
}

long long agent_memory_reserved_mb(const struct agent *a, const char *except_id)
{
    long long sum = 0;
    for (size_t i = 0; i < a->nnodes; i++)
        if (except_id == NULL || strcmp(a->nodes[i]->spec.id, except_id) != 0) sum += a->nodes[i]->spec.memory_mb;
    return sum;
}

static void obs_reset(struct node_obs *o, enum node_health h)
{
    memset(o, 0, sizeof(*o));
    o->health = h;
    o->since_ms = wall_ms();
    o->repl_offset = o->primary_offset = o->used_memory = o->maxmemory = o->commands = -1;
    o->ops_per_sec = o->connected_clients = o->keys = -1;
    o->keyspace_hits = o->keyspace_misses = o->evicted_keys = o->expired_keys = -1;
}

long long node_repl_lag(const struct node *n)
{
    if (n->obs.primary_offset < 0 || n->obs.repl_offset < 0) return -1;
    long long lag = n->obs.primary_offset - n->obs.repl_offset;
    return lag > 0 ? lag : 0;
}

static json_t *maybe_int(long long v) { return v < 0 ? json_null() : json_integer(v); }

json_t *node_to_json(const struct agent *a, const struct node *n)
{
    json_t *o = spec_to_json(&n->spec, 0);
    if (o == NULL) return NULL;
    const struct node_obs *b = &n->obs;
    json_object_set_new(o, "address", json_string(a->cfg.advertise));
    json_object_set_new(o, "health", json_string(health_name(b->health)));
    json_object_set_new(o, "health_since_ms", json_integer(b->since_ms));
    json_object_set_new(o, "pid", n->pid > 0 ? json_integer(n->pid) : json_null());
    json_object_set_new(o, "observed_role", b->role[0] ? json_string(b->role) : json_null());
    json_object_set_new(o, "master_link_status", b->link_status[0] ? json_string(b->link_status) : json_null());
    json_object_set_new(o, "repl_offset", maybe_int(b->repl_offset));
    json_object_set_new(o, "used_memory", maybe_int(b->used_memory));
    json_object_set_new(o, "maxmemory", maybe_int(b->maxmemory));
    json_object_set_new(o, "ops_per_sec", maybe_int(b->ops_per_sec));
    json_object_set_new(o, "connected_clients", maybe_int(b->connected_clients));
    json_object_set_new(o, "keys", maybe_int(b->keys));
    json_object_set_new(o, "keyspace_hits", maybe_int(b->keyspace_hits));
    json_object_set_new(o, "keyspace_misses", maybe_int(b->keyspace_misses));
    json_object_set_new(o, "evicted_keys", maybe_int(b->evicted_keys));
    json_object_set_new(o, "repl_lag_bytes", maybe_int(n->spec.role == ROLE_REPLICA ? node_repl_lag(n) : -1));
    json_object_set_new(o, "restarts", json_integer(n->restarts));
    json_object_set_new(o, "topology_epoch", n->topo.applied > 0 ? json_integer(n->topo.applied) : json_null());
    if (engine_get(n->spec.engine)->discovery)
        json_object_set_new(o, "discovery_version", n->disc.applied > 0 ? json_integer(n->disc.applied) : json_null());
    json_object_set_new(o, "last_error", b->last_error[0] ? json_string(b->last_error) : json_null());
    return o;
}

json_t *agent_nodes_json(const struct agent *a)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < a->nnodes; i++) json_array_append_new(arr, node_to_json(a, a->nodes[i]));
    return arr;
}

void agent_event(struct agent *a, const struct node *n, const char *type, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_msg(LOG_NOTICE, "event %s node %s: %s", type, n ? n->spec.id : "-", msg);
    if (json_array_size(a->events) >= AGENT_MAX_EVENTS) json_array_remove(a->events, 0); /* oldest goes */
    json_t *e = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s}", "seq", (json_int_t)++a->event_seq,
                          "time_ms", (json_int_t)wall_ms(), "type", type,
                          "node", n ? n->spec.id : "", "cluster", n ? n->spec.cluster : "",
                          "shard", n ? n->spec.shard : "", "message", msg);
    if (e && n) json_object_set_new(e, "node_state", node_to_json(a, n));
    if (e) json_array_append_new(a->events, e);
    a->report_now = 1;
    report_wake(a);
}

void node_set_health(struct agent *a, struct node *n, enum node_health h, const char *why)
{
    if (n->obs.health == h) return;
    enum node_health was = n->obs.health;
    n->obs.health = h;
    n->obs.since_ms = wall_ms();
    /* a long reason is cut to fit, on purpose */
    if (why) snprintf(n->obs.last_error, sizeof(n->obs.last_error), "%.*s", (int)sizeof(n->obs.last_error) - 1, why);
    if (h == HEALTH_DOWN) agent_event(a, n, "node_down", "%s is down: %s", n->spec.id, why ? why : "");
    else if (h == HEALTH_UP)
        agent_event(a, n, "node_up", "%s is up (was %s)", n->spec.id, health_name(was));
}

/* ---- live changes over RESP ---------------------------------------------- */

static int live_cmd(struct resp_conn *c, int argc, const char **argv, char *err, size_t errlen)
{
    struct resp_reply *r = resp_command(c, LIVE_TIMEOUT_MS, argc, argv);
    if (r == NULL || r->type == RESP_ERROR) {
        /* Name the command and, for CONFIG SET, the parameter: never a
         * value, which may be the auth token (AUTH, requirepass). */
        int config = strcasecmp(argv[0], "CONFIG") == 0 && argc > 2;
        snprintf(err, errlen, "%s%s%s failed: %s", argv[0], config ? " SET " : "", config ? argv[2] : "",
                 r ? r->str : "no reply");
        resp_reply_free(r);
        return -1;
    }
    resp_reply_free(r);
    return 0;
}

/* A memcached node: its memory limit (cache_memlimit); its discovery list
 * goes out from the health thread, and nothing else of it changes live. */
static int live_apply_text(const struct agent *a, const struct node_spec *have, const struct node_spec *want,
                           char *err, size_t errlen)
{
    if (have->memory_mb == want->memory_mb) return 0;
    struct resp_conn *c = resp_connect(a->cfg.advertise, have->port, LIVE_TIMEOUT_MS, err, errlen);
    if (c == NULL) return -1;
    char line[64];
    int len = snprintf(line, sizeof(line), "cache_memlimit %lld\r\n", want->memory_mb);
    struct resp_reply *r = resp_text_command(c, LIVE_TIMEOUT_MS, line, (size_t)len);
    int rc = r && r->type == RESP_BULK && strcmp(r->str, "OK") == 0 ? 0 : -1;
    if (rc != 0) snprintf(err, errlen, "cache_memlimit failed: %s", r ? r->str : "no reply");
    resp_reply_free(r);
    resp_close(c);
    return rc;
}

/* Makes the running node match want, given it runs as have. */
static int live_apply(const struct agent *a, const struct node_spec *have, const struct node_spec *want,
                      char *err, size_t errlen)
{
    if (engine_get(have->engine)->wire == WIRE_TEXT) return live_apply_text(a, have, want, err, errlen);
    struct resp_conn *c = resp_connect(a->cfg.advertise, have->port, LIVE_TIMEOUT_MS, err, errlen);
    if (c == NULL) return -1;
    int rc = 0;
    if (have->auth_token[0]) {
        const char *auth[] = {"AUTH", have->auth_token};
        rc = live_cmd(c, 2, auth, err, errlen);
    }
    if (rc == 0 && have->memory_mb != want->memory_mb) {
        char mem[32];
        snprintf(mem, sizeof(mem), "%lldmb", want->memory_mb);
        const char *argv[] = {"CONFIG", "SET", "maxmemory", mem};
        rc = live_cmd(c, 4, argv, err, errlen);
    }
    if (rc == 0 && strcmp(have->eviction_policy, want->eviction_policy) != 0) {
        const char *argv[] = {"CONFIG", "SET", "maxmemory-policy", want->eviction_policy};
        rc = live_cmd(c, 4, argv, err, errlen);
    }
    if (rc == 0 && strcmp(have->auth_token, want->auth_token) != 0) {
        const char *pass[] = {"CONFIG", "SET", "masterauth", want->auth_token};
        const char *req[] = {"CONFIG", "SET", "requirepass", want->auth_token};
        rc = live_cmd(c, 4, pass, err, errlen);
        if (rc == 0) rc = live_cmd(c, 4, req, err, errlen);
    }
    int role_change = have->role != want->role ||
                      (want->role == ROLE_REPLICA && (strcmp(have->primary_host, want->primary_host) != 0 ||
                                                      have->primary_port != want->primary_port));
    if (rc == 0 && role_change) {
        char port[16];
        snprintf(port, sizeof(port), "%d", want->primary_port);
        const char *to_primary[] = {"REPLICAOF", "NO", "ONE"};
        const char *to_replica[] = {"REPLICAOF", want->primary_host, port};
        rc = live_cmd(c, 3, want->role == ROLE_PRIMARY ? to_primary : to_replica, err, errlen);
    }
    resp_close(c);
    return rc;
}

/* ---- PUT -------------------------------------------------------------------- */

static int reply_error(char **reply, int status, const char *code, const char *msg)
{
    *reply = json_error_body(code, msg);
    return status;
}

static int reply_node(struct agent *a, struct node *n, char **reply, int status)
{
    *reply = json_dump_and_free(node_to_json(a, n));
    return status;
}

/* Checks a new node's port (or picks one). Returns 0 or an HTTP status. */
static int choose_port(struct agent *a, struct node_spec *s, char *msg, size_t msglen)
{
    int used[AGENT_MAX_NODES];
    for (size_t i = 0; i < a->nnodes; i++) used[i] = a->nodes[i]->spec.port;
    if (s->port == 0) {
        s->port = ports_pick(&a->cfg.ports, used, a->nnodes, ports_probe_bind, a->cfg.advertise);
        if (s->port == 0) { snprintf(msg, msglen, "no free port left in %d-%d", a->cfg.ports.first, a->cfg.ports.last); return 507; }
        return 0;
    }
    if (!ports_in_range(&a->cfg.ports, s->port)) {
        snprintf(msg, msglen, "port %d is outside this host's range %d-%d", s->port, a->cfg.ports.first, a->cfg.ports.last);
        return 409;
    }
    for (size_t i = 0; i < a->nnodes; i++)
        if (used[i] == s->port) { snprintf(msg, msglen, "port %d is used by node %s", s->port, a->nodes[i]->spec.id); return 409; }
    if (ports_probe_bind(s->port, a->cfg.advertise)) {
        snprintf(msg, msglen, "port %d is in use on this host", s->port);
        return 409;
    }
    return 0;
}

static int put_new(struct agent *a, struct node_spec *want, char **reply)
{
    char msg[256];
    if (a->nnodes >= AGENT_MAX_NODES) return reply_error(reply, 507, "InsufficientCapacity", "this host runs as many nodes as it can");
    if (agent_memory_reserved_mb(a, NULL) + want->memory_mb > a->cfg.memory_mb) {
        snprintf(msg, sizeof(msg), "%lld MB asked, %lld MB of %lld MB free on this host", want->memory_mb,
                 a->cfg.memory_mb - agent_memory_reserved_mb(a, NULL), a->cfg.memory_mb);
        return reply_error(reply, 507, "InsufficientCapacity", msg);
    }
    int status = choose_port(a, want, msg, sizeof(msg));
    if (status) return reply_error(reply, status, status == 507 ? "InsufficientCapacity" : "PortConflict", msg);
    if (proc_forget_files(a, want->id) != 0)
        return reply_error(reply, 500, "LaunchFailed", "files an earlier node with this id left cannot be removed");
    struct node *n = calloc(1, sizeof(*n));
    if (n == NULL) return reply_error(reply, 500, "InternalError", "out of memory");
    spec_move(&n->spec, want);
    n->exit_status = -1;
    obs_reset(&n->obs, HEALTH_STARTING);
    if (proc_launch(a, n, msg, sizeof(msg)) != 0) {
        spec_release(&n->spec);
        free(n);
        log_msg(LOG_WARNING, "node %s: launch failed: %s", want->id, msg);
        return reply_error(reply, 500, "LaunchFailed", msg);
    }
    a->nodes[a->nnodes++] = n;
    if (store_save(a, n) != 0) log_msg(LOG_WARNING, "node %s: spec not saved; it will not be adopted after a restart", n->spec.id);
    agent_event(a, n, "node_launched", "%s launched as %s on port %d (pid %d)", n->spec.id,
                spec_role_name(n->spec.role), n->spec.port, (int)n->pid);
    return reply_node(a, n, reply, 201);
}

/* A change to an existing node. Called with agent.lock held; drops it around
 * the RESP session with the node (apply_lock keeps other changes out). */
static int put_existing(struct agent *a, struct node *n, struct node_spec *want, char **reply)
{
    char msg[256];
    if (want->generation < n->spec.generation) {
        snprintf(msg, sizeof(msg), "generation %lld is older than the applied %lld", want->generation, n->spec.generation);
        return reply_error(reply, 409, "StaleGeneration", msg);
    }
    if (spec_same(&n->spec, want)) return reply_node(a, n, reply, 200); /* replay: nothing to do */
    if (want->generation == n->spec.generation)
        return reply_error(reply, 409, "GenerationConflict", "this generation was applied with a different spec");
    if (want->port && want->port != n->spec.port)
        return reply_error(reply, 409, "ImmutableField", "a node's port cannot change; create a new node");
    if (want->engine != n->spec.engine)
        return reply_error(reply, 409, "ImmutableField", "a node's engine cannot change; create a new node");
    if (want->cluster_mode != n->spec.cluster_mode)
        return reply_error(reply, 409, "ImmutableField", "a node's cluster_mode cannot change; create a new node");
    if (agent_memory_reserved_mb(a, n->spec.id) + want->memory_mb > a->cfg.memory_mb)
        return reply_error(reply, 507, "InsufficientCapacity", "the new memory size does not fit this host");
    want->port = n->spec.port;
    if (n->pid <= 0) {
        /* Not running (a crashed primary waits here): a newer spec is the
         * controller's decision, so launch it as it now says. */
        spec_move(&n->spec, want);
        obs_reset(&n->obs, HEALTH_STARTING);
        n->restart_at_ms = 0;
        if (proc_launch(a, n, msg, sizeof(msg)) != 0) return reply_error(reply, 500, "LaunchFailed", msg);
        store_save(a, n);
        agent_event(a, n, "node_launched", "%s relaunched as %s (generation %lld)", n->spec.id,
                    spec_role_name(n->spec.role), n->spec.generation);
        return reply_node(a, n, reply, 200);
    }
    struct node_spec have = n->spec;
    pthread_mutex_unlock(&a->lock);
    int rc = live_apply(a, &have, want, msg, sizeof(msg));
    pthread_mutex_lock(&a->lock);
    n = agent_find(a, want->id); /* still there: apply_lock keeps DELETE out */
    if (n == NULL) return reply_error(reply, 404, "NodeNotFound", "the node went away");
    if (rc != 0) {
        log_msg(LOG_WARNING, "node %s: live change failed: %s", want->id, msg);
        return reply_error(reply, 503, "NodeUnavailable", msg);
    }
    spec_move(&n->spec, want);
    n->topo.next_ms = n->disc.next_ms = 0; /* a new topology or list goes out at the next health tick */
    n->topo.backoff_ms = n->disc.backoff_ms = 0;
    store_save(a, n);
    agent_event(a, n, "node_changed", "%s changed live to generation %lld (%s)", n->spec.id, n->spec.generation,
                spec_role_name(n->spec.role));
    return reply_node(a, n, reply, 200);
}

int agent_put_node(struct agent *a, const char *id, const char *body, char **reply)
{
    json_error_t je;
    json_t *doc = json_loads(body, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL) {
        char msg[256];
        snprintf(msg, sizeof(msg), "the body is not valid JSON: %s", je.text);
        return reply_error(reply, 400, "InvalidParameterValue", msg);
    }
    struct node_spec want;
    char err[256];
    int rc = spec_parse(id, doc, &want, err, sizeof(err));
    json_decref(doc);
    if (rc != 0) return reply_error(reply, 400, "InvalidParameterValue", err);
    pthread_mutex_lock(&a->apply_lock);
    pthread_mutex_lock(&a->lock);
    struct node *n = agent_find(a, id);
    int status = n ? put_existing(a, n, &want, reply) : put_new(a, &want, reply);
    pthread_mutex_unlock(&a->lock);
    pthread_mutex_unlock(&a->apply_lock);
    spec_release(&want);
    explicit_bzero(&want, sizeof(want));
    return status;
}

/* ---- DELETE ----------------------------------------------------------------- */

static void remove_from_table(struct agent *a, struct node *n)
{
    for (size_t i = 0; i < a->nnodes; i++)
        if (a->nodes[i] == n) {
            a->nodes[i] = a->nodes[--a->nnodes];
            return;
        }
}

int agent_delete_node(struct agent *a, const char *id, char **reply)
{
    pthread_mutex_lock(&a->apply_lock);
    pthread_mutex_lock(&a->lock);
    struct node *n = agent_find(a, id);
    if (n == NULL) {
        pthread_mutex_unlock(&a->lock);
        pthread_mutex_unlock(&a->apply_lock);
        return reply_error(reply, 404, "NodeNotFound", "no such node on this host");
    }
    n->stopping = 1;
    pid_t pid = n->pid;
    int is_child = n->is_child;
    pthread_mutex_unlock(&a->lock);
    proc_stop(pid, is_child, AGENT_STOP_GRACE_MS);
    pthread_mutex_lock(&a->lock);
    remove_from_table(a, n);
    if (store_remove(a, id) != 0) log_msg(LOG_WARNING, "node %s: cannot remove its spec file", id);
    proc_forget_files(a, id);
    n->pid = 0;
    agent_event(a, n, "node_deleted", "%s stopped and removed", id);
    pthread_mutex_unlock(&a->lock);
    pthread_mutex_unlock(&a->apply_lock);
    spec_release(&n->spec);
    free(n->stats_text);
    explicit_bzero(n, sizeof(*n));
    free(n);
    *reply = json_dump_and_free(json_pack("{s:s,s:b}", "id", id, "deleted", 1));
    return 200;
}

/* ---- start-up: adopt or relaunch -------------------------------------------- */

/* Asks the process on the node's port for its node id. 1 = it is ours. A
 * memcached node has no CONFIG GET: its health check answering on the port
 * whose process carries --node-id (proc_matches) is the proof. */
static int answers_as(const struct agent *a, const struct node_spec *s)
{
    char err[128];
    struct resp_conn *c = resp_connect(a->cfg.advertise, s->port, 1000, err, sizeof(err));
    if (c == NULL) return 0;
    const struct engine_caps *e = engine_get(s->engine);
    if (e->wire == WIRE_TEXT) {
        int ok = engine_health_send(c, e, 1000) == 0 && engine_health_read(c, e, mono_ms() + 1000);
        resp_close(c);
        return ok;
    }
    int ok = 1;
    if (s->auth_token[0]) {
        const char *auth[] = {"AUTH", s->auth_token};
        ok = live_cmd(c, 2, auth, err, sizeof(err)) == 0;
    }
    const char *get[] = {"CONFIG", "GET", "node-id"};
    struct resp_reply *r = ok ? resp_command(c, 1000, 3, get) : NULL;
    ok = r && r->type == RESP_ARRAY && r->count == 2 && r->elements[1]->type == RESP_BULK &&
         strcmp(r->elements[1]->str, s->id) == 0;
    resp_reply_free(r);
    resp_close(c);
    return ok;
}

static void restore_one(struct agent *a, json_t *doc, void *ctx)
{
    (void)ctx;
    json_t *js = json_object_get(doc, "spec");
    const char *id = json_string_value(json_object_get(js, "id"));
    struct node_spec spec;
    char err[256];
    memset(&spec, 0, sizeof(spec));
    if (id == NULL || spec_parse(id, js, &spec, err, sizeof(err)) != 0 || spec.port == 0) {
        log_msg(LOG_WARNING, "ignoring a stored spec: %s", id ? err : "no id");
        spec_release(&spec);
        return;
    }
    struct node *n = agent_find(a, spec.id) || a->nnodes >= AGENT_MAX_NODES ? NULL : calloc(1, sizeof(*n));
    if (n == NULL) {
        spec_release(&spec);
        return;
    }
    spec_move(&n->spec, &spec);
    n->exit_status = -1;
    n->restarts = (int)json_integer_value(json_object_get(doc, "restarts"));
    obs_reset(&n->obs, HEALTH_STARTING);
    pid_t pid = (pid_t)json_integer_value(json_object_get(doc, "pid"));
    unsigned long long starttime = (unsigned long long)json_integer_value(json_object_get(doc, "starttime"));
    a->nodes[a->nnodes++] = n;
    if (proc_matches(pid, spec.id, starttime) && answers_as(a, &spec)) {
        n->pid = pid;
        n->is_child = 0;
        n->starttime = starttime ? starttime : proc_starttime(pid);
        n->incarnation++;
        n->launched_ms = mono_ms();
        log_msg(LOG_NOTICE, "node %s: adopted running pid %d on port %d", spec.id, (int)pid, spec.port);
        agent_event(a, n, "node_adopted", "%s adopted (pid %d)", spec.id, (int)pid);
        return;
    }
    if (spec.role == ROLE_PRIMARY && !engine_get(spec.engine)->restart_in_place) {
        /* An empty primary would wipe its replicas (an empty memcached node
         * would hide behind an unchanged list): wait for the controller. */
        node_set_health(a, n, HEALTH_DOWN, "not running when the agent started; a primary is not restarted");
        store_save(a, n);
        return;
    }
    if (proc_launch(a, n, err, sizeof(err)) != 0) {
        node_set_health(a, n, HEALTH_DOWN, err);
        return;
    }
    n->restarts++;
    a->count.node_restarts++;
    store_save(a, n);
    agent_event(a, n, "node_restarted", "replica %s was not running; relaunched (pid %d)", spec.id, (int)n->pid);
}

void agent_restore(struct agent *a)
{
    pthread_mutex_lock(&a->lock);
    int count = store_load_all(a, restore_one, NULL);
    pthread_mutex_unlock(&a->lock);
    if (count > 0) log_msg(LOG_NOTICE, "restored %d stored node spec(s)", count);
}
