/* main.c: cachefleet-agent's entry point: flags, the data directory, the
 * token, the three threads (HTTP, health, reporter), and a clean SIGTERM
 * that leaves every node running. */
#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cliconfig.h"
#include "agent.h"
#include "httpc.h"
#include "httpd.h"
#include "json.h"
#include "log.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: cachefleet-agent --listen ADDR:PORT --controller URL --host-id ID --az AZ\n"
            "                        [--advertise ADDR] [--data-dir DIR] [--token-file FILE]\n"
            "                        [--node-binary PATH] [--ports 7000-7999] [--memory-mb 4096]\n"
            "                        [--health-interval-ms 100] [--health-misses 3]\n"
            "                        [--logfile FILE] [--loglevel notice] [--config FILE]\n"
            "--config FILE: lines `name value` with these option names; flags override them.\n");
}

static int copy_arg(char *dst, size_t len, const char *src, const char *flag)
{
    if (strlen(src) >= len) {
        fprintf(stderr, "%s: value too long\n", flag);
        return -1;
    }
    snprintf(dst, len, "%s", src);
    return 0;
}

static int parse_ll(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int default_node_binary(char *buf, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) return -1;
    self[n] = '\0';
    int w = snprintf(buf, len, "%s/cachenode", dirname(self));
    return w > 0 && (size_t)w < len ? 0 : -1;
}

/* 1 for 0.0.0.0 and :: (any spelling): addresses to listen on, never to
 * connect to. */
static int is_wildcard(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) return a4.s_addr == htonl(INADDR_ANY);
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6);
}

/* Splits --listen ("ADDR:PORT", "[ADDR6]:PORT") into its host, without
 * brackets, and its port. */
static int split_listen(const char *listen, char *host, size_t len, const char **port)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon[1] == '\0') return -1;
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { h++; hl -= 2; }
    if (hl == 0 || hl >= len) return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = colon + 1;
    return 0;
}

/* Fills --advertise (default: --listen's host) and the agent_url reported
 * to the controller. A wildcard listen address reaches nobody, so the URL
 * then uses the advertised address, which the listening socket covers. */
static int set_addresses(struct agent_config *c)
{
    char host[SPEC_HOST_MAX + 1];
    const char *port;
    if (split_listen(c->listen, host, sizeof(host), &port) != 0) {
        fprintf(stderr, "--listen %s: want ADDR:PORT, or [ADDR]:PORT for IPv6\n", c->listen);
        return -1;
    }
    if (!c->advertise[0] && is_wildcard(host)) {
        fprintf(stderr, "--listen %s is a wildcard address that nobody can connect to: give --advertise "
                        "with this host's address on the cache network (the controller calls the agent "
                        "there and the nodes bind to it)\n", c->listen);
        return -1;
    }
    if (!c->advertise[0]) snprintf(c->advertise, sizeof(c->advertise), "%s", host);
    if (!spec_valid_host(c->advertise) || is_wildcard(c->advertise)) {
        fprintf(stderr, "--advertise %s: want this host's address (not a wildcard)\n", c->advertise);
        return -1;
    }
    const char *url_host = is_wildcard(host) ? c->advertise : host;
    int v6 = strchr(url_host, ':') != NULL;
    int w = snprintf(c->agent_url, sizeof(c->agent_url), "http://%s%s%s:%s", v6 ? "[" : "", url_host,
                     v6 ? "]" : "", port);
    if (w < 0 || (size_t)w >= sizeof(c->agent_url)) { fprintf(stderr, "--listen: too long\n"); return -1; }
    return 0;
}

enum { O_LISTEN = 1, O_CONTROLLER, O_HOST, O_AZ, O_ADVERTISE, O_DATA, O_TOKEN, O_BINARY, O_PORTS, O_MEMORY,
       O_INTERVAL, O_MISSES, O_LOGFILE, O_LOGLEVEL, O_HELP };
static const struct option long_opts[] = {
    {"listen", 1, 0, O_LISTEN}, {"controller", 1, 0, O_CONTROLLER}, {"host-id", 1, 0, O_HOST},
    {"az", 1, 0, O_AZ}, {"advertise", 1, 0, O_ADVERTISE}, {"data-dir", 1, 0, O_DATA},
    {"token-file", 1, 0, O_TOKEN}, {"node-binary", 1, 0, O_BINARY}, {"ports", 1, 0, O_PORTS},
    {"memory-mb", 1, 0, O_MEMORY}, {"health-interval-ms", 1, 0, O_INTERVAL},
    {"health-misses", 1, 0, O_MISSES}, {"logfile", 1, 0, O_LOGFILE}, {"loglevel", 1, 0, O_LOGLEVEL},
    {"help", 0, 0, O_HELP}, {0, 0, 0, 0}};

static int parse_flags(int argc, char **argv, struct agent_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->data_dir, sizeof(c->data_dir), "/var/lib/cachefleet/agent");
    c->ports.first = 7000;
    c->ports.last = 7999;
    c->memory_mb = 4096;
    c->health_interval_ms = 100;
    c->health_misses = 3;
    int opt, rc = 0;
    long long v;
    while (rc == 0 && (opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (opt) {
        case O_LISTEN: rc = copy_arg(c->listen, sizeof(c->listen), optarg, "--listen"); break;
        case O_CONTROLLER: rc = copy_arg(c->controller, sizeof(c->controller), optarg, "--controller"); break;
        case O_HOST: rc = copy_arg(c->host_id, sizeof(c->host_id), optarg, "--host-id"); break;
        case O_AZ: rc = copy_arg(c->az, sizeof(c->az), optarg, "--az"); break;
        case O_ADVERTISE: rc = copy_arg(c->advertise, sizeof(c->advertise), optarg, "--advertise"); break;
        case O_DATA: rc = copy_arg(c->data_dir, sizeof(c->data_dir), optarg, "--data-dir"); break;
        case O_TOKEN: rc = copy_arg(c->token_file, sizeof(c->token_file), optarg, "--token-file"); break;
        case O_BINARY: rc = copy_arg(c->node_binary, sizeof(c->node_binary), optarg, "--node-binary"); break;
        case O_PORTS:
            if ((rc = ports_parse_range(optarg, &c->ports)) != 0) fprintf(stderr, "--ports: want FIRST-LAST\n");
            break;
        case O_MEMORY:
            if ((rc = parse_ll(optarg, 1, 1LL << 30, &c->memory_mb)) != 0) fprintf(stderr, "--memory-mb: bad number\n");
            break;
        case O_INTERVAL:
            if ((rc = parse_ll(optarg, 10, 60000, &v)) != 0) fprintf(stderr, "--health-interval-ms: 10..60000\n");
            c->health_interval_ms = (int)v;
            break;
        case O_MISSES:
            if ((rc = parse_ll(optarg, 1, 1000, &v)) != 0) fprintf(stderr, "--health-misses: 1..1000\n");
            c->health_misses = (int)v;
            break;
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
    if (!c->listen[0] || !c->controller[0] || !c->host_id[0] || !c->az[0]) {
        fprintf(stderr, "--listen, --controller, --host-id and --az are required\n");
        usage(stderr);
        return -1;
    }
    if (!spec_valid_name(c->host_id) || !spec_valid_name(c->az)) {
        fprintf(stderr, "--host-id and --az: [A-Za-z0-9_-], 1..64\n");
        return -1;
    }
    size_t cl = strlen(c->controller);
    while (cl > 0 && c->controller[cl - 1] == '/') c->controller[--cl] = '\0';
    if (set_addresses(c) != 0) return -1;
    if (!c->node_binary[0] && default_node_binary(c->node_binary, sizeof(c->node_binary)) != 0) {
        fprintf(stderr, "cannot find cachenode next to this program; give --node-binary\n");
        return -1;
    }
    if (access(c->node_binary, X_OK) != 0) {
        fprintf(stderr, "--node-binary %s: not executable\n", c->node_binary);
        return -1;
    }
    return 0;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0750) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "mkdir %s: %s\n", path, strerror(errno));
    return -1;
}

static int make_data_dirs(const struct agent_config *c)
{
    char path[1200];
    char copy[1024];
    snprintf(copy, sizeof(copy), "%s", c->data_dir);
    for (char *p = copy + 1; *p; p++) { /* mkdir -p, bounded by the path length */
        if (*p != '/') continue;
        *p = '\0';
        if (make_dir(copy) != 0) return -1;
        *p = '/';
    }
    if (make_dir(c->data_dir) != 0) return -1;
    snprintf(path, sizeof(path), "%s/specs", c->data_dir);
    if (make_dir(path) != 0) return -1;
    snprintf(path, sizeof(path), "%s/nodes", c->data_dir);
    return make_dir(path);
}

/* Reads the agent token from --token-file, or else DATA/agent.token. The
 * token is the controller's agent token (README: copy the controller's
 * agent.token to each agent host): the controller checks it on every call
 * from the agent and sends it on every call to the agent, so a token made up
 * here could never match and the agent would retry forever. Without one the
 * agent refuses to start. The token is never logged; its file is. */
static int load_token(struct agent_config *c)
{
    const char *path = c->token_file;
    int defaulted = !path[0];
    if (defaulted) {
        int w = snprintf(c->token_file, sizeof(c->token_file), "%s/agent.token", c->data_dir);
        if (w < 0 || (size_t)w >= sizeof(c->token_file)) { fprintf(stderr, "--data-dir: too long\n"); return -1; }
    }
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        fprintf(stderr, "%scannot read the agent token from %s: %s; give --token-file FILE with a copy of the "
                        "controller's agent token (its --agent-token-file, or agent.token next to its database)\n",
                defaulted ? "no --token-file, and " : "", path, strerror(errno));
        return -1;
    }
    size_t n = fread(c->token, 1, sizeof(c->token) - 1, f);
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) { fprintf(stderr, "cannot read the agent token from %s\n", path); return -1; }
    c->token[n] = '\0';
    while (n > 0 && strchr(" \t\r\n", c->token[n - 1])) c->token[--n] = '\0';
    if (n == 0 || n >= sizeof(c->token) - 1) { fprintf(stderr, "token file %s: empty or too long\n", path); return -1; }
    for (size_t i = 0; i < n; i++)
        if (c->token[i] <= ' ' || c->token[i] >= 127) { fprintf(stderr, "token file %s: bad characters\n", path); return -1; }
    log_msg(LOG_NOTICE, "agent token read from %s", path);
    return 0;
}

static int agent_init(struct agent *a)
{
    if (pthread_mutex_init(&a->lock, NULL) != 0 || pthread_mutex_init(&a->apply_lock, NULL) != 0) return -1;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0 || pthread_cond_init(&a->wake, &ca) != 0) return -1;
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 || pthread_cond_init(&a->health_wake, &ca) != 0;
    pthread_condattr_destroy(&ca);
    if (rc) return -1;
    a->events = json_array();
    /* event numbers keep growing across restarts, so the controller can
     * drop an event it already has (report.c sends a failed batch again) */
    a->event_seq = wall_ms() * 1000;
    return a->events ? 0 : -1;
}

static void agent_release(struct agent *a)
{
    for (size_t i = 0; i < a->nnodes; i++) {
        spec_release(&a->nodes[i]->spec);
        free(a->nodes[i]->stats_text);
        explicit_bzero(a->nodes[i], sizeof(*a->nodes[i]));
        free(a->nodes[i]);
    }
    a->nnodes = 0;
    json_decref(a->events);
    explicit_bzero(a->cfg.token, sizeof(a->cfg.token));
}

static struct agent agent;

int main(int argc, char **argv)
{
    struct agent *a = &agent;
    log_set_role('A');
    struct config_args config_args = {0};
    if (config_args_expand(argc, argv, long_opts, &config_args) != 0) { usage(stderr); return 1; }
    int flags_rc = parse_flags(config_args.argc, config_args.argv, &a->cfg);
    config_args_free(&config_args);
    if (flags_rc != 0 || make_data_dirs(&a->cfg) != 0 || load_token(&a->cfg) != 0) return 1;
    if (agent_init(a) != 0 || httpc_global_init() != 0) { log_msg(LOG_WARNING, "cannot initialise"); return 1; }

    /* Signals are taken by sigwait in this thread; the workers never see
     * them. SIGCHLD (a node's process ended) wakes the health thread, so a
     * killed primary is reaped and reported at once, not at the next tick. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGCHLD);
    if (pthread_sigmask(SIG_BLOCK, &signals, NULL) != 0) return 1;
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) return 1;

    agent_restore(a);
    char err[256];
    struct httpd *http = httpd_start(a->cfg.listen, api_handle, a, err, sizeof(err));
    if (http == NULL) { log_msg(LOG_WARNING, "%s", err); agent_release(a); return 1; }
    pthread_t health, report;
    if (pthread_create(&health, NULL, health_thread, a) != 0) return 1;
    if (pthread_create(&report, NULL, report_thread, a) != 0) return 1;
    log_msg(LOG_NOTICE, "cachefleet-agent %s (az %s) listening on %s, nodes on %s ports %d-%d, %lld MB, node binary %s",
            a->cfg.host_id, a->cfg.az, a->cfg.listen, a->cfg.advertise, a->cfg.ports.first, a->cfg.ports.last,
            a->cfg.memory_mb, a->cfg.node_binary);

    int sig = 0;
    while (sigwait(&signals, &sig) == 0 && (sig == SIGHUP || sig == SIGCHLD)) {
        if (sig == SIGHUP) {
            log_msg(LOG_NOTICE, "SIGHUP ignored");
            continue;
        }
        pthread_mutex_lock(&a->lock);
        health_wake(a);
        pthread_mutex_unlock(&a->lock);
    }
    log_msg(LOG_NOTICE, "signal %d: stopping; the nodes keep running", sig);
    a->stopping = 1;
    httpd_stop(http);
    pthread_mutex_lock(&a->lock);
    report_wake(a);
    health_wake(a);
    pthread_mutex_unlock(&a->lock);
    pthread_join(report, NULL);
    pthread_join(health, NULL);
    agent_release(a);
    httpc_global_cleanup();
    log_msg(LOG_NOTICE, "bye");
    return 0;
}
