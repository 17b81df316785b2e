/* eventloop.h: the single-threaded epoll loop that drives the server.
 * File events fire per readiness; one periodic timer runs the server's cron;
 * a before-sleep hook flushes pending replies before the loop blocks. */
#ifndef CN_EVENTLOOP_H
#define CN_EVENTLOOP_H

#define EL_READABLE 1
#define EL_WRITABLE 2

typedef void (*el_file_fn)(int fd, void *data, int mask);
typedef void (*el_hook_fn)(void);

/* Creates the loop for fds below setsize; returns -1 on failure. */
int el_init(int setsize);
int el_add(int fd, int mask, el_file_fn fn, void *data);
void el_del(int fd, int mask);
int el_mask(int fd);
void el_set_timer(int period_ms, el_hook_fn fn);
void el_set_before_sleep(el_hook_fn fn);
/* Lets the loop poll for up to max_us before it blocks (0 = never); see
 * eventloop.c for how the window adapts. */
void el_set_busy_poll(long long max_us);
/* Time spent polling so far (part of the process's CPU time) and how many
 * polls found an event before the loop would have slept. */
void el_busy_poll_stats(long long *time_us, long long *hits);
/* Serves the file events ready within timeout_ms, once, without the timer
 * or the before-sleep hook (a long script lets clients in this way). */
void el_process_file_events(int timeout_ms);
/* Runs until el_stop(); returns then. */
void el_run(void);
void el_stop(void);

#endif
