/* spec.c: node spec parsing and validation (see spec.h). Validation is
 * strict on purpose: every value here ends up in a file name, an argv
 * element or a command sent to the node. */
#include "spec.h"

#include "json.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char *const spec_fields[] = {
    "id", "cluster", "shard", "role", "memory_mb", "engine", "port", "primary",
    "auth_token", "eviction_policy", "generation", "cluster_mode", "topology", "discovery", NULL};

static const char *const eviction_policies[] = {
    "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", NULL};

#define MEMORY_MB_MAX (1024LL * 1024) /* 1 TiB: beyond any host we run on */

int spec_valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SPEC_NAME_MAX || s[0] == '-') return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_') return 0;
    return 1;
}

int spec_valid_host(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SPEC_HOST_MAX || s[0] == '-') return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(".-:_", s[i])) return 0;
    return 1;
}

/* Printable ASCII without space, quotes, backslash, '/' and '@' (the
 * ElastiCache AUTH token rule), so it survives a config-file line. */
static int valid_token(const char *s)
{
    size_t n = strlen(s);
    if (n < SPEC_TOKEN_MIN || n > SPEC_TOKEN_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] >= 127 || strchr("\"'\\/@", s[i])) return 0;
    return 1;
}

static int fail(char *err, size_t errlen, const char *fmt, const char *what)
{
    snprintf(err, errlen, fmt, what);
    return -1;
}

/* Copies a required string member after checking it with valid(). */
static int take_name(const json_t *body, const char *key, char *dst, size_t dstlen, int (*valid)(const char *),
                     char *err, size_t errlen)
{
    json_t *v = json_object_get(body, key);
    if (v == NULL) return fail(err, errlen, "'%s' is required", key);
    if (!json_is_string(v)) return fail(err, errlen, "'%s' must be a string", key);
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v) || !valid(s) || strlen(s) >= dstlen)
        return fail(err, errlen, "'%s' has characters or a length that are not allowed", key);
    snprintf(dst, dstlen, "%s", s);
    return 0;
}

static int take_int(const json_t *body, const char *key, int required, long long lo, long long hi,
                    long long *dst, char *err, size_t errlen)
{
    json_t *v = json_object_get(body, key);
    if (v == NULL || (json_is_null(v) && !required)) {
        if (required) return fail(err, errlen, "'%s' is required", key);
        return 0;
    }
    if (!json_is_integer(v)) return fail(err, errlen, "'%s' must be an integer", key);
    long long x = json_integer_value(v);
    if (x < lo || x > hi) return fail(err, errlen, "'%s' is out of range", key);
    *dst = x;
    return 0;
}

static int parse_engine(const json_t *body, struct node_spec *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(body, "engine");
    const struct engine_caps *e = v ? engine_by_name(json_string_value(v)) : engine_get(ENGINE_REDIS);
    if (e == NULL) {
        snprintf(err, errlen, "'engine' must be %s", engine_names());
        return -1;
    }
    out->engine = e->id;
    return 0;
}

static int parse_enum(const json_t *body, const char *key, const char *a, const char *b, int dflt, int *dst,
                      char *err, size_t errlen)
{
    json_t *v = json_object_get(body, key);
    if (v == NULL) {
        if (dflt < 0) return fail(err, errlen, "'%s' is required", key);
        *dst = dflt;
        return 0;
    }
    const char *s = json_string_value(v);
    if (s && strcmp(s, a) == 0) *dst = 0;
    else if (s && strcmp(s, b) == 0) *dst = 1;
    else {
        snprintf(err, errlen, "'%s' must be \"%s\" or \"%s\"", key, a, b);
        return -1;
    }
    return 0;
}

static int parse_primary(const json_t *body, struct node_spec *out, char *err, size_t errlen)
{
    json_t *p = json_object_get(body, "primary");
    if (p == NULL || json_is_null(p)) {
        if (out->role == ROLE_REPLICA) return fail(err, errlen, "'%s' {host, port} is required for a replica", "primary");
        return 0;
    }
    if (out->role == ROLE_PRIMARY) return fail(err, errlen, "'%s' is only allowed for a replica", "primary");
    if (!json_is_object(p)) return fail(err, errlen, "'%s' must be an object {host, port}", "primary");
    static const char *const primary_fields[] = {"host", "port", NULL};
    const char *unknown = json_unknown_key(p, primary_fields);
    if (unknown) return fail(err, errlen, "unknown field 'primary.%s'", unknown);
    if (take_name(p, "host", out->primary_host, sizeof(out->primary_host), spec_valid_host, err, errlen)) return -1;
    long long port = 0;
    if (take_int(p, "port", 1, 1, 65535, &port, err, errlen)) return -1;
    out->primary_port = (int)port;
    return 0;
}

static int parse_policy(const json_t *body, struct node_spec *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(body, "eviction_policy");
    snprintf(out->eviction_policy, sizeof(out->eviction_policy), "%s", "allkeys-lru");
    if (v == NULL || json_is_null(v)) return 0;
    const char *s = json_string_value(v);
    for (const char *const *p = eviction_policies; s && *p; p++)
        if (strcmp(*p, s) == 0) {
            snprintf(out->eviction_policy, sizeof(out->eviction_policy), "%s", s);
            return 0;
        }
    return fail(err, errlen, "'%s' is not a known maxmemory policy", "eviction_policy");
}

static int parse_token(const json_t *body, struct node_spec *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(body, "auth_token");
    out->auth_token[0] = '\0';
    if (v == NULL || json_is_null(v)) return 0;
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) != json_string_length(v) || !valid_token(s))
        return fail(err, errlen, "'%s' must be 16 to 128 printable characters without space, quotes, '\\', '/' or '@'",
                    "auth_token");
    snprintf(out->auth_token, sizeof(out->auth_token), "%s", s);
    return 0;
}

static int parse_cluster_mode(const json_t *body, struct node_spec *out, char *err, size_t errlen)
{
    json_t *mode = json_object_get(body, "cluster_mode"), *topo = json_object_get(body, "topology");
    if (mode && !json_is_boolean(mode)) return fail(err, errlen, "'%s' must be true or false", "cluster_mode");
    out->cluster_mode = json_is_true(mode);
    if (topo == NULL || json_is_null(topo)) return 0;
    if (!out->cluster_mode) return fail(err, errlen, "'%s' is only allowed with cluster_mode true", "topology");
    out->topology = topology_parse(topo, err, errlen);
    return out->topology ? 0 : -1;
}

static int parse_discovery(const json_t *body, struct node_spec *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(body, "discovery");
    if (v == NULL || json_is_null(v)) return 0;
    out->discovery = discovery_parse(v, err, errlen);
    return out->discovery ? 0 : -1;
}

/* What the spec asks of its engine must be something the engine does. */
static int check_engine(const struct node_spec *s, char *err, size_t errlen)
{
    const struct engine_caps *e = engine_get(s->engine);
    const char *what = s->role == ROLE_REPLICA && !e->replicas    ? "replicas"
                       : s->cluster_mode && !e->cluster_mode     ? "cluster_mode"
                       : s->auth_token[0] && !e->auth            ? "auth_token"
                       : s->discovery && !e->discovery           ? "discovery"
                                                                 : NULL;
    if (what == NULL) return 0;
    snprintf(err, errlen, "engine '%s' does not support %s", e->name, what);
    return -1;
}

int spec_parse(const char *id, const json_t *body, struct node_spec *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!spec_valid_name(id)) return fail(err, errlen, "%s", "the node id is not allowed (want [A-Za-z0-9_-], 1..64)");
    snprintf(out->id, sizeof(out->id), "%s", id);
    if (!json_is_object(body)) return fail(err, errlen, "%s", "the body must be a JSON object");
    const char *unknown = json_unknown_key(body, spec_fields);
    if (unknown) return fail(err, errlen, "unknown field '%s'", unknown);
    json_t *idv = json_object_get(body, "id");
    if (idv && (!json_is_string(idv) || strcmp(json_string_value(idv), id) != 0))
        return fail(err, errlen, "%s", "'id' in the body does not match the path");
    int role = 0;
    long long port = 0;
    if (take_name(body, "cluster", out->cluster, sizeof(out->cluster), spec_valid_name, err, errlen) ||
        take_name(body, "shard", out->shard, sizeof(out->shard), spec_valid_name, err, errlen) ||
        parse_enum(body, "role", "primary", "replica", -1, &role, err, errlen) ||
        parse_engine(body, out, err, errlen) ||
        take_int(body, "memory_mb", 1, 1, MEMORY_MB_MAX, &out->memory_mb, err, errlen) ||
        take_int(body, "port", 0, 0, 65535, &port, err, errlen) ||
        take_int(body, "generation", 1, 0, (1LL << 53), &out->generation, err, errlen))
        return -1;
    out->role = (enum node_role)role;
    out->port = (int)port;
    if (parse_primary(body, out, err, errlen) || parse_policy(body, out, err, errlen) ||
        parse_token(body, out, err, errlen) || parse_cluster_mode(body, out, err, errlen) ||
        parse_discovery(body, out, err, errlen) || check_engine(out, err, errlen)) {
        spec_release(out);
        return -1;
    }
    return 0;
}

void spec_release(struct node_spec *s)
{
    topology_free(s->topology);
    discovery_free(s->discovery);
    s->topology = NULL;
    s->discovery = NULL;
}

void spec_move(struct node_spec *dst, struct node_spec *src)
{
    if (dst == src) return;
    if (dst->topology != src->topology) topology_free(dst->topology);
    if (dst->discovery != src->discovery) discovery_free(dst->discovery);
    *dst = *src;
    src->topology = NULL;
    src->discovery = NULL;
}

int spec_same(const struct node_spec *a, const struct node_spec *b)
{
    return strcmp(a->id, b->id) == 0 && strcmp(a->cluster, b->cluster) == 0 &&
           strcmp(a->shard, b->shard) == 0 && a->role == b->role && a->engine == b->engine &&
           a->memory_mb == b->memory_mb && (a->port == 0 || b->port == 0 || a->port == b->port) &&
           strcmp(a->primary_host, b->primary_host) == 0 && a->primary_port == b->primary_port &&
           strcmp(a->auth_token, b->auth_token) == 0 && strcmp(a->eviction_policy, b->eviction_policy) == 0 &&
           a->generation == b->generation && a->cluster_mode == b->cluster_mode &&
           topology_equal(a->topology, b->topology) && discovery_equal(a->discovery, b->discovery);
}

const char *spec_role_name(enum node_role r) { return r == ROLE_REPLICA ? "replica" : "primary"; }
const char *spec_engine_name(enum engine_id e) { return engine_get(e)->name; }

json_t *spec_to_json(const struct node_spec *s, int with_secret)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:i,s:s,s:I}", "id", s->id, "cluster", s->cluster,
                          "shard", s->shard, "role", spec_role_name(s->role), "engine", spec_engine_name(s->engine),
                          "memory_mb", (json_int_t)s->memory_mb, "port", s->port, "eviction_policy",
                          s->eviction_policy, "generation", (json_int_t)s->generation);
    if (o == NULL) return NULL;
    if (s->role == ROLE_REPLICA)
        json_object_set_new(o, "primary", json_pack("{s:s,s:i}", "host", s->primary_host, "port", s->primary_port));
    json_object_set_new(o, "cluster_mode", json_boolean(s->cluster_mode));
    if (with_secret) {
        if (s->auth_token[0]) json_object_set_new(o, "auth_token", json_string(s->auth_token));
        if (s->topology) json_object_set_new(o, "topology", topology_to_json(s->topology));
        if (s->discovery) json_object_set_new(o, "discovery", discovery_to_json(s->discovery));
    } else {
        json_object_set_new(o, "auth", json_boolean(s->auth_token[0] != '\0'));
        json_object_set_new(o, "desired_topology_epoch", s->topology ? json_integer(s->topology->epoch) : json_null());
        if (engine_get(s->engine)->discovery)
            json_object_set_new(o, "desired_discovery_version",
                                s->discovery ? json_integer(s->discovery->version) : json_null());
    }
    return o;
}
