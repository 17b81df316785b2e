/* script_reply.h: replies <-> Lua values for scripts (script_reply.c). */
#ifndef CN_SCRIPT_REPLY_H
#define CN_SCRIPT_REPLY_H

#include <lua.h>

#include "server.h"

/* Pushes the reply waiting in c's output (the script client's) as a Lua
 * value, then empties that output. */
void script_reply_to_lua(lua_State *L, client *c);
/* Replies the value at the top of the stack to c and pops it; booleans
 * follow the script's protocol (redis.setresp), as in Redis. */
void script_lua_to_reply(client *c, lua_State *L, int script_resp);
/* The string field `name` of the table at the top, or NULL. */
const char *script_string_field(lua_State *L, const char *name, size_t *len);

#endif
