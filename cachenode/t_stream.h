/* t_stream.h: the stream value (Redis 7.0 streams): its entry storage
 * (t_stream_enc.c), its consumer groups (t_stream_cg.c) and what the
 * commands (t_stream.c) and the unit tests share.
 *
 * Entries live in blocks kept in a sorted array, ordered by ID. A block is
 * one allocation: a header, the block's master fields (the field names of
 * its first entry), then its entries packed back to back. An entry is a
 * flags byte (deleted, same fields as the master), its ID as deltas from
 * the block's first ID (varints), then either the values alone (same
 * fields) or a field count and field/value pairs; every string is a varint
 * length and its bytes. A new block starts every STREAM_BLOCK_MAX_ENTRIES
 * entries (deleted ones count, as in Redis, so XTRIM ~ removes the same
 * whole blocks Redis removes whole nodes) or past STREAM_BLOCK_MAX_BYTES.
 * XDEL marks an entry deleted in place; a block with no live entry left is
 * freed, except the head block after an exact trim inside it, which Redis
 * keeps too (see stream_trim). */
#ifndef CN_T_STREAM_H
#define CN_T_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_BLOCK_MAX_ENTRIES 100
#define STREAM_BLOCK_MAX_BYTES 4096
#define STREAM_ENTRY_MAX_BYTES (1u << 30) /* blocks count bytes in 32 bits */
#define STREAM_ID_STR_MAX 48 /* "18446744073709551615-18446744073709551615" */

typedef struct stream_id {
    uint64_t ms, seq;
} stream_id;

/* One block of entries (see above). */
struct sblock {
    stream_id first;  /* the master ID: entries' IDs are deltas from it */
    stream_id last;   /* the last entry's ID, deleted or not */
    uint32_t live;    /* entries not deleted */
    uint32_t total;   /* entries written, deleted ones included */
    uint32_t used, cap; /* bytes of data used and allocated */
    uint32_t entries_at; /* where the entries begin (after the master fields) */
    unsigned char data[];
};

struct stream_cg; /* a consumer group (t_stream_cg.c) */

typedef struct stream {
    struct sblock **blocks;
    size_t nblocks, blocks_cap;
    uint64_t length;          /* live entries */
    stream_id last_id;        /* the last ID generated (XADD, XSETID) */
    stream_id first_id;       /* the first live entry's ID, 0-0 when empty */
    stream_id max_deleted_id; /* the largest ID XDEL removed */
    uint64_t entries_added;   /* every entry ever added */
    struct stream_cg **groups; /* sorted by name */
    size_t ngroups;
} stream;

/* ---- IDs ---------------------------------------------------------------------- */

int stream_id_cmp(const stream_id *a, const stream_id *b);
/* Next and previous ID; return -1 (and leave *id alone) at the ends. */
int stream_id_incr(stream_id *id);
int stream_id_decr(stream_id *id);
size_t stream_id_format(char *buf, const stream_id *id); /* STREAM_ID_STR_MAX bytes */
/* Redis's ID grammar: "ms-seq", "ms" (seq = missing_seq), "-" and "+"
 * unless strict; with seq_given non-NULL, "ms-*" too (*seq_given = 0).
 * Returns 0, or -1 when invalid. */
int stream_id_parse(const char *p, size_t len, stream_id *id, uint64_t missing_seq, int strict,
                    int *seq_given);

/* ---- the stream and its entries (t_stream_enc.c) ------------------------------ */

stream *stream_create(void);
void stream_free(void *s);

/* Appends an entry with fields f[i] = argv-style pairs; the ID must be
 * greater than last_id (the caller checks). Updates last_id, length,
 * entries_added and first_id. */
struct stream_field {
    const char *p;
    size_t len;
};
void stream_append(stream *s, const stream_id *id, const struct stream_field *fv, size_t nfv);
/* Deletes one entry; returns 1 if it existed (not already deleted). */
int stream_delete(stream *s, const stream_id *id);
/* Whether a live entry with this ID exists. */
int stream_has(const stream *s, const stream_id *id);
/* The last live entry's ID (0-0 when empty). */
void stream_last_live_id(const stream *s, stream_id *id);

/* Trimming: removes entries from the head, MAXLEN (keep at most maxlen) or
 * MINID (remove IDs below minid). Approximate trimming removes only whole
 * blocks; limit (when > 0) caps how many entries it may remove. Returns
 * how many it removed. */
enum stream_trim { TRIM_NONE = 0, TRIM_MAXLEN, TRIM_MINID };
struct stream_trim_args {
    enum stream_trim strategy;
    long long maxlen;
    stream_id minid;
    int approx;
    long long limit;
};
long long stream_trim(stream *s, const struct stream_trim_args *a);

/* A decoded entry: its ID and a way to walk its fields. */
struct stream_entry {
    stream_id id;
    uint64_t nfields;
    const struct sblock *b;
    const unsigned char *p;   /* the values (same fields) or the pairs */
    const unsigned char *master; /* the master fields, when same fields */
};
/* Walks an entry's fields in order; fn gets each field and value. */
typedef void (*stream_field_fn)(void *priv, const char *f, size_t flen, const char *v, size_t vlen);
void stream_entry_fields(const struct stream_entry *e, stream_field_fn fn, void *priv);

/* Range iteration over live entries with start <= ID <= end, forward or
 * backward. The stream must not change while iterating. */
typedef struct stream_iter {
    const stream *s;
    stream_id start, end;
    int rev;
    size_t bi;          /* the block being walked */
    int in_block;       /* bi's entries are being walked */
    uint32_t off[STREAM_BLOCK_MAX_ENTRIES + 1]; /* backward: entry offsets in the block */
    int noff;
    const unsigned char *p; /* forward: the next entry */
} stream_iter;
void stream_iter_init(stream_iter *it, const stream *s, const stream_id *start,
                      const stream_id *end, int rev);
int stream_iter_next(stream_iter *it, struct stream_entry *e);
/* Finds a live entry by ID; returns 1 and fills *e. */
int stream_lookup(const stream *s, const stream_id *id, struct stream_entry *e);

/* Memory and the type callbacks. */
size_t stream_entries_bytes(const stream *s);
struct snap_writer;
struct snap_reader;
struct digest;
size_t stream_free_effort(const void *s);
void *stream_dup(const void *s);
size_t stream_mem_usage(const void *s, long long samples);
void stream_digest(const void *s, struct digest *d);
void stream_save(const void *s, struct snap_writer *w);
void *stream_load(struct snap_reader *r);

/* ---- consumer groups (t_stream_cg.c) -------------------------------------------- */

/* A pending entry: delivered to a consumer, not acknowledged yet. The
 * group's PEL and its consumer's PEL hold the same nack. */
struct stream_nack {
    stream_id id;
    long long delivery_time; /* ms */
    uint64_t delivery_count;
    struct stream_consumer *consumer;
};

/* A PEL: nacks sorted by ID. */
struct stream_pel {
    struct stream_nack **items;
    size_t len, cap;
};

struct stream_consumer {
    char *name;
    size_t nlen;
    long long seen_time; /* ms */
    struct stream_pel pel;
};

typedef struct stream_cg {
    char *name;
    size_t nlen;
    stream_id last_id;
    long long entries_read; /* -1: unknown */
    struct stream_pel pel;
    struct stream_consumer **consumers; /* sorted by name */
    size_t nconsumers;
} stream_cg;

stream_cg *stream_cg_find(const stream *s, const char *name, size_t len);
/* Creates a group; NULL if one with that name exists. */
stream_cg *stream_cg_create(stream *s, const char *name, size_t len, const stream_id *last,
                            long long entries_read);
void stream_cg_destroy(stream *s, stream_cg *g);
struct stream_consumer *stream_consumer_find(const stream_cg *g, const char *name, size_t len);
struct stream_consumer *stream_consumer_create(stream_cg *g, const char *name, size_t len);
/* Deletes a consumer and its pending entries; returns how many it had. */
size_t stream_consumer_delete(stream_cg *g, struct stream_consumer *c);
/* PEL operations: the index of the first nack with ID >= id. */
size_t pel_lower_bound(const struct stream_pel *p, const stream_id *id);
struct stream_nack *pel_find(const struct stream_pel *p, const stream_id *id);
void pel_insert(struct stream_pel *p, struct stream_nack *n);
void pel_remove(struct stream_pel *p, const stream_id *id);
/* A group's lag (XINFO): 0 when it cannot be known (a null reply), else
 * 1 with *lag set (which may be negative after XSETID/XGROUP SETID). */
int stream_cg_lag(const stream *s, const stream_cg *g, long long *lag);
/* The entries_read a group reaches when it reads up to id (Redis's
 * streamEstimateDistanceFromFirstEverEntry and its bookkeeping). */
void stream_cg_note_read(const stream *s, stream_cg *g, const stream_id *id);
long long stream_estimate_distance(const stream *s, const stream_id *id);

void stream_groups_free(stream *s);
void stream_groups_dup(stream *dst, const stream *src);
size_t stream_groups_mem(const stream *s);
void stream_groups_digest(const stream *s, struct digest *d);
void stream_groups_save(const stream *s, struct snap_writer *w);
int stream_groups_load(stream *s, struct snap_reader *r);

/* ---- what the command files share (t_stream.c) ------------------------------------- */

#include "server.h"

void reply_stream_id(client *c, const stream_id *id);
void reply_stream_entry(client *c, const struct stream_entry *e);
/* Parses an ID argument (see stream_id_parse); replies Redis's error and
 * returns 0 when invalid. */
int stream_parse_id_or_reply(client *c, const arg *a, stream_id *id, uint64_t missing_seq,
                             int strict, int *seq_given);
/* An interval bound (XRANGE, XPENDING, XAUTOCLAIM): "(" makes it
 * exclusive; a missing sequence is 0 for a start, the maximum for an end.
 * Replies Redis's error and returns 0 when invalid. */
int stream_parse_bound_or_reply(client *c, const arg *a, stream_id *id, int is_start);
/* Every argument from `first` on as a strict ID (XDEL, XACK: all checked
 * before any is used); NULL after replying the error, else zfree it. */
stream_id *stream_parse_ids_or_reply(client *c, int first);
/* A change Redis makes without signalling the key (group bookkeeping,
 * XSETID): a write for replication, but WATCH does not see it; with wake,
 * clients blocked on the key run again (XGROUP DESTROY). */
void stream_changed_unwatched(client *c, const arg *key, int wake);
void stream_notify(client *c, const char *event, const arg *key);
/* Typed lookups: 0 after WRONGTYPE, else 1 with *s (NULL when missing). */
int stream_lookup_read(client *c, const arg *key, stream **s);
int stream_lookup_write(client *c, const arg *key, stream **s);
/* Replies the entries from start to end (inclusive), at most count (0:
 * all), in the given direction, calling hook (if any) before each; returns
 * how many it sent. */
typedef void (*stream_entry_hook)(void *priv, const stream_id *id);
long stream_reply_range(client *c, stream *s, const stream_id *start, const stream_id *end,
                        long long count, int rev, stream_entry_hook hook, void *priv);
/* A nack (consumer may be NULL until claimed). */
struct stream_nack *stream_nack_new(const stream_id *id, long long when, uint64_t count,
                                    struct stream_consumer *c);
/* XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID
 * last, to replicas: one delivery or claim, idempotent. */
void stream_propagate_claim(client *c, const arg *key, const stream_cg *g,
                            const struct stream_nack *n);
/* XGROUP SETID key group last ENTRIESREAD n, to replicas (t_stream_cg.c). */
void stream_propagate_group_id(client *c, const arg *key, const stream_cg *g);
/* XREADGROUP's reply for one stream (t_stream_cg.c): new entries after *gt
 * (">"), or the consumer's pending entries after *gt (history). */
void stream_read_group(client *c, stream *s, const arg *key, stream_cg *g, const arg *consumer,
                       const stream_id *gt, long long count, int noack, int history);

#endif
