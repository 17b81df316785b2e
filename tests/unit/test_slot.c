/* test_slot.c: unit tests for slot.c and cluster mode's topology
 * (cluster_topo.c, cluster.c): Redis Cluster's documented hash slots and
 * hash tags; CLUSTER SETTOPOLOGY's parsing and validation (bad ranges,
 * overlapping slots, duplicate ids, wrong counts); the canonical text and
 * its round trip; and the transitions of a node's topology: a newer epoch
 * applies, a stale one is refused, the same epoch is a no-op with the same
 * content and refused with another, a shard that loses slots drops their
 * keys, and the persisted file is what a restart loads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluster.h"
#include "cluster_topo.h"
#include "server.h"
#include "slot.h"

static unsigned slot_of(const char *key) { return key_hash_slot(key, strlen(key)); }

/* ---- hash slots ---------------------------------------------------------------- */

static void test_documented_slots(void **state)
{
    (void)state;
    assert_int_equal(crc16_xmodem("123456789", 9), 0x31C3); /* the CRC's check value */
    assert_int_equal(slot_of("foo"), 12182);
    assert_int_equal(slot_of("{user1000}.following"), slot_of("{user1000}.followers"));
    assert_int_equal(slot_of("{user1000}.following"), slot_of("user1000"));
    /* an empty tag: the whole key */
    assert_int_equal(slot_of("foo{}{bar}"), crc16_xmodem("foo{}{bar}", 10) % CLUSTER_SLOTS);
    /* the tag runs from the first '{' to the next '}' */
    assert_int_equal(slot_of("foo{{bar}}zap"), slot_of("{bar"));
    assert_int_equal(slot_of("foo{bar}{zap}"), slot_of("bar"));
    /* no closing brace: the whole key */
    assert_int_equal(slot_of("foo{bar"), crc16_xmodem("foo{bar", 7) % CLUSTER_SLOTS);
    assert_int_equal(key_hash_slot("", 0), 0);
}

/* ---- parsing ---------------------------------------------------------------------- */

/* Splits a space-separated command line into args (pointing into line). */
static int split(char *line, arg *argv, int max)
{
    int n = 0;
    for (char *save = NULL, *w = strtok_r(line, " ", &save); w && n < max; w = strtok_r(NULL, " ", &save))
        argv[n++] = (arg){w, strlen(w)};
    return n;
}

/* Parses `text`; returns 0 or -1 and leaves the error in err. */
static int parse(const char *text, struct topology *t, char *err, size_t errlen)
{
    char line[1024];
    arg argv[128];
    snprintf(line, sizeof(line), "%s", text);
    int argc = split(line, argv, 128);
    return topology_parse(argv, argc, t, err, errlen);
}

static void assert_refused(const char *text, const char *want)
{
    struct topology t;
    char err[512];
    int rc = parse(text, &t, err, sizeof(err));
    topology_free(&t);
    if (rc != -1) fail_msg("accepted: %s", text);
    if (strstr(err, want) == NULL) fail_msg("for %s: got '%s', want '%s'", text, err, want);
}

static void test_parse_valid(void **state)
{
    (void)state;
    struct topology t;
    char err[512];
    assert_int_equal(parse("7 2 s1 0-8191 2 n1 127.0.0.1 7001 n2 127.0.0.2 7002 s2 8192-16383 1 n3 h3 7003", &t,
                           err, sizeof(err)), 0);
    assert_int_equal(t.epoch, 7);
    assert_int_equal(t.nshards, 2);
    assert_int_equal(t.owner[0], 0);
    assert_int_equal(t.owner[8191], 0);
    assert_int_equal(t.owner[8192], 1);
    assert_int_equal(t.owner[16383], 1);
    assert_string_equal(t.shards[0].nodes[1].host, "127.0.0.2");
    assert_int_equal(t.shards[1].nodes[0].port, 7003);
    int index;
    assert_int_equal(topology_find_node(&t, "n2", &index), 0);
    assert_int_equal(index, 1);
    assert_int_equal(topology_find_node(&t, "n4", &index), -1);
    /* ids are SHA-1 of the controller's names */
    assert_string_equal(t.shards[0].nodes[0].id, "40b3eab63f3f1d4fa48e09559401c5ed4efceaa6" /* sha1("n1") */);
    topology_free(&t);
    assert_int_equal(parse("1 2 a - 1 x h 1 b 5,1-3,4 1 y h 2", &t, err, sizeof(err)), 0);
    assert_int_equal(t.owner[0], -1);
    assert_int_equal(t.owner[1], 1);
    assert_int_equal(t.owner[5], 1);
    assert_int_equal(t.owner[6], -1);
    topology_free(&t);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    assert_refused("0 1 s 0 1 n h 1", "the epoch must be");
    assert_refused("x 1 s 0 1 n h 1", "the epoch must be");
    assert_refused("1 2 s 0 1 n h 1", "fewer shards than the shard count");
    assert_refused("1 1 s 5-3 1 n h 1", "slot range 5-3");
    assert_refused("1 1 s 16384 1 n h 1", "slot range 16384-16384");
    assert_refused("1 1 s 1- 1 n h 1", "bad slot range");
    assert_refused("1 1 s 1,,2 1 n h 1", "bad slot range");
    assert_refused("1 1 s a 1 n h 1", "bad slot range");
    assert_refused("1 1 s 1,1 1 n h 1", "slot 1 is assigned twice");
    assert_refused("1 2 s 0-100 1 n h 1 t 100-200 1 m h 2", "slot 100 is assigned twice (shards s and t)");
    assert_refused("1 2 s 0 1 n h 1 s 1 1 m h 2", "shard s appears twice");
    assert_refused("1 2 s 0 1 n h 1 t 1 1 n h 2", "node n appears twice");
    assert_refused("1 1 s 0 3 n h 1 m h 2", "fewer nodes than its count");
    assert_refused("1 1 s 0 0 n h 1", "a node count must be");
    assert_refused("1 1 s 0 1 n h 0", "a port must be");
    assert_refused("1 1 s 0 1 n h 65536", "a port must be");
    assert_refused("1 1 s/x 0 1 n h 1", "a shard id must be");
    assert_refused("1 1 s 0 1 n.1 h 1", "a node id must be");
    assert_refused("1 1 s 0 1 n h 1 extra", "1 arguments after the last shard");
    assert_refused("1", "the shard count is missing");
}

static void test_text_round_trip(void **state)
{
    (void)state;
    struct topology t, back;
    char err[512];
    size_t len, len2;
    assert_int_equal(parse("3 2 a 5,0-2,3,9 1 x h 1 b - 2 y h 2 z h 3", &t, err, sizeof(err)), 0);
    char *text = topology_text(&t, &len);
    assert_string_equal(text, TOPO_FILE_MAGIC "\n3 2\na 0-3,5,9 1 x h 1\nb - 2 y h 2 z h 3\n");
    assert_int_equal(topology_parse_text(text, len, &back, err, sizeof(err)), 0);
    char *again = topology_text(&back, &len2);
    assert_string_equal(text, again);
    zfree(text);
    zfree(again);
    topology_free(&back);
    topology_free(&t);
    assert_int_equal(topology_parse_text("garbage 1 0", 11, &back, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "does not start with"));
    topology_free(&back);
}

/* ---- a node's transitions -------------------------------------------------------------- */

static char tmpdir[64];

static int set_topology(const char *text, char *err, size_t errlen)
{
    char line[1024];
    arg argv[128];
    snprintf(line, sizeof(line), "%s", text);
    return cluster_set_topology(argv, split(line, argv, 128), err, errlen);
}

static void add_key(const char *key) { assert_non_null(db_add_string(server.dbs[0], key, strlen(key), "v", 1)); }

static void test_transitions(void **state)
{
    (void)state;
    char err[512];
    const char *v5 = "5 2 s1 0-8191 2 me h 1 r1 h 2 s2 8192-16383 1 other h 3";
    assert_int_equal(set_topology(v5, err, sizeof(err)), 0);
    assert_int_equal(cluster_epoch(), 5);
    assert_true(cluster_slot_is_mine(0));
    assert_false(cluster_slot_is_mine(8192));
    /* the same epoch and content: accepted, nothing changes */
    assert_int_equal(set_topology(v5, err, sizeof(err)), 0);
    /* the same epoch with other content, a stale epoch: refused */
    assert_int_equal(set_topology("5 1 s1 0-16383 1 me h 1", err, sizeof(err)), -1);
    assert_string_equal(err, "ERR topology epoch 5 is already applied with different content");
    assert_int_equal(set_topology("3 1 s1 0-16383 1 me h 1", err, sizeof(err)), -1);
    assert_string_equal(err, "ERR stale topology epoch 3, this node has 5");
    /* an invalid topology changes nothing */
    assert_int_equal(set_topology("9 1 s1 0-16383 1 me h 1 junk", err, sizeof(err)), -1);
    assert_int_equal(cluster_epoch(), 5);
    /* losing slots: their keys go, the others' stay */
    add_key("foo");                /* 12182: not ours, so none written there by a client */
    add_key("{user1000}.a");       /* 3443 */
    add_key("{user1000}.b");
    add_key("bar");                /* 5061 */
    assert_int_equal(db_slot_size(server.dbs[0], 3443), 2);
    assert_int_equal(set_topology("6 2 s1 0-3000,5000-8191 2 me h 1 r1 h 2 s2 3001-4999,8192-16383 1 other h 3",
                                  err, sizeof(err)), 0);
    assert_int_equal(db_slot_size(server.dbs[0], 3443), 0);
    assert_int_equal(db_slot_size(server.dbs[0], 5061), 1);
    assert_int_equal(db_slot_size(server.dbs[0], 12182), 0); /* never ours, not imported: a primary drops it too */
    assert_false(cluster_slot_is_mine(3443));
    /* the file holds the topology: a restart loads it */
    cluster_release();
    assert_int_equal(cluster_epoch(), 0);
    assert_int_equal(cluster_init(), 0);
    assert_int_equal(cluster_epoch(), 6);
    assert_true(cluster_slot_is_mine(5061));
    assert_false(cluster_slot_is_mine(3443));
    /* a node left out of a topology serves nothing and drops its keys */
    assert_int_equal(set_topology("7 1 s2 0-16383 1 other h 3", err, sizeof(err)), 0);
    assert_int_equal(db_slot_size(server.dbs[0], 5061), 0);
    assert_false(cluster_slot_is_mine(5061));
}

static void test_bad_file_refuses_start(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/nodes.conf", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(TOPO_FILE_MAGIC "\n8 1\ns1 0-99999 1 me h 1\n", f);
    assert_int_equal(fclose(f), 0);
    cluster_release();
    assert_int_equal(cluster_init(), -1);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(cluster_init(), 0); /* no file: no topology yet */
    assert_int_equal(cluster_epoch(), 0);
}

static int setup_node(void **state)
{
    (void)state;
    config_set_defaults();
    server.cluster_enabled = 1;
    server_init();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_slot.XXXXXX");
    if (mkdtemp(tmpdir) == NULL) return -1;
    zfree(server.dir);
    server.dir = zstrndup(tmpdir, strlen(tmpdir));
    zfree(server.node_id);
    server.node_id = zstrndup("me", 2);
    return cluster_init();
}

static int teardown_node(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/nodes.conf", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    cluster_release();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_slots),
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_text_round_trip),
    };
    const struct CMUnitTest node_tests[] = {
        cmocka_unit_test(test_transitions),
        cmocka_unit_test(test_bad_file_refuses_start),
    };
    int failed = cmocka_run_group_tests_name("slots and topology", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("a node's topology", node_tests, setup_node, teardown_node);
    return failed;
}
