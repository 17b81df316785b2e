/* t_string_lcs.c: LCS, the longest common subsequence of two string keys,
 * as the string itself, its length (LEN) or the matching ranges (IDX).
 *
 * The classic dynamic-programming table is filled, then walked back from
 * the end. The walk's tie-break (move in the first string only when that
 * keeps a strictly longer LCS) decides which of several equally long
 * answers is returned, so it must stay as it is for replies to match
 * Redis's. */
#include <stdint.h>
#include <string.h>

#include "server.h"

struct lcs_options {
    int want_len, want_idx, with_match_len;
    long long min_match_len;
};

static int parse_lcs_options(client *c, struct lcs_options *o)
{
    memset(o, 0, sizeof(*o));
    for (int j = 3; j < c->argc; j++) {
        const arg *a = &c->argv[j];
        int more = j + 1 < c->argc;
        if (string_option_is(a, "idx")) {
            o->want_idx = 1;
        } else if (string_option_is(a, "len")) {
            o->want_len = 1;
        } else if (string_option_is(a, "withmatchlen")) {
            o->with_match_len = 1;
        } else if (string_option_is(a, "minmatchlen") && more) {
            if (!arg_to_ll(c, &c->argv[++j], &o->min_match_len)) return 0;
            if (o->min_match_len < 0) o->min_match_len = 0;
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    if (o->want_idx && o->want_len) {
        reply_error(c, "ERR If you want both the length and indexes, please just use IDX.");
        return 0;
    }
    return 1;
}

/* Fills dp, (alen+1) x (blen+1) row-major: dp[i][j] is the LCS length of
 * a[0..i) and b[0..j). */
static void lcs_fill(uint32_t *dp, const char *a, size_t alen, const char *b, size_t blen)
{
    size_t w = blen + 1;
    for (size_t j = 0; j <= blen; j++) dp[j] = 0;
    for (size_t i = 1; i <= alen; i++) {
        uint32_t *row = dp + i * w, *up = row - w;
        row[0] = 0;
        for (size_t j = 1; j <= blen; j++) {
            if (a[i - 1] == b[j - 1]) row[j] = up[j - 1] + 1;
            else row[j] = up[j] > row[j - 1] ? up[j] : row[j - 1];
        }
    }
}

/* One contiguous run of matches, in positions of a and b (inclusive). */
struct lcs_range {
    size_t a_start, a_end, b_start, b_end;
    int open;
};

static void emit_range(client *c, const struct lcs_options *o, const struct lcs_range *r,
                       long *count)
{
    unsigned long long len = r->a_end - r->a_start + 1;
    if (o->min_match_len && len < (unsigned long long)o->min_match_len) return;
    reply_array(c, 2 + o->with_match_len);
    reply_array(c, 2);
    reply_int(c, (long long)r->a_start);
    reply_int(c, (long long)r->a_end);
    reply_array(c, 2);
    reply_int(c, (long long)r->b_start);
    reply_int(c, (long long)r->b_end);
    if (o->with_match_len) reply_int(c, (long long)len);
    (*count)++;
}

/* Walks the table back from (alen, blen): writes the common subsequence
 * into out (when not NULL, sized for it) and, for IDX, replies the ranges
 * from the last to the first. Returns how many ranges it replied. */
static long lcs_walk(client *c, const struct lcs_options *o, const uint32_t *dp, const char *a,
                     size_t alen, const char *b, size_t blen, char *out)
{
    size_t w = blen + 1, i = alen, j = blen, k = dp[alen * w + blen];
    struct lcs_range r = {0, 0, 0, 0, 0};
    long count = 0;
    while (i > 0 && j > 0) {
        int close = 0;
        if (a[i - 1] == b[j - 1]) {
            if (out) out[k - 1] = a[i - 1];
            if (!r.open) {
                r = (struct lcs_range){i - 1, i - 1, j - 1, j - 1, 1};
            } else { /* the walk goes diagonally, so a match extends the run */
                r.a_start--;
                r.b_start--;
            }
            /* a run that reached the start of either string ends here */
            if (r.a_start == 0 || r.b_start == 0) close = 1;
            k--;
            i--;
            j--;
        } else {
            if (dp[(i - 1) * w + j] > dp[i * w + j - 1]) i--;
            else j--;
            if (r.open) close = 1;
        }
        if (close) {
            if (o->want_idx) emit_range(c, o, &r, &count);
            r.open = 0;
        }
    }
    return count;
}

void lcs_command(client *c)
{
    entry *ea = lookup_read(c, &c->argv[1]);
    entry *eb = lookup_read(c, &c->argv[2]);
    if ((ea && ea->type != TYPE_STRING) || (eb && eb->type != TYPE_STRING)) {
        reply_error(c, "ERR The specified keys must contain string values");
        return;
    }
    struct lcs_options o;
    if (!parse_lcs_options(c, &o)) return;

    char abuf[24], bbuf[24];
    size_t alen = 0, blen = 0;
    const char *a = ea ? entry_string(ea, abuf, &alen) : "";
    const char *b = eb ? entry_string(eb, bbuf, &blen) : "";
    if (alen >= UINT32_MAX - 1 || blen >= UINT32_MAX - 1) {
        reply_error(c, "ERR String too long for LCS");
        return;
    }
    /* The table costs 4 bytes per pair of positions; like Redis we refuse
     * one bigger than the biggest string we accept, so that one command can
     * neither exhaust memory nor hold the event loop for long. */
    unsigned long long cells = (unsigned long long)(alen + 1) * (blen + 1);
    if (cells > (unsigned long long)server.proto_max_bulk_len / sizeof(uint32_t)) {
        reply_error(c, "ERR Insufficient memory, transient memory for LCS exceeds "
                       "proto-max-bulk-len");
        return;
    }
    uint32_t *dp = zmalloc((size_t)cells * sizeof(uint32_t));
    lcs_fill(dp, a, alen, b, blen);
    size_t lcs_len = dp[cells - 1];

    if (o.want_len) {
        reply_int(c, (long long)lcs_len);
    } else if (o.want_idx) {
        reply_map(c, 2);
        reply_bulk_cstr(c, "matches");
        void *ranges = reply_deferred(c);
        long count = lcs_walk(c, &o, dp, a, alen, b, blen, NULL);
        reply_set_deferred_array(c, ranges, count);
        reply_bulk_cstr(c, "len");
        reply_int(c, (long long)lcs_len);
    } else {
        char *out = zmalloc(lcs_len + 1);
        lcs_walk(c, &o, dp, a, alen, b, blen, out);
        reply_bulk(c, out, lcs_len);
        zfree(out);
    }
    zfree(dp);
}
