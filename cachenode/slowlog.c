/* slowlog.c: the slow log: a bounded list of the commands that took longer
 * than slowlog-log-slower-than microseconds, newest first, and the SLOWLOG
 * command that reads and clears it. Arguments are copied and shortened as
 * Redis does (at most 32 arguments, 128 bytes each), and secrets (AUTH,
 * HELLO AUTH, CONFIG SET of a password) are stored as "(redacted)". */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server.h"
#include "slowlog.h"

#define SLOWLOG_ENTRY_MAX_ARGC 32
#define SLOWLOG_ENTRY_MAX_STRING 128

struct slowlog_entry {
    struct slowlog_entry *next, *prev; /* next is older */
    long long id;
    long long time; /* unix seconds */
    long long duration;
    int argc;
    arg *argv; /* owned copies */
    char *peer;
    char *name;
};

static struct slowlog_entry *newest, *oldest;
static long long entries_len;
static long long next_entry_id;

static arg copy_arg(const char *p, size_t len)
{
    arg a;
    char *s = zmalloc(len ? len : 1);
    if (len) memcpy(s, p, len);
    a.p = s;
    a.len = len;
    return a;
}

static arg make_arg_cstr(const char *s) { return copy_arg(s, strlen(s)); }

/* Which arguments hold secrets, so that they never reach the log or a
 * monitor: those Redis redacts, and only when Redis's command gets as far as
 * redacting them (AUTH with at most two arguments; HELLO's AUTH options
 * after a valid protocol version, up to the first bad option). */
static int hello_secret_arg(const client *c, int i)
{
    long long ver;
    if (c->argc < 2 || !string2ll(c->argv[1].p, c->argv[1].len, &ver) || ver < 2 || ver > 3) return 0;
    for (int j = 2; j < c->argc && j < i;) {
        int more = c->argc - 1 - j;
        if (arg_is(c->argv[j].p, c->argv[j].len, "auth") && more >= 2) {
            if (i == j + 1 || i == j + 2) return 1;
            j += 3;
        } else if (arg_is(c->argv[j].p, c->argv[j].len, "setname") && more >= 1) {
            j += 2;
        } else {
            return 0;
        }
    }
    return 0;
}

int arg_is_secret(const client *c, int i)
{
    const arg *a0 = &c->argv[0];
    if (arg_is(a0->p, a0->len, "auth")) return i >= 1 && c->argc <= 3;
    if (arg_is(a0->p, a0->len, "hello")) return hello_secret_arg(c, i);
    if (arg_is(a0->p, a0->len, "config") && c->argc >= 4 &&
        arg_is(c->argv[1].p, c->argv[1].len, "set") && i >= 3 && (i - 2) % 2 == 1) {
        const arg *name = &c->argv[i - 1];
        return arg_is(name->p, name->len, "requirepass") || arg_is(name->p, name->len, "masterauth");
    }
    return 0;
}

static arg entry_arg(const client *c, int i)
{
    if (arg_is_secret(c, i)) return make_arg_cstr("(redacted)");
    const arg *a = &c->argv[i];
    if (a->len <= SLOWLOG_ENTRY_MAX_STRING) return copy_arg(a->p, a->len);
    char tail[64];
    int n = snprintf(tail, sizeof(tail), "... (%zu more bytes)", a->len - SLOWLOG_ENTRY_MAX_STRING);
    if (n < 0) n = 0;
    size_t total = SLOWLOG_ENTRY_MAX_STRING + (size_t)n;
    char *s = zmalloc(total);
    memcpy(s, a->p, SLOWLOG_ENTRY_MAX_STRING);
    memcpy(s + SLOWLOG_ENTRY_MAX_STRING, tail, (size_t)n);
    arg out = {s, total};
    return out;
}

static struct slowlog_entry *slowlog_entry_create(client *c, long long duration)
{
    struct slowlog_entry *e = zcalloc(sizeof(*e));
    int argc = c->argc > SLOWLOG_ENTRY_MAX_ARGC ? SLOWLOG_ENTRY_MAX_ARGC : c->argc;
    e->argv = zmalloc(sizeof(arg) * (size_t)argc);
    e->argc = argc;
    for (int i = 0; i < argc; i++) {
        if (i == argc - 1 && argc != c->argc) {
            /* the last slot says how many arguments were left out */
            char more[64];
            snprintf(more, sizeof(more), "... (%d more arguments)", c->argc - argc + 1);
            e->argv[i] = make_arg_cstr(more);
        } else {
            e->argv[i] = entry_arg(c, i);
        }
    }
    e->id = next_entry_id++;
    e->time = (long long)server.unixtime;
    e->duration = duration;
    e->peer = zstrndup(c->addr, strlen(c->addr));
    e->name = c->name ? zstrndup(c->name, strlen(c->name)) : NULL;
    return e;
}

static void slowlog_entry_free(struct slowlog_entry *e)
{
    for (int i = 0; i < e->argc; i++) zfree((void *)e->argv[i].p);
    zfree(e->argv);
    zfree(e->peer);
    zfree(e->name);
    zfree(e);
}

static void drop_oldest(void)
{
    struct slowlog_entry *e = oldest;
    if (e == NULL) return;
    oldest = e->prev;
    if (oldest) oldest->next = NULL;
    else newest = NULL;
    entries_len--;
    slowlog_entry_free(e);
}

void slowlog_trim(void)
{
    long long max = server.slowlog_max_len < 0 ? 0 : server.slowlog_max_len;
    while (entries_len > max) drop_oldest();
}

void slowlog_maybe_add(struct client *c, long long duration_us)
{
    if (server.slowlog_log_slower_than < 0 || duration_us < server.slowlog_log_slower_than) return;
    if (c->argc <= 0) return;
    struct slowlog_entry *e = slowlog_entry_create(c, duration_us);
    e->next = newest;
    if (newest) newest->prev = e;
    newest = e;
    if (oldest == NULL) oldest = e;
    entries_len++;
    slowlog_trim();
}

static void slowlog_reset(void)
{
    while (entries_len > 0) drop_oldest();
}

/* ---- SLOWLOG ---------------------------------------------------------------- */

static void reply_entry(client *c, const struct slowlog_entry *e)
{
    reply_array(c, 6);
    reply_int(c, e->id);
    reply_int(c, e->time);
    reply_int(c, e->duration);
    reply_array(c, e->argc);
    for (int i = 0; i < e->argc; i++) reply_bulk(c, e->argv[i].p, e->argv[i].len);
    reply_bulk_cstr(c, e->peer);
    reply_bulk_cstr(c, e->name ? e->name : "");
}

void slowlog_get_command(client *c)
{
    long long count = 10;
    if (c->argc > 3) {
        reply_error(c, "ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.");
        return;
    }
    if (c->argc == 3) {
        if (!arg_to_ll_msg(c, &c->argv[2], &count, "ERR count should be greater than or equal to -1"))
            return;
        if (count < -1) {
            reply_error(c, "ERR count should be greater than or equal to -1");
            return;
        }
        if (count == -1) count = entries_len;
    }
    if (count > entries_len) count = entries_len;
    reply_array(c, (long)count);
    const struct slowlog_entry *e = newest;
    for (long long i = 0; i < count && e; i++, e = e->next) reply_entry(c, e);
}

void slowlog_len_command(client *c) { reply_int(c, entries_len); }

void slowlog_reset_command(client *c)
{
    slowlog_reset();
    reply_ok(c);
}

void slowlog_help_command(client *c)
{
    static const char *help[] = {
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}
