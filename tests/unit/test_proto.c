/* test_proto.c: the request parser (proto.c) without sockets. A test client
 * gets bytes appended to its query buffer the way networking.c does it
 * (growing the buffer and rebasing half-parsed arguments), requests are
 * parsed in a loop like process_input(), and each parsed argv is copied out
 * for comparison. Replies (protocol errors) land in the client's output
 * buffer because its fd is the write end of a pipe that nobody reads and
 * nothing flushes. Expected error texts were checked against redis-server
 * 7.0.15. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto.h"
#include "server.h"
#include "test_client.h"

#define MAX_REQS 256

/* What the parse loop saw: each request's arguments, joined with '|' and
 * length-prefixed so that embedded separators can't confuse a comparison. */
struct parsed {
    int nreq;
    char *req[MAX_REQS];
    int error; /* PARSE_ERROR was returned */
};

struct fixture {
    client *c;
    int pipefd[2];
    struct parsed out;
};

static void parsed_clear(struct parsed *p)
{
    for (int i = 0; i < p->nreq; i++) free(p->req[i]);
    memset(p, 0, sizeof(*p));
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(pipe(f->pipefd), 0);
    f->c = test_client_new(f->pipefd[1]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    test_client_free(f->c);
    parsed_clear(&f->out);
    close(f->pipefd[0]);
    close(f->pipefd[1]);
    server.pending_writes = NULL; /* replies queued the client there */
    free(f);
    return 0;
}

/* "len:bytes|len:bytes|..." for the current argv. */
static char *argv_repr(const client *c)
{
    size_t size = 16;
    for (int i = 0; i < c->argc; i++) size += c->argv[i].len + 24;
    char *s = malloc(size), *p = s;
    assert_non_null(s);
    *p = '\0';
    for (int i = 0; i < c->argc; i++) {
        int n = snprintf(p, size - (size_t)(p - s), "%s%zu:", i ? "|" : "", c->argv[i].len);
        assert_true(n > 0);
        p += n;
        memcpy(p, c->argv[i].p, c->argv[i].len);
        p += c->argv[i].len;
        *p = '\0';
    }
    return s;
}

/* Appends bytes like read_from_client(): the buffer may move, and the
 * arguments of a half-parsed multibulk request are rebased. */
static void append_input(client *c, const char *bytes, size_t len)
{
    if (c->qb_cap - c->qb_len < len) {
        char *old = c->querybuf;
        size_t cap = c->qb_len + len;
        c->querybuf = zrealloc(c->querybuf, cap);
        c->qb_cap = cap;
        if (old && c->querybuf != old)
            for (int i = 0; i < c->argc; i++) c->argv[i].p = c->querybuf + (c->argv[i].p - old);
    }
    memcpy(c->querybuf + c->qb_len, bytes, len);
    c->qb_len += len;
}

/* Parses what it can, like process_input() (without executing). */
static void parse_available(client *c, struct parsed *out)
{
    while (c->qb_pos < c->qb_len && !out->error) {
        enum parse_result r = proto_parse_request(c);
        if (r == PARSE_ERROR) {
            out->error = 1;
            break;
        }
        if (r == PARSE_NEED_MORE) break;
        if (c->argc > 0) {
            assert_true(out->nreq < MAX_REQS);
            out->req[out->nreq++] = argv_repr(c);
        }
        proto_reset_request(c);
    }
}

static void feed(struct fixture *f, const char *bytes, size_t len)
{
    append_input(f->c, bytes, len);
    parse_available(f->c, &f->out);
}

static void feed_str(struct fixture *f, const char *s) { feed(f, s, strlen(s)); }

/* The output buffer as a C string (replies here are small). */
static const char *output(client *c)
{
    static char out[PROTO_REPLY_CHUNK + 1];
    memcpy(out, c->buf, c->bufpos);
    out[c->bufpos] = '\0';
    return out;
}

static void assert_req(const struct parsed *p, int i, const char *want)
{
    assert_true(i < p->nreq);
    assert_string_equal(p->req[i], want);
}

/* ---- well-formed input ---------------------------------------------------- */

static void test_multibulk(void **state)
{
    struct fixture *f = *state;
    feed_str(f, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
    assert_int_equal(f->out.nreq, 1);
    assert_req(&f->out, 0, "3:SET|1:k|5:hello");
    assert_false(f->out.error);
    assert_int_equal(f->c->qb_pos, f->c->qb_len);
}

static void test_multibulk_binary_and_empty_args(void **state)
{
    struct fixture *f = *state;
    static const char req[] = "*3\r\n$4\r\nECHO\r\n$0\r\n\r\n$4\r\na\r\n\0\r\n";
    feed(f, req, sizeof(req) - 1);
    assert_int_equal(f->out.nreq, 1);
    assert_int_equal(memcmp(f->out.req[0], "4:ECHO|0:|4:a\r\n\0", 17), 0);
}

static void test_empty_multibulk_is_skipped(void **state)
{
    struct fixture *f = *state;
    feed_str(f, "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n");
    assert_int_equal(f->out.nreq, 1);
    assert_req(&f->out, 0, "4:PING");
    assert_false(f->out.error);
}

static void test_inline_plain(void **state)
{
    struct fixture *f = *state;
    feed_str(f, "SET  key\tvalue\r\nPING\n\r\n\n");
    assert_int_equal(f->out.nreq, 2);
    assert_req(&f->out, 0, "3:SET|3:key|5:value");
    assert_req(&f->out, 1, "4:PING");
    assert_int_equal(f->c->qb_pos, f->c->qb_len);
}

static void test_inline_quotes_and_escapes(void **state)
{
    struct fixture *f = *state;
    feed_str(f, "SET \"hello world\" 'it\\'s'\r\n");
    feed_str(f, "ECHO \"\\x41\\x7a\\n\\t\\\\\\\"q\"\r\n");
    feed_str(f, "ECHO \"\" ''\r\n");
    feed_str(f, "ECHO 'no \\n escape'\r\n");
    assert_false(f->out.error);
    assert_int_equal(f->out.nreq, 4);
    assert_req(&f->out, 0, "3:SET|11:hello world|4:it's");
    assert_req(&f->out, 1, "4:ECHO|7:Az\n\t\\\"q");
    assert_req(&f->out, 2, "4:ECHO|0:|0:");
    assert_req(&f->out, 3, "4:ECHO|12:no \\n escape");
}

static void test_pipelined_mixed(void **state)
{
    struct fixture *f = *state;
    char buf[64 * 200];
    size_t len = 0;
    for (int i = 0; i < 200; i++) {
        int n = i % 2 ? snprintf(buf + len, sizeof(buf) - len, "GET k%d\r\n", i)
                      : snprintf(buf + len, sizeof(buf) - len, "*2\r\n$3\r\nGET\r\n$%d\r\nk%d\r\n",
                                 i < 10 ? 2 : (i < 100 ? 3 : 4), i);
        assert_true(n > 0 && (size_t)n < sizeof(buf) - len);
        len += (size_t)n;
    }
    feed(f, buf, len);
    assert_false(f->out.error);
    assert_int_equal(f->out.nreq, 200);
    for (int i = 0; i < 200; i++) {
        char want[32];
        snprintf(want, sizeof(want), "3:GET|%d:k%d", i < 10 ? 2 : (i < 100 ? 3 : 4), i);
        assert_req(&f->out, i, want);
    }
}

static void test_big_bulk(void **state)
{
    struct fixture *f = *state;
    size_t vlen = 3 * 1024 * 1024 + 7;
    char *val = malloc(vlen);
    assert_non_null(val);
    for (size_t i = 0; i < vlen; i++) val[i] = (char)('a' + i % 26);
    char head[64];
    int n = snprintf(head, sizeof(head), "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%zu\r\n", vlen);
    feed(f, head, (size_t)n);
    /* in chunks, so the buffer grows while the argv is half built */
    for (size_t off = 0; off < vlen; off += 100000)
        feed(f, val + off, vlen - off < 100000 ? vlen - off : 100000);
    assert_int_equal(f->out.nreq, 0);
    feed_str(f, "\r\n");
    assert_int_equal(f->out.nreq, 1);
    const char *r = f->out.req[0];
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "3:SET|3:big|%zu:", vlen);
    assert_int_equal(strncmp(r, prefix, strlen(prefix)), 0);
    assert_int_equal(memcmp(r + strlen(prefix), val, vlen), 0);
    free(val);
}

/* Every request fed one byte at a time must parse to the same argv as fed
 * at once. */
static void test_byte_by_byte_equals_whole(void **state)
{
    struct fixture *f = *state;
    static const char input[] =
        "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\n"
        "SET \"quoted \\x41\" 'single'\r\n"
        "*1\r\n$4\r\nPING\r\n"
        "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
        "PING\n"
        "*0\r\n"
        "ECHO a b c\r\n";
    struct parsed whole = {0};
    client *w = test_client_new(-1);
    append_input(w, input, sizeof(input) - 1);
    parse_available(w, &whole);
    assert_false(whole.error);
    assert_int_equal(whole.nreq, 6);

    for (size_t i = 0; i < sizeof(input) - 1; i++) feed(f, input + i, 1);
    assert_false(f->out.error);
    assert_int_equal(f->out.nreq, whole.nreq);
    for (int i = 0; i < whole.nreq; i++) assert_string_equal(f->out.req[i], whole.req[i]);
    assert_int_equal(f->c->qb_pos, f->c->qb_len);
    parsed_clear(&whole);
    test_client_free(w);
}

/* ---- protocol errors ------------------------------------------------------ */

static void expect_error(struct fixture *f, const char *input, size_t len, const char *reply)
{
    feed(f, input, len);
    assert_true(f->out.error);
    assert_true(f->c->flags & CLIENT_CLOSE_AFTER_REPLY);
    assert_string_equal(output(f->c), reply);
}

#define EXPECT_ERROR(f, lit, reply) expect_error((f), (lit), sizeof(lit) - 1, (reply))

static void test_error_invalid_multibulk_length(void **state)
{
    EXPECT_ERROR(*state, "*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
}

static void test_error_multibulk_length_too_big(void **state)
{
    EXPECT_ERROR(*state, "*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
}

static void test_error_multibulk_length_leading_zero(void **state)
{
    EXPECT_ERROR(*state, "*01\r\n$4\r\nPING\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
}

static void test_error_invalid_bulk_length(void **state)
{
    EXPECT_ERROR(*state, "*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n");
}

static void test_error_negative_bulk_length(void **state)
{
    EXPECT_ERROR(*state, "*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n");
}

static void test_error_bulk_over_max(void **state)
{
    EXPECT_ERROR(*state, "*1\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length\r\n");
}

static void test_error_expected_dollar(void **state)
{
    EXPECT_ERROR(*state, "*1\r\n+foo\r\n", "-ERR Protocol error: expected '$', got '+'\r\n");
}

static void test_error_expected_dollar_after_args(void **state)
{
    struct fixture *f = *state;
    EXPECT_ERROR(f, "*2\r\n$3\r\nGET\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'\r\n");
    assert_int_equal(f->out.nreq, 0);
}

static void test_error_unbalanced_quotes(void **state)
{
    EXPECT_ERROR(*state, "SET \"foo\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n");
}

static void test_error_unbalanced_single_quotes(void **state)
{
    EXPECT_ERROR(*state, "SET 'foo\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n");
}

static void test_error_quote_followed_by_text(void **state)
{
    EXPECT_ERROR(*state, "SET \"a\"b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n");
}

/* Over PROTO_INLINE_MAX without a newline: checked as the bytes arrive. */
static void test_error_too_big_inline(void **state)
{
    struct fixture *f = *state;
    size_t len = PROTO_INLINE_MAX + 1024;
    char *big = malloc(len);
    assert_non_null(big);
    memset(big, 'x', len);
    for (size_t off = 0; off < len && !f->out.error; off += 4096)
        feed(f, big + off, len - off < 4096 ? len - off : 4096);
    free(big);
    assert_true(f->out.error);
    assert_true(f->c->flags & CLIENT_CLOSE_AFTER_REPLY);
    assert_string_equal(output(f->c), "-ERR Protocol error: too big inline request\r\n");
}

static void test_error_too_big_count_strings(void **state)
{
    struct fixture *f = *state;
    size_t len = PROTO_INLINE_MAX + 100;
    char *big = malloc(len + 8);
    assert_non_null(big);
    big[0] = '*';
    memset(big + 1, '1', len - 1);
    expect_error(f, big, len, "-ERR Protocol error: too big mbulk count string\r\n");

    client *c = test_client_new(f->pipefd[1]);
    struct parsed out = {0};
    memcpy(big, "*1\r\n$", 5);
    memset(big + 5, '1', len - 5);
    append_input(c, big, len);
    parse_available(c, &out);
    assert_true(out.error);
    assert_string_equal(output(c), "-ERR Protocol error: too big bulk count string\r\n");
    test_client_free(c);
    free(big);
}

/* After an error nothing more is parsed: the connection is closing. */
static void test_error_stops_the_pipeline(void **state)
{
    struct fixture *f = *state;
    EXPECT_ERROR(f, "PING\r\n*x\r\nPING\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
    assert_int_equal(f->out.nreq, 1);
}

int main(void)
{
    config_set_defaults();
    server_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_multibulk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multibulk_binary_and_empty_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_multibulk_is_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inline_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inline_quotes_and_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_mixed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_bulk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_byte_by_byte_equals_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_invalid_multibulk_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_multibulk_length_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_multibulk_length_leading_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_invalid_bulk_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_negative_bulk_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_bulk_over_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_expected_dollar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_expected_dollar_after_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_unbalanced_quotes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_unbalanced_single_quotes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_quote_followed_by_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_too_big_inline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_too_big_count_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_stops_the_pipeline, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
