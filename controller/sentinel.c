/* sentinel.c: the Sentinel discovery port (--sentinel-listen). A small RESP
 * server on its own thread and its own database connection, so Sentinel-
 * aware clients (redis-py's redis.sentinel.Sentinel, Jedis, Lettuce, ...)
 * find a cluster's current primary and replicas without a human. A cluster
 * (cluster mode off) is a Sentinel service of the same name. Answers:
 *   PING, QUIT, SENTINEL MASTERS | MASTER name | REPLICAS name | SLAVES name
 *   | GET-MASTER-ADDR-BY-NAME name | SENTINELS name | MYID,
 *   SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE
 * with the fields clients parse (name, ip, port, runid, flags,
 * num-other-sentinels, quorum, role-reported, master-link-status, ...).
 * Every answer is read from the database at that moment: a failover is
 * visible as soon as its transaction commits. Nothing here writes.
 *
 * Pub/sub: while a client is subscribed, the thread watches every
 * service's primary (SN_WATCH_MS) and publishes "+switch-master <name> <old-ip> <old-port> <new-ip> <new-port>"
 * when it moves, as Sentinel does; Jedis, Lettuce and ioredis listen for it
 * to follow a failover at once instead of at their next error. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "ctl.h"
#include "log.h"
#include "store.h"

#define SN_MAX_CLIENTS 128
#define SN_MAX_ARGS 64 /* more than any SENTINEL or (P)SUBSCRIBE a client sends */
#define SN_INBUF 16384
#define SN_WATCH_MS 50 /* how often the primaries are compared for +switch-master */
#define SN_MAX_SUBS 16
#define SN_SUB_LEN 128

struct sn_subscription {
    char name[SN_SUB_LEN];
    int pattern; /* PSUBSCRIBE: name is a glob */
};

struct sn_client {
    int fd;
    char in[SN_INBUF];
    size_t inlen;
    char *out;
    size_t outlen, outcap;
    int closing;
    int nsubs;
    struct sn_subscription subs[SN_MAX_SUBS];
};

struct sentinel {
    struct ctl *c;
    sqlite3 *db;
    int listen_fd;
    struct sn_client clients[SN_MAX_CLIENTS];
    json_t *primaries; /* service name -> "ip port", as last seen */
    long long next_watch_ms;
};

/* ---- replies ------------------------------------------------------------------ */

static void out_raw(struct sn_client *cl, const char *s, size_t n)
{
    if (cl->closing) return;
    if (cl->outlen + n > cl->outcap) {
        size_t cap = (cl->outcap + n) * 2;
        char *nb = realloc(cl->out, cap);
        if (nb == NULL) { cl->closing = 1; return; }
        cl->out = nb;
        cl->outcap = cap;
    }
    memcpy(cl->out + cl->outlen, s, n);
    cl->outlen += n;
}

static void outf(struct sn_client *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct sn_client *cl, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0) out_raw(cl, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void out_bulk(struct sn_client *cl, const char *s)
{
    outf(cl, "$%zu\r\n", strlen(s));
    out_raw(cl, s, strlen(s));
    out_raw(cl, "\r\n", 2);
}

static void out_pair(struct sn_client *cl, const char *k, const char *v)
{
    out_bulk(cl, k);
    out_bulk(cl, v);
}

static void out_pair_ll(struct sn_client *cl, const char *k, long long v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", v);
    out_pair(cl, k, buf);
}

/* ---- the answers -------------------------------------------------------------- */

/* The service's primary: NULL when the name is no Sentinel service. */
static json_t *service_primary(sqlite3 *db, const char *name)
{
    return db_row(db,
                  "SELECT n.id, h.address, n.port, n.status,"
                  " (SELECT max(generation) FROM nodes m WHERE m.cluster = n.cluster) AS epoch,"
                  " (SELECT count(*) FROM nodes m WHERE m.cluster = n.cluster AND m.role = 'replica'"
                  "   AND m.status != 'deleting' AND m.port > 0) AS replicas"
                  " FROM nodes n JOIN hosts h ON h.id = n.host JOIN clusters c ON c.name = n.cluster"
                  " WHERE n.cluster = ? AND n.role = 'primary' AND n.port > 0 AND c.cluster_mode = 0"
                  " AND engine_can(c.engine, 'sentinel') AND c.status NOT IN ('deleting', 'create-failed')"
                  " ORDER BY n.shard LIMIT 1",
                  "s", name);
}

/* The fields every instance reply starts with: 14 pairs. */
#define INSTANCE_FIELDS 14

static void out_instance(struct sn_client *cl, const char *name, const json_t *n, const char *role, int down)
{
    char flags[32];
    snprintf(flags, sizeof(flags), "%s%s", role, down ? ",s_down" : "");
    out_pair(cl, "name", name);
    out_pair(cl, "ip", row_str(n, "address"));
    out_pair_ll(cl, "port", row_int(n, "port"));
    out_pair(cl, "runid", row_str(n, "id"));
    out_pair(cl, "flags", flags);
    out_pair_ll(cl, "link-pending-commands", 0);
    out_pair_ll(cl, "link-refcount", 1);
    out_pair_ll(cl, "last-ping-sent", 0);
    out_pair_ll(cl, "last-ok-ping-reply", 0);
    out_pair_ll(cl, "last-ping-reply", 0);
    out_pair_ll(cl, "down-after-milliseconds", 300);
    out_pair_ll(cl, "info-refresh", 0);
    out_pair(cl, "role-reported", role);
    out_pair_ll(cl, "role-reported-time", 0);
}

static void out_master(struct sn_client *cl, const char *name, const json_t *p)
{
    outf(cl, "*%d\r\n", (INSTANCE_FIELDS + 6) * 2);
    out_instance(cl, name, p, "master", strcmp(row_str(p, "status"), "failed") == 0);
    out_pair_ll(cl, "config-epoch", row_int(p, "epoch"));
    out_pair_ll(cl, "num-slaves", row_int(p, "replicas"));
    out_pair_ll(cl, "num-other-sentinels", 0);
    out_pair_ll(cl, "quorum", 1);
    out_pair_ll(cl, "failover-timeout", 30000);
    out_pair_ll(cl, "parallel-syncs", 1);
}

static void masters(struct sentinel *s, struct sn_client *cl)
{
    json_t *names = db_rows(s->db, "SELECT name FROM clusters ORDER BY name", "");
    json_t *found = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(names, i, r) {
        json_t *p = service_primary(s->db, row_str(r, "name"));
        if (p) {
            json_object_set(p, "service", json_object_get(r, "name"));
            json_array_append_new(found, p);
        }
    }
    outf(cl, "*%zu\r\n", json_array_size(found));
    json_array_foreach(found, i, r) out_master(cl, row_str(r, "service"), r);
    json_decref(found);
    json_decref(names);
}

static void out_replica(struct sn_client *cl, const json_t *r, const json_t *p)
{
    int down = strcmp(row_str(r, "status"), "available") != 0;
    /* the agent reports the link once a second; a replica counted available has synced */
    int link_ok = !down && strcmp(row_str(r, "link"), "down") != 0;
    char name[320];
    snprintf(name, sizeof(name), "%s:%lld", row_str(r, "address"), row_int(r, "port"));
    outf(cl, "*%d\r\n", (INSTANCE_FIELDS + 7) * 2);
    out_instance(cl, name, r, "slave", down);
    out_pair_ll(cl, "master-link-down-time", 0);
    out_pair(cl, "master-link-status", link_ok ? "ok" : "err");
    out_pair(cl, "master-host", row_str(p, "address"));
    out_pair_ll(cl, "master-port", row_int(p, "port"));
    out_pair_ll(cl, "slave-priority", 100);
    out_pair_ll(cl, "slave-repl-offset", row_int(r, "offset"));
    out_pair(cl, "replica-announced", "1");
}

static void replicas(struct sentinel *s, struct sn_client *cl, const char *name, const json_t *p)
{
    json_t *rows = db_rows(s->db,
                           "SELECT n.id, h.address, n.port, n.status, coalesce(n.obs_link, '') AS link,"
                           " coalesce(n.obs_offset, 0) AS offset FROM nodes n JOIN hosts h ON h.id = n.host"
                           " WHERE n.cluster = ? AND n.role = 'replica' AND n.status != 'deleting' AND n.port > 0"
                           " ORDER BY n.id",
                           "s", name);
    outf(cl, "*%zu\r\n", json_array_size(rows));
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) out_replica(cl, r, p);
    json_decref(rows);
}

static void sentinel_cmd(struct sentinel *s, struct sn_client *cl, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (argc == 2 && strcasecmp(sub, "masters") == 0) { masters(s, cl); return; }
    if (argc == 2 && strcasecmp(sub, "myid") == 0) { out_bulk(cl, "cachefleet-controller"); return; }
    int named = strcasecmp(sub, "master") == 0 || strcasecmp(sub, "replicas") == 0 || strcasecmp(sub, "slaves") == 0 ||
                strcasecmp(sub, "get-master-addr-by-name") == 0 || strcasecmp(sub, "sentinels") == 0;
    if (!named) { outf(cl, "-ERR Unknown sentinel subcommand '%.64s'\r\n", sub); return; }
    if (argc != 3) { outf(cl, "-ERR wrong number of arguments for 'sentinel|%.64s' command\r\n", sub); return; }
    json_t *p = strlen(argv[2]) <= CTL_NAME_MAX ? service_primary(s->db, argv[2]) : NULL;
    if (strcasecmp(sub, "get-master-addr-by-name") == 0) {
        if (p == NULL) { out_raw(cl, "*-1\r\n", 5); return; }
        char port[16];
        snprintf(port, sizeof(port), "%lld", row_int(p, "port"));
        out_raw(cl, "*2\r\n", 4);
        out_bulk(cl, row_str(p, "address"));
        out_bulk(cl, port);
    } else if (p == NULL) {
        out_raw(cl, "-ERR No such master with that name\r\n", 36);
    } else if (strcasecmp(sub, "master") == 0) {
        out_master(cl, argv[2], p);
    } else if (strcasecmp(sub, "sentinels") == 0) {
        out_raw(cl, "*0\r\n", 4);
    } else {
        replicas(s, cl, argv[2], p);
    }
    json_decref(p);
}

/* ---- pub/sub ------------------------------------------------------------------- */

static int find_sub(const struct sn_client *cl, const char *name, int pattern)
{
    for (int i = 0; i < cl->nsubs; i++)
        if (cl->subs[i].pattern == pattern && strcmp(cl->subs[i].name, name) == 0) return i;
    return -1;
}

/* One (un)subscribe confirmation: [kind, name or nil, subscriptions left]. */
static void out_sub_reply(struct sn_client *cl, const char *kind, const char *name, int count)
{
    out_raw(cl, "*3\r\n", 4);
    out_bulk(cl, kind);
    if (name) out_bulk(cl, name);
    else out_raw(cl, "$-1\r\n", 5);
    outf(cl, ":%d\r\n", count);
}

static void subscribe(struct sn_client *cl, int argc, char **argv, int pattern)
{
    const char *kind = pattern ? "psubscribe" : "subscribe";
    if (argc < 2) { outf(cl, "-ERR wrong number of arguments for '%s' command\r\n", kind); return; }
    for (int i = 1; i < argc; i++) {
        if (find_sub(cl, argv[i], pattern) < 0) {
            if (cl->nsubs == SN_MAX_SUBS || strlen(argv[i]) >= SN_SUB_LEN) {
                outf(cl, "-ERR at most %d subscriptions of up to %d bytes\r\n", SN_MAX_SUBS, SN_SUB_LEN - 1);
                continue;
            }
            struct sn_subscription *sub = &cl->subs[cl->nsubs++];
            snprintf(sub->name, sizeof(sub->name), "%s", argv[i]);
            sub->pattern = pattern;
        }
        out_sub_reply(cl, kind, argv[i], cl->nsubs);
    }
}

static void remove_sub(struct sn_client *cl, int i)
{
    cl->subs[i] = cl->subs[--cl->nsubs];
}

/* With no names: every subscription of that kind, or a nil reply if none. */
static void unsubscribe(struct sn_client *cl, int argc, char **argv, int pattern)
{
    const char *kind = pattern ? "punsubscribe" : "unsubscribe";
    int replied = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            int at = find_sub(cl, argv[i], pattern);
            if (at >= 0) remove_sub(cl, at);
            out_sub_reply(cl, kind, argv[i], cl->nsubs);
        }
        return;
    }
    for (int i = cl->nsubs - 1; i >= 0; i--) {
        if (cl->subs[i].pattern != pattern) continue;
        char name[SN_SUB_LEN];
        memcpy(name, cl->subs[i].name, sizeof(name));
        remove_sub(cl, i);
        out_sub_reply(cl, kind, name, cl->nsubs);
        replied = 1;
    }
    if (!replied) out_sub_reply(cl, kind, NULL, cl->nsubs);
}

static void publish(struct sentinel *s, const char *channel, const char *payload)
{
    for (int i = 0; i < SN_MAX_CLIENTS; i++) {
        struct sn_client *cl = &s->clients[i];
        if (cl->fd < 0) continue;
        for (int k = 0; k < cl->nsubs; k++) {
            const struct sn_subscription *sub = &cl->subs[k];
            if (!sub->pattern && strcmp(sub->name, channel) == 0) {
                out_raw(cl, "*3\r\n$7\r\nmessage\r\n", 17);
            } else if (sub->pattern && fnmatch(sub->name, channel, 0) == 0) {
                out_raw(cl, "*4\r\n$8\r\npmessage\r\n", 18);
                out_bulk(cl, sub->name);
            } else {
                continue;
            }
            out_bulk(cl, channel);
            out_bulk(cl, payload);
        }
    }
}

static int any_subscriber(const struct sentinel *s)
{
    for (int i = 0; i < SN_MAX_CLIENTS; i++)
        if (s->clients[i].fd >= 0 && s->clients[i].nsubs > 0) return 1;
    return 0;
}

/* Compares every service's primary with the last look and publishes
 * +switch-master for each that moved. Only while someone listens: the
 * first look after that only takes note, so no old switch is announced. */
static void watch_primaries(struct sentinel *s)
{
    long long now = mono_ms();
    if (now < s->next_watch_ms) return;
    s->next_watch_ms = now + SN_WATCH_MS;
    if (!any_subscriber(s)) {
        json_decref(s->primaries);
        s->primaries = NULL;
        return;
    }
    json_t *names = db_rows(s->db, "SELECT name FROM clusters ORDER BY name", "");
    if (names == NULL) return;
    json_t *seen = json_object();
    size_t i;
    json_t *r;
    json_array_foreach(names, i, r) {
        const char *name = row_str(r, "name");
        json_t *p = service_primary(s->db, name);
        if (p == NULL) continue;
        char addr[300];
        snprintf(addr, sizeof(addr), "%s %lld", row_str(p, "address"), row_int(p, "port"));
        json_decref(p);
        const char *before = json_string_value(json_object_get(s->primaries, name));
        if (before && strcmp(before, addr) != 0) {
            char payload[700];
            snprintf(payload, sizeof(payload), "%s %s %s", name, before, addr);
            publish(s, "+switch-master", payload);
            log_msg(LOG_NOTICE, "sentinel: +switch-master %s", payload);
        }
        json_object_set_new(seen, name, json_string(addr));
    }
    json_decref(names);
    json_decref(s->primaries);
    s->primaries = seen;
}

static int pubsub_allowed(const char *cmd)
{
    static const char *const ok[] = {"subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ping", "quit", "reset"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcasecmp(cmd, ok[i]) == 0) return 1;
    return 0;
}

static void dispatch(struct sentinel *s, struct sn_client *cl, int argc, char **argv)
{
    if (argc == 0) return;
    if (cl->nsubs > 0 && !pubsub_allowed(argv[0])) {
        char name[65];
        size_t n = 0;
        for (; argv[0][n] && n < sizeof(name) - 1; n++) name[n] = (char)tolower((unsigned char)argv[0][n]);
        name[n] = '\0';
        outf(cl, "-ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
                 "allowed in this context\r\n", name);
        return;
    }
    if (strcasecmp(argv[0], "ping") == 0 && cl->nsubs > 0) out_raw(cl, "*2\r\n$4\r\npong\r\n$0\r\n\r\n", 20);
    else if (strcasecmp(argv[0], "ping") == 0) out_raw(cl, "+PONG\r\n", 7);
    else if (strcasecmp(argv[0], "subscribe") == 0) subscribe(cl, argc, argv, 0);
    else if (strcasecmp(argv[0], "psubscribe") == 0) subscribe(cl, argc, argv, 1);
    else if (strcasecmp(argv[0], "unsubscribe") == 0) unsubscribe(cl, argc, argv, 0);
    else if (strcasecmp(argv[0], "punsubscribe") == 0) unsubscribe(cl, argc, argv, 1);
    else if (strcasecmp(argv[0], "reset") == 0) { cl->nsubs = 0; out_raw(cl, "+RESET\r\n", 8); }
    else if (strcasecmp(argv[0], "sentinel") == 0) sentinel_cmd(s, cl, argc, argv);
    else if (strcasecmp(argv[0], "quit") == 0) { out_raw(cl, "+OK\r\n", 5); cl->closing = 2; }
    else if (strcasecmp(argv[0], "client") == 0) out_raw(cl, "+OK\r\n", 5); /* SETNAME and friends */
    else outf(cl, "-ERR unknown command '%.64s'\r\n", argv[0]);
}

/* ---- parsing: RESP arrays of bulk strings, or inline commands ------------------- */

/* Parses one command from cl->in; returns bytes used, 0 if incomplete, -1 on
 * a protocol error. argv points into cl->in (NUL-terminated in place). */
static long parse_command(struct sn_client *cl, int *argc, char **argv)
{
    char *buf = cl->in, *end = cl->in + cl->inlen;
    char *nl = memchr(buf, '\n', cl->inlen);
    if (nl == NULL) return cl->inlen >= SN_INBUF ? -1 : 0;
    *argc = 0;
    if (buf[0] != '*') { /* inline: words separated by spaces */
        *nl = '\0';
        if (nl > buf && nl[-1] == '\r') nl[-1] = '\0';
        for (char *save = NULL, *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
            if (*argc < SN_MAX_ARGS) argv[(*argc)++] = w;
        return nl + 1 - buf;
    }
    long n = strtol(buf + 1, NULL, 10);
    if (n < 0 || n > SN_MAX_ARGS) return -1;
    char *p = nl + 1;
    for (long i = 0; i < n; i++) {
        char *lnl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        if (lnl == NULL) return 0;
        if (*p != '$') return -1;
        long len = strtol(p + 1, NULL, 10);
        if (len < 0 || len > SN_INBUF) return -1;
        char *data = lnl + 1;
        if (end - data < len + 2) return 0;
        data[len] = '\0';
        argv[(*argc)++] = data;
        p = data + len + 2;
    }
    return p - buf;
}

static void serve_input(struct sentinel *s, struct sn_client *cl)
{
    for (;;) {
        int argc = 0;
        char *argv[SN_MAX_ARGS];
        long used = parse_command(cl, &argc, argv);
        if (used == 0 && cl->inlen == SN_INBUF) used = -1; /* a command larger than the buffer */
        if (used < 0) { out_raw(cl, "-ERR Protocol error\r\n", 21); cl->closing = 2; return; }
        if (used == 0) return;
        dispatch(s, cl, argc, argv);
        memmove(cl->in, cl->in + used, cl->inlen - (size_t)used);
        cl->inlen -= (size_t)used;
    }
}

/* ---- the event loop ---------------------------------------------------------------- */

static void drop(struct sn_client *cl)
{
    close(cl->fd);
    free(cl->out);
    memset(cl, 0, sizeof(*cl));
    cl->fd = -1;
}

static void accept_one(struct sentinel *s)
{
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    for (int i = 0; i < SN_MAX_CLIENTS; i++)
        if (s->clients[i].fd < 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            s->clients[i].fd = fd;
            return;
        }
    close(fd); /* full */
}

static void on_readable(struct sentinel *s, struct sn_client *cl)
{
    ssize_t n = read(cl->fd, cl->in + cl->inlen, SN_INBUF - cl->inlen);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) { cl->closing = 1; cl->outlen = 0; return; }
    if (n > 0) cl->inlen += (size_t)n;
    serve_input(s, cl);
}

static void on_writable(struct sn_client *cl)
{
    ssize_t n = write(cl->fd, cl->out, cl->outlen);
    if (n < 0 && errno != EAGAIN && errno != EINTR) { cl->closing = 1; cl->outlen = 0; return; }
    if (n > 0) {
        memmove(cl->out, cl->out + n, cl->outlen - (size_t)n);
        cl->outlen -= (size_t)n;
    }
}

static void loop(struct sentinel *s)
{
    struct pollfd pfd[SN_MAX_CLIENTS + 1];
    int idx[SN_MAX_CLIENTS + 1];
    while (!s->c->stopping) {
        int n = 0;
        pfd[n] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
        idx[n++] = -1;
        for (int i = 0; i < SN_MAX_CLIENTS; i++) {
            struct sn_client *cl = &s->clients[i];
            if (cl->fd < 0) continue;
            pfd[n] = (struct pollfd){.fd = cl->fd, .events = (short)(cl->outlen ? POLLOUT : POLLIN)};
            idx[n++] = i;
        }
        if (poll(pfd, (nfds_t)n, SN_WATCH_MS) < 0 && errno != EINTR) break;
        watch_primaries(s);
        for (int k = 0; k < n; k++) {
            if (pfd[k].revents == 0) continue;
            if (idx[k] < 0) { accept_one(s); continue; }
            struct sn_client *cl = &s->clients[idx[k]];
            if (pfd[k].revents & POLLOUT) on_writable(cl);
            else on_readable(s, cl);
            if (cl->closing && cl->outlen == 0) drop(cl);
            else if (pfd[k].revents & (POLLERR | POLLNVAL)) drop(cl);
        }
    }
}

static int listen_on(const char *addr, char *err, size_t errlen)
{
    char host[128];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) { snprintf(err, errlen, "--sentinel-listen: HOST:PORT"); return -1; }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (*end || port < 1 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "--sentinel-listen: HOST:PORT with an IPv4 address");
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0) {
        snprintf(err, errlen, "sentinel port %s: %s", addr, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static struct sentinel sentinel;

int sentinel_start(struct ctl *c, char *err, size_t errlen)
{
    struct sentinel *s = &sentinel;
    s->c = c;
    for (int i = 0; i < SN_MAX_CLIENTS; i++) s->clients[i].fd = -1;
    s->listen_fd = listen_on(c->cfg.sentinel_listen, err, errlen);
    if (s->listen_fd < 0) return -1;
    s->db = store_open(c->cfg.db_path, err, errlen);
    if (s->db == NULL) { close(s->listen_fd); return -1; }
    return 0;
}

void *sentinel_thread(void *arg)
{
    (void)arg;
    struct sentinel *s = &sentinel;
    log_msg(LOG_NOTICE, "Sentinel discovery on %s", s->c->cfg.sentinel_listen);
    loop(s);
    for (int i = 0; i < SN_MAX_CLIENTS; i++)
        if (s->clients[i].fd >= 0) drop(&s->clients[i]);
    close(s->listen_fd);
    json_decref(s->primaries);
    store_close(s->db);
    return NULL;
}
