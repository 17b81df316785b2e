/* t_stream_cg.c: a stream's consumer groups: the groups (sorted by name, as
 * Redis lists them), their consumers, the pending entries lists (PELs,
 * sorted by ID, one nack shared by the group's PEL and its consumer's), the
 * entries-read/lag bookkeeping of Redis 7.0, and the groups' part of the
 * type's callbacks (free, copy, memory, digest, snapshot). The commands
 * that use them live in t_stream.c and t_stream_cg_cmd.c. */
#include <string.h>

#include "alloc.h"
#include "object.h"
#include "t_stream.h"
#include "util.h"

/* ---- PELs ------------------------------------------------------------------------- */

size_t pel_lower_bound(const struct stream_pel *p, const stream_id *id)
{
    size_t lo = 0, hi = p->len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (stream_id_cmp(&p->items[mid]->id, id) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

struct stream_nack *pel_find(const struct stream_pel *p, const stream_id *id)
{
    size_t i = pel_lower_bound(p, id);
    return i < p->len && stream_id_cmp(&p->items[i]->id, id) == 0 ? p->items[i] : NULL;
}

void pel_insert(struct stream_pel *p, struct stream_nack *n)
{
    size_t i = pel_lower_bound(p, &n->id);
    if (p->len == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 4;
        p->items = zrealloc(p->items, p->cap * sizeof(*p->items));
    }
    memmove(p->items + i + 1, p->items + i, (p->len - i) * sizeof(*p->items));
    p->items[i] = n;
    p->len++;
}

void pel_remove(struct stream_pel *p, const stream_id *id)
{
    size_t i = pel_lower_bound(p, id);
    if (i >= p->len || stream_id_cmp(&p->items[i]->id, id) != 0) return;
    memmove(p->items + i, p->items + i + 1, (p->len - i - 1) * sizeof(*p->items));
    p->len--;
}

/* ---- names ------------------------------------------------------------------------- */

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

/* Binary search in an array of pointers to structs whose name/nlen come
 * first: returns the index where `name` is or would go. */
#define NAME_LOWER_BOUND(arr, n, name, len, out)                                   \
    do {                                                                           \
        size_t lo_ = 0, hi_ = (n);                                                 \
        while (lo_ < hi_) {                                                        \
            size_t mid_ = (lo_ + hi_) / 2;                                         \
            if (name_cmp((arr)[mid_]->name, (arr)[mid_]->nlen, name, len) < 0)     \
                lo_ = mid_ + 1;                                                    \
            else hi_ = mid_;                                                       \
        }                                                                          \
        (out) = lo_;                                                               \
    } while (0)

stream_cg *stream_cg_find(const stream *s, const char *name, size_t len)
{
    size_t i;
    NAME_LOWER_BOUND(s->groups, s->ngroups, name, len, i);
    if (i < s->ngroups && name_cmp(s->groups[i]->name, s->groups[i]->nlen, name, len) == 0)
        return s->groups[i];
    return NULL;
}

stream_cg *stream_cg_create(stream *s, const char *name, size_t len, const stream_id *last,
                            long long entries_read)
{
    size_t i;
    NAME_LOWER_BOUND(s->groups, s->ngroups, name, len, i);
    if (i < s->ngroups && name_cmp(s->groups[i]->name, s->groups[i]->nlen, name, len) == 0)
        return NULL;
    stream_cg *g = zcalloc(sizeof(*g));
    g->name = zstrndup(name, len);
    g->nlen = len;
    g->last_id = *last;
    g->entries_read = entries_read;
    s->groups = zrealloc(s->groups, (s->ngroups + 1) * sizeof(*s->groups));
    memmove(s->groups + i + 1, s->groups + i, (s->ngroups - i) * sizeof(*s->groups));
    s->groups[i] = g;
    s->ngroups++;
    return g;
}

static void consumer_free(struct stream_consumer *c)
{
    zfree(c->pel.items);
    zfree(c->name);
    zfree(c);
}

static void cg_free(stream_cg *g)
{
    for (size_t i = 0; i < g->pel.len; i++) zfree(g->pel.items[i]);
    zfree(g->pel.items);
    for (size_t i = 0; i < g->nconsumers; i++) consumer_free(g->consumers[i]);
    zfree(g->consumers);
    zfree(g->name);
    zfree(g);
}

void stream_cg_destroy(stream *s, stream_cg *g)
{
    for (size_t i = 0; i < s->ngroups; i++) {
        if (s->groups[i] != g) continue;
        memmove(s->groups + i, s->groups + i + 1, (s->ngroups - i - 1) * sizeof(*s->groups));
        s->ngroups--;
        break;
    }
    cg_free(g);
}

struct stream_consumer *stream_consumer_find(const stream_cg *g, const char *name, size_t len)
{
    size_t i;
    NAME_LOWER_BOUND(g->consumers, g->nconsumers, name, len, i);
    if (i < g->nconsumers &&
        name_cmp(g->consumers[i]->name, g->consumers[i]->nlen, name, len) == 0)
        return g->consumers[i];
    return NULL;
}

struct stream_consumer *stream_consumer_create(stream_cg *g, const char *name, size_t len)
{
    size_t i;
    NAME_LOWER_BOUND(g->consumers, g->nconsumers, name, len, i);
    if (i < g->nconsumers &&
        name_cmp(g->consumers[i]->name, g->consumers[i]->nlen, name, len) == 0)
        return NULL;
    struct stream_consumer *c = zcalloc(sizeof(*c));
    c->name = zstrndup(name, len);
    c->nlen = len;
    c->seen_time = mstime();
    g->consumers = zrealloc(g->consumers, (g->nconsumers + 1) * sizeof(*g->consumers));
    memmove(g->consumers + i + 1, g->consumers + i, (g->nconsumers - i) * sizeof(*g->consumers));
    g->consumers[i] = c;
    g->nconsumers++;
    return c;
}

size_t stream_consumer_delete(stream_cg *g, struct stream_consumer *c)
{
    size_t pending = c->pel.len;
    for (size_t i = 0; i < c->pel.len; i++) {
        pel_remove(&g->pel, &c->pel.items[i]->id);
        zfree(c->pel.items[i]);
    }
    for (size_t i = 0; i < g->nconsumers; i++) {
        if (g->consumers[i] != c) continue;
        memmove(g->consumers + i, g->consumers + i + 1,
                (g->nconsumers - i - 1) * sizeof(*g->consumers));
        g->nconsumers--;
        break;
    }
    consumer_free(c);
    return pending;
}

/* ---- entries read and lag (Redis 7.0's rules) ---------------------------------------- */

static int id_is_zero(const stream_id *id) { return id->ms == 0 && id->seq == 0; }

/* Whether a deleted entry may lie in [start, end]. */
static int range_has_tombstones(const stream *s, const stream_id *start, const stream_id *end)
{
    if (!s->length || id_is_zero(&s->max_deleted_id)) return 0;
    if (stream_id_cmp(&s->first_id, &s->max_deleted_id) > 0) return 0;
    stream_id lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    if (start) lo = *start;
    if (end) hi = *end;
    return stream_id_cmp(&lo, &s->max_deleted_id) <= 0 && stream_id_cmp(&s->max_deleted_id, &hi) <= 0;
}

long long stream_estimate_distance(const stream *s, const stream_id *id)
{
    if (!s->entries_added) return 0;
    if (!s->length && stream_id_cmp(id, &s->last_id) < 1) return (long long)s->entries_added;
    int cmp_last = stream_id_cmp(id, &s->last_id);
    if (cmp_last == 0) return (long long)s->entries_added;
    if (cmp_last > 0) return -1;
    int cmp_first = stream_id_cmp(id, &s->first_id);
    if (id_is_zero(&s->max_deleted_id) || stream_id_cmp(&s->max_deleted_id, &s->first_id) < 0) {
        if (cmp_first < 0) return (long long)(s->entries_added - s->length);
        if (cmp_first == 0) return (long long)(s->entries_added - s->length + 1);
    }
    return -1;
}

void stream_cg_note_read(const stream *s, stream_cg *g, const stream_id *id)
{
    if (g->entries_read != -1 && !range_has_tombstones(s, id, NULL)) g->entries_read++;
    else if (s->entries_added) g->entries_read = stream_estimate_distance(s, id);
    g->last_id = *id;
}

int stream_cg_lag(const stream *s, const stream_cg *g, long long *lag)
{
    *lag = 0;
    if (!s->entries_added) return 1;
    if (g->entries_read != -1 && !range_has_tombstones(s, &g->last_id, NULL)) {
        *lag = (long long)s->entries_added - g->entries_read;
        return 1;
    }
    long long read = stream_estimate_distance(s, &g->last_id);
    if (read == -1) return 0;
    *lag = (long long)s->entries_added - read;
    return 1;
}

/* ---- the type's callbacks ------------------------------------------------------------ */

void stream_groups_free(stream *s)
{
    for (size_t i = 0; i < s->ngroups; i++) cg_free(s->groups[i]);
    zfree(s->groups);
    s->groups = NULL;
    s->ngroups = 0;
}

struct stream_nack *stream_nack_new(const stream_id *id, long long when, uint64_t count,
                                    struct stream_consumer *c)
{
    struct stream_nack *n = zmalloc(sizeof(*n));
    n->id = *id;
    n->delivery_time = when;
    n->delivery_count = count;
    n->consumer = c;
    return n;
}

void stream_groups_dup(stream *dst, const stream *src)
{
    for (size_t i = 0; i < src->ngroups; i++) {
        const stream_cg *sg = src->groups[i];
        stream_cg *g = stream_cg_create(dst, sg->name, sg->nlen, &sg->last_id, sg->entries_read);
        for (size_t j = 0; j < sg->nconsumers; j++) {
            const struct stream_consumer *sc = sg->consumers[j];
            struct stream_consumer *c = stream_consumer_create(g, sc->name, sc->nlen);
            c->seen_time = sc->seen_time;
            for (size_t k = 0; k < sc->pel.len; k++) {
                const struct stream_nack *sn = sc->pel.items[k];
                struct stream_nack *n = stream_nack_new(&sn->id, sn->delivery_time, sn->delivery_count, c);
                pel_insert(&c->pel, n);
                pel_insert(&g->pel, n);
            }
        }
    }
}

size_t stream_groups_mem(const stream *s)
{
    size_t n = s->ngroups * sizeof(void *);
    for (size_t i = 0; i < s->ngroups; i++) {
        const stream_cg *g = s->groups[i];
        n += sizeof(*g) + g->nlen + g->pel.cap * sizeof(void *) +
             g->pel.len * sizeof(struct stream_nack) + g->nconsumers * sizeof(void *);
        for (size_t j = 0; j < g->nconsumers; j++)
            n += sizeof(struct stream_consumer) + g->consumers[j]->nlen +
                 g->consumers[j]->pel.cap * sizeof(void *);
    }
    return n;
}

static void digest_u64(struct digest *d, uint64_t v)
{
    char buf[24];
    digest_add(d, buf, ull2str(buf, sizeof(buf), v));
}

/* The groups as a replica would read them: names, last IDs, counters,
 * consumers and their pending entries (delivery times aside: a replica
 * sets them from its own clock). */
void stream_groups_digest(const stream *s, struct digest *d)
{
    for (size_t i = 0; i < s->ngroups; i++) {
        const stream_cg *g = s->groups[i];
        digest_add(d, g->name, g->nlen);
        digest_u64(d, g->last_id.ms);
        digest_u64(d, g->last_id.seq);
        digest_u64(d, (uint64_t)g->entries_read);
        for (size_t j = 0; j < g->nconsumers; j++) {
            const struct stream_consumer *c = g->consumers[j];
            digest_add(d, c->name, c->nlen);
            for (size_t k = 0; k < c->pel.len; k++) {
                digest_u64(d, c->pel.items[k]->id.ms);
                digest_u64(d, c->pel.items[k]->id.seq);
                digest_u64(d, c->pel.items[k]->delivery_count);
            }
        }
    }
}

/* Snapshot: group count; per group its name, last ID, entries read + 1,
 * consumer count; per consumer its name, seen time and PEL (ID, delivery
 * time, delivery count). */
void stream_groups_save(const stream *s, struct snap_writer *w)
{
    snapw_varint(w, s->ngroups);
    for (size_t i = 0; i < s->ngroups; i++) {
        const stream_cg *g = s->groups[i];
        snapw_string(w, g->name, g->nlen);
        snapw_varint(w, g->last_id.ms);
        snapw_varint(w, g->last_id.seq);
        snapw_varint(w, (uint64_t)(g->entries_read + 1));
        snapw_varint(w, g->nconsumers);
        for (size_t j = 0; j < g->nconsumers; j++) {
            const struct stream_consumer *c = g->consumers[j];
            snapw_string(w, c->name, c->nlen);
            snapw_svarint(w, c->seen_time);
            snapw_varint(w, c->pel.len);
            for (size_t k = 0; k < c->pel.len; k++) {
                const struct stream_nack *n = c->pel.items[k];
                snapw_varint(w, n->id.ms);
                snapw_varint(w, n->id.seq);
                snapw_svarint(w, n->delivery_time);
                snapw_varint(w, n->delivery_count);
            }
        }
    }
}

static int load_consumer(stream_cg *g, struct snap_reader *r)
{
    const char *name;
    size_t nlen;
    long long seen;
    uint64_t npel;
    if (snapr_string(r, &name, &nlen) || snapr_svarint(r, &seen) || snapr_varint(r, &npel))
        return -1;
    if (npel > snapr_remaining(r)) return snapr_fail(r, "PEL exceeds the payload");
    struct stream_consumer *c = stream_consumer_create(g, name, nlen);
    if (c == NULL) return snapr_fail(r, "duplicate consumer");
    c->seen_time = seen;
    for (uint64_t k = 0; k < npel; k++) {
        stream_id id;
        long long when;
        uint64_t count;
        if (snapr_varint(r, &id.ms) || snapr_varint(r, &id.seq) || snapr_svarint(r, &when) ||
            snapr_varint(r, &count))
            return -1;
        if (pel_find(&g->pel, &id)) return snapr_fail(r, "duplicate pending entry");
        struct stream_nack *n = stream_nack_new(&id, when, count, c);
        pel_insert(&c->pel, n);
        pel_insert(&g->pel, n);
    }
    return 0;
}

int stream_groups_load(stream *s, struct snap_reader *r)
{
    uint64_t ngroups;
    if (snapr_varint(r, &ngroups)) return -1;
    if (ngroups > snapr_remaining(r)) return snapr_fail(r, "group count exceeds the payload");
    for (uint64_t i = 0; i < ngroups; i++) {
        const char *name;
        size_t nlen;
        stream_id last;
        uint64_t read, nconsumers;
        if (snapr_string(r, &name, &nlen) || snapr_varint(r, &last.ms) ||
            snapr_varint(r, &last.seq) || snapr_varint(r, &read) || snapr_varint(r, &nconsumers))
            return -1;
        if (nconsumers > snapr_remaining(r)) return snapr_fail(r, "consumer count exceeds the payload");
        stream_cg *g = stream_cg_create(s, name, nlen, &last, (long long)read - 1);
        if (g == NULL) return snapr_fail(r, "duplicate consumer group");
        for (uint64_t j = 0; j < nconsumers; j++)
            if (load_consumer(g, r)) return -1;
    }
    return 0;
}

/* ---- XREADGROUP's delivery ----------------------------------------------------------- */

/* XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID
 * last: a replica gets the delivery as an idempotent claim, as in Redis. */
void stream_propagate_claim(client *c, const arg *key, const stream_cg *g,
                            const struct stream_nack *n)
{
    char id[STREAM_ID_STR_MAX], last[STREAM_ID_STR_MAX], when[24], count[24];
    arg argv[14] = {
        {"XCLAIM", 6}, *key, {g->name, g->nlen}, {n->consumer->name, n->consumer->nlen},
        {"0", 1}, {id, stream_id_format(id, &n->id)}, {"TIME", 4},
        {when, ll2str(when, sizeof(when), n->delivery_time)}, {"RETRYCOUNT", 10},
        {count, ull2str(count, sizeof(count), n->delivery_count)}, {"FORCE", 5},
        {"JUSTID", 6}, {"LASTID", 6}, {last, stream_id_format(last, &g->last_id)},
    };
    propagate_command(c, 14, argv);
}

void stream_propagate_group_id(client *c, const arg *key, const stream_cg *g)
{
    char id[STREAM_ID_STR_MAX], read[24];
    arg argv[7] = {
        {"XGROUP", 6}, {"SETID", 5}, *key, {g->name, g->nlen},
        {id, stream_id_format(id, &g->last_id)}, {"ENTRIESREAD", 11},
        {read, ll2str(read, sizeof(read), g->entries_read)},
    };
    propagate_command(c, 7, argv);
}

static void propagate_consumer_creation(client *c, const arg *key, const stream_cg *g,
                                        const struct stream_consumer *sc)
{
    arg argv[5] = {{"XGROUP", 6}, {"CREATECONSUMER", 14}, *key, {g->name, g->nlen},
                   {sc->name, sc->nlen}};
    propagate_command(c, 5, argv);
}

struct delivery {
    client *c;
    stream *s;
    const arg *key;
    stream_cg *g;
    struct stream_consumer *consumer;
    int noack;
    int moved; /* the group's last ID advanced */
};

/* Records one delivered entry: the group's last ID and entries read, and
 * unless NOACK a pending entry owned by the consumer (taken over from
 * another consumer if the ID was pending already). */
static void deliver(void *priv, const stream_id *id)
{
    struct delivery *d = priv;
    if (stream_id_cmp(id, &d->g->last_id) > 0) {
        stream_cg_note_read(d->s, d->g, id);
        d->moved = 1;
    }
    if (d->noack) return;
    struct stream_nack *n = pel_find(&d->g->pel, id);
    if (n) {
        pel_remove(&n->consumer->pel, id);
        n->consumer = d->consumer;
        n->delivery_time = mstime();
        n->delivery_count = 1;
    } else {
        n = stream_nack_new(id, mstime(), 1, d->consumer);
        pel_insert(&d->g->pel, n);
    }
    pel_insert(&d->consumer->pel, n);
    stream_propagate_claim(d->c, d->key, d->g, n);
}

/* The consumer's pending entries after gt, each with its entry (or a null
 * when the entry was deleted meanwhile); each delivery is counted, and
 * replicas get the count as a claim (Redis leaves theirs behind, which
 * DEBUG DIGEST, covering PELs here, would show). */
static void reply_history(client *c, stream *s, const arg *key, stream_cg *g,
                          struct stream_consumer *sc, const stream_id *gt, long long count)
{
    stream_id start = *gt;
    stream_id_incr(&start);
    size_t i = pel_lower_bound(&sc->pel, &start);
    size_t n = sc->pel.len - i;
    if (count > 0 && (size_t)count < n) n = (size_t)count;
    reply_array(c, (long)n);
    for (size_t k = 0; k < n; k++) {
        struct stream_nack *nack = sc->pel.items[i + k];
        struct stream_entry e;
        if (stream_lookup(s, &nack->id, &e)) {
            reply_stream_entry(c, &e);
            nack->delivery_time = mstime();
            nack->delivery_count++;
            stream_propagate_claim(c, key, g, nack);
        } else {
            reply_array(c, 2);
            reply_stream_id(c, &nack->id);
            reply_null_array(c);
        }
    }
}

void stream_read_group(client *c, stream *s, const arg *key, stream_cg *g, const arg *consumer,
                       const stream_id *gt, long long count, int noack, int history)
{
    struct stream_consumer *sc = stream_consumer_find(g, consumer->p, consumer->len);
    if (sc == NULL) {
        sc = stream_consumer_create(g, consumer->p, consumer->len);
        stream_notify(c, "xgroup-createconsumer", key);
        propagate_consumer_creation(c, key, g, sc);
    }
    sc->seen_time = mstime();
    server.dirty++;
    if (history) {
        reply_history(c, s, key, g, sc, gt, count);
        return;
    }
    struct delivery d = {c, s, key, g, sc, noack, 0};
    stream_id start = *gt, end = {UINT64_MAX, UINT64_MAX};
    stream_id_incr(&start);
    stream_reply_range(c, s, &start, &end, count, 0, deliver, &d);
    if (d.moved) stream_propagate_group_id(c, key, g);
}
