/* test_mc_proto.c: unit tests for the memcached engine's parsers: requests
 * split over reads (a line or a data block not complete yet consumes
 * nothing), pipelining, swallowing a refused data block as it arrives,
 * too-long lines, memcached's number parsing, the tokenizer, base64 and a
 * few meta requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mc.h"

static struct mc_buf out;
static struct mc_worker_stats stats;
static struct mc_session sess;

static int setup(void **state)
{
    (void)state;
    struct mc_store_config cfg = {64 * 1024 * 1024, 1024 * 1024, 1};
    memset(&sess, 0, sizeof(sess));
    sess.out = &out;
    sess.stats = &stats;
    out.len = 0;
    return mc_store_init(&cfg);
}

static int teardown(void **state)
{
    (void)state;
    mc_store_release();
    free(out.data);
    memset(&out, 0, sizeof(out));
    return 0;
}

/* Runs every complete request of text; returns the bytes consumed. */
static long run(const char *text)
{
    size_t len = strlen(text), pos = 0;
    char *buf = malloc(len + 1);
    memcpy(buf, text, len + 1);
    for (;;) {
        long r = mc_process(&sess, buf + pos, len - pos);
        if (r <= 0) {
            free(buf);
            return r < 0 ? r : (long)pos;
        }
        pos += (size_t)r;
    }
}

static void expect_out(const char *want)
{
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    out.len = 0;
}

static void test_split_requests(void **state)
{
    (void)state;
    assert_int_equal(run("set a 0 0 5"), 0);           /* no line end yet */
    assert_int_equal(run("set a 0 0 5\r\nhel"), 0);    /* data block incomplete */
    expect_out("");
    assert_int_equal(run("set a 0 0 5\r\nhello\r\nget a\r\nget"), 27);
    expect_out("STORED\r\nVALUE a 0 5\r\nhello\r\nEND\r\n");
}

static void test_swallow(void **state)
{
    (void)state;
    /* 2 MB declared: refused at once, the block dropped as it comes */
    assert_int_equal(run("set big 0 0 2000000\r\nabc"), 24);
    expect_out("SERVER_ERROR object too large for cache\r\n");
    assert_int_equal(sess.swallow, 2000002 - 3);
    char chunk[1000];
    memset(chunk, 'x', sizeof(chunk));
    size_t left = sess.swallow;
    while (left) {
        long r = mc_process(&sess, chunk, sizeof(chunk) < left ? sizeof(chunk) : left);
        assert_true(r > 0);
        left -= (size_t)r;
    }
    assert_int_equal(sess.swallow, 0);
    run("get big\r\n");
    expect_out("END\r\n");
}

static void test_long_lines(void **state)
{
    (void)state;
    char *line = malloc(3000);
    memset(line, 'k', 2999);
    line[2999] = '\0';
    memcpy(line, "set ", 4);
    assert_int_equal(run(line), -1);
    expect_out("CLIENT_ERROR line too long\r\n");
    memcpy(line, "get ", 4); /* a multi-get may be long; it waits for its end */
    assert_int_equal(run(line), 0);
    expect_out("");
    free(line);
}

static void test_multiget_pauses(void **state)
{
    (void)state;
    enum mc_result res;
    mc_item *it = mc_item_new("v", 1, 0, 0, 300000, &res);
    memset(MC_ITEM_VAL(it), 'x', 300000);
    assert_int_equal(mc_store_item(it, MC_SET, 0, 0, NULL), MC_STORED);
    char req[] = "get v v v v v v v v v v\r\n"; /* 3 MB of replies */
    int rounds = 0;
    long r;
    while ((r = mc_process(&sess, req, strlen(req))) == 0) {
        assert_true(sess.paused);
        assert_true(out.len <= MC_GET_PAUSE + 300100); /* bounded per call */
        out.len = 0; /* "sent" */
        rounds++;
    }
    assert_int_equal(r, (long)strlen(req));
    assert_false(sess.paused);
    assert_int_equal(rounds, 2);
    assert_memory_equal(out.data + out.len - 5, "END\r\n", 5);
    out.len = 0;
}

static void test_numbers(void **state)
{
    (void)state;
    uint64_t u;
    uint32_t u32;
    int32_t i32;
    assert_int_equal(mc_strtoull("18446744073709551615", &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(mc_strtoull("18446744073709551616", &u), -1);
    assert_int_equal(mc_strtoull("-1", &u), -1);
    assert_int_equal(mc_strtoull("12 ", &u), 0);
    assert_int_equal(mc_strtoull("12a", &u), -1);
    assert_int_equal(mc_strtoull("", &u), -1);
    assert_int_equal(mc_strtoul32("4294967296", &u32), 0);
    assert_int_equal(u32, 0); /* truncated, as memcached on 64-bit */
    assert_int_equal(mc_strtol32("-5", &i32), 0);
    assert_int_equal(i32, -5);
    assert_int_equal(mc_strtol32("x", &i32), -1);
}

static void test_tokenize(void **state)
{
    (void)state;
    char line[] = "  set   a 0  0 1 ";
    char *tok[8];
    size_t len[8];
    assert_int_equal(mc_tokenize(line, tok, len, 8), 5);
    assert_string_equal(tok[0], "set");
    assert_string_equal(tok[4], "1");
    assert_int_equal(len[1], 1);
}

static void test_base64(void **state)
{
    (void)state;
    char dec[16], enc[32];
    assert_int_equal(mc_base64_decode("aGVsbG8=", 8, dec, sizeof(dec)), 5);
    assert_memory_equal(dec, "hello", 5);
    assert_int_equal(mc_base64_encode("hello", 5, enc), 8);
    assert_memory_equal(enc, "aGVsbG8=", 8);
    assert_int_equal(mc_base64_decode("foo", 3, dec, sizeof(dec)), -1);
    assert_int_equal(mc_base64_decode("a=bc", 4, dec, sizeof(dec)), -1);
}

static void test_meta(void **state)
{
    (void)state;
    run("ms k 2 T0 F3 k\r\nhi\r\nmg k v f s\r\nmg nope v q\r\nmn\r\n");
    expect_out("HD kk\r\nVA 2 f3 s2\r\nhi\r\nMN\r\n");
    run("mg k zz\r\nms k 2 MX\r\nhi\r\nmn\r\n");
    expect_out("CLIENT_ERROR invalid flag\r\nCLIENT_ERROR invalid mode for ms M token\r\nMN\r\n");
    run("md k I\r\nmg k v\r\nmg k v\r\n");
    expect_out("HD\r\nVA 2 X W\r\nhi\r\nVA 2 Z X\r\nhi\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_split_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swallow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiget_pauses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokenize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_base64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
