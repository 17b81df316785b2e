/* t_list.c: the list type: its object_type callbacks (free, copy, memory,
 * digest, snapshot save/load) and its commands: LPUSH RPUSH LPUSHX RPUSHX
 * LPOP RPOP LLEN LINDEX LSET LRANGE LTRIM LREM LINSERT LPOS LMOVE RPOPLPUSH
 * LMPOP and the blocking BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP, with the
 * command table. The structure itself is t_list_enc.c's (see t_list.h).
 *
 * Replies, error texts and the order in which arguments are checked follow
 * Redis 7.0. OBJECT ENCODING reports "quicklist" for every list, as Redis
 * 7.0 does. Blocking commands block with block_for_keys and, when served,
 * propagate their non-blocking form (BLPOP -> LPOP, BLMOVE -> LMOVE,
 * BLMPOP -> LPOP/RPOP key count). */
#include <limits.h>
#include <string.h>

#include "object.h"
#include "notify.h"
#include "server.h"
#include "t_list.h"

/* ---- the object type ----------------------------------------------------- */

#define SNAP_LIST_QUICKLIST 1 /* the one encoding: a count, then the elements */

static const char *list_encoding(const void *obj)
{
    (void)obj;
    return "quicklist";
}

static void list_free(void *obj) { ql_free(obj); }

/* Allocations: the nodes, counted only as far as the lazy-free decision needs. */
static size_t list_free_effort(const void *obj) { return 1 + ql_nodes(obj, LAZYFREE_THRESHOLD + 1); }

static void *list_dup(const void *obj) { return ql_dup(obj); }

static size_t list_mem_usage(const void *obj, long long samples)
{
    return ql_mem_usage(obj, samples);
}

/* Every element in order, as text (integers formatted). */
static void list_each_element(const void *obj, element_fn fn, void *priv)
{
    qlist *l = (qlist *)obj;
    if (l->count == 0) return;
    qiter it;
    ql_iter_at(l, 0, &it);
    do {
        lval v;
        char buf[24];
        size_t len;
        ql_iter_get(&it, &v);
        const char *s = lval_str(&v, buf, &len);
        fn(priv, s, len);
    } while (ql_iter_next(&it));
    ql_iter_release(&it);
}

static void digest_element(void *priv, const char *s, size_t len)
{
    uint64_t n = len;
    digest_add(priv, &n, sizeof(n));
    digest_add(priv, s, len);
}

static void list_digest(const void *obj, struct digest *d)
{
    list_each_element(obj, digest_element, d);
}

static void save_element(void *priv, const char *s, size_t len) { snapw_string(priv, s, len); }

static void list_save(const void *obj, struct snap_writer *w)
{
    const qlist *l = obj;
    snapw_byte(w, SNAP_LIST_QUICKLIST);
    snapw_varint(w, l->count);
    list_each_element(obj, save_element, w);
}

static void *list_load(struct snap_reader *r)
{
    unsigned char enc;
    uint64_t count;
    if (snapr_byte(r, &enc) < 0 || snapr_varint(r, &count) < 0) return NULL;
    if (enc != SNAP_LIST_QUICKLIST) {
        snapr_fail(r, "unknown list encoding");
        return NULL;
    }
    if (count == 0 || count > snapr_remaining(r)) {
        snapr_fail(r, "bad list length");
        return NULL;
    }
    qlist *l = ql_create();
    for (uint64_t i = 0; i < count; i++) {
        const char *p;
        size_t len;
        if (snapr_string(r, &p, &len) < 0) {
            ql_free(l);
            return NULL;
        }
        if (len > UINT32_MAX - 64) {
            snapr_fail(r, "list element too large");
            ql_free(l);
            return NULL;
        }
        ql_push(l, p, len, QL_TAIL);
    }
    return l;
}

const struct object_type list_type = {
    .name = "list",
    .snap_code = 0x02,
    .encoding = list_encoding,
    .free = list_free,
    .free_effort = list_free_effort,
    .dup = list_dup,
    .mem_usage = list_mem_usage,
    .digest = list_digest,
    .save = list_save,
    .load = list_load,
    .each_element = list_each_element,
};

/* ---- helpers --------------------------------------------------------------- */

static inline qlist *list_of(const entry *e) { return entry_object(e); }

static void reply_lval(client *c, const lval *v)
{
    if (v->s) reply_bulk(c, (const char *)v->s, v->len);
    else reply_bulk_ll(c, v->v);
}

/* After elements were removed: sends the command's event, deletes the key
 * when the list is empty (with a "del" event after it, as Redis sends
 * them) and signals the change. */
static void list_removed(client *c, entry *e, const arg *key, const char *event)
{
    notify_key(c, NOTIFY_LIST, event, key);
    if (list_of(e)->count == 0) {
        db_delete_entry(c->db, e);
        notify_key(c, NOTIFY_GENERIC, "del", key);
    }
    key_modified(c->db, key);
}

static const char *pop_event(int where) { return where == QL_HEAD ? "lpop" : "rpop"; }
static const char *push_event(int where) { return where == QL_HEAD ? "lpush" : "rpush"; }

/* Elements are stored with 32-bit sizes. */
static int check_element_sizes(client *c, int from)
{
    for (int j = from; j < c->argc; j++) {
        if (c->argv[j].len > UINT32_MAX - 64) {
            reply_error(c, "ERR Element too large");
            return 0;
        }
    }
    return 1;
}

/* LEFT / RIGHT as QL_HEAD / QL_TAIL, or a syntax error. */
static int parse_where(client *c, const arg *a, int *where)
{
    if (string_option_is(a, "left")) *where = QL_HEAD;
    else if (string_option_is(a, "right")) *where = QL_TAIL;
    else {
        reply_syntax_error(c);
        return 0;
    }
    return 1;
}

/* An integer in [min, LLONG_MAX]; msg (or the standard text) on error. */
static int parse_min(client *c, const arg *a, long long min, long long *out, const char *msg)
{
    if (!string2ll(a->p, a->len, out)) {
        reply_error(c, msg ? msg : "ERR value is not an integer or out of range");
        return 0;
    }
    if (*out < min) {
        if (msg) reply_error(c, msg);
        else reply_errorf(c, "ERR value is out of range, must be between %lld and %lld", min, LLONG_MAX);
        return 0;
    }
    return 1;
}

/* Replies the elements [start, start + n) in order, or backwards from
 * start when reverse. Short elements are formatted into a local buffer and
 * handed to the output buffer a batch at a time (LRANGE's hot path). */
static void reply_range(client *c, qlist *l, size_t start, size_t n, int reverse)
{
    reply_array(c, (long)n);
    if (n == 0) return;
    char out[8192];
    size_t used = 0;
    qiter it;
    ql_iter_at(l, start, &it);
    while (n--) {
        lval v;
        char num[24];
        size_t len;
        ql_iter_get(&it, &v);
        const char *s = lval_str(&v, num, &len);
        if (len > 1024) {
            if (used) reply_raw(c, out, used);
            used = 0;
            reply_bulk(c, s, len);
        } else {
            if (used + len + 32 > sizeof(out)) {
                reply_raw(c, out, used);
                used = 0;
            }
            out[used++] = '$';
            used += ll2str(out + used, 24, (long long)len);
            out[used++] = '\r';
            out[used++] = '\n';
            memcpy(out + used, s, len);
            used += len;
            out[used++] = '\r';
            out[used++] = '\n';
        }
        if (n) {
            if (reverse) ql_iter_prev(&it);
            else ql_iter_next(&it);
        }
    }
    ql_iter_release(&it);
    if (used) reply_raw(c, out, used);
}

/* Pops up to count elements from one end, replying them as an array in pop
 * order. Returns how many. The caller signals the change. */
static size_t pop_range_reply(client *c, qlist *l, int where, long long count)
{
    size_t n = (unsigned long long)count > l->count ? l->count : (size_t)count;
    if (where == QL_HEAD) {
        reply_range(c, l, 0, n, 0);
        ql_del_range(l, 0, n);
    } else {
        reply_range(c, l, l->count - 1, n, 1);
        ql_del_range(l, l->count - n, n);
    }
    return n;
}

static void propagate_pop(client *c, const arg *key, int where, long long count)
{
    arg argv[3];
    char buf[24];
    argv[0].p = where == QL_HEAD ? "LPOP" : "RPOP";
    argv[0].len = 4;
    argv[1] = *key;
    if (count >= 0) {
        argv[2].p = buf;
        argv[2].len = ll2str(buf, sizeof(buf), count);
    }
    propagate_command(c, count >= 0 ? 3 : 2, argv);
}

/* A blocked command runs again when a key it waits on changes: a key that
 * now holds another type does not serve it (it keeps waiting, as in
 * Redis 7.0) instead of replying WRONGTYPE. */
static int running_again(const client *c) { return blocking_client_waits_on_keys(c); }

/* ---- push ------------------------------------------------------------------ */

static void push_generic(client *c, int where, int only_existing)
{
    const arg *key = &c->argv[1];
    if (!check_element_sizes(c, 2)) return;
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_LIST, &e)) return;
    if (e == NULL) {
        if (only_existing) {
            reply_int(c, 0);
            return;
        }
        e = db_add_object(c->db, key->p, key->len, TYPE_LIST, ql_create());
    }
    qlist *l = list_of(e);
    for (int j = 2; j < c->argc; j++) ql_push(l, c->argv[j].p, c->argv[j].len, where);
    key_modified(c->db, key);
    notify_key(c, NOTIFY_LIST, push_event(where), key);
    reply_int(c, (long long)l->count);
}

static void lpush_command(client *c) { push_generic(c, QL_HEAD, 0); }
static void rpush_command(client *c) { push_generic(c, QL_TAIL, 0); }
static void lpushx_command(client *c) { push_generic(c, QL_HEAD, 1); }
static void rpushx_command(client *c) { push_generic(c, QL_TAIL, 1); }

/* ---- pop ------------------------------------------------------------------- */

static void pop_generic(client *c, int where)
{
    const arg *key = &c->argv[1];
    int hascount = c->argc == 3;
    long long count = 0;
    if (c->argc > 3) {
        reply_arity_error(c);
        return;
    }
    if (hascount && !parse_min(c, &c->argv[2], 0, &count, "ERR value is out of range, must be positive"))
        return;
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_LIST, &e)) return;
    if (e == NULL) {
        if (hascount) reply_null_array(c);
        else reply_null(c);
        return;
    }
    qlist *l = list_of(e);
    if (hascount && count == 0) {
        reply_array(c, 0);
        return;
    }
    if (!hascount) {
        lval v;
        ql_peek(l, where, &v);
        reply_lval(c, &v);
        ql_pop(l, where);
    } else {
        pop_range_reply(c, l, where, count);
    }
    list_removed(c, e, key, pop_event(where));
}

static void lpop_command(client *c) { pop_generic(c, QL_HEAD); }
static void rpop_command(client *c) { pop_generic(c, QL_TAIL); }

/* ---- reads ----------------------------------------------------------------- */

static void llen_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_LIST, &e)) return;
    reply_int(c, e ? (long long)list_of(e)->count : 0);
}

/* Resolves a possibly negative index; returns 0 when out of range. */
static int resolve_index(const qlist *l, long long index, size_t *out)
{
    long long n = (long long)l->count;
    if (index < 0) index += n;
    if (index < 0 || index >= n) return 0;
    *out = (size_t)index;
    return 1;
}

static void lindex_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_LIST, &e)) return;
    if (e == NULL) {
        reply_null(c);
        return;
    }
    long long index;
    if (!arg_to_ll(c, &c->argv[2], &index)) return;
    qlist *l = list_of(e);
    size_t i;
    if (!resolve_index(l, index, &i)) {
        reply_null(c);
        return;
    }
    qiter it;
    lval v;
    ql_iter_at(l, i, &it);
    ql_iter_get(&it, &v);
    reply_lval(c, &v);
    ql_iter_release(&it);
}

static void lrange_command(client *c)
{
    long long start, end;
    if (!arg_to_ll(c, &c->argv[2], &start) || !arg_to_ll(c, &c->argv[3], &end)) return;
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_LIST, &e)) return;
    if (e == NULL) {
        reply_array(c, 0);
        return;
    }
    qlist *l = list_of(e);
    long long n = (long long)l->count;
    if (start < 0) start += n;
    if (end < 0) end += n;
    if (start < 0) start = 0;
    if (start > end || start >= n) {
        reply_array(c, 0);
        return;
    }
    if (end >= n) end = n - 1;
    reply_range(c, l, (size_t)start, (size_t)(end - start + 1), 0);
}

static void lpos_command(client *c)
{
    const arg *ele = &c->argv[2];
    long long rank = 1, count = -1, maxlen = 0;
    int forward = 1;
    for (int j = 3; j < c->argc; j++) {
        const arg *opt = &c->argv[j];
        int moreargs = c->argc - 1 - j;
        if (string_option_is(opt, "rank") && moreargs) {
            j++;
            if (!string2ll(c->argv[j].p, c->argv[j].len, &rank)) {
                reply_not_integer(c);
                return;
            }
            if (rank == 0) {
                reply_error(c, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
                               "second ... or use negative to start from the end of the list");
                return;
            }
        } else if (string_option_is(opt, "count") && moreargs) {
            j++;
            if (!parse_min(c, &c->argv[j], 0, &count, "ERR COUNT can't be negative")) return;
        } else if (string_option_is(opt, "maxlen") && moreargs) {
            j++;
            if (!parse_min(c, &c->argv[j], 0, &maxlen, "ERR MAXLEN can't be negative")) return;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    int count_all = 0;
    if (rank == LLONG_MIN) {
        /* Redis 7.0 accepts it: every match then passes the rank (and the
         * count never stops the search) */
        rank = 1;
        count_all = 1;
        forward = 0;
    } else if (rank < 0) {
        rank = -rank;
        forward = 0;
    }
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_LIST, &e)) return;
    if (e == NULL) {
        if (count != -1) reply_array(c, 0);
        else reply_null(c);
        return;
    }
    qlist *l = list_of(e);
    void *len = count != -1 ? reply_deferred(c) : NULL;
    long long iv;
    int isint = ql_parse_int(ele->p, ele->len, &iv);
    long long n = (long long)l->count, index = 0, matches = 0, found = -1, emitted = 0;
    qiter it;
    ql_iter_at(l, forward ? 0 : l->count - 1, &it);
    for (;;) {
        if (maxlen != 0 && index >= maxlen) break;
        lval v;
        ql_iter_get(&it, &v);
        if (lval_equal(&v, ele->p, ele->len, isint, iv)) {
            matches++;
            if (matches >= rank) {
                long long pos = forward ? index : n - index - 1;
                if (len == NULL) {
                    found = pos;
                    break;
                }
                reply_int(c, pos);
                emitted++;
                if (count && !count_all && matches - rank + 1 >= count) break;
            }
        }
        index++;
        if (!(forward ? ql_iter_next(&it) : ql_iter_prev(&it))) break;
    }
    ql_iter_release(&it);
    if (len) reply_set_deferred_array(c, len, (long)emitted);
    else if (found != -1) reply_int(c, found);
    else reply_null(c);
}

/* ---- in-place writes ------------------------------------------------------- */

static void lset_command(client *c)
{
    const arg *key = &c->argv[1];
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_LIST, &e)) return;
    if (e == NULL) {
        reply_error(c, "ERR no such key");
        return;
    }
    long long index;
    if (!arg_to_ll(c, &c->argv[2], &index)) return;
    if (!check_element_sizes(c, 3)) return;
    qlist *l = list_of(e);
    size_t i;
    if (!resolve_index(l, index, &i)) {
        reply_error(c, "ERR index out of range");
        return;
    }
    qiter it;
    ql_iter_at(l, i, &it);
    ql_iter_replace(&it, c->argv[3].p, c->argv[3].len);
    ql_iter_release(&it);
    key_modified(c->db, key);
    notify_key(c, NOTIFY_LIST, "lset", key);
    reply_ok(c);
}

static void ltrim_command(client *c)
{
    const arg *key = &c->argv[1];
    long long start, end;
    if (!arg_to_ll(c, &c->argv[2], &start) || !arg_to_ll(c, &c->argv[3], &end)) return;
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_LIST, &e)) return;
    if (e == NULL) {
        reply_ok(c);
        return;
    }
    qlist *l = list_of(e);
    long long n = (long long)l->count, ltrim, rtrim;
    if (start < 0) start += n;
    if (end < 0) end += n;
    if (start < 0) start = 0;
    if (start > end || start >= n) {
        ltrim = n;
        rtrim = 0;
    } else {
        if (end >= n) end = n - 1;
        ltrim = start;
        rtrim = n - end - 1;
    }
    ql_del_range(l, 0, (size_t)ltrim);
    ql_del_range(l, l->count - (size_t)rtrim, (size_t)rtrim);
    if (ltrim + rtrim > 0) list_removed(c, e, key, "ltrim");
    else notify_key(c, NOTIFY_LIST, "ltrim", key); /* Redis signals a no-op LTRIM too */
    reply_ok(c);
}

static void lrem_command(client *c)
{
    const arg *key = &c->argv[1], *ele = &c->argv[3];
    long long toremove;
    if (!arg_to_ll(c, &c->argv[2], &toremove)) return;
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_LIST, &e)) return;
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    qlist *l = list_of(e);
    long long iv, removed = 0;
    int isint = ql_parse_int(ele->p, ele->len, &iv);
    int forward = toremove >= 0;
    unsigned long long limit = toremove == 0 ? ULLONG_MAX
                               : toremove > 0 ? (unsigned long long)toremove
                                              : (unsigned long long)(-(toremove + 1)) + 1;
    qiter it;
    ql_iter_at(l, forward ? 0 : l->count - 1, &it);
    for (;;) {
        lval v;
        ql_iter_get(&it, &v);
        int more;
        if (lval_equal(&v, ele->p, ele->len, isint, iv)) {
            more = ql_iter_delete(&it, forward);
            removed++;
            if ((unsigned long long)removed >= limit) break;
        } else {
            more = forward ? ql_iter_next(&it) : ql_iter_prev(&it);
        }
        if (!more) break;
    }
    ql_iter_release(&it);
    if (removed) list_removed(c, e, key, "lrem");
    reply_int(c, removed);
}

static void linsert_command(client *c)
{
    const arg *key = &c->argv[1], *pivot = &c->argv[3];
    int after;
    if (string_option_is(&c->argv[2], "after")) after = 1;
    else if (string_option_is(&c->argv[2], "before")) after = 0;
    else {
        reply_syntax_error(c);
        return;
    }
    if (!check_element_sizes(c, 4)) return;
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_LIST, &e)) return;
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    qlist *l = list_of(e);
    long long iv;
    int isint = ql_parse_int(pivot->p, pivot->len, &iv);
    qiter it;
    int found = 0;
    ql_iter_at(l, 0, &it);
    do {
        lval v;
        ql_iter_get(&it, &v);
        if (lval_equal(&v, pivot->p, pivot->len, isint, iv)) {
            ql_iter_insert(&it, after, c->argv[4].p, c->argv[4].len);
            found = 1;
            break;
        }
    } while (ql_iter_next(&it));
    ql_iter_release(&it);
    if (!found) {
        reply_int(c, -1);
        return;
    }
    key_modified(c->db, key);
    notify_key(c, NOTIFY_LIST, "linsert", key);
    reply_int(c, (long long)l->count);
}

/* ---- moves ----------------------------------------------------------------- */

/* LMOVE's work once the positions are parsed: argv[1] is the source,
 * argv[2] the destination. `as_lmove` (BLMOVE, BRPOPLPUSH) propagates it
 * as LMOVE with explicit positions. */
static void move_generic(client *c, int from, int to, int as_lmove)
{
    const arg *skey = &c->argv[1], *dkey = &c->argv[2];
    entry *src;
    if (!lookup_write_typed(c, skey, TYPE_LIST, &src)) return;
    if (src == NULL) {
        reply_null(c);
        return;
    }
    entry *dst;
    if (!lookup_write_typed(c, dkey, TYPE_LIST, &dst)) return;
    qlist *sl = list_of(src);
    lval v;
    ql_peek(sl, from, &v);
    char small[128], *heap = NULL;
    const char *s;
    size_t len;
    if (v.s == NULL) {
        len = ll2str(small, sizeof(small), v.v);
        s = small;
    } else {
        len = v.len;
        char *buf = small;
        if (len > sizeof(small)) buf = heap = zmalloc(len);
        if (len) memcpy(buf, v.s, len);
        s = buf;
    }
    ql_pop(sl, from);
    /* src and dst may be the same list: pushing before deleting keeps it */
    if (dst == NULL) dst = db_add_object(c->db, dkey->p, dkey->len, TYPE_LIST, ql_create());
    ql_push(list_of(dst), s, len, to);
    key_modified(c->db, dkey);
    notify_key(c, NOTIFY_LIST, push_event(to), dkey);
    reply_bulk(c, s, len);
    zfree(heap);
    notify_key(c, NOTIFY_LIST, pop_event(from), skey);
    if (sl->count == 0) {
        db_delete_entry(c->db, src);
        notify_key(c, NOTIFY_GENERIC, "del", skey);
    }
    key_modified(c->db, skey);
    if (as_lmove) {
        arg argv[5] = {{"LMOVE", 5}, *skey, *dkey,
                       {from == QL_HEAD ? "LEFT" : "RIGHT", from == QL_HEAD ? 4u : 5u},
                       {to == QL_HEAD ? "LEFT" : "RIGHT", to == QL_HEAD ? 4u : 5u}};
        propagate_command(c, 5, argv);
    }
}

static void lmove_command(client *c)
{
    int from, to;
    if (!parse_where(c, &c->argv[3], &from) || !parse_where(c, &c->argv[4], &to)) return;
    move_generic(c, from, to, 0);
}

static void rpoplpush_command(client *c) { move_generic(c, QL_TAIL, QL_HEAD, 0); }

/* BLMOVE and BRPOPLPUSH once parsed. */
static void bmove_generic(client *c, int from, int to, long long deadline)
{
    entry *e = lookup_write(c, &c->argv[1]);
    if (e && e->type != TYPE_LIST) {
        if (running_again(c)) {
            block_for_keys(c, &c->argv[1], 1, deadline, 0);
            return;
        }
        reply_wrongtype(c);
        return;
    }
    if (e == NULL) {
        if (c->flags & CLIENT_DENY_BLOCKING) reply_null(c); /* inside EXEC: a null bulk, as Redis */
        else block_for_keys(c, &c->argv[1], 1, deadline, 0);
        return;
    }
    move_generic(c, from, to, 1);
}

static void blmove_command(client *c)
{
    int from, to;
    long long deadline;
    if (!parse_where(c, &c->argv[3], &from) || !parse_where(c, &c->argv[4], &to)) return;
    if (!blocking_parse_timeout(c, &c->argv[5], &deadline)) return;
    bmove_generic(c, from, to, deadline);
}

static void brpoplpush_command(client *c)
{
    long long deadline;
    if (!blocking_parse_timeout(c, &c->argv[3], &deadline)) return;
    bmove_generic(c, QL_TAIL, QL_HEAD, deadline);
}

/* ---- multi-key pops --------------------------------------------------------- */

/* BLPOP and BRPOP. */
static void bpop_generic(client *c, int where)
{
    long long deadline;
    if (!blocking_parse_timeout(c, &c->argv[c->argc - 1], &deadline)) return;
    int nkeys = c->argc - 2;
    for (int j = 1; j <= nkeys; j++) {
        const arg *key = &c->argv[j];
        entry *e = lookup_write(c, key);
        if (e == NULL) continue;
        if (e->type != TYPE_LIST) {
            if (running_again(c)) continue;
            reply_wrongtype(c);
            return;
        }
        qlist *l = list_of(e);
        lval v;
        reply_array(c, 2);
        reply_bulk(c, key->p, key->len);
        ql_peek(l, where, &v);
        reply_lval(c, &v);
        ql_pop(l, where);
        list_removed(c, e, key, pop_event(where));
        propagate_pop(c, key, where, -1);
        return;
    }
    block_for_keys(c, &c->argv[1], nkeys, deadline, 0);
}

static void blpop_command(client *c) { bpop_generic(c, QL_HEAD); }
static void brpop_command(client *c) { bpop_generic(c, QL_TAIL); }

/* LMPOP (numkeys at argv[1]) and BLMPOP (timeout at argv[1], numkeys at argv[2]). */
static void mpop_generic(client *c, int numkeys_idx, int blocking)
{
    long long numkeys, count = -1;
    int where;
    if (!parse_min(c, &c->argv[numkeys_idx], 1, &numkeys, "ERR numkeys should be greater than 0")) return;
    if (numkeys >= (long long)(c->argc - numkeys_idx - 1)) {
        reply_syntax_error(c);
        return;
    }
    int where_idx = numkeys_idx + (int)numkeys + 1;
    if (!parse_where(c, &c->argv[where_idx], &where)) return;
    for (int j = where_idx + 1; j < c->argc; j++) {
        int moreargs = c->argc - 1 - j;
        if (count == -1 && string_option_is(&c->argv[j], "count") && moreargs) {
            j++;
            if (!parse_min(c, &c->argv[j], 1, &count, "ERR count should be greater than 0")) return;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (count == -1) count = 1;
    long long deadline = 0;
    if (blocking && !blocking_parse_timeout(c, &c->argv[1], &deadline)) return;
    for (int j = numkeys_idx + 1; j < where_idx; j++) {
        const arg *key = &c->argv[j];
        entry *e = lookup_write(c, key);
        if (e == NULL) continue;
        if (e->type != TYPE_LIST) {
            if (blocking && running_again(c)) continue;
            reply_wrongtype(c);
            return;
        }
        reply_array(c, 2);
        reply_bulk(c, key->p, key->len);
        size_t n = pop_range_reply(c, list_of(e), where, count);
        list_removed(c, e, key, pop_event(where));
        propagate_pop(c, key, where, (long long)n);
        return;
    }
    if (blocking) block_for_keys(c, &c->argv[numkeys_idx + 1], (int)numkeys, deadline, 0);
    else reply_null_array(c);
}

static void lmpop_command(client *c) { mpop_generic(c, 1, 0); }
static void blmpop_command(client *c) { mpop_generic(c, 2, 1); }

/* ---- the table ----------------------------------------------------------- */

#define WDF (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
#define PUSH_CX "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."
#define MOVE_SPECS "RW access delete @1; RW insert @2"

struct command list_commands[] = {
    {"lpush", lpush_command, -3, WDF, ACL_LIST, 1, 1, 1, "RW insert", NULL, "list", "Prepend one or multiple elements to a list", "1.0.0", PUSH_CX, NULL, 0, 0, 0, 0},
    {"rpush", rpush_command, -3, WDF, ACL_LIST, 1, 1, 1, "RW insert", NULL, "list", "Append one or multiple elements to a list", "1.0.0", PUSH_CX, NULL, 0, 0, 0, 0},
    {"lpushx", lpushx_command, -3, WDF, ACL_LIST, 1, 1, 1, "RW insert", NULL, "list", "Prepend an element to a list, only if the list exists", "2.2.0", PUSH_CX, NULL, 0, 0, 0, 0},
    {"rpushx", rpushx_command, -3, WDF, ACL_LIST, 1, 1, 1, "RW insert", NULL, "list", "Append an element to a list, only if the list exists", "2.2.0", PUSH_CX, NULL, 0, 0, 0, 0},
    {"lpop", lpop_command, -2, CMD_WRITE | CMD_FAST, ACL_LIST, 1, 1, 1, "RW access delete", NULL, "list", "Remove and get the first elements in a list", "1.0.0", "O(N) where N is the number of elements returned", NULL, 0, 0, 0, 0},
    {"rpop", rpop_command, -2, CMD_WRITE | CMD_FAST, ACL_LIST, 1, 1, 1, "RW access delete", NULL, "list", "Remove and get the last elements in a list", "1.0.0", "O(N) where N is the number of elements returned", NULL, 0, 0, 0, 0},
    {"llen", llen_command, 2, CMD_READONLY | CMD_FAST, ACL_LIST, 1, 1, 1, "RO", NULL, "list", "Get the length of a list", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"lindex", lindex_command, 3, CMD_READONLY, ACL_LIST, 1, 1, 1, "RO access", NULL, "list", "Get an element from a list by its index", "1.0.0", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).", NULL, 0, 0, 0, 0},
    {"lset", lset_command, 4, CMD_WRITE | CMD_DENYOOM, ACL_LIST, 1, 1, 1, "RW update", NULL, "list", "Set the value of an element in a list by its index", "1.0.0", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", NULL, 0, 0, 0, 0},
    {"lrange", lrange_command, 4, CMD_READONLY, ACL_LIST, 1, 1, 1, "RO access", NULL, "list", "Get a range of elements from a list", "1.0.0", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", NULL, 0, 0, 0, 0},
    {"ltrim", ltrim_command, 4, CMD_WRITE, ACL_LIST, 1, 1, 1, "RW delete", NULL, "list", "Trim a list to the specified range", "1.0.0", "O(N) where N is the number of elements to be removed by the operation.", NULL, 0, 0, 0, 0},
    {"lrem", lrem_command, 4, CMD_WRITE, ACL_LIST, 1, 1, 1, "RW delete", NULL, "list", "Remove elements from a list", "1.0.0", "O(N+M) where N is the length of the list and M is the number of elements removed.", NULL, 0, 0, 0, 0},
    {"linsert", linsert_command, 5, CMD_WRITE | CMD_DENYOOM, ACL_LIST, 1, 1, 1, "RW insert", NULL, "list", "Insert an element before or after another element in a list", "2.2.0", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).", NULL, 0, 0, 0, 0},
    {"lpos", lpos_command, -3, CMD_READONLY, ACL_LIST, 1, 1, 1, "RO access", NULL, "list", "Return the index of matching elements on a list", "6.0.6", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", NULL, 0, 0, 0, 0},
    {"lmove", lmove_command, 5, CMD_WRITE | CMD_DENYOOM, ACL_LIST, 1, 2, 1, MOVE_SPECS, NULL, "list", "Pop an element from a list, push it to another list and return it", "6.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"rpoplpush", rpoplpush_command, 3, CMD_WRITE | CMD_DENYOOM, ACL_LIST, 1, 2, 1, MOVE_SPECS, NULL, "list", "Remove the last element in a list, prepend it to another list and return it", "1.2.0", "O(1)", NULL, 0, 0, 0, 0},
    /* LMPOP and BLMPOP: Redis gives their keys a "keynum" key spec, which
     * the key-spec notation (cmd_command.c) cannot express yet */
    {"lmpop", lmpop_command, -4, CMD_WRITE | CMD_MOVABLE_KEYS, ACL_LIST, 0, 0, 0, "RW access delete @1#0,1,1", NULL, "list", "Pop elements from a list", "7.0.0", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", NULL, 0, 0, 0, 0},
    {"blpop", blpop_command, -3, CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING, ACL_LIST, 1, -2, 1, "RW access delete", NULL, "list", "Remove and get the first element in a list, or block until one is available", "2.0.0", "O(N) where N is the number of provided keys.", NULL, 0, 0, 0, 0},
    {"brpop", brpop_command, -3, CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING, ACL_LIST, 1, -2, 1, "RW access delete", NULL, "list", "Remove and get the last element in a list, or block until one is available", "2.0.0", "O(N) where N is the number of provided keys.", NULL, 0, 0, 0, 0},
    {"blmove", blmove_command, 6, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT | CMD_BLOCKING, ACL_LIST, 1, 2, 1, MOVE_SPECS, NULL, "list", "Pop an element from a list, push it to another list and return it; or block until one is available", "6.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"brpoplpush", brpoplpush_command, 4, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT | CMD_BLOCKING, ACL_LIST, 1, 2, 1, MOVE_SPECS, NULL, "list", "Pop an element from a list, push it to another list and return it; or block until one is available", "2.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"blmpop", blmpop_command, -5, CMD_WRITE | CMD_BLOCKING | CMD_MOVABLE_KEYS, ACL_LIST, 0, 0, 0, "RW access delete @2#0,1,1", NULL, "list", "Pop elements from a list, or block until one is available", "7.0.0", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", NULL, 0, 0, 0, 0},
    {.name = NULL},
};
