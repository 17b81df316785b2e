/* validate.c: request-body validation for the user API (see validate.h).
 * Strict on purpose: unknown fields and wrong types are refused rather
 * than ignored, so a typo never silently becomes a default. */
#include "validate.h"

#include <stdio.h>
#include <string.h>

#include "engine_caps.h"
#include "json.h"

#define REPLICAS_MAX 5
#define SHARDS_MAX 500
#define MEMORY_MB_MAX (1024LL * 1024)

static const char *const create_fields[] = {"name", "engine", "shards", "replicas", "node_memory_mb",
                                            "cluster_mode", "eviction_policy", "auth_token", "nodes", NULL};
static const char *const modify_fields[] = {"replicas", "node_memory_mb", "shards", "nodes", NULL};
/* Any engine's node count is within this; each engine's range is its own. */
#define NODES_MAX 1000
static const char *const policies[] = {"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
                                       "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", NULL};

int valid_cluster_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 40) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-')) return 0;
    return 1;
}

static int fail(char *err, size_t errlen, const char *fmt, const char *what)
{
    snprintf(err, errlen, fmt, what);
    return -1;
}

/* The ElastiCache AUTH rule, as the agent checks it: 16..128 printable
 * characters without space, quotes, backslash, '/' or '@'. */
static int valid_token(const char *s, size_t len)
{
    if (len != strlen(s) || len < VALIDATE_TOKEN_MIN || len > VALIDATE_TOKEN_MAX) return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= ' ' || s[i] >= 127 || strchr("\"'\\/@", s[i])) return 0;
    return 1;
}

static int take_int(const json_t *body, const char *key, long long lo, long long hi, long long *dst, char *err,
                    size_t errlen)
{
    json_t *v = json_object_get(body, key);
    if (v == NULL) return 0;
    if (!json_is_integer(v)) return fail(err, errlen, "'%s' must be an integer", key);
    long long x = json_integer_value(v);
    if (x < lo || x > hi) {
        snprintf(err, errlen, "'%s' must be between %lld and %lld", key, lo, hi);
        return -1;
    }
    *dst = x;
    return 0;
}

static json_t *load_object(const char *body, const char *const *fields, char *err, size_t errlen)
{
    json_error_t je;
    if (body == NULL || *body == '\0') {
        fail(err, errlen, "%s", "the request body is empty; a JSON object is expected");
        return NULL;
    }
    json_t *doc = json_loads(body, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL) {
        snprintf(err, errlen, "the body is not valid JSON: %s", je.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        fail(err, errlen, "%s", "the body must be a JSON object");
        return NULL;
    }
    const char *unknown = json_unknown_key(doc, fields);
    if (unknown) {
        char field[64];
        snprintf(field, sizeof(field), "%s", unknown); /* bounded: the key is user input */
        json_decref(doc);
        fail(err, errlen, "unknown field '%s'", field);
        return NULL;
    }
    return doc;
}

static int parse_name(const json_t *doc, struct create_request *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(doc, "name");
    if (v == NULL) return fail(err, errlen, "%s", "'name' is required");
    if (!json_is_string(v)) return fail(err, errlen, "%s", "'name' must be a string");
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v) || !valid_cluster_name(s))
        return fail(err, errlen, "%s", "'name' must be 1 to 40 characters of a-z, 0-9 and '-'");
    snprintf(out->name, sizeof(out->name), "%s", s);
    return 0;
}

static int parse_strings(const json_t *doc, struct create_request *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(doc, "engine");
    if (v && !json_is_string(v)) return fail(err, errlen, "%s", "'engine' must be a string");
    const char *engine = v ? json_string_value(v) : "redis";
    if (engine_by_name(engine) == NULL) return fail(err, errlen, "'engine' must be %s", engine_names());
    snprintf(out->engine, sizeof(out->engine), "%s", engine);

    v = json_object_get(doc, "eviction_policy");
    if (v && !json_is_string(v)) return fail(err, errlen, "%s", "'eviction_policy' must be a string");
    const char *policy = v ? json_string_value(v) : "allkeys-lru";
    int known = 0;
    for (const char *const *p = policies; *p && !known; p++) known = strcmp(*p, policy) == 0;
    if (!known) return fail(err, errlen, "%s", "'eviction_policy' is not a known maxmemory policy");
    snprintf(out->eviction_policy, sizeof(out->eviction_policy), "%s", policy);

    v = json_object_get(doc, "auth_token");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) return fail(err, errlen, "%s", "'auth_token' must be a string or null");
        if (!valid_token(json_string_value(v), json_string_length(v)))
            return fail(err, errlen, "%s",
                        "'auth_token' must be 16 to 128 printable characters without space, quotes, '\\', '/' or '@'");
        snprintf(out->auth_token, sizeof(out->auth_token), "%s", json_string_value(v));
    }
    return 0;
}

static int parse_counts(const json_t *doc, struct create_request *out, char *err, size_t errlen)
{
    long long shards = 1, replicas = 1, memory = 64;
    if (take_int(doc, "shards", 1, SHARDS_MAX, &shards, err, errlen) ||
        take_int(doc, "replicas", 0, REPLICAS_MAX, &replicas, err, errlen) ||
        take_int(doc, "node_memory_mb", 1, MEMORY_MB_MAX, &memory, err, errlen))
        return -1;
    json_t *v = json_object_get(doc, "cluster_mode");
    if (v && !json_is_boolean(v)) return fail(err, errlen, "%s", "'cluster_mode' must be true or false");
    out->cluster_mode = v ? json_is_true(v) : 0;
    if (shards > 1 && !out->cluster_mode)
        return fail(err, errlen, "%s", "'shards' must be 1 when cluster_mode is false (cluster mode takes 1 to 500)");
    out->shards = (int)shards;
    out->replicas = (int)replicas;
    out->node_memory_mb = memory;
    return 0;
}

/* A field the engine has no use for is refused, not ignored. */
static int refuse_unsupported(const json_t *doc, const struct engine_caps *e, char *err, size_t errlen)
{
    const char *field = NULL;
    json_t *auth = json_object_get(doc, "auth_token");
    if (!e->shards && json_object_get(doc, "shards")) field = "shards";
    else if (!e->replicas && json_object_get(doc, "replicas")) field = "replicas";
    else if (!e->cluster_mode && json_is_true(json_object_get(doc, "cluster_mode"))) field = "cluster_mode";
    else if (!e->auth && auth && !json_is_null(auth)) field = "auth_token";
    else if (!e->eviction_policies && json_object_get(doc, "eviction_policy")) field = "eviction_policy";
    else if (e->max_nodes == 0 && json_object_get(doc, "nodes")) field = "nodes";
    if (field == NULL) return 0;
    snprintf(err, errlen, "'%s' does not apply to engine '%s'%s", field, e->name,
             e->max_nodes ? "; give 'nodes' (how many nodes) instead of shards and replicas"
                          : "; give 'shards' and 'replicas'");
    return -1;
}

/* The node count of an engine without shards; shards and replicas (1 and
 * 0) then describe it for the rest of the controller. */
static int parse_nodes(const json_t *doc, const struct engine_caps *e, struct create_request *out, char *err,
                       size_t errlen)
{
    if (e->max_nodes == 0) return 0;
    long long nodes = e->min_nodes;
    if (take_int(doc, "nodes", e->min_nodes, e->max_nodes, &nodes, err, errlen)) return -1;
    out->nodes = (int)nodes;
    out->shards = 1;
    out->replicas = 0;
    return 0;
}

int parse_create(const char *body, struct create_request *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    json_t *doc = load_object(body, create_fields, err, errlen);
    if (doc == NULL) return -1;
    int rc = parse_name(doc, out, err, errlen) || parse_strings(doc, out, err, errlen) ? -1 : 0;
    const struct engine_caps *e = rc == 0 ? engine_by_name(out->engine) : NULL;
    if (rc == 0)
        rc = refuse_unsupported(doc, e, err, errlen) || parse_counts(doc, out, err, errlen) ||
             parse_nodes(doc, e, out, err, errlen) ? -1 : 0;
    json_decref(doc);
    return rc;
}

int parse_modify(const char *body, struct modify_request *out, char *err, size_t errlen)
{
    out->replicas = -1;
    out->node_memory_mb = -1;
    out->shards = -1;
    out->nodes = -1;
    json_t *doc = load_object(body, modify_fields, err, errlen);
    if (doc == NULL) return -1;
    long long replicas = -1, memory = -1, shards = -1, nodes = -1;
    int rc = -1;
    if (json_object_size(doc) != 1)
        fail(err, errlen, "%s", "give exactly one of 'replicas', 'node_memory_mb', 'shards' or 'nodes'");
    else if (take_int(doc, "replicas", 0, REPLICAS_MAX, &replicas, err, errlen) == 0 &&
             take_int(doc, "node_memory_mb", 1, MEMORY_MB_MAX, &memory, err, errlen) == 0 &&
             take_int(doc, "shards", 1, SHARDS_MAX, &shards, err, errlen) == 0 &&
             take_int(doc, "nodes", 1, NODES_MAX, &nodes, err, errlen) == 0)
        rc = 0;
    json_decref(doc);
    out->replicas = (int)replicas;
    out->node_memory_mb = memory;
    out->shards = (int)shards;
    out->nodes = (int)nodes;
    return rc;
}
