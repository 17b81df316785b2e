/* script_lua.h: the Lua 5.1 interpreter that runs scripts (EVAL family in
 * eval.c, functions in function.c): one state for the server, its sandbox,
 * the redis.* library, and the run of one compiled script with its error
 * reply. */
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
    int is_function;     /* FCALL: KEYS and ARGV are its two arguments */
    long long start_ms;
};

/* Creates the state (allocations through zmalloc) and its sandbox. */
void script_lua_init(void);
lua_State *script_lua_state(void);
/* Closes the state and frees the script client (exit). */
void script_lua_release(void);
/* Compiles body; on success returns a registry reference to the function
 * (sandboxed), else LUA_NOREF with Redis's compile error in err. */
int script_lua_compile(const char *body, size_t len, char *err, size_t errlen);
void script_lua_unref(int ref);
/* Runs a compiled script with KEYS and ARGV and replies its result, or
 * its error, to run->caller. */
void script_lua_run(int ref, const arg *keys, int nkeys, const arg *args, int nargs,
                    struct script_run *run);
/* ---- function libraries (FUNCTION LOAD, function.c) ---- */

#define FUNCTION_FLAG_NO_WRITES (1 << 0)
#define FUNCTION_FLAG_ALLOW_OOM (1 << 1)
#define FUNCTION_FLAG_ALLOW_STALE (1 << 2)
#define FUNCTION_FLAG_NO_CLUSTER (1 << 3)
#define FUNCTION_FLAG_ALLOW_CROSS_SLOT (1 << 4)

/* The FUNCTION_FLAG_* bit of a flag's name ("no-writes"), or -1. */
int script_flag_by_name(const char *name, size_t len);
/* Why a script or function with these flags may not start (a *_RO
 * command and no no-writes; out of memory and it may write), or NULL. */
const char *script_flags_refusal(int flags, int ro_command);

/* redis.register_function, while a library loads: takes the callback's
 * registry reference; returns 0, or -1 with the error text (without the
 * "ERR " prefix) in err. */
typedef int (*script_register_fn)(void *ctx, const char *name, size_t len, int ref, int flags,
                                  const char *description, char *err, size_t errlen);
/* Runs a library's code (after its shebang line) in the loading sandbox
 * (only redis.register_function, redis.log and the LOG_* levels); the
 * functions it registers reach `reg`. Returns 0, or -1 with Redis's error
 * reply in err. */
int script_lua_load_library(const char *code, size_t len, script_register_fn reg, void *ctx,
                            char *err, size_t errlen);

/* SCRIPT KILL (function = 0) and FUNCTION KILL (1): replies. */
void scripts_kill(client *c, int function);

/* The script running now, or NULL. */
struct script_run *script_lua_running(void);
/* Bytes the Lua state holds (INFO used_memory_lua). */
size_t script_lua_memory(void);

#endif
