/* t_string.c: the string commands: GET, SET and its options, the MGET/MSET
 * family, GETSET/GETDEL/GETEX, APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE,
 * the INCR/DECR family and INCRBYFLOAT, and the command table for all of
 * them (LCS's algorithm is in t_string_lcs.c).
 *
 * Replies, error texts and the order in which arguments are checked follow
 * Redis 7.0, because clients and tests observe which error comes first. So
 * does the value encoding (int / embstr / raw) that OBJECT ENCODING shows. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "notify.h"
#include "server.h"

/* ---- helpers ------------------------------------------------------------ */

int string_option_is(const arg *a, const char *word)
{
    size_t len = strnlen(a->p, a->len); /* Redis compares options as C strings */
    return arg_is(a->p, len, word);
}

static size_t string_len(const entry *e)
{
    char buf[24];
    size_t len;
    entry_string(e, buf, &len);
    return len;
}

/* Refuses a string that would grow beyond proto-max-bulk-len. */
static int check_string_length(client *c, unsigned long long size, unsigned long long append)
{
    unsigned long long max = (unsigned long long)server.proto_max_bulk_len;
    if (append > max || size > max - append) {
        reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return 0;
    }
    return 1;
}

/* Stores a string under `key`, where `e` is what lookup_write found there
 * (or NULL). Passing the lookup's result saves a second hash lookup on the
 * SET and MSET hot paths. KEEPTTL keeps the TTL even when the old value was
 * of another type. Returns the entry. */
static entry *store_string(client *c, entry *e, const arg *key, const char *val, size_t vlen,
                           int keep_ttl)
{
    db *d = c->db;
    if (e == NULL) return db_add_string(d, key->p, key->len, val, vlen);
    if (e->type != TYPE_STRING) {
        long long when = keep_ttl ? entry_expire(e) : -1;
        db_delete_entry(d, e);
        keyspace_overwriting = 1;
        e = db_add_string(d, key->p, key->len, val, vlen);
        keyspace_overwriting = 0;
        return when == -1 ? e : db_set_expire(d, e, when);
    }
    if (!keep_ttl && e->has_expire) e = db_remove_expire(d, e);
    return db_set_string_value(d, e, val, vlen);
}

/* Replies with the string at `key` or null, as GET does. Returns the entry
 * (NULL when missing); sets *wrongtype and replies WRONGTYPE otherwise. */
static entry *get_generic(client *c, const arg *key, int *wrongtype)
{
    entry *e = lookup_read(c, key);
    *wrongtype = 0;
    if (e == NULL) {
        reply_null(c);
        return NULL;
    }
    if (e->type != TYPE_STRING) {
        reply_wrongtype(c);
        *wrongtype = 1;
        return NULL;
    }
    reply_entry_string(c, e);
    return e;
}

/* ---- SET options and expire times ------------------------------------- */

#define SET_NX (1u << 0)
#define SET_XX (1u << 1)
#define SET_GET (1u << 2)
#define SET_KEEPTTL (1u << 3)
#define SET_PERSIST (1u << 4)
#define SET_EX (1u << 5)
#define SET_PX (1u << 6)
#define SET_EXAT (1u << 7)
#define SET_PXAT (1u << 8)
#define SET_ANY_EXPIRE (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

struct set_options {
    unsigned flags;
    const arg *expire; /* the EX/PX/EXAT/PXAT value, or NULL */
};

/* The expire option `a` names, or 0. */
static unsigned expire_option(const arg *a)
{
    if (string_option_is(a, "ex")) return SET_EX;
    if (string_option_is(a, "px")) return SET_PX;
    if (string_option_is(a, "exat")) return SET_EXAT;
    if (string_option_is(a, "pxat")) return SET_PXAT;
    return 0;
}

/* Parses SET's options (for_set) or GETEX's from argv[first]. An option is
 * refused when it conflicts with one seen before; repeating the same one is
 * allowed and the last expire value wins, as in Redis. */
static int parse_set_options(client *c, int first, int for_set, struct set_options *o)
{
    o->flags = 0;
    o->expire = NULL;
    for (int j = first; j < c->argc; j++) {
        const arg *a = &c->argv[j];
        int has_next = j + 1 < c->argc;
        unsigned f = o->flags, exp = expire_option(a);
        if (for_set && string_option_is(a, "nx") && !(f & SET_XX)) {
            o->flags |= SET_NX;
        } else if (for_set && string_option_is(a, "xx") && !(f & SET_NX)) {
            o->flags |= SET_XX;
        } else if (for_set && string_option_is(a, "get")) {
            o->flags |= SET_GET;
        } else if (for_set && string_option_is(a, "keepttl") && !(f & SET_ANY_EXPIRE)) {
            o->flags |= SET_KEEPTTL;
        } else if (!for_set && string_option_is(a, "persist") &&
                   !(f & (SET_ANY_EXPIRE | SET_KEEPTTL))) {
            o->flags |= SET_PERSIST;
        } else if (exp && has_next &&
                   !(f & (SET_KEEPTTL | SET_PERSIST | (SET_ANY_EXPIRE & ~exp)))) {
            o->flags |= exp;
            o->expire = &c->argv[++j];
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    return 1;
}

/* Turns the expire option into an absolute unix time in milliseconds. */
static int expire_to_ms(client *c, const struct set_options *o, long long *when)
{
    long long v;
    if (!arg_to_ll(c, o->expire, &v)) return 0;
    int seconds = (o->flags & (SET_EX | SET_EXAT)) != 0;
    int relative = (o->flags & (SET_EX | SET_PX)) != 0;
    int valid = v > 0 && !(seconds && v > LLONG_MAX / 1000);
    if (valid && seconds) v *= 1000;
    if (valid && relative) {
        valid = v <= LLONG_MAX - server.now_ms;
        if (valid) v += server.now_ms;
    }
    if (!valid) {
        reply_errorf(c, "ERR invalid expire time in '%s' command", c->cmd ? c->cmd->name : "set");
        return 0;
    }
    *when = v;
    return 1;
}

/* Replicas get a plain SET with an absolute expiry (PXAT), so that a TTL
 * means the same instant wherever and whenever the stream is applied. */
static void propagate_set(client *c, const arg *key, const arg *val, long long when_ms, int keep_ttl)
{
    char ms[24];
    arg argv[5] = {{"SET", 3}, *key, *val, {"PXAT", 4}, {ms, 0}};
    int argc = 3;
    if (when_ms >= 0) {
        argv[4].len = ll2str(ms, sizeof(ms), when_ms);
        argc = 5;
    } else if (keep_ttl) {
        argv[3] = (arg){"KEEPTTL", 7};
        argc = 4;
    }
    propagate_command(c, argc, argv);
}

static void propagate_key_command(client *c, const char *cmd, const arg *key, long long when_ms)
{
    char ms[24];
    arg argv[3] = {{cmd, strlen(cmd)}, *key, {ms, 0}};
    if (when_ms >= 0) argv[2].len = ll2str(ms, sizeof(ms), when_ms);
    propagate_command(c, when_ms >= 0 ? 3 : 2, argv);
}

/* What SET, SETNX, SETEX and PSETEX share. `nx_style` replies :1/:0 (SETNX)
 * instead of OK/null. */
static void set_generic(client *c, const struct set_options *o, const arg *key, const arg *val,
                        int nx_style)
{
    long long when = 0;
    if (o->expire && !expire_to_ms(c, o, &when)) return;
    if (o->flags & SET_GET) {
        int wrongtype;
        get_generic(c, key, &wrongtype);
        if (wrongtype) return;
    }
    entry *e = lookup_write(c, key);
    if (((o->flags & SET_NX) && e) || ((o->flags & SET_XX) && !e)) {
        if (o->flags & SET_GET) return; /* the old value was the reply */
        if (nx_style) reply_int(c, 0);
        else reply_null(c);
        return;
    }
    e = store_string(c, e, key, val->p, val->len, (o->flags & SET_KEEPTTL) != 0);
    /* A time already past still stores the key, as Redis 7.0 does; the
     * next access expires it. */
    if (o->expire) db_set_expire(c->db, e, when);
    key_modified(c->db, key);
    notify_key(c, NOTIFY_STRING, "set", key);
    if (o->expire) notify_key(c, NOTIFY_GENERIC, "expire", key);
    propagate_set(c, key, val, o->expire ? when : -1, (o->flags & SET_KEEPTTL) != 0);
    if (o->flags & SET_GET) return;
    if (nx_style) reply_int(c, 1);
    else reply_ok(c);
}

/* ---- GET and SET -------------------------------------------------------- */

static void get_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_STRING, &e)) return;
    if (e == NULL) {
        reply_null(c);
        return;
    }
    reply_entry_string(c, e);
}

static void set_command(client *c)
{
    const arg *key = &c->argv[1], *val = &c->argv[2];
    if (c->argc == 3) { /* the hot path: no options to parse */
        entry *e = lookup_write(c, key);
        store_string(c, e, key, val->p, val->len, 0);
        key_modified(c->db, key);
        notify_key(c, NOTIFY_STRING, "set", key);
        reply_ok(c);
        return;
    }
    struct set_options o;
    if (!parse_set_options(c, 3, 1, &o)) return;
    set_generic(c, &o, key, val, 0);
}

static void setnx_command(client *c)
{
    struct set_options o = {SET_NX, NULL};
    set_generic(c, &o, &c->argv[1], &c->argv[2], 1);
}

static void setex_command(client *c)
{
    struct set_options o = {SET_EX, &c->argv[2]};
    set_generic(c, &o, &c->argv[1], &c->argv[3], 0);
}

static void psetex_command(client *c)
{
    struct set_options o = {SET_PX, &c->argv[2]};
    set_generic(c, &o, &c->argv[1], &c->argv[3], 0);
}

static void getset_command(client *c)
{
    const arg *key = &c->argv[1], *val = &c->argv[2];
    int wrongtype;
    entry *e = get_generic(c, key, &wrongtype);
    if (wrongtype) return;
    store_string(c, e, key, val->p, val->len, 0);
    key_modified(c->db, key);
    notify_key(c, NOTIFY_STRING, "set", key);
}

static void getdel_command(client *c)
{
    int wrongtype;
    entry *e = get_generic(c, &c->argv[1], &wrongtype);
    if (e == NULL) return;
    db_delete_entry(c->db, e);
    key_modified(c->db, &c->argv[1]);
    notify_key(c, NOTIFY_GENERIC, "del", &c->argv[1]);
    propagate_key_command(c, "DEL", &c->argv[1], -1);
}

static void getex_command(client *c)
{
    const arg *key = &c->argv[1];
    struct set_options o;
    if (!parse_set_options(c, 2, 0, &o)) return;
    entry *e;
    if (!lookup_read_typed(c, key, TYPE_STRING, &e)) return;
    if (e == NULL) {
        reply_null(c);
        return;
    }
    long long when = 0;
    if (o.expire && !expire_to_ms(c, &o, &when)) return;
    reply_entry_string(c, e);
    if ((o.flags & (SET_EXAT | SET_PXAT)) && when <= server.now_ms) {
        db_delete_entry(c->db, e); /* an absolute time already past deletes */
        key_modified(c->db, key);
        notify_key(c, NOTIFY_GENERIC, "del", key);
        propagate_key_command(c, "DEL", key, -1);
    } else if (o.expire) {
        db_set_expire(c->db, e, when);
        key_modified(c->db, key);
        notify_key(c, NOTIFY_GENERIC, "expire", key);
        propagate_key_command(c, "PEXPIREAT", key, when);
    } else if ((o.flags & SET_PERSIST) && e->has_expire) {
        db_remove_expire(c->db, e);
        key_modified(c->db, key);
        notify_key(c, NOTIFY_GENERIC, "persist", key);
        propagate_key_command(c, "PERSIST", key, -1);
    }
}

/* ---- multiple keys ------------------------------------------------------ */

static void mget_command(client *c)
{
    reply_array(c, c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        entry *e = lookup_read(c, &c->argv[j]);
        if (e == NULL || e->type != TYPE_STRING) reply_null(c);
        else reply_entry_string(c, e);
    }
}

static void mset_pairs(client *c)
{
    for (int j = 1; j + 1 < c->argc; j += 2) {
        entry *e = lookup_write(c, &c->argv[j]);
        store_string(c, e, &c->argv[j], c->argv[j + 1].p, c->argv[j + 1].len, 0);
        key_modified(c->db, &c->argv[j]);
        notify_key(c, NOTIFY_STRING, "set", &c->argv[j]);
    }
}

static void mset_command(client *c)
{
    if (c->argc % 2 == 0) {
        reply_arity_error(c);
        return;
    }
    mset_pairs(c);
    reply_ok(c);
}

static void msetnx_command(client *c)
{
    if (c->argc % 2 == 0) {
        reply_arity_error(c);
        return;
    }
    for (int j = 1; j < c->argc; j += 2) {
        if (lookup_write(c, &c->argv[j])) {
            reply_int(c, 0);
            return;
        }
    }
    mset_pairs(c);
    reply_int(c, 1);
}

/* ---- lengths, ranges and in-place edits ------------------------------- */

static void strlen_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_STRING, &e)) return;
    reply_int(c, e ? (long long)string_len(e) : 0);
}

static void getrange_command(client *c)
{
    long long start, end;
    if (!arg_to_ll(c, &c->argv[2], &start) || !arg_to_ll(c, &c->argv[3], &end)) return;
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_STRING, &e)) return;
    if (e == NULL) {
        reply_bulk(c, "", 0);
        return;
    }
    char buf[24];
    size_t slen;
    const char *s = entry_string(e, buf, &slen);
    long long len = (long long)slen;
    /* both ends counted from the end and crossed: empty, whatever the length */
    if (start < 0 && end < 0 && start > end) {
        reply_bulk(c, "", 0);
        return;
    }
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= len) end = len - 1;
    if (len == 0 || start > end) reply_bulk(c, "", 0);
    else reply_bulk(c, s + start, (size_t)(end - start + 1));
}

static void append_command(client *c)
{
    const arg *key = &c->argv[1], *tail = &c->argv[2];
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_STRING, &e)) return;
    size_t total;
    if (e == NULL) {
        db_add_string(c->db, key->p, key->len, tail->p, tail->len);
        total = tail->len;
    } else {
        size_t cur = string_len(e);
        if (!check_string_length(c, cur, tail->len)) return;
        /* raw strings keep spare capacity, so repeated APPENDs are
         * amortised O(1) */
        e = db_make_raw(c->db, e, cur + tail->len);
        rawstr *r = entry_rawstr(e);
        memcpy(r->buf + r->len, tail->p, tail->len);
        r->len += tail->len;
        r->buf[r->len] = '\0';
        total = r->len;
    }
    key_modified(c->db, key);
    notify_key(c, NOTIFY_STRING, "append", key);
    reply_int(c, (long long)total);
}

static void setrange_command(client *c)
{
    const arg *key = &c->argv[1], *val = &c->argv[3];
    long long offset;
    if (!arg_to_ll(c, &c->argv[2], &offset)) return;
    if (offset < 0) {
        reply_error(c, "ERR offset is out of range");
        return;
    }
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_STRING, &e)) return;
    size_t olen = e ? string_len(e) : 0;
    if (val->len == 0) { /* nothing to write: nothing is created or changed */
        reply_int(c, (long long)olen);
        return;
    }
    if (!check_string_length(c, (unsigned long long)offset, val->len)) return;
    size_t end = (size_t)offset + val->len;
    if (e == NULL) e = db_add_string(c->db, key->p, key->len, "", 0);
    e = db_make_raw(c->db, e, end > olen ? end : olen);
    rawstr *r = entry_rawstr(e);
    if ((size_t)offset > r->len) memset(r->buf + r->len, 0, (size_t)offset - r->len);
    memcpy(r->buf + offset, val->p, val->len);
    if (end > r->len) {
        r->len = end;
        r->buf[end] = '\0';
    }
    key_modified(c->db, key);
    notify_key(c, NOTIFY_STRING, "setrange", key);
    reply_int(c, (long long)r->len);
}

/* ---- counters ------------------------------------------------------------ */

/* The value as an integer, if it is one in canonical form. */
static int entry_to_ll(const entry *e, long long *out)
{
    if (e->enc == ENC_INT) {
        *out = entry_int(e);
        return 1;
    }
    char buf[24];
    size_t len;
    const char *s = entry_string(e, buf, &len);
    return string2ll(s, len, out);
}

static void incr_decr(client *c, long long by)
{
    const arg *key = &c->argv[1];
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_STRING, &e)) return;
    long long cur = 0;
    if (e && !entry_to_ll(e, &cur)) {
        reply_not_integer(c);
        return;
    }
    if ((by < 0 && cur < 0 && by < LLONG_MIN - cur) ||
        (by > 0 && cur > 0 && by > LLONG_MAX - cur)) {
        reply_error(c, "ERR increment or decrement would overflow");
        return;
    }
    cur += by;
    if (e) db_set_int_value(c->db, e, cur); /* keeps the TTL */
    else db_add_int(c->db, key->p, key->len, cur);
    key_modified(c->db, key);
    notify_key(c, NOTIFY_STRING, "incrby", key);
    reply_int(c, cur);
}

static void incr_command(client *c) { incr_decr(c, 1); }
static void decr_command(client *c) { incr_decr(c, -1); }

static void incrby_command(client *c)
{
    long long by;
    if (!arg_to_ll(c, &c->argv[2], &by)) return;
    incr_decr(c, by);
}

static void decrby_command(client *c)
{
    long long by;
    if (!arg_to_ll(c, &c->argv[2], &by)) return;
    if (by == LLONG_MIN) { /* -by does not exist */
        reply_error(c, "ERR decrement would overflow");
        return;
    }
    incr_decr(c, -by);
}

/* Long enough for any finite long double in "%.17Lf" (about 4950 digits). */
#define LD_STR_MAX 5120

static void incrbyfloat_command(client *c)
{
    const arg *key = &c->argv[1];
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_STRING, &e)) return;
    long double cur = 0, by;
    if (e) {
        char buf[24];
        size_t len;
        const char *s = entry_string(e, buf, &len);
        if (!string2ld(s, len, &cur)) {
            reply_not_float(c);
            return;
        }
    }
    if (!string2ld(c->argv[2].p, c->argv[2].len, &by)) {
        reply_not_float(c);
        return;
    }
    cur += by;
    if (isnan(cur) || isinf(cur)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char out[LD_STR_MAX];
    size_t n = ld2str_human(out, sizeof(out), cur);
    if (e == NULL) e = db_add_string(c->db, key->p, key->len, "", 0);
    db_set_string_value_noint(c->db, e, out, n); /* keeps the TTL */
    key_modified(c->db, key);
    notify_key(c, NOTIFY_STRING, "incrbyfloat", key);
    /* the sum, not the increment: float arithmetic may differ elsewhere */
    arg value = {out, n};
    propagate_set(c, key, &value, -1, 1);
    reply_bulk(c, out, n);
}

/* ---- the table ---------------------------------------------------------- */

#define WDF (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
#define ROF (CMD_READONLY | CMD_FAST)

struct command string_commands[] = {
    {"get", get_command, 2, ROF, ACL_STRING, 1, 1, 1, "RO access", NULL, "string", "Get the value of a key", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"set", set_command, -3, CMD_WRITE | CMD_DENYOOM, ACL_STRING, 1, 1, 1, "RW access update variable_flags (RW and ACCESS due to the optional `GET` argument)", NULL, "string", "Set the string value of a key", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"setnx", setnx_command, 3, WDF, ACL_STRING, 1, 1, 1, "OW insert", NULL, "string", "Set the value of a key, only if the key does not exist", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"setex", setex_command, 4, CMD_WRITE | CMD_DENYOOM, ACL_STRING, 1, 1, 1, "OW update", NULL, "string", "Set the value and expiration of a key", "2.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"psetex", psetex_command, 4, CMD_WRITE | CMD_DENYOOM, ACL_STRING, 1, 1, 1, "OW update", NULL, "string", "Set the value and expiration in milliseconds of a key", "2.6.0", "O(1)", NULL, 0, 0, 0, 0},
    {"getset", getset_command, 3, WDF, ACL_STRING, 1, 1, 1, "RW access update", NULL, "string", "Set the string value of a key and return its old value", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"getdel", getdel_command, 2, CMD_WRITE | CMD_FAST, ACL_STRING, 1, 1, 1, "RW access delete", NULL, "string", "Get the value of a key and delete the key", "6.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"getex", getex_command, -2, CMD_WRITE | CMD_FAST, ACL_STRING, 1, 1, 1, "RW access update (RW and UPDATE because it changes the TTL)", NULL, "string", "Get the value of a key and optionally set its expiration", "6.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"mget", mget_command, -2, ROF, ACL_STRING, 1, -1, 1, "RO access", "request_policy:multi_shard", "string", "Get the values of all the given keys", "1.0.0", "O(N) where N is the number of keys to retrieve.", NULL, 0, 0, 0, 0},
    {"mset", mset_command, -3, CMD_WRITE | CMD_DENYOOM, ACL_STRING, 1, -1, 2, "OW update", "request_policy:multi_shard response_policy:all_succeeded", "string", "Set multiple keys to multiple values", "1.0.1", "O(N) where N is the number of keys to set.", NULL, 0, 0, 0, 0},
    {"msetnx", msetnx_command, -3, CMD_WRITE | CMD_DENYOOM, ACL_STRING, 1, -1, 2, "OW insert", "request_policy:multi_shard response_policy:agg_min", "string", "Set multiple keys to multiple values, only if none of the keys exist", "1.0.1", "O(N) where N is the number of keys to set.", NULL, 0, 0, 0, 0},
    {"append", append_command, 3, WDF, ACL_STRING, 1, 1, 1, "RW insert", NULL, "string", "Append a value to a key", "2.0.0", "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.", NULL, 0, 0, 0, 0},
    {"strlen", strlen_command, 2, ROF, ACL_STRING, 1, 1, 1, "RO", NULL, "string", "Get the length of the value stored in a key", "2.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"getrange", getrange_command, 4, CMD_READONLY, ACL_STRING, 1, 1, 1, "RO access", NULL, "string", "Get a substring of the string stored at a key", "2.4.0", "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", NULL, 0, 0, 0, 0},
    {"substr", getrange_command, 4, CMD_READONLY, ACL_STRING, 1, 1, 1, "RO access", NULL, "string", "Get a substring of the string stored at a key", "1.0.0", "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", NULL, 0, 0, 0, 0},
    {"setrange", setrange_command, 4, CMD_WRITE | CMD_DENYOOM, ACL_STRING, 1, 1, 1, "RW update", NULL, "string", "Overwrite part of a string at key starting at the specified offset", "2.2.0", "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.", NULL, 0, 0, 0, 0},
    {"incr", incr_command, 2, WDF, ACL_STRING, 1, 1, 1, "RW access update", NULL, "string", "Increment the integer value of a key by one", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"decr", decr_command, 2, WDF, ACL_STRING, 1, 1, 1, "RW access update", NULL, "string", "Decrement the integer value of a key by one", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"incrby", incrby_command, 3, WDF, ACL_STRING, 1, 1, 1, "RW access update", NULL, "string", "Increment the integer value of a key by the given amount", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"decrby", decrby_command, 3, WDF, ACL_STRING, 1, 1, 1, "RW access update", NULL, "string", "Decrement the integer value of a key by the given number", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"incrbyfloat", incrbyfloat_command, 3, WDF, ACL_STRING, 1, 1, 1, "RW access update", NULL, "string", "Increment the float value of a key by the given amount", "2.6.0", "O(1)", NULL, 0, 0, 0, 0},
    {"lcs", lcs_command, -3, CMD_READONLY, ACL_STRING, 1, 2, 1, "RO access", NULL, "string", "Find longest common substring", "7.0.0", "O(N*M) where N and M are the lengths of s1 and s2, respectively", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
