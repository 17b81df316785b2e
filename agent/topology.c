/* topology.c: the cluster topology of a node spec (see topology.h). Parsing
 * collects the SETTOPOLOGY argument vector while it validates, and packs it
 * into one allocation; the JSON form is read back from that vector. */
#include "topology.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "slots.h"
#include "spec.h"

/* The argument vector while it is collected: pointers into the JSON (or
 * into num[] for the numbers). */
struct collect {
    const char **src;
    char (*num)[24];
    int argc, cap;
    const char **shard_ids, **node_ids;
    size_t nshards, nnodes;
    unsigned char owned[SLOTS_COUNT];
};

static int fail(char *err, size_t errlen, const char *msg, const char *what)
{
    snprintf(err, errlen, msg, what);
    return -1;
}

static int push_str(struct collect *c, const char *s)
{
    if (c->argc >= c->cap) return -1;
    c->src[c->argc++] = s;
    return 0;
}

static int push_num(struct collect *c, long long v)
{
    if (c->argc >= c->cap) return -1;
    snprintf(c->num[c->argc], sizeof(c->num[0]), "%lld", v);
    c->src[c->argc] = c->num[c->argc];
    c->argc++;
    return 0;
}

static struct topology *pack(long long epoch, int argc, const char *const *src)
{
    size_t bytes = 0;
    for (int i = 0; i < argc; i++) bytes += strlen(src[i]) + 1;
    size_t head = sizeof(struct topology) + (size_t)(argc + 1) * sizeof(char *);
    char *mem = malloc(head + bytes);
    if (mem == NULL) return NULL;
    struct topology *t = (struct topology *)mem;
    const char **argv = (const char **)(mem + sizeof(*t));
    char *p = mem + head;
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(src[i]) + 1;
        memcpy(p, src[i], n);
        argv[i] = p;
        p += n;
    }
    argv[argc] = NULL;
    t->epoch = epoch;
    t->argc = argc;
    t->argv = argv;
    return t;
}

/* ---- parsing ------------------------------------------------------------- */

static const char *string_member(const json_t *o, const char *key, size_t max)
{
    json_t *v = json_object_get(o, key);
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) != json_string_length(v) || strlen(s) > max) return NULL;
    return s;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* 1 when the n strings are distinct (sorts them). */
static int distinct(const char **ids, size_t n)
{
    qsort(ids, n, sizeof(*ids), cmp_str);
    for (size_t i = 1; i < n; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0) return 0;
    return 1;
}

/* An object with only these fields (what: "node {id, host, port}"). */
static int check_object(const json_t *o, const char *const *fields, const char *what, char *err, size_t errlen)
{
    if (!json_is_object(o)) return fail(err, errlen, "topology: a %s must be an object", what);
    const char *unknown = json_unknown_key(o, fields);
    if (unknown) return fail(err, errlen, "topology: unknown field '%.64s'", unknown);
    return 0;
}

static int parse_node(struct collect *c, const json_t *n, char *err, size_t errlen)
{
    static const char *const fields[] = {"id", "host", "port", NULL};
    if (check_object(n, fields, "node {id, host, port}", err, errlen) != 0) return -1;
    const char *id = string_member(n, "id", SPEC_NAME_MAX), *host = string_member(n, "host", SPEC_HOST_MAX);
    json_t *port = json_object_get(n, "port");
    if (id == NULL || !spec_valid_name(id)) return fail(err, errlen, "%s", "topology: a node id is [A-Za-z0-9_-]{1,64}");
    if (host == NULL || !spec_valid_host(host)) return fail(err, errlen, "topology: node %s has no valid host", id);
    if (!json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535)
        return fail(err, errlen, "topology: node %s needs a port from 1 to 65535", id);
    if (c->nnodes >= TOPO_MAX_NODES) return fail(err, errlen, "%s", "topology: too many nodes");
    c->node_ids[c->nnodes++] = id;
    if (push_str(c, id) || push_str(c, host) || push_num(c, json_integer_value(port)))
        return fail(err, errlen, "%s", "topology: too many arguments");
    return 0;
}

static int parse_shard(struct collect *c, const json_t *s, char *err, size_t errlen)
{
    static const char *const fields[] = {"id", "slots", "nodes", NULL};
    if (check_object(s, fields, "shard {id, slots, nodes}", err, errlen) != 0) return -1;
    const char *id = string_member(s, "id", SPEC_NAME_MAX), *slots = string_member(s, "slots", SLOTS_TEXT_MAX);
    json_t *nodes = json_object_get(s, "nodes");
    if (id == NULL || !spec_valid_name(id)) return fail(err, errlen, "%s", "topology: a shard id is [A-Za-z0-9_-]{1,64}");
    if (slots == NULL) return fail(err, errlen, "topology: shard %s needs its slots as text", id);
    if (slots_parse(slots, c->owned) != 0)
        return fail(err, errlen, "topology: shard %s: slots must be \"-\" or slots and ranges such as \"0-5460,5462\","
                    " in 0-16383, each slot in one shard only", id);
    size_t n = json_array_size(nodes);
    if (!json_is_array(nodes) || n < 1 || n > TOPO_MAX_SHARD_NODES)
        return fail(err, errlen, "topology: shard %s needs 1 to 16 nodes", id);
    c->shard_ids[c->nshards++] = id;
    if (push_str(c, id) || push_str(c, slots) || push_num(c, (long long)n))
        return fail(err, errlen, "%s", "topology: too many arguments");
    for (size_t i = 0; i < n; i++)
        if (parse_node(c, json_array_get(nodes, i), err, errlen) != 0) return -1;
    return 0;
}

static int parse_all(struct collect *c, const json_t *v, long long *epoch, char *err, size_t errlen)
{
    static const char *const fields[] = {"epoch", "shards", NULL};
    if (check_object(v, fields, "topology {epoch, shards}", err, errlen) != 0) return -1;
    json_t *e = json_object_get(v, "epoch"), *shards = json_object_get(v, "shards");
    if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > TOPO_EPOCH_MAX)
        return fail(err, errlen, "%s", "topology: 'epoch' must be a positive integer");
    size_t n = json_array_size(shards);
    if (!json_is_array(shards) || n < 1 || n > TOPO_MAX_SHARDS)
        return fail(err, errlen, "%s", "topology: 'shards' must be an array of 1 to 1024 shards");
    *epoch = json_integer_value(e);
    if (push_str(c, "CLUSTER") || push_str(c, "SETTOPOLOGY") || push_num(c, *epoch) || push_num(c, (long long)n))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (parse_shard(c, json_array_get(shards, i), err, errlen) != 0) return -1;
    if (!distinct(c->shard_ids, c->nshards)) return fail(err, errlen, "%s", "topology: two shards have the same id");
    if (!distinct(c->node_ids, c->nnodes)) return fail(err, errlen, "%s", "topology: a node id appears twice");
    return 0;
}

struct topology *topology_parse(const json_t *v, char *err, size_t errlen)
{
    struct collect *c = calloc(1, sizeof(*c));
    if (c == NULL) { fail(err, errlen, "%s", "out of memory"); return NULL; }
    c->cap = 4 + TOPO_MAX_SHARDS * 3 + TOPO_MAX_NODES * 3;
    c->src = calloc((size_t)c->cap, sizeof(*c->src));
    c->num = calloc((size_t)c->cap, sizeof(*c->num));
    c->shard_ids = calloc(TOPO_MAX_SHARDS, sizeof(*c->shard_ids));
    c->node_ids = calloc(TOPO_MAX_NODES, sizeof(*c->node_ids));
    struct topology *t = NULL;
    long long epoch = 0;
    if (c->src == NULL || c->num == NULL || c->shard_ids == NULL || c->node_ids == NULL)
        fail(err, errlen, "%s", "out of memory");
    else if (parse_all(c, v, &epoch, err, errlen) == 0 && (t = pack(epoch, c->argc, c->src)) == NULL)
        fail(err, errlen, "%s", "out of memory");
    free(c->src);
    free(c->num);
    free(c->shard_ids);
    free(c->node_ids);
    free(c);
    return t;
}

/* ---- the rest ------------------------------------------------------------ */

struct topology *topology_dup(const struct topology *t)
{
    return t ? pack(t->epoch, t->argc, t->argv) : NULL;
}

void topology_free(struct topology *t) { free(t); }

int topology_equal(const struct topology *a, const struct topology *b)
{
    if (a == NULL || b == NULL) return a == b;
    if (a->epoch != b->epoch || a->argc != b->argc) return 0;
    for (int i = 0; i < a->argc; i++)
        if (strcmp(a->argv[i], b->argv[i]) != 0) return 0;
    return 1;
}

/* Reads node i of a shard back from the vector; advances *i. */
static json_t *node_json(const struct topology *t, int *i)
{
    json_t *n = json_pack("{s:s,s:s,s:i}", "id", t->argv[*i], "host", t->argv[*i + 1], "port", atoi(t->argv[*i + 2]));
    *i += 3;
    return n;
}

json_t *topology_to_json(const struct topology *t)
{
    json_t *shards = json_array();
    int i = 4;
    for (int s = 0; shards && s < atoi(t->argv[3]) && i + 3 <= t->argc; s++) {
        json_t *nodes = json_array();
        int count = atoi(t->argv[i + 2]);
        json_array_append_new(shards, json_pack("{s:s,s:s,s:o}", "id", t->argv[i], "slots", t->argv[i + 1], "nodes",
                                                nodes ? nodes : json_array()));
        i += 3;
        for (int k = 0; k < count && i + 3 <= t->argc; k++) json_array_append_new(nodes, node_json(t, &i));
    }
    return json_pack("{s:I,s:o}", "epoch", (json_int_t)t->epoch, "shards", shards ? shards : json_array());
}
