/* t_hash.c: the hash commands (HSET HSETNX HGET HMGET HMSET HDEL HLEN
 * HSTRLEN HEXISTS HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD
 * HSCAN), their command table and the hash's object type. The encodings
 * and the type's callbacks live in t_hash_enc.c (see t_hash.h).
 *
 * Replies, error texts and the order in which arguments are checked follow
 * Redis 7.0; so do the encodings OBJECT ENCODING reports and when a hash
 * converts from "listpack" to "hashtable". */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "object.h"
#include "notify.h"
#include "server.h"
#include "t_hash.h"

/* ---- helpers ------------------------------------------------------------ */

/* The hash at argv[1] for a write, or a new empty one (*created set: the
 * caller adds it with store_hash). Returns NULL after WRONGTYPE. */
static void *hash_for_write(client *c, entry **e, int *created)
{
    if (!lookup_write_typed(c, &c->argv[1], TYPE_HASH, e)) return NULL;
    *created = *e == NULL;
    return *e ? entry_object(*e) : hash_create();
}

/* Stores the (possibly moved or converted) hash back under argv[1]. */
static void store_hash(client *c, entry *e, void *h)
{
    if (e) entry_set_object(e, h);
    else db_add_object(c->db, c->argv[1].p, c->argv[1].len, TYPE_HASH, h);
}

/* HSET's conversion check over argv[first..last]. */
static void try_conversion_args(client *c, void **hp, int first, int last)
{
    size_t longest = 0, total = 0;
    for (int j = first; j <= last; j++) {
        if (c->argv[j].len > longest) longest = c->argv[j].len;
        total += c->argv[j].len + 5;
    }
    hash_try_conversion(hp, longest, total);
}

/* ---- setting fields --------------------------------------------------------- */

static void hset_generic(client *c, int is_hmset)
{
    if (c->argc % 2 == 1) {
        reply_arity_error(c);
        return;
    }
    entry *e;
    int created;
    void *h = hash_for_write(c, &e, &created);
    if (h == NULL) return;
    try_conversion_args(c, &h, 2, c->argc - 1);
    long long added = 0;
    for (int j = 2; j < c->argc; j += 2)
        added += hash_set(&h, c->argv[j].p, c->argv[j].len, c->argv[j + 1].p, c->argv[j + 1].len);
    store_hash(c, e, h);
    key_modified(c->db, &c->argv[1]);
    notify_key(c, NOTIFY_HASH, "hset", &c->argv[1]);
    if (is_hmset) reply_ok(c);
    else reply_int(c, added);
}

static void hset_command(client *c) { hset_generic(c, 0); }
static void hmset_command(client *c) { hset_generic(c, 1); }

static void hsetnx_command(client *c)
{
    entry *e;
    int created;
    void *h = hash_for_write(c, &e, &created);
    if (h == NULL) return;
    char buf[HASH_NUMBUF];
    const char *v;
    size_t vlen;
    if (!created && hash_get(h, c->argv[2].p, c->argv[2].len, buf, &v, &vlen)) {
        reply_int(c, 0);
        return;
    }
    try_conversion_args(c, &h, 2, 3);
    hash_set(&h, c->argv[2].p, c->argv[2].len, c->argv[3].p, c->argv[3].len);
    store_hash(c, e, h);
    key_modified(c->db, &c->argv[1]);
    notify_key(c, NOTIFY_HASH, "hset", &c->argv[1]);
    reply_int(c, 1);
}

/* ---- reading fields ------------------------------------------------------------ */

static void hget_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_HASH, &e)) return;
    char buf[HASH_NUMBUF];
    const char *v;
    size_t vlen;
    if (e && hash_get(entry_object(e), c->argv[2].p, c->argv[2].len, buf, &v, &vlen))
        reply_bulk(c, v, vlen);
    else reply_null(c);
}

static void hmget_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_HASH, &e)) return;
    void *h = e ? entry_object(e) : NULL;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        char buf[HASH_NUMBUF];
        const char *v;
        size_t vlen;
        if (h && hash_get(h, c->argv[j].p, c->argv[j].len, buf, &v, &vlen)) reply_bulk(c, v, vlen);
        else reply_null(c);
    }
}

static void hlen_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_HASH, &e)) return;
    reply_int(c, e ? (long long)hash_length(entry_object(e)) : 0);
}

static void hstrlen_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_HASH, &e)) return;
    char buf[HASH_NUMBUF];
    const char *v;
    size_t vlen;
    if (e && hash_get(entry_object(e), c->argv[2].p, c->argv[2].len, buf, &v, &vlen))
        reply_int(c, (long long)vlen);
    else reply_int(c, 0);
}

static void hexists_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_HASH, &e)) return;
    char buf[HASH_NUMBUF];
    const char *v;
    size_t vlen;
    reply_int(c, e && hash_get(entry_object(e), c->argv[2].p, c->argv[2].len, buf, &v, &vlen));
}

#define WANT_FIELDS 1
#define WANT_VALUES 2

static void hgetall_generic(client *c, int what)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_HASH, &e)) return;
    int both = what == (WANT_FIELDS | WANT_VALUES);
    if (e == NULL) {
        if (both) reply_map(c, 0);
        else reply_array(c, 0);
        return;
    }
    void *h = entry_object(e);
    long n = (long)hash_length(h);
    if (both) reply_map(c, n);
    else reply_array(c, n);
    hash_iter it;
    hash_iter_init(&it, h);
    const char *f, *v;
    size_t flen, vlen;
    while (hash_iter_next(&it, &f, &flen, &v, &vlen)) {
        if (what & WANT_FIELDS) reply_bulk(c, f, flen);
        if (what & WANT_VALUES) reply_bulk(c, v, vlen);
    }
    hash_iter_release(&it);
}

static void hkeys_command(client *c) { hgetall_generic(c, WANT_FIELDS); }
static void hvals_command(client *c) { hgetall_generic(c, WANT_VALUES); }
static void hgetall_command(client *c) { hgetall_generic(c, WANT_FIELDS | WANT_VALUES); }

/* ---- deleting fields -------------------------------------------------------------- */

static void hdel_command(client *c)
{
    entry *e;
    if (!lookup_write_typed(c, &c->argv[1], TYPE_HASH, &e)) return;
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    void *h = entry_object(e);
    long long deleted = 0;
    int emptied = 0;
    for (int j = 2; j < c->argc; j++) {
        if (hash_delete(&h, c->argv[j].p, c->argv[j].len)) {
            deleted++;
            if (hash_length(h) == 0) {
                emptied = 1;
                break;
            }
        }
    }
    entry_set_object(e, h); /* the entry frees what it holds */
    if (emptied) db_delete_entry(c->db, e);
    if (deleted) {
        key_modified(c->db, &c->argv[1]);
        notify_key(c, NOTIFY_HASH, "hdel", &c->argv[1]);
        if (emptied) notify_key(c, NOTIFY_GENERIC, "del", &c->argv[1]);
    }
    reply_int(c, deleted);
}

/* ---- counters ------------------------------------------------------------------- */

static void hincrby_command(client *c)
{
    long long incr, value = 0;
    if (!arg_to_ll(c, &c->argv[3], &incr)) return;
    entry *e;
    int created;
    void *h = hash_for_write(c, &e, &created);
    if (h == NULL) return;
    char buf[HASH_NUMBUF];
    const char *v;
    size_t vlen;
    if (!created && hash_get(h, c->argv[2].p, c->argv[2].len, buf, &v, &vlen) &&
        !string2ll(v, vlen, &value)) {
        reply_error(c, "ERR hash value is not an integer");
        return;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        if (created) hash_free(h);
        reply_error(c, "ERR increment or decrement would overflow");
        return;
    }
    value += incr;
    char out[HASH_NUMBUF];
    size_t n = ll2str(out, sizeof(out), value);
    hash_set(&h, c->argv[2].p, c->argv[2].len, out, n);
    store_hash(c, e, h);
    key_modified(c->db, &c->argv[1]);
    notify_key(c, NOTIFY_HASH, "hincrby", &c->argv[1]);
    reply_int(c, value);
}

/* Long enough for any finite long double in human form (see t_string.c). */
#define LD_STR_MAX 5120

static void hincrbyfloat_command(client *c)
{
    long double incr, value = 0;
    if (!string2ld(c->argv[3].p, c->argv[3].len, &incr)) {
        reply_not_float(c);
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        reply_error(c, "ERR value is NaN or Infinity");
        return;
    }
    entry *e;
    int created;
    void *h = hash_for_write(c, &e, &created);
    if (h == NULL) return;
    char buf[HASH_NUMBUF];
    const char *v;
    size_t vlen;
    if (!created && hash_get(h, c->argv[2].p, c->argv[2].len, buf, &v, &vlen) &&
        !string2ld(v, vlen, &value)) {
        reply_error(c, "ERR hash value is not a float");
        return;
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        if (created) hash_free(h);
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char out[LD_STR_MAX];
    size_t n = ld2str_human(out, sizeof(out), value);
    hash_set(&h, c->argv[2].p, c->argv[2].len, out, n);
    store_hash(c, e, h);
    key_modified(c->db, &c->argv[1]);
    notify_key(c, NOTIFY_HASH, "hincrbyfloat", &c->argv[1]);
    reply_bulk(c, out, n);
    /* the result, not the increment: float arithmetic may differ elsewhere */
    arg argv[4] = {{"HSET", 4}, c->argv[1], c->argv[2], {out, n}};
    propagate_command(c, 4, argv);
}

/* ---- HRANDFIELD ------------------------------------------------------------------- */

static void reply_random_pair(client *c, int withvalues, const char *f, size_t flen,
                              const char *v, size_t vlen)
{
    if (withvalues && c->resp == 3) reply_array(c, 2);
    reply_bulk(c, f, flen);
    if (withvalues) reply_bulk(c, v, vlen);
}

/* Swaps a random element of [i, n) into position i, for i < count: the
 * first count elements are then a uniform sample without repetition. */
static void partial_shuffle(void **items, size_t n, size_t count)
{
    for (size_t i = 0; i < count && i + 1 < n; i++) {
        size_t j = i + (size_t)(random_u64() % (n - i));
        void *t = items[i];
        items[i] = items[j];
        items[j] = t;
    }
}

static void hrandfield_with_count(client *c, long long l, int withvalues)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_HASH, &e)) return;
    if (e == NULL || l == 0) {
        reply_array(c, 0);
        return;
    }
    void *h = entry_object(e);
    size_t size = hash_length(h);
    unsigned long long count = l < 0 ? (unsigned long long)(-l) : (unsigned long long)l;
    char fb[HASH_NUMBUF], vb[HASH_NUMBUF];
    const char *f, *v;
    size_t flen, vlen;

    /* repetitions allowed: each pick samples the whole hash */
    if (l < 0 || count == 1) {
        reply_array(c, (long)(withvalues && c->resp == 2 ? count * 2 : count));
        if (hash_encoding_of(h) == HASH_ENC_LISTPACK) {
            size_t *off = hash_lp_offsets(h);
            while (count--) {
                hash_lp_pair_at(h, off[random_u64() % size], fb, vb, &f, &flen, &v, &vlen);
                reply_random_pair(c, withvalues, f, flen, v, vlen);
            }
            zfree(off);
        } else {
            while (count--) {
                hash_random(h, fb, vb, &f, &flen, &v, &vlen);
                reply_random_pair(c, withvalues, f, flen, v, vlen);
            }
        }
        return;
    }

    size_t n = count < size ? (size_t)count : size;
    reply_array(c, (long)(withvalues && c->resp == 2 ? n * 2 : n));
    /* the whole hash */
    if (count >= size) {
        hash_iter it;
        hash_iter_init(&it, h);
        while (hash_iter_next(&it, &f, &flen, &v, &vlen))
            reply_random_pair(c, withvalues, f, flen, v, vlen);
        hash_iter_release(&it);
        return;
    }
    if (hash_encoding_of(h) == HASH_ENC_LISTPACK) {
        size_t *off = hash_lp_offsets(h);
        for (size_t i = 0; i < n; i++) {
            size_t j = i + (size_t)(random_u64() % (size - i));
            size_t t = off[i];
            off[i] = off[j];
            off[j] = t;
            hash_lp_pair_at(h, off[i], fb, vb, &f, &flen, &v, &vlen);
            reply_random_pair(c, withvalues, f, flen, v, vlen);
        }
        zfree(off);
        return;
    }
    dict *d = hash_table(h);
    if (n * 3 > size) {
        /* a large share: shuffle the nodes' addresses */
        void **nodes = zmalloc(size * sizeof(void *));
        size_t k = 0;
        dict_iter it;
        dict_iter_init(&it, d);
        for (dnode *x = dict_iter_next(&it); x; x = dict_iter_next(&it)) nodes[k++] = x;
        dict_iter_release(&it);
        partial_shuffle(nodes, k, n);
        for (size_t i = 0; i < n; i++) {
            const dnode *x = nodes[i];
            v = hash_node_value(x, &vlen);
            reply_random_pair(c, withvalues, dnode_key(x), x->klen, v, vlen);
        }
        zfree(nodes);
        return;
    }
    /* a small share: random picks, skipping repeats */
    dict *picked = dict_create();
    size_t got = 0;
    while (got < n) {
        dnode *x = dict_random(d);
        if (dict_find(picked, &x, sizeof(x))) continue;
        dict_add(picked, &x, sizeof(x), NULL, 0);
        v = hash_node_value(x, &vlen);
        reply_random_pair(c, withvalues, dnode_key(x), x->klen, v, vlen);
        got++;
    }
    dict_free(picked);
}

static void hrandfield_command(client *c)
{
    if (c->argc >= 3) {
        long long l;
        if (!arg_to_ll(c, &c->argv[2], &l)) return;
        if (l < -LONG_MAX) {
            reply_errorf(c, "ERR value is out of range, value must between %ld and %ld", -LONG_MAX,
                         LONG_MAX);
            return;
        }
        int withvalues = 0;
        if (c->argc > 4 || (c->argc == 4 && !arg_is(c->argv[3].p, c->argv[3].len, "withvalues"))) {
            reply_syntax_error(c);
            return;
        }
        if (c->argc == 4) {
            withvalues = 1;
            if (l < -LONG_MAX / 2 || l > LONG_MAX / 2) {
                reply_error(c, "ERR value is out of range");
                return;
            }
        }
        hrandfield_with_count(c, l, withvalues);
        return;
    }
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_HASH, &e)) return;
    if (e == NULL) {
        reply_null(c);
        return;
    }
    char fb[HASH_NUMBUF], vb[HASH_NUMBUF];
    const char *f, *v;
    size_t flen, vlen;
    hash_random(entry_object(e), fb, vb, &f, &flen, &v, &vlen);
    reply_bulk(c, f, flen);
}

/* ---- HSCAN ------------------------------------------------------------------------- */


struct node_list {
    const dnode **items;
    size_t len, cap;
};

static void collect_node(void *priv, const dnode *n)
{
    struct node_list *l = priv;
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = zrealloc(l->items, l->cap * sizeof(*l->items));
    }
    l->items[l->len++] = n;
}

static void hscan_command(client *c)
{
    unsigned long cursor;
    if (!parse_scan_cursor(&c->argv[2], &cursor)) {
        reply_error(c, "ERR invalid cursor");
        return;
    }
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_HASH, &e)) return;
    if (e == NULL) {
        reply_empty_scan(c);
        return;
    }
    struct scan_options opt;
    if (!parse_scan_options(c, 3, 0, &opt)) return;
    const arg *pattern = opt.pattern;
    long long count = opt.count;
    void *h = entry_object(e);
    const char *f, *v;
    size_t flen, vlen;
    if (hash_encoding_of(h) == HASH_ENC_LISTPACK) {
        /* a listpack is returned whole, with cursor 0; the matches are
         * counted first so the reply needs no deferred length */
        long n = 0;
        hash_iter it;
        hash_iter_init(&it, h);
        while (hash_iter_next(&it, &f, &flen, &v, &vlen))
            if (!pattern || glob_match(pattern->p, pattern->len, f, flen, 0)) n += 2;
        hash_iter_release(&it);
        reply_array(c, 2);
        reply_bulk(c, "0", 1);
        reply_array(c, n);
        hash_iter_init(&it, h);
        while (hash_iter_next(&it, &f, &flen, &v, &vlen)) {
            if (pattern && !glob_match(pattern->p, pattern->len, f, flen, 0)) continue;
            reply_bulk(c, f, flen);
            reply_bulk(c, v, vlen);
        }
        hash_iter_release(&it);
        return;
    }
    dict *d = hash_table(h);
    struct node_list found = {NULL, 0, 0};
    long long budget = count * 10;
    do {
        cursor = dict_scan(d, cursor, collect_node, &found);
    } while (cursor && budget-- > 0 && (long long)found.len < count);
    size_t kept = 0;
    for (size_t i = 0; i < found.len; i++) {
        const dnode *x = found.items[i];
        if (pattern && !glob_match(pattern->p, pattern->len, dnode_key(x), x->klen, 0)) continue;
        found.items[kept++] = x;
    }
    char buf[32];
    reply_array(c, 2);
    reply_bulk(c, buf, ull2str(buf, sizeof(buf), cursor));
    reply_array(c, (long)kept * 2);
    for (size_t i = 0; i < kept; i++) {
        const dnode *x = found.items[i];
        v = hash_node_value(x, &vlen);
        reply_bulk(c, dnode_key(x), x->klen);
        reply_bulk(c, v, vlen);
    }
    zfree(found.items);
}

/* ---- the object type ------------------------------------------------------------- */

static const char *hash_encoding_name(const void *h)
{
    return hash_encoding_of(h) == HASH_ENC_LISTPACK ? "listpack" : "hashtable";
}

const struct object_type hash_type = {
    .name = "hash",
    .snap_code = 0x05,
    .encoding = hash_encoding_name,
    .free = hash_free,
    .free_effort = hash_free_effort,
    .dup = hash_dup,
    .mem_usage = hash_mem_usage,
    .digest = hash_digest,
    .save = hash_save,
    .load = hash_load,
};

/* ---- the table ------------------------------------------------------------------- */

#define WDF (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
#define ROF (CMD_READONLY | CMD_FAST)

struct command hash_commands[] = {
    {"hset", hset_command, -4, WDF, ACL_HASH, 1, 1, 1, "RW update", NULL, "hash", "Set the string value of a hash field", "2.0.0", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", NULL, 0, 0, 0, 0},
    {"hsetnx", hsetnx_command, 4, WDF, ACL_HASH, 1, 1, 1, "RW insert", NULL, "hash", "Set the value of a hash field, only if the field does not exist", "2.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"hget", hget_command, 3, ROF, ACL_HASH, 1, 1, 1, "RO access", NULL, "hash", "Get the value of a hash field", "2.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"hmget", hmget_command, -3, ROF, ACL_HASH, 1, 1, 1, "RO access", NULL, "hash", "Get the values of all the given hash fields", "2.0.0", "O(N) where N is the number of fields being requested.", NULL, 0, 0, 0, 0},
    {"hmset", hmset_command, -4, WDF, ACL_HASH, 1, 1, 1, "RW update", NULL, "hash", "Set multiple hash fields to multiple values", "2.0.0", "O(N) where N is the number of fields being set.", NULL, 0, 0, 0, 0},
    {"hdel", hdel_command, -3, CMD_WRITE | CMD_FAST, ACL_HASH, 1, 1, 1, "RW delete", NULL, "hash", "Delete one or more hash fields", "2.0.0", "O(N) where N is the number of fields to be removed.", NULL, 0, 0, 0, 0},
    {"hlen", hlen_command, 2, ROF, ACL_HASH, 1, 1, 1, "RO", NULL, "hash", "Get the number of fields in a hash", "2.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"hstrlen", hstrlen_command, 3, ROF, ACL_HASH, 1, 1, 1, "RO", NULL, "hash", "Get the length of the value of a hash field", "3.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"hexists", hexists_command, 3, ROF, ACL_HASH, 1, 1, 1, "RO", NULL, "hash", "Determine if a hash field exists", "2.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"hkeys", hkeys_command, 2, CMD_READONLY, ACL_HASH, 1, 1, 1, "RO access", "nondeterministic_output_order", "hash", "Get all the fields in a hash", "2.0.0", "O(N) where N is the size of the hash.", NULL, 0, 0, 0, 0},
    {"hvals", hvals_command, 2, CMD_READONLY, ACL_HASH, 1, 1, 1, "RO access", "nondeterministic_output_order", "hash", "Get all the values in a hash", "2.0.0", "O(N) where N is the size of the hash.", NULL, 0, 0, 0, 0},
    {"hgetall", hgetall_command, 2, CMD_READONLY, ACL_HASH, 1, 1, 1, "RO access", "nondeterministic_output_order", "hash", "Get all the fields and values in a hash", "2.0.0", "O(N) where N is the size of the hash.", NULL, 0, 0, 0, 0},
    {"hincrby", hincrby_command, 4, WDF, ACL_HASH, 1, 1, 1, "RW access update", NULL, "hash", "Increment the integer value of a hash field by the given number", "2.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"hincrbyfloat", hincrbyfloat_command, 4, WDF, ACL_HASH, 1, 1, 1, "RW access update", NULL, "hash", "Increment the float value of a hash field by the given amount", "2.6.0", "O(1)", NULL, 0, 0, 0, 0},
    {"hrandfield", hrandfield_command, -2, CMD_READONLY, ACL_HASH, 1, 1, 1, "RO access", "nondeterministic_output", "hash", "Get one or multiple random fields from a hash", "6.2.0", "O(N) where N is the number of fields returned", NULL, 0, 0, 0, 0},
    {"hscan", hscan_command, -3, CMD_READONLY, ACL_HASH, 1, 1, 1, "RO access", "nondeterministic_output", "hash", "Incrementally iterate hash fields and associated values", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
