/* t_list_enc.c: the list value's structure (see t_list.h): the element
 * encoding, the nodes with their gap buffers, pushes and pops at both ends,
 * positions (iterators) with insertion, replacement and deletion, range
 * deletion, the compression of interior nodes (list-compress-depth), copies
 * and the structure checks the unit test uses. It knows nothing of commands
 * or replies. */
#include <limits.h>
#include <string.h>

#include "server.h"
#include "t_list.h"
#include "t_list_zip.h"

/* ---- elements ------------------------------------------------------------ */

#define STR6 0x80
#define STR13 0xc0
#define STR32 0xe0
#define INTN 0xe0 /* + 1..8 bytes */
#define MAX_ELEMENT_LEN (UINT32_MAX - 64)

/* Bytes of the backward size of an element whose tag + payload is t bytes. */
static inline size_t back_size(size_t t)
{
    return t < 128 ? 1 : t < 16384 ? 2 : t < (1u << 21) ? 3 : t < (1u << 28) ? 4 : 5;
}

static inline void back_write(unsigned char *p, size_t t)
{
    size_t n = back_size(t);
    for (size_t k = 0; k < n; k++) {
        unsigned char b = (unsigned char)((t >> (7 * k)) & 0x7f);
        if (k + 1 < n) b |= 0x80;
        p[n - 1 - k] = b;
    }
}

/* Reads the backward size ending just before `end`; *nb gets its bytes. */
static inline size_t back_read(const unsigned char *end, size_t *nb)
{
    size_t v = 0, i = 0;
    unsigned char b;
    do {
        b = end[-1 - (long)i];
        v |= (size_t)(b & 0x7f) << (7 * i);
        i++;
    } while ((b & 0x80) && i < 5);
    *nb = i;
    return v;
}

static inline uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Tag + payload bytes of the element at p. */
static inline size_t head_size(const unsigned char *p)
{
    unsigned char t = p[0];
    if (t < 0x80) return 1;
    if (t < STR13) return 1 + (size_t)(t & 0x3f);
    if (t < STR32) return 2 + (((size_t)(t & 0x1f) << 8) | p[1]);
    if (t == STR32) return 5 + (size_t)le32(p + 1);
    return 1 + (size_t)(t - INTN);
}

static inline size_t elem_size(const unsigned char *p)
{
    size_t t = head_size(p);
    return t + back_size(t);
}

static inline void decode(const unsigned char *p, lval *out)
{
    unsigned char t = p[0];
    if (t < 0x80) {
        out->s = NULL;
        out->len = 0;
        out->v = t;
    } else if (t < STR13) {
        out->s = p + 1;
        out->len = t & 0x3f;
    } else if (t < STR32) {
        out->s = p + 2;
        out->len = ((size_t)(t & 0x1f) << 8) | p[1];
    } else if (t == STR32) {
        out->s = p + 5;
        out->len = le32(p + 1);
    } else {
        unsigned n = (unsigned)(t - INTN);
        uint64_t u = 0;
        for (unsigned i = 0; i < n; i++) u |= (uint64_t)p[1 + i] << (8 * i);
        if (n < 8 && (u >> (8 * n - 1)) & 1) u |= ~(uint64_t)0 << (8 * n); /* sign-extend */
        out->s = NULL;
        out->len = 0;
        out->v = (long long)u;
    }
}

int ql_parse_int(const char *s, size_t len, long long *v)
{
    if (len == 0 || len > 20) return 0;
    if ((s[0] < '0' || s[0] > '9') && s[0] != '-') return 0;
    return string2ll(s, len, v);
}

/* An element ready to be written. */
typedef struct enc {
    unsigned char hdr[9];
    size_t hlen;
    const char *s; /* payload, NULL for integers */
    size_t slen;
    size_t t;      /* hdr + payload */
    size_t total;  /* t + backward size */
} enc;

static void enc_prepare(enc *e, const char *s, size_t len)
{
    long long v;
    e->s = NULL;
    e->slen = 0;
    if (ql_parse_int(s, len, &v)) {
        if (v >= 0 && v < 128) {
            e->hdr[0] = (unsigned char)v;
            e->hlen = 1;
        } else {
            unsigned n = 1;
            while (n < 8) {
                long long lim = 1LL << (8 * n - 1);
                if (v >= -lim && v < lim) break;
                n++;
            }
            e->hdr[0] = (unsigned char)(INTN + n);
            uint64_t u = (uint64_t)v;
            for (unsigned i = 0; i < n; i++) e->hdr[1 + i] = (unsigned char)(u >> (8 * i));
            e->hlen = 1 + n;
        }
    } else {
        if (len > MAX_ELEMENT_LEN) len = MAX_ELEMENT_LEN; /* the commands refuse these first */
        e->s = s;
        e->slen = len;
        if (len < 64) {
            e->hdr[0] = (unsigned char)(STR6 | len);
            e->hlen = 1;
        } else if (len < 8192) {
            e->hdr[0] = (unsigned char)(STR13 | (len >> 8));
            e->hdr[1] = (unsigned char)(len & 0xff);
            e->hlen = 2;
        } else {
            e->hdr[0] = STR32;
            for (int i = 0; i < 4; i++) e->hdr[1 + i] = (unsigned char)(len >> (8 * i));
            e->hlen = 5;
        }
    }
    e->t = e->hlen + e->slen;
    e->total = e->t + back_size(e->t);
}

static void enc_write(unsigned char *dst, const enc *e)
{
    memcpy(dst, e->hdr, e->hlen);
    if (e->slen) memcpy(dst + e->hlen, e->s, e->slen);
    back_write(dst + e->t, e->t);
}

const char *lval_str(const lval *v, char *buf, size_t *len)
{
    if (v->s) {
        *len = v->len;
        return (const char *)v->s;
    }
    *len = ll2str(buf, 24, v->v);
    return buf;
}

int lval_equal(const lval *v, const char *s, size_t len, int isint, long long iv)
{
    if (v->s) return v->len == len && (len == 0 || memcmp(v->s, s, len) == 0);
    return isint && v->v == iv;
}

/* ---- nodes --------------------------------------------------------------- */

static inline unsigned char *nd_begin(lnode *n) { return n->data + n->start; }
static inline unsigned char *nd_end(lnode *n) { return n->data + n->start + n->used; }

static size_t node_limit_bytes(void)
{
    int f = server.list_max_listpack_size;
    if (f >= 0) return 8192; /* a count limit still keeps nodes below 8 KB */
    if (f < -5) f = -5;
    return (size_t)4096 << (-f - 1);
}

/* May the node take another element of `add` bytes? */
static int node_fits(const lnode *n, size_t add)
{
    if (n->count == 0) return 1;
    int f = server.list_max_listpack_size;
    if (f >= 0 && n->count >= (uint32_t)(f > 0 ? f : 1)) return 0;
    return (size_t)n->used + add <= node_limit_bytes();
}

static void set_cap(lnode *n)
{
    size_t cap = zmalloc_size(n) - sizeof(lnode);
    n->cap = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
}

static lnode *node_new(size_t cap)
{
    lnode *n = zmalloc(sizeof(lnode) + cap);
    n->prev = n->next = NULL;
    n->count = n->start = n->used = 0;
    set_cap(n);
    return n;
}

/* Reallocates n (the data keeps its offset) and relinks its neighbours. */
static lnode *node_realloc(qlist *l, lnode *n, size_t cap)
{
    lnode *m = zrealloc(n, sizeof(lnode) + cap);
    set_cap(m);
    if (m != n) {
        if (m->prev) m->prev->next = m;
        else l->head = m;
        if (m->next) m->next->prev = m;
        else l->tail = m;
    }
    return m;
}

/* Drops a node's spare capacity (it is no longer an end of the list). */
static lnode *node_shrink(qlist *l, lnode *n)
{
    if (n->cap - n->used < 16) return n;
    if (n->start) memmove(n->data, nd_begin(n), n->used);
    n->start = 0;
    return node_realloc(l, n, n->used);
}

/* An interior node that lost many elements gives memory back. */
static lnode *node_maybe_shrink(qlist *l, lnode *n)
{
    if (n == l->head || n == l->tail) return n;
    if (n->cap > 256 && n->cap - n->used > n->cap / 2) return node_shrink(l, n);
    return n;
}

/* Makes room for `add` bytes at the front (front) or back of the node's
 * elements. Returns the node's (possibly new) address. */
static lnode *node_room(qlist *l, lnode *n, size_t add, int front)
{
    size_t tail_free = n->cap - n->start - n->used;
    if (front ? n->start >= add : tail_free >= add) return n;
    size_t need = n->used + add;
    size_t cap = n->cap;
    if (cap < need) {
        /* small nodes grow exactly (a realloc of a few bytes is cheap and
         * short lists are the common case); large ones by half, so that
         * filling an 8 KB node takes a handful of reallocations */
        size_t extra = need < 256 ? 0 : need / 2;
        if (extra > 2048) extra = 2048;
        n = node_realloc(l, n, need + extra);
        cap = n->cap;
    }
    /* the requested side gets `add` and half of what is left over */
    size_t spare = cap - need;
    size_t nstart = front ? add + spare / 2 : spare / 2;
    if (nstart != n->start) memmove(n->data + nstart, nd_begin(n), n->used);
    n->start = (uint32_t)nstart;
    return n;
}

static void link_after(qlist *l, lnode *at, lnode *n)
{
    n->prev = at;
    n->next = at ? at->next : l->head;
    if (n->next) n->next->prev = n;
    else l->tail = n;
    if (at) at->next = n;
    else l->head = n;
}

static void unlink_free(qlist *l, lnode *n)
{
    if (n->prev) n->prev->next = n->next;
    else l->head = n->next;
    if (n->next) n->next->prev = n->prev;
    else l->tail = n->prev;
    zfree(n);
}

/* A node holding just one element. */
static lnode *node_with(const enc *e)
{
    lnode *n = node_new(e->total);
    enc_write(n->data, e);
    n->used = (uint32_t)e->total;
    n->count = 1;
    return n;
}

/* ---- compression --------------------------------------------------------- */

/* As Redis: smaller nodes are not worth it, and a frame must save at least
 * this much to be kept. */
#define ZIP_MIN_BYTES 48
#define ZIP_MIN_GAIN 8

static inline int nd_zipped(const lnode *n) { return n->cap == 0; }
static inline uint32_t nd_ziplen(const lnode *n) { return n->start; }

static int compress_depth(void)
{
    int d = server.list_compress_depth;
    return d < 0 ? 0 : d;
}

/* Is n one of the `depth` nodes at either end? */
static int node_near_end(const qlist *l, const lnode *n, int depth)
{
    const lnode *h = l->head, *t = l->tail;
    for (int i = 0; i < depth && h; i++, h = h->next, t = t->prev)
        if (h == n || t == n) return 1;
    return 0;
}

/* Puts m in n's place in the list and frees n. */
static void node_replace(qlist *l, lnode *n, lnode *m)
{
    m->prev = n->prev;
    m->next = n->next;
    if (m->prev) m->prev->next = m;
    else l->head = m;
    if (m->next) m->next->prev = m;
    else l->tail = m;
    zfree(n);
}

/* Frames are made here and then copied into an allocation of their exact
 * size: allocating for the worst case and shrinking would leave holes in
 * the heap at every node. Nodes bigger than this use a buffer of their own,
 * so that one huge element does not keep a huge scratch buffer alive. */
#define ZIP_SCRATCH_MAX (128 * 1024)
static unsigned char *zip_scratch;
static size_t zip_scratch_cap;

/* Compresses a node that is not near an end, if that saves memory.
 * Returns its (possibly new) address. */
static lnode *node_zip(qlist *l, lnode *n)
{
    int depth = compress_depth();
    if (nd_zipped(n) || n->used < ZIP_MIN_BYTES || depth == 0 || node_near_end(l, n, depth)) return n;
    size_t cap = n->used - ZIP_MIN_GAIN;
    unsigned char *dst = zip_scratch;
    if (cap > ZIP_SCRATCH_MAX) {
        dst = zmalloc(cap);
    } else if (zip_scratch_cap < cap) {
        zfree(zip_scratch);
        zip_scratch = dst = zmalloc(ZIP_SCRATCH_MAX);
        zip_scratch_cap = ZIP_SCRATCH_MAX;
    }
    size_t zlen = lzip_compress(dst, cap, nd_begin(n), n->used);
    lnode *m = NULL;
    if (zlen) {
        m = zmalloc(sizeof(lnode) + zlen);
        memcpy(m->data, dst, zlen);
    }
    if (dst != zip_scratch) zfree(dst);
    if (m == NULL) return n;
    m->count = n->count;
    m->used = n->used;
    m->start = (uint32_t)zlen;
    m->cap = 0;
    node_replace(l, n, m);
    return m;
}

/* Decompresses n in place; returns its new address. */
static lnode *node_unzip(qlist *l, lnode *n)
{
    if (!nd_zipped(n)) return n;
    lnode *m = node_new(n->used);
    lzip_decompress(m->data, n->used, n->data, nd_ziplen(n));
    m->count = n->count;
    m->used = n->used;
    node_replace(l, n, m);
    return m;
}

/* Restores the rule after the ends changed: the `depth` nodes at each end
 * (at least the end nodes themselves) uncompressed, and the `reach` nodes
 * past them compressed (a push or a pop moves one node across that line).
 * The position `it` (or NULL) is kept valid: its node is not compressed
 * while it is on it, only marked for when it leaves. */
static void settle_ends(qlist *l, struct qiter *it, int reach)
{
    int depth = compress_depth();
    int keep = depth > 0 ? depth : 1;
    for (int side = 0; side < 2; side++) {
        lnode *n = side == 0 ? l->head : l->tail; /* the head's side may have moved the tail */
        for (int i = 0; i < keep && n; i++) {
            if (nd_zipped(n)) {
                lnode *m = node_unzip(l, n);
                if (it && it->n == n) it->n = m;
                n = m;
            }
            n = side == 0 ? n->next : n->prev;
        }
        for (int i = 0; i < reach && n && depth > 0; i++) {
            if (it && it->n == n) it->unzipped = !nd_zipped(n);
            else n = node_zip(l, n);
            n = side == 0 ? n->next : n->prev;
        }
    }
}

/* ---- the list ------------------------------------------------------------ */

qlist *ql_create(void)
{
    qlist *l = zmalloc(sizeof(*l));
    l->head = l->tail = NULL;
    l->count = 0;
    return l;
}

void ql_free(qlist *l)
{
    lnode *n = l->head;
    while (n) {
        lnode *next = n->next;
        zfree(n);
        n = next;
    }
    zfree(l);
}

qlist *ql_dup(const qlist *l)
{
    qlist *c = ql_create();
    for (const lnode *n = l->head; n; n = n->next) {
        lnode *m;
        if (nd_zipped(n)) {
            m = zmalloc(sizeof(lnode) + nd_ziplen(n));
            memcpy(m, n, sizeof(lnode) + nd_ziplen(n));
        } else {
            m = node_new(n->used);
            memcpy(m->data, n->data + n->start, n->used);
            m->used = n->used;
            m->count = n->count;
        }
        link_after(c, c->tail, m);
    }
    c->count = l->count;
    return c;
}

size_t ql_nodes(const qlist *l, size_t limit)
{
    size_t n = 0;
    for (const lnode *p = l->head; p && n < limit; p = p->next) n++;
    return n;
}

size_t ql_mem_usage(const qlist *l, long long samples)
{
    size_t bytes = 0, elements = 0;
    long long seen = 0;
    const lnode *n = l->head;
    for (; n && (samples <= 0 || seen < samples); n = n->next, seen++) {
        bytes += zmalloc_size(n);
        elements += n->count;
    }
    /* nodes not visited are taken to be like the visited ones, per element */
    if (n && elements) bytes = (size_t)((double)bytes / (double)elements * (double)l->count);
    return zmalloc_size(l) + bytes;
}

void ql_push(qlist *l, const char *s, size_t len, int where)
{
    enc e;
    enc_prepare(&e, s, len);
    int front = where == QL_HEAD;
    lnode *n = front ? l->head : l->tail;
    if (n == NULL || !node_fits(n, e.total)) {
        lnode *m = node_with(&e);
        link_after(l, front ? NULL : l->tail, m);
        l->count++;
        settle_ends(l, NULL, 1); /* may compress the node that stopped being an end */
        n = front ? m->next : m->prev;
        if (n && !nd_zipped(n) && n != l->head && n != l->tail) node_shrink(l, n);
        return;
    }
    n = node_room(l, n, e.total, front);
    if (front) {
        n->start -= (uint32_t)e.total;
        enc_write(nd_begin(n), &e);
    } else {
        enc_write(nd_end(n), &e);
    }
    n->used += (uint32_t)e.total;
    n->count++;
    l->count++;
}

/* Offset of the last element of `used` bytes of elements at p. */
static inline uint32_t last_off_in(const unsigned char *p, uint32_t used)
{
    size_t nb;
    size_t t = back_read(p + used, &nb);
    return (uint32_t)(used - nb - t);
}

/* Offset of the last element of a non-empty uncompressed node. */
static inline uint32_t last_off(lnode *n) { return last_off_in(nd_begin(n), n->used); }

void ql_peek(qlist *l, int where, lval *out)
{
    lnode *n = where == QL_HEAD ? l->head : l->tail;
    decode(nd_begin(n) + (where == QL_HEAD ? 0 : last_off(n)), out);
}

void ql_pop(qlist *l, int where)
{
    lnode *n = where == QL_HEAD ? l->head : l->tail;
    l->count--;
    if (--n->count == 0) {
        unlink_free(l, n);
        settle_ends(l, NULL, 1);
        return;
    }
    if (where == QL_HEAD) {
        uint32_t sz = (uint32_t)elem_size(nd_begin(n));
        n->start += sz;
        n->used -= sz;
    } else {
        n->used = last_off(n);
    }
}

/* ---- positions ----------------------------------------------------------- */

/* The elements of the position's node: its own bytes, or a copy. */
static inline const unsigned char *it_data(const qiter *it)
{
    return nd_zipped(it->n) ? it->zdata : nd_begin(it->n);
}

/* The last few frames decompressed for reading, and their elements: a
 * command that reads the same interior nodes as the one before (LRANGE 0
 * 599 of a queue, paging through a list) reads them there instead of
 * decompressing again, which costs several times more. Keyed by the
 * frame's bytes, not by the node's address, which a later node can reuse.
 * A position reading a slot holds it (pins) until it moves on, so that no
 * other position replaces it meanwhile. Nodes larger than the scratch
 * limit are not kept. */
#define READ_CACHE_SLOTS 4
typedef struct read_slot {
    unsigned char *frame, *elements;
    uint32_t zlen, used; /* zlen 0: empty */
    size_t frame_cap, elements_cap;
    int pins;
} read_slot;
static read_slot read_cache[READ_CACHE_SLOTS];
static unsigned read_cache_next; /* where the search for a slot to replace starts */

static int read_cache_find(const lnode *n)
{
    for (int i = 0; i < READ_CACHE_SLOTS; i++) {
        const read_slot *r = &read_cache[i];
        if (r->zlen == nd_ziplen(n) && r->used == n->used && memcmp(r->frame, n->data, r->zlen) == 0)
            return i;
    }
    return -1;
}

/* Grows *buf to hold at least need bytes (its contents are not kept). */
static void buf_reserve(unsigned char **buf, size_t *cap, size_t need)
{
    if (*cap >= need) return;
    zfree(*buf);
    *buf = zmalloc(need);
    *cap = zmalloc_size(*buf);
}

/* Decompresses n into a free slot; -1 when none is free or n is too big. */
static int read_cache_fill(const lnode *n)
{
    if (n->used > ZIP_SCRATCH_MAX) return -1;
    for (int k = 0; k < READ_CACHE_SLOTS; k++) {
        int i = (int)((read_cache_next + (unsigned)k) % READ_CACHE_SLOTS);
        read_slot *r = &read_cache[i];
        if (r->pins) continue;
        read_cache_next = (unsigned)(i + 1) % READ_CACHE_SLOTS;
        r->zlen = 0; /* matches no frame until both copies are in place */
        buf_reserve(&r->frame, &r->frame_cap, nd_ziplen(n));
        buf_reserve(&r->elements, &r->elements_cap, n->used);
        lzip_decompress(r->elements, n->used, n->data, nd_ziplen(n));
        memcpy(r->frame, n->data, nd_ziplen(n));
        r->zlen = nd_ziplen(n);
        r->used = n->used;
        return i;
    }
    return -1;
}

static void iter_unpin(qiter *it)
{
    if (it->slot >= 0) read_cache[it->slot].pins--;
    it->slot = -1;
}

/* Moves the position onto node n; a compressed n is read from a copy. */
static void iter_enter(qiter *it, lnode *n)
{
    iter_unpin(it);
    it->n = n;
    it->unzipped = 0;
    if (!nd_zipped(n)) return;
    int i = read_cache_find(n);
    if (i < 0) i = read_cache_fill(n);
    if (i >= 0) {
        read_cache[i].pins++;
        it->slot = i;
        it->zdata = read_cache[i].elements;
        return;
    }
    buf_reserve(&it->view, &it->view_cap, n->used);
    lzip_decompress(it->view, n->used, n->data, nd_ziplen(n));
    it->zdata = it->view;
}

/* Leaves the position's node, compressing it again if a change unzipped it. */
static void iter_leave(qiter *it)
{
    if (it->unzipped && it->n) it->n = node_zip(it->l, it->n);
    it->unzipped = 0;
}

/* Makes the position's node changeable: decompressed in place. */
static void iter_unzip(qiter *it)
{
    if (!nd_zipped(it->n)) return;
    it->n = node_unzip(it->l, it->n);
    it->unzipped = 1;
}

/* Moves the position onto a neighbouring node, at its first or last element. */
static void iter_step(qiter *it, lnode *to, int at_last)
{
    iter_leave(it);
    iter_enter(it, to);
    it->off = at_last ? last_off_in(it_data(it), to->used) : 0;
}

void ql_iter_release(qiter *it)
{
    iter_leave(it);
    iter_unpin(it);
    zfree(it->view);
    it->view = NULL;
    it->view_cap = 0;
}

void ql_iter_at(qlist *l, size_t index, qiter *it)
{
    lnode *n;
    size_t i;
    if (index < l->count / 2) {
        n = l->head;
        i = index;
        while (i >= n->count) {
            i -= n->count;
            n = n->next;
        }
    } else {
        size_t back = l->count - 1 - index; /* elements after it */
        n = l->tail;
        while (back >= n->count) {
            back -= n->count;
            n = n->prev;
        }
        i = n->count - 1 - back;
    }
    it->l = l;
    it->view = NULL;
    it->view_cap = 0;
    it->slot = -1;
    iter_enter(it, n);
    const unsigned char *p = it_data(it);
    if (i <= n->count / 2) {
        uint32_t off = 0;
        while (i--) off += (uint32_t)elem_size(p + off);
        it->off = off;
    } else {
        uint32_t off = n->used;
        size_t steps = n->count - i;
        while (steps--) {
            size_t nb;
            size_t t = back_read(p + off, &nb);
            off -= (uint32_t)(t + nb);
        }
        it->off = off;
    }
}

void ql_iter_get(const qiter *it, lval *out) { decode(it_data(it) + it->off, out); }

int ql_iter_next(qiter *it)
{
    it->off += (uint32_t)elem_size(it_data(it) + it->off);
    if (it->off >= it->n->used) {
        if (it->n->next == NULL) return 0;
        iter_step(it, it->n->next, 0);
    }
    return 1;
}

int ql_iter_prev(qiter *it)
{
    if (it->off == 0) {
        if (it->n->prev == NULL) return 0;
        iter_step(it, it->n->prev, 1);
        return 1;
    }
    size_t nb;
    size_t t = back_read(it_data(it) + it->off, &nb);
    it->off -= (uint32_t)(t + nb);
    return 1;
}

/* Removes `bytes` bytes holding `count` elements at offset off of n. */
static void node_cut(lnode *n, uint32_t off, uint32_t bytes, uint32_t count)
{
    if (off == 0) {
        n->start += bytes;
    } else if (off + bytes < n->used) {
        unsigned char *p = nd_begin(n) + off;
        memmove(p, p + bytes, n->used - off - bytes);
    }
    n->used -= bytes;
    n->count -= count;
}

/* ql_iter_delete of a node's only element: the node goes. */
static int iter_delete_node(qiter *it, int forward)
{
    qlist *l = it->l;
    lnode *n = it->n;
    lnode *to = forward ? n->next : n->prev;
    unlink_free(l, n);
    it->n = NULL;
    it->unzipped = 0;
    if (to == NULL) {
        settle_ends(l, NULL, 1);
        return 0;
    }
    iter_enter(it, to);
    it->off = forward ? 0 : last_off_in(it_data(it), to->used);
    settle_ends(l, it, 1);
    return 1;
}

int ql_iter_delete(qiter *it, int forward)
{
    qlist *l = it->l;
    iter_unzip(it);
    lnode *n = it->n;
    l->count--;
    if (n->count == 1) return iter_delete_node(it, forward);
    uint32_t sz = (uint32_t)elem_size(nd_begin(n) + it->off);
    node_cut(n, it->off, sz, 1);
    n = it->n = node_maybe_shrink(l, n);
    if (forward) {
        if (it->off < n->used) return 1;
        if (n->next == NULL) return 0;
        iter_step(it, n->next, 0);
        return 1;
    }
    return ql_iter_prev(it);
}

/* Writes the element at offset pos of n, which can take it (node_fits).
 * Returns the node's address. */
static lnode *node_insert(qlist *l, lnode *n, uint32_t pos, const enc *e)
{
    if (pos == 0) {
        n = node_room(l, n, e->total, 1);
        n->start -= (uint32_t)e->total;
    } else {
        n = node_room(l, n, e->total, 0);
        unsigned char *p = nd_begin(n) + pos;
        if (pos < n->used) memmove(p + e->total, p, n->used - pos);
    }
    enc_write(nd_begin(n) + pos, e);
    n->used += (uint32_t)e->total;
    n->count++;
    return n;
}

/* Puts the element at the end (at_end) or the front of node `to` if it
 * fits, else in a new node linked after `after`; compresses what it changed
 * when that is interior. */
static void insert_beside(qlist *l, lnode *to, lnode *after, int at_end, const enc *e)
{
    if (to && node_fits(to, e->total)) {
        to = node_unzip(l, to);
        node_zip(l, node_insert(l, to, at_end ? to->used : 0, e));
        return;
    }
    lnode *m = node_with(e);
    link_after(l, after, m);
    node_zip(l, m);
}

/* Splits n at pos (0 < pos < used): the elements from pos move to a new
 * node linked after n, which is returned. */
static lnode *node_split(qlist *l, lnode *n, uint32_t pos)
{
    uint32_t before = 0;
    for (uint32_t off = 0; off < pos; off += (uint32_t)elem_size(nd_begin(n) + off)) before++;
    uint32_t rest = n->used - pos;
    lnode *m = node_new(rest);
    memcpy(m->data, nd_begin(n) + pos, rest);
    m->used = rest;
    m->count = n->count - before;
    n->used = pos;
    n->count = before;
    link_after(l, n, m);
    return m;
}

/* Nodes past the compressed-depth boundary that an insertion can have
 * pushed there: a split adds two nodes. */
#define INSERT_REACH 3

void ql_iter_insert(qiter *it, int after, const char *s, size_t len)
{
    qlist *l = it->l;
    iter_unzip(it);
    lnode *n = it->n;
    enc e;
    enc_prepare(&e, s, len);
    uint32_t pos = it->off + (after ? (uint32_t)elem_size(nd_begin(n) + it->off) : 0);
    l->count++;
    if (node_fits(n, e.total)) {
        n = it->n = node_insert(l, n, pos, &e);
        if (!after) it->off += (uint32_t)e.total;
        return;
    }
    if (pos == 0 || pos == n->used) {
        if (pos == 0) insert_beside(l, n->prev, n->prev, 1, &e);
        else insert_beside(l, n->next, n, 0, &e);
        settle_ends(l, it, INSERT_REACH);
        return;
    }
    lnode *m = node_split(l, n, pos);
    if (node_fits(n, e.total)) n = node_insert(l, n, n->used, &e);
    else insert_beside(l, NULL, n, 0, &e);
    n = node_shrink(l, n);
    /* the position stays on its element: in n (after) or at m's front */
    if (after) {
        node_zip(l, m);
        it->n = n;
    } else {
        node_zip(l, n);
        it->n = m;
        it->off = 0;
    }
    it->unzipped = 1;
    settle_ends(l, it, INSERT_REACH);
}

void ql_iter_replace(qiter *it, const char *s, size_t len)
{
    iter_unzip(it);
    unsigned char *p = nd_begin(it->n) + it->off;
    enc e;
    enc_prepare(&e, s, len);
    if (elem_size(p) == e.total) {
        enc_write(p, &e);
        return;
    }
    ql_iter_insert(it, 1, s, len);
    ql_iter_delete(it, 1);
}

void ql_del_range(qlist *l, size_t start, size_t count)
{
    if (count == 0) return;
    qiter it;
    ql_iter_at(l, start, &it);
    lnode *n = it.n;
    uint32_t off = it.off;
    ql_iter_release(&it);
    lnode *cut[2]; /* only the first and the last node can lose part of their elements */
    int ncut = 0;
    while (count > 0 && n) {
        lnode *next = n->next;
        if (off == 0 && count >= n->count) {
            count -= n->count;
            l->count -= n->count;
            unlink_free(l, n);
        } else {
            n = node_unzip(l, n);
            uint32_t bytes = 0, k = 0;
            const unsigned char *p = nd_begin(n) + off;
            while (k < count && off + bytes < n->used) {
                bytes += (uint32_t)elem_size(p + bytes);
                k++;
            }
            node_cut(n, off, bytes, k);
            count -= k;
            l->count -= k;
            n = node_maybe_shrink(l, n);
            if (ncut < 2) cut[ncut++] = n;
        }
        n = next;
        off = 0;
    }
    /* compressed again only now that the ends are final */
    for (int i = 0; i < ncut; i++) node_zip(l, cut[i]);
    settle_ends(l, NULL, 1);
}

/* ---- checks -------------------------------------------------------------- */

/* Checks `used` bytes of elements at p holding `count` of them. */
static int check_elements(const unsigned char *base, uint32_t used, uint32_t count)
{
    uint32_t off = 0, k = 0;
    while (off < used) {
        const unsigned char *p = base + off;
        size_t t = head_size(p);
        size_t nb;
        if (off + t + back_size(t) > used) return -4;
        if (back_read(p + t + back_size(t), &nb) != t || nb != back_size(t)) return -5;
        off += (uint32_t)(t + nb);
        k++;
    }
    if (off != used || k != count) return -6;
    return 0;
}

static int check_node(const qlist *l, const lnode *n)
{
    if (!nd_zipped(n)) {
        if ((size_t)n->start + n->used > n->cap) return -3;
        return check_elements(n->data + n->start, n->used, n->count);
    }
    if (n == l->head || n == l->tail) return -9; /* pushes and pops never decompress */
    if (sizeof(lnode) + nd_ziplen(n) > zmalloc_size(n)) return -10;
    unsigned char *raw = zmalloc(n->used);
    lzip_decompress(raw, n->used, n->data, nd_ziplen(n));
    int rc = check_elements(raw, n->used, n->count);
    zfree(raw);
    return rc;
}

int ql_check(const qlist *l)
{
    size_t total = 0;
    const lnode *prev = NULL;
    for (const lnode *n = l->head; n; prev = n, n = n->next) {
        if (n->prev != prev) return -1;
        if (n->count == 0) return -2;
        int rc = check_node(l, n);
        if (rc) return rc;
        total += n->count;
    }
    if (prev != l->tail) return -7;
    if (total != l->count) return -8;
    return 0;
}

size_t ql_compressed_nodes(const qlist *l)
{
    size_t k = 0;
    for (const lnode *n = l->head; n; n = n->next) k += nd_zipped(n);
    return k;
}
