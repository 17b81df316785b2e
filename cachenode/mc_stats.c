/* mc_stats.c: the memcached engine's stats command family: "stats" (the
 * general counters), "stats settings", "stats items" and "stats slabs",
 * with memcached's field names. The engine has no slab classes: items and
 * slabs report the whole store as class 1, which is what tools that sum
 * the classes need. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mc.h"
#include "server.h"

static void stat_u64(struct mc_buf *o, const char *name, uint64_t v)
{
    mc_buf_printf(o, "STAT %s %llu\r\n", name, (unsigned long long)v);
}

static void stat_str(struct mc_buf *o, const char *name, const char *v)
{
    mc_buf_printf(o, "STAT %s %s\r\n", name, v);
}

#define SUM_FIELDS(X)                                                                                   \
    X(cmd_get) X(cmd_set) X(cmd_flush) X(cmd_touch) X(cmd_meta) X(get_hits) X(get_misses) X(get_expired) \
    X(get_flushed) X(delete_misses) X(delete_hits) X(incr_misses) X(incr_hits) X(decr_misses)            \
    X(decr_hits) X(cas_misses) X(cas_hits) X(cas_badval) X(touch_hits) X(touch_misses)                   \
    X(store_too_large) X(store_no_memory) X(auth_cmds) X(auth_errors) X(bytes_read) X(bytes_written)

struct totals {
#define X(f) uint64_t f;
    SUM_FIELDS(X)
#undef X
};

static void sum_workers(const struct mc_server_info *info, struct totals *t)
{
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < info->nworkers; i++) {
        struct mc_worker_stats *w = info->worker_stats[i];
#define X(f) t->f += atomic_load_explicit(&w->f, memory_order_relaxed);
        SUM_FIELDS(X)
#undef X
    }
}

static void general(struct mc_buf *o)
{
    struct mc_server_info info;
    struct mc_store_stats st;
    struct totals t;
    struct rusage ru;
    mc_server_info(&info);
    mc_store_stats(&st);
    sum_workers(&info, &t);
    getrusage(RUSAGE_SELF, &ru);
    uint32_t now = mc_now();
    stat_u64(o, "pid", (uint64_t)getpid());
    stat_u64(o, "uptime", now - 2);
    stat_u64(o, "time", (uint64_t)mc_unix_time(now));
    stat_str(o, "version", MC_VERSION);
    stat_str(o, "libevent", "none");
    stat_u64(o, "pointer_size", sizeof(void *) * 8);
    mc_buf_printf(o, "STAT rusage_user %ld.%06ld\r\n", (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
    mc_buf_printf(o, "STAT rusage_system %ld.%06ld\r\n", (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec);
    stat_u64(o, "max_connections", (uint64_t)info.maxconns);
    stat_u64(o, "curr_connections", info.curr_connections);
    stat_u64(o, "total_connections", info.total_connections);
    stat_u64(o, "rejected_connections", info.rejected_connections);
    stat_u64(o, "connection_structures", info.curr_connections);
#define X(f) stat_u64(o, #f, t.f);
    SUM_FIELDS(X)
#undef X
    stat_u64(o, "limit_maxbytes", st.limit_maxbytes);
    stat_u64(o, "accepting_conns", 1);
    stat_u64(o, "threads", (uint64_t)info.threads);
    stat_u64(o, "hash_bytes", st.hash_buckets * sizeof(void *));
    stat_u64(o, "hash_is_expanding", 0);
    stat_u64(o, "bytes", st.bytes);
    stat_u64(o, "curr_items", st.curr_items);
    stat_u64(o, "total_items", st.total_items);
    stat_u64(o, "expired_unfetched", st.expired_unfetched);
    stat_u64(o, "evicted_unfetched", st.evicted_unfetched);
    stat_u64(o, "evictions", st.evictions);
    stat_u64(o, "reclaimed", st.reclaimed);
}

static void settings(struct mc_buf *o)
{
    const struct mc_store_config *cfg = mc_store_config();
    struct mc_server_info info;
    mc_server_info(&info);
    stat_u64(o, "maxbytes", mc_store_limit());
    stat_u64(o, "maxconns", (uint64_t)info.maxconns);
    stat_u64(o, "tcpport", (uint64_t)info.port);
    stat_u64(o, "udpport", 0);
    stat_str(o, "inter", server.bind && server.bind[0] ? server.bind : "NULL");
    stat_str(o, "evictions", cfg->evict ? "on" : "off");
    stat_u64(o, "num_threads", (uint64_t)info.threads);
    stat_str(o, "cas_enabled", "yes");
    stat_u64(o, "tcp_backlog", (uint64_t)server.tcp_backlog);
    stat_str(o, "binding_protocol", "ascii");
    stat_u64(o, "item_size_max", cfg->max_item_size);
    stat_str(o, "flush_enabled", "yes");
    stat_str(o, "discovery_file", server.mc_discovery_file && server.mc_discovery_file[0]
                                      ? server.mc_discovery_file : "NULL");
}

static void items(struct mc_buf *o)
{
    struct mc_store_stats st;
    mc_store_stats(&st);
    if (st.curr_items == 0) return; /* memcached lists only classes in use */
    stat_u64(o, "items:1:number", st.curr_items);
    stat_u64(o, "items:1:mem_requested", st.bytes);
    stat_u64(o, "items:1:evicted", st.evictions);
    stat_u64(o, "items:1:outofmemory", 0);
    stat_u64(o, "items:1:reclaimed", st.reclaimed);
    stat_u64(o, "items:1:expired_unfetched", st.expired_unfetched);
    stat_u64(o, "items:1:evicted_unfetched", st.evicted_unfetched);
}

static void slabs(struct mc_buf *o)
{
    struct mc_store_stats st;
    mc_store_stats(&st);
    if (st.curr_items) {
        stat_u64(o, "1:used_chunks", st.curr_items);
        stat_u64(o, "1:mem_requested", st.bytes);
    }
    stat_u64(o, "active_slabs", st.curr_items ? 1 : 0);
    stat_u64(o, "total_malloced", st.bytes);
}

int mc_stats_reply(struct mc_buf *out, const char *sub)
{
    if (!sub) general(out);
    else if (strcmp(sub, "settings") == 0) settings(out);
    else if (strcmp(sub, "items") == 0) items(out);
    else if (strcmp(sub, "slabs") == 0) slabs(out);
    else return -1;
    mc_buf_add(out, "END\r\n", 5);
    return 0;
}

void mc_stats_reset(void)
{
    struct mc_server_info info;
    mc_server_info(&info);
    for (int i = 0; i < info.nworkers; i++) {
        struct mc_worker_stats *w = info.worker_stats[i];
#define X(f) atomic_store_explicit(&w->f, 0, memory_order_relaxed);
        SUM_FIELDS(X)
#undef X
    }
    mc_store_stats_reset();
}
