/* cluster.h: cluster mode (docs/cluster.md): the topology a node runs, the
 * routing check before a command runs (MOVED, CROSSSLOT, CLUSTERDOWN), the
 * check on a script's calls, and CLUSTER, READONLY, READWRITE and ASKING. */
#ifndef CN_CLUSTER_H
#define CN_CLUSTER_H

#include "server.h"

extern struct command cluster_commands[];

/* Start-up (cluster mode only): checks --node-id and loads the topology
 * from cluster-config-file when it exists. Returns 0, or -1 after logging
 * why the node must not start. */
int cluster_init(void);
void cluster_release(void);
/* Where the command's keys are served (cluster mode only): 0 when here,
 * else 1 with the reply's error text (MOVED, CROSSSLOT, CLUSTERDOWN) in
 * err. EXEC is checked over the queued commands. */
int cluster_redirect(const client *c, const struct command *cmd, char *err, size_t size);
/* A script run by `caller` calls this command: Redis's error text when the
 * keys are not served here, else NULL. */
const char *cluster_script_refusal(const client *caller, const struct command *cmd, const arg *argv, int argc);
/* CLUSTER SETTOPOLOGY's arguments from the epoch on: validates, persists,
 * applies. Returns 0, or -1 with the error reply's text in err. */
int cluster_set_topology(const arg *argv, int argc, char *err, size_t errlen);
long long cluster_epoch(void);
/* Whether this node's shard owns the slot in the topology it runs. */
int cluster_slot_is_mine(unsigned slot);

#endif
