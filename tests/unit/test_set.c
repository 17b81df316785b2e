/* test_set.c: unit tests for the set type's encodings (cachenode/t_set_enc.c):
 * the intset's widths and order, conversion to the hashtable, the
 * hashtable against a reference through growth, shrinking and rehashing,
 * out-of-line long members, SSCAN coverage while the table resizes,
 * random members, dup, memory usage, the digest's independence from the
 * encoding, and the snapshot round trip (with Redis's encoding choice on
 * load). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_snapshot_dir.h"

#include "object.h"
#include "server.h"
#include "snapshot.h"
#include "t_set.h"


static int add(void **s, const char *m) { return set_add(s, m, strlen(m)); }
static int has(const void *s, const char *m) { return set_contains(s, m, strlen(m)); }
static int rem(void **s, const char *m) { return set_remove(s, m, strlen(m)); }

static void test_intset_widths_and_order(void **state)
{
    (void)state;
    server.set_max_intset_entries = 512;
    void *s = set_create("5", 1);
    assert_int_equal(set_encoding(s), SET_ENC_INTSET);
    const char *in[] = {"5", "-3", "40000", "-70000", "5000000000", "-9223372036854775808",
                        "9223372036854775807", "0"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) assert_int_equal(add(&s, in[i]), 1);
    assert_int_equal(add(&s, "40000"), 0);
    assert_int_equal(set_encoding(s), SET_ENC_INTSET);
    const char *sorted[] = {"-9223372036854775808", "-70000", "-3", "0", "5", "40000", "5000000000",
                            "9223372036854775807"};
    set_iter it;
    smember m;
    size_t n = 0;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m)) {
        assert_true(n < 8);
        assert_int_equal(m.len, strlen(sorted[n]));
        assert_memory_equal(m.p, sorted[n], m.len);
        n++;
    }
    assert_int_equal(n, 8);
    assert_false(has(s, "01"));
    assert_false(has(s, "-0"));
    assert_false(has(s, "+5"));
    assert_false(has(s, "9223372036854775808"));
    assert_true(has(s, "-70000"));
    assert_int_equal(rem(&s, "-70000"), 1);
    assert_int_equal(rem(&s, "-70000"), 0);
    assert_int_equal(rem(&s, "abc"), 0);
    assert_int_equal(set_size(s), 7);
    /* a non-integer converts, and the set never goes back */
    assert_int_equal(add(&s, "abc"), 1);
    assert_int_equal(set_encoding(s), SET_ENC_HT);
    assert_int_equal(rem(&s, "abc"), 1);
    assert_int_equal(set_encoding(s), SET_ENC_HT);
    assert_true(has(s, "5000000000"));
    assert_false(has(s, "-70000"));
    set_free(s);
}

static void test_intset_limit(void **state)
{
    (void)state;
    server.set_max_intset_entries = 3;
    void *s = set_create_intset();
    add(&s, "1");
    add(&s, "2");
    add(&s, "3");
    assert_int_equal(set_encoding(s), SET_ENC_INTSET);
    assert_int_equal(add(&s, "3"), 0);
    assert_int_equal(set_encoding(s), SET_ENC_INTSET);
    add(&s, "4");
    assert_int_equal(set_encoding(s), SET_ENC_HT);
    assert_int_equal(set_size(s), 4);
    set_free(s);
    server.set_max_intset_entries = 512;
}

/* The hashtable against a plain array of flags, through growth to 20000
 * members, removals that shrink the table, and re-adds. */
static void test_hashtable_against_reference(void **state)
{
    (void)state;
    enum { N = 20000 };
    static char present[N];
    memset(present, 0, sizeof(present));
    void *s = set_create("x", 1);
    char buf[64];
    size_t count = 0;
    random_seed(42);
    for (int round = 0; round < 120000; round++) {
        int k = (int)(random_u64() % N);
        int len = snprintf(buf, sizeof(buf), "member:%d", k);
        int op = (int)(random_u64() % (round < 60000 ? 3 : 5));
        if (op < 2) {
            int added = set_add(&s, buf, (size_t)len);
            assert_int_equal(added, !present[k]);
            if (added) count++;
            present[k] = 1;
        } else {
            int removed = set_remove(&s, buf, (size_t)len);
            assert_int_equal(removed, present[k]);
            if (removed) count--;
            present[k] = 0;
        }
        assert_int_equal(set_size(s), count);
    }
    for (int k = 0; k < N; k++) {
        int len = snprintf(buf, sizeof(buf), "member:%d", k);
        assert_int_equal(set_contains(s, buf, (size_t)len), present[k]);
    }
    set_iter it;
    smember m;
    size_t seen = 0;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m)) {
        assert_true(m.len > 7 && memcmp(m.p, "member:", 7) == 0);
        seen++;
    }
    assert_int_equal(seen, count);
    /* remove everything: the table shrinks back */
    for (int k = 0; k < N; k++) {
        int len = snprintf(buf, sizeof(buf), "member:%d", k);
        set_remove(&s, buf, (size_t)len);
    }
    assert_int_equal(set_size(s), 0);
    assert_true(set_mem_usage(s, 0) < 1024);
    set_free(s);
}

static void test_long_members(void **state)
{
    (void)state;
    void *s = set_create("a", 1);
    char *big = malloc(100000);
    memset(big, 'z', 100000);
    for (size_t len = 1000; len <= 100000; len += 9999) assert_int_equal(set_add(&s, big, len), 1);
    assert_int_equal(set_add(&s, big, 1000), 0);
    for (size_t len = 1000; len <= 100000; len += 9999) assert_true(set_contains(s, big, len));
    assert_false(set_contains(s, big, 1001));
    assert_true(set_mem_usage(s, 0) > 459955); /* the bytes of the ten members */
    void *copy = set_dup(s);
    assert_int_equal(set_remove(&s, big, 1000 + 9999), 1);
    assert_true(set_contains(copy, big, 1000 + 9999));
    set_free(copy);
    set_free(s);
    free(big);
}

struct scan_seen {
    char *flags;
    int n;
};

static void scan_mark(void *priv, const char *m, size_t len)
{
    struct scan_seen *w = priv;
    char buf[32];
    assert_true(len < sizeof(buf));
    memcpy(buf, m, len);
    buf[len] = '\0';
    int k = atoi(buf + 1);
    assert_true(k >= 0 && k < w->n);
    w->flags[k] = 1;
}

/* Members present for the whole scan are returned, while the table grows
 * and shrinks between calls. */
static void test_scan_across_resizes(void **state)
{
    (void)state;
    enum { N = 5000 };
    void *s = set_create("k", 1);
    char buf[32];
    for (int k = 0; k < N; k++) set_add(&s, buf, (size_t)snprintf(buf, sizeof(buf), "k%d", k));
    struct scan_seen w = {calloc(N * 3, 1), N * 3};
    unsigned long cursor = 0;
    int step = 0, extra = N;
    do {
        cursor = set_scan(s, cursor, scan_mark, &w);
        /* grow during the first half, shrink during the second */
        for (int i = 0; i < 20; i++) {
            if (step < 200) set_add(&s, buf, (size_t)snprintf(buf, sizeof(buf), "k%d", extra++));
            else if (extra > N) set_remove(&s, buf, (size_t)snprintf(buf, sizeof(buf), "k%d", --extra));
        }
        step++;
    } while (cursor != 0);
    for (int k = 0; k < N; k++) assert_true(w.flags[k]);
    free(w.flags);
    set_free(s);
}

static void test_random_members(void **state)
{
    (void)state;
    void *s = set_create("a", 1);
    const char *ms[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) add(&s, ms[i]);
    int hits[4] = {0};
    for (int i = 0; i < 4000; i++) {
        smember m;
        set_random(s, &m);
        assert_int_equal(m.len, 1);
        hits[m.p[0] - 'a']++;
    }
    for (int i = 0; i < 4; i++) assert_true(hits[i] > 0);
    set_free(s);
    server.set_max_intset_entries = 512;
    s = set_create("7", 1);
    add(&s, "7");
    smember m;
    set_random(s, &m);
    assert_int_equal(m.len, 1);
    assert_memory_equal(m.p, "7", 1);
    set_free(s);
}

static void digest_of_dataset(char out[41]) { snapshot_dataset_digest(out); }

static void test_digest_independent_of_encoding(void **state)
{
    (void)state;
    db *d = server.dbs[0];
    db_empty(d);
    server.set_max_intset_entries = 512;
    void *a = set_create_intset();
    add(&a, "1");
    add(&a, "2");
    add(&a, "3");
    db_add_object(d, "s", 1, TYPE_SET, a);
    char before[41], after[41];
    digest_of_dataset(before);
    db_empty(d);
    void *b = set_create("x", 1); /* a hashtable with the same members */
    add(&b, "3");
    add(&b, "1");
    add(&b, "2");
    assert_int_equal(set_encoding(b), SET_ENC_HT);
    db_add_object(d, "s", 1, TYPE_SET, b);
    digest_of_dataset(after);
    assert_string_equal(before, after);
    add(&b, "4");
    digest_of_dataset(after);
    assert_string_not_equal(before, after);
    db_empty(d);
}

static void test_snapshot_round_trip(void **state)
{
    (void)state;
    db *d = server.dbs[0];
    db_empty(d);
    server.set_max_intset_entries = 512;
    char buf[32];
    void *is = set_create_intset();
    for (int k = -300; k < 300; k += 3) set_add(&is, buf, (size_t)snprintf(buf, sizeof(buf), "%d", k * 1000003));
    assert_int_equal(set_encoding(is), SET_ENC_INTSET);
    db_add_object(d, "is", 2, TYPE_SET, is);
    void *ht = set_create("m", 1);
    for (int k = 0; k < 3000; k++) set_add(&ht, buf, (size_t)snprintf(buf, sizeof(buf), "m%d", k));
    set_add(&ht, "", 0);
    set_add(&ht, "\0\xff", 2);
    db_add_object(d, "ht", 2, TYPE_SET, ht);
    /* a hashtable of few integers stays a hashtable (Redis would load it
     * as an intset; we keep the encoding the value had) */
    void *few = set_create("a", 1);
    add(&few, "1");
    add(&few, "2");
    db_add_object(d, "few", 3, TYPE_SET, few);
    char before[41], after[41];
    digest_of_dataset(before);
    assert_int_equal(snapshot_save(dump_path), 0);
    char err[256];
    assert_int_equal(snapshot_load(dump_path, err, sizeof(err)), 0);
    digest_of_dataset(after);
    assert_string_equal(before, after);
    d = server.dbs[0];
    entry *e = db_find(d, "is", 2);
    assert_non_null(e);
    assert_int_equal(set_encoding(entry_object(e)), SET_ENC_INTSET);
    assert_int_equal(set_size(entry_object(e)), 200);
    e = db_find(d, "ht", 2);
    assert_int_equal(set_encoding(entry_object(e)), SET_ENC_HT);
    assert_int_equal(set_size(entry_object(e)), 3002);
    assert_true(set_contains(entry_object(e), "\0\xff", 2));
    e = db_find(d, "few", 3);
    assert_int_equal(set_encoding(entry_object(e)), SET_ENC_HT);
    db_empty(d);
}

/* ---- hand-made snapshots: load must refuse malformed set payloads ----------- */

/* A file with one set under key "s" whose payload is p[0..n). */
static int load_payload(const unsigned char *p, size_t n, char *err, size_t errlen)
{
    struct builder b;
    b_one_key(&b, 0x03, "s");
    b_bytes(&b, p, n);
    b_finish(&b);
    return b_load(&b, err, errlen);
}

static void test_malformed_payloads(void **state)
{
    (void)state;
    char err[256];
    server.set_max_intset_entries = 512;
    /* valid: an intset {-1, 2} (zigzag 1, 4) and a hashtable {"a", "b"} */
    const unsigned char ok_is[] = {SET_ENC_INTSET, 2, 1, 4};
    assert_int_equal(load_payload(ok_is, sizeof(ok_is), err, sizeof(err)), 0);
    entry *e = db_find(server.dbs[0], "s", 1);
    assert_non_null(e);
    assert_int_equal(set_size(entry_object(e)), 2);
    assert_true(set_contains(entry_object(e), "-1", 2));
    const unsigned char ok_ht[] = {SET_ENC_HT, 2, 1, 'a', 1, 'b'};
    assert_int_equal(load_payload(ok_ht, sizeof(ok_ht), err, sizeof(err)), 0);
    e = db_find(server.dbs[0], "s", 1);
    assert_int_equal(set_encoding(entry_object(e)), SET_ENC_HT);

    const struct {
        unsigned char p[16];
        size_t n;
    } bad[] = {
        {{7, 1, 2}, 3},                        /* unknown encoding */
        {{SET_ENC_INTSET, 0}, 2},              /* empty */
        {{SET_ENC_HT, 0}, 2},                  /* empty */
        {{SET_ENC_INTSET, 50, 2}, 3},          /* count beyond the payload */
        {{SET_ENC_INTSET, 2, 4, 1}, 4},        /* not ascending */
        {{SET_ENC_INTSET, 2, 4, 4}, 4},        /* duplicate */
        {{SET_ENC_HT, 2, 1, 'a', 1, 'a'}, 6},  /* duplicate member */
        {{SET_ENC_HT, 2, 1, 'a', 5, 'b'}, 6},  /* truncated member */
        {{SET_ENC_HT, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 'a'}, 8}, /* huge count */
        {{SET_ENC_INTSET, 2, 4}, 3},           /* truncated */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(load_payload(bad[i].p, bad[i].n, err, sizeof(err)), -1);
        assert_true(strlen(err) > 0);
    }
    /* the dataset from before the failed loads is still there */
    e = db_find(server.dbs[0], "s", 1);
    assert_non_null(e);
    db_empty(server.dbs[0]);
}

static int setup(void **state)
{
    (void)state;
    return snapshot_dir_setup("test_set");
}

static int teardown(void **state)
{
    (void)state;
    snapshot_dir_teardown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intset_widths_and_order),
        cmocka_unit_test(test_intset_limit),
        cmocka_unit_test(test_hashtable_against_reference),
        cmocka_unit_test(test_long_members),
        cmocka_unit_test(test_scan_across_resizes),
        cmocka_unit_test(test_random_members),
        cmocka_unit_test(test_digest_independent_of_encoding),
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_malformed_payloads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
