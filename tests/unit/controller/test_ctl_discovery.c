/* test_ctl_discovery.c: the discovery list of a memcached cluster
 * (controller/discovery.c): its entries, a version that rises only when the
 * list changes, the generations raised with it (never a failed node's or a
 * lost one's, which must not be relaunched), the spec form, the API view,
 * and the steps that publish it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_testdb.h"
#include "discovery.h"
#include "store.h"

static int setup(void **state) { return testdb_open_state(state, "ctl-disc"); }
static int teardown(void **state) { return testdb_close_state(state); }

static void node(sqlite3 *db, const char *id, const char *host, int port, const char *status)
{
    assert_int_equal(db_run(db, "INSERT INTO nodes(id, cluster, shard, role, host, port, memory_mb, generation, status,"
                                " created_ms) VALUES(?, 'mc', '0001', 'primary', ?, ?, 32, 1, ?, 1)",
                            "ssds", id, host, port, status), 0);
}

static long long generation(sqlite3 *db, const char *id)
{
    return db_int(db, -1, "SELECT generation FROM nodes WHERE id = ?", "s", id);
}

/* Three available nodes on h1 (127.0.0.2) and h2 (.3), one still launching. */
static void cluster(sqlite3 *db)
{
    for (int i = 1; i <= 2; i++)
        assert_int_equal(db_run(db, "INSERT INTO hosts(id, az, address, agent_url, memory_mb, registered_ms, last_seen_ms)"
                                    " VALUES(?, 'az', ?, 'http://x:1', 100, 1, 1)",
                                "ss", i == 1 ? "h1" : "h2", i == 1 ? "127.0.0.2" : "127.0.0.3"), 0);
    assert_int_equal(db_run(db, "INSERT INTO clusters(name, engine, cluster_mode, shards, replicas, node_memory_mb,"
                                " eviction_policy, status, created_ms, updated_ms, node_count)"
                                " VALUES('mc','memcached',0,0,0,32,'allkeys-lru','creating',1,1,3)", ""), 0);
    assert_int_equal(db_run(db, "INSERT INTO shards(cluster, id, slots) VALUES('mc','0001','-')", ""), 0);
    node(db, "mc-0001-002", "h2", 7002, "available");
    node(db, "mc-0001-001", "h1", 7001, "available");
    node(db, "mc-0001-003", "h1", 7003, "available");
    node(db, "mc-0001-004", "h2", 0, "creating");
}

static void test_entries_and_versions(void **state)
{
    (void)state;
    json_t *rows = json_pack("[{s:s,s:i},{s:s,s:i}]", "address", "10.0.0.1", "port", 11211, "address", "10.0.0.2",
                             "port", 0);
    json_t *list = discovery_entries(rows);
    assert_int_equal(json_array_size(list), 1); /* no port yet: not listed */
    assert_string_equal(json_string_value(json_array_get(list, 0)), "10.0.0.1|10.0.0.1|11211");
    json_t *other = json_pack("[s]", "10.0.0.2|10.0.0.2|11211");
    assert_int_equal(discovery_next_version(NULL, 0, list), 1);
    assert_int_equal(discovery_next_version(list, 4, list), 4);
    assert_int_equal(discovery_next_version(other, 4, list), 5);
    json_decref(rows);
    json_decref(list);
    json_decref(other);
}

static void test_refresh_versions_and_generations(void **state)
{
    sqlite3 *db = *state;
    cluster(db);
    assert_null(discovery_for_spec(db, "mc")); /* nothing published yet */
    assert_int_equal(discovery_refresh(db, "mc", NULL), 1);
    json_t *spec = discovery_for_spec(db, "mc");
    assert_int_equal(json_integer_value(json_object_get(spec, "version")), 1);
    json_t *want = json_pack("[s,s,s]", "127.0.0.2|127.0.0.2|7001", "127.0.0.3|127.0.0.3|7002", "127.0.0.2|127.0.0.2|7003");
    assert_true(json_equal(json_object_get(spec, "nodes"), want)); /* available nodes in id order */
    json_decref(spec);
    json_decref(want);
    assert_int_equal(generation(db, "mc-0001-001"), 2);
    assert_int_equal(generation(db, "mc-0001-004"), 2); /* a new node gets the list too */
    /* the same nodes: the same version, no new generation */
    assert_int_equal(discovery_refresh(db, "mc", NULL), 0);
    assert_int_equal(generation(db, "mc-0001-001"), 2);
    /* the new node is up: it joins */
    assert_int_equal(db_run(db, "UPDATE nodes SET status = 'available', port = 7004 WHERE id = 'mc-0001-004'", ""), 0);
    assert_int_equal(discovery_refresh(db, "mc", NULL), 1);
    assert_int_equal(db_int(db, 0, "SELECT discovery_version FROM clusters WHERE name = 'mc'", ""), 2);
    /* one leaves (scale-in) while another has failed: both drop out; the
     * leaving one still learns the list, the failed one is left alone */
    assert_int_equal(db_run(db, "UPDATE nodes SET status = 'deleting' WHERE id = 'mc-0001-004'", ""), 0);
    assert_int_equal(db_run(db, "UPDATE nodes SET status = 'failed' WHERE id = 'mc-0001-003'", ""), 0);
    assert_int_equal(discovery_refresh(db, "mc", NULL), 1);
    assert_int_equal(generation(db, "mc-0001-004"), 4);
    assert_int_equal(generation(db, "mc-0001-003"), 3);
    json_t *view = store_discovery_json(db, "mc");
    assert_int_equal(json_integer_value(json_object_get(view, "version")), 3);
    assert_int_equal(json_array_size(json_object_get(view, "nodes")), 2);
    assert_string_equal(json_string_value(json_object_get(view, "config")),
                        "3\n127.0.0.2|127.0.0.2|7001 127.0.0.3|127.0.0.3|7002\n");
    json_decref(view);
    /* a lost node being replaced gets no new generation: it must not come back */
    assert_int_equal(db_run(db, "UPDATE nodes SET status = 'deleting' WHERE id = 'mc-0001-002'", ""), 0);
    assert_int_equal(discovery_refresh(db, "mc", "mc-0001-002"), 1);
    assert_int_equal(generation(db, "mc-0001-002"), 4);
    assert_int_equal(generation(db, "mc-0001-001"), 5); /* 4 before: it was raised, 002 was not */
    /* the cluster view: no shards, the configuration endpoints, the version */
    json_t *c = store_cluster_json(db, "mc");
    assert_int_equal(json_array_size(json_object_get(c, "shards")), 0);
    assert_int_equal(json_integer_value(json_object_get(c, "discovery_version")), 4);
    json_t *cfg = json_object_get(json_object_get(c, "endpoints"), "configuration");
    assert_int_equal(json_array_size(cfg), 1);
    assert_string_equal(json_string_value(json_array_get(cfg, 0)), "127.0.0.2:7001");
    assert_int_equal(json_integer_value(json_object_get(c, "node_count")), 3);
    json_decref(c);
}

/* Redis keeps no discovery list: nothing to refresh, nothing in a spec. */
static void test_redis_has_none(void **state)
{
    sqlite3 *db = *state;
    cluster(db);
    assert_int_equal(db_run(db, "UPDATE clusters SET engine = 'redis'", ""), 0);
    assert_int_equal(discovery_refresh(db, "mc", NULL), 0);
    assert_null(discovery_for_spec(db, "mc"));
    assert_null(store_discovery_json(db, "mc"));
    assert_int_equal(generation(db, "mc-0001-001"), 1);
}

/* The publishing steps: the list, then every node but the failed ones and
 * the lost one gets its spec, then each is awaited. */
static void test_steps(void **state)
{
    sqlite3 *db = *state;
    cluster(db);
    assert_int_equal(db_run(db, "UPDATE nodes SET status = 'failed' WHERE id = 'mc-0001-003'", ""), 0);
    assert_int_equal(db_run(db, "INSERT INTO operations(id, cluster, kind, status, created_ms, updated_ms)"
                                " VALUES('op', 'mc', 'replace_node', 'pending', 1, 1)", ""), 0);
    int seq = 1;
    assert_int_equal(discovery_add_steps(db, "op", &seq, "mc", "mc-0001-002"), 0);
    json_t *steps = db_rows(db, "SELECT action, coalesce(node, arg, '') AS who FROM op_steps WHERE op = 'op' ORDER BY seq", "");
    const char *want[][2] = {{"discovery", "mc-0001-002"}, {"put", "mc-0001-001"}, {"put", "mc-0001-004"},
                             {"wait_discovery", "mc-0001-001"}, {"wait_discovery", "mc-0001-004"}};
    assert_int_equal(json_array_size(steps), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(row_str(json_array_get(steps, i), "action"), want[i][0]);
        assert_string_equal(row_str(json_array_get(steps, i), "who"), want[i][1]);
    }
    json_decref(steps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries_and_versions),
        cmocka_unit_test_setup_teardown(test_refresh_versions_and_generations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_has_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_steps, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
