/* discovery.h: the node list of an engine with Auto Discovery (memcached),
 * as the controller keeps it. The cluster row holds the list its nodes were
 * last sent ("host|ip|port" of every available node, in id order) and its
 * version; a change of the nodes (added, removed, replaced) raises the
 * version and sends the list again through the nodes' specs, which their
 * agents hand to the nodes (`config get cluster` serves it). New nodes join
 * once they are up; leaving nodes drop out of the list before they stop. */
#ifndef CF_CTL_DISCOVERY_H
#define CF_CTL_DISCOVERY_H

#include <jansson.h>
#include <sqlite3.h>

/* Pure parts, unit-tested: "address|address|port" for each row of
 * {address, port} with a port; and the version a list gets: the stored one
 * when it is the stored list, else the next. */
json_t *discovery_entries(const json_t *rows);
long long discovery_next_version(const json_t *have, long long version, const json_t *want);

/* Brings the stored list up to date inside the caller's transaction; when
 * it changed, every node of the cluster but the failed ones and except
 * (a lost node being replaced, which must not be relaunched) gets a newer
 * generation, so that its spec goes out again. 1 changed, 0 unchanged,
 * -1 on a database error. */
int discovery_refresh(sqlite3 *db, const char *cluster, const char *except);

/* {"version", "nodes"} as a node spec carries it; NULL before version 1 or
 * for an engine without discovery. */
json_t *discovery_for_spec(sqlite3 *db, const char *cluster);

/* The steps that publish a change of the nodes: `discovery` (the list is
 * recomputed, arg except), then `put` and `wait_discovery` for every node
 * of the cluster but the failed ones and except. 0 or -1. */
int discovery_add_steps(sqlite3 *db, const char *op_id, int *seq, const char *cluster, const char *except);

#endif
