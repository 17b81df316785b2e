/* test_hash.c: unit tests for the hash type (cachenode/t_hash_enc.c): the
 * listpack's entry encodings (strings at every length-header boundary,
 * integers at every width boundary, non-canonical integers kept as text),
 * updates that change an entry's size, deletion, conversion to a hashtable
 * at the thresholds, dup, memory usage, free effort, random access, and
 * save/load through the snapshot: round trips keep contents and encoding,
 * malformed values are refused with the dataset left as it was. */
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
#include "t_hash.h"

extern const struct object_type hash_type;


/* ---- helpers ------------------------------------------------------------------- */

static void set_str(void **h, const char *f, const char *v)
{
    hash_set(h, f, strlen(f), v, strlen(v));
}

/* Asserts the field's value (NULL: absent). */
static void expect(void *h, const char *f, size_t flen, const char *want, size_t wlen)
{
    char buf[HASH_NUMBUF];
    const char *v;
    size_t vlen;
    int found = hash_get(h, f, flen, buf, &v, &vlen);
    if (want == NULL) {
        assert_false(found);
        return;
    }
    assert_true(found);
    assert_int_equal(vlen, wlen);
    assert_memory_equal(v, want, wlen);
}

static void expect_str(void *h, const char *f, const char *want)
{
    expect(h, f, strlen(f), want, want ? strlen(want) : 0);
}

/* Every field of a must be in b with the same value, and the sizes equal. */
static void expect_same(void *a, void *b)
{
    assert_int_equal(hash_length(a), hash_length(b));
    hash_iter it;
    hash_iter_init(&it, a);
    const char *f, *v;
    size_t flen, vlen;
    while (hash_iter_next(&it, &f, &flen, &v, &vlen)) expect(b, f, flen, v, vlen);
    hash_iter_release(&it);
}

static void defaults(void)
{
    server.hash_max_listpack_entries = 128;
    server.hash_max_listpack_value = 64;
}

/* ---- the listpack ------------------------------------------------------------------ */

static void test_listpack_entries(void **state)
{
    (void)state;
    defaults();
    server.hash_max_listpack_value = 100000;
    void *h = hash_create();
    assert_int_equal(hash_encoding_of(h), HASH_ENC_LISTPACK);
    assert_int_equal(hash_length(h), 0);
    /* strings at the length-header boundaries */
    static const size_t lens[] = {0, 1, 127, 128, 129, 16383, 16384, 70000};
    char *big = malloc(70001);
    for (size_t i = 0; i < 70000; i++) big[i] = (char)('a' + i % 26);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        char f[32];
        snprintf(f, sizeof(f), "len%zu", lens[i]);
        assert_int_equal(hash_set(&h, f, strlen(f), big, lens[i]), 1);
        /* the field itself that long, too */
        assert_int_equal(hash_set(&h, big, lens[i], f, strlen(f)), 1);
    }
    assert_int_equal(hash_encoding_of(h), HASH_ENC_LISTPACK);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        char f[32];
        snprintf(f, sizeof(f), "len%zu", lens[i]);
        expect(h, f, strlen(f), big, lens[i]);
        expect(h, big, lens[i], f, strlen(f));
    }
    /* integers at every width boundary, and texts that look like integers */
    static const char *const ints[] = {
        "0", "-1", "127", "-128", "128", "-129", "32767", "-32768", "32768", "-32769",
        "8388607", "-8388608", "8388608", "-8388609", "2147483647", "-2147483648",
        "2147483648", "-2147483649", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "-9223372036854775809", "007", "-0", "+1", " 1", "1 ", "1e3",
        "99999999999999999999", "0x10", "-"};
    size_t n = sizeof(ints) / sizeof(ints[0]);
    for (size_t i = 0; i < n; i++) {
        char f[32];
        snprintf(f, sizeof(f), "i%zu", i);
        set_str(&h, f, ints[i]);
        set_str(&h, ints[i], f); /* as fields too */
    }
    for (size_t i = 0; i < n; i++) {
        char f[32];
        snprintf(f, sizeof(f), "i%zu", i);
        expect_str(h, f, ints[i]);
        expect_str(h, ints[i], f);
    }
    /* "1" and "01" are different fields */
    set_str(&h, "1", "one");
    expect_str(h, "01", NULL);
    expect_str(h, "1", "one");
    /* the order is insertion order */
    hash_iter it;
    hash_iter_init(&it, h);
    const char *f, *v;
    size_t flen, vlen;
    assert_true(hash_iter_next(&it, &f, &flen, &v, &vlen));
    assert_int_equal(flen, 4);
    assert_memory_equal(f, "len0", 4);
    assert_int_equal(vlen, 0);
    hash_iter_release(&it);
    hash_free(h);
    free(big);
}

static void test_listpack_updates(void **state)
{
    (void)state;
    defaults();
    void *h = hash_create();
    set_str(&h, "a", "1");
    set_str(&h, "b", "short");
    set_str(&h, "c", "3");
    /* grow, shrink and change kind in the middle: neighbours intact */
    static const char *const vals[] = {"a much longer value than it was before, 60 bytes or so....",
                                       "x", "", "123456", "-9223372036854775808", "short"};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        assert_int_equal(hash_set(&h, "b", 1, vals[i], strlen(vals[i])), 0);
        expect_str(h, "a", "1");
        expect_str(h, "b", vals[i]);
        expect_str(h, "c", "3");
        assert_int_equal(hash_length(h), 3);
    }
    assert_int_equal(hash_delete(&h, "b", 1), 1);
    assert_int_equal(hash_delete(&h, "b", 1), 0);
    expect_str(h, "b", NULL);
    expect_str(h, "a", "1");
    expect_str(h, "c", "3");
    assert_int_equal(hash_delete(&h, "a", 1), 1);
    assert_int_equal(hash_delete(&h, "c", 1), 1);
    assert_int_equal(hash_length(h), 0);
    set_str(&h, "again", "yes");
    expect_str(h, "again", "yes");
    hash_free(h);
}

/* ---- conversion --------------------------------------------------------------------- */

static void test_conversion_thresholds(void **state)
{
    (void)state;
    defaults();
    server.hash_max_listpack_entries = 4;
    server.hash_max_listpack_value = 8;
    void *h = hash_create();
    set_str(&h, "a", "1");
    set_str(&h, "b", "2");
    set_str(&h, "c", "3");
    set_str(&h, "d", "12345678"); /* 8 bytes fit */
    assert_int_equal(hash_encoding_of(h), HASH_ENC_LISTPACK);
    set_str(&h, "d", "4"); /* an update does not add */
    assert_int_equal(hash_encoding_of(h), HASH_ENC_LISTPACK);
    set_str(&h, "e", "5");
    assert_int_equal(hash_encoding_of(h), HASH_ENC_HASHTABLE);
    expect_str(h, "a", "1");
    expect_str(h, "d", "4");
    expect_str(h, "e", "5");
    /* never back */
    hash_delete(&h, "a", 1);
    hash_delete(&h, "b", 1);
    hash_delete(&h, "c", 1);
    assert_int_equal(hash_encoding_of(h), HASH_ENC_HASHTABLE);
    /* hashtable values of every size, updated in place and not */
    set_str(&h, "d", "");
    expect_str(h, "d", "");
    set_str(&h, "d", "a value longer than the node had room for");
    expect_str(h, "d", "a value longer than the node had room for");
    set_str(&h, "d", "1");
    expect_str(h, "d", "1");
    assert_int_equal(hash_length(h), 2);
    hash_free(h);

    /* a long value converts before it is stored */
    h = hash_create();
    set_str(&h, "a", "1");
    set_str(&h, "b", "123456789");
    assert_int_equal(hash_encoding_of(h), HASH_ENC_HASHTABLE);
    expect_str(h, "a", "1");
    expect_str(h, "b", "123456789");
    hash_free(h);
    /* and a long field */
    h = hash_create();
    set_str(&h, "123456789", "v");
    assert_int_equal(hash_encoding_of(h), HASH_ENC_HASHTABLE);
    hash_free(h);
    /* HSET's check ahead of the writes */
    h = hash_create();
    hash_try_conversion(&h, 8, 20);
    assert_int_equal(hash_encoding_of(h), HASH_ENC_LISTPACK);
    hash_try_conversion(&h, 9, 20);
    assert_int_equal(hash_encoding_of(h), HASH_ENC_HASHTABLE);
    hash_free(h);
    defaults();
}

/* ---- dup, memory, free effort, random access ------------------------------------------ */

static void test_dup_memory_random(void **state)
{
    (void)state;
    defaults();
    void *lp = hash_create();
    for (int i = 0; i < 20; i++) {
        char f[16], v[16];
        snprintf(f, sizeof(f), "f%d", i);
        snprintf(v, sizeof(v), "%d", i * 1000);
        set_str(&lp, f, v);
    }
    void *ht = hash_type.dup(lp);
    hash_convert(&ht);
    assert_int_equal(hash_encoding_of(ht), HASH_ENC_HASHTABLE);
    expect_same(lp, ht);
    expect_same(ht, lp);
    void *lp2 = hash_type.dup(lp), *ht2 = hash_type.dup(ht);
    assert_int_equal(hash_encoding_of(lp2), HASH_ENC_LISTPACK);
    assert_int_equal(hash_encoding_of(ht2), HASH_ENC_HASHTABLE);
    expect_same(lp, lp2);
    expect_same(ht, ht2);
    /* copies are deep */
    set_str(&ht2, "f1", "changed");
    set_str(&lp2, "f1", "changed");
    expect_str(ht, "f1", "1000");
    expect_str(lp, "f1", "1000");
    assert_string_equal(hash_type.encoding(lp), "listpack");
    assert_string_equal(hash_type.encoding(ht), "hashtable");

    assert_int_equal(hash_type.free_effort(lp), 1);
    assert_int_equal(hash_type.free_effort(ht), 20);
    size_t m_lp = hash_type.mem_usage(lp, 0), m_ht = hash_type.mem_usage(ht, 0);
    assert_true(m_lp > 20 * 4 && m_lp < 20 * 16);
    assert_true(m_ht > m_lp);
    size_t m_sampled = hash_type.mem_usage(ht, 5);
    assert_true(m_sampled > m_ht / 2 && m_sampled < m_ht * 2);

    /* random picks are members */
    for (int round = 0; round < 200; round++) {
        char fb[HASH_NUMBUF], vb[HASH_NUMBUF];
        const char *f, *v;
        size_t flen, vlen;
        void *h = round % 2 ? lp : ht;
        hash_random(h, fb, vb, &f, &flen, &v, &vlen);
        expect(h, f, flen, v, vlen);
    }
    size_t *off = hash_lp_offsets(lp);
    for (size_t i = 0; i < hash_length(lp); i++) {
        char fb[HASH_NUMBUF], vb[HASH_NUMBUF];
        const char *f, *v;
        size_t flen, vlen;
        hash_lp_pair_at(lp, off[i], fb, vb, &f, &flen, &v, &vlen);
        char want[32];
        snprintf(want, sizeof(want), "f%zu", i);
        assert_int_equal(flen, strlen(want));
        assert_memory_equal(f, want, flen);
    }
    zfree(off);
    hash_free(lp);
    hash_free(ht);
    hash_free(lp2);
    hash_free(ht2);
}

/* ---- snapshots -------------------------------------------------------------------------- */

static void empty_all(void)
{
    for (int i = 0; i < DB_COUNT; i++) db_empty(server.dbs[i]);
    object_lazyfree_drain();
}

static void add_hash(const char *key, void *h)
{
    db_add_object(server.dbs[0], key, strlen(key), TYPE_HASH, h);
}

static void *get_hash(const char *key)
{
    entry *e = db_find(server.dbs[0], key, strlen(key));
    assert_non_null(e);
    assert_int_equal(e->type, TYPE_HASH);
    return entry_object(e);
}

static void test_snapshot_round_trip(void **state)
{
    (void)state;
    defaults();
    empty_all();
    void *small = hash_create();
    set_str(&small, "name", "ada");
    set_str(&small, "age", "36");
    set_str(&small, "", "");
    hash_set(&small, "b\0in", 4, "\0\r\n", 3);
    add_hash("small", small);
    void *table = hash_create();
    for (int i = 0; i < 1000; i++) {
        char f[16], v[32];
        snprintf(f, sizeof(f), "field:%d", i);
        snprintf(v, sizeof(v), i % 3 ? "value-%d" : "%d", i);
        set_str(&table, f, v);
    }
    add_hash("table", table);
    /* shrunk to a few fields: stays a hashtable after the reload */
    void *shrunk = hash_create();
    hash_convert(&shrunk);
    set_str(&shrunk, "x", "1");
    add_hash("shrunk", shrunk);
    void *copy_small = hash_type.dup(small), *copy_table = hash_type.dup(table);
    char before[41], after[41];
    update_cached_time();
    snapshot_dataset_digest(before);
    assert_int_equal(snapshot_save(dump_path), 0);
    char err[256];
    assert_int_equal(snapshot_load(dump_path, err, sizeof(err)), 0);
    assert_int_equal(db_size(server.dbs[0]), 3);
    assert_int_equal(hash_encoding_of(get_hash("small")), HASH_ENC_LISTPACK);
    assert_int_equal(hash_encoding_of(get_hash("table")), HASH_ENC_HASHTABLE);
    assert_int_equal(hash_encoding_of(get_hash("shrunk")), HASH_ENC_HASHTABLE);
    expect_same(copy_small, get_hash("small"));
    expect_same(copy_table, get_hash("table"));
    update_cached_time();
    snapshot_dataset_digest(after);
    assert_string_equal(before, after);
    /* the digest does not depend on the encoding */
    update_cached_time();
    snapshot_dataset_digest(before);
    db_delete(server.dbs[0], "shrunk", 6);
    void *lp_shrunk = hash_create();
    set_str(&lp_shrunk, "x", "1");
    add_hash("shrunk", lp_shrunk);
    update_cached_time();
    snapshot_dataset_digest(after);
    assert_string_equal(before, after);
    /* a listpack saved under a bigger threshold loads as a hashtable */
    server.hash_max_listpack_entries = 2;
    assert_int_equal(snapshot_save(dump_path), 0);
    assert_int_equal(snapshot_load(dump_path, err, sizeof(err)), 0);
    assert_int_equal(hash_encoding_of(get_hash("small")), HASH_ENC_HASHTABLE);
    expect_same(copy_small, get_hash("small"));
    defaults();
    hash_free(copy_small);
    hash_free(copy_table);
    empty_all();
}

/* A file with one hash key "h": encoding byte, count, then the strings. */
static int load_hash_value(int enc, uint64_t count, const char *const *strs, size_t n,
                           int truncate)
{
    struct builder b;
    b_one_key(&b, 0x05, "h");
    b_byte(&b, (unsigned char)enc);
    b_varint(&b, count);
    for (size_t i = 0; i < n; i++) b_string(&b, strs[i]);
    if (truncate) b.len--;
    b_finish(&b);
    char err[256];
    return b_load(&b, err, sizeof(err));
}

static void test_snapshot_refuses_bad_values(void **state)
{
    (void)state;
    defaults();
    empty_all();
    db_add_string(server.dbs[0], "keep", 4, "me", 2);
    static const char *const good[] = {"a", "1", "b", "2"};
    static const char *const dup[] = {"a", "1", "a", "2"};
    /* the well-formed file loads, in both encodings */
    assert_int_equal(load_hash_value(0, 2, good, 4, 0), 0);
    assert_int_equal(hash_encoding_of(get_hash("h")), HASH_ENC_LISTPACK);
    expect_str(get_hash("h"), "b", "2");
    assert_int_equal(load_hash_value(1, 2, good, 4, 0), 0);
    assert_int_equal(hash_encoding_of(get_hash("h")), HASH_ENC_HASHTABLE);
    /* each of these is refused and the dataset stays */
    db_empty(server.dbs[0]);
    db_add_string(server.dbs[0], "keep", 4, "me", 2);
    assert_int_not_equal(load_hash_value(2, 2, good, 4, 0), 0);   /* unknown encoding */
    assert_int_not_equal(load_hash_value(0, 0, good, 0, 0), 0);   /* empty */
    assert_int_not_equal(load_hash_value(0, 3, good, 4, 0), 0);   /* count past the data */
    assert_int_not_equal(load_hash_value(0, 1000000, good, 4, 0), 0);
    assert_int_not_equal(load_hash_value(0, UINT64_MAX, good, 4, 0), 0);
    assert_int_not_equal(load_hash_value(0, 2, dup, 4, 0), 0);    /* duplicate field */
    assert_int_not_equal(load_hash_value(1, 2, dup, 4, 0), 0);
    assert_int_not_equal(load_hash_value(0, 2, good, 4, 1), 0);   /* truncated */
    assert_int_not_equal(load_hash_value(0, 2, good, 3, 0), 0);   /* value missing */
    /* a duplicate among many fields (the listpack's dict check) */
    static char names[200][8];
    const char *many[400];
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof(names[i]), "f%d", i);
        many[2 * i] = names[i];
        many[2 * i + 1] = "v";
    }
    many[398] = "f7";
    server.hash_max_listpack_entries = 1000;
    assert_int_not_equal(load_hash_value(0, 200, many, 400, 0), 0);
    many[398] = "f199";
    assert_int_equal(load_hash_value(0, 200, many, 400, 0), 0);
    assert_int_equal(hash_encoding_of(get_hash("h")), HASH_ENC_LISTPACK);
    assert_int_equal(hash_length(get_hash("h")), 200);
    defaults();
    db_empty(server.dbs[0]);
    db_add_string(server.dbs[0], "keep", 4, "me", 2);
    assert_int_not_equal(load_hash_value(0, 2, dup, 4, 0), 0);
    assert_int_equal(db_size(server.dbs[0]), 1);
    assert_non_null(db_find(server.dbs[0], "keep", 4));
    empty_all();
}

static int setup(void **state)
{
    (void)state;
    return snapshot_dir_setup("test_hash");
}

static int teardown(void **state)
{
    (void)state;
    empty_all();
    snapshot_dir_teardown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listpack_entries),
        cmocka_unit_test(test_listpack_updates),
        cmocka_unit_test(test_conversion_thresholds),
        cmocka_unit_test(test_dup_memory_random),
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_snapshot_refuses_bad_values),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
