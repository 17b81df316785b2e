/* test_stream.c: unit tests for the stream's entry storage
 * (cachenode/t_stream_enc.c): ID parsing and formatting at the limits,
 * entries with the master's fields and with others, delta-encoded IDs
 * across milliseconds and huge sequence numbers, block boundaries,
 * forward and backward ranges, deletion (in place and of whole blocks),
 * exact and approximate trimming with limits, compactness (bytes per
 * entry), dup, and save/load through the snapshot with consumer groups,
 * refusing malformed values. */
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
#include "t_stream.h"

extern const struct object_type stream_type;

/* ---- helpers ------------------------------------------------------------------- */

static void add(stream *s, uint64_t ms, uint64_t seq, const char *f, const char *v)
{
    stream_id id = {ms, seq};
    struct stream_field fv[2] = {{f, strlen(f)}, {v, strlen(v)}};
    stream_append(s, &id, fv, 2);
}

struct collected {
    char text[256];
    size_t len;
};

static void collect(void *priv, const char *f, size_t flen, const char *v, size_t vlen)
{
    struct collected *c = priv;
    c->len += (size_t)snprintf(c->text + c->len, sizeof(c->text) - c->len, "%.*s=%.*s;", (int)flen,
                               f, (int)vlen, v);
}

/* The IDs from lo to hi in the given direction, as "ms-seq ms-seq ...". */
static void range(const stream *s, stream_id lo, stream_id hi, int rev, char *out, size_t size)
{
    stream_iter it;
    struct stream_entry e;
    size_t n = 0;
    out[0] = '\0';
    stream_iter_init(&it, s, &lo, &hi, rev);
    while (stream_iter_next(&it, &e) && n + STREAM_ID_STR_MAX + 2 < size) {
        if (n) out[n++] = ' ';
        n += stream_id_format(out + n, &e.id);
        out[n] = '\0';
    }
}

static const stream_id MIN = {0, 0}, MAX = {UINT64_MAX, UINT64_MAX};

/* ---- IDs ---------------------------------------------------------------------------- */

static void test_ids(void **state)
{
    (void)state;
    stream_id id;
    int seq_given;
    assert_int_equal(stream_id_parse("5-3", 3, &id, 0, 1, &seq_given), 0);
    assert_true(id.ms == 5 && id.seq == 3 && seq_given);
    assert_int_equal(stream_id_parse("7", 1, &id, UINT64_MAX, 0, NULL), 0);
    assert_true(id.ms == 7 && id.seq == UINT64_MAX);
    assert_int_equal(stream_id_parse("7-*", 3, &id, 0, 1, &seq_given), 0);
    assert_true(id.ms == 7 && !seq_given);
    assert_int_not_equal(stream_id_parse("7-*", 3, &id, 0, 1, NULL), 0);
    assert_int_equal(stream_id_parse("+", 1, &id, 0, 0, NULL), 0);
    assert_true(id.ms == UINT64_MAX && id.seq == UINT64_MAX);
    assert_int_not_equal(stream_id_parse("+", 1, &id, 0, 1, NULL), 0);
    assert_int_not_equal(stream_id_parse("-1", 2, &id, 0, 1, NULL), 0);
    assert_int_not_equal(stream_id_parse("1-x", 3, &id, 0, 1, NULL), 0);
    assert_int_not_equal(stream_id_parse("18446744073709551616", 20, &id, 0, 1, NULL), 0);
    assert_int_equal(stream_id_parse("18446744073709551615-18446744073709551615", 41, &id, 0, 1, NULL), 0);
    char buf[STREAM_ID_STR_MAX];
    assert_int_equal(stream_id_format(buf, &id), 41);
    id = MAX;
    assert_int_not_equal(stream_id_incr(&id), 0);
    id = MIN;
    assert_int_not_equal(stream_id_decr(&id), 0);
    id = (stream_id){3, UINT64_MAX};
    assert_int_equal(stream_id_incr(&id), 0);
    assert_true(id.ms == 4 && id.seq == 0);
    assert_int_equal(stream_id_decr(&id), 0);
    assert_true(id.ms == 3 && id.seq == UINT64_MAX);
}

/* ---- entries and blocks ------------------------------------------------------------------ */

static void test_entries_and_fields(void **state)
{
    (void)state;
    stream *s = stream_create();
    add(s, 1, 0, "f", "a");
    add(s, 1, 1, "f", "b");                   /* master fields: values only */
    add(s, 2, UINT64_MAX - 1, "g", "c");      /* other fields, a huge sequence */
    struct stream_field three[4] = {{"f", 1}, {"", 0}, {"x\0y", 3}, {"\xff", 1}};
    stream_id id = {UINT64_MAX, 0};
    stream_append(s, &id, three, 4);
    assert_int_equal(s->length, 4);
    assert_int_equal(s->nblocks, 1);
    struct stream_entry e;
    struct collected c = {{0}, 0};
    assert_true(stream_lookup(s, &(stream_id){1, 1}, &e));
    stream_entry_fields(&e, collect, &c);
    assert_string_equal(c.text, "f=b;");
    c.len = 0;
    assert_true(stream_lookup(s, &(stream_id){2, UINT64_MAX - 1}, &e));
    stream_entry_fields(&e, collect, &c);
    assert_string_equal(c.text, "g=c;");
    assert_true(stream_lookup(s, &id, &e));
    assert_int_equal(e.nfields, 2);
    assert_false(stream_has(s, &(stream_id){1, 2}));
    char out[512];
    range(s, MIN, MAX, 1, out, sizeof(out));
    assert_string_equal(out, "18446744073709551615-0 2-18446744073709551614 1-1 1-0");
    assert_true(s->first_id.ms == 1 && s->first_id.seq == 0);
    stream_free(s);
}

static void test_blocks_ranges_and_deletion(void **state)
{
    (void)state;
    stream *s = stream_create();
    for (uint64_t i = 1; i <= 250; i++) add(s, 1000 + i / 3, i, "field", "value");
    assert_int_equal(s->nblocks, 3); /* 100 + 100 + 50 */
    char out[4096];
    range(s, (stream_id){1033, 99}, (stream_id){1034, 102}, 0, out, sizeof(out));
    assert_string_equal(out, "1033-99 1033-100 1033-101 1034-102");
    range(s, (stream_id){1033, 99}, (stream_id){1034, 102}, 1, out, sizeof(out));
    assert_string_equal(out, "1034-102 1033-101 1033-100 1033-99");
    /* deleting in place, then a whole block */
    assert_int_equal(stream_delete(s, &(stream_id){1033, 100}), 1);
    assert_int_equal(stream_delete(s, &(stream_id){1033, 100}), 0);
    range(s, (stream_id){1033, 99}, (stream_id){1033, 101}, 0, out, sizeof(out));
    assert_string_equal(out, "1033-99 1033-101");
    for (uint64_t i = 201; i <= 250; i++)
        assert_int_equal(stream_delete(s, &(stream_id){1000 + i / 3, i}), 1);
    assert_int_equal(s->nblocks, 2);
    assert_int_equal(s->length, 199);
    stream_id top;
    stream_last_live_id(s, &top);
    assert_true(top.ms == 1066 && top.seq == 200);
    /* the first entry goes: first_id follows */
    assert_int_equal(stream_delete(s, &(stream_id){1000, 1}), 1);
    assert_true(s->first_id.ms == 1000 && s->first_id.seq == 2);
    stream_free(s);
}

static void test_trimming(void **state)
{
    (void)state;
    stream *s = stream_create();
    for (uint64_t i = 1; i <= 350; i++) add(s, i, 0, "f", "v");
    struct stream_trim_args a = {TRIM_MAXLEN, 290, {0, 0}, 1, 10000};
    assert_int_equal(stream_trim(s, &a), 0);   /* ~: no whole block goes */
    a.maxlen = 200;
    assert_int_equal(stream_trim(s, &a), 100); /* one whole block */
    a.maxlen = 0;
    a.limit = 150;
    assert_int_equal(stream_trim(s, &a), 100); /* the limit stops after one block */
    a.approx = 0;
    a.limit = 0;
    a.maxlen = 120;
    assert_int_equal(stream_trim(s, &a), 30);  /* exact: inside the head block */
    assert_int_equal(s->length, 120);
    assert_true(s->first_id.ms == 231);
    struct stream_trim_args m = {TRIM_MINID, 0, {300, 0}, 0, 0};
    assert_int_equal(stream_trim(s, &m), 69);
    assert_true(s->first_id.ms == 300);
    m.minid = (stream_id){UINT64_MAX, 0};
    assert_int_equal(stream_trim(s, &m), 51);
    assert_int_equal(s->length, 0);
    assert_int_equal(s->nblocks, 0);
    assert_true(s->first_id.ms == 0 && s->last_id.ms == 350 && s->entries_added == 350);
    stream_free(s);
}

/* The storage is compact: a small entry with the master's fields takes
 * far fewer bytes than Redis's listpack entry (about 12 bytes for "f v"
 * with an auto ID) plus its share of the node. */
static void test_bytes_per_entry(void **state)
{
    (void)state;
    stream *s = stream_create();
    uint64_t ms = 1733000000000ULL;
    for (uint64_t i = 0; i < 10000; i++) add(s, ms + i / 7, i % 7, "f", "v");
    size_t bytes = stream_type.mem_usage(s, 0);
    double per_entry = (double)bytes / 10000;
    print_message("bytes per entry: %.2f\n", per_entry);
    assert_true(per_entry < 10.0);
    stream *copy = stream_type.dup(s);
    char out1[256], out2[256];
    range(s, MIN, MAX, 1, out1, 64);
    range(copy, MIN, MAX, 1, out2, 64);
    assert_string_equal(out1, out2);
    stream_free(copy);
    stream_free(s);
}

/* ---- snapshots ---------------------------------------------------------------------------- */

static void empty_all(void)
{
    for (int i = 0; i < DB_COUNT; i++) db_empty(server.dbs[i]);
    object_lazyfree_drain();
}

static stream *get_stream(const char *key)
{
    entry *e = db_find(server.dbs[0], key, strlen(key));
    assert_non_null(e);
    assert_int_equal(e->type, TYPE_STREAM);
    return entry_object(e);
}

static void test_snapshot_round_trip(void **state)
{
    (void)state;
    empty_all();
    stream *s = stream_create();
    for (uint64_t i = 1; i <= 150; i++) add(s, i, 0, i % 2 ? "f" : "g", "v");
    stream_delete(s, &(stream_id){3, 0});
    s->max_deleted_id = (stream_id){3, 0};
    stream_cg *g = stream_cg_create(s, "grp", 3, &(stream_id){10, 0}, 10);
    struct stream_consumer *c = stream_consumer_create(g, "alice", 5);
    for (uint64_t i = 5; i <= 8; i++) {
        struct stream_nack *n = stream_nack_new(&(stream_id){i, 0}, 12345, i, c);
        pel_insert(&g->pel, n);
        pel_insert(&c->pel, n);
    }
    stream_cg_create(s, "empty", 5, &(stream_id){0, 0}, -1);
    db_add_object(server.dbs[0], "s", 1, TYPE_STREAM, s);
    char before[41], after[41];
    update_cached_time();
    snapshot_dataset_digest(before);
    assert_int_equal(snapshot_save(dump_path), 0);
    char err[256];
    assert_int_equal(snapshot_load(dump_path, err, sizeof(err)), 0);
    snapshot_dataset_digest(after);
    assert_string_equal(before, after);
    stream *t = get_stream("s");
    assert_int_equal(t->length, 149);
    assert_int_equal(t->nblocks, 2); /* the blocks as they were, deleted entry included */
    assert_int_equal(t->blocks[0]->total, 100);
    assert_int_equal(t->blocks[0]->live, 99);
    assert_int_equal(t->ngroups, 2);
    stream_cg *tg = stream_cg_find(t, "grp", 3);
    assert_non_null(tg);
    assert_int_equal(tg->entries_read, 10);
    assert_int_equal(tg->pel.len, 4);
    assert_int_equal(tg->pel.items[3]->delivery_count, 8);
    assert_int_equal(tg->pel.items[3]->delivery_time, 12345);
    assert_ptr_equal(tg->pel.items[0]->consumer, stream_consumer_find(tg, "alice", 5));
    assert_int_equal(stream_cg_find(t, "empty", 5)->entries_read, -1);
    /* a group change changes the digest */
    tg->last_id.seq = 1;
    snapshot_dataset_digest(after);
    assert_string_not_equal(before, after);
    empty_all();
}

static int load_stream_blocks(uint64_t nblocks, uint64_t n, uint64_t nfields, int out_of_order,
                              int truncate, unsigned char first_flags);

/* A file with one stream "s": one block said to hold `n` entries, two
 * written (IDs 1-0 and 2-0, the first deleted when asked, one field
 * each unless told), then the trailer fields and no group. */
static int load_stream(uint64_t n, uint64_t nfields, int out_of_order, int truncate)
{
    return load_stream_blocks(1, n, nfields, out_of_order, truncate, 0);
}

static int load_stream_blocks(uint64_t nblocks, uint64_t n, uint64_t nfields, int out_of_order,
                              int truncate, unsigned char first_flags)
{
    struct builder b;
    b_one_key(&b, 0x06, "s");
    b_varint(&b, nblocks);
    b_varint(&b, n);
    for (uint64_t i = 0; i < 2; i++) {
        b_byte(&b, i == 0 ? first_flags : 0);
        b_varint(&b, out_of_order ? 2 - i : i + 1);
        b_varint(&b, 0);
        b_varint(&b, nfields);
        b_string(&b, "f");
        b_string(&b, "v");
    }
    b_varint(&b, 2); /* last ID 2-0 */
    b_varint(&b, 0);
    b_varint(&b, 0);
    b_varint(&b, 0);
    b_varint(&b, 2);
    b_varint(&b, 0); /* groups */
    if (truncate) b.len--;
    b_finish(&b);
    char err[256];
    return b_load(&b, err, sizeof(err));
}

static void test_snapshot_refuses_bad_values(void **state)
{
    (void)state;
    empty_all();
    assert_int_equal(load_stream(2, 1, 0, 0), 0);
    assert_int_equal(get_stream("s")->length, 2);
    /* a deleted entry keeps its place in the block */
    assert_int_equal(load_stream_blocks(1, 2, 1, 0, 0, 1), 0);
    stream *s = get_stream("s");
    assert_int_equal(s->length, 1);
    assert_int_equal(s->nblocks, 1);
    assert_int_equal(s->blocks[0]->total, 2);
    assert_true(s->first_id.ms == 2);
    db_empty(server.dbs[0]);
    db_add_string(server.dbs[0], "keep", 4, "me", 2);
    assert_int_not_equal(load_stream(2, 1, 1, 0), 0);          /* IDs out of order */
    assert_int_not_equal(load_stream(3, 1, 0, 0), 0);          /* count past the data */
    assert_int_not_equal(load_stream(UINT64_MAX, 1, 0, 0), 0);
    assert_int_not_equal(load_stream(2, 0, 0, 0), 0);          /* no fields */
    assert_int_not_equal(load_stream(2, 1000000, 0, 0), 0);
    assert_int_not_equal(load_stream(2, 1, 0, 1), 0);          /* truncated */
    assert_int_not_equal(load_stream(101, 1, 0, 0), 0);        /* a block past 100 entries */
    assert_int_not_equal(load_stream(0, 1, 0, 0), 0);          /* an empty block */
    assert_int_not_equal(load_stream_blocks(2, 2, 1, 0, 0, 0), 0); /* a block missing */
    assert_int_not_equal(load_stream_blocks(1, 2, 1, 0, 0, 2), 0); /* unknown entry flags */
    assert_int_equal(db_size(server.dbs[0]), 1);
    assert_non_null(db_find(server.dbs[0], "keep", 4));
    empty_all();
}

static int setup(void **state)
{
    (void)state;
    return snapshot_dir_setup("test_stream");
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
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_entries_and_fields),
        cmocka_unit_test(test_blocks_ranges_and_deletion),
        cmocka_unit_test(test_trimming),
        cmocka_unit_test(test_bytes_per_entry),
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_snapshot_refuses_bad_values),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
