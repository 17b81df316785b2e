/* eventloop.c: epoll-based event loop (see eventloop.h). */
#include "eventloop.h"

#include <errno.h>
#include <sched.h>
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

/* Adaptive busy polling. When the loop runs out of work it may poll for a
 * short window before it blocks, so that under load the next request does
 * not pay for this thread going to sleep and being woken again: a
 * cross-CPU wake-up (an IPI, and on a virtual machine an exit to the host)
 * costs the sender and this thread more than a request itself.
 *
 * It only polls while the loop is loaded: busy for at least half of the
 * last load period. A lightly used node sleeps as before and its CPU use
 * stays proportional to its work. The window adapts as Linux's haltpoll
 * governor does: it grows while events arrive soon after the loop would
 * have slept, and shrinks when they do not. */
#define POLL_GROW_START_US 8
#define LOAD_PERIOD_US 10000
static struct {
    long long max_us;           /* 0 = never poll */
    long long window_us;        /* the current window, 0..max_us */
    long long busy_us, idle_us; /* so far in this load period */
    long long woke_us;          /* when the last wait ended */
    int loaded;                 /* busy >= idle in the last load period */
    long long total_us, hits;   /* time spent polling; polls that found work */
} busy_poll;

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

void el_busy_poll_stats(long long *time_us, long long *hits)
{
    *time_us = busy_poll.total_us;
    *hits = busy_poll.hits;
}

void el_set_busy_poll(long long max_us)
{
    busy_poll.max_us = max_us > 0 ? max_us : 0;
    if (busy_poll.window_us > busy_poll.max_us) busy_poll.window_us = busy_poll.max_us;
    /* load is measured afresh from here */
    busy_poll.busy_us = busy_poll.idle_us = 0;
    busy_poll.woke_us = monotonic_us();
}

void el_stop(void) { stopped = 1; }

static void run_timer_if_due(void)
{
    long long now = monotonic_us();
    if (timer_fn == NULL || now < next_timer_us) return;
    next_timer_us = now + timer_period_ms * 1000LL;
    timer_fn();
}

/* Milliseconds until the timer is due, for epoll_wait; -1 without one. */
static int timer_timeout_ms(void)
{
    if (timer_fn == NULL) return -1;
    long long wait = (next_timer_us - monotonic_us()) / 1000;
    return wait < 0 ? 0 : (int)(wait + 1);
}

static void adapt_poll_window(long long waited_us)
{
    if (waited_us > busy_poll.max_us) {
        busy_poll.window_us /= 2; /* polling would not have caught this one */
        if (busy_poll.window_us < POLL_GROW_START_US) busy_poll.window_us = 0;
    } else if (waited_us > busy_poll.window_us) {
        busy_poll.window_us = busy_poll.window_us ? busy_poll.window_us * 2 : POLL_GROW_START_US;
        if (busy_poll.window_us > busy_poll.max_us) busy_poll.window_us = busy_poll.max_us;
    }
}

static void account_load(long long wait_start, long long wait_end)
{
    busy_poll.busy_us += wait_start - busy_poll.woke_us;
    busy_poll.idle_us += wait_end - wait_start;
    busy_poll.woke_us = wait_end;
    if (busy_poll.busy_us + busy_poll.idle_us >= LOAD_PERIOD_US) {
        busy_poll.loaded = busy_poll.busy_us >= busy_poll.idle_us;
        busy_poll.busy_us = busy_poll.idle_us = 0;
    }
}

/* Waits for events: a look first; when there are none, polling for the
 * window if the loop is loaded; then blocking until the timer is due.
 * Returns epoll_wait's count. */
static int wait_for_events(void)
{
    long long start = monotonic_us(), now = start;
    int n = epoll_wait(epfd, fired, set_size, 0);
    if (n == 0) {
        while (n == 0 && busy_poll.loaded && now - start < busy_poll.window_us) {
            sched_yield(); /* anything else runnable here goes first */
            n = epoll_wait(epfd, fired, set_size, 0);
            now = monotonic_us();
            busy_poll.hits += n > 0;
        }
        busy_poll.total_us += now - start;
        if (n == 0) n = epoll_wait(epfd, fired, set_size, timer_timeout_ms());
        now = monotonic_us();
        adapt_poll_window(now - start);
    }
    account_load(start, now);
    return n;
}

static void dispatch(int n)
{
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
}

void el_process_file_events(int timeout_ms)
{
    int n = epoll_wait(epfd, fired, set_size, timeout_ms);
    if (n > 0) dispatch(n);
}

void el_run(void)
{
    stopped = 0;
    while (!stopped) {
        if (before_sleep_fn) before_sleep_fn();
        int n = busy_poll.max_us ? wait_for_events() : epoll_wait(epfd, fired, set_size, timer_timeout_ms());
        dispatch(n);
        run_timer_if_due();
    }
}
