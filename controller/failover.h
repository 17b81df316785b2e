/* failover.h: the controller's direct RESP link to cache nodes (a second
 * path besides the agents, to confirm a failure and to read fresh
 * replication offsets) and the worker's failover, fencing and self-healing
 * passes. */
#ifndef CF_CTL_FAILOVER_H
#define CF_CTL_FAILOVER_H

#include <sqlite3.h>
#include <stddef.h>

struct ctl;
struct resp_conn;

#define FO_PROBE_MS 300          /* one direct PING/INFO to a node */
#define FO_SUSPECT_SILENCE_MS 1500 /* an agent this quiet gets its primaries probed */
#define FO_GUARD_MAX_LAG "2"     /* min-replicas-max-lag (s): replicas ACK every second */
#define FO_GUARD_GRACE_MS 5000   /* a new primary with no replica after this runs unguarded */
#define FO_RETRY_MS 2000         /* a failover or replacement that could not be planned */

/* Connects and AUTHs (the cluster's token) to a node; NULL when it does not answer. */
struct resp_conn *node_connect(sqlite3 *db, const char *node, int timeout_ms);
/* One command on a fresh connection (node_connect); NULL when the node
 * does not answer. The caller frees the reply. */
struct resp_reply *node_command(sqlite3 *db, const char *node, int timeout_ms, int argc, const char **argv);
/* 1 when the node answers PING within timeout_ms. */
int node_answers(sqlite3 *db, const char *node, int timeout_ms);

struct repl_info {
    char role[16];             /* "master" or "slave" */
    char link[16];             /* a replica's master_link_status */
    long long offset;          /* slave_repl_offset for a replica, else master_repl_offset */
    long long connected;       /* connected_slaves */
};
int node_repl_info(sqlite3 *db, const char *node, int timeout_ms, struct repl_info *out);
/* CONFIG SET name value; 0 on +OK. */
int node_config_set(sqlite3 *db, const char *node, int timeout_ms, const char *name, const char *value);

/* The worker's pass: confirms and fails over lost primaries, re-sends newer
 * specs to nodes that missed them (fencing a returning old primary), and
 * replaces nodes lost with their host. Returns how many actions it took. */
int failover_pass(struct ctl *c, sqlite3 *db);

#endif
