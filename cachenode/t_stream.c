/* t_stream.c: the stream commands on entries (XADD XRANGE XREVRANGE XLEN
 * XDEL XTRIM XREAD XREADGROUP XSETID), their command table, the helpers
 * the group commands share, and the stream's object type. The storage is
 * t_stream_enc.c; consumer groups are t_stream_cg.c and their commands
 * t_stream_cg_cmd.c.
 *
 * Replies, error texts and the order in which arguments are checked follow
 * Redis 7.0. Commands whose effect depends on the server (an ID generated
 * from the clock, an approximate trim) propagate what they did, so that a
 * replica ends up with the same entries. */
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "notify.h"
#include "object.h"
#include "server.h"
#include "t_stream.h"

/* ---- shared helpers (t_stream.h) ------------------------------------------------------ */

void reply_stream_id(client *c, const stream_id *id)
{
    char buf[STREAM_ID_STR_MAX];
    reply_bulk(c, buf, stream_id_format(buf, id));
}

static void reply_field(void *priv, const char *f, size_t flen, const char *v, size_t vlen)
{
    reply_bulk(priv, f, flen);
    reply_bulk(priv, v, vlen);
}

void reply_stream_entry(client *c, const struct stream_entry *e)
{
    reply_array(c, 2);
    reply_stream_id(c, &e->id);
    reply_array(c, (long)e->nfields * 2);
    stream_entry_fields(e, reply_field, c);
}

int stream_parse_id_or_reply(client *c, const arg *a, stream_id *id, uint64_t missing_seq,
                             int strict, int *seq_given)
{
    if (stream_id_parse(a->p, a->len, id, missing_seq, strict, seq_given) == 0) return 1;
    reply_error(c, "ERR Invalid stream ID specified as stream command argument");
    return 0;
}

stream_id *stream_parse_ids_or_reply(client *c, int first)
{
    stream_id *ids = zmalloc(sizeof(*ids) * (size_t)(c->argc - first));
    for (int j = first; j < c->argc; j++) {
        if (!stream_parse_id_or_reply(c, &c->argv[j], &ids[j - first], 0, 1, NULL)) {
            zfree(ids);
            return NULL;
        }
    }
    return ids;
}

void stream_changed_unwatched(client *c, const arg *key, int wake)
{
    server.dirty++;
    if (wake && blocking_keys_count() > 0) blocking_key_modified(c->db, key);
}

void stream_notify(client *c, const char *event, const arg *key)
{
    notify_keyspace_event(NOTIFY_STREAM, event, key->p, key->len, c->dbid);
}

int stream_lookup_read(client *c, const arg *key, stream **s)
{
    entry *e;
    if (!lookup_read_typed(c, key, TYPE_STREAM, &e)) return 0;
    *s = e ? entry_object(e) : NULL;
    return 1;
}

int stream_lookup_write(client *c, const arg *key, stream **s)
{
    entry *e;
    if (!lookup_write_typed(c, key, TYPE_STREAM, &e)) return 0;
    *s = e ? entry_object(e) : NULL;
    return 1;
}

long stream_reply_range(client *c, stream *s, const stream_id *start, const stream_id *end,
                        long long count, int rev, stream_entry_hook hook, void *priv)
{
    void *len = reply_deferred(c);
    stream_iter it;
    struct stream_entry e;
    long n = 0;
    stream_iter_init(&it, s, start, end, rev);
    while ((count == 0 || n < count) && stream_iter_next(&it, &e)) {
        if (hook) hook(priv, &e.id);
        reply_stream_entry(c, &e);
        n++;
    }
    reply_set_deferred_array(c, len, n);
    return n;
}

/* ---- XADD and XTRIM arguments -------------------------------------------------------- */

struct add_args {
    struct stream_trim_args trim;
    int trim_arg;  /* argv index of the MAXLEN/MINID value */
    int id_given, seq_given, nomkstream;
    stream_id id;
    int id_arg;    /* argv index of the ID ("*" included) */
};

static int parse_trim_value(client *c, int i, struct add_args *a, int maxlen)
{
    if (maxlen) {
        if (!arg_to_ll(c, &c->argv[i], &a->trim.maxlen)) return 0;
        if (a->trim.maxlen < 0) {
            reply_error(c, "ERR The MAXLEN argument must be >= 0.");
            return 0;
        }
        return 1;
    }
    return stream_parse_id_or_reply(c, &c->argv[i], &a->trim.minid, 0, 1, NULL);
}

static int is_word(const arg *a, char ch) { return a->len == 1 && a->p[0] == ch; }

/* Redis's streamParseAddOrTrimArgsOrReply: returns the index of the last
 * argument parsed (XADD: the ID), or -1 after replying an error. */
static int parse_add_or_trim(client *c, struct add_args *a, int xadd)
{
    int i, limit_given = 0;
    memset(a, 0, sizeof(*a));
    for (i = 2; i < c->argc; i++) {
        int more = c->argc - 1 - i;
        const arg *o = &c->argv[i];
        if (xadd && is_word(o, '*')) {
            a->id_arg = i;
            break;
        } else if ((string_option_is(o, "maxlen") || string_option_is(o, "minid")) && more) {
            int maxlen = string_option_is(o, "maxlen");
            if (a->trim.strategy != TRIM_NONE) {
                reply_error(c, "ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
                return -1;
            }
            a->trim.approx = 0;
            if (more >= 2 && is_word(&c->argv[i + 1], '~')) {
                a->trim.approx = 1;
                i++;
            } else if (more >= 2 && is_word(&c->argv[i + 1], '=')) {
                i++;
            }
            if (!parse_trim_value(c, i + 1, a, maxlen)) return -1;
            i++;
            a->trim.strategy = maxlen ? TRIM_MAXLEN : TRIM_MINID;
            a->trim_arg = i;
        } else if (string_option_is(o, "limit") && more) {
            if (!arg_to_ll(c, &c->argv[i + 1], &a->trim.limit)) return -1;
            if (a->trim.limit < 0) {
                reply_error(c, "ERR The LIMIT argument must be >= 0.");
                return -1;
            }
            limit_given = 1;
            i++;
        } else if (xadd && string_option_is(o, "nomkstream")) {
            a->nomkstream = 1;
        } else if (xadd) {
            if (!stream_parse_id_or_reply(c, o, &a->id, 0, 1, &a->seq_given)) return -1;
            a->id_given = 1;
            a->id_arg = i;
            break;
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }
    if (a->trim.limit && a->trim.strategy == TRIM_NONE) {
        reply_error(c, "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return -1;
    }
    if (!xadd && a->trim.strategy == TRIM_NONE) {
        reply_error(c, "ERR syntax error, XTRIM must be called with a trimming strategy");
        return -1;
    }
    if (c->flags & CLIENT_MASTER) {
        a->trim.limit = 0; /* the primary rewrote the trim to what it did */
    } else if (limit_given) {
        if (!a->trim.approx) {
            reply_error(c, "ERR syntax error, LIMIT cannot be used without the special ~ option");
            return -1;
        }
    } else {
        a->trim.limit = a->trim.approx ? 100 * STREAM_BLOCK_MAX_ENTRIES : 0;
    }
    return i;
}

/* Propagates the command with the ID it generated and an approximate trim
 * made exact ("=" and the length or first ID it reached). */
static void propagate_rewritten(client *c, const struct add_args *a, stream *s, const stream_id *id)
{
    arg *argv = zmalloc(sizeof(arg) * (size_t)c->argc);
    memcpy(argv, c->argv, sizeof(arg) * (size_t)c->argc);
    char idbuf[STREAM_ID_STR_MAX], trimbuf[STREAM_ID_STR_MAX];
    if (id) {
        argv[a->id_arg].p = idbuf;
        argv[a->id_arg].len = stream_id_format(idbuf, id);
    }
    if (a->trim.approx) {
        argv[a->trim_arg - 1].p = "=";
        argv[a->trim_arg - 1].len = 1;
        argv[a->trim_arg].p = trimbuf;
        argv[a->trim_arg].len = a->trim.strategy == TRIM_MAXLEN
                                    ? ull2str(trimbuf, sizeof(trimbuf), s->length)
                                    : stream_id_format(trimbuf, &s->first_id);
    }
    propagate_command(c, c->argc, argv);
    zfree(argv);
}

/* ---- XADD ------------------------------------------------------------------------------ */

/* XADD hands its arguments to stream_append as fields. */
_Static_assert(sizeof(arg) == sizeof(struct stream_field) &&
                   offsetof(arg, len) == offsetof(struct stream_field, len),
               "arg and stream_field share their layout");

/* Whether the entry would pass the size a block may have (Redis refuses
 * one past its listpack limit of 1 GB with the same error). */
static int entry_too_large(const client *c, int field_pos)
{
    size_t total = 0;
    for (int j = field_pos; j < c->argc; j++) total += c->argv[j].len + 10;
    return total >= STREAM_ENTRY_MAX_BYTES;
}

/* The ID XADD uses; -1 when it would not be above the top item, -2 when
 * "ms-*" finds no sequence number left (Redis's ERANGE). */
static int next_add_id(const stream *s, const struct add_args *a, stream_id *id)
{
    if (!a->id_given) {
        uint64_t ms = (uint64_t)mstime();
        if (ms > s->last_id.ms) {
            id->ms = ms;
            id->seq = 0;
        } else {
            *id = s->last_id;
            if (stream_id_incr(id)) return -1;
        }
        return 0;
    }
    *id = a->id;
    if (!a->seq_given && s->last_id.ms == a->id.ms) {
        if (s->last_id.seq == UINT64_MAX) return -2;
        id->seq = s->last_id.seq + 1;
    }
    return stream_id_cmp(id, &s->last_id) > 0 ? 0 : -1;
}

static void xadd_command(client *c)
{
    struct add_args a;
    int i = parse_add_or_trim(c, &a, 1);
    if (i < 0) return;
    int field_pos = i + 1;
    if (c->argc - field_pos < 2 || (c->argc - field_pos) % 2 == 1) {
        reply_arity_error(c);
        return;
    }
    if (a.id_given && a.seq_given && a.id.ms == 0 && a.id.seq == 0) {
        reply_error(c, "ERR The ID specified in XADD must be greater than 0-0");
        return;
    }
    entry *e;
    if (!lookup_write_typed(c, &c->argv[1], TYPE_STREAM, &e)) return;
    if (e == NULL && a.nomkstream) {
        reply_null(c);
        return;
    }
    stream *s = e ? entry_object(e) : NULL;
    if (s && s->last_id.ms == UINT64_MAX && s->last_id.seq == UINT64_MAX) {
        reply_error(c, "ERR The stream has exhausted the last possible ID, unable to add more items");
        return;
    }
    stream_id id;
    stream *probe = s ? s : &(stream){0};
    int rc = entry_too_large(c, field_pos) ? -2 : next_add_id(probe, &a, &id);
    if (rc != 0) {
        reply_error(c, rc == -2 ? "ERR Elements are too large to be stored"
                                : "ERR The ID specified in XADD is equal or smaller than the target stream top item");
        return;
    }
    if (s == NULL) {
        s = stream_create();
        db_add_object(c->db, c->argv[1].p, c->argv[1].len, TYPE_STREAM, s);
    }
    stream_append(s, &id, (const struct stream_field *)(c->argv + field_pos),
                  (size_t)(c->argc - field_pos));
    reply_stream_id(c, &id);
    key_modified(c->db, &c->argv[1]);
    stream_notify(c, "xadd", &c->argv[1]);
    if (a.trim.strategy != TRIM_NONE && stream_trim(s, &a.trim) > 0)
        stream_notify(c, "xtrim", &c->argv[1]);
    if (!a.id_given || !a.seq_given || a.trim.approx)
        propagate_rewritten(c, &a, s, !a.id_given || !a.seq_given ? &id : NULL);
}

/* ---- XTRIM XDEL XLEN XSETID ------------------------------------------------------------------ */

static void xtrim_command(client *c)
{
    struct add_args a;
    if (parse_add_or_trim(c, &a, 0) < 0) return;
    stream *s;
    if (!stream_lookup_write(c, &c->argv[1], &s)) return;
    if (s == NULL) {
        reply_int(c, 0);
        return;
    }
    long long removed = stream_trim(s, &a.trim);
    if (removed) {
        key_modified(c->db, &c->argv[1]);
        stream_notify(c, "xtrim", &c->argv[1]);
        if (a.trim.approx) propagate_rewritten(c, &a, s, NULL);
    }
    reply_int(c, removed);
}

static void xdel_command(client *c)
{
    stream *s;
    if (!stream_lookup_write(c, &c->argv[1], &s)) return;
    if (s == NULL) {
        reply_int(c, 0);
        return;
    }
    int n = c->argc - 2;
    stream_id *ids = stream_parse_ids_or_reply(c, 2);
    if (ids == NULL) return;
    long long deleted = 0;
    for (int j = 0; j < n; j++) {
        if (!stream_delete(s, &ids[j])) continue;
        if (stream_id_cmp(&ids[j], &s->max_deleted_id) > 0) s->max_deleted_id = ids[j];
        deleted++;
    }
    zfree(ids);
    if (deleted) {
        key_modified(c->db, &c->argv[1]);
        stream_notify(c, "xdel", &c->argv[1]);
    }
    reply_int(c, deleted);
}

static void xlen_command(client *c)
{
    stream *s;
    if (!stream_lookup_read(c, &c->argv[1], &s)) return;
    reply_int(c, s ? (long long)s->length : 0);
}

static void xsetid_command(client *c)
{
    stream_id id, max_del = {0, 0};
    long long added = -1;
    if (!stream_parse_id_or_reply(c, &c->argv[2], &id, 0, 1, NULL)) return;
    for (int i = 3; i < c->argc; i += 2) {
        int more = c->argc - 1 - i;
        if (string_option_is(&c->argv[i], "entriesadded") && more) {
            if (!arg_to_ll(c, &c->argv[i + 1], &added)) return;
            if (added < 0) {
                reply_error(c, "ERR entries_added must be positive");
                return;
            }
        } else if (string_option_is(&c->argv[i], "maxdeletedid") && more) {
            if (!stream_parse_id_or_reply(c, &c->argv[i + 1], &max_del, 0, 1, NULL)) return;
            if (stream_id_cmp(&id, &max_del) < 0) {
                reply_error(c, "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    entry *e = lookup_write(c, &c->argv[1]);
    if (e == NULL) {
        reply_error(c, "ERR no such key");
        return;
    }
    if (e->type != TYPE_STREAM) {
        reply_wrongtype(c);
        return;
    }
    stream *s = entry_object(e);
    if (s->length > 0) {
        stream_id top;
        stream_last_live_id(s, &top);
        if (stream_id_cmp(&id, &top) < 0) {
            reply_error(c, "ERR The ID specified in XSETID is smaller than the target stream top item");
            return;
        }
        if (added != -1 && s->length > (uint64_t)added) {
            reply_error(c, "ERR The entries_added specified in XSETID is smaller than the target stream length");
            return;
        }
    }
    s->last_id = id;
    if (added != -1) s->entries_added = (uint64_t)added;
    if (max_del.ms || max_del.seq) s->max_deleted_id = max_del;
    stream_changed_unwatched(c, &c->argv[1], 0);
    stream_notify(c, "xsetid", &c->argv[1]);
    reply_ok(c);
}

/* ---- XRANGE XREVRANGE ------------------------------------------------------------------------ */

int stream_parse_bound_or_reply(client *c, const arg *a, stream_id *id, int is_start)
{
    int ex = a->len > 1 && a->p[0] == '(';
    arg rest = ex ? (arg){a->p + 1, a->len - 1} : *a;
    if (!stream_parse_id_or_reply(c, &rest, id, is_start ? 0 : UINT64_MAX, ex, NULL)) return 0;
    if (!ex) return 1;
    if (is_start ? stream_id_incr(id) == 0 : stream_id_decr(id) == 0) return 1;
    reply_error(c, is_start ? "ERR invalid start ID for the interval" : "ERR invalid end ID for the interval");
    return 0;
}

static void xrange_generic(client *c, int rev)
{
    stream_id start, end;
    long long count = -1;
    if (!stream_parse_bound_or_reply(c, &c->argv[rev ? 3 : 2], &start, 1)) return;
    if (!stream_parse_bound_or_reply(c, &c->argv[rev ? 2 : 3], &end, 0)) return;
    for (int j = 4; j < c->argc; j++) {
        if (string_option_is(&c->argv[j], "count") && j + 1 < c->argc) {
            if (!arg_to_ll(c, &c->argv[j + 1], &count)) return;
            if (count < 0) count = 0;
            j++;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    stream *s;
    if (!stream_lookup_read(c, &c->argv[1], &s)) return;
    if (s == NULL) reply_array(c, 0);
    else if (count == 0) reply_null_array(c);
    else stream_reply_range(c, s, &start, &end, count == -1 ? 0 : count, rev, NULL, NULL);
}

static void xrange_command(client *c) { xrange_generic(c, 0); }
static void xrevrange_command(client *c) { xrange_generic(c, 1); }

/* ---- XREAD XREADGROUP ------------------------------------------------------------------------ */

struct read_args {
    long long deadline_ms; /* -1: no BLOCK */
    long long count;
    int streams_arg, nstreams;
    int noack;
    const arg *group, *consumer;
};

static int parse_block(client *c, const arg *a, long long *deadline)
{
    long long ms;
    if (!arg_to_ll_msg(c, a, &ms, "ERR timeout is not an integer or out of range")) return 0;
    if (ms < 0) {
        reply_error(c, "ERR timeout is negative");
        return 0;
    }
    if (ms > 0 && ms > LLONG_MAX - server.now_ms) {
        reply_error(c, "ERR timeout is out of range");
        return 0;
    }
    *deadline = ms > 0 ? server.now_ms + ms : 0;
    return 1;
}

static int parse_read_args(client *c, int group, struct read_args *r)
{
    memset(r, 0, sizeof(*r));
    r->deadline_ms = -1;
    for (int i = 1; i < c->argc; i++) {
        int more = c->argc - i - 1;
        const arg *o = &c->argv[i];
        if (string_option_is(o, "block") && more) {
            if (c->flags & CLIENT_SCRIPT) {
                reply_errorf(c, "ERR %s command is not allowed with BLOCK option from scripts",
                             group ? "xreadgroup" : "xread");
                return 0;
            }
            if (!parse_block(c, &c->argv[++i], &r->deadline_ms)) return 0;
        } else if (string_option_is(o, "count") && more) {
            if (!arg_to_ll(c, &c->argv[++i], &r->count)) return 0;
            if (r->count < 0) r->count = 0;
        } else if (string_option_is(o, "streams") && more) {
            r->streams_arg = i + 1;
            r->nstreams = c->argc - r->streams_arg;
            if (r->nstreams % 2 != 0) {
                reply_errorf(c, "ERR Unbalanced %s list of streams: for each stream key an ID or '%c' must be specified.",
                             group ? "XREADGROUP" : "XREAD", group ? '>' : '$');
                return 0;
            }
            r->nstreams /= 2;
            break;
        } else if (string_option_is(o, "group") && more >= 2) {
            if (!group) {
                reply_error(c, "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return 0;
            }
            r->group = &c->argv[i + 1];
            r->consumer = &c->argv[i + 2];
            i += 2;
        } else if (string_option_is(o, "noack")) {
            if (!group) {
                reply_error(c, "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return 0;
            }
            r->noack = 1;
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    if (r->streams_arg == 0) {
        reply_syntax_error(c);
        return 0;
    }
    if (group && r->group == NULL) {
        reply_error(c, "ERR Missing GROUP option for XREADGROUP");
        return 0;
    }
    return 1;
}

#define ID_NEW_FOR_GROUP UINT64_MAX /* ">": ms and seq both at the maximum */

/* Resolves each stream's ID (and group): returns 0 after replying an error. */
static int resolve_read_ids(client *c, const struct read_args *r, stream_id *ids, stream_cg **groups)
{
    for (int k = 0; k < r->nstreams; k++) {
        const arg *key = &c->argv[r->streams_arg + k], *idarg = &c->argv[r->streams_arg + r->nstreams + k];
        entry *e = lookup_quiet(c, c->db, key);
        if (e && e->type != TYPE_STREAM) {
            reply_wrongtype(c);
            return 0;
        }
        stream *s = e ? entry_object(e) : NULL;
        if (r->group) {
            groups[k] = s ? stream_cg_find(s, r->group->p, r->group->len) : NULL;
            if (groups[k] == NULL && blocking_client_waits_on_keys(c)) {
                /* run again after XGROUP DESTROY or the key's deletion */
                reply_error(c, "NOGROUP the consumer group this client was blocked on no longer exists");
                return 0;
            }
            if (groups[k] == NULL) {
                reply_errorf(c, "NOGROUP No such key '%.*s' or consumer group '%.*s' in XREADGROUP with GROUP option",
                             (int)key->len, key->p, (int)r->group->len, r->group->p);
                return 0;
            }
        }
        if (is_word(idarg, '$')) {
            if (r->group) {
                reply_error(c, "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
                return 0;
            }
            ids[k] = s ? s->last_id : (stream_id){0, 0};
        } else if (is_word(idarg, '>')) {
            if (!r->group) {
                reply_error(c, "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
                return 0;
            }
            ids[k].ms = ids[k].seq = ID_NEW_FOR_GROUP;
        } else if (!stream_parse_id_or_reply(c, idarg, &ids[k], 0, 1, NULL)) {
            return 0;
        }
    }
    return 1;
}

/* Whether the stream has a live entry after `after`. Every block but the
 * head may hold a live entry, so the last block's first ID past `after`
 * settles it at once when the stream has entries and more than one block. */
static int has_entries_after(const stream *s, const stream_id *after)
{
    if (s->length == 0 || stream_id_cmp(&s->last_id, after) <= 0) return 0;
    if (s->nblocks > 1 && stream_id_cmp(&s->blocks[s->nblocks - 1]->first, after) > 0) return 1;
    stream_id top;
    stream_last_live_id(s, &top);
    return stream_id_cmp(&top, after) > 0;
}

/* Whether stream k has something for the reader now; may move *gt to the
 * group's last delivered ID. Sets *history for a consumer's own PEL. */
static int can_serve(stream *s, stream_cg *g, stream_id *gt, int *history)
{
    *history = 0;
    if (g) {
        if (gt->ms != ID_NEW_FOR_GROUP || gt->seq != ID_NEW_FOR_GROUP) {
            *history = 1;
            return 1;
        }
        if (!has_entries_after(s, &g->last_id)) return 0;
        *gt = g->last_id;
        return 1;
    }
    return has_entries_after(s, gt);
}

/* $ becomes the ID it stood for, so that a blocked XREAD run again waits
 * for entries after it and not after whatever came meanwhile. */
static void block_read(client *c, const struct read_args *r, const stream_id *ids)
{
    char (*bufs)[STREAM_ID_STR_MAX] = zmalloc(STREAM_ID_STR_MAX * (size_t)r->nstreams);
    arg *saved = zmalloc(sizeof(arg) * (size_t)c->argc);
    memcpy(saved, c->argv, sizeof(arg) * (size_t)c->argc);
    for (int k = 0; k < r->nstreams; k++) {
        arg *idarg = &c->argv[r->streams_arg + r->nstreams + k];
        if (!is_word(idarg, '$')) continue;
        idarg->p = bufs[k];
        idarg->len = stream_id_format(bufs[k], &ids[k]);
    }
    block_for_keys(c, c->argv + r->streams_arg, r->nstreams, r->deadline_ms, 0);
    memcpy(c->argv, saved, sizeof(arg) * (size_t)c->argc);
    zfree(saved);
    zfree(bufs);
}

static void serve_reads(client *c, const struct read_args *r, stream_id *ids, stream_cg **groups)
{
    void *len = NULL;
    long served = 0;
    for (int k = 0; k < r->nstreams; k++) {
        const arg *key = &c->argv[r->streams_arg + k];
        entry *e = lookup_read(c, key);
        if (e == NULL) continue;
        stream *s = entry_object(e);
        int history;
        if (!can_serve(s, groups ? groups[k] : NULL, &ids[k], &history)) continue;
        if (served++ == 0) len = reply_deferred(c);
        if (c->resp == 2) reply_array(c, 2);
        reply_bulk(c, key->p, key->len);
        if (groups) {
            stream_read_group(c, s, key, groups[k], r->consumer, &ids[k], r->count, r->noack, history);
            continue;
        }
        stream_id start = ids[k];
        stream_id_incr(&start);
        stream_id end = {UINT64_MAX, UINT64_MAX};
        stream_reply_range(c, s, &start, &end, r->count, 0, NULL, NULL);
    }
    if (served) {
        if (c->resp == 2) reply_set_deferred_array(c, len, served);
        else reply_set_deferred_map(c, len, served);
        return;
    }
    if (r->deadline_ms != -1) block_read(c, r, ids);
    else reply_null_array(c);
}

static void xread_generic(client *c, int group)
{
    struct read_args r;
    if (!parse_read_args(c, group, &r)) return;
    stream_id *ids = zmalloc(sizeof(*ids) * (size_t)r.nstreams);
    stream_cg **groups = group ? zmalloc(sizeof(*groups) * (size_t)r.nstreams) : NULL;
    if (resolve_read_ids(c, &r, ids, groups)) serve_reads(c, &r, ids, groups);
    zfree(ids);
    zfree(groups);
}

static void xread_command(client *c) { xread_generic(c, 0); }
/* A replica gets XREADGROUP's effects (XCLAIM, XGROUP SETID and
 * CREATECONSUMER), never the read itself. */
static void xreadgroup_command(client *c)
{
    propagate_prevent();
    xread_generic(c, 1);
}

/* ---- the object type --------------------------------------------------------------------- */

static const char *stream_encoding_name(const void *s)
{
    (void)s;
    return "stream";
}

const struct object_type stream_type = {
    .name = "stream",
    .snap_code = 0x06,
    .encoding = stream_encoding_name,
    .free = stream_free,
    .free_effort = stream_free_effort,
    .dup = stream_dup,
    .mem_usage = stream_mem_usage,
    .digest = stream_digest,
    .save = stream_save,
    .load = stream_load,
};

/* ---- the table ------------------------------------------------------------------------------ */

struct command stream_commands[] = {
    {"xadd", xadd_command, -5, CMD_WRITE | CMD_DENYOOM | CMD_FAST, ACL_STREAM, 1, 1, 1, "RW update (UPDATE instead of INSERT because of the optional trimming feature)", "nondeterministic_output", "stream", "Appends a new entry to a stream", "5.0.0", "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.", NULL, 0, 0, 0, 0},
    {"xrange", xrange_command, -4, CMD_READONLY, ACL_STREAM, 1, 1, 1, "RO access", NULL, "stream", "Return a range of elements in a stream, with IDs matching the specified IDs interval", "5.0.0", "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", NULL, 0, 0, 0, 0},
    {"xrevrange", xrevrange_command, -4, CMD_READONLY, ACL_STREAM, 1, 1, 1, "RO access", NULL, "stream", "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE", "5.0.0", "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", NULL, 0, 0, 0, 0},
    {"xlen", xlen_command, 2, CMD_READONLY | CMD_FAST, ACL_STREAM, 1, 1, 1, "RO", NULL, "stream", "Return the number of entries in a stream", "5.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"xdel", xdel_command, -3, CMD_WRITE | CMD_FAST, ACL_STREAM, 1, 1, 1, "RW delete", NULL, "stream", "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.", "5.0.0", "O(1) for each single item to delete in the stream, regardless of the stream size.", NULL, 0, 0, 0, 0},
    {"xtrim", xtrim_command, -4, CMD_WRITE, ACL_STREAM, 1, 1, 1, "RW delete", "nondeterministic_output", "stream", "Trims the stream to (approximately if '~' is passed) a certain size", "5.0.0", "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.", NULL, 0, 0, 0, 0},
    {"xread", xread_command, -4, CMD_READONLY | CMD_BLOCKING | CMD_MOVABLE_KEYS, ACL_STREAM, 0, 0, 0, "RO access @=STREAMS,1~-1,1,2", NULL, "stream", "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.", "5.0.0", "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.", NULL, 0, 0, 0, 0},
    {"xreadgroup", xreadgroup_command, -7, CMD_WRITE | CMD_BLOCKING | CMD_MOVABLE_KEYS, ACL_STREAM, 0, 0, 0, "RO access @=STREAMS,4~-1,1,2", NULL, "stream", "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.", "5.0.0", "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.", NULL, 0, 0, 0, 0},
    {"xsetid", xsetid_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, ACL_STREAM, 1, 1, 1, "RW update", NULL, "stream", "An internal command for replicating stream values", "5.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
