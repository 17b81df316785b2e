/* eventloop.c: epoll-based event loop (see eventloop.h). */
#include "eventloop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "alloc.h"
#include "util.h"

struct file_event {
    int mask;
    el_file_fn read_fn, write_fn;
    void *data;
};

static int epfd = -1;
static int set_size;
static struct file_event *events;
static struct epoll_event *fired;
static int stopped;
static int timer_period_ms = 100;
static long long next_timer_us;
static el_hook_fn timer_fn, before_sleep_fn;

int el_init(int setsize)
{
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd == -1) return -1;
    set_size = setsize;
    events = zcalloc(sizeof(*events) * (size_t)setsize);
    fired = zcalloc(sizeof(*fired) * (size_t)setsize);
    return 0;
}

static int apply(int fd, int old_mask, int new_mask)
{
    struct epoll_event ee = {0};
    ee.data.fd = fd;
    if (new_mask & EL_READABLE) ee.events |= EPOLLIN;
    if (new_mask & EL_WRITABLE) ee.events |= EPOLLOUT;
    int op = old_mask == 0 ? EPOLL_CTL_ADD : (new_mask == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD);
    return epoll_ctl(epfd, op, fd, &ee);
}

int el_add(int fd, int mask, el_file_fn fn, void *data)
{
    if (fd < 0 || fd >= set_size) {
        errno = ERANGE;
        return -1;
    }
    struct file_event *fe = &events[fd];
    int new_mask = fe->mask | mask;
    if (new_mask != fe->mask && apply(fd, fe->mask, new_mask) == -1) return -1;
    fe->mask = new_mask;
    if (mask & EL_READABLE) fe->read_fn = fn;
    if (mask & EL_WRITABLE) fe->write_fn = fn;
    fe->data = data;
    return 0;
}

void el_del(int fd, int mask)
{
    if (fd < 0 || fd >= set_size) return;
    struct file_event *fe = &events[fd];
    int new_mask = fe->mask & ~mask;
    if (new_mask == fe->mask) return;
    apply(fd, fe->mask, new_mask);
    fe->mask = new_mask;
}

int el_mask(int fd) { return (fd >= 0 && fd < set_size) ? events[fd].mask : 0; }

void el_set_timer(int period_ms, el_hook_fn fn)
{
    timer_period_ms = period_ms > 0 ? period_ms : 1;
    timer_fn = fn;
    next_timer_us = monotonic_us() + timer_period_ms * 1000LL;
}

void el_set_before_sleep(el_hook_fn fn) { before_sleep_fn = fn; }
void el_stop(void) { stopped = 1; }

static void run_timer_if_due(void)
{
    long long now = monotonic_us();
    if (timer_fn == NULL || now < next_timer_us) return;
    next_timer_us = now + timer_period_ms * 1000LL;
    timer_fn();
}

void el_run(void)
{
    stopped = 0;
    while (!stopped) {
        if (before_sleep_fn) before_sleep_fn();
        int timeout = -1;
        if (timer_fn) {
            long long wait = (next_timer_us - monotonic_us()) / 1000;
            timeout = wait < 0 ? 0 : (int)(wait + 1);
        }
        int n = epoll_wait(epfd, fired, set_size, timeout);
        for (int i = 0; i < n; i++) {
            int fd = fired[i].data.fd;
            struct file_event *fe = &events[fd];
            uint32_t ev = fired[i].events;
            int readable = ev & (EPOLLIN | EPOLLERR | EPOLLHUP);
            int writable = ev & (EPOLLOUT | EPOLLERR | EPOLLHUP);
            if (readable && (fe->mask & EL_READABLE)) fe->read_fn(fd, fe->data, EL_READABLE);
            /* the read handler may have closed the fd */
            if (writable && (fe->mask & EL_WRITABLE) && fe->write_fn)
                fe->write_fn(fd, fe->data, EL_WRITABLE);
        }
        run_timer_if_due();
    }
}
