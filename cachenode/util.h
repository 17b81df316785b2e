/* util.h: string and number helpers shared by the engine's modules. */
#ifndef CN_UTIL_H
#define CN_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parses a canonical decimal integer: optional '-', no '+', no leading zeros
 * or spaces, fits in long long. Returns 1 on success. */
int string2ll(const char *s, size_t len, long long *out);
/* Same, for an unsigned long (SCAN cursors). */
int string2ul(const char *s, size_t len, unsigned long *out);
/* Parses a long double the way INCRBYFLOAT accepts it: no spaces, no NaN. */
int string2ld(const char *s, size_t len, long double *out);
/* Parses a double (no spaces, "inf"/"-inf" allowed, NaN refused). */
int string2d(const char *s, size_t len, double *out);
/* Writes v in decimal; returns the length. `size` must be >= 21. */
size_t ll2str(char *dst, size_t size, long long v);
size_t ull2str(char *dst, size_t size, unsigned long long v);
/* Formats a long double without trailing zeros, as INCRBYFLOAT replies. */
size_t ld2str_human(char *dst, size_t size, long double v);
/* Formats a double the way Redis replies doubles (%.17g, inf, -inf). */
size_t d2str(char *dst, size_t size, double v);

/* Glob-style match: * ? [abc] [^a-z] and \ escapes. */
int glob_match(const char *pattern, size_t plen, const char *s, size_t slen, int nocase);

/* Case-insensitive comparison of a byte string with a C string. */
int arg_is(const char *s, size_t len, const char *word);

/* The reverse-binary SCAN cursor over a power-of-two bucket array, or two
 * while one resizes (size[1] == 0 when not): calls visit for the bucket(s)
 * the cursor covers and returns the next cursor, 0 at the end. The high
 * bits advance first, so a table that grows or shrinks between calls never
 * makes the scan skip a bucket that was there when it started. The keyspace,
 * dict.c and the set type's table all step through this. */
typedef void (*scan_bucket_fn)(void *priv, int table, size_t bucket);
unsigned long scan_step(unsigned long cursor, const size_t size[2], scan_bucket_fn visit, void *priv);

uint64_t random_u64(void);
void random_seed(uint64_t seed);
/* Fills dst with n random lowercase hex characters and a NUL. */
void random_hex(char *dst, size_t n);

long long ustime(void); /* wall clock, microseconds */
long long mstime(void); /* wall clock, milliseconds */
long long monotonic_us(void);

/* fsyncs the directory holding `path`, so that a rename into it survives a
 * crash. Returns 0, or -1 with errno set. */
int fsync_parent_dir(const char *path);

/* Unsigned LEB128 varints, as the packed encodings (hash listpacks, set
 * buckets, stream blocks) store lengths and deltas: 7 bits a byte, low
 * bits first, the top bit set on every byte but the last. */
static inline size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline size_t varint_put(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

static inline const unsigned char *varint_get(const unsigned char *p, uint64_t *v)
{
    uint64_t x = 0;
    int shift = 0;
    while (*p & 0x80) {
        x |= (uint64_t)(*p++ & 0x7f) << shift;
        shift += 7;
    }
    *v = x | ((uint64_t)*p++ << shift);
    return p;
}

/* A growing text buffer (INFO, CLUSTER NODES/INFO, the cluster config file):
 * start from {NULL, 0, 0}; buf is NUL-terminated once anything was added;
 * the owner zfrees buf. */
struct text {
    char *buf;
    size_t len, cap;
};
void text_addf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
