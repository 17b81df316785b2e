/* blocking.c: clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, BLMPOP,
 * ...). A blocked client keeps its own copy of the command and its keys;
 * an index from (database, key) to the queue of clients waiting on it
 * finds them when a write touches the key (key_modified). After each
 * command the keys that became ready are served: each waiting client's
 * command runs again from the start, in arrival order, until one finds
 * nothing and blocks again (it keeps its place) or the key is used up.
 * Timeouts are checked before the event loop sleeps. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "dict.h"
#include "server.h"

struct key_block {
    struct command *cmd;
    int argc;
    arg *argv;      /* the command's arguments, in `bytes` */
    char *bytes;
    int nkeys;
    size_t *key_args; /* indexes into argv of the keys it waits on */
    long long deadline_ms;
    int null_bulk;
    struct key_block *prev, *next; /* every blocked client, for timeouts */
    client *c;
};

/* A queue of the clients waiting on one key, in arrival order. */
struct waitq {
    client **items;
    size_t len, cap;
};

static dict *waiting;              /* "<dbid byte><key>" -> struct waitq * */
static struct key_block *blocked;  /* list of every key-blocked client */
static size_t nblocked;
static int reblocked;              /* set by block_for_keys while a command runs again */
static client *rerunning;

/* Keys that became ready, waiting to be served after the current command. */
struct ready_key {
    char *name; /* "<dbid byte><key>" */
    size_t len;
};
static struct ready_key *ready;
static size_t nready, ready_cap;

size_t blocking_keys_count(void) { return waiting ? dict_size(waiting) : 0; }
int blocking_client_waits_on_keys(const client *c) { return c->kblock != NULL; }

static struct waitq *queue_of(dnode *n)
{
    struct waitq *q;
    memcpy(&q, dnode_val(n), sizeof(q));
    return q;
}

/* Redis 7.0 converts seconds * 1000 to an integer after rounding up; a
 * value past the integer range wraps negative there, so it is "negative"
 * here too, and -0.0001 rounds up to 0 (no timeout). */
int blocking_parse_timeout(client *c, const arg *a, long long *deadline_ms)
{
    long double secs;
    if (!string2ld(a->p, a->len, &secs) || isnan(secs)) {
        reply_error(c, "ERR timeout is not a float or out of range");
        return 0;
    }
    long double ms = ceill(secs * 1000.0L);
    if (ms < 0 || ms >= (long double)LLONG_MAX) {
        reply_error(c, "ERR timeout is negative");
        return 0;
    }
    long long whole = (long long)ms;
    if (whole == 0) *deadline_ms = 0;
    else *deadline_ms = whole > LLONG_MAX - server.now_ms ? LLONG_MAX : server.now_ms + whole;
    return 1;
}

/* Copies the client's command into a key_block. */
static struct key_block *save_command(client *c, const arg *keys, int nkeys)
{
    size_t total = 0;
    for (int i = 0; i < c->argc; i++) total += c->argv[i].len;
    struct key_block *kb = zcalloc(sizeof(*kb));
    kb->c = c;
    kb->cmd = (struct command *)c->cmd; /* its statistics change when it runs again */
    kb->argc = c->argc;
    kb->argv = zmalloc(sizeof(arg) * (size_t)c->argc);
    kb->bytes = zmalloc(total ? total : 1);
    kb->key_args = zmalloc(sizeof(size_t) * (size_t)nkeys);
    kb->nkeys = nkeys;
    char *p = kb->bytes;
    for (int i = 0; i < c->argc; i++) {
        memcpy(p, c->argv[i].p, c->argv[i].len);
        kb->argv[i].p = p;
        kb->argv[i].len = c->argv[i].len;
        p += c->argv[i].len;
    }
    /* keys are arguments of the command: find each one's index */
    for (int k = 0; k < nkeys; k++) {
        kb->key_args[k] = 0;
        for (int i = 1; i < c->argc; i++)
            if (keys[k].p == c->argv[i].p) kb->key_args[k] = (size_t)i;
    }
    return kb;
}

static void queue_push(int dbid, const arg *key, client *c)
{
    char buf[128];
    size_t len;
    char *name = db_qualified_key(dbid, key->p, key->len, buf, sizeof(buf), &len);
    if (waiting == NULL) waiting = dict_create();
    dnode *n = dict_find(waiting, name, len);
    struct waitq *q;
    if (n == NULL) {
        q = zcalloc(sizeof(*q));
        dict_add(waiting, name, len, &q, sizeof(q));
    } else {
        q = queue_of(n);
    }
    if (name != buf) zfree(name);
    for (size_t i = 0; i < q->len; i++)
        if (q->items[i] == c) return; /* the same key twice in one command */
    if (q->len == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 4;
        q->items = zrealloc(q->items, q->cap * sizeof(client *));
    }
    q->items[q->len++] = c;
}

static void queue_remove(int dbid, const arg *key, client *c)
{
    char buf[128];
    size_t len;
    char *name = db_qualified_key(dbid, key->p, key->len, buf, sizeof(buf), &len);
    dnode *n = waiting ? dict_find(waiting, name, len) : NULL;
    if (n) {
        struct waitq *q = queue_of(n);
        for (size_t i = 0; i < q->len; i++) {
            if (q->items[i] != c) continue;
            memmove(q->items + i, q->items + i + 1, (q->len - i - 1) * sizeof(client *));
            q->len--;
            break;
        }
        if (q->len == 0) {
            zfree(q->items);
            zfree(q);
            dict_delete(waiting, name, len);
        }
    }
    if (name != buf) zfree(name);
}

void block_for_keys(client *c, const arg *keys, int nkeys, long long deadline_ms, int null_bulk)
{
    if (rerunning == c) {
        reblocked = 1; /* still waiting: it keeps its place in every queue */
        return;
    }
    if (c->flags & CLIENT_DENY_BLOCKING) { /* inside EXEC: time out at once */
        if (null_bulk) reply_null(c);
        else reply_null_array(c);
        return;
    }
    struct key_block *kb = save_command(c, keys, nkeys);
    kb->deadline_ms = deadline_ms;
    kb->null_bulk = null_bulk;
    for (int k = 0; k < nkeys; k++) queue_push(c->dbid, &kb->argv[kb->key_args[k]], c);
    kb->next = blocked;
    if (blocked) blocked->prev = kb;
    blocked = kb;
    nblocked++;
    c->kblock = kb;
    block_client(c, deadline_ms);
}

/* Removes the client from every queue and frees its state. */
static void forget(client *c)
{
    struct key_block *kb = c->kblock;
    for (int k = 0; k < kb->nkeys; k++) queue_remove(c->dbid, &kb->argv[kb->key_args[k]], c);
    if (kb->prev) kb->prev->next = kb->next;
    else blocked = kb->next;
    if (kb->next) kb->next->prev = kb->prev;
    nblocked--;
    zfree(kb->argv);
    zfree(kb->bytes);
    zfree(kb->key_args);
    zfree(kb);
    c->kblock = NULL;
}

void blocking_client_freed(client *c) { forget(c); }

void blocking_unblock(client *c, const char *error)
{
    if (c->kblock == NULL) return;
    if (error) reply_error(c, error);
    else if (c->kblock->null_bulk) reply_null(c);
    else reply_null_array(c);
    forget(c);
    unblock_client(c);
}

void blocking_unblock_all(const char *error)
{
    while (blocked) blocking_unblock(blocked->c, error);
}

void blocking_unblock_refused(blocked_refusal_fn refuse)
{
    char err[512];
    struct key_block *kb = blocked;
    while (kb) {
        struct key_block *next = kb->next;
        if (refuse(kb->c, kb->cmd, kb->argv, kb->argc, err, sizeof(err))) blocking_unblock(kb->c, err);
        kb = next;
    }
}

void blocking_check_timeouts(void)
{
    if (nblocked == 0) return;
    struct key_block *kb = blocked;
    while (kb) {
        struct key_block *next = kb->next;
        if (kb->deadline_ms && kb->deadline_ms <= server.now_ms) blocking_unblock(kb->c, NULL);
        kb = next;
    }
}

void blocking_key_modified(db *d, const arg *key)
{
    char buf[128];
    size_t len;
    char *name = db_qualified_key(d->id, key->p, key->len, buf, sizeof(buf), &len);
    if (dict_find(waiting, name, len)) {
        int already = 0;
        for (size_t i = 0; i < nready && !already; i++)
            already = ready[i].len == len && memcmp(ready[i].name, name, len) == 0;
        if (!already) {
            if (nready == ready_cap) {
                ready_cap = ready_cap ? ready_cap * 2 : 8;
                ready = zrealloc(ready, ready_cap * sizeof(*ready));
            }
            ready[nready].name = zmalloc(len);
            memcpy(ready[nready].name, name, len);
            ready[nready].len = len;
            nready++;
        }
    }
    if (name != buf) zfree(name);
}

int blocking_rerunning(const client *c) { return rerunning == c; }

/* Runs a blocked client's command again; returns 1 if it was served. */
static int run_again(client *c)
{
    struct key_block *kb = c->kblock;
    int argc = c->argc, reqtype = c->reqtype;
    arg *argv = c->argv;
    c->argc = kb->argc;
    c->argv = kb->argv;
    c->reqtype = 0; /* propagate from argv, not from the query buffer */
    client *prev = server.current_client;
    server.current_client = c;
    rerunning = c;
    reblocked = 0;
    update_cached_time();
    command_call(c, kb->cmd, server.now_us);
    rerunning = NULL;
    server.current_client = prev;
    c->argc = argc;
    c->argv = argv;
    c->reqtype = reqtype;
    return !reblocked;
}

/* Serves one ready key: its waiting clients in arrival order, until one
 * stays blocked (nothing left for it) or the queue is empty. */
static void serve_key(const char *name, size_t len)
{
    dnode *n;
    size_t served = 0;
    while (served < 100000 && (n = dict_find(waiting, name, len)) != NULL) {
        struct waitq *q = queue_of(n);
        client *c = q->items[0];
        if (!run_again(c)) break;
        forget(c);
        unblock_client(c);
        served++;
    }
}

void blocking_serve_ready(void)
{
    if (nready == 0 || rerunning) return;
    /* serving may make more keys ready (BLMOVE pushes): keep going */
    while (nready > 0) {
        struct ready_key rk = ready[0];
        memmove(ready, ready + 1, (nready - 1) * sizeof(*ready));
        nready--;
        serve_key(rk.name, rk.len);
        zfree(rk.name);
    }
}
