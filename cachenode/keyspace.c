/* keyspace.c: entries, the incrementally rehashed key table and the
 * volatile set (see keyspace.h). */
#include "keyspace.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "notify.h"
#include "object.h"
#include "slot.h"
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

/* ---- the tables ----------------------------------------------------------- */

db *db_create(int id, int slotted)
{
    db *d = zcalloc(sizeof(db));
    d->id = id;
    d->nslots = slotted ? CLUSTER_SLOTS : 1;
    d->slots = zmalloc(d->nslots * sizeof(struct kslot));
    for (unsigned s = 0; s < d->nslots; s++) {
        memset(&d->slots[s], 0, sizeof(struct kslot));
        d->slots[s].rehash_idx = -1;
    }
    if (slotted) d->key_tree = zcalloc((d->nslots + 1) * sizeof(size_t));
    return d;
}

size_t db_size(const db *d) { return d->keys; }
size_t db_expires(const db *d) { return d->vol_len; }
size_t db_buckets(const db *d) { return d->buckets; }
int db_is_rehashing(const db *d) { return d->nrehashing > 0; }

static inline size_t slot_used(const struct kslot *k) { return k->t[0].used + k->t[1].used; }
static inline int slot_rehashing(const struct kslot *k) { return k->rehash_idx != -1; }

size_t db_slot_size(const db *d, unsigned slot) { return slot < d->nslots ? slot_used(&d->slots[slot]) : 0; }

static inline unsigned slot_index(const db *d, const char *key, size_t len)
{
    return d->nslots == 1 ? 0 : key_hash_slot(key, len);
}

/* ---- keys per slot: a Fenwick tree, so a random key is drawn fairly ------ */

static void count_key(db *d, unsigned slot, long delta)
{
    d->keys += (size_t)delta;
    if (d->key_tree == NULL) return;
    for (size_t i = slot + 1; i <= d->nslots; i += i & (~i + 1)) d->key_tree[i] += (size_t)delta;
}

/* The slot that holds the key of rank r (0 <= r < keys). */
static unsigned slot_of_rank(const db *d, size_t r)
{
    size_t pos = 0;
    for (size_t step = d->nslots; step; step >>= 1) {
        if (pos + step <= d->nslots && d->key_tree[pos + step] <= r) {
            pos += step;
            r -= d->key_tree[pos];
        }
    }
    return (unsigned)pos;
}

/* ---- one slot's table pair ---------------------------------------------- */

static void table_alloc(db *d, struct ktable *t, size_t size)
{
    t->buckets = zcalloc(size * sizeof(entry *));
    t->size = size;
    t->used = 0;
    d->buckets += size;
}

static void table_free(db *d, struct ktable *t)
{
    d->buckets -= t->size;
    zfree(t->buckets);
    memset(t, 0, sizeof(*t));
}

int table_growth_allowed(size_t bytes) { return grow_allowed == NULL || grow_allowed(bytes); }

static void rehash_queue_remove(db *d, unsigned slot)
{
    for (size_t i = 0; i < d->nrehashing; i++) {
        if (d->rehashing[i] != slot) continue;
        memmove(d->rehashing + i, d->rehashing + i + 1, (d->nrehashing - i - 1) * sizeof(unsigned));
        d->nrehashing--;
        return;
    }
}

static void start_rehash(db *d, unsigned slot, size_t size)
{
    struct kslot *k = &d->slots[slot];
    size_t real = 4;
    while (real < size) real <<= 1;
    if (k->t[0].size == 0) {
        table_alloc(d, &k->t[0], real);
        return;
    }
    if (real == k->t[0].size) return;
    table_alloc(d, &k->t[1], real);
    k->rehash_idx = 0;
    if (d->nrehashing == d->rehashing_cap) {
        d->rehashing_cap = d->rehashing_cap ? d->rehashing_cap * 2 : 4;
        d->rehashing = zrealloc(d->rehashing, d->rehashing_cap * sizeof(unsigned));
    }
    d->rehashing[d->nrehashing++] = slot;
}

static void finish_rehash(db *d, unsigned slot)
{
    struct kslot *k = &d->slots[slot];
    table_free(d, &k->t[0]);
    k->t[0] = k->t[1];
    memset(&k->t[1], 0, sizeof(k->t[1]));
    k->rehash_idx = -1;
    rehash_queue_remove(d, slot);
}

/* Moves up to `steps` buckets of the slot's old table; 1 if more remains. */
static int slot_rehash(db *d, unsigned slot, int steps)
{
    struct kslot *k = &d->slots[slot];
    if (!slot_rehashing(k)) return 0;
    int empty_visits = steps * 10;
    while (steps-- && k->t[0].used) {
        while (k->t[0].buckets[k->rehash_idx] == NULL) {
            k->rehash_idx++;
            if (--empty_visits == 0) return 1;
        }
        entry *e = k->t[0].buckets[k->rehash_idx];
        while (e) {
            entry *next = e->next;
            size_t i = key_hash(entry_key(e), e->keylen) & (k->t[1].size - 1);
            e->next = k->t[1].buckets[i];
            k->t[1].buckets[i] = e;
            k->t[0].used--;
            k->t[1].used++;
            e = next;
        }
        k->t[0].buckets[k->rehash_idx++] = NULL;
    }
    if (k->t[0].used == 0) {
        finish_rehash(d, slot);
        return 0;
    }
    return 1;
}

int db_rehash(db *d, int steps)
{
    if (d->nrehashing == 0) return 0;
    slot_rehash(d, d->rehashing[0], steps);
    return d->nrehashing > 0;
}

void db_expand(db *d, size_t keys)
{
    if (d->nslots != 1 || db_size(d) != 0 || d->slots[0].t[0].size != 0) return;
    start_rehash(d, 0, keys);
}

static void expand_if_needed(db *d, unsigned slot)
{
    struct kslot *k = &d->slots[slot];
    if (slot_rehashing(k)) return;
    if (k->t[0].size == 0) {
        start_rehash(d, slot, 4);
        return;
    }
    if (k->t[0].used < k->t[0].size) return;
    int forced = k->t[0].used >= k->t[0].size * FORCE_GROW_RATIO;
    if (!forced && !table_growth_allowed(k->t[0].size * 2 * sizeof(entry *))) return;
    start_rehash(d, slot, k->t[0].used + 1);
}

static void shrink_if_needed(db *d, unsigned slot)
{
    struct kslot *k = &d->slots[slot];
    if (slot_rehashing(k) || k->t[0].size <= 4) return;
    if (k->t[0].used * 10 < k->t[0].size) start_rehash(d, slot, k->t[0].used);
}

/* A slot at a time would leave the cron's work in proportion to the slot
 * count; a bounded batch per call keeps each call cheap. */
#define RESIZE_SLOTS_PER_CALL 128

void db_resize_if_needed(db *d)
{
    for (unsigned n = 0; n < d->nslots && n < RESIZE_SLOTS_PER_CALL; n++) {
        shrink_if_needed(d, d->resize_cursor);
        d->resize_cursor = (d->resize_cursor + 1) % d->nslots;
    }
}

static inline int key_eq(const entry *e, const char *key, size_t len)
{
    return e->keylen == len && memcmp(entry_key(e), key, len) == 0;
}

/* The chain link that points at the key's entry, or NULL; *table is set to
 * the table that holds it. */
static entry **find_link(struct kslot *k, const char *key, size_t len, uint64_t h, int *table)
{
    for (int t = 0; t <= 1; t++) {
        if (k->t[t].size == 0) break;
        entry **link = &k->t[t].buckets[h & (k->t[t].size - 1)];
        while (*link) {
            if (key_eq(*link, key, len)) {
                if (table) *table = t;
                return link;
            }
            link = &(*link)->next;
        }
        if (!slot_rehashing(k)) break;
    }
    return NULL;
}

entry *db_find(db *d, const char *key, size_t len)
{
    if (db_size(d) == 0) return NULL;
    unsigned slot = slot_index(d, key, len);
    struct kslot *k = &d->slots[slot];
    if (slot_rehashing(k)) slot_rehash(d, slot, 1);
    entry **link = find_link(k, key, len, key_hash(key, len), NULL);
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
    unsigned slot = slot_index(d, entry_key(e), e->keylen);
    struct kslot *k = &d->slots[slot];
    if (slot_rehashing(k)) slot_rehash(d, slot, 1);
    expand_if_needed(d, slot);
    struct ktable *t = slot_rehashing(k) ? &k->t[1] : &k->t[0];
    size_t i = key_hash(entry_key(e), e->keylen) & (t->size - 1);
    e->next = t->buckets[i];
    t->buckets[i] = e;
    t->used++;
    count_key(d, slot, 1);
    if (e->has_expire) vol_add(d, e);
}

static entry **link_of(db *d, const entry *e, unsigned *slot, int *table)
{
    unsigned s = slot_index(d, entry_key(e), e->keylen);
    if (slot) *slot = s;
    return find_link(&d->slots[s], entry_key(e), e->keylen, key_hash(entry_key(e), e->keylen), table);
}

void db_unlink_entry(db *d, entry *e)
{
    int table;
    unsigned slot;
    entry **link = link_of(d, e, &slot, &table);
    if (link == NULL) return;
    *link = e->next;
    e->next = NULL;
    d->slots[slot].t[table].used--;
    count_key(d, slot, -1);
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

/* Frees the slot's entries and tables; the caller settles counts and the
 * volatile set. */
static void free_slot_tables(db *d, unsigned slot)
{
    struct kslot *k = &d->slots[slot];
    for (int t = 0; t <= 1; t++) {
        for (size_t i = 0; i < k->t[t].size; i++) {
            entry *e = k->t[t].buckets[i];
            while (e) {
                entry *next = e->next;
                entry_free(e);
                e = next;
            }
        }
        table_free(d, &k->t[t]);
    }
    if (slot_rehashing(k)) rehash_queue_remove(d, slot);
    k->rehash_idx = -1;
}

size_t db_empty(db *d)
{
    size_t removed = db_size(d);
    for (unsigned s = 0; s < d->nslots; s++) free_slot_tables(d, s);
    if (d->key_tree) memset(d->key_tree, 0, (d->nslots + 1) * sizeof(size_t));
    d->keys = 0;
    zfree(d->vol);
    d->vol = NULL;
    d->vol_len = d->vol_cap = 0;
    d->avg_ttl = 0;
    return removed;
}

static int drop_volatile_of_slot(void *priv, const entry *e)
{
    if (e->has_expire) vol_remove(priv, (entry *)e);
    return 0;
}

size_t db_empty_slot(db *d, unsigned slot)
{
    if (slot >= d->nslots) return 0;
    size_t removed = slot_used(&d->slots[slot]);
    if (d->vol_len) db_walk_slot(d, slot, drop_volatile_of_slot, d);
    free_slot_tables(d, slot);
    count_key(d, slot, -(long)removed);
    return removed;
}

size_t db_move_slot_out(db *d, unsigned slot, db *into)
{
    if (slot >= d->nslots || into->nslots != d->nslots) return 0;
    struct kslot *k = &d->slots[slot];
    size_t moved = slot_used(k);
    if (moved == 0) return 0;
    if (d->vol_len) db_walk_slot(d, slot, drop_volatile_of_slot, d);
    if (slot_rehashing(k)) rehash_queue_remove(d, slot);
    size_t buckets = k->t[0].size + k->t[1].size;
    into->slots[slot] = *k; /* db_free_step frees both tables, rehashing or not */
    into->slots[slot].rehash_idx = -1;
    into->buckets += buckets;
    into->keys += moved;
    memset(k, 0, sizeof(*k));
    k->rehash_idx = -1;
    d->buckets -= buckets;
    count_key(d, slot, -(long)moved);
    return moved;
}

void db_release(db *d)
{
    if (d == NULL) return;
    db_empty(d);
    zfree(d->slots);
    zfree(d->key_tree);
    zfree(d->rehashing);
    zfree(d);
}

db *db_detach(db *d)
{
    db *old = zmalloc(sizeof(db));
    *old = *d;
    db *fresh = db_create(d->id, d->nslots > 1);
    *d = *fresh;
    zfree(fresh);
    old->drain.slot = 0;
    old->drain.table = 0;
    old->drain.bucket = 0;
    return old;
}

int db_free_step(db *d, long long deadline_us, size_t *freed)
{
    unsigned steps = 0;
    while (d->drain.slot < d->nslots) {
        struct kslot *k = &d->slots[d->drain.slot];
        while (d->drain.table < 2) {
            struct ktable *t = &k->t[d->drain.table];
            while (d->drain.bucket < t->size) {
                entry *e = t->buckets[d->drain.bucket];
                t->buckets[d->drain.bucket++] = NULL;
                while (e) {
                    entry *next = e->next;
                    entry_free(e);
                    (*freed)++;
                    d->keys--;
                    e = next;
                }
                if ((++steps & 255) == 0 && monotonic_us() >= deadline_us) return 0;
            }
            table_free(d, t);
            d->drain.table++;
            d->drain.bucket = 0;
        }
        d->drain.slot++;
        d->drain.table = 0;
    }
    d->keys = 0;
    d->vol_len = 0; /* its entries are gone: nothing to unlink */
    d->nrehashing = 0;
    db_release(d);
    return 1;
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
    entry **link = link_of(d, e, NULL, NULL);
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

/* ---- sampling, scanning and walking --------------------------------------- */

entry *db_random_entry(db *d)
{
    if (db_size(d) == 0) return NULL;
    unsigned slot = d->nslots == 1 ? 0 : slot_of_rank(d, random_u64() % db_size(d));
    struct kslot *k = &d->slots[slot];
    if (slot_rehashing(k)) slot_rehash(d, slot, 1);
    entry *head = NULL;
    for (int tries = 0; head == NULL; tries++) {
        if (slot_rehashing(k)) {
            /* buckets below rehash_idx in t[0] are empty */
            size_t span = k->t[0].size + k->t[1].size - (size_t)k->rehash_idx;
            size_t i = (size_t)k->rehash_idx + random_u64() % span;
            head = i >= k->t[0].size ? k->t[1].buckets[i - k->t[0].size] : k->t[0].buckets[i];
        } else {
            head = k->t[0].buckets[random_u64() & (k->t[0].size - 1)];
        }
        if (tries > 1000 && head == NULL) {
            /* a very sparse table: walk from a random point instead */
            size_t total = k->t[0].size + k->t[1].size, start = random_u64() % total;
            for (size_t n = 0; n < total && head == NULL; n++) {
                size_t i = (start + n) % total;
                head = i >= k->t[0].size ? k->t[1].buckets[i - k->t[0].size] : k->t[0].buckets[i];
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
    struct kslot *k;
    scan_fn fn;
    void *priv;
};

static void scan_slot_bucket(void *priv, int table, size_t bucket)
{
    struct db_scan_ctx *ctx = priv;
    entry *e = ctx->k->t[table].buckets[bucket];
    while (e) {
        entry *next = e->next;
        ctx->fn(ctx->priv, e);
        e = next;
    }
}

unsigned long db_scan_slot(db *d, unsigned slot, unsigned long cursor, scan_fn fn, void *priv)
{
    if (db_slot_size(d, slot) == 0) return 0;
    struct kslot *k = &d->slots[slot];
    struct db_scan_ctx ctx = {k, fn, priv};
    size_t size[2] = {k->t[0].size, slot_rehashing(k) ? k->t[1].size : 0};
    return scan_step(cursor, size, scan_slot_bucket, &ctx);
}

/* The first slot at or after `slot` that holds keys, or nslots. */
static unsigned next_used_slot(const db *d, unsigned slot)
{
    while (slot < d->nslots && slot_used(&d->slots[slot]) == 0) slot++;
    return slot;
}

/* In a slotted database the cursor's low 14 bits name the slot and the
 * rest is that slot's own cursor, so the SCAN guarantee holds per slot. */
unsigned long db_scan(db *d, unsigned long cursor, scan_fn fn, void *priv)
{
    if (d->nslots == 1) return db_scan_slot(d, 0, cursor, fn, priv);
    unsigned slot = (unsigned)(cursor & (CLUSTER_SLOTS - 1));
    unsigned long inner = cursor >> 14;
    unsigned used = next_used_slot(d, slot);
    if (used != slot) inner = 0;
    if (used == d->nslots) return 0;
    inner = db_scan_slot(d, used, inner, fn, priv);
    if (inner != 0) return inner << 14 | used;
    used = next_used_slot(d, used + 1);
    return used == d->nslots ? 0 : used;
}

/* Entries are scattered in memory: touching the chain heads a few buckets
 * ahead hides most of the cache misses of a full walk. */
#define PREFETCH_AHEAD 16

int db_walk_slot(db *d, unsigned slot, walk_fn fn, void *priv)
{
    if (slot >= d->nslots) return 0;
    struct kslot *k = &d->slots[slot];
    for (int t = 0; t <= 1; t++) {
        const struct ktable *kt = &k->t[t];
        for (size_t i = 0; i < kt->size; i++) {
            if (i + PREFETCH_AHEAD < kt->size && kt->buckets[i + PREFETCH_AHEAD])
                __builtin_prefetch(kt->buckets[i + PREFETCH_AHEAD]);
            entry *e = kt->buckets[i];
            while (e) {
                entry *next = e->next; /* fn may unlink e (db_empty_slot) */
                if (fn(priv, e) == -1) return -1;
                e = next;
            }
        }
    }
    return 0;
}

int db_walk(db *d, walk_fn fn, void *priv)
{
    for (unsigned s = 0; s < d->nslots; s++)
        if (slot_used(&d->slots[s]) && db_walk_slot(d, s, fn, priv) == -1) return -1;
    return 0;
}
