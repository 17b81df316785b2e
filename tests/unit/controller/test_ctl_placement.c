/* test_ctl_placement.c: the pure placement function (controller/placement.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "placement.h"

static struct place_host host(const char *id, const char *az, long long free_mb)
{
    struct place_host h;
    memset(&h, 0, sizeof(h));
    snprintf(h.id, sizeof(h.id), "%s", id);
    snprintf(h.az, sizeof(h.az), "%s", az);
    h.up = 1;
    h.free_mb = free_mb;
    return h;
}

static void test_three_zones_distinct(void **state)
{
    (void)state;
    struct place_host h[] = {host("h1", "a", 1000), host("h2", "a", 2000), host("h3", "b", 500), host("h4", "c", 500)};
    int out[3];
    char err[256];
    assert_int_equal(place_shard(h, 4, 3, 1, 64, out, err, sizeof(err)), PLACE_OK);
    /* one node per zone: a (h2, most free), b, c */
    int zones[3] = {0};
    for (int i = 0; i < 3; i++) zones[h[out[i]].az[0] - 'a']++;
    assert_int_equal(zones[0], 1);
    assert_int_equal(zones[1], 1);
    assert_int_equal(zones[2], 1);
    assert_int_equal(h[out[0]].primaries, 1);
    assert_int_equal(h[1].in_shard, 1); /* h2 beat h1 in zone a: more free memory */
    assert_int_equal(h[0].in_shard, 0);
}

static void test_fewer_zones_than_nodes_still_distinct_hosts(void **state)
{
    (void)state;
    struct place_host h[] = {host("h1", "a", 100), host("h2", "a", 100), host("h3", "b", 100)};
    int out[3];
    char err[256];
    assert_int_equal(place_shard(h, 3, 3, 1, 64, out, err, sizeof(err)), PLACE_OK);
    assert_true(out[0] != out[1] && out[1] != out[2] && out[0] != out[2]);
    /* the first two nodes take both zones before a zone is reused */
    assert_string_not_equal(h[out[0]].az, h[out[1]].az);
}

static void test_primaries_spread(void **state)
{
    (void)state;
    struct place_host h[] = {host("h1", "a", 1000), host("h2", "b", 1000), host("h3", "c", 1000)};
    h[0].primaries = 2;
    h[1].primaries = 1;
    int out[1];
    char err[256];
    assert_int_equal(place_shard(h, 3, 1, 1, 64, out, err, sizeof(err)), PLACE_OK);
    assert_int_equal(out[0], 2); /* zone c has no primary yet */
}

static void test_refusals_change_nothing(void **state)
{
    (void)state;
    struct place_host h[] = {host("h1", "a", 100), host("h2", "b", 100), host("h3", "c", 10)};
    struct place_host before[3];
    memcpy(before, h, sizeof(h));
    int out[4];
    char err[256];
    assert_int_equal(place_shard(h, 3, 4, 1, 16, out, err, sizeof(err)), PLACE_NO_HOSTS);
    assert_non_null(strstr(err, "distinct hosts"));
    assert_int_equal(place_shard(h, 3, 3, 1, 64, out, err, sizeof(err)), PLACE_NO_MEMORY);
    assert_memory_equal(h, before, sizeof(h));
    h[1].up = 0;
    assert_int_equal(place_shard(h, 3, 3, 1, 1, out, err, sizeof(err)), PLACE_NO_HOSTS);
    assert_int_equal(place_shard(h, 0, 1, 1, 1, out, err, sizeof(err)), PLACE_NO_HOSTS);
}

static void test_adding_replicas_avoids_the_shard(void **state)
{
    (void)state;
    struct place_host h[] = {host("h1", "a", 1000), host("h2", "b", 1000), host("h3", "c", 10), host("h4", "c", 900)};
    h[0].in_shard = h[1].in_shard = 1;
    int out[1];
    char err[256];
    assert_int_equal(place_shard(h, 4, 1, 0, 64, out, err, sizeof(err)), PLACE_OK);
    assert_int_equal(out[0], 3);
    assert_int_equal(h[3].free_mb, 900 - 64);
    assert_int_equal(h[3].primaries, 0);
}

/* Three shards of 1 primary + 1 replica on three hosts in three zones:
 * each shard on two hosts (two zones), one primary per host and zone. */
static void test_shards_spread_primaries(void **state)
{
    (void)state;
    struct place_host h[] = {host("h1", "a", 1000), host("h2", "b", 1000), host("h3", "c", 1000)};
    int out[6];
    char err[256];
    assert_int_equal(place_shards(h, 3, 3, 2, 64, out, err, sizeof(err)), PLACE_OK);
    int primaries[3] = {0}, nodes[3] = {0};
    for (int s = 0; s < 3; s++) {
        assert_int_not_equal(out[s * 2], out[s * 2 + 1]);
        assert_string_not_equal(h[out[s * 2]].az, h[out[s * 2 + 1]].az);
        primaries[out[s * 2]]++;
        nodes[out[s * 2]]++;
        nodes[out[s * 2 + 1]]++;
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(primaries[i], 1);
        assert_int_equal(h[i].primaries, 1);
        assert_int_equal(nodes[i], 2); /* replicas follow free memory: two nodes per host */
        assert_int_equal(h[i].free_mb, 1000 - 2 * 64);
        assert_int_equal(h[i].in_shard, 0);
    }
}

/* More shards than hosts: primaries still spread as evenly as they can. */
static void test_many_shards_even_primaries(void **state)
{
    (void)state;
    struct place_host h[] = {host("h1", "a", 10000), host("h2", "a", 10000), host("h3", "b", 10000), host("h4", "c", 10000)};
    enum { SHARDS = 8, COUNT = 3 };
    int out[SHARDS * COUNT];
    char err[256];
    assert_int_equal(place_shards(h, 4, SHARDS, COUNT, 64, out, err, sizeof(err)), PLACE_OK);
    for (int s = 0; s < SHARDS; s++) {
        const int *o = out + s * COUNT;
        assert_true(o[0] != o[1] && o[1] != o[2] && o[0] != o[2]);
        int zones = 0; /* three nodes over zones a, b, c: all three */
        for (char z = 'a'; z <= 'c'; z++)
            for (int k = 0; k < COUNT; k++)
                if (h[o[k]].az[0] == z) { zones++; break; }
        assert_int_equal(zones, 3);
    }
    int per_zone[3] = {0};
    for (int i = 0; i < 4; i++) per_zone[h[i].az[0] - 'a'] += h[i].primaries;
    assert_true(per_zone[0] >= 2 && per_zone[0] <= 3 && per_zone[1] >= 2 && per_zone[1] <= 3 && per_zone[2] >= 2 &&
                per_zone[2] <= 3);
    assert_int_equal(per_zone[0] + per_zone[1] + per_zone[2], SHARDS);
}

/* A shard that does not fit refuses the whole request and changes nothing. */
static void test_shards_all_or_nothing(void **state)
{
    (void)state;
    struct place_host h[] = {host("h1", "a", 200), host("h2", "b", 200), host("h3", "c", 100)};
    struct place_host before[3];
    memcpy(before, h, sizeof(h));
    int out[8];
    char err[256];
    /* 4 shards x 2 nodes of 64 MB need 512 MB; the hosts have 500 */
    assert_int_equal(place_shards(h, 3, 4, 2, 64, out, err, sizeof(err)), PLACE_NO_MEMORY);
    assert_non_null(strstr(err, "shard 4 of 4"));
    assert_memory_equal(h, before, sizeof(h));
    assert_int_equal(place_shards(h, 3, 2, 4, 1, out, err, sizeof(err)), PLACE_NO_HOSTS);
    assert_non_null(strstr(err, "shard 1 of 2"));
    assert_memory_equal(h, before, sizeof(h));
}

/* memcached: 40 nodes over 3 zones and 5 hosts, as even as the zones allow. */
static void test_spread_many_nodes(void **state)
{
    (void)state;
    struct place_host h[] = {host("h1", "a", 100000), host("h2", "a", 100000), host("h3", "b", 100000),
                             host("h4", "c", 100000), host("h5", "c", 100000)};
    int out[40], zone[3] = {0}, per_host[5] = {0};
    char err[256];
    assert_int_equal(place_spread(h, 5, 40, 64, out, err, sizeof(err)), PLACE_OK);
    for (int i = 0; i < 40; i++) {
        zone[h[out[i]].az[0] - 'a']++;
        per_host[out[i]]++;
    }
    /* 40 = 14 + 13 + 13: no zone more than one node ahead of another */
    for (int z = 0; z < 3; z++) assert_true(zone[z] == 13 || zone[z] == 14);
    /* within a zone the hosts share it: a's 13-14 over 2 hosts, b's on its one */
    assert_true(abs(per_host[0] - per_host[1]) <= 1);
    assert_true(abs(per_host[3] - per_host[4]) <= 1);
    assert_int_equal(per_host[2], zone[1]);
    assert_int_equal(h[2].cluster_nodes, zone[1]);
    assert_int_equal(h[2].free_mb, 100000 - 64LL * zone[1]);
}

/* A scale-out goes where the cluster has the fewest nodes; a host that is
 * down gets none; the first three of a new cluster take three zones. */
static void test_spread_fills_the_emptiest_zone(void **state)
{
    (void)state;
    struct place_host h[] = {host("h1", "a", 1000), host("h2", "b", 1000), host("h3", "c", 1000)};
    int out[3];
    char err[256];
    assert_int_equal(place_spread(h, 3, 3, 64, out, err, sizeof(err)), PLACE_OK);
    assert_true(out[0] != out[1] && out[1] != out[2] && out[0] != out[2]);
    h[0].cluster_nodes = 2; /* two of the cluster's nodes already in a, one in b */
    h[1].cluster_nodes = 1;
    h[2].cluster_nodes = 0;
    h[2].up = 0;          /* and c's host is down */
    assert_int_equal(place_spread(h, 3, 2, 64, out, err, sizeof(err)), PLACE_OK);
    assert_int_equal(out[0], 1); /* b: 1 < 2 */
    assert_int_equal(out[1], 0); /* then a and b tie at 2; a has more free memory left */
}

static void test_spread_refusals_change_nothing(void **state)
{
    (void)state;
    struct place_host h[] = {host("h1", "a", 200), host("h2", "b", 100)};
    int out[5];
    char err[256];
    assert_int_equal(place_spread(h, 2, 5, 64, out, err, sizeof(err)), PLACE_NO_MEMORY); /* 4 fit, not 5 */
    assert_int_equal(h[0].free_mb, 200);
    assert_int_equal(h[0].cluster_nodes, 0);
    assert_non_null(strstr(err, "not enough memory"));
    h[0].up = h[1].up = 0;
    assert_int_equal(place_spread(h, 2, 1, 64, out, err, sizeof(err)), PLACE_NO_HOSTS);
    assert_int_equal(place_spread(h, 0, 1, 64, out, err, sizeof(err)), PLACE_NO_HOSTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_zones_distinct),
        cmocka_unit_test(test_fewer_zones_than_nodes_still_distinct_hosts),
        cmocka_unit_test(test_primaries_spread),
        cmocka_unit_test(test_refusals_change_nothing),
        cmocka_unit_test(test_adding_replicas_avoids_the_shard),
        cmocka_unit_test(test_shards_spread_primaries),
        cmocka_unit_test(test_many_shards_even_primaries),
        cmocka_unit_test(test_shards_all_or_nothing),
        cmocka_unit_test(test_spread_many_nodes),
        cmocka_unit_test(test_spread_fills_the_emptiest_zone),
        cmocka_unit_test(test_spread_refusals_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
