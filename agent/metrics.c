/* metrics.c: GET /metrics in the Prometheus text format (0.0.4). One series
 * per node and metric, labelled cluster, shard, node, role, az, host; a value
 * the node did not report (an INFO field missing) is left out rather than
 * invented. The same nodes under the community exporters' names follow
 * (metrics_exporter.c), then the agent's own series. Label values are
 * escaped although our validation already keeps them to [A-Za-z0-9_-]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textbuf.h"
#include "agent.h"

void metrics_escape_label(const char *s, char *dst, size_t len)
{
    size_t j = 0;
    for (; *s && j + 2 < len; s++) {
        if (*s == '\\' || *s == '"') { dst[j++] = '\\'; dst[j++] = *s; }
        else if (*s == '\n') { dst[j++] = '\\'; dst[j++] = 'n'; }
        else dst[j++] = *s;
    }
    dst[j] = '\0';
}

struct node_metric {
    const char *name, *type, *help;
    int replicas_only;
    long long (*get)(const struct node *n);
};

static long long m_up(const struct node *n) { return n->obs.health == HEALTH_UP; }
static long long m_used(const struct node *n) { return n->obs.used_memory; }
static long long m_max(const struct node *n) { return n->obs.maxmemory >= 0 ? n->obs.maxmemory : n->spec.memory_mb * 1048576; }
static long long m_cmds(const struct node *n) { return n->obs.commands; }
static long long m_hits(const struct node *n) { return n->obs.keyspace_hits; }
static long long m_misses(const struct node *n) { return n->obs.keyspace_misses; }
static long long m_evicted(const struct node *n) { return n->obs.evicted_keys; }
static long long m_expired(const struct node *n) { return n->obs.expired_keys; }
static long long m_clients(const struct node *n) { return n->obs.connected_clients; }
static long long m_offset(const struct node *n) { return n->obs.repl_offset; }
static long long m_keys(const struct node *n) { return n->obs.keys; }
static long long m_ops(const struct node *n) { return n->obs.ops_per_sec; }
static long long m_restarts(const struct node *n) { return n->restarts; }

static const struct node_metric node_metrics[] = {
    {"cachefleet_node_up", "gauge", "1 when the node answers its health checks.", 0, m_up},
    {"cachefleet_node_memory_used_bytes", "gauge", "Memory the node uses (INFO used_memory; memcached: stats bytes).", 0, m_used},
    {"cachefleet_node_memory_max_bytes", "gauge", "The node's maxmemory.", 0, m_max},
    {"cachefleet_node_commands_total", "counter", "Commands processed (INFO total_commands_processed; memcached: cmd_get + cmd_set + cmd_touch + cmd_flush).", 0, m_cmds},
    {"cachefleet_node_keyspace_hits_total", "counter", "Successful key lookups.", 0, m_hits},
    {"cachefleet_node_keyspace_misses_total", "counter", "Failed key lookups.", 0, m_misses},
    {"cachefleet_node_evicted_keys_total", "counter", "Keys evicted for maxmemory.", 0, m_evicted},
    {"cachefleet_node_expired_keys_total", "counter", "Keys expired.", 0, m_expired},
    {"cachefleet_node_connected_clients", "gauge", "Client connections.", 0, m_clients},
    {"cachefleet_node_replication_offset", "gauge", "Replication offset (ROLE).", 0, m_offset},
    {"cachefleet_node_replication_lag_bytes", "gauge", "Bytes the replica is behind its primary.", 1, node_repl_lag},
    {"cachefleet_node_keys", "gauge", "Keys in db0.", 0, m_keys},
    {"cachefleet_node_ops_per_second", "gauge", "Instantaneous operations per second.", 0, m_ops},
    {"cachefleet_node_restarts_total", "counter", "Times the agent restarted this node in place.", 0, m_restarts},
};

void metrics_node_labels(const struct agent *a, const struct node *n, char *out, size_t len)
{
    char host[160], az[160], cluster[160], shard[160], id[160];
    metrics_escape_label(a->cfg.host_id, host, sizeof(host));
    metrics_escape_label(a->cfg.az, az, sizeof(az));
    metrics_escape_label(n->spec.cluster, cluster, sizeof(cluster));
    metrics_escape_label(n->spec.shard, shard, sizeof(shard));
    metrics_escape_label(n->spec.id, id, sizeof(id));
    snprintf(out, len, "cluster=\"%s\",shard=\"%s\",node=\"%s\",role=\"%s\",az=\"%s\",host=\"%s\"", cluster, shard,
             id, spec_role_name(n->spec.role), az, host);
}

static void emit_node_metrics(struct textbuf *o, const struct agent *a)
{
    for (size_t m = 0; m < sizeof(node_metrics) / sizeof(node_metrics[0]); m++) {
        const struct node_metric *nm = &node_metrics[m];
        textbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", nm->name, nm->help, nm->name, nm->type);
        for (size_t i = 0; i < a->nnodes; i++) {
            const struct node *n = a->nodes[i];
            if (nm->replicas_only && n->spec.role != ROLE_REPLICA) continue;
            long long v = nm->get(n);
            if (v < 0) continue;
            char labels[1024];
            metrics_node_labels(a, n, labels, sizeof(labels));
            textbuf_printf(o, "%s{%s} %lld\n", nm->name, labels, v);
        }
    }
}

static void agent_metric(struct textbuf *o, const char *labels, const char *name, const char *type, const char *help,
                         unsigned long long v)
{
    textbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n%s{%s} %llu\n", name, help, name, type, name, labels, v);
}

char *metrics_render(struct agent *a)
{
    struct textbuf o;
    if (textbuf_init(&o, 16384) != 0) return NULL;
    char labels[400], host[160], az[160];
    pthread_mutex_lock(&a->lock);
    emit_node_metrics(&o, a);
    metrics_exporter_series(&o, a);
    metrics_escape_label(a->cfg.host_id, host, sizeof(host));
    metrics_escape_label(a->cfg.az, az, sizeof(az));
    snprintf(labels, sizeof(labels), "az=\"%s\",host=\"%s\"", az, host);
    const struct agent_counters *c = &a->count;
    agent_metric(&o, labels, "cachefleet_agent_heartbeats_total", "counter", "Heartbeats attempted.", c->heartbeats);
    agent_metric(&o, labels, "cachefleet_agent_heartbeat_failures_total", "counter", "Heartbeats that did not reach the controller.", c->heartbeat_failures);
    agent_metric(&o, labels, "cachefleet_agent_registrations_total", "counter", "Successful registrations with the controller.", c->registrations);
    agent_metric(&o, labels, "cachefleet_agent_events_sent_total", "counter", "Events delivered to the controller.", c->events_sent);
    agent_metric(&o, labels, "cachefleet_agent_events_queued", "gauge", "Events waiting for the controller.", json_array_size(a->events));
    agent_metric(&o, labels, "cachefleet_agent_registered", "gauge", "1 while the controller accepts our heartbeats.", (unsigned long long)a->registered);
    agent_metric(&o, labels, "cachefleet_agent_node_launches_total", "counter", "Node processes started.", c->node_launches);
    agent_metric(&o, labels, "cachefleet_agent_node_restarts_total", "counter", "Crashed replicas restarted in place.", c->node_restarts);
    agent_metric(&o, labels, "cachefleet_agent_node_exits_total", "counter", "Node processes seen exiting unasked.", c->node_exits);
    agent_metric(&o, labels, "cachefleet_agent_health_checks_total", "counter", "Health checks made.", c->health_checks);
    agent_metric(&o, labels, "cachefleet_agent_health_check_misses_total", "counter", "Health checks not answered in time.", c->health_misses);
    agent_metric(&o, labels, "cachefleet_agent_nodes", "gauge", "Nodes this agent manages.", a->nnodes);
    agent_metric(&o, labels, "cachefleet_agent_memory_capacity_bytes", "gauge", "Memory offered to nodes (--memory-mb).", (unsigned long long)a->cfg.memory_mb * 1048576ULL);
    agent_metric(&o, labels, "cachefleet_agent_memory_reserved_bytes", "gauge", "Memory promised to nodes.", (unsigned long long)agent_memory_reserved_mb(a, NULL) * 1048576ULL);
    pthread_mutex_unlock(&a->lock);
    return textbuf_finish(&o);
}
