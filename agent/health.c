/* health.c: the health thread. Every --health-interval-ms it
 *   1. reaps nodes whose process ended (waitpid / kill(pid, 0) / /proc) and
 *      restarts crashed replicas (never a crashed primary, nor a node whose
 *      engine has the controller replace it: engine_caps.h);
 *   2. sends the engine's health request (PING, memcached's version) on one
 *      persistent connection per node, then collects the replies against
 *      one shared deadline, so a hung node costs one interval and not one
 *      interval per node;
 *   3. hands a node that answered the versioned configuration its spec
 *      holds and it does not run yet (after a start, a restart or a new
 *      spec), again with backoff while the node refuses it: CLUSTER
 *      SETTOPOLOGY to a cluster-mode node, the discovery list to a
 *      memcached node (discovery.h);
 *   4. once a second reads the engine's statistics (INFO and ROLE, and the
 *      primary's ROLE for a replica, for the lag; or memcached's stats) for
 *      metrics and heartbeats.
 * A node's exit (SIGCHLD, which the main thread takes) starts a tick at
 * once. --health-misses missed checks in a row make a node "down"; an exit
 * is "down" at once. Both are pushed to the controller immediately (agent_event). The
 * connections belong to this thread alone; agent.lock is held only to read
 * the table and to write results back, never across network I/O. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "agent.h"
#include "engine_io.h"
#include "log.h"
#include "resp.h"

#define STATS_TIMEOUT_MS 300
#define TOPOLOGY_TIMEOUT_MS 2000

/* One per node, owned by this thread. */
struct slot {
    int used;
    char id[SPEC_NAME_MAX + 1];
    long long incarnation;
    char token[SPEC_TOKEN_MAX + 1];
    struct resp_conn *conn;
    struct resp_conn *upstream;       /* to a replica's primary, for the lag */
    char up_host[SPEC_HOST_MAX + 1];
    int up_port;
    long long prev_commands, prev_ms; /* memcached: the last stats read, for ops per second */
    long long disc_version, disc_written_ms, disc_hup_ms; /* the discovery file this thread last wrote */
};

/* A node as this tick sees it (copied under the lock). */
struct target {
    struct node_spec spec;
    long long incarnation;
    pid_t pid;
    struct slot *slot;
    int sent, ok;
    char why[128];
    struct node_obs stats;
    int have_stats;
    char *stats_text;                 /* the INFO or stats reply, handed to the node (metrics_exporter.c) */
    struct topology *topo;            /* to apply this tick (a copy), or NULL */
    struct discovery *disc;           /* the same for a discovery list */
    int topo_result, disc_result;     /* 1 applied, -1 refused or no answer, 0 not tried */
    char topo_why[128], disc_why[128];
};

static struct slot slots[AGENT_MAX_NODES];

static void slot_close(struct slot *s)
{
    resp_close(s->conn);
    resp_close(s->upstream);
    s->conn = s->upstream = NULL;
}

static struct slot *slot_for(const struct target *t)
{
    struct slot *free_slot = NULL;
    for (size_t i = 0; i < AGENT_MAX_NODES; i++) {
        struct slot *s = &slots[i];
        if (s->used && strcmp(s->id, t->spec.id) == 0) {
            if (s->incarnation != t->incarnation || strcmp(s->token, t->spec.auth_token) != 0) {
                slot_close(s); /* a new process or a new password: start over */
                s->disc_version = 0;
                s->incarnation = t->incarnation;
                snprintf(s->token, sizeof(s->token), "%s", t->spec.auth_token);
            }
            return s;
        }
        if (!s->used && free_slot == NULL) free_slot = s;
    }
    if (free_slot == NULL) return NULL;
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = 1;
    snprintf(free_slot->id, sizeof(free_slot->id), "%s", t->spec.id);
    free_slot->incarnation = t->incarnation;
    snprintf(free_slot->token, sizeof(free_slot->token), "%s", t->spec.auth_token);
    return free_slot;
}

/* Drops the slots of nodes that are no longer checked. */
static void slots_prune(const struct target *targets, size_t n)
{
    for (size_t i = 0; i < AGENT_MAX_NODES; i++) {
        if (!slots[i].used) continue;
        int live = 0;
        for (size_t j = 0; j < n && !live; j++) live = targets[j].slot == &slots[i];
        if (!live) {
            slot_close(&slots[i]);
            explicit_bzero(&slots[i], sizeof(slots[i]));
        }
    }
}

static struct resp_conn *open_authed(const char *host, int port, const char *token, int timeout_ms,
                                     char *why, size_t whylen)
{
    struct resp_conn *c = resp_connect(host, port, timeout_ms, why, whylen);
    if (c == NULL || token[0] == '\0') return c;
    const char *auth[] = {"AUTH", token};
    struct resp_reply *r = resp_command(c, timeout_ms, 2, auth);
    int ok = r && r->type == RESP_STATUS;
    resp_reply_free(r);
    if (!ok) {
        snprintf(why, whylen, "AUTH refused");
        resp_close(c);
        return NULL;
    }
    return c;
}

/* ---- step 1: exits and restarts (agent.lock held) -------------------------- */

static void describe_exit(int status, char *buf, size_t len)
{
    if (status >= 0 && WIFSIGNALED(status)) snprintf(buf, len, "process exited on signal %d", WTERMSIG(status));
    else if (status >= 0 && WIFEXITED(status)) snprintf(buf, len, "process exited with status %d", WEXITSTATUS(status));
    else snprintf(buf, len, "process is gone");
}

/* A redis replica resyncs from its primary after a restart; a primary (or
 * a memcached node) would come back empty, so the controller decides. */
static int restarts_in_place(const struct node *n)
{
    return n->spec.role == ROLE_REPLICA || engine_get(n->spec.engine)->restart_in_place;
}

static void report_lost(struct agent *a, struct node *n)
{
    if (engine_get(n->spec.engine)->failover)
        agent_event(a, n, "primary_lost", "primary %s is not restarted (it would come back empty); "
                    "waiting for the controller", n->spec.id);
    else
        agent_event(a, n, "node_lost", "node %s is not restarted in place (it would come back empty behind an "
                    "unchanged discovery list); the controller replaces it", n->spec.id);
}

static void reap_and_restart(struct agent *a, long long now)
{
    for (size_t i = 0; i < a->nnodes; i++) {
        struct node *n = a->nodes[i];
        if (n->stopping) continue;
        int status = -1;
        if (n->pid > 0 && proc_exited(n, &status)) {
            char why[96];
            describe_exit(status, why, sizeof(why));
            log_msg(LOG_WARNING, "node %s: pid %d %s", n->spec.id, (int)n->pid, why);
            n->pid = 0;
            n->exit_status = status;
            a->count.node_exits++;
            node_set_health(a, n, HEALTH_DOWN, why);
            if (restarts_in_place(n)) {
                n->restart_backoff_ms = n->restart_backoff_ms ? n->restart_backoff_ms * 2 : AGENT_RESTART_BACKOFF_MIN_MS;
                if (n->restart_backoff_ms > AGENT_RESTART_BACKOFF_MAX_MS) n->restart_backoff_ms = AGENT_RESTART_BACKOFF_MAX_MS;
                n->restart_at_ms = now + n->restart_backoff_ms;
            } else {
                n->restart_at_ms = 0;
                report_lost(a, n);
            }
            store_save(a, n);
        }
        if (n->pid == 0 && n->restart_at_ms && now >= n->restart_at_ms && restarts_in_place(n)) {
            char err[256];
            n->restart_at_ms = 0;
            if (proc_launch(a, n, err, sizeof(err)) != 0) {
                log_msg(LOG_WARNING, "node %s: restart failed: %s", n->spec.id, err);
                n->restart_at_ms = now + AGENT_RESTART_BACKOFF_MAX_MS;
                continue;
            }
            n->restarts++;
            a->count.node_restarts++;
            n->obs.health = HEALTH_STARTING;
            n->obs.misses = 0;
            store_save(a, n);
            agent_event(a, n, "node_restarted", "replica %s restarted in place (pid %d); it resyncs", n->spec.id, (int)n->pid);
        }
    }
}

static size_t snapshot_targets(struct agent *a, struct target *t)
{
    size_t n = 0;
    for (size_t i = 0; i < a->nnodes; i++) {
        struct node *nd = a->nodes[i];
        if (nd->stopping || nd->pid <= 0) continue;
        memset(&t[n], 0, sizeof(t[n]));
        t[n].spec = nd->spec;
        t[n].spec.topology = NULL; /* borrowed pointers do not leave the lock */
        t[n].incarnation = nd->incarnation;
        t[n].pid = nd->pid;
        if (nd->spec.cluster_mode && nd->spec.topology && nd->topo.applied != nd->spec.topology->epoch &&
            mono_ms() >= nd->topo.next_ms)
            t[n].topo = topology_dup(nd->spec.topology);
        if (nd->spec.discovery && nd->disc.applied != nd->spec.discovery->version && mono_ms() >= nd->disc.next_ms)
            t[n].disc = discovery_dup(nd->spec.discovery);
        n++;
    }
    return n;
}

/* ---- step 2: the health request (PING, version) --------------------------------- */

static void ping_send(struct agent *a, struct target *t)
{
    struct slot *s = t->slot;
    int timeout = a->cfg.health_interval_ms;
    if (s->conn == NULL) s->conn = open_authed(a->cfg.advertise, t->spec.port, t->spec.auth_token, timeout, t->why, sizeof(t->why));
    if (s->conn == NULL) return;
    if (engine_health_send(s->conn, engine_get(t->spec.engine), timeout) != 0) {
        snprintf(t->why, sizeof(t->why), "cannot send the health check");
        slot_close(s);
        return;
    }
    t->sent = 1;
}

static void ping_collect(struct target *t, long long deadline)
{
    if (!t->sent) return;
    t->ok = engine_health_read(t->slot->conn, engine_get(t->spec.engine), deadline);
    if (!t->ok) {
        snprintf(t->why, sizeof(t->why), "no health check reply in time");
        slot_close(t->slot); /* a late reply must not answer the next command */
    }
}

/* ---- step 3: topology --------------------------------------------------------- */

static void topology_send(struct target *t)
{
    if (t->topo == NULL || !t->ok || t->slot->conn == NULL) return;
    struct resp_reply *r = resp_command(t->slot->conn, TOPOLOGY_TIMEOUT_MS, t->topo->argc, t->topo->argv);
    t->topo_result = r && r->type == RESP_STATUS ? 1 : -1;
    if (t->topo_result < 0)
        snprintf(t->topo_why, sizeof(t->topo_why), "CLUSTER SETTOPOLOGY %lld failed: %.90s", t->topo->epoch,
                 r && r->type == RESP_ERROR ? r->str : "no reply");
    if (r == NULL) slot_close(t->slot); /* a late reply must not answer the next command */
    resp_reply_free(r);
}

#define DISCOVERY_HUP_MS 1000      /* a node that has not read the file yet is signalled again */
#define DISCOVERY_GIVE_UP_MS 5000  /* then the push counts as refused (event, backoff) */

/* Hands the node its list (discovery.h: a file and SIGHUP), then checks
 * with `config get cluster` that it serves it. Pending (result 0) while
 * the node has not read the file yet, so a push costs no health tick. */
static void discovery_send(struct agent *a, struct target *t)
{
    struct slot *s = t->slot;
    if (t->disc == NULL || !t->ok || s->conn == NULL) return;
    char dir[1100];
    long long now = mono_ms();
    int wrote = node_dir(a, t->spec.id, dir, sizeof(dir)) == 0 ? discovery_write_file(dir, t->disc) : -1;
    if (wrote < 0) {
        t->disc_result = -1;
        snprintf(t->disc_why, sizeof(t->disc_why), "cannot write the discovery file in %.80s", dir);
        return;
    }
    if (wrote > 0 || s->disc_version != t->disc->version) {
        s->disc_version = t->disc->version;
        s->disc_written_ms = now;
        s->disc_hup_ms = 0;
    }
    struct resp_reply *r = resp_text_command(s->conn, STATS_TIMEOUT_MS, "config get cluster\r\n", 20);
    long long serves = r && r->type == RESP_BULK ? discovery_served_version(r->str) : -1;
    if (r == NULL) slot_close(s); /* a late reply must not answer the next command */
    resp_reply_free(r);
    if (serves == t->disc->version) { t->disc_result = 1; return; }
    if (now - s->disc_written_ms > DISCOVERY_GIVE_UP_MS) {
        t->disc_result = -1;
        s->disc_version = 0; /* the next attempt starts over */
        snprintf(t->disc_why, sizeof(t->disc_why), "the node serves discovery list version %lld, not %lld",
                 serves, t->disc->version);
        return;
    }
    if (now - s->disc_hup_ms >= DISCOVERY_HUP_MS && t->pid > 0) { /* read it now, not at its next look */
        kill(t->pid, SIGHUP);
        s->disc_hup_ms = now;
    }
}

/* Records the outcome of a push on the node (agent.lock held): what the
 * process runs, or the next attempt with backoff. what: "topology epoch". */
static void push_result(struct agent *a, struct node *n, struct push_state *p, int result, long long version,
                        const char *why, const char *what, const char *event)
{
    if (result == 0) return;
    char type[48];
    if (result > 0) {
        p->applied = version;
        p->backoff_ms = 0;
        snprintf(type, sizeof(type), "%s_applied", event);
        agent_event(a, n, type, "%s runs %s %lld", n->spec.id, what, version);
        return;
    }
    int first = p->backoff_ms == 0;
    p->backoff_ms = first ? AGENT_TOPOLOGY_BACKOFF_MIN_MS : p->backoff_ms * 2;
    if (p->backoff_ms > AGENT_TOPOLOGY_BACKOFF_MAX_MS) p->backoff_ms = AGENT_TOPOLOGY_BACKOFF_MAX_MS;
    p->next_ms = mono_ms() + p->backoff_ms;
    snprintf(n->obs.last_error, sizeof(n->obs.last_error), "%s", why);
    snprintf(type, sizeof(type), "%s_failed", event);
    if (first) agent_event(a, n, type, "%s: %s; retrying", n->spec.id, why);
    else log_msg(LOG_VERBOSE, "node %s: %s; retrying in %d ms", n->spec.id, why, p->backoff_ms);
}

/* Records the outcomes of this tick's pushes on the node (agent.lock held). */
static void pushes_result(struct agent *a, struct node *n, const struct target *t)
{
    if (t->topo) push_result(a, n, &n->topo, t->topo_result, t->topo->epoch, t->topo_why, "topology epoch", "topology");
    if (t->disc)
        push_result(a, n, &n->disc, t->disc_result, t->disc->version, t->disc_why, "discovery list version", "discovery");
}

/* ---- step 4: stats ----------------------------------------------------------- */

/* memcached's stats: "STAT name value" lines. -1 when the field is missing. */
static long long stat_ll(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, "STAT ", 5) == 0 && strncmp(p + 5, name, n) == 0 && p[5 + n] == ' ') {
            char *end;
            long long v = strtoll(p + 6 + n, &end, 10);
            return end == p + 6 + n ? -1 : v;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return -1;
}

static long long sum_present(long long a, long long b) { return a < 0 ? b : b < 0 ? a : a + b; }

static void parse_stats(const char *text, struct node_obs *o)
{
    o->used_memory = stat_ll(text, "bytes");
    o->maxmemory = stat_ll(text, "limit_maxbytes");
    o->keys = stat_ll(text, "curr_items");
    o->connected_clients = stat_ll(text, "curr_connections");
    o->keyspace_hits = stat_ll(text, "get_hits");
    o->keyspace_misses = stat_ll(text, "get_misses");
    o->evicted_keys = stat_ll(text, "evictions");
    o->expired_keys = stat_ll(text, "expired_unfetched");
    long long cmds = sum_present(stat_ll(text, "cmd_get"), stat_ll(text, "cmd_set"));
    cmds = sum_present(cmds, stat_ll(text, "cmd_touch"));
    o->commands = sum_present(cmds, stat_ll(text, "cmd_flush"));
}

/* stats has no instantaneous rate: the commands since the last read. */
static void stats_rate(struct slot *s, struct node_obs *o)
{
    long long now = mono_ms();
    if (o->commands >= 0 && s->prev_ms > 0 && now > s->prev_ms && o->commands >= s->prev_commands)
        o->ops_per_sec = (o->commands - s->prev_commands) * 1000 / (now - s->prev_ms);
    s->prev_commands = o->commands;
    s->prev_ms = now;
}

static void read_mc_stats(struct agent *a, struct target *t)
{
    (void)a;
    struct resp_conn **c = &t->slot->conn;
    if (*c == NULL) return;
    struct resp_reply *r = resp_text_command(*c, STATS_TIMEOUT_MS, "stats\r\n", 7);
    if (r == NULL) { resp_close(*c); *c = NULL; }
    if (r && r->type == RESP_BULK) {
        parse_stats(r->str, &t->stats);
        stats_rate(t->slot, &t->stats);
        t->stats_text = strdup(r->str);
    }
    resp_reply_free(r);
}

static void parse_info(const char *info, struct node_obs *o)
{
    long long v;
    if (resp_info_ll(info, "used_memory", &v) == 0) o->used_memory = v;
    if (resp_info_ll(info, "maxmemory", &v) == 0) o->maxmemory = v;
    if (resp_info_ll(info, "total_commands_processed", &v) == 0) o->commands = v;
    if (resp_info_ll(info, "instantaneous_ops_per_sec", &v) == 0) o->ops_per_sec = v;
    if (resp_info_ll(info, "connected_clients", &v) == 0) o->connected_clients = v;
    if (resp_info_ll(info, "keyspace_hits", &v) == 0) o->keyspace_hits = v;
    if (resp_info_ll(info, "keyspace_misses", &v) == 0) o->keyspace_misses = v;
    if (resp_info_ll(info, "evicted_keys", &v) == 0) o->evicted_keys = v;
    if (resp_info_ll(info, "expired_keys", &v) == 0) o->expired_keys = v;
    char db0[128];
    if (resp_info_field(info, "db0", db0, sizeof(db0)) == 0 && strncmp(db0, "keys=", 5) == 0)
        o->keys = strtoll(db0 + 5, NULL, 10);
    else if (strstr(info, "# Keyspace") != NULL)
        o->keys = 0; /* the section is there and db0 is not: empty */
    char s[16];
    if (resp_info_field(info, "role", s, sizeof(s)) == 0) memcpy(o->role, s, sizeof(o->role));
    if (resp_info_field(info, "master_link_status", s, sizeof(s)) == 0) memcpy(o->link_status, s, sizeof(o->link_status));
}

/* ROLE: ["master", offset, [...]] or ["slave", host, port, state, offset]. */
static void parse_role(const struct resp_reply *r, struct node_obs *o)
{
    if (r == NULL || r->type != RESP_ARRAY || r->count < 2 || r->elements[0]->type != RESP_BULK) return;
    const char *role = r->elements[0]->str;
    snprintf(o->role, sizeof(o->role), "%s", role);
    if (strcmp(role, "master") == 0 && r->elements[1]->type == RESP_INTEGER) {
        o->repl_offset = r->elements[1]->integer;
    } else if (strcmp(role, "slave") == 0 && r->count >= 5) {
        if (r->elements[3]->type == RESP_BULK)
            snprintf(o->link_status, sizeof(o->link_status), "%s",
                     strcmp(r->elements[3]->str, "connected") == 0 ? "up" : "down");
        if (r->elements[4]->type == RESP_INTEGER && r->elements[4]->integer >= 0) o->repl_offset = r->elements[4]->integer;
    }
}

static struct resp_reply *stats_cmd(struct resp_conn **c, int argc, const char **argv)
{
    if (*c == NULL) return NULL;
    struct resp_reply *r = resp_command(*c, STATS_TIMEOUT_MS, argc, argv);
    if (r == NULL) { resp_close(*c); *c = NULL; }
    return r;
}

static void read_primary_offset(struct agent *a, struct target *t)
{
    struct slot *s = t->slot;
    if (s->upstream && (strcmp(s->up_host, t->spec.primary_host) != 0 || s->up_port != t->spec.primary_port)) {
        resp_close(s->upstream);
        s->upstream = NULL;
    }
    if (s->upstream == NULL) {
        char why[128];
        s->upstream = open_authed(t->spec.primary_host, t->spec.primary_port, t->spec.auth_token,
                                  STATS_TIMEOUT_MS, why, sizeof(why));
        snprintf(s->up_host, sizeof(s->up_host), "%s", t->spec.primary_host);
        s->up_port = t->spec.primary_port;
    }
    (void)a;
    const char *role[] = {"ROLE"};
    struct resp_reply *r = stats_cmd(&s->upstream, 1, role);
    struct node_obs po;
    memset(&po, 0, sizeof(po));
    po.repl_offset = -1;
    parse_role(r, &po);
    if (strcmp(po.role, "master") == 0) t->stats.primary_offset = po.repl_offset;
    resp_reply_free(r);
}

static void read_info_stats(struct agent *a, struct target *t)
{
    struct node_obs *o = &t->stats;
    const char *info[] = {"INFO", "everything"};
    struct resp_reply *r = stats_cmd(&t->slot->conn, 2, info);
    if (r && r->type == RESP_BULK) {
        parse_info(r->str, o);
        t->stats_text = strdup(r->str);
    }
    resp_reply_free(r);
    const char *role[] = {"ROLE"};
    r = stats_cmd(&t->slot->conn, 1, role);
    parse_role(r, o);
    resp_reply_free(r);
    if (t->spec.role == ROLE_REPLICA) read_primary_offset(a, t);
}

/* Where each engine's observations come from (engine_caps.h). */
static void (*const stats_readers[])(struct agent *, struct target *) = {
    [METRICS_INFO] = read_info_stats,
    [METRICS_STATS] = read_mc_stats,
};

static void read_stats(struct agent *a, struct target *t)
{
    struct node_obs *o = &t->stats;
    memset(o, 0, sizeof(*o));
    o->repl_offset = o->primary_offset = o->used_memory = o->maxmemory = o->commands = -1;
    o->ops_per_sec = o->connected_clients = o->keys = -1;
    o->keyspace_hits = o->keyspace_misses = o->evicted_keys = o->expired_keys = -1;
    t->have_stats = 1;
    stats_readers[engine_get(t->spec.engine)->metrics](a, t);
    if (o->maxmemory < 0) o->maxmemory = t->spec.memory_mb * 1024 * 1024; /* what we set it to */
}

/* ---- step 5: results --------------------------------------------------------- */

static void copy_stats(struct node_obs *dst, const struct node_obs *src)
{
    struct node_obs keep = *dst;
    *dst = *src;
    dst->health = keep.health;
    dst->misses = keep.misses;
    dst->since_ms = keep.since_ms;
    memcpy(dst->last_error, keep.last_error, sizeof(dst->last_error));
}

static void apply_results(struct agent *a, struct target *t, size_t nt, long long now)
{
    for (size_t i = 0; i < nt; i++) {
        struct node *n = agent_find(a, t[i].spec.id);
        if (n == NULL || n->incarnation != t[i].incarnation || n->stopping || n->pid <= 0) continue;
        a->count.health_checks++;
        if (t[i].have_stats) copy_stats(&n->obs, &t[i].stats);
        if (t[i].stats_text) {
            free(n->stats_text);
            n->stats_text = t[i].stats_text;
            t[i].stats_text = NULL;
        }
        pushes_result(a, n, &t[i]);
        if (t[i].ok) {
            n->obs.misses = 0;
            node_set_health(a, n, HEALTH_UP, NULL);
            if (now - n->launched_ms > 60000) n->restart_backoff_ms = 0; /* stable again */
            continue;
        }
        a->count.health_misses++;
        n->obs.misses++;
        snprintf(n->obs.last_error, sizeof(n->obs.last_error), "%s", t[i].why);
        if (n->obs.health == HEALTH_STARTING) {
            if (now - n->launched_ms > AGENT_STARTUP_TIMEOUT_MS)
                node_set_health(a, n, HEALTH_DOWN, "did not answer within the start-up timeout");
        } else if (n->obs.misses >= a->cfg.health_misses) {
            char why[192];
            snprintf(why, sizeof(why), "%d health checks missed (%s)", n->obs.misses, t[i].why);
            node_set_health(a, n, HEALTH_DOWN, why);
        }
    }
}

void health_wake(struct agent *a)
{
    a->health_poked = 1;
    pthread_cond_signal(&a->health_wake);
}

/* Waits for the next tick: until when, or until health_wake. */
static void sleep_until(struct agent *a, long long when)
{
    pthread_mutex_lock(&a->lock);
    while (!a->stopping && !a->health_poked) {
        long long left = when - mono_ms();
        if (left <= 0) break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&a->health_wake, &a->lock, &ts);
        if (rc != 0 && rc != ETIMEDOUT && rc != EINTR) break; /* cannot wait: tick now rather than spin */
    }
    a->health_poked = 0;
    pthread_mutex_unlock(&a->lock);
}

void *health_thread(void *arg)
{
    struct agent *a = arg;
    static struct target targets[AGENT_MAX_NODES];
    long long next_stats = 0;
    while (!a->stopping) {
        long long start = mono_ms();
        pthread_mutex_lock(&a->lock);
        reap_and_restart(a, start);
        size_t nt = snapshot_targets(a, targets);
        pthread_mutex_unlock(&a->lock);

        size_t live = 0;
        for (size_t i = 0; i < nt; i++) {
            targets[i].slot = slot_for(&targets[i]);
            if (targets[i].slot) live++;
        }
        slots_prune(targets, nt);
        long long deadline = start + a->cfg.health_interval_ms;
        for (size_t i = 0; i < nt; i++)
            if (targets[i].slot) ping_send(a, &targets[i]);
        for (size_t i = 0; i < nt; i++)
            if (targets[i].slot) ping_collect(&targets[i], deadline);
        for (size_t i = 0; i < nt; i++)
            if (targets[i].slot) {
                topology_send(&targets[i]);
                discovery_send(a, &targets[i]);
            }
        if (mono_ms() >= next_stats) {
            for (size_t i = 0; i < nt; i++)
                if (targets[i].ok && targets[i].slot) read_stats(a, &targets[i]);
            next_stats = mono_ms() + AGENT_STATS_INTERVAL_MS;
        }
        pthread_mutex_lock(&a->lock);
        apply_results(a, targets, nt, mono_ms());
        pthread_mutex_unlock(&a->lock);
        for (size_t i = 0; i < nt; i++) {
            explicit_bzero(targets[i].spec.auth_token, sizeof(targets[i].spec.auth_token));
            topology_free(targets[i].topo);
            discovery_free(targets[i].disc);
            free(targets[i].stats_text);
            targets[i].topo = NULL;
            targets[i].disc = NULL;
            targets[i].stats_text = NULL;
        }
        (void)live;
        sleep_until(a, start + a->cfg.health_interval_ms);
    }
    for (size_t i = 0; i < AGENT_MAX_NODES; i++) slot_close(&slots[i]);
    return NULL;
}
