/* store.h: the controller's SQLite state: opening (WAL, busy timeout,
 * foreign keys), the versioned schema, small binding helpers, and the
 * queries whose results the API returns as JSON. */
#ifndef CF_CTL_STORE_H
#define CF_CTL_STORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

#define STORE_SCHEMA_VERSION 8
#define STORE_BUSY_TIMEOUT_MS 5000

/* Opens (creating) the database and brings its schema to the current
 * version, each migration in one transaction. NULL with err on failure. */
sqlite3 *store_open(const char *path, char *err, size_t errlen);
void store_close(sqlite3 *db);
int store_migrate(sqlite3 *db, char *err, size_t errlen);
/* Brings the schema up to version target only (tests build old databases). */
int store_migrate_to(sqlite3 *db, int target, char *err, size_t errlen);
int store_user_version(sqlite3 *db);

/* Transactions: BEGIN IMMEDIATE takes the write lock up front, so two
 * writers wait on the busy timeout instead of failing to upgrade. */
int db_begin(sqlite3 *db);
int db_commit(sqlite3 *db);
void db_rollback(sqlite3 *db);

/* Binding formats, one letter per '?': 's' string, 'z' string or NULL,
 * 'd' int, 'I' long long. */
int db_run(sqlite3 *db, const char *sql, const char *fmt, ...);
/* All rows as an array of objects keyed by column name; NULL on error. */
json_t *db_rows(sqlite3 *db, const char *sql, const char *fmt, ...);
/* The first row, or NULL when there is none (or on error). */
json_t *db_row(sqlite3 *db, const char *sql, const char *fmt, ...);
/* The first column of the first row; dflt when none. */
long long db_int(sqlite3 *db, long long dflt, const char *sql, const char *fmt, ...);

/* Convenience getters on row objects. */
const char *row_str(const json_t *row, const char *col);
long long row_int(const json_t *row, const char *col);

/* Events: what happened, newest last. */
int store_event(sqlite3 *db, const char *cluster, const char *node, const char *type, const char *message);

/* API views. */
json_t *store_cluster_json(sqlite3 *db, const char *name);      /* NULL: no such cluster */
/* {"clusters": [...]}: each as by store_cluster_json, or when summary only
 * its own fields and node_total (no nodes, shards or endpoints). */
json_t *store_clusters_json(sqlite3 *db, int summary);
/* An engine with discovery: {"cluster","version","nodes":["host|ip|port",...],
 * "config": what `config get cluster` serves}; NULL: no such cluster, or
 * its engine has no discovery list. */
json_t *store_discovery_json(sqlite3 *db, const char *name);
json_t *store_operation_json(sqlite3 *db, const char *id);      /* NULL: none */
/* {"operations": [...]}, newest first: a cluster's (NULL: all), only the
 * pending and running ones if running_only, at most limit. */
json_t *store_operations_json(sqlite3 *db, const char *cluster, int running_only, int limit);
/* {"hosts": [...]}: each with node_total and, unless summary, its nodes. */
json_t *store_hosts_json(sqlite3 *db, long long now_ms, long long timeout_ms, int summary);
json_t *store_events_json(sqlite3 *db, const char *cluster, long long since, int limit);

#endif
