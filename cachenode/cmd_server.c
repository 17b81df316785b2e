/* cmd_server.c: the server command table and the small server commands:
 * TIME, LASTSAVE, SHUTDOWN, DEBUG SLEEP. The larger ones live in their own
 * files: INFO (info.c), CLIENT (cmd_client.c), COMMAND (cmd_command.c),
 * SLOWLOG (slowlog.c), CONFIG (config.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "server.h"
#include "slowlog.h"
#include "snapshot.h"

/* ---- TIME, LASTSAVE ------------------------------------------------------------- */

static void time_command(client *c)
{
    long long us = ustime();
    reply_array(c, 2);
    reply_bulk_ll(c, us / 1000000);
    reply_bulk_ll(c, us % 1000000);
}

/* The last successful save (snapshot.c), the start time before any. */
long long server_last_save_time(void) { return snapshot_lastsave(); }

static void lastsave_command(client *c) { reply_int(c, server_last_save_time()); }

/* ---- SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] ---------------------------------- */

static void shutdown_command(client *c)
{
    int nosave = 0, save = 0, abort_req = 0;
    for (int i = 1; i < c->argc; i++) {
        const arg *a = &c->argv[i];
        if (arg_is(a->p, a->len, "nosave")) nosave = 1;
        else if (arg_is(a->p, a->len, "save")) save = 1;
        else if (arg_is(a->p, a->len, "now") || arg_is(a->p, a->len, "force")) continue;
        else if (arg_is(a->p, a->len, "abort")) abort_req = 1;
        else {
            reply_syntax_error(c);
            return;
        }
    }
    if ((abort_req && c->argc != 2) || (nosave && save)) {
        reply_syntax_error(c);
        return;
    }
    if (!nosave && script_busy_refusal(0)) { /* a busy script: only SHUTDOWN NOSAVE */
        reply_error(c, script_busy_refusal(0));
        return;
    }
    if (abort_req) {
        /* shutting down is immediate: there is never one to abort */
        reply_error(c, "ERR No shutdown in progress.");
        return;
    }
    /* no reply: the cron closes the listener and leaves the event loop, and
     * the client sees its connection close as the process exits */
    server.shutdown_asap = 1;
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/* ---- DEBUG ------------------------------------------------------------------------ */

static void debug_sleep(client *c)
{
    char buf[64];
    const arg *a = &c->argv[2];
    double secs;
    if (a->len >= sizeof(buf)) {
        reply_not_float(c);
        return;
    }
    memcpy(buf, a->p, a->len);
    buf[a->len] = '\0';
    if (!string2d(buf, a->len, &secs) || secs < 0 || !isfinite(secs)) {
        reply_not_float(c);
        return;
    }
    struct timespec ts;
    ts.tv_sec = (time_t)secs;
    ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
    reply_ok(c);
}

static void debug_command(client *c)
{
    const arg *sub = &c->argv[1];
    if (snapshot_debug_command(c)) return; /* DIGEST, DIGEST-VALUE, RELOAD */
    if (arg_is(sub->p, sub->len, "sleep") && c->argc == 3) {
        debug_sleep(c);
    } else if (arg_is(sub->p, sub->len, "help") && c->argc == 2) {
        static const char *help[] = {
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "HELP",
            "    Prints this help."};
        size_t n = sizeof(help) / sizeof(help[0]), more;
        const char *const *snap = snapshot_debug_help(&more);
        reply_array(c, (long)(n + more));
        for (size_t i = 0; i < n; i++) reply_status(c, help[i]);
        for (size_t i = 0; i < more; i++) reply_status(c, snap[i]);
    } else {
        int len = sub->len > 128 ? 128 : (int)sub->len;
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try DEBUG HELP.",
                     len, sub->p);
    }
}

/* ---- the table ---------------------------------------------------------------------- */

#define CONFIG_FLAGS (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define CONFIG_SUB(name, arity, tips, summary, since, cx) \
    {name, command_config, arity, CONFIG_FLAGS, 0, 0, 0, 0, NULL, tips, "server", summary, since, cx, NULL, 0, 0, 0, 0}

/* CONFIG's subcommands all run command_config, which dispatches itself;
 * the entries give each its arity, documentation and statistics. */
static struct command config_subcommands[] = {
    CONFIG_SUB("config|get", -3, NULL, "Get the values of configuration parameters", "2.0.0", "O(N) when N is the number of configuration parameters provided"),
    CONFIG_SUB("config|set", -4, "request_policy:all_nodes response_policy:all_succeeded", "Set configuration parameters to the given values", "2.0.0", "O(N) when N is the number of configuration parameters provided"),
    CONFIG_SUB("config|resetstat", 2, NULL, "Reset the stats returned by INFO", "2.0.0", "O(1)"),
    CONFIG_SUB("config|rewrite", 2, NULL, "Rewrite the configuration file with the in memory configuration", "2.8.0", "O(1)"),
    {"config|help", command_config, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, 0, NULL, NULL, "server", "Show helpful text about the different subcommands", "5.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};

#define SLOWLOG_SUB(name, proc, arity, tips, summary, since, cx) \
    {name, proc, arity, CMD_ADMIN | CMD_LOADING | CMD_STALE, 0, 0, 0, 0, NULL, tips, "server", summary, since, cx, NULL, 0, 0, 0, 0}

static struct command slowlog_subcommands[] = {
    SLOWLOG_SUB("slowlog|get", slowlog_get_command, -2, "request_policy:all_nodes nondeterministic_output", "Get the slow log's entries", "2.2.12", "O(N) where N is the number of entries returned"),
    SLOWLOG_SUB("slowlog|len", slowlog_len_command, 2, "request_policy:all_nodes response_policy:agg_sum nondeterministic_output", "Get the slow log's length", "2.2.12", "O(1)"),
    SLOWLOG_SUB("slowlog|reset", slowlog_reset_command, 2, "request_policy:all_nodes response_policy:all_succeeded", "Clear all entries from the slow log", "2.2.12", "O(N) where N is the number of entries in the slowlog"),
    {"slowlog|help", slowlog_help_command, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, 0, NULL, NULL, "server", "Show helpful text about the different subcommands", "6.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};

/* A container's own proc runs only when no subcommand matched, which
 * dispatch already answers; these exist for COMMAND with no arguments. */
static void container_command(client *c) { reply_arity_error(c); }

struct command server_commands[] = {
    {"config", container_command, -2, 0, 0, 0, 0, 0, NULL, NULL, "server", "A container for server configuration commands", "2.0.0", "Depends on subcommand.", config_subcommands, 0, 0, 0, 0},
    {"info", info_command, -1, CMD_LOADING | CMD_STALE, ACL_DANGEROUS, 0, 0, 0, NULL, "nondeterministic_output request_policy:all_shards response_policy:special", "server", "Get information and statistics about the server", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"client", container_command, -2, 0, 0, 0, 0, 0, NULL, NULL, "connection", "A container for client connection commands", "2.4.0", "Depends on subcommand.", client_subcommands, 0, 0, 0, 0},
    {"command", command_command, -1, CMD_LOADING | CMD_STALE, ACL_CONNECTION, 0, 0, 0, NULL, "nondeterministic_output_order", "server", "Get array of Redis command details", "2.8.13", "O(N) where N is the total number of Redis commands", command_subcommands, 0, 0, 0, 0},
    {"slowlog", container_command, -2, 0, 0, 0, 0, 0, NULL, NULL, "server", "A container for slow log commands", "2.2.12", "Depends on subcommand.", slowlog_subcommands, 0, 0, 0, 0},
    {"time", time_command, 1, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, 0, NULL, "nondeterministic_output", "server", "Return the current server time", "2.6.0", "O(1)", NULL, 0, 0, 0, 0},
    {"lastsave", lastsave_command, 1, CMD_LOADING | CMD_STALE | CMD_FAST, ACL_ADMIN | ACL_DANGEROUS, 0, 0, 0, NULL, "nondeterministic_output", "server", "Get the UNIX time stamp of the last successful save to disk", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"shutdown", shutdown_command, -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NO_MULTI | CMD_ALLOW_BUSY, 0, 0, 0, 0, NULL, NULL, "server", "Synchronously save the dataset to disk and then shut down the server", "1.0.0", "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)", NULL, 0, 0, 0, 0},
    {"debug", debug_command, -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, 0, NULL, NULL, "server", "A container for debugging commands", "1.0.0", "Depends on subcommand.", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
