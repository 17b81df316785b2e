/* commands.c: the command table (assembled from each module's table), name
 * lookup, and command execution: the checks every command passes before it
 * runs (arity, authentication, memory) and the statistics after. */
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "log.h"
#include "pubsub.h"
#include "server.h"
#include "tracking.h"
#include "slowlog.h"

static struct command **commands;             /* flat, NULL-terminated */
static size_t command_count;

/* Open-addressing index from lower-case name to command. */
static struct command **index_slots;
static size_t index_size;

static uint64_t name_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static void index_insert(struct command *cmd)
{
    size_t len = strlen(cmd->name);
    size_t i = name_hash(cmd->name, len) & (index_size - 1);
    while (index_slots[i]) i = (i + 1) & (index_size - 1);
    index_slots[i] = cmd;
}

void commands_init(void)
{
    struct command *tables[] = {string_commands, keyspace_commands, expire_commands,
                                connection_commands, server_commands, persistence_commands,
                                replication_commands, hash_commands,
                                list_commands, set_commands, zset_commands, dump_commands,
                                sort_commands, multi_commands, monitor_commands,
                                latency_commands, bitmap_commands,
                                hyperloglog_commands, geo_commands, stream_commands,
                                stream_cg_commands, pubsub_commands, script_commands,
                                function_commands, cluster_commands};
    size_t ntables = sizeof(tables) / sizeof(tables[0]);
    command_count = 0;
    for (size_t t = 0; t < ntables; t++)
        for (struct command *c = tables[t]; c->name; c++) command_count++;
    commands = zcalloc(sizeof(struct command *) * (command_count + 1));
    index_size = 16;
    while (index_size < command_count * 2) index_size <<= 1;
    index_slots = zcalloc(sizeof(struct command *) * index_size);
    size_t n = 0;
    for (size_t t = 0; t < ntables; t++) {
        for (struct command *c = tables[t]; c->name; c++) {
            commands[n++] = c;
            index_insert(c);
        }
    }
}

struct command **command_all(void) { return commands; }

struct command *command_lookup(const char *name, size_t len)
{
    char lower[64];
    if (len == 0 || len >= sizeof(lower)) return NULL;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        lower[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    size_t i = name_hash(lower, len) & (index_size - 1);
    while (index_slots[i]) {
        struct command *c = index_slots[i];
        if (strncmp(c->name, lower, len) == 0 && c->name[len] == '\0') return c;
        i = (i + 1) & (index_size - 1);
    }
    return NULL;
}

static void format_unknown_command(const client *c, char *err, size_t size)
{
    char args[512];
    size_t n = 0;
    args[0] = '\0';
    for (int i = 1; i < c->argc && n < 128; i++) {
        int room = 128 - (int)n;
        int len = (int)c->argv[i].len < room ? (int)c->argv[i].len : room;
        int w = snprintf(args + n, sizeof(args) - n, "'%.*s' ", len, c->argv[i].p);
        if (w < 0) break;
        n += (size_t)w;
    }
    int namelen = c->argv[0].len > 128 ? 128 : (int)c->argv[0].len;
    snprintf(err, size, "ERR unknown command '%.*s', with args beginning with: %s", namelen,
             c->argv[0].p, args);
}

static int arity_ok(const struct command *cmd, int argc)
{
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

/* A container command (CLIENT, COMMAND, CONFIG, ...) runs the subcommand its
 * second argument names; subcommand entries are named "parent|sub". */
struct command *command_find_subcommand(struct command *parent, const arg *name)
{
    for (struct command *sub = parent->subcommands; sub->name; sub++) {
        const char *bar = strchr(sub->name, '|');
        const char *short_name = bar ? bar + 1 : sub->name;
        if (arg_is(name->p, name->len, short_name)) return sub;
    }
    return NULL;
}

static void format_unknown_subcommand(const client *c, const struct command *parent, char *err,
                                      size_t size)
{
    char upper[64];
    size_t n = 0;
    for (const char *p = parent->name; *p && n < sizeof(upper) - 1; p++)
        upper[n++] = (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p;
    upper[n] = '\0';
    int len = c->argv[1].len > 128 ? 128 : (int)c->argv[1].len;
    snprintf(err, size, "ERR unknown subcommand '%.*s'. Try %s HELP.", len, c->argv[1].p, upper);
}

/* Refuses a command with an error: inside MULTI the transaction will abort
 * at EXEC, and a refused EXEC aborts it now. */
static void reject(client *c, struct command *cmd, const char *err)
{
    if (cmd) cmd->rejected_calls++;
    if (c->flags & CLIENT_MULTI) {
        if (cmd && multi_is_exec(cmd)) {
            multi_abort_exec(c, err);
            return;
        }
        c->flags |= CLIENT_DIRTY_EXEC;
    }
    reply_error(c, err);
}

#define REFUSED 1
#define REDIRECTED 2 /* cluster mode: the keys are served elsewhere (MOVED ...) */

/* Why the command may not run now (as Redis checks it, in Redis's order),
 * into err: REFUSED or REDIRECTED; 0 when it may. */
static int refusal(client *c, struct command *cmd, char *err, size_t size)
{
    const char *why = NULL;
    uint32_t flags = cmd->flags | multi_exec_flags(c, cmd);
    if (!arity_ok(cmd, c->argc)) {
        snprintf(err, size, "ERR wrong number of arguments for '%s' command", cmd->name);
        return 1;
    }
    if (!(c->flags & CLIENT_AUTHENTICATED) && !(flags & CMD_NO_AUTH))
        why = "NOAUTH Authentication required.";
    else if (server.cluster_enabled && cluster_redirect(c, cmd, err, size))
        return REDIRECTED;
    else if ((why = script_busy_refusal(flags)))
        ;
    else if ((c->flags & CLIENT_MULTI) && (flags & CMD_NO_MULTI))
        why = "ERR Command not allowed inside a transaction";
    else if (server.maxmemory > 0 && !server_is_replica() && !(c->flags & CLIENT_IMPORT) && evict_to_fit() == -1 &&
             ((flags & CMD_DENYOOM) || multi_queues(c, cmd)))
        /* replicas follow their primary's dataset and ignore maxmemory;
         * queuing inside MULTI takes memory too */
        why = "OOM command not allowed when used memory > 'maxmemory'.";
    else if (!(why = replication_write_refusal(c, flags)) && (c->flags & CLIENT_MONITOR) &&
             (flags & (CMD_WRITE | CMD_READONLY | CMD_MAY_REPLICATE)))
        /* Redis marks monitors as replicas, which may not touch the keyspace */
        why = "ERR Replica can't interact with the keyspace";
    if (why == NULL && (c->flags & CLIENT_PUBSUB) && c->resp == 2 && !pubsub_allowed_when_subscribed(cmd)) {
        /* RESP2 subscribed mode: replies would mix with the messages */
        snprintf(err, size, "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT "
                 "/ RESET are allowed in this context", cmd->name);
        return 1;
    }
    if (why == NULL) return 0;
    snprintf(err, size, "%s", why);
    return 1;
}

static void lookup_check_and_call(client *c)
{
    char err[1024];
    update_cached_time(); /* the loop's cached time predates its sleep: expiry needs now */
    struct command *cmd = command_lookup(c->argv[0].p, c->argv[0].len);
    if (cmd == NULL) {
        format_unknown_command(c, err, sizeof(err));
        reject(c, NULL, err);
        return;
    }
    if (cmd->subcommands && c->argc >= 2) {
        struct command *sub = command_find_subcommand(cmd, &c->argv[1]);
        if (sub == NULL) {
            format_unknown_subcommand(c, cmd, err, sizeof(err));
            reject(c, cmd, err);
            return;
        }
        cmd = sub;
    }
    /* before the checks: a held command meets them as the node is when it
     * runs (after a planned failover's switch, MOVED, not NOREPLICAS) */
    if (pause_holds(c, cmd)) return;
    int refused = refusal(c, cmd, err, sizeof(err));
    if (refused == REDIRECTED && multi_is_exec(cmd)) {
        /* as Redis: the transaction is discarded and the redirection is the reply */
        cmd->rejected_calls++;
        multi_client_reset(c);
        reply_error(c, err);
        return;
    }
    if (refused) {
        reject(c, cmd, err);
        return;
    }
    if (multi_queues(c, cmd)) {
        multi_queue(c, cmd);
        return;
    }
    /* a write to slots being handed off waits for the hand-off to end */
    if (server.cluster_enabled && migrate_pause_write(c, cmd)) return;
    /* the reading at the top of this function, unless eviction ran since */
    command_call(c, cmd, server.maxmemory > 0 ? ustime() : server.now_us);
}

void command_call(client *c, struct command *cmd, long long start)
{
    long long errors_before = server.stat_total_error_replies;
    long long dirty_before = server.dirty;
    struct call_frame frame = {server.call_frame, 0};
    const struct command *outer_cmd = c->cmd;
    server.call_frame = &frame;
    c->cmd = cmd;
    cmd->proc(c);
    long long duration = ustime() - start;
    server.call_frame = frame.parent;
    tracking_after_command(c, cmd, frame.parent == NULL);
    if (server.dirty != dirty_before && !frame.propagated) replication_propagate(c, frame.parent == NULL);
    if (frame.parent == NULL) propagate_flush();
    c->cmd = outer_cmd;
    c->last_cmd = cmd;
    c->commands_processed++;
    cmd->calls++;
    cmd->usec += duration;
    if (server.stat_total_error_replies != errors_before) cmd->failed_calls++;
    server.stat_numcommands++;
    if (!(cmd->flags & CMD_SKIP_SLOWLOG)) slowlog_maybe_add(c, duration);
    /* a command that blocked is measured when it is served */
    if (!(c->flags & CLIENT_BLOCKED)) {
        if (latency_tracking) latency_track_command(cmd, duration);
        if (latency_monitor_threshold)
            latency_add_sample_if_needed((cmd->flags & CMD_FAST) ? "fast-command" : "command", duration / 1000);
    }
    if (monitor_count && !(cmd->flags & (CMD_SKIP_MONITOR | CMD_ADMIN))) monitor_feed(c);
}

void command_execute(client *c)
{
    lookup_check_and_call(c);
    /* a command served while a busy script runs: the keys the script made
     * ready wait for the script to end */
    if (script_busy_refusal(0) == NULL) blocking_serve_ready();
    /* CLIENT REPLY SKIP silences the next command whatever becomes of it,
     * rejected commands included */
    if (c->reply_mode == REPLY_SKIP_NEXT) c->reply_mode = REPLY_SKIP;
    else if (c->reply_mode == REPLY_SKIP) c->reply_mode = REPLY_ON;
}
