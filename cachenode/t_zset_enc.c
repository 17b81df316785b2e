/* t_zset_enc.c: the sorted set's two encodings (the packed "listpack" and
 * the "skiplist" with its member dict; see t_zset.h for the layouts), the
 * value API the commands use, which hides the encoding, and the object
 * type zset_type (free, dup, memory, digest, snapshot save and load).
 *
 * As in Redis 7.0 a set starts as a listpack and becomes a skiplist once it
 * has more than zset-max-listpack-entries members or a member longer than
 * zset-max-listpack-value bytes; it never goes back, not across a snapshot
 * either (a saved listpack past the thresholds in force loads as a
 * skiplist). */
#include <math.h>
#include <string.h>

#include "object.h"
#include "server.h"
#include "t_zset.h"

/* ---- helpers ------------------------------------------------------------- */

static inline int mcmp(const char *a, size_t al, const char *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c;
    return al < bl ? -1 : al > bl ? 1 : 0;
}

/* Order of (score, member) pairs. */
static inline int zcmp(double s1, const char *m1, size_t l1, double s2, const char *m2, size_t l2)
{
    if (s1 < s2) return -1;
    if (s1 > s2) return 1;
    return mcmp(m1, l1, m2, l2);
}

static inline size_t uv_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline unsigned char *uv_put(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static inline const unsigned char *uv_get(const unsigned char *p, uint64_t *out)
{
    uint64_t v = 0;
    int shift = 0;
    while (*p & 0x80) {
        v |= (uint64_t)(*p++ & 0x7f) << shift;
        shift += 7;
    }
    v |= (uint64_t)*p++ << shift;
    *out = v;
    return p;
}

#define INT_SCORE_MAX 9007199254740992.0 /* 2^53 */

/* The varint code of an integral score, or 0 when it needs the 9-byte form
 * (a valid code always has its low bit clear and the double marker is 1). */
static inline int score_code(double v, uint64_t *code)
{
    if (!(v >= -INT_SCORE_MAX && v <= INT_SCORE_MAX) || v != floor(v)) return 0;
    int64_t i = (int64_t)v;
    uint64_t zz = ((uint64_t)i << 1) ^ (uint64_t)(i >> 63);
    *code = zz << 1;
    return 1;
}

static inline size_t score_len(double v)
{
    uint64_t code;
    return score_code(v, &code) ? uv_len(code) : 9;
}

static inline unsigned char *score_put(unsigned char *p, double v)
{
    uint64_t code;
    if (score_code(v, &code)) return uv_put(p, code);
    *p++ = 1;
    memcpy(p, &v, 8);
    return p + 8;
}

/* ---- listpack ----------------------------------------------------------- */

/* An entry is [varint shared][varint suffix length][suffix][score]: its
 * member is the first `shared` bytes of the previous entry's member
 * followed by the suffix (members such as "user:1234" share a prefix with
 * their neighbours). So members are rebuilt while walking forward; a
 * cursor keeps the current member and the previous one. */

static inline size_t enc_len(size_t shared, size_t ml, double score)
{
    return uv_len(shared) + uv_len(ml - shared) + (ml - shared) + score_len(score);
}

static inline unsigned char *enc_put(unsigned char *w, const char *m, size_t ml, size_t shared, double score)
{
    w = uv_put(w, shared);
    w = uv_put(w, ml - shared);
    if (ml > shared) memcpy(w, m + shared, ml - shared);
    return score_put(w + (ml - shared), score);
}

static inline size_t common_prefix(const char *a, size_t al, const char *b, size_t bl)
{
    size_t n = al < bl ? al : bl, i = 0;
    while (i < n && a[i] == b[i]) i++;
    return i;
}

static inline size_t entry_len(size_t ml, double score) { return enc_len(0, ml, score); }

static inline char *mb_ptr(zmbuf *b) { return b->heap ? b->heap : b->local; }

/* Room for `need` bytes, keeping the first `keep`. */
static char *mb_reserve(zmbuf *b, size_t need, size_t keep)
{
    size_t cap = b->heap ? b->cap : sizeof(b->local);
    if (need <= cap) return mb_ptr(b);
    char *n = zmalloc(need * 2);
    if (keep) memcpy(n, mb_ptr(b), keep);
    zfree(b->heap);
    b->cap = need * 2;
    b->heap = n;
    return n;
}

static void mb_free(zmbuf *b)
{
    zfree(b->heap);
    b->heap = NULL;
}

static inline const unsigned char *score_get(const unsigned char *p, double *score)
{
    uint64_t code;
    p = uv_get(p, &code);
    if (code & 1) {
        memcpy(score, p, 8);
        return p + 8;
    }
    uint64_t zz = code >> 1;
    int64_t i = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
    *score = (double)i;
    return p;
}

static void lpc_init(zlpcur *c, const zlp *l)
{
    c->p = l->data;
    c->end = l->data + l->bytes;
    c->entry = NULL;
    c->len = 0;
    c->shared = 0;
    c->b.heap = NULL;
}

static void lpc_release(zlpcur *c) { mb_free(&c->b); }

/* Reads the next entry; 0 at the end. The member is lpc_member(c). */
static int lpc_next(zlpcur *c)
{
    if (c->p >= c->end) return 0;
    c->entry = c->p;
    uint64_t shared, slen;
    const unsigned char *p = uv_get(c->p, &shared);
    p = uv_get(p, &slen);
    char *dst = mb_reserve(&c->b, (size_t)(shared + slen), (size_t)shared);
    if (slen) memcpy(dst + shared, p, (size_t)slen);
    c->len = (size_t)(shared + slen);
    c->shared = (size_t)shared;
    c->p = score_get(p + slen, &c->score);
    return 1;
}

static inline const char *lpc_member(zlpcur *c, size_t *ml)
{
    *ml = c->len;
    return mb_ptr(&c->b);
}

/* Skips an entry without rebuilding its member. */
static inline const unsigned char *lp_skip(const unsigned char *p, double *score)
{
    uint64_t shared, slen;
    p = uv_get(p, &shared);
    p = uv_get(p, &slen);
    return score_get(p + slen, score);
}

static zlp *lp_new(void)
{
    zlp *l = zmalloc(sizeof(zlp));
    l->bytes = 0;
    l->count = 0;
    return l;
}

/* Replaces bytes [off, off+oldlen) with nb[0..nlen). */
static zlp *lp_splice(zlp *l, size_t off, size_t oldlen, const unsigned char *nb, size_t nlen, long dcount)
{
    size_t tail = l->bytes - off - oldlen;
    if (nlen > oldlen) l = zrealloc(l, sizeof(zlp) + l->bytes + (nlen - oldlen));
    memmove(l->data + off + nlen, l->data + off + oldlen, tail);
    if (nlen) memcpy(l->data + off, nb, nlen);
    l->bytes = (uint32_t)(l->bytes - oldlen + nlen);
    l->count = (uint32_t)((long)l->count + dcount);
    if (nlen < oldlen) l = zrealloc(l, sizeof(zlp) + l->bytes);
    return l;
}

/* Rank of the member, or -1; *score gets its score. No member is rebuilt:
 * k is how many leading bytes the target shares with the previous member,
 * and an entry sharing s bytes with that one shares min(s, k) plus what
 * its suffix matches. */
static long lp_find(const zlp *l, const char *m, size_t ml, double *score)
{
    const unsigned char *p = l->data, *end = l->data + l->bytes;
    size_t k = 0;
    for (long i = 0; p < end; i++) {
        uint64_t shared, slen;
        p = uv_get(p, &shared);
        p = uv_get(p, &slen);
        if (shared <= k) {
            size_t n = 0, room = ml - (size_t)shared;
            size_t lim = room < slen ? room : (size_t)slen;
            while (n < lim && p[n] == (unsigned char)m[shared + n]) n++;
            k = (size_t)shared + n;
            if (k == ml && shared + slen == ml) {
                score_get(p + slen, score);
                return i;
            }
        }
        double s;
        p = score_get(p + slen, &s);
    }
    return -1;
}

static zlp *lp_insert(zlp *l, const char *m, size_t ml, double score)
{
    zlpcur c;
    lpc_init(&c, l);
    int succ = 0;
    /* k: the common prefix of m and the current member; kprev: of m and
     * the one before (see lp_find) */
    size_t k = 0, kprev = 0;
    while (lpc_next(&c)) {
        size_t eml;
        const char *em = lpc_member(&c, &eml);
        kprev = k;
        if (c.shared <= k) {
            size_t lim = eml < ml ? eml : ml, n = c.shared;
            while (n < lim && em[n] == m[n]) n++;
            k = n;
        }
        if (zcmp(c.score, em, eml, score, m, ml) > 0) {
            succ = 1;
            break;
        }
    }
    size_t sl = 0;
    const char *sm = succ ? lpc_member(&c, &sl) : NULL;
    size_t shared = succ ? kprev : k;
    size_t n1 = enc_len(shared, ml, score), n2 = succ ? enc_len(k, sl, c.score) : 0;
    unsigned char stackbuf[256];
    unsigned char *nb = n1 + n2 <= sizeof(stackbuf) ? stackbuf : zmalloc(n1 + n2);
    unsigned char *w = enc_put(nb, m, ml, shared, score);
    if (succ) enc_put(w, sm, sl, k, c.score);
    size_t off = succ ? (size_t)(c.entry - l->data) : l->bytes;
    size_t oldlen = succ ? (size_t)(c.p - c.entry) : 0;
    lpc_release(&c);
    l = lp_splice(l, off, oldlen, nb, n1 + n2, 1);
    if (nb != stackbuf) zfree(nb);
    return l;
}

/* Removes ranks [lo, hi); the entry after them is re-encoded against the
 * one before them. */
static zlp *lp_delete_ranks(zlp *l, size_t lo, size_t hi)
{
    zlpcur c;
    lpc_init(&c, l);
    size_t a = 0, b = 0, r = 0;
    zmbuf keep;
    keep.heap = NULL;
    size_t keeplen = 0;
    int succ = 0;
    while (lpc_next(&c)) {
        if (r + 1 == lo) { /* the member before the range */
            size_t ml;
            const char *m = lpc_member(&c, &ml);
            char *k = mb_reserve(&keep, ml, 0);
            if (ml) memcpy(k, m, ml);
            keeplen = ml;
        }
        if (r == lo) a = (size_t)(c.entry - l->data);
        if (r == hi) {
            succ = 1;
            break;
        }
        r++;
        b = (size_t)(c.p - l->data);
    }
    size_t nlen = 0;
    unsigned char stackbuf[256];
    unsigned char *nb = stackbuf;
    if (succ) {
        size_t sl;
        const char *sm = lpc_member(&c, &sl);
        size_t shared = common_prefix(mb_ptr(&keep), keeplen, sm, sl);
        nlen = enc_len(shared, sl, c.score);
        if (nlen > sizeof(stackbuf)) nb = zmalloc(nlen);
        enc_put(nb, sm, sl, shared, c.score);
        b = (size_t)(c.p - l->data);
    }
    lpc_release(&c);
    mb_free(&keep);
    l = lp_splice(l, a, b - a, nb, nlen, -(long)(hi - lo));
    if (nb != stackbuf) zfree(nb);
    return l;
}

/* Builds a listpack from members in order (loading, tests). */
static zlp *lp_build(const char *const *ms, const size_t *mls, const double *ss, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += enc_len(i ? common_prefix(ms[i - 1], mls[i - 1], ms[i], mls[i]) : 0, mls[i], ss[i]);
    zlp *l = zmalloc(sizeof(zlp) + bytes);
    unsigned char *w = l->data;
    for (size_t i = 0; i < n; i++)
        w = enc_put(w, ms[i], mls[i], i ? common_prefix(ms[i - 1], mls[i - 1], ms[i], mls[i]) : 0, ss[i]);
    l->bytes = (uint32_t)bytes;
    l->count = (uint32_t)n;
    return l;
}

/* ---- skiplist ----------------------------------------------------------- */

static int zsl_random_level(void)
{
    int level = 1;
    uint64_t r = random_u64();
    while ((r & 3) == 0 && level < ZSL_MAXLEVEL) {
        level++;
        r >>= 2;
    }
    return level;
}

static zbig *big_new(size_t hint)
{
    zbig *zb = zmalloc(sizeof(zbig));
    zb->mark = ZBIG_MARK;
    zb->level = 1;
    zb->length = 0;
    zb->d = dict_create();
    if (hint) dict_expand(zb->d, hint);
    zb->header = zcalloc(sizeof(zsn) + ZSL_MAXLEVEL * sizeof(struct zlv));
    zb->tail = NULL;
    return zb;
}

static void big_free(zbig *zb)
{
    dict_free(zb->d);
    zfree(zb->header);
    zfree(zb);
}

static inline int zsn_cmp(const zsn *a, double s, const char *m, size_t ml)
{
    size_t al;
    const char *am = zsn_member(a, &al);
    return zcmp(a->score, am, al, s, m, ml);
}

/* Fills update[] with the last node before (s, m) at each level; ranks
 * (optional) with the rank of each. */
static void zsl_find_update(zbig *zb, double s, const char *m, size_t ml, zsn **update, unsigned long *rank)
{
    zsn *x = zb->header;
    unsigned long r = 0;
    for (int i = zb->level - 1; i >= 0; i--) {
        while (x->lv[i].fwd && zsn_cmp(x->lv[i].fwd, s, m, ml) < 0) {
            r += x->lv[i].span;
            x = x->lv[i].fwd;
        }
        update[i] = x;
        if (rank) rank[i] = r;
    }
}

static void zsl_link(zbig *zb, zsn *n)
{
    zsn *update[ZSL_MAXLEVEL];
    unsigned long rank[ZSL_MAXLEVEL];
    size_t ml;
    const char *m = zsn_member(n, &ml);
    zsl_find_update(zb, n->score, m, ml, update, rank);
    int level = zsn_levels(n);
    if (level > zb->level) {
        for (int i = zb->level; i < level; i++) {
            rank[i] = 0;
            update[i] = zb->header;
            update[i]->lv[i].span = zb->length;
        }
        zb->level = level;
    }
    for (int i = 0; i < level; i++) {
        n->lv[i].fwd = update[i]->lv[i].fwd;
        update[i]->lv[i].fwd = n;
        n->lv[i].span = update[i]->lv[i].span - (rank[0] - rank[i]);
        update[i]->lv[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = level; i < zb->level; i++) update[i]->lv[i].span++;
    n->backward = update[0] == zb->header ? NULL : update[0];
    if (n->lv[0].fwd) n->lv[0].fwd->backward = n;
    else zb->tail = n;
    zb->length++;
}

static void zsl_unlink(zbig *zb, zsn *x, zsn **update)
{
    for (int i = 0; i < zb->level; i++) {
        if (update[i]->lv[i].fwd == x) {
            update[i]->lv[i].span += x->lv[i].span - 1;
            update[i]->lv[i].fwd = x->lv[i].fwd;
        } else {
            update[i]->lv[i].span -= 1;
        }
    }
    if (x->lv[0].fwd) x->lv[0].fwd->backward = x->backward;
    else zb->tail = x->backward;
    while (zb->level > 1 && zb->header->lv[zb->level - 1].fwd == NULL) zb->level--;
    zb->length--;
}

static zsn *big_node(zbig *zb, const char *m, size_t ml)
{
    dnode *n = dict_find(zb->d, m, ml);
    return n ? (zsn *)(void *)dnode_val(n) : NULL;
}

/* Adds a member known to be absent. */
static void big_insert(zbig *zb, const char *m, size_t ml, double score)
{
    int level = zsl_random_level();
    dnode *dn = dict_add(zb->d, m, ml, NULL, sizeof(zsn) + (size_t)level * sizeof(struct zlv));
    zsn *n = (zsn *)(void *)dnode_val(dn);
    n->score = score;
    zsl_link(zb, n);
}

static void big_remove_node(zbig *zb, zsn *n)
{
    zsn *update[ZSL_MAXLEVEL];
    size_t ml;
    const char *m = zsn_member(n, &ml);
    zsl_find_update(zb, n->score, m, ml, update, NULL);
    zsl_unlink(zb, n, update);
    dnode *dn = dict_unlink(zb->d, m, ml);
    dict_node_free(dn);
}

static void big_update_score(zbig *zb, zsn *n, double score)
{
    size_t ml;
    const char *m = zsn_member(n, &ml);
    const zsn *next = n->lv[0].fwd;
    if ((n->backward == NULL || zsn_cmp(n->backward, score, m, ml) < 0) &&
        (next == NULL || zsn_cmp(next, score, m, ml) > 0)) {
        n->score = score;
        return;
    }
    zsn *update[ZSL_MAXLEVEL];
    zsl_find_update(zb, n->score, m, ml, update, NULL);
    zsl_unlink(zb, n, update);
    n->score = score;
    zsl_link(zb, n);
}

/* The node at 1-based rank r, or NULL. */
static const zsn *big_by_rank(const zbig *zb, unsigned long r)
{
    const zsn *x = zb->header;
    unsigned long traversed = 0;
    for (int i = zb->level - 1; i >= 0; i--) {
        while (x->lv[i].fwd && traversed + x->lv[i].span <= r) {
            traversed += x->lv[i].span;
            x = x->lv[i].fwd;
        }
        if (traversed == r) return x == zb->header ? NULL : x;
    }
    return NULL;
}

static zbig *lp_to_big(zlp *l)
{
    zbig *zb = big_new(l->count);
    zlpcur c;
    lpc_init(&c, l);
    while (lpc_next(&c)) {
        size_t ml;
        const char *m = lpc_member(&c, &ml);
        big_insert(zb, m, ml, c.score);
    }
    lpc_release(&c);
    zfree(l);
    return zb;
}

/* ---- the value API ------------------------------------------------------ */

void *zs_create(size_t size, size_t maxlen)
{
    if (server.zset_max_listpack_entries == 0 || size > (unsigned long long)server.zset_max_listpack_entries ||
        maxlen > (unsigned long long)server.zset_max_listpack_value)
        return big_new(size);
    return lp_new();
}

void zs_free(void *z)
{
    if (zs_is_big(z)) big_free(z);
    else zfree(z);
}

size_t zs_len(const void *z) { return zs_is_big(z) ? ((const zbig *)z)->length : ((const zlp *)z)->count; }

const char *zs_encoding_name(const void *z) { return zs_is_big(z) ? "skiplist" : "listpack"; }

void *zs_to_big(void *z) { return zs_is_big(z) ? z : lp_to_big(z); }

int zs_score(void *z, const char *m, size_t ml, double *score)
{
    if (zs_is_big(z)) {
        zsn *n = big_node(z, m, ml);
        if (n == NULL) return 0;
        *score = n->score;
        return 1;
    }
    return lp_find(z, m, ml, score) >= 0;
}

long zs_rank(void *z, const char *m, size_t ml, int rev)
{
    size_t len = zs_len(z);
    long r = -1;
    if (zs_is_big(z)) {
        zbig *zb = z;
        zsn *n = big_node(zb, m, ml);
        if (n == NULL) return -1;
        const zsn *x = zb->header;
        unsigned long rank = 0;
        for (int i = zb->level - 1; i >= 0; i--) {
            while (x->lv[i].fwd && zsn_cmp(x->lv[i].fwd, n->score, m, ml) <= 0) {
                rank += x->lv[i].span;
                x = x->lv[i].fwd;
            }
            if (x == n) break;
        }
        r = (long)rank - 1;
    } else {
        double s;
        r = lp_find(z, m, ml, &s);
        if (r < 0) return -1;
    }
    return rev ? (long)len - 1 - r : r;
}

size_t zs_count_score(const void *z, double v, int le)
{
    if (zs_is_big(z)) {
        const zbig *zb = z;
        const zsn *x = zb->header;
        size_t rank = 0;
        for (int i = zb->level - 1; i >= 0; i--) {
            while (x->lv[i].fwd && (le ? x->lv[i].fwd->score <= v : x->lv[i].fwd->score < v)) {
                rank += x->lv[i].span;
                x = x->lv[i].fwd;
            }
        }
        return rank;
    }
    const zlp *l = z;
    const unsigned char *p = l->data, *end = l->data + l->bytes;
    size_t n = 0;
    while (p < end) {
        double s;
        p = lp_skip(p, &s);
        if (le ? s <= v : s < v) n++;
        else break;
    }
    return n;
}

void zs_score_ranks(const void *z, double min, int minex, double max, int maxex, size_t *lo, size_t *hi)
{
    if (zs_is_big(z)) {
        *lo = zs_count_score(z, min, minex);
        *hi = zs_count_score(z, max, !maxex);
    } else {
        /* one pass: stop at the first score past max */
        const zlp *l = z;
        const unsigned char *p = l->data, *end = l->data + l->bytes;
        size_t a = 0, b = 0;
        while (p < end) {
            double s;
            p = lp_skip(p, &s);
            if (maxex ? s >= max : s > max) break;
            b++;
            if (minex ? s <= min : s < min) a++;
        }
        *lo = a;
        *hi = b;
    }
    if (*hi < *lo) *hi = *lo;
}

static inline int lex_before(const char *m, size_t ml, const zlex_bound *b, int le)
{
    int c = mcmp(m, ml, b->p, b->len);
    return c < 0 || (le && c == 0);
}

size_t zs_count_lex(const void *z, const zlex_bound *b, int le)
{
    if (b->kind < 0) return 0;
    if (b->kind > 0) return zs_len(z);
    if (zs_is_big(z)) {
        const zbig *zb = z;
        const zsn *x = zb->header;
        size_t rank = 0;
        for (int i = zb->level - 1; i >= 0; i--) {
            while (x->lv[i].fwd) {
                size_t ml;
                const char *m = zsn_member(x->lv[i].fwd, &ml);
                if (!lex_before(m, ml, b, le)) break;
                rank += x->lv[i].span;
                x = x->lv[i].fwd;
            }
        }
        return rank;
    }
    zlpcur c;
    lpc_init(&c, z);
    size_t n = 0;
    while (lpc_next(&c)) {
        size_t ml;
        const char *m = lpc_member(&c, &ml);
        if (lex_before(m, ml, b, le)) n++;
        else break;
    }
    lpc_release(&c);
    return n;
}

void zs_iter_init(zs_iter *it, const void *z, size_t rank, int rev)
{
    size_t len = zs_len(z);
    it->z = z;
    it->rev = rev;
    it->left = 0;
    it->has_cursor = 0;
    it->items = NULL;
    it->arena = NULL;
    it->idx = 0;
    it->x = NULL;
    if (rank >= len) return;
    it->left = len - rank;
    if (zs_is_big(z)) {
        it->x = big_by_rank(z, rev ? len - rank : rank + 1);
        return;
    }
    const zlp *l = z;
    if (!rev) {
        lpc_init(&it->c, l);
        it->has_cursor = 1;
        for (size_t i = 0; i < rank; i++) lpc_next(&it->c);
        return;
    }
    /* entries 0 .. upto-1 are visited backwards: copy them */
    size_t upto = len - rank;
    it->items = zmalloc(upto * sizeof(struct zrev_item));
    it->arena = zmalloc(l->bytes + upto * 64 + 1);
    size_t cap = l->bytes + upto * 64 + 1, used = 0;
    zlpcur c;
    lpc_init(&c, l);
    for (size_t i = 0; i < upto && lpc_next(&c); i++) {
        size_t ml;
        const char *m = lpc_member(&c, &ml);
        if (used + ml > cap) {
            cap = (used + ml) * 2;
            it->arena = zrealloc(it->arena, cap);
        }
        if (ml) memcpy(it->arena + used, m, ml);
        it->items[i].moff = used;
        it->items[i].mlen = ml;
        it->items[i].score = c.score;
        used += ml;
    }
    lpc_release(&c);
    it->idx = upto;
}

int zs_iter_next(zs_iter *it, const char **m, size_t *ml, double *score)
{
    if (it->left == 0) return 0;
    it->left--;
    if (zs_is_big(it->z)) {
        const zsn *x = it->x;
        *m = zsn_member(x, ml);
        *score = x->score;
        it->x = it->rev ? x->backward : x->lv[0].fwd;
        return 1;
    }
    if (!it->rev) {
        lpc_next(&it->c);
        *m = lpc_member(&it->c, ml);
        *score = it->c.score;
    } else {
        it->idx--;
        *m = it->arena + it->items[it->idx].moff;
        *ml = it->items[it->idx].mlen;
        *score = it->items[it->idx].score;
    }
    return 1;
}

void zs_iter_release(zs_iter *it)
{
    if (it->has_cursor) lpc_release(&it->c);
    it->has_cursor = 0;
    zfree(it->items);
    zfree(it->arena);
    it->items = NULL;
    it->arena = NULL;
}

/* ZADD's rules for a member that exists with score cur: NX leaves it, INCR
 * adds to it (NaN refused), GT/LT keep it unless the new score is greater
 * or less. Returns 1 with *score the score to set, or 0 with *out saying
 * why nothing changes. The same in both encodings. */
static int zadd_update_score(int in, double cur, double *score, int *out)
{
    if (in & ZADD_IN_NX) {
        *out |= ZADD_OUT_NOP;
        return 0;
    }
    if (in & ZADD_IN_INCR) {
        *score += cur;
        if (isnan(*score)) {
            *out |= ZADD_OUT_NAN;
            return 0;
        }
    }
    if (((in & ZADD_IN_LT) && *score >= cur) || ((in & ZADD_IN_GT) && *score <= cur)) {
        *out |= ZADD_OUT_NOP;
        return 0;
    }
    return 1;
}

void *zs_add(void *z, const char *m, size_t ml, double score, int in, int *out, double *newscore)
{
    int xx = in & ZADD_IN_XX;
    *out = 0;
    if (isnan(score)) {
        *out = ZADD_OUT_NAN;
        return z;
    }
    if (zs_is_big(z)) {
        zbig *zb = z;
        zsn *n = big_node(zb, m, ml);
        if (n) {
            if (!zadd_update_score(in, n->score, &score, out)) return z;
            if (newscore) *newscore = score;
            if (score != n->score) {
                big_update_score(zb, n, score);
                *out |= ZADD_OUT_UPDATED;
            }
            return z;
        }
        if (xx) {
            *out |= ZADD_OUT_NOP;
            return z;
        }
        big_insert(zb, m, ml, score);
        *out |= ZADD_OUT_ADDED;
        if (newscore) *newscore = score;
        return z;
    }
    zlp *l = z;
    double cur;
    long off = lp_find(l, m, ml, &cur);
    if (off >= 0) {
        if (!zadd_update_score(in, cur, &score, out)) return z;
        if (newscore) *newscore = score;
        if (score != cur) {
            l = lp_delete_ranks(l, (size_t)off, (size_t)off + 1);
            l = lp_insert(l, m, ml, score);
            *out |= ZADD_OUT_UPDATED;
        }
        return l;
    }
    if (xx) {
        *out |= ZADD_OUT_NOP;
        return z;
    }
    if ((unsigned long long)l->count + 1 > (unsigned long long)server.zset_max_listpack_entries ||
        ml > (unsigned long long)server.zset_max_listpack_value ||
        (size_t)l->bytes + entry_len(ml, score) >= ZLP_MAX_BYTES) {
        zbig *zb = lp_to_big(l);
        big_insert(zb, m, ml, score);
        *out |= ZADD_OUT_ADDED;
        if (newscore) *newscore = score;
        return zb;
    }
    l = lp_insert(l, m, ml, score);
    *out |= ZADD_OUT_ADDED;
    if (newscore) *newscore = score;
    return l;
}

void *zs_delete(void *z, const char *m, size_t ml, int *deleted)
{
    *deleted = 0;
    if (zs_is_big(z)) {
        zsn *n = big_node(z, m, ml);
        if (n == NULL) return z;
        big_remove_node(z, n);
        *deleted = 1;
        return z;
    }
    zlp *l = z;
    double s;
    long r = lp_find(l, m, ml, &s);
    if (r < 0) return z;
    *deleted = 1;
    return lp_delete_ranks(l, (size_t)r, (size_t)r + 1);
}

void *zs_delete_ranks(void *z, size_t lo, size_t hi)
{
    size_t len = zs_len(z);
    if (hi > len) hi = len;
    if (lo >= hi) return z;
    if (!zs_is_big(z)) return lp_delete_ranks(z, lo, hi);
    zbig *zb = z;
    zsn *update[ZSL_MAXLEVEL];
    zsn *x = zb->header;
    unsigned long traversed = 0;
    for (int i = zb->level - 1; i >= 0; i--) {
        while (x->lv[i].fwd && traversed + x->lv[i].span <= lo) {
            traversed += x->lv[i].span;
            x = x->lv[i].fwd;
        }
        update[i] = x;
    }
    x = x->lv[0].fwd;
    for (size_t k = lo; k < hi && x; k++) {
        zsn *next = x->lv[0].fwd;
        zsl_unlink(zb, x, update);
        size_t ml;
        const char *m = zsn_member(x, &ml);
        dict_node_free(dict_unlink(zb->d, m, ml));
        x = next;
    }
    return z;
}

void zs_random(void *z, const char **m, size_t *ml, double *score)
{
    if (zs_is_big(z)) {
        dnode *n = dict_random(((zbig *)z)->d);
        const zsn *x = (const zsn *)(const void *)dnode_cval(n);
        *m = zsn_member(x, ml);
        *score = x->score;
        return;
    }
    /* the member is copied: it must outlive the walk */
    static char *buf;
    static size_t cap;
    const zlp *l = z;
    size_t r = (size_t)(random_u64() % l->count);
    zlpcur c;
    lpc_init(&c, l);
    for (size_t i = 0; i <= r; i++) lpc_next(&c);
    const char *em = lpc_member(&c, ml);
    if (*ml + 1 > cap) {
        cap = *ml + 64;
        zfree(buf);
        buf = zmalloc(cap);
    }
    if (*ml) memcpy(buf, em, *ml);
    *m = buf;
    *score = c.score;
    lpc_release(&c);
}

struct scan_adapter {
    zs_scan_fn fn;
    void *priv;
};

static void scan_one(void *priv, const dnode *n)
{
    struct scan_adapter *a = priv;
    const zsn *x = (const zsn *)(const void *)dnode_cval(n);
    a->fn(a->priv, dnode_key(n), n->klen, x->score);
}

unsigned long zs_scan(void *z, unsigned long cursor, zs_scan_fn fn, void *priv)
{
    struct scan_adapter a = {fn, priv};
    return dict_scan(((zbig *)z)->d, cursor, scan_one, &a);
}

/* ---- the object type ------------------------------------------------------ */

static const char *zset_encoding(const void *obj) { return zs_encoding_name(obj); }

static void zset_free(void *obj) { zs_free(obj); }

static size_t zset_free_effort(const void *obj) { return zs_is_big(obj) ? zs_len(obj) : 1; }

static void *zset_dup(const void *obj)
{
    if (!zs_is_big(obj)) {
        const zlp *l = obj;
        zlp *c = zmalloc(sizeof(zlp) + l->bytes);
        memcpy(c, l, sizeof(zlp) + l->bytes);
        return c;
    }
    const zbig *zb = obj;
    zbig *c = big_new(zb->length);
    for (const zsn *x = zb->tail; x; x = x->backward) {
        size_t ml;
        const char *m = zsn_member(x, &ml);
        big_insert(c, m, ml, x->score);
    }
    return c;
}

static size_t zset_mem_usage(const void *obj, long long samples)
{
    if (!zs_is_big(obj)) return zmalloc_size(obj);
    const zbig *zb = obj;
    size_t base = zmalloc_size(zb) + zmalloc_size(zb->header) + zmalloc_size(zb->d) +
                  zmalloc_size(zb->d->table[0]) + zmalloc_size(zb->d->table[1]);
    size_t seen = 0, bytes = 0;
    for (const zsn *x = zb->header->lv[0].fwd; x && (samples <= 0 || (long long)seen < samples); x = x->lv[0].fwd) {
        bytes += zmalloc_size(zsn_dnode(x));
        seen++;
    }
    if (seen && seen < zb->length) bytes = (size_t)((double)bytes / (double)seen * (double)zb->length);
    return base + bytes;
}

static void zset_digest(const void *obj, struct digest *d)
{
    zs_iter it;
    const char *m;
    size_t ml;
    double s;
    zs_iter_init(&it, obj, 0, 0);
    while (zs_iter_next(&it, &m, &ml, &s)) {
        char buf[64];
        size_t n = d2str(buf, sizeof(buf), s);
        digest_add_element(d, m, ml, buf, n);
    }
    zs_iter_release(&it);
}

/* Layout: encoding byte (0 listpack, 1 skiplist), member count, then each
 * member and its score in ascending (score, member) order. */
static void zset_save(const void *obj, struct snap_writer *w)
{
    snapw_byte(w, zs_is_big(obj) ? 1 : 0);
    snapw_varint(w, zs_len(obj));
    zs_iter it;
    const char *m;
    size_t ml;
    double s;
    zs_iter_init(&it, obj, 0, 0);
    while (zs_iter_next(&it, &m, &ml, &s)) {
        snapw_string(w, m, ml);
        snapw_double(w, s);
    }
    zs_iter_release(&it);
}

static void *zset_load(struct snap_reader *r)
{
    unsigned char enc;
    uint64_t count;
    if (snapr_byte(r, &enc) < 0 || snapr_varint(r, &count) < 0) return NULL;
    if (enc > 1) {
        snapr_fail(r, "bad sorted set encoding");
        return NULL;
    }
    /* a member takes at least a length byte and an 8-byte score */
    if (count == 0 || count > snapr_remaining(r) / 9) {
        snapr_fail(r, "bad sorted set length");
        return NULL;
    }
    /* A round trip keeps the encoding, as a live set never converts back:
     * a saved skiplist loads as one, a saved listpack as one unless it is
     * past the thresholds in force now. (Redis would also turn a small
     * skiplist back into a listpack.) */
    zbig *zb = big_new(count);
    int listpack_ok = enc == 0 && server.zset_max_listpack_entries > 0 &&
                      count <= (unsigned long long)server.zset_max_listpack_entries;
    size_t lp_bytes = 0;
    double prev_s = 0;
    const char *prev_m = NULL;
    size_t prev_ml = 0;
    for (uint64_t i = 0; i < count; i++) {
        const char *m;
        size_t ml;
        double s;
        if (snapr_string(r, &m, &ml) < 0 || snapr_double(r, &s) < 0) goto fail;
        if (isnan(s)) {
            snapr_fail(r, "sorted set score is NaN");
            goto fail;
        }
        if (prev_m && zcmp(prev_s, prev_m, prev_ml, s, m, ml) >= 0) {
            snapr_fail(r, "sorted set members out of order");
            goto fail;
        }
        if (ml > UINT32_MAX || dict_find(zb->d, m, ml)) {
            snapr_fail(r, "duplicate sorted set member");
            goto fail;
        }
        /* append at the tail: the input is sorted */
        big_insert(zb, m, ml, s);
        if (ml > (unsigned long long)server.zset_max_listpack_value) listpack_ok = 0;
        lp_bytes += entry_len(ml, s);
        const zsn *t = zb->tail;
        prev_m = zsn_member(t, &prev_ml);
        prev_s = s;
    }
    if (listpack_ok && lp_bytes < ZLP_MAX_BYTES) {
        const char **ms = zmalloc(count * sizeof(char *));
        size_t *mls = zmalloc(count * sizeof(size_t));
        double *ss = zmalloc(count * sizeof(double));
        size_t i = 0;
        for (const zsn *x = zb->header->lv[0].fwd; x; x = x->lv[0].fwd, i++) {
            ms[i] = zsn_member(x, &mls[i]);
            ss[i] = x->score;
        }
        zlp *l = lp_build(ms, mls, ss, count);
        zfree(ms);
        zfree(mls);
        zfree(ss);
        big_free(zb);
        return l;
    }
    return zb;
fail:
    big_free(zb);
    return NULL;
}

/* Every member by rank (SORT); a member is valid during its call only. */
static void zset_each_element(const void *obj, element_fn fn, void *priv)
{
    zs_iter it;
    const char *m;
    size_t ml;
    double s;
    zs_iter_init(&it, obj, 0, 0);
    while (zs_iter_next(&it, &m, &ml, &s)) fn(priv, m, ml);
    zs_iter_release(&it);
}

const struct object_type zset_type = {
    .name = "zset",
    .snap_code = 0x04,
    .encoding = zset_encoding,
    .free = zset_free,
    .free_effort = zset_free_effort,
    .dup = zset_dup,
    .mem_usage = zset_mem_usage,
    .digest = zset_digest,
    .save = zset_save,
    .load = zset_load,
    .each_element = zset_each_element,
};
