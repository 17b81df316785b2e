/* migrate_snapshot.c: the slots' keys as a slot move's forked child writes
 * them straight to the target's socket (docs/cluster.md, "Moving slots").
 * A key goes as one RESTORE key abs-ttl payload REPLACE ABSTTL; a big list,
 * set, sorted set or hash goes in parts (DEL, then RPUSH / SADD / ZADD /
 * HSET of PART_ELEMENTS elements each, then PEXPIREAT), because the target
 * applies each command whole in its event loop: a RESTORE of a sorted set
 * of a million members stalls it for most of a second, a part for about a
 * millisecond. Streams always go whole. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "migrate_snapshot.h"
#include "object.h"
#include "server.h"
#include "slot.h"
#include "snapshot.h"
#include "t_hash.h"
#include "t_list.h"
#include "t_set.h"
#include "t_zset.h"
#include "util.h"

/* The socket is non-blocking (shared with the parent), so a full socket is
 * waited for with poll(), at most SNAPSHOT_STALL_MS at a time. */
#define SNAPSHOT_STALL_MS 60000
#define BIG_KEY_ELEMENTS 4096
#define PART_ELEMENTS 1024

struct sock_writer {
    int fd;
    size_t used;
    long long total;
    char buf[1 << 16];
};

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n >= 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, SNAPSHOT_STALL_MS) <= 0) return -1; /* stalled or failed */
    }
    return 0;
}

static int sw_flush(struct sock_writer *w)
{
    int rc = write_all(w->fd, w->buf, w->used);
    w->used = 0;
    return rc;
}

static int sw_put(struct sock_writer *w, const char *p, size_t len)
{
    w->total += (long long)len;
    if (len > sizeof(w->buf) - w->used && sw_flush(w) == -1) return -1;
    if (len > sizeof(w->buf)) return write_all(w->fd, p, len);
    memcpy(w->buf + w->used, p, len);
    w->used += len;
    return 0;
}

static int sw_header(struct sock_writer *w, char type, size_t n)
{
    char head[32];
    int len = snprintf(head, sizeof(head), "%c%zu\r\n", type, n);
    return sw_put(w, head, (size_t)len);
}

static int sw_bulk(struct sock_writer *w, const char *p, size_t len)
{
    return sw_header(w, '$', len) == -1 || sw_put(w, p, len) == -1 || sw_put(w, "\r\n", 2) == -1 ? -1 : 0;
}

/* A command whose arguments after the key are already RESP bulks. */
static int sw_command(struct sock_writer *w, const char *name, const entry *e, size_t more_args, const char *args,
                      size_t args_len)
{
    return sw_header(w, '*', 2 + more_args) == -1 || sw_bulk(w, name, strlen(name)) == -1 ||
                   sw_bulk(w, entry_key(e), e->keylen) == -1 || sw_put(w, args, args_len) == -1
               ? -1
               : 0;
}

static int write_restore(struct sock_writer *w, const entry *e)
{
    static const char tail[] = "$7\r\nREPLACE\r\n$6\r\nABSTTL\r\n";
    size_t len;
    unsigned char *payload = snapshot_dump_payload(e, &len);
    long long ttl = entry_expire(e);
    char num[24];
    size_t nlen = ll2str(num, sizeof(num), ttl < 0 ? 0 : ttl);
    int rc = sw_header(w, '*', 6) == -1 || sw_bulk(w, "RESTORE", 7) == -1 ||
                     sw_bulk(w, entry_key(e), e->keylen) == -1 || sw_bulk(w, num, nlen) == -1 ||
                     sw_bulk(w, (const char *)payload, len) == -1 || sw_put(w, tail, sizeof(tail) - 1) == -1
                 ? -1
                 : 0;
    zfree(payload);
    return rc;
}

/* ---- big keys in parts ------------------------------------------------------- */

struct parts {
    struct sock_writer *w;
    const entry *e;
    const char *cmd;
    char *buf; /* this part's arguments after the key, as bulks */
    size_t used, cap, args;
    int rc;
};

static void part_flush(struct parts *p)
{
    if (p->args == 0 || p->rc == -1) return;
    p->rc = sw_command(p->w, p->cmd, p->e, p->args, p->buf, p->used);
    p->used = p->args = 0;
}

static void part_arg(struct parts *p, const char *s, size_t len)
{
    char head[32];
    int hlen = snprintf(head, sizeof(head), "$%zu\r\n", len);
    size_t need = (size_t)hlen + len + 2;
    if (p->used + need > p->cap) {
        p->cap = (p->used + need) * 2;
        p->buf = zrealloc(p->buf, p->cap);
    }
    memcpy(p->buf + p->used, head, (size_t)hlen);
    memcpy(p->buf + p->used + hlen, s, len);
    memcpy(p->buf + p->used + (size_t)hlen + len, "\r\n", 2);
    p->used += need;
    p->args++;
}

/* One element done: a part is full at PART_ELEMENTS of them. */
static void part_element_done(struct parts *p, size_t args_per_element)
{
    if (p->args >= PART_ELEMENTS * args_per_element) part_flush(p);
}

static void part_member(void *priv, const char *s, size_t len)
{
    part_arg(priv, s, len);
    part_element_done(priv, 1);
}

static void parts_of_zset(struct parts *p, const void *z)
{
    zs_iter it;
    const char *m;
    size_t ml;
    double score;
    char num[64];
    zs_iter_init(&it, z, 0, 0);
    while (zs_iter_next(&it, &m, &ml, &score)) {
        part_arg(p, num, d2str(num, sizeof(num), score));
        part_arg(p, m, ml);
        part_element_done(p, 2);
    }
    zs_iter_release(&it);
}

static void parts_of_hash(struct parts *p, void *h)
{
    hash_iter it;
    const char *f, *v;
    size_t fl, vl;
    hash_iter_init(&it, h);
    while (hash_iter_next(&it, &f, &fl, &v, &vl)) {
        part_arg(p, f, fl);
        part_arg(p, v, vl);
        part_element_done(p, 2);
    }
    hash_iter_release(&it);
}

static size_t elements(const entry *e)
{
    if (e->type == TYPE_STRING || e->type == TYPE_STREAM) return 0; /* they go whole */
    void *obj = entry_object(e);
    switch ((enum value_type)e->type) {
    case TYPE_LIST: return ((const qlist *)obj)->count;
    case TYPE_SET: return set_size(obj);
    case TYPE_ZSET: return zs_len(obj);
    case TYPE_HASH: return hash_length(obj);
    default: return 0;
    }
}

static int write_in_parts(struct sock_writer *w, const entry *e)
{
    static const char *const commands[] = {[TYPE_LIST] = "RPUSH", [TYPE_SET] = "SADD", [TYPE_ZSET] = "ZADD",
                                           [TYPE_HASH] = "HSET"};
    struct parts p = {.w = w, .e = e, .cmd = commands[e->type]};
    p.rc = sw_command(w, "DEL", e, 0, "", 0); /* a stale copy on the target goes, as with REPLACE */
    void *obj = entry_object(e);
    if (e->type == TYPE_ZSET) parts_of_zset(&p, obj);
    else if (e->type == TYPE_HASH) parts_of_hash(&p, obj);
    else object_type(e->type)->each_element(obj, part_member, &p);
    part_flush(&p);
    zfree(p.buf);
    long long when = entry_expire(e);
    if (p.rc == 0 && when >= 0) {
        char num[24], arg[48];
        size_t nlen = ll2str(num, sizeof(num), when);
        int alen = snprintf(arg, sizeof(arg), "$%zu\r\n%s\r\n", nlen, num);
        p.rc = sw_command(w, "PEXPIREAT", e, 1, arg, (size_t)alen);
    }
    return p.rc;
}

static int write_key(void *priv, const entry *e)
{
    struct sock_writer *w = priv;
    return elements(e) > BIG_KEY_ELEMENTS ? write_in_parts(w, e) : write_restore(w, e);
}

int migrate_write_slots(int fd, const unsigned char *slots, long long *bytes)
{
    struct sock_writer *w = zmalloc(sizeof(*w));
    w->fd = fd;
    w->used = 0;
    w->total = 0;
    int rc = 0;
    for (unsigned s = 0; s < CLUSTER_SLOTS && rc == 0; s++)
        if (slot_bit(slots, s) && db_walk_slot(server.dbs[0], s, write_key, w) == -1) rc = -1;
    if (rc == 0) rc = sw_flush(w);
    *bytes = w->total;
    zfree(w);
    return rc;
}
