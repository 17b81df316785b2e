/* cmd_sort.c: SORT and SORT_RO: the elements of a list, set or sorted
 * set, ordered numerically or (ALPHA) as bytes, optionally by the values of
 * other keys (BY pattern, "->field" for a hash field), LIMIT, GET patterns,
 * and STORE into a list. Behaviour follows Redis 7.0: numbers are parsed as
 * strtod does, equal scores fall back to comparing the elements so the
 * result is deterministic, a BY pattern without '*' means "do not sort",
 * and a set left unsorted is sorted ALPHA when the result is stored (so a
 * replica stores the same list). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "object.h"
#include "notify.h"
#include "server.h"
#include "t_hash.h"
#include "t_list.h"

struct sort_item {
    char *elem; /* owned copy */
    size_t len;
    double score;
    char *by; /* ALPHA with BY: the BY value (owned), or NULL */
    size_t by_len;
};

struct sort_spec {
    int desc, alpha, dontsort;
    long long limit_start, limit_count;
    const arg *by;
    const arg *store;
    const arg **gets; /* room for every argument; sort_generic frees it */
    int ngets;
};

static int parse_sort_options(client *c, struct sort_spec *s, int readonly)
{
    memset(s, 0, sizeof(*s));
    s->gets = zmalloc(sizeof(const arg *) * (size_t)c->argc);
    s->limit_start = 0;
    s->limit_count = -1;
    for (int j = 2; j < c->argc; j++) {
        const arg *a = &c->argv[j];
        int left = c->argc - j - 1;
        if (arg_is(a->p, a->len, "asc")) {
            s->desc = 0;
        } else if (arg_is(a->p, a->len, "desc")) {
            s->desc = 1;
        } else if (arg_is(a->p, a->len, "alpha")) {
            s->alpha = 1;
        } else if (arg_is(a->p, a->len, "limit") && left >= 2) {
            if (!arg_to_ll(c, &c->argv[j + 1], &s->limit_start) ||
                !arg_to_ll(c, &c->argv[j + 2], &s->limit_count))
                return 0;
            j += 2;
        } else if (arg_is(a->p, a->len, "store") && left >= 1 && !readonly) {
            s->store = &c->argv[++j];
        } else if (arg_is(a->p, a->len, "by") && left >= 1) {
            s->by = &c->argv[++j];
            if (memchr(s->by->p, '*', s->by->len) == NULL) s->dontsort = 1;
        } else if (arg_is(a->p, a->len, "get") && left >= 1) {
            s->gets[s->ngets++] = &c->argv[++j];
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    return 1;
}

/* The value a BY or GET pattern names for one element: the element itself
 * for "#", else the string at the key made by putting the element in place
 * of the first '*' (or a hash field after "->"). NULL when there is none.
 * The bytes stay valid until the next lookup; numbuf holds integers. */
static const char *pattern_value(client *c, const arg *pattern, const char *elem, size_t elen,
                                 size_t *len, char *numbuf)
{
    if (pattern->len == 1 && pattern->p[0] == '#') {
        *len = elen;
        return elem;
    }
    const char *star = memchr(pattern->p, '*', pattern->len);
    if (star == NULL) return NULL;
    const char *after = star + 1, *end = pattern->p + pattern->len;
    const char *field = NULL;
    size_t flen = 0;
    for (const char *f = after; f + 1 < end; f++) {
        if (f[0] == '-' && f[1] == '>' && f + 2 < end) {
            field = f + 2;
            flen = (size_t)(end - field);
            end = f;
            break;
        }
    }
    size_t prefix = (size_t)(star - pattern->p), suffix = (size_t)(end - after);
    size_t klen = prefix + elen + suffix;
    char stack[256];
    char *key = klen <= sizeof(stack) ? stack : zmalloc(klen);
    memcpy(key, pattern->p, prefix);
    memcpy(key + prefix, elem, elen);
    memcpy(key + prefix + elen, after, suffix);
    arg k = {key, klen};
    entry *e = lookup_read(c, &k);
    const char *v = NULL;
    if (e && field && e->type == TYPE_HASH) {
        if (!hash_get(entry_object(e), field, flen, numbuf, &v, len)) v = NULL;
    } else if (e && !field && e->type == TYPE_STRING) {
        v = entry_string(e, numbuf, len);
    }
    if (key != stack) zfree(key);
    return v;
}

struct collect {
    struct sort_item *items;
    size_t n, cap;
};

static void collect_element(void *priv, const char *p, size_t len)
{
    struct collect *col = priv;
    if (col->n == col->cap) {
        col->cap = col->cap ? col->cap * 2 : 16;
        col->items = zrealloc(col->items, col->cap * sizeof(struct sort_item));
    }
    struct sort_item *it = &col->items[col->n++];
    memset(it, 0, sizeof(*it));
    it->elem = zmalloc(len ? len : 1);
    memcpy(it->elem, p, len);
    it->len = len;
}

static void free_items(struct collect *col)
{
    for (size_t i = 0; i < col->n; i++) {
        zfree(col->items[i].elem);
        zfree(col->items[i].by);
    }
    zfree(col->items);
}

/* strtod's reading of a value, as Redis sorts: the whole text must parse
 * (an empty one is 0), and NaN or out of range is an error. */
static int parse_sort_score(const char *p, size_t len, double *out)
{
    char stack[128];
    char *s = len < sizeof(stack) ? stack : zmalloc(len + 1);
    memcpy(s, p, len);
    s[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    int ok = *end == '\0' && errno != ERANGE && !isnan(v) && strlen(s) == len;
    if (s != stack) zfree(s);
    *out = v;
    return ok;
}

/* Fills in each item's sort key; 0 (after replying) on a value that is not
 * a number when sorting numerically. */
static int compute_weights(client *c, const struct sort_spec *s, struct collect *col)
{
    int bad = 0;
    for (size_t i = 0; i < col->n; i++) {
        struct sort_item *it = &col->items[i];
        const char *v = it->elem;
        size_t vlen = it->len;
        char numbuf[32];
        if (s->by) {
            v = pattern_value(c, s->by, it->elem, it->len, &vlen, numbuf);
            if (v == NULL) continue; /* score 0, or no BY value */
            if (s->alpha) {
                it->by = zmalloc(vlen ? vlen : 1);
                memcpy(it->by, v, vlen);
                it->by_len = vlen;
                continue;
            }
        } else if (s->alpha) {
            continue;
        }
        if (!parse_sort_score(v, vlen, &it->score)) bad = 1;
    }
    if (bad) reply_error(c, "ERR One or more scores can't be converted into double");
    return !bad;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);
    if (r) return r;
    return alen < blen ? -1 : alen > blen;
}

static const struct sort_spec *cmp_spec; /* qsort has no context argument */

static int sort_cmp(const void *x, const void *y)
{
    const struct sort_item *a = x, *b = y;
    int cmp;
    if (!cmp_spec->alpha) {
        cmp = a->score > b->score ? 1 : a->score < b->score ? -1
                                    : bytes_cmp(a->elem, a->len, b->elem, b->len);
    } else if (cmp_spec->by) {
        if (a->by == NULL || b->by == NULL) cmp = (a->by != NULL) - (b->by != NULL);
        else cmp = bytes_cmp(a->by, a->by_len, b->by, b->by_len);
    } else {
        cmp = bytes_cmp(a->elem, a->len, b->elem, b->len);
    }
    return cmp_spec->desc ? -cmp : cmp;
}

/* The [start, end] window LIMIT selects out of n, Redis's arithmetic. */
static void limit_window(const struct sort_spec *s, long long n, long long *start, long long *end)
{
    *start = s->limit_start < 0 ? 0 : s->limit_start;
    *end = s->limit_count < 0 ? n - 1 : *start + s->limit_count - 1;
    if (*start >= n) {
        *start = n - 1;
        *end = n - 2;
    }
    if (*end >= n) *end = n - 1;
}

static void reply_sorted(client *c, const struct sort_spec *s, struct collect *col, long long start,
                         long long end)
{
    long long count = end >= start ? end - start + 1 : 0;
    reply_array(c, (long)(count * (s->ngets ? s->ngets : 1)));
    for (long long i = start; i <= end; i++) {
        struct sort_item *it = &col->items[i];
        if (s->ngets == 0) {
            reply_bulk(c, it->elem, it->len);
            continue;
        }
        for (int g = 0; g < s->ngets; g++) {
            char numbuf[32];
            size_t vlen;
            const char *v = pattern_value(c, s->gets[g], it->elem, it->len, &vlen, numbuf);
            if (v) reply_bulk(c, v, vlen);
            else reply_null(c);
        }
    }
}

/* STORE: the result as a list (a missing GET value is an empty string). */
static void store_sorted(client *c, const struct sort_spec *s, struct collect *col, long long start,
                         long long end)
{
    long long count = end >= start ? end - start + 1 : 0;
    long long total = count * (s->ngets ? s->ngets : 1);
    arg *values = zmalloc(sizeof(arg) * (size_t)(total ? total : 1));
    char **copies = zcalloc(sizeof(char *) * (size_t)(total ? total : 1));
    long long n = 0;
    for (long long i = start; i <= end; i++) {
        struct sort_item *it = &col->items[i];
        for (int g = 0; g < (s->ngets ? s->ngets : 1); g++, n++) {
            char numbuf[32];
            size_t vlen = 0;
            const char *v = s->ngets ? pattern_value(c, s->gets[g], it->elem, it->len, &vlen, numbuf)
                                     : it->elem;
            if (!s->ngets) vlen = it->len;
            copies[n] = zmalloc(v && vlen ? vlen : 1);
            if (v) memcpy(copies[n], v, vlen);
            values[n].p = copies[n];
            values[n].len = v ? vlen : 0;
        }
    }
    entry *old = lookup_write(c, s->store);
    if (old) db_delete_entry(c->db, old);
    if (total > 0) {
        qlist *l = ql_create();
        for (long long i = 0; i < total; i++) ql_push(l, values[i].p, values[i].len, QL_TAIL);
        keyspace_overwriting = old != NULL; /* a replaced key is not new */
        db_add_object(c->db, s->store->p, s->store->len, TYPE_LIST, l);
        keyspace_overwriting = 0;
    }
    if (old || total > 0) {
        key_modified(c->db, s->store);
        notify_key(c, NOTIFY_GENERIC, total > 0 ? "sortstore" : "del", s->store);
    }
    for (long long i = 0; i < n; i++) zfree(copies[i]);
    zfree(copies);
    zfree(values);
    reply_int(c, total);
}

static void sort_with(client *c, struct sort_spec *spec);

static void sort_generic(client *c, int readonly)
{
    struct sort_spec s;
    if (parse_sort_options(c, &s, readonly)) sort_with(c, &s);
    zfree(s.gets);
}

static void sort_with(client *c, struct sort_spec *spec)
{
    struct sort_spec s = *spec;
    entry *e = s.store ? lookup_write(c, &c->argv[1]) : lookup_read(c, &c->argv[1]);
    if (e && e->type != TYPE_LIST && e->type != TYPE_SET && e->type != TYPE_ZSET) {
        reply_wrongtype(c);
        return;
    }
    /* an unsorted set would store in its hash order: sort it so a replica
     * stores the same list */
    if (e && e->type == TYPE_SET && s.dontsort && s.store) {
        s.dontsort = 0;
        s.alpha = 1;
        s.by = NULL;
    }
    struct collect col = {NULL, 0, 0};
    if (e) object_type((enum value_type)e->type)->each_element(entry_object(e), collect_element, &col);
    if (s.dontsort && s.desc) { /* the stored order, reversed */
        for (size_t i = 0; i < col.n / 2; i++) {
            struct sort_item t = col.items[i];
            col.items[i] = col.items[col.n - 1 - i];
            col.items[col.n - 1 - i] = t;
        }
    }
    long long start, end;
    limit_window(&s, (long long)col.n, &start, &end);
    if (!s.dontsort) {
        if (!compute_weights(c, &s, &col)) {
            free_items(&col);
            return;
        }
        cmp_spec = &s;
        if (col.n > 1) qsort(col.items, col.n, sizeof(struct sort_item), sort_cmp);
    }
    if (s.store) store_sorted(c, &s, &col, start, end);
    else reply_sorted(c, &s, &col, start, end);
    free_items(&col);
}

static void sort_command(client *c) { sort_generic(c, 0); }
static void sort_ro_command(client *c) { sort_generic(c, 1); }

struct command sort_commands[] = {
    {"sort", sort_command, -2, CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS, ACL_SET | ACL_SORTEDSET | ACL_LIST | ACL_DANGEROUS, 1, 1, 1, "RO access @1; RO access @? (For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort); OW update @? (For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array)", NULL, "generic", "Sort the elements in a list, set or sorted set", "1.0.0", "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).", NULL, 0, 0, 0, 0},
    {"sort_ro", sort_ro_command, -2, CMD_READONLY | CMD_MOVABLE_KEYS, ACL_SET | ACL_SORTEDSET | ACL_LIST | ACL_DANGEROUS, 1, 1, 1, "RO access @1; RO access @? (For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort)", NULL, "generic", "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", "7.0.0", "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
