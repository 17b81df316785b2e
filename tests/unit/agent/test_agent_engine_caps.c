/* test_agent_engine_caps.c: the engine-capability table (common/engine_caps.c)
 * that the agent and the controller consult instead of comparing engine
 * names: the facts for redis and memcached, and the by-name lookups SQL
 * and JSON use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine_caps.h"

/* The capability table answers for both engines, by struct and by name. */
static void test_engine_caps(void **state)
{
    (void)state;
    const struct engine_caps *r = engine_by_name("redis"), *m = engine_by_name("memcached");
    assert_non_null(r);
    assert_non_null(m);
    assert_null(engine_by_name("mysql"));
    assert_null(engine_by_name(NULL));
    assert_ptr_equal(engine_get(ENGINE_MEMCACHED), m);
    assert_null(r->protocol); /* redis nodes start exactly as before: no --protocol */
    assert_string_equal(m->protocol, "memcached");
    assert_int_equal(r->wire, WIRE_RESP);
    assert_int_equal(m->wire, WIRE_TEXT);
    assert_string_equal(r->health_request, "PING");
    assert_null(r->health_reply);
    assert_string_equal(m->health_request, "version\r\n");
    assert_string_equal(m->health_reply, "VERSION ");
    assert_int_equal(r->metrics, METRICS_INFO);
    assert_int_equal(m->metrics, METRICS_STATS);
    assert_int_equal(engine_can("redis", "replicas"), 1);
    assert_int_equal(engine_can("redis", "discovery"), 0);
    assert_int_equal(engine_can("memcached", "replicas"), 0);
    assert_int_equal(engine_can("memcached", "failover"), 0);
    assert_int_equal(engine_can("memcached", "shards"), 0);
    assert_int_equal(engine_can("memcached", "cluster_mode"), 0);
    assert_int_equal(engine_can("memcached", "sentinel"), 0);
    assert_int_equal(engine_can("memcached", "discovery"), 1);
    assert_int_equal(engine_can("memcached", "nodes"), 1);
    assert_int_equal(engine_can("redis", "nodes"), 0);
    assert_int_equal(engine_can("memcached", "flying"), -1);
    assert_int_equal(engine_can("mysql", "replicas"), -1);
    assert_int_equal(m->min_nodes, 1);
    assert_int_equal(m->max_nodes, 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
