/* test_ctl_topology.c: the cluster-mode topology the controller keeps
 * (controller/topology.c): built from the shards and nodes tables, stored
 * with an epoch that goes up only when it changes, every node's generation
 * raised with it, and the form a node spec carries. */
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
#include "store.h"
#include "topology.h"

static int setup(void **state) { return testdb_open_state(state, "ctl-topo"); }
static int teardown(void **state) { return testdb_close_state(state); }

static void node(sqlite3 *db, const char *id, const char *shard, const char *role, const char *host, int port)
{
    assert_int_equal(db_run(db, "INSERT INTO nodes(id, cluster, shard, role, host, port, memory_mb, generation, status,"
                                " created_ms) VALUES(?, 'cm', ?, ?, ?, ?, 32, 1, 'available', 1)",
                            "ssssd", id, shard, role, host, port), 0);
}

/* Two shards of a primary and a replica on hosts h1 (127.0.0.2), h2 (.3). */
static void two_shards(sqlite3 *db, int cluster_mode)
{
    for (int i = 1; i <= 2; i++)
        assert_int_equal(db_run(db, "INSERT INTO hosts(id, az, address, agent_url, memory_mb, registered_ms, last_seen_ms)"
                                    " VALUES(?, 'az', ?, 'http://x:1', 100, 1, 1)",
                                "ss", i == 1 ? "h1" : "h2", i == 1 ? "127.0.0.2" : "127.0.0.3"), 0);
    assert_int_equal(db_run(db, "INSERT INTO clusters(name, engine, cluster_mode, shards, replicas, node_memory_mb,"
                                " eviction_policy, status, created_ms, updated_ms)"
                                " VALUES('cm','redis',?,2,1,32,'allkeys-lru','creating',1,1)", "d", cluster_mode), 0);
    assert_int_equal(db_run(db, "INSERT INTO shards(cluster, id, slots) VALUES('cm','0001','0-8191'),"
                                " ('cm','0002','8192-16383')", ""), 0);
    node(db, "cm-0001-002", "0001", "replica", "h2", 7002);
    node(db, "cm-0001-001", "0001", "primary", "h1", 7001);
    node(db, "cm-0002-003", "0002", "primary", "h2", 7003);
    node(db, "cm-0002-004", "0002", "replica", "h1", 0); /* no port yet: not routed to */
}

static void test_built_stored_and_sent(void **state)
{
    sqlite3 *db = *state;
    two_shards(db, 1);
    assert_null(topology_for_spec(db, "cm")); /* nothing before epoch 1 */
    assert_int_equal(topology_refresh(db, "cm"), 1);
    assert_int_equal(db_int(db, -1, "SELECT topology_epoch FROM clusters", ""), 1);
    assert_int_equal(db_int(db, -1, "SELECT min(generation) FROM nodes", ""), 2);
    json_t *t = topology_for_spec(db, "cm");
    assert_non_null(t);
    char *text = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text,
                        "{\"epoch\":1,\"shards\":["
                        "{\"id\":\"0001\",\"nodes\":[{\"host\":\"127.0.0.2\",\"id\":\"cm-0001-001\",\"port\":7001},"
                        "{\"host\":\"127.0.0.3\",\"id\":\"cm-0001-002\",\"port\":7002}],\"slots\":\"0-8191\"},"
                        "{\"id\":\"0002\",\"nodes\":[{\"host\":\"127.0.0.3\",\"id\":\"cm-0002-003\",\"port\":7003}],"
                        "\"slots\":\"8192-16383\"}]}");
    free(text);
    json_decref(t);
    /* the same again: no new epoch, no new generations */
    assert_int_equal(topology_refresh(db, "cm"), 0);
    assert_int_equal(db_int(db, -1, "SELECT topology_epoch FROM clusters", ""), 1);
    assert_int_equal(db_int(db, -1, "SELECT max(generation) FROM nodes", ""), 2);
    /* the replica got its port: routed to from epoch 2 */
    assert_int_equal(db_run(db, "UPDATE nodes SET port = 7004 WHERE id = 'cm-0002-004'", ""), 0);
    assert_int_equal(topology_refresh(db, "cm"), 1);
    assert_int_equal(db_int(db, -1, "SELECT topology_epoch FROM clusters", ""), 2);
    /* a failover: the new primary comes first in its shard */
    assert_int_equal(db_run(db, "UPDATE nodes SET role = CASE role WHEN 'primary' THEN 'replica' ELSE 'primary' END"
                                " WHERE shard = '0001'", ""), 0);
    assert_int_equal(topology_refresh(db, "cm"), 1);
    t = topology_for_spec(db, "cm");
    json_t *first = json_array_get(json_object_get(json_array_get(json_object_get(t, "shards"), 0), "nodes"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "id")), "cm-0001-002");
    assert_int_equal(json_integer_value(json_object_get(t, "epoch")), 3);
    json_decref(t);
    /* a node being deleted leaves the topology; its generation stays */
    assert_int_equal(db_run(db, "UPDATE nodes SET status = 'deleting' WHERE id = 'cm-0001-001'", ""), 0);
    long long before = db_int(db, -1, "SELECT generation FROM nodes WHERE id = 'cm-0001-001'", "");
    assert_int_equal(topology_refresh(db, "cm"), 1);
    assert_int_equal(db_int(db, -1, "SELECT generation FROM nodes WHERE id = 'cm-0001-001'", ""), before);
    assert_int_equal(db_int(db, -1, "SELECT count(*) FROM events WHERE type = 'topology_changed'", ""), 4);
}

static void test_not_for_cluster_mode_off(void **state)
{
    sqlite3 *db = *state;
    two_shards(db, 0);
    assert_int_equal(topology_refresh(db, "cm"), 0);
    assert_int_equal(db_int(db, -1, "SELECT topology_epoch FROM clusters", ""), 0);
    assert_null(topology_for_spec(db, "cm"));
    assert_int_equal(topology_refresh(db, "nope"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_built_stored_and_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_for_cluster_mode_off, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
