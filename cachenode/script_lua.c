/* script_lua.c: the Lua interpreter behind EVAL and FCALL: one lua_State
 * allocating through zmalloc, the sandbox Redis 7.0 gives scripts
 * (read-only globals, an error on reading an undefined global, no file or
 * OS access), the redis.* library, the loading sandbox of function
 * libraries, and the run of a script with its busy hook and error reply.
 * Replies <-> Lua values are script_reply.c's. */
#include <lauxlib.h>
#include <lualib.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "log.h"
#include "script_lua.h"
#include "script_reply.h"
#include "sha1.h"

#define SCRIPT_CHUNK_NAME "@user_script"

int luaopen_cjson(lua_State *L);
int luaopen_bit(lua_State *L);
int luaopen_struct(lua_State *L);   /* script_struct.c */
int luaopen_cmsgpack(lua_State *L); /* script_cmsgpack.c */

static lua_State *lua;
static int globals_ref = LUA_NOREF; /* the real globals; scripts see a read-only proxy */
static int function_env_ref = LUA_NOREF; /* what functions see as globals */
static int load_globals_ref = LUA_NOREF; /* ... while their library loads */
static client *script_client;       /* redis.call's commands run on it */
static struct script_run *running;

struct script_run *script_lua_running(void) { return running; }
lua_State *script_lua_state(void) { return lua; }
size_t script_lua_memory(void) { return lua ? (size_t)lua_gc(lua, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(lua, LUA_GCCOUNTB, 0) : 0; }

static void *lua_zalloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        zfree(ptr);
        return NULL;
    }
    return zrealloc(ptr, nsize);
}

/* ---- the sandbox ------------------------------------------------------------ */

static int raise_error(lua_State *L, const char *msg);

static int readonly_error(lua_State *L) { return luaL_error(L, "Attempt to modify a readonly table"); }

/* A strict proxy's __index: a name its table does not hold is an error
 * (the globals; the API a library sees while it loads). */
/* __index's answer for the key at 2 from the table at the top. */
static int global_or_error(lua_State *L)
{
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_pushvalue(L, 2);
        lua_rawget(L, -2);
        if (!lua_isnil(L, -1)) return 1;
    }
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                      name ? name : "?");
}

static int undefined_global(lua_State *L)
{
    if (lua_getmetatable(L, 1)) lua_getfield(L, -1, "__backing");
    return global_or_error(L);
}

/* Replaces the table at the top by an empty proxy that reads through to it
 * and refuses every write; `strict` makes reading a missing field an error
 * (the globals). */
static void make_readonly_proxy(lua_State *L, int strict)
{
    lua_newtable(L);              /* proxy */
    lua_newtable(L);              /* its metatable */
    if (strict) lua_pushcfunction(L, undefined_global);
    else lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_error);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__backing"); /* pairs, ipairs, rawget see through */
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_remove(L, -2);
}

/* The table behind a read-only proxy at idx, pushed; or idx's value. */
static int push_backing(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TTABLE && lua_getmetatable(L, idx)) {
        lua_getfield(L, -1, "__backing");
        lua_remove(L, -2);
        if (!lua_isnil(L, -1)) return 1;
        lua_pop(L, 1);
    }
    lua_pushvalue(L, idx);
    return 0;
}

static int sandbox_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (lua_next(L, 1)) return 2;
    lua_pushnil(L);
    return 1;
}

static int sandbox_pairs(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushcfunction(L, sandbox_next);
    push_backing(L, 1);
    lua_pushnil(L);
    return 3;
}

static int ipairs_step(lua_State *L)
{
    lua_Integer i = luaL_checkinteger(L, 2) + 1;
    lua_pushinteger(L, i);
    lua_rawgeti(L, 1, (int)i);
    return lua_isnil(L, -1) ? 0 : 2;
}

static int sandbox_ipairs(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_pushcfunction(L, ipairs_step);
    push_backing(L, 1);
    lua_pushinteger(L, 0);
    return 3;
}

static int sandbox_rawget(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    push_backing(L, 1);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int sandbox_rawset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    if (push_backing(L, 1)) return raise_error(L, "Attempt to modify a readonly table");
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

static int sandbox_setmetatable(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (push_backing(L, 1)) return raise_error(L, "Attempt to modify a readonly table");
    lua_pop(L, 1);
    int t = lua_type(L, 2);
    luaL_argcheck(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table expected");
    if (luaL_getmetafield(L, 1, "__metatable")) luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* pcall that gives an error table's message, as Redis 7.0's does, so
 * scripts written for string errors keep working. */
static int sandbox_pcall(lua_State *L)
{
    luaL_checkany(L, 1);
    int argc = lua_gettop(L);
    if (lua_pcall(L, argc - 1, LUA_MULTRET, 0) == 0) {
        lua_pushboolean(L, 1);
        lua_insert(L, 1);
        return lua_gettop(L);
    }
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, "err");
        if (lua_isstring(L, -1)) lua_replace(L, -2);
        else lua_pop(L, 1);
    }
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
}

static void open_lib(lua_State *L, const char *name, lua_CFunction open)
{
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

static void remove_global(lua_State *L, const char *name)
{
    lua_pushnil(L);
    lua_setglobal(L, name);
}

static void set_global_cfunction(lua_State *L, const char *name, lua_CFunction f)
{
    lua_pushcfunction(L, f);
    lua_setglobal(L, name);
}

/* ---- redis.call and redis.pcall ------------------------------------------------ */

/* An error table {err = msg}, raised or returned. */
static int push_error_table(lua_State *L, const char *msg)
{
    lua_newtable(L);
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "err");
    return 1;
}

/* An error a redis.* function raises: a table, so no position is added
 * to the message, as Redis words them. */
static int raise_error(lua_State *L, const char *msg)
{
    lua_newtable(L);
    lua_pushfstring(L, "ERR %s", msg);
    lua_setfield(L, -2, "err");
    return lua_error(L);
}

static int fail(lua_State *L, int raise, const char *msg)
{
    push_error_table(L, msg);
    return raise ? lua_error(L) : 1;
}

/* Makes every argument a string on the stack; returns 0 if one can't be. */
static int args_to_strings(lua_State *L, int argc)
{
    for (int i = 1; i <= argc; i++) {
        int t = lua_type(L, i);
        if (t == LUA_TNUMBER) {
            char buf[64];
            int n = snprintf(buf, sizeof(buf), "%.17g", (double)lua_tonumber(L, i));
            lua_pushlstring(L, buf, (size_t)n);
            lua_replace(L, i);
        } else if (t != LUA_TSTRING) {
            return 0;
        }
    }
    return 1;
}

/* Why the script may not run this command, or NULL (Redis's checks). */
static const char *script_refusal(struct command *cmd, int argc)
{
    if (cmd == NULL) return "ERR Unknown Redis command called from script";
    if (cmd->arity > 0 ? argc != cmd->arity : argc < -cmd->arity)
        return "ERR Wrong number of args calling Redis command from script";
    if (cmd->flags & CMD_NOSCRIPT) return "ERR This Redis command is not allowed from script";
    if ((cmd->flags & CMD_WRITE) && running && running->readonly)
        return "ERR Write commands are not allowed from read-only scripts.";
    if (cmd->flags & CMD_WRITE) {
        const char *why = replication_write_refusal(running ? running->caller : script_client,
                                                    cmd->flags);
        if (why) return why;
    }
    if ((cmd->flags & CMD_DENYOOM) && server.maxmemory > 0 && !server_is_replica() &&
        !(running && running->wrote) && evict_to_fit() == -1)
        return "OOM command not allowed when used memory > 'maxmemory'.";
    return NULL;
}

static struct command *script_lookup(client *c)
{
    struct command *cmd = command_lookup(c->argv[0].p, c->argv[0].len);
    if (cmd && cmd->subcommands) {
        if (c->argc < 2) return cmd;
        for (struct command *sub = cmd->subcommands; sub->name; sub++) {
            const char *bar = strchr(sub->name, '|');
            if (arg_is(c->argv[1].p, c->argv[1].len, bar ? bar + 1 : sub->name)) return sub;
        }
        return NULL;
    }
    return cmd;
}

static arg *call_argv;
static int call_argv_cap;

static int redis_generic_call(lua_State *L, int raise)
{
    int argc = lua_gettop(L);
    if (argc == 0 || running == NULL)
        return fail(L, raise, "ERR Please specify at least one argument for this redis lib call");
    if (!args_to_strings(L, argc))
        return fail(L, raise, "ERR Lua redis lib command arguments must be strings or integers");
    if (argc > call_argv_cap) {
        call_argv_cap = argc * 2;
        call_argv = zrealloc(call_argv, sizeof(arg) * (size_t)call_argv_cap);
    }
    client *c = script_client;
    for (int i = 0; i < argc; i++) {
        size_t len;
        call_argv[i].p = lua_tolstring(L, i + 1, &len);
        call_argv[i].len = len;
    }
    c->argv = call_argv;
    c->argc = argc;
    struct command *cmd = script_lookup(c);
    const char *why = script_refusal(cmd, argc);
    if (why == NULL && server.cluster_enabled) why = cluster_script_refusal(running->caller, cmd, call_argv, argc);
    if (why) {
        c->argv = NULL;
        c->argc = 0;
        return fail(L, raise, why);
    }
    if (cmd->flags & CMD_WRITE) running->wrote = 1;
    /* the cached time stays the script's start: no key expires mid-script */
    command_call(c, cmd, ustime());
    c->argv = NULL;
    c->argc = 0;
    script_reply_to_lua(L, script_client);
    if (raise && lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, "err");
        int is_error = lua_isstring(L, -1);
        lua_pop(L, 1);
        if (is_error) return lua_error(L);
    }
    return 1;
}

static int redis_call(lua_State *L) { return redis_generic_call(L, 1); }
static int redis_pcall(lua_State *L) { return redis_generic_call(L, 0); }

/* ---- the rest of the redis library --------------------------------------------- */

static int reply_table(lua_State *L, const char *field)
{
    if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING)
        return push_error_table(L, "ERR wrong number or type of arguments");
    const char *s = lua_tostring(L, 1);
    if (field[0] == 'e' && s[0] == '-') s++; /* "-ERR x" and "ERR x" mean the same */
    lua_newtable(L);
    lua_pushstring(L, s);
    lua_setfield(L, -2, field);
    return 1;
}

static int redis_error_reply(lua_State *L) { return reply_table(L, "err"); }
static int redis_status_reply(lua_State *L) { return reply_table(L, "ok"); }

static int redis_sha1hex(lua_State *L)
{
    if (lua_gettop(L) != 1) return raise_error(L, "wrong number of arguments");
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    char hex[41];
    sha1_hex(s ? s : "", s ? len : 0, hex);
    lua_pushstring(L, hex);
    return 1;
}

static int redis_log(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc < 2) return raise_error(L, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1)) return raise_error(L, "First argument must be a number (log level).");
    lua_Number given = lua_tonumber(L, 1);
    if (!(given >= LOG_DEBUG && given < LOG_WARNING + 1)) return raise_error(L, "Invalid debug level.");
    int level = (int)given;
    char msg[1024];
    size_t n = 0;
    for (int i = 2; i <= argc && n < sizeof(msg) - 1; i++) {
        size_t len;
        const char *s = lua_tolstring(L, i, &len);
        if (s == NULL) continue;
        if (i > 2) msg[n++] = ' ';
        if (len > sizeof(msg) - 1 - n) len = sizeof(msg) - 1 - n;
        memcpy(msg + n, s, len);
        n += len;
    }
    msg[n] = '\0';
    log_msg((enum log_level)level, "%s", msg);
    return 0;
}

static int redis_setresp(lua_State *L)
{
    if (lua_gettop(L) != 1) return raise_error(L, "redis.setresp() requires one argument.");
    int resp = (int)lua_tointeger(L, 1);
    if (resp != 2 && resp != 3) return raise_error(L, "RESP version must be 2 or 3.");
    script_client->resp = resp;
    return 0;
}

static int redis_set_repl(lua_State *L)
{
    if (lua_gettop(L) != 1) return raise_error(L, "redis.set_repl() requires two arguments.");
    int flags = (int)lua_tointeger(L, 1);
    if (flags & ~3) return raise_error(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
    return 0;
}

static int redis_replicate_commands(lua_State *L)
{
    lua_pushboolean(L, 1);
    return 1;
}

static int redis_breakpoint(lua_State *L)
{
    lua_pushboolean(L, 0);
    return 1;
}

static int redis_debug(lua_State *L)
{
    (void)L;
    return 0;
}

static int redis_acl_check_cmd(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc == 0) return raise_error(L, "Please specify at least one argument for this redis lib call");
    if (!args_to_strings(L, argc)) return raise_error(L, "Lua redis lib command arguments must be strings or integers");
    size_t len;
    const char *name = lua_tolstring(L, 1, &len);
    if (command_lookup(name, len) == NULL) return raise_error(L, "Invalid command passed to redis.acl_check_cmd()");
    lua_pushboolean(L, 1);
    return 1;
}

static void set_number_field(lua_State *L, const char *name, lua_Number v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, name);
}

static void open_redis_lib(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"call", redis_call}, {"pcall", redis_pcall}, {"log", redis_log},
        {"error_reply", redis_error_reply}, {"status_reply", redis_status_reply},
        {"sha1hex", redis_sha1hex}, {"setresp", redis_setresp}, {"set_repl", redis_set_repl},
        {"replicate_commands", redis_replicate_commands}, {"breakpoint", redis_breakpoint},
        {"debug", redis_debug}, {"acl_check_cmd", redis_acl_check_cmd}, {NULL, NULL}};
    lua_newtable(L);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, -2, f->name);
    }
    set_number_field(L, "LOG_DEBUG", LOG_DEBUG);
    set_number_field(L, "LOG_VERBOSE", LOG_VERBOSE);
    set_number_field(L, "LOG_NOTICE", LOG_NOTICE);
    set_number_field(L, "LOG_WARNING", LOG_WARNING);
    set_number_field(L, "REPL_NONE", 0);
    set_number_field(L, "REPL_AOF", 1);
    set_number_field(L, "REPL_SLAVE", 2);
    set_number_field(L, "REPL_REPLICA", 2);
    set_number_field(L, "REPL_ALL", 3);
    lua_pushstring(L, CN_VERSION);
    lua_setfield(L, -2, "REDIS_VERSION");
    set_number_field(L, "REDIS_VERSION_NUM", 0x0007000f);
    lua_setglobal(L, "redis");
}

/* The error handler every script runs under: an error becomes a table
 * {err=, source=, line=} telling where it happened, as Redis reports. */
static int error_handler(lua_State *L)
{
    lua_Debug ar;
    int have = lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar);
    if (have && strcmp(ar.what, "C") == 0) have = lua_getstack(L, 2, &ar) && lua_getinfo(L, "Sl", &ar);
    if (lua_type(L, 1) != LUA_TTABLE) {
        const char *msg = lua_tostring(L, 1);
        lua_newtable(L);
        lua_pushfstring(L, "ERR %s", msg ? msg : luaL_typename(L, 1));
        lua_setfield(L, -2, "err");
        lua_replace(L, 1);
    }
    if (have) {
        lua_pushstring(L, ar.source);
        lua_setfield(L, 1, "source");
        lua_pushinteger(L, ar.currentline);
        lua_setfield(L, 1, "line");
    }
    lua_settop(L, 1);
    return 1;
}

/* Library tables become read-only proxies; the globals a script sees, a
 * strict read-only proxy of the real ones. */
static void protect_globals(lua_State *L)
{
    static const char *const libs[] = {"string", "table", "math", "coroutine", "redis", "cjson",
                                       "bit", "struct", "cmsgpack"};
    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        lua_getglobal(L, libs[i]);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            continue;
        }
        make_readonly_proxy(L, 0);
        lua_setglobal(L, libs[i]);
    }
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_pushvalue(L, -1);
    globals_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    make_readonly_proxy(L, 1);
    lua_pushvalue(L, -1);
    lua_setglobal(L, "_G");          /* _G names what scripts see */
    lua_replace(L, LUA_GLOBALSINDEX);
}

static void build_function_env(lua_State *L);

static void build_state(void)
{
    lua = lua_newstate(lua_zalloc, NULL);
    if (lua == NULL) {
        log_msg(LOG_WARNING, "Cannot create the Lua state");
        abort();
    }
    lua_State *L = lua;
    open_lib(L, "", luaopen_base);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    lua_pushcfunction(L, luaopen_cjson);
    lua_call(L, 0, 1);
    lua_setglobal(L, "cjson");
    open_lib(L, "bit", luaopen_bit);
    open_lib(L, "struct", luaopen_struct);
    open_lib(L, "cmsgpack", luaopen_cmsgpack);
    lua_settop(L, 0);
    static const char *const removed[] = {"print", "loadfile", "dofile", "getfenv", "setfenv",
                                          "require", "module", "newproxy", "load", "loadstring"};
    for (size_t i = 0; i < sizeof(removed) / sizeof(removed[0]); i++) remove_global(L, removed[i]);
    set_global_cfunction(L, "pairs", sandbox_pairs);
    set_global_cfunction(L, "ipairs", sandbox_ipairs);
    set_global_cfunction(L, "rawget", sandbox_rawget);
    set_global_cfunction(L, "rawset", sandbox_rawset);
    set_global_cfunction(L, "setmetatable", sandbox_setmetatable);
    set_global_cfunction(L, "pcall", sandbox_pcall);
    set_global_cfunction(L, "__redis__err__handler", error_handler);
    open_redis_lib(L);
    lua_newtable(L);
    lua_setglobal(L, "KEYS");
    lua_newtable(L);
    lua_setglobal(L, "ARGV");
    protect_globals(L);
    build_function_env(L);
    lua_settop(L, 0);
}

static client *new_script_client(void)
{
    client *c = zcalloc(sizeof(client));
    c->id = ++server.next_client_id;
    c->fd = -1;
    c->resp = 2;
    c->db = server.dbs[0];
    c->bulk_len = -1;
    c->buf = zmalloc(PROTO_REPLY_CHUNK);
    c->flags = CLIENT_SCRIPT | CLIENT_DENY_BLOCKING | CLIENT_AUTHENTICATED;
    c->ctime = server.unixtime;
    snprintf(c->addr, sizeof(c->addr), "?:0");
    return c;
}

void script_lua_init(void)
{
    if (script_client == NULL) script_client = new_script_client();
    build_state();
}

void script_lua_release(void)
{
    if (lua) lua_close(lua);
    lua = NULL;
    globals_ref = function_env_ref = load_globals_ref = LUA_NOREF;
    if (script_client) {
        zfree(script_client->buf);
        zfree(script_client);
        script_client = NULL;
    }
    zfree(call_argv);
    call_argv = NULL;
    call_argv_cap = 0;
}

int script_lua_compile(const char *body, size_t len, char *err, size_t errlen)
{
    lua_State *L = lua;
    if (luaL_loadbuffer(L, body, len, SCRIPT_CHUNK_NAME) != 0) {
        snprintf(err, errlen, "ERR Error compiling script (new function): %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

void script_lua_unref(int ref)
{
    if (lua && ref != LUA_NOREF) luaL_unref(lua, LUA_REGISTRYINDEX, ref);
}

/* ---- function libraries ------------------------------------------------------------- */

#define LIBRARY_CHUNK_NAME "@user_function"
#define LIBRARY_LOAD_TIMEOUT_MS 500

/* Functions see the globals through this proxy: while their library loads
 * it resolves to the loading API only, afterwards to the real globals, so
 * the closures a library registers find the whole sandbox when called. */
static int library_loading;
static script_register_fn loading_register;
static void *loading_ctx;
static long long loading_start_ms;

static int function_global(lua_State *L)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, library_loading ? load_globals_ref : globals_ref);
    return global_or_error(L);
}

static const char *const function_flag_names[] = {"no-writes", "allow-oom", "allow-stale",
                                                  "no-cluster", "allow-cross-slot-keys"};

int script_flag_by_name(const char *name, size_t len)
{
    for (int f = 0; f < (int)(sizeof(function_flag_names) / sizeof(function_flag_names[0])); f++)
        if (strlen(function_flag_names[f]) == len && memcmp(function_flag_names[f], name, len) == 0)
            return 1 << f;
    return -1;
}

/* The flags table at idx as FUNCTION_FLAG_* bits, or -1. */
static int parse_function_flags(lua_State *L, int idx)
{
    int flags = 0;
    for (int i = 1;; i++) {
        lua_rawgeti(L, idx, i);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            return flags;
        }
        size_t len = 0;
        const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : "";
        int bit = script_flag_by_name(name, len);
        lua_pop(L, 1);
        if (bit < 0) return -1;
        flags |= bit;
    }
}

/* redis.register_function{function_name=, callback=, flags=, description=}:
 * leaves name, callback, flags table (or nil), description at 2..5. */
static int named_register_args(lua_State *L)
{
    lua_settop(L, 1);
    lua_pushnil(L); lua_pushnil(L); lua_pushnil(L); lua_pushnil(L);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        int slot = strcmp(key, "function_name") == 0 ? 2 : strcmp(key, "callback") == 0 ? 3
                 : strcmp(key, "flags") == 0 ? 4 : strcmp(key, "description") == 0 ? 5 : 0;
        if (slot == 0) return raise_error(L, "unknown argument given to redis.register_function");
        lua_replace(L, slot);
    }
    return 0;
}

static int redis_register_function(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc < 1 || argc > 2) return raise_error(L, "wrong number of arguments to redis.register_function");
    if (argc == 1) {
        if (lua_type(L, 1) != LUA_TTABLE)
            return raise_error(L, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
        named_register_args(L);
        if (lua_isnil(L, 2)) return raise_error(L, "redis.register_function must get a function name argument");
        if (!lua_isstring(L, 2))
            return raise_error(L, "function_name argument given to redis.register_function must be a string");
        if (lua_isnil(L, 3)) return raise_error(L, "redis.register_function must get a callback argument");
        if (lua_type(L, 3) != LUA_TFUNCTION)
            return raise_error(L, "callback argument given to redis.register_function must be a function");
    } else {
        if (!lua_isstring(L, 1))
            return raise_error(L, "first argument to redis.register_function must be a string");
        if (lua_type(L, 2) != LUA_TFUNCTION)
            return raise_error(L, "second argument to redis.register_function must be a function");
        lua_pushnil(L);
        lua_insert(L, 1); /* name at 2, callback at 3 */
        lua_settop(L, 5);
    }
    if (!lua_isnil(L, 5) && !lua_isstring(L, 5))
        return raise_error(L, "description argument given to redis.register_function must be a string");
    int flags = 0;
    if (!lua_isnil(L, 4)) {
        if (lua_type(L, 4) != LUA_TTABLE)
            return raise_error(L, "flags argument to redis.register_function must be a table representing function flags");
        if ((flags = parse_function_flags(L, 4)) < 0) return raise_error(L, "unknown flag given");
    }
    size_t nlen;
    const char *name = lua_tolstring(L, 2, &nlen);
    const char *desc = lua_isnil(L, 5) ? NULL : lua_tostring(L, 5);
    lua_pushvalue(L, 3);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    char err[256];
    if (loading_register(loading_ctx, name, nlen, ref, flags, desc, err, sizeof(err)) == -1) {
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        return raise_error(L, err);
    }
    return 0;
}

/* The functions' proxy and what it shows while a library loads. */
static void build_function_env(lua_State *L)
{
    lua_newtable(L); /* the loading API's redis */
    lua_pushcfunction(L, redis_register_function);
    lua_setfield(L, -2, "register_function");
    lua_pushcfunction(L, redis_log);
    lua_setfield(L, -2, "log");
    set_number_field(L, "LOG_DEBUG", LOG_DEBUG);
    set_number_field(L, "LOG_VERBOSE", LOG_VERBOSE);
    set_number_field(L, "LOG_NOTICE", LOG_NOTICE);
    set_number_field(L, "LOG_WARNING", LOG_WARNING);
    lua_pushstring(L, CN_VERSION);
    lua_setfield(L, -2, "REDIS_VERSION");
    set_number_field(L, "REDIS_VERSION_NUM", 0x0007000f);
    make_readonly_proxy(L, 1);
    lua_newtable(L); /* the loading globals */
    lua_insert(L, -2);
    lua_setfield(L, -2, "redis");
    load_globals_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L); /* the proxy */
    lua_newtable(L);
    lua_pushcfunction(L, function_global);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_error);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    function_env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

static void load_timeout_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (mstime() - loading_start_ms > LIBRARY_LOAD_TIMEOUT_MS) {
        lua_sethook(L, load_timeout_hook, LUA_MASKCOUNT, 1);
        raise_error(L, "FUNCTION LOAD timeout");
    }
}

/* The message of the error table (or string) at the top. */
static const char *error_message(lua_State *L)
{
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, "err");
        const char *msg = lua_tostring(L, -1);
        lua_pop(L, 1); /* the table still holds the string */
        if (msg) return msg;
    }
    const char *msg = lua_tostring(L, -1);
    return msg ? msg : "unknown error";
}

int script_lua_load_library(const char *code, size_t len, script_register_fn reg, void *ctx,
                            char *err, size_t errlen)
{
    lua_State *L = lua;
    if (luaL_loadbuffer(L, code, len, LIBRARY_CHUNK_NAME) != 0) {
        snprintf(err, errlen, "ERR Error compiling function: %s", lua_tostring(L, -1));
        lua_settop(L, 0);
        return -1;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, function_env_ref);
    lua_setfenv(L, -2);
    lua_pushcfunction(L, error_handler);
    lua_insert(L, -2);
    library_loading = 1;
    loading_register = reg;
    loading_ctx = ctx;
    loading_start_ms = mstime();
    lua_sethook(L, load_timeout_hook, LUA_MASKCOUNT, 100000);
    int failed = lua_pcall(L, 0, 0, 1);
    lua_sethook(L, NULL, 0, 0);
    library_loading = 0;
    if (failed) snprintf(err, errlen, "ERR Error registering functions: %s", error_message(L));
    lua_settop(L, 0);
    return failed ? -1 : 0;
}

/* ---- running a script --------------------------------------------------------------- */

static void push_array(lua_State *L, const arg *items, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushlstring(L, items[i].p, items[i].len);
        lua_rawseti(L, -2, i + 1);
    }
}

static void set_array_global(lua_State *L, const char *name, const arg *items, int n)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, globals_ref);
    push_array(L, items, n);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* The error table at the top as Redis words it. */
static void reply_script_error(client *c, lua_State *L, const char *sha)
{
    if (lua_type(L, -1) != LUA_TTABLE) {
        const char *msg = lua_tostring(L, -1);
        reply_errorf(c, "ERR Error running script (call to %s%s): %s", sha[0] && strlen(sha) == 40 ? "f_" : "",
                     sha, msg ? msg : "unknown error");
        return;
    }
    size_t len;
    const char *msg = script_string_field(L, "err", &len);
    const char *source = script_string_field(L, "source", &len);
    lua_getfield(L, -1, "line");
    int line = (int)lua_tointeger(L, -1);
    int have_line = lua_isnumber(L, -1);
    lua_pop(L, 1);
    if (msg && msg[0] == '-') msg++;
    if (msg == NULL) msg = "ERR unknown error";
    /* built to size: a script's message may be longer than reply_errorf's buffer */
    size_t size = strlen(msg) + strlen(sha) + (source ? strlen(source) : 0) + 64;
    char *text = zmalloc(size);
    if (source && have_line) snprintf(text, size, "%s script: %s, on %s:%d.", msg, sha, source, line);
    else snprintf(text, size, "%s script: %s", msg, sha);
    reply_error(c, text);
    zfree(text);
}

static void script_hook(lua_State *L, lua_Debug *ar);

#define GC_STEP_PERIOD 50
static int runs_since_gc_step;

void script_lua_run(int ref, const arg *keys, int nkeys, const arg *args, int nargs,
                    struct script_run *run)
{
    lua_State *L = lua;
    client *c = run->caller;
    client *sc = script_client;
    sc->resp = 2;
    sc->db = c->db;
    sc->dbid = c->dbid;
    lua_pushcfunction(L, error_handler);
    int handler = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    int nparams = 0;
    if (run->is_function) { /* a function gets them as arguments */
        push_array(L, keys, nkeys);
        push_array(L, args, nargs);
        nparams = 2;
    } else {
        set_array_global(L, "KEYS", keys, nkeys);
        set_array_global(L, "ARGV", args, nargs);
    }
    run->start_ms = mstime();
    running = run;
    lua_sethook(L, script_hook, LUA_MASKCOUNT, 100000);
    int failed = lua_pcall(L, nparams, 1, handler);
    lua_sethook(L, NULL, 0, 0);
    running = NULL;
    if (failed) reply_script_error(c, L, run->sha);
    else script_lua_to_reply(c, L, script_client->resp);
    lua_settop(L, 0);
    if (++runs_since_gc_step == GC_STEP_PERIOD) { /* a step every so many runs, as Redis */
        lua_gc(L, LUA_GCSTEP, GC_STEP_PERIOD);
        runs_since_gc_step = 0;
    }
}

/* Called every 100000 instructions: a script past busy-reply-threshold
 * lets the server answer other clients (-BUSY) and stops when killed. */
static void script_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (running == NULL) return;
    script_busy_check(running);
    if (running->killed) {
        lua_sethook(L, script_hook, LUA_MASKCOUNT, 1); /* again at once if a pcall catches it */
        push_error_table(L, "ERR Script killed by user with SCRIPT KILL...");
        lua_error(L);
    }
}
