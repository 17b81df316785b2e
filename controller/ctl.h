/* ctl.h: the controller's shared declarations. State lives in SQLite; each
 * thread (HTTP, worker) has its own connection, so no lock guards the data:
 * SQLite's WAL mode and busy timeout serialise writers. Only the in-memory
 * counters (metrics) and the worker's wake-up share memory, under ctl.lock. */
#ifndef CF_CTL_H
#define CF_CTL_H

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>

#include "clock.h"

#define CTL_NAME_MAX 40
#define CTL_TOKEN_MAX 256
#define CTL_MAX_REPLICAS 5
#define CTL_MAX_HOSTS 256
#define CTL_MEMORY_MB_MAX (1024 * 1024)
#define CTL_AGENT_CALL_MS 3000      /* one PUT/GET/DELETE to an agent */
#define CTL_STEP_DEADLINE_MS 30000  /* a waiting step gives up after this */
#define CTL_WORKER_TICK_MS 10
#define CTL_EVENTS_KEPT 100000
#define CTL_IDEMPOTENCY_KEEP_MS (24LL * 3600 * 1000)

struct ctl_config {
    char listen[128];
    char db_path[1024];
    char token_file[1024];
    char agent_token_file[1024];
    char sentinel_listen[128];         /* empty: no Sentinel port */
    long long agent_timeout_ms;        /* a silent agent is "down" after this */
    long long session_idle_ms;         /* a dashboard session unused this long ends */
    char token[CTL_TOKEN_MAX];         /* user API; never logged */
    char agent_token[CTL_TOKEN_MAX];   /* agents' link, both ways; never logged */
};

/* metrics.c: in-memory counters, guarded by ctl.lock. */
#define CTL_LATENCY_BUCKETS 10
struct ctl_counters {
    unsigned long long api_requests[6];           /* by status class: 1xx..5xx, index 1..5 */
    unsigned long long latency_buckets[CTL_LATENCY_BUCKETS]; /* cumulative at render */
    unsigned long long latency_count;
    double latency_sum_s;
    unsigned long long agent_calls, agent_call_failures;
    unsigned long long heartbeats;
};

struct ctl {
    struct ctl_config cfg;
    sqlite3 *api_db;                   /* the HTTP thread's connection */
    pthread_mutex_t lock;
    pthread_cond_t wake;               /* the worker: new work or stop */
    int work_queued;
    int failover_due;                  /* the worker runs its failover pass now, not at its next tick */
    struct ctl_counters count;
    struct nodestats *stats;           /* the nodes' recent observations (nodestats.h) */
    volatile sig_atomic_t stopping;
};

/* util */
void ctl_wake_worker(struct ctl *c);
/* Wakes the worker for a failover pass at once: a primary was reported lost. */
void ctl_wake_failover(struct ctl *c);

/* api.c */
struct http_request;
struct http_response;
void api_handle(const struct http_request *req, struct http_response *res, void *ctx);

/* agents.c: the agent link, both directions. */
/* Both return an HTTP status: 200 done; 400 a bad body, 404 an unknown
 * host (heartbeat), 503 the database is busy; err says why. */
int agents_register(sqlite3 *db, const json_t *hello, char *err, size_t errlen);
int agents_heartbeat(struct ctl *c, sqlite3 *db, const char *host, const json_t *beat, char *err, size_t errlen);
/* Calls an agent: method path [body] -> *status and parsed *reply (may be
 * NULL). Returns 0 when a response arrived. */
int agent_call(struct ctl *c, const char *agent_url, const char *method, const char *path, const json_t *body,
               long *status, json_t **reply);

/* sentinel.c: the Sentinel discovery port. start binds (and opens its
 * database connection) before the thread runs; the thread ends on stopping. */
int sentinel_start(struct ctl *c, char *err, size_t errlen);
void *sentinel_thread(void *arg);

/* reconcile.c: the worker thread. */
void *worker_thread(void *arg);

/* metrics.c */
void metrics_count_request(struct ctl *c, int status, double seconds);
void metrics_count_agent_call(struct ctl *c, int failed);
char *metrics_render(struct ctl *c, sqlite3 *db);

#endif
