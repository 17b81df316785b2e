/* tracking.c: client-side caching (CLIENT TRACKING, CACHING, TRACKINGINFO,
 * GETREDIR). In the default mode a table maps each key a tracking client
 * read to the ids of those clients; the key's first change sends each of
 * them one invalidation and forgets the key. In BCAST mode clients register
 * key prefixes instead, and the keys changed under a prefix are sent to its
 * clients in one message per prefix before the event loop sleeps.
 * Invalidations are RESP3 pushes, or messages on __redis__:invalidate for a
 * RESP2 client that redirects to a subscribed connection. */
#include <string.h>

#include "dict.h"
#include "server.h"
#include "tracking.h"

#define REDIRECT_CHANNEL "__redis__:invalidate"
#define TABLE_EVICTIONS_PER_SLEEP 1000

struct tracking_state {
    uint64_t redirect; /* 0: none */
    size_t nprefixes;
    char **prefixes;   /* BCAST: owned copies, sorted */
    size_t *prefix_lens;
};

/* The ids of the clients that read one key. */
struct idset {
    size_t n, cap;
    uint64_t *ids;
};

/* One BCAST prefix: its clients and the keys changed under it since the
 * last broadcast, with the id of the client that changed each (NOLOOP). */
struct bcast_prefix {
    char *prefix;
    size_t len;
    size_t nclients, capclients;
    client **clients;
    size_t nkeys, capkeys;
    char **keys;
    size_t *klens;
    uint64_t *by;
};

static dict *table; /* key -> struct idset * */
static long long table_items, tracking_clients;
static struct bcast_prefix **bcast; /* sorted by prefix, as Redis's radix tree */
static size_t nbcast;

/* Invalidations for the client running the command, sent after its reply. */
struct pending_key {
    char *key; /* NULL: a flush */
    size_t len;
};
static struct pending_key *pending;
static size_t npending, cappending;

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return p;
    *cap = *cap ? *cap * 2 : 4;
    if (*cap < need) *cap = need;
    return zrealloc(p, *cap * size);
}

static char *copy_bytes(const char *p, size_t len)
{
    char *s = zmalloc(len ? len : 1);
    if (len) memcpy(s, p, len);
    return s;
}

/* ---- sending ----------------------------------------------------------------- */

/* Where c's invalidations go: itself or its redirect target; NULL (after
 * telling a RESP3 client) when the target is gone. */
static client *message_target(client *c, int *redirected)
{
    *redirected = 0;
    if (c->tracking == NULL || c->tracking->redirect == 0) return c;
    client *to = client_by_id(c->tracking->redirect);
    if (to == NULL) {
        c->flags |= CLIENT_TRACKING_BROKEN_REDIR;
        if (c->resp > 2) {
            reply_push_len(c, 2);
            reply_bulk(c, "tracking-redir-broken", 21);
            reply_int(c, (long long)c->tracking->redirect);
        }
        return NULL;
    }
    *redirected = 1;
    return to;
}

/* One invalidation: n keys, or everything (keys NULL) after a flush. */
static void send_invalidation(client *c, char *const *keys, const size_t *lens, size_t n)
{
    int redirected, origin_resp = c->resp;
    client *to = message_target(c, &redirected);
    if (to == NULL) return;
    if (to->resp > 2) {
        reply_push_len(to, 2);
        reply_bulk(to, "invalidate", 10);
    } else if (redirected && (to->flags & CLIENT_PUBSUB)) {
        reply_push_len(to, 3);
        reply_bulk(to, "message", 7);
        reply_bulk(to, REDIRECT_CHANNEL, sizeof(REDIRECT_CHANNEL) - 1);
    } else {
        return; /* RESP2 has no pushes on the same connection */
    }
    if (keys == NULL) {
        /* the null of the tracking client's protocol, as Redis sends it */
        if (origin_resp > 2) reply_raw(to, "_\r\n", 3);
        else reply_raw(to, "$-1\r\n", 5);
        return;
    }
    reply_array(to, (long)n);
    for (size_t i = 0; i < n; i++) reply_bulk(to, keys[i], lens[i]);
}

static void send_key(client *c, const char *key, size_t len)
{
    char *k = (char *)key;
    send_invalidation(c, &k, &len, 1);
}

static void pending_add(const char *key, size_t len)
{
    pending = grow(pending, &cappending, npending + 1, sizeof(*pending));
    pending[npending].key = key ? copy_bytes(key, len) : NULL;
    pending[npending].len = len;
    npending++;
}

static void pending_flush(client *c)
{
    for (size_t i = 0; i < npending; i++) {
        if (c->flags & CLIENT_TRACKING) {
            if (pending[i].key) send_key(c, pending[i].key, pending[i].len);
            else send_invalidation(c, NULL, NULL, 0);
        }
        zfree(pending[i].key);
    }
    npending = 0;
}

/* ---- the table of keys read ------------------------------------------------------ */

static struct idset *idset_of(dnode *n)
{
    struct idset *s;
    memcpy(&s, dnode_val(n), sizeof(s));
    return s;
}

static void remember_key(void *priv, const arg *key)
{
    client *c = priv;
    if (table == NULL) table = dict_create();
    dnode *n = dict_find(table, key->p, key->len);
    struct idset *s;
    if (n == NULL) {
        s = zcalloc(sizeof(*s));
        dict_add(table, key->p, key->len, &s, sizeof(s));
    } else {
        s = idset_of(n);
        for (size_t i = 0; i < s->n; i++)
            if (s->ids[i] == c->id) return;
    }
    s->ids = grow(s->ids, &s->cap, s->n + 1, sizeof(uint64_t));
    s->ids[s->n++] = c->id;
    table_items++;
}

/* Sends the key's invalidation to the clients that read it and forgets it.
 * `from_command`: a command changed it (NOLOOP and the held-back reply
 * apply), rather than the table's size limit. */
static void invalidate_tracked(const char *key, size_t len, int from_command)
{
    dnode *n = table ? dict_find(table, key, len) : NULL;
    if (n == NULL) return;
    struct idset *s = idset_of(n);
    client *current = from_command ? server.current_client : NULL;
    for (size_t i = 0; i < s->n; i++) {
        client *t = client_by_id(s->ids[i]);
        if (t == NULL || !(t->flags & CLIENT_TRACKING) || (t->flags & CLIENT_TRACKING_BCAST)) continue;
        if ((t->flags & CLIENT_TRACKING_NOLOOP) && t == current) continue;
        if (t == current && server.call_frame) pending_add(key, len); /* after its reply */
        else send_key(t, key, len);
    }
    table_items -= (long long)s->n;
    zfree(s->ids);
    zfree(s);
    dict_delete(table, key, len);
}

/* ---- BCAST prefixes ------------------------------------------------------------- */

static int starts_with(const char *key, size_t klen, const char *prefix, size_t plen)
{
    return klen >= plen && memcmp(key, prefix, plen) == 0;
}

static void bcast_note_key(const char *key, size_t len)
{
    uint64_t by = server.current_client ? server.current_client->id : 0;
    for (size_t i = 0; i < nbcast; i++) {
        struct bcast_prefix *bp = bcast[i];
        if (!starts_with(key, len, bp->prefix, bp->len)) continue;
        if (bp->nkeys == bp->capkeys) {
            bp->capkeys = bp->capkeys ? bp->capkeys * 2 : 8;
            bp->keys = zrealloc(bp->keys, bp->capkeys * sizeof(char *));
            bp->klens = zrealloc(bp->klens, bp->capkeys * sizeof(size_t));
            bp->by = zrealloc(bp->by, bp->capkeys * sizeof(uint64_t));
        }
        bp->keys[bp->nkeys] = copy_bytes(key, len);
        bp->klens[bp->nkeys] = len;
        bp->by[bp->nkeys] = by;
        bp->nkeys++;
    }
}

static void bcast_send(struct bcast_prefix *bp)
{
    char **keys = zmalloc(bp->nkeys * sizeof(char *));
    size_t *lens = zmalloc(bp->nkeys * sizeof(size_t));
    for (size_t c = 0; c < bp->nclients; c++) {
        client *t = bp->clients[c];
        size_t n = 0;
        for (size_t k = 0; k < bp->nkeys; k++) {
            if ((t->flags & CLIENT_TRACKING_NOLOOP) && bp->by[k] == t->id) continue;
            keys[n] = bp->keys[k];
            lens[n++] = bp->klens[k];
        }
        if (n) send_invalidation(t, keys, lens, n);
    }
    zfree(keys);
    zfree(lens);
    for (size_t k = 0; k < bp->nkeys; k++) zfree(bp->keys[k]);
    bp->nkeys = 0;
}

static struct bcast_prefix *bcast_find(const char *p, size_t len, size_t *at)
{
    size_t i = 0;
    for (; i < nbcast; i++) {
        size_t min = bcast[i]->len < len ? bcast[i]->len : len;
        int cmp = memcmp(bcast[i]->prefix, p, min);
        if (cmp == 0 && bcast[i]->len == len) return bcast[i];
        if (cmp > 0 || (cmp == 0 && bcast[i]->len > len)) break;
    }
    *at = i;
    return NULL;
}

static void bcast_add_client(const char *p, size_t len, client *c)
{
    size_t at;
    struct bcast_prefix *bp = bcast_find(p, len, &at);
    if (bp == NULL) {
        bp = zcalloc(sizeof(*bp));
        bp->prefix = copy_bytes(p, len);
        bp->len = len;
        bcast = zrealloc(bcast, (nbcast + 1) * sizeof(*bcast));
        memmove(bcast + at + 1, bcast + at, (nbcast - at) * sizeof(*bcast));
        bcast[at] = bp;
        nbcast++;
    }
    for (size_t i = 0; i < bp->nclients; i++)
        if (bp->clients[i] == c) return;
    bp->clients = grow(bp->clients, &bp->capclients, bp->nclients + 1, sizeof(client *));
    bp->clients[bp->nclients++] = c;
}

static void bcast_remove_client(const char *p, size_t len, client *c)
{
    size_t at;
    struct bcast_prefix *bp = bcast_find(p, len, &at);
    if (bp == NULL) return;
    for (size_t i = 0; i < bp->nclients; i++) {
        if (bp->clients[i] != c) continue;
        bp->clients[i] = bp->clients[--bp->nclients];
        break;
    }
    if (bp->nclients) return;
    for (size_t k = 0; k < bp->nkeys; k++) zfree(bp->keys[k]);
    zfree(bp->keys);
    zfree(bp->klens);
    zfree(bp->by);
    zfree(bp->clients);
    zfree(bp->prefix);
    zfree(bp);
    for (size_t i = 0; i < nbcast; i++) {
        if (bcast[i] != bp) continue;
        memmove(bcast + i, bcast + i + 1, (nbcast - i - 1) * sizeof(*bcast));
        nbcast--;
        break;
    }
}

/* ---- hooks ------------------------------------------------------------------------ */

int tracking_wants_keys(void) { return nbcast > 0 || (table && dict_size(table) > 0); }

void tracking_invalidate_key(const char *key, size_t len)
{
    if (nbcast) bcast_note_key(key, len);
    if (table && dict_size(table)) invalidate_tracked(key, len, 1);
}

void tracking_invalidate_all(void)
{
    if (tracking_clients) {
        for (client *c = server.clients; c; c = c->next) {
            if (!(c->flags & CLIENT_TRACKING)) continue;
            if (c == server.current_client && server.call_frame) pending_add(NULL, 0);
            else send_invalidation(c, NULL, NULL, 0);
        }
    }
    if (table == NULL) return;
    dict_iter it;
    dict_iter_init(&it, table);
    dnode *n;
    while ((n = dict_iter_next(&it)) != NULL) {
        struct idset *s = idset_of(n);
        zfree(s->ids);
        zfree(s);
    }
    dict_iter_release(&it);
    dict_free(table);
    table = NULL;
    table_items = 0;
}

void tracking_after_command(client *c, const struct command *cmd, int top_level)
{
    if ((c->flags & CLIENT_TRACKING) && !(c->flags & CLIENT_TRACKING_BCAST) && (cmd->flags & CMD_READONLY)) {
        int optin = c->flags & CLIENT_TRACKING_OPTIN, optout = c->flags & CLIENT_TRACKING_OPTOUT;
        int caching = c->flags & CLIENT_TRACKING_CACHING;
        if (!((optin && !caching) || (optout && caching))) command_keys(cmd, c->argv, c->argc, remember_key, c);
    }
    if (!top_level) return;
    if (npending) pending_flush(c);
    /* CLIENT CACHING covers the next command; CLIENT commands keep it */
    if (!(c->flags & CLIENT_MULTI) && strncmp(cmd->name, "client|", 7) != 0) c->flags &= ~CLIENT_TRACKING_CACHING;
}

void tracking_before_sleep(void)
{
    for (size_t i = 0; i < nbcast; i++)
        if (bcast[i]->nkeys) bcast_send(bcast[i]);
    long long max = server.tracking_table_max_keys;
    for (int budget = TABLE_EVICTIONS_PER_SLEEP; max > 0 && table && (long long)dict_size(table) > max && budget > 0;
         budget--) {
        dnode *n = dict_random(table);
        if (n == NULL) break;
        char *key = copy_bytes(dnode_key(n), n->klen);
        size_t len = n->klen;
        invalidate_tracked(key, len, 0);
        zfree(key);
    }
}

long long tracking_redirect_id(const client *c)
{
    if (!(c->flags & CLIENT_TRACKING)) return -1;
    return c->tracking ? (long long)c->tracking->redirect : 0;
}

void tracking_counts(long long *keys, long long *items, long long *prefixes, long long *clients)
{
    *keys = table ? (long long)dict_size(table) : 0;
    *items = table_items;
    *prefixes = (long long)nbcast;
    *clients = tracking_clients;
}

/* ---- enabling and disabling ------------------------------------------------------- */

#define TRACKING_MODE_FLAGS (CLIENT_TRACKING | CLIENT_TRACKING_BROKEN_REDIR | CLIENT_TRACKING_BCAST | \
                             CLIENT_TRACKING_OPTIN | CLIENT_TRACKING_OPTOUT | CLIENT_TRACKING_NOLOOP)

static void free_prefixes(client *c)
{
    struct tracking_state *t = c->tracking;
    for (size_t i = 0; i < t->nprefixes; i++) {
        bcast_remove_client(t->prefixes[i], t->prefix_lens[i], c);
        zfree(t->prefixes[i]);
    }
    zfree(t->prefixes);
    zfree(t->prefix_lens);
    t->prefixes = NULL;
    t->prefix_lens = NULL;
    t->nprefixes = 0;
}

static void disable_tracking(client *c)
{
    if (!(c->flags & CLIENT_TRACKING)) return;
    if (c->flags & CLIENT_TRACKING_BCAST) free_prefixes(c);
    c->flags &= ~(TRACKING_MODE_FLAGS | CLIENT_TRACKING_CACHING);
    tracking_clients--;
}

void tracking_client_reset(client *c)
{
    disable_tracking(c);
    if (c->tracking == NULL) return;
    free_prefixes(c);
    zfree(c->tracking);
    c->tracking = NULL;
}

static void add_prefix(client *c, const char *p, size_t len)
{
    struct tracking_state *t = c->tracking;
    for (size_t i = 0; i < t->nprefixes; i++)
        if (t->prefix_lens[i] == len && memcmp(t->prefixes[i], p, len) == 0) return;
    /* kept sorted: TRACKINGINFO lists them in order, as Redis does */
    size_t at = 0;
    while (at < t->nprefixes) {
        size_t min = t->prefix_lens[at] < len ? t->prefix_lens[at] : len;
        int cmp = memcmp(t->prefixes[at], p, min);
        if (cmp > 0 || (cmp == 0 && t->prefix_lens[at] > len)) break;
        at++;
    }
    t->prefixes = zrealloc(t->prefixes, (t->nprefixes + 1) * sizeof(char *));
    t->prefix_lens = zrealloc(t->prefix_lens, (t->nprefixes + 1) * sizeof(size_t));
    memmove(t->prefixes + at + 1, t->prefixes + at, (t->nprefixes - at) * sizeof(char *));
    memmove(t->prefix_lens + at + 1, t->prefix_lens + at, (t->nprefixes - at) * sizeof(size_t));
    t->prefixes[at] = copy_bytes(p, len);
    t->prefix_lens[at] = len;
    t->nprefixes++;
    bcast_add_client(p, len, c);
}

static void enable_tracking(client *c, uint64_t redirect, int options, const arg *prefixes, int nprefixes)
{
    if (!(c->flags & CLIENT_TRACKING)) tracking_clients++;
    if (c->tracking == NULL) c->tracking = zcalloc(sizeof(*c->tracking));
    c->flags &= ~(TRACKING_MODE_FLAGS & ~CLIENT_TRACKING);
    c->flags |= CLIENT_TRACKING;
    c->tracking->redirect = redirect;
    if (options & CLIENT_TRACKING_BCAST) {
        c->flags |= CLIENT_TRACKING_BCAST;
        if (nprefixes == 0) add_prefix(c, "", 0);
        for (int i = 0; i < nprefixes; i++) add_prefix(c, prefixes[i].p, prefixes[i].len);
    }
    c->flags |= options & (CLIENT_TRACKING_OPTIN | CLIENT_TRACKING_OPTOUT | CLIENT_TRACKING_NOLOOP);
}

/* ---- commands ------------------------------------------------------------------------ */

static int overlap(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t min = alen < blen ? alen : blen;
    return memcmp(a, b, min) == 0;
}

/* Prefixes of one client must not overlap, among themselves or with those
 * it has; replies the error and returns 0 when they do. */
static int prefixes_ok(client *c, const arg *p, int n)
{
    for (int i = 0; i < n; i++) {
        int plen = p[i].len > 128 ? 128 : (int)p[i].len;
        for (size_t k = 0; c->tracking && k < c->tracking->nprefixes; k++) {
            if (!overlap(c->tracking->prefixes[k], c->tracking->prefix_lens[k], p[i].p, p[i].len)) continue;
            reply_errorf(c, "ERR Prefix '%.*s' overlaps with an existing prefix '%.*s'. Prefixes for a single "
                         "client must not overlap.", plen, p[i].p, (int)c->tracking->prefix_lens[k],
                         c->tracking->prefixes[k]);
            return 0;
        }
        for (int j = i + 1; j < n; j++) {
            if (!overlap(p[i].p, p[i].len, p[j].p, p[j].len)) continue;
            reply_errorf(c, "ERR Prefix '%.*s' overlaps with another provided prefix '%.*s'. Prefixes for a "
                         "single client must not overlap.", plen, p[i].p, p[j].len > 128 ? 128 : (int)p[j].len,
                         p[j].p);
            return 0;
        }
    }
    return 1;
}

/* Why CLIENT TRACKING ON with these options is refused, or NULL. */
static const char *tracking_on_refusal(const client *c, int options, int nprefixes)
{
    if (!(options & CLIENT_TRACKING_BCAST) && nprefixes)
        return "ERR PREFIX option requires BCAST mode to be enabled";
    if ((c->flags & CLIENT_TRACKING) && !!(c->flags & CLIENT_TRACKING_BCAST) != !!(options & CLIENT_TRACKING_BCAST))
        return "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then "
               "re-enabling it with a different mode.";
    if ((options & CLIENT_TRACKING_BCAST) && (options & (CLIENT_TRACKING_OPTIN | CLIENT_TRACKING_OPTOUT)))
        return "ERR OPTIN and OPTOUT are not compatible with BCAST";
    if ((options & CLIENT_TRACKING_OPTIN) && (options & CLIENT_TRACKING_OPTOUT))
        return "ERR You can't specify both OPTIN mode and OPTOUT mode";
    if (((options & CLIENT_TRACKING_OPTIN) && (c->flags & CLIENT_TRACKING_OPTOUT)) ||
        ((options & CLIENT_TRACKING_OPTOUT) && (c->flags & CLIENT_TRACKING_OPTIN)))
        return "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then "
               "re-enabling it with a different mode.";
    return NULL;
}

/* CLIENT TRACKING on|off [REDIRECT id] [PREFIX p]... [BCAST] [OPTIN] [OPTOUT] [NOLOOP] */
void client_tracking_command(client *c)
{
    uint64_t redirect = 0;
    int options = 0, nprefixes = 0;
    arg *prefixes = zmalloc(sizeof(arg) * (size_t)c->argc);
    for (int j = 3; j < c->argc; j++) {
        const arg *a = &c->argv[j];
        int more = j + 1 < c->argc;
        if (arg_is(a->p, a->len, "redirect") && more) {
            long long id;
            j++;
            if (redirect) {
                reply_error(c, "ERR A client can only redirect to a single other client");
                goto done;
            }
            if (!arg_to_ll(c, &c->argv[j], &id)) goto done;
            if (id <= 0 || client_by_id((uint64_t)id) == NULL) {
                reply_error(c, "ERR The client ID you want redirect to does not exist");
                goto done;
            }
            redirect = (uint64_t)id;
        } else if (arg_is(a->p, a->len, "bcast")) {
            options |= CLIENT_TRACKING_BCAST;
        } else if (arg_is(a->p, a->len, "optin")) {
            options |= CLIENT_TRACKING_OPTIN;
        } else if (arg_is(a->p, a->len, "optout")) {
            options |= CLIENT_TRACKING_OPTOUT;
        } else if (arg_is(a->p, a->len, "noloop")) {
            options |= CLIENT_TRACKING_NOLOOP;
        } else if (arg_is(a->p, a->len, "prefix") && more) {
            prefixes[nprefixes++] = c->argv[++j];
        } else {
            reply_syntax_error(c);
            goto done;
        }
    }
    const arg *mode = &c->argv[2];
    if (arg_is(mode->p, mode->len, "on")) {
        const char *why = tracking_on_refusal(c, options, nprefixes);
        if (why) {
            reply_error(c, why);
            goto done;
        }
        if ((options & CLIENT_TRACKING_BCAST) && !prefixes_ok(c, prefixes, nprefixes)) goto done;
        enable_tracking(c, redirect, options, prefixes, nprefixes);
    } else if (arg_is(mode->p, mode->len, "off")) {
        disable_tracking(c);
    } else {
        reply_syntax_error(c);
        goto done;
    }
    reply_ok(c);
done:
    zfree(prefixes);
}

/* CLIENT CACHING yes|no: whether the next command's keys are tracked
 * (OPTIN: yes tracks them; OPTOUT: no leaves them out). */
void client_caching_command(client *c)
{
    if (!(c->flags & CLIENT_TRACKING)) {
        reply_error(c, "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN "
                       "or OPTOUT mode enabled");
        return;
    }
    const arg *a = &c->argv[2];
    if (arg_is(a->p, a->len, "yes")) {
        if (!(c->flags & CLIENT_TRACKING_OPTIN)) {
            reply_error(c, "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
            return;
        }
    } else if (arg_is(a->p, a->len, "no")) {
        if (!(c->flags & CLIENT_TRACKING_OPTOUT)) {
            reply_error(c, "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
            return;
        }
    } else {
        reply_syntax_error(c);
        return;
    }
    c->flags |= CLIENT_TRACKING_CACHING;
    reply_ok(c);
}

/* TRACKINGINFO's flag names, in Redis's order: NULL-terminated. */
static size_t tracking_flag_names(const client *c, const char *out[8])
{
    size_t n = 0;
    if (!(c->flags & CLIENT_TRACKING)) {
        out[n++] = "off";
        return n;
    }
    int caching = (c->flags & CLIENT_TRACKING_CACHING) != 0;
    out[n++] = "on";
    if (c->flags & CLIENT_TRACKING_BCAST) out[n++] = "bcast";
    if (c->flags & CLIENT_TRACKING_OPTIN) {
        out[n++] = "optin";
        if (caching) out[n++] = "caching-yes";
    }
    if (c->flags & CLIENT_TRACKING_OPTOUT) {
        out[n++] = "optout";
        if (caching) out[n++] = "caching-no";
    }
    if (c->flags & CLIENT_TRACKING_NOLOOP) out[n++] = "noloop";
    if (c->flags & CLIENT_TRACKING_BROKEN_REDIR) out[n++] = "broken_redirect";
    return n;
}

void client_trackinginfo_command(client *c)
{
    const char *flags[8];
    size_t n = tracking_flag_names(c, flags);
    reply_map(c, 3);
    reply_bulk_cstr(c, "flags");
    reply_set(c, (long)n);
    for (size_t i = 0; i < n; i++) reply_bulk_cstr(c, flags[i]);
    reply_bulk_cstr(c, "redirect");
    reply_int(c, tracking_redirect_id(c));
    reply_bulk_cstr(c, "prefixes");
    size_t np = c->tracking ? c->tracking->nprefixes : 0;
    reply_array(c, (long)np);
    for (size_t i = 0; i < np; i++) reply_bulk(c, c->tracking->prefixes[i], c->tracking->prefix_lens[i]);
}

void client_getredir_command(client *c) { reply_int(c, tracking_redirect_id(c)); }
