/* test_list.c: unit tests for the list structure (cachenode/t_list_enc.c)
 * and the list type (t_list.c): every integer width and the strings that
 * must stay strings, a random model check of pushes, pops, positions,
 * insertions, replacements and range deletions at several node limits
 * (structure checked with ql_check, contents both ways), copies, and the
 * snapshot round trip with the digest unchanged. */
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

#include "object.h"
#include "server.h"
#include "snapshot.h"
#include "t_list.h"

extern const struct object_type list_type; /* t_list.c */

/* ---- a reference model: an array of strings ---------------------------------- */

#define MODEL_MAX 4000

struct model {
    char *s[MODEL_MAX];
    size_t len[MODEL_MAX];
    size_t n;
};

static void model_insert(struct model *m, size_t at, const char *s, size_t len)
{
    memmove(m->s + at + 1, m->s + at, (m->n - at) * sizeof(char *));
    memmove(m->len + at + 1, m->len + at, (m->n - at) * sizeof(size_t));
    m->s[at] = malloc(len + 1);
    memcpy(m->s[at], s, len);
    m->len[at] = len;
    m->n++;
}

static void model_delete(struct model *m, size_t at, size_t count)
{
    for (size_t i = at; i < at + count; i++) free(m->s[i]);
    memmove(m->s + at, m->s + at + count, (m->n - at - count) * sizeof(char *));
    memmove(m->len + at, m->len + at + count, (m->n - at - count) * sizeof(size_t));
    m->n -= count;
}

static void model_clear(struct model *m) { model_delete(m, 0, m->n); }

static void assert_same(qlist *l, const struct model *m)
{
    assert_int_equal(ql_check(l), 0);
    assert_int_equal(l->count, m->n);
    if (m->n == 0) return;
    qiter it;
    char buf[24];
    size_t len;
    ql_iter_at(l, 0, &it);
    for (size_t i = 0; i < m->n; i++) {
        lval v;
        ql_iter_get(&it, &v);
        const char *s = lval_str(&v, buf, &len);
        assert_int_equal(len, m->len[i]);
        assert_memory_equal(s, m->s[i], len);
        assert_int_equal(ql_iter_next(&it), i + 1 < m->n);
    }
    ql_iter_release(&it);
    ql_iter_at(l, m->n - 1, &it);
    for (size_t i = m->n; i-- > 0;) {
        lval v;
        ql_iter_get(&it, &v);
        const char *s = lval_str(&v, buf, &len);
        assert_int_equal(len, m->len[i]);
        assert_memory_equal(s, m->s[i], len);
        assert_int_equal(ql_iter_prev(&it), i > 0);
    }
    ql_iter_release(&it);
}

/* A random element: small and large integers, non-canonical numbers, short,
 * medium and (rarely) long strings. */
static size_t random_element(char *buf, size_t size)
{
    int r = rand() % 100;
    if (r < 25) return (size_t)snprintf(buf, size, "%d", rand() % 600 - 300);
    if (r < 35) {
        long long v = (long long)(((uint64_t)rand() << 40) ^ ((uint64_t)rand() << 20) ^ (uint64_t)rand());
        if (rand() % 2) v = -v;
        if (rand() % 10 == 0) v = rand() % 2 ? LLONG_MIN : LLONG_MAX;
        return (size_t)snprintf(buf, size, "%lld", v);
    }
    if (r < 40) {
        static const char *odd[] = {"01", "-0", "+1", " 1", "1 ", "9223372036854775808", "-9223372036854775809", "1.0", ""};
        const char *s = odd[rand() % 9];
        size_t len = strlen(s);
        memcpy(buf, s, len);
        return len;
    }
    size_t len = r < 85 ? (size_t)(rand() % 70) : r < 98 ? (size_t)(rand() % 400) : (size_t)(8000 + rand() % 2000);
    if (len > size) len = size;
    for (size_t i = 0; i < len; i++) buf[i] = (char)('a' + rand() % 26);
    return len;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_integer_widths(void **state)
{
    (void)state;
    static const char *values[] = {
        "0", "1", "127", "128", "-1", "-128", "-129", "255", "256", "32767", "32768", "-32768",
        "-32769", "8388607", "8388608", "-8388609", "2147483647", "2147483648", "-2147483649",
        "549755813888", "140737488355328", "36028797018963968", "9223372036854775807",
        "-9223372036854775808", "9223372036854775808", "-9223372036854775809", "01", "-0", "+5",
        "00", "-", "", "12a", "1e3", " 7",
    };
    size_t n = sizeof(values) / sizeof(values[0]);
    qlist *l = ql_create();
    struct model m = {.n = 0};
    for (size_t i = 0; i < n; i++) {
        ql_push(l, values[i], strlen(values[i]), i % 2 ? QL_HEAD : QL_TAIL);
        model_insert(&m, i % 2 ? 0 : m.n, values[i], strlen(values[i]));
    }
    assert_same(l, &m);
    /* canonical integers compare by value, strings by bytes */
    long long iv;
    assert_true(ql_parse_int("-42", 3, &iv) && iv == -42);
    assert_false(ql_parse_int("042", 3, &iv));
    assert_false(ql_parse_int("-0", 2, &iv));
    lval v;
    qiter it;
    ql_iter_at(l, 0, &it);
    do {
        ql_iter_get(&it, &v);
        char buf[24];
        size_t len;
        const char *s = lval_str(&v, buf, &len);
        int isint = ql_parse_int(s, len, &iv);
        assert_true(lval_equal(&v, s, len, isint, iv));
        /* an integer element is stored as one exactly when it is canonical */
        assert_int_equal(v.s == NULL, isint);
    } while (ql_iter_next(&it));
    ql_iter_release(&it);
    ql_free(l);
    model_clear(&m);
}

static void random_ops(int fill, int depth, int rounds)
{
    server.list_max_listpack_size = fill;
    server.list_compress_depth = depth;
    qlist *l = ql_create();
    struct model *m = calloc(1, sizeof(*m));
    char buf[10000];
    size_t zipped_seen = 0;
    for (int i = 0; i < 1500; i++) { /* many nodes from the start */
        size_t len = random_element(buf, sizeof(buf));
        ql_push(l, buf, len, QL_TAIL);
        model_insert(m, m->n, buf, len);
    }
    for (int round = 0; round < rounds; round++) {
        int op = rand() % 100;
        size_t len;
        if (op < 35 && m->n < MODEL_MAX - 10) {
            len = random_element(buf, sizeof(buf));
            int where = rand() % 2 ? QL_HEAD : QL_TAIL;
            ql_push(l, buf, len, where);
            model_insert(m, where == QL_HEAD ? 0 : m->n, buf, len);
        } else if (op < 50 && m->n > 0) {
            int where = rand() % 2 ? QL_HEAD : QL_TAIL;
            lval v;
            char tmp[24];
            ql_peek(l, where, &v);
            const char *s = lval_str(&v, tmp, &len);
            size_t at = where == QL_HEAD ? 0 : m->n - 1;
            assert_int_equal(len, m->len[at]);
            assert_memory_equal(s, m->s[at], len);
            ql_pop(l, where);
            model_delete(m, at, 1);
        } else if (op < 65 && m->n > 0 && m->n < MODEL_MAX - 10) {
            size_t at = (size_t)rand() % m->n;
            int after = rand() % 2;
            len = random_element(buf, sizeof(buf));
            qiter it;
            ql_iter_at(l, at, &it);
            ql_iter_insert(&it, after, buf, len);
            ql_iter_release(&it);
            model_insert(m, at + (size_t)after, buf, len);
        } else if (op < 78 && m->n > 0) {
            size_t at = (size_t)rand() % m->n;
            len = random_element(buf, sizeof(buf));
            qiter it;
            ql_iter_at(l, at, &it);
            ql_iter_replace(&it, buf, len);
            ql_iter_release(&it);
            model_delete(m, at, 1);
            model_insert(m, at, buf, len);
        } else if (op < 90 && m->n > 0) {
            /* delete a run through the iterator, either way */
            size_t at = (size_t)rand() % m->n;
            int forward = rand() % 2;
            size_t k = 1 + (size_t)rand() % 5;
            qiter it;
            ql_iter_at(l, at, &it);
            for (size_t i = 0; i < k; i++) {
                int more = ql_iter_delete(&it, forward);
                model_delete(m, at, 1);
                if (!forward) {
                    if (at == 0) break;
                    at--;
                }
                if (!more) break;
                assert_true(at < m->n);
            }
            ql_iter_release(&it);
        } else if (m->n > 0) {
            size_t at = (size_t)rand() % m->n;
            size_t span = m->n - at + 1;
            if (rand() % 4 && span > 16) span = 16; /* mostly short, so lists stay long */
            size_t k = (size_t)rand() % span;
            ql_del_range(l, at, k);
            model_delete(m, at, k);
        }
        if (round % 50 == 0) assert_same(l, m);
        zipped_seen += ql_compressed_nodes(l);
    }
    if (depth > 0 && fill < 0) assert_true(zipped_seen > 0); /* the compressed paths ran */
    assert_same(l, m);
    qlist *copy = ql_dup(l);
    assert_same(copy, m);
    ql_free(copy);
    ql_free(l);
    model_clear(m);
    free(m);
}

static void test_random_model(void **state)
{
    (void)state;
    srand(12345);
    int fills[] = {-2, -1, 1, 2, 3, 16, 128, -5};
    for (size_t i = 0; i < sizeof(fills) / sizeof(fills[0]); i++) random_ops(fills[i], 0, 3000);
    server.list_max_listpack_size = -2;
}

/* The same with interior nodes compressed: every change through a position
 * or a range deletion decompresses and recompresses nodes, and the ends
 * must stay uncompressed (ql_check). */
static void test_random_model_compressed(void **state)
{
    (void)state;
    srand(777);
    int fills[] = {-2, -1, 3, 16, 128};
    for (int depth = 1; depth <= 3; depth++)
        for (size_t i = 0; i < sizeof(fills) / sizeof(fills[0]); i++) random_ops(fills[i], depth, 2000);
    server.list_max_listpack_size = -2;
    server.list_compress_depth = 0;
}

static void push_numbered(qlist *l, int from, int to, int where)
{
    char buf[32];
    for (int i = from; i < to; i++) {
        size_t n = (size_t)snprintf(buf, sizeof(buf), "job:%06d", i);
        ql_push(l, buf, n, where);
    }
}

static void assert_element(qlist *l, size_t index, const char *expect)
{
    qiter it;
    lval v;
    ql_iter_at(l, index, &it);
    ql_iter_get(&it, &v);
    assert_int_equal(v.len, strlen(expect));
    assert_memory_equal(v.s, expect, v.len);
    ql_iter_release(&it);
}

/* A big list of compressible elements: all nodes but the `depth` at each
 * end compressed, reads and writes in compressed nodes, a CONFIG SET of
 * the depth on an existing list, copies, and the memory saved. */
static void test_compressed_nodes(void **state)
{
    (void)state;
    server.list_max_listpack_size = -2;
    server.list_compress_depth = 0;
    qlist *plain = ql_create();
    push_numbered(plain, 0, 100000, QL_TAIL);
    assert_int_equal(ql_compressed_nodes(plain), 0);
    for (int depth = 1; depth <= 2; depth++) {
        server.list_compress_depth = depth;
        qlist *l = ql_create();
        push_numbered(l, 50000, 100000, QL_TAIL);
        push_numbered(l, 0, 50000, QL_HEAD); /* reversed: 49999 ... 0 50000 ... */
        size_t nodes = ql_nodes(l, SIZE_MAX);
        assert_true(nodes > 10);
        assert_int_equal(ql_compressed_nodes(l), nodes - 2 * (size_t)depth);
        assert_int_equal(ql_check(l), 0);
        assert_true(ql_mem_usage(l, 0) * 4 < ql_mem_usage(plain, 0));
        assert_element(l, 0, "job:049999");
        assert_element(l, 60000, "job:060000");
        /* more positions in compressed nodes at once than the read cache
         * has slots: each keeps reading its own node's elements */
        qiter many[7];
        for (int k = 0; k < 7; k++) ql_iter_at(l, 52000 + (size_t)k * 4000, &many[k]);
        for (int round = 0; round < 2; round++) {
            for (int k = 0; k < 7; k++) {
                lval v;
                char expect[16];
                ql_iter_get(&many[k], &v);
                snprintf(expect, sizeof(expect), "job:%06d", 52000 + k * 4000 + round);
                assert_int_equal(v.len, 10);
                assert_memory_equal(v.s, expect, 10);
                assert_true(ql_iter_next(&many[k]));
            }
        }
        for (int k = 0; k < 7; k++) ql_iter_release(&many[k]);
        /* a change in a compressed node leaves it compressed again */
        qiter it;
        ql_iter_at(l, 60000, &it);
        ql_iter_replace(&it, "replaced", 8);
        ql_iter_insert(&it, 0, "before", 6);
        ql_iter_release(&it);
        assert_element(l, 60000, "before");
        assert_element(l, 60001, "replaced");
        assert_int_equal(ql_compressed_nodes(l), ql_nodes(l, SIZE_MAX) - 2 * (size_t)depth);
        /* deletions across node boundaries, from the middle and the ends */
        ql_del_range(l, 30000, 20000);
        ql_del_range(l, 0, 5000);
        ql_del_range(l, l->count - 5000, 5000);
        assert_int_equal(ql_check(l), 0);
        assert_int_equal(l->count, 100001 - 30000);
        assert_element(l, 0, "job:044999");
        assert_int_equal(ql_compressed_nodes(l), ql_nodes(l, SIZE_MAX) - 2 * (size_t)depth);
        qlist *copy = ql_dup(l);
        assert_int_equal(ql_check(copy), 0);
        assert_int_equal(ql_compressed_nodes(copy), ql_compressed_nodes(l));
        ql_free(copy);
        /* popping everything walks every compressed node to an end */
        server.list_compress_depth = 3 - depth; /* a CONFIG SET meanwhile */
        char expect[32];
        for (size_t i = 0; l->count > 0; i++) {
            lval v;
            int where = i % 2 ? QL_HEAD : QL_TAIL;
            ql_peek(l, where, &v);
            if (i == 0) {
                snprintf(expect, sizeof(expect), "job:%06d", 94999);
                assert_memory_equal(v.s, expect, 10);
            }
            ql_pop(l, where);
            if (i % 997 == 0) assert_int_equal(ql_check(l), 0);
        }
        ql_free(l);
    }
    ql_free(plain);
    server.list_compress_depth = 0;
}

/* Range deletions that leave only interior nodes: the compressed node that
 * becomes both ends at once is decompressed (from either side). */
static void test_compressed_middle_left(void **state)
{
    (void)state;
    server.list_max_listpack_size = 16;
    for (int depth = 1; depth <= 3; depth++) {
        server.list_compress_depth = depth;
        for (int nodes_left = 1; nodes_left <= 3; nodes_left++) {
            qlist *l = ql_create();
            push_numbered(l, 0, 16 * 12, QL_TAIL);
            assert_true(ql_compressed_nodes(l) > 0);
            ql_del_range(l, 0, 16 * 5 + 3);                        /* ends inside node 5 */
            ql_del_range(l, 16 * (size_t)nodes_left - 3, l->count - (16 * (size_t)nodes_left - 3));
            assert_int_equal(ql_check(l), 0);
            assert_int_equal(ql_nodes(l, SIZE_MAX), nodes_left);
            assert_int_equal(ql_compressed_nodes(l), nodes_left == 3 && depth == 1);
            assert_element(l, 0, "job:000083");
            ql_free(l);
        }
    }
    server.list_max_listpack_size = -2;
    server.list_compress_depth = 0;
}

static void test_many_elements(void **state)
{
    (void)state;
    server.list_max_listpack_size = -2;
    server.list_compress_depth = 0;
    qlist *l = ql_create();
    char buf[32];
    for (int i = 0; i < 200000; i++) {
        size_t n = (size_t)snprintf(buf, sizeof(buf), "v%06d", i);
        ql_push(l, buf, n, QL_TAIL);
    }
    assert_int_equal(ql_check(l), 0);
    assert_true(ql_nodes(l, SIZE_MAX) > LAZYFREE_THRESHOLD);
    assert_true(list_type.free_effort(l) > LAZYFREE_THRESHOLD); /* freed on the lazy-free thread */
    /* every node but the ends is full-ish and without spare capacity */
    size_t mem = ql_mem_usage(l, 0);
    size_t est = ql_mem_usage(l, 5);
    assert_true(est > mem * 9 / 10 && est < mem * 11 / 10);
    assert_true(mem < 200000 * 12);
    qiter it;
    lval v;
    ql_iter_at(l, 123456, &it);
    ql_iter_get(&it, &v);
    assert_int_equal(v.len, 7);
    assert_memory_equal(v.s, "v123456", 7);
    ql_iter_release(&it);
    ql_del_range(l, 1000, 150000);
    assert_int_equal(l->count, 50000);
    assert_int_equal(ql_check(l), 0);
    ql_free(l);
}

static void test_snapshot_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_list.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/dump.cfs", dir);
    server.list_max_listpack_size = 3;
    db *d = server.dbs[0];
    db_empty(d);
    qlist *a = ql_create(), *b = ql_create();
    char buf[10000];
    srand(99);
    for (int i = 0; i < 2000; i++) {
        size_t len = random_element(buf, sizeof(buf));
        ql_push(a, buf, len, i % 3 ? QL_TAIL : QL_HEAD);
    }
    ql_push(b, "only", 4, QL_TAIL);
    db_add_object(d, "a", 1, TYPE_LIST, a);
    db_add_object(d, "b", 1, TYPE_LIST, b);
    qlist *expect = ql_dup(a);
    char before[41], after[41];
    snapshot_dataset_digest(before);
    assert_int_equal(snapshot_save(path), 0);
    db_empty(d);
    char err[256];
    assert_int_equal(snapshot_load(path, err, sizeof(err)), 0);
    snapshot_dataset_digest(after);
    assert_string_equal(before, after);
    entry *e = db_find(server.dbs[0], "a", 1);
    assert_non_null(e);
    assert_int_equal(e->type, TYPE_LIST);
    qlist *got = entry_object(e);
    assert_int_equal(ql_check(got), 0);
    assert_int_equal(got->count, expect->count);
    qiter i1, i2;
    ql_iter_at(got, 0, &i1);
    ql_iter_at(expect, 0, &i2);
    for (size_t i = 0; i < expect->count; i++) {
        lval v1, v2;
        char t1[24], t2[24];
        size_t l1, l2;
        ql_iter_get(&i1, &v1);
        ql_iter_get(&i2, &v2);
        const char *s1 = lval_str(&v1, t1, &l1), *s2 = lval_str(&v2, t2, &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(s1, s2, l1);
        ql_iter_next(&i1);
        ql_iter_next(&i2);
    }
    ql_iter_release(&i1);
    ql_iter_release(&i2);
    assert_string_equal(list_type.encoding(got), "quicklist");
    /* a different order digests differently */
    ql_push(got, "x", 1, QL_HEAD);
    ql_pop(got, QL_TAIL);
    snapshot_dataset_digest(after);
    assert_string_not_equal(before, after);
    ql_free(expect);
    db_empty(server.dbs[0]); /* loading replaced the databases */
    unlink(path);
    rmdir(dir);
    server.list_max_listpack_size = -2;
}

static int setup(void **state)
{
    (void)state;
    config_set_defaults();
    server_init();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integer_widths),
        cmocka_unit_test(test_random_model),
        cmocka_unit_test(test_random_model_compressed),
        cmocka_unit_test(test_compressed_nodes),
        cmocka_unit_test(test_compressed_middle_left),
        cmocka_unit_test(test_many_elements),
        cmocka_unit_test(test_snapshot_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
