/* test_agent_spec.c: node spec parsing and validation (agent/spec.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "spec.h"

static int parse(const char *id, const char *text, struct node_spec *s, char *err)
{
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    assert_non_null(doc);
    int rc = spec_parse(id, doc, s, err, 256);
    json_decref(doc);
    return rc;
}

#define PRIMARY "{\"cluster\":\"demo\",\"shard\":\"0001\",\"role\":\"primary\",\"memory_mb\":64,\"generation\":1"

static void test_minimal_primary(void **state)
{
    (void)state;
    struct node_spec s;
    char err[256];
    assert_int_equal(parse("demo-0001-001", PRIMARY "}", &s, err), 0);
    assert_string_equal(s.id, "demo-0001-001");
    assert_string_equal(s.cluster, "demo");
    assert_int_equal(s.role, ROLE_PRIMARY);
    assert_int_equal(s.engine, ENGINE_REDIS);
    assert_int_equal(s.memory_mb, 64);
    assert_int_equal(s.port, 0);
    assert_string_equal(s.eviction_policy, "allkeys-lru");
    assert_string_equal(s.auth_token, "");
}

static void test_full_replica(void **state)
{
    (void)state;
    struct node_spec s;
    char err[256];
    assert_int_equal(parse("r1", "{\"cluster\":\"c\",\"shard\":\"s\",\"role\":\"replica\",\"memory_mb\":128,"
                                 "\"engine\":\"redis\",\"port\":7005,\"primary\":{\"host\":\"10.0.0.2\",\"port\":7001},"
                                 "\"auth_token\":\"0123456789abcdef!\",\"eviction_policy\":\"volatile-ttl\",\"generation\":7}",
                           &s, err), 0);
    assert_int_equal(s.role, ROLE_REPLICA);
    assert_int_equal(s.port, 7005);
    assert_string_equal(s.primary_host, "10.0.0.2");
    assert_int_equal(s.primary_port, 7001);
    assert_string_equal(s.auth_token, "0123456789abcdef!");
    assert_string_equal(s.eviction_policy, "volatile-ttl");
    assert_int_equal(s.generation, 7);
}

static void test_refusals(void **state)
{
    (void)state;
    struct node_spec s;
    char err[256];
    static const char *bad[] = {
        "[]",
        "{\"shard\":\"1\",\"role\":\"primary\",\"memory_mb\":64,\"generation\":1}",                  /* no cluster */
        "{\"cluster\":\"x; touch /tmp/pwned\",\"shard\":\"1\",\"role\":\"primary\",\"memory_mb\":64,\"generation\":1}",
        "{\"cluster\":\"$(reboot)\",\"shard\":\"1\",\"role\":\"primary\",\"memory_mb\":64,\"generation\":1}",
        "{\"cluster\":\"c\",\"shard\":\"../etc\",\"role\":\"primary\",\"memory_mb\":64,\"generation\":1}",
        "{\"cluster\":\"-c\",\"shard\":\"1\",\"role\":\"primary\",\"memory_mb\":64,\"generation\":1}",
        PRIMARY ",\"extra\":1}",                                        /* unknown field */
        PRIMARY ",\"port\":0.5}",
        PRIMARY ",\"port\":70000}",
        PRIMARY ",\"engine\":\"mysql\"}",
        PRIMARY ",\"eviction_policy\":\"lru; rm -rf /\"}",
        PRIMARY ",\"auth_token\":\"short\"}",
        PRIMARY ",\"auth_token\":\"with space in the middle\"}",
        PRIMARY ",\"primary\":{\"host\":\"h\",\"port\":1}}",            /* primary of a primary */
        PRIMARY ",\"id\":\"other\"}",
        "{\"cluster\":\"c\",\"shard\":\"1\",\"role\":\"primary\",\"memory_mb\":0,\"generation\":1}",
        "{\"cluster\":\"c\",\"shard\":\"1\",\"role\":\"primary\",\"memory_mb\":\"64\",\"generation\":1}",
        "{\"cluster\":\"c\",\"shard\":\"1\",\"role\":\"primary\",\"memory_mb\":64}",              /* no generation */
        "{\"cluster\":\"c\",\"shard\":\"1\",\"role\":\"primary\",\"memory_mb\":64,\"generation\":-1}",
        "{\"cluster\":\"c\",\"shard\":\"1\",\"role\":\"leader\",\"memory_mb\":64,\"generation\":1}",
        "{\"cluster\":\"c\",\"shard\":\"1\",\"role\":\"replica\",\"memory_mb\":64,\"generation\":1}", /* no primary */
        "{\"cluster\":\"c\",\"shard\":\"1\",\"role\":\"replica\",\"memory_mb\":64,\"generation\":1,"
        "\"primary\":{\"host\":\"h;id\",\"port\":1}}",
        "{\"cluster\":\"c\",\"shard\":\"1\",\"role\":\"replica\",\"memory_mb\":64,\"generation\":1,"
        "\"primary\":{\"host\":\"h\",\"port\":1,\"x\":2}}",
        "{\"cluster\":\"c\",\"shard\":\"1\",\"role\":\"replica\",\"engine\":\"memcached\",\"memory_mb\":64,\"generation\":1,"
        "\"primary\":{\"host\":\"h\",\"port\":1}}",
        NULL};
    for (int i = 0; bad[i]; i++) {
        err[0] = '\0';
        if (parse("n1", bad[i], &s, err) != -1) fail_msg("accepted: %s", bad[i]);
        assert_true(strlen(err) > 0);
    }
    /* what the engine cannot do (engine_caps.h) is refused in words */
    assert_int_equal(parse("m1", PRIMARY ",\"engine\":\"memcached\",\"cluster_mode\":true}", &s, err), -1);
    assert_string_equal(err, "engine 'memcached' does not support cluster_mode");
    assert_int_equal(parse("m1", PRIMARY ",\"engine\":\"memcached\",\"auth_token\":\"0123456789abcdef\"}", &s, err), -1);
    assert_string_equal(err, "engine 'memcached' does not support auth_token");
    assert_int_equal(parse("m1", PRIMARY ",\"discovery\":{\"version\":1,\"nodes\":[]}}", &s, err), -1);
    assert_string_equal(err, "engine 'redis' does not support discovery");
    assert_int_equal(parse("bad id", PRIMARY "}", &s, err), -1);
    assert_int_equal(parse("../../x", PRIMARY "}", &s, err), -1);
    assert_int_equal(parse("", PRIMARY "}", &s, err), -1);
}

static void test_names(void **state)
{
    (void)state;
    assert_true(spec_valid_name("demo-0001_a"));
    assert_false(spec_valid_name(""));
    assert_false(spec_valid_name("a.b"));
    assert_false(spec_valid_name("a b"));
    assert_false(spec_valid_name("x;y"));
    char long_name[80];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[79] = '\0';
    assert_false(spec_valid_name(long_name));
    assert_true(spec_valid_host("127.0.0.2"));
    assert_true(spec_valid_host("::1"));
    assert_true(spec_valid_host("node-1.example.com"));
    assert_false(spec_valid_host("a b"));
    assert_false(spec_valid_host("-oProxy"));
}

static void test_same_and_roundtrip(void **state)
{
    (void)state;
    struct node_spec a, b;
    char err[256];
    assert_int_equal(parse("n", PRIMARY ",\"auth_token\":\"0123456789abcdefXYZ\"}", &a, err), 0);
    b = a;
    assert_true(spec_same(&a, &b));
    b.port = 7001; /* the agent chose a port; a replay without one is the same */
    assert_true(spec_same(&a, &b));
    a.port = 7002;
    assert_false(spec_same(&a, &b));
    a.port = 7001;
    a.memory_mb = 65;
    assert_false(spec_same(&a, &b));
    /* The disk form keeps the secret and parses back to the same spec. */
    json_t *disk = spec_to_json(&b, 1);
    struct node_spec c;
    assert_int_equal(spec_parse("n", disk, &c, err, sizeof(err)), 0);
    assert_true(spec_same(&b, &c));
    assert_string_equal(c.auth_token, "0123456789abcdefXYZ");
    json_decref(disk);
    /* The reply form does not carry it. */
    json_t *reply = spec_to_json(&b, 0);
    assert_null(json_object_get(reply, "auth_token"));
    assert_true(json_is_true(json_object_get(reply, "auth")));
    json_decref(reply);
}

#define MEMCACHED PRIMARY ",\"engine\":\"memcached\""

/* A memcached node with its discovery list: parsed, kept on disk, compared,
 * and turned into the request that hands it to cachenode. */
static void test_memcached_discovery(void **state)
{
    (void)state;
    struct node_spec a, b;
    char err[256];
    assert_int_equal(parse("mc-0001-001", MEMCACHED ",\"discovery\":{\"version\":3,\"nodes\":"
                                          "[\"127.0.0.2|127.0.0.2|7000\",\"h2|10.0.0.3|7001\"]}}", &a, err), 0);
    assert_int_equal(a.engine, ENGINE_MEMCACHED);
    assert_non_null(a.discovery);
    assert_int_equal(a.discovery->version, 3);
    assert_int_equal(a.discovery->count, 2);
    assert_string_equal(a.discovery->text, "127.0.0.2|127.0.0.2|7000 h2|10.0.0.3|7001");
    /* how cachenode is told: the file it reads, and what config get cluster says back */
    char *text = discovery_file_text(a.discovery);
    assert_string_equal(text, "3\n127.0.0.2|127.0.0.2|7000 h2|10.0.0.3|7001\n");
    free(text);
    char dir[] = "/tmp/disc-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(discovery_write_file(dir, a.discovery), 1);
    assert_int_equal(discovery_write_file(dir, a.discovery), 0); /* already there: not rewritten */
    snprintf(path, sizeof(path), "%s/%s", dir, DISCOVERY_FILE);
    unlink(path);
    rmdir(dir);
    assert_int_equal(discovery_served_version("CONFIG cluster 0 12\r\n7\nh|i|1\n\r\nEND"), 7);
    assert_int_equal(discovery_served_version("ERROR"), -1);
    assert_int_equal(discovery_served_version("CONFIG cluster 0 2\r\nx\n"), -1);
    /* the disk form parses back to the same spec; another version is another spec */
    json_t *disk = spec_to_json(&a, 1);
    assert_int_equal(spec_parse("mc-0001-001", disk, &b, err, sizeof(err)), 0);
    json_decref(disk);
    assert_true(spec_same(&a, &b));
    b.discovery->version = 4;
    assert_false(spec_same(&a, &b));
    json_t *reply = spec_to_json(&a, 0);
    assert_int_equal(json_integer_value(json_object_get(reply, "desired_discovery_version")), 3);
    json_decref(reply);
    spec_release(&a);
    spec_release(&b);
    /* an empty list is a list (a cluster whose nodes are all leaving) */
    assert_int_equal(parse("m", MEMCACHED ",\"discovery\":{\"version\":1,\"nodes\":[]}}", &a, err), 0);
    assert_string_equal(a.discovery->text, "");
    spec_release(&a);
    static const char *bad[] = {
        MEMCACHED ",\"discovery\":{\"version\":0,\"nodes\":[]}}",
        MEMCACHED ",\"discovery\":{\"version\":1}}",
        MEMCACHED ",\"discovery\":{\"version\":1,\"nodes\":[\"h|i\"]}}",
        MEMCACHED ",\"discovery\":{\"version\":1,\"nodes\":[\"h|i|0\"]}}",
        MEMCACHED ",\"discovery\":{\"version\":1,\"nodes\":[\"h|i|70000\"]}}",
        MEMCACHED ",\"discovery\":{\"version\":1,\"nodes\":[\"h;rm|i|1\"]}}",
        MEMCACHED ",\"discovery\":{\"version\":1,\"nodes\":[\"h|i|1|x\"]}}",
        MEMCACHED ",\"discovery\":{\"version\":1,\"nodes\":[\"h|i|1\",\"h|i|1\"]}}",
        MEMCACHED ",\"discovery\":{\"version\":1,\"nodes\":[],\"x\":1}}",
        MEMCACHED ",\"role\":\"replica\",\"primary\":{\"host\":\"h\",\"port\":1}}",
        NULL};
    for (int i = 0; bad[i]; i++) {
        err[0] = '\0';
        if (parse("m", bad[i], &a, err) != -1) fail_msg("accepted: %s", bad[i]);
        assert_true(strlen(err) > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_primary), cmocka_unit_test(test_full_replica),
        cmocka_unit_test(test_refusals),        cmocka_unit_test(test_names),
        cmocka_unit_test(test_same_and_roundtrip), cmocka_unit_test(test_memcached_discovery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
