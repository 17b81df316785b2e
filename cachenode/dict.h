/* dict.h: the hash table inside collections: hash fields, set members and
 * sorted-set members. A node is one allocation holding its value bytes and
 * then its member bytes; nodes chain through a power-of-two bucket array
 * that rehashes incrementally (a step per lookup or insert), so a growing
 * collection never stalls the event loop. SCAN uses the same reverse-binary
 * cursor as the keyspace: a member present for the whole scan is returned
 * at least once, across any number of resizes. Growth asks the keyspace's
 * growth check (maxmemory) like the key table does.
 *
 * Every allocation goes through alloc.h. */
#ifndef CN_DICT_H
#define CN_DICT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct dnode {
    struct dnode *next;
    uint32_t klen;
    uint32_t vlen;
    /* vlen value bytes (8-byte aligned: a double or a pointer fits), then
     * klen member bytes */
    unsigned char data[];
} dnode;

typedef struct dict {
    dnode **table[2];
    size_t size[2]; /* 0 or a power of two */
    size_t used[2];
    long rehash_idx; /* -1 when not rehashing */
    int iterators;   /* open iterators: rehashing pauses while any is open */
} dict;

static inline const char *dnode_key(const dnode *n) { return (const char *)n->data + n->vlen; }
static inline unsigned char *dnode_val(dnode *n) { return n->data; }
static inline const unsigned char *dnode_cval(const dnode *n) { return n->data; }

dict *dict_create(void);
/* Frees every node and the dict. */
void dict_free(dict *d);
size_t dict_size(const dict *d);
/* Sizes an empty dict for n members up front (loading, copying). */
void dict_expand(dict *d, size_t n);

dnode *dict_find(dict *d, const void *key, size_t klen);
/* Adds a member that must not exist yet, with vlen value bytes copied
 * from val (zeroed when val is NULL). */
dnode *dict_add(dict *d, const void *key, size_t klen, const void *val, size_t vlen);
/* Replaces a node's value; the node may move: use the returned address. */
dnode *dict_set_value(dict *d, dnode *n, const void *val, size_t vlen);
/* Removes and frees the member; returns 1 if it existed. */
int dict_delete(dict *d, const void *key, size_t klen);
/* Removes the member without freeing it (NULL when absent); the caller
 * frees it with dict_node_free. */
dnode *dict_unlink(dict *d, const void *key, size_t klen);
void dict_node_free(dnode *n);

/* A random member, or NULL when empty (uniform enough for SRANDMEMBER,
 * SPOP and HRANDFIELD: a random non-empty bucket, then a random node of
 * its chain). */
dnode *dict_random(dict *d);

/* Calls fn for every node in the bucket(s) at cursor; returns the next
 * cursor, 0 when the scan is complete. fn must not change the dict. */
typedef void (*dict_scan_fn)(void *priv, const dnode *n);
unsigned long dict_scan(dict *d, unsigned long cursor, dict_scan_fn fn, void *priv);

/* Iteration over every node. While an iterator is open the dict does not
 * rehash; the node just returned may be deleted (dict_delete or
 * dict_unlink), no other. Always release. */
typedef struct dict_iter {
    dict *d;
    int table;
    size_t bucket;
    dnode *next;
} dict_iter;
void dict_iter_init(dict_iter *it, dict *d);
dnode *dict_iter_next(dict_iter *it);
void dict_iter_release(dict_iter *it);

/* Bytes the allocator handed out for the bucket arrays and every node. */
size_t dict_mem_usage(const dict *d);

#endif
