/* cmd_connection.c: commands about the connection itself: PING, ECHO,
 * SELECT, HELLO (protocol negotiation), AUTH, QUIT, RESET. */
#include <limits.h>
#include <string.h>

#include "pubsub.h"
#include "server.h"
#include "tracking.h"

static void ping_command(client *c)
{
    if (c->argc > 2) {
        reply_arity_error(c);
        return;
    }
    if ((c->flags & CLIENT_PUBSUB) && c->resp == 2) {
        /* subscribed mode: a reply shaped like the messages around it */
        reply_array(c, 2);
        reply_bulk(c, "pong", 4);
        if (c->argc == 2) reply_bulk(c, c->argv[1].p, c->argv[1].len);
        else reply_bulk(c, "", 0);
    } else if (c->argc == 2) {
        reply_bulk(c, c->argv[1].p, c->argv[1].len);
    } else {
        reply_status(c, "PONG");
    }
}

static void echo_command(client *c) { reply_bulk(c, c->argv[1].p, c->argv[1].len); }

static void select_command(client *c)
{
    long long id;
    if (!arg_to_ll(c, &c->argv[1], &id)) return;
    if (id < INT_MIN || id > INT_MAX) {
        reply_error(c, "ERR value is out of range, value must between -2147483648 and 2147483647");
        return;
    }
    if (server.cluster_enabled && id != 0) reply_error(c, "ERR SELECT is not allowed in cluster mode");
    else if (select_db(c, id) == -1) reply_error(c, "ERR DB index is out of range");
    else reply_ok(c);
}

/* Compares in time independent of where the first difference is. */
static int password_matches(const char *given, size_t len)
{
    const char *want = server.requirepass ? server.requirepass : "";
    size_t wlen = strlen(want);
    unsigned char diff = (unsigned char)(len != wlen);
    for (size_t i = 0; i < len; i++) diff |= (unsigned char)(given[i] ^ want[i % (wlen ? wlen : 1)]);
    return diff == 0;
}

static int password_required(void) { return server.requirepass && server.requirepass[0]; }

/* Checks a username/password pair; replies the error itself on failure. */
static int check_credentials(client *c, const arg *user, const arg *pass)
{
    if (user && !arg_is(user->p, user->len, "default")) {
        reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
        return 0;
    }
    if (password_required() && !password_matches(pass->p, pass->len)) {
        reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
        return 0;
    }
    c->flags |= CLIENT_AUTHENTICATED;
    return 1;
}

static void auth_command(client *c)
{
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    if (c->argc == 2 && !password_required()) {
        reply_error(c, "ERR AUTH <password> called without any password configured for the "
                       "default user. Are you sure your configuration is correct?");
        return;
    }
    const arg *user = c->argc == 3 ? &c->argv[1] : NULL;
    if (check_credentials(c, user, &c->argv[c->argc - 1])) reply_ok(c);
}

static int valid_client_name(const arg *a)
{
    for (size_t i = 0; i < a->len; i++)
        if (a->p[i] < '!' || a->p[i] > '~') return 0;
    return 1;
}

void set_client_name(client *c, const arg *name)
{
    zfree(c->name);
    c->name = name->len ? zstrndup(name->p, name->len) : NULL;
}

static void hello_command(client *c)
{
    long long ver = c->resp;
    int next = 1;
    if (c->argc >= 2) {
        if (!string2ll(c->argv[1].p, c->argv[1].len, &ver)) {
            reply_error(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        next = 2;
        if (ver < 2 || ver > 3) {
            reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    const arg *setname = NULL;
    for (int i = next; i < c->argc; i++) {
        int more = c->argc - i - 1;
        if (arg_is(c->argv[i].p, c->argv[i].len, "auth") && more >= 2) {
            if (!check_credentials(c, &c->argv[i + 1], &c->argv[i + 2])) return;
            i += 2;
        } else if (arg_is(c->argv[i].p, c->argv[i].len, "setname") && more >= 1) {
            setname = &c->argv[i + 1];
            if (!valid_client_name(setname)) {
                reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
            i += 1;
        } else {
            reply_errorf(c, "ERR Syntax error in HELLO option '%.*s'", (int)c->argv[i].len, c->argv[i].p);
            return;
        }
    }
    if (!(c->flags & CLIENT_AUTHENTICATED)) {
        reply_error(c, "NOAUTH HELLO must be called with the client already authenticated, "
                       "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                       "authenticate the client and select the RESP protocol version at the same time");
        return;
    }
    if (setname) set_client_name(c, setname);
    c->resp = (int)ver;
    reply_map(c, 7);
    reply_bulk_cstr(c, "server");
    reply_bulk_cstr(c, "redis");
    reply_bulk_cstr(c, "version");
    reply_bulk_cstr(c, CN_VERSION);
    reply_bulk_cstr(c, "proto");
    reply_int(c, ver);
    reply_bulk_cstr(c, "id");
    reply_int(c, (long long)c->id);
    reply_bulk_cstr(c, "mode");
    reply_bulk_cstr(c, server.cluster_enabled ? "cluster" : "standalone");
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, server_is_replica() ? "replica" : "master"); /* what ROLE says */
    reply_bulk_cstr(c, "modules");
    reply_array(c, 0);
}

static void quit_command(client *c)
{
    reply_ok(c);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static void reset_command(client *c)
{
    multi_client_reset(c);
    monitor_remove(c);
    pubsub_client_reset(c);
    tracking_client_reset(c);
    select_db(c, 0);
    c->resp = 2;
    c->reply_mode = REPLY_ON;
    c->flags &= ~(CLIENT_NO_EVICT | CLIENT_READONLY | CLIENT_ASKING);
    zfree(c->name);
    c->name = NULL;
    if (password_required()) c->flags &= ~CLIENT_AUTHENTICATED;
    reply_status(c, "RESET");
}

struct command connection_commands[] = {
    {"ping", ping_command, -1, CMD_FAST, ACL_CONNECTION, 0, 0, 0, NULL, "request_policy:all_shards response_policy:all_succeeded", "connection", "Ping the server", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"echo", echo_command, 2, CMD_LOADING | CMD_STALE | CMD_FAST, ACL_CONNECTION, 0, 0, 0, NULL, NULL, "connection", "Echo the given string", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"select", select_command, 2, CMD_LOADING | CMD_STALE | CMD_FAST, ACL_CONNECTION, 0, 0, 0, NULL, NULL, "connection", "Change the selected database for the current connection", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"hello", hello_command, -1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_ALLOW_BUSY, ACL_CONNECTION, 0, 0, 0, NULL, NULL, "connection", "Handshake with Redis", "6.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"auth", auth_command, -2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_ALLOW_BUSY, ACL_CONNECTION, 0, 0, 0, NULL, NULL, "connection", "Authenticate to the server", "1.0.0", "O(N) where N is the number of passwords defined for the user", NULL, 0, 0, 0, 0},
    {"quit", quit_command, -1, CMD_ALLOW_BUSY | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH, ACL_CONNECTION, 0, 0, 0, NULL, NULL, "connection", "Close the connection", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"reset", reset_command, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_ALLOW_BUSY, ACL_CONNECTION, 0, 0, 0, NULL, NULL, "connection", "Reset the connection", "6.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
