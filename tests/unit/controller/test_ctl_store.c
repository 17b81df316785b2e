/* test_ctl_store.c: the SQLite store (controller/store.c) and request
 * validation (controller/validate.c): migrations and user_version, WAL,
 * cascades, views that never carry the auth token, and the 400 rules. */
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
#include "validate.h"

static int setup(void **state)
{
    (void)state;
    return testdb_make("ctl-store");
}

static int teardown(void **state)
{
    (void)state;
    testdb_remove();
    return 0;
}

static void test_open_migrates_and_reopens(void **state)
{
    (void)state;
    char err[256];
    sqlite3 *db = store_open(testdb_path, err, sizeof(err));
    assert_non_null(db);
    assert_int_equal(store_user_version(db), STORE_SCHEMA_VERSION);
    json_t *mode = db_row(db, "PRAGMA journal_mode", "");
    assert_string_equal(row_str(mode, "journal_mode"), "wal");
    json_decref(mode);
    store_close(db);
    db = store_open(testdb_path, err, sizeof(err)); /* again: no migration re-runs */
    assert_non_null(db);
    assert_int_equal(store_user_version(db), STORE_SCHEMA_VERSION);
    /* a newer schema than we know is refused */
    assert_int_equal(db_run(db, "PRAGMA user_version = 999", ""), 0);
    store_close(db);
    assert_null(store_open(testdb_path, err, sizeof(err)));
    assert_non_null(strstr(err, "schema 999"));
}

/* A host h1 and a cluster (name, auth token or NULL), in columns every
 * schema since the first has. */
static void insert_host_and_cluster(sqlite3 *db, const char *name, const char *token)
{
    assert_int_equal(db_run(db, "INSERT INTO hosts(id, az, address, agent_url, memory_mb, registered_ms, last_seen_ms)"
                                " VALUES('h1','az-a','127.0.0.2','http://127.0.0.2:1',100,1,1)", ""), 0);
    assert_int_equal(db_run(db, "INSERT INTO clusters(name, engine, cluster_mode, shards, replicas, node_memory_mb,"
                                " eviction_policy, auth_token, status, created_ms, updated_ms)"
                                " VALUES(?,'redis',0,1,0,32,'allkeys-lru',?,'available',1,1)", "sz", name, token), 0);
}

static void test_cluster_view_and_cascade(void **state)
{
    (void)state;
    char err[256];
    sqlite3 *db = store_open(testdb_path, err, sizeof(err));
    assert_non_null(db);
    assert_int_equal(db_begin(db), 0);
    insert_host_and_cluster(db, "c1", "secret-token-0123456789");
    assert_int_equal(db_run(db, "INSERT INTO shards(cluster, id, slots) VALUES('c1','0001','0-16383')", ""), 0);
    assert_int_equal(db_run(db, "INSERT INTO nodes(id, cluster, shard, role, host, port, memory_mb, generation, status,"
                                " created_ms) VALUES(?, 'c1', '0001', 'primary', 'h1', 7000, 32, 1, 'available', 1)",
                            "s", "c1-0001-001"), 0);
    assert_int_equal(db_commit(db), 0);
    json_t *c = store_cluster_json(db, "c1");
    assert_non_null(c);
    char *text = json_dumps(c, 0);
    assert_null(strstr(text, "secret-token"));
    assert_non_null(strstr(text, "\"auth_token_enabled\": true"));
    free(text);
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "endpoints"), "primary")), "127.0.0.2:7000");
    json_t *shard = json_array_get(json_object_get(c, "shards"), 0);
    assert_string_equal(json_string_value(json_object_get(shard, "primary")), "c1-0001-001");
    assert_string_equal(json_string_value(json_object_get(shard, "slots")), "0-16383");
    json_decref(c);
    assert_null(store_cluster_json(db, "nope"));
    /* forgetting the cluster takes its shards and nodes */
    assert_int_equal(db_run(db, "DELETE FROM clusters WHERE name = 'c1'", ""), 0);
    assert_int_equal(db_int(db, -1, "SELECT count(*) FROM nodes", ""), 0);
    assert_int_equal(db_int(db, -1, "SELECT count(*) FROM shards", ""), 0);
    assert_int_equal(store_event(db, "c1", NULL, "cluster_deleted", "gone"), 0);
    json_t *ev = store_events_json(db, "c1", 0, 10);
    assert_int_equal(json_array_size(json_object_get(ev, "events")), 1);
    json_decref(ev);
    store_close(db);
}

/* A database of schema 4 (slots as slot_first/slot_last) comes up to the
 * current one with its shards' slots as text and its nodes kept. */
static void test_upgrade_from_schema_4(void **state)
{
    (void)state;
    char err[256];
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(testdb_path, &raw), SQLITE_OK);
    assert_int_equal(db_run(raw, "PRAGMA foreign_keys=ON", ""), 0);
    assert_int_equal(store_migrate_to(raw, 4, err, sizeof(err)), 0);
    assert_int_equal(store_user_version(raw), 4);
    insert_host_and_cluster(raw, "old", NULL);
    assert_int_equal(db_run(raw, "INSERT INTO shards VALUES('old','0001',0,16383)", ""), 0);
    assert_int_equal(db_run(raw, "INSERT INTO shards VALUES('old','0002',7,7)", ""), 0);
    assert_int_equal(db_run(raw, "INSERT INTO nodes(id, cluster, shard, role, host, port, memory_mb, generation, status,"
                                 " created_ms) VALUES('old-0001-001', 'old', '0001', 'primary', 'h1', 7000, 32, 1,"
                                 " 'available', 1)", ""), 0);
    assert_int_equal(sqlite3_close(raw), SQLITE_OK);
    sqlite3 *db = store_open(testdb_path, err, sizeof(err));
    assert_non_null(db);
    assert_int_equal(store_user_version(db), STORE_SCHEMA_VERSION);
    json_t *rows = db_rows(db, "SELECT id, slots FROM shards ORDER BY id", "");
    assert_string_equal(row_str(json_array_get(rows, 0), "slots"), "0-16383");
    assert_string_equal(row_str(json_array_get(rows, 1), "slots"), "7");
    json_decref(rows);
    assert_int_equal(db_int(db, -1, "SELECT count(*) FROM nodes", ""), 1);
    assert_int_equal(db_int(db, -1, "SELECT topology_epoch FROM clusters", ""), 0);
    assert_int_equal(db_run(db, "INSERT INTO shards(cluster, id, slot_first) VALUES('old','0003',1)", ""), -1);
    store_close(db);
}

/* The statements a connection keeps (store.c) give the same answers as fresh
 * ones: new bindings each use, a new read snapshot each use (a write by
 * another connection is seen, also after a use that read one row of many),
 * SQL built in one buffer told apart by its text, more distinct statements
 * than the cache holds, and a connection opened after one closed. */
static void test_statement_cache(void **state)
{
    (void)state;
    char err[256];
    sqlite3 *db = store_open(testdb_path, err, sizeof(err));
    sqlite3 *other = store_open(testdb_path, err, sizeof(err));
    assert_non_null(db);
    assert_non_null(other);
    for (int i = 0; i < 3; i++) assert_int_equal(db_int(db, -1, "SELECT ? + 1", "d", i * 10), i * 10 + 1);
    assert_int_equal(db_int(db, -1, "SELECT ?", "z", NULL), -1);
    insert_host_and_cluster(other, "c1", NULL);
    assert_int_equal(db_run(other, "INSERT INTO hosts(id, az, address, agent_url, memory_mb, registered_ms, last_seen_ms)"
                                   " VALUES('h2','az-b','127.0.0.3','http://127.0.0.3:1',100,1,1)", ""), 0);
    const char *first = "SELECT id FROM hosts ORDER BY id";
    json_t *row = db_row(db, first, ""); /* one row of two read: the statement stops half-way */
    assert_string_equal(row_str(row, "id"), "h1");
    json_decref(row);
    assert_int_equal(db_run(other, "UPDATE hosts SET id = 'h0' WHERE id = 'h2'", ""), 0);
    row = db_row(db, first, "");
    assert_string_equal(row_str(row, "id"), "h0"); /* the other connection's write is seen */
    json_decref(row);
    assert_int_equal(db_begin(db), 0); /* no statement left open keeps the write lock from us */
    assert_int_equal(db_run(db, "UPDATE hosts SET memory_mb = 7 WHERE id = 'h0'", ""), 0);
    assert_int_equal(db_commit(db), 0);
    assert_int_equal(db_int(other, -1, "SELECT memory_mb FROM hosts WHERE id = 'h0'", ""), 7);
    char sql[64];
    for (int i = 0; i < 600; i++) { /* one buffer, 600 texts: more than a connection keeps */
        snprintf(sql, sizeof(sql), "SELECT %d", i);
        assert_int_equal(db_int(db, -1, sql, ""), i);
    }
    for (int i = 0; i < 600; i += 7) {
        snprintf(sql, sizeof(sql), "SELECT %d", i);
        assert_int_equal(db_int(db, -1, sql, ""), i);
    }
    store_close(db);
    store_close(other);
    db = store_open(testdb_path, err, sizeof(err));
    assert_non_null(db);
    assert_int_equal(db_int(db, -1, "SELECT count(*) FROM hosts", ""), 2);
    assert_int_equal(db_int(db, -1, "SELECT ? + 1", "d", 5), 6);
    store_close(db);
}

static int create(const char *body, struct create_request *r, char *err)
{
    return parse_create(body, r, err, 256);
}

static void test_validation(void **state)
{
    (void)state;
    struct create_request r;
    char err[256];
    assert_int_equal(create("{\"name\":\"demo-1\"}", &r, err), 0);
    assert_string_equal(r.engine, "redis");
    assert_int_equal(r.replicas, 1);
    assert_int_equal(r.shards, 1);
    assert_int_equal(r.node_memory_mb, 64);
    assert_string_equal(r.eviction_policy, "allkeys-lru");
    assert_string_equal(r.auth_token, "");
    const char *bad[] = {"", "{", "[]", "{\"name\":\"A\"}", "{\"name\":\"a\",\"shards\":2}",
                         "{\"name\":\"a\",\"replicas\":\"1\"}", "{\"name\":\"a\",\"x\":1}",
                         "{\"name\":\"a\",\"auth_token\":\"short\"}", "{\"name\":\"a\",\"engine\":\"mysql\"}",
                         "{\"name\":\"a\",\"cluster_mode\":1}", "{\"name\":\"a\",\"node_memory_mb\":0}",
                         "{\"name\":\"a\",\"cluster_mode\":true,\"shards\":501}",
                         "{\"name\":\"a\",\"cluster_mode\":true,\"shards\":0}", NULL};
    for (const char **b = bad; *b; b++) assert_int_equal(create(*b, &r, err), -1);
    assert_int_equal(create("{\"name\":\"a\",\"cluster_mode\":true,\"shards\":500}", &r, err), 0);
    assert_int_equal(r.cluster_mode, 1);
    assert_int_equal(r.shards, 500);
    assert_int_equal(create("{\"name\":\"a\",\"cluster_mode\":true}", &r, err), 0);
    assert_int_equal(r.shards, 1);
    assert_true(valid_cluster_name("a-0"));
    assert_false(valid_cluster_name("a_0"));
    struct modify_request m;
    assert_int_equal(parse_modify("{\"replicas\":3}", &m, err, sizeof(err)), 0);
    assert_int_equal(m.replicas, 3);
    assert_int_equal(m.node_memory_mb, -1);
    assert_int_equal(parse_modify("{\"node_memory_mb\":128}", &m, err, sizeof(err)), 0);
    assert_int_equal(m.node_memory_mb, 128);
    assert_int_equal(parse_modify("{}", &m, err, sizeof(err)), -1);
    assert_int_equal(parse_modify("{\"shards\":4}", &m, err, sizeof(err)), 0); /* refused later: not supported yet */
    assert_int_equal(m.shards, 4);
    assert_int_equal(m.replicas, -1);
    assert_int_equal(parse_modify("{\"shards\":501}", &m, err, sizeof(err)), -1);
    assert_int_equal(parse_modify("{\"replicas\":1,\"node_memory_mb\":2}", &m, err, sizeof(err)), -1);
}

/* Memcached's create body: "nodes" in the engine's range, and nothing the
 * engine cannot do; redis takes no "nodes". */
static void test_memcached_validation(void **state)
{
    (void)state;
    struct create_request r;
    char err[256];
    assert_int_equal(parse_create("{\"name\":\"mc\",\"engine\":\"memcached\",\"nodes\":3,\"node_memory_mb\":32}", &r,
                                  err, sizeof(err)), 0);
    assert_string_equal(r.engine, "memcached");
    assert_int_equal(r.nodes, 3);
    assert_int_equal(r.shards, 1);
    assert_int_equal(r.replicas, 0);
    assert_int_equal(r.node_memory_mb, 32);
    assert_int_equal(parse_create("{\"name\":\"mc\",\"engine\":\"memcached\"}", &r, err, sizeof(err)), 0);
    assert_int_equal(r.nodes, 1);
    assert_int_equal(parse_create("{\"name\":\"mc\",\"engine\":\"memcached\",\"nodes\":40,\"cluster_mode\":false}", &r,
                                  err, sizeof(err)), 0);
    assert_int_equal(r.nodes, 40);
    assert_int_equal(parse_create("{\"name\":\"r\"}", &r, err, sizeof(err)), 0);
    assert_int_equal(r.nodes, 0);
    static const struct { const char *body, *words; } bad[] = {
        {"{\"name\":\"m\",\"engine\":\"memcached\",\"nodes\":0}", "'nodes' must be between 1 and 40"},
        {"{\"name\":\"m\",\"engine\":\"memcached\",\"nodes\":41}", "'nodes' must be between 1 and 40"},
        {"{\"name\":\"m\",\"engine\":\"memcached\",\"nodes\":\"3\"}", "'nodes' must be an integer"},
        {"{\"name\":\"m\",\"engine\":\"memcached\",\"replicas\":1}", "'replicas' does not apply to engine 'memcached'"},
        {"{\"name\":\"m\",\"engine\":\"memcached\",\"replicas\":0}", "'replicas' does not apply to engine 'memcached'"},
        {"{\"name\":\"m\",\"engine\":\"memcached\",\"shards\":1}", "'shards' does not apply to engine 'memcached'"},
        {"{\"name\":\"m\",\"engine\":\"memcached\",\"cluster_mode\":true}", "'cluster_mode' does not apply"},
        {"{\"name\":\"m\",\"engine\":\"memcached\",\"auth_token\":\"0123456789abcdefgh\"}", "'auth_token' does not apply"},
        {"{\"name\":\"m\",\"engine\":\"memcached\",\"eviction_policy\":\"allkeys-lru\"}", "'eviction_policy' does not apply"},
        {"{\"name\":\"r\",\"nodes\":3}", "'nodes' does not apply to engine 'redis'; give 'shards' and 'replicas'"},
        {"{\"name\":\"r\",\"engine\":\"redis\",\"nodes\":1}", "'nodes' does not apply to engine 'redis'"},
        {NULL, NULL}};
    for (int i = 0; bad[i].body; i++) {
        err[0] = '\0';
        if (parse_create(bad[i].body, &r, err, sizeof(err)) != -1) fail_msg("accepted: %s", bad[i].body);
        if (strstr(err, bad[i].words) == NULL) fail_msg("%s: said '%s', not '%s'", bad[i].body, err, bad[i].words);
    }
    struct modify_request m;
    assert_int_equal(parse_modify("{\"nodes\":5}", &m, err, sizeof(err)), 0);
    assert_int_equal(m.nodes, 5);
    assert_int_equal(m.replicas, -1);
    assert_int_equal(parse_modify("{\"nodes\":0}", &m, err, sizeof(err)), -1);
    assert_int_equal(parse_modify("{\"nodes\":2,\"replicas\":1}", &m, err, sizeof(err)), -1);
    assert_int_equal(parse_modify("{\"replicas\":1}", &m, err, sizeof(err)), 0);
    assert_int_equal(m.nodes, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_migrates_and_reopens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cluster_view_and_cascade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_schema_4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statement_cache, setup, teardown),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_memcached_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
