/* util.c: number parsing and formatting, glob matching, randomness, time,
 * a growing text buffer
 * and making a renamed file durable. */
#include "util.h"
#include "alloc.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int string2ll(const char *s, size_t len, long long *out)
{
    if (len == 0 || len > 20) return 0;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    size_t i = 0;
    int negative = 0;
    if (s[0] == '-') {
        negative = 1;
        if (++i == len) return 0;
    }
    if (s[i] < '1' || s[i] > '9') return 0;
    unsigned long long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    if (negative) {
        if (v > (unsigned long long)LLONG_MAX + 1) return 0;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > LLONG_MAX) return 0;
        *out = (long long)v;
    }
    return 1;
}

int string2ul(const char *s, size_t len, unsigned long *out)
{
    if (len == 0 || len > 20) return 0;
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULONG_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    if (len > 1 && s[0] == '0') return 0;
    *out = v;
    return 1;
}

/* Copies a number's text into buf for strtod/strtold; 0 when it cannot be
 * one (empty, too long, or starting with a space, which strto* would skip). */
static int number_text(const char *s, size_t len, char *buf, size_t size)
{
    if (len == 0 || len >= size) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return !isspace((unsigned char)buf[0]);
}

int string2ld(const char *s, size_t len, long double *out)
{
    char buf[5120];
    if (!number_text(s, len, buf, sizeof(buf))) return 0;
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if ((size_t)(end - buf) != len || isnan(v)) return 0;
    if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO))
        return 0;
    *out = v;
    return 1;
}

int string2d(const char *s, size_t len, double *out)
{
    char buf[256];
    if (!number_text(s, len, buf, sizeof(buf))) return 0;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if ((size_t)(end - buf) != len || isnan(v)) return 0;
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO))
        return 0;
    *out = v;
    return 1;
}

size_t ull2str(char *dst, size_t size, unsigned long long v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (n + 1 > size) n = size - 1;
    for (size_t i = 0; i < n; i++) dst[i] = tmp[n - 1 - i];
    dst[n] = '\0';
    return n;
}

size_t ll2str(char *dst, size_t size, long long v)
{
    if (v >= 0) return ull2str(dst, size, (unsigned long long)v);
    dst[0] = '-';
    unsigned long long u = (unsigned long long)(-(v + 1)) + 1;
    return 1 + ull2str(dst + 1, size - 1, u);
}

size_t ld2str_human(char *dst, size_t size, long double v)
{
    if (isinf(v)) return (size_t)snprintf(dst, size, "%s", v > 0 ? "inf" : "-inf");
    int n = snprintf(dst, size, "%.17Lf", v);
    if (n < 0 || (size_t)n >= size) return (size_t)snprintf(dst, size, "%.17Lg", v);
    if (strchr(dst, '.')) {
        while (n > 0 && dst[n - 1] == '0') n--;
        if (n > 0 && dst[n - 1] == '.') n--;
        dst[n] = '\0';
    }
    if (n == 2 && dst[0] == '-' && dst[1] == '0') {
        dst[0] = '0';
        dst[1] = '\0';
        n = 1;
    }
    return (size_t)n;
}

size_t d2str(char *dst, size_t size, double v)
{
    if (isinf(v)) return (size_t)snprintf(dst, size, "%s", v > 0 ? "inf" : "-inf");
    int n = snprintf(dst, size, "%.17g", v);
    return n < 0 ? 0 : (size_t)n;
}

static int fold(int c, int nocase) { return nocase ? tolower(c) : c; }

/* Matches one [...] class at pattern[*pi] (just past the '['); advances *pi
 * past the closing ']'. */
static int match_class(const char *p, size_t plen, size_t *pi, int c, int nocase)
{
    size_t i = *pi;
    int negate = 0, matched = 0;
    if (i < plen && p[i] == '^') {
        negate = 1;
        i++;
    }
    for (; i < plen && p[i] != ']'; i++) {
        if (p[i] == '\\' && i + 1 < plen) {
            i++;
            if (fold(p[i], nocase) == fold(c, nocase)) matched = 1;
        } else if (i + 2 < plen && p[i + 1] == '-' && p[i + 2] != ']') {
            int lo = fold((unsigned char)p[i], nocase), hi = fold((unsigned char)p[i + 2], nocase);
            int x = fold(c, nocase);
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            if (x >= lo && x <= hi) matched = 1;
            i += 2;
        } else if (fold((unsigned char)p[i], nocase) == fold(c, nocase)) {
            matched = 1;
        }
    }
    *pi = i < plen ? i + 1 : i;
    return negate ? !matched : matched;
}

/* Matches the single-byte token at p[*pi] against c; sets *next past it. */
static int match_token(const char *p, size_t plen, size_t pi, int c, int nocase, size_t *next)
{
    if (p[pi] == '?') {
        *next = pi + 1;
        return 1;
    }
    if (p[pi] == '[') {
        size_t i = pi + 1;
        int ok = match_class(p, plen, &i, c, nocase);
        *next = i;
        return ok;
    }
    if (p[pi] == '\\' && pi + 1 < plen) pi++;
    *next = pi + 1;
    return fold((unsigned char)p[pi], nocase) == fold(c, nocase);
}

/* Glob matching in O(pattern * string): on a mismatch, only the most recent
 * star is retried one byte further, which suffices because every other
 * token consumes exactly one byte. */
int glob_match(const char *p, size_t plen, const char *s, size_t slen, int nocase)
{
    size_t pi = 0, si = 0, star_pi = 0, star_si = 0;
    int have_star = 0;
    if (slen == 0 && plen != 0) return 0; /* as Redis: even "*" fails on "" */
    while (si < slen) {
        if (pi < plen && p[pi] == '*') {
            while (pi < plen && p[pi] == '*') pi++;
            if (pi == plen) return 1;
            have_star = 1;
            star_pi = pi;
            star_si = si;
            continue;
        }
        size_t next;
        if (pi < plen && match_token(p, plen, pi, (unsigned char)s[si], nocase, &next)) {
            pi = next;
            si++;
            continue;
        }
        if (!have_star) return 0;
        pi = star_pi;
        si = ++star_si;
    }
    while (pi < plen && p[pi] == '*') pi++;
    return pi == plen;
}

int arg_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

void random_seed(uint64_t seed) { rng_state = seed ? seed : 0x9E3779B97F4A7C15ULL; }

uint64_t random_u64(void)
{
    /* splitmix64: fast, and good enough for sampling */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void random_hex(char *dst, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) dst[i] = hex[random_u64() & 15];
    dst[n] = '\0';
}

long long ustime(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000LL + tv.tv_usec;
}

long long mstime(void) { return ustime() / 1000; }

long long monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* fsyncs the directory holding `path`, so that the rename is durable. */
int fsync_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        strcpy(dir, ".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof(dir)) return -1;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1) return -1;
    int rc = fsync(fd);
    /* some file systems cannot fsync a directory; the data is safe anyway */
    if (rc == -1 && (errno == EINVAL || errno == EBADF || errno == EROFS)) rc = 0;
    int saved = errno;
    if (close(fd) == -1 && rc == 0) return -1;
    errno = saved;
    return rc;
}

static unsigned long rev_bits(unsigned long v)
{
    unsigned long s = 8 * sizeof(v), mask = ~0UL;
    while ((s >>= 1) > 0) {
        mask ^= (mask << s);
        v = ((v >> s) & mask) | ((v << s) & ~mask);
    }
    return v;
}

unsigned long scan_step(unsigned long cursor, const size_t size[2], scan_bucket_fn visit, void *priv)
{
    if (size[1] == 0) {
        unsigned long m0 = size[0] - 1;
        visit(priv, 0, cursor & m0);
        cursor |= ~m0;
        return rev_bits(rev_bits(cursor) + 1);
    }
    int small = size[0] <= size[1] ? 0 : 1, large = 1 - small;
    unsigned long m0 = size[small] - 1, m1 = size[large] - 1;
    visit(priv, small, cursor & m0);
    do {
        visit(priv, large, cursor & m1);
        cursor |= ~m1;
        cursor = rev_bits(rev_bits(cursor) + 1);
    } while (cursor & (m0 ^ m1));
    return cursor;
}

static void text_grow(struct text *t, size_t need)
{
    if (t->len + need + 1 <= t->cap) return;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + need + 1) cap *= 2;
    t->buf = zrealloc(t->buf, cap);
    t->cap = cap;
}

void text_addf(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    text_grow(t, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}
