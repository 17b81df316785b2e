/* geo.c: the geo commands GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH,
 * GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their _RO variants, and
 * their command table. A geo set is a sorted set whose scores are 52-bit
 * geohashes (geohash.c), as in Redis: GEOADD is ZADD with computed scores
 * and propagates as that ZADD; searches visit the cells around the area
 * and filter by distance. Replies, number formats ("%.4f" distances,
 * coordinates as Redis's human long doubles) and errors follow Redis 7.0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geohash.h"
#include "notify.h"
#include "server.h"
#include "t_zset.h"

/* ---- arguments ---------------------------------------------------------------- */

static int parse_double(client *c, const arg *a, double *out, const char *msg)
{
    if (string2d(a->p, a->len, out)) return 1;
    reply_error(c, msg ? msg : "ERR value is not a valid float");
    return 0;
}

/* A longitude and latitude at argv[0..1], within the geohash limits. */
static int parse_lonlat(client *c, const arg *argv, double xy[2])
{
    if (!parse_double(c, &argv[0], &xy[0], NULL) || !parse_double(c, &argv[1], &xy[1], NULL)) return 0;
    if (xy[0] < GEO_LONG_MIN || xy[0] > GEO_LONG_MAX || xy[1] < GEO_LAT_MIN || xy[1] > GEO_LAT_MAX) {
        reply_errorf(c, "ERR invalid longitude,latitude pair %f,%f", xy[0], xy[1]);
        return 0;
    }
    return 1;
}

/* Meters per unit, or -1 after replying the error. */
static double parse_unit(client *c, const arg *a)
{
    if (string_option_is(a, "m")) return 1;
    if (string_option_is(a, "km")) return 1000;
    if (string_option_is(a, "ft")) return 0.3048;
    if (string_option_is(a, "mi")) return 1609.34;
    reply_error(c, "ERR unsupported unit provided. please use M, KM, FT, MI");
    return -1;
}

static int parse_radius(client *c, const arg *argv, struct geo_shape *s)
{
    if (!parse_double(c, &argv[0], &s->radius, "ERR need numeric radius")) return 0;
    if (s->radius < 0) {
        reply_error(c, "ERR radius cannot be negative");
        return 0;
    }
    s->to_meters = parse_unit(c, &argv[1]);
    s->kind = GEO_CIRCLE;
    return s->to_meters >= 0;
}

static int parse_box(client *c, const arg *argv, struct geo_shape *s)
{
    if (!parse_double(c, &argv[0], &s->width, "ERR need numeric width") ||
        !parse_double(c, &argv[1], &s->height, "ERR need numeric height"))
        return 0;
    if (s->height < 0 || s->width < 0) {
        reply_error(c, "ERR height or width cannot be negative");
        return 0;
    }
    s->to_meters = parse_unit(c, &argv[2]);
    s->kind = GEO_BOX;
    return s->to_meters >= 0;
}

/* The position of a member, or 0 when it is not in the set. */
static int member_xy(void *z, const arg *m, double xy[2])
{
    double score;
    if (!zs_score(z, m->p, m->len, &score)) return 0;
    geohash_decode_score(score, xy);
    return 1;
}

/* ---- replies ------------------------------------------------------------------- */

static void reply_distance(client *c, double d)
{
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "%.4f", d);
    reply_bulk(c, buf, n > 0 ? (size_t)n : 0);
}

/* A coordinate as Redis's human long double: a bulk (RESP2) or double. */
static void reply_coordinate(client *c, double v)
{
    char buf[256];
    size_t n = ld2str_human(buf + 1, sizeof(buf) - 3, (long double)v);
    if (c->resp == 2) {
        reply_bulk(c, buf + 1, n);
        return;
    }
    buf[0] = ',';
    buf[n + 1] = '\r';
    buf[n + 2] = '\n';
    reply_raw(c, buf, n + 3);
}

static void reply_position(client *c, const double xy[2])
{
    reply_array(c, 2);
    reply_coordinate(c, xy[0]);
    reply_coordinate(c, xy[1]);
}

/* ---- GEOADD ------------------------------------------------------------------------ */

void zadd_command(client *c); /* t_zset.c */

/* Runs ZADD on argv in place of the client's own arguments. */
static void run_zadd(client *c, int argc, arg *argv)
{
    arg *saved = c->argv;
    int saved_argc = c->argc;
    c->argv = argv;
    c->argc = argc;
    long long dirty = server.dirty;
    zadd_command(c);
    c->argv = saved;
    c->argc = saved_argc;
    if (server.dirty != dirty) propagate_command(c, argc, argv);
}

static void geoadd_command(client *c)
{
    int first = 2, nx = 0, xx = 0;
    for (; first < c->argc; first++) {
        const arg *o = &c->argv[first];
        if (string_option_is(o, "nx")) nx = 1;
        else if (string_option_is(o, "xx")) xx = 1;
        else if (!string_option_is(o, "ch")) break;
    }
    int elements = (c->argc - first) / 3;
    if ((c->argc - first) % 3 || (nx && xx) || elements == 0) {
        reply_syntax_error(c);
        return;
    }
    int argc = first + elements * 2;
    arg *argv = zmalloc(sizeof(arg) * (size_t)argc);
    char(*scores)[24] = zmalloc(24 * (size_t)elements);
    argv[0] = (arg){"zadd", 4};
    for (int i = 1; i < first; i++) argv[i] = c->argv[i];
    for (int i = 0; i < elements; i++) {
        double xy[2];
        uint64_t bits = 0;
        if (!parse_lonlat(c, &c->argv[first + i * 3], xy)) goto done;
        geohash_score(xy[0], xy[1], &bits);
        argv[first + i * 2] = (arg){scores[i], ll2str(scores[i], 24, (long long)bits)};
        argv[first + i * 2 + 1] = c->argv[first + i * 3 + 2];
    }
    run_zadd(c, argc, argv);
done:
    zfree(scores);
    zfree(argv);
}

/* ---- GEODIST, GEOHASH, GEOPOS --------------------------------------------------------- */

static void geodist_command(client *c)
{
    double to_meters = 1;
    if (c->argc == 5) {
        to_meters = parse_unit(c, &c->argv[4]);
        if (to_meters < 0) return;
    } else if (c->argc > 5) {
        reply_syntax_error(c);
        return;
    }
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_ZSET, &e)) return;
    double a[2], b[2];
    if (e == NULL || !member_xy(entry_object(e), &c->argv[2], a) ||
        !member_xy(entry_object(e), &c->argv[3], b)) {
        reply_null(c);
        return;
    }
    reply_distance(c, geohash_distance(a[0], a[1], b[0], b[1]) / to_meters);
}

static void geohash_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_ZSET, &e)) return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double score;
        if (e == NULL || !zs_score(entry_object(e), c->argv[j].p, c->argv[j].len, &score)) {
            reply_null(c);
            continue;
        }
        char buf[12];
        geohash_string(score, buf);
        reply_bulk(c, buf, 11);
    }
}

static void geopos_command(client *c)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[1], TYPE_ZSET, &e)) return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double xy[2];
        if (e == NULL || !member_xy(entry_object(e), &c->argv[j], xy)) reply_null_array(c);
        else reply_position(c, xy);
    }
}

/* ---- searches ------------------------------------------------------------------------- */

struct geo_point {
    double xy[2];
    double dist; /* meters, then the unit */
    double score;
    size_t member; /* offset in the results' names */
    size_t mlen;
};

/* The members' names share one buffer: a search may meet thousands of
 * matches, and one allocation each cost more than the search itself. */
struct geo_results {
    struct geo_point *p;
    size_t used, cap;
    char *names;
    size_t names_used, names_cap;
};

static inline const char *point_member(const struct geo_results *r, const struct geo_point *g)
{
    return r->names + g->member;
}

static void results_push(struct geo_results *r, const double xy[2], double dist, double score,
                         const char *m, size_t ml)
{
    if (r->used == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->p = zrealloc(r->p, sizeof(*r->p) * r->cap);
    }
    struct geo_point *g = &r->p[r->used++];
    g->xy[0] = xy[0];
    g->xy[1] = xy[1];
    g->dist = dist;
    g->score = score;
    if (r->names_cap - r->names_used < ml) {
        while (r->names_cap - r->names_used < ml) r->names_cap = r->names_cap ? r->names_cap * 2 : 256;
        r->names = zrealloc(r->names, r->names_cap);
    }
    if (ml) memcpy(r->names + r->names_used, m, ml);
    g->member = r->names_used;
    g->mlen = ml;
    r->names_used += ml;
}

static void results_free(struct geo_results *r)
{
    zfree(r->names);
    zfree(r->p);
}

/* The members of one cell that lie in the shape, in score order; stops
 * at `limit` results (0: none). */
static void search_cell(void *z, struct geo_cell cell, const struct geo_shape *s,
                        struct geo_results *r, size_t limit)
{
    uint64_t min, max;
    size_t lo, hi;
    geohash_cell_scores(cell, &min, &max);
    zs_score_ranks(z, (double)min, 0, (double)max, 1, &lo, &hi);
    if (lo >= hi) return;
    zs_iter it;
    zs_iter_init(&it, z, lo, 0);
    const char *m;
    size_t ml;
    double score;
    for (size_t n = lo; n < hi && zs_iter_next(&it, &m, &ml, &score); n++) {
        double xy[2], dist;
        geohash_decode_score(score, xy);
        if (!geohash_in_shape(s, xy, &dist)) continue;
        results_push(r, xy, dist, score, m, ml);
        if (limit && r->used >= limit) break;
    }
    zs_iter_release(&it);
}

/* Every cell around the shape, skipping a cell equal to the one searched
 * just before it (huge radii make neighbours coincide). */
static void search_shape(void *z, const struct geo_shape *s, struct geo_results *r, size_t limit)
{
    struct geo_search_cells sc;
    geohash_search_cells(s, &sc);
    int last = 0;
    for (int i = 0; i < 9; i++) {
        struct geo_cell cell = sc.cells[i];
        if (cell.bits == 0 && cell.step == 0) continue;
        if (last && cell.bits == sc.cells[last].bits && cell.step == sc.cells[last].step) continue;
        if (r->used && limit && r->used >= limit) break;
        search_cell(z, cell, s, r, limit);
        last = i;
    }
}

static int by_dist_asc(const void *a, const void *b)
{
    double x = ((const struct geo_point *)a)->dist, y = ((const struct geo_point *)b)->dist;
    return x > y ? 1 : (x == y ? 0 : -1);
}

static int by_dist_desc(const void *a, const void *b) { return -by_dist_asc(a, b); }

/* Partial sort of the nearest points, for COUNT: Bentley and McIlroy's
 * quicksort ("Engineering a sort function", 1993: insertion sort below 7
 * elements, median of three or ninther pivot, three-way partition) that
 * only recurses into partitions overlapping the wanted ranks, as Redis
 * does. Points at equal distances end up in the order this algorithm
 * leaves them, which clients see (tests/diff/cases/geo_ties.txt). */
typedef int (*point_cmp)(const void *, const void *);

static void point_swap(struct geo_point *a, struct geo_point *b)
{
    struct geo_point t = *a;
    *a = *b;
    *b = t;
}

static void points_vecswap(struct geo_point *a, struct geo_point *b, long n)
{
    for (long i = 0; i < n; i++) point_swap(a + i, b + i);
}

static struct geo_point *med3(struct geo_point *a, struct geo_point *b, struct geo_point *c, point_cmp cmp)
{
    return cmp(a, b) < 0 ? (cmp(b, c) < 0 ? b : (cmp(a, c) < 0 ? c : a))
                         : (cmp(b, c) > 0 ? b : (cmp(a, c) < 0 ? a : c));
}

static void insertion_sort(struct geo_point *a, long n, point_cmp cmp)
{
    for (struct geo_point *pm = a + 1; pm < a + n; pm++)
        for (struct geo_point *pl = pm; pl > a && cmp(pl - 1, pl) > 0; pl--) point_swap(pl, pl - 1);
}

/* Whether [l, l + n) overlaps the wanted ranks [lo, hi]. */
static int overlaps(const struct geo_point *l, long n, const struct geo_point *lo, const struct geo_point *hi)
{
    const struct geo_point *r = l + n - 1;
    return !((lo < l && hi < l) || (lo > r && hi > r));
}

static void partial_sort(struct geo_point *a, long n, point_cmp cmp, const struct geo_point *lo,
                         const struct geo_point *hi)
{
    for (;;) {
        if (n < 7) {
            insertion_sort(a, n, cmp);
            return;
        }
        struct geo_point *pm = a + n / 2;
        if (n > 7) {
            struct geo_point *pl = a, *pn = a + n - 1;
            if (n > 40) {
                long d = n / 8;
                pl = med3(pl, pl + d, pl + 2 * d, cmp);
                pm = med3(pm - d, pm, pm + d, cmp);
                pn = med3(pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(pl, pm, pn, cmp);
        }
        point_swap(a, pm);
        struct geo_point *pa = a + 1, *pb = a + 1, *pc = a + n - 1, *pd = a + n - 1;
        int r;
        for (;;) {
            while (pb <= pc && (r = cmp(pb, a)) <= 0) {
                if (r == 0) point_swap(pa++, pb);
                pb++;
            }
            while (pb <= pc && (r = cmp(pc, a)) >= 0) {
                if (r == 0) point_swap(pc, pd--);
                pc--;
            }
            if (pb > pc) break;
            point_swap(pb++, pc--);
        }
        struct geo_point *pn = a + n;
        long m = (pa - a) < (pb - pa) ? (pa - a) : (pb - pa);
        points_vecswap(a, pb - m, m);
        m = (pd - pc) < (pn - pd - 1) ? (pd - pc) : (pn - pd - 1);
        points_vecswap(pb, pn - m, m);
        if ((m = pb - pa) > 1 && overlaps(a, m, lo, hi)) partial_sort(a, m, cmp, lo, hi);
        if ((m = pd - pc) <= 1) return;
        a = pn - m;
        n = m;
        if (!overlaps(a, n, lo, hi)) return;
    }
}

/* ---- search arguments ------------------------------------------------------------------ */

#define SEARCH_COORDS (1 << 0)  /* GEORADIUS: a point */
#define SEARCH_MEMBER (1 << 1)  /* GEORADIUSBYMEMBER: a member */
#define SEARCH_NOSTORE (1 << 2) /* the _RO variants */
#define SEARCH_GEOSEARCH (1 << 3)
#define SEARCH_STORE_CMD (1 << 4) /* GEOSEARCHSTORE */

enum geo_sort { SORT_NONE, SORT_ASC, SORT_DESC };

struct search_req {
    struct geo_shape shape;
    const arg *store;
    int storedist, withdist, withhash, withcoord, any;
    int from_member, from_lonlat, by_radius, by_box;
    enum geo_sort sort;
    long long count;
};

/* One option at argv[i] (rem arguments from i on); returns how many
 * arguments it took, or 0 after replying an error. */
static int parse_search_option(client *c, int flags, void *z, int i, struct search_req *q)
{
    const arg *a = &c->argv[i];
    int rem = c->argc - i, geosearch = (flags & SEARCH_GEOSEARCH) != 0;
    int store_ok = !(flags & SEARCH_NOSTORE) && !geosearch;
    if (string_option_is(a, "withdist")) q->withdist = 1;
    else if (string_option_is(a, "withhash")) q->withhash = 1;
    else if (string_option_is(a, "withcoord")) q->withcoord = 1;
    else if (string_option_is(a, "any")) q->any = 1;
    else if (string_option_is(a, "asc")) q->sort = SORT_ASC;
    else if (string_option_is(a, "desc")) q->sort = SORT_DESC;
    else if (string_option_is(a, "count") && rem > 1) {
        if (!arg_to_ll(c, &c->argv[i + 1], &q->count)) return 0;
        if (q->count <= 0) {
            reply_error(c, "ERR COUNT must be > 0");
            return 0;
        }
        return 2;
    } else if ((string_option_is(a, "store") || string_option_is(a, "storedist")) && rem > 1 && store_ok) {
        q->store = &c->argv[i + 1];
        q->storedist = string_option_is(a, "storedist");
        return 2;
    } else if (string_option_is(a, "storedist") && geosearch && (flags & SEARCH_STORE_CMD)) {
        q->storedist = 1;
    } else if (string_option_is(a, "frommember") && rem > 1 && geosearch && !q->from_lonlat) {
        if (z && !member_xy(z, &c->argv[i + 1], q->shape.xy)) {
            reply_error(c, "ERR could not decode requested zset member");
            return 0;
        }
        q->from_member = 1;
        return 2;
    } else if (string_option_is(a, "fromlonlat") && rem > 2 && geosearch && !q->from_member) {
        if (!parse_lonlat(c, &c->argv[i + 1], q->shape.xy)) return 0;
        q->from_lonlat = 1;
        return 3;
    } else if (string_option_is(a, "byradius") && rem > 2 && geosearch && !q->by_box) {
        if (!parse_radius(c, &c->argv[i + 1], &q->shape)) return 0;
        q->by_radius = 1;
        return 3;
    } else if (string_option_is(a, "bybox") && rem > 3 && geosearch && !q->by_radius) {
        if (!parse_box(c, &c->argv[i + 1], &q->shape)) return 0;
        q->by_box = 1;
        return 4;
    } else {
        reply_syntax_error(c);
        return 0;
    }
    return 1;
}

/* The checks Redis makes once the options are read. */
static int check_search(client *c, int flags, const struct search_req *q)
{
    if (q->store && (q->withdist || q->withhash || q->withcoord)) {
        reply_errorf(c, "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                     (flags & SEARCH_STORE_CMD) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
        return 0;
    }
    /* Redis names the command as the client spelled it */
    int nlen = (int)(c->argv[0].len > 64 ? 64 : c->argv[0].len);
    const char *name = c->argv[0].p;
    if ((flags & SEARCH_GEOSEARCH) && !(q->from_member || q->from_lonlat)) {
        reply_errorf(c, "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %.*s", nlen, name);
        return 0;
    }
    if ((flags & SEARCH_GEOSEARCH) && !(q->by_radius || q->by_box)) {
        reply_errorf(c, "ERR exactly one of BYRADIUS and BYBOX can be specified for %.*s", nlen, name);
        return 0;
    }
    if (q->any && !q->count) {
        reply_error(c, "ERR the ANY argument requires COUNT argument");
        return 0;
    }
    return 1;
}

/* The center and shape given before the options (GEORADIUS and
 * GEORADIUSBYMEMBER); *base is where the options start. */
static int parse_search_head(client *c, int flags, void *z, struct search_req *q, int *base)
{
    if (flags & SEARCH_COORDS) {
        *base = 6;
        return parse_lonlat(c, &c->argv[2], q->shape.xy) && parse_radius(c, &c->argv[4], &q->shape);
    }
    if (flags & SEARCH_MEMBER) {
        *base = 5;
        if (z == NULL) return 1; /* the reply for a missing key comes after the options */
        if (!member_xy(z, &c->argv[2], q->shape.xy)) {
            reply_error(c, "ERR could not decode requested zset member");
            return 0;
        }
        return parse_radius(c, &c->argv[3], &q->shape);
    }
    *base = (flags & SEARCH_STORE_CMD) ? 3 : 2;
    if (flags & SEARCH_STORE_CMD) q->store = &c->argv[1];
    return 1;
}

/* ---- search results ----------------------------------------------------------------------- */

static void reply_results(client *c, const struct search_req *q, struct geo_results *r, size_t n)
{
    int extra = q->withdist + q->withcoord + q->withhash;
    reply_array(c, (long)n);
    for (size_t i = 0; i < n; i++) {
        const struct geo_point *g = &r->p[i];
        if (extra) reply_array(c, extra + 1);
        reply_bulk(c, point_member(r, g), g->mlen);
        if (q->withdist) reply_distance(c, g->dist);
        if (q->withhash) reply_int(c, (long long)g->score);
        if (q->withcoord) reply_position(c, g->xy);
    }
}

/* Deletes the destination (no result); notifies and counts the change. */
static void store_delete(client *c, const arg *dst)
{
    entry *e = lookup_write(c, dst);
    if (e == NULL) return;
    db_delete_entry(c->db, e);
    key_modified(c->db, dst);
    notify_keyspace_event(NOTIFY_GENERIC, "del", dst->p, dst->len, c->dbid);
}

static void store_results(client *c, int flags, const struct search_req *q, struct geo_results *r,
                          size_t n)
{
    const arg *dst = q->store;
    if (n == 0) {
        store_delete(c, dst);
        reply_int(c, 0);
        return;
    }
    size_t maxlen = 0;
    for (size_t i = 0; i < n; i++)
        if (r->p[i].mlen > maxlen) maxlen = r->p[i].mlen;
    void *z = zs_create(n, maxlen);
    for (size_t i = 0; i < n; i++) {
        int out;
        double ns;
        z = zs_add(z, point_member(r, &r->p[i]), r->p[i].mlen, q->storedist ? r->p[i].dist : r->p[i].score, 0,
                   &out, &ns);
    }
    entry *e = lookup_write(c, dst);
    if (e) db_delete_entry(c->db, e);
    db_add_object(c->db, dst->p, dst->len, TYPE_ZSET, z);
    key_modified(c->db, dst);
    server.dirty += (long long)n - 1;
    notify_keyspace_event(NOTIFY_ZSET, (flags & SEARCH_GEOSEARCH) ? "geosearchstore" : "georadiusstore",
                          dst->p, dst->len, c->dbid);
    reply_int(c, (long long)n);
}

static void search_generic(client *c, int src_index, int flags)
{
    entry *e;
    if (!lookup_read_typed(c, &c->argv[src_index], TYPE_ZSET, &e)) return;
    void *z = e ? entry_object(e) : NULL;
    struct search_req q;
    memset(&q, 0, sizeof(q));
    int base;
    if (!parse_search_head(c, flags, z, &q, &base)) return;
    for (int i = base; i < c->argc;) {
        int took = parse_search_option(c, flags, z, i, &q);
        if (took == 0) return;
        i += took;
    }
    if (!check_search(c, flags, &q)) return;
    if (z == NULL) {
        if (q.store) {
            store_delete(c, q.store);
            reply_int(c, 0);
        } else {
            reply_array(c, 0);
        }
        return;
    }
    /* COUNT without an order means the nearest ones */
    if (q.count && q.sort == SORT_NONE && !q.any) q.sort = SORT_ASC;
    struct geo_results r = {0};
    search_shape(z, &q.shape, &r, q.any ? (size_t)q.count : 0);
    size_t n = (q.count == 0 || r.used < (size_t)q.count) ? r.used : (size_t)q.count;
    point_cmp cmp = q.sort == SORT_ASC ? by_dist_asc : by_dist_desc;
    if (q.sort != SORT_NONE && n == r.used && r.used > 1) qsort(r.p, r.used, sizeof(*r.p), cmp);
    else if (q.sort != SORT_NONE && r.used > 1) partial_sort(r.p, (long)r.used, cmp, r.p, r.p + n - 1);
    for (size_t i = 0; i < n; i++) r.p[i].dist /= q.shape.to_meters;
    if (q.store) store_results(c, flags, &q, &r, n);
    else reply_results(c, &q, &r, n);
    results_free(&r);
}

static void georadius_command(client *c) { search_generic(c, 1, SEARCH_COORDS); }
static void georadiusbymember_command(client *c) { search_generic(c, 1, SEARCH_MEMBER); }
static void georadius_ro_command(client *c) { search_generic(c, 1, SEARCH_COORDS | SEARCH_NOSTORE); }
static void georadiusbymember_ro_command(client *c) { search_generic(c, 1, SEARCH_MEMBER | SEARCH_NOSTORE); }
static void geosearch_command(client *c) { search_generic(c, 1, SEARCH_GEOSEARCH); }
static void geosearchstore_command(client *c) { search_generic(c, 2, SEARCH_GEOSEARCH | SEARCH_STORE_CMD); }

/* ---- the table ------------------------------------------------------------------------------ */

#define GEO_SEARCH_COMPLEXITY "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape"
#define GEO_RADIUS_COMPLEXITY "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."
#define WD (CMD_WRITE | CMD_DENYOOM)

struct command geo_commands[] = {
    {"geoadd", geoadd_command, -5, WD, ACL_GEO, 1, 1, 1, "RW update", NULL, "geo", "Add one or more geospatial items in the geospatial index represented using a sorted set", "3.2.0", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", NULL, 0, 0, 0, 0},
    {"geodist", geodist_command, -4, CMD_READONLY, ACL_GEO, 1, 1, 1, "RO access", NULL, "geo", "Returns the distance between two members of a geospatial index", "3.2.0", "O(log(N))", NULL, 0, 0, 0, 0},
    {"geohash", geohash_command, -2, CMD_READONLY, ACL_GEO, 1, 1, 1, "RO access", NULL, "geo", "Returns members of a geospatial index as standard geohash strings", "3.2.0", "O(log(N)) for each member requested, where N is the number of elements in the sorted set.", NULL, 0, 0, 0, 0},
    {"geopos", geopos_command, -2, CMD_READONLY, ACL_GEO, 1, 1, 1, "RO access", NULL, "geo", "Returns longitude and latitude of members of a geospatial index", "3.2.0", "O(N) where N is the number of members requested.", NULL, 0, 0, 0, 0},
    {"geosearch", geosearch_command, -7, CMD_READONLY, ACL_GEO, 1, 1, 1, "RO access", NULL, "geo", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.", "6.2.0", GEO_SEARCH_COMPLEXITY, NULL, 0, 0, 0, 0},
    {"geosearchstore", geosearchstore_command, -8, WD, ACL_GEO, 1, 2, 1, "OW update @1;RO access @2", NULL, "geo", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.", "6.2.0", GEO_SEARCH_COMPLEXITY, NULL, 0, 0, 0, 0},
    {"georadius", georadius_command, -6, WD | CMD_MOVABLE_KEYS, ACL_GEO, 1, 1, 1, "RO access @1;OW update @=STORE,6~0,1,0;OW update @=STOREDIST,6~0,1,0", NULL, "geo", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point", "3.2.0", GEO_RADIUS_COMPLEXITY, NULL, 0, 0, 0, 0},
    {"georadiusbymember", georadiusbymember_command, -5, WD | CMD_MOVABLE_KEYS, ACL_GEO, 1, 1, 1, "RO access @1;OW update @=STORE,5~0,1,0;OW update @=STOREDIST,5~0,1,0", NULL, "geo", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member", "3.2.0", GEO_RADIUS_COMPLEXITY, NULL, 0, 0, 0, 0},
    {"georadius_ro", georadius_ro_command, -6, CMD_READONLY, ACL_GEO, 1, 1, 1, "RO access", NULL, "geo", "A read-only variant for GEORADIUS", "3.2.10", GEO_RADIUS_COMPLEXITY, NULL, 0, 0, 0, 0},
    {"georadiusbymember_ro", georadiusbymember_ro_command, -5, CMD_READONLY, ACL_GEO, 1, 1, 1, "RO access", NULL, "geo", "A read-only variant for GEORADIUSBYMEMBER", "3.2.10", GEO_RADIUS_COMPLEXITY, NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
