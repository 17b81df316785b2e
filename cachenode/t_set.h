/* t_set.h: the set type's value operations (t_set_enc.c), shared with its
 * commands (t_set.c) and the unit test.
 *
 * A set is one of two structures, told apart by their first byte:
 *   intset:    a sorted array of 16, 32 or 64-bit integers in one
 *              allocation (OBJECT ENCODING "intset"), while every member is
 *              a canonical decimal integer and there are at most
 *              set-max-intset-entries of them;
 *   hashtable: a power-of-two array of buckets, each bucket one allocation
 *              of packed length-prefixed members (OBJECT ENCODING
 *              "hashtable"), rehashed incrementally. A member costs its
 *              bytes plus a one-byte length, not a node and a string.
 * A set never converts back from hashtable to intset while it lives; a
 * snapshot load chooses the encoding from the thresholds, as Redis does. */
#ifndef CN_T_SET_H
#define CN_T_SET_H

#include <stddef.h>
#include <stdint.h>

enum { SET_ENC_INTSET = 1, SET_ENC_HT = 2 };

/* A member as read from a set: bytes inside the set (valid until the set
 * changes), or an integer formatted into buf. */
typedef struct smember {
    const char *p;
    size_t len;
    char buf[24];
} smember;

int set_encoding(const void *s);
/* An empty set that Redis's setTypeCreate would make for this first
 * member: an intset if it is an integer, else a hashtable. */
void *set_create(const char *m, size_t len);
void *set_create_intset(void);
/* An empty set of the same encoding as s. */
void *set_create_like(const void *s);
void set_free(void *s);
size_t set_size(const void *s);
int set_contains(const void *s, const char *m, size_t len);
/* Adds a member; returns 1 if it was new. May reallocate or convert the
 * set: *sp is updated. */
int set_add(void **sp, const char *m, size_t len);
/* Removes a member; returns 1 if it was there. May reallocate: *sp is
 * updated. The set may become empty (the caller deletes the key). */
int set_remove(void **sp, const char *m, size_t len);
/* A random member; the set must not be empty. */
void set_random(void *s, smember *out);
void *set_dup(const void *s);

/* Iteration; the set must not change while an iterator is in use. */
typedef struct set_iter {
    const void *s;
    size_t i;      /* intset index, or bucket */
    int table;     /* hashtable: 0 or 1 */
    size_t off;    /* hashtable: offset in the bucket */
} set_iter;
void set_iter_init(set_iter *it, const void *s);
int set_iter_next(set_iter *it, smember *m);

/* SSCAN on a hashtable: calls fn for each member of the bucket(s) at
 * cursor; returns the next cursor (0 when done). Reverse-binary cursor:
 * a member present for the whole scan is returned at least once. */
typedef void (*set_scan_fn)(void *priv, const char *m, size_t len);
unsigned long set_scan(void *s, unsigned long cursor, set_scan_fn fn, void *priv);

/* Bytes allocated for the set (sampling `samples` members, 0: all). */
size_t set_mem_usage(const void *s, long long samples);

#endif
