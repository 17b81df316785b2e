/* dict.c: the hash table inside collections (see dict.h). */
#include "dict.h"

#include "alloc.h"
#include "keyspace.h"
#include "util.h"

#define DICT_MIN_SIZE 4
#define FORCE_GROW_RATIO 5 /* past this many members per bucket, grow regardless */

static inline size_t val_room(size_t vlen) { return (vlen + 7) & ~(size_t)7; }

dict *dict_create(void)
{
    dict *d = zcalloc(sizeof(dict));
    d->rehash_idx = -1;
    return d;
}

size_t dict_size(const dict *d) { return d->used[0] + d->used[1]; }
static int rehashing(const dict *d) { return d->rehash_idx != -1; }

static dnode *node_new(const void *key, size_t klen, const void *val, size_t vlen)
{
    dnode *n = zmalloc(sizeof(dnode) + val_room(vlen) + klen);
    n->next = NULL;
    n->klen = (uint32_t)klen;
    n->vlen = (uint32_t)val_room(vlen);
    if (val) memcpy(n->data, val, vlen);
    else memset(n->data, 0, vlen);
    if (n->vlen > vlen) memset(n->data + vlen, 0, n->vlen - vlen);
    memcpy(n->data + n->vlen, key, klen);
    return n;
}

void dict_node_free(dnode *n) { zfree(n); }

void dict_free(dict *d)
{
    if (d == NULL) return;
    for (int t = 0; t <= 1; t++) {
        for (size_t i = 0; i < d->size[t]; i++) {
            dnode *n = d->table[t][i];
            while (n) {
                dnode *next = n->next;
                zfree(n);
                n = next;
            }
        }
        zfree(d->table[t]);
    }
    zfree(d);
}

static inline size_t bucket_of(const dict *d, int t, const void *key, size_t klen)
{
    return key_hash(key, klen) & (d->size[t] - 1);
}

static void start_resize(dict *d, size_t want)
{
    size_t size = DICT_MIN_SIZE;
    while (size < want) size <<= 1;
    if (d->size[0] == 0) {
        d->table[0] = zcalloc(size * sizeof(dnode *));
        d->size[0] = size;
        return;
    }
    if (size == d->size[0]) return;
    d->table[1] = zcalloc(size * sizeof(dnode *));
    d->size[1] = size;
    d->used[1] = 0;
    d->rehash_idx = 0;
}

static void shrink_if_needed(dict *d);

/* Moves up to `steps` buckets from table 0 to table 1. */
static void rehash_step(dict *d, int steps)
{
    if (!rehashing(d) || d->iterators > 0) return;
    int empty_visits = steps * 10;
    while (steps-- > 0 && d->used[0] > 0) {
        while (d->table[0][d->rehash_idx] == NULL) {
            d->rehash_idx++;
            if (--empty_visits == 0) return;
        }
        dnode *n = d->table[0][d->rehash_idx];
        while (n) {
            dnode *next = n->next;
            size_t i = bucket_of(d, 1, dnode_key(n), n->klen);
            n->next = d->table[1][i];
            d->table[1][i] = n;
            d->used[0]--;
            d->used[1]++;
            n = next;
        }
        d->table[0][d->rehash_idx++] = NULL;
    }
    if (d->used[0] == 0) {
        zfree(d->table[0]);
        d->table[0] = d->table[1];
        d->size[0] = d->size[1];
        d->used[0] = d->used[1];
        d->table[1] = NULL;
        d->size[1] = d->used[1] = 0;
        d->rehash_idx = -1;
        shrink_if_needed(d); /* deletions during the rehash may call for another */
    }
}

void dict_expand(dict *d, size_t n)
{
    if (dict_size(d) == 0 && d->size[0] == 0 && !rehashing(d)) start_resize(d, n);
}

static void grow_if_needed(dict *d)
{
    if (rehashing(d)) return;
    if (d->size[0] == 0) {
        start_resize(d, DICT_MIN_SIZE);
        return;
    }
    if (d->used[0] < d->size[0] || d->iterators > 0) return;
    int forced = d->used[0] >= d->size[0] * FORCE_GROW_RATIO;
    if (!forced && !table_growth_allowed(d->size[0] * 2 * sizeof(dnode *))) return;
    start_resize(d, d->used[0] + 1);
}

static void shrink_if_needed(dict *d)
{
    if (rehashing(d) || d->iterators > 0 || d->size[0] <= DICT_MIN_SIZE) return;
    if (d->used[0] * 10 < d->size[0]) start_resize(d, d->used[0]);
}

static inline int node_is(const dnode *n, const void *key, size_t klen)
{
    return n->klen == klen && memcmp(dnode_key(n), key, klen) == 0;
}

/* The link that points at the member's node, or NULL. */
static dnode **find_link(dict *d, const void *key, size_t klen, int *table)
{
    if (dict_size(d) == 0) return NULL;
    uint64_t h = key_hash(key, klen);
    for (int t = 0; t <= 1; t++) {
        if (d->size[t] == 0) break;
        dnode **link = &d->table[t][h & (d->size[t] - 1)];
        for (; *link; link = &(*link)->next) {
            if (node_is(*link, key, klen)) {
                if (table) *table = t;
                return link;
            }
        }
        if (!rehashing(d)) break;
    }
    return NULL;
}

dnode *dict_find(dict *d, const void *key, size_t klen)
{
    rehash_step(d, 1);
    dnode **link = find_link(d, key, klen, NULL);
    return link ? *link : NULL;
}

static void link_node(dict *d, dnode *n)
{
    int t = rehashing(d) ? 1 : 0;
    size_t i = bucket_of(d, t, dnode_key(n), n->klen);
    n->next = d->table[t][i];
    d->table[t][i] = n;
    d->used[t]++;
}

dnode *dict_add(dict *d, const void *key, size_t klen, const void *val, size_t vlen)
{
    rehash_step(d, 1);
    grow_if_needed(d);
    dnode *n = node_new(key, klen, val, vlen);
    link_node(d, n);
    return n;
}

dnode *dict_set_value(dict *d, dnode *n, const void *val, size_t vlen)
{
    if (val_room(vlen) == n->vlen) {
        memcpy(n->data, val, vlen);
        return n;
    }
    int t;
    dnode **link = find_link(d, dnode_key(n), n->klen, &t);
    dnode *fresh = node_new(dnode_key(n), n->klen, val, vlen);
    fresh->next = n->next;
    *link = fresh;
    zfree(n);
    return fresh;
}

dnode *dict_unlink(dict *d, const void *key, size_t klen)
{
    rehash_step(d, 1);
    int t;
    dnode **link = find_link(d, key, klen, &t);
    if (link == NULL) return NULL;
    dnode *n = *link;
    *link = n->next;
    n->next = NULL;
    d->used[t]--;
    shrink_if_needed(d);
    return n;
}

int dict_delete(dict *d, const void *key, size_t klen)
{
    dnode *n = dict_unlink(d, key, klen);
    zfree(n);
    return n != NULL;
}

static dnode *bucket_at(const dict *d, size_t i)
{
    return i >= d->size[0] ? d->table[1][i - d->size[0]] : d->table[0][i];
}

dnode *dict_random(dict *d)
{
    if (dict_size(d) == 0) return NULL;
    rehash_step(d, 1);
    size_t total = d->size[0] + d->size[1];
    /* buckets of table 0 below rehash_idx are empty */
    size_t low = rehashing(d) ? (size_t)d->rehash_idx : 0;
    dnode *head = NULL;
    for (int tries = 0; head == NULL && tries < 1000; tries++)
        head = bucket_at(d, low + random_u64() % (total - low));
    if (head == NULL) { /* a very sparse table: walk from a random point */
        size_t start = random_u64() % total;
        for (size_t k = 0; k < total && head == NULL; k++) head = bucket_at(d, (start + k) % total);
    }
    size_t chain = 0;
    for (dnode *n = head; n; n = n->next) chain++;
    for (size_t pick = random_u64() % chain; pick > 0; pick--) head = head->next;
    return head;
}

static unsigned long rev_bits(unsigned long v)
{
    unsigned long s = 8 * sizeof(v), mask = ~0UL;
    while ((s >>= 1) > 0) {
        mask ^= (mask << s);
        v = ((v >> s) & mask) | ((v << s) & ~mask);
    }
    return v;
}

static void scan_chain(const dnode *n, dict_scan_fn fn, void *priv)
{
    for (; n; n = n->next) fn(priv, n);
}

/* The keyspace's reverse-binary cursor (see db_scan in keyspace.c). */
unsigned long dict_scan(dict *d, unsigned long cursor, dict_scan_fn fn, void *priv)
{
    if (dict_size(d) == 0) return 0;
    if (!rehashing(d)) {
        unsigned long m0 = d->size[0] - 1;
        scan_chain(d->table[0][cursor & m0], fn, priv);
        cursor |= ~m0;
        return rev_bits(rev_bits(cursor) + 1);
    }
    int small = d->size[0] <= d->size[1] ? 0 : 1, large = 1 - small;
    unsigned long m0 = d->size[small] - 1, m1 = d->size[large] - 1;
    scan_chain(d->table[small][cursor & m0], fn, priv);
    do {
        scan_chain(d->table[large][cursor & m1], fn, priv);
        cursor |= ~m1;
        cursor = rev_bits(rev_bits(cursor) + 1);
    } while (cursor & (m0 ^ m1));
    return cursor;
}

void dict_iter_init(dict_iter *it, dict *d)
{
    it->d = d;
    it->table = 0;
    it->bucket = 0;
    it->next = NULL;
    d->iterators++;
}

dnode *dict_iter_next(dict_iter *it)
{
    dict *d = it->d;
    while (it->next == NULL) {
        if (it->bucket >= d->size[it->table]) {
            if (it->table == 1 || !rehashing(d)) return NULL;
            it->table = 1;
            it->bucket = 0;
            continue;
        }
        it->next = d->table[it->table][it->bucket++];
    }
    dnode *n = it->next;
    it->next = n->next;
    return n;
}

void dict_iter_release(dict_iter *it)
{
    if (it->d) it->d->iterators--;
    it->d = NULL;
}

size_t dict_mem_usage(const dict *d)
{
    size_t n = zmalloc_size(d) + zmalloc_size(d->table[0]) + zmalloc_size(d->table[1]);
    for (int t = 0; t <= 1; t++)
        for (size_t i = 0; i < d->size[t]; i++)
            for (const dnode *x = d->table[t][i]; x; x = x->next) n += zmalloc_size(x);
    return n;
}
