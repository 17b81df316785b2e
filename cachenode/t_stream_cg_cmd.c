/* t_stream_cg_cmd.c: the consumer-group commands (XGROUP and its
 * subcommands, XACK, XPENDING, XCLAIM, XAUTOCLAIM) and XINFO, with their
 * command table. The groups themselves are t_stream_cg.c; XREADGROUP is in
 * t_stream.c with XREAD.
 *
 * As in Redis 7.0, XCLAIM and XAUTOCLAIM reach replicas as one idempotent
 * XCLAIM ... FORCE JUSTID LASTID per entry they touched, never as
 * themselves (their idle-time tests depend on the primary's clock). */
#include <limits.h>
#include <string.h>

#include "notify.h"
#include "object.h"
#include "server.h"
#include "t_stream.h"

static void reply_subcommand_syntax_error(client *c, const char *container)
{
    int len = c->argv[1].len > 128 ? 128 : (int)c->argv[1].len;
    reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try %s HELP.",
                 len, c->argv[1].p, container);
}

static void reply_nogroup(client *c, const arg *key, const arg *group)
{
    reply_errorf(c, "NOGROUP No such key '%.*s' or consumer group '%.*s'", (int)key->len, key->p,
                 (int)group->len, group->p);
}

/* The stream at argv[1] and its group argv[2] for XACK-style commands:
 * 0 after WRONGTYPE; *g is NULL when either is missing. */
static int lookup_group(client *c, stream **s, stream_cg **g)
{
    *g = NULL;
    if (!stream_lookup_read(c, &c->argv[1], s)) return 0;
    if (*s) *g = stream_cg_find(*s, c->argv[2].p, c->argv[2].len);
    return 1;
}

static struct stream_consumer *consumer_for(client *c, stream_cg *g, const arg *key,
                                            const arg *name)
{
    struct stream_consumer *sc = stream_consumer_find(g, name->p, name->len);
    if (sc == NULL) {
        sc = stream_consumer_create(g, name->p, name->len);
        stream_notify(c, "xgroup-createconsumer", key);
    }
    sc->seen_time = mstime();
    return sc;
}

/* ---- XGROUP --------------------------------------------------------------------------- */

struct xgroup_args {
    stream *s;
    stream_cg *g;
    long long entries_read;
    int mkstream;
};

/* Redis's common part of XGROUP: options, the key and the group, checked
 * in Redis's order. Returns 0 after replying an error. */
static int xgroup_prepare(client *c, int create, int needs_group, struct xgroup_args *a)
{
    memset(a, 0, sizeof(*a));
    a->entries_read = -1;
    for (int i = 5; i < c->argc;) {
        if (create && string_option_is(&c->argv[i], "mkstream")) {
            a->mkstream = 1;
            i++;
        } else if (string_option_is(&c->argv[i], "entriesread") && i + 1 < c->argc) {
            if (!arg_to_ll(c, &c->argv[i + 1], &a->entries_read)) return 0;
            if (a->entries_read < 0 && a->entries_read != -1) {
                reply_error(c, "ERR value for ENTRIESREAD must be positive or -1");
                return 0;
            }
            i += 2;
        } else {
            reply_subcommand_syntax_error(c, "XGROUP");
            return 0;
        }
    }
    if (!stream_lookup_write(c, &c->argv[2], &a->s)) return 0;
    if (a->mkstream) return 1;
    if (a->s == NULL) {
        reply_error(c, "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
        return 0;
    }
    a->g = stream_cg_find(a->s, c->argv[3].p, c->argv[3].len);
    if (a->g == NULL && needs_group) {
        reply_errorf(c, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                     (int)c->argv[3].len, c->argv[3].p, (int)c->argv[2].len, c->argv[2].p);
        return 0;
    }
    return 1;
}

static void xgroup_create_command(client *c)
{
    struct xgroup_args a;
    if (c->argc > 8) {
        reply_subcommand_syntax_error(c, "XGROUP");
        return;
    }
    if (!xgroup_prepare(c, 1, 0, &a)) return;
    stream_id id = {0, 0};
    if (c->argv[4].len == 1 && c->argv[4].p[0] == '$') {
        if (a.s) id = a.s->last_id;
    } else if (!stream_parse_id_or_reply(c, &c->argv[4], &id, 0, 1, NULL)) {
        return;
    }
    if (a.s == NULL) {
        a.s = stream_create();
        db_add_object(c->db, c->argv[2].p, c->argv[2].len, TYPE_STREAM, a.s);
        key_modified(c->db, &c->argv[2]);
    }
    if (stream_cg_create(a.s, c->argv[3].p, c->argv[3].len, &id, a.entries_read) == NULL) {
        reply_error(c, "BUSYGROUP Consumer Group name already exists");
        return;
    }
    stream_changed_unwatched(c, &c->argv[2], 0);
    stream_notify(c, "xgroup-create", &c->argv[2]);
    reply_ok(c);
}

static void xgroup_setid_command(client *c)
{
    struct xgroup_args a;
    if (c->argc != 5 && c->argc != 7) {
        reply_subcommand_syntax_error(c, "XGROUP");
        return;
    }
    if (!xgroup_prepare(c, 0, 1, &a)) return;
    stream_id id;
    if (c->argv[4].len == 1 && c->argv[4].p[0] == '$') id = a.s->last_id;
    else if (!stream_parse_id_or_reply(c, &c->argv[4], &id, 0, 0, NULL)) return;
    a.g->last_id = id;
    a.g->entries_read = a.entries_read;
    stream_changed_unwatched(c, &c->argv[2], 0);
    stream_notify(c, "xgroup-setid", &c->argv[2]);
    reply_ok(c);
}

static void xgroup_destroy_command(client *c)
{
    struct xgroup_args a;
    if (!xgroup_prepare(c, 0, 0, &a)) return;
    if (a.g == NULL) {
        reply_int(c, 0);
        return;
    }
    stream_cg_destroy(a.s, a.g);
    stream_changed_unwatched(c, &c->argv[2], 1); /* blocked XREADGROUPs get -NOGROUP */
    stream_notify(c, "xgroup-destroy", &c->argv[2]);
    reply_int(c, 1);
}

static void xgroup_createconsumer_command(client *c)
{
    struct xgroup_args a;
    if (!xgroup_prepare(c, 0, 1, &a)) return;
    struct stream_consumer *sc = stream_consumer_create(a.g, c->argv[4].p, c->argv[4].len);
    if (sc) {
        stream_changed_unwatched(c, &c->argv[2], 0);
        stream_notify(c, "xgroup-createconsumer", &c->argv[2]);
    }
    reply_int(c, sc != NULL);
}

static void xgroup_delconsumer_command(client *c)
{
    struct xgroup_args a;
    if (!xgroup_prepare(c, 0, 1, &a)) return;
    struct stream_consumer *sc = stream_consumer_find(a.g, c->argv[4].p, c->argv[4].len);
    long long pending = 0;
    if (sc) {
        pending = (long long)stream_consumer_delete(a.g, sc);
        stream_changed_unwatched(c, &c->argv[2], 0);
        stream_notify(c, "xgroup-delconsumer", &c->argv[2]);
    }
    reply_int(c, pending);
}

static void xgroup_help_command(client *c)
{
    static const char *help[] = {
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Prints this help.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

/* ---- XACK ------------------------------------------------------------------------------- */

static void xack_command(client *c)
{
    stream *s;
    stream_cg *g;
    if (!lookup_group(c, &s, &g)) return;
    if (g == NULL) {
        reply_int(c, 0);
        return;
    }
    int n = c->argc - 3;
    stream_id *ids = stream_parse_ids_or_reply(c, 3);
    if (ids == NULL) return;
    long long acked = 0;
    for (int j = 0; j < n; j++) {
        struct stream_nack *nack = pel_find(&g->pel, &ids[j]);
        if (nack == NULL) continue;
        pel_remove(&g->pel, &ids[j]);
        pel_remove(&nack->consumer->pel, &ids[j]);
        zfree(nack);
        acked++;
    }
    zfree(ids);
    if (acked) stream_changed_unwatched(c, &c->argv[1], 0);
    reply_int(c, acked);
}

/* ---- XPENDING ------------------------------------------------------------------------------- */

static void xpending_summary(client *c, const stream_cg *g)
{
    reply_array(c, 4);
    reply_int(c, (long long)g->pel.len);
    if (g->pel.len == 0) {
        reply_null(c);
        reply_null(c);
        reply_null_array(c);
        return;
    }
    reply_stream_id(c, &g->pel.items[0]->id);
    reply_stream_id(c, &g->pel.items[g->pel.len - 1]->id);
    long n = 0;
    for (size_t i = 0; i < g->nconsumers; i++) n += g->consumers[i]->pel.len > 0;
    reply_array(c, n);
    for (size_t i = 0; i < g->nconsumers; i++) {
        const struct stream_consumer *sc = g->consumers[i];
        if (sc->pel.len == 0) continue;
        reply_array(c, 2);
        reply_bulk(c, sc->name, sc->nlen);
        reply_bulk_ll(c, (long long)sc->pel.len);
    }
}

struct pending_query {
    stream_id start, end;
    long long count, minidle;
    const arg *consumer;
};

static void xpending_range(client *c, const stream_cg *g, const struct pending_query *q)
{
    const struct stream_pel *pel = &g->pel;
    if (q->consumer) {
        const struct stream_consumer *sc = stream_consumer_find(g, q->consumer->p, q->consumer->len);
        if (sc == NULL) {
            reply_array(c, 0);
            return;
        }
        pel = &sc->pel;
    }
    long long now = mstime(), count = q->count;
    void *len = reply_deferred(c);
    long n = 0;
    for (size_t i = pel_lower_bound(pel, &q->start); count && i < pel->len; i++) {
        const struct stream_nack *nack = pel->items[i];
        if (stream_id_cmp(&nack->id, &q->end) > 0) break;
        long long idle = now - nack->delivery_time;
        if (q->minidle && idle < q->minidle) continue;
        n++;
        count--;
        reply_array(c, 4);
        reply_stream_id(c, &nack->id);
        reply_bulk(c, nack->consumer->name, nack->consumer->nlen);
        reply_int(c, idle < 0 ? 0 : idle);
        reply_int(c, (long long)nack->delivery_count);
    }
    reply_set_deferred_array(c, len, n);
}

static void xpending_command(client *c)
{
    struct pending_query q = {{0, 0}, {0, 0}, 0, 0, NULL};
    if (c->argc != 3 && (c->argc < 6 || c->argc > 9)) {
        reply_syntax_error(c);
        return;
    }
    if (c->argc >= 6) {
        int at = 3;
        if (string_option_is(&c->argv[3], "idle")) {
            if (!arg_to_ll(c, &c->argv[4], &q.minidle)) return;
            if (c->argc < 8) {
                reply_syntax_error(c);
                return;
            }
            at += 2;
        }
        if (!arg_to_ll(c, &c->argv[at + 2], &q.count)) return;
        if (q.count < 0) q.count = 0;
        if (!stream_parse_bound_or_reply(c, &c->argv[at], &q.start, 1)) return;
        if (!stream_parse_bound_or_reply(c, &c->argv[at + 1], &q.end, 0)) return;
        if (at + 3 < c->argc) q.consumer = &c->argv[at + 3];
    }
    stream *s;
    stream_cg *g;
    if (!lookup_group(c, &s, &g)) return;
    if (g == NULL) {
        reply_nogroup(c, &c->argv[1], &c->argv[2]);
        return;
    }
    if (c->argc == 3) xpending_summary(c, g);
    else xpending_range(c, g, &q);
}

/* ---- XCLAIM XAUTOCLAIM ------------------------------------------------------------------------ */

/* Replies a claimed entry: its ID (JUSTID), the entry, or a null when it
 * no longer exists. */
static void reply_claimed(client *c, stream *s, const stream_id *id, int justid)
{
    struct stream_entry e;
    if (justid) reply_stream_id(c, id);
    else if (stream_lookup(s, id, &e)) reply_stream_entry(c, &e);
    else reply_null(c);
}

/* Drops a pending entry whose stream entry is gone, telling replicas. */
static void drop_nack(client *c, stream_cg *g, struct stream_nack *nack)
{
    stream_propagate_claim(c, &c->argv[1], g, nack);
    pel_remove(&g->pel, &nack->id);
    pel_remove(&nack->consumer->pel, &nack->id);
    zfree(nack);
    server.dirty++;
}

/* Gives a pending entry to the consumer. */
static void take_nack(struct stream_consumer *sc, struct stream_nack *nack)
{
    if (nack->consumer == sc) return;
    if (nack->consumer) pel_remove(&nack->consumer->pel, &nack->id);
    nack->consumer = sc;
    pel_insert(&sc->pel, nack);
}

struct claim_opts {
    long long minidle, retrycount, deliverytime;
    int force, justid;
    stream_id lastid;
};

/* XCLAIM's options after the IDs; 0 after replying an error. */
static int parse_claim_opts(client *c, int j, struct claim_opts *o, long long now)
{
    for (; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        const arg *a = &c->argv[j];
        if (string_option_is(a, "force")) {
            o->force = 1;
        } else if (string_option_is(a, "justid")) {
            o->justid = 1;
        } else if (string_option_is(a, "idle") && more) {
            if (!arg_to_ll_msg(c, &c->argv[++j], &o->deliverytime, "ERR Invalid IDLE option argument for XCLAIM"))
                return 0;
            o->deliverytime = now - o->deliverytime;
        } else if (string_option_is(a, "time") && more) {
            if (!arg_to_ll_msg(c, &c->argv[++j], &o->deliverytime, "ERR Invalid TIME option argument for XCLAIM"))
                return 0;
        } else if (string_option_is(a, "retrycount") && more) {
            if (!arg_to_ll_msg(c, &c->argv[++j], &o->retrycount, "ERR Invalid RETRYCOUNT option argument for XCLAIM"))
                return 0;
        } else if (string_option_is(a, "lastid") && more) {
            if (!stream_parse_id_or_reply(c, &c->argv[++j], &o->lastid, 0, 1, NULL)) return 0;
        } else {
            int len = a->len > 128 ? 128 : (int)a->len;
            reply_errorf(c, "ERR Unrecognized XCLAIM option '%.*s'", len, a->p);
            return 0;
        }
    }
    return 1;
}

static void xclaim_command(client *c)
{
    propagate_prevent();
    stream *s;
    stream_cg *g;
    if (!lookup_group(c, &s, &g)) return;
    if (g == NULL) {
        reply_nogroup(c, &c->argv[1], &c->argv[2]);
        return;
    }
    struct claim_opts o = {0, -1, -1, 0, 0, {0, 0}};
    if (!arg_to_ll_msg(c, &c->argv[4], &o.minidle, "ERR Invalid min-idle-time argument for XCLAIM")) return;
    if (o.minidle < 0) o.minidle = 0;
    int nids = 0;
    stream_id *ids = zmalloc(sizeof(*ids) * (size_t)(c->argc - 5 + 1));
    while (5 + nids < c->argc &&
           stream_id_parse(c->argv[5 + nids].p, c->argv[5 + nids].len, &ids[nids], 0, 1, NULL) == 0)
        nids++;
    long long now = mstime();
    if (!parse_claim_opts(c, 5 + nids, &o, now)) {
        zfree(ids);
        return;
    }
    int propagate_last = 0;
    if (stream_id_cmp(&o.lastid, &g->last_id) > 0) {
        g->last_id = o.lastid;
        propagate_last = 1;
    }
    if (o.deliverytime == -1 || o.deliverytime < 0 || o.deliverytime > now) o.deliverytime = now;
    struct stream_consumer *sc = NULL;
    void *len = reply_deferred(c);
    long n = 0;
    for (int k = 0; k < nids; k++) {
        struct stream_nack *nack = pel_find(&g->pel, &ids[k]);
        if (!stream_has(s, &ids[k])) {
            if (nack) {
                drop_nack(c, g, nack);
                propagate_last = 0;
            }
            continue;
        }
        if (o.force && nack == NULL) {
            nack = stream_nack_new(&ids[k], now, 1, NULL);
            pel_insert(&g->pel, nack);
        }
        if (nack == NULL) continue;
        if (nack->consumer && o.minidle && now - nack->delivery_time < o.minidle) continue;
        if (sc == NULL) sc = consumer_for(c, g, &c->argv[1], &c->argv[3]);
        take_nack(sc, nack);
        nack->delivery_time = o.deliverytime;
        if (o.retrycount >= 0) nack->delivery_count = (uint64_t)o.retrycount;
        else if (!o.justid) nack->delivery_count++;
        reply_claimed(c, s, &ids[k], o.justid);
        n++;
        stream_propagate_claim(c, &c->argv[1], g, nack);
        propagate_last = 0;
        server.dirty++;
    }
    if (propagate_last) {
        stream_propagate_group_id(c, &c->argv[1], g);
        server.dirty++;
    }
    reply_set_deferred_array(c, len, n);
    zfree(ids);
}

#define AUTOCLAIM_ATTEMPTS_FACTOR 10

static int parse_autoclaim(client *c, long long *minidle, stream_id *start, long long *count,
                           int *justid)
{
    if (!arg_to_ll_msg(c, &c->argv[4], minidle, "ERR Invalid min-idle-time argument for XAUTOCLAIM"))
        return 0;
    if (*minidle < 0) *minidle = 0;
    if (!stream_parse_bound_or_reply(c, &c->argv[5], start, 1)) return 0;
    for (int j = 6; j < c->argc; j++) {
        if (string_option_is(&c->argv[j], "count") && j + 1 < c->argc) {
            long long max = LONG_MAX / (long long)sizeof(stream_id);
            if (!string2ll(c->argv[j + 1].p, c->argv[j + 1].len, count) || *count < 1 || *count > max) {
                reply_error(c, "ERR COUNT must be > 0");
                return 0;
            }
            j++;
        } else if (string_option_is(&c->argv[j], "justid")) {
            *justid = 1;
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    return 1;
}

/* XAUTOCLAIM's scan of the PEL from start, done before any change so that
 * the cursor can be replied first: the nacks to claim, those whose entry
 * is gone, and the next ID to scan from (0-0 at the end). */
struct autoclaim_plan {
    struct stream_nack **claim, **drop;
    long nclaim, ndrop;
    stream_id next;
};

static void plan_autoclaim(const stream *s, const stream_cg *g, const stream_id *start,
                           long long minidle, long long count, struct autoclaim_plan *p)
{
    long long attempts = count * AUTOCLAIM_ATTEMPTS_FACTOR, now = mstime();
    size_t i = pel_lower_bound(&g->pel, start);
    size_t room = g->pel.len - i < (size_t)count ? g->pel.len - i : (size_t)count;
    p->claim = zmalloc(sizeof(*p->claim) * (room + 1));
    p->drop = zmalloc(sizeof(*p->drop) * (room + 1));
    p->nclaim = p->ndrop = 0;
    for (; attempts-- && count && i < g->pel.len; i++) {
        struct stream_nack *nack = g->pel.items[i];
        if (!stream_has(s, &nack->id)) {
            p->drop[p->ndrop++] = nack;
            count--;
            continue;
        }
        if (minidle && now - nack->delivery_time < minidle) continue;
        p->claim[p->nclaim++] = nack;
        count--;
    }
    p->next = i < g->pel.len ? g->pel.items[i]->id : (stream_id){0, 0};
}

static void xautoclaim_command(client *c)
{
    propagate_prevent();
    long long minidle, count = 100;
    stream_id start;
    int justid = 0;
    if (!parse_autoclaim(c, &minidle, &start, &count, &justid)) return;
    stream *s;
    stream_cg *g;
    if (!lookup_group(c, &s, &g)) return;
    if (g == NULL) {
        reply_nogroup(c, &c->argv[1], &c->argv[2]);
        return;
    }
    struct autoclaim_plan p;
    plan_autoclaim(s, g, &start, minidle, count, &p);
    reply_array(c, 3);
    reply_stream_id(c, &p.next);
    reply_array(c, p.nclaim);
    struct stream_consumer *sc = NULL;
    long long now = mstime();
    for (long k = 0; k < p.nclaim; k++) {
        struct stream_nack *nack = p.claim[k];
        if (sc == NULL) sc = consumer_for(c, g, &c->argv[1], &c->argv[3]);
        take_nack(sc, nack);
        nack->delivery_time = now;
        if (!justid) nack->delivery_count++;
        reply_claimed(c, s, &nack->id, justid);
        stream_propagate_claim(c, &c->argv[1], g, nack);
        server.dirty++;
    }
    reply_array(c, p.ndrop);
    for (long k = 0; k < p.ndrop; k++) {
        reply_stream_id(c, &p.drop[k]->id);
        drop_nack(c, g, p.drop[k]);
    }
    zfree(p.claim);
    zfree(p.drop);
}

/* ---- XINFO ------------------------------------------------------------------------------- */

/* The stream at argv[2] for XINFO; NULL after replying an error. */
static stream *xinfo_stream(client *c)
{
    entry *e = lookup_read(c, &c->argv[2]);
    if (e == NULL) {
        reply_error(c, "ERR no such key");
        return NULL;
    }
    if (e->type != TYPE_STREAM) {
        reply_wrongtype(c);
        return NULL;
    }
    return entry_object(e);
}

static void reply_lag(client *c, const stream *s, const stream_cg *g)
{
    long long lag;
    if (stream_cg_lag(s, g, &lag)) reply_int(c, lag);
    else reply_null(c);
}

static void reply_entries_read(client *c, const stream_cg *g)
{
    if (g->entries_read == -1) reply_null(c);
    else reply_int(c, g->entries_read);
}

static void xinfo_consumers_command(client *c)
{
    stream *s = xinfo_stream(c);
    if (s == NULL) return;
    stream_cg *g = stream_cg_find(s, c->argv[3].p, c->argv[3].len);
    if (g == NULL) {
        reply_errorf(c, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                     (int)c->argv[3].len, c->argv[3].p, (int)c->argv[2].len, c->argv[2].p);
        return;
    }
    long long now = mstime();
    reply_array(c, (long)g->nconsumers);
    for (size_t i = 0; i < g->nconsumers; i++) {
        const struct stream_consumer *sc = g->consumers[i];
        long long idle = now - sc->seen_time;
        reply_map(c, 3);
        reply_bulk_cstr(c, "name");
        reply_bulk(c, sc->name, sc->nlen);
        reply_bulk_cstr(c, "pending");
        reply_int(c, (long long)sc->pel.len);
        reply_bulk_cstr(c, "idle");
        reply_int(c, idle < 0 ? 0 : idle);
    }
}

static void xinfo_groups_command(client *c)
{
    stream *s = xinfo_stream(c);
    if (s == NULL) return;
    reply_array(c, (long)s->ngroups);
    for (size_t i = 0; i < s->ngroups; i++) {
        const stream_cg *g = s->groups[i];
        reply_map(c, 6);
        reply_bulk_cstr(c, "name");
        reply_bulk(c, g->name, g->nlen);
        reply_bulk_cstr(c, "consumers");
        reply_int(c, (long long)g->nconsumers);
        reply_bulk_cstr(c, "pending");
        reply_int(c, (long long)g->pel.len);
        reply_bulk_cstr(c, "last-delivered-id");
        reply_stream_id(c, &g->last_id);
        reply_bulk_cstr(c, "entries-read");
        reply_entries_read(c, g);
        reply_bulk_cstr(c, "lag");
        reply_lag(c, s, g);
    }
}

/* The first or last entry, or a null. */
static void reply_edge_entry(client *c, stream *s, int last)
{
    stream_iter it;
    struct stream_entry e;
    stream_id lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    stream_iter_init(&it, s, &lo, &hi, last);
    if (stream_iter_next(&it, &e)) reply_stream_entry(c, &e);
    else reply_null(c);
}

static void reply_full_pel(client *c, const struct stream_pel *pel, long long count, int with_consumer)
{
    size_t n = pel->len;
    if (count > 0 && (size_t)count < n) n = (size_t)count;
    reply_array(c, (long)n);
    for (size_t i = 0; i < n; i++) {
        const struct stream_nack *nack = pel->items[i];
        reply_array(c, with_consumer ? 4 : 3);
        reply_stream_id(c, &nack->id);
        if (with_consumer) reply_bulk(c, nack->consumer->name, nack->consumer->nlen);
        reply_int(c, nack->delivery_time);
        reply_int(c, (long long)nack->delivery_count);
    }
}

static void reply_full_groups(client *c, const stream *s, long long count)
{
    reply_array(c, (long)s->ngroups);
    for (size_t i = 0; i < s->ngroups; i++) {
        const stream_cg *g = s->groups[i];
        reply_map(c, 7);
        reply_bulk_cstr(c, "name");
        reply_bulk(c, g->name, g->nlen);
        reply_bulk_cstr(c, "last-delivered-id");
        reply_stream_id(c, &g->last_id);
        reply_bulk_cstr(c, "entries-read");
        reply_entries_read(c, g);
        reply_bulk_cstr(c, "lag");
        reply_lag(c, s, g);
        reply_bulk_cstr(c, "pel-count");
        reply_int(c, (long long)g->pel.len);
        reply_bulk_cstr(c, "pending");
        reply_full_pel(c, &g->pel, count, 1);
        reply_bulk_cstr(c, "consumers");
        reply_array(c, (long)g->nconsumers);
        for (size_t j = 0; j < g->nconsumers; j++) {
            const struct stream_consumer *sc = g->consumers[j];
            reply_map(c, 4);
            reply_bulk_cstr(c, "name");
            reply_bulk(c, sc->name, sc->nlen);
            reply_bulk_cstr(c, "seen-time");
            reply_int(c, sc->seen_time);
            reply_bulk_cstr(c, "pel-count");
            reply_int(c, (long long)sc->pel.len);
            reply_bulk_cstr(c, "pending");
            reply_full_pel(c, &sc->pel, count, 0);
        }
    }
}

static void xinfo_stream_command(client *c)
{
    stream *s = xinfo_stream(c);
    if (s == NULL) return;
    int full = c->argc > 3;
    long long count = 10;
    if (full) {
        if (!string_option_is(&c->argv[3], "full")) {
            reply_subcommand_syntax_error(c, "XINFO");
            return;
        }
        if (c->argc == 6 && string_option_is(&c->argv[4], "count")) {
            if (!arg_to_ll(c, &c->argv[5], &count)) return;
            if (count < 0) count = 10;
        } else if (c->argc > 4) {
            reply_subcommand_syntax_error(c, "XINFO");
            return;
        }
    }
    reply_map(c, full ? 9 : 10);
    reply_bulk_cstr(c, "length");
    reply_int(c, (long long)s->length);
    /* our blocks stand in for Redis's radix tree of listpacks */
    reply_bulk_cstr(c, "radix-tree-keys");
    reply_int(c, (long long)s->nblocks);
    reply_bulk_cstr(c, "radix-tree-nodes");
    reply_int(c, (long long)s->nblocks + 1);
    reply_bulk_cstr(c, "last-generated-id");
    reply_stream_id(c, &s->last_id);
    reply_bulk_cstr(c, "max-deleted-entry-id");
    reply_stream_id(c, &s->max_deleted_id);
    reply_bulk_cstr(c, "entries-added");
    reply_int(c, (long long)s->entries_added);
    reply_bulk_cstr(c, "recorded-first-entry-id");
    reply_stream_id(c, &s->first_id);
    if (!full) {
        reply_bulk_cstr(c, "groups");
        reply_int(c, (long long)s->ngroups);
        reply_bulk_cstr(c, "first-entry");
        reply_edge_entry(c, s, 0);
        reply_bulk_cstr(c, "last-entry");
        reply_edge_entry(c, s, 1);
        return;
    }
    reply_bulk_cstr(c, "entries");
    stream_id lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    stream_reply_range(c, s, &lo, &hi, count, 0, NULL, NULL);
    reply_bulk_cstr(c, "groups");
    reply_full_groups(c, s, count);
}

static void xinfo_help_command(client *c)
{
    static const char *help[] = {
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Prints this help.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

/* ---- the table ------------------------------------------------------------------------------- */

/* XGROUP and XINFO are containers: commands.c runs the subcommand argv[1]
 * names, so the container's own proc only sees unknown ones. */
static void stream_container_command(client *c)
{
    int len = c->argv[1].len > 128 ? 128 : (int)c->argv[1].len;
    reply_errorf(c, "ERR unknown subcommand '%.*s'. Try %s HELP.", len, c->argv[1].p,
                 c->argv[0].len == 5 ? "XINFO" : "XGROUP");
}

#define CMD_END {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0}

static struct command xgroup_subcommands[] = {
    {"xgroup|create", xgroup_create_command, -5, CMD_WRITE | CMD_DENYOOM, ACL_STREAM, 2, 2, 1, "RW insert @2", NULL, "stream", "Create a consumer group.", "5.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"xgroup|createconsumer", xgroup_createconsumer_command, 5, CMD_WRITE | CMD_DENYOOM, ACL_STREAM, 2, 2, 1, "RW insert @2", NULL, "stream", "Create a consumer in a consumer group.", "6.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"xgroup|delconsumer", xgroup_delconsumer_command, 5, CMD_WRITE, ACL_STREAM, 2, 2, 1, "RW delete @2", NULL, "stream", "Delete a consumer from a consumer group.", "5.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"xgroup|destroy", xgroup_destroy_command, 4, CMD_WRITE, ACL_STREAM, 2, 2, 1, "RW delete @2", NULL, "stream", "Destroy a consumer group.", "5.0.0", "O(N) where N is the number of entries in the group's pending entries list (PEL).", NULL, 0, 0, 0, 0},
    {"xgroup|help", xgroup_help_command, 2, CMD_LOADING | CMD_STALE, ACL_STREAM, 0, 0, 0, NULL, NULL, "stream", "Show helpful text about the different subcommands", "5.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"xgroup|setid", xgroup_setid_command, -5, CMD_WRITE, ACL_STREAM, 2, 2, 1, "RW update @2", NULL, "stream", "Set a consumer group to an arbitrary last delivered ID value.", "5.0.0", "O(1)", NULL, 0, 0, 0, 0},
    CMD_END,
};

static struct command xinfo_subcommands[] = {
    {"xinfo|consumers", xinfo_consumers_command, 4, CMD_READONLY, ACL_STREAM, 2, 2, 1, "RO access @2", "nondeterministic_output", "stream", "List the consumers in a consumer group", "5.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"xinfo|groups", xinfo_groups_command, 3, CMD_READONLY, ACL_STREAM, 2, 2, 1, "RO access @2", NULL, "stream", "List the consumer groups of a stream", "5.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"xinfo|help", xinfo_help_command, 2, CMD_LOADING | CMD_STALE, ACL_STREAM, 0, 0, 0, NULL, NULL, "stream", "Show helpful text about the different subcommands", "5.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"xinfo|stream", xinfo_stream_command, -3, CMD_READONLY, ACL_STREAM, 2, 2, 1, "RO access @2", NULL, "stream", "Get information about a stream", "5.0.0", "O(1)", NULL, 0, 0, 0, 0},
    CMD_END,
};

struct command stream_cg_commands[] = {
    {"xgroup", stream_container_command, -2, 0, 0, 0, 0, 0, NULL, NULL, "stream", "A container for consumer groups commands", "5.0.0", "Depends on subcommand.", xgroup_subcommands, 0, 0, 0, 0},
    {"xinfo", stream_container_command, -2, 0, 0, 0, 0, 0, NULL, NULL, "stream", "A container for stream introspection commands", "5.0.0", "Depends on subcommand.", xinfo_subcommands, 0, 0, 0, 0},
    {"xack", xack_command, -4, CMD_WRITE | CMD_FAST, ACL_STREAM, 1, 1, 1, "RW update", NULL, "stream", "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.", "5.0.0", "O(1) for each message ID processed.", NULL, 0, 0, 0, 0},
    {"xpending", xpending_command, -3, CMD_READONLY, ACL_STREAM, 1, 1, 1, "RO access", "nondeterministic_output", "stream", "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.", "5.0.0", "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.", NULL, 0, 0, 0, 0},
    {"xclaim", xclaim_command, -6, CMD_WRITE | CMD_FAST, ACL_STREAM, 1, 1, 1, "RW update", "nondeterministic_output", "stream", "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.", "5.0.0", "O(log N) with N being the number of messages in the PEL of the consumer group.", NULL, 0, 0, 0, 0},
    {"xautoclaim", xautoclaim_command, -6, CMD_WRITE | CMD_FAST, ACL_STREAM, 1, 1, 1, "RW delete", "nondeterministic_output", "stream", "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.", "6.2.0", "O(1) if COUNT is small.", NULL, 0, 0, 0, 0},
    CMD_END,
};
