/* object.h: the table of value types. Every value that is not a string is
 * an object owned by its type's module (t_hash.c, t_list.c, t_set.c,
 * t_zset.c); this table is how the rest of the engine handles it without
 * knowing its layout: TYPE and SCAN TYPE read the name, OBJECT ENCODING
 * the encoding, COPY dup, MEMORY USAGE mem_usage, DEBUG DIGEST digest,
 * snapshots, full sync and DUMP/RESTORE save and load, and the keyspace
 * frees through object_release, which hands a large value to the lazy-free
 * thread so that deleting a million members never stalls the event loop.
 *
 * Strings are not objects: keyspace.c stores them inline (see keyspace.h). */
#ifndef CN_OBJECT_H
#define CN_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "keyspace.h"

struct snap_writer; /* snapshot.c: a byte sink (file, socket or memory) */
struct snap_reader; /* snapshot.c: a bounds-checked byte source */
struct digest;      /* snapshot.c: DEBUG DIGEST's accumulator */

/* Receives one element of a collection, as text. */
typedef void (*element_fn)(void *priv, const char *p, size_t len);

struct object_type {
    const char *name;        /* TYPE's reply: "hash", "list", ... */
    unsigned char snap_code; /* the value's type byte in snapshots and DUMP payloads */
    const char *(*encoding)(const void *obj); /* OBJECT ENCODING: "listpack", ... */
    void (*free)(void *obj);
    /* Roughly how many allocations free walks: above LAZYFREE_THRESHOLD the
     * value is freed on the lazy-free thread. */
    size_t (*free_effort)(const void *obj);
    void *(*dup)(const void *obj); /* deep copy, for COPY */
    /* Bytes, sampling at most `samples` elements (0: all) as MEMORY USAGE does. */
    size_t (*mem_usage)(const void *obj, long long samples);
    /* Feeds the value's contents to the digest: what a client would read,
     * independent of the encoding (a listpack hash and a hashtable hash with
     * the same fields digest alike). */
    void (*digest)(const void *obj, struct digest *d);
    /* Writes the value (its encoding choice included) after the key. */
    void (*save)(const void *obj, struct snap_writer *w);
    /* Reads what save wrote; NULL after snapr_fail() on malformed input.
     * Must check every count against snapr_remaining() before allocating. */
    void *(*load)(struct snap_reader *r);
    /* Calls fn for every element: a list in order, a sorted set by rank, a
     * set in its own order (SORT). NULL for hashes. */
    void (*each_element)(const void *obj, element_fn fn, void *priv);
};

/* The type of `t`, or NULL for strings (and for types not built yet). */
const struct object_type *object_type(enum value_type t);
/* The type whose snap_code is `code`, or NULL. */
const struct object_type *object_type_by_code(unsigned char code, enum value_type *t);

/* Frees an object: inline when small, on the lazy-free thread when its
 * free_effort passes LAZYFREE_THRESHOLD. */
#define LAZYFREE_THRESHOLD 64
void object_release(enum value_type t, void *obj);
/* Values handed to the lazy-free thread and not freed yet (INFO lazyfree_pending_objects). */
size_t object_lazyfree_pending(void);
size_t object_lazyfreed_total(void); /* INFO lazyfreed_objects */
/* Waits until the lazy-free thread has freed everything handed to it
 * (shutdown, tests). */
void object_lazyfree_drain(void);

/* ---- what save, load and digest use (implemented in snapshot.c) ---------- */

void snapw_byte(struct snap_writer *w, unsigned char b);
void snapw_varint(struct snap_writer *w, uint64_t v);
void snapw_svarint(struct snap_writer *w, long long v); /* zigzag */
void snapw_string(struct snap_writer *w, const void *p, size_t len);
void snapw_double(struct snap_writer *w, double v);    /* 8 bytes, IEEE 754 LE */

/* Each returns 0, or -1 with the reader's error set (and stays failed). */
int snapr_byte(struct snap_reader *r, unsigned char *out);
int snapr_varint(struct snap_reader *r, uint64_t *out);
int snapr_svarint(struct snap_reader *r, long long *out);
/* Points into the source: valid while the source is (copy what you keep). */
int snapr_string(struct snap_reader *r, const char **p, size_t *len);
int snapr_double(struct snap_reader *r, double *out);
/* Bytes left: no element is encoded in fewer than one byte, so a count
 * larger than this is malformed. */
size_t snapr_remaining(const struct snap_reader *r);
/* Records the first problem and returns -1. */
int snapr_fail(struct snap_reader *r, const char *why);

/* Ordered contents (list elements, in order). */
void digest_add(struct digest *d, const void *p, size_t len);
/* One element of an unordered collection (a set member, a hash field and
 * its value, a sorted-set member and its score as text): the elements'
 * order does not change the digest. */
void digest_add_element(struct digest *d, const void *a, size_t alen, const void *b, size_t blen);

#endif
