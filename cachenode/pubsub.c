/* pubsub.c: publish/subscribe: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their
 * UNSUBSCRIBE forms, PUBLISH, SPUBLISH and PUBSUB. Three server-wide indexes
 * (channels, patterns, shard channels) map a name to the array of its
 * subscribers; each client keeps the names it subscribed to, so that
 * unsubscribing everything (UNSUBSCRIBE, RESET, disconnection) costs its own
 * subscriptions only. Messages are RESP3 pushes or, in RESP2, arrays; a
 * subscriber that does not read is cut off by the pubsub output-buffer class
 * (reply.c). */
#include <string.h>

#include "dict.h"
#include "pubsub.h"
#include "server.h"

/* Subscribers of one name: the value of an index entry. */
struct subscribers {
    size_t n, cap;
    client **v;
};

enum sub_kind { KIND_CHANNEL = 0, KIND_PATTERN, KIND_SHARD, KIND_COUNT };

struct kind_info {
    const char *subscribe_word, *unsubscribe_word;
};

static const struct kind_info kinds[KIND_COUNT] = {
    {"subscribe", "unsubscribe"},
    {"psubscribe", "punsubscribe"},
    {"ssubscribe", "sunsubscribe"},
};

/* A client's subscriptions: names only (no values), one dict per kind. */
struct pubsub_state {
    dict *names[KIND_COUNT];
};

static dict *indexes[KIND_COUNT]; /* name -> struct subscribers * */

/* ---- the indexes ------------------------------------------------------------ */

static struct subscribers *subscribers_of(dnode *n)
{
    struct subscribers *s;
    memcpy(&s, dnode_val(n), sizeof(s));
    return s;
}

static void index_add(enum sub_kind kind, const char *name, size_t len, client *c)
{
    if (indexes[kind] == NULL) indexes[kind] = dict_create();
    dnode *n = dict_find(indexes[kind], name, len);
    struct subscribers *s;
    if (n == NULL) {
        s = zcalloc(sizeof(*s));
        dict_add(indexes[kind], name, len, &s, sizeof(s));
    } else {
        s = subscribers_of(n);
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->v = zrealloc(s->v, s->cap * sizeof(client *));
    }
    s->v[s->n++] = c;
}

static void index_remove(enum sub_kind kind, const char *name, size_t len, client *c)
{
    dnode *n = indexes[kind] ? dict_find(indexes[kind], name, len) : NULL;
    if (n == NULL) return;
    struct subscribers *s = subscribers_of(n);
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i] == c) {
            /* keep arrival order: messages reach subscribers as Redis's list does */
            memmove(s->v + i, s->v + i + 1, (s->n - i - 1) * sizeof(client *));
            s->n--;
            break;
        }
    }
    if (s->n == 0) {
        zfree(s->v);
        zfree(s);
        dict_delete(indexes[kind], name, len);
    }
}

static size_t index_size(enum sub_kind kind) { return indexes[kind] ? dict_size(indexes[kind]) : 0; }

/* ---- a client's subscriptions ---------------------------------------------- */

static size_t client_count(const client *c, enum sub_kind kind)
{
    return c->pubsub && c->pubsub->names[kind] ? dict_size(c->pubsub->names[kind]) : 0;
}

/* The count a (un)subscribe reply carries: shard subscriptions count apart. */
static long reply_count(const client *c, enum sub_kind kind)
{
    if (kind == KIND_SHARD) return (long)client_count(c, KIND_SHARD);
    return (long)(client_count(c, KIND_CHANNEL) + client_count(c, KIND_PATTERN));
}

static size_t client_total(const client *c)
{
    return client_count(c, KIND_CHANNEL) + client_count(c, KIND_PATTERN) + client_count(c, KIND_SHARD);
}

static void reply_subscription(client *c, enum sub_kind kind, int subscribed, const char *name, size_t len)
{
    reply_push_len(c, 3);
    reply_bulk_cstr(c, subscribed ? kinds[kind].subscribe_word : kinds[kind].unsubscribe_word);
    if (name) reply_bulk(c, name, len);
    else reply_null(c);
    reply_int(c, reply_count(c, kind));
}

static void subscribe_one(client *c, enum sub_kind kind, const char *name, size_t len)
{
    if (c->pubsub == NULL) c->pubsub = zcalloc(sizeof(*c->pubsub));
    if (c->pubsub->names[kind] == NULL) c->pubsub->names[kind] = dict_create();
    if (dict_find(c->pubsub->names[kind], name, len) == NULL) {
        dict_add(c->pubsub->names[kind], name, len, NULL, 0);
        index_add(kind, name, len, c);
    }
    c->flags |= CLIENT_PUBSUB;
    reply_subscription(c, kind, 1, name, len);
}

static void unsubscribe_one(client *c, enum sub_kind kind, const char *name, size_t len, int notify)
{
    if (client_count(c, kind) && dict_delete(c->pubsub->names[kind], name, len))
        index_remove(kind, name, len, c);
    if (client_total(c) == 0) c->flags &= ~CLIENT_PUBSUB;
    if (notify) reply_subscription(c, kind, 0, name, len);
}

/* Unsubscribes from every name of the kind; with notify, one reply each, or
 * a single one with a null name when there was none. */
static void unsubscribe_all(client *c, enum sub_kind kind, int notify)
{
    if (client_count(c, kind) == 0) {
        if (notify) reply_subscription(c, kind, 0, NULL, 0);
        return;
    }
    dict *names = c->pubsub->names[kind];
    dict_iter it;
    dict_iter_init(&it, names);
    dnode *n;
    while ((n = dict_iter_next(&it)) != NULL) {
        /* the node is freed by the unsubscription: reply from a copy */
        size_t len = n->klen;
        char stackbuf[256];
        char *name = len <= sizeof(stackbuf) ? stackbuf : zmalloc(len);
        memcpy(name, dnode_key(n), len);
        unsubscribe_one(c, kind, name, len, notify);
        if (name != stackbuf) zfree(name);
    }
    dict_iter_release(&it);
}

void pubsub_client_reset(client *c)
{
    if (c->pubsub == NULL) return;
    for (int k = 0; k < KIND_COUNT; k++) {
        unsubscribe_all(c, (enum sub_kind)k, 0);
        if (c->pubsub->names[k]) dict_free(c->pubsub->names[k]);
        c->pubsub->names[k] = NULL;
    }
    zfree(c->pubsub);
    c->pubsub = NULL;
    c->flags &= ~CLIENT_PUBSUB;
}

void pubsub_client_counts(const client *c, long *sub, long *psub, long *ssub)
{
    *sub = (long)client_count(c, KIND_CHANNEL);
    *psub = (long)client_count(c, KIND_PATTERN);
    *ssub = (long)client_count(c, KIND_SHARD);
}

void pubsub_server_counts(long *channels, long *patterns, long *shard_channels)
{
    *channels = (long)index_size(KIND_CHANNEL);
    *patterns = (long)index_size(KIND_PATTERN);
    *shard_channels = (long)index_size(KIND_SHARD);
}

int pubsub_client_subscribed(const client *c, const char *channel, size_t clen)
{
    return client_count(c, KIND_CHANNEL) && dict_find(c->pubsub->names[KIND_CHANNEL], channel, clen);
}

int pubsub_allowed_when_subscribed(const struct command *cmd)
{
    static const char *const allowed[] = {"ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
                                          "psubscribe", "punsubscribe", "quit", "reset"};
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (strcmp(cmd->name, allowed[i]) == 0) return 1;
    return 0;
}

/* ---- delivery ---------------------------------------------------------------- */

/* A message in RESP: "*N\r\n" then bulk strings. The first byte is switched
 * to '>' for RESP3 subscribers, so one encoding serves both protocols. */
struct message {
    char stackbuf[512];
    char *p;
    size_t len, cap;
};

static void message_append(struct message *m, const char *s, size_t len)
{
    if (m->len + len > m->cap) {
        size_t cap = (m->len + len) * 2;
        if (m->p == m->stackbuf) {
            m->p = zmalloc(cap);
            memcpy(m->p, m->stackbuf, m->len);
        } else {
            m->p = zrealloc(m->p, cap);
        }
        m->cap = cap;
    }
    memcpy(m->p + m->len, s, len);
    m->len += len;
}

static void message_bulk(struct message *m, const char *s, size_t len)
{
    char hdr[32];
    hdr[0] = '$';
    size_t n = 1 + ll2str(hdr + 1, sizeof(hdr) - 3, (long long)len);
    hdr[n++] = '\r';
    hdr[n++] = '\n';
    message_append(m, hdr, n);
    message_append(m, s, len);
    message_append(m, "\r\n", 2);
}

static void message_init(struct message *m, int parts, const char *kind)
{
    m->p = m->stackbuf;
    m->cap = sizeof(m->stackbuf);
    m->len = 0;
    char hdr[8] = {'*', (char)('0' + parts), '\r', '\n'};
    message_append(m, hdr, 4);
    message_bulk(m, kind, strlen(kind));
}

static void message_free(struct message *m)
{
    if (m->p != m->stackbuf) zfree(m->p);
}

static void message_send(struct message *m, const struct subscribers *s)
{
    for (size_t i = 0; i < s->n; i++) {
        m->p[0] = s->v[i]->resp == 3 ? '>' : '*';
        reply_raw(s->v[i], m->p, m->len);
    }
}

static long long deliver_exact(enum sub_kind kind, const char *word, const char *channel, size_t clen,
                               const char *msg, size_t mlen)
{
    dnode *n = indexes[kind] ? dict_find(indexes[kind], channel, clen) : NULL;
    if (n == NULL) return 0;
    struct subscribers *s = subscribers_of(n);
    struct message m;
    message_init(&m, 3, word);
    message_bulk(&m, channel, clen);
    message_bulk(&m, msg, mlen);
    message_send(&m, s);
    message_free(&m);
    return (long long)s->n;
}

static long long deliver_patterns(const char *channel, size_t clen, const char *msg, size_t mlen)
{
    if (index_size(KIND_PATTERN) == 0) return 0;
    long long receivers = 0;
    dict_iter it;
    dict_iter_init(&it, indexes[KIND_PATTERN]);
    dnode *n;
    while ((n = dict_iter_next(&it)) != NULL) {
        if (!glob_match(dnode_key(n), n->klen, channel, clen, 0)) continue;
        struct subscribers *s = subscribers_of(n);
        struct message m;
        message_init(&m, 4, "pmessage");
        message_bulk(&m, dnode_key(n), n->klen);
        message_bulk(&m, channel, clen);
        message_bulk(&m, msg, mlen);
        message_send(&m, s);
        message_free(&m);
        receivers += (long long)s->n;
    }
    dict_iter_release(&it);
    return receivers;
}

long long pubsub_publish(const char *channel, size_t clen, const char *msg, size_t mlen)
{
    return deliver_exact(KIND_CHANNEL, "message", channel, clen, msg, mlen) +
           deliver_patterns(channel, clen, msg, mlen);
}

/* ---- commands ------------------------------------------------------------------ */

static void subscribe_args(client *c, enum sub_kind kind)
{
    for (int i = 1; i < c->argc; i++) subscribe_one(c, kind, c->argv[i].p, c->argv[i].len);
}

static void unsubscribe_args(client *c, enum sub_kind kind)
{
    if (c->argc == 1) unsubscribe_all(c, kind, 1);
    else
        for (int i = 1; i < c->argc; i++) unsubscribe_one(c, kind, c->argv[i].p, c->argv[i].len, 1);
}

/* A script may not subscribe (it would never read the messages); inside
 * EXEC SUBSCRIBE and PSUBSCRIBE are allowed, SSUBSCRIBE is not. */
static int refuse_subscribe(client *c, const char *name, int even_in_exec)
{
    int refused = even_in_exec ? (c->flags & CLIENT_DENY_BLOCKING) != 0 : (c->flags & CLIENT_SCRIPT) != 0;
    if (refused) reply_errorf(c, "ERR %s isn't allowed for a DENY BLOCKING client", name);
    return refused;
}

static void subscribe_command(client *c)
{
    if (!refuse_subscribe(c, "SUBSCRIBE", 0)) subscribe_args(c, KIND_CHANNEL);
}

static void psubscribe_command(client *c)
{
    if (!refuse_subscribe(c, "PSUBSCRIBE", 0)) subscribe_args(c, KIND_PATTERN);
}

static void ssubscribe_command(client *c)
{
    if (!refuse_subscribe(c, "SSUBSCRIBE", 1)) subscribe_args(c, KIND_SHARD);
}

static void unsubscribe_command(client *c) { unsubscribe_args(c, KIND_CHANNEL); }
static void punsubscribe_command(client *c) { unsubscribe_args(c, KIND_PATTERN); }
static void sunsubscribe_command(client *c) { unsubscribe_args(c, KIND_SHARD); }

/* PUBLISH reaches replicas too (their subscribers get the message), as in
 * Redis, though it changes no data. */
static void propagate_publish(client *c)
{
    if (!(c->flags & CLIENT_MASTER)) propagate_command(c, c->argc, c->argv);
}

static void publish_command(client *c)
{
    long long n = pubsub_publish(c->argv[1].p, c->argv[1].len, c->argv[2].p, c->argv[2].len);
    propagate_publish(c);
    reply_int(c, n);
}

static void spublish_command(client *c)
{
    long long n = deliver_exact(KIND_SHARD, "smessage", c->argv[1].p, c->argv[1].len, c->argv[2].p,
                                c->argv[2].len);
    propagate_publish(c);
    reply_int(c, n);
}

/* PUBSUB CHANNELS / SHARDCHANNELS: the names with subscribers that match
 * the optional pattern. */
static void reply_channels(client *c, enum sub_kind kind)
{
    const arg *pattern = c->argc == 3 ? &c->argv[2] : NULL;
    if (c->argc > 3) {
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try PUBSUB HELP.",
                     (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len), c->argv[1].p);
        return;
    }
    void *len = reply_deferred(c);
    long n = 0;
    if (index_size(kind)) {
        dict_iter it;
        dict_iter_init(&it, indexes[kind]);
        dnode *node;
        while ((node = dict_iter_next(&it)) != NULL) {
            if (pattern && !glob_match(pattern->p, pattern->len, dnode_key(node), node->klen, 0)) continue;
            reply_bulk(c, dnode_key(node), node->klen);
            n++;
        }
        dict_iter_release(&it);
    }
    reply_set_deferred_array(c, len, n);
}

/* PUBSUB NUMSUB / SHARDNUMSUB: name, count pairs as a flat array. */
static void reply_numsub(client *c, enum sub_kind kind)
{
    reply_array(c, (long)(c->argc - 2) * 2);
    for (int i = 2; i < c->argc; i++) {
        dnode *n = indexes[kind] ? dict_find(indexes[kind], c->argv[i].p, c->argv[i].len) : NULL;
        reply_bulk(c, c->argv[i].p, c->argv[i].len);
        reply_int(c, n ? (long long)subscribers_of(n)->n : 0);
    }
}

static void pubsub_channels_command(client *c) { reply_channels(c, KIND_CHANNEL); }
static void pubsub_shardchannels_command(client *c) { reply_channels(c, KIND_SHARD); }
static void pubsub_numsub_command(client *c) { reply_numsub(c, KIND_CHANNEL); }
static void pubsub_shardnumsub_command(client *c) { reply_numsub(c, KIND_SHARD); }
static void pubsub_numpat_command(client *c) { reply_int(c, (long long)index_size(KIND_PATTERN)); }

static void pubsub_help_command(client *c)
{
    static const char *const help[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

static void pubsub_container_command(client *c) { reply_arity_error(c); }

#define PS_FLAGS (CMD_PUBSUB | CMD_LOADING | CMD_STALE)
#define PS_SUB(name, proc, arity, summary, since, cx) \
    {name, proc, arity, PS_FLAGS, ACL_PUBSUB, 0, 0, 0, NULL, NULL, "pubsub", summary, since, cx, NULL, 0, 0, 0, 0}

static struct command pubsub_subcommands[] = {
    {"pubsub|help", pubsub_help_command, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, 0, NULL, NULL, "pubsub", "Show helpful text about the different subcommands", "6.2.0", "O(1)", NULL, 0, 0, 0, 0},
    PS_SUB("pubsub|numpat", pubsub_numpat_command, 2, "Get the count of unique patterns pattern subscriptions", "2.8.0", "O(1)"),
    PS_SUB("pubsub|shardchannels", pubsub_shardchannels_command, -2, "List active shard channels", "7.0.0",
           "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels)."),
    PS_SUB("pubsub|channels", pubsub_channels_command, -2, "List active channels", "2.8.0",
           "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)"),
    PS_SUB("pubsub|shardnumsub", pubsub_shardnumsub_command, -2, "Get the count of subscribers for shard channels", "7.0.0",
           "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels"),
    PS_SUB("pubsub|numsub", pubsub_numsub_command, -2, "Get the count of subscribers for channels", "2.8.0",
           "O(N) for the NUMSUB subcommand, where N is the number of requested channels"),
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};

#define SUBSCRIBE_FLAGS (CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define PUBLISH_FLAGS (CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_FAST)

struct command pubsub_commands[] = {
    {"subscribe", subscribe_command, -2, SUBSCRIBE_FLAGS, ACL_PUBSUB, 0, 0, 0, NULL, NULL, "pubsub", "Listen for messages published to the given channels", "2.0.0", "O(N) where N is the number of channels to subscribe to.", NULL, 0, 0, 0, 0},
    {"unsubscribe", unsubscribe_command, -1, SUBSCRIBE_FLAGS, ACL_PUBSUB, 0, 0, 0, NULL, NULL, "pubsub", "Stop listening for messages posted to the given channels", "2.0.0", "O(N) where N is the number of clients already subscribed to a channel.", NULL, 0, 0, 0, 0},
    {"psubscribe", psubscribe_command, -2, SUBSCRIBE_FLAGS, ACL_PUBSUB, 0, 0, 0, NULL, NULL, "pubsub", "Listen for messages published to channels matching the given patterns", "2.0.0", "O(N) where N is the number of patterns the client is already subscribed to.", NULL, 0, 0, 0, 0},
    {"punsubscribe", punsubscribe_command, -1, SUBSCRIBE_FLAGS, ACL_PUBSUB, 0, 0, 0, NULL, NULL, "pubsub", "Stop listening for messages posted to channels matching the given patterns", "2.0.0", "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).", NULL, 0, 0, 0, 0},
    {"publish", publish_command, 3, PUBLISH_FLAGS, ACL_PUBSUB, 0, 0, 0, NULL, NULL, "pubsub", "Post a message to a channel", "2.0.0", "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).", NULL, 0, 0, 0, 0},
    {"ssubscribe", ssubscribe_command, -2, SUBSCRIBE_FLAGS, ACL_PUBSUB, 1, -1, 1, "not_key", NULL, "pubsub", "Listen for messages published to the given shard channels", "7.0.0", "O(N) where N is the number of shard channels to subscribe to.", NULL, 0, 0, 0, 0},
    {"sunsubscribe", sunsubscribe_command, -1, SUBSCRIBE_FLAGS, ACL_PUBSUB, 1, -1, 1, "not_key", NULL, "pubsub", "Stop listening for messages posted to the given shard channels", "7.0.0", "O(N) where N is the number of clients already subscribed to a shard channel.", NULL, 0, 0, 0, 0},
    {"spublish", spublish_command, 3, PUBLISH_FLAGS, ACL_PUBSUB, 1, 1, 1, "not_key", NULL, "pubsub", "Post a message to a shard channel", "7.0.0", "O(N) where N is the number of clients subscribed to the receiving shard channel.", NULL, 0, 0, 0, 0},
    {"pubsub", pubsub_container_command, -2, 0, 0, 0, 0, 0, NULL, NULL, "pubsub", "A container for Pub/Sub commands", "2.8.0", "Depends on subcommand.", pubsub_subcommands, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
