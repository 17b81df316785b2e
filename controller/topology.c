/* topology.c: the cluster-mode topology (see topology.h): building it from
 * the shards and nodes tables, storing it with its epoch, and planning the
 * steps that send it to every node. */
#include "topology.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ops.h"
#include "store.h"

/* The shard's members from the ordered node rows, starting at *j (the rows
 * are ordered by shard like the shards, so one walk serves them all). */
static json_t *shard_nodes(const json_t *nodes, size_t *j, const char *shard)
{
    json_t *out = json_array(), *n;
    while ((n = json_array_get(nodes, *j)) != NULL && strcmp(row_str(n, "shard"), shard) < 0) (*j)++;
    for (; (n = json_array_get(nodes, *j)) != NULL && strcmp(row_str(n, "shard"), shard) == 0; (*j)++)
        json_array_append_new(out, json_pack("{s:s,s:s,s:I}", "id", row_str(n, "id"), "host", row_str(n, "host"),
                                             "port", (json_int_t)row_int(n, "port")));
    return out;
}

/* {"shards":[...]}: what the topology should be now (no epoch). */
static json_t *build(sqlite3 *db, const char *cluster)
{
    json_t *shards = db_rows(db, "SELECT id, slots FROM shards WHERE cluster = ? ORDER BY id", "s", cluster);
    json_t *nodes = db_rows(db,
                            "SELECT n.id, n.shard, h.address AS host, n.port FROM nodes n JOIN hosts h ON h.id = n.host"
                            " WHERE n.cluster = ? AND n.port > 0 AND n.status != 'deleting'"
                            " ORDER BY n.shard, n.role = 'primary' DESC, n.id",
                            "s", cluster);
    json_t *out = shards && nodes ? json_array() : NULL;
    size_t i, j = 0;
    json_t *s;
    json_array_foreach(shards, i, s) {
        json_t *members = shard_nodes(nodes, &j, row_str(s, "id"));
        if (json_array_size(members) == 0) { json_decref(members); continue; } /* nobody to route to */
        json_array_append_new(out, json_pack("{s:s,s:s,s:o}", "id", row_str(s, "id"), "slots", row_str(s, "slots"),
                                             "nodes", members));
    }
    json_decref(shards);
    json_decref(nodes);
    return out ? json_pack("{s:o}", "shards", out) : NULL;
}

int topology_refresh(sqlite3 *db, const char *cluster)
{
    json_t *row = db_row(db, "SELECT cluster_mode, topology, topology_epoch FROM clusters WHERE name = ?", "s", cluster);
    if (row == NULL) return -1;
    if (!row_int(row, "cluster_mode")) { json_decref(row); return 0; }
    json_t *want = build(db, cluster);
    const char *text = json_string_value(json_object_get(row, "topology"));
    json_t *have = text ? json_loads(text, 0, NULL) : NULL;
    int changed = want && !json_equal(have, want), rc = want ? 0 : -1;
    if (changed) {
        char *dump = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        long long epoch = row_int(row, "topology_epoch") + 1;
        char msg[128];
        snprintf(msg, sizeof(msg), "topology epoch %lld: %zu shard(s) with nodes", epoch,
                 json_array_size(json_object_get(want, "shards")));
        rc = dump ? 0 : -1;
        rc |= dump ? db_run(db, "UPDATE clusters SET topology = ?, topology_epoch = ?, updated_ms = ? WHERE name = ?",
                            "sIIs", dump, epoch, wall_ms(), cluster) : -1;
        rc |= db_run(db, "UPDATE nodes SET generation = generation + 1 WHERE cluster = ? AND status != 'deleting'", "s",
                     cluster);
        rc |= store_event(db, cluster, NULL, "topology_changed", msg);
        free(dump);
    }
    json_decref(want);
    json_decref(have);
    json_decref(row);
    return rc ? -1 : changed;
}

json_t *topology_for_spec(sqlite3 *db, const char *cluster)
{
    json_t *row = db_row(db, "SELECT topology, topology_epoch FROM clusters WHERE name = ? AND cluster_mode = 1"
                             " AND topology_epoch > 0", "s", cluster);
    const char *text = json_string_value(json_object_get(row, "topology"));
    json_t *t = text ? json_loads(text, 0, NULL) : NULL;
    if (t) json_object_set_new(t, "epoch", json_integer(row_int(row, "topology_epoch")));
    json_decref(row);
    return t;
}

int topology_add_steps(sqlite3 *db, const char *op_id, int *seq, const char *cluster, const char *shard,
                       const char *skip, int wait)
{
    int mode = db_int(db, 0, "SELECT cluster_mode FROM clusters WHERE name = ?", "s", cluster) == 1;
    if (!mode && shard == NULL) return 0;
    json_t *nodes = db_rows(db,
                            "SELECT id FROM nodes WHERE cluster = ? AND status != 'deleting'"
                            " AND (? OR (shard = ? AND id != ?)) ORDER BY shard != ?, status = 'failed', id",
                            "sdsss", cluster, mode, shard ? shard : "", skip ? skip : "", shard ? shard : "");
    int rc = nodes ? 0 : -1;
    if (mode) rc |= ops_add_step(db, op_id, seq, "topology", NULL);
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) rc |= ops_add_step(db, op_id, seq, wait ? "put" : "fence", row_str(n, "id"));
    json_array_foreach(nodes, i, n) if (wait) rc |= ops_add_step(db, op_id, seq, "wait_topology", row_str(n, "id"));
    json_decref(nodes);
    return rc;
}
