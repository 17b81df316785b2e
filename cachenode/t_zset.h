/* t_zset.h: the sorted set's value structure, shared by t_zset_enc.c (the
 * two encodings and the object type) and t_zset.c (the commands).
 *
 * A sorted set is one of two structures; the first 32-bit word tells them
 * apart:
 *   - "listpack": struct zlp, one allocation holding every member in
 *     (score, member) order as [varint shared][varint suffix length]
 *     [suffix][score]: the member is the first `shared` bytes of the
 *     previous member then the suffix; the score is a varint of
 *     zigzag(n) << 1 for an integral score |n| <= 2^53, or the byte 0x01
 *     and then the 8 bytes of the double.
 *   - "skiplist": struct zbig, a skiplist with spans (ranks) plus a dict
 *     member -> node. Each member is ONE allocation: the dict node holds
 *     the skiplist node (score, backward link, levels) as its value and
 *     the member bytes as its key. */
#ifndef CN_T_ZSET_H
#define CN_T_ZSET_H

#include <stddef.h>
#include <stdint.h>

#include "dict.h"

#define ZSL_MAXLEVEL 32
#define ZBIG_MARK 0xFFFFFFFFu
#define ZLP_MAX_BYTES (1u << 30) /* a listpack never grows past this */

typedef struct zlp {
    uint32_t bytes; /* bytes of data in use (< ZLP_MAX_BYTES) */
    uint32_t count; /* members */
    unsigned char data[];
} zlp;

struct zsn;
struct zlv {
    struct zsn *fwd;
    unsigned long span;
};

/* A skiplist node: the value bytes of a dict node (see zsn_member). Its
 * number of levels is not stored: the dict node's value size gives it. */
typedef struct zsn {
    double score;
    struct zsn *backward;
    struct zlv lv[];
} zsn;

typedef struct zbig {
    uint32_t mark; /* ZBIG_MARK */
    int level;
    size_t length;
    dict *d;
    zsn *header; /* ZSL_MAXLEVEL levels, not in the dict */
    zsn *tail;
} zbig;

static inline int zs_is_big(const void *z) { return *(const uint32_t *)z == ZBIG_MARK; }

static inline const dnode *zsn_dnode(const zsn *n)
{
    return (const dnode *)(const void *)((const char *)n - offsetof(dnode, data));
}
static inline int zsn_levels(const zsn *n)
{
    return (int)((zsn_dnode(n)->vlen - sizeof(zsn)) / sizeof(struct zlv));
}
static inline const char *zsn_member(const zsn *n, size_t *len)
{
    const dnode *d = zsn_dnode(n);
    *len = d->klen;
    return dnode_key(d);
}

/* ---- ranges ------------------------------------------------------------- */

typedef struct zrange_score {
    double min, max;
    int minex, maxex;
} zrange_score;

/* A lex bound: kind -1 is "-", 1 is "+", 0 a string with inclusive flag. */
typedef struct zlex_bound {
    int kind;
    int incl;
    const char *p;
    size_t len;
} zlex_bound;

/* ---- the value API (t_zset_enc.c) ---------------------------------------- */

/* A new empty set with the encoding Redis picks for `size` members of up
 * to `maxlen` bytes. */
void *zs_create(size_t size, size_t maxlen);
void zs_free(void *z);
size_t zs_len(const void *z);
const char *zs_encoding_name(const void *z);
int zs_score(void *z, const char *m, size_t ml, double *score);
/* 0-based rank in ascending (or descending with rev) order; -1 when absent. */
long zs_rank(void *z, const char *m, size_t ml, int rev);
/* How many members have a score below v (or at most v with le). A range's
 * members are then the ranks [count(min, minex), count(max, !maxex)). */
size_t zs_count_score(const void *z, double v, int le);
/* Both ends of a score range at once: its members are ranks [*lo, *hi). */
void zs_score_ranks(const void *z, double min, int minex, double max, int maxex, size_t *lo, size_t *hi);
/* The same with members compared to a lex bound ("-" and "+" are the ends). */
size_t zs_count_lex(const void *z, const zlex_bound *b, int le);

/* A member rebuilt from a listpack (small ones need no allocation). */
typedef struct zmbuf {
    char *heap;
    size_t cap;
    char local[64];
} zmbuf;

/* A forward walk over a listpack: the current member is rebuilt in place
 * (its shared prefix is already in the buffer from the previous one). */
typedef struct zlpcur {
    const unsigned char *p, *end;
    const unsigned char *entry; /* the current entry */
    size_t len;                 /* the current member's length */
    size_t shared;              /* how much of it the previous member shares */
    zmbuf b;
    double score;
} zlpcur;

struct zrev_item {
    size_t moff, mlen;
    double score;
};

/* Iteration from a rank in either direction. A member returned is valid
 * until the next call (a listpack's members are rebuilt as it goes). */
typedef struct zs_iter {
    const void *z;
    int rev;
    size_t left;
    /* listpack forward */
    zlpcur c;
    int has_cursor;
    /* listpack reverse: the members up to the start, copied */
    struct zrev_item *items;
    char *arena;
    size_t idx;
    /* skiplist */
    const zsn *x;
} zs_iter;
/* rank counts in the direction of travel (rev: from the highest). */
void zs_iter_init(zs_iter *it, const void *z, size_t rank, int rev);
int zs_iter_next(zs_iter *it, const char **m, size_t *ml, double *score);
void zs_iter_release(zs_iter *it);

#define ZADD_IN_INCR (1 << 0)
#define ZADD_IN_NX (1 << 1)
#define ZADD_IN_XX (1 << 2)
#define ZADD_IN_GT (1 << 3)
#define ZADD_IN_LT (1 << 4)
#define ZADD_OUT_NOP (1 << 0)
#define ZADD_OUT_NAN (1 << 1)
#define ZADD_OUT_ADDED (1 << 2)
#define ZADD_OUT_UPDATED (1 << 3)
/* Adds or updates a member as ZADD does; returns the set (it may move or
 * change encoding); *out gets ZADD_OUT_* flags, *newscore the score. */
void *zs_add(void *z, const char *m, size_t ml, double score, int in, int *out, double *newscore);
/* Removes a member; *deleted = 1 if it was there. Returns the set. */
void *zs_delete(void *z, const char *m, size_t ml, int *deleted);
/* Removes ranks [lo, hi) (ascending order). Returns the set. */
void *zs_delete_ranks(void *z, size_t lo, size_t hi);
/* Converts to the skiplist encoding (no-op when already). */
void *zs_to_big(void *z);
/* A random member (uniform), for ZRANDMEMBER; valid until the next call. */
void zs_random(void *z, const char **m, size_t *ml, double *score);
/* Calls fn for the members in the bucket(s) at cursor (skiplist only). */
typedef void (*zs_scan_fn)(void *priv, const char *m, size_t ml, double score);
unsigned long zs_scan(void *z, unsigned long cursor, zs_scan_fn fn, void *priv);

#endif
