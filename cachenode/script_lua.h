/* script_lua.h: the Lua 5.1 interpreter that runs scripts (EVAL family in
 * eval.c): one state for the server, its sandbox, the redis.* library, the
 * conversions between replies and Lua values, and the run of one compiled
 * script with its error reply. */
#ifndef CN_SCRIPT_LUA_H
#define CN_SCRIPT_LUA_H

#include <lauxlib.h>
#include <lua.h>

#include "server.h"

/* What a running script may do and what it did. */
struct script_run {
    client *caller;
    const char *sha;     /* "script: <sha>" in error replies */
    int readonly;        /* EVAL_RO, or a script flagged no-writes */
    int wrote;           /* a write ran: SCRIPT KILL is refused */
    int killed;          /* SCRIPT KILL asked it to stop */
    int busy;            /* past busy-reply-threshold: others get -BUSY */
    long long start_ms;
};

/* Creates the state (allocations through zmalloc) and its sandbox. */
void script_lua_init(void);
/* Drops every compiled script: a fresh state (SCRIPT FLUSH). */
void script_lua_reset(void);
lua_State *script_lua_state(void);
/* Compiles body; on success returns a registry reference to the function
 * (sandboxed), else LUA_NOREF with Redis's compile error in err. */
int script_lua_compile(const char *body, size_t len, char *err, size_t errlen);
void script_lua_unref(int ref);
/* Runs a compiled script with KEYS and ARGV and replies its result, or
 * its error, to run->caller. */
void script_lua_run(int ref, const arg *keys, int nkeys, const arg *args, int nargs,
                    struct script_run *run);
/* The script running now, or NULL. */
struct script_run *script_lua_running(void);
/* Bytes the Lua state holds (INFO used_memory_lua). */
size_t script_lua_memory(void);

#endif
