/* test_expire.c: unit tests for expiry: lazy expiry on lookup (the key is
 * gone once its time has passed, counted in expired_keys, and on a primary
 * a DEL enters the replication stream), keys without a TTL untouched, and
 * the active cycle removing expired keys nobody reads while leaving live
 * ones alone. Time is the server's cached clock, moved by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server.h"

static int setup(void **state)
{
    (void)state;
    static int initialised;
    if (!initialised) {
        config_set_defaults();
        server_init();
        initialised = 1;
    }
    db_empty(server.dbs[0]);
    server.now_ms = 1000000;
    server.stat_expiredkeys = 0;
    return 0;
}

static entry *add_with_ttl(const char *key, long long when_ms)
{
    db *d = server.dbs[0];
    entry *e = db_add_string(d, key, strlen(key), "value", 5);
    return when_ms >= 0 ? db_set_expire(d, e, when_ms) : e;
}

static void test_lazy_expiry_on_lookup(void **state)
{
    (void)state;
    add_with_ttl("soon", server.now_ms + 100);
    add_with_ttl("forever", -1);
    arg soon = {"soon", 4}, forever = {"forever", 7};
    assert_non_null(lookup_quiet(NULL, server.dbs[0], &soon));
    server.now_ms += 100; /* the expiry instant itself counts as expired */
    assert_null(lookup_quiet(NULL, server.dbs[0], &soon));
    assert_null(db_find(server.dbs[0], "soon", 4)); /* really deleted */
    assert_int_equal(server.stat_expiredkeys, 1);
    assert_non_null(lookup_quiet(NULL, server.dbs[0], &forever));
    assert_int_equal(db_size(server.dbs[0]), 1);
    assert_int_equal(db_expires(server.dbs[0]), 0);
}

static void test_expiry_propagates_a_del(void **state)
{
    (void)state;
    /* with a replica's stream wanted, the deletion enters the backlog */
    long long before = replication_offset();
    add_with_ttl("k", server.now_ms + 10);
    arg k = {"k", 1};
    replication_feed_proxy("", 0); /* creates the backlog, feeds nothing */
    server.now_ms += 20;
    assert_null(lookup_quiet(NULL, server.dbs[0], &k));
    assert_true(replication_offset() > before);
}

static void test_active_cycle_removes_unread_expired_keys(void **state)
{
    (void)state;
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "old:%d", i);
        add_with_ttl(key, server.now_ms + 50);
    }
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "live:%d", i);
        add_with_ttl(key, server.now_ms + 3600 * 1000);
    }
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "plain:%d", i);
        add_with_ttl(key, -1);
    }
    server.now_ms += 100;
    /* bounded cycles, as the cron would run them */
    for (int cycle = 0; cycle < 2000 && db_size(server.dbs[0]) > 600; cycle++) active_expire_cycle(0);
    assert_int_equal(db_size(server.dbs[0]), 600);
    assert_int_equal(db_expires(server.dbs[0]), 500);
    assert_int_equal(server.stat_expiredkeys, 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_lazy_expiry_on_lookup, setup),
        cmocka_unit_test_setup(test_expiry_propagates_a_del, setup),
        cmocka_unit_test_setup(test_active_cycle_removes_unread_expired_keys, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
