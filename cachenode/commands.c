/* commands.c: the command table (assembled from each module's table), name
 * lookup, and command execution: the checks every command passes before it
 * runs (arity, authentication, memory) and the statistics after. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "server.h"
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
                                sort_commands};
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

static void reply_unknown_command(client *c)
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
    reply_errorf(c, "ERR unknown command '%.*s', with args beginning with: %s", namelen,
                 c->argv[0].p, args);
}

static int arity_ok(const struct command *cmd, int argc)
{
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

/* A container command (CLIENT, COMMAND, CONFIG, ...) runs the subcommand its
 * second argument names; subcommand entries are named "parent|sub". */
static struct command *find_subcommand(struct command *parent, const arg *name)
{
    for (struct command *sub = parent->subcommands; sub->name; sub++) {
        const char *bar = strchr(sub->name, '|');
        const char *short_name = bar ? bar + 1 : sub->name;
        if (arg_is(name->p, name->len, short_name)) return sub;
    }
    return NULL;
}

static void reply_unknown_subcommand(client *c, const struct command *parent)
{
    char upper[64];
    size_t n = 0;
    for (const char *p = parent->name; *p && n < sizeof(upper) - 1; p++)
        upper[n++] = (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p;
    upper[n] = '\0';
    int len = c->argv[1].len > 128 ? 128 : (int)c->argv[1].len;
    reply_errorf(c, "ERR unknown subcommand '%.*s'. Try %s HELP.", len, c->argv[1].p, upper);
}

static void lookup_check_and_call(client *c)
{
    update_cached_time(); /* the loop's cached time predates its sleep: expiry needs now */
    struct command *cmd = command_lookup(c->argv[0].p, c->argv[0].len);
    if (cmd == NULL) {
        reply_unknown_command(c);
        return;
    }
    if (cmd->subcommands && c->argc >= 2) {
        struct command *sub = find_subcommand(cmd, &c->argv[1]);
        if (sub == NULL) {
            reply_unknown_subcommand(c, cmd);
            cmd->rejected_calls++;
            return;
        }
        cmd = sub;
    }
    if (!arity_ok(cmd, c->argc)) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command", cmd->name);
        cmd->rejected_calls++;
        return;
    }
    if (!(c->flags & CLIENT_AUTHENTICATED) && !(cmd->flags & CMD_NO_AUTH)) {
        reply_error(c, "NOAUTH Authentication required.");
        cmd->rejected_calls++;
        return;
    }
    if (!replication_write_allowed(c, cmd)) {
        cmd->rejected_calls++;
        return;
    }
    /* replicas follow their primary's dataset and ignore maxmemory */
    if (server.maxmemory > 0 && !server_is_replica() && evict_to_fit() == -1 &&
        (cmd->flags & CMD_DENYOOM)) {
        reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
        cmd->rejected_calls++;
        return;
    }
    /* the reading at the top of this function, unless eviction ran since */
    command_call(c, cmd, server.maxmemory > 0 ? ustime() : server.now_us);
}

void command_call(client *c, struct command *cmd, long long start)
{
    long long errors_before = server.stat_total_error_replies;
    long long dirty_before = server.dirty;
    c->cmd = cmd;
    cmd->proc(c);
    long long duration = ustime() - start;
    if (server.dirty != dirty_before) replication_propagate(c);
    if (c->prop) replication_after_command(c);
    c->last_cmd = cmd;
    c->cmd = NULL;
    c->commands_processed++;
    cmd->calls++;
    cmd->usec += duration;
    if (server.stat_total_error_replies != errors_before) cmd->failed_calls++;
    server.stat_numcommands++;
    if (!(cmd->flags & CMD_SKIP_SLOWLOG)) slowlog_maybe_add(c, duration);
}

void command_execute(client *c)
{
    lookup_check_and_call(c);
    blocking_serve_ready();
    /* CLIENT REPLY SKIP silences the next command whatever becomes of it,
     * rejected commands included */
    if (c->reply_mode == REPLY_SKIP_NEXT) c->reply_mode = REPLY_SKIP;
    else if (c->reply_mode == REPLY_SKIP) c->reply_mode = REPLY_ON;
}
