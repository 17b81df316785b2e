/* cmd_keys.c: the generic keyspace commands: DEL UNLINK EXISTS TYPE TOUCH,
 * RENAME RENAMENX COPY MOVE, KEYS SCAN RANDOMKEY DBSIZE, FLUSHDB FLUSHALL
 * (and the step-by-step freeing of flushed databases), OBJECT and MEMORY.
 * The TTL commands and active expiry live in expire.c. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "object.h"
#include "notify.h"
#include "server.h"
#include "tracking.h"

extern uint32_t keyspace_new_lru; /* keyspace.c: the lru of a fresh value */

#define RANDOMKEY_MAX_TRIES 100 /* expired keys met (and deleted) per call */
#define LAZYFREE_MIN_KEYS 64    /* smaller databases are freed at once */
#define LAZYFREE_CRON_PERC 10   /* share of the cron period a step may use */


/* ---- shared helpers ---------------------------------------------------- */

static entry *counted_lookup(client *c, const arg *key, int notify_miss)
{
    entry *e = lookup_quiet(c, c->db, key);
    if (e) {
        server.stat_keyspace_hits++;
    } else {
        server.stat_keyspace_misses++;
        if (notify_miss) notify_key(c, NOTIFY_KEY_MISS, "keymiss", key);
    }
    return e;
}

entry *lookup_read_notouch(client *c, const arg *key) { return counted_lookup(c, key, 1); }

/* OBJECT's lookup: counted, but no keymiss event (as in Redis). */
static entry *lookup_for_object(client *c, const arg *key) { return counted_lookup(c, key, 0); }

const char *entry_type_name(const entry *e)
{
    if (e->type == TYPE_STRING) return "string";
    const struct object_type *type = object_type((enum value_type)e->type);
    return type ? type->name : "unknown";
}

static int arg_eq(const arg *a, const arg *b)
{
    return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

static int policy_is_lfu(void)
{
    return server.maxmemory_policy == MAXMEMORY_ALLKEYS_LFU ||
           server.maxmemory_policy == MAXMEMORY_VOLATILE_LFU;
}

static int entry_is_expired(const entry *e)
{
    return e->has_expire && entry_expire(e) <= server.now_ms;
}

/* Deletes a key whose TTL has passed through lazy expiry, which also
 * propagates the DEL (and leaves the key alone on a replica). */
static void delete_expired(db *d, entry *e) { (void)expire_if_needed(d, e); }

/* Parses a database index the way Redis parses an int argument. */
static int parse_db_index(client *c, const arg *a, int *out)
{
    long long v;
    if (!string2ll(a->p, a->len, &v)) {
        reply_not_integer(c);
        return 0;
    }
    if (v < INT_MIN || v > INT_MAX) {
        reply_error(c, "ERR value is out of range, value must between -2147483648 and 2147483647");
        return 0;
    }
    *out = (int)v;
    return 1;
}

static db *db_by_index(int id)
{
    return id >= 0 && id < server.databases ? server.dbs[id] : NULL;
}

/* ---- DEL UNLINK EXISTS TYPE TOUCH ------------------------------------------ */

/* UNLINK is DEL: string values free in O(1), and a collection type that
 * wants deferred freeing can do so in its own destructor. */
static void del_command(client *c)
{
    long long deleted = 0;
    for (int j = 1; j < c->argc; j++) {
        entry *e = lookup_quiet(c, c->db, &c->argv[j]);
        if (e == NULL) continue;
        db_delete_entry(c->db, e);
        key_modified(c->db, &c->argv[j]);
        notify_key(c, NOTIFY_GENERIC, "del", &c->argv[j]);
        deleted++;
    }
    reply_int(c, deleted);
}

static void exists_command(client *c)
{
    long long count = 0;
    for (int j = 1; j < c->argc; j++)
        if (lookup_read_notouch(c, &c->argv[j])) count++;
    reply_int(c, count);
}

static void type_command(client *c)
{
    entry *e = lookup_read_notouch(c, &c->argv[1]);
    reply_status(c, e ? entry_type_name(e) : "none");
}

static void touch_command(client *c)
{
    long long touched = 0;
    for (int j = 1; j < c->argc; j++)
        if (lookup_read(c, &c->argv[j])) touched++;
    reply_int(c, touched);
}

/* ---- RENAME RENAMENX COPY MOVE ---------------------------------------------- */

/* Gives the value of `e` (linked in `d`) the key `newkey`, which must be free
 * in `d`, keeping TTL and LRU data; `e` is freed. The value is not copied:
 * only the entry, which holds the key, is made anew. */
static entry *rekey_entry(db *d, entry *e, const arg *newkey)
{
    db_unlink_entry(d, e);
    entry *n = entry_rename(e, newkey->p, newkey->len);
    db_link_entry(d, n);
    notify_keyspace_event(NOTIFY_NEW, "new", newkey->p, newkey->len, d->id);
    return n;
}

static void rename_generic(client *c, int nx)
{
    const arg *src = &c->argv[1], *dst = &c->argv[2];
    entry *e = lookup_write(c, src);
    if (e == NULL) {
        reply_error(c, "ERR no such key");
        return;
    }
    if (arg_eq(src, dst)) {
        if (nx) reply_int(c, 0);
        else reply_ok(c);
        return;
    }
    entry *old = lookup_write(c, dst);
    if (old) {
        if (nx) {
            reply_int(c, 0);
            return;
        }
        db_delete_entry(c->db, old);
    }
    rekey_entry(c->db, e, dst);
    key_modified(c->db, src);
    key_modified(c->db, dst);
    notify_key(c, NOTIFY_GENERIC, "rename_from", src);
    notify_key(c, NOTIFY_GENERIC, "rename_to", dst);
    if (nx) reply_int(c, 1);
    else reply_ok(c);
}

static void rename_command(client *c) { rename_generic(c, 0); }
static void renamenx_command(client *c) { rename_generic(c, 1); }

static int can_copy(const entry *e)
{
    if (e->enc != ENC_OBJECT) return 1;
    const struct object_type *type = object_type((enum value_type)e->type);
    return type && type->dup;
}

/* Adds an independent copy of `e` under `key` in `to`, with e's TTL and a
 * fresh LRU, as a new value gets. */
static void copy_entry(const entry *e, db *to, const arg *key)
{
    entry *n;
    if (e->enc == ENC_OBJECT) {
        void *obj = object_type((enum value_type)e->type)->dup(entry_object(e));
        n = db_add_object(to, key->p, key->len, (enum value_type)e->type, obj);
        if (e->has_expire) n = db_set_expire(to, n, entry_expire(e));
    } else {
        n = entry_dup(e, key->p, key->len);
        db_link_entry(to, n);
        notify_keyspace_event(NOTIFY_NEW, "new", key->p, key->len, to->id);
    }
    n->lru = keyspace_new_lru;
}

/* COPY source destination [DB destination-db] [REPLACE] */
static void copy_command(client *c)
{
    int dbid = c->dbid, replace = 0;
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c->argv[j].p, c->argv[j].len, "replace")) {
            replace = 1;
        } else if (arg_is(c->argv[j].p, c->argv[j].len, "db") && j + 1 < c->argc) {
            if (!parse_db_index(c, &c->argv[j + 1], &dbid)) return;
            j++;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (server.cluster_enabled && dbid != c->dbid) {
        reply_error(c, "ERR Copying to another database is not allowed in cluster mode");
        return;
    }
    db *src = c->db, *dst = db_by_index(dbid);
    if (dst == NULL) {
        reply_error(c, "ERR DB index is out of range");
        return;
    }
    const arg *key = &c->argv[1], *newkey = &c->argv[2];
    if (src == dst && arg_eq(key, newkey)) {
        reply_error(c, "ERR source and destination objects are the same");
        return;
    }
    entry *e = lookup_read(c, key);
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    if (!can_copy(e)) {
        reply_error(c, "ERR COPY is not supported for this value type");
        return;
    }
    entry *old = lookup_quiet(c, dst, newkey);
    if (old) {
        if (!replace) {
            reply_int(c, 0);
            return;
        }
        db_delete_entry(dst, old);
    }
    copy_entry(e, dst, newkey);
    key_modified(dst, newkey);
    notify_keyspace_event(NOTIFY_GENERIC, "copy_to", newkey->p, newkey->len, dst->id);
    reply_int(c, 1);
}

/* MOVE key db: the entry itself changes tables, TTL and all. */
static void move_command(client *c)
{
    if (server.cluster_enabled) {
        reply_error(c, "ERR MOVE is not allowed in cluster mode");
        return;
    }
    int dbid;
    if (!parse_db_index(c, &c->argv[2], &dbid)) return;
    db *src = c->db, *dst = db_by_index(dbid);
    if (dst == NULL) {
        reply_error(c, "ERR DB index is out of range");
        return;
    }
    if (src == dst) {
        reply_error(c, "ERR source and destination objects are the same");
        return;
    }
    const arg *key = &c->argv[1];
    entry *e = lookup_write(c, key);
    if (e == NULL || lookup_quiet(c, dst, key) != NULL) {
        reply_int(c, 0);
        return;
    }
    db_unlink_entry(src, e);
    db_link_entry(dst, e);
    notify_keyspace_event(NOTIFY_NEW, "new", key->p, key->len, dst->id);
    key_modified(src, key);
    key_modified(dst, key);
    notify_keyspace_event(NOTIFY_GENERIC, "move_from", key->p, key->len, src->id);
    notify_keyspace_event(NOTIFY_GENERIC, "move_to", key->p, key->len, dst->id);
    reply_int(c, 1);
}

/* ---- KEYS SCAN RANDOMKEY DBSIZE --------------------------------------------- */

static int pattern_is_all(const arg *pat) { return pat->len == 1 && pat->p[0] == '*'; }

struct keys_walk {
    client *c;
    const arg *pattern;
    int all;
    long count;
};

static void keys_visit(void *priv, entry *e)
{
    struct keys_walk *w = priv;
    if (entry_is_expired(e)) return; /* KEYS reports, it does not delete */
    if (!w->all && !glob_match(w->pattern->p, w->pattern->len, entry_key(e), e->keylen, 0)) return;
    reply_bulk(w->c, entry_key(e), e->keylen);
    w->count++;
}

/* KEYS walks the whole table in one go, as Redis does; nothing changes the
 * table between db_scan calls, so each key is reported exactly once. */
static void keys_command(client *c)
{
    struct keys_walk w = {c, &c->argv[1], pattern_is_all(&c->argv[1]), 0};
    void *len = reply_deferred(c);
    unsigned long cursor = 0;
    do {
        cursor = db_scan(c->db, cursor, keys_visit, &w);
    } while (cursor);
    reply_set_deferred_array(c, len, w.count);
}

/* Parses a SCAN cursor with the leniency of strtoul, which Redis uses: an
 * optional sign (negative values wrap), decimal digits, the empty string is
 * 0; leading spaces, junk and overflow are invalid. */
int parse_scan_cursor(const arg *a, unsigned long *out)
{
    size_t i = 0;
    int neg = 0;
    if (a->len == 0) {
        *out = 0;
        return 1;
    }
    if (a->p[0] == '+' || a->p[0] == '-') {
        neg = a->p[0] == '-';
        i++;
    }
    if (i == a->len) return 0;
    unsigned long v = 0;
    for (; i < a->len; i++) {
        if (a->p[i] < '0' || a->p[i] > '9') return 0;
        unsigned d = (unsigned)(a->p[i] - '0');
        if (v > (ULONG_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = neg ? 0UL - v : v;
    return 1;
}

/* A growable array of entry pointers for one SCAN call. */
struct entry_list {
    entry **items;
    size_t len, cap;
};

static void entry_list_push(struct entry_list *l, entry *e)
{
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = zrealloc(l->items, l->cap * sizeof(entry *));
    }
    l->items[l->len++] = e;
}

struct scan_walk {
    struct scan_options opt;
    struct entry_list found, expired;
};

/* Only collects: the table must not change while db_scan walks a bucket. */
static void scan_visit(void *priv, entry *e)
{
    struct scan_walk *w = priv;
    if (entry_is_expired(e)) {
        entry_list_push(&w->expired, e);
        return;
    }
    const arg *pattern = w->opt.pattern, *type = w->opt.type;
    if (pattern && !glob_match(pattern->p, pattern->len, entry_key(e), e->keylen, 0)) return;
    if (type && !arg_is(type->p, type->len, entry_type_name(e))) return;
    entry_list_push(&w->found, e);
}

int parse_scan_options(client *c, int first, int allow_type, struct scan_options *o)
{
    o->pattern = o->type = NULL;
    o->count = 10;
    for (int i = first; i < c->argc; i += 2) {
        const arg *opt = &c->argv[i];
        if (i + 1 >= c->argc) {
            reply_syntax_error(c);
            return 0;
        }
        if (arg_is(opt->p, opt->len, "count")) {
            if (!arg_to_ll(c, &c->argv[i + 1], &o->count)) return 0;
            if (o->count < 1) {
                reply_syntax_error(c);
                return 0;
            }
        } else if (arg_is(opt->p, opt->len, "match")) {
            o->pattern = pattern_is_all(&c->argv[i + 1]) ? NULL : &c->argv[i + 1];
        } else if (allow_type && arg_is(opt->p, opt->len, "type")) {
            o->type = &c->argv[i + 1];
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    /* a walk visits at most ten times COUNT buckets: keep that finite */
    if (o->count > LLONG_MAX / 10) o->count = LLONG_MAX / 10;
    return 1;
}

void reply_empty_scan(client *c)
{
    reply_array(c, 2);
    reply_bulk(c, "0", 1);
    reply_array(c, 0);
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
static void scan_command(client *c)
{
    unsigned long cursor;
    if (!parse_scan_cursor(&c->argv[1], &cursor)) {
        reply_error(c, "ERR invalid cursor");
        return;
    }
    struct scan_walk w;
    memset(&w, 0, sizeof(w));
    if (!parse_scan_options(c, 2, 1, &w.opt)) return;
    long long count = w.opt.count;
    /* visit about COUNT buckets, more when MATCH/TYPE filter keys out, but
     * never more than ten times COUNT, so a sparse match cannot stall us */
    long long budget = count * 10;
    do {
        cursor = db_scan(c->db, cursor, scan_visit, &w);
    } while (cursor && budget-- > 0 && (long long)w.found.len < count);

    char buf[32];
    reply_array(c, 2);
    reply_bulk(c, buf, ull2str(buf, sizeof(buf), cursor));
    reply_array(c, (long)w.found.len);
    for (size_t i = 0; i < w.found.len; i++)
        reply_bulk(c, entry_key(w.found.items[i]), w.found.items[i]->keylen);
    for (size_t i = 0; i < w.expired.len; i++) delete_expired(c->db, w.expired.items[i]);
    zfree(w.found.items);
    zfree(w.expired.items);
}

/* Expired keys met on the way are deleted, so repeated calls make progress
 * even when most sampled keys are stale; the number of tries is bounded. */
static void randomkey_command(client *c)
{
    for (int tries = 0; tries < RANDOMKEY_MAX_TRIES; tries++) {
        entry *e = db_random_entry(c->db);
        if (e == NULL) break;
        if (entry_is_expired(e)) {
            delete_expired(c->db, e);
            continue;
        }
        reply_bulk(c, entry_key(e), e->keylen);
        return;
    }
    reply_null(c);
}

static void dbsize_command(client *c) { reply_int(c, (long long)db_size(c->db)); }

/* ---- FLUSHDB FLUSHALL and the lazy freeing of flushed tables --------------------- */

/* A flushed database's old tables, which the cron frees a bucket at a time:
 * FLUSHALL ASYNC of millions of keys replies at once and never blocks the
 * event loop for more than a step. */
struct lazy_db {
    db *old; /* detached: db_free_step frees it */
    int slots_only; /* dropped slots gathered by lazyfree_slot */
    int started;    /* db_free_step has begun on it */
    struct lazy_db *next;
};

static struct lazy_db *lazy_head, *lazy_tail;
static size_t lazy_pending; /* keys not freed yet */

size_t lazyfree_pending_objects(void) { return lazy_pending; }

static void queue_job(struct lazy_db *job)
{
    lazy_pending += db_size(job->old);
    if (lazy_tail) lazy_tail->next = job;
    else lazy_head = job;
    lazy_tail = job;
}

/* Moves d's contents to the lazy-free queue and leaves d empty, in the
 * state db_create gives (the struct stays: clients point at it). */
static void detach_db(db *d)
{
    struct lazy_db *job = zcalloc(sizeof(*job));
    job->old = db_detach(d);
    queue_job(job);
}

size_t lazyfree_slot(db *d, unsigned slot)
{
    if (db_slot_size(d, slot) == 0) return 0;
    /* the slots a topology change drops share one job, filled before the
     * cron frees any of it (it frees slots in order) */
    struct lazy_db *job = lazy_tail;
    if (job == NULL || !job->slots_only || job->started || db_slot_size(job->old, slot) > 0) {
        job = zcalloc(sizeof(*job));
        job->old = db_create(d->id, 1);
        job->slots_only = 1;
        queue_job(job);
    }
    size_t moved = db_move_slot_out(d, slot, job->old);
    lazy_pending += moved;
    return moved;
}

/* Frees keys of the job until done or out of time; returns 1 when the
 * job is finished. */
static int lazyfree_job_step(struct lazy_db *job, long long deadline_us)
{
    size_t freed = 0;
    job->started = 1;
    int done = db_free_step(job->old, deadline_us, &freed);
    lazy_pending -= freed;
    return done;
}

void lazyfree_step(long long budget_us)
{
    if (lazy_head == NULL) return;
    int hz = server.hz > 0 ? server.hz : 10;
    long long deadline;
    if (budget_us < 0) deadline = LLONG_MAX; /* everything, now (exit) */
    else if (budget_us == 0) deadline = monotonic_us() + 1000000LL / hz * LAZYFREE_CRON_PERC / 100;
    else deadline = monotonic_us() + budget_us;
    while (lazy_head) {
        if (!lazyfree_job_step(lazy_head, deadline)) return;
        struct lazy_db *done = lazy_head;
        lazy_head = done->next;
        if (lazy_head == NULL) lazy_tail = NULL;
        zfree(done);
    }
}

static void flush_db(db *d, int async)
{
    if (async && db_size(d) >= LAZYFREE_MIN_KEYS) detach_db(d);
    else db_empty(d);
}

/* [ASYNC|SYNC]; the default is SYNC, as with lazyfree-lazy-user-flush no. */
static int parse_flush_mode(client *c, int *async)
{
    *async = 0;
    if (c->argc > 2) {
        reply_syntax_error(c);
        return 0;
    }
    if (c->argc == 2) {
        if (arg_is(c->argv[1].p, c->argv[1].len, "async")) {
            *async = 1;
        } else if (!arg_is(c->argv[1].p, c->argv[1].len, "sync")) {
            reply_syntax_error(c);
            return 0;
        }
    }
    return 1;
}

/* A flush is always propagated, as in Redis, even of an empty keyspace. */
static void flushdb_command(client *c)
{
    int async;
    if (!parse_flush_mode(c, &async)) return;
    watch_touch_db(c->db);
    flush_db(c->db, async);
    tracking_invalidate_all();
    server.dirty++;
    reply_ok(c);
}

static void flushall_command(client *c)
{
    int async;
    if (!parse_flush_mode(c, &async)) return;
    for (int i = 0; i < server.databases; i++) {
        watch_touch_db(server.dbs[i]);
        flush_db(server.dbs[i], async);
    }
    tracking_invalidate_all();
    server.dirty++;
    reply_ok(c);
}

/* ---- container commands ---------------------------------------------------------- */

/* OBJECT and MEMORY are containers: commands.c runs the subcommand that
 * argv[1] names ("object|encoding" ...) with its own arity check, so the
 * container's own proc is never reached with a known subcommand. */
static void container_command(client *c)
{
    int len = c->argv[1].len > 128 ? 128 : (int)c->argv[1].len;
    reply_errorf(c, "ERR unknown subcommand '%.*s'.", len, c->argv[1].p);
}

/* ---- OBJECT -------------------------------------------------------------------------- */

static const char *encoding_name(const entry *e)
{
    switch (e->enc) {
    case ENC_INT: return "int";
    case ENC_EMBSTR: return "embstr";
    case ENC_RAW: return "raw";
    default: break;
    }
    const struct object_type *type = object_type((enum value_type)e->type);
    return type && type->encoding ? type->encoding(entry_object(e)) : "unknown";
}

/* Redis shares the integers 0..9999 unless an LRU/LFU policy needs per-key
 * access data; a shared object reports INT_MAX references. */
static int is_shared_integer(const entry *e)
{
    if (e->enc != ENC_INT) return 0;
    long long v = entry_int(e);
    if (v < 0 || v >= 10000) return 0;
    int lru_or_lfu = server.maxmemory_policy == MAXMEMORY_ALLKEYS_LRU ||
                     server.maxmemory_policy == MAXMEMORY_VOLATILE_LRU || policy_is_lfu();
    return server.maxmemory == 0 || !lru_or_lfu;
}

static void object_encoding_command(client *c)
{
    entry *e = lookup_for_object(c, &c->argv[2]);
    if (e == NULL) reply_null(c);
    else reply_bulk_cstr(c, encoding_name(e));
}

static void object_refcount_command(client *c)
{
    entry *e = lookup_for_object(c, &c->argv[2]);
    if (e == NULL) reply_null(c);
    else reply_int(c, is_shared_integer(e) ? INT_MAX : 1);
}

static void object_freq_command(client *c)
{
    entry *e = lookup_for_object(c, &c->argv[2]);
    if (e == NULL) {
        reply_null(c);
    } else if (!policy_is_lfu()) {
        reply_error(c, "ERR An LFU maxmemory policy is not selected, access frequency not "
                       "tracked. Please note that when switching between policies at runtime "
                       "LRU and LFU data will take some time to adjust.");
    } else {
        reply_int(c, lfu_counter(e));
    }
}

static void object_idletime_command(client *c)
{
    entry *e = lookup_for_object(c, &c->argv[2]);
    if (e == NULL) {
        reply_null(c);
    } else if (policy_is_lfu()) {
        reply_error(c, "ERR An LFU maxmemory policy is selected, idle time not tracked. Please "
                       "note that when switching between policies at runtime LRU and LFU data "
                       "will take some time to adjust.");
    } else {
        reply_int(c, (long long)(entry_idle_ms(e) / 1000));
    }
}

static void object_help_command(client *c)
{
    static const char *help[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

static struct command object_subcommands[] = {
    {"object|encoding", object_encoding_command, 3, CMD_READONLY, ACL_KEYSPACE, 2, 2, 1, "RO", "nondeterministic_output", "generic", "Inspect the internal encoding of a Redis object", "2.2.3", "O(1)", NULL, 0, 0, 0, 0},
    {"object|freq", object_freq_command, 3, CMD_READONLY, ACL_KEYSPACE, 2, 2, 1, "RO", "nondeterministic_output", "generic", "Get the logarithmic access frequency counter of a Redis object", "4.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"object|help", object_help_command, 2, CMD_LOADING | CMD_STALE, ACL_KEYSPACE, 0, 0, 0, NULL, NULL, "generic", "Show helpful text about the different subcommands", "6.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"object|idletime", object_idletime_command, 3, CMD_READONLY, ACL_KEYSPACE, 2, 2, 1, "RO", "nondeterministic_output", "generic", "Get the time since a Redis object was last accessed", "2.2.3", "O(1)", NULL, 0, 0, 0, 0},
    {"object|refcount", object_refcount_command, 3, CMD_READONLY, ACL_KEYSPACE, 2, 2, 1, "RO", "nondeterministic_output", "generic", "Get the number of references to the value of the key", "2.2.3", "O(1)", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};

/* ---- MEMORY ------------------------------------------------------------------------ */

/* The entry (key, value, TTL in one allocation), an out-of-line string or
 * collection, and the key's share of the bucket array and volatile set. */
static size_t entry_memory_usage(const entry *e, long long samples)
{
    size_t n = entry_alloc_size(e) + sizeof(entry *);
    if (e->has_expire) n += sizeof(entry *);
    if (e->enc == ENC_OBJECT) {
        const struct object_type *type = object_type((enum value_type)e->type);
        if (type && type->mem_usage) n += type->mem_usage(entry_object(e), samples);
    }
    return n;
}

/* MEMORY USAGE key [SAMPLES count] */
static void memory_usage_command(client *c)
{
    long long samples = 5;
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c->argv[j].p, c->argv[j].len, "samples") && j + 1 < c->argc) {
            if (!arg_to_ll(c, &c->argv[j + 1], &samples)) return;
            if (samples < 0) {
                reply_syntax_error(c);
                return;
            }
            if (samples == 0) samples = LLONG_MAX;
            j++;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    /* like Redis, a plain lookup: no expiry, no statistics */
    entry *e = db_find(c->db, c->argv[2].p, c->argv[2].len);
    if (e == NULL) reply_null(c);
    else reply_int(c, (long long)entry_memory_usage(e, samples));
}

static void reply_stat_double(client *c, const char *name, double v)
{
    reply_bulk_cstr(c, name);
    reply_double(c, v);
}

static void reply_stat_int(client *c, const char *name, long long v)
{
    reply_bulk_cstr(c, name);
    reply_int(c, v);
}

/* Bytes the keyspace structures take beyond the entries themselves. */
static size_t db_overhead_main(db *d) { return db_buckets(d) * sizeof(entry *); }
static size_t db_overhead_expires(db *d) { return d->vol_cap * sizeof(entry *); }

/* MEMORY STATS: Redis's field names; the figures are what this engine
 * knows (no replication backlog, scripts or AOF here, so those are 0). */
static void memory_stats_command(client *c)
{
    size_t used = zmalloc_used(), rss = zmalloc_rss();
    size_t clients_normal = 0, overhead = 0, keys = 0;
    for (client *cl = server.clients; cl; cl = cl->next)
        clients_normal += client_output_bytes(cl) + cl->qb_cap + PROTO_REPLY_CHUNK;
    int nonempty = 0;
    for (int i = 0; i < server.databases; i++) {
        db *d = server.dbs[i];
        keys += db_size(d);
        overhead += db_overhead_main(d) + db_overhead_expires(d);
        if (db_size(d)) nonempty++;
    }
    overhead += clients_normal;
    size_t dataset = used > overhead ? used - overhead : 0;
    long long peak = server.stat_peak_memory > (long long)used ? server.stat_peak_memory : (long long)used;

    reply_map(c, 25 + nonempty);
    reply_stat_int(c, "peak.allocated", peak);
    reply_stat_int(c, "total.allocated", (long long)used);
    reply_stat_int(c, "startup.allocated", 0);
    reply_stat_int(c, "replication.backlog", 0);
    reply_stat_int(c, "clients.slaves", 0);
    reply_stat_int(c, "clients.normal", (long long)clients_normal);
    reply_stat_int(c, "cluster.links", 0);
    reply_stat_int(c, "aof.buffer", 0);
    reply_stat_int(c, "lua.caches", 0);
    reply_stat_int(c, "functions.caches", 0);
    for (int i = 0; i < server.databases; i++) {
        db *d = server.dbs[i];
        if (db_size(d) == 0) continue;
        char name[16];
        snprintf(name, sizeof(name), "db.%d", i);
        reply_bulk_cstr(c, name);
        reply_map(c, 3);
        reply_stat_int(c, "overhead.hashtable.main", (long long)db_overhead_main(d));
        reply_stat_int(c, "overhead.hashtable.expires", (long long)db_overhead_expires(d));
        reply_stat_int(c, "overhead.hashtable.slot-to-keys", 0);
    }
    reply_stat_int(c, "overhead.total", (long long)overhead);
    reply_stat_int(c, "keys.count", (long long)keys);
    reply_stat_int(c, "keys.bytes-per-key", keys ? (long long)(used / keys) : 0);
    reply_stat_int(c, "dataset.bytes", (long long)dataset);
    reply_stat_double(c, "dataset.percentage", used ? 100.0 * (double)dataset / (double)used : 0);
    reply_stat_double(c, "peak.percentage", peak ? 100.0 * (double)used / (double)peak : 0);
    reply_stat_int(c, "allocator.allocated", (long long)used);
    reply_stat_int(c, "allocator.active", (long long)used);
    reply_stat_int(c, "allocator.resident", (long long)rss);
    reply_stat_double(c, "allocator-fragmentation.ratio", 1.0);
    reply_stat_int(c, "allocator-fragmentation.bytes", 0);
    reply_stat_double(c, "allocator-rss.ratio", used ? (double)rss / (double)used : 0);
    reply_stat_int(c, "allocator-rss.bytes", (long long)rss - (long long)used);
    reply_stat_double(c, "rss-overhead.ratio", 1.0);
    reply_stat_int(c, "rss-overhead.bytes", 0);
    reply_stat_double(c, "fragmentation", used ? (double)rss / (double)used : 0);
    reply_stat_int(c, "fragmentation.bytes", (long long)rss - (long long)used);
}

static void memory_doctor_command(client *c)
{
    const char *report =
        zmalloc_used() < 5 * 1024 * 1024
            ? "Hi Sam, this instance is empty or is using very little memory, my issues "
              "detector can't be used in these conditions. Please, leave for your mission on "
              "Earth and fill it with some data. The new Sam and I will be back to our "
              "programming as soon as I finished rebooting.\n"
            : "Hi Sam, I can't find any memory issue in your instance. I can only account for "
              "what occurs on this base.\n";
    reply_verbatim(c, report, strlen(report), "txt");
}

static void memory_malloc_stats_command(client *c)
{
    reply_bulk_cstr(c, "Stats not supported for the current allocator");
}

static void memory_purge_command(client *c) { reply_ok(c); }

static void memory_help_command(client *c)
{
    static const char *help[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

static struct command memory_subcommands[] = {
    {"memory|doctor", memory_doctor_command, 2, 0, 0, 0, 0, 0, NULL, "nondeterministic_output request_policy:all_shards response_policy:special", "server", "Outputs memory problems report", "4.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"memory|help", memory_help_command, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, 0, NULL, NULL, "server", "Show helpful text about the different subcommands", "4.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"memory|malloc-stats", memory_malloc_stats_command, 2, 0, 0, 0, 0, 0, NULL, "nondeterministic_output request_policy:all_shards response_policy:special", "server", "Show allocator internal stats", "4.0.0", "Depends on how much memory is allocated, could be slow", NULL, 0, 0, 0, 0},
    {"memory|purge", memory_purge_command, 2, 0, 0, 0, 0, 0, NULL, "request_policy:all_shards response_policy:all_succeeded", "server", "Ask the allocator to release memory", "4.0.0", "Depends on how much memory is allocated, could be slow", NULL, 0, 0, 0, 0},
    {"memory|stats", memory_stats_command, 2, 0, 0, 0, 0, 0, NULL, "nondeterministic_output request_policy:all_shards response_policy:special", "server", "Show memory usage details", "4.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"memory|usage", memory_usage_command, -3, CMD_READONLY, 0, 2, 2, 1, "RO", NULL, "server", "Estimate the memory usage of a key", "4.0.0", "O(N) where N is the number of samples.", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};

/* ---- the table ------------------------------------------------------------------------- */

struct command keyspace_commands[] = {
    {"del", del_command, -2, CMD_WRITE, ACL_KEYSPACE, 1, -1, 1, "RM delete", "request_policy:multi_shard response_policy:agg_sum", "generic", "Delete a key", "1.0.0", "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", NULL, 0, 0, 0, 0},
    {"unlink", del_command, -2, CMD_WRITE | CMD_FAST, ACL_KEYSPACE, 1, -1, 1, "RM delete", "request_policy:multi_shard response_policy:agg_sum", "generic", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", "4.0.0", "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", NULL, 0, 0, 0, 0},
    {"exists", exists_command, -2, CMD_READONLY | CMD_FAST, ACL_KEYSPACE, 1, -1, 1, "RO", "request_policy:multi_shard response_policy:agg_sum", "generic", "Determine if a key exists", "1.0.0", "O(N) where N is the number of keys to check.", NULL, 0, 0, 0, 0},
    {"type", type_command, 2, CMD_READONLY | CMD_FAST, ACL_KEYSPACE, 1, 1, 1, "RO", NULL, "generic", "Determine the type stored at key", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"touch", touch_command, -2, CMD_READONLY | CMD_FAST, ACL_KEYSPACE, 1, -1, 1, "RO", "request_policy:multi_shard response_policy:agg_sum", "generic", "Alters the last access time of a key(s). Returns the number of existing keys specified.", "3.2.1", "O(N) where N is the number of keys that will be touched.", NULL, 0, 0, 0, 0},
    {"rename", rename_command, 3, CMD_WRITE, ACL_KEYSPACE, 1, 2, 1, "RW access delete @1; OW update @2", NULL, "generic", "Rename a key", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"renamenx", renamenx_command, 3, CMD_WRITE | CMD_FAST, ACL_KEYSPACE, 1, 2, 1, "RW access delete @1; OW insert @2", NULL, "generic", "Rename a key, only if the new key does not exist", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"copy", copy_command, -3, CMD_WRITE | CMD_DENYOOM, ACL_KEYSPACE, 1, 2, 1, "RO access @1; OW update @2", NULL, "generic", "Copy a key", "6.2.0", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", NULL, 0, 0, 0, 0},
    {"move", move_command, 3, CMD_WRITE | CMD_FAST, ACL_KEYSPACE, 1, 1, 1, "RW access update", NULL, "generic", "Move a key to another database", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"keys", keys_command, 2, CMD_READONLY, ACL_KEYSPACE | ACL_DANGEROUS, 0, 0, 0, NULL, "request_policy:all_shards nondeterministic_output_order", "generic", "Find all keys matching the given pattern", "1.0.0", "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", NULL, 0, 0, 0, 0},
    {"scan", scan_command, -2, CMD_READONLY, ACL_KEYSPACE, 0, 0, 0, NULL, "nondeterministic_output request_policy:special", "generic", "Incrementally iterate the keys space", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", NULL, 0, 0, 0, 0},
    {"randomkey", randomkey_command, 1, CMD_READONLY, ACL_KEYSPACE, 0, 0, 0, NULL, "request_policy:all_shards nondeterministic_output", "generic", "Return a random key from the keyspace", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"dbsize", dbsize_command, 1, CMD_READONLY | CMD_FAST, ACL_KEYSPACE, 0, 0, 0, NULL, "request_policy:all_shards response_policy:agg_sum", "server", "Return the number of keys in the selected database", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"flushdb", flushdb_command, -1, CMD_WRITE, ACL_KEYSPACE | ACL_DANGEROUS, 0, 0, 0, NULL, "request_policy:all_shards response_policy:all_succeeded", "server", "Remove all keys from the current database", "1.0.0", "O(N) where N is the number of keys in the selected database", NULL, 0, 0, 0, 0},
    {"flushall", flushall_command, -1, CMD_WRITE, ACL_KEYSPACE | ACL_DANGEROUS, 0, 0, 0, NULL, "request_policy:all_shards response_policy:all_succeeded", "server", "Remove all keys from all databases", "1.0.0", "O(N) where N is the total number of keys in all databases", NULL, 0, 0, 0, 0},
    {"object", container_command, -2, 0, 0, 0, 0, 0, NULL, NULL, "generic", "A container for object introspection commands", "2.2.3", "Depends on subcommand.", object_subcommands, 0, 0, 0, 0},
    {"memory", container_command, -2, 0, 0, 0, 0, 0, NULL, NULL, "server", "A container for memory diagnostics commands", "4.0.0", "Depends on subcommand.", memory_subcommands, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
