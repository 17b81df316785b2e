/* test_evict.c: maxmemory enforcement (evict.c). Each test fills databases
 * directly through keyspace.c, sets maxmemory below the memory in use and
 * runs evict_to_fit(), then checks that memory fits and that the policy's
 * choice of victims holds. Ages and frequencies are simulated by writing
 * the entries' lru fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server.h"

#define NKEYS 1000
#define VALUE_LEN 100

static char value[VALUE_LEN];

static void empty_all(void)
{
    for (int i = 0; i < DB_COUNT; i++) db_empty(server.dbs[i]);
    evict_reset_pool();
}

static int setup(void **state)
{
    (void)state;
    empty_all();
    update_cached_time();
    server.maxmemory = 0;
    server.maxmemory_samples = 5;
    server.stat_evictedkeys = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    empty_all();
    server.maxmemory = 0;
    server.maxmemory_policy = MAXMEMORY_NOEVICTION;
    return 0;
}

static size_t key_name(char *buf, size_t size, const char *prefix, int i)
{
    int n = snprintf(buf, size, "%s:%06d", prefix, i);
    assert_true(n > 0 && (size_t)n < size);
    return (size_t)n;
}

static entry *add_key(db *d, const char *prefix, int i)
{
    char k[256];
    size_t klen = key_name(k, sizeof(k), prefix, i);
    entry *e = db_add_string(d, k, klen, value, sizeof(value));
    assert_non_null(e);
    return e;
}

static int key_exists(db *d, const char *prefix, int i)
{
    char k[256];
    size_t klen = key_name(k, sizeof(k), prefix, i);
    return db_find(d, k, klen) != NULL;
}

static int count_present(db *d, const char *prefix, int n)
{
    int present = 0;
    for (int i = 0; i < n; i++) present += key_exists(d, prefix, i);
    return present;
}

static uint32_t lru_seconds_ago(uint32_t secs) { return (lru_clock() - secs) & 0xFFFFFF; }

static uint32_t lfu_field(unsigned counter)
{
    uint32_t minutes = (uint32_t)(server.now_ms / 60000) & 0xFFFF;
    return (minutes << 8) | (counter & 0xFF);
}

/* Sets maxmemory so that about `keys` keys of the fill must go. */
static void limit_to_evict(int keys, size_t per_key)
{
    server.maxmemory = (long long)(zmalloc_used() - (size_t)keys * per_key);
}

/* Memory one key of the fill takes, measured. */
static size_t measure_key_size(void)
{
    db *d = server.dbs[DB_COUNT - 1];
    entry *e = add_key(d, "probe", 0);
    size_t size = entry_alloc_size(e);
    db_empty(d);
    return size;
}

static void assert_fits(void)
{
    if ((long long)zmalloc_used() > server.maxmemory)
        print_message("used %zu > maxmemory %lld after %lld evictions\n", zmalloc_used(),
                      server.maxmemory, server.stat_evictedkeys);
    assert_true((long long)zmalloc_used() <= server.maxmemory);
}

/* Evicts as the server does over successive commands: evict_to_fit() is
 * time-bounded and may return 0 before the limit is reached (a loaded CI
 * machine can deschedule us mid-call), the next call continues. Returns the
 * last result. */
static int evict(void)
{
    int rc = 0;
    for (int calls = 0; calls < 1000; calls++) {
        rc = evict_to_fit();
        if (rc == -1 || (long long)zmalloc_used() <= server.maxmemory) break;
    }
    return rc;
}

/* ---- policies ------------------------------------------------------------ */

static void test_noeviction_refuses(void **state)
{
    (void)state;
    db *d = server.dbs[0];
    server.maxmemory_policy = MAXMEMORY_NOEVICTION;
    for (int i = 0; i < NKEYS; i++) add_key(d, "k", i);
    limit_to_evict(100, measure_key_size());
    assert_int_equal(evict(), -1);
    assert_int_equal(db_size(d), NKEYS);
    assert_int_equal(server.stat_evictedkeys, 0);
}

static void test_under_limit_is_noop(void **state)
{
    (void)state;
    db *d = server.dbs[0];
    server.maxmemory_policy = MAXMEMORY_ALLKEYS_LRU;
    for (int i = 0; i < 100; i++) add_key(d, "k", i);
    server.maxmemory = 0; /* no limit */
    assert_int_equal(evict(), 0);
    server.maxmemory = (long long)zmalloc_used() + 1024;
    assert_int_equal(evict(), 0);
    assert_int_equal(db_size(d), 100);
    assert_int_equal(server.stat_evictedkeys, 0);
}

static void test_allkeys_lru_prefers_idle(void **state)
{
    (void)state;
    db *d = server.dbs[0];
    server.maxmemory_policy = MAXMEMORY_ALLKEYS_LRU;
    size_t per_key = measure_key_size();
    for (int i = 0; i < NKEYS / 2; i++) add_key(d, "old", i)->lru = lru_seconds_ago(10000);
    for (int i = 0; i < NKEYS / 2; i++) add_key(d, "new", i)->lru = lru_seconds_ago(0);
    limit_to_evict(300, per_key);
    assert_int_equal(evict(), 0);
    assert_fits();
    int old_gone = NKEYS / 2 - count_present(d, "old", NKEYS / 2);
    int new_gone = NKEYS / 2 - count_present(d, "new", NKEYS / 2);
    assert_true(server.stat_evictedkeys >= 300);
    assert_int_equal(old_gone + new_gone, server.stat_evictedkeys);
    /* sampled, so not exact: but the idle keys must be the vast majority */
    assert_true(old_gone >= 9 * (old_gone + new_gone) / 10);
}

static void test_allkeys_lru_spans_databases(void **state)
{
    (void)state;
    server.maxmemory_policy = MAXMEMORY_ALLKEYS_LRU;
    size_t per_key = measure_key_size();
    for (int i = 0; i < NKEYS / 2; i++) add_key(server.dbs[0], "new", i)->lru = lru_seconds_ago(0);
    for (int i = 0; i < NKEYS / 2; i++) add_key(server.dbs[5], "old", i)->lru = lru_seconds_ago(5000);
    limit_to_evict(200, per_key);
    assert_int_equal(evict(), 0);
    assert_fits();
    int old_gone = NKEYS / 2 - count_present(server.dbs[5], "old", NKEYS / 2);
    assert_true(old_gone >= 9 * server.stat_evictedkeys / 10);
}

static void test_allkeys_lfu_prefers_rare(void **state)
{
    (void)state;
    db *d = server.dbs[0];
    server.maxmemory_policy = MAXMEMORY_ALLKEYS_LFU;
    size_t per_key = measure_key_size();
    for (int i = 0; i < NKEYS / 2; i++) add_key(d, "rare", i)->lru = lfu_field(1);
    for (int i = 0; i < NKEYS / 2; i++) add_key(d, "hot", i)->lru = lfu_field(200);
    limit_to_evict(300, per_key);
    assert_int_equal(evict(), 0);
    assert_fits();
    int rare_gone = NKEYS / 2 - count_present(d, "rare", NKEYS / 2);
    int hot_gone = NKEYS / 2 - count_present(d, "hot", NKEYS / 2);
    assert_int_equal(rare_gone + hot_gone, server.stat_evictedkeys);
    assert_true(rare_gone >= 9 * (rare_gone + hot_gone) / 10);
}

static void test_allkeys_random(void **state)
{
    (void)state;
    server.maxmemory_policy = MAXMEMORY_ALLKEYS_RANDOM;
    size_t per_key = measure_key_size();
    for (int i = 0; i < NKEYS; i++) add_key(server.dbs[i % 3], "k", i);
    limit_to_evict(300, per_key);
    assert_int_equal(evict(), 0);
    assert_fits();
    /* fewer than 300 keys may do: sampling finishes a pending rehash, which
     * frees the old bucket array */
    assert_true(server.stat_evictedkeys > 200);
    size_t left = db_size(server.dbs[0]) + db_size(server.dbs[1]) + db_size(server.dbs[2]);
    assert_int_equal(left + (size_t)server.stat_evictedkeys, NKEYS);
    /* every database gave some keys */
    for (int i = 0; i < 3; i++) assert_true(db_size(server.dbs[i]) < NKEYS / 3 + 1);
}

/* Fills db 0 with NKEYS/2 persistent keys ("keep") and NKEYS/2 keys with a
 * TTL ("vol", vol:i expiring i ms after the others), with the given lru
 * fields. */
static void fill_half_volatile(uint32_t keep_lru, uint32_t vol_lru)
{
    db *d = server.dbs[0];
    for (int i = 0; i < NKEYS / 2; i++) add_key(d, "keep", i)->lru = keep_lru;
    for (int i = 0; i < NKEYS / 2; i++) {
        entry *e = add_key(d, "vol", i);
        e = db_set_expire(d, e, server.now_ms + 3600 * 1000LL + i);
        e->lru = vol_lru;
    }
}

static void check_only_volatile_evicted(int at_least)
{
    db *d = server.dbs[0];
    assert_int_equal(count_present(d, "keep", NKEYS / 2), NKEYS / 2);
    int vol_gone = NKEYS / 2 - count_present(d, "vol", NKEYS / 2);
    assert_true(vol_gone >= at_least);
    assert_int_equal(vol_gone, server.stat_evictedkeys);
    assert_int_equal(db_expires(d), (size_t)(NKEYS / 2 - vol_gone));
}

static void test_volatile_lru_spares_persistent(void **state)
{
    (void)state;
    server.maxmemory_policy = MAXMEMORY_VOLATILE_LRU;
    size_t per_key = measure_key_size();
    /* persistent keys are the idlest: an allkeys policy would take them */
    fill_half_volatile(lru_seconds_ago(20000), lru_seconds_ago(0));
    limit_to_evict(200, per_key + 12);
    assert_int_equal(evict(), 0);
    assert_fits();
    check_only_volatile_evicted(150);
}

static void test_volatile_lru_prefers_idle(void **state)
{
    (void)state;
    db *d = server.dbs[0];
    server.maxmemory_policy = MAXMEMORY_VOLATILE_LRU;
    size_t per_key = measure_key_size();
    for (int i = 0; i < NKEYS; i++) {
        entry *e = add_key(d, "vol", i);
        e = db_set_expire(d, e, server.now_ms + 3600 * 1000LL);
        e->lru = lru_seconds_ago(i < NKEYS / 2 ? 9000 : 0); /* first half idle */
    }
    limit_to_evict(300, per_key + 12);
    assert_int_equal(evict(), 0);
    assert_fits();
    int idle_gone = NKEYS / 2 - count_present(d, "vol", NKEYS / 2);
    assert_true(idle_gone >= 9 * server.stat_evictedkeys / 10);
}

static void test_volatile_lfu_spares_persistent(void **state)
{
    (void)state;
    db *d = server.dbs[0];
    server.maxmemory_policy = MAXMEMORY_VOLATILE_LFU;
    size_t per_key = measure_key_size();
    fill_half_volatile(lfu_field(0), lfu_field(100));
    /* among the volatile keys, the first 200 are rare */
    for (int i = 0; i < 200; i++) {
        char k[64];
        size_t klen = key_name(k, sizeof(k), "vol", i);
        db_find(d, k, klen)->lru = lfu_field(2);
    }
    limit_to_evict(80, per_key + 12);
    assert_int_equal(evict(), 0);
    assert_fits();
    check_only_volatile_evicted(60);
    int rare_gone = 200 - count_present(d, "vol", 200);
    assert_true(rare_gone >= 8 * server.stat_evictedkeys / 10);
}

static void test_volatile_random_spares_persistent(void **state)
{
    (void)state;
    server.maxmemory_policy = MAXMEMORY_VOLATILE_RANDOM;
    size_t per_key = measure_key_size();
    fill_half_volatile(lru_seconds_ago(0), lru_seconds_ago(0));
    limit_to_evict(200, per_key + 12);
    assert_int_equal(evict(), 0);
    assert_fits();
    check_only_volatile_evicted(150);
}

static void test_volatile_ttl_nearest_first(void **state)
{
    (void)state;
    db *d = server.dbs[0];
    server.maxmemory_policy = MAXMEMORY_VOLATILE_TTL;
    size_t per_key = measure_key_size();
    /* vol:i expires at now + 1h + i ms: vol:0 is the nearest */
    fill_half_volatile(lru_seconds_ago(0), lru_seconds_ago(0));
    limit_to_evict(100, per_key + 12);
    assert_int_equal(evict(), 0);
    assert_fits();
    check_only_volatile_evicted(80);
    /* sampled: the evicted are mostly among the nearest expiries */
    int near_gone = 250 - count_present(d, "vol", 250);
    assert_true(near_gone >= 9 * server.stat_evictedkeys / 10);
    long long sum_gone = 0, n_gone = 0, sum_left = 0, n_left = 0;
    for (int i = 0; i < NKEYS / 2; i++) {
        if (key_exists(d, "vol", i)) { sum_left += i; n_left++; }
        else { sum_gone += i; n_gone++; }
    }
    assert_true(n_gone > 0 && n_left > 0);
    assert_true(sum_gone / n_gone < sum_left / n_left);
}

static void test_volatile_without_ttl_keys_refuses(void **state)
{
    (void)state;
    int policies[] = {MAXMEMORY_VOLATILE_LRU, MAXMEMORY_VOLATILE_LFU, MAXMEMORY_VOLATILE_RANDOM,
                      MAXMEMORY_VOLATILE_TTL};
    db *d = server.dbs[0];
    for (int i = 0; i < 200; i++) add_key(d, "keep", i);
    for (size_t p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
        server.maxmemory_policy = policies[p];
        limit_to_evict(50, measure_key_size());
        assert_int_equal(evict(), -1);
        assert_int_equal(db_size(d), 200);
    }
    assert_int_equal(server.stat_evictedkeys, 0);
}

/* The pool keeps key names across calls; keys that vanish in between (DEL,
 * FLUSHALL) and long keys kept out of line must be handled. */
static void test_pool_survives_deletions_and_long_keys(void **state)
{
    (void)state;
    db *d = server.dbs[0];
    server.maxmemory_policy = MAXMEMORY_ALLKEYS_LRU;
    char prefix[200];
    memset(prefix, 'x', sizeof(prefix) - 1);
    prefix[sizeof(prefix) - 1] = '\0';
    size_t per_key = measure_key_size();
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 300; i++) add_key(d, i % 2 ? prefix : "short", i)->lru = lru_seconds_ago((uint32_t)i);
        limit_to_evict(20, per_key);
        assert_int_equal(evict(), 0);
        assert_fits();
        db_empty(d); /* leaves the pool full of names that no longer exist */
        server.maxmemory = 0;
    }
    for (int i = 0; i < 300; i++) add_key(d, "again", i);
    limit_to_evict(20, per_key);
    assert_int_equal(evict(), 0);
    assert_fits();
    /* a policy change drops the pool's incomparable scores */
    server.maxmemory_policy = MAXMEMORY_ALLKEYS_LFU;
    limit_to_evict(20, per_key);
    assert_int_equal(evict(), 0);
    assert_fits();
}

/* A limit far below the dataset: each call is bounded in time, repeated
 * calls make progress, and when everything is gone the answer is -1. */
static void test_bounded_calls_and_exhaustion(void **state)
{
    (void)state;
    db *d = server.dbs[0];
    server.maxmemory_policy = MAXMEMORY_ALLKEYS_LRU;
    for (int i = 0; i < 100000; i++) add_key(d, "bulk", i);
    server.maxmemory = 1; /* below what the server itself needs */
    int calls = 0, rc = 0;
    long long worst_us = 0;
    size_t last = db_size(d);
    while (calls < 100000) {
        long long t0 = monotonic_us();
        rc = evict_to_fit();
        long long took = monotonic_us() - t0;
        if (took > worst_us) worst_us = took;
        calls++;
        if (rc == -1) break;
        assert_true(db_size(d) < last); /* progress on every call */
        last = db_size(d);
    }
    assert_int_equal(rc, -1);
    assert_int_equal(db_size(d), 0);
    assert_true(calls > 1);
    print_message("evicted 100000 keys in %d calls, slowest call %lld us\n", calls, worst_us);
    /* 1 ms budget (5 ms hard) plus one sampling round; generous for a
     * loaded CI machine under ASan. Unbounded, this call would take ~1 s. */
    assert_true(worst_us < 200000);
}

int main(void)
{
    config_set_defaults();
    server_init();
    memset(value, 'v', sizeof(value));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_noeviction_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_under_limit_is_noop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allkeys_lru_prefers_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allkeys_lru_spans_databases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allkeys_lfu_prefers_rare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allkeys_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volatile_lru_spares_persistent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volatile_lru_prefers_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volatile_lfu_spares_persistent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volatile_random_spares_persistent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volatile_ttl_nearest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volatile_without_ttl_keys_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_survives_deletions_and_long_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded_calls_and_exhaustion, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    evict_reset_pool();
    return failed;
}
