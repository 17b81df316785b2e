/* script_reply.c: the conversions between command replies and Lua values,
 * both ways, in RESP2 and RESP3, as Redis documents them: a reply read back
 * from the script client becomes the value redis.call returns (status and
 * error tables, false for RESP2 nulls, map/set/double/big_number/
 * verbatim_string tables for RESP3), and a script's result becomes the
 * caller's reply (numbers truncated, arrays up to their first nil). */
#include <lauxlib.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "script_reply.h"

#define REPLY_MAX_DEPTH 1000     /* nesting of a command's reply read into Lua */
#define RETURN_MAX_DEPTH 10000   /* nesting of a returned table (Lua's stack stops it first) */

/* ---- replies to Lua values (redis.call's result) ------------------------------ */

struct reply_cursor {
    const char *p, *end;
};

static const char *line_end(struct reply_cursor *r)
{
    const char *nl = memchr(r->p, '\r', (size_t)(r->end - r->p));
    return nl ? nl : r->end;
}

static long long header_number(struct reply_cursor *r)
{
    const char *e = line_end(r);
    long long v = 0;
    if (!string2ll(r->p + 1, (size_t)(e - r->p - 1), &v)) v = 0;
    r->p = e + 2 <= r->end ? e + 2 : r->end;
    return v;
}

static void push_line_string(lua_State *L, struct reply_cursor *r)
{
    const char *e = line_end(r);
    lua_pushlstring(L, r->p + 1, (size_t)(e - r->p - 1));
    r->p = e + 2 <= r->end ? e + 2 : r->end;
}

/* {name = <top of stack>} */
static void wrap_in_field(lua_State *L, const char *name)
{
    lua_newtable(L);
    lua_insert(L, -2);
    lua_setfield(L, -2, name);
}

static void push_reply(lua_State *L, struct reply_cursor *r, int depth);

static void push_aggregate(lua_State *L, struct reply_cursor *r, int depth, char kind)
{
    long long n = header_number(r);
    if (n < 0) { /* RESP2 null array */
        lua_pushboolean(L, 0);
        return;
    }
    lua_newtable(L);
    for (long long i = 0; i < n && r->p < r->end; i++) {
        if (kind == '%') {
            push_reply(L, r, depth + 1);
            push_reply(L, r, depth + 1);
            lua_settable(L, -3);
        } else if (kind == '~') {
            push_reply(L, r, depth + 1);
            lua_pushboolean(L, 1);
            lua_settable(L, -3);
        } else {
            push_reply(L, r, depth + 1);
            lua_rawseti(L, -2, (int)(i + 1));
        }
    }
    if (kind == '%') wrap_in_field(L, "map");
    else if (kind == '~') wrap_in_field(L, "set");
}

static void push_bulk(lua_State *L, struct reply_cursor *r, char kind)
{
    long long n = header_number(r);
    if (n < 0) {
        lua_pushboolean(L, 0);
        return;
    }
    if (n > r->end - r->p) n = r->end - r->p;
    if (kind == '=' && n >= 4) { /* verbatim: "txt:" then the text */
        lua_newtable(L);
        lua_pushlstring(L, r->p, 3);
        lua_setfield(L, -2, "format");
        lua_pushlstring(L, r->p + 4, (size_t)n - 4);
        lua_setfield(L, -2, "string");
        wrap_in_field(L, "verbatim_string");
    } else {
        lua_pushlstring(L, r->p, (size_t)n);
    }
    r->p += n + 2 <= r->end - r->p ? n + 2 : r->end - r->p;
}

static void push_reply(lua_State *L, struct reply_cursor *r, int depth)
{
    if (r->p >= r->end || depth > REPLY_MAX_DEPTH || !lua_checkstack(L, 4)) {
        lua_pushnil(L);
        r->p = r->end;
        return;
    }
    char kind = *r->p;
    switch (kind) {
    case ':':
        lua_pushnumber(L, (lua_Number)header_number(r));
        break;
    case '$': case '=':
        push_bulk(L, r, kind);
        break;
    case '+': case '-':
        push_line_string(L, r);
        wrap_in_field(L, kind == '+' ? "ok" : "err");
        break;
    case '*': case '%': case '~':
        push_aggregate(L, r, depth, kind);
        break;
    case '_':
        header_number(r);
        lua_pushnil(L);
        break;
    case '#':
        lua_pushboolean(L, r->p + 1 < r->end && r->p[1] == 't');
        header_number(r);
        break;
    case ',': case '(':
        push_line_string(L, r);
        if (kind == ',') {
            lua_pushnumber(L, strtod(lua_tostring(L, -1), NULL));
            lua_remove(L, -2);
        }
        wrap_in_field(L, kind == ',' ? "double" : "big_number");
        break;
    default:
        lua_pushnil(L);
        r->p = r->end;
    }
}

void script_reply_to_lua(lua_State *L, client *c)
{
    struct reply_cursor r;
    char *joined = NULL;
    if (c->reply_head == NULL) {
        r.p = c->buf;
        r.end = c->buf + c->bufpos;
    } else {
        size_t total = c->bufpos;
        for (struct reply_block *b = c->reply_head; b; b = b->next) total += b->used;
        joined = zmalloc(total ? total : 1);
        memcpy(joined, c->buf, c->bufpos);
        size_t off = c->bufpos;
        for (struct reply_block *b = c->reply_head; b; b = b->next) {
            memcpy(joined + off, b->buf, b->used);
            off += b->used;
        }
        r.p = joined;
        r.end = joined + total;
    }
    push_reply(L, &r, 0);
    zfree(joined);
    while (c->reply_head) {
        struct reply_block *next = c->reply_head->next;
        zfree(c->reply_head);
        c->reply_head = next;
    }
    c->reply_tail = NULL;
    c->reply_bytes = 0;
    c->bufpos = 0;
}

/* ---- Lua values to replies (the script's result) --------------------------------- */

static void reply_lua_value(client *c, lua_State *L, int depth, int script_resp);

/* The string field `name` of the table at the top, or NULL. */
const char *script_string_field(lua_State *L, const char *name, size_t *len)
{
    lua_pushstring(L, name);
    lua_rawget(L, -2);
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, len) : NULL;
    lua_pop(L, 1); /* the string stays alive: the table holds it */
    return s;
}

/* A status or error line: CR and LF become spaces, as Redis does. */
static void reply_sanitized(client *c, const char *s, size_t len, int error)
{
    char small[256];
    char *buf = len < sizeof(small) ? small : zmalloc(len + 1);
    for (size_t i = 0; i < len; i++) buf[i] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
    buf[len] = '\0';
    if (error) reply_error(c, buf);
    else reply_status(c, buf);
    if (buf != small) zfree(buf);
}

static void reply_lua_map(client *c, lua_State *L, int depth, int is_set, int script_resp)
{
    long n = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        n++;
        lua_pop(L, 1);
    }
    if (is_set) reply_set(c, n);
    else reply_map(c, n);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        reply_lua_value(c, L, depth + 1, script_resp); /* the key (pops its copy) */
        if (is_set) lua_pop(L, 1);
        else reply_lua_value(c, L, depth + 1, script_resp);
    }
}

static void reply_lua_array(client *c, lua_State *L, int depth, int script_resp)
{
    void *len = reply_deferred(c);
    long n = 0;
    for (;;) {
        lua_rawgeti(L, -1, (int)(n + 1));
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        reply_lua_value(c, L, depth + 1, script_resp);
        n++;
    }
    reply_set_deferred_array(c, len, n);
}

/* A table: error, status, RESP3 types, else an array up to its first nil. */
static void reply_lua_table(client *c, lua_State *L, int depth, int script_resp)
{
    size_t len;
    const char *s;
    if ((s = script_string_field(L, "err", &len))) return reply_sanitized(c, s, len, 1);
    if ((s = script_string_field(L, "ok", &len))) return reply_sanitized(c, s, len, 0);
    lua_pushstring(L, "double");
    lua_rawget(L, -2);
    if (lua_type(L, -1) == LUA_TNUMBER) {
        reply_double(c, lua_tonumber(L, -1));
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    if ((s = script_string_field(L, "big_number", &len))) {
        if (c->resp == 3) {
            reply_raw(c, "(", 1);
            reply_raw(c, s, len);
            reply_raw(c, "\r\n", 2);
        } else {
            reply_bulk(c, s, len);
        }
        return;
    }
    static const char *const aggregates[] = {"map", "set"};
    for (int i = 0; i < 2; i++) {
        lua_pushstring(L, aggregates[i]);
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TTABLE) {
            reply_lua_map(c, L, depth, i == 1, script_resp);
            lua_pop(L, 1);
            return;
        }
        lua_pop(L, 1);
    }
    lua_pushstring(L, "verbatim_string");
    lua_rawget(L, -2);
    if (lua_type(L, -1) == LUA_TTABLE) {
        size_t flen, slen;
        const char *fmt = script_string_field(L, "format", &flen);
        const char *str = script_string_field(L, "string", &slen);
        if (fmt && str && flen == 3) {
            reply_verbatim(c, str, slen, fmt);
            lua_pop(L, 1);
            return;
        }
    }
    lua_pop(L, 1);
    reply_lua_array(c, L, depth, script_resp);
}

static void reply_lua_value(client *c, lua_State *L, int depth, int script_resp)
{
    if (depth > RETURN_MAX_DEPTH || !lua_checkstack(L, 4)) {
        reply_error(c, "ERR reached lua stack limit");
        lua_pop(L, 1);
        return;
    }
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        reply_bulk(c, s, len);
        break;
    }
    case LUA_TBOOLEAN: /* by the script's protocol (redis.setresp), as Redis does */
        if (script_resp == 2) {
            if (lua_toboolean(L, -1)) reply_int(c, 1);
            else reply_null(c);
        } else {
            reply_bool(c, lua_toboolean(L, -1));
        }
        break;
    case LUA_TNUMBER: {
        /* truncated; NaN and out-of-range values give what x86's conversion
         * gives Redis (LLONG_MIN), without undefined behaviour here */
        lua_Number n = lua_tonumber(L, -1);
        int fits = n >= -9223372036854775808.0 && n < 9223372036854775808.0;
        reply_int(c, fits ? (long long)n : LLONG_MIN);
        break;
    }
    case LUA_TTABLE:
        reply_lua_table(c, L, depth, script_resp);
        break;
    default:
        reply_null(c);
    }
    lua_pop(L, 1);
}

void script_lua_to_reply(client *c, lua_State *L, int script_resp) { reply_lua_value(c, L, 0, script_resp); }
