/* t_hash_enc.c: the hash value's encodings (listpack and hashtable, see
 * t_hash.h), the conversion between them, and the hash's object-type
 * callbacks: free, free effort, dup, memory usage, digest, save and load.
 * The commands are in t_hash.c. */
#include <limits.h>
#include <string.h>

#include "object.h"
#include "server.h"
#include "t_hash.h"

/* ---- the two layouts ------------------------------------------------------ */

/* A hashtable hash is marked by a count no listpack can have. */
#define HT_MARK UINT32_MAX

typedef struct hlp {
    uint32_t count; /* fields; never HT_MARK */
    uint32_t used;  /* bytes of data */
    unsigned char data[];
} hlp;

typedef struct hht {
    uint32_t mark; /* HT_MARK */
    uint32_t spare;
    dict *d;
} hht;

/* A listpack never grows past this (Redis's listpack safety limit); a
 * longer hash is converted first. */
#define LP_MAX_BYTES (1u << 30)

static inline int is_lp(const void *h) { return ((const hlp *)h)->count != HT_MARK; }

enum hash_encoding hash_encoding_of(const void *h)
{
    return is_lp(h) ? HASH_ENC_LISTPACK : HASH_ENC_HASHTABLE;
}

size_t hash_length(const void *h)
{
    return is_lp(h) ? ((const hlp *)h)->count : dict_size(((const hht *)h)->d);
}

dict *hash_table(void *h) { return is_lp(h) ? NULL : ((hht *)h)->d; }

void *hash_create(void)
{
    hlp *lp = zmalloc(sizeof(hlp));
    lp->count = 0;
    lp->used = 0;
    return lp;
}

void hash_free(void *h)
{
    if (h == NULL) return;
    if (!is_lp(h)) dict_free(((hht *)h)->d);
    zfree(h);
}

/* ---- listpack entries ----------------------------------------------------- *
 *
 * First byte:
 *   0x00-0x7f  a string of that many bytes (0..127), which follow
 *   0x80-0xbf  a string of ((b & 0x3f) << 8 | next byte) bytes (< 16384)
 *   0xc0-0xc4  an integer of 1, 2, 3, 4 or 8 little-endian bytes
 *   0xc5-0xc6  a string stored as a prefix it shares with an earlier entry
 *              of the same kind (field or value) and a suffix: the suffix
 *              length (1 byte), the shared length (1 byte), the distance
 *              back from this entry to that "anchor" entry (1 byte for
 *              0xc5, 2 little-endian bytes for 0xc6), then the suffix
 *   0xf0       a string whose length is the next 4 bytes (little endian)
 * A string that is a canonical integer is always stored as an integer, so
 * a lookup knows which kind of entry can match.
 *
 * Shared-prefix entries: an anchor is always a plain string entry (never
 * an integer or another shared-prefix entry), the most recent plain string
 * field (for a field) or value (for a value) before the entry. A string is
 * stored that way only when it is at most PFX_MAX bytes long (so it can be
 * rebuilt in a HASH_NUMBUF buffer), its anchor is less than PFX_DIST_MAX
 * bytes back, and the entry is smaller than the plain one. Since later
 * entries point back at earlier ones, a change anywhere but in the last
 * pair re-encodes the listpack (lp_rebuild). */

#define LP_INT8 0xc0
#define LP_INT64 0xc4
#define LP_PFX 0xc5 /* and 0xc6 */
#define LP_IS_PFX(b) ((unsigned)(b) - LP_PFX < 2u)
#define LP_PFX_HDR(b) (4u + ((unsigned)(b) - LP_PFX)) /* header bytes */
#define LP_STR32 0xf0
#define PFX_MAX HASH_NUMBUF
#define PFX_DIST_MAX 65536

static const unsigned char int_bytes[5] = {1, 2, 3, 4, 8};

typedef struct lpenc {
    unsigned char hdr[9];
    size_t hlen;
    const char *s; /* NULL for an integer */
    size_t slen;
} lpenc;

static void lp_prepare(lpenc *e, const char *s, size_t len)
{
    long long v;
    if (len > 0 && len <= 20 && string2ll(s, len, &v)) {
        int k;
        if (v >= INT8_MIN && v <= INT8_MAX) k = 0;
        else if (v >= INT16_MIN && v <= INT16_MAX) k = 1;
        else if (v >= -(1LL << 23) && v < (1LL << 23)) k = 2;
        else if (v >= INT32_MIN && v <= INT32_MAX) k = 3;
        else k = 4;
        uint64_t u = (uint64_t)v;
        e->hdr[0] = (unsigned char)(LP_INT8 + k);
        for (int i = 0; i < int_bytes[k]; i++) e->hdr[1 + i] = (unsigned char)(u >> (8 * i));
        e->hlen = 1 + (size_t)int_bytes[k];
        e->s = NULL;
        e->slen = 0;
        return;
    }
    if (len < 128) {
        e->hdr[0] = (unsigned char)len;
        e->hlen = 1;
    } else if (len < 16384) {
        e->hdr[0] = (unsigned char)(0x80 | (len >> 8));
        e->hdr[1] = (unsigned char)(len & 0xff);
        e->hlen = 2;
    } else {
        e->hdr[0] = LP_STR32;
        for (int i = 0; i < 4; i++) e->hdr[1 + i] = (unsigned char)(len >> (8 * i));
        e->hlen = 5;
    }
    e->s = s;
    e->slen = len;
}

static inline size_t lpenc_size(const lpenc *e) { return e->hlen + e->slen; }

static inline void lpenc_write(unsigned char *p, const lpenc *e)
{
    memcpy(p, e->hdr, e->hlen);
    if (e->slen) memcpy(p + e->hlen, e->s, e->slen);
}

/* Bytes of the entry at p (which must be well formed). */
static inline size_t lp_entry_size(const unsigned char *p)
{
    unsigned b = p[0];
    if (LP_IS_PFX(b)) return LP_PFX_HDR(b) + (size_t)p[1];
    if (b < 0x80) return 1 + b;
    if (b < 0xc0) return 2 + (((size_t)(b & 0x3f) << 8) | p[1]);
    if (b <= LP_INT64) return 1 + (size_t)int_bytes[b - LP_INT8];
    return 5 + ((size_t)p[1] | (size_t)p[2] << 8 | (size_t)p[3] << 16 | (size_t)p[4] << 24);
}

static inline int lp_is_plain_str(unsigned b) { return b < 0xc0 || b == LP_STR32; }

/* A plain string entry's bytes. */
static inline const char *lp_plain(const unsigned char *p, size_t *len)
{
    unsigned b = p[0];
    if (b < 0x80) {
        *len = b;
        return (const char *)p + 1;
    }
    if (b < 0xc0) {
        *len = ((size_t)(b & 0x3f) << 8) | p[1];
        return (const char *)p + 2;
    }
    *len = (size_t)p[1] | (size_t)p[2] << 8 | (size_t)p[3] << 16 | (size_t)p[4] << 24;
    return (const char *)p + 5;
}

/* A shared-prefix entry's parts: the anchor's bytes (the first *shared
 * are used), the suffix and its length. */
static inline const char *lp_pfx_parts(const unsigned char *p, size_t *shared, const char **suf,
                                       size_t *suflen)
{
    size_t dist = p[3], n = LP_PFX_HDR(p[0]);
    if (n == 5) dist |= (size_t)p[4] << 8;
    size_t alen;
    const char *a = lp_plain(p - dist, &alen);
    *shared = p[2];
    *suflen = p[1];
    *suf = (const char *)p + n;
    return a;
}

static inline int lpenc_matches(const unsigned char *p, const lpenc *e)
{
    if (LP_IS_PFX(p[0])) {
        if (e->s == NULL) return 0; /* integers are never stored this way */
        if ((size_t)p[1] + p[2] != e->slen) return 0;
        size_t shared, suflen;
        const char *suf;
        const char *a = lp_pfx_parts(p, &shared, &suf, &suflen);
        return shared + suflen == e->slen && memcmp(a, e->s, shared) == 0 &&
               (suflen == 0 || memcmp(suf, e->s + shared, suflen) == 0);
    }
    /* the same first byte means the same header length and, for strings,
     * the same length: the comparisons stay inside the entry */
    if (p[0] != e->hdr[0]) return 0;
    if (e->hlen > 1 && memcmp(p + 1, e->hdr + 1, e->hlen - 1) != 0) return 0;
    return e->slen == 0 || memcmp(p + e->hlen, e->s, e->slen) == 0;
}

/* The entry's bytes: in place for a string, formatted into buf (HASH_NUMBUF
 * bytes) for an integer. */
static inline const char *lp_decode(const unsigned char *p, char *buf, size_t *len)
{
    unsigned b = p[0];
    if (b < 0x80) {
        *len = b;
        return (const char *)p + 1;
    }
    if (b < 0xc0) {
        *len = ((size_t)(b & 0x3f) << 8) | p[1];
        return (const char *)p + 2;
    }
    if (b == LP_STR32) {
        *len = (size_t)p[1] | (size_t)p[2] << 8 | (size_t)p[3] << 16 | (size_t)p[4] << 24;
        return (const char *)p + 5;
    }
    if (LP_IS_PFX(b)) {
        size_t shared, suflen;
        const char *suf;
        const char *a = lp_pfx_parts(p, &shared, &suf, &suflen);
        for (size_t i = 0; i < shared; i++) buf[i] = a[i]; /* short: no memcpy call */
        for (size_t i = 0; i < suflen; i++) buf[shared + i] = suf[i];
        *len = shared + suflen;
        return buf;
    }
    int nb = int_bytes[b - LP_INT8];
    uint64_t u = 0;
    for (int i = 0; i < nb; i++) u |= (uint64_t)p[1 + i] << (8 * i);
    if (nb < 8 && (u >> (8 * nb - 1)) & 1) u |= ~(uint64_t)0 << (8 * nb); /* sign */
    *len = ll2str(buf, HASH_NUMBUF, (long long)u);
    return buf;
}

/* The field entry equal to e, or NULL. If fa is not NULL, *fa and *va get
 * the offsets of the last plain string field and value before that pair
 * (before the end when there is none), or SIZE_MAX. */
static unsigned char *lp_find(hlp *lp, const lpenc *e, size_t *fa, size_t *va)
{
    unsigned char *p = lp->data, *end = lp->data + lp->used;
    size_t lf = SIZE_MAX, lv = SIZE_MAX;
    /* shared-prefix fields: how many first bytes the probe shares with
     * their anchor (fields in a row mostly have the same one) */
    const unsigned char *anchor = NULL;
    size_t cp = 0;
    while (p < end) {
        if (LP_IS_PFX(p[0])) {
            size_t n = LP_PFX_HDR(p[0]), k = p[2], x = p[1];
            if (e->s != NULL && k + x == e->slen) {
                size_t dist = n == 4 ? p[3] : ((size_t)p[3] | (size_t)p[4] << 8);
                if (p - dist != anchor) {
                    size_t alen;
                    const char *a = lp_plain(p - dist, &alen);
                    size_t m = alen < e->slen ? alen : e->slen;
                    cp = 0;
                    while (cp < m && a[cp] == e->s[cp]) cp++;
                    anchor = p - dist;
                }
                if (k <= cp) {
                    const unsigned char *suf = p + n;
                    size_t i = 0;
                    while (i < x && suf[i] == (unsigned char)e->s[k + i]) i++;
                    if (i == x) break;
                }
            }
            p += n + x;
        } else {
            if (lpenc_matches(p, e)) break;
            if (fa && lp_is_plain_str(p[0])) lf = (size_t)(p - lp->data);
            p += lp_entry_size(p);
        }
        if (fa && lp_is_plain_str(p[0])) lv = (size_t)(p - lp->data);
        p += lp_entry_size(p);
    }
    if (fa) {
        *fa = lf;
        *va = lv;
    }
    return p < end ? p : NULL;
}

/* ---- encoding with shared prefixes ----------------------------------------- */

/* The anchor the next field (or value) may share a prefix with: its
 * offset and its first bytes (at most PFX_MAX), either in place or, when
 * `own`, copied into b. */
typedef struct pfxanchor {
    int has, own;
    size_t off; /* of the anchor entry, from the start of the data */
    size_t len; /* bytes at s: at most PFX_MAX */
    const char *s;
    char b[PFX_MAX];
} pfxanchor;

static inline void anchor_set(pfxanchor *a, size_t off, const char *s, size_t len)
{
    a->has = 1;
    a->off = off;
    a->len = len < PFX_MAX ? len : PFX_MAX;
    if (a->own) {
        memcpy(a->b, s, a->len);
        a->s = a->b;
    } else {
        a->s = s;
    }
}

/* The anchor at offset off of lp (SIZE_MAX: none), in place. */
static inline void anchor_load(pfxanchor *a, const hlp *lp, size_t off)
{
    a->has = 0;
    a->own = 0;
    if (off == SIZE_MAX) return;
    size_t len;
    const char *s = lp_plain(lp->data + off, &len);
    anchor_set(a, off, s, len);
}

/* How a string is encoded at a position: plainly (k == 0) or as the k
 * bytes it shares with the anchor dist bytes back and its suffix. */
typedef struct lpplan {
    lpenc e;
    size_t k, dist, size;
} lpplan;

/* Plans the entry for s at offset pos against the anchor a, and makes the
 * entry a's successor when it is stored plainly; returns its size. With
 * own == 0, s must stay valid while a is used. */
static size_t lp_plan(lpplan *pl, size_t pos, pfxanchor *a, const char *s, size_t len)
{
    lp_prepare(&pl->e, s, len);
    pl->k = 0;
    pl->size = lpenc_size(&pl->e);
    if (pl->e.s == NULL) return pl->size;
    if (a->has && len <= PFX_MAX && pos - a->off < PFX_DIST_MAX) {
        size_t k = 0, m = a->len < len ? a->len : len;
        while (k < m && a->s[k] == s[k]) k++;
        size_t dist = pos - a->off;
        size_t psize = (dist < 256 ? 4 : 5) + (len - k);
        if (k > 0 && psize < pl->size) {
            pl->k = k;
            pl->dist = dist;
            pl->size = psize;
            return psize;
        }
    }
    anchor_set(a, pos, s, len);
    return pl->size;
}

static void lp_emit(unsigned char *p, const lpplan *pl)
{
    if (pl->k == 0) {
        lpenc_write(p, &pl->e);
        return;
    }
    size_t n = 4, k = pl->k, len = pl->e.slen;
    p[0] = LP_PFX;
    p[1] = (unsigned char)(len - k);
    p[2] = (unsigned char)k;
    p[3] = (unsigned char)pl->dist;
    if (pl->dist >= 256) {
        p[0] = LP_PFX + 1;
        p[4] = (unsigned char)(pl->dist >> 8);
        n = 5;
    }
    if (len > k) memcpy(p + n, pl->e.s + k, len - k);
}

/* A re-encoded copy of lp (which the caller frees) where the pair whose
 * field entry is at offset `at` is dropped, or has the value v. */
static hlp *lp_rebuild(const hlp *lp, size_t at, int drop, const char *v, size_t vlen)
{
    size_t size = 0;
    hlp *out = NULL;
    for (int pass = 0; pass < 2; pass++) {
        unsigned char *data = NULL;
        if (pass) {
            out = zmalloc(sizeof(hlp) + size);
            data = out->data;
        }
        pfxanchor fa, va;
        fa.has = va.has = 0;
        fa.own = va.own = 1; /* decoded strings may be in fb and vb */
        lpplan pl;
        size_t pos = 0;
        const unsigned char *p = lp->data, *end = lp->data + lp->used;
        char fb[HASH_NUMBUF], vb[HASH_NUMBUF];
        while (p < end) {
            size_t off = (size_t)(p - lp->data), fl, vl;
            const char *f = lp_decode(p, fb, &fl);
            p += lp_entry_size(p);
            const char *pv = lp_decode(p, vb, &vl);
            p += lp_entry_size(p);
            if (off == at) {
                if (drop) continue;
                pv = v;
                vl = vlen;
            }
            lp_plan(&pl, pos, &fa, f, fl);
            if (data) lp_emit(data + pos, &pl);
            pos += pl.size;
            lp_plan(&pl, pos, &va, pv, vl);
            if (data) lp_emit(data + pos, &pl);
            pos += pl.size;
        }
        size = pos;
    }
    out->count = lp->count - (drop ? 1 : 0);
    out->used = (uint32_t)size;
    return out;
}

/* ---- hashtable values: a varint length, then the bytes ------------------- */

static void node_value_write(unsigned char *p, const char *v, size_t vlen)
{
    size_t x = vlen;
    while (x >= 0x80) {
        *p++ = (unsigned char)(x | 0x80);
        x >>= 7;
    }
    *p++ = (unsigned char)x;
    if (vlen) memcpy(p, v, vlen);
}

const char *hash_node_value(const dnode *n, size_t *len)
{
    const unsigned char *p = dnode_cval(n);
    size_t v = 0;
    int shift = 0;
    while (*p & 0x80) {
        v |= (size_t)(*p++ & 0x7f) << shift;
        shift += 7;
    }
    v |= (size_t)*p++ << shift;
    *len = v;
    return (const char *)p;
}

static void ht_add(dict *d, const char *f, size_t flen, const char *v, size_t vlen)
{
    size_t room = varint_len(vlen) + vlen;
    dnode *n = dict_add(d, f, flen, NULL, room);
    node_value_write(dnode_val(n), v, vlen);
}

/* 1 if added, 0 if the value was replaced. */
static int ht_set(dict *d, const char *f, size_t flen, const char *v, size_t vlen)
{
    dnode *n = dict_find(d, f, flen);
    if (n == NULL) {
        ht_add(d, f, flen, v, vlen);
        return 1;
    }
    size_t room = varint_len(vlen) + vlen;
    if (((room + 7) & ~(size_t)7) == n->vlen) {
        node_value_write(dnode_val(n), v, vlen);
        return 0;
    }
    /* another size: a new node under the old one's key, then the old goes
     * (v may not point into the old node: callers copy out first) */
    n = dict_unlink(d, f, flen);
    ht_add(d, dnode_key(n), n->klen, v, vlen);
    dict_node_free(n);
    return 0;
}

/* ---- conversion ------------------------------------------------------------ */

/* An empty hashtable hash sized for n fields. */
static hht *ht_new(size_t n)
{
    hht *ht = zmalloc(sizeof(hht));
    ht->mark = HT_MARK;
    ht->spare = 0;
    ht->d = dict_create();
    if (n) dict_expand(ht->d, n);
    return ht;
}

void hash_convert(void **hp)
{
    hlp *lp = *hp;
    if (!is_lp(lp)) return;
    hht *ht = ht_new(lp->count);
    unsigned char *p = lp->data, *end = lp->data + lp->used;
    char fb[HASH_NUMBUF], vb[HASH_NUMBUF];
    while (p < end) {
        size_t flen, vlen;
        const char *f = lp_decode(p, fb, &flen);
        p += lp_entry_size(p);
        const char *v = lp_decode(p, vb, &vlen);
        p += lp_entry_size(p);
        ht_add(ht->d, f, flen, v, vlen);
    }
    zfree(lp);
    *hp = ht;
}

static int too_long(size_t len)
{
    return len > (unsigned long long)server.hash_max_listpack_value || len >= LP_MAX_BYTES;
}

void hash_try_conversion(void **hp, size_t longest, size_t total)
{
    hlp *lp = *hp;
    if (!is_lp(lp)) return;
    if (too_long(longest) || total >= LP_MAX_BYTES - lp->used) hash_convert(hp);
}

/* ---- operations -------------------------------------------------------------- */

int hash_get(void *h, const char *f, size_t flen, char *buf, const char **v, size_t *vlen)
{
    if (is_lp(h)) {
        hlp *lp = h;
        if (flen >= LP_MAX_BYTES) return 0;
        lpenc e;
        lp_prepare(&e, f, flen);
        unsigned char *p = lp_find(lp, &e, NULL, NULL);
        if (p == NULL) return 0;
        *v = lp_decode(p + lp_entry_size(p), buf, vlen);
        return 1;
    }
    dnode *n = dict_find(((hht *)h)->d, f, flen);
    if (n == NULL) return 0;
    *v = hash_node_value(n, vlen);
    return 1;
}

static int lp_set(void **hp, const char *f, size_t flen, const char *v, size_t vlen)
{
    hlp *lp = *hp;
    lpenc fe;
    lp_prepare(&fe, f, flen);
    size_t fao, vao;
    unsigned char *fp = lp_find(lp, &fe, &fao, &vao);
    pfxanchor fa, va;
    lpplan fpl, vpl;
    anchor_load(&va, lp, vao);
    if (fp) {
        unsigned char *vp = fp + lp_entry_size(fp);
        size_t off = (size_t)(vp - lp->data), osize = lp_entry_size(vp);
        if (off + osize != lp->used) {
            /* later entries may share this value's prefix: re-encode */
            hlp *n = lp_rebuild(lp, (size_t)(fp - lp->data), 0, v, vlen);
            zfree(lp);
            *hp = n;
            return 0;
        }
        /* the last pair: nothing points at its value */
        size_t nsize = lp_plan(&vpl, off, &va, v, vlen);
        if (nsize != osize) lp = zrealloc(lp, sizeof(hlp) + off + nsize);
        lp_emit(lp->data + off, &vpl);
        lp->used = (uint32_t)(off + nsize);
        *hp = lp;
        return 0;
    }
    anchor_load(&fa, lp, fao);
    size_t fsize = lp_plan(&fpl, lp->used, &fa, f, flen);
    size_t nsize = lp_plan(&vpl, lp->used + fsize, &va, v, vlen);
    lp = zrealloc(lp, sizeof(hlp) + lp->used + fsize + nsize);
    lp_emit(lp->data + lp->used, &fpl);
    lp_emit(lp->data + lp->used + fsize, &vpl);
    lp->used = (uint32_t)(lp->used + fsize + nsize);
    lp->count++;
    *hp = lp;
    if ((unsigned long long)lp->count > (unsigned long long)server.hash_max_listpack_entries ||
        lp->count == HT_MARK - 1)
        hash_convert(hp);
    return 1;
}

int hash_set(void **hp, const char *f, size_t flen, const char *v, size_t vlen)
{
    if (is_lp(*hp)) {
        hlp *lp = *hp;
        if (too_long(flen) || too_long(vlen) || flen + vlen + 10 >= LP_MAX_BYTES - lp->used)
            hash_convert(hp);
        else return lp_set(hp, f, flen, v, vlen);
    }
    return ht_set(((hht *)*hp)->d, f, flen, v, vlen);
}

int hash_delete(void **hp, const char *f, size_t flen)
{
    if (!is_lp(*hp)) return dict_delete(((hht *)*hp)->d, f, flen);
    hlp *lp = *hp;
    if (flen >= LP_MAX_BYTES) return 0;
    lpenc e;
    lp_prepare(&e, f, flen);
    unsigned char *p = lp_find(lp, &e, NULL, NULL);
    if (p == NULL) return 0;
    size_t size = lp_entry_size(p);
    size += lp_entry_size(p + size);
    size_t off = (size_t)(p - lp->data);
    if (off + size != lp->used) {
        /* later entries may share this pair's prefixes: re-encode */
        *hp = lp_rebuild(lp, off, 1, NULL, 0);
        zfree(lp);
        return 1;
    }
    lp->used = (uint32_t)off;
    lp->count--;
    *hp = zrealloc(lp, sizeof(hlp) + lp->used);
    return 1;
}

/* ---- iteration and random access ------------------------------------------- */

void hash_iter_init(hash_iter *it, void *h)
{
    it->h = h;
    if (is_lp(h)) {
        hlp *lp = h;
        it->p = lp->data;
        it->end = lp->data + lp->used;
        it->di.d = NULL;
    } else {
        it->p = it->end = NULL;
        dict_iter_init(&it->di, ((hht *)h)->d);
    }
}

int hash_iter_next(hash_iter *it, const char **f, size_t *flen, const char **v, size_t *vlen)
{
    if (is_lp(it->h)) {
        if (it->p >= it->end) return 0;
        *f = lp_decode(it->p, it->fbuf, flen);
        it->p += lp_entry_size(it->p);
        *v = lp_decode(it->p, it->vbuf, vlen);
        it->p += lp_entry_size(it->p);
        return 1;
    }
    dnode *n = dict_iter_next(&it->di);
    if (n == NULL) return 0;
    *f = dnode_key(n);
    *flen = n->klen;
    *v = hash_node_value(n, vlen);
    return 1;
}

void hash_iter_release(hash_iter *it)
{
    if (it->di.d) dict_iter_release(&it->di);
}

size_t *hash_lp_offsets(const void *h)
{
    const hlp *lp = h;
    size_t *off = zmalloc((lp->count ? lp->count : 1) * sizeof(size_t));
    const unsigned char *p = lp->data, *end = lp->data + lp->used;
    for (size_t i = 0; p < end; i++) {
        off[i] = (size_t)(p - lp->data);
        p += lp_entry_size(p);
        p += lp_entry_size(p);
    }
    return off;
}

void hash_lp_pair_at(const void *h, size_t off, char *fbuf, char *vbuf, const char **f,
                     size_t *flen, const char **v, size_t *vlen)
{
    const unsigned char *p = ((const hlp *)h)->data + off;
    *f = lp_decode(p, fbuf, flen);
    *v = lp_decode(p + lp_entry_size(p), vbuf, vlen);
}

void hash_random(void *h, char *fbuf, char *vbuf, const char **f, size_t *flen, const char **v,
                 size_t *vlen)
{
    if (is_lp(h)) {
        hlp *lp = h;
        size_t pick = random_u64() % lp->count;
        const unsigned char *p = lp->data;
        while (pick-- > 0) {
            p += lp_entry_size(p);
            p += lp_entry_size(p);
        }
        hash_lp_pair_at(h, (size_t)(p - lp->data), fbuf, vbuf, f, flen, v, vlen);
        return;
    }
    dnode *n = dict_random(((hht *)h)->d);
    *f = dnode_key(n);
    *flen = n->klen;
    *v = hash_node_value(n, vlen);
}

/* ---- object-type callbacks ----------------------------------------------------- */

size_t hash_free_effort(const void *h) { return is_lp(h) ? 1 : dict_size(((const hht *)h)->d); }

void *hash_dup(const void *h)
{
    if (is_lp(h)) {
        const hlp *lp = h;
        hlp *copy = zmalloc(sizeof(hlp) + lp->used);
        memcpy(copy, lp, sizeof(hlp) + lp->used);
        return copy;
    }
    dict *src = ((const hht *)h)->d;
    hht *ht = ht_new(dict_size(src));
    dict_iter it;
    dict_iter_init(&it, src);
    for (dnode *n = dict_iter_next(&it); n; n = dict_iter_next(&it))
        dict_add(ht->d, dnode_key(n), n->klen, dnode_cval(n), n->vlen);
    dict_iter_release(&it);
    return ht;
}

size_t hash_mem_usage(const void *h, long long samples)
{
    if (is_lp(h)) return zmalloc_size(h);
    dict *d = ((const hht *)h)->d;
    size_t total = dict_size(d);
    if (samples <= 0 || (size_t)samples >= total) return zmalloc_size(h) + dict_mem_usage(d);
    /* the tables, then the average of the first `samples` nodes */
    size_t n = zmalloc_size(h) + zmalloc_size(d) + zmalloc_size(d->table[0]) +
               zmalloc_size(d->table[1]);
    size_t seen = 0, bytes = 0;
    dict_iter it;
    dict_iter_init(&it, d);
    for (dnode *x = dict_iter_next(&it); x && seen < (size_t)samples; x = dict_iter_next(&it)) {
        bytes += zmalloc_size(x);
        seen++;
    }
    dict_iter_release(&it);
    if (seen) n += (size_t)((double)bytes / (double)seen * (double)total);
    return n;
}

void hash_digest(const void *h, struct digest *dg)
{
    hash_iter it;
    hash_iter_init(&it, (void *)h);
    const char *f, *v;
    size_t flen, vlen;
    while (hash_iter_next(&it, &f, &flen, &v, &vlen)) digest_add_element(dg, f, flen, v, vlen);
    hash_iter_release(&it);
}

/* Snapshot: the encoding (0 listpack, 1 hashtable), the field count, then
 * each field and its value as strings. */
void hash_save(const void *h, struct snap_writer *w)
{
    snapw_byte(w, is_lp(h) ? 0 : 1);
    snapw_varint(w, hash_length(h));
    hash_iter it;
    hash_iter_init(&it, (void *)h);
    const char *f, *v;
    size_t flen, vlen;
    while (hash_iter_next(&it, &f, &flen, &v, &vlen)) {
        snapw_string(w, f, flen);
        snapw_string(w, v, vlen);
    }
    hash_iter_release(&it);
}

/* A listpack of more than this many fields checks for duplicates with a
 * temporary dict rather than by scanning. */
#define LOAD_SCAN_MAX 64

void *hash_load(struct snap_reader *r)
{
    unsigned char enc;
    uint64_t count;
    if (snapr_byte(r, &enc) != 0 || snapr_varint(r, &count) != 0) return NULL;
    if (enc > 1) {
        snapr_fail(r, "bad hash encoding");
        return NULL;
    }
    if (count == 0) {
        snapr_fail(r, "empty hash");
        return NULL;
    }
    if (count > snapr_remaining(r) / 2) {
        snapr_fail(r, "hash count exceeds the payload");
        return NULL;
    }
    void *h = enc == 1 || count > (unsigned long long)server.hash_max_listpack_entries
                  ? (void *)ht_new((size_t)count)
                  : hash_create();
    dict *seen = NULL;
    if (is_lp(h) && count > LOAD_SCAN_MAX) {
        seen = dict_create();
        dict_expand(seen, (size_t)count);
    }
    for (uint64_t i = 0; i < count; i++) {
        const char *f, *v;
        size_t flen, vlen;
        if (snapr_string(r, &f, &flen) != 0 || snapr_string(r, &v, &vlen) != 0) goto fail;
        int dup;
        if (is_lp(h) && seen) {
            dup = dict_find(seen, f, flen) != NULL;
            if (!dup) dict_add(seen, f, flen, NULL, 0);
        } else {
            char buf[HASH_NUMBUF];
            const char *ov;
            size_t ol;
            dup = hash_get(h, f, flen, buf, &ov, &ol);
        }
        if (dup) {
            snapr_fail(r, "duplicate hash field");
            goto fail;
        }
        hash_set(&h, f, flen, v, vlen);
    }
    dict_free(seen);
    return h;
fail:
    dict_free(seen);
    hash_free(h);
    return NULL;
}
