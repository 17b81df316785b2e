/* test_util.c: unit tests for cachenode/util.c: canonical integer parsing
 * (what decides "int" encoding and INCR's errors), number formatting, and
 * glob matching (KEYS, SCAN MATCH, CONFIG GET). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

static int ll(const char *s, long long *out) { return string2ll(s, strlen(s), out); }

static void test_string2ll_accepts_canonical(void **state)
{
    (void)state;
    long long v;
    assert_true(ll("0", &v));
    assert_int_equal(v, 0);
    assert_true(ll("-1", &v));
    assert_int_equal(v, -1);
    assert_true(ll("9223372036854775807", &v));
    assert_true(v == LLONG_MAX);
    assert_true(ll("-9223372036854775808", &v));
    assert_true(v == LLONG_MIN);
}

static void test_string2ll_refuses_non_canonical(void **state)
{
    (void)state;
    long long v;
    const char *bad[] = {"", "-", "+1", "01", "-0", " 1", "1 ", "1a", "9223372036854775808",
                         "-9223372036854775809", "99999999999999999999", "1.0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) assert_false(ll(bad[i], &v));
}

static void test_ll2str_round_trips(void **state)
{
    (void)state;
    long long values[] = {0, 1, -1, 42, LLONG_MAX, LLONG_MIN, 1000000};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char buf[32];
        size_t n = ll2str(buf, sizeof(buf), values[i]);
        long long back;
        assert_int_equal(n, strlen(buf));
        assert_true(string2ll(buf, n, &back));
        assert_true(back == values[i]);
    }
}

static void test_ld2str_human_trims(void **state)
{
    (void)state;
    char buf[128];
    ld2str_human(buf, sizeof(buf), 10.5L);
    assert_string_equal(buf, "10.5");
    ld2str_human(buf, sizeof(buf), 3.0L);
    assert_string_equal(buf, "3");
    ld2str_human(buf, sizeof(buf), -0.0L);
    assert_string_equal(buf, "0");
    ld2str_human(buf, sizeof(buf), 5.0e3L);
    assert_string_equal(buf, "5000");
}

static int gm(const char *p, const char *s, int nocase)
{
    return glob_match(p, strlen(p), s, strlen(s), nocase);
}

static void test_glob(void **state)
{
    (void)state;
    /* as in Redis, no pattern matches the empty string but the empty
     * pattern; KEYS and SCAN treat a lone "*" as "everything" themselves */
    assert_false(gm("*", "", 0));
    assert_true(gm("", "", 0));
    assert_true(gm("*", "anything", 0));
    assert_true(gm("h?llo", "hello", 0));
    assert_false(gm("h?llo", "hllo", 0));
    assert_true(gm("h[ae]llo", "hallo", 0));
    assert_false(gm("h[ae]llo", "hillo", 0));
    assert_true(gm("h[^e]llo", "hallo", 0));
    assert_false(gm("h[^e]llo", "hello", 0));
    assert_true(gm("h[a-b]llo", "hbllo", 0));
    assert_true(gm("h\\*llo", "h*llo", 0));
    assert_false(gm("h\\*llo", "hello", 0));
    assert_true(gm("MAX*", "maxmemory", 1));
    assert_false(gm("MAX*", "maxmemory", 0));
    assert_true(gm("a*b*c", "aXXbYYc", 0));
    assert_false(gm("a*b*c", "aXXbYY", 0));
}

static void test_glob_pathological_is_bounded(void **state)
{
    (void)state;
    /* many stars against a long non-matching string must still finish */
    char s[64];
    memset(s, 'a', sizeof(s) - 1);
    s[sizeof(s) - 1] = '\0';
    assert_false(gm("a*a*a*a*a*a*a*b", s, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string2ll_accepts_canonical),
        cmocka_unit_test(test_string2ll_refuses_non_canonical),
        cmocka_unit_test(test_ll2str_round_trips),
        cmocka_unit_test(test_ld2str_human_trims),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_glob_pathological_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
