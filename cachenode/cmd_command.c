/* cmd_command.c: the COMMAND command: introspection of the command table
 * (COMMAND, COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS). Replies have
 * Redis 7.0's shapes; what our table does not record (ACL categories, key
 * specs) is derived from a command's flags, group and key positions. */
#include <stdio.h>
#include <string.h>

#include "server.h"

/* Flag names in the order Redis lists them. */
static const struct {
    uint32_t flag;
    const char *name;
} flag_names[] = {
    {CMD_WRITE, "write"},           {CMD_READONLY, "readonly"},     {CMD_DENYOOM, "denyoom"},
    {CMD_ADMIN, "admin"},           {CMD_PUBSUB, "pubsub"},         {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"},     {CMD_LOADING, "loading"},       {CMD_STALE, "stale"},
    {CMD_SKIP_MONITOR, "skip_monitor"}, {CMD_SKIP_SLOWLOG, "skip_slowlog"}, {CMD_FAST, "fast"},
    {CMD_NO_AUTH, "no_auth"},       {CMD_MAY_REPLICATE, "may_replicate"}, {CMD_NO_MULTI, "no_multi"},
    {CMD_MOVABLE_KEYS, "movablekeys"}, {CMD_ALLOW_BUSY, "allow_busy"},
};
#define FLAG_NAMES_COUNT (sizeof(flag_names) / sizeof(flag_names[0]))

/* The data-type ACL category of a command group, or NULL. */
static const char *group_category(const char *group)
{
    static const struct { const char *group, *category; } map[] = {
        {"generic", "@keyspace"}, {"keyspace", "@keyspace"}, {"string", "@string"},
        {"list", "@list"},        {"set", "@set"},           {"sorted-set", "@sortedset"},
        {"hash", "@hash"},        {"bitmap", "@bitmap"},     {"hyperloglog", "@hyperloglog"},
        {"geo", "@geo"},          {"stream", "@stream"},     {"pubsub", "@pubsub"},
        {"transactions", "@transaction"}, {"scripting", "@scripting"}};
    if (group == NULL) return NULL;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].group, group) == 0) return map[i].category;
    return NULL;
}

/* Redis's documented group name: our "keyspace" group is Redis's "generic". */
static const char *doc_group(const struct command *cmd)
{
    if (cmd->group == NULL) return "server";
    return strcmp(cmd->group, "keyspace") == 0 ? "generic" : cmd->group;
}

/* Fills cats with the command's ACL categories, in Redis's order. */
static int acl_categories(const struct command *cmd, const char **cats, int max)
{
    int n = 0;
    const char *type_cat = group_category(cmd->group);
    int keyspace = type_cat && strcmp(type_cat, "@keyspace") == 0;
#define ADD(s) do { if (n < max) cats[n++] = (s); } while (0)
    if (keyspace) ADD("@keyspace");
    if (cmd->flags & CMD_READONLY) ADD("@read");
    if (cmd->flags & CMD_WRITE) ADD("@write");
    if (type_cat && !keyspace) ADD(type_cat);
    if (cmd->flags & CMD_ADMIN) ADD("@admin");
    if (cmd->flags & CMD_FAST) ADD("@fast");
    else ADD("@slow");
    if (cmd->flags & CMD_BLOCKING) ADD("@blocking");
    if (cmd->flags & CMD_ADMIN) ADD("@dangerous");
    if (cmd->group && strcmp(cmd->group, "connection") == 0) ADD("@connection");
#undef ADD
    return n;
}

static void reply_key_spec(client *c, const struct command *cmd)
{
    reply_map(c, 3);
    reply_bulk_cstr(c, "flags");
    if (cmd->flags & CMD_WRITE) {
        reply_set(c, 2);
        reply_status(c, "RW");
        reply_status(c, "update");
    } else {
        reply_set(c, 2);
        reply_status(c, "RO");
        reply_status(c, "access");
    }
    reply_bulk_cstr(c, "begin_search");
    reply_map(c, 2);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, "index");
    reply_bulk_cstr(c, "spec");
    reply_map(c, 1);
    reply_bulk_cstr(c, "index");
    reply_int(c, cmd->first_key);
    reply_bulk_cstr(c, "find_keys");
    reply_map(c, 2);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, "range");
    reply_bulk_cstr(c, "spec");
    reply_map(c, 3);
    reply_bulk_cstr(c, "lastkey");
    reply_int(c, cmd->last_key < 0 ? cmd->last_key : cmd->last_key - cmd->first_key);
    reply_bulk_cstr(c, "keystep");
    reply_int(c, cmd->key_step);
    reply_bulk_cstr(c, "limit");
    reply_int(c, 0);
}

static long subcommand_count(const struct command *cmd)
{
    long n = 0;
    if (cmd->subcommands)
        for (const struct command *s = cmd->subcommands; s->name && n < 1024; s++) n++;
    return n;
}

static void reply_command_info(client *c, const struct command *cmd)
{
    reply_array(c, 10);
    reply_bulk_cstr(c, cmd->name);
    reply_int(c, cmd->arity);
    int nflags = 0;
    for (size_t i = 0; i < FLAG_NAMES_COUNT; i++)
        if (cmd->flags & flag_names[i].flag) nflags++;
    reply_set(c, nflags);
    for (size_t i = 0; i < FLAG_NAMES_COUNT; i++)
        if (cmd->flags & flag_names[i].flag) reply_status(c, flag_names[i].name);
    reply_int(c, cmd->first_key);
    reply_int(c, cmd->last_key);
    reply_int(c, cmd->key_step);
    const char *cats[16];
    int ncats = acl_categories(cmd, cats, 16);
    reply_set(c, ncats);
    for (int i = 0; i < ncats; i++) reply_status(c, cats[i]);
    reply_set(c, 0); /* tips */
    /* Redis's shapes: key specs are a set; subcommands an array, but an
     * empty set when there are none */
    if (cmd->first_key > 0) {
        reply_set(c, 1);
        reply_key_spec(c, cmd);
    } else {
        reply_set(c, 0);
    }
    long nsub = subcommand_count(cmd);
    if (nsub > 0) reply_array(c, nsub);
    else reply_set(c, 0);
    for (long i = 0; i < nsub; i++) reply_command_info(c, &cmd->subcommands[i]);
}

static void reply_command_docs(client *c, const struct command *cmd)
{
    long nsub = subcommand_count(cmd);
    reply_map(c, nsub ? 5 : 4);
    reply_bulk_cstr(c, "summary");
    reply_bulk_cstr(c, cmd->summary ? cmd->summary : "");
    reply_bulk_cstr(c, "since");
    reply_bulk_cstr(c, cmd->since ? cmd->since : "1.0.0");
    reply_bulk_cstr(c, "group");
    reply_bulk_cstr(c, doc_group(cmd));
    reply_bulk_cstr(c, "complexity");
    reply_bulk_cstr(c, cmd->complexity ? cmd->complexity : "O(1)");
    if (nsub == 0) return;
    reply_bulk_cstr(c, "subcommands");
    reply_map(c, nsub);
    for (long i = 0; i < nsub; i++) {
        reply_bulk_cstr(c, cmd->subcommands[i].name);
        reply_command_docs(c, &cmd->subcommands[i]);
    }
}

/* Finds "name" or "container|sub" as COMMAND INFO and DOCS accept them. */
static struct command *lookup_by_full_name(const arg *a)
{
    const char *bar = memchr(a->p, '|', a->len);
    if (bar == NULL) return command_lookup(a->p, a->len);
    struct command *parent = command_lookup(a->p, (size_t)(bar - a->p));
    if (parent == NULL || parent->subcommands == NULL) return NULL;
    for (struct command *s = parent->subcommands; s->name; s++)
        if (arg_is(a->p, a->len, s->name)) return s;
    return NULL;
}

static long top_level_count(void)
{
    long n = 0;
    for (struct command **cmd = command_all(); *cmd; cmd++) n++;
    return n;
}

/* ---- subcommands -------------------------------------------------------------- */

/* COMMAND without arguments: every command's info. */
void command_command(client *c)
{
    reply_array(c, top_level_count());
    for (struct command **cmd = command_all(); *cmd; cmd++) reply_command_info(c, *cmd);
}

static void command_count_command(client *c) { reply_int(c, top_level_count()); }

static void command_info_command(client *c)
{
    if (c->argc == 2) {
        command_command(c);
        return;
    }
    reply_array(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        struct command *cmd = lookup_by_full_name(&c->argv[i]);
        if (cmd) reply_command_info(c, cmd);
        else reply_null(c);
    }
}

static void command_docs_command(client *c)
{
    if (c->argc == 2) {
        reply_map(c, top_level_count());
        for (struct command **cmd = command_all(); *cmd; cmd++) {
            reply_bulk_cstr(c, (*cmd)->name);
            reply_command_docs(c, *cmd);
        }
        return;
    }
    void *len = reply_deferred(c);
    long found = 0;
    for (int i = 2; i < c->argc; i++) {
        struct command *cmd = lookup_by_full_name(&c->argv[i]);
        if (cmd == NULL) continue;
        reply_bulk_cstr(c, cmd->name);
        reply_command_docs(c, cmd);
        found++;
    }
    reply_set_deferred_map(c, len, found);
}

/* COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern] */
enum list_filter { FILTER_NONE, FILTER_MODULE, FILTER_ACLCAT, FILTER_PATTERN };

static int list_filter_matches(enum list_filter f, const arg *v, const struct command *cmd)
{
    if (f == FILTER_NONE) return 1;
    if (f == FILTER_MODULE) return 0; /* no modules */
    if (f == FILTER_PATTERN) return glob_match(v->p, v->len, cmd->name, strlen(cmd->name), 1);
    const char *cats[16];
    int n = acl_categories(cmd, cats, 16);
    for (int i = 0; i < n; i++)
        if (arg_is(v->p, v->len, cats[i] + 1)) return 1;
    return 0;
}

static void command_list_command(client *c)
{
    enum list_filter f = FILTER_NONE;
    const arg *v = NULL;
    if (c->argc == 5 && arg_is(c->argv[2].p, c->argv[2].len, "filterby")) {
        const arg *kind = &c->argv[3];
        v = &c->argv[4];
        if (arg_is(kind->p, kind->len, "module")) f = FILTER_MODULE;
        else if (arg_is(kind->p, kind->len, "aclcat")) f = FILTER_ACLCAT;
        else if (arg_is(kind->p, kind->len, "pattern")) f = FILTER_PATTERN;
        else {
            reply_syntax_error(c);
            return;
        }
    } else if (c->argc != 2) {
        reply_syntax_error(c);
        return;
    }
    void *len = reply_deferred(c);
    long n = 0;
    for (struct command **cmd = command_all(); *cmd; cmd++) {
        if (list_filter_matches(f, v, *cmd)) {
            reply_bulk_cstr(c, (*cmd)->name);
            n++;
        }
        long nsub = subcommand_count(*cmd);
        for (long i = 0; i < nsub; i++) {
            if (!list_filter_matches(f, v, &(*cmd)->subcommands[i])) continue;
            reply_bulk_cstr(c, (*cmd)->subcommands[i].name);
            n++;
        }
    }
    reply_set_deferred_array(c, len, n);
}

/* Resolves the command whose keys GETKEYS asks for; replies the error. */
static struct command *getkeys_target(client *c)
{
    struct command *cmd = command_lookup(c->argv[2].p, c->argv[2].len);
    if (cmd && cmd->subcommands && c->argc >= 4) {
        for (struct command *s = cmd->subcommands; s->name; s++) {
            const char *bar = strchr(s->name, '|');
            if (bar && arg_is(c->argv[3].p, c->argv[3].len, bar + 1)) {
                cmd = s;
                break;
            }
        }
    }
    if (cmd == NULL) {
        reply_error(c, "ERR Invalid command specified");
        return NULL;
    }
    int argc = c->argc - 2;
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        reply_error(c, "ERR Invalid number of arguments specified for command");
        return NULL;
    }
    if (cmd->first_key <= 0 || (cmd->flags & CMD_MOVABLE_KEYS)) {
        reply_error(c, "ERR The command has no key arguments");
        return NULL;
    }
    return cmd;
}

static void getkeys(client *c, int with_flags)
{
    struct command *cmd = getkeys_target(c);
    if (cmd == NULL) return;
    int argc = c->argc - 2;
    const arg *argv = c->argv + 2;
    int last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
    if (last >= argc) last = argc - 1;
    int step = cmd->key_step > 0 ? cmd->key_step : 1;
    void *len = reply_deferred(c);
    long n = 0;
    for (int i = cmd->first_key; i <= last; i += step) {
        if (with_flags) {
            reply_array(c, 2);
            reply_bulk(c, argv[i].p, argv[i].len);
            reply_set(c, 2);
            reply_status(c, (cmd->flags & CMD_WRITE) ? "RW" : "RO");
            reply_status(c, (cmd->flags & CMD_WRITE) ? "update" : "access");
        } else {
            reply_bulk(c, argv[i].p, argv[i].len);
        }
        n++;
    }
    reply_set_deferred_array(c, len, n);
}

static void command_getkeys_command(client *c) { getkeys(c, 0); }
static void command_getkeysandflags_command(client *c) { getkeys(c, 1); }

static void command_help_command(client *c)
{
    static const char *help[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        "HELP",
        "    Prints this help.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

#define CMD_INTRO (CMD_LOADING | CMD_STALE)
#define SUB(name, proc, arity, summary, since, cx) \
    {name, proc, arity, CMD_INTRO, 0, 0, 0, "server", summary, since, cx, NULL, 0, 0, 0, 0}

struct command command_subcommands[] = {
    SUB("command|count", command_count_command, 2, "Returns a count of commands.", "2.8.13", "O(1)"),
    SUB("command|info", command_info_command, -2, "Returns information about one, multiple or all commands.", "2.8.13", "O(N) where N is the number of commands to look up"),
    SUB("command|docs", command_docs_command, -2, "Returns documentary information about one, multiple or all commands.", "7.0.0", "O(N) where N is the number of commands to look up"),
    SUB("command|list", command_list_command, -2, "Returns a list of command names.", "7.0.0", "O(N) where N is the total number of Redis commands"),
    SUB("command|getkeys", command_getkeys_command, -3, "Extracts the key names from an arbitrary command.", "2.8.13", "O(N) where N is the number of arguments to the command"),
    SUB("command|getkeysandflags", command_getkeysandflags_command, -3, "Extracts the key names and access flags for an arbitrary command.", "7.0.0", "O(N) where N is the number of arguments to the command"),
    SUB("command|help", command_help_command, 2, "Returns helpful text about the different subcommands.", "5.0.0", "O(1)"),
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
