/* cluster_topo.c: the cluster topology's arguments (CLUSTER SETTOPOLOGY,
 * docs/cluster.md) parsed and validated in full before anyone uses them,
 * its canonical text (what the cluster-config-file holds and how two
 * topologies are compared), and look-ups in it. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cluster_topo.h"
#include "sha1.h"

#define TOPO_TEXT_MAX (64LL * 1024 * 1024)

struct cursor {
    const arg *argv;
    int argc, i;
    int total_nodes;
    char *err;
    size_t errlen;
};

static int bad(struct cursor *cu, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct cursor *cu, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(cu->err, cu->errlen, "ERR invalid topology: %s", why);
    return -1;
}

static const arg *next_arg(struct cursor *cu, const char *what)
{
    if (cu->i < cu->argc) return &cu->argv[cu->i++];
    bad(cu, "%s is missing", what);
    return NULL;
}

static int left(const struct cursor *cu) { return cu->argc - cu->i; }

static int parse_count(struct cursor *cu, const char *what, long long min, long long max, long long *out)
{
    const arg *a = next_arg(cu, what);
    if (a == NULL) return -1;
    if (!string2ll(a->p, a->len, out) || *out < min || *out > max)
        return bad(cu, "%s must be an integer from %lld to %lld", what, min, max);
    return 0;
}

static int name_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
           ch == '-';
}

static int parse_name(struct cursor *cu, const char *what, char out[TOPO_NAME_MAX + 1], char id[41])
{
    const arg *a = next_arg(cu, what);
    if (a == NULL) return -1;
    if (!topology_name_ok(a->p, a->len)) return bad(cu, "%s must be 1 to %d of [A-Za-z0-9_-]", what, TOPO_NAME_MAX);
    memcpy(out, a->p, a->len);
    out[a->len] = '\0';
    sha1_hex(out, a->len, id);
    return 0;
}

static int parse_host(struct cursor *cu, char out[TOPO_HOST_MAX + 1])
{
    const arg *a = next_arg(cu, "host");
    if (a == NULL) return -1;
    int ok = a->len >= 1 && a->len <= TOPO_HOST_MAX;
    for (size_t i = 0; ok && i < a->len; i++) ok = a->p[i] > ' ' && a->p[i] < 0x7f;
    if (!ok) return bad(cu, "a host must be 1 to %d printable characters without spaces", TOPO_HOST_MAX);
    memcpy(out, a->p, a->len);
    out[a->len] = '\0';
    return 0;
}

/* One "N" or "N-M" of a slot list into [*lo, *hi]. */
static int parse_slot_item(struct cursor *cu, const char *p, size_t len, long long *lo, long long *hi)
{
    const char *dash = memchr(p, '-', len);
    size_t first_len = dash ? (size_t)(dash - p) : len;
    if (!string2ll(p, first_len, lo)) return bad(cu, "bad slot range '%.*s'", (int)(len > 32 ? 32 : len), p);
    *hi = *lo;
    if (dash && !string2ll(dash + 1, len - first_len - 1, hi))
        return bad(cu, "bad slot range '%.*s'", (int)(len > 32 ? 32 : len), p);
    if (*lo < 0 || *hi >= CLUSTER_SLOTS || *lo > *hi)
        return bad(cu, "slot range %lld-%lld is not within 0-%d or is reversed", *lo, *hi, CLUSTER_SLOTS - 1);
    return 0;
}

static int claim_slots(struct cursor *cu, struct topology *t, int shard, long long lo, long long hi)
{
    for (long long s = lo; s <= hi; s++) {
        if (t->owner[s] != -1)
            return bad(cu, "slot %lld is assigned twice (shards %s and %s)", s, t->shards[t->owner[s]].name,
                       t->shards[shard].name);
        t->owner[s] = (int16_t)shard;
    }
    return 0;
}

static int parse_slots(struct cursor *cu, struct topology *t, int shard)
{
    const arg *a = next_arg(cu, "slots");
    if (a == NULL) return -1;
    if (a->len == 1 && a->p[0] == '-') return 0;
    const char *p = a->p, *end = a->p + a->len;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t len = comma ? (size_t)(comma - p) : (size_t)(end - p);
        long long lo, hi;
        if (parse_slot_item(cu, p, len, &lo, &hi) == -1 || claim_slots(cu, t, shard, lo, hi) == -1) return -1;
        if (comma == NULL) break;
        p = comma + 1;
    }
    return 0;
}

int topology_parse_slot_set(const arg *a, unsigned char bits[SLOT_BITMAP_BYTES], char *err, size_t errlen)
{
    struct cursor cu = {.argv = a, .argc = 1, .i = 0, .err = err, .errlen = errlen};
    const char *p = a->p, *end = a->p + a->len;
    memset(bits, 0, SLOT_BITMAP_BYTES);
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t len = comma ? (size_t)(comma - p) : (size_t)(end - p);
        long long lo, hi;
        if (parse_slot_item(&cu, p, len, &lo, &hi) == -1) return -1;
        for (long long s = lo; s <= hi; s++) slot_bit_set(bits, (unsigned)s);
        if (comma == NULL) break;
        p = comma + 1;
    }
    return 0;
}

int topology_name_ok(const char *p, size_t len)
{
    int ok = len >= 1 && len <= TOPO_NAME_MAX;
    for (size_t i = 0; ok && i < len; i++) ok = name_char_ok(p[i]);
    return ok;
}

/* Whether a node or shard named `name` came before (names are unique). */
static int name_taken(const struct topology *t, int shards, int nodes_in_last, const char *name, int node)
{
    for (int s = 0; s < shards; s++) {
        const struct topo_shard *sh = &t->shards[s];
        if (!node && s < shards - 1 && strcmp(sh->name, name) == 0) return 1;
        int n = s == shards - 1 ? nodes_in_last : sh->nnodes;
        for (int i = 0; node && i < n; i++)
            if (strcmp(sh->nodes[i].name, name) == 0) return 1;
    }
    return 0;
}

static int parse_node(struct cursor *cu, struct topology *t, int shard, int index)
{
    struct topo_node *n = &t->shards[shard].nodes[index];
    long long port;
    if (parse_name(cu, "a node id", n->name, n->id) == -1) return -1;
    if (name_taken(t, shard + 1, index, n->name, 1)) return bad(cu, "node %s appears twice", n->name);
    if (parse_host(cu, n->host) == -1 || parse_count(cu, "a port", 1, 65535, &port) == -1) return -1;
    n->port = (int)port;
    return 0;
}

static int parse_shard(struct cursor *cu, struct topology *t, int shard)
{
    struct topo_shard *sh = &t->shards[shard];
    long long nnodes;
    if (parse_name(cu, "a shard id", sh->name, sh->id) == -1) return -1;
    if (name_taken(t, shard + 1, 0, sh->name, 0)) return bad(cu, "shard %s appears twice", sh->name);
    if (parse_slots(cu, t, shard) == -1) return -1;
    if (parse_count(cu, "a node count", 1, TOPO_MAX_SHARD_NODES, &nnodes) == -1) return -1;
    if (nnodes > left(cu) / 3) return bad(cu, "shard %s has fewer nodes than its count", sh->name);
    cu->total_nodes += (int)nnodes;
    if (cu->total_nodes > TOPO_MAX_NODES) return bad(cu, "more than %d nodes", TOPO_MAX_NODES);
    sh->nodes = zcalloc(sizeof(struct topo_node) * (size_t)nnodes);
    sh->nnodes = (int)nnodes;
    for (int i = 0; i < sh->nnodes; i++)
        if (parse_node(cu, t, shard, i) == -1) return -1;
    return 0;
}

int topology_parse(const arg *argv, int argc, struct topology *t, char *err, size_t errlen)
{
    struct cursor cu = {argv, argc, 0, 0, err, errlen};
    long long epoch, nshards;
    topology_init(t);
    if (parse_count(&cu, "the epoch", 1, LLONG_MAX, &epoch) == -1) return -1;
    if (parse_count(&cu, "the shard count", 0, CLUSTER_SLOTS, &nshards) == -1) return -1;
    if (nshards > left(&cu) / 6) return bad(&cu, "fewer shards than the shard count");
    t->epoch = epoch;
    t->shards = nshards ? zcalloc(sizeof(struct topo_shard) * (size_t)nshards) : NULL;
    for (int s = 0; s < nshards; s++) {
        t->nshards = s + 1; /* what topology_free must free, even on failure */
        if (parse_shard(&cu, t, s) == -1) return -1;
    }
    if (left(&cu) > 0) return bad(&cu, "%d arguments after the last shard", left(&cu));
    return 0;
}

void topology_init(struct topology *t)
{
    t->epoch = 0;
    t->nshards = 0;
    t->shards = NULL;
    for (int s = 0; s < CLUSTER_SLOTS; s++) t->owner[s] = -1;
}

void topology_free(struct topology *t)
{
    for (int s = 0; s < t->nshards; s++) zfree(t->shards[s].nodes);
    zfree(t->shards);
    topology_init(t);
}

int topology_next_range(const struct topology *t, int shard, int *from, int *start, int *end)
{
    int s = *from;
    while (s < CLUSTER_SLOTS && t->owner[s] != shard) s++;
    if (s >= CLUSTER_SLOTS) return 0;
    *start = s;
    while (s < CLUSTER_SLOTS && t->owner[s] == shard) s++;
    *end = s - 1;
    *from = s;
    return 1;
}

static void add_slots_text(struct text *out, const struct topology *t, int shard)
{
    int from = 0, start, end, n = 0;
    while (topology_next_range(t, shard, &from, &start, &end)) {
        if (start == end) text_addf(out, "%s%d", n++ ? "," : "", start);
        else text_addf(out, "%s%d-%d", n++ ? "," : "", start, end);
    }
    if (n == 0) text_addf(out, "-");
}

char *topology_text(const struct topology *t, size_t *len)
{
    struct text out = {NULL, 0, 0};
    text_addf(&out, "%s\n%lld %d\n", TOPO_FILE_MAGIC, t->epoch, t->nshards);
    for (int s = 0; s < t->nshards; s++) {
        const struct topo_shard *sh = &t->shards[s];
        text_addf(&out, "%s ", sh->name);
        add_slots_text(&out, t, s);
        text_addf(&out, " %d", sh->nnodes);
        for (int i = 0; i < sh->nnodes; i++)
            text_addf(&out, " %s %s %d", sh->nodes[i].name, sh->nodes[i].host, sh->nodes[i].port);
        text_addf(&out, "\n");
    }
    *len = out.len;
    return out.buf;
}

static int is_space(char ch) { return ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t'; }

/* Splits text at whitespace into words (pointing into text); returns how
 * many, at most max. */
static int split_words(const char *text, size_t len, arg *words, int max)
{
    int n = 0;
    size_t i = 0;
    while (i < len && n < max) {
        while (i < len && is_space(text[i])) i++;
        size_t start = i;
        while (i < len && !is_space(text[i])) i++;
        if (i > start) words[n++] = (arg){text + start, i - start};
    }
    return n;
}

int topology_parse_text(const char *text, size_t len, struct topology *t, char *err, size_t errlen)
{
    topology_init(t);
    if ((long long)len > TOPO_TEXT_MAX) {
        snprintf(err, errlen, "ERR invalid topology: the file is larger than %lld bytes", TOPO_TEXT_MAX);
        return -1;
    }
    int max = 4 + 3 * TOPO_MAX_NODES + 3 * CLUSTER_SLOTS;
    arg *words = zmalloc(sizeof(arg) * (size_t)max);
    int n = split_words(text, len, words, max);
    int rc = -1;
    if (n < 1 || words[0].len != strlen(TOPO_FILE_MAGIC) || memcmp(words[0].p, TOPO_FILE_MAGIC, words[0].len) != 0)
        snprintf(err, errlen, "ERR invalid topology: the file does not start with %s", TOPO_FILE_MAGIC);
    else
        rc = topology_parse(words + 1, n - 1, t, err, errlen);
    zfree(words);
    return rc;
}

int topology_find_node(const struct topology *t, const char *name, int *index)
{
    for (int s = 0; s < t->nshards; s++)
        for (int i = 0; i < t->shards[s].nnodes; i++)
            if (strcmp(t->shards[s].nodes[i].name, name) == 0) {
                *index = i;
                return s;
            }
    return -1;
}
