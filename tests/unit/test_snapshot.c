/* test_snapshot.c: unit tests for cachenode/snapshot.c: the file format's
 * round trip (every string encoding, binary keys, TTLs, several databases),
 * refusal of damaged files with the dataset left as it was, keys expired at
 * save time, hand-made files (unknown type, bad version, duplicate keys),
 * the CRC-64 check value, the digest, and BGSAVE through a forked child. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_snapshot_dir.h"

#include "server.h"
#include "snapshot.h"


/* ---- helpers ---------------------------------------------------------------- */

static void empty_all(void)
{
    for (int i = 0; i < DB_COUNT; i++) db_empty(server.dbs[i]);
}

static entry *add(int dbid, const char *key, size_t klen, const char *val, size_t vlen)
{
    return db_add_string(server.dbs[dbid], key, klen, val, vlen);
}

static entry *add_cstr(int dbid, const char *key, const char *val)
{
    return add(dbid, key, strlen(key), val, strlen(val));
}

/* A dataset with every string encoding, binary keys, TTLs, three dbs. */
static void fill_dataset(void)
{
    db *d0 = server.dbs[0];
    add_cstr(0, "int", "12345");
    add_cstr(0, "negmin", "-9223372036854775808");
    add_cstr(0, "max", "9223372036854775807");
    add_cstr(0, "notint", "012");
    add_cstr(0, "emb", "hello world");
    char big[300];
    memset(big, 'r', sizeof(big));
    add(0, "raw", 3, big, sizeof(big));
    add(0, "", 0, "empty key", 9);
    add_cstr(0, "emptyval", "");
    const char binkey[] = {'b', 0, 'i', (char)0xff, '\n', 'n'};
    const char binval[] = {0, 1, 2, (char)0x80, (char)0xff, '\r', '\n'};
    add(0, binkey, sizeof(binkey), binval, sizeof(binval));
    /* a short string stored out of line, as APPEND leaves it */
    entry *e = add_cstr(0, "smallraw", "ab");
    e = db_make_raw(d0, e, 64);
    assert_int_equal(e->enc, ENC_RAW);
    e = add_cstr(0, "ttl-int", "77");
    db_set_expire(d0, e, server.now_ms + 3600 * 1000);
    e = add_cstr(0, "ttl-str", "with a ttl");
    db_set_expire(d0, e, server.now_ms + 7200 * 1000);
    add_cstr(5, "k5", "v5");
    e = add_cstr(5, "k5ttl", "v5");
    db_set_expire(server.dbs[5], e, server.now_ms + 60 * 1000);
    add_cstr(15, "last", "db");
}

static void digest(char out[41])
{
    update_cached_time();
    snapshot_dataset_digest(out);
}

static long file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (long)st.st_size;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    long n = file_size(path);
    unsigned char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_file(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void check_value(int dbid, const char *key, size_t klen, const char *val, size_t vlen)
{
    entry *e = db_find(server.dbs[dbid], key, klen);
    assert_non_null(e);
    char tmp[24];
    size_t len;
    const char *s = entry_string(e, tmp, &len);
    assert_int_equal(len, vlen);
    assert_memory_equal(s, val, vlen);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_crc64_check_value(void **state)
{
    (void)state;
    /* the CRC-64/Jones check value for "123456789" */
    assert_true(snapshot_crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9caULL);
    /* incremental equals one pass, across the 8-byte slicing */
    const char *text = "The quick brown fox jumps over the lazy dog, twice over";
    size_t n = strlen(text);
    uint64_t one = snapshot_crc64(0, text, n);
    for (size_t cut = 0; cut <= n; cut++)
        assert_true(snapshot_crc64(snapshot_crc64(0, text, cut), text + cut, n - cut) == one);
}

static void test_round_trip(void **state)
{
    (void)state;
    empty_all();
    fill_dataset();
    char before[41], after[41];
    digest(before);
    assert_string_not_equal(before, "0000000000000000000000000000000000000000");
    long long ttl_int = entry_expire(db_find(server.dbs[0], "ttl-int", 7));
    assert_int_equal(snapshot_save(dump_path), 0);
    empty_all();
    digest(after);
    assert_string_equal(after, "0000000000000000000000000000000000000000");
    char err[256] = "";
    assert_int_equal(snapshot_load(dump_path, err, sizeof(err)), 0);
    digest(after);
    assert_string_equal(before, after);

    assert_int_equal(db_size(server.dbs[0]), 12);
    assert_int_equal(db_size(server.dbs[5]), 2);
    assert_int_equal(db_size(server.dbs[15]), 1);
    assert_int_equal(db_expires(server.dbs[0]), 2);
    assert_int_equal(db_find(server.dbs[0], "int", 3)->enc, ENC_INT);
    assert_int_equal(db_find(server.dbs[0], "negmin", 6)->enc, ENC_INT);
    assert_int_equal(db_find(server.dbs[0], "emb", 3)->enc, ENC_EMBSTR);
    assert_int_equal(db_find(server.dbs[0], "raw", 3)->enc, ENC_RAW);
    check_value(0, "negmin", 6, "-9223372036854775808", 20);
    check_value(0, "max", 3, "9223372036854775807", 19);
    check_value(0, "notint", 6, "012", 3);
    check_value(0, "", 0, "empty key", 9);
    check_value(0, "emptyval", 8, "", 0);
    check_value(0, "smallraw", 8, "ab", 2);
    const char binkey[] = {'b', 0, 'i', (char)0xff, '\n', 'n'};
    const char binval[] = {0, 1, 2, (char)0x80, (char)0xff, '\r', '\n'};
    check_value(0, binkey, sizeof(binkey), binval, sizeof(binval));
    assert_true(entry_expire(db_find(server.dbs[0], "ttl-int", 7)) == ttl_int);
    assert_true(entry_expire(db_find(server.dbs[0], "emb", 3)) == -1);
    assert_true(entry_expire(db_find(server.dbs[5], "k5ttl", 5)) > server.now_ms);
    check_value(15, "last", 4, "db", 2);
}

static void test_empty_dataset(void **state)
{
    (void)state;
    empty_all();
    assert_int_equal(snapshot_save(dump_path), 0);
    add_cstr(0, "x", "y");
    char err[256];
    assert_int_equal(snapshot_load(dump_path, err, sizeof(err)), 0);
    assert_int_equal(db_size(server.dbs[0]), 0);
}

/* Every truncation and every single flipped bit must be refused, and the
 * live dataset must be exactly what it was. */
static void test_damaged_files_refused(void **state)
{
    (void)state;
    empty_all();
    fill_dataset();
    assert_int_equal(snapshot_save(dump_path), 0);
    size_t len;
    unsigned char *good = read_file(dump_path, &len);
    char damaged_path[PATH_MAX + 16];
    snprintf(damaged_path, sizeof(damaged_path), "%s/damaged.cfs", tmpdir);
    add_cstr(3, "live", "must survive");
    char before[41], after[41];
    digest(before);
    char err[256];
    for (size_t cut = 0; cut < len; cut++) {
        write_file(damaged_path, good, cut);
        err[0] = '\0';
        assert_int_equal(snapshot_load(damaged_path, err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
    }
    unsigned char *bad = malloc(len);
    assert_non_null(bad);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(bad, good, len);
            bad[i] ^= (unsigned char)(1u << bit);
            assert_int_equal(snapshot_load_buffer(bad, len, err, sizeof(err)), -1);
        }
    }
    /* trailing garbage after a valid file */
    unsigned char *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, good, len);
    longer[len] = 0;
    assert_int_equal(snapshot_load_buffer(longer, len + 1, err, sizeof(err)), -1);
    digest(after);
    assert_string_equal(before, after);
    check_value(3, "live", 4, "must survive", 12);
    free(longer);
    free(bad);
    free(good);
}

static void test_expired_at_save_is_skipped(void **state)
{
    (void)state;
    empty_all();
    update_cached_time();
    entry *e = add_cstr(0, "gone", "expired already");
    db_set_expire(server.dbs[0], e, server.now_ms - 1000);
    e = add_cstr(0, "soon", "expires later");
    db_set_expire(server.dbs[0], e, server.now_ms + 100000);
    add_cstr(2, "alone-expired", "x");
    db_set_expire(server.dbs[2], db_find(server.dbs[2], "alone-expired", 13), server.now_ms - 1);
    assert_int_equal(snapshot_save(dump_path), 0);
    char err[256];
    assert_int_equal(snapshot_load(dump_path, err, sizeof(err)), 0);
    assert_null(db_find(server.dbs[0], "gone", 4));
    assert_non_null(db_find(server.dbs[0], "soon", 4));
    assert_int_equal(db_size(server.dbs[2]), 0);
}

/* ---- hand-made files ---------------------------------------------------------- */

static void test_handmade_files(void **state)
{
    (void)state;
    empty_all();
    add_cstr(0, "keep", "me");
    char err[256];
    struct builder b;

    /* a minimal valid file */
    b_header(&b, 1);
    b_byte(&b, 0xFE), b_byte(&b, 1), b_byte(&b, 1), b_byte(&b, 0);
    b_byte(&b, 0x00), b_string(&b, "k"), b_string(&b, "v");
    b_byte(&b, 0x01), b_string(&b, "n"), b_byte(&b, 0x03); /* zigzag 3 = -2 */
    b_finish(&b);
    assert_int_equal(b_load(&b, err, sizeof(err)), 0);
    check_value(1, "k", 1, "v", 1);
    check_value(1, "n", 1, "-2", 2);
    assert_null(db_find(server.dbs[0], "keep", 4));
    add_cstr(0, "keep", "me");

    /* an unknown value type, with a valid checksum */
    b_header(&b, 1);
    b_byte(&b, 0xFE), b_byte(&b, 0), b_byte(&b, 1), b_byte(&b, 0);
    b_byte(&b, 0x07), b_string(&b, "k"), b_string(&b, "x"); /* no type has code 7 */
    b_finish(&b);
    assert_int_equal(b_load(&b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "type"));

    /* a newer format version */
    b_header(&b, 2);
    b_finish(&b);
    assert_int_equal(b_load(&b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "version"));

    /* a database beyond 'databases' */
    b_header(&b, 1);
    b_byte(&b, 0xFE), b_byte(&b, 16), b_byte(&b, 0), b_byte(&b, 0);
    b_finish(&b);
    assert_int_equal(b_load(&b, err, sizeof(err)), -1);

    /* a key before any SELECTDB; a duplicate key; a dangling expiry;
     * a string longer than the file */
    b_header(&b, 1);
    b_byte(&b, 0x00), b_string(&b, "k"), b_string(&b, "v");
    b_finish(&b);
    assert_int_equal(b_load(&b, err, sizeof(err)), -1);
    b_header(&b, 1);
    b_byte(&b, 0xFE), b_byte(&b, 0), b_byte(&b, 2), b_byte(&b, 0);
    b_byte(&b, 0x00), b_string(&b, "k"), b_string(&b, "v");
    b_byte(&b, 0x00), b_string(&b, "k"), b_string(&b, "w");
    b_finish(&b);
    assert_int_equal(b_load(&b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "duplicate"));
    b_header(&b, 1);
    b_byte(&b, 0xFE), b_byte(&b, 0), b_byte(&b, 0), b_byte(&b, 0);
    b_byte(&b, 0xFC), b_bytes(&b, "\x01\x02\x03\x04\x05\x06\x07\x00", 8);
    b_finish(&b);
    assert_int_equal(b_load(&b, err, sizeof(err)), -1);
    b_header(&b, 1);
    b_byte(&b, 0xFE), b_byte(&b, 0), b_byte(&b, 1), b_byte(&b, 0);
    b_byte(&b, 0x00), b_string(&b, "k"), b_byte(&b, 0x7f), b_bytes(&b, "short", 5);
    b_finish(&b);
    assert_int_equal(b_load(&b, err, sizeof(err)), -1);
    /* a varint longer than 64 bits */
    b_header(&b, 1);
    b_byte(&b, 0xFE);
    for (int i = 0; i < 11; i++) b_byte(&b, 0xff);
    b_finish(&b);
    assert_int_equal(b_load(&b, err, sizeof(err)), -1);

    check_value(0, "keep", 4, "me", 2);
}

static void test_digest_properties(void **state)
{
    (void)state;
    empty_all();
    char a[41], b[41], c[41];
    digest(a);
    assert_string_equal(a, "0000000000000000000000000000000000000000");
    add_cstr(0, "k1", "v1");
    add_cstr(0, "k2", "v2");
    add_cstr(1, "k3", "100");
    digest(a);
    empty_all();
    add_cstr(1, "k3", "100");
    add_cstr(0, "k2", "v2");
    add_cstr(0, "k1", "v1");
    digest(b);
    assert_string_equal(a, b); /* order does not matter */
    db_delete(server.dbs[1], "k3", 2);
    add_cstr(2, "k3", "100");
    digest(c);
    assert_string_not_equal(a, c); /* the database does */
    db_set_expire(server.dbs[2], db_find(server.dbs[2], "k3", 2), server.now_ms + 100000);
    digest(b);
    assert_string_not_equal(b, c); /* and the TTL */
}

/* Clients keep pointing at their database by id after a load swaps them. */
static void test_clients_follow_swap(void **state)
{
    (void)state;
    empty_all();
    add_cstr(4, "x", "1");
    assert_int_equal(snapshot_save(dump_path), 0);
    client fake;
    memset(&fake, 0, sizeof(fake));
    fake.dbid = 4;
    fake.db = server.dbs[4];
    client *saved = server.clients;
    fake.next = saved;
    server.clients = &fake;
    char err[256];
    assert_int_equal(snapshot_load(dump_path, err, sizeof(err)), 0);
    assert_ptr_equal(fake.db, server.dbs[4]);
    assert_non_null(db_find(fake.db, "x", 1));
    server.clients = saved;
}

static void bgsave_done(int ok, void *priv) { *(int *)priv = ok ? 1 : -1; }

static void test_bgsave_in_child(void **state)
{
    (void)state;
    empty_all();
    fill_dataset();
    char before[41], after[41];
    digest(before);
    unlink(dump_path);
    int result = 0;
    assert_int_equal(snapshot_bgsave_start(dump_path, bgsave_done, &result), 0);
    assert_true(snapshot_in_progress());
    assert_int_equal(snapshot_bgsave_start(dump_path, NULL, NULL), -1);
    long long deadline = mstime() + 20000;
    while (snapshot_in_progress() && mstime() < deadline) {
        snapshot_cron();
        usleep(1000);
    }
    assert_false(snapshot_in_progress());
    assert_int_equal(result, 1);
    char info[2048];
    snapshot_info(info, sizeof(info));
    assert_non_null(strstr(info, "rdb_last_bgsave_status:ok\r\n"));
    assert_non_null(strstr(info, "rdb_bgsave_in_progress:0\r\n"));
    empty_all();
    char err[256];
    assert_int_equal(snapshot_load(dump_path, err, sizeof(err)), 0);
    digest(after);
    assert_string_equal(before, after);
}

static void test_many_keys_timing(void **state)
{
    (void)state;
    empty_all();
    const int n = 200000;
    char key[32], val[32];
    for (int i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof(key), "key:%d", i);
        int vl = snprintf(val, sizeof(val), i % 2 ? "%d" : "value-%d", i);
        db_add_string(server.dbs[0], key, (size_t)kl, val, (size_t)vl);
    }
    char before[41], after[41];
    digest(before);
    long long t0 = ustime();
    assert_int_equal(snapshot_save(dump_path), 0);
    long long t1 = ustime();
    char err[256];
    assert_int_equal(snapshot_load(dump_path, err, sizeof(err)), 0);
    long long t2 = ustime();
    digest(after);
    assert_string_equal(before, after);
    assert_int_equal(db_size(server.dbs[0]), (size_t)n);
    print_message("%d keys: save %.3f s, load %.3f s, %ld bytes\n", n, (double)(t1 - t0) / 1e6,
                  (double)(t2 - t1) / 1e6, file_size(dump_path));
}

static int setup(void **state)
{
    (void)state;
    return snapshot_dir_setup("test_snapshot");
}

static int teardown(void **state)
{
    (void)state;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/damaged.cfs", tmpdir);
    unlink(path);
    snapshot_dir_teardown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc64_check_value),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_dataset),
        cmocka_unit_test(test_damaged_files_refused),
        cmocka_unit_test(test_expired_at_save_is_skipped),
        cmocka_unit_test(test_handmade_files),
        cmocka_unit_test(test_digest_properties),
        cmocka_unit_test(test_clients_follow_swap),
        cmocka_unit_test(test_bgsave_in_child),
        cmocka_unit_test(test_many_keys_timing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
