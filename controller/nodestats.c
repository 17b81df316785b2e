/* nodestats.c: each node's recent observations in memory (see nodestats.h).
 * A hash table by node id; each entry holds the last reported numbers and a
 * ring of one point per NODESTATS_STEP_MS. A point's hit ratio is the hits
 * over the lookups of its own step, not since the node started, so a chart
 * shows a change when it happens; a step without lookups has none (null).
 * Entries not reported for the history's whole span are dropped. */
#include "nodestats.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define BUCKETS 2048
#define ID_MAX 96
#define SPAN_MS ((long long)NODESTATS_STEP_MS * NODESTATS_POINTS)
#define SWEEP_EVERY_MS 60000

/* The numbers an agent reports; -1 unknown. */
struct observed {
    long long ops_per_sec, used_memory, maxmemory, connected_clients, keys;
    long long keyspace_hits, keyspace_misses, evicted_keys, repl_lag_bytes;
};

struct point {
    long long time_ms;
    float ops_per_sec, used_memory, hit_ratio, repl_lag_bytes; /* NAN unknown */
};

struct entry {
    struct entry *next;
    char id[ID_MAX];
    long long seen_ms;
    struct observed now;
    float hit_ratio;                       /* the last step's; NAN none */
    long long step_start_ms, step_hits, step_misses;
    struct point ring[NODESTATS_POINTS];
    int head, count;                       /* head: where the next point goes */
};

struct nodestats {
    pthread_mutex_t lock;
    struct entry *buckets[BUCKETS];
    long long swept_ms;
};

static size_t bucket_of(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *id; id++) h = (h ^ (unsigned char)*id) * 16777619u;
    return h % BUCKETS;
}

struct nodestats *nodestats_new(void)
{
    struct nodestats *s = calloc(1, sizeof(*s));
    if (s && pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void nodestats_free(struct nodestats *s)
{
    if (s == NULL) return;
    for (size_t b = 0; b < BUCKETS; b++)
        for (struct entry *e = s->buckets[b], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void read_observed(const json_t *o, struct observed *out)
{
    out->ops_per_sec = json_count(o, "ops_per_sec");
    out->used_memory = json_count(o, "used_memory");
    out->maxmemory = json_count(o, "maxmemory");
    out->connected_clients = json_count(o, "connected_clients");
    out->keys = json_count(o, "keys");
    out->keyspace_hits = json_count(o, "keyspace_hits");
    out->keyspace_misses = json_count(o, "keyspace_misses");
    out->evicted_keys = json_count(o, "evicted_keys");
    out->repl_lag_bytes = json_count(o, "repl_lag_bytes");
}

static float as_float(long long v) { return v < 0 ? NAN : (float)v; }

/* Hits over lookups since the step began; NAN without lookups, or when a
 * counter is unknown or went back (the node restarted). */
static float step_ratio(const struct entry *e)
{
    long long h = e->now.keyspace_hits - e->step_hits, m = e->now.keyspace_misses - e->step_misses;
    if (e->now.keyspace_hits < 0 || e->now.keyspace_misses < 0 || e->step_hits < 0 || e->step_misses < 0) return NAN;
    if (h < 0 || m < 0 || h + m == 0) return NAN;
    return (float)((double)h / (double)(h + m));
}

static void start_step(struct entry *e, long long now_ms)
{
    e->step_start_ms = now_ms;
    e->step_hits = e->now.keyspace_hits;
    e->step_misses = e->now.keyspace_misses;
}

static void close_step(struct entry *e, long long now_ms)
{
    e->hit_ratio = step_ratio(e);
    struct point *p = &e->ring[e->head];
    p->time_ms = now_ms;
    p->ops_per_sec = as_float(e->now.ops_per_sec);
    p->used_memory = as_float(e->now.used_memory);
    p->hit_ratio = e->hit_ratio;
    p->repl_lag_bytes = as_float(e->now.repl_lag_bytes);
    e->head = (e->head + 1) % NODESTATS_POINTS;
    if (e->count < NODESTATS_POINTS) e->count++;
    start_step(e, now_ms);
}

static struct entry *find(struct nodestats *s, const char *id)
{
    for (struct entry *e = s->buckets[bucket_of(id)]; e; e = e->next)
        if (strcmp(e->id, id) == 0) return e;
    return NULL;
}

static void sweep(struct nodestats *s, long long now_ms)
{
    for (size_t b = 0; b < BUCKETS; b++)
        for (struct entry **pp = &s->buckets[b]; *pp;) {
            struct entry *e = *pp;
            if (now_ms - e->seen_ms > SPAN_MS) {
                *pp = e->next;
                free(e);
            } else {
                pp = &e->next;
            }
        }
    s->swept_ms = now_ms;
}

void nodestats_record(struct nodestats *s, const char *node, const json_t *observed, long long now_ms)
{
    if (s == NULL || node == NULL || strlen(node) >= ID_MAX) return;
    pthread_mutex_lock(&s->lock);
    if (now_ms - s->swept_ms > SWEEP_EVERY_MS) sweep(s, now_ms);
    struct entry *e = find(s, node);
    int first = 0;
    if (e == NULL && (e = calloc(1, sizeof(*e))) != NULL) {
        memcpy(e->id, node, strlen(node) + 1);
        size_t b = bucket_of(node);
        e->next = s->buckets[b];
        s->buckets[b] = e;
        e->hit_ratio = NAN;
        first = 1;
    }
    if (e) {
        e->seen_ms = now_ms;
        read_observed(observed, &e->now);
        if (first) start_step(e, now_ms);
        else if (now_ms - e->step_start_ms >= NODESTATS_STEP_MS) close_step(e, now_ms);
    }
    pthread_mutex_unlock(&s->lock);
}

static json_t *maybe_int(long long v) { return v < 0 ? json_null() : json_integer(v); }
static json_t *maybe_real(float v) { return isnan(v) ? json_null() : json_real(v); }

static json_t *current_json(const struct entry *e)
{
    return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "time_ms", (json_int_t)e->seen_ms,
                     "ops_per_sec", maybe_int(e->now.ops_per_sec), "used_memory", maybe_int(e->now.used_memory),
                     "maxmemory", maybe_int(e->now.maxmemory), "connected_clients",
                     maybe_int(e->now.connected_clients), "keys", maybe_int(e->now.keys), "hit_ratio",
                     maybe_real(e->hit_ratio), "evicted_keys", maybe_int(e->now.evicted_keys), "repl_lag_bytes",
                     maybe_int(e->now.repl_lag_bytes));
}

static json_t *history_json(const struct entry *e, long long since_ms)
{
    json_t *t = json_array(), *ops = json_array(), *mem = json_array(), *ratio = json_array(), *lag = json_array();
    for (int i = 0; e && i < e->count; i++) {
        const struct point *p = &e->ring[(e->head - e->count + i + NODESTATS_POINTS) % NODESTATS_POINTS];
        if (p->time_ms <= since_ms) continue;
        json_array_append_new(t, json_integer(p->time_ms));
        json_array_append_new(ops, maybe_real(p->ops_per_sec));
        json_array_append_new(mem, maybe_real(p->used_memory));
        json_array_append_new(ratio, maybe_real(p->hit_ratio));
        json_array_append_new(lag, maybe_real(p->repl_lag_bytes));
    }
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "time_ms", t, "ops_per_sec", ops, "used_memory", mem, "hit_ratio",
                     ratio, "repl_lag_bytes", lag);
}

json_t *nodestats_json(struct nodestats *s, const json_t *node_rows, long long since_ms, long long now_ms)
{
    json_t *nodes = json_array();
    size_t i;
    const json_t *row;
    pthread_mutex_lock(&s->lock);
    json_array_foreach(node_rows, i, row) {
        const char *name = json_string_value(json_object_get(row, "id"));
        const struct entry *e = name ? find(s, name) : NULL;
        /* a node not heard from for three steps has no current numbers */
        int fresh = e && now_ms - e->seen_ms <= 3 * NODESTATS_STEP_MS;
        json_array_append_new(nodes, json_pack("{s:s,s:o,s:o}", "id", name ? name : "", "current",
                                               fresh ? current_json(e) : json_null(), "history",
                                               history_json(e, since_ms)));
    }
    pthread_mutex_unlock(&s->lock);
    return json_pack("{s:i,s:I,s:o}", "step_ms", NODESTATS_STEP_MS, "time_ms", (json_int_t)now_ms, "nodes", nodes);
}
