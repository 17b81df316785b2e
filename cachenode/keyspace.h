/* keyspace.h: one database's keys and values.
 *
 * An entry is one allocation holding the key, the value (inline when it is
 * small) and, for keys with a TTL, the absolute expiry time. Entries chain
 * through a power-of-two bucket array that rehashes incrementally, so a
 * growing keyspace never stalls the event loop. Keys with a TTL are also
 * listed in a dense array (the volatile set) so that active expiry and the
 * volatile-* eviction policies can sample them in O(1).
 *
 * Functions that may move an entry in memory (changing its value or TTL)
 * return the entry's new address; the old pointer is invalid afterwards. */
#ifndef CN_KEYSPACE_H
#define CN_KEYSPACE_H

#include <stddef.h>
#include <stdint.h>

enum value_type { TYPE_STRING = 0, TYPE_LIST, TYPE_SET, TYPE_ZSET, TYPE_HASH, TYPE_STREAM };

/* String encodings, named as OBJECT ENCODING reports them. */
enum value_encoding { ENC_INT = 0, ENC_EMBSTR, ENC_RAW, ENC_OBJECT };

#define EMBSTR_MAX_LEN 44 /* longer strings are stored out of line ("raw") */

typedef struct entry {
    struct entry *next;
    uint32_t lru : 24;     /* LRU clock in seconds, or LFU time+counter */
    uint32_t type : 3;
    uint32_t enc : 3;
    uint32_t has_expire : 1;
    uint32_t spare : 1;
    uint32_t keylen;
    /* data: [int64 expire_ms, uint32 volatile_index] when has_expire,
     * then the key bytes, then the value:
     *   ENC_INT:    int64
     *   ENC_EMBSTR: uint8 length + bytes
     *   ENC_RAW:    struct rawstr *
     *   ENC_OBJECT: void * (the type's own structure) */
    unsigned char data[];
} entry;

/* An out-of-line string with spare capacity, for APPEND and SETRANGE. */
typedef struct rawstr {
    size_t len;
    size_t cap;
    char buf[];
} rawstr;

struct ktable {
    entry **buckets;
    size_t size; /* 0 or a power of two */
    size_t used;
};

/* One hash slot's keys: a table pair that rehashes incrementally. */
struct kslot {
    struct ktable t[2];
    long rehash_idx; /* -1 when not rehashing */
};

/* A database is one table or, in cluster mode, one table per hash slot
 * (slot.h), so that a slot's keys can be counted, listed, moved or dropped
 * without touching the others. Fields are keyspace.c's own. */
typedef struct db {
    struct kslot *slots;
    unsigned nslots;        /* 1 or CLUSTER_SLOTS */
    size_t keys, buckets;
    unsigned *rehashing;    /* slots being rehashed, oldest first */
    size_t nrehashing, rehashing_cap;
    size_t *key_tree;       /* nslots > 1: keys per slot as a Fenwick tree */
    unsigned resize_cursor; /* next slot db_resize_if_needed looks at */
    struct { unsigned slot; int table; size_t bucket; } drain; /* db_free_step's place */
    entry **vol;            /* keys that have a TTL */
    size_t vol_len, vol_cap;
    int id;
    long long avg_ttl;
} db;

void keyspace_seed(uint64_t seed);
/* Asked before the table grows by `bytes` (a new bucket array); returning 0
 * defers growth while chains are still short. The server uses it so that
 * growing the table never pushes memory past maxmemory. */
typedef int (*grow_allowed_fn)(size_t bytes);
void keyspace_set_grow_check(grow_allowed_fn fn);
/* The same check, for the tables inside collections (dict.c). */
int table_growth_allowed(size_t bytes);
uint64_t key_hash(const char *key, size_t len);

/* A database with one table, or with one per hash slot when `slotted`. */
db *db_create(int id, int slotted);
void db_release(db *d);
/* Moves d's contents to a new database and leaves d empty; the new one is
 * freed a step at a time by db_free_step (FLUSHALL ASYNC). */
db *db_detach(db *d);
/* Frees keys of a detached database until done or deadline_us (monotonic);
 * adds the number freed to *freed. Returns 1, with the database released,
 * when it is done. */
int db_free_step(db *d, long long deadline_us, size_t *freed);
/* Deletes every key; returns how many there were. */
size_t db_empty(db *d);
size_t db_size(const db *d);
size_t db_expires(const db *d);
size_t db_buckets(const db *d);
int db_is_rehashing(const db *d);
/* Does up to `steps` buckets of rehash work; returns 1 if more remains. */
int db_rehash(db *d, int steps);
/* Shrinks or grows the table when the load factor calls for it. */
void db_resize_if_needed(db *d);
/* Sizes an empty database's table for `keys` keys up front (loading a
 * snapshot), so that filling it needs no rehashing. No-op otherwise. */
void db_expand(db *d, size_t keys);

/* Plain lookup: no expiry, no LRU update. */
entry *db_find(db *d, const char *key, size_t len);

/* Adds a key that must not exist yet. */
/* Adding a key sends the "new" keyspace event unless keyspace_overwriting
 * is set: a value of another type replaces the key's old one, which Redis
 * counts as an overwrite, not a new key. */
extern int keyspace_overwriting;
entry *db_add_string(db *d, const char *key, size_t klen, const char *val, size_t vlen);
entry *db_add_int(db *d, const char *key, size_t klen, long long value);
entry *db_add_object(db *d, const char *key, size_t klen, enum value_type type, void *obj);

/* Replaces the value of an existing entry with a string, keeping the key,
 * the TTL and the LRU data. */
entry *db_set_string_value(db *d, entry *e, const char *val, size_t vlen);
entry *db_set_int_value(db *d, entry *e, long long value);
/* Makes the value a raw string with capacity for at least `cap` bytes and
 * returns the entry; the rawstr is then reachable with entry_rawstr(). */
entry *db_make_raw(db *d, entry *e, size_t cap);

/* Unlinks and frees the key; returns 1 if it existed. */
int db_delete(db *d, const char *key, size_t len);
/* Unlinks and frees `e`, which must be in `d`. */
void db_delete_entry(db *d, entry *e);
/* Unlinks `e` without freeing it (for MOVE and RENAME). */
void db_unlink_entry(db *d, entry *e);
/* Links an entry produced by db_unlink_entry, entry_dup or entry_rename into `d` under
 * its own key, which must not exist in `d`. */
void db_link_entry(db *d, entry *e);
/* Copies `e` with a new key, keeping value, TTL and LRU. Not linked. */
entry *entry_dup(const entry *e, const char *key, size_t klen);
/* Moves an unlinked `e`'s value, TTL and LRU to a new entry with a new key
 * and frees `e`: no copy of the value. Not linked. */
entry *entry_rename(entry *e, const char *key, size_t klen);
/* Copy the entry's value into a new, unlinked entry with the given key. */
void entry_free(entry *e);

entry *db_set_expire(db *d, entry *e, long long when_ms);
entry *db_remove_expire(db *d, entry *e);

/* A random key, or NULL when empty. */
entry *db_random_entry(db *d);
/* A random key with a TTL, or NULL when none. */
entry *db_random_volatile(db *d);
entry *db_volatile_at(db *d, size_t index);

/* SCAN: calls fn for every key in the bucket(s) at cursor; returns the next
 * cursor (0 when done). Keys present for the whole scan are seen at least
 * once, even across a rehash. */
typedef void (*scan_fn)(void *priv, entry *e);
unsigned long db_scan(db *d, unsigned long cursor, scan_fn fn, void *priv);

/* Calls fn for every key, stopping at the first -1 (which it returns);
 * with prefetching, for full walks such as a snapshot. */
typedef int (*walk_fn)(void *priv, const entry *e);
int db_walk(db *d, walk_fn fn, void *priv);

/* Hash slots (cluster mode; a database with one table holds every key in
 * its slot 0). */
size_t db_slot_size(const db *d, unsigned slot);
unsigned long db_scan_slot(db *d, unsigned slot, unsigned long cursor, scan_fn fn, void *priv);
int db_walk_slot(db *d, unsigned slot, walk_fn fn, void *priv);
/* Deletes every key of the slot; returns how many there were. */
size_t db_empty_slot(db *d, unsigned slot);
/* Moves the slot's keys and tables to `into`, a slotted database that
 * db_free_step frees later, and leaves the slot empty; returns how many. */
size_t db_move_slot_out(db *d, unsigned slot, db *into);

/* Entry accessors. */
static inline const char *entry_key(const entry *e)
{
    return (const char *)e->data + (e->has_expire ? 12 : 0);
}
long long entry_expire(const entry *e); /* -1 when none */
/* Bytes of a string value; integers are formatted into buf (>= 24 bytes). */
const char *entry_string(const entry *e, char *buf, size_t *len);
long long entry_int(const entry *e);          /* ENC_INT only */
rawstr *entry_rawstr(const entry *e);         /* ENC_RAW only */
void *entry_object(const entry *e);           /* ENC_OBJECT only */
/* Replaces an object value's pointer (a type that reallocates or converts
 * its structure); the old one is not freed. */
void entry_set_object(entry *e, void *obj);
size_t entry_alloc_size(const entry *e);      /* for MEMORY USAGE */

#endif
