/* test_keyspace.c: unit tests for keyspace.c: adding, finding and deleting
 * keys, growth with incremental rehash, SCAN coverage across a resize, the
 * volatile set's consistency, entries that move when their TTL changes, and
 * entry_dup and entry_rename; each for a database with one table and for
 * one with a table per hash slot (cluster mode), where the slot-only tests
 * also check slot sizes, dropping a slot, cursors across slots, fair
 * random keys and freeing a detached database a step at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "keyspace.h"
#include "server.h"
#include "slot.h"

#define MANY 5000

/* Which kind of database the group being run creates. In the slotted run,
 * key_name puts keys under one hash tag, so that one slot's table grows,
 * rehashes and shrinks as the only table of a plain database does. */
static int slotted;

static db *new_db(int id) { return db_create(id, slotted); }

static size_t key_name(char *buf, size_t size, const char *prefix, int i)
{
    int n = snprintf(buf, size, "%s%s:%d", slotted ? "{t}" : "", prefix, i);
    assert_true(n > 0 && (size_t)n < size);
    return (size_t)n;
}

static void assert_string_value(const entry *e, const char *want)
{
    char buf[24];
    size_t len;
    const char *v = entry_string(e, buf, &len);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(v, want, len);
}

static int count_ttl(void *priv, const entry *e)
{
    *(size_t *)priv += e->has_expire;
    return 0;
}

/* Every volatile-set slot points at a linked entry that has a TTL, and the
 * set holds exactly the keys with a TTL. */
static void assert_volatile_consistent(db *d)
{
    size_t with_ttl = 0;
    for (size_t i = 0; i < db_expires(d); i++) {
        entry *e = db_volatile_at(d, i);
        assert_non_null(e);
        assert_true(e->has_expire);
        assert_ptr_equal(db_find(d, entry_key(e), e->keylen), e);
    }
    assert_int_equal(db_walk(d, count_ttl, &with_ttl), 0);
    assert_int_equal(with_ttl, db_expires(d));
    assert_null(db_volatile_at(d, db_expires(d)));
}

static void test_add_find_delete(void **state)
{
    (void)state;
    db *d = new_db(0);
    assert_null(db_find(d, "nosuch", 6));
    entry *a = db_add_string(d, "a", 1, "hello", 5);
    entry *n = db_add_int(d, "n", 1, -42);
    entry *big = db_add_string(d, "big", 3, "0123456789012345678901234567890123456789012345", 46);
    entry *empty = db_add_string(d, "", 0, "", 0);
    assert_int_equal(db_size(d), 4);
    assert_ptr_equal(db_find(d, "a", 1), a);
    assert_ptr_equal(db_find(d, "", 0), empty);
    assert_int_equal(a->enc, ENC_EMBSTR);
    assert_int_equal(n->enc, ENC_INT);
    assert_int_equal(entry_int(n), -42);
    assert_int_equal(big->enc, ENC_RAW);
    assert_string_value(a, "hello");
    assert_string_value(n, "-42");
    assert_string_value(empty, "");
    /* a key with a NUL byte is its own key */
    db_add_string(d, "a\0b", 3, "x", 1);
    assert_int_equal(db_size(d), 5);
    assert_non_null(db_find(d, "a\0b", 3));
    assert_int_equal(db_delete(d, "a", 1), 1);
    assert_int_equal(db_delete(d, "a", 1), 0);
    assert_null(db_find(d, "a", 1));
    assert_non_null(db_find(d, "a\0b", 3));
    assert_int_equal(db_size(d), 4);
    assert_int_equal(db_empty(d), 4);
    assert_int_equal(db_size(d), 0);
    assert_null(db_find(d, "n", 1));
    db_release(d);
}

static void test_growth_with_incremental_rehash(void **state)
{
    (void)state;
    db *d = new_db(0);
    char k[32];
    int saw_rehash = 0;
    for (int i = 0; i < MANY; i++) {
        size_t len = key_name(k, sizeof(k), "grow", i);
        db_add_int(d, k, len, i);
        saw_rehash |= db_is_rehashing(d);
        /* every key stays findable in the middle of a rehash */
        if (i % 97 == 0) {
            for (int j = 0; j <= i; j += 13) {
                size_t l2 = key_name(k, sizeof(k), "grow", j);
                entry *e = db_find(d, k, l2);
                assert_non_null(e);
                assert_int_equal(entry_int(e), j);
            }
        }
    }
    assert_true(saw_rehash);
    assert_int_equal(db_size(d), MANY);
    while (db_rehash(d, 100)) {}
    assert_false(db_is_rehashing(d));
    assert_true(db_buckets(d) >= MANY);
    /* delete most keys, then shrink */
    for (int i = 0; i < MANY; i++) {
        if (i % 10 == 0) continue;
        size_t len = key_name(k, sizeof(k), "grow", i);
        assert_int_equal(db_delete(d, k, len), 1);
    }
    assert_int_equal(db_size(d), MANY / 10);
    for (int call = 0; call <= CLUSTER_SLOTS / 128; call++) db_resize_if_needed(d); /* a batch of slots a call */
    while (db_rehash(d, 100)) {}
    assert_true(db_buckets(d) < MANY);
    for (int i = 0; i < MANY; i += 10) {
        size_t len = key_name(k, sizeof(k), "grow", i);
        assert_non_null(db_find(d, k, len));
    }
    db_release(d);
}

struct seen {
    unsigned char *count; /* per key index */
    int n;
};

static void scan_mark(void *priv, entry *e)
{
    struct seen *s = priv;
    int i = -1;
    char buf[32];
    size_t len = e->keylen < sizeof(buf) - 1 ? e->keylen : sizeof(buf) - 1;
    memcpy(buf, entry_key(e), len);
    buf[len] = '\0';
    assert_int_equal(sscanf(strchr(buf, ':') + 1, "%d", &i), 1);
    assert_true(i >= 0 && i < s->n);
    if (s->count[i] < 255) s->count[i]++;
}

/* Keys present for the whole scan are returned at least once, even when
 * the table grows (and rehashes) between calls. */
static void test_scan_covers_every_key_across_resize(void **state)
{
    (void)state;
    db *d = new_db(0);
    char k[32];
    const int initial = 1000, extra = 4000;
    static unsigned char count[5000];
    memset(count, 0, sizeof(count));
    struct seen s = {count, initial + extra};
    for (int i = 0; i < initial; i++) db_add_int(d, k, key_name(k, sizeof(k), "scan", i), i);
    while (db_rehash(d, 100)) {}
    unsigned long cursor = 0;
    int calls = 0, added = initial;
    do {
        cursor = db_scan(d, cursor, scan_mark, &s);
        /* grow the table while scanning: forces resizes and rehashing */
        for (int j = 0; j < 20 && added < initial + extra; j++, added++)
            db_add_int(d, k, key_name(k, sizeof(k), "scan", added), added);
        assert_true(++calls < 1000000);
    } while (cursor != 0);
    for (int i = 0; i < initial; i++) assert_true(count[i] >= 1);
    db_release(d);
}

/* Without changes, a full scan returns each key exactly once. */
static void test_scan_exactly_once_without_changes(void **state)
{
    (void)state;
    db *d = new_db(0);
    char k[32];
    static unsigned char count[3000];
    memset(count, 0, sizeof(count));
    struct seen s = {count, 3000};
    for (int i = 0; i < 3000; i++) db_add_int(d, k, key_name(k, sizeof(k), "scan", i), i);
    assert_true(db_is_rehashing(d) || db_size(d) == 3000);
    unsigned long cursor = 0;
    do {
        cursor = db_scan(d, cursor, scan_mark, &s);
    } while (cursor != 0);
    for (int i = 0; i < 3000; i++) assert_int_equal(count[i], 1);
    db_release(d);
}

static void test_volatile_set(void **state)
{
    (void)state;
    db *d = new_db(0);
    char k[32];
    entry *keep[200];
    for (int i = 0; i < 200; i++) {
        size_t len = key_name(k, sizeof(k), "vol", i);
        entry *e = db_add_string(d, k, len, "value", 5);
        keep[i] = db_set_expire(d, e, 1000000 + i);
    }
    assert_int_equal(db_expires(d), 200);
    assert_volatile_consistent(d);
    /* remove TTLs from half, delete a quarter: the set shrinks and its
     * array is reallocated; every slot must still be right */
    for (int i = 0; i < 200; i += 2) keep[i] = db_remove_expire(d, keep[i]);
    assert_int_equal(db_expires(d), 100);
    assert_volatile_consistent(d);
    for (int i = 1; i < 200; i += 4) db_delete_entry(d, keep[i]);
    assert_int_equal(db_expires(d), 50);
    assert_volatile_consistent(d);
    for (int i = 3; i < 200; i += 4) assert_int_equal(entry_expire(keep[i]), 1000000 + i);
    /* random picks come from the set */
    for (int i = 0; i < 100; i++) {
        entry *e = db_random_volatile(d);
        assert_non_null(e);
        assert_true(e->has_expire);
    }
    for (int i = 3; i < 200; i += 4) keep[i] = db_remove_expire(d, keep[i]);
    assert_int_equal(db_expires(d), 0);
    assert_null(db_random_volatile(d));
    assert_volatile_consistent(d);
    db_release(d);
}

/* Setting and removing a TTL may move the entry: the returned pointer is the
 * one linked in the table and listed in the volatile set; key and value are
 * intact. */
static void test_expire_moves_entries(void **state)
{
    (void)state;
    db *d = new_db(0);
    const char *vals[] = {"", "x", "12345", "embedded string value of some length..", "a raw string value that is longer than forty-four bytes"};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char k[32];
        size_t klen = key_name(k, sizeof(k), "mv", (int)i);
        entry *e = db_add_string(d, k, klen, vals[i], strlen(vals[i]));
        e = db_set_expire(d, e, 123456789);
        assert_ptr_equal(db_find(d, k, klen), e);
        assert_int_equal(entry_expire(e), 123456789);
        assert_int_equal(e->keylen, klen);
        assert_memory_equal(entry_key(e), k, klen);
        assert_string_value(e, vals[i]);
        e = db_set_expire(d, e, 987654321); /* update in place */
        assert_int_equal(entry_expire(e), 987654321);
        e = db_remove_expire(d, e);
        assert_ptr_equal(db_find(d, k, klen), e);
        assert_int_equal(entry_expire(e), -1);
        assert_memory_equal(entry_key(e), k, klen);
        assert_string_value(e, vals[i]);
        e = db_set_expire(d, e, 5);
        assert_volatile_consistent(d);
    }
    db_release(d);
}

static void test_entry_dup(void **state)
{
    (void)state;
    db *d = new_db(0);
    db *other = new_db(1);
    entry *raw = db_add_string(d, "raw", 3, "a raw string value that is longer than forty-four bytes", 55);
    raw = db_set_expire(d, raw, 777);
    entry *emb = db_add_string(d, "emb", 3, "short", 5);
    entry *num = db_add_int(d, "num", 3, 99);

    entry *c1 = entry_dup(raw, "raw-copy", 8);
    assert_int_equal(c1->enc, ENC_RAW);
    assert_ptr_not_equal(entry_rawstr(c1), entry_rawstr(raw)); /* deep copy */
    assert_int_equal(entry_expire(c1), 777);
    db_link_entry(other, c1);
    assert_ptr_equal(db_find(other, "raw-copy", 8), c1);
    assert_int_equal(db_expires(other), 1);
    assert_volatile_consistent(other);

    entry *c2 = entry_dup(emb, "e", 1);
    assert_int_equal(entry_expire(c2), -1);
    assert_string_value(c2, "short");
    db_link_entry(d, c2);
    entry *c3 = entry_dup(num, "n2", 2);
    assert_int_equal(entry_int(c3), 99);
    db_link_entry(d, c3);

    /* the original and the copies are independent */
    db_delete_entry(d, raw);
    assert_string_value(c1, "a raw string value that is longer than forty-four bytes");
    assert_int_equal(db_size(d), 4);
    assert_volatile_consistent(d);

    /* unlink + link moves an entry between databases (MOVE) */
    db_unlink_entry(d, c2);
    assert_null(db_find(d, "e", 1));
    db_link_entry(other, c2);
    assert_ptr_equal(db_find(other, "e", 1), c2);
    assert_int_equal(db_size(other), 2);
    db_release(d);
    db_release(other);
}

/* RENAME: the value moves to the new entry, TTL and all, without a copy */
static void test_entry_rename(void **state)
{
    (void)state;
    db *d = new_db(0);
    const char *text = "a raw string value that is longer than forty-four bytes";
    entry *raw = db_add_string(d, "raw", 3, text, strlen(text));
    raw = db_set_expire(d, raw, 4242);
    rawstr *value = entry_rawstr(raw);
    entry *emb = db_add_string(d, "emb", 3, "short", 5);

    db_unlink_entry(d, raw);
    entry *moved = entry_rename(raw, "renamed-key", 11);
    db_link_entry(d, moved);
    assert_ptr_equal(entry_rawstr(moved), value); /* the same buffer */
    assert_int_equal(entry_expire(moved), 4242);
    assert_string_value(moved, text);
    assert_null(db_find(d, "raw", 3));
    assert_ptr_equal(db_find(d, "renamed-key", 11), moved);

    db_unlink_entry(d, emb);
    entry *e2 = entry_rename(emb, "e", 1);
    db_link_entry(d, e2);
    assert_string_value(e2, "short");
    assert_int_equal(entry_expire(e2), -1);
    assert_int_equal(db_size(d), 2);
    assert_int_equal(db_expires(d), 1);
    assert_volatile_consistent(d);
    db_release(d);
}

static void test_random_entry(void **state)
{
    (void)state;
    db *d = new_db(0);
    assert_null(db_random_entry(d));
    char k[32];
    for (int i = 0; i < 100; i++) db_add_int(d, k, key_name(k, sizeof(k), "r", i), i);
    for (int i = 0; i < 1000; i++) {
        entry *e = db_random_entry(d);
        assert_non_null(e);
        assert_ptr_equal(db_find(d, entry_key(e), e->keylen), e);
    }
    db_release(d);
}

static void test_expand_sizes_an_empty_table_up_front(void **state)
{
    (void)state;
    if (slotted) skip(); /* a slotted database sizes each slot as it fills */
    db *d = new_db(0);
    db_expand(d, 1000);
    assert_true(db_buckets(d) >= 1000);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(key, sizeof(key), "k%d", i);
        db_add_string(d, key, (size_t)n, "v", 1);
        assert_false(db_is_rehashing(d)); /* no growth needed while filling */
    }
    size_t buckets = db_buckets(d);
    db_expand(d, 100000); /* not empty any more: no effect */
    assert_int_equal(db_buckets(d), buckets);
    db_release(d);
}

/* ---- slotted databases only ---------------------------------------------- */

static int mark_found(void *priv, const entry *e)
{
    (*(size_t *)priv)++;
    (void)e;
    return 0;
}

static void scan_count(void *priv, entry *e)
{
    (void)e;
    (*(size_t *)priv)++;
}

static void test_slot_sizes_and_dropping_a_slot(void **state)
{
    (void)state;
    db *d = db_create(0, 1);
    char k[32];
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(k, sizeof(k), "k:%d", i);
        entry *e = db_add_int(d, k, (size_t)n, i);
        if (i % 3 == 0) db_set_expire(d, e, 1000000 + i);
    }
    size_t total = 0;
    for (unsigned s = 0; s < CLUSTER_SLOTS; s++) total += db_slot_size(d, s);
    assert_int_equal(total, 3000);
    unsigned slot = key_hash_slot("k:7", 3);
    size_t in_slot = db_slot_size(d, slot), walked = 0, scanned = 0;
    assert_true(in_slot >= 1);
    assert_int_equal(db_walk_slot(d, slot, mark_found, &walked), 0);
    assert_int_equal(walked, in_slot);
    unsigned long cursor = 0;
    do cursor = db_scan_slot(d, slot, cursor, scan_count, &scanned);
    while (cursor != 0);
    assert_int_equal(scanned, in_slot);
    assert_int_equal(db_empty_slot(d, slot), in_slot);
    assert_int_equal(db_slot_size(d, slot), 0);
    assert_int_equal(db_size(d), 3000 - in_slot);
    assert_null(db_find(d, "k:7", 3));
    assert_non_null(db_find(d, "k:8", 3));
    assert_volatile_consistent(d);
    db_release(d);
}

/* A random key is drawn in proportion to the slots' sizes. */
static void test_random_entry_is_fair_across_slots(void **state)
{
    (void)state;
    db *d = db_create(0, 1);
    char k[32];
    for (int i = 0; i < 900; i++) db_add_int(d, k, (size_t)snprintf(k, sizeof(k), "{a}%d", i), i);
    for (int i = 0; i < 100; i++) db_add_int(d, k, (size_t)snprintf(k, sizeof(k), "{b}%d", i), i);
    int from_b = 0;
    for (int i = 0; i < 10000; i++) from_b += entry_key(db_random_entry(d))[1] == 'b';
    assert_true(from_b > 700 && from_b < 1300); /* 1000 expected; 9 sigma either way */
    db_release(d);
}

static void test_detached_database_is_freed_in_steps(void **state)
{
    (void)state;
    db *d = db_create(0, 1);
    char k[32];
    for (int i = 0; i < 20000; i++) {
        entry *e = db_add_int(d, k, (size_t)snprintf(k, sizeof(k), "d:%d", i), i);
        if (i % 2) db_set_expire(d, e, 1000000);
    }
    db *old = db_detach(d);
    assert_int_equal(db_size(d), 0);
    assert_int_equal(db_expires(d), 0);
    assert_int_equal(db_size(old), 20000);
    db_add_int(d, "fresh", 5, 1);
    assert_non_null(db_find(d, "fresh", 5));
    size_t freed = 0;
    int done = 0;
    for (int steps = 0; !done && steps < 100000; steps++) done = db_free_step(old, 0, &freed);
    assert_true(done);
    assert_int_equal(freed, 20000);
    db_release(d);
}

/* A lost slot's keys move to a holder the lazy-free cron drains; the
 * slot, the key count, the volatile set and random draws forget them at once. */
static void test_slot_moved_out_for_lazy_freeing(void **state)
{
    (void)state;
    db *d = db_create(0, 1), *into = db_create(0, 1);
    char k[32];
    for (int i = 0; i < 5000; i++) {
        entry *e = db_add_int(d, k, (size_t)snprintf(k, sizeof(k), "{%d}:%d", i % 3, i), i);
        if (i % 2) db_set_expire(d, e, 1000000 + i);
    }
    unsigned slot = key_hash_slot("{0}", 3);
    size_t in_slot = db_slot_size(d, slot);
    assert_true(in_slot > 1000);
    assert_int_equal(db_move_slot_out(d, slot, into), in_slot);
    assert_int_equal(db_move_slot_out(d, slot, into), 0);
    assert_int_equal(db_slot_size(d, slot), 0);
    assert_int_equal(db_size(d), 5000 - in_slot);
    assert_int_equal(db_slot_size(into, slot), in_slot);
    assert_null(db_find(d, "{0}:0", 5));
    assert_volatile_consistent(d);
    for (int i = 0; i < 2000; i++) assert_true(entry_key(db_random_entry(d))[1] != '0');
    db_add_int(d, "{0}:new", 7, 1); /* the slot takes keys again */
    assert_int_equal(db_slot_size(d, slot), 1);
    size_t freed = 0;
    int done = 0;
    for (int steps = 0; !done && steps < 100000; steps++) done = db_free_step(into, 0, &freed);
    assert_true(done);
    assert_int_equal(freed, in_slot);
    db_release(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find_delete),
        cmocka_unit_test(test_expand_sizes_an_empty_table_up_front),
        cmocka_unit_test(test_growth_with_incremental_rehash),
        cmocka_unit_test(test_scan_covers_every_key_across_resize),
        cmocka_unit_test(test_scan_exactly_once_without_changes),
        cmocka_unit_test(test_volatile_set),
        cmocka_unit_test(test_expire_moves_entries),
        cmocka_unit_test(test_entry_dup),
        cmocka_unit_test(test_entry_rename),
        cmocka_unit_test(test_random_entry),
    };
    const struct CMUnitTest slot_tests[] = {
        cmocka_unit_test(test_slot_sizes_and_dropping_a_slot),
        cmocka_unit_test(test_random_entry_is_fair_across_slots),
        cmocka_unit_test(test_detached_database_is_freed_in_steps),
        cmocka_unit_test(test_slot_moved_out_for_lazy_freeing),
    };
    int failed = cmocka_run_group_tests_name("one table", tests, NULL, NULL);
    slotted = 1;
    failed += cmocka_run_group_tests_name("a table per slot", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("slots", slot_tests, NULL, NULL);
    return failed;
}
