/* t_zset.c: the sorted set commands: ZADD and ZINCRBY, ZREM, ZCARD,
 * ZSCORE/ZMSCORE, ZRANK/ZREVRANK, the ZRANGE family (by rank, score and
 * lex, ZRANGESTORE), ZCOUNT/ZLEXCOUNT, the ZREMRANGEBY* commands, the pops
 * (ZPOPMIN/ZPOPMAX, ZMPOP and their blocking forms), ZRANDMEMBER, the set
 * operations (ZUNION/ZINTER/ZDIFF, their STORE forms, ZINTERCARD), ZSCAN,
 * and the command table. The value structure is in t_zset_enc.c.
 *
 * Replies, error texts and the order in which arguments are checked follow
 * Redis 7.0. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "object.h"
#include "notify.h"
#include "server.h"
#include "t_set.h"
#include "t_zset.h"

/* ---- helpers ------------------------------------------------------------- */

static const char *const NAN_SCORE = "ERR resulting score is not a number (NaN)";

static int opt_is(const arg *a, const char *word) { return string_option_is(a, word); }

/* After a change to the set in entry e: records the set's new address,
 * sends the command's keyspace event, and deletes the key when empty (with
 * a "del" event after it, as Redis sends them). */
static void zset_commit(client *c, const arg *key, const char *event, entry *e, void *oldz, void *z)
{
    if (z != oldz) entry_set_object(e, z);
    notify_key(c, NOTIFY_ZSET, event, key);
    if (zs_len(z) == 0) {
        db_delete_entry(c->db, e);
        notify_key(c, NOTIFY_GENERIC, "del", key);
    }
}

/* Stores z under key, replacing whatever is there (TTL included), as
 * Redis's setKey does, and sends the command's keyspace event; an empty z
 * deletes the key instead ("del"). */
static void store_zset(client *c, const arg *key, void *z, const char *event)
{
    entry *e = db_find(c->db, key->p, key->len);
    if (e && expire_if_needed(c->db, e)) e = NULL;
    if (zs_len(z) == 0) {
        zs_free(z);
        if (e == NULL) return;
        db_delete_entry(c->db, e);
        key_modified(c->db, key);
        notify_key(c, NOTIFY_GENERIC, "del", key);
        return;
    }
    if (e) db_delete_entry(c->db, e);
    keyspace_overwriting = e != NULL; /* a replaced key is not new */
    db_add_object(c->db, key->p, key->len, TYPE_ZSET, z);
    keyspace_overwriting = 0;
    key_modified(c->db, key);
    notify_key(c, NOTIFY_ZSET, event, key);
}

/* Redis's getLongFromObject: a canonical integer that fits a long. */
static int parse_long(client *c, const arg *a, long *out)
{
    long long v;
    if (!string2ll(a->p, a->len, &v)) {
        reply_not_integer(c);
        return 0;
    }
    *out = (long)v;
    return 1;
}

/* Redis's getRangeLongFromObjectOrReply: msg (when given) is the error
 * for a non-integer and for one out of range alike. */
static int parse_long_range(client *c, const arg *a, long min, long max, long *out, const char *msg)
{
    long long v;
    if (!string2ll(a->p, a->len, &v)) {
        reply_error(c, msg ? msg : "ERR value is not an integer or out of range");
        return 0;
    }
    if (v < min || v > max) {
        if (msg) reply_error(c, msg);
        else reply_errorf(c, "ERR value is out of range, value must between %ld and %ld", min, max);
        return 0;
    }
    *out = (long)v;
    return 1;
}

/* A score as reply_double writes it (%.17g), with a fast path for the
 * integral scores most sets hold: below 1e15 %.17g prints their digits. */
static void reply_score(client *c, double s)
{
    if (s == floor(s) && fabs(s) < 1e15 && !(s == 0 && signbit(s))) {
        char buf[40];
        size_t n = ll2str(buf + 1, sizeof(buf) - 3, (long long)s);
        if (c->resp == 3) {
            buf[0] = ',';
            buf[n + 1] = '\r';
            buf[n + 2] = '\n';
            reply_raw(c, buf, n + 3);
        } else {
            reply_bulk(c, buf + 1, n);
        }
        return;
    }
    reply_double(c, s);
}

/* One element of a range reply. */
static inline void reply_element(client *c, const char *m, size_t ml, double s, int withscores)
{
    if (withscores && c->resp > 2) reply_array(c, 2);
    reply_bulk(c, m, ml);
    if (withscores) reply_score(c, s);
}

static inline void reply_elements_header(client *c, long n, int withscores)
{
    reply_array(c, withscores && c->resp == 2 ? n * 2 : n);
}

/* ---- range parsing ----------------------------------------------------- */

/* A score bound as zslParseRange reads it: "(" for exclusive, then strtod
 * on the C string (so "" is 0 and leading spaces are skipped). */
static int parse_score_bound(const arg *a, double *v, int *ex)
{
    char buf[512];
    const char *p = a->p;
    size_t len = a->len;
    *ex = 0;
    if (len > 0 && p[0] == '(') {
        *ex = 1;
        p++;
        len--;
    }
    if (len >= sizeof(buf)) return 0;
    memcpy(buf, p, len);
    buf[len] = '\0';
    char *end;
    *v = strtod(buf, &end);
    if (*end != '\0' || isnan(*v)) return 0;
    return 1;
}

static int parse_score_range(const arg *min, const arg *max, zrange_score *r)
{
    return parse_score_bound(min, &r->min, &r->minex) && parse_score_bound(max, &r->max, &r->maxex);
}

static int parse_lex_bound(const arg *a, zlex_bound *b)
{
    if (a->len == 0) return 0;
    b->p = a->p + 1;
    b->len = a->len - 1;
    switch (a->p[0]) {
    case '+':
        if (a->len != 1) return 0;
        b->kind = 1;
        return 1;
    case '-':
        if (a->len != 1) return 0;
        b->kind = -1;
        return 1;
    case '(':
        b->kind = 0;
        b->incl = 0;
        return 1;
    case '[':
        b->kind = 0;
        b->incl = 1;
        return 1;
    default:
        return 0;
    }
}

/* The ranks [*lo, *hi) of the members in a score range. */
static void score_range_ranks(const void *z, const zrange_score *r, size_t *lo, size_t *hi)
{
    zs_score_ranks(z, r->min, r->minex, r->max, r->maxex, lo, hi);
}

static void lex_range_ranks(const void *z, const zlex_bound *min, const zlex_bound *max, size_t *lo, size_t *hi)
{
    *lo = zs_count_lex(z, min, min->kind == 0 && !min->incl);
    *hi = zs_count_lex(z, max, max->kind == 0 && max->incl);
    if (*hi < *lo) *hi = *lo;
}

/* ---- ZADD, ZINCRBY, ZREM -------------------------------------------------- */

static void zadd_generic(client *c, int in)
{
    int ch = 0;
    int scoreidx = 2;
    while (scoreidx < c->argc) {
        const arg *o = &c->argv[scoreidx];
        if (opt_is(o, "nx")) in |= ZADD_IN_NX;
        else if (opt_is(o, "xx")) in |= ZADD_IN_XX;
        else if (opt_is(o, "ch")) ch = 1;
        else if (opt_is(o, "incr")) in |= ZADD_IN_INCR;
        else if (opt_is(o, "gt")) in |= ZADD_IN_GT;
        else if (opt_is(o, "lt")) in |= ZADD_IN_LT;
        else break;
        scoreidx++;
    }
    int incr = (in & ZADD_IN_INCR) != 0, nx = (in & ZADD_IN_NX) != 0, xx = (in & ZADD_IN_XX) != 0;
    int gt = (in & ZADD_IN_GT) != 0, lt = (in & ZADD_IN_LT) != 0;
    int elements = c->argc - scoreidx;
    if (elements % 2 || elements == 0) {
        reply_syntax_error(c);
        return;
    }
    elements /= 2;
    if (nx && xx) {
        reply_error(c, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        reply_error(c, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && elements > 1) {
        reply_error(c, "ERR INCR option supports a single increment-element pair");
        return;
    }
    double stack_scores[16];
    double *scores = elements <= 16 ? stack_scores : zmalloc(sizeof(double) * (size_t)elements);
    for (int j = 0; j < elements; j++) {
        const arg *a = &c->argv[scoreidx + j * 2];
        if (!string2d(a->p, a->len, &scores[j])) {
            reply_not_float(c);
            goto done;
        }
    }
    entry *e;
    const arg *key = &c->argv[1];
    if (!lookup_write_typed(c, key, TYPE_ZSET, &e)) goto done;
    long added = 0, updated = 0, processed = 0;
    double score = 0;
    if (e == NULL && xx) goto reply;
    void *z = e ? entry_object(e) : zs_create(1, c->argv[scoreidx + 1].len);
    void *orig = e ? z : NULL;
    int nan = 0;
    for (int j = 0; j < elements; j++) {
        const arg *m = &c->argv[scoreidx + j * 2 + 1];
        int out;
        double newscore = 0;
        z = zs_add(z, m->p, m->len, scores[j], in, &out, &newscore);
        if (out & ZADD_OUT_NAN) {
            nan = 1;
            break;
        }
        if (out & ZADD_OUT_ADDED) added++;
        if (out & ZADD_OUT_UPDATED) updated++;
        if (!(out & ZADD_OUT_NOP)) processed++;
        score = newscore;
    }
    if (e) {
        if (z != orig) entry_set_object(e, z);
    } else if (zs_len(z) > 0) {
        db_add_object(c->db, key->p, key->len, TYPE_ZSET, z);
    } else {
        zs_free(z);
    }
    if (added || updated) {
        key_modified(c->db, key);
        notify_key(c, NOTIFY_ZSET, incr ? "zincr" : "zadd", key);
    }
    if (nan) {
        reply_error(c, NAN_SCORE);
        goto done;
    }
reply:
    if (incr) {
        if (processed) reply_score(c, score);
        else reply_null(c);
    } else {
        reply_int(c, ch ? added + updated : added);
    }
done:
    if (scores != stack_scores) zfree(scores);
}

void zadd_command(client *c) { zadd_generic(c, 0); } /* also GEOADD's (geo.c) */
static void zincrby_command(client *c) { zadd_generic(c, ZADD_IN_INCR); }

static void zrem_command(client *c)
{
    entry *e;
    if (!lookup_write_typed(c, &c->argv[1], TYPE_ZSET, &e)) return;
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    void *z = entry_object(e), *orig = z;
    long deleted = 0;
    for (int j = 2; j < c->argc; j++) {
        int d;
        z = zs_delete(z, c->argv[j].p, c->argv[j].len, &d);
        deleted += d;
        if (zs_len(z) == 0) break;
    }
    if (deleted) {
        zset_commit(c, &c->argv[1], "zrem", e, orig, z);
        key_modified(c->db, &c->argv[1]);
    } else if (z != orig) {
        entry_set_object(e, z);
    }
    reply_int(c, deleted);
}

/* ---- reads of one member --------------------------------------------------- */

static void zcard_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_ZSET, &e)) return;
    reply_int(c, e ? (long long)zs_len(entry_object(e)) : 0);
}

static void zscore_command(client *c)
{
    entry *e;
    double s;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_ZSET, &e)) return;
    if (e == NULL || !zs_score(entry_object(e), c->argv[2].p, c->argv[2].len, &s)) reply_null(c);
    else reply_score(c, s);
}

static void zmscore_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_ZSET, &e)) return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double s;
        if (e == NULL || !zs_score(entry_object(e), c->argv[j].p, c->argv[j].len, &s)) reply_null(c);
        else reply_score(c, s);
    }
}

static void zrank_generic(client *c, int rev)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_ZSET, &e)) return;
    if (e == NULL) {
        reply_null(c);
        return;
    }
    long r = zs_rank(entry_object(e), c->argv[2].p, c->argv[2].len, rev);
    if (r < 0) reply_null(c);
    else reply_int(c, r);
}

static void zrank_command(client *c) { zrank_generic(c, 0); }
static void zrevrank_command(client *c) { zrank_generic(c, 1); }

/* ---- the ZRANGE family ------------------------------------------------------ */

enum { RANGE_AUTO = 0, RANGE_RANK, RANGE_SCORE, RANGE_LEX };
enum { DIR_AUTO = 0, DIR_FORWARD, DIR_REVERSE };

/* Emits `count` members from rank `start` (in the direction of travel):
 * replies them, or adds them to a new set for ZRANGESTORE. */
static void range_emit(client *c, const void *z, size_t start, size_t count, int rev, int withscores,
                       const arg *dst)
{
    zs_iter it;
    const char *m;
    size_t ml;
    double s;
    if (dst) {
        /* the source may be the destination: build the result first */
        size_t maxlen = 0;
        zs_iter_init(&it, z, start, rev);
        for (size_t i = 0; i < count && zs_iter_next(&it, &m, &ml, &s); i++)
            if (ml > maxlen) maxlen = ml;
        zs_iter_release(&it);
        void *out = zs_create(count, maxlen);
        zs_iter_init(&it, z, start, rev);
        for (size_t i = 0; i < count && zs_iter_next(&it, &m, &ml, &s); i++) {
            int flags;
            out = zs_add(out, m, ml, s, 0, &flags, NULL);
        }
        zs_iter_release(&it);
        store_zset(c, dst, out, "zrangestore");
        reply_int(c, (long long)count);
        return;
    }
    reply_elements_header(c, (long)count, withscores);
    zs_iter_init(&it, z, start, rev);
    for (size_t i = 0; i < count && zs_iter_next(&it, &m, &ml, &s); i++) reply_element(c, m, ml, s, withscores);
    zs_iter_release(&it);
}

static void range_empty(client *c, const arg *dst)
{
    if (dst) {
        entry *e = lookup_write(c, dst);
        if (e) {
            db_delete_entry(c->db, e);
            key_modified(c->db, dst);
            notify_key(c, NOTIFY_GENERIC, "del", dst);
        }
        reply_int(c, 0);
        return;
    }
    reply_array(c, 0);
}

/* Redis's zrangeGenericCommand: the arguments start at argv[first] (the
 * source key); dst is the destination of ZRANGESTORE or NULL. */
static void zrange_generic(client *c, int first, const arg *dst, int type, int dir)
{
    const arg *key = &c->argv[first];
    int minidx = first + 1, maxidx = first + 2;
    int withscores = 0;
    long offset = 0, limit = -1;
    for (int j = first + 3; j < c->argc; j++) {
        int left = c->argc - j - 1;
        const arg *o = &c->argv[j];
        if (!dst && opt_is(o, "withscores")) {
            withscores = 1;
        } else if (opt_is(o, "limit") && left >= 2) {
            if (!parse_long(c, &c->argv[j + 1], &offset) || !parse_long(c, &c->argv[j + 2], &limit)) return;
            j += 2;
        } else if (dir == DIR_AUTO && opt_is(o, "rev")) {
            dir = DIR_REVERSE;
        } else if (type == RANGE_AUTO && opt_is(o, "bylex")) {
            type = RANGE_LEX;
        } else if (type == RANGE_AUTO && opt_is(o, "byscore")) {
            type = RANGE_SCORE;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (dir == DIR_AUTO) dir = DIR_FORWARD;
    if (type == RANGE_AUTO) type = RANGE_RANK;
    if (limit != -1 && type == RANGE_RANK) {
        reply_error(c, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    if (withscores && type == RANGE_LEX) {
        reply_error(c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    int rev = dir == DIR_REVERSE;
    if (rev && type != RANGE_RANK) {
        int t = minidx;
        minidx = maxidx;
        maxidx = t;
    }
    long start = 0, end = 0;
    zrange_score sr;
    zlex_bound lmin, lmax;
    if (type == RANGE_RANK) {
        if (!parse_long(c, &c->argv[minidx], &start) || !parse_long(c, &c->argv[maxidx], &end)) return;
    } else if (type == RANGE_SCORE) {
        if (!parse_score_range(&c->argv[minidx], &c->argv[maxidx], &sr)) {
            reply_error(c, "ERR min or max is not a float");
            return;
        }
    } else {
        if (!parse_lex_bound(&c->argv[minidx], &lmin) || !parse_lex_bound(&c->argv[maxidx], &lmax)) {
            reply_error(c, "ERR min or max not valid string range item");
            return;
        }
    }
    entry *e;
    if (!lookup_read_typed(c, key, TYPE_ZSET, &e)) return;
    if (e == NULL) {
        range_empty(c, dst);
        return;
    }
    const void *z = entry_object(e);
    long len = (long)zs_len(z);
    if (type == RANGE_RANK) {
        if (start < 0) start = len + start;
        if (end < 0) end = len + end;
        if (start < 0) start = 0;
        if (start > end || start >= len) {
            range_empty(c, dst);
            return;
        }
        if (end >= len) end = len - 1;
        range_emit(c, z, (size_t)start, (size_t)(end - start + 1), rev, withscores, dst);
        return;
    }
    size_t lo, hi;
    if (type == RANGE_SCORE) score_range_ranks(z, &sr, &lo, &hi);
    else lex_range_ranks(z, &lmin, &lmax, &lo, &hi);
    size_t n = hi - lo;
    if (offset < 0 || (size_t)offset >= n) {
        range_empty(c, dst);
        return;
    }
    n -= (size_t)offset;
    if (limit >= 0 && (size_t)limit < n) n = (size_t)limit;
    size_t startrank = rev ? (size_t)len - hi + (size_t)offset : lo + (size_t)offset;
    if (n == 0) {
        range_empty(c, dst);
        return;
    }
    range_emit(c, z, startrank, n, rev, withscores, dst);
}

static void zrange_command(client *c) { zrange_generic(c, 1, NULL, RANGE_AUTO, DIR_AUTO); }
static void zrangestore_command(client *c) { zrange_generic(c, 2, &c->argv[1], RANGE_AUTO, DIR_AUTO); }
static void zrevrange_command(client *c) { zrange_generic(c, 1, NULL, RANGE_RANK, DIR_REVERSE); }
static void zrangebyscore_command(client *c) { zrange_generic(c, 1, NULL, RANGE_SCORE, DIR_FORWARD); }
static void zrevrangebyscore_command(client *c) { zrange_generic(c, 1, NULL, RANGE_SCORE, DIR_REVERSE); }
static void zrangebylex_command(client *c) { zrange_generic(c, 1, NULL, RANGE_LEX, DIR_FORWARD); }
static void zrevrangebylex_command(client *c) { zrange_generic(c, 1, NULL, RANGE_LEX, DIR_REVERSE); }

static void zcount_command(client *c)
{
    zrange_score r;
    if (!parse_score_range(&c->argv[2], &c->argv[3], &r)) {
        reply_error(c, "ERR min or max is not a float");
        return;
    }
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_ZSET, &e)) return;
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    size_t lo, hi;
    score_range_ranks(entry_object(e), &r, &lo, &hi);
    reply_int(c, (long long)(hi - lo));
}

static void zlexcount_command(client *c)
{
    zlex_bound min, max;
    if (!parse_lex_bound(&c->argv[2], &min) || !parse_lex_bound(&c->argv[3], &max)) {
        reply_error(c, "ERR min or max not valid string range item");
        return;
    }
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_ZSET, &e)) return;
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    size_t lo, hi;
    lex_range_ranks(entry_object(e), &min, &max, &lo, &hi);
    reply_int(c, (long long)(hi - lo));
}

/* ---- ZREMRANGEBY* ------------------------------------------------------------ */

static void zremrange_generic(client *c, int type)
{
    long start = 0, end = 0;
    zrange_score sr;
    zlex_bound lmin, lmax;
    if (type == RANGE_RANK) {
        if (!parse_long(c, &c->argv[2], &start) || !parse_long(c, &c->argv[3], &end)) return;
    } else if (type == RANGE_SCORE) {
        if (!parse_score_range(&c->argv[2], &c->argv[3], &sr)) {
            reply_error(c, "ERR min or max is not a float");
            return;
        }
    } else if (!parse_lex_bound(&c->argv[2], &lmin) || !parse_lex_bound(&c->argv[3], &lmax)) {
        reply_error(c, "ERR min or max not valid string range item");
        return;
    }
    entry *e;
    if (!lookup_write_typed(c, &c->argv[1], TYPE_ZSET, &e)) return;
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    void *z = entry_object(e), *orig = z;
    long len = (long)zs_len(z);
    size_t lo, hi;
    if (type == RANGE_RANK) {
        if (start < 0) start = len + start;
        if (end < 0) end = len + end;
        if (start < 0) start = 0;
        if (start > end || start >= len) {
            reply_int(c, 0);
            return;
        }
        if (end >= len) end = len - 1;
        lo = (size_t)start;
        hi = (size_t)end + 1;
    } else if (type == RANGE_SCORE) {
        score_range_ranks(z, &sr, &lo, &hi);
    } else {
        lex_range_ranks(z, &lmin, &lmax, &lo, &hi);
    }
    size_t deleted = hi - lo;
    if (deleted) {
        z = zs_delete_ranks(z, lo, hi);
        static const char *const events[] = {[RANGE_RANK] = "zremrangebyrank", [RANGE_SCORE] = "zremrangebyscore",
                                             [RANGE_LEX] = "zremrangebylex"};
        zset_commit(c, &c->argv[1], events[type], e, orig, z);
        key_modified(c->db, &c->argv[1]);
    }
    reply_int(c, (long long)deleted);
}

static void zremrangebyrank_command(client *c) { zremrange_generic(c, RANGE_RANK); }
static void zremrangebyscore_command(client *c) { zremrange_generic(c, RANGE_SCORE); }
static void zremrangebylex_command(client *c) { zremrange_generic(c, RANGE_LEX); }

/* ---- pops ------------------------------------------------------------------ */

/* Pops up to `count` members (count -1: one, plain reply) from the first
 * non-empty set among keys, as Redis's genericZpopCommand does. Returns 1
 * when it popped (or replied an error), 0 when every key was missing (the
 * reply is then sent by the caller only if `reply_empty`). */
static int zpop_generic(client *c, const arg *keys, int nkeys, int max, int emitkey, long count, int nested,
                        int reply_nil, int propagate_count, int reply_empty)
{
    entry *e = NULL;
    const arg *key = NULL;
    for (int i = 0; i < nkeys; i++) {
        if (!lookup_write_typed(c, &keys[i], TYPE_ZSET, &e)) return 1;
        if (e) {
            key = &keys[i];
            break;
        }
    }
    if (e == NULL) {
        if (reply_empty) {
            if (reply_nil) reply_null_array(c);
            else reply_array(c, 0);
        }
        return 0;
    }
    if (count == 0) {
        reply_array(c, 0);
        return 1;
    }
    if (count == -1) count = 1;
    void *z = entry_object(e), *orig = z;
    long len = (long)zs_len(z);
    long n = count > len ? len : count;
    if (!nested && !emitkey) {
        reply_array(c, n * 2);
    } else if (nested && !emitkey) {
        reply_array(c, n);
    } else if (!nested && emitkey) {
        reply_array(c, n * 2 + 1);
        reply_bulk(c, key->p, key->len);
    } else {
        reply_array(c, 2);
        reply_bulk(c, key->p, key->len);
        reply_array(c, n);
    }
    zs_iter it;
    const char *m;
    size_t ml;
    double s;
    zs_iter_init(&it, z, 0, max);
    for (long i = 0; i < n && zs_iter_next(&it, &m, &ml, &s); i++) {
        if (nested) reply_array(c, 2);
        reply_bulk(c, m, ml);
        reply_score(c, s);
    }
    zs_iter_release(&it);
    z = max ? zs_delete_ranks(z, (size_t)(len - n), (size_t)len) : zs_delete_ranks(z, 0, (size_t)n);
    if (propagate_count >= 0) {
        char buf[32];
        arg pv[3] = {{max ? "ZPOPMAX" : "ZPOPMIN", 7}, *key, {buf, 0}};
        pv[2].len = ll2str(buf, sizeof(buf), n);
        propagate_command(c, propagate_count ? 3 : 2, pv);
    }
    arg keycopy = *key;
    zset_commit(c, &keycopy, max ? "zpopmax" : "zpopmin", e, orig, z);
    key_modified(c->db, &keycopy);
    return 1;
}

static void zpop_command(client *c, int max)
{
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    long count = -1;
    if (c->argc == 3 && !parse_long_range(c, &c->argv[2], 0, LONG_MAX, &count, "ERR value is out of range, must be positive")) return;
    zpop_generic(c, &c->argv[1], 1, max, 0, count, c->resp > 2 && count != -1, 0, -1, 1);
}

static void zpopmin_command(client *c) { zpop_command(c, 0); }
static void zpopmax_command(client *c) { zpop_command(c, 1); }

/* Redis's blockingGenericZpopCommand: pops from the first non-empty key or
 * blocks on all of them. */
static void blocking_zpop(client *c, const arg *keys, int nkeys, int max, long count, int nested, int reply_nil,
                          long long deadline)
{
    for (int i = 0; i < nkeys; i++) {
        entry *e = lookup_write(c, &keys[i]);
        if (e == NULL) continue;
        if (e->type != TYPE_ZSET) {
            /* run again for a key that now holds another type: Redis does
             * not wake the client for it, so it keeps waiting */
            if (blocking_client_waits_on_keys(c)) continue;
            reply_wrongtype(c);
            return;
        }
        zpop_generic(c, &keys[i], 1, max, 1, count, nested, reply_nil, count == -1 ? 0 : 1, 1);
        return;
    }
    block_for_keys(c, keys, nkeys, deadline, 0);
}

static void bzpop_command(client *c, int max)
{
    long long deadline;
    if (!blocking_parse_timeout(c, &c->argv[c->argc - 1], &deadline)) return;
    blocking_zpop(c, &c->argv[1], c->argc - 2, max, -1, 0, 0, deadline);
}

static void bzpopmin_command(client *c) { bzpop_command(c, 0); }
static void bzpopmax_command(client *c) { bzpop_command(c, 1); }

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count], and BZMPOP timeout ... */
static void zmpop_generic(client *c, int numkeys_idx, int blocking)
{
    long long deadline = 0;
    if (blocking && !blocking_parse_timeout(c, &c->argv[1], &deadline)) return;
    long numkeys, count = -1;
    int max;
    if (!parse_long_range(c, &c->argv[numkeys_idx], 1, LONG_MAX, &numkeys, "ERR numkeys should be greater than 0"))
        return;
    long where_idx = numkeys_idx + numkeys + 1;
    if (numkeys > c->argc || where_idx >= c->argc) {
        reply_syntax_error(c);
        return;
    }
    if (opt_is(&c->argv[where_idx], "min")) max = 0;
    else if (opt_is(&c->argv[where_idx], "max")) max = 1;
    else {
        reply_syntax_error(c);
        return;
    }
    for (long j = where_idx + 1; j < c->argc; j++) {
        int more = (c->argc - 1) - (int)j;
        if (count == -1 && opt_is(&c->argv[j], "count") && more) {
            j++;
            if (!parse_long_range(c, &c->argv[j], 1, LONG_MAX, &count, "ERR count should be greater than 0")) return;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (count == -1) count = 1;
    const arg *keys = &c->argv[numkeys_idx + 1];
    if (blocking) blocking_zpop(c, keys, (int)numkeys, max, count, 1, 1, deadline);
    else zpop_generic(c, keys, (int)numkeys, max, 1, count, 1, 1, 1, 1);
}

static void zmpop_command(client *c) { zmpop_generic(c, 1, 0); }
static void bzmpop_command(client *c) { zmpop_generic(c, 2, 1); }

/* ---- ZRANDMEMBER --------------------------------------------------------------- */

struct pick {
    const char *m;
    size_t ml;
    double s;
    size_t off; /* in the result's arena */
};

/* Members collected from a set. They are copied: a listpack's members are
 * rebuilt as an iteration goes and do not outlive the next step. */
struct result {
    struct pick *items;
    size_t len, cap;
    size_t maxlen;
    char *arena;
    size_t used, arena_cap;
};

static void result_push(struct result *r, const char *m, size_t ml, double s)
{
    if (r->len == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->items = zrealloc(r->items, r->cap * sizeof(struct pick));
    }
    if (r->used + ml > r->arena_cap) {
        r->arena_cap = (r->used + ml) * 2 + 64;
        r->arena = zrealloc(r->arena, r->arena_cap);
    }
    if (ml) memcpy(r->arena + r->used, m, ml);
    r->items[r->len].m = NULL;
    r->items[r->len].off = r->used;
    r->items[r->len].ml = ml;
    r->items[r->len].s = s;
    r->used += ml;
    r->len++;
    if (ml > r->maxlen) r->maxlen = ml;
}

/* Points every item at its bytes (the arena no longer moves). */
static void result_finish(struct result *r)
{
    for (size_t i = 0; i < r->len; i++) r->items[i].m = r->arena ? r->arena + r->items[i].off : "";
}

static void result_free(struct result *r)
{
    zfree(r->items);
    zfree(r->arena);
}

static void zrandmember_with_count(client *c, long count, int withscores)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_ZSET, &e)) return;
    if (e == NULL) {
        reply_array(c, 0);
        return;
    }
    void *z = entry_object(e);
    size_t size = zs_len(z);
    int uniq = 1;
    unsigned long n;
    if (count >= 0) {
        n = (unsigned long)count;
    } else {
        n = (unsigned long)(-(count + 1)) + 1;
        uniq = 0;
    }
    if (n == 0) {
        reply_array(c, 0);
        return;
    }
    const char *m;
    size_t ml;
    double s;
    if (!uniq || n == 1) {
        reply_elements_header(c, (long)n, withscores);
        for (unsigned long i = 0; i < n; i++) {
            zs_random(z, &m, &ml, &s);
            reply_element(c, m, ml, s, withscores);
        }
        return;
    }
    zs_iter it;
    if (n >= size) {
        reply_elements_header(c, (long)size, withscores);
        zs_iter_init(&it, z, 0, 0);
        while (zs_iter_next(&it, &m, &ml, &s)) reply_element(c, m, ml, s, withscores);
        zs_iter_release(&it);
        return;
    }
    /* n distinct members: a partial Fisher-Yates shuffle of all of them */
    struct result res = {0};
    zs_iter_init(&it, z, 0, 0);
    while (zs_iter_next(&it, &m, &ml, &s)) result_push(&res, m, ml, s);
    zs_iter_release(&it);
    result_finish(&res);
    struct pick *all = res.items;
    reply_elements_header(c, (long)n, withscores);
    for (size_t i = 0; i < n; i++) {
        size_t j = i + (size_t)(random_u64() % (size - i));
        struct pick t = all[i];
        all[i] = all[j];
        all[j] = t;
        reply_element(c, all[i].m, all[i].ml, all[i].s, withscores);
    }
    result_free(&res);
}

static void zrandmember_command(client *c)
{
    if (c->argc >= 3) {
        long l;
        if (!parse_long_range(c, &c->argv[2], -LONG_MAX, LONG_MAX, &l, NULL)) return;
        int withscores = 0;
        if (c->argc > 4 || (c->argc == 4 && !opt_is(&c->argv[3], "withscores"))) {
            reply_syntax_error(c);
            return;
        } else if (c->argc == 4) {
            withscores = 1;
            if (l < -LONG_MAX / 2 || l > LONG_MAX / 2) {
                reply_error(c, "ERR value is out of range");
                return;
            }
        }
        zrandmember_with_count(c, l, withscores);
        return;
    }
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_ZSET, &e)) return;
    if (e == NULL) {
        reply_null(c);
        return;
    }
    const char *m;
    size_t ml;
    double s;
    zs_random(entry_object(e), &m, &ml, &s);
    reply_bulk(c, m, ml);
}

/* ---- ZUNION, ZINTER, ZDIFF and their STORE forms, ZINTERCARD ----------------- */

enum { OP_UNION, OP_INTER, OP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };

/* An input of ZUNION/ZINTER/ZDIFF: a sorted set or, as in Redis, a plain
 * set whose members all score 1. */
struct zsrc {
    void *z; /* NULL: missing key */
    int is_set;
    double weight;
    size_t len;
};

struct src_iter {
    int is_set;
    zs_iter zi;
    set_iter si;
    smember sm;
};

static void src_iter_init(struct src_iter *it, const struct zsrc *src)
{
    it->is_set = src->is_set;
    if (it->is_set) set_iter_init(&it->si, src->z);
    else zs_iter_init(&it->zi, src->z, 0, 0);
}

static int src_iter_next(struct src_iter *it, const char **m, size_t *ml, double *s)
{
    if (!it->is_set) return zs_iter_next(&it->zi, m, ml, s);
    if (!set_iter_next(&it->si, &it->sm)) return 0;
    *m = it->sm.p;
    *ml = it->sm.len;
    *s = 1.0;
    return 1;
}

static void src_iter_release(struct src_iter *it)
{
    if (!it->is_set) zs_iter_release(&it->zi);
}

/* The member's score in src (1 for a set's members); 0 when absent. */
static int src_find(const struct zsrc *src, const char *m, size_t ml, double *s)
{
    if (src->z == NULL) return 0;
    if (!src->is_set) return zs_score(src->z, m, ml, s);
    if (!set_contains(src->z, m, ml)) return 0;
    *s = 1.0;
    return 1;
}

static int src_by_card(const void *a, const void *b)
{
    const struct zsrc *x = a, *y = b;
    return x->len < y->len ? -1 : x->len > y->len ? 1 : 0;
}

static inline void aggregate(double *target, double v, int agg)
{
    if (agg == AGG_SUM) {
        *target += v;
        if (isnan(*target)) *target = 0.0;
    } else if (agg == AGG_MIN) {
        *target = v < *target ? v : *target;
    } else {
        *target = v > *target ? v : *target;
    }
}

static int pick_cmp(const void *a, const void *b)
{
    const struct pick *x = a, *y = b;
    if (x->s < y->s) return -1;
    if (x->s > y->s) return 1;
    size_t n = x->ml < y->ml ? x->ml : y->ml;
    int c = n ? memcmp(x->m, y->m, n) : 0;
    if (c) return c;
    return x->ml < y->ml ? -1 : x->ml > y->ml ? 1 : 0;
}

static void setop_generic(client *c, const arg *dst, int numkeys_idx, int op, int card_only)
{
    long setnum;
    if (!parse_long(c, &c->argv[numkeys_idx], &setnum)) return;
    if (setnum < 1) {
        reply_errorf(c, "ERR at least 1 input key is needed for '%s' command", c->cmd->name);
        return;
    }
    if (setnum > c->argc - (numkeys_idx + 1)) {
        reply_syntax_error(c);
        return;
    }
    struct zsrc *src = zcalloc(sizeof(*src) * (size_t)setnum);
    struct result res = {0};
    dict *acc = NULL;
    int j = numkeys_idx + 1;
    for (long i = 0; i < setnum; i++, j++) {
        entry *e = dst ? lookup_write(c, &c->argv[j]) : lookup_read(c, &c->argv[j]);
        if (e && e->type != TYPE_ZSET && e->type != TYPE_SET) {
            reply_wrongtype(c);
            goto done;
        }
        src[i].z = e ? entry_object(e) : NULL;
        src[i].is_set = e && e->type == TYPE_SET;
        src[i].len = e ? (src[i].is_set ? set_size(src[i].z) : zs_len(src[i].z)) : 0;
        src[i].weight = 1.0;
    }
    int agg = AGG_SUM, withscores = 0;
    long limit = 0;
    while (j < c->argc) {
        int remaining = c->argc - j;
        const arg *o = &c->argv[j];
        if (op != OP_DIFF && !card_only && remaining >= setnum + 1 && opt_is(o, "weights")) {
            j++;
            for (long i = 0; i < setnum; i++, j++) {
                if (!string2d(c->argv[j].p, c->argv[j].len, &src[i].weight)) {
                    reply_error(c, "ERR weight value is not a float");
                    goto done;
                }
            }
        } else if (op != OP_DIFF && !card_only && remaining >= 2 && opt_is(o, "aggregate")) {
            const arg *v = &c->argv[j + 1];
            if (opt_is(v, "sum")) agg = AGG_SUM;
            else if (opt_is(v, "min")) agg = AGG_MIN;
            else if (opt_is(v, "max")) agg = AGG_MAX;
            else {
                reply_syntax_error(c);
                goto done;
            }
            j += 2;
        } else if (remaining >= 1 && !dst && !card_only && opt_is(o, "withscores")) {
            j++;
            withscores = 1;
        } else if (card_only && remaining >= 2 && opt_is(o, "limit")) {
            if (!parse_long_range(c, &c->argv[j + 1], 0, LONG_MAX, &limit, "ERR LIMIT can't be negative"))
                goto done;
            j += 2;
        } else {
            reply_syntax_error(c);
            goto done;
        }
    }
    /* stable by cardinality, smallest first (the first input stays first for DIFF) */
    if (op != OP_DIFF) {
        for (long a = 1; a < setnum; a++) {
            struct zsrc t = src[a];
            long b = a - 1;
            while (b >= 0 && src_by_card(&src[b], &t) > 0) {
                src[b + 1] = src[b];
                b--;
            }
            src[b + 1] = t;
        }
    }
    long long cardinality = 0;
    struct src_iter it;
    const char *m;
    size_t ml;
    double s;
    if (op == OP_INTER) {
        if (src[0].len > 0) {
            src_iter_init(&it, &src[0]);
            while (src_iter_next(&it, &m, &ml, &s)) {
                double score = src[0].weight * s, v;
                if (isnan(score)) score = 0;
                long k;
                for (k = 1; k < setnum; k++) {
                    if (src[k].z == src[0].z) {
                        v = s * src[k].weight;
                    } else if (src_find(&src[k], m, ml, &v)) {
                        v *= src[k].weight;
                    } else {
                        break;
                    }
                    aggregate(&score, v, agg);
                }
                if (k < setnum) continue;
                if (card_only) {
                    cardinality++;
                    if (limit && cardinality >= limit) break;
                } else {
                    result_push(&res, m, ml, score);
                }
            }
            src_iter_release(&it);
        }
    } else if (op == OP_UNION) {
        acc = dict_create();
        if (setnum) dict_expand(acc, src[setnum - 1].len);
        for (long i = 0; i < setnum; i++) {
            if (src[i].len == 0) continue;
            src_iter_init(&it, &src[i]);
            while (src_iter_next(&it, &m, &ml, &s)) {
                double score = src[i].weight * s;
                if (isnan(score)) score = 0;
                dnode *n = dict_find(acc, m, ml);
                if (n == NULL) {
                    dict_add(acc, m, ml, &score, sizeof(score));
                } else {
                    double cur;
                    memcpy(&cur, dnode_val(n), sizeof(cur));
                    aggregate(&cur, score, agg);
                    memcpy(dnode_val(n), &cur, sizeof(cur));
                }
            }
            src_iter_release(&it);
        }
        dict_iter di;
        dict_iter_init(&di, acc);
        dnode *n;
        while ((n = dict_iter_next(&di)) != NULL) {
            memcpy(&s, dnode_cval(n), sizeof(s));
            result_push(&res, dnode_key(n), n->klen, s);
        }
        dict_iter_release(&di);
    } else if (src[0].len > 0) {
        src_iter_init(&it, &src[0]);
        while (src_iter_next(&it, &m, &ml, &s)) {
            long k;
            double v;
            for (k = 1; k < setnum; k++) {
                if (src[k].z == src[0].z || src_find(&src[k], m, ml, &v)) break;
            }
            if (k == setnum) result_push(&res, m, ml, s);
        }
        src_iter_release(&it);
    }
    if (card_only) {
        reply_int(c, cardinality);
        goto done;
    }
    result_finish(&res);
    if (res.len > 1) qsort(res.items, res.len, sizeof(struct pick), pick_cmp);
    if (dst) {
        void *out = zs_create(res.len, res.maxlen);
        for (size_t i = 0; i < res.len; i++) {
            int flags;
            out = zs_add(out, res.items[i].m, res.items[i].ml, res.items[i].s, 0, &flags, NULL);
        }
        size_t total = res.len;
        store_zset(c, dst, out, op == OP_UNION ? "zunionstore" : op == OP_INTER ? "zinterstore" : "zdiffstore");
        reply_int(c, (long long)total);
        goto done;
    }
    reply_elements_header(c, (long)res.len, withscores);
    for (size_t i = 0; i < res.len; i++) reply_element(c, res.items[i].m, res.items[i].ml, res.items[i].s, withscores);
done:
    if (acc) dict_free(acc);
    result_free(&res);
    zfree(src);
}

static void zunion_command(client *c) { setop_generic(c, NULL, 1, OP_UNION, 0); }
static void zinter_command(client *c) { setop_generic(c, NULL, 1, OP_INTER, 0); }
static void zdiff_command(client *c) { setop_generic(c, NULL, 1, OP_DIFF, 0); }
static void zunionstore_command(client *c) { setop_generic(c, &c->argv[1], 2, OP_UNION, 0); }
static void zinterstore_command(client *c) { setop_generic(c, &c->argv[1], 2, OP_INTER, 0); }
static void zdiffstore_command(client *c) { setop_generic(c, &c->argv[1], 2, OP_DIFF, 0); }

static void zintercard_command(client *c) { setop_generic(c, NULL, 1, OP_INTER, 1); }

/* ---- ZSCAN -------------------------------------------------------------------- */


struct zscan_walk {
    const arg *pattern;
    int listpack; /* scores as a listpack holds them: integers without exponent */
    struct result found;
};

static void zscan_visit(void *priv, const char *m, size_t ml, double s)
{
    struct zscan_walk *w = priv;
    if (w->pattern && !glob_match(w->pattern->p, w->pattern->len, m, ml, 0)) return;
    result_push(&w->found, m, ml, s);
}

static void zscan_command(client *c)
{
    unsigned long cursor;
    if (!parse_scan_cursor(&c->argv[2], &cursor)) {
        reply_error(c, "ERR invalid cursor");
        return;
    }
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_ZSET, &e)) return;
    if (e == NULL) {
        reply_empty_scan(c);
        return;
    }
    struct zscan_walk w;
    memset(&w, 0, sizeof(w));
    struct scan_options opt;
    if (!parse_scan_options(c, 3, 0, &opt)) return;
    w.pattern = opt.pattern;
    long long count = opt.count;
    void *z = entry_object(e);
    w.listpack = !zs_is_big(z);
    if (!zs_is_big(z)) {
        zs_iter it;
        const char *m;
        size_t ml;
        double s;
        zs_iter_init(&it, z, 0, 0);
        while (zs_iter_next(&it, &m, &ml, &s)) zscan_visit(&w, m, ml, s);
        zs_iter_release(&it);
        cursor = 0;
    } else {
        long long budget = count * 10;
        do {
            cursor = zs_scan(z, cursor, zscan_visit, &w);
        } while (cursor && budget-- > 0 && (long long)w.found.len < count);
    }
    char buf[32];
    result_finish(&w.found);
    reply_array(c, 2);
    reply_bulk(c, buf, ull2str(buf, sizeof(buf), cursor));
    reply_array(c, (long)w.found.len * 2);
    for (size_t i = 0; i < w.found.len; i++) {
        reply_bulk(c, w.found.items[i].m, w.found.items[i].ml);
        double s = w.found.items[i].s;
        if (w.listpack && s == floor(s) && s >= -9223372036854775808.0 && s < 9223372036854775808.0)
            reply_bulk(c, buf, ll2str(buf, sizeof(buf), (long long)s));
        else
            reply_bulk(c, buf, d2str(buf, sizeof(buf), s));
    }
    result_free(&w.found);
}

/* ---- the command table ---------------------------------------------------------- */

struct command zset_commands[] = {
    {"zadd", zadd_command, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, ACL_SORTEDSET, 1, 1, 1, "RW update", NULL, "sorted_set", "Add one or more members to a sorted set, or update its score if it already exists", "1.2.0", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", NULL, 0, 0, 0, 0},
    {"zincrby", zincrby_command, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, ACL_SORTEDSET, 1, 1, 1, "RW access update", NULL, "sorted_set", "Increment the score of a member in a sorted set", "1.2.0", "O(log(N)) where N is the number of elements in the sorted set.", NULL, 0, 0, 0, 0},
    {"zrem", zrem_command, -3, CMD_WRITE | CMD_FAST, ACL_SORTEDSET, 1, 1, 1, "RW delete", NULL, "sorted_set", "Remove one or more members from a sorted set", "1.2.0", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", NULL, 0, 0, 0, 0},
    {"zcard", zcard_command, 2, CMD_READONLY | CMD_FAST, ACL_SORTEDSET, 1, 1, 1, "RO", NULL, "sorted_set", "Get the number of members in a sorted set", "1.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"zscore", zscore_command, 3, CMD_READONLY | CMD_FAST, ACL_SORTEDSET, 1, 1, 1, "RO access", NULL, "sorted_set", "Get the score associated with the given member in a sorted set", "1.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"zmscore", zmscore_command, -3, CMD_READONLY | CMD_FAST, ACL_SORTEDSET, 1, 1, 1, "RO access", NULL, "sorted_set", "Get the score associated with the given members in a sorted set", "6.2.0", "O(N) where N is the number of members being requested.", NULL, 0, 0, 0, 0},
    {"zrank", zrank_command, 3, CMD_READONLY | CMD_FAST, ACL_SORTEDSET, 1, 1, 1, "RO access", NULL, "sorted_set", "Determine the index of a member in a sorted set", "2.0.0", "O(log(N))", NULL, 0, 0, 0, 0},
    {"zrevrank", zrevrank_command, 3, CMD_READONLY | CMD_FAST, ACL_SORTEDSET, 1, 1, 1, "RO access", NULL, "sorted_set", "Determine the index of a member in a sorted set, with scores ordered from high to low", "2.0.0", "O(log(N))", NULL, 0, 0, 0, 0},
    {"zrange", zrange_command, -4, CMD_READONLY, ACL_SORTEDSET, 1, 1, 1, "RO access", NULL, "sorted_set", "Return a range of members in a sorted set", "1.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", NULL, 0, 0, 0, 0},
    {"zrangestore", zrangestore_command, -5, CMD_WRITE | CMD_DENYOOM, ACL_SORTEDSET, 1, 2, 1, "OW update @1;RO access @2", NULL, "sorted_set", "Store a range of members from sorted set into another key", "6.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.", NULL, 0, 0, 0, 0},
    {"zrevrange", zrevrange_command, -4, CMD_READONLY, ACL_SORTEDSET, 1, 1, 1, "RO access", NULL, "sorted_set", "Return a range of members in a sorted set, by index, with scores ordered from high to low", "1.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", NULL, 0, 0, 0, 0},
    {"zrangebyscore", zrangebyscore_command, -4, CMD_READONLY, ACL_SORTEDSET, 1, 1, 1, "RO access", NULL, "sorted_set", "Return a range of members in a sorted set, by score", "1.0.5", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", NULL, 0, 0, 0, 0},
    {"zrevrangebyscore", zrevrangebyscore_command, -4, CMD_READONLY, ACL_SORTEDSET, 1, 1, 1, "RO access", NULL, "sorted_set", "Return a range of members in a sorted set, by score, with scores ordered from high to low", "2.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", NULL, 0, 0, 0, 0},
    {"zrangebylex", zrangebylex_command, -4, CMD_READONLY, ACL_SORTEDSET, 1, 1, 1, "RO access", NULL, "sorted_set", "Return a range of members in a sorted set, by lexicographical range", "2.8.9", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", NULL, 0, 0, 0, 0},
    {"zrevrangebylex", zrevrangebylex_command, -4, CMD_READONLY, ACL_SORTEDSET, 1, 1, 1, "RO access", NULL, "sorted_set", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", "2.8.9", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", NULL, 0, 0, 0, 0},
    {"zcount", zcount_command, 4, CMD_READONLY | CMD_FAST, ACL_SORTEDSET, 1, 1, 1, "RO access", NULL, "sorted_set", "Count the members in a sorted set with scores within the given values", "2.0.0", "O(log(N)) with N being the number of elements in the sorted set.", NULL, 0, 0, 0, 0},
    {"zlexcount", zlexcount_command, 4, CMD_READONLY | CMD_FAST, ACL_SORTEDSET, 1, 1, 1, "RO access", NULL, "sorted_set", "Count the number of members in a sorted set between a given lexicographical range", "2.8.9", "O(log(N)) with N being the number of elements in the sorted set.", NULL, 0, 0, 0, 0},
    {"zremrangebyrank", zremrangebyrank_command, 4, CMD_WRITE, ACL_SORTEDSET, 1, 1, 1, "RW delete", NULL, "sorted_set", "Remove all members in a sorted set within the given indexes", "2.0.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", NULL, 0, 0, 0, 0},
    {"zremrangebyscore", zremrangebyscore_command, 4, CMD_WRITE, ACL_SORTEDSET, 1, 1, 1, "RW delete", NULL, "sorted_set", "Remove all members in a sorted set within the given scores", "1.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", NULL, 0, 0, 0, 0},
    {"zremrangebylex", zremrangebylex_command, 4, CMD_WRITE, ACL_SORTEDSET, 1, 1, 1, "RW delete", NULL, "sorted_set", "Remove all members in a sorted set between the given lexicographical range", "2.8.9", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", NULL, 0, 0, 0, 0},
    {"zpopmin", zpopmin_command, -2, CMD_WRITE | CMD_FAST, ACL_SORTEDSET, 1, 1, 1, "RW access delete", NULL, "sorted_set", "Remove and return members with the lowest scores in a sorted set", "5.0.0", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", NULL, 0, 0, 0, 0},
    {"zpopmax", zpopmax_command, -2, CMD_WRITE | CMD_FAST, ACL_SORTEDSET, 1, 1, 1, "RW access delete", NULL, "sorted_set", "Remove and return members with the highest scores in a sorted set", "5.0.0", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", NULL, 0, 0, 0, 0},
    {"bzpopmin", bzpopmin_command, -3, CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING | CMD_FAST, ACL_SORTEDSET, 1, -2, 1, "RW access delete", NULL, "sorted_set", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", "5.0.0", "O(log(N)) with N being the number of elements in the sorted set.", NULL, 0, 0, 0, 0},
    {"bzpopmax", bzpopmax_command, -3, CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING | CMD_FAST, ACL_SORTEDSET, 1, -2, 1, "RW access delete", NULL, "sorted_set", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", "5.0.0", "O(log(N)) with N being the number of elements in the sorted set.", NULL, 0, 0, 0, 0},
    {"zmpop", zmpop_command, -4, CMD_WRITE | CMD_MOVABLE_KEYS, ACL_SORTEDSET, 0, 0, 0, "RW access delete @1#0,1,1", NULL, "sorted_set", "Remove and return members with scores in a sorted set", "7.0.0", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", NULL, 0, 0, 0, 0},
    {"bzmpop", bzmpop_command, -5, CMD_WRITE | CMD_BLOCKING | CMD_MOVABLE_KEYS, ACL_SORTEDSET, 0, 0, 0, "RW access delete @2#0,1,1", NULL, "sorted_set", "Remove and return members with scores in a sorted set or block until one is available", "7.0.0", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", NULL, 0, 0, 0, 0},
    {"zrandmember", zrandmember_command, -2, CMD_READONLY, ACL_SORTEDSET, 1, 1, 1, "RO access", "nondeterministic_output", "sorted_set", "Get one or multiple random elements from a sorted set", "6.2.0", "O(N) where N is the number of elements returned", NULL, 0, 0, 0, 0},
    {"zunion", zunion_command, -3, CMD_READONLY | CMD_MOVABLE_KEYS, ACL_SORTEDSET, 0, 0, 0, "RO access @1#0,1,1", NULL, "sorted_set", "Add multiple sorted sets", "6.2.0", "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", NULL, 0, 0, 0, 0},
    {"zunionstore", zunionstore_command, -4, CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS, ACL_SORTEDSET, 1, 1, 1, "OW update @1;RO access @2#0,1,1", NULL, "sorted_set", "Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", NULL, 0, 0, 0, 0},
    {"zinter", zinter_command, -3, CMD_READONLY | CMD_MOVABLE_KEYS, ACL_SORTEDSET, 0, 0, 0, "RO access @1#0,1,1", NULL, "sorted_set", "Intersect multiple sorted sets", "6.2.0", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", NULL, 0, 0, 0, 0},
    {"zinterstore", zinterstore_command, -4, CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS, ACL_SORTEDSET, 1, 1, 1, "OW update @1;RO access @2#0,1,1", NULL, "sorted_set", "Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", NULL, 0, 0, 0, 0},
    {"zintercard", zintercard_command, -3, CMD_READONLY | CMD_MOVABLE_KEYS, ACL_SORTEDSET, 0, 0, 0, "RO access @1#0,1,1", NULL, "sorted_set", "Intersect multiple sorted sets and return the cardinality of the result", "7.0.0", "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.", NULL, 0, 0, 0, 0},
    {"zdiff", zdiff_command, -3, CMD_READONLY | CMD_MOVABLE_KEYS, ACL_SORTEDSET, 0, 0, 0, "RO access @1#0,1,1", NULL, "sorted_set", "Subtract multiple sorted sets", "6.2.0", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", NULL, 0, 0, 0, 0},
    {"zdiffstore", zdiffstore_command, -4, CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS, ACL_SORTEDSET, 1, 1, 1, "OW update @1;RO access @2#0,1,1", NULL, "sorted_set", "Subtract multiple sorted sets and store the resulting sorted set in a new key", "6.2.0", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", NULL, 0, 0, 0, 0},
    {"zscan", zscan_command, -3, CMD_READONLY, ACL_SORTEDSET, 1, 1, 1, "RO access", "nondeterministic_output", "sorted_set", "Incrementally iterate sorted sets elements and associated scores", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
