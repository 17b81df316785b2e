/* mc_server.c: the memcached engine's process: the listening socket, the
 * worker threads and their connections, signals and shutdown. The main
 * thread accepts connections and hands them to the workers in turn (each
 * worker has its own epoll loop and owns its connections to the end); it
 * also waits for signals (SIGTERM/SIGINT stop, SIGHUP reloads the
 * discovery file) and polls the discovery file once a second. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "mc.h"
#include "server.h"

#define READ_CHUNK (16 * 1024)
#define OUT_HIGH (1024 * 1024) /* stop running requests while this much waits to be sent */
#define QUEUE_MAX 1024          /* accepted fds waiting for their worker */

struct conn {
    int fd;
    char *rbuf;
    size_t rlen, rcap;
    struct mc_buf out;
    size_t wpos;
    int want_write; /* EPOLLOUT registered */
    struct mc_session sess;
    struct conn *prev, *next;
};

struct worker {
    pthread_t thread;
    int epfd, evfd;
    pthread_mutex_t qlock;
    int queue[QUEUE_MAX];
    int qlen;
    struct conn *conns;
    struct mc_worker_stats stats;
};

static struct worker *workers;
static int nworkers;
static atomic_int stopping;
static atomic_int verbosity;
static _Atomic uint64_t curr_conns, total_conns, rejected_conns;
static size_t rbuf_limit;

void mc_server_verbosity(int level) { atomic_store(&verbosity, level); }

void mc_server_info(struct mc_server_info *info)
{
    static struct mc_worker_stats *ptrs[256];
    info->threads = nworkers;
    info->port = server.port;
    info->maxconns = server.maxclients;
    info->curr_connections = atomic_load(&curr_conns);
    info->total_connections = atomic_load(&total_conns);
    info->rejected_connections = atomic_load(&rejected_conns);
    for (int i = 0; i < nworkers && i < 256; i++) ptrs[i] = &workers[i].stats;
    info->worker_stats = ptrs;
    info->nworkers = nworkers < 256 ? nworkers : 256;
}

/* ---- connections ---------------------------------------------------------------- */

static void conn_close(struct worker *w, struct conn *c)
{
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->prev) c->prev->next = c->next;
    else w->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    free(c->rbuf);
    free(c->out.data);
    free(c);
    atomic_fetch_sub(&curr_conns, 1);
}

/* A connection closed on an error: input already received is read and
 * dropped first (bounded), because closing a socket with unread input
 * resets it, and the reset can destroy the error line still in flight. */
static void conn_close_after_error(struct worker *w, struct conn *c)
{
    char sink[16384];
    for (int i = 0; i < 64 && read(c->fd, sink, sizeof(sink)) > 0; i++) {}
    shutdown(c->fd, SHUT_WR);
    conn_close(w, c);
}

static int conn_set_events(struct worker *w, struct conn *c, int want_write)
{
    if (c->want_write == want_write) return 0;
    struct epoll_event ev = {.events = want_write ? EPOLLOUT : EPOLLIN, .data.ptr = c};
    if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1) return -1;
    c->want_write = want_write;
    return 0;
}

/* Writes what it can; -1 on a dead socket. */
static int conn_flush(struct worker *w, struct conn *c)
{
    while (c->wpos < c->out.len) {
        ssize_t n = write(c->fd, c->out.data + c->wpos, c->out.len - c->wpos);
        if (n > 0) {
            c->wpos += (size_t)n;
            MC_STAT_ADD(&w->stats, bytes_written, (uint64_t)n);
            continue;
        }
        if (n == -1 && errno == EINTR) continue;
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return -1;
    }
    if (c->wpos == c->out.len) {
        c->wpos = c->out.len = 0;
        if (c->out.cap > OUT_HIGH) { /* a big reply's buffer is not kept */
            free(c->out.data);
            c->out.data = NULL;
            c->out.cap = 0;
        }
    }
    return 0;
}

/* Runs the complete requests in the input buffer, while the output is not
 * backed up; returns -1 when the connection must close (after a flush). */
static int conn_run(struct conn *c)
{
    size_t pos = 0;
    int rc = 0;
    while (c->out.len - c->wpos < OUT_HIGH) {
        long r = mc_process(&c->sess, c->rbuf + pos, c->rlen - pos);
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r == 0) break;
        pos += (size_t)r;
    }
    if (pos) {
        memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
        c->rlen -= pos;
    }
    return rc;
}

static void conn_readable(struct worker *w, struct conn *c)
{
    if (c->rcap - c->rlen < READ_CHUNK && c->rcap < rbuf_limit) {
        size_t cap = c->rcap ? c->rcap * 2 : READ_CHUNK;
        while (cap - c->rlen < READ_CHUNK && cap < rbuf_limit) cap *= 2;
        if (cap > rbuf_limit) cap = rbuf_limit;
        char *nb = realloc(c->rbuf, cap);
        if (!nb) {
            conn_close(w, c);
            return;
        }
        c->rbuf = nb;
        c->rcap = cap;
    }
    ssize_t n = c->rcap > c->rlen ? read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen) : 0;
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {
        conn_close(w, c);
        return;
    }
    c->rlen += (size_t)n;
    MC_STAT_ADD(&w->stats, bytes_read, (uint64_t)n);
    int closing = conn_run(c);
    if (conn_flush(w, c) == -1) {
        conn_close(w, c);
        return;
    }
    if (closing) {
        conn_close_after_error(w, c);
        return;
    }
    /* a reply that did not go out stops reading until it has */
    if (c->wpos < c->out.len && conn_set_events(w, c, 1) == -1) conn_close(w, c);
    else if (c->rlen == 0 && c->rcap > 4 * READ_CHUNK) { /* a big request's buffer is not kept */
        free(c->rbuf);
        c->rbuf = NULL;
        c->rcap = 0;
    }
}

static void conn_writable(struct worker *w, struct conn *c)
{
    if (conn_flush(w, c) == -1) {
        conn_close(w, c);
        return;
    }
    if (c->wpos < c->out.len) return;
    /* requests left waiting while the output was backed up */
    int closing = conn_run(c);
    if (conn_flush(w, c) == -1 || closing) {
        conn_close(w, c);
        return;
    }
    if (c->wpos == c->out.len && conn_set_events(w, c, 0) == -1) conn_close(w, c);
}

static void conn_new(struct worker *w, int fd)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->sess.out = &c->out;
    c->sess.stats = &w->stats;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
        log_msg(LOG_WARNING, "Registering a connection: %s", strerror(errno));
        close(fd);
        free(c);
        return;
    }
    c->next = w->conns;
    if (w->conns) w->conns->prev = c;
    w->conns = c;
}

/* ---- workers ------------------------------------------------------------------------- */

static void worker_take_queue(struct worker *w)
{
    uint64_t v;
    if (read(w->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN) { /* nothing to read is fine */ }
    int fds[QUEUE_MAX];
    pthread_mutex_lock(&w->qlock);
    int n = w->qlen;
    memcpy(fds, w->queue, sizeof(int) * (size_t)n);
    w->qlen = 0;
    pthread_mutex_unlock(&w->qlock);
    for (int i = 0; i < n; i++) conn_new(w, fds[i]);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event events[128];
    while (!atomic_load(&stopping)) {
        int n = epoll_wait(w->epfd, events, 128, 1000);
        if (n == -1 && errno != EINTR) {
            log_msg(LOG_WARNING, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == NULL) {
                worker_take_queue(w);
                continue;
            }
            struct conn *c = events[i].data.ptr;
            if (events[i].events & (EPOLLERR | EPOLLHUP) && !(events[i].events & EPOLLIN)) {
                conn_close(w, c);
                continue;
            }
            if (c->want_write) conn_writable(w, c);
            else conn_readable(w, c);
        }
    }
    while (w->conns) conn_close(w, w->conns);
    return NULL;
}

static int worker_init(struct worker *w)
{
    memset(w, 0, sizeof(*w));
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->epfd == -1 || w->evfd == -1 || pthread_mutex_init(&w->qlock, NULL) != 0) return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    return epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev);
}

static void worker_wake(struct worker *w)
{
    uint64_t one = 1;
    if (write(w->evfd, &one, sizeof(one)) < 0) { /* the counter is already set */ }
}

/* Hands fd to the next worker; 0, or -1 when its queue is full. */
static int dispatch_fd(int fd)
{
    static unsigned next;
    struct worker *w = &workers[next++ % (unsigned)nworkers];
    pthread_mutex_lock(&w->qlock);
    int ok = w->qlen < QUEUE_MAX;
    if (ok) w->queue[w->qlen++] = fd;
    pthread_mutex_unlock(&w->qlock);
    if (!ok) return -1;
    worker_wake(w);
    return 0;
}

/* ---- the listener and the main thread ---------------------------------------------- */

static void accept_some(int lfd)
{
    for (int i = 0; i < 256; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                log_msg(LOG_WARNING, "Accepting a connection: %s", strerror(errno));
            if (errno == EMFILE || errno == ENFILE) atomic_fetch_add(&rejected_conns, 1);
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (server.tcp_keepalive > 0) setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        atomic_fetch_add(&total_conns, 1);
        if (atomic_load(&curr_conns) >= (uint64_t)server.maxclients) {
            static const char err[] = "ERROR Too many open connections\r\n";
            if (write(fd, err, sizeof(err) - 1) < 0) { /* best effort */ }
            close(fd);
            atomic_fetch_add(&rejected_conns, 1);
            continue;
        }
        atomic_fetch_add(&curr_conns, 1);
        if (dispatch_fd(fd) == -1) {
            close(fd);
            atomic_fetch_sub(&curr_conns, 1);
            atomic_fetch_add(&rejected_conns, 1);
        }
    }
}

/* Blocks the signals the main thread takes through a signalfd (the workers
 * inherit the mask, so only the main thread sees them). */
static int signals_fd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Waits for connections and signals until SIGTERM or SIGINT. */
static void main_loop(int lfd, int sfd)
{
    struct pollfd pfd[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    uint32_t last_look = mc_now();
    for (;;) {
        int n = poll(pfd, 2, 1000);
        if (n == -1 && errno != EINTR) {
            log_msg(LOG_WARNING, "poll: %s", strerror(errno));
            return;
        }
        if (mc_now() != last_look) { /* once a second: look at the discovery file */
            last_look = mc_now();
            mc_discovery_reload();
        }
        if (n <= 0) continue;
        if (pfd[0].revents & POLLIN) accept_some(lfd);
        if (pfd[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGHUP) {
                    mc_discovery_reload();
                    continue;
                }
                log_msg(LOG_NOTICE, "Received %s, shutting down", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
                return;
            }
        }
    }
}

static int store_start(void)
{
    struct mc_store_config cfg;
    /* maxmemory 0 is memcached's default -m 64 */
    cfg.maxmemory = server.maxmemory > 0 ? (size_t)server.maxmemory : 64u * 1024 * 1024;
    cfg.max_item_size = (size_t)server.mc_max_item_size;
    cfg.evict = server.maxmemory_policy != MAXMEMORY_NOEVICTION;
    rbuf_limit = cfg.max_item_size + MC_GET_LINE_MAX + 2 * READ_CHUNK;
    return mc_store_init(&cfg);
}

int mc_main(void)
{
    if (store_start() == -1) {
        log_msg(LOG_WARNING, "Failed to initialise the store");
        return 1;
    }
    if (server.mc_discovery_file && server.mc_discovery_file[0] && mc_discovery_reload() == -1)
        log_msg(LOG_WARNING, "The discovery file is not usable yet; config get cluster serves an empty list");
    int sfd = signals_fd();
    int lfd = listen_tcp(server.bind, server.port, server.tcp_backlog);
    if (sfd == -1 || lfd == -1) return 1;
    nworkers = server.mc_threads;
    workers = calloc((size_t)nworkers, sizeof(*workers));
    if (!workers) return 1;
    for (int i = 0; i < nworkers; i++) {
        if (worker_init(&workers[i]) == -1 || pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            log_msg(LOG_WARNING, "Failed to start worker thread %d: %s", i, strerror(errno));
            return 1;
        }
    }
    log_msg(LOG_NOTICE, "cachenode %s (memcached protocol %s) started, pid=%d, port=%d, threads=%d", CN_VERSION,
            MC_VERSION, (int)getpid(), server.port, nworkers);
    log_msg(LOG_NOTICE, "Ready to accept connections tcp");
    main_loop(lfd, sfd);
    close(lfd);
    atomic_store(&stopping, 1);
    for (int i = 0; i < nworkers; i++) worker_wake(&workers[i]);
    for (int i = 0; i < nworkers; i++) {
        pthread_join(workers[i].thread, NULL);
        /* connections handed over but never taken */
        for (int q = 0; q < workers[i].qlen; q++) close(workers[i].queue[q]);
        close(workers[i].epfd);
        close(workers[i].evfd);
        pthread_mutex_destroy(&workers[i].qlock);
    }
    free(workers);
    workers = NULL;
    close(sfd);
    mc_store_release();
    mc_discovery_release();
    log_msg(LOG_NOTICE, "cachenode is now ready to exit, bye bye...");
    return 0;
}
