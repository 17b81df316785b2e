/* agent.h: the agent's shared state. One mutex (agent.lock) guards the node
 * table, the observations, the counters and the event queue; the HTTP thread,
 * the health thread and the reporter thread take it for short sections and
 * never hold it across network I/O to a node or to the controller. */
#ifndef CF_AGENT_H
#define CF_AGENT_H

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>

#include "clock.h"
#include "ports.h"
#include "spec.h"

#define AGENT_MAX_NODES 256
#define AGENT_MAX_EVENTS 1000
#define AGENT_STOP_GRACE_MS 5000
#define AGENT_STARTUP_TIMEOUT_MS 10000
#define AGENT_STATS_INTERVAL_MS 1000
#define AGENT_HEARTBEAT_INTERVAL_MS 1000
#define AGENT_RESTART_BACKOFF_MIN_MS 500
#define AGENT_RESTART_BACKOFF_MAX_MS 30000
#define AGENT_TOPOLOGY_BACKOFF_MIN_MS 200
#define AGENT_TOPOLOGY_BACKOFF_MAX_MS 5000

struct agent_config {
    char listen[128];
    char controller[512];
    char host_id[SPEC_NAME_MAX + 1];
    char az[SPEC_NAME_MAX + 1];
    char advertise[SPEC_HOST_MAX + 1]; /* nodes bind here; reported to the controller */
    char agent_url[SPEC_HOST_MAX + 32]; /* where the controller calls this agent */
    char data_dir[1024];
    char token_file[1200];             /* the file the token came from (logged, the token never) */
    char node_binary[1024];
    struct port_range ports;
    long long memory_mb;
    int health_interval_ms;
    int health_misses;
    char token[256];                   /* never logged */
};

enum node_health { HEALTH_STARTING = 0, HEALTH_UP, HEALTH_DOWN };

/* A versioned configuration the health thread hands to a running node (a
 * cluster-mode topology, a memcached discovery list): what the process
 * runs, and when to try again after a refusal. */
struct push_state {
    long long applied;                 /* the version this process runs; 0 not known */
    long long next_ms;                 /* monotonic: the next attempt, 0 at once */
    int backoff_ms;
};

/* What the health thread last saw of a node; -1 means "not known". */
struct node_obs {
    enum node_health health;
    int misses;
    long long since_ms;                /* last health change, wall clock */
    char role[16];                     /* "master"/"slave" as the node says */
    char link_status[16];
    long long repl_offset, primary_offset;
    long long used_memory, maxmemory, commands, ops_per_sec, connected_clients, keys;
    long long keyspace_hits, keyspace_misses, evicted_keys, expired_keys;
    char last_error[160];
};

struct node {
    struct node_spec spec;
    pid_t pid;                         /* 0 when no process runs */
    int is_child;                      /* launched by this agent: waitpid works */
    unsigned long long starttime;      /* /proc/PID/stat field 22, against pid reuse */
    long long incarnation;             /* bumped at every launch or adoption */
    long long launched_ms;             /* monotonic */
    int stopping;                      /* DELETE in progress: the health thread keeps off */
    int restarts;
    long long restart_at_ms;           /* monotonic; 0: no restart planned */
    int restart_backoff_ms;
    int exit_status;                   /* last wait status, -1 unknown */
    struct push_state topo;            /* CLUSTER SETTOPOLOGY: the epoch this process runs */
    struct push_state disc;            /* config set cluster: the discovery list version it serves */
    struct node_obs obs;
    char *stats_text;                  /* the last INFO (or memcached stats) reply; NULL before one */
};

struct agent_counters {
    unsigned long long heartbeats, heartbeat_failures, registrations, events_sent;
    unsigned long long node_launches, node_restarts, node_exits, health_checks, health_misses;
};

struct agent {
    struct agent_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t wake;               /* reporter: an event is queued or we stop */
    pthread_cond_t health_wake;        /* health thread (CLOCK_MONOTONIC): a child ended or we stop */
    int health_poked;                  /* set with health_wake: run the next tick now */
    pthread_mutex_t apply_lock;        /* serialises PUT and DELETE */
    struct node *nodes[AGENT_MAX_NODES];
    size_t nnodes;
    json_t *events;                    /* queued for the controller */
    long long event_seq;               /* the last event's number (see agent_event) */
    int report_now;
    int registered;
    long long last_heartbeat_ok_ms;    /* wall clock, 0 never */
    struct agent_counters count;
    volatile sig_atomic_t stopping;
};

/* nodes.c: the node table and its changes (callers hold agent.lock unless said). */
struct node *agent_find(struct agent *a, const char *id);
long long agent_memory_reserved_mb(const struct agent *a, const char *except_id);
json_t *node_to_json(const struct agent *a, const struct node *n);
/* Bytes a replica is behind its primary (both offsets as last read); -1 unknown. */
long long node_repl_lag(const struct node *n);
json_t *agent_nodes_json(const struct agent *a);
void agent_event(struct agent *a, const struct node *n, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void node_set_health(struct agent *a, struct node *n, enum node_health h, const char *why);
/* Takes agent.lock itself. Returns the HTTP status and fills *reply. */
int agent_put_node(struct agent *a, const char *id, const char *body, char **reply);
int agent_delete_node(struct agent *a, const char *id, char **reply);
/* Loads the spec files and adopts or relaunches nodes (at start-up). */
void agent_restore(struct agent *a);
const char *health_name(enum node_health h);

/* proc.c: processes. */
int proc_launch(struct agent *a, struct node *n, char *err, size_t errlen);
/* Returns 1 when the process is gone (and sets *status when it was ours). */
int proc_exited(struct node *n, int *status);
void proc_stop(pid_t pid, int is_child, int grace_ms);
int proc_matches(pid_t pid, const char *node_id, unsigned long long starttime);
unsigned long long proc_starttime(pid_t pid);
int node_dir(const struct agent *a, const char *id, char *buf, size_t len);
/* Removes what a node leaves in its directory that must not outlive it:
 * node.conf (the secrets), the topology a cluster-mode node keeps and the
 * discovery list a memcached node serves (a new node with the same id
 * starts from the controller's epoch or list, not from an old cluster's). 0, or -1 when a file stays (logged). */
int proc_forget_files(const struct agent *a, const char *id);

/* store.c: spec files in DATA/specs/ID.json. */
int store_save(const struct agent *a, const struct node *n);
int store_remove(const struct agent *a, const char *id);
/* Calls fn for every stored node; returns how many were read. */
int store_load_all(const struct agent *a, void (*fn)(struct agent *, json_t *, void *), void *ctx);

/* health.c, report.c: the two worker threads. */
void *health_thread(void *arg);
void *report_thread(void *arg);
void report_wake(struct agent *a);
/* The health thread runs its next tick now (agent.lock held): a node's
 * process ended (SIGCHLD), or the agent stops. */
void health_wake(struct agent *a);

/* metrics.c: GET /metrics (callers do not hold agent.lock). */
char *metrics_render(struct agent *a);
/* Escapes \\, " and newline for a label value. */
void metrics_escape_label(const char *s, char *dst, size_t len);
/* cluster="..",shard="..",node="..",role="..",az="..",host=".." for one node. */
void metrics_node_labels(const struct agent *a, const struct node *n, char *out, size_t len);
/* metrics_exporter.c: the node series under redis_exporter's and memcached_exporter's names (agent.lock held). */
struct textbuf;
void metrics_exporter_series(struct textbuf *o, const struct agent *a);

/* api.c */
struct http_request;
struct http_response;
void api_handle(const struct http_request *req, struct http_response *res, void *ctx);


#endif
