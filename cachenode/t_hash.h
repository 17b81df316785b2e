/* t_hash.h: the hash value's two encodings (t_hash_enc.c), for the hash
 * commands (t_hash.c) and the unit tests.
 *
 * "listpack": one allocation, an 8-byte header (field count, bytes used)
 * then field and value entries alternately, each a one-byte header and its
 * bytes (canonical integers are stored as 1 to 8 byte little-endian ints),
 * or, for a short string, the length of the prefix it shares with an
 * earlier field (value) and its suffix (see t_hash_enc.c).
 * "hashtable": a dict (dict.h) whose node holds the field and, as its
 * value, a varint length then the value bytes.
 *
 * A hash starts as a listpack and becomes a hashtable, for good, when it
 * passes hash-max-listpack-entries fields or a field or value longer than
 * hash-max-listpack-value bytes is stored, as in Redis. Functions that may
 * reallocate or convert take a `void **` and update it: the caller stores
 * the new pointer with entry_set_object(). */
#ifndef CN_T_HASH_H
#define CN_T_HASH_H

#include <stddef.h>

#include "dict.h"

/* Room to format an integer-encoded entry or rebuild a shared-prefix one
 * (strings of at most HASH_NUMBUF bytes are stored that way). */
#define HASH_NUMBUF 64

enum hash_encoding { HASH_ENC_LISTPACK = 0, HASH_ENC_HASHTABLE = 1 };

void *hash_create(void); /* an empty listpack */
void hash_free(void *h);
enum hash_encoding hash_encoding_of(const void *h);
size_t hash_length(const void *h);

/* Finds a field: returns 1 and points *v at its value (into the hash or
 * into buf, HASH_NUMBUF bytes; valid until the next change), else 0. */
int hash_get(void *h, const char *f, size_t flen, char *buf, const char **v, size_t *vlen);
/* Sets a field; returns 1 if it was added, 0 if updated. Converts first
 * when the field or value is too long for a listpack, after when the
 * listpack has too many fields. */
int hash_set(void **hp, const char *f, size_t flen, const char *v, size_t vlen);
/* Removes a field; returns 1 if it existed. */
int hash_delete(void **hp, const char *f, size_t flen);
/* HSET's check before writing: converts a listpack when the longest of the
 * arguments is over hash-max-listpack-value or their total (header bytes
 * included) would make it too big. */
void hash_try_conversion(void **hp, size_t longest, size_t total);
/* Converts a listpack to a hashtable (no-op on a hashtable). */
void hash_convert(void **hp);

/* Iteration in the encoding's order (insertion order for a listpack). The
 * hash must not change while an iterator is open; always release. */
typedef struct hash_iter {
    void *h;
    const unsigned char *p, *end; /* listpack */
    dict_iter di;                 /* hashtable */
    char fbuf[HASH_NUMBUF], vbuf[HASH_NUMBUF];
} hash_iter;
void hash_iter_init(hash_iter *it, void *h);
int hash_iter_next(hash_iter *it, const char **f, size_t *flen, const char **v, size_t *vlen);
void hash_iter_release(hash_iter *it);

/* Random access for HRANDFIELD. A field and value at a random position
 * (the hash must not be empty); bufs are HASH_NUMBUF bytes. */
void hash_random(void *h, char *fbuf, char *vbuf, const char **f, size_t *flen, const char **v,
                 size_t *vlen);

/* Listpack internals used by HRANDFIELD and HSCAN: the offsets of every
 * field entry (zfree the array), and an entry's decoded bytes. */
size_t *hash_lp_offsets(const void *h);
void hash_lp_pair_at(const void *h, size_t off, char *fbuf, char *vbuf, const char **f,
                     size_t *flen, const char **v, size_t *vlen);

/* Hashtable internals: the dict, and a node's value. */
dict *hash_table(void *h);
const char *hash_node_value(const dnode *n, size_t *len);

/* The object-type callbacks (see object.h); t_hash.c builds hash_type. */
struct snap_writer;
struct snap_reader;
struct digest;
size_t hash_free_effort(const void *h);
void *hash_dup(const void *h);
size_t hash_mem_usage(const void *h, long long samples);
void hash_digest(const void *h, struct digest *d);
void hash_save(const void *h, struct snap_writer *w);
void *hash_load(struct snap_reader *r);

#endif
