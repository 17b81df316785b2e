/* test_ctl_nodestats.c: the controller's in-memory node history
 * (controller/nodestats.c): a point per 5 s step, the hit ratio of each
 * step's own lookups, the 15-minute ring, ?since=, unknown values as null,
 * and entries dropped after the history's span without reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "nodestats.h"

static json_t *beat(long long ops, long long used, long long hits, long long misses)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:n}", "ops_per_sec", (json_int_t)ops, "used_memory",
                     (json_int_t)used, "maxmemory", (json_int_t)1000, "connected_clients", (json_int_t)2,
                     "keyspace_hits", (json_int_t)hits, "keyspace_misses", (json_int_t)misses, "evicted_keys",
                     (json_int_t)0, "repl_lag_bytes");
}

static void record(struct nodestats *s, const char *id, long long now, long long ops, long long used, long long hits,
                   long long misses)
{
    json_t *b = beat(ops, used, hits, misses);
    nodestats_record(s, id, b, now);
    json_decref(b);
}

static json_t *query(struct nodestats *s, const char *id, long long since, long long now)
{
    json_t *rows = json_pack("[{s:s}]", "id", id);
    json_t *doc = nodestats_json(s, rows, since, now);
    json_decref(rows);
    assert_non_null(doc);
    return doc;
}

static json_t *node0(json_t *doc) { return json_array_get(json_object_get(doc, "nodes"), 0); }
static json_t *history(json_t *doc, const char *k) { return json_object_get(json_object_get(node0(doc), "history"), k); }

static void test_steps_and_step_hit_ratio(void **state)
{
    (void)state;
    struct nodestats *s = nodestats_new();
    long long t = 1000000;
    record(s, "n1", t, 10, 500, 0, 0);
    record(s, "n1", t + 1000, 20, 600, 30, 10); /* within the first step: no point yet */
    json_t *doc = query(s, "n1", 0, t + 1000);
    assert_int_equal(json_array_size(history(doc, "time_ms")), 0);
    json_t *cur = json_object_get(node0(doc), "current");
    assert_int_equal(json_integer_value(json_object_get(cur, "ops_per_sec")), 20);
    assert_true(json_is_null(json_object_get(cur, "hit_ratio")));
    assert_true(json_is_null(json_object_get(cur, "repl_lag_bytes")));
    json_decref(doc);

    record(s, "n1", t + 5000, 30, 700, 60, 20); /* closes step 1: 60 hits, 20 misses */
    record(s, "n1", t + 10000, 40, 800, 60, 20); /* step 2: no lookups */
    record(s, "n1", t + 15000, 50, 900, 70, 50); /* step 3: 10 hits, 30 misses */
    doc = query(s, "n1", 0, t + 15000);
    json_t *ratio = history(doc, "hit_ratio");
    assert_int_equal(json_array_size(ratio), 3);
    assert_true(json_real_value(json_array_get(ratio, 0)) > 0.749 && json_real_value(json_array_get(ratio, 0)) < 0.751);
    assert_true(json_is_null(json_array_get(ratio, 1)));
    assert_true(json_real_value(json_array_get(ratio, 2)) > 0.249 && json_real_value(json_array_get(ratio, 2)) < 0.251);
    assert_int_equal((long long)json_real_value(json_array_get(history(doc, "used_memory"), 2)), 900);
    assert_true(json_is_null(json_array_get(history(doc, "repl_lag_bytes"), 0)));
    json_decref(doc);

    doc = query(s, "n1", t + 10000, t + 15000); /* since: only the last point */
    assert_int_equal(json_array_size(history(doc, "time_ms")), 1);
    assert_int_equal(json_integer_value(json_array_get(history(doc, "time_ms"), 0)), t + 15000);
    json_decref(doc);
    nodestats_free(s);
}

static void test_ring_keeps_fifteen_minutes(void **state)
{
    (void)state;
    struct nodestats *s = nodestats_new();
    long long t = 5000000;
    for (int i = 0; i <= NODESTATS_POINTS + 20; i++) record(s, "n1", t + (long long)i * NODESTATS_STEP_MS, i, i, 0, 0);
    long long last = t + (long long)(NODESTATS_POINTS + 20) * NODESTATS_STEP_MS;
    json_t *doc = query(s, "n1", 0, last);
    json_t *times = history(doc, "time_ms");
    assert_int_equal(json_array_size(times), NODESTATS_POINTS);
    assert_int_equal(json_integer_value(json_array_get(times, NODESTATS_POINTS - 1)), last);
    assert_int_equal(json_integer_value(json_array_get(times, 0)), last - (NODESTATS_POINTS - 1) * NODESTATS_STEP_MS);
    json_decref(doc);
    nodestats_free(s);
}

static void test_unknown_and_silent_nodes(void **state)
{
    (void)state;
    struct nodestats *s = nodestats_new();
    long long t = 9000000;
    json_t *doc = query(s, "never", 0, t);
    assert_true(json_is_null(json_object_get(node0(doc), "current")));
    assert_int_equal(json_array_size(history(doc, "time_ms")), 0);
    json_decref(doc);

    record(s, "quiet", t, 1, 1, 0, 0);
    doc = query(s, "quiet", 0, t + 3 * NODESTATS_STEP_MS + 1); /* not heard from for three steps */
    assert_true(json_is_null(json_object_get(node0(doc), "current")));
    json_decref(doc);
    /* after the whole span without a report, the next sweep drops it */
    record(s, "other", t + (long long)NODESTATS_POINTS * NODESTATS_STEP_MS + 120000, 1, 1, 0, 0);
    doc = query(s, "quiet", 0, t);
    assert_true(json_is_null(json_object_get(node0(doc), "current")));
    json_decref(doc);
    nodestats_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_and_step_hit_ratio),
        cmocka_unit_test(test_ring_keeps_fifteen_minutes),
        cmocka_unit_test(test_unknown_and_silent_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
