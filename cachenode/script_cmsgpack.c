/* script_cmsgpack.c: the `cmsgpack` library scripts expect: MessagePack
 * encoding of Lua values (cmsgpack.pack) and decoding (unpack, unpack_one,
 * unpack_limit), with the choices Redis's bundled library makes: integral
 * numbers as the smallest integer type, others as float32 when exact else
 * float64, tables with keys 1..n as arrays, other tables as maps, nesting
 * past 16 levels as nil. Decoding is bounded by the input and a depth. */
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define MP_MAX_NESTING 16        /* deeper tables are packed as nil */
#define MP_MAX_DECODE_DEPTH 1000 /* deeper input is refused as bad data */

/* ---- encoding ------------------------------------------------------------- */

/* The output, in a userdata at a fixed stack slot (replaced as it grows):
 * the encoder pushes and pops values freely, which luaL_Buffer forbids,
 * and the garbage collector frees it whatever error interrupts packing. */
typedef struct mp_buffer {
    lua_State *L;
    int slot;
    unsigned char *data;
    size_t len, cap;
} mp_buffer;

static void buffer_init(lua_State *L, mp_buffer *b)
{
    b->L = L;
    b->cap = 64;
    b->len = 0;
    b->data = lua_newuserdata(L, b->cap);
    b->slot = lua_gettop(L);
}

static void add_bytes(mp_buffer *b, const void *p, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap * 2 > b->len + n ? b->cap * 2 : b->len + n;
        unsigned char *grown = lua_newuserdata(b->L, cap);
        memcpy(grown, b->data, b->len);
        lua_replace(b->L, b->slot);
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void add_char(mp_buffer *b, int ch)
{
    unsigned char c = (unsigned char)ch;
    add_bytes(b, &c, 1);
}

static void put_be(mp_buffer *b, unsigned char tag, uint64_t v, int bytes)
{
    add_char(b, (char)tag);
    for (int i = bytes - 1; i >= 0; i--) add_char(b, (char)((v >> (8 * i)) & 0xff));
}

static void encode_int(mp_buffer *b, int64_t n)
{
    if (n >= 0) {
        uint64_t u = (uint64_t)n;
        if (u <= 127) add_char(b, (char)u);
        else if (u <= 0xff) put_be(b, 0xcc, u, 1);
        else if (u <= 0xffff) put_be(b, 0xcd, u, 2);
        else if (u <= 0xffffffffULL) put_be(b, 0xce, u, 4);
        else put_be(b, 0xcf, u, 8);
    } else {
        uint64_t u = (uint64_t)n;
        if (n >= -32) add_char(b, (char)(u & 0xff));
        else if (n >= -128) put_be(b, 0xd0, u & 0xff, 1);
        else if (n >= -32768) put_be(b, 0xd1, u & 0xffff, 2);
        else if (n >= -2147483648LL) put_be(b, 0xd2, u & 0xffffffffULL, 4);
        else put_be(b, 0xd3, u, 8);
    }
}

static void encode_number(mp_buffer *b, lua_Number n)
{
    if (n >= -9223372036854775808.0 && n < 9223372036854775808.0 && n == (lua_Number)(int64_t)n) {
        encode_int(b, (int64_t)n);
        return;
    }
    float f = (float)n;
    if ((double)f == n) {
        uint32_t bits;
        memcpy(&bits, &f, sizeof(bits));
        put_be(b, 0xca, bits, 4);
    } else {
        uint64_t bits;
        double d = n;
        memcpy(&bits, &d, sizeof(bits));
        put_be(b, 0xcb, bits, 8);
    }
}

static void encode_string(mp_buffer *b, const char *s, size_t len)
{
    if (len < 32) add_char(b, (char)(0xa0 | len));
    else if (len <= 0xff) put_be(b, 0xd9, len, 1);
    else if (len <= 0xffff) put_be(b, 0xda, len, 2);
    else put_be(b, 0xdb, len, 4);
    add_bytes(b, s, len);
}

static void encode_header(mp_buffer *b, size_t n, unsigned char fix, unsigned char t16, unsigned char t32)
{
    if (n < 16) add_char(b, (char)(fix | n));
    else if (n <= 0xffff) put_be(b, t16, n, 2);
    else put_be(b, t32, n, 4);
}

/* Keys 1..n and nothing else (an empty table too). */
static int table_is_array(lua_State *L)
{
    lua_Number max = 0, count = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        lua_Number k;
        if (lua_type(L, -1) != LUA_TNUMBER || (k = lua_tonumber(L, -1)) <= 0 || k != floor(k)) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
        if (k > max) max = k;
    }
    return max == count;
}

static void encode_value(lua_State *L, mp_buffer *b, int level);

/* Encodes the table at the top (left there). */
static void encode_table(lua_State *L, mp_buffer *b, int level)
{
    luaL_checkstack(L, 4, "in cmsgpack.pack");
    int t = lua_gettop(L);
    if (table_is_array(L)) {
        size_t n = lua_objlen(L, t);
        encode_header(b, n, 0x90, 0xdc, 0xdd);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, t, (int)i);
            encode_value(L, b, level + 1);
        }
        return;
    }
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        n++;
    }
    encode_header(b, n, 0x80, 0xde, 0xdf);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pushvalue(L, -2); /* key, value, key: the copy first, then the value */
        encode_value(L, b, level + 1);
        encode_value(L, b, level + 1);
    }
}

/* Encodes and pops the value at the top. */
static void encode_value(lua_State *L, mp_buffer *b, int level)
{
    int t = lua_type(L, -1);
    if (t == LUA_TTABLE && level == MP_MAX_NESTING) t = LUA_TNIL;
    switch (t) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        encode_string(b, s, len);
        break;
    }
    case LUA_TBOOLEAN: add_char(b, (char)(lua_toboolean(L, -1) ? 0xc3 : 0xc2)); break;
    case LUA_TNUMBER: encode_number(b, lua_tonumber(L, -1)); break;
    case LUA_TTABLE: encode_table(L, b, level); break;
    default: add_char(b, (char)0xc0);
    }
    lua_settop(L, lua_gettop(L) - 1);
}

static int mp_pack(lua_State *L)
{
    int nargs = lua_gettop(L);
    if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
    mp_buffer b;
    buffer_init(L, &b);
    for (int i = 1; i <= nargs; i++) {
        lua_pushvalue(L, i);
        encode_value(L, &b, 0);
    }
    lua_pushlstring(L, (const char *)b.data, b.len);
    return 1;
}

/* ---- decoding --------------------------------------------------------------- */

enum { MP_OK = 0, MP_EOF, MP_BAD };

struct mp_cursor {
    const unsigned char *p;
    size_t left;
    int err;
};

static int need(struct mp_cursor *c, size_t n)
{
    if (c->left >= n) return 1;
    c->err = MP_EOF;
    return 0;
}

static uint64_t read_be(struct mp_cursor *c, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v = (v << 8) | c->p[i];
    c->p += bytes;
    c->left -= (size_t)bytes;
    return v;
}

static void decode_value(lua_State *L, struct mp_cursor *c, int depth);

static void decode_string(lua_State *L, struct mp_cursor *c, int len_bytes, size_t fixed_len)
{
    size_t len = fixed_len;
    if (len_bytes) {
        if (!need(c, (size_t)len_bytes)) return;
        len = (size_t)read_be(c, len_bytes);
    }
    if (!need(c, len)) return;
    lua_pushlstring(L, (const char *)c->p, len);
    c->p += len;
    c->left -= len;
}

static void decode_aggregate(lua_State *L, struct mp_cursor *c, int depth, int len_bytes,
                             size_t fixed_len, int is_map)
{
    size_t n = fixed_len;
    if (len_bytes) {
        if (!need(c, (size_t)len_bytes)) return;
        n = (size_t)read_be(c, len_bytes);
    }
    if (depth >= MP_MAX_DECODE_DEPTH || !lua_checkstack(L, 4)) {
        c->err = MP_BAD;
        return;
    }
    lua_newtable(L);
    for (size_t i = 0; i < n && c->err == MP_OK; i++) {
        if (is_map) {
            decode_value(L, c, depth + 1);
            if (c->err) return;
            decode_value(L, c, depth + 1);
            if (c->err) return;
            lua_settable(L, -3);
        } else {
            lua_pushnumber(L, (lua_Number)(i + 1));
            decode_value(L, c, depth + 1);
            if (c->err) return;
            lua_settable(L, -3);
        }
    }
}

static void decode_number(lua_State *L, struct mp_cursor *c, unsigned char tag)
{
    static const int widths[] = {1, 2, 4, 8};
    int w = tag == 0xca ? 4 : tag == 0xcb ? 8 : widths[(tag - 0xcc) & 3];
    if (!need(c, (size_t)w)) return;
    uint64_t v = read_be(c, w);
    if (tag == 0xca) {
        uint32_t bits = (uint32_t)v;
        float f;
        memcpy(&f, &bits, sizeof(f));
        lua_pushnumber(L, (lua_Number)f);
    } else if (tag == 0xcb) {
        double d;
        memcpy(&d, &v, sizeof(d));
        lua_pushnumber(L, (lua_Number)d);
    } else if (tag <= 0xcf) {
        lua_pushnumber(L, (lua_Number)v);
    } else { /* signed: sign-extend from w bytes */
        int64_t s = w == 8 ? (int64_t)v : (int64_t)(v ^ (1ULL << (8 * w - 1))) - (int64_t)(1ULL << (8 * w - 1));
        lua_pushnumber(L, (lua_Number)s);
    }
}

/* Pushes one decoded value, or sets c->err (then the stack is not used). */
static void decode_value(lua_State *L, struct mp_cursor *c, int depth)
{
    if (!need(c, 1)) return;
    unsigned char tag = *c->p++;
    c->left--;
    if (tag <= 0x7f) lua_pushnumber(L, tag);
    else if (tag >= 0xe0) lua_pushnumber(L, (lua_Number)((int)tag - 256));
    else if ((tag & 0xe0) == 0xa0) decode_string(L, c, 0, tag & 0x1f);
    else if ((tag & 0xf0) == 0x90) decode_aggregate(L, c, depth, 0, tag & 0x0f, 0);
    else if ((tag & 0xf0) == 0x80) decode_aggregate(L, c, depth, 0, tag & 0x0f, 1);
    else if (tag == 0xc0) lua_pushnil(L);
    else if (tag == 0xc2 || tag == 0xc3) lua_pushboolean(L, tag == 0xc3);
    else if (tag >= 0xca && tag <= 0xd3) decode_number(L, c, tag);
    else if (tag == 0xd9 || tag == 0xc4) decode_string(L, c, 1, 0);
    else if (tag == 0xda || tag == 0xc5) decode_string(L, c, 2, 0);
    else if (tag == 0xdb || tag == 0xc6) decode_string(L, c, 4, 0);
    else if (tag == 0xdc || tag == 0xdd) decode_aggregate(L, c, depth, tag == 0xdc ? 2 : 4, 0, 0);
    else if (tag == 0xde || tag == 0xdf) decode_aggregate(L, c, depth, tag == 0xde ? 2 : 4, 0, 1);
    else c->err = MP_BAD;
}

/* Decodes up to `limit` values (all with limit 0 and offset 0) from the
 * string at index 1 starting at byte `offset`. */
static int unpack_full(lua_State *L, lua_Integer limit, lua_Integer offset)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int all = limit == 0 && offset == 0;
    if (offset < 0 || limit < 0)
        return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
                          (int)offset, (int)len);
    if ((size_t)offset > len)
        return luaL_error(L, "Start offset %d greater than input length %d.", (int)offset, (int)len);
    if (all) limit = INT_MAX;
    struct mp_cursor c = {(const unsigned char *)s + offset, len - (size_t)offset, MP_OK};
    int count = 0;
    for (; c.left > 0 && count < limit; count++) {
        luaL_checkstack(L, 2, "in cmsgpack.unpack");
        int top = lua_gettop(L);
        decode_value(L, &c, 0);
        if (c.err) {
            lua_settop(L, top);
            return luaL_error(L, c.err == MP_EOF ? "Missing bytes in input." : "Bad data format in input.");
        }
    }
    if (!all) {
        lua_pushinteger(L, c.left == 0 ? -1 : (lua_Integer)(len - c.left));
        lua_insert(L, 2);
        count++;
    }
    return count;
}

static int mp_unpack(lua_State *L) { return unpack_full(L, 0, 0); }

static int mp_unpack_one(lua_State *L)
{
    lua_Integer offset = luaL_optinteger(L, 2, 0);
    lua_settop(L, 1);
    return unpack_full(L, 1, offset);
}

static int mp_unpack_limit(lua_State *L)
{
    lua_Integer limit = luaL_checkinteger(L, 2);
    lua_Integer offset = luaL_optinteger(L, 3, 0);
    lua_settop(L, 1);
    return unpack_full(L, limit, offset);
}

int luaopen_cmsgpack(lua_State *L)
{
    static const luaL_Reg fns[] = {{"pack", mp_pack}, {"unpack", mp_unpack},
                                   {"unpack_one", mp_unpack_one}, {"unpack_limit", mp_unpack_limit},
                                   {NULL, NULL}};
    luaL_register(L, "cmsgpack", fns);
    lua_pushliteral(L, "cmsgpack");
    lua_setfield(L, -2, "_NAME");
    lua_pushliteral(L, "lua-cmsgpack 0.4.0");
    lua_setfield(L, -2, "_VERSION");
    lua_pushliteral(L, "Copyright (C) 2012, Salvatore Sanfilippo");
    lua_setfield(L, -2, "_COPYRIGHT");
    lua_pushliteral(L, "MessagePack C implementation for Lua");
    lua_setfield(L, -2, "_DESCRIPTION");
    return 1;
}
