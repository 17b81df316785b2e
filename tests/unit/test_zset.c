/* test_zset.c: unit tests for the sorted set's value structure
 * (cachenode/t_zset_enc.c): the listpack's score codes, ordering, ranks and
 * range counts, iteration both ways, the conversion to the skiplist at the
 * thresholds, a randomized comparison of both encodings against a plain
 * sorted array (adds, score updates, deletes, rank-range deletes), dup,
 * the snapshot round trip (it keeps the encoding; a listpack past the
 * thresholds loads as a skiplist; digests independent of the encoding),
 * and the refusal of malformed payloads. */
#include <limits.h>
#include <math.h>
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
#include "t_zset.h"

extern const struct object_type zset_type;


/* ---- a reference model: a sorted array of (score, member) ----------------- */

struct ref_item {
    double score;
    char m[320];
    size_t ml;
};

static struct ref_item ref[4096];
static size_t nref;

static int ref_cmp(const void *a, const void *b)
{
    const struct ref_item *x = a, *y = b;
    if (x->score < y->score) return -1;
    if (x->score > y->score) return 1;
    size_t n = x->ml < y->ml ? x->ml : y->ml;
    int c = memcmp(x->m, y->m, n);
    if (c) return c;
    return x->ml < y->ml ? -1 : x->ml > y->ml;
}

static long ref_find(const char *m, size_t ml)
{
    for (size_t i = 0; i < nref; i++)
        if (ref[i].ml == ml && memcmp(ref[i].m, m, ml) == 0) return (long)i;
    return -1;
}

static void ref_set(const char *m, size_t ml, double s)
{
    long i = ref_find(m, ml);
    if (i < 0) {
        i = (long)nref++;
        memcpy(ref[i].m, m, ml);
        ref[i].ml = ml;
    }
    ref[i].score = s;
    qsort(ref, nref, sizeof(ref[0]), ref_cmp);
}

static void ref_del(long i)
{
    memmove(&ref[i], &ref[i + 1], (nref - (size_t)i - 1) * sizeof(ref[0]));
    nref--;
}

/* Checks z against the model: length, order both ways, scores and ranks. */
static void check_against_ref(void *z)
{
    assert_int_equal(zs_len(z), nref);
    zs_iter it;
    const char *m;
    size_t ml;
    double s;
    size_t i = 0;
    zs_iter_init(&it, z, 0, 0);
    while (zs_iter_next(&it, &m, &ml, &s)) {
        assert_true(i < nref);
        assert_int_equal(ml, ref[i].ml);
        assert_memory_equal(m, ref[i].m, ml);
        assert_true(s == ref[i].score);
        i++;
    }
    zs_iter_release(&it);
    assert_int_equal(i, nref);
    i = 0;
    zs_iter_init(&it, z, 0, 1);
    while (zs_iter_next(&it, &m, &ml, &s)) {
        assert_int_equal(ml, ref[nref - 1 - i].ml);
        assert_memory_equal(m, ref[nref - 1 - i].m, ml);
        i++;
    }
    zs_iter_release(&it);
    assert_int_equal(i, nref);
    for (size_t k = 0; k < nref; k += 1 + nref / 17) {
        double got;
        assert_true(zs_score(z, ref[k].m, ref[k].ml, &got));
        assert_true(got == ref[k].score);
        assert_int_equal(zs_rank(z, ref[k].m, ref[k].ml, 0), (long)k);
        assert_int_equal(zs_rank(z, ref[k].m, ref[k].ml, 1), (long)(nref - 1 - k));
        /* iteration from a rank in the middle */
        zs_iter_init(&it, z, k, 0);
        assert_true(zs_iter_next(&it, &m, &ml, &s));
        assert_memory_equal(m, ref[k].m, ml);
        zs_iter_release(&it);
        zs_iter_init(&it, z, k, 1);
        assert_true(zs_iter_next(&it, &m, &ml, &s));
        assert_memory_equal(m, ref[nref - 1 - k].m, ml);
        zs_iter_release(&it);
        /* range counts */
        size_t below = 0, upto = 0;
        for (size_t j = 0; j < nref; j++) {
            if (ref[j].score < ref[k].score) below++;
            if (ref[j].score <= ref[k].score) upto++;
        }
        assert_int_equal(zs_count_score(z, ref[k].score, 0), below);
        assert_int_equal(zs_count_score(z, ref[k].score, 1), upto);
    }
    double dummy;
    assert_false(zs_score(z, "absent!", 7, &dummy));
    assert_int_equal(zs_rank(z, "absent!", 7, 0), -1);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_listpack_scores_and_order(void **state)
{
    (void)state;
    server.zset_max_listpack_entries = 128;
    server.zset_max_listpack_value = 64;
    void *z = zs_create(1, 1);
    assert_string_equal(zs_encoding_name(z), "listpack");
    const double scores[] = {0, 1, -1, 63, -64, 64, 1e15, -9007199254740992.0, 9007199254740992.0,
                             9007199254740994.0, 0.5, -2.25, 1e300, -1e-300, INFINITY, -INFINITY, 5e-324};
    nref = 0;
    for (size_t i = 0; i < sizeof(scores) / sizeof(scores[0]); i++) {
        char m[16];
        int n = snprintf(m, sizeof(m), "m%zu", i);
        int out;
        double ns;
        z = zs_add(z, m, (size_t)n, scores[i], 0, &out, &ns);
        assert_int_equal(out, ZADD_OUT_ADDED);
        ref_set(m, (size_t)n, scores[i]);
    }
    check_against_ref(z);
    /* -0 is stored as 0 in a listpack, as in Redis */
    int out;
    z = zs_add(z, "negzero", 7, -0.0, 0, &out, NULL);
    double s;
    assert_true(zs_score(z, "negzero", 7, &s));
    assert_false(signbit(s));
    /* NaN is refused, INCR to NaN too */
    z = zs_add(z, "x", 1, NAN, 0, &out, NULL);
    assert_int_equal(out, ZADD_OUT_NAN);
    int deleted;
    z = zs_delete(z, "negzero", 7, &deleted);
    assert_int_equal(deleted, 1);
    check_against_ref(z);
    /* the infinite member: inf + -inf is NaN */
    long i = ref_find("m14", 3);
    assert_true(i >= 0);
    z = zs_add(z, "m14", 3, -INFINITY, ZADD_IN_INCR, &out, NULL);
    assert_int_equal(out, ZADD_OUT_NAN);
    /* flags */
    z = zs_add(z, "m1", 2, 100, ZADD_IN_NX, &out, NULL);
    assert_int_equal(out, ZADD_OUT_NOP);
    z = zs_add(z, "new", 3, 1, ZADD_IN_XX, &out, NULL);
    assert_int_equal(out, ZADD_OUT_NOP);
    z = zs_add(z, "m1", 2, 0, ZADD_IN_GT, &out, NULL);
    assert_int_equal(out, ZADD_OUT_NOP);
    double ns = 0;
    z = zs_add(z, "m1", 2, 10, ZADD_IN_INCR | ZADD_IN_GT, &out, &ns);
    assert_int_equal(out, ZADD_OUT_UPDATED);
    assert_true(ns == 11);
    ref_set("m1", 2, 11);
    check_against_ref(z);
    assert_string_equal(zs_encoding_name(z), "listpack");
    zs_free(z);
}

static void test_conversion_at_thresholds(void **state)
{
    (void)state;
    server.zset_max_listpack_entries = 3;
    server.zset_max_listpack_value = 5;
    void *z = zs_create(1, 1);
    int out;
    z = zs_add(z, "a", 1, 1, 0, &out, NULL);
    z = zs_add(z, "b", 1, 2, 0, &out, NULL);
    z = zs_add(z, "c", 1, 3, 0, &out, NULL);
    assert_string_equal(zs_encoding_name(z), "listpack");
    z = zs_add(z, "d", 1, 4, 0, &out, NULL);
    assert_string_equal(zs_encoding_name(z), "skiplist");
    int deleted;
    z = zs_delete(z, "d", 1, &deleted);
    z = zs_delete(z, "c", 1, &deleted);
    assert_string_equal(zs_encoding_name(z), "skiplist"); /* never back */
    zs_free(z);
    z = zs_create(1, 1);
    z = zs_add(z, "12345", 5, 1, 0, &out, NULL);
    assert_string_equal(zs_encoding_name(z), "listpack");
    z = zs_add(z, "123456", 6, 1, 0, &out, NULL);
    assert_string_equal(zs_encoding_name(z), "skiplist");
    zs_free(z);
    assert_string_equal(zs_encoding_name(z = zs_create(1, 6)), "skiplist");
    zs_free(z);
    assert_string_equal(zs_encoding_name(z = zs_create(4, 1)), "skiplist");
    zs_free(z);
    server.zset_max_listpack_entries = 0;
    assert_string_equal(zs_encoding_name(z = zs_create(1, 1)), "skiplist");
    zs_free(z);
    server.zset_max_listpack_entries = 128;
    server.zset_max_listpack_value = 64;
}

/* Random adds, updates, deletes and rank-range deletes on one encoding,
 * checked against the model after every few steps. */
/* A member: "k<n>", or with long_members a long shared prefix (listpack
 * members are prefix-compressed) of varying length before the number. */
static size_t random_member(char *m, size_t size, int long_members)
{
    int id = rand() % 600;
    if (!long_members) return (size_t)snprintf(m, size, "k%d", id);
    size_t pre = (size_t)(id % 7) * 40;
    memset(m, 'p', pre);
    return pre + (size_t)snprintf(m + pre, size - pre, "%d", id);
}

static void random_ops_members(long long max_entries, int steps, uint64_t seed, int long_members)
{
    server.zset_max_listpack_entries = max_entries;
    server.zset_max_listpack_value = long_members ? 1000 : 64;
    random_seed(seed);
    srand((unsigned)seed);
    nref = 0;
    void *z = zs_create(1, 1);
    for (int step = 0; step < steps; step++) {
        int op = rand() % 10;
        char m[320];
        int n = (int)random_member(m, sizeof(m), long_members);
        double s = (rand() % 3 == 0) ? (double)(rand() % 50) : (double)(rand() % 100000) / 7.0;
        int out;
        if (op < 6) {
            double ns;
            z = zs_add(z, m, (size_t)n, s, 0, &out, &ns);
            ref_set(m, (size_t)n, s);
        } else if (op < 9) {
            int deleted;
            long i = ref_find(m, (size_t)n);
            z = zs_delete(z, m, (size_t)n, &deleted);
            assert_int_equal(deleted, i >= 0);
            if (i >= 0) ref_del(i);
        } else if (nref > 0) {
            size_t lo = (size_t)rand() % nref, hi = lo + (size_t)(rand() % 5);
            if (hi > nref) hi = nref;
            z = zs_delete_ranks(z, lo, hi);
            for (size_t k = lo; k < hi; k++) ref_del((long)lo);
        }
        if (step % 97 == 0) check_against_ref(z);
        if (zs_len(z) == 0) {
            zs_free(z);
            z = zs_create(1, 1);
        }
    }
    check_against_ref(z);
    /* dup is deep and equal */
    void *copy = zset_type.dup(z);
    check_against_ref(copy);
    assert_string_equal(zs_encoding_name(copy), zs_encoding_name(z));
    zs_free(z);
    check_against_ref(copy);
    zs_free(copy);
    server.zset_max_listpack_entries = 128;
    server.zset_max_listpack_value = 64;
}

static void random_ops(long long max_entries, int steps, uint64_t seed)
{
    random_ops_members(max_entries, steps, seed, 0);
}

static void test_random_ops_listpack(void **state)
{
    (void)state;
    random_ops(100000, 3000, 11);
    random_ops_members(100000, 3000, 14, 1); /* long members sharing prefixes */
}

static void test_random_ops_skiplist(void **state)
{
    (void)state;
    random_ops(0, 6000, 12);
    random_ops(8, 4000, 13); /* converts along the way */
}

static void *make_set(int n, double base)
{
    void *z = zs_create(1, 1);
    for (int i = 0; i < n; i++) {
        char m[16];
        int len = snprintf(m, sizeof(m), "mem%d", i);
        int out;
        z = zs_add(z, m, (size_t)len, base + i * 0.5, 0, &out, NULL);
    }
    return z;
}

static void test_snapshot_round_trip(void **state)
{
    (void)state;
    db *d = server.dbs[0];
    db_empty(d);
    server.zset_max_listpack_entries = 128;
    db_add_object(d, "small", 5, TYPE_ZSET, make_set(10, -3));
    server.zset_max_listpack_entries = 0;
    db_add_object(d, "big", 3, TYPE_ZSET, make_set(500, 1e10));
    db_add_object(d, "shrunk", 6, TYPE_ZSET, make_set(5, 0)); /* a skiplist that fits a listpack */
    server.zset_max_listpack_entries = 128;
    char digest_before[41], digest_after[41];
    snapshot_dataset_digest(digest_before);
    assert_int_equal(snapshot_save(dump_path), 0);
    db_empty(d);
    char err[256] = "";
    assert_int_equal(snapshot_load(dump_path, err, sizeof(err)), 0);
    d = server.dbs[0]; /* loading swaps in new databases */
    snapshot_dataset_digest(digest_after);
    assert_string_equal(digest_before, digest_after); /* the encoding does not change the digest */
    entry *e = db_find(d, "small", 5);
    assert_non_null(e);
    assert_string_equal(zs_encoding_name(entry_object(e)), "listpack");
    assert_int_equal(zs_len(entry_object(e)), 10);
    e = db_find(d, "big", 3);
    assert_non_null(e);
    assert_string_equal(zs_encoding_name(entry_object(e)), "skiplist");
    assert_int_equal(zs_len(entry_object(e)), 500);
    double s;
    assert_true(zs_score(entry_object(e), "mem499", 6, &s));
    assert_true(s == 1e10 + 499 * 0.5);
    assert_int_equal(zs_rank(entry_object(e), "mem250", 6, 0), 250);
    e = db_find(d, "shrunk", 6);
    assert_non_null(e);
    assert_string_equal(zs_encoding_name(entry_object(e)), "skiplist"); /* never back, reload included */
    /* with a lower threshold the small one loads as a skiplist */
    server.zset_max_listpack_entries = 4;
    assert_int_equal(snapshot_load(dump_path, err, sizeof(err)), 0);
    d = server.dbs[0];
    e = db_find(d, "small", 5);
    assert_string_equal(zs_encoding_name(entry_object(e)), "skiplist");
    server.zset_max_listpack_entries = 128;
    db_empty(d);
}

static void test_mem_usage_and_effort(void **state)
{
    (void)state;
    server.zset_max_listpack_entries = 128;
    void *small = make_set(20, 0);
    assert_true(zset_type.mem_usage(small, 0) >= sizeof(zlp) + 20 * 6);
    assert_int_equal(zset_type.free_effort(small), 1);
    server.zset_max_listpack_entries = 0;
    void *big = make_set(300, 0);
    assert_int_equal(zset_type.free_effort(big), 300);
    size_t exact = zset_type.mem_usage(big, 0), sampled = zset_type.mem_usage(big, 5);
    assert_true(exact > 300 * 40);
    assert_true(sampled > exact / 2 && sampled < exact * 2);
    server.zset_max_listpack_entries = 128;
    zs_free(small);
    zs_free(big);
}


/* ---- hand-made snapshots: a key "z" holding a sorted-set payload -------------- */

struct buf {
    unsigned char b[4096];
    size_t n;
};

static void put_byte(struct buf *o, unsigned char c) { o->b[o->n++] = c; }
static void put_varint(struct buf *o, uint64_t v)
{
    while (v >= 0x80) {
        put_byte(o, (unsigned char)(v | 0x80));
        v >>= 7;
    }
    put_byte(o, (unsigned char)v);
}
static void put_str(struct buf *o, const char *s, size_t len)
{
    put_varint(o, len);
    memcpy(o->b + o->n, s, len);
    o->n += len;
}
static void put_double(struct buf *o, double d)
{
    memcpy(o->b + o->n, &d, 8); /* little-endian hosts */
    o->n += 8;
}

/* Wraps a payload into a whole snapshot file with its CRC and loads it. */
static int load_payload(const struct buf *payload, char *err, size_t errlen)
{
    struct buf f = {.n = 0};
    memcpy(f.b, "CFSNAP", 6);
    f.n = 6;
    put_byte(&f, 1);
    put_byte(&f, 0);
    put_byte(&f, 0xFE);
    put_varint(&f, 0);
    put_varint(&f, 1);
    put_varint(&f, 0);
    put_byte(&f, 0x04);
    put_str(&f, "z", 1);
    memcpy(f.b + f.n, payload->b, payload->n);
    f.n += payload->n;
    put_byte(&f, 0xFF);
    uint64_t crc = snapshot_crc64(0, f.b, f.n);
    for (int i = 0; i < 8; i++) put_byte(&f, (unsigned char)(crc >> (8 * i)));
    return snapshot_load_buffer(f.b, f.n, err, errlen);
}

static void payload_of(struct buf *p, int enc, uint64_t count, const char *const *ms, const double *ss, size_t n)
{
    p->n = 0;
    put_byte(p, (unsigned char)enc);
    put_varint(p, count);
    for (size_t i = 0; i < n; i++) {
        put_str(p, ms[i], strlen(ms[i]));
        put_double(p, ss[i]);
    }
}

static void test_load_validates(void **state)
{
    (void)state;
    char err[256];
    struct buf p;
    const char *ms[] = {"a", "b", "c"};
    double ok[] = {1, 2, 2};
    payload_of(&p, 0, 3, ms, ok, 3);
    assert_int_equal(load_payload(&p, err, sizeof(err)), 0);
    entry *e = db_find(server.dbs[0], "z", 1);
    assert_non_null(e);
    assert_int_equal(zs_len(entry_object(e)), 3);
    assert_string_equal(zs_encoding_name(entry_object(e)), "listpack");
    payload_of(&p, 1, 3, ms, ok, 3); /* a saved skiplist stays one */
    assert_int_equal(load_payload(&p, err, sizeof(err)), 0);
    assert_string_equal(zs_encoding_name(entry_object(db_find(server.dbs[0], "z", 1))), "skiplist");

    payload_of(&p, 2, 3, ms, ok, 3); /* unknown encoding */
    assert_int_not_equal(load_payload(&p, err, sizeof(err)), 0);
    payload_of(&p, 0, 0, ms, ok, 0); /* empty set */
    assert_int_not_equal(load_payload(&p, err, sizeof(err)), 0);
    payload_of(&p, 0, 1000000, ms, ok, 3); /* count beyond the bytes left */
    assert_int_not_equal(load_payload(&p, err, sizeof(err)), 0);
    payload_of(&p, 0, 4, ms, ok, 3); /* truncated */
    assert_int_not_equal(load_payload(&p, err, sizeof(err)), 0);
    double unordered[] = {2, 1, 3};
    payload_of(&p, 0, 3, ms, unordered, 3);
    assert_int_not_equal(load_payload(&p, err, sizeof(err)), 0);
    const char *dup[] = {"a", "b", "a"};
    double dupscores[] = {1, 2, 3};
    payload_of(&p, 0, 3, dup, dupscores, 3);
    assert_int_not_equal(load_payload(&p, err, sizeof(err)), 0);
    payload_of(&p, 1, 3, dup, dupscores, 3);
    assert_int_not_equal(load_payload(&p, err, sizeof(err)), 0);
    double withnan[] = {1, 2, NAN};
    payload_of(&p, 0, 3, ms, withnan, 3);
    assert_int_not_equal(load_payload(&p, err, sizeof(err)), 0);
    const char *same[] = {"a", "a"};
    double samescore[] = {1, 1};
    payload_of(&p, 0, 2, same, samescore, 2);
    assert_int_not_equal(load_payload(&p, err, sizeof(err)), 0);

    /* random damage to a valid payload (CRC fixed up): refused or loaded
     * as a valid set, never a crash (run under the sanitizers) */
    const char *many[40];
    double sc[40];
    char names[40][8];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "m%02d", i);
        many[i] = names[i];
        sc[i] = i * 0.5;
    }
    struct buf good;
    payload_of(&good, 0, 40, many, sc, 40);
    srand(5);
    for (int round = 0; round < 3000; round++) {
        p = good;
        int flips = 1 + rand() % 3;
        for (int f = 0; f < flips; f++) p.b[(size_t)rand() % p.n] ^= (unsigned char)(1 + rand() % 255);
        if (rand() % 4 == 0) p.n = (size_t)rand() % p.n;
        if (load_payload(&p, err, sizeof(err)) == 0) {
            e = db_find(server.dbs[0], "z", 1);
            if (e == NULL) continue;
            void *z = entry_object(e);
            zs_iter it;
            const char *m, *pm = NULL;
            size_t ml, pml = 0;
            double s, ps = 0;
            size_t n = 0;
            char prev[64];
            zs_iter_init(&it, z, 0, 0);
            while (zs_iter_next(&it, &m, &ml, &s)) {
                assert_false(isnan(s));
                if (pm) assert_true(ps < s || (ps == s && memcmp(pm, m, ml < pml ? ml : pml) <= 0));
                assert_true(ml < sizeof(prev));
                memcpy(prev, m, ml);
                pm = prev;
                pml = ml;
                ps = s;
                n++;
            }
            zs_iter_release(&it);
            assert_int_equal(n, zs_len(z));
        }
    }
    db_empty(server.dbs[0]);
}

static int setup(void **state)
{
    (void)state;
    return snapshot_dir_setup("test_zset");
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
        cmocka_unit_test(test_listpack_scores_and_order),
        cmocka_unit_test(test_conversion_at_thresholds),
        cmocka_unit_test(test_random_ops_listpack),
        cmocka_unit_test(test_random_ops_skiplist),
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_mem_usage_and_effort),
        cmocka_unit_test(test_load_validates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
