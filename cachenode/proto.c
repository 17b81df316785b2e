/* proto.c: parsing requests out of a client's query buffer: RESP multibulk
 * and inline commands, with Redis's protocol errors and limits. Arguments
 * point into the query buffer (see networking.c for how it is rebased). */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "server.h"

/* Up to `max` bytes from the parse position, printable, for a log line. */
static void describe_bytes(const client *c, char *out, size_t max)
{
    size_t n = 0;
    for (size_t i = c->req_start; i < c->qb_len && n + 5 < max; i++) {
        unsigned char ch = (unsigned char)c->querybuf[i];
        if (ch >= 32 && ch < 127 && ch != '\\') out[n++] = (char)ch;
        else n += (size_t)snprintf(out + n, max - n, "\\x%02x", ch);
    }
    out[n] = '\0';
}

static void protocol_error(client *c, const char *msg)
{
    if (c->flags & CLIENT_MASTER) {
        /* the replication stream is broken: say so loudly, and drop the
         * link so that the replica resynchronises instead of stalling */
        char bytes[256];
        describe_bytes(c, bytes, sizeof(bytes));
        log_msg(LOG_WARNING, "Protocol error (%s) in the stream from the primary at request "
                "offset %zu: '%s'", msg, c->req_start, bytes);
        c->flags |= CLIENT_CLOSE_ASAP;
        return;
    }
    char err[256];
    snprintf(err, sizeof(err), "ERR Protocol error: %s", msg);
    reply_error(c, err);
    log_msg(LOG_VERBOSE, "Protocol error (%s) from client: id=%llu addr=%s", msg,
            (unsigned long long)c->id, c->addr);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static void argv_reserve(client *c, long n)
{
    if (n <= c->argv_cap) return;
    c->argv_cap = (int)(n < 8 ? 8 : n);
    c->argv = zrealloc(c->argv, sizeof(arg) * (size_t)c->argv_cap);
}

static void argv_push(client *c, const char *p, size_t len)
{
    /* doubling from zero would never allocate: an inline request on a
     * fresh client started with argv_cap 0 */
    if (c->argc == c->argv_cap) argv_reserve(c, c->argv_cap ? (long)c->argv_cap * 2 : 8);
    c->argv[c->argc].p = p;
    c->argv[c->argc].len = len;
    c->argc++;
}

/* Splits an inline line into arguments, honouring "double" and 'single'
 * quotes with the escapes redis-cli users expect. The unquoted bytes are
 * rewritten in place inside the query buffer. Returns -1 on unbalanced
 * quotes. */
static int split_inline(client *c, char *p, char *end)
{
    while (1) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f')) p++;
        if (p >= end) return 0;
        char *start = p, *out = p;
        int in_dq = 0, in_sq = 0;
        if (*p == '"') { in_dq = 1; p++; }
        else if (*p == '\'') { in_sq = 1; p++; }
        while (1) {
            if (in_dq) {
                if (p >= end) return -1;
                if (*p == '\\' && p + 3 < end && p[1] == 'x' && isxdigit((unsigned char)p[2]) &&
                    isxdigit((unsigned char)p[3])) {
                    char hex[3] = {p[2], p[3], 0};
                    *out++ = (char)strtol(hex, NULL, 16);
                    p += 4;
                } else if (*p == '\\' && p + 1 < end) {
                    p++;
                    switch (*p) {
                    case 'n': *out++ = '\n'; break;
                    case 'r': *out++ = '\r'; break;
                    case 't': *out++ = '\t'; break;
                    case 'b': *out++ = '\b'; break;
                    case 'a': *out++ = '\a'; break;
                    default: *out++ = *p; break;
                    }
                    p++;
                } else if (*p == '"') {
                    p++;
                    if (p < end && !isspace((unsigned char)*p)) return -1;
                    break;
                } else {
                    *out++ = *p++;
                }
            } else if (in_sq) {
                if (p >= end) return -1;
                if (*p == '\\' && p + 1 < end && p[1] == '\'') {
                    *out++ = '\'';
                    p += 2;
                } else if (*p == '\'') {
                    p++;
                    if (p < end && !isspace((unsigned char)*p)) return -1;
                    break;
                } else {
                    *out++ = *p++;
                }
            } else {
                if (p >= end || isspace((unsigned char)*p)) break;
                *out++ = *p++;
            }
        }
        (void)start;
        argv_push(c, start, (size_t)(out - start));
    }
}

static enum parse_result parse_inline(client *c)
{
    char *base = c->querybuf + c->qb_pos;
    size_t avail = c->qb_len - c->qb_pos;
    char *nl = memchr(base, '\n', avail);
    if (nl == NULL) {
        if (avail > PROTO_INLINE_MAX) {
            protocol_error(c, "too big inline request");
            return PARSE_ERROR;
        }
        return PARSE_NEED_MORE;
    }
    char *end = nl;
    if (end > base && end[-1] == '\r') end--;
    c->argc = 0;
    if (split_inline(c, base, end) == -1) {
        c->argc = 0;
        protocol_error(c, "unbalanced quotes in request");
        return PARSE_ERROR;
    }
    c->qb_pos += (size_t)(nl - base) + 1;
    return PARSE_OK;
}

/* Reads "<prefix><digits>\r\n" at the parse position. */
static enum parse_result parse_count(client *c, char prefix, long long max, const char *too_big,
                                     const char *invalid, long long *out)
{
    char *base = c->querybuf + c->qb_pos;
    size_t avail = c->qb_len - c->qb_pos;
    char *nl = memchr(base, '\r', avail);
    if (nl == NULL) {
        if (avail > PROTO_INLINE_MAX) {
            protocol_error(c, too_big);
            return PARSE_ERROR;
        }
        return PARSE_NEED_MORE;
    }
    if ((size_t)(nl - base) + 1 >= avail) return PARSE_NEED_MORE; /* need the \n */
    if (base[0] != prefix) {
        char msg[64];
        snprintf(msg, sizeof(msg), "expected '%c', got '%c'", prefix, base[0]);
        protocol_error(c, msg);
        return PARSE_ERROR;
    }
    long long v;
    if (!string2ll(base + 1, (size_t)(nl - base - 1), &v) || v > max ||
        (prefix == '$' && v < 0)) {
        protocol_error(c, invalid);
        return PARSE_ERROR;
    }
    *out = v;
    c->qb_pos += (size_t)(nl - base) + 2;
    return PARSE_OK;
}

static enum parse_result parse_multibulk(client *c)
{
    if (c->multibulk_left == 0) {
        long long n;
        enum parse_result r = parse_count(c, '*', INT_MAX, "too big mbulk count string",
                                          "invalid multibulk length", &n);
        if (r != PARSE_OK) return r;
        if (n > 10 && !(c->flags & CLIENT_AUTHENTICATED)) {
            protocol_error(c, "unauthenticated multibulk length");
            return PARSE_ERROR;
        }
        if (n <= 0) return PARSE_OK; /* empty request: skipped */
        c->multibulk_left = n;
        c->argc = 0;
        argv_reserve(c, n > 1024 ? 1024 : n);
    }
    while (c->multibulk_left > 0) {
        if (c->bulk_len == -1) {
            long long len;
            enum parse_result r = parse_count(c, '$', server.proto_max_bulk_len,
                                              "too big bulk count string", "invalid bulk length", &len);
            if (r != PARSE_OK) return r;
            if (len > 16384 && !(c->flags & CLIENT_AUTHENTICATED)) {
                protocol_error(c, "unauthenticated bulk length");
                return PARSE_ERROR;
            }
            c->bulk_len = len;
        }
        size_t need = (size_t)c->bulk_len + 2;
        if (c->qb_len - c->qb_pos < need) return PARSE_NEED_MORE;
        argv_push(c, c->querybuf + c->qb_pos, (size_t)c->bulk_len);
        c->qb_pos += need;
        c->bulk_len = -1;
        c->multibulk_left--;
    }
    return PARSE_OK;
}

void proto_reset_request(client *c)
{
    c->argc = 0;
    c->reqtype = 0;
    c->multibulk_left = 0;
    c->bulk_len = -1;
}

enum parse_result proto_parse_request(client *c)
{
    if (c->reqtype == 0) {
        c->reqtype = c->querybuf[c->qb_pos] == '*' ? '*' : 'i';
        c->req_start = c->qb_pos;
    }
    return c->reqtype == '*' ? parse_multibulk(c) : parse_inline(c);
}

/* Drops the bytes of requests already executed. A half-parsed request
 * keeps its bytes (its arguments point into them) and is rebased. */
void proto_compact(client *c)
{
    size_t keep_from = c->reqtype ? c->req_start : c->qb_pos;
    if (keep_from == c->qb_len) {
        c->qb_pos = c->qb_len = c->req_start = 0;
        return;
    }
    if (keep_from == 0) return;
    memmove(c->querybuf, c->querybuf + keep_from, c->qb_len - keep_from);
    c->qb_len -= keep_from;
    c->qb_pos -= keep_from;
    c->req_start -= keep_from;
    for (int i = 0; i < c->argc; i++) c->argv[i].p -= keep_from;
}

void proto_reserve(client *c, size_t want_free)
{
    if (c->qb_cap - c->qb_len >= want_free) return;
    size_t cap = c->qb_len + want_free;
    char *old = c->querybuf;
    c->querybuf = zrealloc(c->querybuf, cap);
    c->qb_cap = cap;
    if (old && c->querybuf != old)
        for (int i = 0; i < c->argc; i++) c->argv[i].p = c->querybuf + (c->argv[i].p - old);
}
