/* nodestats.h: each node's recent observations, kept in the controller's
 * memory (no database): the latest numbers its agent reported and the last
 * 15 minutes at 5-second steps, for the dashboard's cluster view and charts.
 * Thread-safe; a controller that restarts starts with empty charts. */
#ifndef CF_NODESTATS_H
#define CF_NODESTATS_H

#include <jansson.h>
#include <stddef.h>

#define NODESTATS_STEP_MS 5000
#define NODESTATS_POINTS 180 /* 15 minutes */

struct nodestats;

struct nodestats *nodestats_new(void);
void nodestats_free(struct nodestats *s);
/* One node's observation from a heartbeat (the agent's node object: ops_per_sec,
 * used_memory, maxmemory, connected_clients, keys, keyspace_hits,
 * keyspace_misses, evicted_keys, repl_lag_bytes; a missing or negative one is
 * unknown). */
void nodestats_record(struct nodestats *s, const char *node, const json_t *observed, long long now_ms);
/* {"step_ms", "nodes": [{"id", "current": {...} | null, "history": {"time_ms": [...], "ops_per_sec": [...],
 * "used_memory": [...], "hit_ratio": [...], "repl_lag_bytes": [...]}}]} for the nodes of node_rows (objects
 * with an "id"), in their order, with only the history points after since_ms. NULL when out of memory. */
json_t *nodestats_json(struct nodestats *s, const json_t *node_rows, long long since_ms, long long now_ms);

#endif
