/* main.c: cachefleet-controller's entry point: flags, tokens, the database,
 * the HTTP thread and the worker thread, and a clean SIGTERM (the HTTP
 * server stops, the worker finishes its current step, the database closes;
 * an unfinished operation resumes at the next start). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cliconfig.h"
#include "ctl.h"
#include "nodestats.h"
#include "dashboard.h"
#include "httpc.h"
#include "httpd.h"
#include "log.h"
#include "store.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: cachefleet-controller --db DIR/controller.db [--listen 127.0.0.1:8700] [--token-file FILE]\n"
                 "                             [--agent-token-file FILE] [--agent-timeout-ms 3000]\n"
                 "                             [--session-idle-ms 3600000 (dashboard sessions)]\n"
                 "                             [--sentinel-listen ADDR:PORT (default: none)]\n"
                 "                             [--logfile FILE (default: stderr)] [--loglevel notice] [--config FILE]\n"
                 "--config FILE: lines `name value` with these option names; flags override them.\n"
                 "Without --token-file (--agent-token-file) the token is read from, or first\n"
                 "generated in, DIR/api.token (DIR/agent.token).\n");
}

static int copy_arg(char *dst, size_t len, const char *src, const char *flag)
{
    if (strlen(src) >= len) { fprintf(stderr, "%s: value too long\n", flag); return -1; }
    snprintf(dst, len, "%s", src);
    return 0;
}

/* A number of milliseconds in min..max for flag into *out; -1 (said why) if not. */
static int parse_ms(const char *arg, long long min, long long max, const char *flag, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        fprintf(stderr, "%s: %lld..%lld\n", flag, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

enum { O_LISTEN = 1, O_DB, O_TOKEN, O_AGENT_TOKEN, O_TIMEOUT, O_LOGFILE, O_LOGLEVEL, O_HELP, O_SENTINEL, O_SESSION_IDLE };
static const struct option long_opts[] = {
    {"listen", 1, 0, O_LISTEN}, {"db", 1, 0, O_DB}, {"token-file", 1, 0, O_TOKEN},
    {"agent-token-file", 1, 0, O_AGENT_TOKEN}, {"agent-timeout-ms", 1, 0, O_TIMEOUT},
    {"logfile", 1, 0, O_LOGFILE}, {"loglevel", 1, 0, O_LOGLEVEL}, {"help", 0, 0, O_HELP},
    {"sentinel-listen", 1, 0, O_SENTINEL}, {"session-idle-ms", 1, 0, O_SESSION_IDLE}, {0, 0, 0, 0}};

static int parse_flags(int argc, char **argv, struct ctl_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8700");
    c->agent_timeout_ms = 3000;
    c->session_idle_ms = 3600000;
    int opt, rc = 0;
    while (rc == 0 && (opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (opt) {
        case O_LISTEN: rc = copy_arg(c->listen, sizeof(c->listen), optarg, "--listen"); break;
        case O_SENTINEL: rc = copy_arg(c->sentinel_listen, sizeof(c->sentinel_listen), optarg, "--sentinel-listen"); break;
        case O_DB: rc = copy_arg(c->db_path, sizeof(c->db_path), optarg, "--db"); break;
        case O_TOKEN: rc = copy_arg(c->token_file, sizeof(c->token_file), optarg, "--token-file"); break;
        case O_AGENT_TOKEN: rc = copy_arg(c->agent_token_file, sizeof(c->agent_token_file), optarg, "--agent-token-file"); break;
        case O_TIMEOUT: rc = parse_ms(optarg, 100, 3600000, "--agent-timeout-ms", &c->agent_timeout_ms); break;
        case O_SESSION_IDLE: rc = parse_ms(optarg, 1000, 43200000, "--session-idle-ms", &c->session_idle_ms); break;
        case O_LOGFILE:
            if ((rc = log_set_file(optarg)) != 0) fprintf(stderr, "--logfile: cannot open %s\n", optarg);
            break;
        case O_LOGLEVEL:
            if (log_level_from_name(optarg) < 0) { fprintf(stderr, "--loglevel: debug|verbose|notice|warning\n"); rc = -1; }
            else log_set_level((enum log_level)log_level_from_name(optarg));
            break;
        case O_HELP: usage(stdout); exit(0);
        default: rc = -1;
        }
    }
    if (rc != 0 || optind != argc) { usage(stderr); return -1; }
    if (!c->db_path[0]) { fprintf(stderr, "--db is required\n"); usage(stderr); return -1; }
    return 0;
}

/* Creates path with 32 random hex digits (mode 0600) when it is missing. */
static int generate_token_file(const char *path)
{
    if (access(path, F_OK) == 0) return 0;
    unsigned char raw[16];
    char hex[40];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) return -1;
    for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write(fd, hex, 32) == 32;
    if (fd >= 0 && close(fd) != 0) ok = 0;
    explicit_bzero(hex, sizeof(hex));
    return ok ? 0 : -1;
}

/* Reads a token from file, or from DBDIR/fallback (generated the first
 * time). The token itself is never logged. */
static int load_token(const char *file, const char *db_path, const char *fallback, char *out, size_t outlen)
{
    char path[1200], dir[1024];
    if (file[0]) {
        snprintf(path, sizeof(path), "%s", file);
    } else {
        size_t dl = strlen(db_path);
        if (dl >= sizeof(dir)) return -1;
        memcpy(dir, db_path, dl + 1);
        const char *parent = dirname(dir);
        if (strlen(parent) + strlen(fallback) + 2 > sizeof(path)) return -1;
        snprintf(path, sizeof(path), "%.1023s/%.64s", parent, fallback);
        if (generate_token_file(path) != 0) { fprintf(stderr, "cannot create %s\n", path); return -1; }
    }
    FILE *f = fopen(path, "re");
    if (f == NULL) { fprintf(stderr, "cannot read token file %s: %s\n", path, strerror(errno)); return -1; }
    size_t n = fread(out, 1, outlen - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n > 0 && strchr(" \t\r\n", out[n - 1])) out[--n] = '\0';
    if (n == 0 || n >= outlen - 1) { fprintf(stderr, "token file %s: empty or too long\n", path); return -1; }
    for (size_t i = 0; i < n; i++)
        if (out[i] <= ' ' || out[i] >= 127) { fprintf(stderr, "token file %s: bad characters\n", path); return -1; }
    log_msg(LOG_NOTICE, "token read from %s", path);
    return 0;
}

static struct ctl controller;

int main(int argc, char **argv)
{
    struct ctl *c = &controller;
    log_set_role('C');
    struct config_args config_args = {0};
    if (config_args_expand(argc, argv, long_opts, &config_args) != 0) { usage(stderr); return 1; }
    int flags_rc = parse_flags(config_args.argc, config_args.argv, &c->cfg);
    config_args_free(&config_args);
    if (flags_rc != 0) return 1;
    if (load_token(c->cfg.token_file, c->cfg.db_path, "api.token", c->cfg.token, sizeof(c->cfg.token)) != 0 ||
        load_token(c->cfg.agent_token_file, c->cfg.db_path, "agent.token", c->cfg.agent_token, sizeof(c->cfg.agent_token)) != 0)
        return 1;
    char err[512];
    c->api_db = store_open(c->cfg.db_path, err, sizeof(err));
    if (c->api_db == NULL) { log_msg(LOG_WARNING, "database: %s", err); return 1; }
    c->stats = nodestats_new();
    if (c->stats == NULL || pthread_mutex_init(&c->lock, NULL) != 0 || pthread_cond_init(&c->wake, NULL) != 0 ||
        httpc_global_init() != 0) {
        log_msg(LOG_WARNING, "cannot initialise");
        return 1;
    }
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &stop_set, NULL) != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) return 1;

    pthread_t worker, sentinel;
    int with_sentinel = c->cfg.sentinel_listen[0] != '\0';
    if (with_sentinel && sentinel_start(c, err, sizeof(err)) != 0) { log_msg(LOG_WARNING, "%s", err); return 1; }
    if (with_sentinel && pthread_create(&sentinel, NULL, sentinel_thread, c) != 0) {
        log_msg(LOG_WARNING, "cannot start the Sentinel thread");
        return 1;
    }
    if (pthread_create(&worker, NULL, worker_thread, c) != 0) { log_msg(LOG_WARNING, "cannot start the worker"); return 1; }
    /* read before the HTTP thread starts: from then on api_db is that thread's alone */
    int schema = store_user_version(c->api_db);
    dashboard_set_session_idle_ms(c->cfg.session_idle_ms);
    struct httpd *http = httpd_start(c->cfg.listen, api_handle, c, err, sizeof(err));
    if (http == NULL) {
        log_msg(LOG_WARNING, "%s", err);
        c->stopping = 1;
        ctl_wake_worker(c);
        pthread_join(worker, NULL);
        if (with_sentinel) pthread_join(sentinel, NULL);
        store_close(c->api_db);
        return 1;
    }
    log_msg(LOG_NOTICE, "cachefleet-controller listening on %s, database %s (schema %d), agents down after %lld ms",
            c->cfg.listen, c->cfg.db_path, schema, c->cfg.agent_timeout_ms);

    int sig = 0;
    while (sigwait(&stop_set, &sig) == 0 && sig == SIGHUP) log_msg(LOG_NOTICE, "SIGHUP ignored");
    log_msg(LOG_NOTICE, "signal %d: stopping", sig);
    c->stopping = 1;
    httpd_stop(http);
    ctl_wake_worker(c);
    pthread_join(worker, NULL);
    if (with_sentinel) pthread_join(sentinel, NULL);
    store_close(c->api_db);
    nodestats_free(c->stats);
    httpc_global_cleanup();
    explicit_bzero(c->cfg.token, sizeof(c->cfg.token));
    explicit_bzero(c->cfg.agent_token, sizeof(c->cfg.agent_token));
    log_msg(LOG_NOTICE, "bye");
    return 0;
}
