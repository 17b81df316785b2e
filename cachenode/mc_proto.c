/* mc_proto.c: memcached's text protocol. Splits a connection's input into
 * request lines (and data blocks), runs the storage, retrieval, arithmetic,
 * touch, delete, flush_all and admin commands against mc_store.c, and
 * writes memcached's replies and error lines byte for byte; the two-letter
 * meta commands go to mc_meta.c. Also the helpers both parsers share. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc.h"

#define MAX_TOKENS 24

/* ---- output buffer ---------------------------------------------------------- */

void mc_buf_add(struct mc_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) abort(); /* as the rest of the engine: no memory, no service */
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void mc_buf_str(struct mc_buf *b, const char *s) { mc_buf_add(b, s, strlen(s)); }

void mc_buf_printf(struct mc_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    mc_buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

void mc_buf_u64(struct mc_buf *b, uint64_t v)
{
    char num[24];
    int n = 0;
    do { num[sizeof(num) - 1 - n++] = (char)('0' + v % 10); v /= 10; } while (v);
    mc_buf_add(b, num + sizeof(num) - n, (size_t)n);
}

/* ---- numbers, as memcached reads them ---------------------------------------- */

/* The number must be followed by the end or a space; a '-' is refused
 * when the value would not fit a signed number (strtoull accepts "-1"). */
int mc_strtoull(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE || end == s) return -1;
    if (!isspace((unsigned char)*end) && *end != '\0') return -1;
    if ((long long)v < 0 && memchr(s, '-', (size_t)(end - s))) return -1;
    *out = v;
    return 0;
}

/* As memcached on a 64-bit system: a number past 32 bits is truncated. */
int mc_strtoul32(const char *s, uint32_t *out)
{
    uint64_t v;
    if (mc_strtoull(s, &v) == -1) return -1;
    *out = (uint32_t)v;
    return 0;
}

int mc_strtoll(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || end == s) return -1;
    if (!isspace((unsigned char)*end) && *end != '\0') return -1;
    *out = v;
    return 0;
}

/* As memcached on a 64-bit system: parsed as a long, then truncated. */
int mc_strtol32(const char *s, int32_t *out)
{
    long long v;
    if (mc_strtoll(s, &v) == -1) return -1;
    *out = (int32_t)(uint32_t)(unsigned long long)v;
    return 0;
}

int mc_tokenize(char *line, char **tok, size_t *toklen, int max)
{
    int n = 0;
    char *p = line;
    while (*p && n < max) {
        while (*p == ' ') p++;
        if (!*p) break;
        char *start = p;
        while (*p && *p != ' ') p++;
        tok[n] = start;
        toklen[n] = (size_t)(p - start);
        n++;
        if (*p) *p++ = '\0';
    }
    return n;
}

/* ---- base64, for meta's binary keys ------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

long mc_base64_decode(const char *in, size_t n, char *out, size_t cap)
{
    if (n == 0 || n % 4 != 0) return -1;
    size_t len = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            if (in[i + j] == '=' && i + 4 == n && j >= 2) {
                v[j] = 0;
                pad++;
            } else if (pad || (v[j] = b64_value(in[i + j])) < 0) {
                return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if (len + 3 - (size_t)pad > cap) return -1;
        out[len++] = (char)(w >> 16);
        if (pad < 2) out[len++] = (char)(w >> 8);
        if (pad < 1) out[len++] = (char)w;
    }
    return (long)len;
}

size_t mc_base64_encode(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < n) w |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (i + 2 < n) w |= (unsigned char)in[i + 2];
        out[o++] = b64[w >> 18 & 63];
        out[o++] = b64[w >> 12 & 63];
        out[o++] = i + 1 < n ? b64[w >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64[w & 63] : '=';
    }
    return o;
}

/* ---- replies --------------------------------------------------------------------- */

struct req {
    struct mc_session *s;
    int noreply;
};

static void reply(struct req *r, const char *line)
{
    if (r->noreply) return;
    mc_buf_str(r->s->out, line);
    mc_buf_add(r->s->out, "\r\n", 2);
}

/* memcached sends these even under noreply */
static void reply_err(struct req *r, const char *line)
{
    r->noreply = 0;
    reply(r, line);
}

static int is_noreply(char **tok, int n) { return n > 0 && strcmp(tok[n - 1], "noreply") == 0; }

/* ---- retrieval --------------------------------------------------------------------- */

struct get_ctx {
    struct mc_session *s;
    int with_cas;
    int touch;
    uint32_t exptime;
};

static int get_visit(mc_item *it, void *arg)
{
    struct get_ctx *g = arg;
    if (!it) return 0;
    if (g->touch) it->exptime = g->exptime;
    it->bits |= MC_REF | MC_FETCHED;
    it->atime = mc_now();
    struct mc_buf *o = g->s->out;
    mc_buf_add(o, "VALUE ", 6);
    mc_buf_add(o, MC_ITEM_KEY(it), it->nkey);
    mc_buf_add(o, " ", 1);
    mc_buf_u64(o, it->flags);
    mc_buf_add(o, " ", 1);
    mc_buf_u64(o, it->nbytes);
    if (g->with_cas) {
        mc_buf_add(o, " ", 1);
        mc_buf_u64(o, it->cas);
    }
    mc_buf_add(o, "\r\n", 2);
    mc_buf_add(o, MC_ITEM_VAL(it), (size_t)it->nbytes + 2);
    return 1;
}

static const char discovery_key[] = "AmazonElastiCache:cluster";

/* get AmazonElastiCache:cluster: the Auto Discovery list as a value, for
 * clients older than the config command. */
static int get_discovery(struct mc_session *s)
{
    struct mc_buf body = {0};
    int ok = mc_discovery_body(&body) == 0;
    if (ok) {
        mc_buf_printf(s->out, "VALUE %s 0 %zu\r\n", discovery_key, body.len);
        mc_buf_add(s->out, body.data, body.len);
        mc_buf_add(s->out, "\r\n", 2);
    }
    free(body.data);
    return ok;
}

/* get/gets/gat/gats over line[start..end): keys are walked one by one, so
 * a multi-get is bounded only by the line length, and a reply that grows
 * past MC_GET_PAUSE bytes pauses: the request stays unconsumed with
 * s->get_resume at the next key, and goes on once the replies are sent.
 * Returns 1 when paused. The line is not written to (a long one is parsed
 * in place in the connection's buffer, again when resumed). */
static int cmd_get(struct mc_session *s, const char *line, const char *start, const char *end, int with_cas,
                   int touch)
{
    struct get_ctx g = {s, with_cas, touch, s->get_exptime};
    struct req r = {s, 0};
    const char *p = s->get_resume ? line + s->get_resume : start;
    if (touch && !s->get_resume) {
        while (p < end && *p == ' ') p++;
        const char *t = p;
        while (p < end && *p != ' ') p++;
        char num[32];
        int32_t exp;
        size_t n = (size_t)(p - t);
        if (n >= sizeof(num)) n = sizeof(num) - 1; /* still not a number: refused below */
        memcpy(num, t, n);
        num[n] = '\0';
        if (mc_strtol32(num, &exp) == -1 || (size_t)(p - t) >= sizeof(num)) {
            reply(&r, "CLIENT_ERROR invalid exptime argument");
            return 0;
        }
        g.exptime = mc_exptime(exp);
    }
    size_t out_start = s->out->len;
    s->get_resume = 0;
    for (;;) {
        while (p < end && *p == ' ') p++;
        if (p == end) break;
        if (s->out->len - out_start > MC_GET_PAUSE) {
            s->get_resume = (size_t)(p - line);
            s->get_exptime = g.exptime;
            return 1;
        }
        const char *key = p;
        while (p < end && *p != ' ') p++;
        size_t nkey = (size_t)(p - key);
        if (nkey > MC_KEY_MAX) {
            reply(&r, "CLIENT_ERROR bad command line format");
            return 0;
        }
        MC_STAT_INC(s->stats, cmd_get);
        if (touch) MC_STAT_INC(s->stats, cmd_touch);
        if (!with_cas && !touch && nkey == sizeof(discovery_key) - 1 &&
            memcmp(key, discovery_key, nkey) == 0 && get_discovery(s))
            continue;
        if (mc_store_visit(key, nkey, get_visit, &g)) {
            MC_STAT_INC(s->stats, get_hits);
            if (touch) MC_STAT_INC(s->stats, touch_hits);
        } else {
            MC_STAT_INC(s->stats, get_misses);
            if (touch) MC_STAT_INC(s->stats, touch_misses);
        }
    }
    mc_buf_add(s->out, "END\r\n", 5);
    return 0;
}

/* ---- storage ------------------------------------------------------------------------ */

static const char *store_reply(enum mc_result res)
{
    switch (res) {
    case MC_STORED: return "STORED";
    case MC_NOT_STORED: return "NOT_STORED";
    case MC_EXISTS: return "EXISTS";
    case MC_NOT_FOUND: return "NOT_FOUND";
    default: return "SERVER_ERROR out of memory storing object";
    }
}

/* set/add/replace/append/prepend/cas. Returns the bytes consumed beyond the
 * line (the data block), or -2 when the block has not all arrived. */
static long cmd_store(struct req *r, enum mc_store_mode mode, char **tok, size_t *toklen, int n,
                      const char *data, size_t avail)
{
    struct mc_session *s = r->s;
    r->noreply = is_noreply(tok, n);
    uint32_t flags;
    int32_t exp, vlen;
    uint64_t cas = 0;
    if (toklen[1] > MC_KEY_MAX || mc_strtoul32(tok[2], &flags) == -1 || mc_strtol32(tok[3], &exp) == -1 ||
        mc_strtol32(tok[4], &vlen) == -1 || (mode == MC_CAS && mc_strtoull(tok[5], &cas) == -1) ||
        vlen < 0 || vlen > INT32_MAX - 2) {
        reply(r, "CLIENT_ERROR bad command line format");
        return 0;
    }
    size_t need = (size_t)vlen + 2;
    enum mc_result res;
    if (!mc_item_size_ok(toklen[1], (size_t)vlen)) {
        res = MC_TOO_LARGE;
    } else {
        if (avail < need) return -2;
        mc_item *it = mc_item_new(tok[1], toklen[1], flags, mc_exptime(exp), (size_t)vlen, &res);
        if (it) {
            MC_STAT_INC(s->stats, cmd_set);
            if (data[vlen] != '\r' || data[vlen + 1] != '\n') {
                mc_item_free(it);
                reply(r, "CLIENT_ERROR bad data chunk");
                return (long)need;
            }
            memcpy(MC_ITEM_VAL(it), data, (size_t)vlen);
            uint64_t cas_out;
            res = mc_store_item(it, mode, cas, 0, &cas_out);
            if (mode == MC_CAS) {
                if (res == MC_STORED) MC_STAT_INC(s->stats, cas_hits);
                else if (res == MC_EXISTS) MC_STAT_INC(s->stats, cas_badval);
                else if (res == MC_NOT_FOUND) MC_STAT_INC(s->stats, cas_misses);
            }
            if (res == MC_TOO_LARGE) reply(r, "SERVER_ERROR object too large for cache");
            else if (res == MC_NO_MEMORY) reply_err(r, store_reply(res));
            else reply(r, store_reply(res));
            return (long)need;
        }
    }
    MC_STAT_INC(s->stats, cmd_set);
    return mc_refuse_store(s, res, tok[1], toklen[1], mode == MC_SET, r->noreply, need, avail);
}

/* A store refused before its data block was read: the reply, then the
 * block is swallowed as it arrives. Returns the bytes consumed now. */
long mc_refuse_store(struct mc_session *s, enum mc_result res, const char *key, size_t nkey, int is_set,
                     int noreply, size_t need, size_t avail)
{
    struct req r = {s, noreply};
    if (res == MC_TOO_LARGE) {
        MC_STAT_INC(s->stats, store_too_large);
        reply(&r, "SERVER_ERROR object too large for cache");
    } else if (res == MC_NO_MEMORY) {
        MC_STAT_INC(s->stats, store_no_memory);
        reply_err(&r, "SERVER_ERROR out of memory storing object");
    }
    /* a failed set must not leave the old value readable (as memcached) */
    if (is_set && (res == MC_TOO_LARGE || res == MC_NO_MEMORY)) mc_store_delete(key, nkey, 0);
    size_t now = avail < need ? avail : need;
    s->swallow = need - now;
    return (long)now;
}

/* ---- the other commands ----------------------------------------------------------- */

static void cmd_delta(struct req *r, int incr, char **tok, size_t *toklen, int n)
{
    r->noreply = is_noreply(tok, n);
    uint64_t delta, value;
    if (toklen[1] > MC_KEY_MAX) {
        reply(r, "CLIENT_ERROR bad command line format");
        return;
    }
    if (mc_strtoull(tok[2], &delta) == -1) {
        reply(r, "CLIENT_ERROR invalid numeric delta argument");
        return;
    }
    enum mc_result res = mc_store_delta(tok[1], toklen[1], incr, delta, 0, 1, &value, NULL);
    struct mc_worker_stats *st = r->s->stats;
    if (res == MC_NOT_FOUND) {
        if (incr) MC_STAT_INC(st, incr_misses);
        else MC_STAT_INC(st, decr_misses);
        reply(r, "NOT_FOUND");
        return;
    }
    if (incr) MC_STAT_INC(st, incr_hits);
    else MC_STAT_INC(st, decr_hits);
    if (res == MC_NON_NUMERIC) {
        reply(r, "CLIENT_ERROR cannot increment or decrement non-numeric value");
    } else if (res != MC_OK) {
        reply_err(r, "SERVER_ERROR out of memory");
    } else if (!r->noreply) {
        mc_buf_u64(r->s->out, value);
        mc_buf_add(r->s->out, "\r\n", 2);
    }
}

struct touch_ctx {
    uint32_t exptime;
};

static int touch_visit(mc_item *it, void *arg)
{
    if (!it) return 0;
    it->exptime = ((struct touch_ctx *)arg)->exptime;
    it->atime = mc_now();
    it->bits |= MC_REF;
    return 1;
}

static void cmd_touch(struct req *r, char **tok, size_t *toklen, int n)
{
    r->noreply = is_noreply(tok, n);
    int32_t exp;
    if (toklen[1] > MC_KEY_MAX) {
        reply(r, "CLIENT_ERROR bad command line format");
        return;
    }
    if (mc_strtol32(tok[2], &exp) == -1) {
        reply(r, "CLIENT_ERROR invalid exptime argument");
        return;
    }
    struct touch_ctx t = {mc_exptime(exp)};
    MC_STAT_INC(r->s->stats, cmd_touch);
    if (mc_store_visit(tok[1], toklen[1], touch_visit, &t)) {
        MC_STAT_INC(r->s->stats, touch_hits);
        reply(r, "TOUCHED");
    } else {
        MC_STAT_INC(r->s->stats, touch_misses);
        reply(r, "NOT_FOUND");
    }
}

static void cmd_delete(struct req *r, char **tok, size_t *toklen, int n)
{
    if (n > 2) {
        int hold_zero = strcmp(tok[2], "0") == 0;
        r->noreply = is_noreply(tok, n);
        int valid = (n == 3 && (hold_zero || r->noreply)) || (n == 4 && hold_zero && r->noreply);
        if (!valid) {
            reply(r, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
            return;
        }
    }
    if (toklen[1] > MC_KEY_MAX) {
        reply(r, "CLIENT_ERROR bad command line format");
        return;
    }
    if (mc_store_delete(tok[1], toklen[1], 0) == MC_DELETED) {
        MC_STAT_INC(r->s->stats, delete_hits);
        reply(r, "DELETED");
    } else {
        MC_STAT_INC(r->s->stats, delete_misses);
        reply(r, "NOT_FOUND");
    }
}

static void cmd_flush_all(struct req *r, char **tok, int n)
{
    r->noreply = is_noreply(tok, n);
    int32_t delay = 0;
    if (n != (r->noreply ? 2 : 1) && mc_strtol32(tok[1], &delay) == -1) {
        reply(r, "CLIENT_ERROR invalid exptime argument");
        return;
    }
    MC_STAT_INC(r->s->stats, cmd_flush);
    mc_store_flush(delay);
    reply(r, "OK");
}

static void cmd_verbosity(struct req *r, char **tok, int n)
{
    r->noreply = is_noreply(tok, n);
    uint32_t level;
    if (mc_strtoul32(tok[1], &level) == -1) {
        reply(r, "CLIENT_ERROR bad command line format");
        return;
    }
    mc_server_verbosity((int)level);
    reply(r, "OK");
}

/* cache_memlimit <megabytes> [noreply]: memcached's live memory limit,
 * with its answers (8 MB at least; a value that looks like bytes refused). */
static void cmd_memlimit(struct req *r, char **tok, int n)
{
    r->noreply = is_noreply(tok, n);
    uint64_t mb;
    if (mc_strtoull(tok[1], &mb) == -1) {
        reply(r, "ERROR");
    } else if (mb < 8) {
        reply(r, "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m");
    } else if (mb > 1000000000u) {
        reply(r, "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes");
    } else {
        mc_store_set_limit((size_t)mb * 1024 * 1024);
        reply(r, "OK");
    }
}

static void cmd_stats(struct req *r, char **tok, int n)
{
    if (n == 2 && strcmp(tok[1], "reset") == 0) {
        mc_stats_reset();
        reply(r, "RESET");
        return;
    }
    if (n == 2 && strcmp(tok[1], "detail") == 0) {
        reply(r, "CLIENT_ERROR usage: stats detail on|off|dump");
        return;
    }
    if (mc_stats_reply(r->s->out, n >= 2 ? tok[1] : NULL) == -1) reply(r, "ERROR");
}

/* config get cluster: ElastiCache's Auto Discovery. */
static void cmd_config(struct req *r, char **tok, int n)
{
    struct mc_buf body = {0};
    if (n == 3 && strcmp(tok[1], "get") == 0 && strcmp(tok[2], "cluster") == 0 &&
        mc_discovery_body(&body) == 0) {
        mc_buf_printf(r->s->out, "CONFIG cluster 0 %zu\r\n", body.len);
        mc_buf_add(r->s->out, body.data, body.len);
        mc_buf_add(r->s->out, "\r\nEND\r\n", 7);
    } else {
        reply(r, "ERROR");
    }
    free(body.data);
}

/* ---- dispatch ---------------------------------------------------------------------- */

/* Whether a line starts with get/gets/gat/gats and a space (within the
 * first 100 bytes: the line may not be NUL-terminated). */
static int is_get_family(const char *line)
{
    for (int i = 0; i < 100 && *line == ' '; i++) line++;
    return strncmp(line, "get ", 4) == 0 || strncmp(line, "gets ", 5) == 0 ||
           strncmp(line, "gat ", 4) == 0 || strncmp(line, "gats ", 5) == 0;
}

/* Runs one tokenized command; returns the data bytes consumed after the
 * line, -2 when a data block is incomplete, -1 to close. */
static long dispatch(struct mc_session *s, char **tok, size_t *toklen, int n, const char *data, size_t avail)
{
    struct req r = {s, 0};
    const char *c = tok[0];
#define WANT(cond) do { if (!(cond)) { reply(&r, "ERROR"); return 0; } } while (0)
    if (strcmp(c, "set") == 0 || strcmp(c, "add") == 0 || strcmp(c, "replace") == 0 ||
        strcmp(c, "append") == 0 || strcmp(c, "prepend") == 0) {
        WANT(n == 5 || n == 6);
        enum mc_store_mode m = c[0] == 's' ? MC_SET : c[0] == 'r' ? MC_REPLACE
                             : c[1] == 'd' ? MC_ADD : c[1] == 'p' ? MC_APPEND : MC_PREPEND;
        return cmd_store(&r, m, tok, toklen, n, data, avail);
    }
    if (strcmp(c, "cas") == 0) {
        WANT(n == 6 || n == 7);
        return cmd_store(&r, MC_CAS, tok, toklen, n, data, avail);
    }
    if (strcmp(c, "incr") == 0 || strcmp(c, "decr") == 0) {
        WANT(n == 3 || n == 4);
        cmd_delta(&r, c[0] == 'i', tok, toklen, n);
    } else if (strcmp(c, "delete") == 0) {
        WANT(n >= 2 && n <= 4);
        cmd_delete(&r, tok, toklen, n);
    } else if (strcmp(c, "touch") == 0) {
        WANT(n == 3 || n == 4);
        cmd_touch(&r, tok, toklen, n);
    } else if (strcmp(c, "flush_all") == 0) {
        WANT(n >= 1 && n <= 3);
        cmd_flush_all(&r, tok, n);
    } else if (strcmp(c, "version") == 0) {
        reply(&r, "VERSION " MC_VERSION);
    } else if (strcmp(c, "quit") == 0) {
        return -1;
    } else if (strcmp(c, "verbosity") == 0) {
        WANT(n == 2 || n == 3);
        cmd_verbosity(&r, tok, n);
    } else if (strcmp(c, "cache_memlimit") == 0) {
        WANT(n >= 2);
        cmd_memlimit(&r, tok, n);
    } else if (strcmp(c, "stats") == 0) {
        cmd_stats(&r, tok, n);
    } else if (strcmp(c, "config") == 0) {
        cmd_config(&r, tok, n);
    } else if (strcmp(c, "shutdown") == 0) {
        reply(&r, "ERROR: shutdown not enabled");
    } else {
        reply(&r, "ERROR");
    }
#undef WANT
    return 0;
}

static int is_meta(const char *line)
{
    return line[0] == 'm' && line[1] && strchr("gsdnae", line[1]) && (line[2] == ' ' || line[2] == '\0');
}

long mc_process(struct mc_session *s, char *in, size_t len)
{
    s->paused = 0;
    if (s->swallow) {
        size_t n = len < s->swallow ? len : s->swallow;
        s->swallow -= n;
        return (long)n;
    }
    size_t scan = len < MC_GET_LINE_MAX ? len : MC_GET_LINE_MAX;
    char *nl = memchr(in, '\n', scan);
    if (!nl) {
        if (len >= MC_GET_LINE_MAX || (len > MC_LINE_MAX && !is_get_family(in))) {
            mc_buf_str(s->out, "CLIENT_ERROR line too long\r\n");
            return -1;
        }
        return 0;
    }
    size_t linelen = (size_t)(nl - in);
    size_t consumed = linelen + 1;
    if (linelen > 0 && in[linelen - 1] == '\r') linelen--;
    if (linelen > MC_LINE_MAX && !is_get_family(in)) {
        mc_buf_str(s->out, "CLIENT_ERROR line too long\r\n");
        return -1;
    }
    char *data = in + consumed;
    size_t avail = len - consumed;
    /* the line is parsed in a copy: a command that waits for its data block
     * is parsed again when the rest arrives. A longer line (a multi-get) is
     * read in place, bounded by its end, and never written to. */
    char lb[MC_LINE_MAX + 1];
    char *line = in;
    if (linelen <= MC_LINE_MAX) {
        memcpy(lb, in, linelen);
        line = lb;
        line[linelen] = '\0';
    }
    const char *end = line + linelen;
    if (is_meta(line)) {
        long r = mc_meta_process(s, line, data, avail);
        if (r == -2) return 0;
        return r < 0 ? r : (long)consumed + r;
    }
    if (is_get_family(line)) {
        const char *p = line;
        while (*p == ' ') p++;
        const char *args = memchr(p, ' ', (size_t)(end - p));
        int with_cas = p[3] == 's';
        int touch = p[1] == 'a';
        /* "get" alone is an unknown command to memcached: it wants a key */
        const char *q = args;
        while (q < end && *q == ' ') q++;
        if (q == end) {
            mc_buf_str(s->out, "ERROR\r\n");
        } else if (cmd_get(s, line, args, end, with_cas, touch)) {
            s->paused = 1;
            return 0;
        }
        return (long)consumed;
    }
    char *tok[MAX_TOKENS];
    size_t toklen[MAX_TOKENS];
    int n = mc_tokenize(line, tok, toklen, MAX_TOKENS);
    if (n == 0) {
        mc_buf_str(s->out, "ERROR\r\n");
        return (long)consumed;
    }
    long r = dispatch(s, tok, toklen, n, data, avail);
    if (r == -2) return 0;
    if (r == -1) return -1;
    return (long)consumed + r;
}
