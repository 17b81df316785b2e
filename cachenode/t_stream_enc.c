/* t_stream_enc.c: the stream's entry storage (see t_stream.h for the block
 * layout): IDs, appending, deleting, trimming, range iteration, and the
 * object-type callbacks for the entries (copy, memory, digest, snapshot).
 * Blocks are built only here, so decoding trusts them; a snapshot is
 * loaded by appending its entries one by one after checking each. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "object.h"
#include "t_stream.h"
#include "util.h"

#define ENTRY_DELETED 1
#define ENTRY_SAME_FIELDS 2
#define VARINT_MAX 10

/* ---- IDs ----------------------------------------------------------------------- */

int stream_id_cmp(const stream_id *a, const stream_id *b)
{
    if (a->ms != b->ms) return a->ms < b->ms ? -1 : 1;
    if (a->seq != b->seq) return a->seq < b->seq ? -1 : 1;
    return 0;
}

int stream_id_incr(stream_id *id)
{
    if (id->seq != UINT64_MAX) {
        id->seq++;
        return 0;
    }
    if (id->ms == UINT64_MAX) return -1;
    id->ms++;
    id->seq = 0;
    return 0;
}

int stream_id_decr(stream_id *id)
{
    if (id->seq != 0) {
        id->seq--;
        return 0;
    }
    if (id->ms == 0) return -1;
    id->ms--;
    id->seq = UINT64_MAX;
    return 0;
}

size_t stream_id_format(char *buf, const stream_id *id)
{
    size_t n = ull2str(buf, STREAM_ID_STR_MAX, id->ms);
    buf[n++] = '-';
    n += ull2str(buf + n, STREAM_ID_STR_MAX - n, id->seq);
    return n;
}

/* Redis's string2ull: an integer without sign, else whatever strtoull
 * accepts whole (leading spaces and '+' included). */
static int parse_u64(const char *s, uint64_t *out)
{
    long long ll;
    if (string2ll(s, strlen(s), &ll)) {
        if (ll < 0) return 0;
        *out = (uint64_t)ll;
        return 1;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == EINVAL || errno == ERANGE || *s == '\0' || *end != '\0') return 0;
    *out = v;
    return 1;
}

int stream_id_parse(const char *p, size_t len, stream_id *id, uint64_t missing_seq, int strict,
                    int *seq_given)
{
    char buf[128];
    if (len > sizeof(buf) - 1) return -1;
    memcpy(buf, p, len);
    buf[len] = '\0'; /* like Redis, the ID ends at a NUL byte */
    if (strict && (buf[0] == '-' || buf[0] == '+') && buf[1] == '\0') return -1;
    if (seq_given) *seq_given = 1;
    if (buf[0] == '-' && buf[1] == '\0') {
        id->ms = id->seq = 0;
        return 0;
    }
    if (buf[0] == '+' && buf[1] == '\0') {
        id->ms = id->seq = UINT64_MAX;
        return 0;
    }
    char *dash = strchr(buf, '-');
    if (dash) *dash = '\0';
    uint64_t ms, seq = missing_seq;
    if (!parse_u64(buf, &ms)) return -1;
    if (dash) {
        if (seq_given && dash[1] == '*' && dash[2] == '\0') {
            seq = 0;
            *seq_given = 0;
        } else if (!parse_u64(dash + 1, &seq)) {
            return -1;
        }
    }
    id->ms = ms;
    id->seq = seq;
    return 0;
}

/* ---- varints and strings inside blocks ------------------------------------------------ */

static size_t put_string(unsigned char *p, const char *s, size_t len)
{
    size_t n = varint_put(p, len);
    memcpy(p + n, s, len);
    return n + len;
}

static const unsigned char *get_string(const unsigned char *p, const char **s, size_t *len)
{
    uint64_t l;
    p = varint_get(p, &l);
    *s = (const char *)p;
    *len = (size_t)l;
    return p + l;
}

static const unsigned char *skip_strings(const unsigned char *p, uint64_t n)
{
    const char *s;
    size_t len;
    while (n--) p = get_string(p, &s, &len);
    return p;
}

/* ---- blocks ----------------------------------------------------------------------- */

/* Decodes the entry at p: its flags and ID into *e; returns the next entry. */
static const unsigned char *decode_entry(const struct sblock *b, const unsigned char *p, int *flags,
                                         struct stream_entry *e)
{
    uint64_t dms, seq;
    *flags = *p++;
    p = varint_get(p, &dms);
    p = varint_get(p, &seq);
    e->id.ms = b->first.ms + dms;
    e->id.seq = dms == 0 ? b->first.seq + seq : seq;
    e->b = b;
    if (*flags & ENTRY_SAME_FIELDS) {
        e->master = varint_get(b->data, &e->nfields);
        e->p = p;
        return skip_strings(p, e->nfields);
    }
    e->master = NULL;
    p = varint_get(p, &e->nfields);
    e->p = p;
    return skip_strings(p, e->nfields * 2);
}

void stream_entry_fields(const struct stream_entry *e, stream_field_fn fn, void *priv)
{
    const unsigned char *p = e->p, *m = e->master;
    for (uint64_t i = 0; i < e->nfields; i++) {
        const char *f, *v;
        size_t flen, vlen;
        if (m) m = get_string(m, &f, &flen);
        else p = get_string(p, &f, &flen);
        p = get_string(p, &v, &vlen);
        fn(priv, f, flen, v, vlen);
    }
}

static size_t encoded_size(const struct stream_field *fv, size_t nfv)
{
    size_t n = 1 + 3 * VARINT_MAX;
    for (size_t i = 0; i < nfv; i++) n += VARINT_MAX + fv[i].len;
    return n;
}

static struct sblock *block_new(const stream_id *id, const struct stream_field *fv, size_t nfv)
{
    size_t cap = 2 * encoded_size(fv, nfv);
    if (cap < 128) cap = 128;
    struct sblock *b = zmalloc(sizeof(*b) + cap);
    b->first = b->last = *id;
    b->live = b->total = 0;
    b->cap = (uint32_t)cap;
    size_t n = varint_put(b->data, nfv / 2);
    for (size_t i = 0; i < nfv; i += 2) n += put_string(b->data + n, fv[i].p, fv[i].len);
    b->used = b->entries_at = (uint32_t)n;
    return b;
}

static int same_fields(const struct sblock *b, const struct stream_field *fv, size_t nfv)
{
    uint64_t n;
    const unsigned char *p = varint_get(b->data, &n);
    if (n != nfv / 2) return 0;
    for (size_t i = 0; i < nfv; i += 2) {
        const char *f;
        size_t flen;
        p = get_string(p, &f, &flen);
        if (flen != fv[i].len || memcmp(f, fv[i].p, flen) != 0) return 0;
    }
    return 1;
}

static void blocks_insert(stream *s, size_t at, struct sblock *b)
{
    if (s->nblocks == s->blocks_cap) {
        s->blocks_cap = s->blocks_cap ? s->blocks_cap * 2 : 4;
        s->blocks = zrealloc(s->blocks, s->blocks_cap * sizeof(*s->blocks));
    }
    memmove(s->blocks + at + 1, s->blocks + at, (s->nblocks - at) * sizeof(*s->blocks));
    s->blocks[at] = b;
    s->nblocks++;
}

static void blocks_remove(stream *s, size_t at)
{
    zfree(s->blocks[at]);
    memmove(s->blocks + at, s->blocks + at + 1, (s->nblocks - at - 1) * sizeof(*s->blocks));
    s->nblocks--;
}

/* The first live entry's ID, after a deletion at the head. */
static void refresh_first_id(stream *s)
{
    s->first_id.ms = s->first_id.seq = 0;
    if (s->length == 0) return;
    stream_iter it;
    struct stream_entry e;
    stream_id lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    stream_iter_init(&it, s, &lo, &hi, 0);
    if (stream_iter_next(&it, &e)) s->first_id = e.id;
}

/* ---- the stream ---------------------------------------------------------------------- */

stream *stream_create(void) { return zcalloc(sizeof(stream)); }

void stream_free(void *sp)
{
    stream *s = sp;
    for (size_t i = 0; i < s->nblocks; i++) zfree(s->blocks[i]);
    zfree(s->blocks);
    stream_groups_free(s);
    zfree(s);
}

/* How an entry finds its block: the last one unless it is full (XADD), or
 * as a snapshot says (a new block, or the last one whatever its size). */
enum append_mode { APPEND_AUTO, APPEND_NEW_BLOCK, APPEND_SAME_BLOCK };

/* Appends an entry; returns its offset in the (last) block. */
static uint32_t append_entry(stream *s, const stream_id *id, const struct stream_field *fv,
                             size_t nfv, enum append_mode mode)
{
    struct sblock *b = s->nblocks ? s->blocks[s->nblocks - 1] : NULL;
    size_t need = encoded_size(fv, nfv);
    int full = b && (b->total >= STREAM_BLOCK_MAX_ENTRIES || b->used + need > STREAM_BLOCK_MAX_BYTES);
    if (b && (mode == APPEND_NEW_BLOCK || (mode == APPEND_AUTO && full))) {
        /* the full block will not grow again: give back its spare room */
        b = zrealloc(b, sizeof(*b) + b->used);
        b->cap = b->used;
        s->blocks[s->nblocks - 1] = b;
        b = NULL;
    }
    if (b == NULL) {
        b = block_new(id, fv, nfv);
        blocks_insert(s, s->nblocks, b);
    }
    if (b->used + need > b->cap) {
        size_t cap = b->cap + b->cap / 2;
        if (cap < b->used + need) cap = b->used + need;
        b = zrealloc(b, sizeof(*b) + cap);
        b->cap = (uint32_t)cap;
        s->blocks[s->nblocks - 1] = b;
    }
    int same = same_fields(b, fv, nfv);
    uint32_t at = b->used;
    unsigned char *p = b->data + at;
    uint64_t dms = id->ms - b->first.ms;
    size_t n = 0;
    p[n++] = same ? ENTRY_SAME_FIELDS : 0;
    n += varint_put(p + n, dms);
    n += varint_put(p + n, dms == 0 ? id->seq - b->first.seq : id->seq);
    if (!same) n += varint_put(p + n, nfv / 2);
    for (size_t i = 0; i < nfv; i++) {
        if (same && i % 2 == 0) continue;
        n += put_string(p + n, fv[i].p, fv[i].len);
    }
    b->used += (uint32_t)n;
    b->last = *id;
    b->live++;
    b->total++;
    if (s->length == 0) s->first_id = *id;
    s->length++;
    s->entries_added++;
    s->last_id = *id;
    return at;
}

void stream_append(stream *s, const stream_id *id, const struct stream_field *fv, size_t nfv)
{
    append_entry(s, id, fv, nfv, APPEND_AUTO);
}

/* The index of the block that may hold id (first <= id), or nblocks. */
static size_t block_for(const stream *s, const stream_id *id)
{
    size_t lo = 0, hi = s->nblocks;
    while (lo < hi) { /* the first block whose last >= id */
        size_t mid = (lo + hi) / 2;
        if (stream_id_cmp(&s->blocks[mid]->last, id) < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo < s->nblocks && stream_id_cmp(&s->blocks[lo]->first, id) > 0) return s->nblocks;
    return lo;
}

/* Finds the live entry with this ID: its block index and flags byte. */
static unsigned char *find_entry(const stream *s, const stream_id *id, size_t *bi,
                                 struct stream_entry *e)
{
    size_t i = block_for(s, id);
    if (i == s->nblocks) return NULL;
    const struct sblock *b = s->blocks[i];
    const unsigned char *p = b->data + b->entries_at, *end = b->data + b->used;
    while (p < end) {
        int flags;
        const unsigned char *at = p;
        p = decode_entry(b, p, &flags, e);
        int c = stream_id_cmp(&e->id, id);
        if (c > 0) break;
        if (c == 0 && !(flags & ENTRY_DELETED)) {
            *bi = i;
            return (unsigned char *)at;
        }
    }
    return NULL;
}

int stream_lookup(const stream *s, const stream_id *id, struct stream_entry *e)
{
    size_t bi;
    return find_entry(s, id, &bi, e) != NULL;
}

int stream_has(const stream *s, const stream_id *id)
{
    struct stream_entry e;
    return stream_lookup(s, id, &e);
}

int stream_delete(stream *s, const stream_id *id)
{
    struct stream_entry e;
    size_t bi;
    unsigned char *flags = find_entry(s, id, &bi, &e);
    if (flags == NULL) return 0;
    *flags |= ENTRY_DELETED;
    s->length--;
    if (--s->blocks[bi]->live == 0) blocks_remove(s, bi);
    if (stream_id_cmp(id, &s->first_id) == 0) refresh_first_id(s);
    return 1;
}

void stream_last_live_id(const stream *s, stream_id *id)
{
    id->ms = id->seq = 0;
    stream_iter it;
    struct stream_entry e;
    stream_id lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    stream_iter_init(&it, s, &lo, &hi, 1);
    if (stream_iter_next(&it, &e)) *id = e.id;
}

/* Exact trimming inside the head block, once whole blocks no longer go. */
static long long trim_inside(stream *s, const struct stream_trim_args *a)
{
    struct sblock *b = s->blocks[0];
    unsigned char *p = b->data + b->entries_at, *end = b->data + b->used;
    long long removed = 0;
    while (p < end) {
        int flags;
        struct stream_entry e;
        unsigned char *at = p;
        p = (unsigned char *)decode_entry(b, p, &flags, &e);
        if (a->strategy == TRIM_MAXLEN ? s->length <= (uint64_t)a->maxlen
                                       : stream_id_cmp(&e.id, &a->minid) >= 0)
            break;
        if (flags & ENTRY_DELETED) continue;
        *at |= ENTRY_DELETED;
        b->live--;
        s->length--;
        removed++;
    }
    /* A block left with no live entry stays, as Redis keeps its node: it
     * still counts towards the block's 100 entries, so later appends fill
     * the same blocks as Redis's nodes and XTRIM ~ keeps matching. */
    return removed;
}

long long stream_trim(stream *s, const struct stream_trim_args *a)
{
    long long removed = 0;
    while (s->nblocks > 0) {
        if (a->limit && removed + STREAM_BLOCK_MAX_ENTRIES > a->limit) break;
        struct sblock *b = s->blocks[0];
        int whole = a->strategy == TRIM_MAXLEN ? s->length - b->live >= (uint64_t)a->maxlen
                                               : stream_id_cmp(&b->last, &a->minid) < 0;
        if (whole) {
            s->length -= b->live;
            removed += b->live;
            blocks_remove(s, 0);
            continue;
        }
        if (!a->approx) removed += trim_inside(s, a);
        break;
    }
    if (removed) refresh_first_id(s);
    return removed;
}

/* ---- iteration ----------------------------------------------------------------------- */

void stream_iter_init(stream_iter *it, const stream *s, const stream_id *start,
                      const stream_id *end, int rev)
{
    it->s = s;
    it->start = *start;
    it->end = *end;
    it->rev = rev;
    it->in_block = 0;
    it->noff = 0;
    it->p = NULL;
    size_t lo = 0, hi = s->nblocks;
    if (!rev) { /* the first block whose last >= start */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (stream_id_cmp(&s->blocks[mid]->last, start) < 0) lo = mid + 1;
            else hi = mid;
        }
        it->bi = lo;
    } else { /* one past the last block whose first <= end */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (stream_id_cmp(&s->blocks[mid]->first, end) <= 0) lo = mid + 1;
            else hi = mid;
        }
        it->bi = lo;
    }
}

static int iter_next_forward(stream_iter *it, struct stream_entry *e)
{
    while (it->bi < it->s->nblocks) {
        const struct sblock *b = it->s->blocks[it->bi];
        if (!it->in_block) {
            it->p = b->data + b->entries_at;
            it->in_block = 1;
        }
        if (it->p >= b->data + b->used) {
            it->in_block = 0;
            it->bi++;
            continue;
        }
        int flags;
        it->p = decode_entry(b, it->p, &flags, e);
        if (flags & ENTRY_DELETED) continue;
        if (stream_id_cmp(&e->id, &it->start) < 0) continue;
        if (stream_id_cmp(&e->id, &it->end) > 0) {
            it->bi = it->s->nblocks;
            return 0;
        }
        return 1;
    }
    return 0;
}

static int iter_next_backward(stream_iter *it, struct stream_entry *e)
{
    while (it->bi > 0) {
        const struct sblock *b = it->s->blocks[it->bi - 1];
        if (!it->in_block) {
            const unsigned char *p = b->data + b->entries_at, *end = b->data + b->used;
            it->noff = 0;
            while (p < end && it->noff <= STREAM_BLOCK_MAX_ENTRIES) {
                int flags;
                it->off[it->noff++] = (uint32_t)(p - b->data);
                p = decode_entry(b, p, &flags, e);
            }
            it->in_block = 1;
        }
        if (it->noff == 0) {
            it->in_block = 0;
            it->bi--;
            continue;
        }
        int flags;
        decode_entry(b, b->data + it->off[--it->noff], &flags, e);
        if (flags & ENTRY_DELETED) continue;
        if (stream_id_cmp(&e->id, &it->end) > 0) continue;
        if (stream_id_cmp(&e->id, &it->start) < 0) {
            it->bi = 0;
            return 0;
        }
        return 1;
    }
    return 0;
}

int stream_iter_next(stream_iter *it, struct stream_entry *e)
{
    return it->rev ? iter_next_backward(it, e) : iter_next_forward(it, e);
}

/* ---- the type's callbacks ------------------------------------------------------------ */

size_t stream_entries_bytes(const stream *s)
{
    size_t n = s->blocks_cap * sizeof(*s->blocks);
    for (size_t i = 0; i < s->nblocks; i++) n += zmalloc_size(s->blocks[i]);
    return n;
}

size_t stream_free_effort(const void *sp)
{
    const stream *s = sp;
    size_t n = s->nblocks;
    for (size_t i = 0; i < s->ngroups; i++) /* every nack and consumer is an allocation */
        n += 1 + s->groups[i]->pel.len + s->groups[i]->nconsumers;
    return n;
}

void *stream_dup(const void *sp)
{
    const stream *src = sp;
    stream *s = zmalloc(sizeof(*s));
    *s = *src;
    s->blocks = zmalloc((src->blocks_cap ? src->blocks_cap : 1) * sizeof(*s->blocks));
    for (size_t i = 0; i < src->nblocks; i++) {
        size_t size = sizeof(struct sblock) + src->blocks[i]->cap;
        s->blocks[i] = zmalloc(size);
        memcpy(s->blocks[i], src->blocks[i], size);
    }
    s->groups = NULL;
    s->ngroups = 0;
    stream_groups_dup(s, src);
    return s;
}

size_t stream_mem_usage(const void *sp, long long samples)
{
    (void)samples; /* blocks are few: count them all */
    const stream *s = sp;
    return sizeof(*s) + stream_entries_bytes(s) + stream_groups_mem(s);
}

static void digest_id(struct digest *d, const stream_id *id)
{
    char buf[STREAM_ID_STR_MAX];
    digest_add(d, buf, stream_id_format(buf, id));
}

static void digest_field(void *priv, const char *f, size_t flen, const char *v, size_t vlen)
{
    digest_add(priv, f, flen);
    digest_add(priv, v, vlen);
}

void stream_digest(const void *sp, struct digest *d)
{
    const stream *s = sp;
    stream_iter it;
    struct stream_entry e;
    stream_id lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    stream_iter_init(&it, s, &lo, &hi, 0);
    while (stream_iter_next(&it, &e)) {
        digest_id(d, &e.id);
        stream_entry_fields(&e, digest_field, d);
    }
    digest_id(d, &s->last_id);
    digest_id(d, &s->max_deleted_id);
    char buf[24];
    digest_add(d, buf, ull2str(buf, sizeof(buf), s->entries_added));
    stream_groups_digest(s, d);
}

static void save_field(void *priv, const char *f, size_t flen, const char *v, size_t vlen)
{
    snapw_string(priv, f, flen);
    snapw_string(priv, v, vlen);
}

/* Snapshot: the blocks as they are, so that a loaded stream trims and
 * fills them as the saved one would (Redis saves its nodes as they are
 * too): the block count; per block its entry count, and per entry a byte
 * (1: deleted), its ID, field count, fields and values; then the last ID,
 * the largest deleted ID, entries added, and the consumer groups. */
void stream_save(const void *sp, struct snap_writer *w)
{
    const stream *s = sp;
    snapw_varint(w, s->nblocks);
    for (size_t i = 0; i < s->nblocks; i++) {
        const struct sblock *b = s->blocks[i];
        snapw_varint(w, b->total);
        const unsigned char *p = b->data + b->entries_at, *end = b->data + b->used;
        while (p < end) {
            int flags;
            struct stream_entry e;
            p = decode_entry(b, p, &flags, &e);
            snapw_byte(w, (flags & ENTRY_DELETED) ? 1 : 0);
            snapw_varint(w, e.id.ms);
            snapw_varint(w, e.id.seq);
            snapw_varint(w, e.nfields);
            stream_entry_fields(&e, save_field, w);
        }
    }
    snapw_varint(w, s->last_id.ms);
    snapw_varint(w, s->last_id.seq);
    snapw_varint(w, s->max_deleted_id.ms);
    snapw_varint(w, s->max_deleted_id.seq);
    snapw_varint(w, s->entries_added);
    stream_groups_save(s, w);
}

struct field_buf {
    struct stream_field *fv;
    size_t cap;
};

/* One saved entry, appended as `mode` says and marked deleted if it was. */
static int load_entry(stream *s, struct snap_reader *r, struct field_buf *fb, enum append_mode mode)
{
    unsigned char deleted;
    stream_id id;
    uint64_t nf;
    if (snapr_byte(r, &deleted) || snapr_varint(r, &id.ms) || snapr_varint(r, &id.seq) ||
        snapr_varint(r, &nf))
        return -1;
    if (deleted > 1) return snapr_fail(r, "bad stream entry flags");
    if (nf == 0 || nf > snapr_remaining(r) / 2) return snapr_fail(r, "bad stream field count");
    if (s->entries_added && stream_id_cmp(&id, &s->last_id) <= 0)
        return snapr_fail(r, "stream IDs out of order");
    if (nf * 2 > fb->cap) {
        fb->cap = nf * 2;
        fb->fv = zrealloc(fb->fv, fb->cap * sizeof(*fb->fv));
    }
    size_t total = 0;
    for (uint64_t i = 0; i < nf * 2; i++) {
        if (snapr_string(r, &fb->fv[i].p, &fb->fv[i].len)) return -1;
        total += fb->fv[i].len + VARINT_MAX;
    }
    if (total >= STREAM_ENTRY_MAX_BYTES ||
        (mode == APPEND_SAME_BLOCK && s->blocks[s->nblocks - 1]->used + total >= 2 * (size_t)STREAM_ENTRY_MAX_BYTES))
        return snapr_fail(r, "stream entry too large");
    uint32_t at = append_entry(s, &id, fb->fv, nf * 2, mode);
    if (deleted) {
        struct sblock *b = s->blocks[s->nblocks - 1];
        b->data[at] |= ENTRY_DELETED;
        b->live--;
        s->length--;
    }
    return 0;
}

/* The blocks; a block without a live entry may only be the first. */
static int load_blocks(stream *s, struct snap_reader *r)
{
    uint64_t nblocks;
    if (snapr_varint(r, &nblocks)) return -1;
    if (nblocks > snapr_remaining(r)) return snapr_fail(r, "stream block count exceeds the payload");
    struct field_buf fb = {NULL, 0};
    int rc = 0;
    for (uint64_t i = 0; i < nblocks && rc == 0; i++) {
        uint64_t total;
        if (snapr_varint(r, &total)) {
            rc = -1;
            break;
        }
        if (total == 0 || total > STREAM_BLOCK_MAX_ENTRIES || total > snapr_remaining(r)) {
            rc = snapr_fail(r, "bad stream block size");
            break;
        }
        for (uint64_t j = 0; j < total && rc == 0; j++)
            rc = load_entry(s, r, &fb, j == 0 ? APPEND_NEW_BLOCK : APPEND_SAME_BLOCK);
        if (rc == 0 && i > 0 && s->blocks[s->nblocks - 1]->live == 0)
            rc = snapr_fail(r, "stream block without entries");
    }
    zfree(fb.fv);
    return rc;
}

void *stream_load(struct snap_reader *r)
{
    stream *s = stream_create();
    if (load_blocks(s, r)) goto fail;
    refresh_first_id(s);
    stream_id last;
    uint64_t added;
    if (snapr_varint(r, &last.ms) || snapr_varint(r, &last.seq) ||
        snapr_varint(r, &s->max_deleted_id.ms) || snapr_varint(r, &s->max_deleted_id.seq) ||
        snapr_varint(r, &added))
        goto fail;
    if (stream_id_cmp(&last, &s->last_id) < 0 || added < s->length) {
        snapr_fail(r, "bad stream last ID or counter");
        goto fail;
    }
    s->last_id = last;
    s->entries_added = added;
    if (stream_groups_load(s, r)) goto fail;
    return s;
fail:
    stream_free(s);
    return NULL;
}
