/* expire.c: key expiry: the TTL commands (EXPIRE PEXPIRE EXPIREAT PEXPIREAT
 * with NX XX GT LT, TTL PTTL EXPIRETIME PEXPIRETIME, PERSIST) and active
 * expiry, the cron's adaptive sweep of each database's volatile set that
 * keeps keys nobody reads from piling up in memory. Lazy expiry on access
 * is db.c's expire_if_needed(). */
#include <limits.h>

#include "notify.h"
#include "server.h"

/* ---- the EXPIRE family ------------------------------------------------------ */

#define EXPIRE_NX (1 << 0)
#define EXPIRE_XX (1 << 1)
#define EXPIRE_GT (1 << 2)
#define EXPIRE_LT (1 << 3)

enum time_unit { UNIT_SECONDS, UNIT_MILLISECONDS };

/* Parses the NX XX GT LT options from argv[3] on; replies the error. */
static int parse_expire_flags(client *c, int *flags)
{
    *flags = 0;
    for (int j = 3; j < c->argc; j++) {
        const arg *a = &c->argv[j];
        if (arg_is(a->p, a->len, "nx")) *flags |= EXPIRE_NX;
        else if (arg_is(a->p, a->len, "xx")) *flags |= EXPIRE_XX;
        else if (arg_is(a->p, a->len, "gt")) *flags |= EXPIRE_GT;
        else if (arg_is(a->p, a->len, "lt")) *flags |= EXPIRE_LT;
        else {
            int len = a->len > 128 ? 128 : (int)a->len;
            reply_errorf(c, "ERR Unsupported option %.*s", len, a->p);
            return 0;
        }
    }
    if ((*flags & EXPIRE_NX) && (*flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
        reply_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return 0;
    }
    if ((*flags & EXPIRE_GT) && (*flags & EXPIRE_LT)) {
        reply_error(c, "ERR GT and LT options at the same time are not compatible");
        return 0;
    }
    return 1;
}

/* Whether the options allow replacing `current` (-1: no TTL, which counts
 * as infinite) with `when`. */
static int expire_flags_allow(int flags, long long current, long long when)
{
    if ((flags & EXPIRE_NX) && current != -1) return 0;
    if ((flags & EXPIRE_XX) && current == -1) return 0;
    if ((flags & EXPIRE_GT) && (current == -1 || when <= current)) return 0;
    if ((flags & EXPIRE_LT) && current != -1 && when >= current) return 0;
    return 1;
}

static void reply_invalid_expire(client *c)
{
    reply_errorf(c, "ERR invalid expire time in '%s' command", c->cmd ? c->cmd->name : "expire");
}

/* EXPIRE and friends: `basetime` is added to the argument (0 for the *AT
 * forms), both in milliseconds once the unit is applied. */
static void expire_generic(client *c, long long basetime, enum time_unit unit)
{
    int flags;
    long long when;
    if (!parse_expire_flags(c, &flags)) return;
    if (!arg_to_ll(c, &c->argv[2], &when)) return;
    if (unit == UNIT_SECONDS) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
            reply_invalid_expire(c);
            return;
        }
        when *= 1000;
    }
    if (when > LLONG_MAX - basetime) {
        reply_invalid_expire(c);
        return;
    }
    when += basetime;

    const arg *key = &c->argv[1];
    entry *e = lookup_write(c, key);
    if (e == NULL || !expire_flags_allow(flags, entry_expire(e), when)) {
        reply_int(c, 0);
        return;
    }
    if (when <= mstime() && !server_is_replica()) {
        /* a time in the past deletes the key now: a DEL, not an expiry (a
         * replica keeps it until its primary's DEL, like lazy expiry) */
        db_delete_entry(c->db, e);
        e = NULL;
        arg del[2] = {{"DEL", 3}, *key};
        propagate_command(c, 2, del);
    } else {
        db_set_expire(c->db, e, when);
        /* replicas get the absolute time, whatever form the client used */
        char buf[32];
        arg abs[3] = {{"PEXPIREAT", 9}, *key, {buf, ll2str(buf, sizeof(buf), when)}};
        propagate_command(c, 3, abs);
    }
    key_modified(c->db, key);
    notify_key(c, NOTIFY_GENERIC, e ? "expire" : "del", key);
    reply_int(c, 1);
}

static void expire_command(client *c) { expire_generic(c, mstime(), UNIT_SECONDS); }
static void pexpire_command(client *c) { expire_generic(c, mstime(), UNIT_MILLISECONDS); }
static void expireat_command(client *c) { expire_generic(c, 0, UNIT_SECONDS); }
static void pexpireat_command(client *c) { expire_generic(c, 0, UNIT_MILLISECONDS); }

/* TTL PTTL EXPIRETIME PEXPIRETIME: -2 without the key, -1 without a TTL;
 * relative times round to the nearest second, absolute ones truncate. */
static void ttl_generic(client *c, int in_ms, int absolute)
{
    entry *e = lookup_read_notouch(c, &c->argv[1]);
    if (e == NULL) {
        reply_int(c, -2);
        return;
    }
    long long when = entry_expire(e);
    if (when == -1) {
        reply_int(c, -1);
        return;
    }
    long long t = absolute ? when : when - mstime();
    if (t < 0) t = 0;
    if (in_ms) reply_int(c, t);
    else reply_int(c, absolute ? t / 1000 : (t + 500) / 1000);
}

static void ttl_command(client *c) { ttl_generic(c, 0, 0); }
static void pttl_command(client *c) { ttl_generic(c, 1, 0); }
static void expiretime_command(client *c) { ttl_generic(c, 0, 1); }
static void pexpiretime_command(client *c) { ttl_generic(c, 1, 1); }

static void persist_command(client *c)
{
    entry *e = lookup_write(c, &c->argv[1]);
    if (e == NULL || !e->has_expire) {
        reply_int(c, 0);
        return;
    }
    db_remove_expire(c->db, e);
    key_modified(c->db, &c->argv[1]);
    notify_key(c, NOTIFY_GENERIC, "persist", &c->argv[1]);
    reply_int(c, 1);
}

/* ---- active expiry ------------------------------------------------------------ */

/* The tuning knobs at active-expire-effort 1; each effort step above 1 adds
 * a quarter of the keys per loop and of the fast-cycle duration, two points
 * of CPU share and one point less tolerated staleness (Redis's scheme). */
#define ACTIVE_EXPIRE_KEYS_PER_LOOP 20
#define ACTIVE_EXPIRE_FAST_DURATION 1000 /* microseconds */
#define ACTIVE_EXPIRE_SLOW_TIME_PERC 25  /* percent of the cron period */
#define ACTIVE_EXPIRE_ACCEPTABLE_STALE 10 /* percent of expired keys sampled */
#define ACTIVE_EXPIRE_SWEEP_SECONDS 5     /* the in-order sweep's full period */

/* Where the sweep stands: the next database to visit, whether the last
 * cycle ran out of time, and the running estimate of stale keys (0..1). */
static int next_db;
static size_t sweep_cursor[DB_COUNT];
static int timelimit_exit;
static long long last_fast_cycle_us;
static double stale_perc;

struct expire_pass {
    long long deadline_us;
    int keys_per_loop;
    int acceptable_stale;
    long long sampled, expired;
    long long expired_by_sweep;
    int sweep; /* slow cycles also walk the volatile set in order */
    int hz;
};

/* Deletes a key whose TTL has passed (as of server.now_ms) the way lazy
 * expiry does: counted, and propagated to replicas as a DEL. */
static void expire_entry(db *d, entry *e) { (void)expire_if_needed(d, e); }

struct expire_sample {
    long long sampled, expired, ttl_samples;
    double ttl_sum; /* TTLs may be near LLONG_MAX: no integer overflow */
};

/* Checks keys_per_loop random volatile keys of `d`, deleting the expired
 * ones. Random picks, not a walk in order: the volatile set is in insertion
 * order, which correlates with TTL, and the sample must estimate the share
 * of stale keys of the whole set. */
static void expire_sample(db *d, int keys_per_loop, long long now, struct expire_sample *s)
{
    for (int i = 0; i < keys_per_loop; i++) {
        entry *e = db_random_volatile(d);
        if (e == NULL) break;
        long long when = entry_expire(e);
        s->sampled++;
        if (when <= now) {
            expire_entry(d, e);
            s->expired++;
        } else {
            s->ttl_sum += (double)(when - now);
            s->ttl_samples++;
        }
    }
}

/* Walks the next stretch of d's volatile set in order, so that every key
 * is looked at within ACTIVE_EXPIRE_SWEEP_SECONDS however few stale keys
 * remain: the random sampler alone stops at the acceptable staleness and
 * would leave that much expired data in memory indefinitely. */
static void expire_sweep(db *d, struct expire_pass *p, int hz)
{
    size_t quota = db_expires(d) / ((size_t)hz * ACTIVE_EXPIRE_SWEEP_SECONDS) + 1;
    if (quota < (size_t)p->keys_per_loop) quota = (size_t)p->keys_per_loop;
    size_t idx = sweep_cursor[d->id];
    long long now = server.now_ms; /* expire_if_needed's clock */
    for (size_t i = 0; i < quota && db_expires(d) > 0; i++) {
        if (idx >= db_expires(d)) idx = 0;
        entry *e = db_volatile_at(d, idx);
        if (e == NULL) break;
        if (entry_expire(e) <= now) {
            /* the last volatile key moves into idx: look at idx again */
            expire_entry(d, e);
            p->expired_by_sweep++;
            if (db_volatile_at(d, idx) == e) idx++; /* kept (a replica) */
        } else {
            idx++;
        }
        if ((i & 1023) == 1023 && monotonic_us() >= p->deadline_us) {
            timelimit_exit = 1;
            break;
        }
    }
    sweep_cursor[d->id] = idx;
}

/* Sweeps one database while the share of expired keys found stays above the
 * acceptable staleness and time remains. */
static void expire_db(db *d, struct expire_pass *p)
{
    unsigned loops = 0;
    int again;
    do {
        if (db_expires(d) == 0) {
            d->avg_ttl = 0;
            return;
        }
        struct expire_sample s = {0, 0, 0, 0.0};
        expire_sample(d, p->keys_per_loop, server.now_ms, &s);
        p->sampled += s.sampled;
        p->expired += s.expired;
        if (s.ttl_samples) {
            long long avg = (long long)(s.ttl_sum / (double)s.ttl_samples);
            /* a slow moving average, as INFO keyspace's avg_ttl wants */
            d->avg_ttl = d->avg_ttl == 0 ? avg : (d->avg_ttl / 50) * 49 + avg / 50;
        }
        if ((++loops & 15) == 0 && monotonic_us() >= p->deadline_us) {
            timelimit_exit = 1;
            return;
        }
        again = s.sampled > 0 && s.expired * 100 > s.sampled * p->acceptable_stale;
    } while (again);
    if (p->sweep) expire_sweep(d, p, p->hz);
}

void active_expire_cycle(int fast)
{
    int effort = server.active_expire_effort - 1; /* 0..9 */
    if (effort < 0) effort = 0;
    if (effort > 9) effort = 9;
    struct expire_pass p = {0, 0, 0, 0, 0, 0, 0, 0};
    p.keys_per_loop = ACTIVE_EXPIRE_KEYS_PER_LOOP + ACTIVE_EXPIRE_KEYS_PER_LOOP / 4 * effort;
    p.acceptable_stale = ACTIVE_EXPIRE_ACCEPTABLE_STALE - effort;
    long long fast_duration = ACTIVE_EXPIRE_FAST_DURATION + ACTIVE_EXPIRE_FAST_DURATION / 4 * effort;
    long long slow_perc = ACTIVE_EXPIRE_SLOW_TIME_PERC + 2 * effort;

    long long start = monotonic_us();
    if (fast) {
        /* a fast cycle is worth it only when the last one ran out of time
         * or too many stale keys remain, and at most every other period */
        if (!timelimit_exit && stale_perc * 100 < p.acceptable_stale) return;
        if (start < last_fast_cycle_us + fast_duration * 2) return;
        last_fast_cycle_us = start;
    }
    int hz = server.hz > 0 ? server.hz : 10;
    long long budget = fast ? fast_duration : slow_perc * 1000000 / hz / 100;
    if (budget <= 0) budget = 1;
    p.deadline_us = start + budget;
    p.sweep = !fast;
    p.hz = hz;

    timelimit_exit = 0;
    int dbs = server.databases > DB_COUNT ? DB_COUNT : server.databases;
    for (int i = 0; i < dbs && !timelimit_exit; i++) {
        db *d = server.dbs[next_db % dbs];
        next_db = (next_db + 1) % dbs;
        expire_db(d, &p);
    }

    long long elapsed = monotonic_us() - start;
    server.stat_expire_cycle_time_used_us += elapsed;
    latency_add_sample_if_needed("expire-cycle", elapsed / 1000);
    double current = p.sampled ? (double)p.expired / (double)p.sampled : 0;
    stale_perc = current * 0.05 + stale_perc * 0.95;
    server.stat_expired_stale_perc_x100 = (long long)(stale_perc * 10000);
}

/* ---- the table ------------------------------------------------------------------ */

struct command expire_commands[] = {
    {"expire", expire_command, -3, CMD_WRITE | CMD_FAST, ACL_KEYSPACE, 1, 1, 1, "RW update", NULL, "generic", "Set a key's time to live in seconds", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"pexpire", pexpire_command, -3, CMD_WRITE | CMD_FAST, ACL_KEYSPACE, 1, 1, 1, "RW update", NULL, "generic", "Set a key's time to live in milliseconds", "2.6.0", "O(1)", NULL, 0, 0, 0, 0},
    {"expireat", expireat_command, -3, CMD_WRITE | CMD_FAST, ACL_KEYSPACE, 1, 1, 1, "RW update", NULL, "generic", "Set the expiration for a key as a UNIX timestamp", "1.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"pexpireat", pexpireat_command, -3, CMD_WRITE | CMD_FAST, ACL_KEYSPACE, 1, 1, 1, "RW update", NULL, "generic", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "2.6.0", "O(1)", NULL, 0, 0, 0, 0},
    {"ttl", ttl_command, 2, CMD_READONLY | CMD_FAST, ACL_KEYSPACE, 1, 1, 1, "RO access", "nondeterministic_output", "generic", "Get the time to live for a key in seconds", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"pttl", pttl_command, 2, CMD_READONLY | CMD_FAST, ACL_KEYSPACE, 1, 1, 1, "RO access", "nondeterministic_output", "generic", "Get the time to live for a key in milliseconds", "2.6.0", "O(1)", NULL, 0, 0, 0, 0},
    {"expiretime", expiretime_command, 2, CMD_READONLY | CMD_FAST, ACL_KEYSPACE, 1, 1, 1, "RO access", NULL, "generic", "Get the expiration Unix timestamp for a key", "7.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"pexpiretime", pexpiretime_command, 2, CMD_READONLY | CMD_FAST, ACL_KEYSPACE, 1, 1, 1, "RO access", NULL, "generic", "Get the expiration Unix timestamp for a key in milliseconds", "7.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"persist", persist_command, 2, CMD_WRITE | CMD_FAST, ACL_KEYSPACE, 1, 1, 1, "RW update", NULL, "generic", "Remove the expiration from a key", "2.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
