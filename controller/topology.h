/* topology.h: cluster mode's routing table as the controller keeps it
 * (docs/cluster.md). The controller, not a gossip bus, decides which shard
 * owns which slots and where each shard's nodes listen; the cluster row
 * keeps the topology its nodes were last sent and its epoch, and every
 * change (a failover, a replica added or removed, a node replaced) raises
 * the epoch and sends it again through the nodes' specs. */
#ifndef CF_CTL_TOPOLOGY_H
#define CF_CTL_TOPOLOGY_H

#include <jansson.h>
#include <sqlite3.h>

/* Brings the stored topology up to date inside the caller's transaction:
 * when what the cluster looks like now (every shard in order with its
 * slots and its nodes that have a port and are not being deleted, the
 * primary first) differs from what is stored, the epoch goes up by one and
 * every node of the cluster gets a newer generation, so that its spec is
 * sent again. 1 changed, 0 unchanged, -1 on a database error. */
int topology_refresh(sqlite3 *db, const char *cluster);

/* {"epoch", "shards"} as a node spec carries it; NULL before epoch 1 or
 * for a cluster without cluster mode. */
json_t *topology_for_spec(sqlite3 *db, const char *cluster);

/* The steps that bring a change to the other nodes, after the change's
 * own steps: in cluster mode a `topology` step and then every node of the
 * cluster (the shard's first) gets its spec, `fence` (best effort) or
 * `put` (and `wait_topology`, which waits until the node runs the epoch)
 * when wait is set; without cluster mode only the nodes of shard (if not
 * NULL) but skip are fenced. Inside the caller's transaction; 0 or -1. */
int topology_add_steps(sqlite3 *db, const char *op_id, int *seq, const char *cluster, const char *shard,
                       const char *skip, int wait);

#endif
