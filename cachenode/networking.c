/* networking.c: the listening socket, client lifecycle, reading and parsing
 * requests (RESP multibulk and inline), and writing replies.
 *
 * Arguments are parsed in place: argv entries point into the query buffer,
 * so a GET costs no copy of its key. When the buffer moves (growth or
 * compaction) the pointers of a half-parsed command are rebased. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "eventloop.h"
#include "log.h"
#include "proto.h"
#include "pubsub.h"
#include "cluster.h"
#include "server.h"
#include "tracking.h"

static void read_from_client(int fd, void *data, int mask);
static void write_handler(int fd, void *data, int mask);

/* ---- sockets ------------------------------------------------------------ */

static void format_addr(const struct sockaddr_storage *sa, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        port = ntohs(s->sin_port);
        snprintf(buf, size, "%s:%d", ip, port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        port = ntohs(s->sin6_port);
        snprintf(buf, size, "[%s]:%d", ip, port);
    } else {
        snprintf(buf, size, "?:0");
    }
}

client *client_create(int fd)
{
    client *c = zcalloc(sizeof(client));
    c->id = ++server.next_client_id;
    c->fd = fd;
    c->resp = 2;
    c->db = server.dbs[0];
    c->bulk_len = -1;
    c->buf = zmalloc(PROTO_REPLY_CHUNK);
    c->ctime = server.unixtime;
    c->last_interaction_ms = server.now_ms;
    if (server.requirepass == NULL || server.requirepass[0] == '\0')
        c->flags |= CLIENT_AUTHENTICATED;

    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    if (getpeername(fd, (struct sockaddr *)&sa, &len) == 0) format_addr(&sa, c->addr, sizeof(c->addr));
    len = sizeof(sa);
    if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0) format_addr(&sa, c->laddr, sizeof(c->laddr));

    c->next = server.clients;
    if (server.clients) server.clients->prev = c;
    server.clients = c;
    server.connected_clients++;
    if (el_add(fd, EL_READABLE, read_from_client, c) == -1) {
        log_msg(LOG_WARNING, "Registering client fd: %s", strerror(errno));
        free_client(c);
        return NULL;
    }
    return c;
}

static void accept_handler(int lfd, void *data, int mask)
{
    (void)data;
    (void)mask;
    for (int i = 0; i < 1000; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_msg(LOG_WARNING, "Accepting client connection: %s", strerror(errno));
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (server.tcp_keepalive > 0) setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        server.stat_numconnections++;
        if (server.connected_clients >= (size_t)server.maxclients) {
            static const char err[] = "-ERR max number of clients reached\r\n";
            if (write(fd, err, sizeof(err) - 1) < 0) { /* best effort */ }
            close(fd);
            server.stat_rejected_conn++;
            continue;
        }
        client_create(fd);
    }
}

int listen_tcp(const char *bind_addr, int port, int backlog)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t sslen;
    char first[128];
    snprintf(first, sizeof(first), "%s", bind_addr && bind_addr[0] ? bind_addr : "0.0.0.0");
    first[strcspn(first, " ")] = '\0'; /* one address for now: the first */
    if (strcmp(first, "*") == 0) snprintf(first, sizeof(first), "0.0.0.0");
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, first, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        sslen = sizeof(*s4);
    } else if (inet_pton(AF_INET6, strcmp(first, "-::*") == 0 ? "::" : first, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        sslen = sizeof(*s6);
    } else {
        log_msg(LOG_WARNING, "Invalid bind address '%s'", first);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        log_msg(LOG_WARNING, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sslen) == -1 || listen(fd, backlog) == -1) {
        log_msg(LOG_WARNING, "Could not create server TCP listening socket %s:%d: %s", first,
                port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int server_listen(void)
{
    int fd = listen_tcp(server.bind, server.port, server.tcp_backlog);
    if (fd == -1) return -1;
    server.listen_fd = fd;
    if (el_add(fd, EL_READABLE, accept_handler, NULL) == -1) return -1;
    return 0;
}

/* ---- client teardown ------------------------------------------------------ */

static void free_reply_list(client *c)
{
    struct reply_block *b = c->reply_head;
    while (b) {
        struct reply_block *next = b->next;
        if (b->kind == BLOCK_FILE && b->file_fd >= 0) close(b->file_fd);
        zfree(b);
        b = next;
    }
    c->reply_head = c->reply_tail = NULL;
    c->reply_bytes = 0;
}

static void unlink_pending(client *c)
{
    if (!(c->flags & CLIENT_PENDING_WRITE)) return;
    client **p = &server.pending_writes;
    while (*p && *p != c) p = &(*p)->pending_next;
    if (*p) *p = c->pending_next;
    c->flags &= ~CLIENT_PENDING_WRITE;
}

/* Unblocked clients with pipelined requests waiting, resumed before the
 * event loop sleeps (at most one entry per client). */
static client **to_resume;
static int n_to_resume, to_resume_cap;

static void forget_resume(client *c)
{
    for (int i = 0; i < n_to_resume; i++)
        if (to_resume[i] == c) to_resume[i--] = to_resume[--n_to_resume];
}

void free_client(client *c)
{
    if (c->flags & CLIENT_PROTECTED) {
        close_client_async(c);
        return;
    }
    if (server.current_client == c) server.current_client = NULL;
    replication_client_freed(c);
    if (server.cluster_enabled) migrate_client_freed(c);
    if (c->kblock) blocking_client_freed(c);
    multi_client_reset(c);
    monitor_remove(c);
    pubsub_client_reset(c);
    tracking_client_reset(c);
    if (n_to_resume > 0) forget_resume(c);
    if (c->fd >= 0) {
        el_del(c->fd, EL_READABLE | EL_WRITABLE);
        close(c->fd);
        c->fd = -1;
    }
    unlink_pending(c);
    if (c->prev) c->prev->next = c->next;
    else server.clients = c->next;
    if (c->next) c->next->prev = c->prev;
    server.connected_clients--;
    free_reply_list(c);
    zfree(c->buf);
    zfree(c->querybuf);
    zfree(c->argv);
    zfree(c->name);
    zfree(c->lib_name);
    zfree(c->lib_ver);
    zfree(c);
}

void close_client_async(client *c)
{
    c->flags |= CLIENT_CLOSE_ASAP;
    if (!(c->flags & CLIENT_PENDING_WRITE) && c->fd >= 0) {
        /* the pending list is where closing happens, see handle_pending_writes */
        c->flags |= CLIENT_PENDING_WRITE;
        c->pending_next = server.pending_writes;
        server.pending_writes = c;
    }
}

client *client_by_id(uint64_t id)
{
    for (client *c = server.clients; c; c = c->next)
        if (c->id == id) return c;
    return NULL;
}

void process_client_input(client *c)
{
    c->flags |= CLIENT_PROTECTED;
    while (c->qb_pos < c->qb_len) {
        if (c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP | CLIENT_BLOCKED)) break;
        if (proto_parse_request(c) != PARSE_OK) break;
        if (c->argc > 0) {
            server.current_client = c;
            command_execute(c);
            server.current_client = NULL;
        }
        if (c->flags & CLIENT_MASTER) replication_master_applied(c, c->qb_pos - c->req_start);
        else if (c->flags & CLIENT_IMPORT) migrate_link_applied(c, c->qb_pos - c->req_start);
        proto_reset_request(c);
    }
    c->flags &= ~CLIENT_PROTECTED;
    proto_compact(c);
}

void block_client(client *c, long long deadline_ms)
{
    c->flags |= CLIENT_BLOCKED;
    c->block_deadline_ms = deadline_ms;
}

void unblock_client(client *c)
{
    if (!(c->flags & CLIENT_BLOCKED)) return;
    c->flags &= ~CLIENT_BLOCKED;
    c->block_deadline_ms = 0;
    /* requests that arrived while blocked run now, unless we are inside
     * another client's command: then they run before the loop sleeps */
    if (c->qb_pos >= c->qb_len) return;
    if (server.current_client == NULL) {
        process_client_input(c);
        if (c->flags & CLIENT_CLOSE_ASAP) free_client(c);
    } else {
        for (int i = 0; i < n_to_resume; i++)
            if (to_resume[i] == c) return;
        if (n_to_resume == to_resume_cap) {
            to_resume_cap = to_resume_cap ? to_resume_cap * 2 : 16;
            to_resume = zrealloc(to_resume, sizeof(client *) * (size_t)to_resume_cap);
        }
        to_resume[n_to_resume++] = c;
    }
}

void resume_unblocked_clients(void)
{
    while (n_to_resume > 0) {
        client *c = to_resume[--n_to_resume];
        if (c->flags & CLIENT_BLOCKED) continue;
        process_client_input(c);
        if (c->flags & CLIENT_CLOSE_ASAP) free_client(c);
    }
}

static void read_from_client(int fd, void *data, int mask)
{
    (void)mask;
    client *c = data;
    /* while a busy script lets the loop run: its own caller is mid-command,
     * and our primary's stream (or a slot move's) waits until the script
     * ends, since -BUSY there would lose a command silently */
    if ((c->flags & CLIENT_PROTECTED) || ((c->flags & (CLIENT_MASTER | CLIENT_IMPORT)) && script_busy_refusal(0)))
        return;
    size_t want = PROTO_IOBUF_LEN;
    /* inside a big bulk: make room for all of it at once, so it is read
     * straight into place instead of through repeated reallocations */
    if (c->reqtype == '*' && c->bulk_len >= PROTO_MBULK_BIG_ARG) {
        size_t rest = (size_t)c->bulk_len + 2 - (c->qb_len - c->qb_pos);
        if (rest > want) want = rest;
    }
    proto_reserve(c, want);
    ssize_t n = read(fd, c->querybuf + c->qb_len, c->qb_cap - c->qb_len);
    if (n == 0) {
        free_client(c);
        return;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        log_msg(LOG_VERBOSE, "Reading from client: %s", strerror(errno));
        free_client(c);
        return;
    }
    c->qb_len += (size_t)n;
    if (c->qb_len > c->qb_peak) c->qb_peak = c->qb_len;
    c->last_interaction_ms = server.now_ms;
    server.stat_net_input_bytes += n;
    if (server.client_query_buffer_limit && !(c->flags & CLIENT_MASTER) &&
        c->qb_len > (size_t)server.client_query_buffer_limit) {
        log_msg(LOG_WARNING, "Closing client that reached max query buffer length: id=%llu addr=%s",
                (unsigned long long)c->id, c->addr);
        server.stat_client_qbuf_limit_disconnections++;
        free_client(c);
        return;
    }
    process_client_input(c);
    if (c->flags & CLIENT_CLOSE_ASAP) free_client(c);
}

/* ---- writing ------------------------------------------------------------ */

size_t client_output_bytes(const client *c) { return c->reply_bytes + c->bufpos; }

static int has_pending_output(const client *c) { return c->bufpos > 0 || c->reply_head != NULL; }

/* Output that can go out now: everything up to a file block still waiting
 * for its snapshot. */
static int has_writable_output(const client *c)
{
    if (c->bufpos > 0) return 1;
    const struct reply_block *h = c->reply_head;
    return h && !(h->kind == BLOCK_FILE && h->file_fd == -1);
}

/* Sends the file block at the head of the list: the header, then the file.
 * Returns 1 when the block is done, 0 when the socket is full or the block
 * is not ready, -1 on error. */
static int send_file_block(client *c)
{
    struct reply_block *b = c->reply_head;
    if (b->file_fd == FILE_SENT_ELSEWHERE) { /* a child wrote it; the stream follows */
        c->reply_head = b->next;
        if (c->reply_head == NULL) c->reply_tail = NULL;
        zfree(b);
        return 1;
    }
    if (b->file_fd < 0) return 0;
    while (b->header_sent < b->header_len) {
        ssize_t n = write(c->fd, b->header + b->header_sent, b->header_len - b->header_sent);
        if (n < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        b->header_sent += (size_t)n;
    }
    while (b->file_off < b->file_size) {
        off_t off = (off_t)b->file_off;
        size_t chunk = (size_t)(b->file_size - b->file_off);
        if (chunk > 1024 * 1024) chunk = 1024 * 1024;
        ssize_t n = sendfile(c->fd, b->file_fd, &off, chunk);
        if (n < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        if (n == 0) return -1; /* the file is shorter than it was */
        b->file_off = off;
        server.stat_net_output_bytes += n;
    }
    close(b->file_fd);
    c->reply_head = b->next;
    if (c->reply_head == NULL) c->reply_tail = NULL;
    zfree(b);
    replication_snapshot_sent(c);
    return 1;
}

/* Writes as much as the socket takes; returns -1 if the client was freed. */
static int write_to_client(client *c)
{
    for (int rounds = 0; rounds < 16 && has_writable_output(c); rounds++) {
        if (c->bufpos == 0 && c->reply_head->kind == BLOCK_FILE) {
            int r = send_file_block(c);
            if (r < 0) {
                log_msg(LOG_WARNING, "Error sending the snapshot to replica %s: %s", c->addr, strerror(errno));
                free_client(c);
                return -1;
            }
            if (r == 0) break;
            continue;
        }
        struct iovec iov[16];
        int iovcnt = 0;
        size_t skip = c->sentlen;
        if (c->bufpos > 0) {
            iov[iovcnt].iov_base = c->buf + skip;
            iov[iovcnt].iov_len = c->bufpos - skip;
            iovcnt++;
            skip = 0;
        }
        for (struct reply_block *b = c->reply_head; b && b->kind == BLOCK_BYTES && iovcnt < 16; b = b->next) {
            if (b->used <= skip) { skip -= b->used; continue; }
            iov[iovcnt].iov_base = b->buf + skip;
            iov[iovcnt].iov_len = b->used - skip;
            iovcnt++;
            skip = 0;
        }
        if (iovcnt == 0) break;
        /* write(2) is cheaper than writev(2) for the common single buffer */
        ssize_t n = iovcnt == 1 ? write(c->fd, iov[0].iov_base, iov[0].iov_len)
                                : writev(c->fd, iov, iovcnt);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
            log_msg(LOG_VERBOSE, "Error writing to client: %s", strerror(errno));
            free_client(c);
            return -1;
        }
        server.stat_net_output_bytes += n;
        size_t done = (size_t)n + c->sentlen;
        c->sentlen = 0;
        if (c->bufpos > 0) {
            if (done >= c->bufpos) {
                done -= c->bufpos;
                c->bufpos = 0;
            } else {
                c->sentlen = done;
                break; /* the socket took less than we offered: it is full */
            }
        }
        while (c->reply_head && c->reply_head->kind == BLOCK_BYTES && done >= c->reply_head->used) {
            struct reply_block *b = c->reply_head;
            done -= b->used;
            c->reply_bytes -= b->used;
            c->reply_head = b->next;
            zfree(b);
        }
        if (c->reply_head == NULL) c->reply_tail = NULL;
        c->sentlen = done; /* bytes of the head block already sent */
    }
    if (!has_pending_output(c) && (c->flags & CLIENT_CLOSE_AFTER_REPLY)) {
        free_client(c);
        return -1;
    }
    if (!has_writable_output(c)) {
        if (el_mask(c->fd) & EL_WRITABLE) el_del(c->fd, EL_WRITABLE);
    } else if (!(el_mask(c->fd) & EL_WRITABLE)) {
        if (el_add(c->fd, EL_WRITABLE, write_handler, c) == -1) {
            free_client(c);
            return -1;
        }
    }
    return 0;
}

int client_write_now(client *c) { return write_to_client(c); }

static void write_handler(int fd, void *data, int mask)
{
    (void)fd;
    (void)mask;
    write_to_client(data);
}

void handle_pending_writes(void)
{
    while (server.pending_writes) {
        client *c = server.pending_writes;
        server.pending_writes = c->pending_next;
        c->flags &= ~CLIENT_PENDING_WRITE;
        if (c->flags & CLIENT_CLOSE_ASAP) {
            free_client(c);
            continue;
        }
        if (c->fd >= 0) write_to_client(c);
    }
}

/* ---- periodic work -------------------------------------------------------- */

void clients_cron(void)
{
    if (server.timeout <= 0) return;
    client *c = server.clients;
    while (c) {
        client *next = c->next;
        if (!(c->flags & (CLIENT_MASTER | CLIENT_IMPORT | CLIENT_REPLICA | CLIENT_BLOCKED)) &&
            server.now_ms - c->last_interaction_ms > (long long)server.timeout * 1000) {
            log_msg(LOG_VERBOSE, "Closing idle client");
            free_client(c);
        }
        c = next;
    }
}

/* ---- CLIENT LIST lines ------------------------------------------------------ */

size_t client_info_line(client *c, char *buf, size_t size)
{
    char events[3] = {0};
    int m = c->fd >= 0 ? el_mask(c->fd) : 0, ei = 0;
    if (m & EL_READABLE) events[ei++] = 'r';
    if (m & EL_WRITABLE) events[ei++] = 'w';
    char flags[16];
    int fi = 0;
    /* Redis's letters, in Redis's order */
    if (c->flags & CLIENT_MONITOR) flags[fi++] = 'O';
    if (c->flags & CLIENT_REPLICA) flags[fi++] = 'S';
    if (c->flags & CLIENT_MASTER) flags[fi++] = 'M';
    if (c->flags & CLIENT_PUBSUB) flags[fi++] = 'P';
    if (c->flags & CLIENT_MULTI) flags[fi++] = 'x';
    if (c->flags & CLIENT_BLOCKED) flags[fi++] = 'b';
    if (c->flags & CLIENT_TRACKING) flags[fi++] = 't';
    if (c->flags & CLIENT_TRACKING_BROKEN_REDIR) flags[fi++] = 'R';
    if (c->flags & CLIENT_TRACKING_BCAST) flags[fi++] = 'B';
    if (c->flags & CLIENT_DIRTY_CAS) flags[fi++] = 'd';
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) flags[fi++] = 'c';
    if (c->flags & CLIENT_CLOSE_ASAP) flags[fi++] = 'A';
    if (c->flags & CLIENT_NO_EVICT) flags[fi++] = 'e';
    if (fi == 0) flags[fi++] = 'N';
    flags[fi] = '\0';
    const char *cmd = c->last_cmd ? c->last_cmd->name : "NULL";
    if (c->cmd) cmd = c->cmd->name;
    long sub, psub, ssub;
    pubsub_client_counts(c, &sub, &psub, &ssub);
    int n = snprintf(buf, size,
                     "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d "
                     "sub=%ld psub=%ld ssub=%ld multi=%d qbuf=%zu qbuf-free=%zu argv-mem=%zu "
                     "multi-mem=%zu rbs=%d rbp=%zu obl=%zu oll=%zu omem=%zu tot-mem=%zu "
                     "events=%s cmd=%s user=default redir=%lld resp=%d lib-name=%s lib-ver=%s",
                     (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
                     (long long)(server.unixtime - c->ctime),
                     (server.now_ms - c->last_interaction_ms) / 1000, flags, c->dbid, sub, psub, ssub,
                     multi_queued_count(c), c->qb_len - c->qb_pos, c->qb_cap - c->qb_len, (size_t)0,
                     multi_queued_mem(c), PROTO_REPLY_CHUNK,
                     c->qb_peak, c->bufpos, (size_t)0, c->reply_bytes,
                     zmalloc_size(c) + zmalloc_size(c->buf) + zmalloc_size(c->querybuf) + c->reply_bytes,
                     events, cmd, tracking_redirect_id(c), c->resp, c->lib_name ? c->lib_name : "",
                     c->lib_ver ? c->lib_ver : "");
    return n < 0 ? 0 : ((size_t)n >= size ? size - 1 : (size_t)n);
}

int net_connect_nonblock(const char *host, int port, char *err, size_t errlen)
{
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    err[0] = '\0';
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        freeaddrinfo(res);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    rc = connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc == -1 && errno != EINPROGRESS) {
        snprintf(err, errlen, "cannot connect to %s:%d: %s", host, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
