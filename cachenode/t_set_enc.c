/* t_set_enc.c: the set type's two encodings (see t_set.h), the operations
 * the commands use on either, and the object_type callbacks (free, dup,
 * memory, digest, snapshot save and load) of `set_type`.
 *
 * intset: a header and a sorted array of integers of one width (2, 4 or 8
 * bytes), widened when a member needs it. One allocation.
 *
 * hashtable: buckets selected by key_hash(member); a bucket is one
 * allocation, a 32-bit byte length followed by packed entries. An entry is
 * a varint v and then either (v & 1) == 0: v >> 1 member bytes inline, or
 * (v & 1) == 1: a pointer to v >> 1 member bytes allocated on their own
 * (members longer than SET_INLINE_MAX, so that no bucket grows large and
 * moving one is always cheap). The table keeps about SET_LOAD members per
 * bucket and resizes incrementally, one bucket per write, with two tables
 * while a resize is in progress, like dict.c. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "object.h"
#include "server.h"
#include "t_set.h"

#define SET_INLINE_MAX 1024
#define SET_LOAD 4          /* grow past this many members per bucket */
#define SET_FORCE_LOAD 16   /* grow even when table growth is deferred */
#define SET_HT_MIN 4

/* ---- intset ----------------------------------------------------------- */

typedef struct intset {
    uint8_t enc; /* SET_ENC_INTSET */
    uint8_t width;
    uint16_t spare;
    uint32_t n;
    unsigned char data[];
} intset;

static inline long long is_get(const intset *is, size_t i)
{
    switch (is->width) {
    case 2: {
        int16_t v;
        memcpy(&v, is->data + i * 2, 2);
        return v;
    }
    case 4: {
        int32_t v;
        memcpy(&v, is->data + i * 4, 4);
        return v;
    }
    default: {
        int64_t v;
        memcpy(&v, is->data + i * 8, 8);
        return v;
    }
    }
}

static inline void is_put(intset *is, size_t i, long long x)
{
    switch (is->width) {
    case 2: {
        int16_t v = (int16_t)x;
        memcpy(is->data + i * 2, &v, 2);
        break;
    }
    case 4: {
        int32_t v = (int32_t)x;
        memcpy(is->data + i * 4, &v, 4);
        break;
    }
    default: {
        int64_t v = x;
        memcpy(is->data + i * 8, &v, 8);
        break;
    }
    }
}

static int width_for(long long v)
{
    if (v >= INT16_MIN && v <= INT16_MAX) return 2;
    if (v >= INT32_MIN && v <= INT32_MAX) return 4;
    return 8;
}

static intset *is_new(void)
{
    intset *is = zmalloc(sizeof(intset));
    is->enc = SET_ENC_INTSET;
    is->width = 2;
    is->spare = 0;
    is->n = 0;
    return is;
}

/* 1 and *pos = index when found, else 0 and *pos = insertion point. */
static int is_search(const intset *is, long long v, size_t *pos)
{
    size_t lo = 0, hi = is->n;
    if (is->n > 0 && v > is_get(is, is->n - 1)) {
        *pos = is->n;
        return 0;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        long long x = is_get(is, mid);
        if (x == v) {
            *pos = mid;
            return 1;
        }
        if (x < v) lo = mid + 1;
        else hi = mid;
    }
    *pos = lo;
    return 0;
}

static int is_contains(const intset *is, long long v)
{
    size_t pos;
    return width_for(v) <= is->width && is_search(is, v, &pos);
}

/* Adds v; returns 1 if new. Reallocates: *isp is updated. */
static int is_add(intset **isp, long long v)
{
    intset *is = *isp;
    int w = width_for(v);
    if (w > is->width) {
        /* a wider value is beyond every member: first or last */
        intset *up = zmalloc(sizeof(intset) + ((size_t)is->n + 1) * (size_t)w);
        *up = *is;
        up->width = (uint8_t)w;
        size_t shift = v < 0 ? 1 : 0;
        for (size_t i = 0; i < is->n; i++) is_put(up, i + shift, is_get(is, i));
        is_put(up, v < 0 ? 0 : is->n, v);
        up->n = is->n + 1;
        zfree(is);
        *isp = up;
        return 1;
    }
    size_t pos;
    if (is_search(is, v, &pos)) return 0;
    is = zrealloc(is, sizeof(intset) + ((size_t)is->n + 1) * is->width);
    memmove(is->data + (pos + 1) * is->width, is->data + pos * is->width,
            (is->n - pos) * is->width);
    is_put(is, pos, v);
    is->n++;
    *isp = is;
    return 1;
}

static int is_remove(intset **isp, long long v)
{
    intset *is = *isp;
    size_t pos;
    if (width_for(v) > is->width || !is_search(is, v, &pos)) return 0;
    memmove(is->data + pos * is->width, is->data + (pos + 1) * is->width,
            (is->n - pos - 1) * is->width);
    is->n--;
    *isp = zrealloc(is, sizeof(intset) + (size_t)is->n * is->width);
    return 1;
}

/* ---- hashtable buckets ---------------------------------------------------- */

typedef struct bkt {
    uint32_t len; /* bytes of entries */
    unsigned char data[];
} bkt;

typedef struct htset {
    uint8_t enc; /* SET_ENC_HT */
    bkt **table[2];
    size_t size[2]; /* 0 or a power of two */
    size_t used[2];
    long rehash_idx; /* -1 when not rehashing */
} htset;

/* Decodes the entry at p: its member and the entry's total size. */
static inline const unsigned char *ent_decode(const unsigned char *p, const char **m, size_t *len)
{
    uint64_t v;
    const unsigned char *q = varint_get(p, &v);
    *len = (size_t)(v >> 1);
    if (v & 1) {
        char *ext;
        memcpy(&ext, q, sizeof(ext));
        *m = ext;
        return q + sizeof(ext);
    }
    *m = (const char *)q;
    return q + *len;
}

/* Frees an entry's out-of-line bytes, if any. */
static void ent_release(const unsigned char *p)
{
    uint64_t v;
    const unsigned char *q = varint_get(p, &v);
    if (v & 1) {
        char *ext;
        memcpy(&ext, q, sizeof(ext));
        zfree(ext);
    }
}

static size_t ent_size(size_t len)
{
    if (len > SET_INLINE_MAX) return varint_len(((uint64_t)len << 1) | 1) + sizeof(char *);
    return varint_len((uint64_t)len << 1) + len;
}

/* Appends raw entry bytes (an encoded entry moved from another bucket). */
static bkt *bkt_append_raw(bkt *b, const unsigned char *e, size_t elen)
{
    size_t old = b ? b->len : 0;
    if (elen > UINT32_MAX - old) {
        /* unreachable: members past SET_INLINE_MAX bytes are out of line */
        abort();
    }
    b = zrealloc(b, sizeof(bkt) + old + elen);
    memcpy(b->data + old, e, elen);
    b->len = (uint32_t)(old + elen);
    return b;
}

static bkt *bkt_append(bkt *b, const char *m, size_t len)
{
    size_t old = b ? b->len : 0, elen = ent_size(len);
    if (elen > UINT32_MAX - old) abort(); /* see bkt_append_raw */
    b = zrealloc(b, sizeof(bkt) + old + elen);
    unsigned char *p = b->data + old;
    if (len > SET_INLINE_MAX) {
        char *ext = zmalloc(len);
        memcpy(ext, m, len);
        p += varint_put(p, ((uint64_t)len << 1) | 1);
        memcpy(p, &ext, sizeof(ext));
    } else {
        p += varint_put(p, (uint64_t)len << 1);
        memcpy(p, m, len);
    }
    b->len = (uint32_t)(old + elen);
    return b;
}

/* Offset of the member's entry in b, or -1. */
static long bkt_find(const bkt *b, const char *m, size_t len)
{
    if (b == NULL) return -1;
    const unsigned char *p = b->data, *end = b->data + b->len;
    while (p < end) {
        const char *x;
        size_t xl;
        const unsigned char *next = ent_decode(p, &x, &xl);
        if (xl == len && memcmp(x, m, len) == 0) return (long)(p - b->data);
        p = next;
    }
    return -1;
}

/* Removes the entry at off (releasing its bytes); NULL when b empties. */
static bkt *bkt_remove_at(bkt *b, size_t off)
{
    const char *x;
    size_t xl;
    const unsigned char *p = b->data + off;
    const unsigned char *next = ent_decode(p, &x, &xl);
    ent_release(p);
    size_t elen = (size_t)(next - p);
    memmove(b->data + off, next, b->len - off - elen);
    b->len -= (uint32_t)elen;
    if (b->len == 0) {
        zfree(b);
        return NULL;
    }
    return zrealloc(b, sizeof(bkt) + b->len);
}

static size_t bkt_count(const bkt *b)
{
    size_t n = 0;
    if (b == NULL) return 0;
    const unsigned char *p = b->data, *end = b->data + b->len;
    while (p < end) {
        const char *x;
        size_t xl;
        p = ent_decode(p, &x, &xl);
        n++;
    }
    return n;
}

/* ---- hashtable ------------------------------------------------------------- */

static inline int ht_rehashing(const htset *h) { return h->rehash_idx != -1; }
static inline size_t ht_size(const htset *h) { return h->used[0] + h->used[1]; }

static size_t ht_target(size_t n)
{
    size_t s = SET_HT_MIN;
    while (s * SET_LOAD < n) s <<= 1;
    return s;
}

static htset *ht_new(size_t expect)
{
    htset *h = zcalloc(sizeof(htset));
    h->enc = SET_ENC_HT;
    h->rehash_idx = -1;
    h->size[0] = ht_target(expect);
    h->table[0] = zcalloc(h->size[0] * sizeof(bkt *));
    return h;
}

static void ht_free(htset *h)
{
    for (int t = 0; t <= 1; t++) {
        for (size_t i = 0; i < h->size[t]; i++) {
            bkt *b = h->table[t][i];
            if (b == NULL) continue;
            const unsigned char *p = b->data, *end = b->data + b->len;
            while (p < end) {
                const char *x;
                size_t xl;
                const unsigned char *next = ent_decode(p, &x, &xl);
                ent_release(p);
                p = next;
            }
            zfree(b);
        }
        zfree(h->table[t]);
    }
    zfree(h);
}

static void ht_start_resize(htset *h, size_t size)
{
    if (size == h->size[0]) return;
    h->table[1] = zcalloc(size * sizeof(bkt *));
    h->size[1] = size;
    h->used[1] = 0;
    h->rehash_idx = 0;
}

/* Moves up to `steps` buckets from table 0 to table 1. */
static void ht_rehash_step(htset *h, int steps)
{
    if (!ht_rehashing(h)) return;
    int empty_visits = steps * 10;
    size_t m1 = h->size[1] - 1;
    while (steps-- > 0 && h->used[0] > 0) {
        while (h->table[0][h->rehash_idx] == NULL) {
            h->rehash_idx++;
            if (--empty_visits == 0) return;
        }
        bkt *b = h->table[0][h->rehash_idx];
        const unsigned char *p = b->data, *end = b->data + b->len;
        while (p < end) {
            const char *x;
            size_t xl;
            const unsigned char *next = ent_decode(p, &x, &xl);
            size_t i = key_hash(x, xl) & m1;
            h->table[1][i] = bkt_append_raw(h->table[1][i], p, (size_t)(next - p));
            h->used[0]--;
            h->used[1]++;
            p = next;
        }
        zfree(b);
        h->table[0][h->rehash_idx++] = NULL;
    }
    if (h->used[0] == 0) {
        zfree(h->table[0]);
        h->table[0] = h->table[1];
        h->size[0] = h->size[1];
        h->used[0] = h->used[1];
        h->table[1] = NULL;
        h->size[1] = h->used[1] = 0;
        h->rehash_idx = -1;
    }
}

static void ht_grow_if_needed(htset *h)
{
    if (ht_rehashing(h) || h->used[0] < h->size[0] * SET_LOAD) return;
    int forced = h->used[0] >= h->size[0] * SET_FORCE_LOAD;
    if (!forced && !table_growth_allowed(h->size[0] * 2 * sizeof(bkt *))) return;
    ht_start_resize(h, h->size[0] * 2);
}

static void ht_shrink_if_needed(htset *h)
{
    if (ht_rehashing(h) || h->size[0] <= SET_HT_MIN) return;
    if (h->used[0] * 2 < h->size[0]) ht_start_resize(h, ht_target(h->used[0] * 2));
}

/* Finds the member: its table, bucket index and offset; 0 when absent. */
static int ht_locate(const htset *h, uint64_t hash, const char *m, size_t len, int *t, size_t *idx,
                     long *off)
{
    for (int k = 0; k <= 1; k++) {
        if (h->size[k] == 0) break;
        size_t i = hash & (h->size[k] - 1);
        long o = bkt_find(h->table[k][i], m, len);
        if (o >= 0) {
            *t = k;
            *idx = i;
            *off = o;
            return 1;
        }
        if (!ht_rehashing(h)) break;
    }
    return 0;
}

static int ht_contains(const htset *h, const char *m, size_t len)
{
    int t;
    size_t i;
    long off;
    return ht_locate(h, key_hash(m, len), m, len, &t, &i, &off);
}

/* Adds a member known to be absent. */
static void ht_insert(htset *h, uint64_t hash, const char *m, size_t len)
{
    ht_grow_if_needed(h);
    int t = ht_rehashing(h) ? 1 : 0;
    size_t i = hash & (h->size[t] - 1);
    h->table[t][i] = bkt_append(h->table[t][i], m, len);
    h->used[t]++;
}

static int ht_add(htset *h, const char *m, size_t len)
{
    ht_rehash_step(h, 1);
    uint64_t hash = key_hash(m, len);
    int t;
    size_t i;
    long off;
    if (ht_locate(h, hash, m, len, &t, &i, &off)) return 0;
    ht_insert(h, hash, m, len);
    return 1;
}

static int ht_remove(htset *h, const char *m, size_t len)
{
    ht_rehash_step(h, 1);
    int t;
    size_t i;
    long off;
    if (!ht_locate(h, key_hash(m, len), m, len, &t, &i, &off)) return 0;
    h->table[t][i] = bkt_remove_at(h->table[t][i], (size_t)off);
    h->used[t]--;
    ht_shrink_if_needed(h);
    return 1;
}

static bkt *ht_bucket_at(const htset *h, size_t i)
{
    return i >= h->size[0] ? h->table[1][i - h->size[0]] : h->table[0][i];
}

static void ht_random(htset *h, smember *out)
{
    size_t total = h->size[0] + h->size[1];
    size_t low = ht_rehashing(h) ? (size_t)h->rehash_idx : 0; /* table 0 below is empty */
    bkt *b = NULL;
    for (int tries = 0; b == NULL && tries < 1000; tries++)
        b = ht_bucket_at(h, low + random_u64() % (total - low));
    if (b == NULL) { /* a very sparse table: walk from a random point */
        size_t start = random_u64() % total;
        for (size_t k = 0; k < total && b == NULL; k++) b = ht_bucket_at(h, (start + k) % total);
    }
    size_t pick = random_u64() % bkt_count(b);
    const unsigned char *p = b->data;
    for (;;) {
        p = ent_decode(p, &out->p, &out->len);
        if (pick-- == 0) break;
    }
}

static void scan_bucket(const bkt *b, set_scan_fn fn, void *priv)
{
    if (b == NULL) return;
    const unsigned char *p = b->data, *end = b->data + b->len;
    while (p < end) {
        const char *x;
        size_t xl;
        p = ent_decode(p, &x, &xl);
        fn(priv, x, xl);
    }
}

struct ht_scan_ctx {
    htset *h;
    set_scan_fn fn;
    void *priv;
};

static void scan_ht_bucket(void *priv, int table, size_t bucket)
{
    struct ht_scan_ctx *ctx = priv;
    scan_bucket(ctx->h->table[table][bucket], ctx->fn, ctx->priv);
}

/* The keyspace's reverse-binary cursor (scan_step), over two tables while
 * resizing. */
static unsigned long ht_scan(htset *h, unsigned long cursor, set_scan_fn fn, void *priv)
{
    if (ht_size(h) == 0) return 0;
    struct ht_scan_ctx ctx = {h, fn, priv};
    size_t size[2] = {h->size[0], ht_rehashing(h) ? h->size[1] : 0};
    return scan_step(cursor, size, scan_ht_bucket, &ctx);
}

static htset *is_to_ht(intset *is)
{
    htset *h = ht_new(is->n);
    char buf[24];
    for (size_t i = 0; i < is->n; i++) {
        size_t len = ll2str(buf, sizeof(buf), is_get(is, i));
        ht_insert(h, key_hash(buf, len), buf, len);
    }
    zfree(is);
    return h;
}

/* ---- the generic operations --------------------------------------------- */

int set_encoding(const void *s) { return *(const uint8_t *)s; }

void *set_create_intset(void) { return is_new(); }

void *set_create(const char *m, size_t len)
{
    long long v;
    if (string2ll(m, len, &v)) return is_new();
    return ht_new(0);
}

void *set_create_like(const void *s)
{
    if (set_encoding(s) == SET_ENC_INTSET) return is_new();
    return ht_new(0);
}

void set_free(void *s)
{
    if (s == NULL) return;
    if (set_encoding(s) == SET_ENC_INTSET) zfree(s);
    else ht_free(s);
}

size_t set_size(const void *s)
{
    if (set_encoding(s) == SET_ENC_INTSET) return ((const intset *)s)->n;
    return ht_size(s);
}

int set_contains(const void *s, const char *m, size_t len)
{
    if (set_encoding(s) == SET_ENC_INTSET) {
        long long v;
        return string2ll(m, len, &v) && is_contains(s, v);
    }
    return ht_contains(s, m, len);
}

int set_add(void **sp, const char *m, size_t len)
{
    if (set_encoding(*sp) == SET_ENC_INTSET) {
        long long v;
        if (string2ll(m, len, &v) && ((intset *)*sp)->n < UINT32_MAX) {
            intset *is = *sp;
            int added = is_add(&is, v);
            if (added && (long long)is->n > server.set_max_intset_entries) *sp = is_to_ht(is);
            else *sp = is;
            return added;
        }
        *sp = is_to_ht(*sp);
    }
    return ht_add(*sp, m, len);
}

int set_remove(void **sp, const char *m, size_t len)
{
    if (set_encoding(*sp) == SET_ENC_INTSET) {
        long long v;
        if (!string2ll(m, len, &v)) return 0;
        intset *is = *sp;
        int removed = is_remove(&is, v);
        *sp = is;
        return removed;
    }
    return ht_remove(*sp, m, len);
}

static void is_member(const intset *is, size_t i, smember *out)
{
    out->len = ll2str(out->buf, sizeof(out->buf), is_get(is, i));
    out->p = out->buf;
}

void set_random(void *s, smember *out)
{
    if (set_encoding(s) == SET_ENC_INTSET) {
        const intset *is = s;
        is_member(is, random_u64() % is->n, out);
        return;
    }
    ht_random(s, out);
}

void set_iter_init(set_iter *it, const void *s)
{
    it->s = s;
    it->i = 0;
    it->table = 0;
    it->off = 0;
}

int set_iter_next(set_iter *it, smember *m)
{
    if (set_encoding(it->s) == SET_ENC_INTSET) {
        const intset *is = it->s;
        if (it->i >= is->n) return 0;
        is_member(is, it->i++, m);
        return 1;
    }
    const htset *h = it->s;
    for (;;) {
        if (it->i >= h->size[it->table]) {
            if (it->table == 1 || !ht_rehashing(h)) return 0;
            it->table = 1;
            it->i = 0;
            it->off = 0;
            continue;
        }
        const bkt *b = h->table[it->table][it->i];
        if (b == NULL || it->off >= b->len) {
            it->i++;
            it->off = 0;
            continue;
        }
        const unsigned char *next = ent_decode(b->data + it->off, &m->p, &m->len);
        it->off = (size_t)(next - b->data);
        return 1;
    }
}

unsigned long set_scan(void *s, unsigned long cursor, set_scan_fn fn, void *priv)
{
    if (set_encoding(s) == SET_ENC_INTSET) { /* all at once, cursor ignored */
        set_iter it;
        smember m;
        set_iter_init(&it, s);
        while (set_iter_next(&it, &m)) fn(priv, m.p, m.len);
        return 0;
    }
    return ht_scan(s, cursor, fn, priv);
}

void *set_dup(const void *s)
{
    if (set_encoding(s) == SET_ENC_INTSET) {
        const intset *is = s;
        size_t bytes = sizeof(intset) + (size_t)is->n * is->width;
        intset *copy = zmalloc(bytes);
        memcpy(copy, is, bytes);
        return copy;
    }
    const htset *h = s;
    htset *copy = ht_new(ht_size(h));
    set_iter it;
    smember m;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m)) ht_insert(copy, key_hash(m.p, m.len), m.p, m.len);
    return copy;
}

static size_t bkt_mem(const bkt *b)
{
    size_t n = zmalloc_size(b);
    const unsigned char *p = b->data, *end = b->data + b->len;
    while (p < end) {
        uint64_t v;
        const unsigned char *q = varint_get(p, &v);
        const char *x;
        size_t xl;
        if (v & 1) {
            char *ext;
            memcpy(&ext, q, sizeof(ext));
            n += zmalloc_size(ext);
        }
        p = ent_decode(p, &x, &xl);
    }
    return n;
}

size_t set_mem_usage(const void *s, long long samples)
{
    if (set_encoding(s) == SET_ENC_INTSET) return zmalloc_size(s);
    const htset *h = s;
    size_t total = zmalloc_size(h) + zmalloc_size(h->table[0]) + zmalloc_size(h->table[1]);
    size_t bytes = 0, seen = 0;
    for (int t = 0; t <= 1; t++) {
        for (size_t i = 0; i < h->size[t]; i++) {
            const bkt *b = h->table[t][i];
            if (b == NULL) continue;
            bytes += bkt_mem(b);
            seen += bkt_count(b);
            if (samples > 0 && seen >= (size_t)samples) goto estimate;
        }
    }
estimate:
    if (seen == 0) return total;
    if (seen < ht_size(h)) return total + (size_t)((double)bytes / (double)seen * (double)ht_size(h));
    return total + bytes;
}

/* ---- object_type callbacks ----------------------------------------------- */

static const char *set_encoding_name(const void *obj)
{
    return set_encoding(obj) == SET_ENC_INTSET ? "intset" : "hashtable";
}

static void set_free_cb(void *obj) { set_free(obj); }

static size_t set_free_effort(const void *obj)
{
    if (set_encoding(obj) == SET_ENC_INTSET) return 1;
    const htset *h = obj;
    return ht_size(h) + h->size[0] / 64 + h->size[1] / 64;
}

static void *set_dup_cb(const void *obj) { return set_dup(obj); }

static size_t set_mem_usage_cb(const void *obj, long long samples) { return set_mem_usage(obj, samples); }

static void set_each_element(const void *obj, element_fn fn, void *priv)
{
    set_iter it;
    smember m;
    set_iter_init(&it, obj);
    while (set_iter_next(&it, &m)) fn(priv, m.p, m.len);
}

static void digest_member(void *priv, const char *p, size_t len)
{
    digest_add_element(priv, p, len, NULL, 0);
}

static void save_member(void *priv, const char *p, size_t len) { snapw_string(priv, p, len); }

static void set_digest(const void *obj, struct digest *d) { set_each_element(obj, digest_member, d); }

/* Snapshot: a byte (the encoding), a varint count, then the members:
 * intset: zigzag varints in ascending order; hashtable: strings. */
static void set_save(const void *obj, struct snap_writer *w)
{
    int enc = set_encoding(obj);
    snapw_byte(w, (unsigned char)enc);
    snapw_varint(w, set_size(obj));
    if (enc == SET_ENC_INTSET) {
        const intset *is = obj;
        for (size_t i = 0; i < is->n; i++) snapw_svarint(w, is_get(is, i));
        return;
    }
    set_each_element(obj, save_member, w);
}

static void *set_load_fail(struct snap_reader *r, void *s, const char *why)
{
    set_free(s);
    snapr_fail(r, why);
    return NULL;
}

/* A snapshot round trip keeps the encoding: a saved hashtable stays one
 * (as a live set never converts back), and a saved intset stays one unless
 * it is larger than set-max-intset-entries allows now, as the hash and
 * sorted-set loaders treat their compact encodings. */
static void *set_load(struct snap_reader *r)
{
    unsigned char enc;
    uint64_t n;
    if (snapr_byte(r, &enc) < 0 || snapr_varint(r, &n) < 0) return NULL;
    if (enc != SET_ENC_INTSET && enc != SET_ENC_HT) return set_load_fail(r, NULL, "bad set encoding");
    if (n == 0) return set_load_fail(r, NULL, "empty set");
    if (n > snapr_remaining(r)) return set_load_fail(r, NULL, "set count exceeds the payload");
    int small = (long long)n <= server.set_max_intset_entries && n <= UINT32_MAX;
    if (enc == SET_ENC_INTSET) {
        if (n > UINT32_MAX) return set_load_fail(r, NULL, "intset too large");
        long long *vals = zmalloc((size_t)n * sizeof(long long));
        int w = 2;
        for (uint64_t i = 0; i < n; i++) {
            if (snapr_svarint(r, &vals[i]) < 0) {
                zfree(vals);
                return NULL;
            }
            if (i > 0 && vals[i] <= vals[i - 1]) {
                zfree(vals);
                return set_load_fail(r, NULL, "intset not sorted");
            }
            if (width_for(vals[i]) > w) w = width_for(vals[i]);
        }
        intset *is = zmalloc(sizeof(intset) + (size_t)n * (size_t)w);
        is->enc = SET_ENC_INTSET;
        is->width = (uint8_t)w;
        is->spare = 0;
        is->n = (uint32_t)n;
        for (uint64_t i = 0; i < n; i++) is_put(is, i, vals[i]);
        zfree(vals);
        return small ? (void *)is : (void *)is_to_ht(is);
    }
    void *s = ht_new((size_t)n);
    for (uint64_t i = 0; i < n; i++) {
        const char *p;
        size_t len;
        if (snapr_string(r, &p, &len) < 0) return set_load_fail(r, s, "truncated set member");
        if (!set_add(&s, p, len)) return set_load_fail(r, s, "duplicate set member");
    }
    return s;
}

const struct object_type set_type = {
    .name = "set",
    .snap_code = 0x03,
    .encoding = set_encoding_name,
    .free = set_free_cb,
    .free_effort = set_free_effort,
    .dup = set_dup_cb,
    .mem_usage = set_mem_usage_cb,
    .digest = set_digest,
    .save = set_save,
    .load = set_load,
    .each_element = set_each_element,
};
