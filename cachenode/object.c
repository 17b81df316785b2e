/* object.c: the table of value types and the lazy-free thread (see
 * object.h). A value whose free would walk more than LAZYFREE_THRESHOLD
 * allocations is queued to one background thread, so DEL, UNLINK, an
 * overwrite, expiry or eviction of a collection with a million members
 * costs the event loop one queue push. The allocator's counters are atomic
 * for exactly this reason. */
#include "object.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"

extern const struct object_type list_type, set_type, zset_type, hash_type, stream_type;

static const struct object_type *const types[] = {
    [TYPE_STRING] = NULL,
    [TYPE_LIST] = &list_type,
    [TYPE_SET] = &set_type,
    [TYPE_ZSET] = &zset_type,
    [TYPE_HASH] = &hash_type,
    [TYPE_STREAM] = &stream_type,
};

#define TYPE_COUNT (sizeof(types) / sizeof(types[0]))

const struct object_type *object_type(enum value_type t)
{
    return (size_t)t < TYPE_COUNT ? types[t] : NULL;
}

const struct object_type *object_type_by_code(unsigned char code, enum value_type *t)
{
    for (size_t i = 0; i < TYPE_COUNT; i++) {
        if (types[i] && types[i]->snap_code == code) {
            if (t) *t = (enum value_type)i;
            return types[i];
        }
    }
    return NULL;
}

/* ---- lazy free -------------------------------------------------------------- */

struct lazy_job {
    const struct object_type *type;
    void *obj;
    struct lazy_job *next;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake, idle;
    struct lazy_job *head, *tail;
    size_t pending; /* queued or being freed */
    size_t freed;   /* values freed by the thread since start */
    int started;
} lazy = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
          NULL, NULL, 0, 0, 0};

static void *lazyfree_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&lazy.lock);
    for (;;) {
        while (lazy.head == NULL) pthread_cond_wait(&lazy.wake, &lazy.lock);
        struct lazy_job *job = lazy.head;
        lazy.head = job->next;
        if (lazy.head == NULL) lazy.tail = NULL;
        pthread_mutex_unlock(&lazy.lock);
        job->type->free(job->obj);
        zfree(job);
        pthread_mutex_lock(&lazy.lock);
        lazy.freed++;
        if (--lazy.pending == 0) pthread_cond_broadcast(&lazy.idle);
    }
    return NULL;
}

/* Starts the thread on first use, with every signal blocked so that the
 * main thread keeps handling SIGTERM and friends. Returns 0 on failure:
 * the caller then frees inline. */
static int lazyfree_start(void)
{
    if (lazy.started) return 1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t tid;
    int rc = pthread_create(&tid, NULL, lazyfree_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) return 0;
    pthread_detach(tid);
    lazy.started = 1;
    return 1;
}

void object_release(enum value_type t, void *obj)
{
    const struct object_type *type = object_type(t);
    if (type == NULL || obj == NULL) return;
    if (type->free_effort == NULL || type->free_effort(obj) <= LAZYFREE_THRESHOLD ||
        !lazyfree_start()) {
        type->free(obj);
        return;
    }
    struct lazy_job *job = zmalloc(sizeof(*job));
    job->type = type;
    job->obj = obj;
    job->next = NULL;
    pthread_mutex_lock(&lazy.lock);
    if (lazy.tail) lazy.tail->next = job;
    else lazy.head = job;
    lazy.tail = job;
    lazy.pending++;
    pthread_cond_signal(&lazy.wake);
    pthread_mutex_unlock(&lazy.lock);
}

size_t object_lazyfree_pending(void)
{
    pthread_mutex_lock(&lazy.lock);
    size_t n = lazy.pending;
    pthread_mutex_unlock(&lazy.lock);
    return n;
}

size_t object_lazyfreed_total(void)
{
    pthread_mutex_lock(&lazy.lock);
    size_t n = lazy.freed;
    pthread_mutex_unlock(&lazy.lock);
    return n;
}

void object_lazyfree_drain(void)
{
    pthread_mutex_lock(&lazy.lock);
    while (lazy.pending > 0) pthread_cond_wait(&lazy.idle, &lazy.lock);
    pthread_mutex_unlock(&lazy.lock);
}
