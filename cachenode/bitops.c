/* bitops.c: the bitmap commands on string values: SETBIT, GETBIT,
 * BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO, their command table,
 * and the bit helpers they share (popcount, first set/clear bit, bitfield
 * reads and writes with overflow handling).
 *
 * Bit 0 is the most significant bit of the first byte, as in Redis. Replies,
 * error texts and the order of argument checks follow Redis 7.0, because
 * clients and tests observe which error comes first. A string a bit command
 * writes becomes a raw string (OBJECT ENCODING "raw"), as in Redis. */
#include <limits.h>
#include <string.h>

#include "notify.h"
#include "server.h"

#define BIT_OFFSET_ERR "ERR bit offset is not an integer or out of range"
#define BITFIELD_TYPE_ERR \
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."

/* ---- counting and searching ---------------------------------------------- */

/* Set bits in p[0..n), eight bytes at a time. */
long long bits_popcount(const unsigned char *p, size_t n)
{
    long long count = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        count += __builtin_popcountll(w);
    }
    for (; i < n; i++) count += __builtin_popcount(p[i]);
    return count;
}

/* Position of the first bit equal to `bit` in p[0..n). Not found: -1 for a
 * set bit; for a clear bit n*8, since the string is taken as padded with
 * zeros on the right. */
static long long first_bit(const unsigned char *p, size_t n, int bit)
{
    unsigned char skip = bit ? 0x00 : 0xff;
    size_t i = 0;
    uint64_t skipword = bit ? 0 : UINT64_MAX;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w != skipword) break;
    }
    while (i < n && p[i] == skip) i++;
    if (i == n) return bit ? -1 : (long long)n * 8;
    unsigned char b = bit ? p[i] : (unsigned char)~p[i];
    return (long long)i * 8 + (__builtin_clz((unsigned)b) - 24);
}

/* ---- arguments ------------------------------------------------------------- */

/* A bit offset, "#N" (N * bits) for BITFIELD when bits > 0. Refused when
 * negative or past proto-max-bulk-len bytes. */
static int parse_bit_offset(client *c, const arg *a, int hash_ok, int bits, uint64_t *out)
{
    int use_hash = hash_ok && bits > 0 && a->len > 0 && a->p[0] == '#';
    long long v;
    if (!string2ll(a->p + use_hash, a->len - (size_t)use_hash, &v) ||
        (use_hash && __builtin_mul_overflow(v, (long long)bits, &v)) || v < 0 ||
        (v >> 3) >= server.proto_max_bulk_len) {
        reply_error(c, BIT_OFFSET_ERR);
        return 0;
    }
    *out = (uint64_t)v;
    return 1;
}

/* A BITFIELD type: i1..i64 or u1..u63. */
static int parse_bitfield_type(client *c, const arg *a, int *is_signed, int *bits)
{
    size_t len = strnlen(a->p, a->len); /* Redis reads it as a C string */
    long long v;
    char t = len ? a->p[0] : '\0';
    *is_signed = t == 'i' || t == 'I';
    if ((!*is_signed && t != 'u' && t != 'U') || !string2ll(a->p + 1, len - 1, &v) || v < 1 ||
        v > (*is_signed ? 64 : 63)) {
        reply_error(c, BITFIELD_TYPE_ERR);
        return 0;
    }
    *bits = (int)v;
    return 1;
}

/* BYTE or BIT as the unit of a range; replies a syntax error otherwise. */
static int parse_range_unit(client *c, const arg *a, int *is_bit)
{
    if (string_option_is(a, "bit")) *is_bit = 1;
    else if (string_option_is(a, "byte")) *is_bit = 0;
    else {
        reply_syntax_error(c);
        return 0;
    }
    return 1;
}

/* ---- string access ---------------------------------------------------------- */

/* The string at the key for writing, made raw and at least `bytes` long
 * (zero-padded), created when missing. NULL after WRONGTYPE. */
static rawstr *string_for_bit_write(client *c, const arg *key, size_t bytes)
{
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_STRING, &e)) return NULL;
    if (e == NULL) e = db_add_string(c->db, key->p, key->len, "", 0);
    e = db_make_raw(c->db, e, bytes);
    rawstr *r = entry_rawstr(e);
    if (r->len < bytes) {
        memset(r->buf + r->len, 0, bytes - r->len);
        r->len = bytes;
        r->buf[bytes] = '\0';
    }
    return r;
}

/* ---- SETBIT and GETBIT ------------------------------------------------------ */

static void setbit_command(client *c)
{
    uint64_t offset;
    long long on;
    if (!parse_bit_offset(c, &c->argv[2], 0, 0, &offset)) return;
    if (!arg_to_ll_msg(c, &c->argv[3], &on, "ERR bit is not an integer or out of range")) return;
    if (on & ~1LL) {
        reply_error(c, "ERR bit is not an integer or out of range");
        return;
    }
    rawstr *r = string_for_bit_write(c, &c->argv[1], (size_t)(offset >> 3) + 1);
    if (r == NULL) return;
    unsigned char *byte = (unsigned char *)r->buf + (offset >> 3);
    int shift = 7 - (int)(offset & 7);
    int old = (*byte >> shift) & 1;
    *byte = (unsigned char)((*byte & ~(1 << shift)) | ((int)on << shift));
    key_modified(c->db, &c->argv[1]);
    notify_keyspace_event(NOTIFY_STRING, "setbit", c->argv[1].p, c->argv[1].len, c->dbid);
    reply_int(c, old);
}

static void getbit_command(client *c)
{
    uint64_t offset;
    if (!parse_bit_offset(c, &c->argv[2], 0, 0, &offset)) return;
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_STRING, &e)) return;
    int bit = 0;
    if (e) {
        char buf[24];
        size_t len;
        const unsigned char *s = (const unsigned char *)entry_string(e, buf, &len);
        if ((offset >> 3) < len) bit = (s[offset >> 3] >> (7 - (offset & 7))) & 1;
    }
    reply_int(c, bit);
}

/* ---- ranges (BITCOUNT, BITPOS) ---------------------------------------------- */

/* A range resolved to bytes [start, end], with masks of the bits of the
 * edge bytes that lie outside a BIT range (0: the whole byte counts). */
struct bit_range {
    long long start, end;
    unsigned char first_out, last_out;
};

/* Resolves negative and out-of-string indexes against `len` bytes, as
 * Redis does for both commands. */
static void resolve_range(struct bit_range *rg, long long len, int is_bit)
{
    long long total = is_bit ? len << 3 : len;
    if (rg->start < 0) rg->start += total;
    if (rg->end < 0) rg->end += total;
    if (rg->start < 0) rg->start = 0;
    if (rg->end < 0) rg->end = 0;
    if (rg->end >= total) rg->end = total - 1;
    rg->first_out = rg->last_out = 0;
    if (is_bit && rg->start <= rg->end) {
        rg->first_out = (unsigned char)(~((1 << (8 - (rg->start & 7))) - 1) & 0xff);
        rg->last_out = (unsigned char)((1 << (7 - (rg->end & 7))) - 1);
        rg->start >>= 3;
        rg->end >>= 3;
    }
}

/* The string BITCOUNT and BITPOS read (an integer is formatted into buf);
 * NULL after replying `missing` for a missing key, or WRONGTYPE. */
static const unsigned char *string_for_bit_read(client *c, long long missing, char *buf, size_t *len)
{
    entry *e = lookup_read(c, &c->argv[1]);
    if (e == NULL) {
        reply_int(c, missing);
        return NULL;
    }
    if (e->type != TYPE_STRING) {
        reply_wrongtype(c);
        return NULL;
    }
    return (const unsigned char *)entry_string(e, buf, len);
}

static void bitcount_command(client *c)
{
    char buf[24];
    size_t slen;
    const unsigned char *p = string_for_bit_read(c, 0, buf, &slen);
    if (p == NULL) return;
    struct bit_range rg = {0, (long long)slen - 1, 0, 0};
    if (c->argc == 4 || c->argc == 5) {
        int is_bit = 0;
        if (!arg_to_ll(c, &c->argv[2], &rg.start) || !arg_to_ll(c, &c->argv[3], &rg.end)) return;
        if (c->argc == 5 && !parse_range_unit(c, &c->argv[4], &is_bit)) return;
        if (rg.start < 0 && rg.end < 0 && rg.start > rg.end) {
            reply_int(c, 0);
            return;
        }
        resolve_range(&rg, (long long)slen, is_bit);
    } else if (c->argc != 2) {
        reply_syntax_error(c);
        return;
    }
    if (rg.start > rg.end) {
        reply_int(c, 0);
        return;
    }
    long long count = bits_popcount(p + rg.start, (size_t)(rg.end - rg.start + 1));
    unsigned char edges[2] = {(unsigned char)(p[rg.start] & rg.first_out),
                              (unsigned char)(p[rg.end] & rg.last_out)};
    count -= bits_popcount(edges, 2);
    reply_int(c, count);
}

/* First `bit` in bytes [rg->start, rg->end] with the edge masks applied;
 * relative to rg->start, which it may advance past the bytes it consumed
 * (as *remaining says how many bytes the result counts from). */
static long long bitpos_in_range(const unsigned char *p, struct bit_range *rg, int bit,
                                 long long *remaining)
{
    long long bytes = rg->end - rg->start + 1, pos;
    unsigned char one;
    if (rg->first_out) {
        one = bit ? (unsigned char)(p[rg->start] & ~rg->first_out)
                  : (unsigned char)(p[rg->start] | rg->first_out);
        if (rg->last_out && bytes == 1)
            one = bit ? (unsigned char)(one & ~rg->last_out) : (unsigned char)(one | rg->last_out);
        pos = first_bit(&one, 1, bit);
        if (bytes == 1 || (pos != -1 && pos != 8)) goto done;
        rg->start++;
        bytes--;
    }
    long long middle = bytes - (rg->last_out ? 1 : 0);
    if (middle > 0) {
        pos = first_bit(p + rg->start, (size_t)middle, bit);
        if (bytes == middle || (pos != -1 && pos != middle << 3)) goto done;
        rg->start += middle;
        bytes -= middle;
    }
    one = bit ? (unsigned char)(p[rg->end] & ~rg->last_out)
              : (unsigned char)(p[rg->end] | rg->last_out);
    pos = first_bit(&one, 1, bit);
done:
    *remaining = bytes;
    return pos;
}

static void bitpos_command(client *c)
{
    long long bit;
    if (!arg_to_ll(c, &c->argv[2], &bit)) return;
    if (bit != 0 && bit != 1) {
        reply_error(c, "ERR The bit argument must be 1 or 0.");
        return;
    }
    char buf[24];
    size_t slen;
    const unsigned char *p = string_for_bit_read(c, bit ? -1 : 0, buf, &slen);
    if (p == NULL) return;
    struct bit_range rg = {0, (long long)slen - 1, 0, 0};
    int end_given = 0;
    if (c->argc >= 4 && c->argc <= 6) {
        int is_bit = 0;
        if (!arg_to_ll(c, &c->argv[3], &rg.start)) return;
        if (c->argc == 6 && !parse_range_unit(c, &c->argv[5], &is_bit)) return;
        if (c->argc >= 5) {
            if (!arg_to_ll(c, &c->argv[4], &rg.end)) return;
            end_given = 1;
        }
        resolve_range(&rg, (long long)slen, is_bit);
    } else if (c->argc != 3) {
        reply_syntax_error(c);
        return;
    }
    /* an empty range holds neither a 0 nor a 1 */
    if (rg.start > rg.end) {
        reply_int(c, -1);
        return;
    }
    long long remaining;
    long long pos = bitpos_in_range(p, &rg, (int)bit, &remaining);
    /* With an explicit end the string is not zero-padded past it: no clear
     * bit in the range is -1, not the first bit after it. */
    if (end_given && bit == 0 && pos == remaining << 3) {
        reply_int(c, -1);
        return;
    }
    if (pos != -1) pos += rg.start << 3;
    reply_int(c, pos);
}

/* ---- BITOP ------------------------------------------------------------------ */

enum bitop_kind { BITOP_AND, BITOP_OR, BITOP_XOR, BITOP_NOT };

struct bitop_source {
    const unsigned char *p;
    size_t len;
    char intbuf[24];
};

static void bitop_compute(enum bitop_kind op, struct bitop_source *src, int n, unsigned char *out,
                          size_t maxlen)
{
    for (size_t j = 0; j < maxlen; j++) {
        unsigned char v = j < src[0].len ? src[0].p[j] : 0;
        if (op == BITOP_NOT) v = (unsigned char)~v;
        for (int i = 1; i < n; i++) {
            unsigned char b = j < src[i].len ? src[i].p[j] : 0;
            if (op == BITOP_AND) v &= b;
            else if (op == BITOP_OR) v |= b;
            else v ^= b;
        }
        out[j] = v;
    }
}

/* Stores the result as a raw string at the destination (replacing any
 * value and TTL), or deletes the destination when the result is empty. */
static void bitop_store(client *c, const arg *dst, const unsigned char *res, size_t len)
{
    entry *e = lookup_write(c, dst);
    if (len == 0) {
        if (e == NULL) return;
        db_delete_entry(c->db, e);
        key_modified(c->db, dst);
        notify_keyspace_event(NOTIFY_GENERIC, "del", dst->p, dst->len, c->dbid);
        return;
    }
    if (e) db_delete_entry(c->db, e);
    e = db_add_string(c->db, dst->p, dst->len, "", 0);
    e = db_make_raw(c->db, e, len);
    rawstr *r = entry_rawstr(e);
    memcpy(r->buf, res, len);
    r->len = len;
    r->buf[len] = '\0';
    key_modified(c->db, dst);
    notify_keyspace_event(NOTIFY_STRING, "set", dst->p, dst->len, c->dbid);
}

static void bitop_command(client *c)
{
    enum bitop_kind op;
    const arg *opname = &c->argv[1];
    if (string_option_is(opname, "and")) op = BITOP_AND;
    else if (string_option_is(opname, "or")) op = BITOP_OR;
    else if (string_option_is(opname, "xor")) op = BITOP_XOR;
    else if (string_option_is(opname, "not")) op = BITOP_NOT;
    else {
        reply_syntax_error(c);
        return;
    }
    if (op == BITOP_NOT && c->argc != 4) {
        reply_error(c, "ERR BITOP NOT must be called with a single source key.");
        return;
    }
    int n = c->argc - 3;
    struct bitop_source *src = zmalloc(sizeof(*src) * (size_t)n);
    size_t maxlen = 0;
    for (int i = 0; i < n; i++) {
        entry *e = lookup_read(c, &c->argv[i + 3]);
        src[i].p = NULL;
        src[i].len = 0;
        if (e == NULL) continue;
        if (e->type != TYPE_STRING) {
            zfree(src);
            reply_wrongtype(c);
            return;
        }
        src[i].p = (const unsigned char *)entry_string(e, src[i].intbuf, &src[i].len);
        if (src[i].len > maxlen) maxlen = src[i].len;
    }
    unsigned char *res = maxlen ? zmalloc(maxlen) : NULL;
    if (maxlen) bitop_compute(op, src, n, res, maxlen);
    zfree(src);
    bitop_store(c, &c->argv[2], res, maxlen);
    if (res) zfree(res);
    reply_int(c, (long long)maxlen);
}

/* ---- BITFIELD ---------------------------------------------------------------- */

enum bf_opcode { BF_GET, BF_SET, BF_INCRBY };
enum bf_overflow { BF_WRAP, BF_SAT, BF_FAIL };

struct bf_op {
    uint64_t offset;
    long long value; /* SET's value or INCRBY's increment */
    enum bf_opcode opcode;
    enum bf_overflow overflow;
    int bits, is_signed;
};

static uint64_t bf_get_unsigned(const unsigned char *p, uint64_t offset, int bits)
{
    uint64_t v = 0;
    for (int j = 0; j < bits; j++, offset++) {
        uint64_t bit = (p[offset >> 3] >> (7 - (offset & 7))) & 1;
        v = (v << 1) | bit;
    }
    return v;
}

static int64_t bf_get_signed(const unsigned char *p, uint64_t offset, int bits)
{
    uint64_t v = bf_get_unsigned(p, offset, bits);
    if (bits < 64 && (v & ((uint64_t)1 << (bits - 1)))) v |= UINT64_MAX << bits;
    return (int64_t)v;
}

static void bf_set(unsigned char *p, uint64_t offset, int bits, uint64_t v)
{
    for (int j = 0; j < bits; j++, offset++) {
        unsigned char mask = (unsigned char)(1 << (7 - (offset & 7)));
        if ((v >> (bits - 1 - j)) & 1) p[offset >> 3] |= mask;
        else p[offset >> 3] &= (unsigned char)~mask;
    }
}

/* value + incr with unsigned `bits`-wide overflow handling: returns 0 when
 * it fits, else nonzero with *out the wrapped or saturated result. */
static int bf_unsigned_overflow(uint64_t value, long long incr, int bits, enum bf_overflow ow,
                                uint64_t *out)
{
    uint64_t max = ((uint64_t)1 << bits) - 1; /* bits <= 63 */
    int64_t room_up = (int64_t)(max - value);
    int64_t room_down = -(int64_t)value;
    int over = value > max || (incr > 0 && incr > room_up);
    int under = !over && incr < 0 && incr < room_down;
    if (!over && !under) return 0;
    if (ow == BF_WRAP) *out = (value + (uint64_t)incr) & max;
    else if (ow == BF_SAT) *out = over ? max : 0;
    return over ? 1 : -1;
}

static int bf_signed_overflow(int64_t value, long long incr, int bits, enum bf_overflow ow,
                              int64_t *out)
{
    int64_t max = bits == 64 ? INT64_MAX : (int64_t)(((uint64_t)1 << (bits - 1)) - 1);
    int64_t min = -max - 1;
    /* the rooms may wrap, but are only used once value is in range */
    int64_t room_up = (int64_t)((uint64_t)max - (uint64_t)value);
    int64_t room_down = (int64_t)((uint64_t)min - (uint64_t)value);
    int over = value > max || (bits != 64 && incr > room_up) ||
               (value >= 0 && incr > 0 && incr > room_up);
    int under = !over && (value < min || (bits != 64 && incr < room_down) ||
                          (value < 0 && incr < 0 && incr < room_down));
    if (!over && !under) return 0;
    if (ow == BF_WRAP) {
        uint64_t sum = (uint64_t)value + (uint64_t)incr;
        if (bits < 64) {
            uint64_t high = UINT64_MAX << bits;
            sum = (sum & ((uint64_t)1 << (bits - 1))) ? sum | high : sum & ~high;
        }
        *out = (int64_t)sum;
    } else if (ow == BF_SAT) {
        *out = over ? max : min;
    }
    return over ? 1 : -1;
}

/* Parses the subcommands into ops; *writes says whether any writes, and
 * *highest the last bit a write touches. */
static struct bf_op *bf_parse(client *c, int *nops, int *writes, uint64_t *highest)
{
    struct bf_op *ops = zmalloc(sizeof(*ops) * (size_t)(c->argc / 3 + 1));
    enum bf_overflow ow = BF_WRAP;
    *nops = 0;
    *writes = 0;
    *highest = 0;
    for (int j = 2; j < c->argc; j++) {
        int rem = c->argc - j - 1;
        const arg *sub = &c->argv[j];
        struct bf_op op = {0, 0, BF_GET, ow, 0, 0};
        if (string_option_is(sub, "get") && rem >= 2) op.opcode = BF_GET;
        else if (string_option_is(sub, "set") && rem >= 3) op.opcode = BF_SET;
        else if (string_option_is(sub, "incrby") && rem >= 3) op.opcode = BF_INCRBY;
        else if (string_option_is(sub, "overflow") && rem >= 1) {
            const arg *t = &c->argv[++j];
            if (string_option_is(t, "wrap")) ow = BF_WRAP;
            else if (string_option_is(t, "sat")) ow = BF_SAT;
            else if (string_option_is(t, "fail")) ow = BF_FAIL;
            else {
                reply_error(c, "ERR Invalid OVERFLOW type specified");
                goto fail;
            }
            continue;
        } else {
            reply_syntax_error(c);
            goto fail;
        }
        if (!parse_bitfield_type(c, &c->argv[j + 1], &op.is_signed, &op.bits)) goto fail;
        if (!parse_bit_offset(c, &c->argv[j + 2], 1, op.bits, &op.offset)) goto fail;
        if (op.opcode != BF_GET) {
            *writes = 1;
            if (*highest < op.offset + (uint64_t)op.bits - 1) *highest = op.offset + (uint64_t)op.bits - 1;
            if (!arg_to_ll(c, &c->argv[j + 3], &op.value)) goto fail;
        }
        ops[(*nops)++] = op;
        j += op.opcode == BF_GET ? 2 : 3;
    }
    return ops;
fail:
    zfree(ops);
    return NULL;
}

/* A GET reads through a zero-padded 9-byte window, so fields past the end
 * of the string (or of a missing key) read as zeros. */
static void bf_reply_get(client *c, const struct bf_op *op, const unsigned char *s, size_t len)
{
    unsigned char win[9] = {0};
    uint64_t byte = op->offset >> 3;
    for (uint64_t i = 0; i < 9 && s && byte + i < len; i++) win[i] = s[byte + i];
    uint64_t off = op->offset - byte * 8;
    if (op->is_signed) reply_int(c, bf_get_signed(win, off, op->bits));
    else reply_int(c, (long long)bf_get_unsigned(win, off, op->bits));
}

/* SET and INCRBY, one path: SET is an increment of zero on the new value. */
static void bf_apply_write(client *c, const struct bf_op *op, unsigned char *p)
{
    int over;
    uint64_t newval;
    long long reply;
    if (op->is_signed) {
        int64_t old = bf_get_signed(p, op->offset, op->bits), nv, wrapped = 0;
        if (op->opcode == BF_INCRBY) {
            over = bf_signed_overflow(old, op->value, op->bits, op->overflow, &wrapped);
            nv = over ? wrapped : (int64_t)((uint64_t)old + (uint64_t)op->value);
            reply = nv;
        } else {
            over = bf_signed_overflow(op->value, 0, op->bits, op->overflow, &wrapped);
            nv = over ? wrapped : op->value;
            reply = old;
        }
        newval = (uint64_t)nv;
    } else {
        uint64_t old = bf_get_unsigned(p, op->offset, op->bits), nv, wrapped = 0;
        if (op->opcode == BF_INCRBY) {
            over = bf_unsigned_overflow(old, op->value, op->bits, op->overflow, &wrapped);
            nv = over ? wrapped : old + (uint64_t)op->value;
            reply = (long long)nv;
        } else {
            over = bf_unsigned_overflow((uint64_t)op->value, 0, op->bits, op->overflow, &wrapped);
            nv = over ? wrapped : (uint64_t)op->value;
            reply = (long long)old;
        }
        newval = nv;
    }
    if (over && op->overflow == BF_FAIL) {
        reply_null(c); /* FAIL: nothing written */
        return;
    }
    reply_int(c, reply);
    bf_set(p, op->offset, op->bits, newval);
}

static void bitfield_generic(client *c, int read_only_cmd)
{
    int nops, writes;
    uint64_t highest;
    struct bf_op *ops = bf_parse(c, &nops, &writes, &highest);
    if (ops == NULL) return;
    const unsigned char *s = NULL;
    unsigned char *w = NULL;
    size_t len = 0;
    char intbuf[24];
    if (!writes) {
        entry *e = lookup_read(c, &c->argv[1]);
        if (e && e->type != TYPE_STRING) {
            reply_wrongtype(c);
            zfree(ops);
            return;
        }
        if (e) s = (const unsigned char *)entry_string(e, intbuf, &len);
    } else {
        if (read_only_cmd) {
            zfree(ops);
            reply_error(c, "ERR BITFIELD_RO only supports the GET subcommand");
            return;
        }
        rawstr *r = string_for_bit_write(c, &c->argv[1], (size_t)(highest >> 3) + 1);
        if (r == NULL) {
            zfree(ops);
            return;
        }
        w = (unsigned char *)r->buf;
        s = w;
        len = r->len;
    }
    reply_array(c, nops);
    long long changes = 0;
    for (int j = 0; j < nops; j++) {
        if (ops[j].opcode == BF_GET) {
            bf_reply_get(c, &ops[j], s, len);
        } else {
            bf_apply_write(c, &ops[j], w);
            changes++;
        }
    }
    if (changes) {
        key_modified(c->db, &c->argv[1]);
        server.dirty += changes - 1; /* Redis counts one change per write op */
        notify_keyspace_event(NOTIFY_STRING, "setbit", c->argv[1].p, c->argv[1].len, c->dbid);
    }
    zfree(ops);
}

static void bitfield_command(client *c) { bitfield_generic(c, 0); }
static void bitfield_ro_command(client *c) { bitfield_generic(c, 1); }

/* ---- the table ---------------------------------------------------------------- */

struct command bitmap_commands[] = {
    {"setbit", setbit_command, 4, CMD_WRITE | CMD_DENYOOM, ACL_BITMAP, 1, 1, 1, "RW access update", NULL, "bitmap", "Sets or clears the bit at offset in the string value stored at key", "2.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"getbit", getbit_command, 3, CMD_READONLY | CMD_FAST, ACL_BITMAP, 1, 1, 1, "RO access", NULL, "bitmap", "Returns the bit value at offset in the string value stored at key", "2.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"bitcount", bitcount_command, -2, CMD_READONLY, ACL_BITMAP, 1, 1, 1, "RO access", NULL, "bitmap", "Count set bits in a string", "2.6.0", "O(N)", NULL, 0, 0, 0, 0},
    {"bitpos", bitpos_command, -3, CMD_READONLY, ACL_BITMAP, 1, 1, 1, "RO access", NULL, "bitmap", "Find first bit set or clear in a string", "2.8.7", "O(N)", NULL, 0, 0, 0, 0},
    {"bitop", bitop_command, -4, CMD_WRITE | CMD_DENYOOM, ACL_BITMAP, 2, -1, 1, "OW update @2;RO access @3~-1,1,0", NULL, "bitmap", "Perform bitwise operations between strings", "2.6.0", "O(N)", NULL, 0, 0, 0, 0},
    {"bitfield", bitfield_command, -2, CMD_WRITE | CMD_DENYOOM, ACL_BITMAP, 1, 1, 1, "RW access update variable_flags (This command allows both access and modification of the key)", NULL, "bitmap", "Perform arbitrary bitfield integer operations on strings", "3.2.0", "O(1) for each subcommand specified", NULL, 0, 0, 0, 0},
    {"bitfield_ro", bitfield_ro_command, -2, CMD_READONLY | CMD_FAST, ACL_BITMAP, 1, 1, 1, "RO access", NULL, "bitmap", "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD", "6.0.0", "O(1) for each subcommand specified", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
