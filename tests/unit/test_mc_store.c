/* test_mc_store.c: unit tests for the memcached engine's store: memcached's
 * expiry rules (0, relative, over 30 days absolute, negative), the storage
 * modes and CAS, incr/decr (wrap, floor, padding, non-numeric), flush, the
 * item size limit, and eviction under maxmemory (CLOCK spares items read
 * since the hand passed; noeviction refuses). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mc.h"

static int start(size_t maxmemory, int evict)
{
    struct mc_store_config cfg = {maxmemory, 1024 * 1024, evict};
    return mc_store_init(&cfg);
}

static int setup(void **state)
{
    (void)state;
    return start(64 * 1024 * 1024, 1);
}

static int teardown(void **state)
{
    (void)state;
    mc_store_release();
    return 0;
}

static enum mc_result put(const char *key, const char *val, enum mc_store_mode mode, long long exptime,
                          uint64_t cas, uint64_t *cas_out)
{
    enum mc_result res;
    mc_item *it = mc_item_new(key, strlen(key), 0, mc_exptime(exptime), strlen(val), &res);
    if (!it) return res;
    memcpy(MC_ITEM_VAL(it), val, strlen(val));
    return mc_store_item(it, mode, cas, 0, cas_out);
}

static int copy_value(mc_item *it, void *arg)
{
    if (!it) return 0;
    memcpy(arg, MC_ITEM_VAL(it), it->nbytes);
    ((char *)arg)[it->nbytes] = '\0';
    it->bits |= MC_REF;
    return 1;
}

/* The value of key, or NULL on a miss. */
static const char *get(const char *key)
{
    static char buf[4096];
    return mc_store_visit(key, strlen(key), copy_value, buf) ? buf : NULL;
}

static void test_expiry_rules(void **state)
{
    (void)state;
    uint32_t now = mc_now();
    assert_int_equal(mc_exptime(0), 0);
    assert_int_equal(mc_exptime(-1), 1); /* already expired */
    assert_int_equal(mc_exptime(100), now + 100);
    assert_int_equal(mc_exptime(60 * 60 * 24 * 30), now + 60 * 60 * 24 * 30); /* still relative */
    assert_int_equal(mc_exptime(60 * 60 * 24 * 30 + 1), 1); /* a Unix time in 1970 */
    long long in_an_hour = (long long)time(NULL) + 3600;
    uint32_t abs = mc_exptime(in_an_hour);
    assert_true(abs >= now + 3598 && abs <= now + 3602);

    assert_int_equal(put("never", "v", MC_SET, 0, 0, NULL), MC_STORED);
    assert_int_equal(put("past", "v", MC_SET, -1, 0, NULL), MC_STORED);
    assert_int_equal(put("old", "v", MC_SET, 60 * 60 * 24 * 30 + 1, 0, NULL), MC_STORED);
    assert_int_equal(put("future", "v", MC_SET, in_an_hour, 0, NULL), MC_STORED);
    assert_non_null(get("never"));
    assert_null(get("past"));
    assert_null(get("old"));
    assert_non_null(get("future"));
    /* an expired key is absent for add and replace too */
    assert_int_equal(put("past", "w", MC_REPLACE, 0, 0, NULL), MC_NOT_STORED);
    assert_int_equal(put("past", "w", MC_ADD, 0, 0, NULL), MC_STORED);
}

static void test_modes_and_cas(void **state)
{
    (void)state;
    uint64_t c1, c2;
    assert_int_equal(put("k", "a", MC_REPLACE, 0, 0, NULL), MC_NOT_STORED);
    assert_int_equal(put("k", "a", MC_APPEND, 0, 0, NULL), MC_NOT_STORED);
    assert_int_equal(put("k", "a", MC_CAS, 0, 1, NULL), MC_NOT_FOUND);
    assert_int_equal(put("k", "b", MC_ADD, 0, 0, &c1), MC_STORED);
    assert_int_equal(put("k", "x", MC_ADD, 0, 0, NULL), MC_NOT_STORED);
    assert_int_equal(put("k", "c", MC_APPEND, 0, 0, NULL), MC_STORED);
    assert_int_equal(put("k", "a", MC_PREPEND, 0, 0, NULL), MC_STORED);
    assert_string_equal(get("k"), "abc");
    assert_int_equal(put("k", "zz", MC_CAS, 0, c1, NULL), MC_EXISTS); /* append changed the CAS */
    assert_int_equal(put("k", "d", MC_SET, 0, 0, &c2), MC_STORED);
    assert_true(c2 > c1);
    assert_int_equal(put("k", "e", MC_CAS, 0, c2, NULL), MC_STORED);
    assert_string_equal(get("k"), "e");
    assert_int_equal(mc_store_delete("k", 1, 12345), MC_EXISTS);
    assert_int_equal(mc_store_delete("k", 1, 0), MC_DELETED);
    assert_int_equal(mc_store_delete("k", 1, 0), MC_NOT_FOUND);
}

static void test_incr_decr(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(mc_store_delta("n", 1, 1, 1, 0, 1, &v, NULL), MC_NOT_FOUND);
    put("n", "18446744073709551615", MC_SET, 0, 0, NULL);
    assert_int_equal(mc_store_delta("n", 1, 1, 2, 0, 1, &v, NULL), MC_OK);
    assert_true(v == 1); /* wraps at 64 bits */
    assert_string_equal(get("n"), "1                   "); /* padded in place */
    put("n", "10", MC_SET, 0, 0, NULL);
    assert_int_equal(mc_store_delta("n", 1, 0, 100, 0, 1, &v, NULL), MC_OK);
    assert_true(v == 0); /* decr stops at 0 */
    assert_int_equal(mc_store_delta("n", 1, 1, 12345, 0, 0, &v, NULL), MC_OK);
    assert_string_equal(get("n"), "12345"); /* grown: a new value */
    assert_int_equal(mc_store_delta("n", 1, 0, 12340, 0, 0, &v, NULL), MC_OK);
    assert_string_equal(get("n"), "5"); /* not in place: exact length */
    put("s", "12a", MC_SET, 0, 0, NULL);
    assert_int_equal(mc_store_delta("s", 1, 1, 1, 0, 1, &v, NULL), MC_NON_NUMERIC);
    put("s", "", MC_SET, 0, 0, NULL);
    assert_int_equal(mc_store_delta("s", 1, 1, 1, 0, 1, &v, NULL), MC_NON_NUMERIC);
    put("s", "-5", MC_SET, 0, 0, NULL);
    assert_int_equal(mc_store_delta("s", 1, 1, 1, 0, 1, &v, NULL), MC_NON_NUMERIC); /* "-5" is not a number to memcached */
}

static void test_flush(void **state)
{
    (void)state;
    put("a", "1", MC_SET, 0, 0, NULL);
    put("b", "2", MC_SET, 0, 0, NULL);
    mc_store_flush(100); /* later: still there now */
    assert_non_null(get("a"));
    mc_store_flush(0);
    assert_null(get("a"));
    assert_null(get("b"));
    struct mc_store_stats st;
    mc_store_stats(&st);
    assert_int_equal(st.curr_items, 0);
    assert_int_equal(st.bytes, 0);
}

static void test_item_size_limit(void **state)
{
    (void)state;
    /* memcached's limit: key + value + 59 bytes of overhead <= 1 MB */
    assert_true(mc_item_size_ok(1, 1048516));
    assert_false(mc_item_size_ok(1, 1048517));
    enum mc_result res;
    assert_null(mc_item_new("k", 1, 0, 0, 2000000, &res));
    assert_int_equal(res, MC_TOO_LARGE);
}

static void test_eviction(void **state)
{
    (void)state;
    mc_store_release();
    assert_int_equal(start(1024 * 1024, 1), 0);
    char key[32], val[100];
    memset(val, 'v', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    put("hot", "h", MC_SET, 0, 0, NULL);
    for (int i = 0; i < 50000; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        assert_int_equal(put(key, val, MC_SET, 0, 0, NULL), MC_STORED); /* never out of memory */
        if (i % 100 == 0) assert_non_null(get("hot")); /* read often: CLOCK keeps it */
    }
    struct mc_store_stats st;
    mc_store_stats(&st);
    assert_true(st.bytes <= 1024 * 1024);
    assert_true(st.evictions > 0);
    assert_true(st.curr_items < 50000);
    assert_non_null(get("hot"));
    assert_non_null(get("key:49999"));
}

static void test_noeviction(void **state)
{
    (void)state;
    mc_store_release();
    assert_int_equal(start(256 * 1024, 0), 0);
    char key[32];
    enum mc_result res = MC_STORED;
    int i;
    for (i = 0; i < 100000 && res == MC_STORED; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        res = put(key, "0123456789012345678901234567890123456789", MC_SET, 0, 0, NULL);
    }
    assert_int_equal(res, MC_NO_MEMORY);
    assert_non_null(get("key:0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_expiry_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modes_and_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incr_decr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eviction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noeviction, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
