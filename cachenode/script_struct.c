/* script_struct.c: the `struct` library scripts expect (Redis bundles
 * Roberto Ierusalimschy's): struct.pack(fmt, ...), struct.unpack(fmt, s
 * [, pos]) and struct.size(fmt), converting between Lua values and binary
 * records. Format: < > = endianness, !N alignment, x padding, b B h H l L
 * T iN IN integers (N up to 32 bytes; bytes beyond 64 bits are zero), f d n floats, cN fixed strings, s zero-terminated
 * strings, spaces ignored. */
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <string.h>

#define STRUCT_MAX_INT 32     /* widest integer field in bytes */
#define STRUCT_NATIVE_ALIGN 8 /* "!" alone: the widest native alignment */

struct fmt_state {
    int little;    /* byte order */
    int max_align; /* 1: no alignment */
};

static int is_digit(int ch) { return ch >= '0' && ch <= '9'; }

static size_t read_number(const char **fmt, size_t dflt)
{
    if (!is_digit(**fmt)) return dflt;
    size_t n = 0;
    while (is_digit(**fmt) && n < 100000) n = n * 10 + (size_t)(*(*fmt)++ - '0');
    return n;
}

/* The size of the option `opt` (its digits already consumed into size). */
static size_t option_size(lua_State *L, char opt, const char **fmt)
{
    switch (opt) {
    case 'B': case 'b': case 'x': return 1;
    case 'H': case 'h': return 2;
    case 'L': case 'l': case 'T': return 8;
    case 'f': return 4;
    case 'd': case 'n': return 8;
    case 'c': return read_number(fmt, 1);
    case 'i': case 'I': {
        size_t n = read_number(fmt, 4);
        if (n > STRUCT_MAX_INT)
            luaL_error(L, "integral size %d is larger than limit of %d", (int)n, STRUCT_MAX_INT);
        return n;
    }
    default: return 0; /* s and the modifiers */
    }
}

/* Padding before a field of `size` bytes at offset `len`. */
static size_t padding(lua_State *L, const struct fmt_state *st, char opt, size_t size, size_t len)
{
    if (opt == 'c' || opt == 's' || opt == 'x' || size <= 1 || st->max_align <= 1) return 0;
    size_t align = size < (size_t)st->max_align ? size : (size_t)st->max_align;
    if (align & (align - 1)) luaL_error(L, "alignment %d is not a power of 2", (int)align);
    return (align - (len & (align - 1))) & (align - 1);
}

/* Applies a modifier; returns 1 if opt was one. */
static int modifier(lua_State *L, struct fmt_state *st, char opt, const char **fmt)
{
    switch (opt) {
    case ' ': return 1;
    case '<': st->little = 1; return 1;
    case '>': st->little = 0; return 1;
    case '=': st->little = 1; return 1;
    case '!': st->max_align = (int)read_number(fmt, STRUCT_NATIVE_ALIGN); return 1;
    case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I':
    case 'f': case 'd': case 'n': case 'c': case 's': case 'x':
        return 0;
    default:
        return luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
    }
}

/* The two's complement bits of n truncated (out of range: the nearest end). */
static uint64_t to_bits(lua_Number n)
{
    if (!(n > -9223372036854775808.0)) return (uint64_t)INT64_MIN; /* NaN too */
    if (n < 0) return (uint64_t)(int64_t)n;
    if (n >= 18446744073709551616.0) return UINT64_MAX;
    return (uint64_t)n;
}

static void put_integer(luaL_Buffer *b, uint64_t v, int little, size_t size)
{
    unsigned char buf[STRUCT_MAX_INT];
    for (size_t i = 0; i < size; i++) {
        buf[little ? i : size - 1 - i] = (unsigned char)(v & 0xff);
        v = i < 7 ? v >> 8 : 0; /* wider fields are zero-extended */
    }
    luaL_addlstring(b, (const char *)buf, size);
}

static void put_bytes(luaL_Buffer *b, const void *p, size_t size, int little)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < size; i++) luaL_addchar(b, (char)s[little ? i : size - 1 - i]);
}

static int struct_pack(lua_State *L)
{
    struct fmt_state st = {1, 1};
    const char *fmt = luaL_checkstring(L, 1);
    int arg = 2;
    size_t len = 0;
    luaL_Buffer b;
    lua_pushnil(L); /* separates the arguments from the buffer: a missing one reads as nil */
    luaL_buffinit(L, &b);
    while (*fmt) {
        char opt = *fmt++;
        if (modifier(L, &st, opt, &fmt)) continue;
        size_t size = option_size(L, opt, &fmt);
        size_t pad = padding(L, &st, opt, size, len);
        for (size_t i = 0; i < pad; i++) luaL_addchar(&b, '\0');
        len += pad;
        switch (opt) {
        case 'x':
            luaL_addchar(&b, '\0');
            break;
        case 'f': {
            float f = (float)luaL_checknumber(L, arg++);
            put_bytes(&b, &f, sizeof(f), st.little);
            break;
        }
        case 'd': case 'n': {
            double d = (double)luaL_checknumber(L, arg++);
            put_bytes(&b, &d, sizeof(d), st.little);
            break;
        }
        case 'c': case 's': {
            size_t l;
            const char *s = luaL_checklstring(L, arg++, &l);
            if (size == 0 || opt == 's') size = l;
            luaL_argcheck(L, l >= size, arg, "string too short"); /* sic: Redis names the next one */
            luaL_addlstring(&b, s, size);
            if (opt == 's') {
                luaL_addchar(&b, '\0');
                size++;
            }
            break;
        }
        default: {
            lua_Number n = luaL_checknumber(L, arg++);
            uint64_t v = to_bits(n);
            put_integer(&b, v, st.little, size);
        }
        }
        len += size;
    }
    luaL_pushresult(&b);
    return 1;
}

static uint64_t get_integer(const unsigned char *p, int little, size_t size, int is_signed)
{
    uint64_t v = 0;
    size_t low = size < 8 ? size : 8; /* wider fields: their low 8 bytes */
    for (size_t i = 0; i < low; i++) v = (v << 8) | p[little ? low - 1 - i : size - low + i];
    if (is_signed && size < 8 && (v >> (size * 8 - 1)) & 1) v |= ~(uint64_t)0 << (size * 8);
    return v;
}

static void get_bytes(void *out, const unsigned char *p, size_t size, int little)
{
    unsigned char *o = out;
    for (size_t i = 0; i < size; i++) o[i] = p[little ? i : size - 1 - i];
}

static int struct_unpack(lua_State *L)
{
    struct fmt_state st = {1, 1};
    const char *fmt = luaL_checkstring(L, 1);
    size_t ld;
    const unsigned char *data = (const unsigned char *)luaL_checklstring(L, 2, &ld);
    lua_Integer start = luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, start >= 1, 3, "offset must be 1 or greater");
    size_t pos = (size_t)start - 1;
    int pushed = 0;
    while (*fmt) {
        char opt = *fmt++;
        if (modifier(L, &st, opt, &fmt)) continue;
        size_t size = option_size(L, opt, &fmt);
        pos += padding(L, &st, opt, size, pos);
        if (opt == 'c' && size == 0) { /* c0: the length is the previous value */
            if (pushed == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
            lua_Number n = lua_tonumber(L, -1);
            size = n >= 0 && n <= (lua_Number)ld ? (size_t)n : ld + 1; /* too big: refused below */
            lua_pop(L, 1);
            pushed--;
        }
        luaL_argcheck(L, pos <= ld && size <= ld - pos, 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");
        switch (opt) {
        case 'x':
            break;
        case 'f': {
            float f;
            get_bytes(&f, data + pos, sizeof(f), st.little);
            lua_pushnumber(L, (lua_Number)f);
            pushed++;
            break;
        }
        case 'd': case 'n': {
            double d;
            get_bytes(&d, data + pos, sizeof(d), st.little);
            lua_pushnumber(L, (lua_Number)d);
            pushed++;
            break;
        }
        case 'c':
            lua_pushlstring(L, (const char *)data + pos, size);
            pushed++;
            break;
        case 's': {
            const unsigned char *end = memchr(data + pos, '\0', ld - pos);
            if (end == NULL) luaL_error(L, "unfinished string in data");
            size = (size_t)(end - (data + pos)) + 1;
            lua_pushlstring(L, (const char *)data + pos, size - 1);
            pushed++;
            break;
        }
        default: {
            int is_signed = opt == 'b' || opt == 'h' || opt == 'l' || opt == 'i';
            uint64_t v = get_integer(data + pos, st.little, size, is_signed);
            lua_pushnumber(L, is_signed ? (lua_Number)(int64_t)v : (lua_Number)v);
            pushed++;
        }
        }
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos + 1);
    return pushed + 1;
}

static int struct_size(lua_State *L)
{
    struct fmt_state st = {1, 1};
    const char *fmt = luaL_checkstring(L, 1);
    size_t pos = 0;
    while (*fmt) {
        char opt = *fmt++;
        if (modifier(L, &st, opt, &fmt)) continue;
        size_t size = option_size(L, opt, &fmt);
        pos += padding(L, &st, opt, size, pos);
        if (opt == 's') luaL_argerror(L, 1, "option 's' has no fixed size");
        if (opt == 'c' && size == 0) luaL_argerror(L, 1, "option 'c0' has no fixed size");
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos);
    return 1;
}

int luaopen_struct(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"pack", struct_pack}, {"unpack", struct_unpack}, {"size", struct_size}, {NULL, NULL}};
    luaL_register(L, "struct", fns);
    return 1;
}
