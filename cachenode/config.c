/* config.c: every configuration parameter in one table. The same setters
 * serve the command line (--name value), the config file (name value), and
 * CONFIG GET/SET/RESETSTAT, so an option behaves the same everywhere;
 * CONFIG REWRITE writes the current values back to the config file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eventloop.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "slowlog.h"

struct server server;

enum cfg_type { CFG_BOOL, CFG_INT, CFG_LL, CFG_MEMORY, CFG_STRING, CFG_ENUM, CFG_SPECIAL };

#define CFG_IMMUTABLE 1
#define CFG_SENSITIVE 2 /* never echoed in logs */
/* Not settable through CONFIG SET, as with Redis 7's default
 * enable-protected-configs no: with dir, dbfilename and SAVE a client could
 * otherwise write a file anywhere the node may. */
#define CFG_PROTECTED 4

struct enum_value {
    const char *name;
    int value;
};

struct config;
/* Special parameters parse and render themselves. */
typedef int (*special_set_fn)(char **words, int n, const char **err);
typedef void (*special_get_fn)(char *buf, size_t size);

struct config {
    const char *name;
    enum cfg_type type;
    int flags;
    void *ptr;
    long long min, max;
    const char *default_value;
    const struct enum_value *enums;
    special_set_fn set_special;
    special_get_fn get_special;
    void (*after_set)(void);
};

static const struct enum_value policy_enum[] = {
    {"noeviction", MAXMEMORY_NOEVICTION},         {"allkeys-lru", MAXMEMORY_ALLKEYS_LRU},
    {"allkeys-lfu", MAXMEMORY_ALLKEYS_LFU},       {"allkeys-random", MAXMEMORY_ALLKEYS_RANDOM},
    {"volatile-lru", MAXMEMORY_VOLATILE_LRU},     {"volatile-lfu", MAXMEMORY_VOLATILE_LFU},
    {"volatile-random", MAXMEMORY_VOLATILE_RANDOM}, {"volatile-ttl", MAXMEMORY_VOLATILE_TTL},
    {NULL, 0}};

static const struct enum_value loglevel_enum[] = {
    {"debug", LOG_DEBUG}, {"verbose", LOG_VERBOSE}, {"notice", LOG_NOTICE}, {"warning", LOG_WARNING},
    {NULL, 0}};

/* ---- special parameters ------------------------------------------------- */

static int set_replicaof(char **w, int n, const char **err)
{
    if (n == 1 && w[0][0] == '\0') {
        zfree(server.replicaof);
        server.replicaof = NULL;
        return 0;
    }
    if (n == 2 && strcasecmp(w[0], "no") == 0 && strcasecmp(w[1], "one") == 0) {
        zfree(server.replicaof);
        server.replicaof = NULL;
        return 0;
    }
    char *end;
    long port = n == 2 ? strtol(w[1], &end, 10) : -1;
    if (n != 2 || *end || port <= 0 || port > 65535) {
        *err = "replicaof needs a host and a port";
        return -1;
    }
    char buf[300];
    snprintf(buf, sizeof(buf), "%s %ld", w[0], port);
    zfree(server.replicaof);
    server.replicaof = zstrndup(buf, strlen(buf));
    return 0;
}

static void get_replicaof(char *buf, size_t size)
{
    snprintf(buf, size, "%s", server.replicaof ? server.replicaof : "");
}

static int parse_memory(const char *s, long long *out);

/* "<class> <hard> <soft> <seconds>" for the classes normal, replica (slave)
 * and pubsub. */
static int set_obuf_limit(char **w, int n, const char **err)
{
    if (n % 4 != 0 || n == 0) {
        *err = "Wrong number of arguments in buffer limit configuration.";
        return -1;
    }
    for (int i = 0; i < n; i += 4) {
        if (strcasecmp(w[i], "normal") && strcasecmp(w[i], "replica") &&
            strcasecmp(w[i], "slave") && strcasecmp(w[i], "pubsub")) {
            *err = "Invalid client class specified in buffer limit configuration.";
            return -1;
        }
        long long hard, soft;
        char *end;
        long secs = strtol(w[i + 3], &end, 10);
        if (parse_memory(w[i + 1], &hard) || parse_memory(w[i + 2], &soft) || *end || secs < 0) {
            *err = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            return -1;
        }
        if (strcasecmp(w[i], "normal") == 0) {
            server.obuf_hard_limit = hard;
            server.obuf_soft_limit = soft;
            server.obuf_soft_seconds = (int)secs;
        } else if (strcasecmp(w[i], "pubsub") == 0) {
            server.obuf_pubsub_hard = hard;
            server.obuf_pubsub_soft = soft;
            server.obuf_pubsub_seconds = (int)secs;
        } else {
            server.obuf_replica_hard = hard;
            server.obuf_replica_soft = soft;
            server.obuf_replica_seconds = (int)secs;
        }
    }
    return 0;
}

static void get_obuf_limit(char *buf, size_t size)
{
    snprintf(buf, size, "normal %lld %lld %d slave %lld %lld %d pubsub %lld %lld %d",
             server.obuf_hard_limit, server.obuf_soft_limit, server.obuf_soft_seconds,
             server.obuf_replica_hard, server.obuf_replica_soft, server.obuf_replica_seconds,
             server.obuf_pubsub_hard, server.obuf_pubsub_soft, server.obuf_pubsub_seconds);
}

/* An option of which one value is implemented and another is known but not
 * yet: asking for the latter is refused with `why`, so that the node never
 * reports a mode it does not run in. */
static int only_value(char **w, int n, const char **err, const char *ok, const char *later,
                      const char *why, const char *usage)
{
    if (n == 1 && strcasecmp(w[0], ok) == 0) return 0;
    *err = n == 1 && strcasecmp(w[0], later) == 0 ? why : usage;
    return -1;
}

/* There is no append-only file; the parameter exists because tools read it
 * (redis-benchmark fetches "save" and "appendonly" and warns without them). */
static int set_appendonly(char **w, int n, const char **err)
{
    return only_value(w, n, err, "no", "yes", "append-only persistence is not supported",
                      "argument must be 'yes' or 'no'");
}

static void get_appendonly(char *buf, size_t size) { snprintf(buf, size, "%s", "no"); }

static int set_cluster_enabled(char **w, int n, const char **err)
{
    if (n == 1 && (strcasecmp(w[0], "yes") == 0 || strcasecmp(w[0], "no") == 0)) {
        server.cluster_enabled = strcasecmp(w[0], "yes") == 0;
        return 0;
    }
    *err = "argument must be 'yes' or 'no'";
    return -1;
}

static void get_cluster_enabled(char *buf, size_t size)
{
    snprintf(buf, size, "%s", server.cluster_enabled ? "yes" : "no");
}

static int set_protocol(char **w, int n, const char **err)
{
    if (n == 1 && (strcasecmp(w[0], "resp") == 0 || strcasecmp(w[0], "memcached") == 0)) {
        server.protocol_mode = strcasecmp(w[0], "resp") == 0 ? PROTOCOL_RESP : PROTOCOL_MEMCACHED;
        return 0;
    }
    *err = "argument must be 'resp' or 'memcached'";
    return -1;
}

static void get_protocol(char *buf, size_t size)
{
    snprintf(buf, size, "%s", server.protocol_mode == PROTOCOL_MEMCACHED ? "memcached" : "resp");
}

/* No automatic save points: a crashed node must restart empty (design.md),
 * and a snapshot written on a schedule would be loaded at its next start.
 * SAVE and BGSAVE remain for whoever wants a file. */
static int set_save(char **w, int n, const char **err)
{
    if (n == 1 && w[0][0] == '\0') return 0;
    *err = "automatic save points are not supported (save must be \"\"); use BGSAVE";
    return -1;
}

static void get_save(char *buf, size_t size) { snprintf(buf, size, "%s", ""); }

/* A plain file name in `dir`, as Redis requires: snapshot.c relies on it. */
static int set_dbfilename(char **w, int n, const char **err)
{
    if (n != 1 || strchr(w[0], '/') || !w[0][0] || !strcmp(w[0], ".") || !strcmp(w[0], "..")) {
        *err = "dbfilename can't be a path, just a filename";
        return -1;
    }
    zfree(server.dbfilename);
    server.dbfilename = zstrndup(w[0], strlen(w[0]));
    return 0;
}

static void get_dbfilename(char *buf, size_t size) { snprintf(buf, size, "%s", server.dbfilename); }

static void apply_loglevel(void) { log_set_level((enum log_level)server.loglevel); }

/* Whether log lines go to a file rather than stderr: start-up errors must
 * reach stderr either way. */
static int logging_to_file;

/* Redis refuses to start when it cannot open its log file: a node whose
 * lines went nowhere would be hard to run. */
static int set_logfile(char **w, int n, const char **err)
{
    if (n != 1) {
        *err = "wrong number of arguments";
        return -1;
    }
    if (log_set_file(w[0]) == -1) {
        static char why[160];
        snprintf(why, sizeof(why), "can't open the log file: %s", strerror(errno));
        *err = why;
        return -1;
    }
    zfree(server.logfile);
    server.logfile = zstrndup(w[0], strlen(w[0]));
    logging_to_file = w[0][0] != '\0';
    return 0;
}

static void get_logfile(char *buf, size_t size) { snprintf(buf, size, "%s", server.logfile ? server.logfile : ""); }

static void apply_slowlog(void) { slowlog_trim(); }

static void apply_busy_poll(void) { el_set_busy_poll(server.busy_poll_us); }

/* ---- the table ----------------------------------------------------------- */

static struct config configs[] = {
    {"port", CFG_INT, CFG_IMMUTABLE, &server.port, 0, 65535, "6379", NULL, NULL, NULL, NULL},
    {"bind", CFG_STRING, CFG_IMMUTABLE, &server.bind, 0, 0, "127.0.0.1", NULL, NULL, NULL, NULL},
    {"requirepass", CFG_STRING, CFG_SENSITIVE, &server.requirepass, 0, 0, "", NULL, NULL, NULL, NULL},
    {"masterauth", CFG_STRING, CFG_SENSITIVE, &server.masterauth, 0, 0, "", NULL, NULL, NULL, NULL},
    {"maxmemory", CFG_MEMORY, 0, &server.maxmemory, 0, LLONG_MAX, "0", NULL, NULL, NULL, NULL},
    {"maxmemory-policy", CFG_ENUM, 0, &server.maxmemory_policy, 0, 0, "noeviction", policy_enum, NULL, NULL, NULL},
    {"maxmemory-samples", CFG_INT, 0, &server.maxmemory_samples, 1, 64, "5", NULL, NULL, NULL, NULL},
    {"lfu-log-factor", CFG_INT, 0, &server.lfu_log_factor, 0, INT_MAX, "10", NULL, NULL, NULL, NULL},
    {"lfu-decay-time", CFG_INT, 0, &server.lfu_decay_time, 0, INT_MAX, "1", NULL, NULL, NULL, NULL},
    {"dir", CFG_SPECIAL, CFG_PROTECTED, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL},
    {"dbfilename", CFG_SPECIAL, CFG_PROTECTED, NULL, 0, 0, "dump.cfs", NULL, set_dbfilename, get_dbfilename, NULL},
    {"logfile", CFG_SPECIAL, CFG_IMMUTABLE, NULL, 0, 0, "", NULL, set_logfile, get_logfile, NULL},
    {"loglevel", CFG_ENUM, 0, &server.loglevel, 0, 0, "notice", loglevel_enum, NULL, NULL, apply_loglevel},
    {"hz", CFG_INT, 0, &server.hz, 1, 500, "10", NULL, NULL, NULL, NULL},
    {"busy-poll-us", CFG_INT, 0, &server.busy_poll_us, 0, 10000, "200", NULL, NULL, NULL, apply_busy_poll},
    {"node-id", CFG_STRING, CFG_IMMUTABLE, &server.node_id, 0, 0, "", NULL, NULL, NULL, NULL},
    {"protocol", CFG_SPECIAL, CFG_IMMUTABLE, NULL, 0, 0, "resp", NULL, set_protocol, get_protocol, NULL},
    {"threads", CFG_INT, CFG_IMMUTABLE, &server.mc_threads, 1, 256, "4", NULL, NULL, NULL, NULL},
    {"max-item-size", CFG_MEMORY, CFG_IMMUTABLE, &server.mc_max_item_size, 1024, 1024LL * 1024 * 1024, "1mb", NULL, NULL, NULL, NULL},
    {"discovery-file", CFG_STRING, CFG_IMMUTABLE, &server.mc_discovery_file, 0, 0, "", NULL, NULL, NULL, NULL},
    {"cluster-config-file", CFG_STRING, CFG_IMMUTABLE, &server.cluster_config_file, 0, 0, "nodes.conf", NULL, NULL, NULL, NULL},
    {"cluster-enabled", CFG_SPECIAL, CFG_IMMUTABLE, NULL, 0, 0, "no", NULL, set_cluster_enabled, get_cluster_enabled, NULL},
    /* REPLICAOF is the live way: it connects; the parameter only records it */
    {"replicaof", CFG_SPECIAL, CFG_IMMUTABLE, NULL, 0, 0, "", NULL, set_replicaof, get_replicaof, NULL},
    {"maxclients", CFG_INT, 0, &server.maxclients, 1, INT_MAX, "10000", NULL, NULL, NULL, NULL},
    {"timeout", CFG_INT, 0, &server.timeout, 0, INT_MAX, "0", NULL, NULL, NULL, NULL},
    {"tcp-keepalive", CFG_INT, 0, &server.tcp_keepalive, 0, INT_MAX, "300", NULL, NULL, NULL, NULL},
    {"tcp-backlog", CFG_INT, CFG_IMMUTABLE, &server.tcp_backlog, 0, INT_MAX, "511", NULL, NULL, NULL, NULL},
    {"proto-max-bulk-len", CFG_MEMORY, 0, &server.proto_max_bulk_len, 1024 * 1024, LLONG_MAX, "512mb", NULL, NULL, NULL, NULL},
    {"client-query-buffer-limit", CFG_MEMORY, 0, &server.client_query_buffer_limit, 1024 * 1024, LLONG_MAX, "1gb", NULL, NULL, NULL, NULL},
    {"client-output-buffer-limit", CFG_SPECIAL, 0, NULL, 0, 0, "normal 512mb 128mb 60 replica 256mb 64mb 60 pubsub 32mb 8mb 60", NULL, set_obuf_limit, get_obuf_limit, NULL},
    {"slowlog-log-slower-than", CFG_LL, 0, &server.slowlog_log_slower_than, -1, LLONG_MAX, "10000", NULL, NULL, NULL, NULL},
    {"slowlog-max-len", CFG_INT, 0, &server.slowlog_max_len, 0, INT_MAX, "128", NULL, NULL, NULL, apply_slowlog},
    {"repl-backlog-size", CFG_MEMORY, 0, &server.repl_backlog_size, 16384, LLONG_MAX, "1mb", NULL, NULL, NULL, NULL},
    {"repl-timeout", CFG_INT, 0, &server.repl_timeout, 1, INT_MAX, "60", NULL, NULL, NULL, NULL},
    {"repl-ping-replica-period", CFG_INT, 0, &server.repl_ping_period, 1, INT_MAX, "10", NULL, NULL, NULL, NULL},
    {"min-replicas-to-write", CFG_INT, 0, &server.min_replicas_to_write, 0, INT_MAX, "0", NULL, NULL, NULL, NULL},
    {"min-replicas-max-lag", CFG_INT, 0, &server.min_replicas_max_lag, 0, INT_MAX, "10", NULL, NULL, NULL, NULL},
    {"active-expire-effort", CFG_INT, 0, &server.active_expire_effort, 1, 10, "1", NULL, NULL, NULL, NULL},
    {"databases", CFG_INT, CFG_IMMUTABLE, &server.databases, 1, DB_COUNT, "16", NULL, NULL, NULL, NULL},
    {"hash-max-listpack-entries", CFG_LL, 0, &server.hash_max_listpack_entries, 0, LLONG_MAX, "128", NULL, NULL, NULL, NULL},
    {"hash-max-listpack-value", CFG_LL, 0, &server.hash_max_listpack_value, 0, LLONG_MAX, "64", NULL, NULL, NULL, NULL},
    {"list-max-listpack-size", CFG_INT, 0, &server.list_max_listpack_size, INT_MIN, INT_MAX, "-2", NULL, NULL, NULL, NULL},
    {"list-compress-depth", CFG_INT, 0, &server.list_compress_depth, 0, INT_MAX, "1", NULL, NULL, NULL, NULL},
    {"set-max-intset-entries", CFG_LL, 0, &server.set_max_intset_entries, 0, LLONG_MAX, "512", NULL, NULL, NULL, NULL},
    {"zset-max-listpack-entries", CFG_LL, 0, &server.zset_max_listpack_entries, 0, LLONG_MAX, "128", NULL, NULL, NULL, NULL},
    {"zset-max-listpack-value", CFG_LL, 0, &server.zset_max_listpack_value, 0, LLONG_MAX, "64", NULL, NULL, NULL, NULL},
    {"latency-monitor-threshold", CFG_LL, 0, &latency_monitor_threshold, 0, LLONG_MAX, "0", NULL, NULL, NULL, NULL},
    {"latency-tracking", CFG_BOOL, 0, &latency_tracking, 0, 0, "yes", NULL, NULL, NULL, NULL},
    {"latency-tracking-info-percentiles", CFG_SPECIAL, 0, NULL, 0, 0, "50 99 99.9", NULL, latency_set_percentiles, latency_get_percentiles, NULL},
    {"hll-sparse-max-bytes", CFG_MEMORY, 0, &server.hll_sparse_max_bytes, 0, LLONG_MAX, "3000", NULL, NULL, NULL, NULL},
    {"busy-reply-threshold", CFG_LL, 0, &script_busy_threshold_ms, 0, LLONG_MAX, "5000", NULL, NULL, NULL, NULL},
    {"save", CFG_SPECIAL, 0, NULL, 0, 0, "", NULL, set_save, get_save, NULL},
    {"tracking-table-max-keys", CFG_LL, 0, &server.tracking_table_max_keys, 0, LLONG_MAX, "1000000", NULL, NULL, NULL, NULL},
    {"notify-keyspace-events", CFG_SPECIAL, 0, NULL, 0, 0, "", NULL, notify_config_set, notify_config_get, NULL},
    {"appendonly", CFG_SPECIAL, 0, NULL, 0, 0, "no", NULL, set_appendonly, get_appendonly, NULL},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL},
};

/* Redis's text for a number outside a parameter's range. */
static int bounds_error(const struct config *cfg, const char **err)
{
    static char why[128];
    snprintf(why, sizeof(why), "argument must be between %lld and %lld inclusive", cfg->min, cfg->max);
    *err = why;
    return -1;
}

/* ---- parsing values -------------------------------------------------------- */

static int parse_memory(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0) return -1;
    long long mul = 1;
    if (*end) {
        static const struct { const char *suffix; long long mul; } units[] = {
            {"b", 1}, {"k", 1000}, {"kb", 1024}, {"m", 1000000}, {"mb", 1024 * 1024},
            {"g", 1000000000LL}, {"gb", 1024LL * 1024 * 1024}};
        mul = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strcasecmp(end, units[i].suffix) == 0) mul = units[i].mul;
        if (mul == 0) return -1;
    }
    if (v > LLONG_MAX / mul) return -1;
    *out = v * mul;
    return 0;
}

static int set_dir(const char *path, const char **err)
{
    if (chdir(path) == -1) {
        *err = strerror(errno);
        return -1;
    }
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        *err = strerror(errno);
        return -1;
    }
    zfree(server.dir);
    server.dir = zstrndup(cwd, strlen(cwd));
    return 0;
}

static int set_value(struct config *cfg, char **words, int n, const char **err)
{
    if (cfg->set_special) return cfg->set_special(words, n, err);
    if (strcmp(cfg->name, "dir") == 0) {
        if (n != 1) { *err = "wrong number of arguments"; return -1; }
        return set_dir(words[0], err);
    }
    if (n != 1) {
        *err = "wrong number of arguments";
        return -1;
    }
    const char *v = words[0];
    char *end;
    long long ll;
    switch (cfg->type) {
    case CFG_BOOL:
        if (strcasecmp(v, "yes") == 0) *(int *)cfg->ptr = 1;
        else if (strcasecmp(v, "no") == 0) *(int *)cfg->ptr = 0;
        else { *err = "argument must be 'yes' or 'no'"; return -1; }
        return 0;
    case CFG_INT:
    case CFG_LL:
        errno = 0;
        ll = strtoll(v, &end, 10);
        if (end == v || *end || errno) { *err = "argument couldn't be parsed into an integer"; return -1; }
        if (ll < cfg->min || ll > cfg->max) return bounds_error(cfg, err);
        if (cfg->type == CFG_INT) *(int *)cfg->ptr = (int)ll;
        else *(long long *)cfg->ptr = ll;
        return 0;
    case CFG_MEMORY:
        if (parse_memory(v, &ll)) { *err = "argument must be a memory value"; return -1; }
        if (ll < cfg->min || ll > cfg->max) return bounds_error(cfg, err);
        *(long long *)cfg->ptr = ll;
        return 0;
    case CFG_STRING: {
        char **p = cfg->ptr;
        zfree(*p);
        *p = zstrndup(v, strlen(v));
        return 0;
    }
    case CFG_ENUM:
        for (const struct enum_value *e = cfg->enums; e->name; e++) {
            if (strcasecmp(v, e->name) == 0) {
                *(int *)cfg->ptr = e->value;
                return 0;
            }
        }
        *err = "argument(s) must be one of the following values";
        return -1;
    case CFG_SPECIAL:
        break;
    }
    *err = "unsupported";
    return -1;
}

static void get_value(const struct config *cfg, char *buf, size_t size)
{
    if (cfg->get_special) {
        cfg->get_special(buf, size);
        return;
    }
    if (strcmp(cfg->name, "dir") == 0) {
        snprintf(buf, size, "%s", server.dir ? server.dir : "");
        return;
    }
    switch (cfg->type) {
    case CFG_BOOL: snprintf(buf, size, "%s", *(int *)cfg->ptr ? "yes" : "no"); break;
    case CFG_INT: snprintf(buf, size, "%d", *(int *)cfg->ptr); break;
    case CFG_LL:
    case CFG_MEMORY: snprintf(buf, size, "%lld", *(long long *)cfg->ptr); break;
    case CFG_STRING: {
        char *s = *(char **)cfg->ptr;
        snprintf(buf, size, "%s", s ? s : "");
        break;
    }
    case CFG_ENUM:
        buf[0] = '\0';
        for (const struct enum_value *e = cfg->enums; e->name; e++)
            if (e->value == *(int *)cfg->ptr) snprintf(buf, size, "%s", e->name);
        break;
    case CFG_SPECIAL: buf[0] = '\0'; break;
    }
}

/* Older names Redis still accepts for a parameter. */
static const struct {
    const char *alias, *name;
} config_aliases[] = {
    {"slaveof", "replicaof"},
    {"lua-time-limit", "busy-reply-threshold"},
    {"hash-max-ziplist-entries", "hash-max-listpack-entries"},
    {"hash-max-ziplist-value", "hash-max-listpack-value"},
    {"list-max-ziplist-size", "list-max-listpack-size"},
    {"zset-max-ziplist-entries", "zset-max-listpack-entries"},
    {"zset-max-ziplist-value", "zset-max-listpack-value"},
};

/* The canonical name for an alias, or NULL. */
static const char *config_alias_of(const char *p, size_t len)
{
    for (size_t i = 0; i < sizeof(config_aliases) / sizeof(config_aliases[0]); i++)
        if (arg_is(p, len, config_aliases[i].alias)) return config_aliases[i].name;
    return NULL;
}

static struct config *find_config(const char *name)
{
    const char *canonical = config_alias_of(name, strlen(name));
    if (canonical) name = canonical;
    for (struct config *c = configs; c->name; c++)
        if (strcasecmp(c->name, name) == 0) return c;
    return NULL;
}

void maxmemory_policy_name(int policy, char *buf, size_t size)
{
    snprintf(buf, size, "%s", "noeviction");
    for (const struct enum_value *e = policy_enum; e->name; e++)
        if (e->value == policy) snprintf(buf, size, "%s", e->name);
}

/* Splits a value into words: "a b" -> [a, b]; one empty word for "". */
static int split_words(char *s, char **words, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s, " \t", &save); tok && n < max; tok = strtok_r(NULL, " \t", &save))
        words[n++] = tok;
    if (n == 0) words[n++] = s;
    return n;
}

#define CONFIG_COUNT (sizeof(configs) / sizeof(configs[0]))
/* Long enough for any value, `dir` included. */
#define CONFIG_VALUE_MAX (PATH_MAX + 256)

/* Each parameter's value as rendered right after the defaults were set:
 * CONFIG REWRITE adds the parameters whose value differs from it. */
static char *default_values[CONFIG_COUNT];

static void remember_defaults(void)
{
    for (size_t i = 0; configs[i].name; i++) {
        char value[CONFIG_VALUE_MAX];
        get_value(&configs[i], value, sizeof(value));
        zfree(default_values[i]);
        default_values[i] = zstrndup(value, strlen(value));
    }
}

void config_set_defaults(void)
{
    char cwd[PATH_MAX];
    const char *here = getcwd(cwd, sizeof(cwd)) ? cwd : ".";
    zfree(server.dir);
    server.dir = zstrndup(here, strlen(here));
    for (struct config *c = configs; c->name; c++) {
        if (c->default_value == NULL) continue;
        char value[256];
        snprintf(value, sizeof(value), "%s", c->default_value);
        char *words[16];
        int n = split_words(value, words, 16);
        const char *err = NULL;
        if (set_value(c, words, n, &err) == -1) {
            fprintf(stderr, "cachenode: bad default for %s: %s\n", c->name, err);
            exit(1);
        }
    }
    remember_defaults();
}

/* A configuration error that stops the node: whoever started it reads
 * stderr, an operator tailing the log reads the log; both must see why. */
static void startup_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void startup_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_msg(LOG_WARNING, "Fatal config error %s", msg);
    if (logging_to_file) fprintf(stderr, "cachenode: fatal config error %s\n", msg);
}

/* Which parameters the command line or the config file set. */
static unsigned char set_at_startup[CONFIG_COUNT];

static int set_explicitly(const char *name) { return set_at_startup[find_config(name) - configs]; }

int config_check_memcached(void)
{
    static const char *refused[][2] = {
        {"replicaof", "memcached nodes do not replicate"},
        {"requirepass", "the memcached protocol has no AUTH"},
        {"masterauth", "memcached nodes do not replicate"},
        {"cluster-enabled", "memcached clusters are client-sharded (Auto Discovery, --discovery-file)"},
    };
    int on[] = {server.replicaof && server.replicaof[0], server.requirepass && server.requirepass[0],
                server.masterauth && server.masterauth[0], server.cluster_enabled};
    for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
        if (on[i]) {
            startup_error("'%s' cannot be used with --protocol memcached: %s", refused[i][0], refused[i][1]);
            return -1;
        }
    }
    /* memcached evicts by default; noeviction given explicitly is its -M */
    if (!set_explicitly("maxmemory-policy")) server.maxmemory_policy = MAXMEMORY_ALLKEYS_LRU;
    if (!set_explicitly("port")) server.port = 11211;
    return 0;
}

/* Applies one `name words...` setting at start-up; reports and fails on error. */
static int apply_startup_setting(const char *name, char **words, int n, const char *where)
{
    struct config *cfg = find_config(name);
    if (cfg == NULL) {
        startup_error("%s: bad directive or wrong number of arguments: '%s'", where, name);
        return -1;
    }
    const char *err = NULL;
    if (set_value(cfg, words, n, &err) == -1) {
        startup_error("%s: invalid value for '%s': %s", where, cfg->name, err);
        return -1;
    }
    set_at_startup[cfg - configs] = 1;
    if (cfg->after_set) cfg->after_set();
    return 0;
}

/* Strips simple quotes around a word: "value" or 'value'. */
static void unquote_words(char **words, int n)
{
    for (int i = 0; i < n; i++) {
        size_t len = strlen(words[i]);
        if (len >= 2 && (words[i][0] == '"' || words[i][0] == '\'') && words[i][len - 1] == words[i][0]) {
            words[i][len - 1] = '\0';
            words[i]++;
        }
    }
}

/* Keeps the file's absolute path: `dir` changes the working directory, and
 * INFO and CONFIG REWRITE need the file afterwards. */
static int remember_config_file(const char *path)
{
    static char resolved[PATH_MAX];
    if (realpath(path, resolved) == NULL) {
        startup_error("in '%s': can't open the config file: %s", path, strerror(errno));
        return -1;
    }
    server.config_file = resolved;
    return 0;
}

int config_load_file(const char *path)
{
    if (remember_config_file(path) == -1) return -1;
    FILE *f = fopen(server.config_file, "r");
    if (f == NULL) {
        startup_error("in '%s': can't open the config file: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\0' || *p == '#') continue;
        char *words[64];
        int n = split_words(p, words, 64);
        unquote_words(words, n);
        char where[PATH_MAX + 32];
        snprintf(where, sizeof(where), "in '%s' at line %d", path, lineno);
        rc = apply_startup_setting(words[0], words + 1, n - 1, where);
    }
    if (rc == 0 && ferror(f)) {
        startup_error("in '%s': can't read the config file: %s", path, strerror(errno));
        rc = -1;
    }
    (void)fclose(f); /* read only: nothing to lose */
    return rc;
}

int config_load_args(int argc, char **argv)
{
    int i = 0;
    while (i < argc) {
        if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
            startup_error("on the command line: unexpected argument '%s': options look like --name value", argv[i]);
            return -1;
        }
        const char *name = argv[i] + 2;
        int start = ++i;
        while (i < argc && strncmp(argv[i], "--", 2) != 0) i++;
        char *empty[1] = {""};
        char **words = i > start ? argv + start : empty;
        int n = i > start ? i - start : 1;
        if (apply_startup_setting(name, words, n, "on the command line") == -1) return -1;
    }
    return 0;
}

/* ---- CONFIG --------------------------------------------------------------- */

static int has_glob_chars(const arg *a)
{
    for (size_t i = 0; i < a->len; i++)
        if (a->p[i] == '*' || a->p[i] == '?' || a->p[i] == '[' || a->p[i] == '\\') return 1;
    return 0;
}

/* CONFIG GET pattern...: a plain name is echoed as the caller spelled it
 * (as Redis does); a glob pattern reports the canonical names. */
static void config_get(client *c)
{
    struct { struct config *cfg; const arg *spelled; } matched[128];
    int n = 0;
    for (int i = 2; i < c->argc; i++) {
        const arg *a = &c->argv[i];
        for (struct config *cfg = configs; cfg->name && n < 128; cfg++) {
            int hit;
            if (has_glob_chars(a)) hit = glob_match(a->p, a->len, cfg->name, strlen(cfg->name), 1);
            else {
                const char *canonical = config_alias_of(a->p, a->len);
                hit = arg_is(a->p, a->len, cfg->name) ||
                      (canonical && strcmp(cfg->name, canonical) == 0);
            }
            if (!hit) continue;
            int dup = 0;
            for (int j = 0; j < n; j++) dup |= matched[j].cfg == cfg;
            if (dup) continue;
            matched[n].cfg = cfg;
            matched[n].spelled = has_glob_chars(a) ? NULL : a;
            n++;
        }
    }
    reply_map(c, n);
    for (int i = 0; i < n; i++) {
        char value[CONFIG_VALUE_MAX];
        get_value(matched[i].cfg, value, sizeof(value));
        if (matched[i].spelled) reply_bulk(c, matched[i].spelled->p, matched[i].spelled->len);
        else reply_bulk_cstr(c, matched[i].cfg->name);
        reply_bulk_cstr(c, value);
    }
}

/* CONFIG SET name value [name value ...]: all or nothing. */
static void config_set(client *c)
{
    if (c->argc < 4) {
        reply_error(c, "ERR wrong number of arguments for 'config|set' command");
        return;
    }
    if ((c->argc - 2) % 2 != 0) {
        reply_syntax_error(c);
        return;
    }
    int pairs = (c->argc - 2) / 2;
    struct config *cfgs[64];
    char old[64][1024];
    if (pairs > 64) pairs = 64;
    for (int i = 0; i < pairs; i++) {
        char name[128];
        const arg *a = &c->argv[2 + 2 * i];
        snprintf(name, sizeof(name), "%.*s", (int)a->len, a->p);
        cfgs[i] = find_config(name);
        if (cfgs[i] == NULL) {
            reply_errorf(c, "ERR Unknown option or number of arguments for CONFIG SET - '%s'", name);
            return;
        }
        /* these two name the argument as the caller spelled it, as Redis does */
        if (cfgs[i]->flags & (CFG_IMMUTABLE | CFG_PROTECTED)) {
            reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%s') - can't set %s config", name,
                         cfgs[i]->flags & CFG_IMMUTABLE ? "immutable" : "protected");
            return;
        }
        for (int j = 0; j < i; j++) {
            if (cfgs[j] == cfgs[i]) {
                reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%s') - duplicate parameter", name);
                return;
            }
        }
    }
    int applied = 0;
    const char *err = NULL;
    for (; applied < pairs; applied++) {
        get_value(cfgs[applied], old[applied], sizeof(old[applied]));
        const arg *v = &c->argv[3 + 2 * applied];
        char *value = zstrndup(v->p, v->len);
        char *words[64];
        int n = cfgs[applied]->type == CFG_SPECIAL ? split_words(value, words, 64) : 1;
        if (n == 1) words[0] = value;
        int rc = set_value(cfgs[applied], words, n, &err);
        zfree(value);
        if (rc == -1) break;
    }
    if (applied < pairs) {
        char *failed = (char *)cfgs[applied]->name;
        for (int i = applied - 1; i >= 0; i--) {
            char *words[64];
            int n = cfgs[i]->type == CFG_SPECIAL ? split_words(old[i], words, 64) : 1;
            if (n == 1) words[0] = old[i];
            const char *ignored;
            set_value(cfgs[i], words, n, &ignored);
        }
        reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%s') - %s", failed, err);
        return;
    }
    for (int i = 0; i < pairs; i++)
        if (cfgs[i]->after_set) cfgs[i]->after_set();
    reply_ok(c);
}

/* ---- CONFIG REWRITE ------------------------------------------------------- */

#define REWRITE_SIGNATURE "# Generated by CONFIG REWRITE"

struct rewrite {
    FILE *out;
    unsigned char written[CONFIG_COUNT]; /* the new file has its line */
    int signed_;                         /* ... and the signature line */
    char err[256];
};

static int rewrite_io_error(struct rewrite *rw)
{
    if (rw->err[0] == '\0') snprintf(rw->err, sizeof(rw->err), "%s", strerror(errno));
    return -1;
}

/* Writes `name value` so that the loader reads the same value back, or
 * fails: quotes and control characters do not survive the loader, nor do
 * spaces except in the parameters that take several words. */
static int rewrite_option(struct rewrite *rw, const struct config *cfg, const char *value)
{
    size_t len = strlen(value);
    int ok = len < CONFIG_VALUE_MAX - 1;
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char ch = (unsigned char)value[i];
        ok = ch >= 0x20 && ch != 0x7f && ch != '"' && ch != '\'' && (ch != ' ' || cfg->set_special);
    }
    if (!ok) {
        snprintf(rw->err, sizeof(rw->err), "the value of '%s' has spaces, quotes or control characters, "
                 "which the config file cannot hold", cfg->name);
        return -1;
    }
    rw->written[cfg - configs] = 1;
    return fprintf(rw->out, "%s %s\n", cfg->name, len ? value : "\"\"") < 0 ? rewrite_io_error(rw) : 0;
}

/* The parameter a config-file line sets, or NULL (comment, blank, unknown). */
static struct config *line_option(const char *line)
{
    const char *p = line + strspn(line, " \t");
    size_t n = strcspn(p, " \t\r\n");
    if (n == 0 || n >= 128 || p[0] == '#') return NULL;
    char name[128];
    memcpy(name, p, n);
    name[n] = '\0';
    return find_config(name);
}

/* The old file's first line of each parameter takes its current value;
 * later lines of it go (on loading they would override it); comments,
 * blank lines and lines the loader does not know stay as they are. */
static int rewrite_old_lines(struct rewrite *rw, FILE *in)
{
    char line[4096], value[CONFIG_VALUE_MAX];
    for (int lineno = 1; fgets(line, sizeof(line), in); lineno++) {
        size_t len = strlen(line);
        if (len == 0) continue; /* a NUL byte: the loader saw an empty line */
        if (line[len - 1] != '\n' && !feof(in)) {
            snprintf(rw->err, sizeof(rw->err), "line %d is longer than %zu bytes", lineno, sizeof(line) - 2);
            return -1;
        }
        if (strncmp(line, REWRITE_SIGNATURE, strlen(REWRITE_SIGNATURE)) == 0) rw->signed_ = 1;
        struct config *cfg = line_option(line);
        if (cfg == NULL) {
            if (fputs(line, rw->out) == EOF || (line[len - 1] != '\n' && fputc('\n', rw->out) == EOF))
                return rewrite_io_error(rw);
        } else if (!rw->written[cfg - configs]) {
            get_value(cfg, value, sizeof(value));
            if (rewrite_option(rw, cfg, value) == -1) return -1;
        }
    }
    return ferror(in) ? rewrite_io_error(rw) : 0;
}

/* Parameters the old file does not set go at the end, when they differ
 * from their defaults. */
static int rewrite_changed(struct rewrite *rw)
{
    char value[CONFIG_VALUE_MAX];
    for (size_t i = 0; configs[i].name; i++) {
        get_value(&configs[i], value, sizeof(value));
        if (rw->written[i] || (default_values[i] && strcmp(value, default_values[i]) == 0)) continue;
        if (!rw->signed_ && fprintf(rw->out, "%s\n", REWRITE_SIGNATURE) < 0) return rewrite_io_error(rw);
        rw->signed_ = 1;
        if (rewrite_option(rw, &configs[i], value) == -1) return -1;
    }
    return 0;
}

/* Fills rw->out from the old file (none yet is an empty one). */
static int rewrite_contents(struct rewrite *rw, const char *path)
{
    FILE *in = fopen(path, "r");
    if (in == NULL && errno != ENOENT) return rewrite_io_error(rw);
    int rc = in ? rewrite_old_lines(rw, in) : 0;
    if (in) (void)fclose(in); /* read only: nothing to lose */
    return rc == 0 ? rewrite_changed(rw) : -1;
}

/* Flushes, fsyncs and closes the new file, with the old file's mode. */
static int rewrite_finish(struct rewrite *rw, int rc, const struct stat *old)
{
    int fd = fileno(rw->out);
    if (rc == 0 && (fflush(rw->out) == EOF || (old && fchmod(fd, old->st_mode & 07777) == -1) ||
                    fsync(fd) == -1))
        rc = rewrite_io_error(rw);
    if (fclose(rw->out) == EOF && rc == 0) rc = rewrite_io_error(rw);
    return rc;
}

/* Writes the new file beside the old one and renames it into place: a
 * crash leaves one or the other, whole. */
static int config_rewrite(struct rewrite *rw)
{
    const char *path = server.config_file;
    char tmp[PATH_MAX + 32];
    if (snprintf(tmp, sizeof(tmp), "%s.rewrite-%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
        snprintf(rw->err, sizeof(rw->err), "%s", "the config file's path is too long");
        return -1;
    }
    struct stat st;
    int have_old = stat(path, &st) == 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) return rewrite_io_error(rw);
    rw->out = fdopen(fd, "w");
    if (rw->out == NULL) {
        rewrite_io_error(rw);
        (void)close(fd); /* nothing written yet */
        (void)unlink(tmp);
        return -1;
    }
    int rc = rewrite_finish(rw, rewrite_contents(rw, path), have_old ? &st : NULL);
    if (rc == 0 && rename(tmp, path) == -1) rc = rewrite_io_error(rw);
    if (rc == -1) (void)unlink(tmp); /* the old file is untouched */
    else if (fsync_parent_dir(path) == -1) rc = rewrite_io_error(rw);
    return rc;
}

static void config_rewrite_command(client *c)
{
    if (server.config_file == NULL) {
        reply_error(c, "ERR The server is running without a config file");
        return;
    }
    struct rewrite rw;
    memset(&rw, 0, sizeof(rw));
    if (config_rewrite(&rw) == -1) {
        log_msg(LOG_WARNING, "CONFIG REWRITE failed: %s", rw.err);
        reply_errorf(c, "ERR Rewriting config file: %s", rw.err);
        return;
    }
    log_msg(LOG_NOTICE, "CONFIG REWRITE executed with success.");
    reply_ok(c);
}

void command_config(client *c)
{
    const arg *sub = &c->argv[1];
    if (arg_is(sub->p, sub->len, "get")) {
        if (c->argc < 3) {
            reply_error(c, "ERR wrong number of arguments for 'config|get' command");
            return;
        }
        config_get(c);
    } else if (arg_is(sub->p, sub->len, "set")) {
        config_set(c);
    } else if (arg_is(sub->p, sub->len, "resetstat")) {
        if (c->argc != 2) {
            reply_error(c, "ERR wrong number of arguments for 'config|resetstat' command");
            return;
        }
        config_reset_stats();
        reply_ok(c);
    } else if (arg_is(sub->p, sub->len, "rewrite")) {
        if (c->argc != 2) {
            reply_error(c, "ERR wrong number of arguments for 'config|rewrite' command");
            return;
        }
        config_rewrite_command(c);
    } else if (arg_is(sub->p, sub->len, "help")) {
        static const char *help[] = {
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
            "RESETSTAT", "    Reset statistics reported by the INFO command.",
            "REWRITE", "    Rewrite the configuration file.",
            "HELP", "    Prints this help."};
        reply_help(c, help, sizeof(help) / sizeof(help[0]));
    } else {
        reply_errorf(c, "ERR unknown subcommand '%.*s'. Try CONFIG HELP.", (int)(sub->len > 128 ? 128 : sub->len), sub->p);
    }
}
