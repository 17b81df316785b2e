/* test_hll.c: unit tests for cachenode/hll_enc.c: the element hash against
 * registers redis-server reports, dense register packing, sparse updates
 * agreeing with dense ones, promotion limits, corrupt streams, and the
 * estimate's error on 1M..10M distinct elements against the exact count. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "hll_enc.h"

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Register and value of single elements, read from redis-server 7.0 with
 * PFADD then PFDEBUG DECODE. */
static void test_pattern_matches_redis(void **state)
{
    (void)state;
    struct { const char *ele; long reg; int count; } v[] = {
        {"a", 12711, 2}, {"hello", 9216, 1}, {"", 5938, 2}, {"12345678", 10579, 3}, {"abcdefghi", 6903, 1},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        long reg;
        int count = hll_pattern((const unsigned char *)v[i].ele, strlen(v[i].ele), &reg);
        assert_int_equal(reg, v[i].reg);
        assert_int_equal(count, v[i].count);
    }
}

static void test_dense_registers_keep_neighbours(void **state)
{
    (void)state;
    unsigned char *regs = calloc(1, HLL_DENSE_BYTES + 1);
    uint8_t *ref = calloc(1, HLL_REGISTERS);
    for (long j = 0; j < HLL_REGISTERS; j++) {
        ref[j] = (uint8_t)(rng() % (HLL_REGISTER_MAX + 1));
        hll_dense_set(regs, j, ref[j]);
    }
    for (long j = 0; j < HLL_REGISTERS; j++) assert_int_equal(hll_dense_get(regs, j), ref[j]);
    assert_int_equal(regs[HLL_DENSE_BYTES], 0); /* nothing written past the registers */
    assert_int_equal(hll_dense_set(regs, 5, 0), 0); /* never lowers */
    free(regs);
    free(ref);
}

static void test_new_sparse_is_one_xzero(void **state)
{
    (void)state;
    unsigned char s[HLL_SPARSE_NEW_SIZE];
    hll_init_sparse(s);
    assert_true(hll_header_valid(s, sizeof(s)));
    assert_int_equal(hll_encoding(s), HLL_SPARSE);
    size_t n;
    char *text = hll_sparse_decode(s, sizeof(s), &n);
    assert_string_equal(text, "Z:16384");
    zfree(text);
    int invalid = 0;
    assert_int_equal(hll_count(s, sizeof(s), &invalid), 0);
    assert_int_equal(invalid, 0);
}

/* Random updates applied to a sparse and a dense copy give the same
 * registers, and the sparse stream never passes its limit. */
static void test_sparse_updates_agree_with_dense(void **state)
{
    (void)state;
    size_t cap = 40000, len = HLL_SPARSE_NEW_SIZE;
    unsigned char *sp = malloc(cap), *dense = calloc(1, HLL_DENSE_SIZE + 1), *conv = malloc(HLL_DENSE_SIZE);
    hll_init_sparse(sp);
    for (int i = 0; i < 6000; i++) {
        long reg = (long)(rng() % 3000) * 5 + (i % 5); /* clustered: runs merge and split */
        int count = 1 + (int)(rng() % 32);
        int rv = hll_sparse_set(sp, &len, reg, count, cap - HLL_SPARSE_MAX_GROWTH);
        assert_true(rv == HLL_UPDATED || rv == HLL_UNCHANGED);
        assert_int_equal(rv, hll_dense_set(dense + HLL_HDR_SIZE, reg, count));
        assert_true(len <= cap - HLL_SPARSE_MAX_GROWTH);
    }
    assert_int_equal(hll_sparse_to_dense(sp, len, conv), 0);
    assert_memory_equal(conv + HLL_HDR_SIZE, dense + HLL_HDR_SIZE, HLL_DENSE_BYTES);
    assert_int_equal(hll_encoding(conv), HLL_DENSE);
    free(sp);
    free(dense);
    free(conv);
}

static void test_sparse_refuses_what_it_cannot_hold(void **state)
{
    (void)state;
    unsigned char s[64];
    size_t len = HLL_SPARSE_NEW_SIZE;
    hll_init_sparse(s);
    assert_int_equal(hll_sparse_set(s, &len, 100, 33, 3000), HLL_NEEDS_DENSE); /* > 32 */
    assert_int_equal(len, HLL_SPARSE_NEW_SIZE);
    assert_int_equal(hll_sparse_set(s, &len, 100, 3, HLL_SPARSE_NEW_SIZE), HLL_NEEDS_DENSE);
    assert_int_equal(hll_sparse_set(s, &len, 100, 3, 3000), HLL_UPDATED);
    size_t n;
    char *text = hll_sparse_decode(s, len, &n);
    assert_string_equal(text, "Z:100 v:3,1 Z:16283");
    zfree(text);
    assert_false(hll_cache_valid(s));
}

static void test_corrupt_streams_are_detected(void **state)
{
    (void)state;
    unsigned char s[HLL_SPARSE_NEW_SIZE + 1];
    hll_init_sparse(s);
    s[HLL_HDR_SIZE + 1] = 0xfe; /* covers 16383 registers */
    size_t len = HLL_SPARSE_NEW_SIZE;
    int invalid = 0;
    hll_count(s, len, &invalid);
    assert_int_equal(invalid, 1);
    unsigned char *out = malloc(HLL_DENSE_SIZE);
    assert_int_equal(hll_sparse_to_dense(s, len, out), -1);
    assert_int_equal(hll_sparse_set(s, &len, 16383, 1, 3000), HLL_CORRUPT);
    uint8_t max[HLL_REGISTERS] = {0};
    assert_int_equal(hll_merge_into(max, s, len), -1);
    s[HLL_HDR_SIZE] = 0x40; /* an XZERO cut short */
    len = HLL_HDR_SIZE + 1;
    assert_int_equal(hll_sparse_to_dense(s, len, out), -1);
    assert_false(hll_header_valid((const unsigned char *)"HYLL", 4));
    free(out);
}

/* 1.04 / sqrt(16384) = 0.81% standard error: at 1M..10M distinct elements
 * each estimate is within 3 standard errors, and their mean absolute error
 * within 1.5. */
static void test_error_rate_on_millions(void **state)
{
    (void)state;
    unsigned char *d = calloc(1, HLL_DENSE_SIZE + 1);
    memcpy(d, "HYLL", 4);
    const double std = 1.04 / sqrt((double)HLL_REGISTERS);
    const long checkpoints[] = {1000000, 2000000, 3000000, 5000000, 7500000, 10000000};
    double sum = 0;
    long n = 0;
    for (size_t c = 0; c < sizeof(checkpoints) / sizeof(checkpoints[0]); c++) {
        for (; n < checkpoints[c]; n++) {
            char ele[24];
            int len = snprintf(ele, sizeof(ele), "ele:%ld", n);
            long reg;
            int count = hll_pattern((const unsigned char *)ele, (size_t)len, &reg);
            hll_dense_set(d + HLL_HDR_SIZE, reg, count);
        }
        double est = (double)hll_count(d, HLL_DENSE_SIZE, NULL);
        double err = fabs(est - (double)n) / (double)n;
        assert_true(err < 3 * std);
        sum += err;
    }
    assert_true(sum / 6 < 1.5 * std);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pattern_matches_redis),
        cmocka_unit_test(test_dense_registers_keep_neighbours),
        cmocka_unit_test(test_new_sparse_is_one_xzero),
        cmocka_unit_test(test_sparse_updates_agree_with_dense),
        cmocka_unit_test(test_sparse_refuses_what_it_cannot_hold),
        cmocka_unit_test(test_corrupt_streams_are_detected),
        cmocka_unit_test(test_error_rate_on_millions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
