/* cmd_client.c: the CLIENT command: a connection's identity (ID, SETNAME,
 * GETNAME, SETINFO), listing and killing connections (LIST, INFO, KILL), and
 * per-connection switches (REPLY, NO-EVICT). The client list and the format
 * of a client's line belong to networking.c. */
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "tracking.h"

/* Client types as CLIENT LIST/KILL name them (no pub/sub yet). */
enum client_type { CTYPE_NORMAL = 0, CTYPE_MASTER, CTYPE_REPLICA, CTYPE_PUBSUB, CTYPE_UNKNOWN };

static enum client_type parse_client_type(const arg *a)
{
    if (arg_is(a->p, a->len, "normal")) return CTYPE_NORMAL;
    if (arg_is(a->p, a->len, "master")) return CTYPE_MASTER;
    if (arg_is(a->p, a->len, "replica") || arg_is(a->p, a->len, "slave")) return CTYPE_REPLICA;
    if (arg_is(a->p, a->len, "pubsub")) return CTYPE_PUBSUB;
    return CTYPE_UNKNOWN;
}

static enum client_type client_type_of(const client *c)
{
    if (c->flags & CLIENT_MASTER) return CTYPE_MASTER;
    if (c->flags & CLIENT_REPLICA) return CTYPE_REPLICA;
    return CTYPE_NORMAL;
}

static void reply_unknown_type(client *c, const arg *a)
{
    int len = a->len > 128 ? 128 : (int)a->len;
    reply_errorf(c, "ERR Unknown client type '%.*s'", len, a->p);
}

/* Names (and library names) are printable ASCII without spaces, so that a
 * CLIENT LIST line stays parseable. */
static int valid_client_attr(const arg *a)
{
    for (size_t i = 0; i < a->len; i++)
        if (a->p[i] < '!' || a->p[i] > '~') return 0;
    return 1;
}

/* ---- identity ----------------------------------------------------------------- */

static void client_id_command(client *c) { reply_int(c, (long long)c->id); }

static void client_getname_command(client *c)
{
    if (c->name) reply_bulk_cstr(c, c->name);
    else reply_null(c);
}

static void client_setname_command(client *c)
{
    if (!valid_client_attr(&c->argv[2])) {
        reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    set_client_name(c, &c->argv[2]);
    reply_ok(c);
}

/* CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2; redis-py 5 sends it). */
static void client_setinfo_command(client *c)
{
    const arg *attr = &c->argv[2], *val = &c->argv[3];
    char **dest;
    if (arg_is(attr->p, attr->len, "lib-name")) dest = &c->lib_name;
    else if (arg_is(attr->p, attr->len, "lib-ver")) dest = &c->lib_ver;
    else {
        int len = attr->len > 128 ? 128 : (int)attr->len;
        reply_errorf(c, "ERR Unrecognized option '%.*s'", len, attr->p);
        return;
    }
    if (!valid_client_attr(val)) {
        int len = attr->len > 128 ? 128 : (int)attr->len;
        reply_errorf(c, "ERR %.*s cannot contain spaces, newlines or special characters.", len, attr->p);
        return;
    }
    zfree(*dest);
    *dest = val->len ? zstrndup(val->p, val->len) : NULL;
    reply_ok(c);
}

/* ---- listing -------------------------------------------------------------------- */

/* Appends the client's line plus "\n" to a growing buffer. */
static void append_client_line(client *who, char **buf, size_t *len, size_t *cap)
{
    char line[1024];
    size_t n = client_info_line(who, line, sizeof(line));
    if (*len + n + 1 > *cap) {
        size_t want = (*cap ? *cap * 2 : 4096);
        while (want < *len + n + 1) want *= 2;
        *buf = zrealloc(*buf, want);
        *cap = want;
    }
    memcpy(*buf + *len, line, n);
    (*len) += n;
    (*buf)[(*len)++] = '\n';
}

static void client_info_command(client *c)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    append_client_line(c, &buf, &len, &cap);
    reply_verbatim(c, buf, len, "txt");
    zfree(buf);
}

/* Parses the IDs of CLIENT LIST ID id...; replies the error on failure. */
static int parse_id_list(client *c, int from, uint64_t *ids, int max)
{
    int n = 0;
    for (int i = from; i < c->argc && n < max; i++) {
        long long id;
        if (!string2ll(c->argv[i].p, c->argv[i].len, &id) || id <= 0) {
            reply_error(c, "ERR Invalid client ID");
            return -1;
        }
        ids[n++] = (uint64_t)id;
    }
    return n;
}

static void client_list_command(client *c)
{
    enum client_type type = CTYPE_UNKNOWN; /* unknown here means "any" */
    uint64_t ids[1024];
    int nids = -1;
    if (c->argc == 4 && arg_is(c->argv[2].p, c->argv[2].len, "type")) {
        type = parse_client_type(&c->argv[3]);
        if (type == CTYPE_UNKNOWN) {
            reply_unknown_type(c, &c->argv[3]);
            return;
        }
    } else if (c->argc >= 4 && arg_is(c->argv[2].p, c->argv[2].len, "id")) {
        nids = parse_id_list(c, 3, ids, (int)(sizeof(ids) / sizeof(ids[0])));
        if (nids < 0) return;
    } else if (c->argc != 2) {
        reply_syntax_error(c);
        return;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (nids >= 0) {
        for (int i = 0; i < nids; i++) {
            client *who = client_by_id(ids[i]);
            if (who) append_client_line(who, &buf, &len, &cap);
        }
    } else {
        for (client *who = server.clients; who; who = who->next)
            if (type == CTYPE_UNKNOWN || client_type_of(who) == type)
                append_client_line(who, &buf, &len, &cap);
    }
    reply_verbatim(c, buf ? buf : "", len, "txt");
    zfree(buf);
}

/* ---- killing ---------------------------------------------------------------------- */

struct kill_filter {
    const arg *addr, *laddr;
    uint64_t id; /* 0: any */
    enum client_type type; /* CTYPE_UNKNOWN: any */
    int skipme;
};

static int arg_equals(const arg *a, const char *s)
{
    return a->len == strlen(s) && memcmp(a->p, s, a->len) == 0;
}

static int kill_filter_matches(const struct kill_filter *f, client *self, client *who)
{
    if (f->addr && !arg_equals(f->addr, who->addr)) return 0;
    if (f->laddr && !arg_equals(f->laddr, who->laddr)) return 0;
    if (f->id && who->id != f->id) return 0;
    if (f->type != CTYPE_UNKNOWN && client_type_of(who) != f->type) return 0;
    if (f->skipme && who == self) return 0;
    return 1;
}

/* Parses CLIENT KILL <option> <value> ...; replies the error on failure. */
static int parse_kill_filter(client *c, struct kill_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->type = CTYPE_UNKNOWN;
    f->skipme = 1;
    if ((c->argc - 2) % 2 != 0) {
        reply_syntax_error(c);
        return -1;
    }
    for (int i = 2; i + 1 < c->argc; i += 2) {
        const arg *opt = &c->argv[i], *val = &c->argv[i + 1];
        if (arg_is(opt->p, opt->len, "id")) {
            long long id;
            if (!string2ll(val->p, val->len, &id) || id <= 0) {
                reply_error(c, "ERR client-id should be greater than 0");
                return -1;
            }
            f->id = (uint64_t)id;
        } else if (arg_is(opt->p, opt->len, "type")) {
            f->type = parse_client_type(val);
            if (f->type == CTYPE_UNKNOWN) {
                reply_unknown_type(c, val);
                return -1;
            }
        } else if (arg_is(opt->p, opt->len, "addr")) {
            f->addr = val;
        } else if (arg_is(opt->p, opt->len, "laddr")) {
            f->laddr = val;
        } else if (arg_is(opt->p, opt->len, "user")) {
            if (!arg_equals(val, "default")) {
                int len = val->len > 128 ? 128 : (int)val->len;
                reply_errorf(c, "ERR No such user '%.*s'", len, val->p);
                return -1;
            }
        } else if (arg_is(opt->p, opt->len, "skipme")) {
            if (arg_is(val->p, val->len, "yes")) f->skipme = 1;
            else if (arg_is(val->p, val->len, "no")) f->skipme = 0;
            else {
                reply_syntax_error(c);
                return -1;
            }
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }
    return 0;
}

/* Closes every matching client but the caller, which is closed only after
 * its reply is written; returns how many matched. */
static long long kill_matching(client *c, const struct kill_filter *f, int *kill_self)
{
    long long killed = 0;
    *kill_self = 0;
    for (client *who = server.clients; who; who = who->next) {
        if (!kill_filter_matches(f, c, who)) continue;
        if (who == c) *kill_self = 1;
        else close_client_async(who);
        killed++;
    }
    return killed;
}

static void client_kill_command(client *c)
{
    struct kill_filter f;
    int old_form = c->argc == 3;
    if (old_form) {
        memset(&f, 0, sizeof(f));
        f.type = CTYPE_UNKNOWN;
        f.addr = &c->argv[2];
        f.skipme = 0;
    } else if (parse_kill_filter(c, &f) == -1) {
        return;
    }
    int kill_self;
    long long killed = kill_matching(c, &f, &kill_self);
    if (old_form) {
        if (killed == 0) reply_error(c, "ERR No such client");
        else reply_ok(c);
    } else {
        reply_int(c, killed);
    }
    if (!kill_self) return;
    /* with replies switched off there is nothing to flush: close at once */
    if (c->bufpos == 0 && c->reply_head == NULL) close_client_async(c);
    else c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/* ---- switches ---------------------------------------------------------------------- */

static void client_reply_command(client *c)
{
    const arg *mode = &c->argv[2];
    if (arg_is(mode->p, mode->len, "on")) {
        c->reply_mode = REPLY_ON;
        reply_ok(c);
    } else if (arg_is(mode->p, mode->len, "off")) {
        c->reply_mode = REPLY_OFF;
    } else if (arg_is(mode->p, mode->len, "skip")) {
        /* skipping the next reply means nothing while all replies are off */
        if (c->reply_mode != REPLY_OFF) c->reply_mode = REPLY_SKIP_NEXT;
    } else {
        reply_syntax_error(c);
    }
}

static void client_no_evict_command(client *c)
{
    const arg *v = &c->argv[2];
    if (arg_is(v->p, v->len, "on")) c->flags |= CLIENT_NO_EVICT;
    else if (arg_is(v->p, v->len, "off")) c->flags &= ~CLIENT_NO_EVICT;
    else {
        reply_syntax_error(c);
        return;
    }
    reply_ok(c);
}


/* CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends a block on keys as if it timed
 * out, or with an error. WAIT is not unblockable, as in Redis. */
static void client_unblock_command(client *c)
{
    long long id;
    if (!arg_to_ll(c, &c->argv[2], &id)) return;
    const char *error = NULL;
    if (c->argc == 4) {
        const arg *how = &c->argv[3];
        if (arg_is(how->p, how->len, "error")) {
            error = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
        } else if (!arg_is(how->p, how->len, "timeout")) {
            reply_error(c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    } else if (c->argc > 4) {
        reply_syntax_error(c);
        return;
    }
    client *target = id > 0 ? client_by_id((uint64_t)id) : NULL;
    if (target == NULL || !blocking_client_waits_on_keys(target)) {
        reply_int(c, 0);
        return;
    }
    blocking_unblock(target, error);
    reply_int(c, 1);
}

static void client_help_command(client *c)
{
    static const char *help[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "    * ID <client-id> [<client-id> ...]",
        "      Return clients of specified IDs.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <option> <value>",
        "    Set client meta attr. Options are:",
        "    * LIB-NAME: the client lib name.",
        "    * LIB-VER: the client lib version.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "HELP",
        "    Prints this help.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

#define CLIENT_ADMIN (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define CLIENT_CONN (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define SUB(name, proc, arity, flags, tips, summary, since, cx) \
    {name, proc, arity, flags, ACL_CONNECTION, 0, 0, 0, NULL, tips, "connection", summary, since, cx, NULL, 0, 0, 0, 0}

struct command client_subcommands[] = {
    SUB("client|id", client_id_command, 2, CLIENT_CONN, NULL, "Returns the client ID for the current connection", "5.0.0", "O(1)"),
    SUB("client|getname", client_getname_command, 2, CLIENT_CONN, NULL, "Get the current connection name", "2.6.9", "O(1)"),
    SUB("client|setname", client_setname_command, 3, CLIENT_CONN, NULL, "Set the current connection name", "2.6.9", "O(1)"),
    SUB("client|setinfo", client_setinfo_command, 4, CLIENT_CONN, "request_policy:all_nodes response_policy:all_succeeded", "Sets information specific to the client or connection.", "7.2.0", "O(1)"),
    SUB("client|info", client_info_command, 2, CLIENT_CONN, "nondeterministic_output", "Returns information about the current client connection.", "6.2.0", "O(1)"),
    SUB("client|list", client_list_command, -2, CLIENT_ADMIN, "nondeterministic_output", "Get the list of client connections", "2.4.0", "O(N) where N is the number of client connections"),
    SUB("client|kill", client_kill_command, -3, CLIENT_ADMIN, NULL, "Kill the connection of a client", "2.4.0", "O(N) where N is the number of client connections"),
    SUB("client|reply", client_reply_command, 3, CLIENT_CONN, NULL, "Instruct the server whether to reply to commands", "3.2.0", "O(1)"),
    SUB("client|no-evict", client_no_evict_command, 3, CLIENT_ADMIN, NULL, "Set client eviction mode for the current connection", "7.0.0", "O(1)"),
    SUB("client|unblock", client_unblock_command, -3, CLIENT_ADMIN, NULL, "Unblock a client blocked in a blocking command from a different connection", "5.0.0", "O(log N) where N is the number of client connections"),
    SUB("client|pause", client_pause_command, -3, CLIENT_ADMIN, NULL, "Stop processing commands from clients for some time", "2.9.50", "O(1)"),
    SUB("client|unpause", client_unpause_command, 2, CLIENT_ADMIN, NULL, "Resume processing of clients that were paused", "6.2.0", "O(N) Where N is the number of paused clients"),
    SUB("client|getredir", client_getredir_command, 2, CLIENT_CONN, NULL, "Get tracking notifications redirection client ID if any", "6.0.0", "O(1)"),
    SUB("client|tracking", client_tracking_command, -3, CLIENT_CONN, NULL, "Enable or disable server assisted client side caching support", "6.0.0", "O(1). Some options may introduce additional complexity."),
    SUB("client|caching", client_caching_command, 3, CLIENT_CONN, NULL, "Instruct the server about tracking or not keys in the next request", "6.0.0", "O(1)"),
    SUB("client|trackinginfo", client_trackinginfo_command, 2, CLIENT_CONN, NULL, "Return information about server assisted client side caching for the current connection", "6.2.0", "O(1)"),
    SUB("client|help", client_help_command, 2, CMD_LOADING | CMD_STALE, NULL, "Show helpful text about the different subcommands", "5.0.0", "O(1)"),
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
