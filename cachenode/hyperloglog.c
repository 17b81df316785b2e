/* hyperloglog.c: the HyperLogLog commands PFADD, PFCOUNT, PFMERGE, PFDEBUG
 * and PFSELFTEST, and their command table. A HyperLogLog is a string value
 * in Redis's representation (hll_enc.c), kept as a raw string so that it is
 * updated in place; GET returns the same bytes redis-server would. Replies,
 * errors, cache handling and the sparse-to-dense promotion at
 * hll-sparse-max-bytes follow Redis 7.0. */
#include <stdio.h>
#include <string.h>

#include "hll_enc.h"
#include "notify.h"
#include "server.h"

#define HLL_WRONGTYPE_ERR "WRONGTYPE Key is not a valid HyperLogLog string value."
#define HLL_INVALID_ERR "INVALIDOBJ Corrupted HLL object detected"

/* ---- values ---------------------------------------------------------------- */

/* Checks that an existing entry holds a HyperLogLog, replying the error
 * when it does not. */
static int entry_is_hll(client *c, const entry *e)
{
    if (e->type != TYPE_STRING) {
        reply_wrongtype(c);
        return 0;
    }
    char buf[24];
    size_t len;
    const char *s = entry_string(e, buf, &len);
    if (e->enc == ENC_INT || !hll_header_valid((const unsigned char *)s, len)) {
        reply_error(c, HLL_WRONGTYPE_ERR);
        return 0;
    }
    return 1;
}

/* The HyperLogLog's bytes, writable, with room for a sparse update (a
 * dense one never grows: it keeps its exact size). The entry may move: *e
 * is updated. */
static rawstr *hll_writable(client *c, entry **e)
{
    char buf[24];
    size_t len;
    const char *s = entry_string(*e, buf, &len);
    size_t room = hll_encoding((const unsigned char *)s) == HLL_SPARSE ? HLL_SPARSE_MAX_GROWTH : 0;
    *e = db_make_raw(c->db, *e, len + room);
    return entry_rawstr(*e);
}

/* A new, empty sparse HyperLogLog under the key. */
static entry *hll_create(client *c, const arg *key)
{
    unsigned char init[HLL_SPARSE_NEW_SIZE];
    hll_init_sparse(init);
    entry *e = db_add_string(c->db, key->p, key->len, (const char *)init, sizeof(init));
    return db_make_raw(c->db, e, sizeof(init) + HLL_SPARSE_MAX_GROWTH);
}

/* Rewrites a sparse HyperLogLog as dense; -1 if it is corrupt. */
static int hll_promote(client *c, entry **e)
{
    rawstr *r = entry_rawstr(*e);
    unsigned char *dense = zmalloc(HLL_DENSE_SIZE);
    if (hll_sparse_to_dense((unsigned char *)r->buf, r->len, dense) != 0) {
        zfree(dense);
        return -1;
    }
    /* a new value of the exact size: growing the sparse one would double it */
    *e = db_set_string_value_noint(c->db, *e, (const char *)dense, HLL_DENSE_SIZE);
    zfree(dense);
    return 0;
}

/* Raises one register; 1 changed, 0 not, -1 corrupt. */
static int hll_set_register(client *c, entry **e, long index, int count)
{
    rawstr *r = entry_rawstr(*e);
    if (hll_encoding((unsigned char *)r->buf) == HLL_SPARSE) {
        if (r->cap < r->len + HLL_SPARSE_MAX_GROWTH) r = hll_writable(c, e);
        int rv = hll_sparse_set((unsigned char *)r->buf, &r->len, index, count,
                                (size_t)server.hll_sparse_max_bytes);
        r->buf[r->len] = '\0';
        if (rv != HLL_NEEDS_DENSE) return rv;
        if (hll_promote(c, e) != 0) return -1;
        r = entry_rawstr(*e);
    }
    return hll_dense_set((unsigned char *)r->buf + HLL_HDR_SIZE, index, count);
}

/* ---- PFADD ----------------------------------------------------------------------- */

static void pfadd_command(client *c)
{
    const arg *key = &c->argv[1];
    entry *e = lookup_write(c, key);
    long long updated = 0;
    if (e == NULL) {
        e = hll_create(c, key);
        updated++;
    } else {
        if (!entry_is_hll(c, e)) return;
        hll_writable(c, &e);
    }
    for (int j = 2; j < c->argc; j++) {
        long index;
        int count = hll_pattern((const unsigned char *)c->argv[j].p, c->argv[j].len, &index);
        int rv = hll_set_register(c, &e, index, count);
        if (rv < 0) {
            reply_error(c, HLL_INVALID_ERR);
            return;
        }
        updated += rv;
    }
    if (updated) {
        hll_cache_invalidate((unsigned char *)entry_rawstr(e)->buf);
        key_modified(c->db, key);
        server.dirty += updated - 1; /* one change per register raised */
        notify_keyspace_event(NOTIFY_STRING, "pfadd", key->p, key->len, c->dbid);
    }
    reply_int(c, updated ? 1 : 0);
}

/* ---- PFCOUNT ------------------------------------------------------------------------ */

/* The union's registers over the keys argv[first..]; 0 after replying an
 * error. Sets *any_dense when a source is dense. */
static int merge_keys(client *c, int first, uint8_t *max, int *any_dense)
{
    for (int j = first; j < c->argc; j++) {
        entry *e = lookup_read(c, &c->argv[j]);
        if (e == NULL) continue;
        if (!entry_is_hll(c, e)) return 0;
        char buf[24];
        size_t len;
        const unsigned char *s = (const unsigned char *)entry_string(e, buf, &len);
        if (hll_encoding(s) == HLL_DENSE) *any_dense = 1;
        if (hll_merge_into(max, s, len) != 0) {
            reply_error(c, HLL_INVALID_ERR);
            return 0;
        }
    }
    return 1;
}

static void pfcount_command(client *c)
{
    if (c->argc > 2) {
        uint8_t *max = zcalloc(HLL_REGISTERS);
        int any_dense = 0;
        if (merge_keys(c, 1, max, &any_dense)) reply_int(c, (long long)hll_count_registers(max));
        zfree(max);
        return;
    }
    const arg *key = &c->argv[1];
    entry *e = lookup_read(c, key);
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    if (!entry_is_hll(c, e)) return;
    rawstr *r = hll_writable(c, &e);
    unsigned char *s = (unsigned char *)r->buf;
    if (hll_cache_valid(s)) {
        reply_int(c, (long long)hll_cache_get(s));
        return;
    }
    int invalid = 0;
    uint64_t card = hll_count(s, r->len, &invalid);
    if (invalid) {
        reply_error(c, HLL_INVALID_ERR);
        return;
    }
    /* the cache is part of the value: replicas get this PFCOUNT too */
    hll_cache_set(s, card);
    key_modified(c->db, key);
    reply_int(c, (long long)card);
}

/* ---- PFMERGE -------------------------------------------------------------------------- */

static void pfmerge_command(client *c)
{
    const arg *dst = &c->argv[1];
    uint8_t *max = zcalloc(HLL_REGISTERS);
    int any_dense = 0;
    if (!merge_keys(c, 1, max, &any_dense)) {
        zfree(max);
        return;
    }
    entry *e = lookup_write(c, dst);
    if (e == NULL) e = hll_create(c, dst);
    else hll_writable(c, &e); /* a HyperLogLog: merge_keys checked it */
    int failed = any_dense && hll_encoding((unsigned char *)entry_rawstr(e)->buf) == HLL_SPARSE &&
                 hll_promote(c, &e) != 0;
    for (long j = 0; j < HLL_REGISTERS && !failed; j++)
        if (max[j]) hll_set_register(c, &e, j, max[j]); /* as Redis, results ignored */
    zfree(max);
    if (failed) {
        reply_error(c, HLL_INVALID_ERR);
        return;
    }
    hll_cache_invalidate((unsigned char *)entry_rawstr(e)->buf);
    key_modified(c->db, dst);
    notify_keyspace_event(NOTIFY_STRING, "pfadd", dst->p, dst->len, c->dbid);
    reply_ok(c);
}

/* ---- PFDEBUG ---------------------------------------------------------------------------- */

/* GETREG and TODENSE make a sparse value dense, a change replicas get. */
static int pfdebug_make_dense(client *c, entry **e, const arg *key, int *converted)
{
    *converted = 0;
    if (hll_encoding((unsigned char *)entry_rawstr(*e)->buf) != HLL_SPARSE) return 1;
    if (hll_promote(c, e) != 0) {
        reply_error(c, HLL_INVALID_ERR);
        return 0;
    }
    *converted = 1;
    key_modified(c->db, key);
    return 1;
}

static void pfdebug_decode(client *c, const rawstr *r)
{
    if (hll_encoding((const unsigned char *)r->buf) != HLL_SPARSE) {
        reply_error(c, "ERR HLL encoding is not sparse");
        return;
    }
    size_t n;
    char *text = hll_sparse_decode((const unsigned char *)r->buf, r->len, &n);
    reply_bulk(c, text, n);
    zfree(text);
}

static void pfdebug_command(client *c)
{
    const arg *sub = &c->argv[1], *key = &c->argv[2];
    entry *e = lookup_write(c, key);
    if (e == NULL) {
        reply_error(c, "ERR The specified key does not exist");
        return;
    }
    if (!entry_is_hll(c, e)) return;
    rawstr *r = hll_writable(c, &e);
    int converted;
    if (string_option_is(sub, "getreg")) {
        if (!pfdebug_make_dense(c, &e, key, &converted)) return;
        const unsigned char *regs = (const unsigned char *)entry_rawstr(e)->buf + HLL_HDR_SIZE;
        reply_array(c, HLL_REGISTERS);
        for (long j = 0; j < HLL_REGISTERS; j++) reply_int(c, hll_dense_get(regs, j));
    } else if (string_option_is(sub, "decode")) {
        pfdebug_decode(c, r);
    } else if (string_option_is(sub, "encoding")) {
        reply_status(c, hll_encoding((unsigned char *)r->buf) == HLL_DENSE ? "dense" : "sparse");
    } else if (string_option_is(sub, "todense")) {
        if (!pfdebug_make_dense(c, &e, key, &converted)) return;
        reply_int(c, converted);
    } else {
        size_t n = strnlen(sub->p, sub->len);
        reply_errorf(c, "ERR Unknown PFDEBUG subcommand '%.*s'", (int)(n > 128 ? 128 : n), sub->p);
    }
}

/* ---- PFSELFTEST ------------------------------------------------------------------------------ */

/* Dense registers read back what was written, with their neighbours
 * (which share bytes) untouched. */
static int selftest_dense_registers(void)
{
    unsigned char *regs = zcalloc(HLL_DENSE_BYTES + 1);
    uint8_t *ref = zcalloc(HLL_REGISTERS);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    int ok = 1;
    for (int round = 0; round < 4 && ok; round++) {
        memset(regs, 0, HLL_DENSE_BYTES + 1);
        for (long j = 0; j < HLL_REGISTERS; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            ref[j] = (uint8_t)(x % (HLL_REGISTER_MAX + 1));
            hll_dense_set(regs, j, ref[j]);
        }
        for (long j = 0; j < HLL_REGISTERS && ok; j++) ok = hll_dense_get(regs, j) == ref[j];
    }
    zfree(regs);
    zfree(ref);
    return ok;
}

/* A sparse and a dense HyperLogLog fed the same elements hold the same
 * registers, and the estimate stays within bounds. */
static int selftest_sparse_dense(void)
{
    size_t cap = 64 * 1024, len = HLL_SPARSE_NEW_SIZE;
    unsigned char *sparse = zmalloc(cap), *dense = zcalloc(HLL_DENSE_SIZE + 1);
    unsigned char *conv = zmalloc(HLL_DENSE_SIZE);
    hll_init_sparse(sparse);
    memcpy(dense, sparse, HLL_HDR_SIZE);
    dense[4] = HLL_DENSE;
    int ok = 1, sparse_ok = 1;
    for (long i = 0; i < 20000 && ok; i++) {
        char ele[24];
        int n = snprintf(ele, sizeof(ele), "%ld", i);
        long index;
        int count = hll_pattern((unsigned char *)ele, (size_t)n, &index);
        hll_dense_set(dense + HLL_HDR_SIZE, index, count);
        if (sparse_ok && hll_sparse_set(sparse, &len, index, count, cap - 8) == HLL_NEEDS_DENSE)
            sparse_ok = 0;
        if (i % 1000 == 999 && sparse_ok) {
            ok = hll_sparse_to_dense(sparse, len, conv) == 0 &&
                 memcmp(conv + HLL_HDR_SIZE, dense + HLL_HDR_SIZE, HLL_DENSE_BYTES) == 0;
        }
    }
    uint64_t est = hll_count(dense, HLL_DENSE_SIZE, NULL);
    ok = ok && est > 20000 * 0.95 && est < 20000 * 1.05;
    zfree(sparse);
    zfree(dense);
    zfree(conv);
    return ok;
}

static void pfselftest_command(client *c)
{
    if (!selftest_dense_registers()) {
        reply_error(c, "TESTFAILED Register error");
        return;
    }
    if (!selftest_sparse_dense()) {
        reply_error(c, "TESTFAILED Sparse and dense representations differ");
        return;
    }
    reply_ok(c);
}

/* ---- the table ----------------------------------------------------------------------------------- */

struct command hyperloglog_commands[] = {
    {"pfadd", pfadd_command, -2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, ACL_HYPERLOGLOG, 1, 1, 1, "RW insert", NULL, "hyperloglog", "Adds the specified elements to the specified HyperLogLog.", "2.8.9", "O(1) to add every element.", NULL, 0, 0, 0, 0},
    {"pfcount", pfcount_command, -2, CMD_READONLY, ACL_HYPERLOGLOG, 1, -1, 1, "RW access (RW because it may change the internal representation of the key, and propagate to replicas)", NULL, "hyperloglog", "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).", "2.8.9", "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.", NULL, 0, 0, 0, 0},
    {"pfmerge", pfmerge_command, -2, CMD_WRITE | CMD_DENYOOM, ACL_HYPERLOGLOG, 1, -1, 1, "RW access insert @1;RO access @2~-1,1,0", NULL, "hyperloglog", "Merge N different HyperLogLogs into a single one.", "2.8.9", "O(N) to merge N HyperLogLogs, but with high constant times.", NULL, 0, 0, 0, 0},
    {"pfdebug", pfdebug_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_ADMIN, ACL_HYPERLOGLOG, 2, 2, 1, "RW access @2", NULL, "hyperloglog", "Internal commands for debugging HyperLogLog values", "2.8.9", "N/A", NULL, 0, 0, 0, 0},
    {"pfselftest", pfselftest_command, 1, CMD_ADMIN, ACL_HYPERLOGLOG, 0, 0, 0, NULL, NULL, "hyperloglog", "An internal command for testing HyperLogLog values", "2.8.9", "N/A", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
