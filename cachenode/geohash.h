/* geohash.h: the geohash arithmetic geo commands rest on, as Redis
 * documents it: a point is 26 bits of longitude and 26 of latitude
 * (latitude limited to the Web Mercator range), interleaved into a 52-bit
 * integer that is the member's score in the sorted set. Also the cells
 * around a search area, and great-circle distances. */
#ifndef CN_GEOHASH_H
#define CN_GEOHASH_H

#include <stdint.h>

#define GEO_STEP_MAX 26 /* 26 * 2 = 52 bits */
#define GEO_LAT_MIN -85.05112878
#define GEO_LAT_MAX 85.05112878
#define GEO_LONG_MIN -180
#define GEO_LONG_MAX 180

struct geo_range {
    double min, max;
};

/* A cell: `step` bits per coordinate, interleaved (longitude in the odd
 * bits, latitude in the even ones). bits == 0 && step == 0 is "no cell". */
struct geo_cell {
    uint64_t bits;
    uint8_t step;
};

struct geo_area {
    struct geo_cell cell;
    struct geo_range lon, lat;
};

enum geo_shape_kind { GEO_CIRCLE, GEO_BOX };

/* A search area around xy (longitude, latitude); sizes in `unit`s, with
 * `to_meters` meters to the unit. */
struct geo_shape {
    enum geo_shape_kind kind;
    double xy[2];
    double to_meters;
    double radius;        /* GEO_CIRCLE */
    double width, height; /* GEO_BOX */
};

/* The cell at the center of a search and its eight neighbours, those that
 * cannot hold a match zeroed, in Redis's search order: center, north,
 * south, east, west, north-east, north-west, south-east, south-west. */
struct geo_search_cells {
    struct geo_cell cells[9];
};

/* Encodes a point with the given ranges; 0 when out of range. */
int geohash_encode(const struct geo_range *lon_r, const struct geo_range *lat_r, double lon,
                   double lat, int step, struct geo_cell *out);
/* A point as the 52-bit score Redis stores; 0 when out of range. */
int geohash_score(double lon, double lat, uint64_t *score);
/* The center of the cell a score names, clamped to the valid ranges. */
void geohash_decode_score(double score, double xy[2]);
/* GEOHASH's 11-character standard geohash of a score (latitude -90..90). */
void geohash_string(double score, char out[12]);

/* The score range [*min, *max) of the points inside a cell. */
void geohash_cell_scores(struct geo_cell cell, uint64_t *min, uint64_t *max);
void geohash_search_cells(const struct geo_shape *shape, struct geo_search_cells *out);

/* Great-circle distance in meters (haversine, Redis's earth radius). */
double geohash_distance(double lon1, double lat1, double lon2, double lat2);
/* Whether point xy lies in the shape; *dist gets its distance in meters
 * from the shape's center. */
int geohash_in_shape(const struct geo_shape *shape, const double xy[2], double *dist);

#endif
