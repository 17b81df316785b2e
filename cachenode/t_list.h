/* t_list.h: the list value (t_list_enc.c) as the list commands (t_list.c)
 * see it.
 *
 * A list is a deque of nodes. Each node is one allocation holding a packed
 * byte array of elements, with free space kept at both ends (a gap buffer)
 * so that pushes and pops at either end of the list are O(1) and never
 * move the other elements. An element is a tag byte (small integers live
 * in the tag itself), its payload, and its total size written backwards so
 * the array can be walked in both directions:
 *
 *     0x00-0x7f            the integer 0..127
 *     0x80-0xbf            a string of 0..63 bytes follows
 *     0xc0-0xdf  b         a string of ((tag & 0x1f) << 8 | b) bytes follows
 *     0xe0       l0..l3    a string of (little-endian l) bytes follows
 *     0xe1-0xe8  v...      a signed integer in (tag - 0xe0) little-endian bytes
 *
 * then the size of tag + payload in 7-bit groups, the last byte holding the
 * lowest bits and the high bit of a byte meaning "one more byte before".
 * Strings that are canonical decimal integers are stored as integers.
 *
 * A node holds at most list-max-listpack-size elements (positive) or bytes
 * (negative: -1 4 KB ... -5 64 KB), as Redis's quicklist nodes do. Only the
 * two end nodes keep spare capacity: a node that stops being an end is
 * shrunk to fit. */
#ifndef CN_T_LIST_H
#define CN_T_LIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct lnode {
    struct lnode *prev, *next;
    uint32_t count; /* elements */
    uint32_t start; /* offset of the first element's byte in data; compressed: the frame's bytes */
    uint32_t used;  /* bytes of elements from data + start (compressed: once decompressed) */
    uint32_t cap;   /* bytes allocated for data; 0 marks a compressed node */
    unsigned char data[];
} lnode;

/* 24 bytes: the smallest allocation class holds it (a key with a short
 * list pays for every byte here). */
typedef struct qlist {
    lnode *head, *tail;
    size_t count; /* elements */
} qlist;

/* A decoded element: a string (s != NULL) or an integer (s == NULL, v). */
typedef struct lval {
    const unsigned char *s;
    size_t len;
    long long v;
} lval;

/* A position in a list: a node and the offset of an element in it. A
 * position in a compressed node reads a decompressed copy (a slot of the
 * read cache it holds, or its own view); a change through it decompresses
 * the node in place, and the node is compressed again when the position
 * leaves it. Every ql_iter_at must be paired with ql_iter_release, which
 * does both and lets go of the copy. */
typedef struct qiter {
    qlist *l;
    lnode *n;
    uint32_t off;               /* from the start of n's elements */
    const unsigned char *zdata; /* n's elements decompressed, when n is compressed */
    int slot;                   /* the read-cache slot zdata is in, or -1 */
    unsigned char *view;        /* its own copy when no slot could hold it */
    size_t view_cap;
    int unzipped;               /* n was decompressed in place for a change */
} qiter;

#define QL_HEAD 0
#define QL_TAIL 1

qlist *ql_create(void);
void ql_free(qlist *l);
qlist *ql_dup(const qlist *l);
/* Bytes; with samples > 0, the first `samples` nodes and an estimate for the rest. */
size_t ql_mem_usage(const qlist *l, long long samples);
/* Nodes, counting at most `limit` of them. */
size_t ql_nodes(const qlist *l, size_t limit);

void ql_push(qlist *l, const char *s, size_t len, int where);
/* The element at one end (the list must not be empty); valid until the list changes. */
void ql_peek(qlist *l, int where, lval *out);
/* Removes the element at one end (the list must not be empty). */
void ql_pop(qlist *l, int where);
/* Removes n elements starting at index start (0 <= start, start + n <= count). */
void ql_del_range(qlist *l, size_t start, size_t n);

/* Positions at index (0 <= index < count). */
void ql_iter_at(qlist *l, size_t index, qiter *it);
/* Ends the use of a position: compresses the node it changed, frees its view. */
void ql_iter_release(qiter *it);
/* Decodes the element at the position; valid until the position moves. */
void ql_iter_get(const qiter *it, lval *out);
/* Moves to the next / previous element; returns 0 at the end. */
int ql_iter_next(qiter *it);
int ql_iter_prev(qiter *it);
/* Deletes the element at the position; the iterator then points at the
 * element that followed it (forward) or preceded it (!forward). Returns
 * 0 when there is no such element. */
int ql_iter_delete(qiter *it, int forward);
/* Inserts before (after = 0) or after the element at the position. */
void ql_iter_insert(qiter *it, int after, const char *s, size_t len);
/* Replaces the element at the position. */
void ql_iter_replace(qiter *it, const char *s, size_t len);

/* Text of an element: v->s, or the integer formatted into buf (>= 24 bytes). */
const char *lval_str(const lval *v, char *buf, size_t *len);
/* Compares an element with bytes; `isint` and `iv` are the bytes' integer
 * form (see ql_parse_int), computed once for repeated comparisons. */
int lval_equal(const lval *v, const char *s, size_t len, int isint, long long iv);
/* 1 if the bytes are a canonical integer (stored as one), with *v. */
int ql_parse_int(const char *s, size_t len, long long *v);

/* Checks a list's structure (tests): 0 when consistent. */
int ql_check(const qlist *l);
/* Compressed nodes (tests, DEBUG). */
size_t ql_compressed_nodes(const qlist *l);

#endif
