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
int cluster_is_primary(void);
/* The slot of the command's keys (EXEC: its queued commands'), -1 for none. */
int cluster_command_slot(const client *c, const struct command *cmd);
/* Local overrides until the next published epoch (slot moves): this
 * node's shard takes the slots, or the shard node_id belongs to does (-1
 * when node_id is in no shard of the topology). */
void cluster_take_slots(const unsigned char *slots);
int cluster_give_slots(const unsigned char *slots, const char *node_id);
/* "host:port" of a node of the topology; its index in its shard, or -1. */
int cluster_node_addr(const char *node_id, char *buf, size_t size);
/* Deletes a slot's keys as a lost slot's (modified for WATCH and
 * tracking); propagate: as DELs to the replicas too. */
size_t cluster_drop_slot(unsigned slot, int propagate);
void cluster_drop_unowned(int propagate);

/* ---- slot moves (cluster_migrate.c) ---- */
struct cluster_proc {
    const char *name; /* "cluster|sub" */
    command_proc proc;
};
extern const struct cluster_proc cluster_migrate_procs[]; /* NULL-terminated */
void cluster_migrate_release(void);
/* Whether the slot is being imported here (its keys must stay). */
int migrate_importing(unsigned slot);
/* CLUSTER NODES' open slots of this node (its own line), in Redis's
 * format: " [slot->-<target id>]" exported, " [slot-<-<source id>]" imported. */
struct text;
void migrate_open_slots(struct text *out);
/* A write to a slot whose hand-off is under way: 1 when the client was
 * made to wait (its request runs again once the hand-off ends). */
int migrate_pause_write(client *c, const struct command *cmd);
void migrate_cron(void);
/* The import link's accounting of executed bytes. */
void migrate_link_applied(client *c, size_t bytes);
void migrate_client_freed(client *c);

#endif
