/* test_dict.c: unit tests for dict.c, the hash table inside collections:
 * add, find, replace and delete with values of every size, growth and
 * shrinking through incremental rehash, SCAN's guarantee (every member
 * present for the whole scan is returned) across resizes, random sampling,
 * iteration with deletion of the current node, and exact memory accounting
 * (everything the dict allocated is freed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "dict.h"

#define MANY 20000

static size_t member(char *buf, size_t size, int i)
{
    int n = snprintf(buf, size, "member:%d", i);
    assert_true(n > 0 && (size_t)n < size);
    return (size_t)n;
}

static dict *filled(int count)
{
    dict *d = dict_create();
    char buf[32];
    for (int i = 0; i < count; i++) {
        size_t len = member(buf, sizeof(buf), i);
        long long v = i;
        dict_add(d, buf, len, &v, sizeof(v));
    }
    return d;
}

static void test_add_find_delete(void **state)
{
    (void)state;
    size_t before = zmalloc_used();
    dict *d = filled(MANY);
    assert_int_equal(dict_size(d), MANY);
    char buf[32];
    for (int i = 0; i < MANY; i++) {
        size_t len = member(buf, sizeof(buf), i);
        dnode *n = dict_find(d, buf, len);
        assert_non_null(n);
        long long v;
        memcpy(&v, dnode_val(n), sizeof(v));
        assert_int_equal(v, i);
        assert_int_equal(n->klen, len);
        assert_memory_equal(dnode_key(n), buf, len);
    }
    assert_null(dict_find(d, "absent", 6));
    for (int i = 0; i < MANY; i += 2) {
        size_t len = member(buf, sizeof(buf), i);
        assert_int_equal(dict_delete(d, buf, len), 1);
        assert_int_equal(dict_delete(d, buf, len), 0);
    }
    assert_int_equal(dict_size(d), MANY / 2);
    for (int i = 0; i < MANY; i++) {
        size_t len = member(buf, sizeof(buf), i);
        assert_true((dict_find(d, buf, len) != NULL) == (i % 2 == 1));
    }
    dict_free(d);
    assert_int_equal(zmalloc_used(), before);
}

static void test_values_of_any_size(void **state)
{
    (void)state;
    size_t before = zmalloc_used();
    dict *d = dict_create();
    dnode *n = dict_add(d, "f", 1, "abc", 3);
    assert_true(n->vlen >= 3);
    assert_memory_equal(dnode_val(n), "abc", 3);
    n = dict_set_value(d, n, "a much longer value than before", 31);
    assert_memory_equal(dnode_val(n), "a much longer value than before", 31);
    assert_memory_equal(dnode_key(n), "f", 1);
    assert_ptr_equal(dict_find(d, "f", 1), n);
    n = dict_set_value(d, n, "xy", 2);
    assert_memory_equal(dnode_val(n), "xy", 2);
    dnode *empty = dict_add(d, "", 0, NULL, 0);
    assert_ptr_equal(dict_find(d, "", 0), empty);
    assert_int_equal(dict_size(d), 2);
    dnode *u = dict_unlink(d, "f", 1);
    assert_ptr_equal(u, n);
    assert_null(dict_find(d, "f", 1));
    dict_node_free(u);
    dict_free(d);
    assert_int_equal(zmalloc_used(), before);
}

/* Members are found in the middle of a rehash, and deleting most of them
 * shrinks the table back. */
static void test_rehash_grow_and_shrink(void **state)
{
    (void)state;
    dict *d = filled(MANY);
    size_t big = d->size[0] + d->size[1];
    assert_true(big >= MANY);
    char buf[32];
    for (int i = 0; i < MANY - 10; i++) {
        size_t len = member(buf, sizeof(buf), i);
        assert_int_equal(dict_delete(d, buf, len), 1);
    }
    for (int i = 0; i < 1000; i++) dict_find(d, "x", 1); /* rehash steps */
    assert_true(d->size[0] + d->size[1] < big / 16);
    for (int i = MANY - 10; i < MANY; i++) {
        size_t len = member(buf, sizeof(buf), i);
        assert_non_null(dict_find(d, buf, len));
    }
    dict_free(d);
}

struct seen {
    unsigned char *hit;
    int count;
};

static void mark(void *priv, const dnode *n)
{
    struct seen *s = priv;
    char key[32];
    int i = -1;
    assert_true(n->klen < sizeof(key));
    memcpy(key, dnode_key(n), n->klen);
    key[n->klen] = '\0';
    assert_int_equal(sscanf(key, "member:%d", &i), 1);
    assert_true(i >= 0 && i < s->count);
    s->hit[i] = 1;
}

/* Every member present for the whole scan is returned, although the table
 * grows and then shrinks between the calls. */
static void test_scan_across_resizes(void **state)
{
    (void)state;
    dict *d = filled(1000);
    unsigned char hit[4000] = {0};
    struct seen s = {hit, 4000};
    unsigned long cursor = 0;
    int calls = 0;
    char buf[32];
    do {
        cursor = dict_scan(d, cursor, mark, &s);
        calls++;
        if (calls == 20) /* grow: add 3000 more */
            for (int i = 1000; i < 4000; i++) {
                size_t len = member(buf, sizeof(buf), i);
                dict_add(d, buf, len, NULL, 0);
            }
        if (calls == 200) /* shrink: remove those again */
            for (int i = 1000; i < 4000; i++) {
                size_t len = member(buf, sizeof(buf), i);
                dict_delete(d, buf, len);
            }
        assert_true(calls < 100000);
    } while (cursor != 0);
    for (int i = 0; i < 1000; i++) assert_true(hit[i]);
    dict_free(d);
}

static void test_random_reaches_every_member(void **state)
{
    (void)state;
    dict *d = filled(64);
    unsigned char hit[64] = {0};
    struct seen s = {hit, 64};
    for (int i = 0; i < 20000; i++) mark(&s, dict_random(d));
    for (int i = 0; i < 64; i++) assert_true(hit[i]);
    dict *empty = dict_create();
    assert_null(dict_random(empty));
    dict_free(empty);
    dict_free(d);
}

/* Iteration sees each member once, deleting the current node is allowed,
 * and the table does not rehash under an open iterator. */
static void test_iterate_and_delete(void **state)
{
    (void)state;
    dict *d = filled(MANY);
    unsigned char *hit = zcalloc(MANY);
    struct seen s = {hit, MANY};
    dict_iter it;
    dict_iter_init(&it, d);
    dnode *n;
    int visits = 0;
    while ((n = dict_iter_next(&it)) != NULL) {
        mark(&s, n);
        visits++;
        dict_delete(d, dnode_key(n), n->klen);
    }
    dict_iter_release(&it);
    assert_int_equal(visits, MANY);
    assert_int_equal(dict_size(d), 0);
    for (int i = 0; i < MANY; i++) assert_true(hit[i]);
    zfree(hit);
    dict_free(d);
}

static void test_mem_usage_counts_everything(void **state)
{
    (void)state;
    size_t before = zmalloc_used();
    dict *d = filled(1000);
    assert_int_equal(dict_mem_usage(d), zmalloc_used() - before);
    dict_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find_delete),
        cmocka_unit_test(test_values_of_any_size),
        cmocka_unit_test(test_rehash_grow_and_shrink),
        cmocka_unit_test(test_scan_across_resizes),
        cmocka_unit_test(test_random_reaches_every_member),
        cmocka_unit_test(test_iterate_and_delete),
        cmocka_unit_test(test_mem_usage_counts_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
