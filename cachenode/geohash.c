/* geohash.c: geohash encoding and decoding, neighbouring cells, the cells
 * a search must visit, and distances (see geohash.h). The arithmetic is the
 * one Redis documents, step for step, because scores, coordinates and the
 * order of unsorted search results are visible to clients. */
#include <math.h>

#include "geohash.h"

#define EARTH_RADIUS_M 6372797.560856
#define MERCATOR_MAX 20037726.37
#define DEG_TO_RAD (M_PI / 180.0)

static double deg_rad(double d) { return d * DEG_TO_RAD; }
static double rad_deg(double r) { return r / DEG_TO_RAD; }

static const struct geo_range LON_RANGE = {GEO_LONG_MIN, GEO_LONG_MAX};
static const struct geo_range LAT_RANGE = {GEO_LAT_MIN, GEO_LAT_MAX};

/* ---- interleaving ----------------------------------------------------------- */

/* Spreads the 32 bits of v to the even positions of a 64-bit word (and
 * back), by the usual shift-and-mask steps. */
static uint64_t spread_bits(uint32_t v)
{
    uint64_t x = v;
    x = (x | (x << 16)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x << 8)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x << 2)) & 0x3333333333333333ULL;
    x = (x | (x << 1)) & 0x5555555555555555ULL;
    return x;
}

static uint32_t gather_bits(uint64_t x)
{
    x &= 0x5555555555555555ULL;
    x = (x | (x >> 1)) & 0x3333333333333333ULL;
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x >> 16)) & 0x00000000FFFFFFFFULL;
    return (uint32_t)x;
}

/* lat bits go to the even positions, lon bits to the odd ones. */
static uint64_t interleave(uint32_t lat, uint32_t lon) { return spread_bits(lat) | (spread_bits(lon) << 1); }

static void deinterleave(uint64_t bits, uint32_t *lat, uint32_t *lon)
{
    *lat = gather_bits(bits);
    *lon = gather_bits(bits >> 1);
}

/* ---- encoding and decoding -------------------------------------------------- */

int geohash_encode(const struct geo_range *lon_r, const struct geo_range *lat_r, double lon,
                   double lat, int step, struct geo_cell *out)
{
    if (step > 32 || step == 0) return 0;
    if (lon > GEO_LONG_MAX || lon < GEO_LONG_MIN || lat > GEO_LAT_MAX || lat < GEO_LAT_MIN) return 0;
    out->bits = 0;
    out->step = (uint8_t)step;
    if (lat < lat_r->min || lat > lat_r->max || lon < lon_r->min || lon > lon_r->max) return 0;
    double lat_off = (lat - lat_r->min) / (lat_r->max - lat_r->min);
    double lon_off = (lon - lon_r->min) / (lon_r->max - lon_r->min);
    lat_off *= (double)(1ULL << step);
    lon_off *= (double)(1ULL << step);
    out->bits = interleave((uint32_t)lat_off, (uint32_t)lon_off);
    return 1;
}

int geohash_score(double lon, double lat, uint64_t *score)
{
    struct geo_cell cell;
    if (!geohash_encode(&LON_RANGE, &LAT_RANGE, lon, lat, GEO_STEP_MAX, &cell)) return 0;
    *score = cell.bits << (52 - GEO_STEP_MAX * 2);
    return 1;
}

static void decode_cell(const struct geo_range *lon_r, const struct geo_range *lat_r,
                        struct geo_cell cell, struct geo_area *a)
{
    uint32_t ilat, ilon;
    deinterleave(cell.bits, &ilat, &ilon);
    double lat_scale = lat_r->max - lat_r->min, lon_scale = lon_r->max - lon_r->min;
    double cells = (double)(1ULL << cell.step);
    a->cell = cell;
    a->lat.min = lat_r->min + (ilat * 1.0 / cells) * lat_scale;
    a->lat.max = lat_r->min + ((uint32_t)(ilat + 1) * 1.0 / cells) * lat_scale;
    a->lon.min = lon_r->min + (ilon * 1.0 / cells) * lon_scale;
    a->lon.max = lon_r->min + ((uint32_t)(ilon + 1) * 1.0 / cells) * lon_scale;
}

void geohash_decode_score(double score, double xy[2])
{
    struct geo_cell cell = {(uint64_t)score, GEO_STEP_MAX};
    struct geo_area a;
    decode_cell(&LON_RANGE, &LAT_RANGE, cell, &a);
    xy[0] = (a.lon.min + a.lon.max) / 2;
    if (xy[0] > GEO_LONG_MAX) xy[0] = GEO_LONG_MAX;
    if (xy[0] < GEO_LONG_MIN) xy[0] = GEO_LONG_MIN;
    xy[1] = (a.lat.min + a.lat.max) / 2;
    if (xy[1] > GEO_LAT_MAX) xy[1] = GEO_LAT_MAX;
    if (xy[1] < GEO_LAT_MIN) xy[1] = GEO_LAT_MIN;
}

void geohash_string(double score, char out[12])
{
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    static const struct geo_range lon_std = {-180, 180}, lat_std = {-90, 90};
    double xy[2];
    struct geo_cell cell = {0, 0};
    geohash_decode_score(score, xy);
    geohash_encode(&lon_std, &lat_std, xy[0], xy[1], GEO_STEP_MAX, &cell);
    for (int i = 0; i < 11; i++) {
        /* 52 bits make ten characters; the eleventh is taken as zero */
        int idx = i == 10 ? 0 : (int)((cell.bits >> (52 - (i + 1) * 5)) & 0x1f);
        out[i] = alphabet[idx];
    }
    out[11] = '\0';
}

/* ---- neighbours --------------------------------------------------------------- */

#define ODD_BITS 0xaaaaaaaaaaaaaaaaULL  /* longitude */
#define EVEN_BITS 0x5555555555555555ULL /* latitude */

/* Moves one coordinate (the bits in `mine`) by d cells, wrapping around. */
static void cell_move(struct geo_cell *c, int d, uint64_t mine, uint64_t other)
{
    if (d == 0) return;
    uint64_t x = c->bits & mine, y = c->bits & other;
    uint64_t zz = other >> (64 - c->step * 2); /* ones in the other's places */
    if (d > 0) x = x + (zz + 1);
    else {
        x = x | zz;
        x = x - (zz + 1);
    }
    x &= mine >> (64 - c->step * 2);
    c->bits = x | y;
}

static struct geo_cell neighbour(struct geo_cell c, int dx, int dy)
{
    cell_move(&c, dx, ODD_BITS, EVEN_BITS);
    cell_move(&c, dy, EVEN_BITS, ODD_BITS);
    return c;
}

/* ---- search areas ------------------------------------------------------------- */

static int steps_for_radius(double range_m, double lat)
{
    if (range_m == 0) return 26;
    int step = 1;
    while (range_m < MERCATOR_MAX) {
        range_m *= 2;
        step++;
    }
    step -= 2; /* the range then fits most base cases */
    if (lat > 66 || lat < -66) { /* cells narrow towards the poles */
        step--;
        if (lat > 80 || lat < -80) step--;
    }
    if (step < 1) step = 1;
    if (step > 26) step = 26;
    return step;
}

/* min lon, min lat, max lon, max lat of the shape. */
static void bounding_box(const struct geo_shape *s, double b[4])
{
    double lon = s->xy[0], lat = s->xy[1];
    double height = s->to_meters * (s->kind == GEO_CIRCLE ? s->radius : s->height / 2);
    double width = s->to_meters * (s->kind == GEO_CIRCLE ? s->radius : s->width / 2);
    double lat_delta = rad_deg(height / EARTH_RADIUS_M);
    double lon_delta_top = rad_deg(width / EARTH_RADIUS_M / cos(deg_rad(lat + lat_delta)));
    double lon_delta_bottom = rad_deg(width / EARTH_RADIUS_M / cos(deg_rad(lat - lat_delta)));
    /* the widest edge is the one nearer the equator */
    int south = lat < 0;
    b[0] = south ? lon - lon_delta_bottom : lon - lon_delta_top;
    b[2] = south ? lon + lon_delta_bottom : lon + lon_delta_top;
    b[1] = lat - lat_delta;
    b[3] = lat + lat_delta;
}

enum { C_CENTER, C_N, C_S, C_E, C_W, C_NE, C_NW, C_SE, C_SW };

static void fill_cells(struct geo_cell center, struct geo_cell *cells)
{
    cells[C_CENTER] = center;
    cells[C_N] = neighbour(center, 0, 1);
    cells[C_S] = neighbour(center, 0, -1);
    cells[C_E] = neighbour(center, 1, 0);
    cells[C_W] = neighbour(center, -1, 0);
    cells[C_NE] = neighbour(center, 1, 1);
    cells[C_NW] = neighbour(center, -1, 1);
    cells[C_SE] = neighbour(center, 1, -1);
    cells[C_SW] = neighbour(center, -1, -1);
}

static void zero_cells(struct geo_cell *cells, int a, int b, int c)
{
    cells[a] = cells[b] = cells[c] = (struct geo_cell){0, 0};
}

void geohash_search_cells(const struct geo_shape *s, struct geo_search_cells *out)
{
    double b[4];
    bounding_box(s, b);
    double radius_m = s->kind == GEO_CIRCLE
                          ? s->radius
                          : sqrt((s->width / 2) * (s->width / 2) + (s->height / 2) * (s->height / 2));
    radius_m *= s->to_meters;
    int steps = steps_for_radius(radius_m, s->xy[1]);
    struct geo_cell center = {0, 0};
    struct geo_area area, n, so, e, w;
    struct geo_cell *cells = out->cells;
    geohash_encode(&LON_RANGE, &LAT_RANGE, s->xy[0], s->xy[1], steps, &center);
    fill_cells(center, cells);
    decode_cell(&LON_RANGE, &LAT_RANGE, center, &area);
    /* near a cell's edge the neighbours may not reach the whole box: one
     * step coarser then */
    decode_cell(&LON_RANGE, &LAT_RANGE, cells[C_N], &n);
    decode_cell(&LON_RANGE, &LAT_RANGE, cells[C_S], &so);
    decode_cell(&LON_RANGE, &LAT_RANGE, cells[C_E], &e);
    decode_cell(&LON_RANGE, &LAT_RANGE, cells[C_W], &w);
    int coarser = n.lat.max < b[3] || so.lat.min > b[1] || e.lon.max < b[2] || w.lon.min > b[0];
    if (steps > 1 && coarser) {
        steps--;
        geohash_encode(&LON_RANGE, &LAT_RANGE, s->xy[0], s->xy[1], steps, &center);
        fill_cells(center, cells);
        decode_cell(&LON_RANGE, &LAT_RANGE, center, &area);
    }
    if (steps >= 2) { /* neighbours beyond the box cannot hold a match */
        if (area.lat.min < b[1]) zero_cells(cells, C_S, C_SW, C_SE);
        if (area.lat.max > b[3]) zero_cells(cells, C_N, C_NE, C_NW);
        if (area.lon.min < b[0]) zero_cells(cells, C_W, C_SW, C_NW);
        if (area.lon.max > b[2]) zero_cells(cells, C_E, C_SE, C_NE);
    }
}

void geohash_cell_scores(struct geo_cell cell, uint64_t *min, uint64_t *max)
{
    int shift = 52 - cell.step * 2;
    *min = cell.bits << shift;
    *max = (cell.bits + 1) << shift;
}

/* ---- distances ----------------------------------------------------------------- */

static double lat_distance(double lat1, double lat2)
{
    return EARTH_RADIUS_M * fabs(deg_rad(lat2) - deg_rad(lat1));
}

double geohash_distance(double lon1, double lat1, double lon2, double lat2)
{
    double lon1r = deg_rad(lon1), lon2r = deg_rad(lon2);
    double v = sin((lon2r - lon1r) / 2);
    if (v == 0.0) return lat_distance(lat1, lat2); /* same meridian */
    double lat1r = deg_rad(lat1), lat2r = deg_rad(lat2);
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * EARTH_RADIUS_M * asin(sqrt(a));
}

int geohash_in_shape(const struct geo_shape *s, const double xy[2], double *dist)
{
    if (s->kind == GEO_CIRCLE) {
        double r = s->radius * s->to_meters;
        /* a great circle is never shorter than its latitude difference:
         * a point that far away is out without the trigonometry (with a
         * margin, so that rounding cannot drop a point on the edge) */
        if (lat_distance(xy[1], s->xy[1]) > r * (1 + 1e-9) + 1e-6) return 0;
        *dist = geohash_distance(s->xy[0], s->xy[1], xy[0], xy[1]);
        return *dist <= r;
    }
    double w = s->width * s->to_meters, h = s->height * s->to_meters;
    /* the latitude test is the cheaper: first */
    if (lat_distance(xy[1], s->xy[1]) > h / 2) return 0;
    if (geohash_distance(xy[0], xy[1], s->xy[0], xy[1]) > w / 2) return 0;
    *dist = geohash_distance(s->xy[0], s->xy[1], xy[0], xy[1]);
    return 1;
}
