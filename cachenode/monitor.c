/* monitor.c: MONITOR: the clients that watch every command the server runs,
 * and the line each of them receives per command, in Redis's format:
 *     +<unix seconds>.<micro> [<db> <addr>|lua] "arg" "arg" ...
 * Arguments are quoted as Redis quotes them (sdscatrepr); secrets (AUTH,
 * HELLO AUTH) show as "(redacted)". command_call feeds a command after it
 * ran, unless it is an admin or skip_monitor command; with no monitor
 * attached that costs one branch. */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "server.h"
#include "slowlog.h"

size_t monitor_count;
static client **monitors;
static size_t monitors_cap;

static void monitor_add(client *c)
{
    if (monitor_count == monitors_cap) {
        monitors_cap = monitors_cap ? monitors_cap * 2 : 4;
        monitors = zrealloc(monitors, sizeof(client *) * monitors_cap);
    }
    monitors[monitor_count++] = c;
    c->flags |= CLIENT_MONITOR;
}

void monitor_remove(client *c)
{
    if (!(c->flags & CLIENT_MONITOR)) return;
    c->flags &= ~CLIENT_MONITOR;
    for (size_t i = 0; i < monitor_count; i++) {
        if (monitors[i] == c) {
            /* keep the order: monitors receive lines in attachment order */
            memmove(&monitors[i], &monitors[i + 1], sizeof(client *) * (monitor_count - i - 1));
            monitor_count--;
            return;
        }
    }
}

/* ---- the line ------------------------------------------------------------ */

/* A growing byte buffer on the stack first, then on the heap. */
struct linebuf {
    char *p;
    size_t len, cap;
    char stack[1024];
};

static void lb_reserve(struct linebuf *b, size_t more)
{
    if (b->len + more <= b->cap) return;
    size_t cap = b->cap * 2;
    while (cap < b->len + more) cap *= 2;
    if (b->p == b->stack) {
        char *p = zmalloc(cap);
        memcpy(p, b->stack, b->len);
        b->p = p;
    } else {
        b->p = zrealloc(b->p, cap);
    }
    b->cap = cap;
}

static void lb_append(struct linebuf *b, const char *s, size_t n)
{
    lb_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Appends the bytes in double quotes, escaped as Redis's sdscatrepr does. */
static void lb_append_quoted(struct linebuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    lb_reserve(b, n * 4 + 2);
    char *out = b->p + b->len;
    *out++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc = 0;
        switch (ch) {
        case '\\': esc = '\\'; break;
        case '"': esc = '"'; break;
        case '\n': esc = 'n'; break;
        case '\r': esc = 'r'; break;
        case '\t': esc = 't'; break;
        case '\a': esc = 'a'; break;
        case '\b': esc = 'b'; break;
        default: break;
        }
        if (esc) {
            *out++ = '\\';
            *out++ = esc;
        } else if (ch >= 0x20 && ch <= 0x7e) {
            *out++ = (char)ch;
        } else {
            *out++ = '\\';
            *out++ = 'x';
            *out++ = hex[ch >> 4];
            *out++ = hex[ch & 15];
        }
    }
    *out++ = '"';
    b->len = (size_t)(out - b->p);
}

static void format_line(client *c, struct linebuf *b)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char head[160];
    int n = (c->flags & CLIENT_SCRIPT)
                ? snprintf(head, sizeof(head), "+%ld.%06ld [%d lua] ", (long)tv.tv_sec, (long)tv.tv_usec, c->dbid)
                : snprintf(head, sizeof(head), "+%ld.%06ld [%d %s] ", (long)tv.tv_sec, (long)tv.tv_usec, c->dbid,
                           c->addr);
    if (n < 0) n = 0;
    lb_append(b, head, (size_t)n < sizeof(head) ? (size_t)n : sizeof(head) - 1);
    for (int i = 0; i < c->argc; i++) {
        if (arg_is_secret(c, i)) lb_append(b, "\"(redacted)\"", 12);
        else lb_append_quoted(b, c->argv[i].p, c->argv[i].len);
        if (i != c->argc - 1) lb_append(b, " ", 1);
    }
    lb_append(b, "\r\n", 2);
}

void monitor_feed(client *c)
{
    /* a blocked command run again once its keys are ready was shown when
     * it first ran */
    if (blocking_rerunning(c)) return;
    struct linebuf b;
    b.p = b.stack;
    b.len = 0;
    b.cap = sizeof(b.stack);
    format_line(c, &b);
    for (size_t i = 0; i < monitor_count; i++) reply_raw(monitors[i], b.p, b.len);
    if (b.p != b.stack) zfree(b.p);
}

/* ---- MONITOR ----------------------------------------------------------- */

static void monitor_command(client *c)
{
    if (c->flags & CLIENT_DENY_BLOCKING) {
        /* inside EXEC (or a script) the client expects one reply per command */
        reply_error(c, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    /* already monitoring, or a replica: ignored without a reply, as Redis does */
    if (c->flags & (CLIENT_MONITOR | CLIENT_REPLICA)) return;
    monitor_add(c);
    reply_ok(c);
}

struct command monitor_commands[] = {
    {"monitor", monitor_command, 1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, 0, NULL, NULL, "server", "Listen for all requests received by the server in real time", "1.0.0", NULL, NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
