/* test_ctl_slots.c: hash slots as text ranges (common/slots.c): the even
 * spread over N shards the controller gives a new cluster, and parsing and
 * formatting of the text form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "slots.h"

static void test_spread_covers_every_slot_once(void **state)
{
    (void)state;
    const int counts[] = {1, 2, 3, 7, 100, 500, 16384};
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        int n = counts[k], next = 0;
        for (int i = 0; i < n; i++) {
            int first, last;
            assert_int_equal(slots_spread(n, i, &first, &last), 0);
            assert_int_equal(first, next); /* in order, no gap, no overlap */
            int size = last - first + 1, want = SLOTS_COUNT / n + (i < SLOTS_COUNT % n ? 1 : 0);
            assert_int_equal(size, want);
            next = last + 1;
        }
        assert_int_equal(next, SLOTS_COUNT);
    }
}

static void test_spread_three_shards(void **state)
{
    (void)state;
    int f, l;
    assert_int_equal(slots_spread(3, 0, &f, &l), 0);
    assert_int_equal(f, 0);
    assert_int_equal(l, 5461); /* 16384 % 3 = 1: the first shard takes one more */
    assert_int_equal(slots_spread(3, 1, &f, &l), 0);
    assert_int_equal(f, 5462);
    assert_int_equal(l, 10922);
    assert_int_equal(slots_spread(3, 2, &f, &l), 0);
    assert_int_equal(f, 10923);
    assert_int_equal(l, 16383);
    assert_int_equal(slots_spread(0, 0, &f, &l), -1);
    assert_int_equal(slots_spread(3, 3, &f, &l), -1);
    assert_int_equal(slots_spread(3, -1, &f, &l), -1);
}

static void test_parse_and_format(void **state)
{
    (void)state;
    unsigned char *owned = calloc(SLOTS_COUNT, 1);
    char *text = malloc(SLOTS_TEXT_MAX);
    assert_non_null(owned);
    assert_non_null(text);
    assert_int_equal(slots_parse("0-5460,5462", owned), 0);
    assert_int_equal(slots_format(owned, text, SLOTS_TEXT_MAX), 0);
    assert_string_equal(text, "0-5460,5462");
    assert_int_equal(slots_parse("5461", owned), 0); /* adds to what is marked */
    assert_int_equal(slots_format(owned, text, SLOTS_TEXT_MAX), 0);
    assert_string_equal(text, "0-5462");
    assert_int_equal(slots_parse("5461", owned), -1); /* already owned */
    memset(owned, 0, SLOTS_COUNT);
    assert_int_equal(slots_format(owned, text, SLOTS_TEXT_MAX), 0);
    assert_string_equal(text, "-");
    for (int s = 0; s < SLOTS_COUNT; s += 2) owned[s] = 1; /* the longest text there is */
    assert_int_equal(slots_format(owned, text, SLOTS_TEXT_MAX), 0);
    assert_int_equal(slots_count(text), SLOTS_COUNT / 2);
    assert_int_equal(slots_format(owned, text, 10), -1);
    const char *bad[] = {"", "16384", "5-4", "1,", ",1", "1,,2", "1-", "-1", "a", "1 2", "000001", "1-2-3", "+1", "1,1", NULL};
    for (int i = 0; bad[i]; i++) {
        memset(owned, 0, SLOTS_COUNT);
        if (slots_parse(bad[i], owned) == 0) fail_msg("accepted: '%s'", bad[i]);
        assert_int_equal(slots_count(bad[i]), -1);
    }
    assert_int_equal(slots_count("-"), 0);
    assert_int_equal(slots_count("0-16383"), SLOTS_COUNT);
    assert_int_equal(slots_count("5,7-9"), 4);
    free(owned);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spread_covers_every_slot_once),
        cmocka_unit_test(test_spread_three_shards),
        cmocka_unit_test(test_parse_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
