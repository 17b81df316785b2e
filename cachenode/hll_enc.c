/* hll_enc.c: the HyperLogLog representation (see hll_enc.h): the element
 * hash, dense registers, the sparse opcode stream and its in-place updates,
 * sparse-to-dense conversion, merging, and the cardinality estimate (Otmar
 * Ertl's improved estimator, "New cardinality estimation algorithms for
 * HyperLogLog sketches", which Redis uses). Updates rewrite the stream the
 * way Redis's do, so the same inputs give the same bytes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "hll_enc.h"

#define HLL_CACHE_STALE 0x80 /* top bit of the cardinality's last byte */
#define HLL_ALPHA_INF 0.721347520444481703680 /* 1 / (2 ln 2) */

/* sparse opcodes */
#define SP_XZERO_BIT 0x40
#define SP_VAL_BIT 0x80
#define SP_VAL_MAX_VALUE 32
#define SP_VAL_MAX_LEN 4
#define SP_ZERO_MAX_LEN 64

static int sp_is_zero(const unsigned char *p) { return (*p & 0xc0) == 0; }
static int sp_is_xzero(const unsigned char *p) { return (*p & 0xc0) == SP_XZERO_BIT; }
static int sp_is_val(const unsigned char *p) { return (*p & SP_VAL_BIT) != 0; }
static long sp_zero_len(const unsigned char *p) { return (*p & 0x3f) + 1; }
static long sp_xzero_len(const unsigned char *p) { return (((long)(p[0] & 0x3f) << 8) | p[1]) + 1; }
static int sp_val_value(const unsigned char *p) { return ((*p >> 2) & 0x1f) + 1; }
static long sp_val_len(const unsigned char *p) { return (*p & 0x3) + 1; }
static void sp_val_set(unsigned char *p, int val, long len)
{
    *p = (unsigned char)(((val - 1) << 2) | (len - 1) | SP_VAL_BIT);
}
static void sp_zero_set(unsigned char *p, long len) { *p = (unsigned char)(len - 1); }
static void sp_xzero_set(unsigned char *p, long len)
{
    p[0] = (unsigned char)(((len - 1) >> 8) | SP_XZERO_BIT);
    p[1] = (unsigned char)((len - 1) & 0xff);
}

/* Bytes of the opcode at p (XZERO is two); 0 when an XZERO is cut short. */
static size_t sp_oplen(const unsigned char *p, const unsigned char *end)
{
    if (!sp_is_xzero(p)) return 1;
    return p + 1 < end ? 2 : 0;
}

/* Registers the opcode at p covers. */
static long sp_span(const unsigned char *p)
{
    if (sp_is_zero(p)) return sp_zero_len(p);
    if (sp_is_xzero(p)) return sp_xzero_len(p);
    return sp_val_len(p);
}

/* ---- hashing ------------------------------------------------------------- */

/* MurmurHash64A, from the algorithm's published description: 8-byte
 * little-endian blocks mixed with multiply-shift rounds, then the tail. */
uint64_t hll_murmur64a(const void *key, size_t len, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    const unsigned char *data = key;
    uint64_t h = seed ^ ((uint64_t)(int)len * m);
    size_t blocks = len / 8;
    for (size_t i = 0; i < blocks; i++, data += 8) {
        uint64_t k = 0;
        for (int b = 7; b >= 0; b--) k = (k << 8) | data[b];
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    size_t tail = len & 7;
    if (tail) {
        for (size_t b = tail; b-- > 0;) h ^= (uint64_t)data[b] << (8 * b);
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

int hll_pattern(const unsigned char *ele, size_t len, long *reg)
{
    uint64_t hash = hll_murmur64a(ele, len, 0xadc83b19ULL);
    *reg = (long)(hash & (HLL_REGISTERS - 1));
    hash >>= HLL_P;
    hash |= (uint64_t)1 << HLL_Q; /* bounds the count at Q + 1 */
    return __builtin_ctzll(hash) + 1;
}

/* ---- header ----------------------------------------------------------------- */

int hll_header_valid(const unsigned char *s, size_t len)
{
    if (len < HLL_HDR_SIZE || memcmp(s, "HYLL", 4) != 0) return 0;
    if (s[4] > HLL_SPARSE) return 0;
    return s[4] != HLL_DENSE || len == HLL_DENSE_SIZE;
}

int hll_encoding(const unsigned char *s) { return s[4]; }
int hll_cache_valid(const unsigned char *s) { return (s[15] & HLL_CACHE_STALE) == 0; }
void hll_cache_invalidate(unsigned char *s) { s[15] |= HLL_CACHE_STALE; }

uint64_t hll_cache_get(const unsigned char *s)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | s[8 + i];
    return v;
}

void hll_cache_set(unsigned char *s, uint64_t card)
{
    for (int i = 0; i < 8; i++) s[8 + i] = (unsigned char)(card >> (8 * i));
}

void hll_init_sparse(unsigned char *out)
{
    memset(out, 0, HLL_HDR_SIZE);
    memcpy(out, "HYLL", 4);
    out[4] = HLL_SPARSE;
    sp_xzero_set(out + HLL_HDR_SIZE, HLL_REGISTERS);
}

/* ---- dense registers ----------------------------------------------------------- */

int hll_dense_get(const unsigned char *regs, long index)
{
    size_t byte = (size_t)index * HLL_BITS / 8;
    unsigned fb = (unsigned)(index * HLL_BITS) & 7;
    unsigned v = regs[byte] >> fb;
    if (fb > 8 - HLL_BITS) v |= (unsigned)regs[byte + 1] << (8 - fb);
    return (int)(v & HLL_REGISTER_MAX);
}

static void dense_put(unsigned char *regs, long index, int val)
{
    size_t byte = (size_t)index * HLL_BITS / 8;
    unsigned fb = (unsigned)(index * HLL_BITS) & 7;
    regs[byte] = (unsigned char)((regs[byte] & ~(HLL_REGISTER_MAX << fb)) | ((unsigned)val << fb));
    if (fb > 8 - HLL_BITS) { /* the register straddles two bytes */
        unsigned high = HLL_REGISTER_MAX >> (8 - fb);
        regs[byte + 1] = (unsigned char)((regs[byte + 1] & ~high) | ((unsigned)val >> (8 - fb)));
    }
}

int hll_dense_set(unsigned char *regs, long index, int count)
{
    if (count <= hll_dense_get(regs, index)) return 0;
    dense_put(regs, index, count);
    return 1;
}

/* ---- the sparse stream ------------------------------------------------------------ */

/* Calls fn(priv, first_register, run_length, value) for each opcode;
 * returns the registers covered, or -1 when the stream is cut short or a
 * VAL run passes the last register. */
typedef void (*sparse_run_fn)(void *priv, long first, long len, int value);

static long sparse_walk(const unsigned char *s, size_t len, sparse_run_fn fn, void *priv)
{
    const unsigned char *p = s + HLL_HDR_SIZE, *end = s + len;
    long idx = 0;
    while (p < end) {
        size_t oplen = sp_oplen(p, end);
        if (oplen == 0) return -1;
        long span = sp_span(p);
        int value = sp_is_val(p) ? sp_val_value(p) : 0;
        if (value && idx + span > HLL_REGISTERS) return -1;
        if (fn && value) fn(priv, idx, span, value);
        idx += span;
        p += oplen;
    }
    return idx;
}

/* Where register `index` is: the opcode covering it, the first register
 * of that opcode and the opcode before it (NULL if first). */
struct sparse_pos {
    unsigned char *op, *prev;
    long first, span;
};

static int sparse_locate(unsigned char *s, size_t len, long index, struct sparse_pos *at)
{
    unsigned char *p = s + HLL_HDR_SIZE, *end = s + len;
    long first = 0, span = 0;
    at->prev = NULL;
    while (p < end) {
        size_t oplen = sp_oplen(p, end);
        if (oplen == 0) return -1;
        span = sp_span(p);
        if (index <= first + span - 1) break;
        at->prev = p;
        p += oplen;
        first += span;
    }
    if (span == 0 || p >= end) return -1;
    at->op = p;
    at->first = first;
    at->span = span;
    return 0;
}

/* The opcodes that replace one run when register `index` inside it takes
 * `count`: the run's part before, a VAL of 1, the part after. */
static int sparse_split(const struct sparse_pos *at, long index, int count, unsigned char *seq)
{
    unsigned char *n = seq;
    long last = at->first + at->span - 1;
    const unsigned char *p = at->op;
    long before = index - at->first, after = last - index;
    if (!sp_is_val(p)) {
        if (before > SP_ZERO_MAX_LEN) sp_xzero_set(n, before), n += 2;
        else if (before) sp_zero_set(n++, before);
        sp_val_set(n++, count, 1);
        if (after > SP_ZERO_MAX_LEN) sp_xzero_set(n, after), n += 2;
        else if (after) sp_zero_set(n++, after);
    } else {
        int cur = sp_val_value(p);
        if (before) sp_val_set(n++, cur, before);
        sp_val_set(n++, count, 1);
        if (after) sp_val_set(n++, cur, after);
    }
    return (int)(n - seq);
}

/* Merges adjacent VAL opcodes of equal value, scanning up to five opcodes
 * from `from`, as Redis does after each update. */
static void sparse_merge_vals(unsigned char *s, size_t *len, unsigned char *from)
{
    unsigned char *p = from, *end = s + *len;
    int scan = 5;
    while (p < end && scan--) {
        if (sp_is_xzero(p)) {
            p += 2;
            continue;
        }
        if (sp_is_zero(p)) {
            p++;
            continue;
        }
        if (p + 1 < end && sp_is_val(p + 1) && sp_val_value(p) == sp_val_value(p + 1)) {
            long run = sp_val_len(p) + sp_val_len(p + 1);
            if (run <= SP_VAL_MAX_LEN) {
                sp_val_set(p + 1, sp_val_value(p), run);
                memmove(p, p + 1, (size_t)(end - p - 1));
                end--;
                (*len)--;
                continue; /* the merged run may merge again on its right */
            }
        }
        p++;
    }
}

int hll_sparse_set(unsigned char *s, size_t *len, long index, int count, size_t max_bytes)
{
    if (count > SP_VAL_MAX_VALUE) return HLL_NEEDS_DENSE;
    struct sparse_pos at;
    if (sparse_locate(s, *len, index, &at) != 0) return HLL_CORRUPT;
    unsigned char *p = at.op;
    if (sp_is_val(p) && sp_val_value(p) >= count) return HLL_UNCHANGED;
    if ((sp_is_val(p) || sp_is_zero(p)) && at.span == 1) {
        sp_val_set(p, count, 1); /* the run is this register alone */
    } else {
        unsigned char seq[5];
        int seqlen = sparse_split(&at, index, count, seq);
        int oldlen = sp_is_xzero(p) ? 2 : 1;
        int delta = seqlen - oldlen;
        if (delta > 0 && *len + (size_t)delta > max_bytes) return HLL_NEEDS_DENSE;
        unsigned char *next = p + oldlen, *end = s + *len;
        if (delta && next < end) memmove(next + delta, next, (size_t)(end - next));
        *len = (size_t)((long)*len + delta);
        memcpy(p, seq, (size_t)seqlen);
    }
    sparse_merge_vals(s, len, at.prev ? at.prev : s + HLL_HDR_SIZE);
    hll_cache_invalidate(s);
    return HLL_UPDATED;
}

static void put_run(void *priv, long first, long len, int value)
{
    for (long i = 0; i < len; i++) dense_put(priv, first + i, value);
}

int hll_sparse_to_dense(const unsigned char *s, size_t len, unsigned char *out)
{
    memset(out, 0, HLL_DENSE_SIZE);
    memcpy(out, s, HLL_HDR_SIZE); /* magic and cached cardinality */
    out[4] = HLL_DENSE;
    return sparse_walk(s, len, put_run, out + HLL_HDR_SIZE) == HLL_REGISTERS ? 0 : -1;
}

/* ---- merging and counting -------------------------------------------------------- */

static void max_run(void *priv, long first, long len, int value)
{
    uint8_t *max = priv;
    for (long i = first; i < first + len; i++)
        if (value > max[i]) max[i] = (uint8_t)value;
}

int hll_merge_into(uint8_t *max, const unsigned char *s, size_t len)
{
    if (hll_encoding(s) == HLL_DENSE) {
        const unsigned char *regs = s + HLL_HDR_SIZE;
        for (long i = 0; i < HLL_REGISTERS; i++) {
            int v = hll_dense_get(regs, i);
            if (v > max[i]) max[i] = (uint8_t)v;
        }
        return 0;
    }
    return sparse_walk(s, len, max_run, max) == HLL_REGISTERS ? 0 : -1;
}

/* Ertl's sigma and tau series, evaluated until they stop changing. */
static double hll_sigma(double x)
{
    if (x == 1.) return INFINITY;
    double prev, y = 1, z = x;
    do {
        x *= x;
        prev = z;
        z += x * y;
        y += y;
    } while (prev != z);
    return z;
}

static double hll_tau(double x)
{
    if (x == 0. || x == 1.) return 0.;
    double prev, y = 1.0, z = 1 - x;
    do {
        x = sqrt(x);
        prev = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (prev != z);
    return z / 3;
}

static uint64_t estimate(const int *histo)
{
    double m = HLL_REGISTERS;
    double z = m * hll_tau((m - histo[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; --j) {
        z += histo[j];
        z *= 0.5;
    }
    z += m * hll_sigma(histo[0] / m);
    return (uint64_t)llroundl(HLL_ALPHA_INF * m * m / z);
}

static void histo_run(void *priv, long first, long len, int value)
{
    (void)first;
    ((int *)priv)[value] += (int)len;
}

uint64_t hll_count(const unsigned char *s, size_t len, int *invalid)
{
    int histo[64] = {0};
    if (hll_encoding(s) == HLL_DENSE) {
        for (long i = 0; i < HLL_REGISTERS; i++) histo[hll_dense_get(s + HLL_HDR_SIZE, i)]++;
    } else {
        long covered = sparse_walk(s, len, histo_run, histo);
        int nonzero = 0;
        for (int v = 1; v < 64; v++) nonzero += histo[v];
        if (covered != HLL_REGISTERS) {
            if (invalid) *invalid = 1;
            return 0;
        }
        histo[0] = HLL_REGISTERS - nonzero;
    }
    return estimate(histo);
}

uint64_t hll_count_registers(const uint8_t *regs)
{
    int histo[64] = {0};
    for (long i = 0; i < HLL_REGISTERS; i++) histo[regs[i] & 63]++;
    return estimate(histo);
}

/* ---- PFDEBUG DECODE -------------------------------------------------------------- */

char *hll_sparse_decode(const unsigned char *s, size_t len, size_t *outlen)
{
    size_t cap = (len - HLL_HDR_SIZE) * 12 + 1, n = 0; /* "v:32,4 " or "Z:16384 " */
    char *out = zmalloc(cap);
    const unsigned char *p = s + HLL_HDR_SIZE, *end = s + len;
    while (p < end) {
        size_t oplen = sp_oplen(p, end);
        if (oplen == 0) break;
        int w;
        if (sp_is_zero(p)) w = snprintf(out + n, cap - n, "z:%ld ", sp_zero_len(p));
        else if (sp_is_xzero(p)) w = snprintf(out + n, cap - n, "Z:%ld ", sp_xzero_len(p));
        else w = snprintf(out + n, cap - n, "v:%d,%ld ", sp_val_value(p), sp_val_len(p));
        if (w < 0 || (size_t)w >= cap - n) break;
        n += (size_t)w;
        p += oplen;
    }
    if (n > 0) n--; /* the trailing space */
    out[n] = '\0';
    *outlen = n;
    return out;
}
