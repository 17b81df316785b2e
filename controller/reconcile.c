/* reconcile.c: the worker thread. It owns its own database connection and
 * drives every active operation's steps (ops.c), which converge the agents
 * on the desired state by sending declarative specs. It sleeps a tick
 * between passes, or until the API queues work. */
#include <errno.h>
#include <sys/time.h>
#include <time.h>

#include "ctl.h"
#include "log.h"
#include "ops.h"
#include "resp.h"
#include "store.h"

long long ctl_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

long long ctl_mono_ms(void) { return resp_now_ms(); }

void ctl_wake_worker(struct ctl *c)
{
    pthread_mutex_lock(&c->lock);
    c->work_queued = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

/* Waits up to ms, or until work is queued or the controller stops. */
static void idle(struct ctl *c, long long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&c->lock);
    while (!c->work_queued && !c->stopping) {
        int rc = pthread_cond_timedwait(&c->wake, &c->lock, &ts);
        if (rc == ETIMEDOUT || rc != 0) break;
    }
    c->work_queued = 0;
    pthread_mutex_unlock(&c->lock);
}

void *worker_thread(void *arg)
{
    struct ctl *c = arg;
    char err[256];
    sqlite3 *db = store_open(c->cfg.db_path, err, sizeof(err));
    if (db == NULL) {
        log_msg(LOG_WARNING, "worker: %s", err);
        return NULL;
    }
    ops_resume(db);
    while (!c->stopping) {
        int progressed = ops_run(c, db);
        /* a step that completed may have unblocked the next one at once */
        if (progressed == 0) idle(c, CTL_WORKER_TICK_MS);
    }
    store_close(db);
    return NULL;
}
