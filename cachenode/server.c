/* server.c: the server's lifecycle: initialisation, the periodic cron,
 * the before-sleep hook, statistics upkeep, and clean shutdown. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "eventloop.h"
#include "log.h"
#include "object.h"
#include "server.h"
#include "tracking.h"
#include "snapshot.h"


/* The clock is read at least every cron period (1000/hz ms) while the
 * process runs; a longer gap between two readings means it did not run
 * (stopped, or starved). Replication fences writes after such a gap. */
static void notice_stall(void)
{
    static long long last_us;
    long long now = monotonic_us();
    long long gap_ms = last_us ? (now - last_us) / 1000 : 0;
    last_us = now;
    long long normal_ms = 2 * (1000 / server.hz);
    if (gap_ms > (normal_ms > 200 ? normal_ms : 200)) replication_note_stall(gap_ms);
}

void update_cached_time(void)
{
    server.now_us = ustime();
    server.now_ms = server.now_us / 1000;
    server.unixtime = (time_t)(server.now_ms / 1000);
    update_new_entry_lru();
    notice_stall();
}

static void handle_sigterm(int sig)
{
    (void)sig;
    server.shutdown_asap = 1;
}

static void before_sleep(void)
{
    blocking_check_timeouts();
    pause_check_deadline();
    resume_unblocked_clients();
    replication_before_sleep();
    tracking_before_sleep();
    handle_pending_writes();
    update_cached_time();
}

static void track_ops(void)
{
    long long now = server.now_ms;
    long long elapsed = now - server.ops_last_sample_ms;
    if (elapsed < 100) return;
    long long ops = server.stat_numcommands - server.ops_last_sample_count;
    server.ops_samples[server.ops_sample_idx] = ops * 1000 / elapsed;
    server.ops_sample_idx = (server.ops_sample_idx + 1) % 16;
    server.ops_last_sample_ms = now;
    server.ops_last_sample_count = server.stat_numcommands;
}

long long instantaneous_ops(void)
{
    long long sum = 0;
    for (int i = 0; i < 16; i++) sum += server.ops_samples[i];
    return sum / 16;
}

void config_reset_stats(void)
{
    server.stat_numcommands = server.stat_numconnections = server.stat_rejected_conn = 0;
    server.stat_expiredkeys = server.stat_evictedkeys = server.stat_evicted_clients = 0;
    server.stat_keyspace_hits = server.stat_keyspace_misses = 0;
    server.stat_net_input_bytes = server.stat_net_output_bytes = 0;
    server.stat_total_error_replies = server.stat_unexpected_error_replies = 0;
    server.stat_expired_stale_perc_x100 = server.stat_expire_cycle_time_used_us = 0;
    server.stat_peak_memory = (long long)zmalloc_used();
    server.stat_client_qbuf_limit_disconnections = server.stat_client_outbuf_limit_disconnections = 0;
    for (struct command **c = command_all(); *c; c++)
        (*c)->calls = (*c)->usec = (*c)->rejected_calls = (*c)->failed_calls = 0;
    errorstats_reset();
    latency_reset_histograms();
}

static void prepare_shutdown_and_exit(void)
{
    log_msg(LOG_WARNING, "User requested shutdown...");
    if (server.listen_fd >= 0) close(server.listen_fd);
    log_msg(LOG_WARNING, "cachenode is now ready to exit, bye bye...");
    el_stop();
}

void server_cron(void)
{
    update_cached_time();
    if (server.shutdown_asap) {
        prepare_shutdown_and_exit();
        return;
    }
    track_ops();
    if ((long long)zmalloc_used() > server.stat_peak_memory)
        server.stat_peak_memory = (long long)zmalloc_used();
    clients_cron();
    for (int i = 0; i < server.databases; i++) {
        db_resize_if_needed(server.dbs[i]);
        /* spend at most about a millisecond rehashing per database */
        long long start = monotonic_us();
        while (db_rehash(server.dbs[i], 100) && monotonic_us() - start < 1000) {}
    }
    if (!server_is_replica() && !pause_writes_paused()) active_expire_cycle(0);
    lazyfree_step(0); /* frees what FLUSHALL/FLUSHDB ASYNC detached, in steps */
    snapshot_cron();
    replication_cron();
    if (server.cluster_enabled) migrate_cron();
}

/* Frees every client and database. Only sanitizer builds do this at exit:
 * LeakSanitizer cannot see pointers stored unaligned inside entries, and
 * freeing a large dataset would only slow down a production shutdown. */
void server_release(void)
{
    while (server.clients) {
        server.clients->flags &= ~CLIENT_PROTECTED;
        free_client(server.clients);
    }
    lazyfree_step(-1); /* whatever FLUSH ASYNC left */
    for (int i = 0; i < DB_COUNT; i++) {
        db_release(server.dbs[i]);
        server.dbs[i] = NULL;
    }
    object_lazyfree_drain();
    pause_release_all();
    scripts_release();
    cluster_migrate_release();
    cluster_release();
}

void server_init(void)
{
    server.pid = getpid();
    server.listen_fd = -1;
    random_seed((uint64_t)ustime() ^ ((uint64_t)getpid() << 32));
    keyspace_seed(random_u64());
    random_hex(server.run_id, 40);
    update_cached_time();
    server.start_time_ms = server.now_ms;
    server.ops_last_sample_ms = server.now_ms;
    for (int i = 0; i < DB_COUNT; i++) server.dbs[i] = db_create(i, server.cluster_enabled && i == 0);
    db_init_hooks();
    commands_init();
    scripts_init();

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handle_sigterm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    el_set_before_sleep(before_sleep);
}
