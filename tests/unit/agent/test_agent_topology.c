/* test_agent_topology.c: the cluster topology of a node spec
 * (agent/topology.c, and its place in agent/spec.c): validation, the
 * CLUSTER SETTOPOLOGY argument vector, the JSON round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "spec.h"
#include "topology.h"

#define TWO_SHARDS                                                                                                \
    "{\"epoch\":7,\"shards\":["                                                                                   \
    "{\"id\":\"0001\",\"slots\":\"0-8191\",\"nodes\":[{\"id\":\"demo-0001-001\",\"host\":\"127.0.0.2\",\"port\":7001}," \
    "{\"id\":\"demo-0001-002\",\"host\":\"127.0.0.3\",\"port\":7002}]},"                                            \
    "{\"id\":\"0002\",\"slots\":\"8192-16383\",\"nodes\":[{\"id\":\"demo-0002-003\",\"host\":\"127.0.0.4\",\"port\":7003}]}]}"

static struct topology *parse(const char *text, char *err)
{
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    assert_non_null(doc);
    struct topology *t = topology_parse(doc, err, 256);
    json_decref(doc);
    return t;
}

static void test_argv(void **state)
{
    (void)state;
    char err[256];
    struct topology *t = parse(TWO_SHARDS, err);
    assert_non_null(t);
    const char *want[] = {"CLUSTER", "SETTOPOLOGY", "7", "2",
                          "0001", "0-8191", "2", "demo-0001-001", "127.0.0.2", "7001", "demo-0001-002", "127.0.0.3", "7002",
                          "0002", "8192-16383", "1", "demo-0002-003", "127.0.0.4", "7003"};
    assert_int_equal(t->argc, (int)(sizeof(want) / sizeof(want[0])));
    assert_int_equal(t->epoch, 7);
    for (int i = 0; i < t->argc; i++) assert_string_equal(t->argv[i], want[i]);
    assert_null(t->argv[t->argc]);
    topology_free(t);
}

static void test_json_round_trip_and_equal(void **state)
{
    (void)state;
    char err[256];
    struct topology *t = parse(TWO_SHARDS, err);
    assert_non_null(t);
    json_t *j = topology_to_json(t);
    struct topology *u = topology_parse(j, err, sizeof(err));
    json_decref(j);
    assert_non_null(u);
    assert_true(topology_equal(t, u));
    struct topology *d = topology_dup(t);
    assert_true(topology_equal(t, d));
    assert_true(topology_equal(NULL, NULL));
    assert_false(topology_equal(t, NULL));
    struct topology *other = parse("{\"epoch\":7,\"shards\":[{\"id\":\"0001\",\"slots\":\"0-16383\",\"nodes\":"
                                   "[{\"id\":\"a\",\"host\":\"h\",\"port\":1}]}]}", err);
    assert_non_null(other);
    assert_false(topology_equal(t, other));
    topology_free(t);
    topology_free(u);
    topology_free(d);
    topology_free(other);
}

static void test_refusals(void **state)
{
    (void)state;
    char err[256];
    const char *bad[] = {
        "[]",
        "{\"epoch\":0,\"shards\":[]}",
        "{\"epoch\":1,\"shards\":[]}",
        "{\"epoch\":1,\"shards\":[{\"id\":\"a\",\"slots\":\"0\",\"nodes\":[]}]}",
        "{\"epoch\":1,\"shards\":[{\"id\":\"a b\",\"slots\":\"0\",\"nodes\":[{\"id\":\"n\",\"host\":\"h\",\"port\":1}]}]}",
        "{\"epoch\":1,\"shards\":[{\"id\":\"a\",\"slots\":\"0\",\"nodes\":[{\"id\":\"n;x\",\"host\":\"h\",\"port\":1}]}]}",
        "{\"epoch\":1,\"shards\":[{\"id\":\"a\",\"slots\":\"0\",\"nodes\":[{\"id\":\"n\",\"host\":\"h h\",\"port\":1}]}]}",
        "{\"epoch\":1,\"shards\":[{\"id\":\"a\",\"slots\":\"0\",\"nodes\":[{\"id\":\"n\",\"host\":\"h\",\"port\":0}]}]}",
        "{\"epoch\":1,\"shards\":[{\"id\":\"a\",\"slots\":\"0\",\"nodes\":[{\"id\":\"n\",\"host\":\"h\",\"port\":1,\"x\":1}]}]}",
        "{\"epoch\":1,\"shards\":[{\"id\":\"a\",\"slots\":\"0\",\"nodes\":[{\"id\":\"n\",\"host\":\"h\",\"port\":1}]},"
        "{\"id\":\"a\",\"slots\":\"1\",\"nodes\":[{\"id\":\"m\",\"host\":\"h\",\"port\":2}]}]}",
        "{\"epoch\":1,\"shards\":[{\"id\":\"a\",\"slots\":\"0\",\"nodes\":[{\"id\":\"n\",\"host\":\"h\",\"port\":1}]},"
        "{\"id\":\"b\",\"slots\":\"1\",\"nodes\":[{\"id\":\"n\",\"host\":\"h\",\"port\":2}]}]}",
        "{\"epoch\":1,\"shards\":[{\"id\":\"a\",\"slots\":\"0-10\",\"nodes\":[{\"id\":\"n\",\"host\":\"h\",\"port\":1}]},"
        "{\"id\":\"b\",\"slots\":\"10\",\"nodes\":[{\"id\":\"m\",\"host\":\"h\",\"port\":2}]}]}",
        "{\"epoch\":1,\"shards\":[],\"x\":1}",
        "{\"epoch\":1,\"shards\":[{\"id\":\"a\",\"slots\":\"16384\",\"nodes\":[{\"id\":\"n\",\"host\":\"h\",\"port\":1}]}]}",
        "{\"epoch\":1,\"shards\":[{\"id\":\"a\",\"slots\":\"\",\"nodes\":[{\"id\":\"n\",\"host\":\"h\",\"port\":1}]}]}",
        NULL};
    for (int i = 0; bad[i]; i++) {
        struct topology *t = parse(bad[i], err);
        if (t) fail_msg("accepted: %s", bad[i]);
    }
}

static void test_bounds(void **state)
{
    (void)state;
    char err[256];
    json_t *shards = json_array();
    for (int i = 0; i <= TOPO_MAX_SHARDS; i++) {
        char id[16];
        snprintf(id, sizeof(id), "s%d", i);
        json_array_append_new(shards, json_pack("{s:s,s:s,s:[{s:s,s:s,s:i}]}", "id", id, "slots", "-", "nodes", "id", id,
                                                "host", "h", "port", 1));
    }
    json_t *doc = json_pack("{s:i,s:o}", "epoch", 1, "shards", shards);
    assert_null(topology_parse(doc, err, sizeof(err)));
    json_array_remove(shards, 0);
    struct topology *t = topology_parse(doc, err, sizeof(err));
    assert_non_null(t);
    assert_int_equal(t->argc, 4 + TOPO_MAX_SHARDS * 6);
    topology_free(t);
    json_decref(doc);
}

static int parse_spec(const char *text, struct node_spec *s, char *err)
{
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    assert_non_null(doc);
    int rc = spec_parse("demo-0001-001", doc, s, err, 256);
    json_decref(doc);
    return rc;
}

#define SPEC "{\"cluster\":\"demo\",\"shard\":\"0001\",\"role\":\"primary\",\"memory_mb\":64,\"generation\":1"

static void test_spec_cluster_mode(void **state)
{
    (void)state;
    struct node_spec s, t;
    char err[256];
    assert_int_equal(parse_spec(SPEC "}", &s, err), 0);
    assert_int_equal(s.cluster_mode, 0);
    assert_null(s.topology);
    assert_int_equal(parse_spec(SPEC ",\"cluster_mode\":true}", &s, err), 0);
    assert_int_equal(s.cluster_mode, 1);
    assert_null(s.topology);
    assert_int_equal(parse_spec(SPEC ",\"cluster_mode\":true,\"topology\":" TWO_SHARDS "}", &t, err), 0);
    assert_non_null(t.topology);
    assert_false(spec_same(&s, &t)); /* only the topology differs */
    /* the disk form keeps the topology */
    json_t *disk = spec_to_json(&t, 1), *api = spec_to_json(&t, 0);
    assert_non_null(json_object_get(disk, "topology"));
    assert_null(json_object_get(api, "topology"));
    assert_int_equal(json_integer_value(json_object_get(api, "desired_topology_epoch")), 7);
    struct node_spec back;
    assert_int_equal(spec_parse("demo-0001-001", disk, &back, err, sizeof(err)), 0);
    assert_true(spec_same(&t, &back));
    json_decref(disk);
    json_decref(api);
    spec_move(&s, &back);
    assert_null(back.topology);
    assert_true(spec_same(&s, &t));
    spec_release(&s);
    spec_release(&t);
    assert_int_equal(parse_spec(SPEC ",\"topology\":" TWO_SHARDS "}", &s, err), -1);
    assert_non_null(strstr(err, "cluster_mode"));
    assert_int_equal(parse_spec(SPEC ",\"cluster_mode\":1}", &s, err), -1);
    assert_int_equal(parse_spec(SPEC ",\"cluster_mode\":true,\"topology\":{\"epoch\":1}}", &s, err), -1);
    assert_null(s.topology);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argv),
        cmocka_unit_test(test_json_round_trip_and_equal),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_spec_cluster_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
