/* discovery.c: the discovery list of a memcached cluster (see discovery.h). */
#include "discovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ops_internal.h"
#include "store.h"

json_t *discovery_entries(const json_t *rows)
{
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        if (row_int(r, "port") <= 0) continue; /* not launched yet: nothing to reach */
        char buf[600];
        snprintf(buf, sizeof(buf), "%s|%s|%lld", row_str(r, "address"), row_str(r, "address"), row_int(r, "port"));
        json_array_append_new(out, json_string(buf));
    }
    return out;
}

long long discovery_next_version(const json_t *have, long long version, const json_t *want)
{
    return have && json_equal(have, want) ? version : version + 1;
}

/* What the list is now: the available nodes, in id order. */
static json_t *build(sqlite3 *db, const char *cluster)
{
    json_t *rows = db_rows(db, "SELECT h.address, n.port FROM nodes n JOIN hosts h ON h.id = n.host"
                               " WHERE n.cluster = ? AND n.status = 'available' ORDER BY n.id", "s", cluster);
    json_t *list = rows ? discovery_entries(rows) : NULL;
    json_decref(rows);
    return list;
}

int discovery_refresh(sqlite3 *db, const char *cluster, const char *except)
{
    json_t *row = db_row(db, "SELECT discovery, discovery_version FROM clusters WHERE name = ?"
                             " AND engine_can(engine, 'discovery')", "s", cluster);
    if (row == NULL) return 0; /* gone, or no discovery list for this engine */
    json_t *want = build(db, cluster);
    const char *text = json_string_value(json_object_get(row, "discovery"));
    json_t *have = text ? json_loads(text, 0, NULL) : NULL;
    long long version = row_int(row, "discovery_version");
    long long next = want ? discovery_next_version(have, version, want) : version;
    int changed = next != version, rc = want ? 0 : -1;
    if (changed) {
        char *dump = json_dumps(want, JSON_COMPACT);
        char msg[128];
        snprintf(msg, sizeof(msg), "discovery list version %lld: %zu node(s)", next, json_array_size(want));
        rc = dump ? db_run(db, "UPDATE clusters SET discovery = ?, discovery_version = ?, updated_ms = ? WHERE name = ?",
                           "sIIs", dump, next, wall_ms(), cluster) : -1;
        rc |= db_run(db, "UPDATE nodes SET generation = generation + 1 WHERE cluster = ? AND status != 'failed'"
                         " AND id != ?", "ss", cluster, except ? except : "");
        rc |= store_event(db, cluster, NULL, "discovery_changed", msg);
        free(dump);
    }
    json_decref(want);
    json_decref(have);
    json_decref(row);
    return rc ? -1 : changed;
}

json_t *discovery_for_spec(sqlite3 *db, const char *cluster)
{
    json_t *row = db_row(db, "SELECT discovery, discovery_version FROM clusters WHERE name = ?"
                             " AND engine_can(engine, 'discovery') AND discovery_version > 0", "s", cluster);
    const char *text = json_string_value(json_object_get(row, "discovery"));
    json_t *list = text ? json_loads(text, 0, NULL) : NULL;
    json_t *d = list ? json_pack("{s:I,s:o}", "version", (json_int_t)row_int(row, "discovery_version"), "nodes", list) : NULL;
    json_decref(row);
    return d;
}

int discovery_add_steps(sqlite3 *db, const char *op_id, int *seq, const char *cluster, const char *except)
{
    json_t *nodes = db_rows(db, "SELECT id FROM nodes WHERE cluster = ? AND status != 'failed' AND id != ? ORDER BY id",
                            "ss", cluster, except ? except : "");
    int rc = nodes ? 0 : -1;
    rc |= except ? ops_add_step_arg(db, op_id, seq, "discovery", except) : ops_add_step(db, op_id, seq, "discovery", NULL);
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) rc |= ops_add_step(db, op_id, seq, "put", row_str(n, "id"));
    json_array_foreach(nodes, i, n) rc |= ops_add_step(db, op_id, seq, "wait_discovery", row_str(n, "id"));
    json_decref(nodes);
    return rc;
}
