/* main.c: cachenode's entry point: options, start-up, the event loop. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "cluster.h"
#include "eventloop.h"
#include "log.h"
#include "mc.h"
#include "server.h"
#include "snapshot.h"

/* Raises the open-file limit so that maxclients connections fit; lowers
 * maxclients when the system will not allow that many. */
static void adjust_open_files_limit(void)
{
    rlim_t want = (rlim_t)server.maxclients + 128;
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == -1) return;
    if (limit.rlim_cur >= want) return;
    struct rlimit raised = limit;
    raised.rlim_cur = want;
    if (raised.rlim_max < want) raised.rlim_max = want;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return;
    raised.rlim_cur = raised.rlim_max = limit.rlim_max;
    if (limit.rlim_max > limit.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    int fit = limit.rlim_cur > 128 ? (int)(limit.rlim_cur - 128) : 1;
    log_msg(LOG_WARNING, "Open files limit %llu is too low for maxclients %d: maxclients is now %d",
            (unsigned long long)limit.rlim_cur, server.maxclients, fit);
    server.maxclients = fit;
}

static void usage(void)
{
    fprintf(stderr,
            "Usage: cachenode [CONFIG_FILE] [--port 6379] [--bind 127.0.0.1] [--maxmemory 0]\n"
            "                 [--maxmemory-policy noeviction] [--requirepass PW] [--masterauth PW]\n"
            "                 [--dir DIR] [--dbfilename dump.cfs] [--replicaof HOST PORT]\n"
            "                 [--cluster-enabled no] [--protocol resp]\n"
            "                 [--node-id ID] [--logfile FILE] [--loglevel notice]\n"
            "       cachenode --protocol memcached [--port 11211] [--bind 127.0.0.1] [--maxmemory 64mb]\n"
            "                 [--threads 4] [--max-item-size 1mb] [--discovery-file PATH]\n"
            "                 [--maxmemory-policy allkeys-lru|noeviction] [--maxclients 10000]\n"
            "                 [--node-id ID] [--logfile FILE] [--loglevel notice]\n"
            "       cachenode --version\n"
            "Values shown are the defaults (maxmemory 0: no limit). Every parameter that\n"
            "CONFIG GET lists is also an option. --cluster-enabled yes needs --node-id.\n"
            "Not supported: automatic save points (--save is \"\").\n"
            "--protocol memcached runs the memcached engine (text and meta protocol):\n"
            "--threads worker threads share one keyspace; --maxmemory 0 means 64mb and\n"
            "items are evicted (LRU) past it unless --maxmemory-policy noeviction;\n"
            "--max-item-size is memcached's -I; --discovery-file holds the Auto Discovery\n"
            "list ([version\\n]host|ip|port ...), re-read when it changes and on SIGHUP.\n"
            "--replicaof, --requirepass, --masterauth and --cluster-enabled yes are refused.\n");
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)) {
        printf("cachenode v=%s (cachefleet %s)\n", CN_VERSION, CACHEFLEET_VERSION);
        return 0;
    }
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage();
        return 0;
    }
    config_set_defaults();
    int first_option = 1;
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
        if (config_load_file(argv[1]) == -1) return 1;
        first_option = 2;
    }
    if (config_load_args(argc - first_option, argv + first_option) == -1) {
        usage();
        return 1;
    }
    adjust_open_files_limit();
    if (server.protocol_mode == PROTOCOL_MEMCACHED) {
        if (config_check_memcached() == -1) return 1;
        return mc_main();
    }
    server_init();
    if (el_init(server.maxclients + 128) == -1) {
        log_msg(LOG_WARNING, "Failed creating the event loop");
        return 1;
    }
    el_set_timer(1000 / server.hz, server_cron);
    el_set_busy_poll(server.busy_poll_us);
    /* the dataset is loaded whole, or the node does not start at all */
    if (server.cluster_enabled && cluster_init() == -1) return 1;
    if (snapshot_load_at_startup() == -1) return 1;
    /* what a slot move that did not complete left in the snapshot */
    if (server.cluster_enabled && cluster_is_primary() && !(server.replicaof && server.replicaof[0]))
        cluster_drop_unowned(0);
    if (server_listen() == -1) return 1;
    replication_init();
    log_msg(LOG_NOTICE, "cachenode %s started, pid=%d, port=%d", CN_VERSION, (int)server.pid, server.port);
    log_msg(LOG_NOTICE, "Ready to accept connections tcp");
    el_run();
#ifdef CACHEFLEET_SANITIZE
    server_release();
#endif
    return 0;
}
