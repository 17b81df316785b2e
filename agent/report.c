/* report.c: the reporter thread, the agent's side of the controller link.
 * It registers (POST /v1/agents/register), then heartbeats every second
 * (POST /v1/agents/{host}/heartbeat) with every node's observation and the
 * queued events. agent_event() wakes it, so a node going down is reported at
 * once rather than at the next beat. While the controller is unreachable it
 * backs off (0.5 s doubling to 10 s) but still tries at once for new events;
 * events wait in a bounded queue, and the nodes keep running regardless.
 * A failure that lasts is logged when it starts and then once a minute, and
 * a refused token says which file it came from (never the token). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "httpc.h"
#include "json.h"
#include "log.h"

#define REPORT_TIMEOUT_MS 2000
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 10000
#define FAILURE_LOG_MS 60000

/* What the reporter last logged about the link (reporter thread only). */
struct link_log {
    int failing;
    long status;                       /* of the failure logged; 0: no answer */
    long long logged_ms;               /* monotonic */
};

void report_wake(struct agent *a) { pthread_cond_signal(&a->wake); }

/* Common part of both bodies (agent.lock held). */
static json_t *describe_host(struct agent *a)
{
    long long used = agent_memory_reserved_mb(a, NULL);
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:{s:I,s:I,s:i,s:i,s:i}}", "host_id", a->cfg.host_id, "az", a->cfg.az,
                     "address", a->cfg.advertise, "agent_url", a->cfg.agent_url, "time_ms", (json_int_t)wall_ms(),
                     "capacity", "memory_mb", (json_int_t)a->cfg.memory_mb, "memory_used_mb", (json_int_t)used,
                     "port_first", a->cfg.ports.first, "port_last", a->cfg.ports.last, "nodes", (int)a->nnodes);
}

static void events_put_back(struct agent *a, json_t *events)
{
    /* The failed batch goes in front of anything queued since, oldest first. */
    json_t *merged = json_array();
    if (merged == NULL) return;
    json_array_extend(merged, events);
    json_array_extend(merged, a->events);
    while (json_array_size(merged) > AGENT_MAX_EVENTS) json_array_remove(merged, 0);
    json_decref(a->events);
    a->events = merged;
}

static int post(struct agent *a, const char *path, json_t *body, long *status)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", a->cfg.controller, path);
    char *text = json_dumps(body, JSON_COMPACT);
    if (text == NULL) return -1;
    struct httpc_result res;
    int rc = httpc_request("POST", url, a->cfg.token, text, REPORT_TIMEOUT_MS, &res);
    free(text);
    *status = res.status;
    if (rc != 0) log_msg(LOG_VERBOSE, "POST %s: %s", url, res.error);
    free(res.body);
    return rc == 0 && res.status >= 200 && res.status < 300 ? 0 : -1;
}

static int do_register(struct agent *a, long *status)
{
    pthread_mutex_lock(&a->lock);
    json_t *body = describe_host(a);
    pthread_mutex_unlock(&a->lock);
    int rc = body ? post(a, "/v1/agents/register", body, status) : -1;
    json_decref(body);
    pthread_mutex_lock(&a->lock);
    if (rc == 0) {
        a->registered = 1;
        a->count.registrations++;
        log_msg(LOG_NOTICE, "registered with the controller %s as %s", a->cfg.controller, a->cfg.host_id);
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

static int do_heartbeat(struct agent *a, long *status)
{
    pthread_mutex_lock(&a->lock);
    json_t *body = describe_host(a);
    json_t *events = a->events;
    a->events = json_array();
    if (body) {
        json_object_set_new(body, "nodes", agent_nodes_json(a));
        json_object_set(body, "events", events);
    }
    pthread_mutex_unlock(&a->lock);
    char path[256];
    snprintf(path, sizeof(path), "/v1/agents/%s/heartbeat", a->cfg.host_id);
    int rc = body ? post(a, path, body, status) : -1;
    json_decref(body);
    pthread_mutex_lock(&a->lock);
    a->count.heartbeats++;
    if (rc == 0) {
        a->count.events_sent += json_array_size(events);
        a->last_heartbeat_ok_ms = wall_ms();
    } else {
        a->count.heartbeat_failures++;
        events_put_back(a, events);
        if (*status == 404 || *status == 401 || *status == 403) a->registered = 0; /* the controller forgot us */
    }
    pthread_mutex_unlock(&a->lock);
    json_decref(events);
    return rc;
}

/* Waits until due (monotonic ms), an event is queued, or we stop. */
static void wait_for_work(struct agent *a, long long due)
{
    pthread_mutex_lock(&a->lock);
    while (!a->stopping && !a->report_now && mono_ms() < due) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long long left = due - mono_ms();
        if (left > 200) left = 200; /* re-check stopping: signals do not wake condvars */
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
        int rc = pthread_cond_timedwait(&a->wake, &a->lock, &ts);
        if (rc != 0 && rc != ETIMEDOUT) break;
    }
    a->report_now = 0;
    pthread_mutex_unlock(&a->lock);
}

/* Logs a failed exchange: a new kind of failure at once, a lasting one once
 * every FAILURE_LOG_MS. status 0: the controller did not answer. */
static void log_failure(const struct agent *a, struct link_log *l, long status)
{
    long long now = mono_ms();
    if (l->failing && l->status == status && now - l->logged_ms < FAILURE_LOG_MS) return;
    *l = (struct link_log){.failing = 1, .status = status, .logged_ms = now};
    if (status == 401 || status == 403)
        log_msg(LOG_WARNING, "the controller at %s rejected this agent's token (HTTP %ld): the token in %s is not "
                "the controller's agent token; copy the controller's agent.token (its --agent-token-file) to "
                "that file and restart the agent", a->cfg.controller, status, a->cfg.token_file);
    else if (status != 0)
        log_msg(LOG_WARNING, "the controller at %s refused this agent with HTTP %ld; retrying with backoff",
                a->cfg.controller, status);
    else
        log_msg(LOG_WARNING, "cannot reach the controller at %s; retrying with backoff", a->cfg.controller);
}

void *report_thread(void *arg)
{
    struct agent *a = arg;
    int backoff = 0;
    long long due = 0;
    struct link_log link = {0};
    while (!a->stopping) {
        wait_for_work(a, due);
        if (a->stopping) break;
        pthread_mutex_lock(&a->lock);
        int registered = a->registered;
        pthread_mutex_unlock(&a->lock);
        long status = 0;
        int rc = registered ? do_heartbeat(a, &status) : do_register(a, &status);
        if (rc == 0 && !registered) rc = do_heartbeat(a, &status); /* report the nodes right away */
        if (rc == 0) {
            if (link.failing) log_msg(LOG_NOTICE, "the controller at %s accepts this agent again", a->cfg.controller);
            link.failing = 0;
            backoff = 0;
            due = mono_ms() + AGENT_HEARTBEAT_INTERVAL_MS;
        } else {
            log_failure(a, &link, status);
            backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
            if (backoff > BACKOFF_MAX_MS) backoff = BACKOFF_MAX_MS;
            due = mono_ms() + backoff;
        }
    }
    return NULL;
}
