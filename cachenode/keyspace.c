/* keyspace.c: entries, the incrementally rehashed key table and the
 * volatile set (see keyspace.h). */
#include "keyspace.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "notify.h"
#include "object.h"
#include "util.h"

uint32_t keyspace_new_lru; /* what a new entry's lru field starts at */

static uint64_t hash_seed = 0x2545F4914F6CDD1DULL;
static grow_allowed_fn grow_allowed;
/* Past this many keys per bucket the table grows whatever the hook says. */
#define FORCE_GROW_RATIO 5
void keyspace_seed(uint64_t seed) { hash_seed = seed | 1; }
void keyspace_set_grow_check(grow_allowed_fn fn) { grow_allowed = fn; }

/* ---- hashing ------------------------------------------------------------ */

static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* A seeded multiply-fold hash: eight bytes per step, so that keys chosen by
 * a client cannot be aimed at one bucket without knowing the seed. */
uint64_t key_hash(const char *key, size_t len)
{
    const unsigned char *p = (const unsigned char *)key;
    uint64_t h = hash_seed ^ mix(len ^ 0x9E3779B97F4A7C15ULL, hash_seed);
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = mix(h ^ v, 0xBF58476D1CE4E5B9ULL);
        p += 8;
        len -= 8;
    }
    uint64_t tail = 0;
    switch (len) {
    case 7: tail |= (uint64_t)p[6] << 48; /* fall through */
    case 6: tail |= (uint64_t)p[5] << 40; /* fall through */
    case 5: tail |= (uint64_t)p[4] << 32; /* fall through */
    case 4: tail |= (uint64_t)p[3] << 24; /* fall through */
    case 3: tail |= (uint64_t)p[2] << 16; /* fall through */
    case 2: tail |= (uint64_t)p[1] << 8;  /* fall through */
    case 1: tail |= (uint64_t)p[0]; h = mix(h ^ tail, 0x94D049BB133111EBULL); /* fall through */
    default: break;
    }
    return mix(h, 0x2127599BF4325C37ULL);
}

/* ---- entry layout ------------------------------------------------------- */

static inline size_t prefix_len(const entry *e) { return e->has_expire ? 12 : 0; }

static inline unsigned char *value_ptr(const entry *e)
{
    return (unsigned char *)e->data + prefix_len(e) + e->keylen;
}

long long entry_expire(const entry *e)
{
    if (!e->has_expire) return -1;
    long long when;
    memcpy(&when, e->data, 8);
    return when;
}

static inline uint32_t vol_index(const entry *e)
{
    uint32_t i;
    memcpy(&i, e->data + 8, 4);
    return i;
}

static inline void set_vol_index(entry *e, uint32_t i) { memcpy(e->data + 8, &i, 4); }

long long entry_int(const entry *e)
{
    long long v;
    memcpy(&v, value_ptr(e), 8);
    return v;
}

rawstr *entry_rawstr(const entry *e)
{
    rawstr *r;
    memcpy(&r, value_ptr(e), sizeof(r));
    return r;
}

void *entry_object(const entry *e)
{
    void *o;
    memcpy(&o, value_ptr(e), sizeof(o));
    return o;
}

void entry_set_object(entry *e, void *obj) { memcpy(value_ptr(e), &obj, sizeof(obj)); }

const char *entry_string(const entry *e, char *buf, size_t *len)
{
    const unsigned char *v = value_ptr(e);
    switch (e->enc) {
    case ENC_INT:
        *len = ll2str(buf, 24, entry_int(e));
        return buf;
    case ENC_EMBSTR:
        *len = v[0];
        return (const char *)v + 1;
    case ENC_RAW: {
        rawstr *r = entry_rawstr(e);
        *len = r->len;
        return r->buf;
    }
    default:
        *len = 0;
        return "";
    }
}

static size_t string_value_size(enum value_encoding enc, size_t vlen)
{
    return enc == ENC_EMBSTR ? 1 + vlen : 8;
}

static enum value_encoding choose_encoding(const char *val, size_t vlen, long long *as_int)
{
    if (vlen <= 20 && string2ll(val, vlen, as_int)) return ENC_INT;
    return vlen <= EMBSTR_MAX_LEN ? ENC_EMBSTR : ENC_RAW;
}

static rawstr *rawstr_new(const char *val, size_t len, size_t cap)
{
    rawstr *r = zmalloc(sizeof(rawstr) + cap + 1);
    r->len = len;
    r->cap = cap;
    if (len) memcpy(r->buf, val, len);
    r->buf[len] = '\0';
    return r;
}

/* Writes a string value at the entry's value position. */
static void write_string_value(entry *e, enum value_encoding enc, const char *val,
                               size_t vlen, long long as_int)
{
    unsigned char *v = value_ptr(e);
    e->type = TYPE_STRING;
    e->enc = enc;
    if (enc == ENC_INT) {
        memcpy(v, &as_int, 8);
    } else if (enc == ENC_EMBSTR) {
        v[0] = (unsigned char)vlen;
        memcpy(v + 1, val, vlen);
    } else {
        rawstr *r = rawstr_new(val, vlen, vlen);
        memcpy(v, &r, sizeof(r));
    }
}

static void free_value(entry *e)
{
    if (e->enc == ENC_RAW) {
        zfree(entry_rawstr(e));
    } else if (e->enc == ENC_OBJECT) {
        object_release((enum value_type)e->type, entry_object(e));
    }
}

static entry *entry_alloc(const char *key, size_t klen, size_t value_size)
{
    entry *e = zmalloc(sizeof(entry) + klen + value_size);
    e->next = NULL;
    e->lru = keyspace_new_lru;
    e->type = TYPE_STRING;
    e->enc = ENC_EMBSTR;
    e->has_expire = 0;
    e->spare = 0;
    e->keylen = (uint32_t)klen;
    memcpy(e->data, key, klen);
    return e;
}

void entry_free(entry *e)
{
    free_value(e);
    zfree(e);
}

size_t entry_alloc_size(const entry *e)
{
    size_t n = zmalloc_size(e);
    if (e->enc == ENC_RAW) n += zmalloc_size(entry_rawstr(e));
    return n;
}

/* ---- the table ---------------------------------------------------------- */

db *db_create(int id)
{
    db *d = zcalloc(sizeof(db));
    d->id = id;
    d->rehash_idx = -1;
    return d;
}

size_t db_size(const db *d) { return d->t[0].used + d->t[1].used; }
size_t db_expires(const db *d) { return d->vol_len; }
size_t db_buckets(const db *d) { return d->t[0].size + d->t[1].size; }
int db_is_rehashing(const db *d) { return d->rehash_idx != -1; }

static void table_alloc(struct ktable *t, size_t size)
{
    t->buckets = zcalloc(size * sizeof(entry *));
    t->size = size;
    t->used = 0;
}

static void table_free(struct ktable *t)
{
    zfree(t->buckets);
    memset(t, 0, sizeof(*t));
}

int table_growth_allowed(size_t bytes) { return grow_allowed == NULL || grow_allowed(bytes); }

static void start_rehash(db *d, size_t size)
{
    size_t real = 4;
    while (real < size) real <<= 1;
    if (d->t[0].size == 0) {
        table_alloc(&d->t[0], real);
        return;
    }
    if (real == d->t[0].size) return;
    table_alloc(&d->t[1], real);
    d->rehash_idx = 0;
}

int db_rehash(db *d, int steps)
{
    if (d->rehash_idx == -1) return 0;
    int empty_visits = steps * 10;
    while (steps-- && d->t[0].used) {
        while (d->t[0].buckets[d->rehash_idx] == NULL) {
            d->rehash_idx++;
            if (--empty_visits == 0) return 1;
        }
        entry *e = d->t[0].buckets[d->rehash_idx];
        while (e) {
            entry *next = e->next;
            size_t i = key_hash(entry_key(e), e->keylen) & (d->t[1].size - 1);
            e->next = d->t[1].buckets[i];
            d->t[1].buckets[i] = e;
            d->t[0].used--;
            d->t[1].used++;
            e = next;
        }
        d->t[0].buckets[d->rehash_idx++] = NULL;
    }
    if (d->t[0].used == 0) {
        table_free(&d->t[0]);
        d->t[0] = d->t[1];
        memset(&d->t[1], 0, sizeof(d->t[1]));
        d->rehash_idx = -1;
        return 0;
    }
    return 1;
}

void db_expand(db *d, size_t keys)
{
    if (db_size(d) != 0 || d->t[0].size != 0 || db_is_rehashing(d)) return;
    start_rehash(d, keys);
}

static void expand_if_needed(db *d)
{
    if (db_is_rehashing(d)) return;
    if (d->t[0].size == 0) {
        start_rehash(d, 4);
        return;
    }
    if (d->t[0].used < d->t[0].size) return;
    int forced = d->t[0].used >= d->t[0].size * FORCE_GROW_RATIO;
    if (!forced && !table_growth_allowed(d->t[0].size * 2 * sizeof(entry *))) return;
    start_rehash(d, d->t[0].used + 1);
}

void db_resize_if_needed(db *d)
{
    if (db_is_rehashing(d) || d->t[0].size <= 4) return;
    if (d->t[0].used * 10 < d->t[0].size) start_rehash(d, d->t[0].used);
}

static inline int key_eq(const entry *e, const char *key, size_t len)
{
    return e->keylen == len && memcmp(entry_key(e), key, len) == 0;
}

/* The chain link that points at the key's entry, or NULL; *table is set to
 * the table that holds it. */
static entry **find_link(db *d, const char *key, size_t len, uint64_t h, int *table)
{
    for (int t = 0; t <= 1; t++) {
        if (d->t[t].size == 0) break;
        entry **link = &d->t[t].buckets[h & (d->t[t].size - 1)];
        while (*link) {
            if (key_eq(*link, key, len)) {
                if (table) *table = t;
                return link;
            }
            link = &(*link)->next;
        }
        if (!db_is_rehashing(d)) break;
    }
    return NULL;
}

entry *db_find(db *d, const char *key, size_t len)
{
    if (db_size(d) == 0) return NULL;
    if (db_is_rehashing(d)) db_rehash(d, 1);
    entry **link = find_link(d, key, len, key_hash(key, len), NULL);
    return link ? *link : NULL;
}

static void vol_add(db *d, entry *e)
{
    if (d->vol_len == d->vol_cap) {
        d->vol_cap = d->vol_cap ? d->vol_cap * 2 : 16;
        d->vol = zrealloc(d->vol, d->vol_cap * sizeof(entry *));
    }
    set_vol_index(e, (uint32_t)d->vol_len);
    d->vol[d->vol_len++] = e;
}

static void vol_remove(db *d, entry *e)
{
    uint32_t i = vol_index(e);
    entry *last = d->vol[--d->vol_len];
    d->vol[i] = last;
    set_vol_index(last, i);
    if (d->vol_cap > 64 && d->vol_len * 4 < d->vol_cap) {
        d->vol_cap /= 2;
        d->vol = zrealloc(d->vol, d->vol_cap * sizeof(entry *));
    }
}

void db_link_entry(db *d, entry *e)
{
    if (db_is_rehashing(d)) db_rehash(d, 1);
    expand_if_needed(d);
    struct ktable *t = db_is_rehashing(d) ? &d->t[1] : &d->t[0];
    size_t i = key_hash(entry_key(e), e->keylen) & (t->size - 1);
    e->next = t->buckets[i];
    t->buckets[i] = e;
    t->used++;
    if (e->has_expire) vol_add(d, e);
}

static entry **link_of(db *d, const entry *e, int *table)
{
    return find_link(d, entry_key(e), e->keylen, key_hash(entry_key(e), e->keylen), table);
}

void db_unlink_entry(db *d, entry *e)
{
    int table;
    entry **link = link_of(d, e, &table);
    if (link == NULL) return;
    *link = e->next;
    e->next = NULL;
    d->t[table].used--;
    if (e->has_expire) vol_remove(d, e);
}

void db_delete_entry(db *d, entry *e)
{
    db_unlink_entry(d, e);
    entry_free(e);
}

int db_delete(db *d, const char *key, size_t len)
{
    entry *e = db_find(d, key, len);
    if (e == NULL) return 0;
    db_delete_entry(d, e);
    return 1;
}

size_t db_empty(db *d)
{
    size_t removed = db_size(d);
    for (int t = 0; t <= 1; t++) {
        for (size_t i = 0; i < d->t[t].size; i++) {
            entry *e = d->t[t].buckets[i];
            while (e) {
                entry *next = e->next;
                entry_free(e);
                e = next;
            }
        }
        table_free(&d->t[t]);
    }
    d->rehash_idx = -1;
    zfree(d->vol);
    d->vol = NULL;
    d->vol_len = d->vol_cap = 0;
    d->avg_ttl = 0;
    return removed;
}

void db_release(db *d)
{
    if (d == NULL) return;
    db_empty(d);
    zfree(d);
}

/* ---- adding and changing values ------------------------------------------ */

/* A key that did not exist was added: the "new" keyspace event (class n),
 * before the event of the command that created it, as Redis sends them. */
int keyspace_overwriting;

static void key_created(db *d, const entry *e)
{
    if (!keyspace_overwriting) notify_keyspace_event(NOTIFY_NEW, "new", entry_key(e), e->keylen, d->id);
}

entry *db_add_string(db *d, const char *key, size_t klen, const char *val, size_t vlen)
{
    long long as_int = 0;
    enum value_encoding enc = choose_encoding(val, vlen, &as_int);
    entry *e = entry_alloc(key, klen, string_value_size(enc, vlen));
    write_string_value(e, enc, val, vlen, as_int);
    db_link_entry(d, e);
    key_created(d, e);
    return e;
}

entry *db_add_int(db *d, const char *key, size_t klen, long long value)
{
    entry *e = entry_alloc(key, klen, 8);
    write_string_value(e, ENC_INT, NULL, 0, value);
    db_link_entry(d, e);
    key_created(d, e);
    return e;
}

entry *db_add_object(db *d, const char *key, size_t klen, enum value_type type, void *obj)
{
    entry *e = entry_alloc(key, klen, sizeof(void *));
    e->type = type;
    e->enc = ENC_OBJECT;
    memcpy(value_ptr(e), &obj, sizeof(obj));
    db_link_entry(d, e);
    key_created(d, e);
    return e;
}

/* Resizes an entry in place or moves it, keeping its links valid. */
static entry *entry_resize(db *d, entry *e, size_t size)
{
    if (size <= zmalloc_size(e)) return e;
    entry **link = link_of(d, e, NULL);
    entry *n = zrealloc(e, size);
    if (link) *link = n;
    if (n->has_expire) d->vol[vol_index(n)] = n;
    return n;
}

static size_t value_offset(const entry *e) { return sizeof(entry) + prefix_len(e) + e->keylen; }

/* Replaces the value: the old one is freed first, so `val` must not point
 * into the entry's own value. */
static entry *replace_string(db *d, entry *e, enum value_encoding enc, const char *val,
                             size_t vlen, long long as_int)
{
    free_value(e);
    e = entry_resize(d, e, value_offset(e) + string_value_size(enc, vlen));
    write_string_value(e, enc, val, vlen, as_int);
    return e;
}

entry *db_set_string_value(db *d, entry *e, const char *val, size_t vlen)
{
    long long as_int = 0;
    enum value_encoding enc = choose_encoding(val, vlen, &as_int);
    return replace_string(d, e, enc, val, vlen, as_int);
}

entry *db_set_int_value(db *d, entry *e, long long value)
{
    return replace_string(d, e, ENC_INT, NULL, 0, value);
}

/* For values Redis stores without trying the int encoding (INCRBYFLOAT's
 * results are embstr or raw even when they read as integers). */
entry *db_set_string_value_noint(db *d, entry *e, const char *val, size_t vlen)
{
    return replace_string(d, e, vlen <= EMBSTR_MAX_LEN ? ENC_EMBSTR : ENC_RAW, val, vlen, 0);
}

entry *db_make_raw(db *d, entry *e, size_t cap)
{
    if (e->enc == ENC_RAW) {
        rawstr *r = entry_rawstr(e);
        if (r->cap >= cap) return e;
        size_t grown = cap < 1024 * 1024 ? cap * 2 : cap + 1024 * 1024;
        r = zrealloc(r, sizeof(rawstr) + grown + 1);
        r->cap = grown;
        memcpy(value_ptr(e), &r, sizeof(r));
        return e;
    }
    char buf[24];
    size_t len;
    const char *cur = entry_string(e, buf, &len);
    if (cap < len) cap = len;
    rawstr *r = rawstr_new(cur, len, cap);
    free_value(e);
    e = entry_resize(d, e, value_offset(e) + sizeof(r));
    e->type = TYPE_STRING;
    e->enc = ENC_RAW;
    memcpy(value_ptr(e), &r, sizeof(r));
    return e;
}

/* A new entry under `key` with e's TTL, LRU data and value bytes: for a raw
 * string or an object, the value's pointer, still owned by `e`. */
static entry *entry_clone_shell(const entry *e, const char *key, size_t klen)
{
    const unsigned char *v = value_ptr(e);
    size_t vsize = e->enc == ENC_EMBSTR ? 1 + (size_t)v[0] : 8;
    entry *n = entry_alloc(key, klen, prefix_len(e) + vsize);
    n->lru = e->lru;
    n->type = e->type;
    n->enc = e->enc;
    if (e->has_expire) {
        memmove(n->data + 12, n->data, klen);
        memcpy(n->data, e->data, 12);
        n->has_expire = 1;
    }
    memcpy(value_ptr(n), v, vsize);
    return n;
}

entry *entry_dup(const entry *e, const char *key, size_t klen)
{
    entry *n = entry_clone_shell(e, key, klen);
    if (e->enc == ENC_RAW) {
        rawstr *r = entry_rawstr(e);
        rawstr *copy = rawstr_new(r->buf, r->len, r->len);
        memcpy(value_ptr(n), &copy, sizeof(copy));
    }
    return n;
}

entry *entry_rename(entry *e, const char *key, size_t klen)
{
    entry *n = entry_clone_shell(e, key, klen);
    zfree(e); /* its value, if it points elsewhere, now belongs to n */
    return n;
}

/* ---- expiry ------------------------------------------------------------- */

entry *db_set_expire(db *d, entry *e, long long when_ms)
{
    if (e->has_expire) {
        memcpy(e->data, &when_ms, 8);
        return e;
    }
    size_t old_size = value_offset(e) + (e->enc == ENC_EMBSTR ? 1 + value_ptr(e)[0] : 8);
    e = entry_resize(d, e, old_size + 12);
    memmove(e->data + 12, e->data, old_size - sizeof(entry));
    memcpy(e->data, &when_ms, 8);
    e->has_expire = 1;
    vol_add(d, e);
    return e;
}

entry *db_remove_expire(db *d, entry *e)
{
    if (!e->has_expire) return e;
    vol_remove(d, e);
    size_t size = value_offset(e) + (e->enc == ENC_EMBSTR ? 1 + value_ptr(e)[0] : 8);
    memmove(e->data, e->data + 12, size - sizeof(entry) - 12);
    e->has_expire = 0;
    return e;
}

/* ---- sampling and scanning ---------------------------------------------- */

entry *db_random_entry(db *d)
{
    if (db_size(d) == 0) return NULL;
    if (db_is_rehashing(d)) db_rehash(d, 1);
    entry *head = NULL;
    for (int tries = 0; head == NULL; tries++) {
        if (db_is_rehashing(d)) {
            /* buckets below rehash_idx in t[0] are empty */
            size_t span = d->t[0].size + d->t[1].size - (size_t)d->rehash_idx;
            size_t i = (size_t)d->rehash_idx + random_u64() % span;
            head = i >= d->t[0].size ? d->t[1].buckets[i - d->t[0].size] : d->t[0].buckets[i];
        } else {
            head = d->t[0].buckets[random_u64() & (d->t[0].size - 1)];
        }
        if (tries > 1000 && head == NULL) {
            /* a very sparse table: walk from a random point instead */
            size_t total = d->t[0].size + d->t[1].size, start = random_u64() % total;
            for (size_t n = 0; n < total && head == NULL; n++) {
                size_t i = (start + n) % total;
                head = i >= d->t[0].size ? d->t[1].buckets[i - d->t[0].size] : d->t[0].buckets[i];
            }
        }
    }
    size_t chain = 0;
    for (entry *e = head; e; e = e->next) chain++;
    size_t pick = random_u64() % chain;
    while (pick--) head = head->next;
    return head;
}

entry *db_random_volatile(db *d)
{
    if (d->vol_len == 0) return NULL;
    return d->vol[random_u64() % d->vol_len];
}

entry *db_volatile_at(db *d, size_t index)
{
    return index < d->vol_len ? d->vol[index] : NULL;
}

struct db_scan_ctx {
    db *d;
    scan_fn fn;
    void *priv;
};

static void scan_db_bucket(void *priv, int table, size_t bucket)
{
    struct db_scan_ctx *ctx = priv;
    entry *e = ctx->d->t[table].buckets[bucket];
    while (e) {
        entry *next = e->next;
        ctx->fn(ctx->priv, e);
        e = next;
    }
}

unsigned long db_scan(db *d, unsigned long cursor, scan_fn fn, void *priv)
{
    if (db_size(d) == 0) return 0;
    struct db_scan_ctx ctx = {d, fn, priv};
    size_t size[2] = {d->t[0].size, db_is_rehashing(d) ? d->t[1].size : 0};
    return scan_step(cursor, size, scan_db_bucket, &ctx);
}
