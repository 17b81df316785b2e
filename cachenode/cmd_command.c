/* cmd_command.c: the COMMAND command: introspection of the command table
 * (COMMAND, COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS). Replies have
 * Redis 7.0's shapes; flags, ACL categories, key specs and tips come from
 * each command's table entry (see struct command), the argument trees and
 * history of COMMAND DOCS from command_docs.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "command_docs.h"
#include "server.h"

/* A flag or ACL category bit and its name. */
struct bit_name {
    uint32_t bit;
    const char *name;
};

/* Flag names in the order Redis lists them. */
static const struct bit_name flag_names[] = {
    {CMD_WRITE, "write"},           {CMD_READONLY, "readonly"},     {CMD_DENYOOM, "denyoom"},
    {CMD_ADMIN, "admin"},           {CMD_PUBSUB, "pubsub"},         {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"},     {CMD_LOADING, "loading"},       {CMD_STALE, "stale"},
    {CMD_SKIP_MONITOR, "skip_monitor"}, {CMD_SKIP_SLOWLOG, "skip_slowlog"}, {CMD_FAST, "fast"},
    {CMD_NO_AUTH, "no_auth"},       {CMD_MAY_REPLICATE, "may_replicate"},
    {CMD_NO_MANDATORY_KEYS, "no_mandatory_keys"},
    {CMD_NO_ASYNC_LOADING, "no_async_loading"}, {CMD_NO_MULTI, "no_multi"},
    {CMD_MOVABLE_KEYS, "movablekeys"}, {CMD_ALLOW_BUSY, "allow_busy"},
};
#define FLAG_NAMES_COUNT (sizeof(flag_names) / sizeof(flag_names[0]))

/* ACL category names in the order Redis lists them. */
static const struct bit_name acl_names[] = {
    {ACL_KEYSPACE, "@keyspace"},     {ACL_READ, "@read"},
    {ACL_WRITE, "@write"},           {ACL_SET, "@set"},
    {ACL_SORTEDSET, "@sortedset"},   {ACL_LIST, "@list"},
    {ACL_HASH, "@hash"},             {ACL_STRING, "@string"},
    {ACL_BITMAP, "@bitmap"},         {ACL_HYPERLOGLOG, "@hyperloglog"},
    {ACL_GEO, "@geo"},               {ACL_STREAM, "@stream"},
    {ACL_PUBSUB, "@pubsub"},         {ACL_ADMIN, "@admin"},
    {ACL_FAST, "@fast"},             {ACL_SLOW, "@slow"},
    {ACL_BLOCKING, "@blocking"},     {ACL_DANGEROUS, "@dangerous"},
    {ACL_CONNECTION, "@connection"}, {ACL_TRANSACTION, "@transaction"},
    {ACL_SCRIPTING, "@scripting"},
};
#define ACL_NAMES_COUNT (sizeof(acl_names) / sizeof(acl_names[0]))

/* Redis's documented group name: our "keyspace" group is Redis's "generic",
 * our "sorted_set" Redis's "sorted-set". */
static const char *doc_group(const struct command *cmd)
{
    if (cmd->group == NULL) return "server";
    if (strcmp(cmd->group, "sorted_set") == 0) return "sorted-set";
    return strcmp(cmd->group, "keyspace") == 0 ? "generic" : cmd->group;
}

/* The command's ACL categories: its table's, plus those its flags imply. */
static uint32_t acl_categories(const struct command *cmd)
{
    uint32_t acl = cmd->acl;
    /* a read-only script command (EVAL_RO) reads only what its script does */
    if ((cmd->flags & CMD_READONLY) && !(acl & ACL_SCRIPTING)) acl |= ACL_READ;
    if (cmd->flags & CMD_WRITE) acl |= ACL_WRITE;
    if (cmd->flags & CMD_ADMIN) acl |= ACL_ADMIN | ACL_DANGEROUS;
    acl |= (cmd->flags & CMD_FAST) ? ACL_FAST : ACL_SLOW;
    if (cmd->flags & CMD_BLOCKING) acl |= ACL_BLOCKING;
    return acl;
}

/* The names of the bits set in v, as a set of status replies. */
static void reply_bit_names(client *c, uint32_t v, const struct bit_name *names, size_t n)
{
    int count = 0;
    for (size_t i = 0; i < n; i++)
        if (v & names[i].bit) count++;
    reply_set(c, count);
    for (size_t i = 0; i < n; i++)
        if (v & names[i].bit) reply_status(c, names[i].name);
}

/* ---- key specs and tips ------------------------------------------------------- */

/* One spec of a command's key_specs string (see struct command). */
struct key_spec {
    const char *flags; /* space-separated words */
    size_t flags_len;
    const char *notes; /* NULL if none */
    size_t notes_len;
    int unknown;            /* begin_search and find_keys of type "unknown" */
    const char *keyword;    /* begin_search of type "keyword", or NULL */
    size_t keyword_len;
    int index;              /* begin_search index, or the keyword's startfrom */
    int keynum;             /* find_keys is "keynum", not "range" */
    int last_key, key_step; /* range: last_key relative to index; keynum: firstkey, keystep */
    int limit_or_keynumidx; /* range: limit; keynum: keynumidx */
};

/* What follows "@": N, or N~LASTKEY,KEYSTEP,LIMIT (a range), or
 * N#KEYNUMIDX,FIRSTKEY,KEYSTEP (a key count in the arguments), or "?"
 * (unknown: the keys depend on the arguments' contents); "=WORD,START" in
 * place of N searches for a keyword. */
static void parse_key_position(const char *p, struct key_spec *ks)
{
    ks->last_key = 0;
    ks->key_step = 1;
    ks->limit_or_keynumidx = 0;
    if (*p == '?') {
        ks->unknown = 1;
        return;
    }
    if (*p == '=') {
        const char *comma = strchr(p, ',');
        if (comma == NULL) return; /* a malformed table entry: no keys */
        ks->keyword = p + 1;
        ks->keyword_len = (size_t)(comma - ks->keyword);
        p = comma + 1;
    }
    char *end;
    ks->index = (int)strtol(p, &end, 10);
    if (*end == '~') {
        ks->last_key = (int)strtol(end + 1, &end, 10);
        if (*end == ',') ks->key_step = (int)strtol(end + 1, &end, 10);
        if (*end == ',') ks->limit_or_keynumidx = (int)strtol(end + 1, &end, 10);
    } else if (*end == '#') {
        ks->keynum = 1;
        ks->limit_or_keynumidx = (int)strtol(end + 1, &end, 10);
        if (*end == ',') ks->last_key = (int)strtol(end + 1, &end, 10);
        if (*end == ',') ks->key_step = (int)strtol(end + 1, &end, 10);
    }
}

/* Parses the spec at *cursor into ks and moves the cursor past it; returns
 * 0 when there are no more. */
static int next_key_spec(const struct command *cmd, const char **cursor, struct key_spec *ks)
{
    const char *p = *cursor;
    if (p == NULL) return 0;
    while (*p == ' ') p++;
    if (*p == '\0') return 0;
    const char *end = strchr(p, ';');
    if (end == NULL) end = p + strlen(p);
    *cursor = *end ? end + 1 : end;
    const char *note = memchr(p, '(', (size_t)(end - p));
    const char *at = memchr(p, '@', (size_t)((note ? note : end) - p));
    const char *flags_end = at ? at : note ? note : end;
    while (flags_end > p && flags_end[-1] == ' ') flags_end--;
    ks->flags = p;
    ks->flags_len = (size_t)(flags_end - p);
    ks->notes = note ? note + 1 : NULL;
    ks->notes_len = 0;
    if (note) {
        const char *close = end;
        while (close > note && close[-1] != ')') close--;
        ks->notes_len = close > ks->notes ? (size_t)(close - 1 - ks->notes) : 0;
    }
    ks->unknown = ks->keynum = 0;
    ks->keyword = NULL;
    ks->keyword_len = 0;
    ks->limit_or_keynumidx = 0;
    if (at) {
        parse_key_position(at + 1, ks);
    } else {
        ks->index = cmd->first_key;
        ks->last_key = cmd->last_key < 0 ? cmd->last_key : cmd->last_key - cmd->first_key;
        ks->key_step = cmd->key_step;
    }
    return 1;
}

/* Calls fn on each space-separated word of s[0..len); returns the count. */
static int for_each_word(const char *s, size_t len, void (*fn)(client *, const char *, size_t), client *c)
{
    int n = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] == ' ') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && s[j] != ' ') j++;
        if (fn) fn(c, s + i, j - i);
        n++;
        i = j;
    }
    return n;
}

static void reply_status_word(client *c, const char *w, size_t len)
{
    char buf[64];
    if (len >= sizeof(buf)) len = sizeof(buf) - 1;
    memcpy(buf, w, len);
    buf[len] = '\0';
    reply_status(c, buf);
}

static void reply_bulk_word(client *c, const char *w, size_t len) { reply_bulk(c, w, len); }

/* The words of s[0..len) as a set: key-spec flags are status replies. */
static void reply_flag_words(client *c, const char *s, size_t len)
{
    reply_set(c, for_each_word(s, len, NULL, c));
    for_each_word(s, len, reply_status_word, c);
}

static void reply_tips(client *c, const struct command *cmd)
{
    size_t len = cmd->tips ? strlen(cmd->tips) : 0;
    reply_set(c, for_each_word(cmd->tips, len, NULL, c));
    for_each_word(cmd->tips, len, reply_bulk_word, c);
}

static void reply_key_spec(client *c, const struct key_spec *ks)
{
    reply_map(c, ks->notes ? 4 : 3);
    if (ks->notes) {
        reply_bulk_cstr(c, "notes");
        reply_bulk(c, ks->notes, ks->notes_len);
    }
    reply_bulk_cstr(c, "flags");
    reply_flag_words(c, ks->flags, ks->flags_len);
    reply_bulk_cstr(c, "begin_search");
    reply_map(c, 2);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, ks->unknown ? "unknown" : ks->keyword ? "keyword" : "index");
    reply_bulk_cstr(c, "spec");
    if (ks->unknown) {
        reply_map(c, 0);
    } else if (ks->keyword) {
        reply_map(c, 2);
        reply_bulk_cstr(c, "keyword");
        reply_bulk(c, ks->keyword, ks->keyword_len);
        reply_bulk_cstr(c, "startfrom");
        reply_int(c, ks->index);
    } else {
        reply_map(c, 1);
        reply_bulk_cstr(c, "index");
        reply_int(c, ks->index);
    }
    reply_bulk_cstr(c, "find_keys");
    reply_map(c, 2);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, ks->unknown ? "unknown" : ks->keynum ? "keynum" : "range");
    reply_bulk_cstr(c, "spec");
    if (ks->unknown) {
        reply_map(c, 0);
        return;
    }
    reply_map(c, 3);
    reply_bulk_cstr(c, ks->keynum ? "keynumidx" : "lastkey");
    reply_int(c, ks->keynum ? ks->limit_or_keynumidx : ks->last_key);
    reply_bulk_cstr(c, ks->keynum ? "firstkey" : "keystep");
    reply_int(c, ks->keynum ? ks->last_key : ks->key_step);
    reply_bulk_cstr(c, ks->keynum ? "keystep" : "limit");
    reply_int(c, ks->keynum ? ks->key_step : ks->limit_or_keynumidx);
}

static void reply_key_specs(client *c, const struct command *cmd)
{
    struct key_spec ks;
    long n = 0;
    for (const char *p = cmd->key_specs; next_key_spec(cmd, &p, &ks);) n++;
    reply_set(c, n);
    for (const char *p = cmd->key_specs; next_key_spec(cmd, &p, &ks);) reply_key_spec(c, &ks);
}

/* ---- COMMAND INFO and DOCS ------------------------------------------------------- */

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
    reply_bit_names(c, cmd->flags, flag_names, FLAG_NAMES_COUNT);
    reply_int(c, cmd->first_key);
    reply_int(c, cmd->last_key);
    reply_int(c, cmd->key_step);
    reply_bit_names(c, acl_categories(cmd), acl_names, ACL_NAMES_COUNT);
    reply_tips(c, cmd);
    reply_key_specs(c, cmd);
    /* Redis's shape: subcommands are an array, but an empty set if none */
    long nsub = subcommand_count(cmd);
    if (nsub > 0) reply_array(c, nsub);
    else reply_set(c, 0);
    for (long i = 0; i < nsub; i++) reply_command_info(c, &cmd->subcommands[i]);
}

static void reply_command_docs(client *c, const struct command *cmd)
{
    long nsub = subcommand_count(cmd);
    struct doc_reply extra;
    int nextra = doc_reply_load(cmd->name, &extra);
    reply_map(c, 3 + (cmd->complexity != NULL) + nextra + (nsub > 0));
    reply_bulk_cstr(c, "summary");
    reply_bulk_cstr(c, cmd->summary ? cmd->summary : "");
    reply_bulk_cstr(c, "since");
    reply_bulk_cstr(c, cmd->since ? cmd->since : "1.0.0");
    reply_bulk_cstr(c, "group");
    reply_bulk_cstr(c, doc_group(cmd));
    /* internal commands (PSYNC, SYNC) have no documented complexity */
    if (cmd->complexity) {
        reply_bulk_cstr(c, "complexity");
        reply_bulk_cstr(c, cmd->complexity);
    }
    reply_doc_fields(c, &extra);
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
    uint32_t acl = acl_categories(cmd);
    for (size_t i = 0; i < ACL_NAMES_COUNT; i++)
        if ((acl & acl_names[i].bit) && arg_is(v->p, v->len, acl_names[i].name + 1)) return 1;
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
/* Whether a key spec is one of a channel name (not_key: SPUBLISH), which
 * GETKEYS does not report. */
static int spec_is_not_key(const struct key_spec *ks)
{
    for (size_t i = 0; i + 7 <= ks->flags_len; i++)
        if (memcmp(ks->flags + i, "not_key", 7) == 0) return 1;
    return 0;
}

static int has_key_arguments(const struct command *cmd)
{
    if (cmd->key_specs == NULL) return cmd->first_key > 0;
    struct key_spec ks;
    for (const char *p = cmd->key_specs; next_key_spec(cmd, &p, &ks);)
        if (!spec_is_not_key(&ks)) return 1;
    return 0;
}

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
    if (!has_key_arguments(cmd)) {
        reply_error(c, "ERR The command has no key arguments");
        return NULL;
    }
    return cmd;
}

/* Key flags that depend on the arguments (specs marked variable_flags): with
 * the option among the arguments from first_option on, with_option apply. */
static const struct {
    const char *command;
    int first_option;
    const char *option, *with_option, *without_option;
} variable_key_flags[] = {
    {"set", 3, "get", "RW access update", "OW update"},
};

/* The flags GETKEYSANDFLAGS reports for keys of spec ks in argv. */
static void resolve_key_flags(const struct command *cmd, const arg *argv, int argc,
                              struct key_spec *ks)
{
    for (size_t i = 0; i < sizeof(variable_key_flags) / sizeof(variable_key_flags[0]); i++) {
        if (strcmp(variable_key_flags[i].command, cmd->name) != 0) continue;
        const char *flags = variable_key_flags[i].without_option;
        for (int a = variable_key_flags[i].first_option; a < argc; a++)
            if (arg_is(argv[a].p, argv[a].len, variable_key_flags[i].option))
                flags = variable_key_flags[i].with_option;
        ks->flags = flags;
        ks->flags_len = strlen(flags);
    }
}

/* The key count a keynum spec reads from the arguments, or -1 when that
 * argument is missing or not a count that fits. */
static long long keynum_count(const struct key_spec *ks, const arg *argv, int argc)
{
    long long count;
    int at = ks->index + ks->limit_or_keynumidx;
    if (at >= argc || !string2ll(argv[at].p, argv[at].len, &count) || count < 0) return -1;
    if (ks->index + ks->last_key + count * (ks->key_step > 0 ? ks->key_step : 1) > argc) return -1;
    return count;
}

/* SORT's STORE destination: the argument after the last STORE, skipping
 * the arguments of LIMIT, BY and GET; -1 if there is none. */
static int sort_store_key(const arg *argv, int argc)
{
    int at = -1;
    for (int i = 2; i < argc; i++) {
        if (arg_is(argv[i].p, argv[i].len, "limit")) i += 2;
        else if (arg_is(argv[i].p, argv[i].len, "by") || arg_is(argv[i].p, argv[i].len, "get")) i++;
        else if (arg_is(argv[i].p, argv[i].len, "store") && i + 1 < argc) at = ++i;
    }
    return at;
}

/* Keys of "unknown" specs that GETKEYS still finds by reading the
 * arguments, as Redis's per-command key extraction does: the spec is the
 * command's nth (from 0). */
static const struct {
    const char *command;
    int spec;
    int (*find)(const arg *argv, int argc);
} unknown_spec_keys[] = {
    {"sort", 2, sort_store_key},
};

static int unknown_spec_key(const struct command *cmd, int spec, const arg *argv, int argc)
{
    for (size_t i = 0; i < sizeof(unknown_spec_keys) / sizeof(unknown_spec_keys[0]); i++)
        if (unknown_spec_keys[i].spec == spec && strcmp(unknown_spec_keys[i].command, cmd->name) == 0)
            return unknown_spec_keys[i].find(argv, argc);
    return -1;
}

/* Where a keyword spec's keys begin: just past the keyword, searched from
 * startfrom (backwards from the end when negative); -1 when it is absent. */
static int keyword_begin(const struct key_spec *ks, const arg *argv, int argc)
{
    int from = ks->index >= 0 ? ks->index : argc + ks->index;
    int step = ks->index >= 0 ? 1 : -1;
    for (int i = from; i > 0 && i < argc; i += step)
        if (argv[i].len == ks->keyword_len && strncasecmp(argv[i].p, ks->keyword, ks->keyword_len) == 0)
            return i + 1;
    return -1;
}

/* The last argument of a range spec's keys from first; a limit L > 1 takes
 * 1/L of the arguments that remain (XREAD's keys, then as many IDs). */
static int range_last(const struct key_spec *ks, int first, int argc)
{
    int last = ks->last_key < 0 ? argc + ks->last_key : first + ks->last_key;
    if (last >= argc) last = argc - 1;
    if (ks->limit_or_keynumidx > 1 && last >= first)
        last = first + (last - first + 1) / ks->limit_or_keynumidx - 1;
    return last;
}

/* The argument range [*first, *last] step *step that spec ks covers in
 * argv (keynum specs read their count: it must be valid); *first < 0 when
 * the spec finds no key there. `spec` is ks's position among the specs. */
static void spec_range(const struct command *cmd, int spec, const struct key_spec *ks, const arg *argv,
                       int argc, int *first, int *last, int *step)
{
    *step = ks->key_step > 0 ? ks->key_step : 1;
    *first = ks->unknown ? unknown_spec_key(cmd, spec, argv, argc)
             : ks->keyword ? keyword_begin(ks, argv, argc) : ks->index;
    *last = *first;
    if (*first < 0 || ks->unknown) return;
    if (ks->keynum) {
        long long count = keynum_count(ks, argv, argc);
        *first = ks->index + ks->last_key;
        *last = *first + (int)count * *step - 1;
        if (*last >= argc) *last = argc - 1;
    } else {
        *last = range_last(ks, *first, argc);
    }
}

/* command_keys, and with `channels` the shard channels too (not_key specs). */
static int keys_of(const struct command *cmd, const arg *argv, int argc, int channels,
                   void (*fn)(void *priv, const arg *key), void *priv)
{
    struct key_spec ks;
    int n = 0;
    /* Without movable keys the legacy range (COMMAND INFO's, which the diff
     * tests hold to Redis's) covers every key and shard channel: no spec
     * needs parsing on cluster mode's per-command path. */
    if (cmd->first_key > 0 && (cmd->key_specs == NULL || (channels && !(cmd->flags & CMD_MOVABLE_KEYS)))) {
        int last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
        int step = cmd->key_step > 0 ? cmd->key_step : 1;
        for (int i = cmd->first_key; i <= last && i < argc; i += step, n++) fn(priv, &argv[i]);
        return n;
    }
    for (const char *p = cmd->key_specs; next_key_spec(cmd, &p, &ks);)
        if (ks.keynum && keynum_count(&ks, argv, argc) < 0) return 0;
    int spec = 0;
    for (const char *p = cmd->key_specs; next_key_spec(cmd, &p, &ks); spec++) {
        if (!channels && spec_is_not_key(&ks)) continue;
        int first, last, step;
        spec_range(cmd, spec, &ks, argv, argc, &first, &last, &step);
        if (first < 0) continue;
        for (int i = first; i <= last; i += step, n++) fn(priv, &argv[i]);
    }
    return n;
}

int command_keys(const struct command *cmd, const arg *argv, int argc, void (*fn)(void *priv, const arg *key),
                 void *priv)
{
    return keys_of(cmd, argv, argc, 0, fn, priv);
}

int command_slot_args(const struct command *cmd, const arg *argv, int argc,
                      void (*fn)(void *priv, const arg *key), void *priv)
{
    return keys_of(cmd, argv, argc, 1, fn, priv);
}

/* GETKEYS and GETKEYSANDFLAGS: the keys each key spec finds in the command. */
static void getkeys(client *c, int with_flags)
{
    struct command *cmd = getkeys_target(c);
    if (cmd == NULL) return;
    int argc = c->argc - 2;
    const arg *argv = c->argv + 2;
    struct key_spec check;
    for (const char *p = cmd->key_specs; next_key_spec(cmd, &p, &check);) {
        if (check.keynum && keynum_count(&check, argv, argc) < 0) {
            reply_error(c, "ERR Invalid arguments specified for command");
            return;
        }
    }
    void *len = reply_deferred(c);
    long n = 0;
    struct key_spec ks;
    int spec = 0;
    for (const char *p = cmd->key_specs; next_key_spec(cmd, &p, &ks); spec++) {
        resolve_key_flags(cmd, argv, argc, &ks);
        if (spec_is_not_key(&ks)) continue;
        int first, last, step;
        spec_range(cmd, spec, &ks, argv, argc, &first, &last, &step);
        if (first < 0) continue;
        for (int i = first; i <= last; i += step, n++) {
            if (!with_flags) {
                reply_bulk(c, argv[i].p, argv[i].len);
                continue;
            }
            reply_array(c, 2);
            reply_bulk(c, argv[i].p, argv[i].len);
            reply_flag_words(c, ks.flags, ks.flags_len);
        }
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
#define SUB(name, proc, arity, tips, summary, since, cx) \
    {name, proc, arity, CMD_INTRO, ACL_CONNECTION, 0, 0, 0, NULL, tips, "server", summary, since, cx, NULL, 0, 0, 0, 0}

struct command command_subcommands[] = {
    SUB("command|count", command_count_command, 2, NULL, "Get total number of Redis commands", "2.8.13", "O(1)"),
    SUB("command|info", command_info_command, -2, "nondeterministic_output_order", "Get array of specific Redis command details, or all when no argument is given.", "2.8.13", "O(N) where N is the number of commands to look up"),
    SUB("command|docs", command_docs_command, -2, "nondeterministic_output_order", "Get array of specific Redis command documentation", "7.0.0", "O(N) where N is the number of commands to look up"),
    SUB("command|list", command_list_command, -2, "nondeterministic_output_order", "Get an array of Redis command names", "7.0.0", "O(N) where N is the total number of Redis commands"),
    SUB("command|getkeys", command_getkeys_command, -4, NULL, "Extract keys given a full Redis command", "2.8.13", "O(N) where N is the number of arguments to the command"),
    SUB("command|getkeysandflags", command_getkeysandflags_command, -4, NULL, "Extract keys and access flags given a full Redis command", "7.0.0", "O(N) where N is the number of arguments to the command"),
    SUB("command|help", command_help_command, 2, NULL, "Show helpful text about the different subcommands", "5.0.0", "O(1)"),
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
