/* test_ctl_reshard_plan.c: the slot-move planner (controller/reshard_plan.c):
 * scale out, scale in and rebalance move the fewest slots, in whole ranges
 * where possible, and leave every slot owned exactly once and the shards
 * even. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reshard_plan.h"
#include "slots.h"

/* The even spread of a new cluster of n shards, as texts. */
static char **spread(int n)
{
    char **t = calloc((size_t)n, sizeof(char *));
    assert_non_null(t);
    for (int i = 0; i < n; i++) {
        int f, l;
        assert_int_equal(slots_spread(n, i, &f, &l), 0);
        t[i] = malloc(32);
        assert_non_null(t[i]);
        snprintf(t[i], 32, "%d-%d", f, l);
    }
    return t;
}

static void free_texts(char **t, int n)
{
    for (int i = 0; i < n; i++) free(t[i]);
    free(t);
}

/* Applies the moves to the texts (nnew of them afterwards) and checks that
 * every slot is owned once and the remaining shards differ by at most one. */
static char **apply(char **t, int nold, int nnew, const struct plan_move *m, int nm)
{
    int total = nold > nnew ? nold : nnew;
    unsigned char *own = calloc((size_t)total * SLOTS_COUNT, 1);
    assert_non_null(own);
    for (int i = 0; i < nold; i++) assert_int_equal(slots_parse(t[i], own + (size_t)i * SLOTS_COUNT), 0);
    for (int k = 0; k < nm; k++) {
        unsigned char *mv = calloc(SLOTS_COUNT, 1);
        assert_non_null(mv);
        assert_int_equal(slots_parse(m[k].slots, mv), 0);
        int c = 0;
        for (int s = 0; s < SLOTS_COUNT; s++) {
            if (!mv[s]) continue;
            c++;
            assert_int_equal(own[(size_t)m[k].from * SLOTS_COUNT + s], 1); /* the donor owns it */
            own[(size_t)m[k].from * SLOTS_COUNT + s] = 0;
            own[(size_t)m[k].to * SLOTS_COUNT + s] = 1;
        }
        assert_int_equal(c, m[k].count);
        assert_true(m[k].to < nnew);
        free(mv);
    }
    char **out = calloc((size_t)nnew, sizeof(char *));
    int lo = SLOTS_COUNT, hi = 0;
    for (int i = 0; i < total; i++) {
        int c = 0;
        for (int s = 0; s < SLOTS_COUNT; s++) c += own[(size_t)i * SLOTS_COUNT + s];
        if (i >= nnew) { assert_int_equal(c, 0); continue; }
        lo = c < lo ? c : lo;
        hi = c > hi ? c : hi;
        out[i] = malloc(SLOTS_TEXT_MAX);
        assert_int_equal(slots_format(own + (size_t)i * SLOTS_COUNT, out[i], SLOTS_TEXT_MAX), 0);
    }
    assert_true(hi - lo <= 1);
    assert_int_equal(lo, SLOTS_COUNT / nnew);
    free(own);
    return out;
}

static int moved(const struct plan_move *m, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++) c += m[i].count;
    return c;
}

static void test_scale_out_3_to_5(void **state)
{
    (void)state;
    char **t = spread(3);
    struct plan_move *m;
    int n = plan_moves((const char *const *)t, 3, 5, &m);
    assert_true(n >= 2 && n <= 4);
    /* 5462+5461+5461 -> 3277,3277,3277,3277,3276: each old shard gives its surplus */
    assert_int_equal(moved(m, n), 3277 + 3276); /* what the two new shards end with */
    for (int i = 0; i < n; i++) assert_true(m[i].to >= 3);
    assert_string_equal(m[0].slots, "3277-5461"); /* the end of shard 0's range, whole */
    char **after = apply(t, 3, 5, m, n);
    plan_free(m, n);
    /* 5 -> 2: the two last shards are emptied and the slots even out */
    n = plan_moves((const char *const *)after, 5, 2, &m);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) assert_true(m[i].to < 2 && m[i].from >= 2);
    char **two = apply(after, 5, 2, m, n);
    assert_int_equal(moved(m, n), 3277 + 3277 + 3276); /* only the removed shards' slots */
    plan_free(m, n);
    free_texts(two, 2);
    free_texts(after, 5);
    free_texts(t, 3);
}

static void test_even_cluster_needs_no_move(void **state)
{
    (void)state;
    char **t = spread(7);
    struct plan_move *m;
    assert_int_equal(plan_moves((const char *const *)t, 7, 7, &m), 0);
    assert_null(m);
    free_texts(t, 7);
}

static void test_rebalance_uneven(void **state)
{
    (void)state;
    const char *t[] = {"0-9999", "10000-15000", "15001-16383"};
    struct plan_move *m;
    int n = plan_moves(t, 3, 3, &m);
    assert_int_equal(n, 2);
    /* shard 0 keeps the extra slot (it has the most): 5462, 5461, 5461 */
    assert_int_equal(moved(m, n), 10000 - 5462);
    assert_int_equal(m[0].from, 0);
    assert_int_equal(m[0].to, 1);
    assert_int_equal(m[0].count, 460);
    assert_string_equal(m[0].slots, "9540-9999");
    assert_int_equal(m[1].to, 2);
    assert_string_equal(m[1].slots, "5462-9539");
    char **after = apply((char **)t, 3, 3, m, n);
    free_texts(after, 3);
    plan_free(m, n);
}

static void test_scale_in_to_one(void **state)
{
    (void)state;
    char **t = spread(4);
    struct plan_move *m;
    int n = plan_moves((const char *const *)t, 4, 1, &m);
    assert_int_equal(n, 3);
    assert_int_equal(moved(m, n), 16384 - 4096);
    for (int i = 0; i < n; i++) assert_int_equal(m[i].to, 0);
    char **after = apply(t, 4, 1, m, n);
    assert_string_equal(after[0], "0-16383");
    free_texts(after, 1);
    plan_free(m, n);
    free_texts(t, 4);
}

static void test_scattered_slots(void **state)
{
    (void)state;
    const char *t[] = {"0-100,200-16383", "101-199"};
    struct plan_move *m;
    int n = plan_moves(t, 2, 2, &m);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].count, 16384 - 99 - 8192);
    char **after = apply((char **)t, 2, 2, m, n);
    free_texts(after, 2);
    plan_free(m, n);
}

static void test_scale_out_to_500(void **state)
{
    (void)state;
    char **t = spread(3);
    struct plan_move *m;
    int n = plan_moves((const char *const *)t, 3, 500, &m);
    assert_true(n >= 497 && n <= 499);
    char **after = apply(t, 3, 500, m, n);
    free_texts(after, 500);
    plan_free(m, n);
    free_texts(t, 3);
}

static void test_invalid_input(void **state)
{
    (void)state;
    struct plan_move *m;
    const char *gap[] = {"0-100", "200-16383"};
    const char *overlap[] = {"0-8192", "8192-16383"};
    const char *junk[] = {"0-16383", "x"};
    const char *all[] = {"0-16383"};
    assert_int_equal(plan_moves(gap, 2, 2, &m), -1);
    assert_int_equal(plan_moves(overlap, 2, 2, &m), -1);
    assert_int_equal(plan_moves(junk, 2, 2, &m), -1);
    assert_int_equal(plan_moves(all, 1, 0, &m), -1);
    assert_int_equal(plan_moves(all, 1, 501, &m), -1);
    assert_null(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale_out_3_to_5),  cmocka_unit_test(test_even_cluster_needs_no_move),
        cmocka_unit_test(test_rebalance_uneven),  cmocka_unit_test(test_scale_in_to_one),
        cmocka_unit_test(test_scattered_slots),   cmocka_unit_test(test_scale_out_to_500),
        cmocka_unit_test(test_invalid_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
