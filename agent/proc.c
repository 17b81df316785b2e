/* proc.c: starting and stopping cachenode processes, and recognising them
 * again. A node is started with fork/exec and an argument vector (never a
 * shell), in its own session so that it outlives the agent, with every
 * descriptor above stderr closed so that it holds none of the agent's
 * sockets. Secrets go in a 0600 config file, not on the command line where
 * ps(1) would show them. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "agent.h"
#include "log.h"

#define ARGV_MAX 32
/* Given to the node explicitly, so that the file remove_snapshot() deletes is
 * the one the node would load, whatever cachenode's default becomes. */
#define NODE_DBFILENAME "dump.cfs"
/* The same for the topology a cluster-mode node keeps across restarts. */
#define NODE_CLUSTER_CONFIG "nodes.conf"

int node_dir(const struct agent *a, const char *id, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/nodes/%s", a->cfg.data_dir, id);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static int write_file_0600(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return -1;
    int rc = write_all(fd, text, strlen(text));
    if (fchmod(fd, 0600) != 0) rc = -1; /* O_CREAT's mode does not apply to an existing file */
    if (close(fd) != 0) rc = -1;
    return rc;
}

/* The node's config file: the secrets, which must not appear in argv. */
static int write_node_conf(const struct node *n, const char *path)
{
    char text[512] = "# written by cachefleet-agent; holds secrets, mode 0600\n";
    if (n->spec.auth_token[0]) {
        size_t used = strlen(text);
        int w = snprintf(text + used, sizeof(text) - used, "requirepass %s\nmasterauth %s\n",
                         n->spec.auth_token, n->spec.auth_token);
        if (w < 0 || (size_t)w >= sizeof(text) - used) return -1;
    }
    int rc = write_file_0600(path, text);
    explicit_bzero(text, sizeof(text));
    return rc;
}

struct launch_args {
    char conf[1200], dir[1100], logfile[1200], out[1200], discovery[1200];
    char port[16], maxmem[32], primary_port[16];
    const char *argv[ARGV_MAX];
};

static void build_argv(const struct agent *a, const struct node *n, struct launch_args *l)
{
    int i = 0;
    const struct engine_caps *e = engine_get(n->spec.engine);
    snprintf(l->port, sizeof(l->port), "%d", n->spec.port);
    snprintf(l->maxmem, sizeof(l->maxmem), "%lldmb", n->spec.memory_mb);
    l->argv[i++] = a->cfg.node_binary;
    l->argv[i++] = l->conf;
    l->argv[i++] = "--port";             l->argv[i++] = l->port;
    l->argv[i++] = "--bind";             l->argv[i++] = a->cfg.advertise;
    l->argv[i++] = "--dir";              l->argv[i++] = l->dir;
    l->argv[i++] = "--dbfilename";       l->argv[i++] = NODE_DBFILENAME;
    l->argv[i++] = "--logfile";          l->argv[i++] = l->logfile;
    l->argv[i++] = "--maxmemory";        l->argv[i++] = l->maxmem;
    if (e->eviction_policies) {
        l->argv[i++] = "--maxmemory-policy"; l->argv[i++] = n->spec.eviction_policy;
    }
    l->argv[i++] = "--node-id";          l->argv[i++] = n->spec.id;
    if (e->protocol) {
        l->argv[i++] = "--protocol"; l->argv[i++] = e->protocol;
    }
    if (e->discovery) {
        l->argv[i++] = "--discovery-file"; l->argv[i++] = l->discovery;
    }
    if (n->spec.cluster_mode) {
        l->argv[i++] = "--cluster-enabled";     l->argv[i++] = "yes";
        l->argv[i++] = "--cluster-config-file"; l->argv[i++] = NODE_CLUSTER_CONFIG;
    }
    if (n->spec.role == ROLE_REPLICA) {
        snprintf(l->primary_port, sizeof(l->primary_port), "%d", n->spec.primary_port);
        l->argv[i++] = "--replicaof"; l->argv[i++] = n->spec.primary_host; l->argv[i++] = l->primary_port;
    }
    l->argv[i] = NULL;
}

/* Removes dir/name: 1 removed, 0 there was none, -1 (with err) it stays. */
static int remove_node_file(const char *dir, const char *name, char *err, size_t errlen)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (unlink(path) == 0) return 1;
    if (errno == ENOENT) return 0;
    snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
    return -1;
}

/* design.md: "A crashed node restarts empty". cachenode loads its snapshot
 * at start-up, so one left in the node's dir (a user's SAVE or BGSAVE, or an
 * earlier node with this id) would bring stale data back, and a replica
 * would serve it until it resyncs: every launch removes it first. */
static int remove_snapshot(const char *dir, const char *id, char *err, size_t errlen)
{
    int rc = remove_node_file(dir, NODE_DBFILENAME, err, errlen);
    if (rc > 0) log_msg(LOG_NOTICE, "node %s: removed %s/%s left by an earlier run; the node starts empty", id, dir,
                        NODE_DBFILENAME);
    return rc < 0 ? -1 : 0;
}

int proc_forget_files(const struct agent *a, const char *id)
{
    char dir[1100], err[256];
    static const char *const files[] = {"node.conf", NODE_CLUSTER_CONFIG, DISCOVERY_FILE, NULL};
    if (node_dir(a, id, dir, sizeof(dir)) != 0) return -1;
    int rc = 0;
    for (const char *const *f = files; *f; f++)
        if (remove_node_file(dir, *f, err, sizeof(err)) < 0) {
            log_msg(LOG_WARNING, "node %s: %s", id, err);
            rc = -1;
        }
    return rc;
}

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void exec_child(const struct launch_args *l)
{
    if (setsid() < 0) _exit(126);
    int in = open("/dev/null", O_RDONLY);
    int out = open(l->out, O_WRONLY | O_CREAT | O_APPEND, 0640);
    if (in < 0 || out < 0) _exit(126);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(126);
    /* CLOEXEC is set on our sockets already; this also covers any a library
     * opened without it (the agent's listening socket must not leak). */
    if (close_range(3, ~0U, 0) != 0) {
        for (int fd = 3; fd < 65536; fd++) close(fd);
    }
    /* Undo what the agent changed: a blocked mask and an ignored SIGPIPE
     * would both survive exec. */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGPIPE, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(l->argv[0], (char *const *)l->argv);
    _exit(127);
}

int proc_launch(struct agent *a, struct node *n, char *err, size_t errlen)
{
    struct launch_args l;
    char dir[1100];
    if (node_dir(a, n->spec.id, dir, sizeof(dir)) != 0) { snprintf(err, errlen, "data dir path too long"); return -1; }
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) { snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno)); return -1; }
    snprintf(l.dir, sizeof(l.dir), "%s", dir);
    snprintf(l.conf, sizeof(l.conf), "%s/node.conf", dir);
    snprintf(l.logfile, sizeof(l.logfile), "%s/cachenode.log", dir);
    snprintf(l.out, sizeof(l.out), "%s/stdout.log", dir);
    if (write_node_conf(n, l.conf) != 0) { snprintf(err, errlen, "cannot write %s", l.conf); return -1; }
    if (remove_snapshot(dir, n->spec.id, err, errlen) != 0) return -1;
    snprintf(l.discovery, sizeof(l.discovery), "%s/%s", dir, DISCOVERY_FILE);
    /* the process starts serving the list it is meant to serve */
    if (n->spec.discovery && discovery_write_file(dir, n->spec.discovery) < 0) {
        snprintf(err, errlen, "cannot write %s", l.discovery);
        return -1;
    }
    build_argv(a, n, &l);
    pid_t pid = fork();
    if (pid < 0) { snprintf(err, errlen, "fork: %s", strerror(errno)); return -1; }
    if (pid == 0) exec_child(&l);
    n->pid = pid;
    n->is_child = 1;
    n->starttime = proc_starttime(pid);
    n->incarnation++;
    n->launched_ms = mono_ms();
    n->exit_status = -1;
    /* a new process: its topology and discovery list are applied again */
    memset(&n->topo, 0, sizeof(n->topo));
    memset(&n->disc, 0, sizeof(n->disc));
    a->count.node_launches++;
    log_msg(LOG_NOTICE, "node %s: launched pid %d on %s:%d (%s, %lld MB)", n->spec.id, (int)pid,
            a->cfg.advertise, n->spec.port, spec_role_name(n->spec.role), n->spec.memory_mb);
    char pidfile[1200], pidtext[32];
    snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
    snprintf(pidtext, sizeof(pidtext), "%d\n", (int)pid);
    if (write_file_0600(pidfile, pidtext) != 0) log_msg(LOG_WARNING, "node %s: cannot write %s", n->spec.id, pidfile);
    return 0;
}

/* Reads /proc/PID/stat: the state letter and the start time (field 22). */
static int read_stat(pid_t pid, char *state, unsigned long long *starttime)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (p == NULL || p[1] != ' ') return -1;
    p += 2;
    *state = *p;
    /* p is at field 3; skip to field 22. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (p == NULL) return -1;
        p++;
    }
    *starttime = strtoull(p, NULL, 10);
    return 0;
}

unsigned long long proc_starttime(pid_t pid)
{
    char state;
    unsigned long long st = 0;
    return read_stat(pid, &state, &st) == 0 ? st : 0;
}

int proc_exited(struct node *n, int *status)
{
    if (n->pid <= 0) return 1;
    if (n->is_child) {
        int st = 0;
        pid_t r = waitpid(n->pid, &st, WNOHANG);
        if (r == n->pid) { *status = st; return 1; }
        if (r < 0 && errno == ECHILD) return 1; /* reaped elsewhere (a DELETE) */
        return 0;
    }
    char state;
    unsigned long long st = 0;
    if (kill(n->pid, 0) != 0 && errno == ESRCH) return 1;
    if (read_stat(n->pid, &state, &st) != 0) return 1;
    if (state == 'Z' || state == 'X') return 1;        /* dead, waiting for its reaper */
    if (n->starttime && st != n->starttime) return 1;   /* the pid was reused */
    return 0;
}

/* 1 when pid is a live process whose argv holds "--node-id NODE_ID". */
int proc_matches(pid_t pid, const char *node_id, unsigned long long starttime)
{
    char path[64], buf[8192];
    char state;
    unsigned long long st = 0;
    if (pid <= 0 || read_stat(pid, &state, &st) != 0 || state == 'Z' || state == 'X') return 0;
    if (starttime && st != starttime) return 0;
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    for (ssize_t off = 0; off < n;) {
        const char *arg = buf + off;
        size_t len = strlen(arg);
        if (strcmp(arg, "--node-id") == 0 && off + (ssize_t)len + 1 < n)
            return strcmp(arg + len + 1, node_id) == 0;
        off += (ssize_t)len + 1;
    }
    return 0;
}

static int gone(pid_t pid, int is_child)
{
    if (is_child) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) return 1;
        return 0;
    }
    char state;
    unsigned long long st;
    return read_stat(pid, &state, &st) != 0 || state == 'Z' || state == 'X';
}

static int wait_gone(pid_t pid, int is_child, int timeout_ms)
{
    long long deadline = mono_ms() + timeout_ms;
    for (;;) {
        if (gone(pid, is_child)) return 1;
        if (mono_ms() >= deadline) return 0;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

void proc_stop(pid_t pid, int is_child, int grace_ms)
{
    if (pid <= 0) return;
    if (kill(pid, SIGTERM) != 0 && errno == ESRCH) return;
    if (wait_gone(pid, is_child, grace_ms)) return;
    log_msg(LOG_WARNING, "pid %d ignored SIGTERM for %d ms: SIGKILL", (int)pid, grace_ms);
    if (kill(pid, SIGKILL) != 0 && errno == ESRCH) return;
    if (!wait_gone(pid, is_child, 2000)) log_msg(LOG_WARNING, "pid %d still there after SIGKILL", (int)pid);
}
