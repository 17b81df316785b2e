/* info.c: the INFO command: the server's state as "field:value" lines in
 * sections, with Redis's section and field names and number formats, since
 * dashboards, exporters and our agent parse them. Fields for features we do
 * not have (persistence, replication backlog, modules) carry the values an
 * idle Redis reports, so parsers find every field they expect. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "eventloop.h"
#include "object.h"
#include "pubsub.h"
#include "server.h"
#include "snapshot.h"
#include "tracking.h"

/* ---- value formatting ------------------------------------------------------------ */

/* 1023 -> "1023B", 1536 -> "1.50K", as Redis's *_human fields. */
static void bytes_to_human(char *buf, size_t size, unsigned long long n)
{
    static const char units[] = "KMGTPE";
    if (n < 1024) {
        snprintf(buf, size, "%lluB", n);
        return;
    }
    double d = (double)n / 1024;
    int u = 0;
    while (d >= 1024 && u < (int)sizeof(units) - 2) {
        d /= 1024;
        u++;
    }
    snprintf(buf, size, "%.2f%c", d, units[u]);
}

/* ---- sections -------------------------------------------------------------------- */

static void section_server(struct text *t)
{
    struct utsname uts;
    if (uname(&uts) == -1) memset(&uts, 0, sizeof(uts));
    char exe[PATH_MAX] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    /* absolute since start-up (config.c), whatever `dir` did to the cwd */
    const char *config_path = server.config_file ? server.config_file : "";
    long long uptime = (server.now_ms - server.start_time_ms) / 1000;
    text_addf(t,
              "# Server\r\n"
              "redis_version:%s\r\n"
              "redis_git_sha1:00000000\r\n"
              "redis_git_dirty:0\r\n"
              "redis_build_id:0\r\n"
              "redis_mode:%s\r\n"
              "os:%s %s %s\r\n"
              "arch_bits:%d\r\n"
              "monotonic_clock:POSIX clock_gettime\r\n"
              "multiplexing_api:epoll\r\n"
              "atomicvar_api:c11-builtin\r\n"
              "gcc_version:%d.%d.%d\r\n"
              "process_id:%ld\r\n"
              "process_supervised:no\r\n"
              "run_id:%s\r\n"
              "tcp_port:%d\r\n"
              "server_time_usec:%lld\r\n"
              "uptime_in_seconds:%lld\r\n"
              "uptime_in_days:%lld\r\n"
              "hz:%d\r\n"
              "configured_hz:%d\r\n"
              "lru_clock:%u\r\n"
              "executable:%s\r\n"
              "config_file:%s\r\n"
              "io_threads_active:0\r\n"
              "cachefleet_version:%s\r\n"
              "node_id:%s\r\n",
              CN_VERSION, server.cluster_enabled ? "cluster" : "standalone", uts.sysname,
              uts.release, uts.machine, (int)(sizeof(long) * 8),
#ifdef __GNUC__
              __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
              0, 0, 0,
#endif
              (long)server.pid, server.run_id, server.port, ustime(), uptime, uptime / 86400,
              server.hz, server.hz, lru_clock(), exe, config_path, CACHEFLEET_VERSION,
              server.node_id ? server.node_id : "");
}

static void section_clients(struct text *t)
{
    size_t max_in = 0, max_out = 0, replicas = 0, blocked = 0, with_timeout = 0;
    for (client *c = server.clients; c; c = c->next) {
        if (c->qb_len > max_in) max_in = c->qb_len;
        if (client_output_bytes(c) > max_out) max_out = client_output_bytes(c);
        if (c->flags & CLIENT_REPLICA) replicas++;
        if (c->flags & CLIENT_BLOCKED) blocked++;
        if ((c->flags & CLIENT_BLOCKED) && c->block_deadline_ms) with_timeout++;
    }
    long long tr_keys, tr_items, tr_prefixes, tr_clients;
    tracking_counts(&tr_keys, &tr_items, &tr_prefixes, &tr_clients);
    text_addf(t,
              "# Clients\r\n"
              "connected_clients:%zu\r\n"
              "cluster_connections:0\r\n"
              "maxclients:%d\r\n"
              "client_recent_max_input_buffer:%zu\r\n"
              "client_recent_max_output_buffer:%zu\r\n"
              "blocked_clients:%zu\r\n"
              "tracking_clients:%lld\r\n"
              "clients_in_timeout_table:%zu\r\n",
              /* as in Redis, replicas are not counted as clients */
              server.connected_clients - replicas, server.maxclients, max_in, max_out, blocked, tr_clients,
              with_timeout);
}

static size_t clients_memory(void)
{
    size_t total = 0;
    for (client *c = server.clients; c; c = c->next)
        total += zmalloc_size(c) + zmalloc_size(c->buf) + zmalloc_size(c->querybuf) +
                 zmalloc_size(c->argv) + c->reply_bytes;
    return total;
}

static void section_memory(struct text *t)
{
    size_t used = zmalloc_used(), rss = zmalloc_rss();
    long long peak = server.stat_peak_memory > (long long)used ? server.stat_peak_memory : (long long)used;
    size_t overhead = clients_memory();
    size_t dataset = used > overhead ? used - overhead : 0;
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    unsigned long long total_mem = pages > 0 && page_size > 0 ? (unsigned long long)pages * (unsigned long long)page_size : 0;
    char used_h[32], rss_h[32], peak_h[32], total_h[32], max_h[32], policy[32];
    bytes_to_human(used_h, sizeof(used_h), used);
    bytes_to_human(rss_h, sizeof(rss_h), rss);
    bytes_to_human(peak_h, sizeof(peak_h), (unsigned long long)peak);
    bytes_to_human(total_h, sizeof(total_h), total_mem);
    bytes_to_human(max_h, sizeof(max_h), (unsigned long long)server.maxmemory);
    maxmemory_policy_name(server.maxmemory_policy, policy, sizeof(policy));
    double frag = used ? (double)rss / (double)used : 0;
    char scripting[1024];
    if (scripts_memory_info(scripting, sizeof(scripting)) == 0) scripting[0] = '\0';
    text_addf(t,
              "# Memory\r\n"
              "used_memory:%zu\r\n"
              "used_memory_human:%s\r\n"
              "used_memory_rss:%zu\r\n"
              "used_memory_rss_human:%s\r\n"
              "used_memory_peak:%lld\r\n"
              "used_memory_peak_human:%s\r\n"
              "used_memory_peak_perc:%.2f%%\r\n"
              "used_memory_overhead:%zu\r\n"
              "used_memory_dataset:%zu\r\n"
              "used_memory_dataset_perc:%.2f%%\r\n"
              "total_system_memory:%llu\r\n"
              "total_system_memory_human:%s\r\n"
              "%s"
              "maxmemory:%lld\r\n"
              "maxmemory_human:%s\r\n"
              "maxmemory_policy:%s\r\n"
              "mem_fragmentation_ratio:%.2f\r\n"
              "mem_fragmentation_bytes:%lld\r\n"
              "mem_not_counted_for_evict:0\r\n"
              "mem_replication_backlog:0\r\n"
              "mem_total_replication_buffers:0\r\n"
              "mem_clients_slaves:0\r\n"
              "mem_clients_normal:%zu\r\n"
              "mem_cluster_links:0\r\n"
              "mem_aof_buffer:0\r\n"
              "mem_allocator:libc\r\n"
              "active_defrag_running:0\r\n"
              "lazyfree_pending_objects:%zu\r\n"
              "lazyfreed_objects:%zu\r\n",
              used, used_h, rss, rss_h, peak, peak_h, peak ? 100.0 * (double)used / (double)peak : 0,
              overhead, dataset, used ? 100.0 * (double)dataset / (double)used : 0, total_mem,
              total_h, scripting, server.maxmemory, max_h, policy, frag, (long long)rss - (long long)used,
              overhead, object_lazyfree_pending() + lazyfree_pending_objects(),
              object_lazyfreed_total());
}

static void section_persistence(struct text *t)
{
    char buf[2048];
    size_t n = snapshot_info(buf, sizeof(buf));
    text_addf(t, "# Persistence\r\n%.*s", (int)n, buf);
}

static void section_stats(struct text *t)
{
    char sync_stats[256];
    if (replication_stats_info(sync_stats, sizeof(sync_stats)) == 0) sync_stats[0] = '\0';
    long ps_channels, ps_patterns, ps_shard;
    pubsub_server_counts(&ps_channels, &ps_patterns, &ps_shard);
    long long tr_keys, tr_items, tr_prefixes, tr_clients;
    tracking_counts(&tr_keys, &tr_items, &tr_prefixes, &tr_clients);
    text_addf(t,
              "# Stats\r\n"
              "total_connections_received:%lld\r\n"
              "total_commands_processed:%lld\r\n"
              "instantaneous_ops_per_sec:%lld\r\n"
              "total_net_input_bytes:%lld\r\n"
              "total_net_output_bytes:%lld\r\n"
              "total_net_repl_input_bytes:0\r\n"
              "total_net_repl_output_bytes:0\r\n"
              "instantaneous_input_kbps:0.00\r\n"
              "instantaneous_output_kbps:0.00\r\n"
              "instantaneous_input_repl_kbps:0.00\r\n"
              "instantaneous_output_repl_kbps:0.00\r\n"
              "rejected_connections:%lld\r\n"
              "%s"
              "expired_keys:%lld\r\n"
              "expired_stale_perc:%.2f\r\n"
              "expired_time_cap_reached_count:0\r\n"
              "expire_cycle_cpu_milliseconds:%lld\r\n"
              "evicted_keys:%lld\r\n"
              "evicted_clients:%lld\r\n"
              "total_eviction_exceeded_time:0\r\n"
              "current_eviction_exceeded_time:0\r\n"
              "keyspace_hits:%lld\r\n"
              "keyspace_misses:%lld\r\n"
              "pubsub_channels:%ld\r\n"
              "pubsub_patterns:%ld\r\n"
              "pubsubshard_channels:%ld\r\n"
              "latest_fork_usec:%lld\r\n"
              "total_forks:%lld\r\n"
              "migrate_cached_sockets:0\r\n"
              "slave_expires_tracked_keys:0\r\n"
              "active_defrag_hits:0\r\n"
              "active_defrag_misses:0\r\n"
              "active_defrag_key_hits:0\r\n"
              "active_defrag_key_misses:0\r\n"
              "total_active_defrag_time:0\r\n"
              "current_active_defrag_time:0\r\n"
              "tracking_total_keys:%lld\r\n"
              "tracking_total_items:%lld\r\n"
              "tracking_total_prefixes:%lld\r\n"
              "unexpected_error_replies:%lld\r\n"
              "total_error_replies:%lld\r\n"
              "dump_payload_sanitizations:0\r\n"
              "client_query_buffer_limit_disconnections:%lld\r\n"
              "client_output_buffer_limit_disconnections:%lld\r\n",
              server.stat_numconnections, server.stat_numcommands, instantaneous_ops(),
              server.stat_net_input_bytes, server.stat_net_output_bytes, server.stat_rejected_conn,
              sync_stats, server.stat_expiredkeys, (double)server.stat_expired_stale_perc_x100 / 100.0,
              server.stat_expire_cycle_time_used_us / 1000, server.stat_evictedkeys,
              server.stat_evicted_clients, server.stat_keyspace_hits, server.stat_keyspace_misses,
              ps_channels, ps_patterns, ps_shard, snapshot_latest_fork_usec(), snapshot_total_forks(),
              tr_keys, tr_items, tr_prefixes,
              server.stat_unexpected_error_replies, server.stat_total_error_replies,
              server.stat_client_qbuf_limit_disconnections,
              server.stat_client_outbuf_limit_disconnections);
}

/* replication.c owns the replication section's lines */
static void section_replication(struct text *t)
{
    char buf[16384];
    size_t n = replication_info(buf, sizeof(buf));
    text_addf(t, "# Replication\r\n%.*s", (int)n, buf);
}

static void add_rusage(struct text *t, const char *suffix, int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) == -1) memset(&ru, 0, sizeof(ru));
    text_addf(t, "used_cpu_sys%s:%ld.%06ld\r\nused_cpu_user%s:%ld.%06ld\r\n", suffix,
              (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec, suffix,
              (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
}

static void section_cpu(struct text *t)
{
    text_addf(t, "# CPU\r\n");
    add_rusage(t, "", RUSAGE_SELF);
    add_rusage(t, "_children", RUSAGE_CHILDREN);
    add_rusage(t, "_main_thread", RUSAGE_THREAD);
    long long poll_us, poll_hits;
    el_busy_poll_stats(&poll_us, &poll_hits);
    text_addf(t, "busy_poll_time:%lld.%06lld\r\nbusy_poll_hits:%lld\r\n", poll_us / 1000000,
              poll_us % 1000000, poll_hits);
}

static void section_modules(struct text *t) { text_addf(t, "# Modules\r\n"); }

static void add_command_stat(struct text *t, const struct command *cmd)
{
    if (cmd->calls == 0 && cmd->rejected_calls == 0 && cmd->failed_calls == 0) return;
    double per_call = cmd->calls ? (double)cmd->usec / (double)cmd->calls : 0;
    text_addf(t, "cmdstat_%s:calls=%lld,usec=%lld,usec_per_call=%.2f,rejected_calls=%lld,failed_calls=%lld\r\n",
              cmd->name, cmd->calls, cmd->usec, per_call, cmd->rejected_calls, cmd->failed_calls);
}

/* Adds a line per command and subcommand, in table order. */
static void each_command_line(struct text *t, void (*add)(struct text *, const struct command *))
{
    for (struct command **cmd = command_all(); *cmd; cmd++) {
        add(t, *cmd);
        if ((*cmd)->subcommands == NULL) continue;
        for (const struct command *sub = (*cmd)->subcommands; sub->name; sub++) add(t, sub);
    }
}

static void section_commandstats(struct text *t)
{
    text_addf(t, "# Commandstats\r\n");
    each_command_line(t, add_command_stat);
}

static void section_errorstats(struct text *t)
{
    text_addf(t, "# Errorstats\r\n");
    int n = errorstats_count();
    for (int i = 0; i < n; i++) {
        long long count;
        const char *code = errorstats_at(i, &count);
        text_addf(t, "errorstat_%s:count=%lld\r\n", code, count);
    }
}

static void add_latency_line(struct text *t, const struct command *cmd)
{
    char line[4096];
    size_t n = latency_command_percentiles(cmd, line, sizeof(line));
    if (n) text_addf(t, "%.*s", (int)n, line);
}

static void section_latencystats(struct text *t)
{
    text_addf(t, "# Latencystats\r\n");
    each_command_line(t, add_latency_line);
}

static void section_cluster(struct text *t)
{
    text_addf(t, "# Cluster\r\ncluster_enabled:%d\r\n", server.cluster_enabled ? 1 : 0);
}

static void section_keyspace(struct text *t)
{
    text_addf(t, "# Keyspace\r\n");
    for (int i = 0; i < server.databases && i < DB_COUNT; i++) {
        db *d = server.dbs[i];
        if (d == NULL || db_size(d) == 0) continue;
        text_addf(t, "db%d:keys=%zu,expires=%zu,avg_ttl=%lld\r\n", i, db_size(d), db_expires(d),
                  d->avg_ttl);
    }
}

/* ---- section selection --------------------------------------------------------------- */

struct section {
    const char *name;
    void (*render)(struct text *t);
    int in_default; /* "all" is every section, "everything" too (no modules info) */
};

static const struct section sections[] = {
    {"server", section_server, 1},           {"clients", section_clients, 1},
    {"memory", section_memory, 1},           {"persistence", section_persistence, 1},
    {"stats", section_stats, 1},             {"replication", section_replication, 1},
    {"cpu", section_cpu, 1},                 {"modules", section_modules, 1},
    {"commandstats", section_commandstats, 0}, {"errorstats", section_errorstats, 1},
    {"latencystats", section_latencystats, 0}, {"cluster", section_cluster, 1},
    {"keyspace", section_keyspace, 1},
};
#define SECTIONS_COUNT (sizeof(sections) / sizeof(sections[0]))

/* Marks the sections INFO's arguments ask for. */
static void select_sections(client *c, int *want)
{
    if (c->argc == 1) {
        for (size_t i = 0; i < SECTIONS_COUNT; i++) want[i] = sections[i].in_default;
        return;
    }
    for (int a = 1; a < c->argc; a++) {
        const arg *name = &c->argv[a];
        int all = arg_is(name->p, name->len, "all") || arg_is(name->p, name->len, "everything");
        int dflt = arg_is(name->p, name->len, "default");
        for (size_t i = 0; i < SECTIONS_COUNT; i++) {
            if (all || (dflt && sections[i].in_default) ||
                arg_is(name->p, name->len, sections[i].name) ||
                (i == 7 && arg_is(name->p, name->len, "module_list")))
                want[i] = 1;
        }
    }
}

/* Renders the selected sections into a caller-owned buffer (zfree it). */
char *info_render(client *c, size_t *len)
{
    int want[SECTIONS_COUNT] = {0};
    select_sections(c, want);
    struct text t = {NULL, 0, 0};
    int first = 1;
    for (size_t i = 0; i < SECTIONS_COUNT; i++) {
        if (!want[i]) continue;
        if (!first) text_addf(&t, "\r\n");
        sections[i].render(&t);
        first = 0;
    }
    *len = t.len;
    return t.buf;
}

void info_command(client *c)
{
    size_t len;
    char *text = info_render(c, &len);
    reply_verbatim(c, text ? text : "", len, "txt");
    zfree(text);
}
