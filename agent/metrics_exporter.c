/* metrics_exporter.c: each node's series under the names the community
 * exporters publish (the Prometheus redis_exporter for Redis nodes, the
 * memcached_exporter for memcached ones), read from the node's last INFO or
 * stats reply. Dashboards and alert rules written for those exporters (the
 * redis_exporter Grafana dashboard, say) then work on an agent's /metrics
 * unchanged. Every series also carries our cluster, shard, node, role, az
 * and host labels. A field the node did not report is left out; a node that
 * is not up has only its *_up series (0), as an exporter that cannot reach
 * its server reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "engine_caps.h"
#include "textbuf.h"

#define LABELS_MAX 1024

/* A series copied from one reply field: INFO "field:value" or stats
 * "STAT field value". */
struct field_metric {
    const char *name, *type, *field;
    double scale; /* 0: the value as it is */
};

static const struct field_metric redis_fields[] = {
    {"redis_uptime_in_seconds", "gauge", "uptime_in_seconds", 0},
    {"redis_connected_clients", "gauge", "connected_clients", 0},
    {"redis_blocked_clients", "gauge", "blocked_clients", 0},
    {"redis_max_clients", "gauge", "maxclients", 0},
    {"redis_tracking_clients", "gauge", "tracking_clients", 0},
    {"redis_memory_used_bytes", "gauge", "used_memory", 0},
    {"redis_memory_used_rss_bytes", "gauge", "used_memory_rss", 0},
    {"redis_memory_used_peak_bytes", "gauge", "used_memory_peak", 0},
    {"redis_memory_used_overhead_bytes", "gauge", "used_memory_overhead", 0},
    {"redis_memory_used_dataset_bytes", "gauge", "used_memory_dataset", 0},
    {"redis_memory_used_lua_bytes", "gauge", "used_memory_lua", 0},
    {"redis_memory_max_bytes", "gauge", "maxmemory", 0},
    {"redis_mem_fragmentation_ratio", "gauge", "mem_fragmentation_ratio", 0},
    {"redis_loading_dump_file", "gauge", "loading", 0},
    {"redis_rdb_changes_since_last_save", "gauge", "rdb_changes_since_last_save", 0},
    {"redis_rdb_bgsave_in_progress", "gauge", "rdb_bgsave_in_progress", 0},
    {"redis_rdb_last_save_timestamp_seconds", "gauge", "rdb_last_save_time", 0},
    {"redis_connections_received_total", "counter", "total_connections_received", 0},
    {"redis_commands_processed_total", "counter", "total_commands_processed", 0},
    {"redis_net_input_bytes_total", "counter", "total_net_input_bytes", 0},
    {"redis_net_output_bytes_total", "counter", "total_net_output_bytes", 0},
    {"redis_rejected_connections_total", "counter", "rejected_connections", 0},
    {"redis_expired_keys_total", "counter", "expired_keys", 0},
    {"redis_evicted_keys_total", "counter", "evicted_keys", 0},
    {"redis_keyspace_hits_total", "counter", "keyspace_hits", 0},
    {"redis_keyspace_misses_total", "counter", "keyspace_misses", 0},
    {"redis_pubsub_channels", "gauge", "pubsub_channels", 0},
    {"redis_pubsub_patterns", "gauge", "pubsub_patterns", 0},
    {"redis_latest_fork_seconds", "gauge", "latest_fork_usec", 1e-6},
    {"redis_connected_slaves", "gauge", "connected_slaves", 0},
    {"redis_master_repl_offset", "gauge", "master_repl_offset", 0},
    {"redis_slave_repl_offset", "gauge", "slave_repl_offset", 0},
    {"redis_master_last_io_seconds_ago", "gauge", "master_last_io_seconds_ago", 0},
    {"redis_replication_backlog_bytes", "gauge", "repl_backlog_size", 0},
    {"redis_cpu_sys_seconds_total", "counter", "used_cpu_sys", 0},
    {"redis_cpu_user_seconds_total", "counter", "used_cpu_user", 0},
};

static const struct field_metric memcached_fields[] = {
    {"memcached_uptime_seconds", "gauge", "uptime", 0},
    {"memcached_current_bytes", "gauge", "bytes", 0},
    {"memcached_limit_bytes", "gauge", "limit_maxbytes", 0},
    {"memcached_current_items", "gauge", "curr_items", 0},
    {"memcached_items_total", "counter", "total_items", 0},
    {"memcached_current_connections", "gauge", "curr_connections", 0},
    {"memcached_connections_total", "counter", "total_connections", 0},
    {"memcached_connections_rejected_total", "counter", "rejected_connections", 0},
    {"memcached_items_evicted_total", "counter", "evictions", 0},
    {"memcached_items_reclaimed_total", "counter", "reclaimed", 0},
    {"memcached_read_bytes_total", "counter", "bytes_read", 0},
    {"memcached_written_bytes_total", "counter", "bytes_written", 0},
    {"memcached_process_user_cpu_seconds_total", "counter", "rusage_user", 0},
    {"memcached_process_system_cpu_seconds_total", "counter", "rusage_system", 0},
};

/* memcached_commands_total{command, status} and the stats field counting it. */
static const struct {
    const char *command, *status, *field;
} memcached_commands[] = {
    {"get", "hit", "get_hits"},       {"get", "miss", "get_misses"},     {"set", "hit", "cmd_set"},
    {"touch", "hit", "touch_hits"},   {"touch", "miss", "touch_misses"}, {"delete", "hit", "delete_hits"},
    {"delete", "miss", "delete_misses"}, {"incr", "hit", "incr_hits"},   {"incr", "miss", "incr_misses"},
    {"decr", "hit", "decr_hits"},     {"decr", "miss", "decr_misses"},   {"cas", "hit", "cas_hits"},
    {"cas", "miss", "cas_misses"},    {"cas", "badval", "cas_badval"},   {"flush", "hit", "cmd_flush"},
};

/* ---- reading a reply ---------------------------------------------------------- */

/* The value text of a field, up to the end of its line: INFO "name:value"
 * lines, or memcached's "STAT name value". NULL when absent. */
static const char *field_value(const char *text, enum engine_metrics src, const char *name, size_t *len)
{
    size_t n = strlen(name);
    const char *lead = src == METRICS_STATS ? "STAT " : "";
    size_t ll = strlen(lead);
    char sep = src == METRICS_STATS ? ' ' : ':';
    for (const char *p = text; p && *p;) {
        if (strncmp(p, lead, ll) == 0 && strncmp(p + ll, name, n) == 0 && p[ll + n] == sep) {
            const char *v = p + ll + n + 1;
            *len = strcspn(v, "\r\n");
            return v;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return NULL;
}

/* A number from a value text; 0 on success. */
static int parse_number(const char *v, size_t len, double *out)
{
    char buf[64], *end;
    if (len == 0 || len >= sizeof(buf)) return -1;
    memcpy(buf, v, len);
    buf[len] = '\0';
    *out = strtod(buf, &end);
    return end == buf || *end != '\0' ? -1 : 0;
}

/* key=value from a "k=v,k=v" list (one INFO value); 0 when found. */
static int list_value(const char *list, size_t len, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < len;) {
        size_t item = i;
        while (i < len && list[i] != ',') i++;
        if (i - item > kl && strncmp(list + item, key, kl) == 0 && list[item + kl] == '=') {
            size_t vl = i - item - kl - 1;
            if (vl >= outlen) return -1;
            memcpy(out, list + item + kl + 1, vl);
            out[vl] = '\0';
            return 0;
        }
        i++;
    }
    return -1;
}

static int list_number(const char *list, size_t len, const char *key, double *out)
{
    char v[64];
    return list_value(list, len, key, v, sizeof(v)) == 0 && parse_number(v, strlen(v), out) == 0 ? 0 : -1;
}

/* Walks the INFO lines "<prefix><name>:<list>": the next one after *cur,
 * with its name (escaped for a label) and list. 0 when there is none. */
static int next_entry(const char **cur, const char *prefix, char *name, size_t namelen, const char **list,
                      size_t *listlen)
{
    size_t pl = strlen(prefix);
    while (*cur && **cur) {
        const char *line = *cur;
        const char *nl = strchr(line, '\n');
        *cur = nl ? nl + 1 : NULL;
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len && line[len - 1] == '\r') len--;
        const char *colon = memchr(line, ':', len);
        if (strncmp(line, prefix, pl) != 0 || colon == NULL || (size_t)(colon - line) - pl >= namelen) continue;
        char raw[128];
        size_t nlen = (size_t)(colon - line) - pl;
        if (nlen >= sizeof(raw)) continue;
        memcpy(raw, line + pl, nlen);
        raw[nlen] = '\0';
        metrics_escape_label(raw, name, namelen);
        *list = colon + 1;
        *listlen = len - (size_t)(colon + 1 - line);
        return 1;
    }
    return 0;
}

/* ---- writing series ----------------------------------------------------------- */

struct exporter_node {
    const struct node *n;
    const struct engine_caps *engine;
    char labels[LABELS_MAX];
    int up;
};

static void family(struct textbuf *o, const char *name, const char *type, const char *help)
{
    textbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A value in the shortest exact form: integers as integers. */
static void sample(struct textbuf *o, const char *name, const char *labels, const char *extra, double v)
{
    if (v == (double)(long long)v && v > -1e15 && v < 1e15)
        textbuf_printf(o, "%s{%s%s} %lld\n", name, labels, extra ? extra : "", (long long)v);
    else
        textbuf_printf(o, "%s{%s%s} %.17g\n", name, labels, extra ? extra : "", v);
}

static void field_families(struct textbuf *o, const struct exporter_node *nodes, size_t count, enum engine_id engine,
                           const struct field_metric *table, size_t rows)
{
    for (size_t m = 0; m < rows; m++) {
        char help[128];
        snprintf(help, sizeof(help), "The node's %s field %s.", engine == ENGINE_REDIS ? "INFO" : "stats",
                 table[m].field);
        family(o, table[m].name, table[m].type, help);
        for (size_t i = 0; i < count; i++) {
            const struct exporter_node *e = &nodes[i];
            size_t len;
            double v;
            if (!e->up || e->engine->id != engine) continue;
            const char *text = field_value(e->n->stats_text, e->engine->metrics, table[m].field, &len);
            if (text == NULL || parse_number(text, len, &v) != 0) continue;
            sample(o, table[m].name, e->labels, NULL, table[m].scale ? v * table[m].scale : v);
        }
    }
}

static void up_family(struct textbuf *o, const struct exporter_node *nodes, size_t count, enum engine_id engine,
                      const char *name)
{
    family(o, name, "gauge", "1 when the node answers (the agent's health check).");
    for (size_t i = 0; i < count; i++)
        if (nodes[i].engine->id == engine) sample(o, name, nodes[i].labels, NULL, nodes[i].up);
}

static void redis_instance_info(struct textbuf *o, const struct exporter_node *nodes, size_t count)
{
    static const char *const fields[] = {"redis_version", "redis_mode", "os", "tcp_port", "process_id", "run_id"};
    family(o, "redis_instance_info", "gauge", "Information about the server (value 1).");
    for (size_t i = 0; i < count; i++) {
        const struct exporter_node *e = &nodes[i];
        if (!e->up || e->engine->id != ENGINE_REDIS) continue;
        char extra[1024] = "", raw[128], esc[260];
        size_t used = 0;
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
            size_t len;
            const char *v = field_value(e->n->stats_text, METRICS_INFO, fields[f], &len);
            if (v == NULL) continue;
            snprintf(raw, sizeof(raw), "%.*s", (int)(len < sizeof(raw) ? len : sizeof(raw) - 1), v);
            metrics_escape_label(raw, esc, sizeof(esc));
            int w = snprintf(extra + used, sizeof(extra) - used, ",%s=\"%s\"", fields[f], esc);
            if (w < 0 || (size_t)w >= sizeof(extra) - used) break;
            used += (size_t)w;
        }
        sample(o, "redis_instance_info", e->labels, extra, 1);
    }
}

static void redis_master_link(struct textbuf *o, const struct exporter_node *nodes, size_t count)
{
    family(o, "redis_master_link_up", "gauge", "1 while a replica's link to its primary is up.");
    for (size_t i = 0; i < count; i++) {
        const struct exporter_node *e = &nodes[i];
        size_t len;
        if (!e->up || e->engine->id != ENGINE_REDIS) continue;
        const char *v = field_value(e->n->stats_text, METRICS_INFO, "master_link_status", &len);
        if (v) sample(o, "redis_master_link_up", e->labels, NULL, len == 2 && strncmp(v, "up", 2) == 0);
    }
}

/* A family per key of the INFO lines "<prefix><name>:k=v,...": the entry's
 * name becomes the label; scale converts units (microseconds to seconds). */
struct list_metric {
    const char *name, *type, *help, *prefix, *label, *key;
    double scale;
};

static const struct list_metric redis_lists[] = {
    {"redis_commands_total", "counter", "Calls per command (INFO commandstats).", "cmdstat_", "cmd", "calls", 0},
    {"redis_commands_duration_seconds_total", "counter", "Time spent per command (INFO commandstats).", "cmdstat_",
     "cmd", "usec", 1e-6},
    {"redis_commands_rejected_calls_total", "counter", "Calls refused before running (INFO commandstats).",
     "cmdstat_", "cmd", "rejected_calls", 0},
    {"redis_commands_failed_calls_total", "counter", "Calls that failed while running (INFO commandstats).",
     "cmdstat_", "cmd", "failed_calls", 0},
    {"redis_errors_total", "counter", "Error replies per error prefix (INFO errorstats).", "errorstat_", "err",
     "count", 0},
    {"redis_db_keys", "gauge", "Keys per database (INFO keyspace).", "db", "db", "keys", 0},
    {"redis_db_keys_expiring", "gauge", "Keys with an expiry per database (INFO keyspace).", "db", "db", "expires",
     0},
    {"redis_db_avg_ttl_seconds", "gauge", "Average time to live per database (INFO keyspace).", "db", "db",
     "avg_ttl", 1e-3},
};

static void list_family(struct textbuf *o, const struct exporter_node *nodes, size_t count,
                        const struct list_metric *m)
{
    family(o, m->name, m->type, m->help);
    for (size_t i = 0; i < count; i++) {
        const struct exporter_node *e = &nodes[i];
        if (!e->up || e->engine->id != ENGINE_REDIS) continue;
        const char *cur = e->n->stats_text, *list;
        char name[260], extra[300];
        size_t len;
        double v;
        while (next_entry(&cur, m->prefix, name, sizeof(name), &list, &len)) {
            /* db lines are "db0:keys=..."; the label keeps redis_exporter's "db0" */
            if (strcmp(m->prefix, "db") == 0 && (name[0] < '0' || name[0] > '9')) continue;
            if (list_number(list, len, m->key, &v) != 0) continue;
            snprintf(extra, sizeof(extra), ",%s=\"%s%s\"", m->label, strcmp(m->prefix, "db") == 0 ? "db" : "", name);
            sample(o, m->name, e->labels, extra, m->scale ? v * m->scale : v);
        }
    }
}

/* A primary's replicas: INFO "slave0:ip=...,port=...,state=...,offset=...,lag=...". */
static void redis_replicas(struct textbuf *o, const struct exporter_node *nodes, size_t count, const char *name,
                           const char *key, const char *help)
{
    family(o, name, "gauge", help);
    for (size_t i = 0; i < count; i++) {
        const struct exporter_node *e = &nodes[i];
        if (!e->up || e->engine->id != ENGINE_REDIS) continue;
        const char *cur = e->n->stats_text, *list;
        char idx[260], ip[64], port[16], state[32], extra[300], esc[140];
        size_t len;
        double v;
        while (next_entry(&cur, "slave", idx, sizeof(idx), &list, &len)) {
            if (idx[0] < '0' || idx[0] > '9' || list_number(list, len, key, &v) != 0) continue;
            if (list_value(list, len, "ip", ip, sizeof(ip)) != 0 || list_value(list, len, "port", port, sizeof(port)) != 0)
                continue;
            if (list_value(list, len, "state", state, sizeof(state)) != 0) snprintf(state, sizeof(state), "unknown");
            metrics_escape_label(ip, esc, sizeof(esc));
            snprintf(extra, sizeof(extra), ",slave_ip=\"%s\",slave_port=\"%s\",slave_state=\"%s\"", esc, port, state);
            sample(o, name, e->labels, extra, v);
        }
    }
}

static void memcached_command_family(struct textbuf *o, const struct exporter_node *nodes, size_t count)
{
    family(o, "memcached_commands_total", "counter", "Commands by command and result (stats).");
    for (size_t c = 0; c < sizeof(memcached_commands) / sizeof(memcached_commands[0]); c++) {
        char extra[96];
        snprintf(extra, sizeof(extra), ",command=\"%s\",status=\"%s\"", memcached_commands[c].command,
                 memcached_commands[c].status);
        for (size_t i = 0; i < count; i++) {
            const struct exporter_node *e = &nodes[i];
            size_t len;
            double v;
            if (!e->up || e->engine->id != ENGINE_MEMCACHED) continue;
            const char *t = field_value(e->n->stats_text, METRICS_STATS, memcached_commands[c].field, &len);
            if (t && parse_number(t, len, &v) == 0) sample(o, "memcached_commands_total", e->labels, extra, v);
        }
    }
}

void metrics_exporter_series(struct textbuf *o, const struct agent *a)
{
    static struct exporter_node nodes[AGENT_MAX_NODES]; /* only the HTTP thread renders, under agent.lock */
    size_t count = 0, have[ENGINE_COUNT] = {0};
    for (size_t i = 0; i < a->nnodes; i++) {
        struct exporter_node *e = &nodes[count++];
        e->n = a->nodes[i];
        e->engine = engine_get(e->n->spec.engine);
        e->up = e->n->obs.health == HEALTH_UP && e->n->stats_text != NULL;
        metrics_node_labels(a, e->n, e->labels, sizeof(e->labels));
        have[e->engine->id]++;
    }
    if (have[ENGINE_REDIS]) {
        up_family(o, nodes, count, ENGINE_REDIS, "redis_up");
        redis_instance_info(o, nodes, count);
        field_families(o, nodes, count, ENGINE_REDIS, redis_fields, sizeof(redis_fields) / sizeof(redis_fields[0]));
        redis_master_link(o, nodes, count);
        for (size_t m = 0; m < sizeof(redis_lists) / sizeof(redis_lists[0]); m++)
            list_family(o, nodes, count, &redis_lists[m]);
        redis_replicas(o, nodes, count, "redis_connected_slave_offset_bytes", "offset",
                       "A replica's acknowledged offset, as its primary sees it.");
        redis_replicas(o, nodes, count, "redis_connected_slave_lag_seconds", "lag",
                       "Seconds since a replica last acknowledged, as its primary sees it.");
    }
    if (have[ENGINE_MEMCACHED]) {
        up_family(o, nodes, count, ENGINE_MEMCACHED, "memcached_up");
        field_families(o, nodes, count, ENGINE_MEMCACHED, memcached_fields,
                       sizeof(memcached_fields) / sizeof(memcached_fields[0]));
        memcached_command_family(o, nodes, count);
    }
}
