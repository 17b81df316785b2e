/* t_set.c: the set commands: SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS
 * SRANDMEMBER SPOP SMOVE SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE
 * SDIFF SDIFFSTORE SSCAN, and their command table. The encodings and the
 * object_type callbacks are in t_set_enc.c.
 *
 * Replies, error texts and the order in which arguments are checked follow
 * Redis 7.0. A set that becomes empty is deleted; a missing key reads as an
 * empty set. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "server.h"
#include "t_set.h"

/* ---- helpers ------------------------------------------------------------ */

/* A copy of a member that stays valid when the set changes. It may be
 * moved (no pointer into itself): read it with mcopy_ptr. */
typedef struct mcopy {
    char *heap; /* NULL: the bytes are in small */
    size_t len;
    char small[64];
} mcopy;

static void mcopy_set(mcopy *c, const char *p, size_t len)
{
    c->len = len;
    c->heap = len <= sizeof(c->small) ? NULL : zmalloc(len);
    memcpy(c->heap ? c->heap : c->small, p, len);
}

static const char *mcopy_ptr(const mcopy *c) { return c->heap ? c->heap : c->small; }

static void mcopy_release(mcopy *c) { zfree(c->heap); }

/* A growable array of members read from sets that do not change
 * meanwhile: pointers into the sets, or an intset's integers. */
typedef struct mref {
    const char *p; /* NULL: the integer v */
    size_t len;
    long long v;
} mref;

struct mlist {
    mref *items;
    size_t len, cap;
};

static void mlist_push(struct mlist *l, const smember *m)
{
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = zrealloc(l->items, l->cap * sizeof(mref));
    }
    mref *r = &l->items[l->len++];
    r->len = m->len;
    if (m->p == m->buf) {
        r->p = NULL;
        string2ll(m->buf, m->len, &r->v);
    } else {
        r->p = m->p;
    }
}

static void reply_mref(client *c, const mref *r)
{
    if (r->p) reply_bulk(c, r->p, r->len);
    else reply_bulk_ll(c, r->v);
}

static void reply_member(client *c, const smember *m) { reply_bulk(c, m->p, m->len); }

/* Replies the whole set as a set reply (RESP3 ~, RESP2 *). */
static void reply_set_members(client *c, const void *s)
{
    set_iter it;
    smember m;
    reply_set(c, s ? (long)set_size(s) : 0);
    if (s == NULL) return;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m)) reply_member(c, &m);
}

/* Replaces `key` with the set `s` (or deletes it when s is empty) and
 * replies the size, as the *STORE commands do, with their keyspace event
 * (or "del"). Takes ownership of s. */
static void store_result(client *c, const arg *key, void *s, const char *event)
{
    size_t n = set_size(s);
    entry *old = db_find(c->db, key->p, key->len);
    if (n == 0) {
        set_free(s);
        reply_int(c, 0);
        if (old) {
            db_delete_entry(c->db, old);
            key_modified(c->db, key);
            notify_key(c, NOTIFY_GENERIC, "del", key);
        }
        return;
    }
    if (old) db_delete_entry(c->db, old);
    keyspace_overwriting = old != NULL; /* a replaced key is not new */
    db_add_object(c->db, key->p, key->len, TYPE_SET, s);
    keyspace_overwriting = 0;
    key_modified(c->db, key);
    reply_int(c, (long long)n);
    notify_key(c, NOTIFY_SET, event, key);
}

/* Propagates SREM key m1 m2 ... in batches, for SPOP with a count. */
#define SREM_BATCH 1024
struct srem_batch {
    client *c;
    const arg *key;
    char *pool;
    size_t pool_len, pool_cap;
    size_t offs[SREM_BATCH], lens[SREM_BATCH];
    int n;
};

static void srem_flush(struct srem_batch *b)
{
    if (b->n == 0) return;
    arg *argv = zmalloc(((size_t)b->n + 2) * sizeof(arg));
    argv[0] = (arg){"SREM", 4};
    argv[1] = *b->key;
    for (int i = 0; i < b->n; i++) argv[i + 2] = (arg){b->pool + b->offs[i], b->lens[i]};
    propagate_command(b->c, b->n + 2, argv);
    zfree(argv);
    b->n = 0;
    b->pool_len = 0;
}

static void srem_push(struct srem_batch *b, const char *m, size_t len)
{
    if (b->pool_len + len > b->pool_cap) {
        b->pool_cap = (b->pool_len + len) * 2 + 64;
        b->pool = zrealloc(b->pool, b->pool_cap);
    }
    memcpy(b->pool + b->pool_len, m, len);
    b->offs[b->n] = b->pool_len;
    b->lens[b->n] = len;
    b->pool_len += len;
    if (++b->n == SREM_BATCH) srem_flush(b);
}

/* ---- SADD SREM SMOVE ------------------------------------------------------- */

static void sadd_command(client *c)
{
    const arg *key = &c->argv[1];
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_SET, &e)) return;
    void *s;
    if (e == NULL) {
        s = set_create(c->argv[2].p, c->argv[2].len);
        e = db_add_object(c->db, key->p, key->len, TYPE_SET, s);
    } else {
        s = entry_object(e);
    }
    long long added = 0;
    for (int j = 2; j < c->argc; j++) added += set_add(&s, c->argv[j].p, c->argv[j].len);
    entry_set_object(e, s);
    if (added) {
        key_modified(c->db, key);
        notify_key(c, NOTIFY_SET, "sadd", key);
    }
    reply_int(c, added);
}

static void srem_command(client *c)
{
    const arg *key = &c->argv[1];
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_SET, &e)) return;
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    void *s = entry_object(e);
    long long removed = 0;
    int deleted = 0;
    for (int j = 2; j < c->argc; j++) {
        removed += set_remove(&s, c->argv[j].p, c->argv[j].len);
        if (set_size(s) == 0) {
            entry_set_object(e, s);
            db_delete_entry(c->db, e);
            deleted = 1;
            break;
        }
    }
    if (!deleted) entry_set_object(e, s);
    if (removed) {
        key_modified(c->db, key);
        notify_key(c, NOTIFY_SET, "srem", key);
        if (deleted) notify_key(c, NOTIFY_GENERIC, "del", key);
    }
    reply_int(c, removed);
}

static void smove_command(client *c)
{
    const arg *src = &c->argv[1], *dst = &c->argv[2], *m = &c->argv[3];
    entry *se = lookup_write(c, src);
    entry *de = lookup_write(c, dst);
    if (se == NULL) {
        reply_int(c, 0);
        return;
    }
    if (se->type != TYPE_SET || (de && de->type != TYPE_SET)) {
        reply_wrongtype(c);
        return;
    }
    if (se == de) {
        reply_int(c, set_contains(entry_object(se), m->p, m->len));
        return;
    }
    void *s = entry_object(se);
    if (!set_remove(&s, m->p, m->len)) {
        entry_set_object(se, s);
        reply_int(c, 0);
        return;
    }
    entry_set_object(se, s);
    notify_key(c, NOTIFY_SET, "srem", src);
    if (set_size(s) == 0) {
        db_delete_entry(c->db, se);
        notify_key(c, NOTIFY_GENERIC, "del", src);
    }
    key_modified(c->db, src);
    de = db_find(c->db, dst->p, dst->len); /* the keyspace may have changed */
    void *d;
    if (de == NULL) {
        d = set_create(m->p, m->len);
        de = db_add_object(c->db, dst->p, dst->len, TYPE_SET, d);
    } else {
        d = entry_object(de);
    }
    int added = set_add(&d, m->p, m->len);
    entry_set_object(de, d);
    key_modified(c->db, dst);
    if (added) notify_key(c, NOTIFY_SET, "sadd", dst);
    reply_int(c, 1);
}

/* ---- SCARD SISMEMBER SMISMEMBER -------------------------------------------- */

static void scard_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_SET, &e)) return;
    reply_int(c, e ? (long long)set_size(entry_object(e)) : 0);
}

static void sismember_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_SET, &e)) return;
    reply_int(c, e ? set_contains(entry_object(e), c->argv[2].p, c->argv[2].len) : 0);
}

static void smismember_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_SET, &e)) return;
    const void *s = e ? entry_object(e) : NULL;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++)
        reply_int(c, s ? set_contains(s, c->argv[j].p, c->argv[j].len) : 0);
}

/* ---- SPOP SRANDMEMBER ------------------------------------------------------- */

/* Parses a count that must be >= 0 (SPOP, SINTERCARD's LIMIT). */
static int parse_positive(client *c, const arg *a, long long *out, const char *msg)
{
    long long v;
    if (msg == NULL) msg = "ERR value is out of range, must be positive";
    if (!arg_to_ll_msg(c, a, &v, msg)) return 0;
    if (v < 0) {
        reply_error(c, msg);
        return 0;
    }
    *out = v;
    return 1;
}

static void spop_with_count(client *c)
{
    const arg *key = &c->argv[1];
    long long count;
    if (!parse_positive(c, &c->argv[2], &count, NULL)) return;
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_SET, &e)) return;
    if (e == NULL || count == 0) {
        reply_set(c, 0);
        return;
    }
    void *s = entry_object(e);
    size_t size = set_size(s);
    if ((unsigned long long)count >= size) {
        reply_set_members(c, s);
        db_delete_entry(c->db, e);
        arg del[2] = {{"DEL", 3}, *key};
        propagate_command(c, 2, del);
        key_modified(c->db, key);
        notify_key(c, NOTIFY_SET, "spop", key);
        notify_key(c, NOTIFY_GENERIC, "del", key);
        return;
    }
    struct srem_batch b = {.c = c, .key = key};
    reply_set(c, count);
    if ((unsigned long long)count * 5 > size) {
        /* most of the set: move the members that stay to a new set (of the
         * same encoding), then the old one holds exactly those popped */
        void *keep = set_create_like(s);
        for (size_t left = size - (size_t)count; left > 0; left--) {
            smember m;
            mcopy mc;
            set_random(s, &m);
            mcopy_set(&mc, m.p, m.len);
            set_add(&keep, mcopy_ptr(&mc), mc.len);
            set_remove(&s, mcopy_ptr(&mc), mc.len);
            mcopy_release(&mc);
        }
        set_iter it;
        smember m;
        set_iter_init(&it, s);
        while (set_iter_next(&it, &m)) {
            reply_member(c, &m);
            srem_push(&b, m.p, m.len);
        }
        srem_flush(&b);
        zfree(b.pool);
        set_free(s);
        entry_set_object(e, keep);
        key_modified(c->db, key);
        notify_key(c, NOTIFY_SET, "spop", key);
        return;
    }
    while (count-- > 0) {
        smember m;
        mcopy mc;
        set_random(s, &m);
        reply_member(c, &m);
        mcopy_set(&mc, m.p, m.len);
        srem_push(&b, mcopy_ptr(&mc), mc.len);
        set_remove(&s, mcopy_ptr(&mc), mc.len);
        mcopy_release(&mc);
    }
    srem_flush(&b);
    zfree(b.pool);
    entry_set_object(e, s);
    key_modified(c->db, key);
    notify_key(c, NOTIFY_SET, "spop", key);
}

static void spop_command(client *c)
{
    if (c->argc == 3) {
        spop_with_count(c);
        return;
    }
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    const arg *key = &c->argv[1];
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_SET, &e)) return;
    if (e == NULL) {
        reply_null(c);
        return;
    }
    void *s = entry_object(e);
    smember m;
    mcopy mc;
    set_random(s, &m);
    reply_member(c, &m);
    mcopy_set(&mc, m.p, m.len);
    arg srem[3] = {{"SREM", 4}, *key, {mcopy_ptr(&mc), mc.len}};
    propagate_command(c, 3, srem);
    set_remove(&s, mcopy_ptr(&mc), mc.len);
    mcopy_release(&mc);
    entry_set_object(e, s);
    notify_key(c, NOTIFY_SET, "spop", key);
    if (set_size(s) == 0) {
        db_delete_entry(c->db, e);
        notify_key(c, NOTIFY_GENERIC, "del", key);
    }
    key_modified(c->db, key);
}

static void srandmember_with_count(client *c)
{
    long long count;
    if (!arg_to_ll(c, &c->argv[2], &count)) return;
    if (count == LLONG_MIN) {
        reply_error(c, "ERR value is out of range, value must between -9223372036854775807 and "
                       "9223372036854775807");
        return;
    }
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_SET, &e)) return;
    if (e == NULL || count == 0) {
        reply_array(c, 0);
        return;
    }
    void *s = entry_object(e);
    size_t size = set_size(s);
    smember m;
    if (count < 0) { /* repetitions allowed */
        reply_array(c, -count);
        for (long long i = 0; i < -count; i++) {
            set_random(s, &m);
            reply_member(c, &m);
        }
        return;
    }
    if ((unsigned long long)count >= size) {
        set_iter it;
        reply_array(c, (long)size);
        set_iter_init(&it, s);
        while (set_iter_next(&it, &m)) reply_member(c, &m);
        return;
    }
    reply_array(c, count);
    if ((unsigned long long)count * 3 > size) {
        /* many of them: shuffle the first `count` of all members */
        struct mlist all = {0};
        set_iter it;
        set_iter_init(&it, s);
        while (set_iter_next(&it, &m)) mlist_push(&all, &m);
        for (size_t i = 0; i < (size_t)count; i++) {
            size_t j = i + random_u64() % (all.len - i);
            mref t = all.items[i];
            all.items[i] = all.items[j];
            all.items[j] = t;
            reply_mref(c, &all.items[i]);
        }
        zfree(all.items);
        return;
    }
    /* few of them: random picks, skipping repeats */
    void *seen = set_create("", 0);
    long long sent = 0;
    while (sent < count) {
        set_random(s, &m);
        if (!set_add(&seen, m.p, m.len)) continue;
        reply_member(c, &m);
        sent++;
    }
    set_free(seen);
}

static void srandmember_command(client *c)
{
    if (c->argc == 3) {
        srandmember_with_count(c);
        return;
    }
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_SET, &e)) return;
    if (e == NULL) {
        reply_null(c);
        return;
    }
    smember m;
    set_random(entry_object(e), &m);
    reply_member(c, &m);
}

/* ---- SINTER SINTERCARD SINTERSTORE SMEMBERS -------------------------------- */

/* Looks up the sets at keys (NULL for a missing key); 0 after replying
 * WRONGTYPE when one holds another type. */
static int lookup_sets(client *c, const arg *keys, int n, int write, void **sets)
{
    for (int j = 0; j < n; j++) {
        entry *e = write ? lookup_write(c, &keys[j]) : lookup_read(c, &keys[j]);
        if (e && e->type != TYPE_SET) {
            reply_wrongtype(c);
            return 0;
        }
        sets[j] = e ? entry_object(e) : NULL;
    }
    return 1;
}

static int by_size(const void *a, const void *b)
{
    size_t x = set_size(*(void *const *)a), y = set_size(*(void *const *)b);
    return x < y ? -1 : x > y;
}

/* Is m in every set of sets[1..n)? */
static int in_all(void **sets, int n, const smember *m)
{
    for (int j = 1; j < n; j++) {
        if (sets[j] == sets[0]) continue;
        if (!set_contains(sets[j], m->p, m->len)) return 0;
    }
    return 1;
}

static void sinter_generic(client *c, const arg *keys, int n, const arg *dst, int card_only,
                           long long limit)
{
    void **sets = zmalloc((size_t)n * sizeof(void *));
    if (!lookup_sets(c, keys, n, dst != NULL, sets)) {
        zfree(sets);
        return;
    }
    int empty = 0;
    for (int j = 0; j < n; j++) empty |= sets[j] == NULL;
    if (empty) {
        zfree(sets);
        if (dst) {
            reply_int(c, 0);
            if (db_delete(c->db, dst->p, dst->len)) {
                key_modified(c->db, dst);
                notify_key(c, NOTIFY_GENERIC, "del", dst);
            }
        } else if (card_only) {
            reply_int(c, 0);
        } else {
            reply_set(c, 0);
        }
        return;
    }
    qsort(sets, (size_t)n, sizeof(void *), by_size);
    set_iter it;
    smember m;
    set_iter_init(&it, sets[0]);
    if (card_only) {
        long long card = 0;
        while (set_iter_next(&it, &m)) {
            if (!in_all(sets, n, &m)) continue;
            if (++card == limit) break;
        }
        reply_int(c, card);
    } else if (dst) {
        void *result = set_create_intset();
        while (set_iter_next(&it, &m))
            if (in_all(sets, n, &m)) set_add(&result, m.p, m.len);
        store_result(c, dst, result, "sinterstore");
    } else {
        struct mlist found = {0};
        while (set_iter_next(&it, &m))
            if (in_all(sets, n, &m)) mlist_push(&found, &m);
        reply_set(c, (long)found.len);
        for (size_t i = 0; i < found.len; i++) reply_mref(c, &found.items[i]);
        zfree(found.items);
    }
    zfree(sets);
}

static void sinter_command(client *c) { sinter_generic(c, c->argv + 1, c->argc - 1, NULL, 0, 0); }

static void sinterstore_command(client *c)
{
    sinter_generic(c, c->argv + 2, c->argc - 2, &c->argv[1], 0, 0);
}

static void sintercard_command(client *c)
{
    long long numkeys, limit = 0;
    const char *numkeys_msg = "ERR numkeys should be greater than 0";
    if (!arg_to_ll_msg(c, &c->argv[1], &numkeys, numkeys_msg)) return;
    if (numkeys < 1) {
        reply_error(c, numkeys_msg);
        return;
    }
    if (numkeys > c->argc - 2) {
        reply_error(c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < c->argc; j++) {
        if (arg_is(c->argv[j].p, c->argv[j].len, "limit") && j + 1 < c->argc) {
            j++;
            if (!parse_positive(c, &c->argv[j], &limit, "ERR LIMIT can't be negative")) return;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    sinter_generic(c, c->argv + 2, (int)numkeys, NULL, 1, limit);
}

/* ---- SUNION SDIFF and their STORE forms ------------------------------------ */

static void sunion_diff_generic(client *c, const arg *keys, int n, const arg *dst, int diff)
{
    void **sets = zmalloc((size_t)n * sizeof(void *));
    if (!lookup_sets(c, keys, n, dst != NULL, sets)) {
        zfree(sets);
        return;
    }
    void *result = set_create_intset();
    set_iter it;
    smember m;
    if (!diff) {
        for (int j = 0; j < n; j++) {
            if (sets[j] == NULL) continue;
            set_iter_init(&it, sets[j]);
            while (set_iter_next(&it, &m)) set_add(&result, m.p, m.len);
        }
    } else if (sets[0]) {
        set_iter_init(&it, sets[0]);
        while (set_iter_next(&it, &m)) {
            int keep = 1;
            for (int j = 1; j < n && keep; j++) {
                if (sets[j] == NULL) continue;
                if (sets[j] == sets[0] || set_contains(sets[j], m.p, m.len)) keep = 0;
            }
            if (keep) set_add(&result, m.p, m.len);
        }
    }
    zfree(sets);
    if (dst) {
        store_result(c, dst, result, diff ? "sdiffstore" : "sunionstore");
        return;
    }
    reply_set_members(c, set_size(result) ? result : NULL);
    set_free(result);
}

static void sunion_command(client *c) { sunion_diff_generic(c, c->argv + 1, c->argc - 1, NULL, 0); }
static void sdiff_command(client *c) { sunion_diff_generic(c, c->argv + 1, c->argc - 1, NULL, 1); }

static void sunionstore_command(client *c)
{
    sunion_diff_generic(c, c->argv + 2, c->argc - 2, &c->argv[1], 0);
}

static void sdiffstore_command(client *c)
{
    sunion_diff_generic(c, c->argv + 2, c->argc - 2, &c->argv[1], 1);
}

/* ---- SSCAN ---------------------------------------------------------------- */


struct sscan_walk {
    const arg *pattern; /* NULL: every member */
    struct mcopy_list {
        mcopy *items;
        size_t len, cap;
    } found;
};

static void sscan_visit(void *priv, const char *m, size_t len)
{
    struct sscan_walk *w = priv;
    if (w->pattern && !glob_match(w->pattern->p, w->pattern->len, m, len, 0)) return;
    struct mcopy_list *l = &w->found;
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = zrealloc(l->items, l->cap * sizeof(mcopy));
    }
    mcopy_set(&l->items[l->len++], m, len);
}

static void sscan_command(client *c)
{
    unsigned long cursor;
    if (!parse_scan_cursor(&c->argv[2], &cursor)) {
        reply_error(c, "ERR invalid cursor");
        return;
    }
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_SET, &e)) return;
    if (e == NULL) {
        reply_empty_scan(c);
        return;
    }
    struct sscan_walk w;
    memset(&w, 0, sizeof(w));
    struct scan_options opt;
    if (!parse_scan_options(c, 3, 0, &opt)) return;
    w.pattern = opt.pattern;
    long long count = opt.count;
    void *s = entry_object(e);
    if (set_encoding(s) == SET_ENC_INTSET) {
        cursor = set_scan(s, 0, sscan_visit, &w);
    } else {
        long long budget = count * 10;
        do {
            cursor = set_scan(s, cursor, sscan_visit, &w);
        } while (cursor && budget-- > 0 && (long long)w.found.len < count);
    }
    char buf[32];
    reply_array(c, 2);
    reply_bulk(c, buf, ull2str(buf, sizeof(buf), cursor));
    reply_array(c, (long)w.found.len);
    for (size_t i = 0; i < w.found.len; i++) {
        reply_bulk(c, mcopy_ptr(&w.found.items[i]), w.found.items[i].len);
        mcopy_release(&w.found.items[i]);
    }
    zfree(w.found.items);
}

/* ---- the command table ------------------------------------------------------- */

#define WDF (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
#define WF (CMD_WRITE | CMD_FAST)
#define ROF (CMD_READONLY | CMD_FAST)
#define WD (CMD_WRITE | CMD_DENYOOM)
#define C_SETOPS "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."
#define C_TOTAL "O(N) where N is the total number of elements in all given sets."

struct command set_commands[] = {
    {"sadd", sadd_command, -3, WDF, ACL_SET, 1, 1, 1, "RW insert", NULL, "set", "Add one or more members to a set", "1.0.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", NULL, 0, 0, 0, 0},
    {"srem", srem_command, -3, WF, ACL_SET, 1, 1, 1, "RW delete", NULL, "set", "Remove one or more members from a set", "1.0.0", "O(N) where N is the number of members to be removed.", NULL, 0, 0, 0, 0},
    {"scard", scard_command, 2, ROF, ACL_SET, 1, 1, 1, "RO", NULL, "set", "Get the number of members in a set", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"sismember", sismember_command, 3, ROF, ACL_SET, 1, 1, 1, "RO", NULL, "set", "Determine if a given value is a member of a set", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"smismember", smismember_command, -3, ROF, ACL_SET, 1, 1, 1, "RO access", NULL, "set", "Returns the membership associated with the given elements for a set", "6.2.0", "O(N) where N is the number of elements being checked for membership", NULL, 0, 0, 0, 0},
    {"smembers", sinter_command, 2, CMD_READONLY, ACL_SET, 1, 1, 1, "RO access", "nondeterministic_output_order", "set", "Get all the members in a set", "1.0.0", "O(N) where N is the set cardinality.", NULL, 0, 0, 0, 0},
    {"srandmember", srandmember_command, -2, CMD_READONLY, ACL_SET, 1, 1, 1, "RO access", "nondeterministic_output", "set", "Get one or multiple random members from a set", "1.0.0", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", NULL, 0, 0, 0, 0},
    {"spop", spop_command, -2, WF, ACL_SET, 1, 1, 1, "RW access delete", "nondeterministic_output", "set", "Remove and return one or multiple random members from a set", "1.0.0", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", NULL, 0, 0, 0, 0},
    {"smove", smove_command, 4, WF, ACL_SET, 1, 2, 1, "RW access delete @1;RW insert @2", NULL, "set", "Move a member from one set to another", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"sinter", sinter_command, -2, CMD_READONLY, ACL_SET, 1, -1, 1, "RO access", "nondeterministic_output_order", "set", "Intersect multiple sets", "1.0.0", C_SETOPS, NULL, 0, 0, 0, 0},
    {"sintercard", sintercard_command, -3, CMD_READONLY | CMD_MOVABLE_KEYS, ACL_SET, 0, 0, 0, "RO access @1#0,1,1", NULL, "set", "Intersect multiple sets and return the cardinality of the result", "7.0.0", C_SETOPS, NULL, 0, 0, 0, 0},
    {"sinterstore", sinterstore_command, -3, WD, ACL_SET, 1, -1, 1, "RW update @1;RO access @2~-1,1,0", NULL, "set", "Intersect multiple sets and store the resulting set in a key", "1.0.0", C_SETOPS, NULL, 0, 0, 0, 0},
    {"sunion", sunion_command, -2, CMD_READONLY, ACL_SET, 1, -1, 1, "RO access", "nondeterministic_output_order", "set", "Add multiple sets", "1.0.0", C_TOTAL, NULL, 0, 0, 0, 0},
    {"sunionstore", sunionstore_command, -3, WD, ACL_SET, 1, -1, 1, "OW update @1;RO access @2~-1,1,0", NULL, "set", "Add multiple sets and store the resulting set in a key", "1.0.0", C_TOTAL, NULL, 0, 0, 0, 0},
    {"sdiff", sdiff_command, -2, CMD_READONLY, ACL_SET, 1, -1, 1, "RO access", "nondeterministic_output_order", "set", "Subtract multiple sets", "1.0.0", C_TOTAL, NULL, 0, 0, 0, 0},
    {"sdiffstore", sdiffstore_command, -3, WD, ACL_SET, 1, -1, 1, "OW update @1;RO access @2~-1,1,0", NULL, "set", "Subtract multiple sets and store the resulting set in a key", "1.0.0", C_TOTAL, NULL, 0, 0, 0, 0},
    {"sscan", sscan_command, -3, CMD_READONLY, ACL_SET, 1, 1, 1, "RO access", "nondeterministic_output", "set", "Incrementally iterate Set elements", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
