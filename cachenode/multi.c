/* multi.c: transactions. MULTI queues a client's commands (each with its
 * own copy of the arguments) and EXEC runs them one after another with no
 * other client in between; commands.c decides what is queued and refuses
 * what is not (a refusal while queuing makes EXEC abort). WATCH keeps an
 * index from (database, key) to the clients watching it: any write to the
 * key, its expiry or eviction, or a flush marks them, and their EXEC then
 * fails. What EXEC's commands propagate reaches replicas wrapped in
 * MULTI/EXEC (replication.c's pending list). */
#include <string.h>

#include "dict.h"
#include "server.h"

struct queued_command {
    struct command *cmd;
    int argc;
    arg *argv; /* points into the same allocation, after the array */
};

struct multi_state {
    struct queued_command *cmds;
    int count, cap;
    uint32_t flags; /* the union of the queued commands' flags */
};

struct watched_key {
    int dbid;
    int expired; /* already logically expired when watched */
    char *key;
    size_t len;
};

static void exec_command(client *c);

/* ---- queuing ---------------------------------------------------------------- */

int multi_is_exec(const struct command *cmd) { return cmd->proc == exec_command; }

uint32_t multi_exec_flags(const client *c, const struct command *cmd)
{
    return (c->mstate && multi_is_exec(cmd)) ? c->mstate->flags : 0;
}

/* Inside MULTI every command is queued except those that end or shape the
 * transaction (and QUIT and RESET, which end the connection's state). */
int multi_queues(const client *c, const struct command *cmd)
{
    if (!(c->flags & CLIENT_MULTI)) return 0;
    static const char *const immediate[] = {"exec", "discard", "multi", "watch", "quit", "reset"};
    for (size_t i = 0; i < sizeof(immediate) / sizeof(immediate[0]); i++)
        if (strcmp(cmd->name, immediate[i]) == 0) return 0;
    return 1;
}

void multi_queue(client *c, struct command *cmd)
{
    struct multi_state *ms = c->mstate;
    if (ms->count == ms->cap) {
        ms->cap = ms->cap ? ms->cap * 2 : 8;
        ms->cmds = zrealloc(ms->cmds, sizeof(*ms->cmds) * (size_t)ms->cap);
    }
    size_t bytes = 0;
    for (int i = 0; i < c->argc; i++) bytes += c->argv[i].len;
    arg *argv = zmalloc(sizeof(arg) * (size_t)c->argc + bytes);
    char *p = (char *)(argv + c->argc);
    for (int i = 0; i < c->argc; i++) {
        memcpy(p, c->argv[i].p, c->argv[i].len);
        argv[i].p = p;
        argv[i].len = c->argv[i].len;
        p += c->argv[i].len;
    }
    ms->cmds[ms->count++] = (struct queued_command){cmd, c->argc, argv};
    ms->flags |= cmd->flags;
    reply_status(c, "QUEUED");
}

static void free_multi_state(struct multi_state *ms)
{
    if (ms == NULL) return;
    for (int i = 0; i < ms->count; i++) zfree(ms->cmds[i].argv);
    zfree(ms->cmds);
    zfree(ms);
}

/* ---- watching --------------------------------------------------------------- */

static dict *watchers; /* "<dbid byte><key>" -> client *[] (a watcher_list) */

struct watcher_list {
    client **items;
    size_t len, cap;
};

static struct watcher_list *watchers_of(int dbid, const char *key, size_t klen, int create)
{
    char buf[128];
    size_t len;
    struct watcher_list *wl = NULL;
    if (watchers == NULL) {
        if (!create) return NULL;
        watchers = dict_create();
    }
    char *name = db_qualified_key(dbid, key, klen, buf, sizeof(buf), &len);
    dnode *n = dict_find(watchers, name, len);
    if (n) {
        memcpy(&wl, dnode_val(n), sizeof(wl));
    } else if (create) {
        wl = zcalloc(sizeof(*wl));
        dict_add(watchers, name, len, &wl, sizeof(wl));
    }
    if (name != buf) zfree(name);
    return wl;
}

static int key_expired_now(db *d, const char *key, size_t len)
{
    entry *e = db_find(d, key, len);
    return e && e->has_expire && entry_expire(e) <= server.now_ms;
}

static void watch_key(client *c, const arg *key)
{
    for (size_t i = 0; i < c->nwatched; i++) {
        struct watched_key *w = &c->watched[i];
        if (w->dbid == c->dbid && w->len == key->len && memcmp(w->key, key->p, key->len) == 0)
            return;
    }
    struct watcher_list *wl = watchers_of(c->dbid, key->p, key->len, 1);
    if (wl->len == wl->cap) {
        wl->cap = wl->cap ? wl->cap * 2 : 4;
        wl->items = zrealloc(wl->items, wl->cap * sizeof(client *));
    }
    wl->items[wl->len++] = c;
    c->watched = zrealloc(c->watched, sizeof(*c->watched) * (c->nwatched + 1));
    struct watched_key *w = &c->watched[c->nwatched++];
    w->dbid = c->dbid;
    w->expired = key_expired_now(c->db, key->p, key->len);
    w->key = zmalloc(key->len ? key->len : 1);
    memcpy(w->key, key->p, key->len);
    w->len = key->len;
}

static void unwatch_all(client *c)
{
    for (size_t i = 0; i < c->nwatched; i++) {
        struct watched_key *w = &c->watched[i];
        struct watcher_list *wl = watchers_of(w->dbid, w->key, w->len, 0);
        for (size_t j = 0; wl && j < wl->len; j++) {
            if (wl->items[j] != c) continue;
            wl->items[j] = wl->items[--wl->len];
            break;
        }
        if (wl && wl->len == 0) {
            char buf[128];
            size_t len;
            char *name = db_qualified_key(w->dbid, w->key, w->len, buf, sizeof(buf), &len);
            dict_delete(watchers, name, len);
            if (name != buf) zfree(name);
            zfree(wl->items);
            zfree(wl);
        }
        zfree(w->key);
    }
    zfree(c->watched);
    c->watched = NULL;
    c->nwatched = 0;
}

size_t watched_keys_count(void) { return watchers ? dict_size(watchers) : 0; }

void watch_touch_key(db *d, const char *key, size_t len)
{
    struct watcher_list *wl = watchers_of(d->id, key, len, 0);
    for (size_t i = 0; wl && i < wl->len; i++) wl->items[i]->flags |= CLIENT_DIRTY_CAS;
}

/* A flush changes every watched key of the database that exists. */
void watch_touch_db(db *d)
{
    if (watched_keys_count() == 0) return;
    for (client *c = server.clients; c; c = c->next)
        for (size_t i = 0; i < c->nwatched; i++)
            if (c->watched[i].dbid == d->id && db_find(d, c->watched[i].key, c->watched[i].len))
                c->flags |= CLIENT_DIRTY_CAS;
}

/* A watched key that expired since it was watched fails EXEC even if no
 * one has deleted it yet. */
static int watched_key_expired(client *c)
{
    for (size_t i = 0; i < c->nwatched; i++) {
        struct watched_key *w = &c->watched[i];
        if (!w->expired && key_expired_now(server.dbs[w->dbid], w->key, w->len)) return 1;
    }
    return 0;
}

/* ---- the transaction's end ---------------------------------------------------- */

static void discard_transaction(client *c)
{
    free_multi_state(c->mstate);
    c->mstate = NULL;
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC);
    unwatch_all(c);
}

void multi_abort_exec(client *c, const char *err)
{
    reply_errorf(c, "EXECABORT Transaction discarded because of: %s", err);
    discard_transaction(c);
}

void multi_client_reset(client *c) { discard_transaction(c); }

void multi_queued_keys(const client *c, void (*fn)(void *priv, const arg *key), void *priv)
{
    if (c->mstate == NULL) return;
    for (int i = 0; i < c->mstate->count; i++) {
        const struct queued_command *q = &c->mstate->cmds[i];
        command_slot_args(q->cmd, q->argv, q->argc, fn, priv);
    }
}

/* ---- commands ------------------------------------------------------------------ */

static void multi_command(client *c)
{
    if (c->flags & CLIENT_MULTI) {
        reply_error(c, "ERR MULTI calls can not be nested");
        return;
    }
    c->mstate = zcalloc(sizeof(*c->mstate));
    c->flags |= CLIENT_MULTI;
    reply_ok(c);
}

static void discard_command(client *c)
{
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(c, "ERR DISCARD without MULTI");
        return;
    }
    discard_transaction(c);
    reply_ok(c);
}

/* Runs the queued commands as if each had arrived alone, except that none
 * may block and none propagates until all have run. */
static void run_queued(client *c, struct multi_state *ms)
{
    int argc = c->argc, reqtype = c->reqtype, deny = c->flags & CLIENT_DENY_BLOCKING;
    arg *argv = c->argv;
    c->flags |= CLIENT_DENY_BLOCKING;
    reply_array(c, ms->count);
    for (int i = 0; i < ms->count; i++) {
        c->argc = ms->cmds[i].argc;
        c->argv = ms->cmds[i].argv;
        c->reqtype = 0; /* propagate from argv, not from the query buffer */
        update_cached_time();
        command_call(c, ms->cmds[i].cmd, server.now_us);
    }
    c->argc = argc;
    c->argv = argv;
    c->reqtype = reqtype;
    if (!deny) c->flags &= ~CLIENT_DENY_BLOCKING;
}

static void exec_command(client *c)
{
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(c, "ERR EXEC without MULTI");
        return;
    }
    if (watched_key_expired(c)) c->flags |= CLIENT_DIRTY_CAS;
    if (c->flags & (CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC)) {
        if (c->flags & CLIENT_DIRTY_EXEC)
            reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
        else
            reply_null_array(c);
        discard_transaction(c);
        return;
    }
    struct multi_state *ms = c->mstate;
    c->mstate = NULL;
    c->flags &= ~CLIENT_MULTI;
    unwatch_all(c);
    propagate_prevent(); /* the queued commands propagate themselves */
    run_queued(c, ms);
    free_multi_state(ms);
}

static void watch_command(client *c)
{
    if (c->flags & CLIENT_MULTI) {
        reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    if (!(c->flags & CLIENT_DIRTY_CAS)) /* already failed: no point in watching */
        for (int i = 1; i < c->argc; i++) watch_key(c, &c->argv[i]);
    reply_ok(c);
}

static void unwatch_command(client *c)
{
    unwatch_all(c);
    c->flags &= ~CLIENT_DIRTY_CAS;
    reply_ok(c);
}

#define TX_FLAGS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)

struct command multi_commands[] = {
    {"multi", multi_command, 1, TX_FLAGS | CMD_FAST | CMD_ALLOW_BUSY, ACL_TRANSACTION, 0, 0, 0, NULL, NULL, "transactions", "Mark the start of a transaction block", "1.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {"exec", exec_command, 1, TX_FLAGS | CMD_SKIP_SLOWLOG, ACL_TRANSACTION, 0, 0, 0, NULL, NULL, "transactions", "Execute all commands issued after MULTI", "1.2.0", "Depends on commands in the transaction", NULL, 0, 0, 0, 0},
    {"discard", discard_command, 1, TX_FLAGS | CMD_FAST | CMD_ALLOW_BUSY, ACL_TRANSACTION, 0, 0, 0, NULL, NULL, "transactions", "Discard all commands issued after MULTI", "2.0.0", "O(N), when N is the number of queued commands", NULL, 0, 0, 0, 0},
    {"watch", watch_command, -2, TX_FLAGS | CMD_FAST | CMD_ALLOW_BUSY, ACL_TRANSACTION, 1, -1, 1, "RO", NULL, "transactions", "Watch the given keys to determine execution of the MULTI/EXEC block", "2.2.0", "O(1) for every key.", NULL, 0, 0, 0, 0},
    {"unwatch", unwatch_command, 1, TX_FLAGS | CMD_FAST | CMD_ALLOW_BUSY, ACL_TRANSACTION, 0, 0, 0, NULL, NULL, "transactions", "Forget about all watched keys", "2.2.0", "O(1)", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
