/* eval.c: the EVAL family and SCRIPT: the cache of scripts by SHA1, the
 * checks of numkeys, and what a script's run means for replication (EVAL
 * itself never propagates: the writes its redis.call runs are collected
 * by replication.c and reach replicas wrapped in MULTI/EXEC). The Lua
 * side lives in script_lua.c. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "dict.h"
#include "eventloop.h"
#include "log.h"
#include "script_lua.h"
#include "sha1.h"

struct cached_script {
    int ref;        /* the compiled function in the Lua registry */
    size_t body_len;
    int flags;      /* from a "#!lua flags=..." shebang (FUNCTION_FLAG_*) */
    int shebang;    /* it has one: the flags rule, else EVAL's old defaults */
};

static dict *scripts; /* sha (40 lower-case hex) -> struct cached_script */
static size_t scripts_body_bytes;

void scripts_init(void)
{
    scripts = dict_create();
    script_lua_init();
    functions_init();
}

void scripts_release(void)
{
    functions_release();
    dict_free(scripts);
    scripts = NULL;
    scripts_body_bytes = 0;
    script_lua_release();
}

size_t scripts_count(void) { return scripts ? dict_size(scripts) : 0; }
size_t scripts_memory(void) { return scripts_body_bytes + scripts_count() * (sizeof(dnode) + 48 + sizeof(struct cached_script)); }

/* Drops every cached script (the functions' state stays). */
static void human_bytes(char *buf, size_t size, size_t n)
{
    if (n < 1024) snprintf(buf, size, "%zuB", n);
    else if (n < 1024 * 1024) snprintf(buf, size, "%.2fK", (double)n / 1024);
    else snprintf(buf, size, "%.2fM", (double)n / (1024 * 1024));
}

/* EVAL scripts and functions share one Lua state: its memory is reported
 * as the scripts' (used_memory_vm_eval) and the functions' VM share is 0. */
size_t scripts_memory_info(char *buf, size_t size)
{
    size_t lua = script_lua_memory(), scripts = scripts_memory(), fns = functions_memory();
    char vm_human[32], scripts_h[32];
    human_bytes(vm_human, sizeof(vm_human), lua);
    human_bytes(scripts_h, sizeof(scripts_h), scripts + fns);
    int n = snprintf(buf, size,
                     "used_memory_lua:%zu\r\n"
                     "used_memory_vm_eval:%zu\r\n"
                     "used_memory_lua_human:%s\r\n"
                     "used_memory_scripts_eval:%zu\r\n"
                     "number_of_cached_scripts:%zu\r\n"
                     "number_of_functions:%zu\r\n"
                     "number_of_libraries:%zu\r\n"
                     "used_memory_vm_functions:0\r\n"
                     "used_memory_vm_total:%zu\r\n"
                     "used_memory_vm_total_human:%s\r\n"
                     "used_memory_functions:%zu\r\n"
                     "used_memory_scripts:%zu\r\n"
                     "used_memory_scripts_human:%s\r\n",
                     lua, lua, vm_human, scripts, scripts_count(), functions_count(),
                     functions_library_count(), lua, vm_human, fns, scripts + fns, scripts_h);
    return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}

static void scripts_flush(void)
{
    dict_iter it;
    dict_iter_init(&it, scripts);
    for (dnode *n; (n = dict_iter_next(&it));)
        script_lua_unref(((const struct cached_script *)dnode_cval(n))->ref);
    dict_iter_release(&it);
    dict_free(scripts);
    scripts = dict_create();
    scripts_body_bytes = 0;
    lua_gc(script_lua_state(), LUA_GCCOLLECT, 0);
}

static const struct cached_script *find_script(const char *sha, size_t len)
{
    if (len != 40) return NULL;
    char lower[40];
    for (int i = 0; i < 40; i++) lower[i] = (char)tolower((unsigned char)sha[i]);
    dnode *n = dict_find(scripts, lower, 40);
    return n ? (const struct cached_script *)dnode_cval(n) : NULL;
}

/* "#!lua [flags=f1,f2]" on the first line: sets cs's flags and where the
 * code starts (*skip: the line's length without its newline). */
static int parse_eval_shebang(const arg *body, struct cached_script *cs, size_t *skip, char *err,
                              size_t errlen)
{
    if (body->len < 2 || body->p[0] != '#' || body->p[1] != '!') return 0;
    const char *nl = memchr(body->p, '\n', body->len);
    if (nl == NULL) {
        snprintf(err, errlen, "ERR Invalid script shebang");
        return -1;
    }
    cs->shebang = 1;
    *skip = (size_t)(nl - body->p);
    char line[512];
    size_t llen = *skip < sizeof(line) - 1 ? *skip : sizeof(line) - 1;
    memcpy(line, body->p, llen);
    line[llen] = '\0';
    char *save = NULL, *part = strtok_r(line, " ", &save);
    if (part == NULL || strcmp(part, "#!lua") != 0) {
        snprintf(err, errlen, "ERR Unexpected engine in script shebang: %s", part ? part : "");
        return -1;
    }
    while ((part = strtok_r(NULL, " ", &save))) {
        if (strncmp(part, "flags=", 6) != 0) {
            snprintf(err, errlen, "ERR Unknown lua shebang option: %s", part);
            return -1;
        }
        char *fsave = NULL;
        for (char *f = strtok_r(part + 6, ",", &fsave); f; f = strtok_r(NULL, ",", &fsave)) {
            int bit = script_flag_by_name(f, strlen(f));
            if (bit < 0) {
                snprintf(err, errlen, "ERR Unexpected flag in script shebang: %s", f);
                return -1;
            }
            cs->flags |= bit;
        }
    }
    return 0;
}

const char *script_flags_refusal(int flags, int ro_command)
{
    if (server.cluster_enabled && (flags & FUNCTION_FLAG_NO_CLUSTER))
        return "ERR Can not run script on cluster, 'no-cluster' flag is set.";
    if (flags & FUNCTION_FLAG_NO_WRITES) return NULL;
    if (ro_command) return "ERR Can not execute a script with write flag using *_ro command.";
    if (!(flags & FUNCTION_FLAG_ALLOW_OOM) && server.maxmemory > 0 && !server_is_replica() &&
        evict_to_fit() == -1)
        return "OOM command not allowed when used memory > 'maxmemory'.";
    return NULL;
}

/* Compiles and caches the body (unless cached); NULL after replying the
 * compile error. The sha is written to sha_out. */
static const struct cached_script *load_script(client *c, const arg *body, char sha_out[41])
{
    sha1_hex(body->p, body->len, sha_out);
    const struct cached_script *s = find_script(sha_out, 40);
    if (s) return s;
    char err[1024];
    struct cached_script cs = {LUA_NOREF, body->len, 0, 0};
    size_t skip = 0;
    if (parse_eval_shebang(body, &cs, &skip, err, sizeof(err)) == -1) {
        reply_error(c, err);
        return NULL;
    }
    /* the shebang line stays, blank, so line numbers match the body's */
    cs.ref = script_lua_compile(body->p + skip, body->len - skip, err, sizeof(err));
    if (cs.ref == LUA_NOREF) {
        reply_error(c, err);
        return NULL;
    }
    scripts_body_bytes += body->len;
    dnode *n = dict_add(scripts, sha_out, 40, &cs, sizeof(cs));
    return (const struct cached_script *)dnode_cval(n);
}

/* numkeys at argv[2]: replies Redis's error and returns 0 when bad. */
static int parse_numkeys(client *c, long long *numkeys)
{
    if (!arg_to_ll(c, &c->argv[2], numkeys)) return 0;
    if (*numkeys > c->argc - 3) {
        reply_error(c, "ERR Number of keys can't be greater than number of args");
        return 0;
    }
    if (*numkeys < 0) {
        reply_error(c, "ERR Number of keys can't be negative");
        return 0;
    }
    return 1;
}

static void eval_generic(client *c, int by_sha, int readonly)
{
    long long numkeys;
    char sha[41];
    propagate_prevent(); /* the script's writes propagate, not EVAL */
    if (!parse_numkeys(c, &numkeys)) return;
    const struct cached_script *s;
    if (by_sha) {
        s = find_script(c->argv[1].p, c->argv[1].len);
        if (s == NULL) {
            reply_error(c, "NOSCRIPT No matching script. Please use EVAL.");
            return;
        }
        for (int i = 0; i < 40; i++) sha[i] = (char)tolower((unsigned char)c->argv[1].p[i]);
        sha[40] = '\0';
    } else {
        s = load_script(c, &c->argv[1], sha);
        if (s == NULL) return;
    }
    const char *why = s->shebang ? script_flags_refusal(s->flags, readonly) : NULL;
    if (why) {
        reply_error(c, why);
        return;
    }
    struct script_run run = {.caller = c, .sha = sha,
                             .readonly = readonly || (s->shebang && (s->flags & FUNCTION_FLAG_NO_WRITES))};
    int ref = s->ref;
    script_lua_run(ref, &c->argv[3], (int)numkeys, &c->argv[3 + numkeys],
                   c->argc - 3 - (int)numkeys, &run);
}

static void eval_command(client *c) { eval_generic(c, 0, 0); }
static void evalsha_command(client *c) { eval_generic(c, 1, 0); }
static void eval_ro_command(client *c) { eval_generic(c, 0, 1); }
static void evalsha_ro_command(client *c) { eval_generic(c, 1, 1); }

/* ---- SCRIPT ------------------------------------------------------------------ */

static void script_load_command(client *c)
{
    char sha[41];
    if (load_script(c, &c->argv[2], sha)) reply_bulk(c, sha, 40);
}

static void script_exists_command(client *c)
{
    reply_array(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++)
        reply_int(c, find_script(c->argv[i].p, c->argv[i].len) != NULL);
}

static void script_flush_command(client *c)
{
    if (c->argc > 3 || (c->argc == 3 && !arg_is(c->argv[2].p, c->argv[2].len, "sync") &&
                        !arg_is(c->argv[2].p, c->argv[2].len, "async"))) {
        reply_error(c, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    scripts_flush();
    reply_ok(c);
}

/* SCRIPT KILL (an EVAL script) and FUNCTION KILL (a function). */
void scripts_kill(client *c, int function)
{
    struct script_run *run = script_lua_running();
    if (run == NULL || run->is_function != function) {
        reply_error(c, "NOTBUSY No scripts in execution right now.");
    } else if (run->wrote) {
        reply_error(c, "UNKILLABLE Sorry the script already executed write commands against the "
                       "dataset. You can either wait the script termination or kill the server "
                       "in a hard way using the SHUTDOWN NOSAVE command.");
    } else {
        run->killed = 1;
        reply_ok(c);
    }
}

static void script_kill_command(client *c) { scripts_kill(c, 0); }

static void script_debug_command(client *c)
{
    if (arg_is(c->argv[2].p, c->argv[2].len, "no")) reply_ok(c);
    else if (arg_is(c->argv[2].p, c->argv[2].len, "yes") || arg_is(c->argv[2].p, c->argv[2].len, "sync"))
        reply_error(c, "ERR SCRIPT DEBUG is not supported by this server");
    else
        reply_error(c, "ERR Use SCRIPT DEBUG YES/SYNC/NO");
}

static void script_help_command(client *c)
{
    static const char *const lines[] = {
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

static void script_container_command(client *c) { reply_arity_error(c); }

#define EVAL_FLAGS (CMD_NOSCRIPT | CMD_STALE | CMD_SKIP_MONITOR | CMD_NO_MANDATORY_KEYS | CMD_MOVABLE_KEYS)
#define EVAL_RW_SPEC "RW access update @2#0,1,1 (We cannot tell how the keys will be used so we assume the worst, RW and UPDATE)"
#define EVAL_RO_SPEC "RO access @2#0,1,1 (We cannot tell how the keys will be used so we assume the worst, RO and ACCESS)"

static struct command script_subcommands[] = {
    {"script|debug", script_debug_command, 3, CMD_NOSCRIPT, ACL_SCRIPTING, 0, 0, 0, NULL, NULL, "scripting", "Set the debug mode for executed scripts.", "3.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"script|exists", script_exists_command, -3, CMD_NOSCRIPT, ACL_SCRIPTING, 0, 0, 0, NULL, "request_policy:all_shards response_policy:agg_logical_and", "scripting", "Check existence of scripts in the script cache.", "2.6.0", "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).", NULL, 0, 0, 0, 0},
    {"script|flush", script_flush_command, -2, CMD_NOSCRIPT, ACL_SCRIPTING, 0, 0, 0, NULL, "request_policy:all_nodes response_policy:all_succeeded", "scripting", "Remove all the scripts from the script cache.", "2.6.0", "O(N) with N being the number of scripts in cache", NULL, 0, 0, 0, 0},
    {"script|help", script_help_command, 2, CMD_LOADING | CMD_STALE, ACL_SCRIPTING, 0, 0, 0, NULL, NULL, "scripting", "Show helpful text about the different subcommands", "5.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"script|kill", script_kill_command, 2, CMD_NOSCRIPT | CMD_ALLOW_BUSY, ACL_SCRIPTING, 0, 0, 0, NULL, "request_policy:all_shards response_policy:one_succeeded", "scripting", "Kill the script currently in execution.", "2.6.0", "O(1)", NULL, 0, 0, 0, 0},
    {"script|load", script_load_command, 3, CMD_NOSCRIPT | CMD_STALE, ACL_SCRIPTING, 0, 0, 0, NULL, "request_policy:all_nodes response_policy:all_succeeded", "scripting", "Load the specified Lua script into the script cache.", "2.6.0", "O(N) with N being the length in bytes of the script body.", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};

struct command script_commands[] = {
    {"eval", eval_command, -3, EVAL_FLAGS, ACL_SCRIPTING, 0, 0, 0, EVAL_RW_SPEC, NULL, "scripting", "Execute a Lua script server side", "2.6.0", "Depends on the script that is executed.", NULL, 0, 0, 0, 0},
    {"evalsha", evalsha_command, -3, EVAL_FLAGS, ACL_SCRIPTING, 0, 0, 0, "RW access update @2#0,1,1", NULL, "scripting", "Execute a Lua script server side", "2.6.0", "Depends on the script that is executed.", NULL, 0, 0, 0, 0},
    {"eval_ro", eval_ro_command, -3, EVAL_FLAGS | CMD_READONLY, ACL_SCRIPTING, 0, 0, 0, EVAL_RO_SPEC, NULL, "scripting", "Execute a read-only Lua script server side", "7.0.0", "Depends on the script that is executed.", NULL, 0, 0, 0, 0},
    {"evalsha_ro", evalsha_ro_command, -3, EVAL_FLAGS | CMD_READONLY, ACL_SCRIPTING, 0, 0, 0, "RO access @2#0,1,1", NULL, "scripting", "Execute a read-only Lua script server side", "7.0.0", "Depends on the script that is executed.", NULL, 0, 0, 0, 0},
    {"script", script_container_command, -2, 0, ACL_SLOW, 0, 0, 0, NULL, NULL, "scripting", "A container for Lua scripts management commands", "2.6.0", "Depends on subcommand.", script_subcommands, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};

/* ---- a script past busy-reply-threshold ------------------------------------ */

long long script_busy_threshold_ms = 5000;

const char *script_busy_refusal(uint32_t cmd_flags)
{
    struct script_run *run = script_lua_running();
    if (run == NULL || !run->busy || (cmd_flags & CMD_ALLOW_BUSY)) return NULL;
    if (run->is_function)
        return "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
    return "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
}

void script_busy_check(struct script_run *run)
{
    long long elapsed = mstime() - run->start_ms;
    if (elapsed < script_busy_threshold_ms) return;
    if (!run->busy) {
        run->busy = 1;
        log_msg(LOG_WARNING, "Slow script detected: still in execution after %lld milliseconds. "
                "You can try killing the script using the SCRIPT KILL command. Script name is: %s.",
                elapsed, run->sha);
    }
    update_cached_time();
    el_process_file_events(0);
    handle_pending_writes();
    if (server.shutdown_asap) run->killed = 1; /* SHUTDOWN NOSAVE: end the script, then exit */
}
