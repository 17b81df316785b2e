/* store.c: the controller's SQLite state (see store.h): the schema and its
 * migrations (PRAGMA user_version counts the ones applied), binding
 * helpers, and the read queries behind the API's JSON views. Secrets
 * (clusters.auth_token) are read only in ops.c, to send a node its spec and
 * to AUTH to a replica; no view here selects them. */
#include "store.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "engine_caps.h"
#include "log.h"
#include "textbuf.h"

/* Migration N brings the schema from version N-1 to N. Append only: a
 * shipped migration never changes. Tables are shaped for cluster mode,
 * several shards and memcached, which come later. */
static const char *const migrations[] = {
    /* 1: the first schema */
    "CREATE TABLE clusters("
    "  name TEXT PRIMARY KEY, engine TEXT NOT NULL, cluster_mode INTEGER NOT NULL,"
    "  shards INTEGER NOT NULL, replicas INTEGER NOT NULL, node_memory_mb INTEGER NOT NULL,"
    "  eviction_policy TEXT NOT NULL, auth_token TEXT, status TEXT NOT NULL,"
    "  next_node INTEGER NOT NULL DEFAULT 1, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE TABLE shards("
    "  cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE, id TEXT NOT NULL,"
    "  slot_first INTEGER NOT NULL, slot_last INTEGER NOT NULL, PRIMARY KEY(cluster, id));"
    "CREATE TABLE hosts("
    "  id TEXT PRIMARY KEY, az TEXT NOT NULL, address TEXT NOT NULL, agent_url TEXT NOT NULL,"
    "  memory_mb INTEGER NOT NULL, memory_used_mb INTEGER NOT NULL DEFAULT 0,"
    "  port_first INTEGER, port_last INTEGER, registered_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL);"
    "CREATE TABLE nodes("
    "  id TEXT PRIMARY KEY, cluster TEXT NOT NULL, shard TEXT NOT NULL, role TEXT NOT NULL,"
    "  host TEXT NOT NULL REFERENCES hosts(id), port INTEGER NOT NULL DEFAULT 0,"
    "  memory_mb INTEGER NOT NULL, generation INTEGER NOT NULL, status TEXT NOT NULL,"
    "  obs_health TEXT, obs_role TEXT, obs_link TEXT, obs_offset INTEGER, obs_pid INTEGER, obs_ms INTEGER,"
    "  created_ms INTEGER NOT NULL,"
    "  FOREIGN KEY(cluster, shard) REFERENCES shards(cluster, id) ON DELETE CASCADE);"
    "CREATE INDEX nodes_by_host ON nodes(host);"
    "CREATE INDEX nodes_by_cluster ON nodes(cluster, shard);"
    /* operations outlive their cluster (history): no foreign key */
    "CREATE TABLE operations("
    "  id TEXT PRIMARY KEY, cluster TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,"
    "  error TEXT, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE INDEX operations_active ON operations(status);"
    "CREATE TABLE op_steps("
    "  op TEXT NOT NULL REFERENCES operations(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
    "  action TEXT NOT NULL, node TEXT, status TEXT NOT NULL DEFAULT 'pending',"
    "  started_ms INTEGER, attempts INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(op, seq));"
    "CREATE TABLE events("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL, cluster TEXT, node TEXT,"
    "  type TEXT NOT NULL, message TEXT NOT NULL);"
    "CREATE INDEX events_by_cluster ON events(cluster, id);"
    "CREATE TABLE idempotency("
    "  key TEXT NOT NULL, route TEXT NOT NULL, request TEXT NOT NULL, status INTEGER NOT NULL,"
    "  response TEXT NOT NULL, created_ms INTEGER NOT NULL, PRIMARY KEY(key, route));",
    /* 2: failover: the generation each agent last reported for a node (so
     * the controller re-sends a newer spec to a node that missed it), and
     * one row per failover (cause, outcome, time to recover) */
    "ALTER TABLE nodes ADD COLUMN obs_generation INTEGER;"
    "CREATE TABLE failovers("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, cluster TEXT NOT NULL, shard TEXT NOT NULL, op TEXT,"
    "  cause TEXT NOT NULL, outcome TEXT NOT NULL, old_primary TEXT, new_primary TEXT,"
    "  started_ms INTEGER NOT NULL, recovered_ms INTEGER);"
    "CREATE INDEX failovers_by_op ON failovers(op);",
    /* 3: nodes given up on while their host was unreachable, so that they
     * are stopped when the host comes back (reconcile.c) */
    "CREATE TABLE abandoned_nodes("
    "  id TEXT PRIMARY KEY, host TEXT NOT NULL, cluster TEXT, abandoned_ms INTEGER NOT NULL,"
    "  tried_ms INTEGER NOT NULL DEFAULT 0);",
    /* 4: the newest agent event stored per host, so that a batch the agent
     * sends again (its heartbeat failed after we stored it) is not stored twice */
    "ALTER TABLE hosts ADD COLUMN events_seq INTEGER NOT NULL DEFAULT 0;",
    /* 5: cluster mode. A shard's slots become text ranges ("0-5460,5462",
     * slots.h), so that a shard can own any set of slots; the cluster keeps
     * the topology its nodes were last sent and its epoch; an operation may
     * belong to one shard (failover, self-healing), so that shards change
     * independently; nodes report the topology epoch they run. */
    "ALTER TABLE shards ADD COLUMN slots TEXT NOT NULL DEFAULT '-';"
    "UPDATE shards SET slots = CASE WHEN slot_first = slot_last THEN CAST(slot_first AS TEXT)"
    "  ELSE CAST(slot_first AS TEXT) || '-' || CAST(slot_last AS TEXT) END;"
    "ALTER TABLE shards DROP COLUMN slot_first;"
    "ALTER TABLE shards DROP COLUMN slot_last;"
    "ALTER TABLE clusters ADD COLUMN topology_epoch INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE clusters ADD COLUMN topology TEXT;"
    "ALTER TABLE operations ADD COLUMN shard TEXT;"
    "ALTER TABLE nodes ADD COLUMN obs_topology_epoch INTEGER;",
    /* 6: online resharding. A step may name a shard instead of a node
     * (arg); each slot move of an operation keeps its phase and progress,
     * so that a restarted controller resumes it (reshard.c). */
    "ALTER TABLE op_steps ADD COLUMN arg TEXT;"
    "CREATE TABLE slot_moves("
    "  op TEXT NOT NULL, seq INTEGER NOT NULL, cluster TEXT NOT NULL, src TEXT NOT NULL, dst TEXT NOT NULL,"
    "  slots TEXT NOT NULL, slot_count INTEGER NOT NULL, phase TEXT NOT NULL DEFAULT 'pending',"
    "  migration TEXT, src_primary TEXT, dst_primary TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
    "  keys INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0, lag_bytes INTEGER NOT NULL DEFAULT 0,"
    "  bytes_per_s INTEGER NOT NULL DEFAULT 0, state TEXT, polled_ms INTEGER, done_ms INTEGER,"
    "  PRIMARY KEY(op, seq), FOREIGN KEY(op, seq) REFERENCES op_steps(op, seq) ON DELETE CASCADE);"
    "CREATE INDEX slot_moves_by_cluster ON slot_moves(cluster);",
    /* 7: memcached clusters. The number of nodes asked for (a memcached
     * cluster has no shards or replicas for its users); the discovery list
     * its nodes serve (JSON array of "host|ip|port") and its version; what
     * the agents see of each node: the list version it serves, its memory
     * and its operations per second. */
    "ALTER TABLE clusters ADD COLUMN node_count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE clusters ADD COLUMN discovery_version INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE clusters ADD COLUMN discovery TEXT;"
    "ALTER TABLE nodes ADD COLUMN obs_discovery_version INTEGER;"
    "ALTER TABLE nodes ADD COLUMN obs_used_memory INTEGER;"
    "ALTER TABLE nodes ADD COLUMN obs_ops_per_sec INTEGER;",
    /* 8: the failover pass (failover.c) runs 20 times a second and first
     * asks whether any node is failed or has a newer spec than it runs; these
     * answer without reading every node of the fleet (the second holds only
     * the nodes behind their spec, none most of the time). */
    "CREATE INDEX nodes_by_status ON nodes(status);"
    "CREATE INDEX nodes_behind_spec ON nodes(id) WHERE obs_generation < generation;",
};
#define MIGRATIONS (int)(sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION, "STORE_SCHEMA_VERSION is the last migration");

static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
    if (err) snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

int store_user_version(sqlite3 *db) { return (int)db_int(db, -1, "PRAGMA user_version", ""); }

int store_migrate(sqlite3 *db, char *err, size_t errlen) { return store_migrate_to(db, MIGRATIONS, err, errlen); }

int store_migrate_to(sqlite3 *db, int target, char *err, size_t errlen)
{
    int version = store_user_version(db);
    if (version < 0) { snprintf(err, errlen, "cannot read the schema version"); return -1; }
    if (version > MIGRATIONS || target > MIGRATIONS) {
        snprintf(err, errlen, "the database has schema %d; this controller knows up to %d", version, MIGRATIONS);
        return -1;
    }
    for (int v = version; v < target; v++) {
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
        if (db_begin(db) != 0) { snprintf(err, errlen, "cannot begin: %s", sqlite3_errmsg(db)); return -1; }
        if (exec(db, migrations[v], err, errlen) != 0 || exec(db, pragma, err, errlen) != 0) {
            db_rollback(db);
            return -1;
        }
        if (db_commit(db) != 0) { snprintf(err, errlen, "cannot commit: %s", sqlite3_errmsg(db)); return -1; }
        log_msg(LOG_NOTICE, "database schema migrated to version %d", v + 1);
    }
    return 0;
}

/* ---- prepared statements, kept per connection ---------------------------
 *
 * Preparing a statement costs more than running most of ours (a heartbeat
 * runs two per node, the failover pass several 20 times a second), so each
 * connection store_open made keeps the statements it ran, keyed by their
 * SQL text (hash, then the full text: a caller may build its SQL in a
 * buffer). A statement is reset and its bindings cleared after each use, so
 * that it holds no read snapshot open. A connection is meant for one thread,
 * but one in use by two at once stays correct: a cached statement already
 * in use (flag `busy`) is not handed out again; its caller gets a fresh one,
 * finalized after use, as for a connection without a cache or a full one. */

#define STMT_SLOTS 256      /* per connection; more distinct statements than we run */
#define STMT_PROBES 16      /* open addressing: slots looked at before giving up */
#define STMT_CONNECTIONS 16 /* connections with a cache at once (the controller opens three) */

struct stmt_slot {
    sqlite3_stmt *st;
    unsigned hash;
    int busy;
};

struct stmt_cache {
    sqlite3 *db; /* NULL: a free entry */
    struct stmt_slot slot[STMT_SLOTS];
};

/* The guard of every cache's entries and busy flags; held for a lookup, never
 * while a statement runs. */
static pthread_mutex_t stmt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stmt_cache stmt_caches[STMT_CONNECTIONS];

static unsigned sql_hash(const char *sql)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *sql; sql++) h = (h ^ (unsigned char)*sql) * 16777619u;
    return h;
}

static struct stmt_cache *cache_of(sqlite3 *db)
{
    for (int i = 0; i < STMT_CONNECTIONS; i++)
        if (stmt_caches[i].db == db) return &stmt_caches[i];
    return NULL;
}

/* Gives db a cache; without a free entry it works uncached, as before. */
static void cache_attach(sqlite3 *db)
{
    pthread_mutex_lock(&stmt_lock);
    struct stmt_cache *c = cache_of(NULL);
    if (c) c->db = db;
    pthread_mutex_unlock(&stmt_lock);
    if (c == NULL) log_msg(LOG_WARNING, "more than %d database connections: this one prepares every statement", STMT_CONNECTIONS);
}

/* Finalizes db's cached statements and frees its entry. */
static void cache_detach(sqlite3 *db)
{
    pthread_mutex_lock(&stmt_lock);
    struct stmt_cache *c = cache_of(db);
    for (int i = 0; c && i < STMT_SLOTS; i++) {
        if (c->slot[i].busy) log_msg(LOG_WARNING, "a statement is still running while its connection closes");
        sqlite3_finalize(c->slot[i].st);
    }
    if (c) memset(c, 0, sizeof(*c));
    pthread_mutex_unlock(&stmt_lock);
}

/* db's cached statement for sql, marked busy; a new one, cached if a slot
 * is free; NULL when there is none to take (*slot NULL) or it cannot be
 * prepared. *slot: the slot to release it to, NULL for an uncached one. */
static sqlite3_stmt *stmt_take(sqlite3 *db, const char *sql, struct stmt_slot **slot)
{
    *slot = NULL;
    unsigned hash = sql_hash(sql);
    pthread_mutex_lock(&stmt_lock);
    struct stmt_cache *c = cache_of(db);
    struct stmt_slot *free_slot = NULL;
    for (int i = 0; c && i < STMT_PROBES; i++) {
        struct stmt_slot *s = &c->slot[(hash + (unsigned)i) % STMT_SLOTS];
        if (s->st == NULL) { /* nothing is ever removed: the probe ends at the first empty slot */
            if (!s->busy) free_slot = s; /* else another caller is preparing into it */
            break;
        }
        if (s->hash == hash && strcmp(sqlite3_sql(s->st), sql) == 0) {
            if (s->busy) break; /* in use by another caller: an uncached copy */
            s->busy = 1;
            *slot = s;
            pthread_mutex_unlock(&stmt_lock);
            return s->st;
        }
    }
    if (free_slot) free_slot->busy = 1; /* reserved while it is prepared outside the lock */
    pthread_mutex_unlock(&stmt_lock);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) log_msg(LOG_WARNING, "sql prepare failed: %s", sqlite3_errmsg(db));
    if (free_slot && rc == SQLITE_OK) {
        pthread_mutex_lock(&stmt_lock);
        free_slot->st = st;
        free_slot->hash = hash;
        pthread_mutex_unlock(&stmt_lock);
        *slot = free_slot;
    } else if (free_slot) {
        pthread_mutex_lock(&stmt_lock);
        free_slot->busy = 0;
        pthread_mutex_unlock(&stmt_lock);
    }
    return rc == SQLITE_OK ? st : NULL;
}

/* Ends a use of st: a cached one is reset (no open read snapshot) and
 * unbound for its next caller, an uncached one finalized. */
static void stmt_release(sqlite3_stmt *st, struct stmt_slot *slot)
{
    if (slot == NULL) { sqlite3_finalize(st); return; }
    /* reset's result repeats the step's error, which the caller has seen */
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    pthread_mutex_lock(&stmt_lock);
    slot->busy = 0;
    pthread_mutex_unlock(&stmt_lock);
}

/* engine_can(engine, capability) in SQL: queries pick nodes by what their
 * engine can do (engine_caps.h), never by its name. NULL for an unknown one. */
static void sql_engine_can(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int v = engine_can((const char *)sqlite3_value_text(argv[0]), (const char *)sqlite3_value_text(argv[1]));
    if (v < 0) sqlite3_result_null(ctx);
    else sqlite3_result_int(ctx, v);
}

sqlite3 *store_open(const char *path, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    /* Each thread opens its own connection; FULLMUTEX still serialises a
     * connection that two threads ever touch, instead of corrupting it. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    char wal[16] = "";
    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    if (sqlite3_create_function(db, "engine_can", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_engine_can, NULL,
                                NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot register engine_can: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        snprintf(wal, sizeof(wal), "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (strcmp(wal, "wal") != 0 || exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL", err, errlen) != 0 ||
        store_migrate(db, err, errlen) != 0) {
        if (strcmp(wal, "wal") != 0) snprintf(err, errlen, "%s: cannot switch to WAL mode", path);
        sqlite3_close(db);
        return NULL;
    }
    cache_attach(db); /* after the migrations: their statements run once */
    return db;
}

void store_close(sqlite3 *db)
{
    if (db == NULL) return;
    cache_detach(db);
    if (sqlite3_close(db) != SQLITE_OK) log_msg(LOG_WARNING, "database close: %s", sqlite3_errmsg(db));
}

int db_begin(sqlite3 *db) { return exec(db, "BEGIN IMMEDIATE", NULL, 0); }
int db_commit(sqlite3 *db) { return exec(db, "COMMIT", NULL, 0); }
void db_rollback(sqlite3 *db) { exec(db, "ROLLBACK", NULL, 0); }

/* Takes sql's statement (stmt_take) and binds the arguments described by fmt. */
static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, struct stmt_slot **slot, const char *fmt, va_list ap)
{
    sqlite3_stmt *st = stmt_take(db, sql, slot);
    if (st == NULL) return NULL;
    int rc = SQLITE_OK;
    for (int i = 1; fmt[i - 1] && rc == SQLITE_OK; i++) {
        const char *s;
        switch (fmt[i - 1]) {
        case 's': rc = sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT); break;
        case 'z':
            s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
            break;
        case 'd': rc = sqlite3_bind_int(st, i, va_arg(ap, int)); break;
        case 'I': rc = sqlite3_bind_int64(st, i, va_arg(ap, long long)); break;
        default: rc = SQLITE_MISUSE;
        }
    }
    if (rc != SQLITE_OK) {
        log_msg(LOG_WARNING, "sql bind failed: %s", sqlite3_errstr(rc));
        stmt_release(st, *slot);
        return NULL;
    }
    return st;
}

int db_run(sqlite3 *db, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct stmt_slot *slot;
    sqlite3_stmt *st = prepare(db, sql, &slot, fmt, ap);
    va_end(ap);
    if (st == NULL) return -1;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) log_msg(LOG_WARNING, "sql failed: %s", sqlite3_errmsg(db));
    stmt_release(st, slot);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static json_t *column_json(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT: return json_real(sqlite3_column_double(st, i));
    case SQLITE_NULL: return json_null();
    default: return json_string((const char *)sqlite3_column_text(st, i));
    }
}

static json_t *rows_v(sqlite3 *db, int limit, const char *sql, const char *fmt, va_list ap)
{
    struct stmt_slot *slot;
    sqlite3_stmt *st = prepare(db, sql, &slot, fmt, ap);
    if (st == NULL) return NULL;
    json_t *rows = json_array();
    int rc = SQLITE_DONE;
    while (rows && (limit <= 0 || (int)json_array_size(rows) < limit) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_object();
        for (int i = 0; row && i < sqlite3_column_count(st); i++)
            json_object_set_new(row, sqlite3_column_name(st, i), column_json(st, i));
        json_array_append_new(rows, row);
    }
    if (rows && (limit <= 0 || (int)json_array_size(rows) < limit) && rc != SQLITE_DONE) {
        log_msg(LOG_WARNING, "sql query failed: %s", sqlite3_errmsg(db));
        json_decref(rows);
        rows = NULL;
    }
    stmt_release(st, slot);
    return rows;
}

json_t *db_rows(sqlite3 *db, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *rows = rows_v(db, 0, sql, fmt, ap);
    va_end(ap);
    return rows;
}

json_t *db_row(sqlite3 *db, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *rows = rows_v(db, 1, sql, fmt, ap);
    va_end(ap);
    json_t *row = json_array_get(rows, 0);
    json_incref(row);
    json_decref(rows);
    return row;
}

long long db_int(sqlite3 *db, long long dflt, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct stmt_slot *slot;
    sqlite3_stmt *st = prepare(db, sql, &slot, fmt, ap);
    va_end(ap);
    if (st == NULL) return dflt;
    long long v = dflt;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) v = sqlite3_column_int64(st, 0);
    stmt_release(st, slot);
    return v;
}

const char *row_str(const json_t *row, const char *col)
{
    const char *s = json_string_value(json_object_get(row, col));
    return s ? s : "";
}

long long row_int(const json_t *row, const char *col) { return json_integer_value(json_object_get(row, col)); }

int store_event(sqlite3 *db, const char *cluster, const char *node, const char *type, const char *message)
{
    return db_run(db, "INSERT INTO events(time_ms, cluster, node, type, message) VALUES(?,?,?,?,?)", "Izzss",
                  now_ms(), cluster, node, type, message);
}

/* ---- views ------------------------------------------------------------- */

/* A cluster's view, from one cluster or from all of them at once (the
 * list: three queries for the whole fleet rather than three per cluster,
 * since the dashboard reads it every second). The node and shard columns
 * come first, then "cluster" for the list to split them by. */
#define NODE_COLUMNS                                                                                           \
    "SELECT n.id, n.shard, n.role, n.host, h.az, h.address, n.port, n.status, n.memory_mb,"                  \
    " n.generation, n.obs_health AS health, n.obs_pid AS pid, n.obs_topology_epoch AS topology_epoch,"        \
    " n.obs_used_memory AS used_memory, n.obs_ops_per_sec AS ops_per_sec,"                                    \
    " n.obs_discovery_version AS discovery_version, n.cluster FROM nodes n JOIN hosts h ON h.id = n.host"
#define NODE_ORDER " ORDER BY n.shard, n.role, n.id"
#define SHARD_COLUMNS "SELECT id, slots, cluster FROM shards"
#define CLUSTER_FIELDS                                                                                         \
    "SELECT name, engine, status, cluster_mode,"                                                            \
    " CASE WHEN engine_can(engine, 'shards') THEN shards ELSE 0 END AS shard_count, replicas, node_memory_mb,"\
    " eviction_policy, auth_token IS NOT NULL AS auth_token_enabled, topology_epoch, created_ms, updated_ms,"  \
    " engine_can(engine, 'shards') AS has_shards, node_count"
#define CLUSTER_COLUMNS CLUSTER_FIELDS " FROM clusters"
#define CLUSTER_COLUMNS_SUMMARY                                                                                \
    CLUSTER_FIELDS ", discovery_version, (SELECT count(*) FROM nodes WHERE cluster = clusters.name) AS node_total" \
    " FROM clusters"

/* The rows of rows (ordered by their column key) from *i on whose key is
 * value, without that column; *i moves past them. */
static json_t *take_rows(json_t *rows, size_t *i, const char *key, const char *value)
{
    json_t *out = json_array(), *r;
    while ((r = json_array_get(rows, *i)) != NULL && strcmp(row_str(r, key), value) < 0) (*i)++;
    for (; (r = json_array_get(rows, *i)) != NULL && strcmp(row_str(r, key), value) == 0; (*i)++) {
        json_object_del(r, key);
        json_array_append(out, r);
    }
    return out;
}

static json_t *cluster_nodes(sqlite3 *db, const char *name)
{
    json_t *rows = db_rows(db, NODE_COLUMNS " WHERE n.cluster = ?" NODE_ORDER, "s", name);
    size_t i = 0;
    json_t *nodes = rows ? take_rows(rows, &i, "cluster", name) : NULL;
    json_decref(rows);
    return nodes;
}

static json_t *endpoint(const json_t *node)
{
    char buf[320];
    snprintf(buf, sizeof(buf), "%s:%lld", row_str(node, "address"), row_int(node, "port"));
    return json_string(buf);
}

/* One shard's primary and replicas from the node list; appends the
 * endpoints of those with a port to primaries and readers. */
static void shard_members(json_t *shard, const json_t *nodes, json_t *primaries, json_t *readers)
{
    size_t j;
    json_t *node, *replicas = json_array();
    json_object_set_new(shard, "primary", json_null());
    json_array_foreach(nodes, j, node) {
        if (strcmp(row_str(node, "shard"), row_str(shard, "id")) != 0) continue;
        int primary = strcmp(row_str(node, "role"), "primary") == 0;
        if (primary) json_object_set(shard, "primary", json_object_get(node, "id"));
        else json_array_append(replicas, json_object_get(node, "id"));
        if (row_int(node, "port") > 0) json_array_append_new(primary ? primaries : readers, endpoint(node));
    }
    json_object_set_new(shard, "replicas", replicas);
}

/* shards[] (id, slots as text ranges, primary, replicas) and endpoints from
 * the node list: cluster mode gives the configuration endpoints (every
 * primary; a cluster client finds the rest), otherwise the primary and the
 * readers. */
static void add_topology(json_t *cluster, json_t *shards, json_t *nodes)
{
    json_t *primaries = json_array(), *readers = json_array();
    size_t i;
    json_t *shard;
    json_array_foreach(shards, i, shard) shard_members(shard, nodes, primaries, readers);
    json_object_set_new(cluster, "shards", shards ? shards : json_array());
    json_t *endpoints;
    if (json_is_true(json_object_get(cluster, "cluster_mode"))) {
        endpoints = json_pack("{s:o}", "configuration", primaries);
        json_decref(readers);
    } else {
        json_t *first = json_array_get(primaries, 0);
        endpoints = json_pack("{s:O,s:o}", "primary", first ? first : json_null(), "reader", readers);
        json_decref(primaries);
    }
    json_object_set_new(cluster, "endpoints", endpoints);
}

json_t *store_discovery_json(sqlite3 *db, const char *name)
{
    json_t *row = db_row(db, "SELECT discovery_version AS version, coalesce(discovery, '[]') AS list FROM clusters"
                             " WHERE name = ? AND engine_can(engine, 'discovery')", "s", name);
    if (row == NULL) return NULL;
    json_t *list = json_loads(row_str(row, "list"), 0, NULL);
    if (!json_is_array(list)) { json_decref(list); list = json_array(); }
    /* memcached's own words too: what `config get cluster` serves */
    struct textbuf t;
    char *config = NULL;
    if (textbuf_init(&t, 256) == 0) {
        size_t i;
        json_t *e;
        textbuf_printf(&t, "%lld\n", row_int(row, "version"));
        json_array_foreach(list, i, e) textbuf_printf(&t, "%s%s", i ? " " : "", json_string_value(e));
        textbuf_printf(&t, "\n");
        config = textbuf_finish(&t);
    }
    json_t *out = json_pack("{s:s,s:I,s:o,s:s?}", "cluster", name, "version", (json_int_t)row_int(row, "version"),
                            "nodes", list, "config", config);
    free(config);
    json_decref(row);
    return out;
}

/* An engine without shards (memcached) shows its nodes only, and its
 * configuration endpoints: every listed node answers `config get cluster`. */
static void add_node_list(sqlite3 *db, json_t *cluster, const char *name)
{
    json_t *d = store_discovery_json(db, name);
    json_t *config = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(d, "nodes"), i, e) {
        const char *s = json_string_value(e), *ip = strchr(s, '|'), *port = ip ? strchr(ip + 1, '|') : NULL;
        if (port == NULL) continue;
        char buf[320];
        snprintf(buf, sizeof(buf), "%.*s:%s", (int)(port - ip - 1), ip + 1, port + 1);
        json_array_append_new(config, json_string(buf));
    }
    json_object_set_new(cluster, "shards", json_array());
    json_object_set_new(cluster, "discovery_version", json_incref(json_object_get(d, "version")));
    char url[96];
    snprintf(url, sizeof(url), "/v1/clusters/%s/discovery", name);
    json_object_set_new(cluster, "endpoints", json_pack("{s:o,s:s}", "configuration", config, "discovery", url));
    json_decref(d);
}

/* Completes a cluster's row (CLUSTER_COLUMNS) with its nodes and shards
 * (both taken; shards unused for an engine without them). */
static void finish_cluster(sqlite3 *db, json_t *c, json_t *nodes, json_t *shards)
{
    json_object_set_new(c, "cluster_mode", json_boolean(row_int(c, "cluster_mode")));
    json_object_set_new(c, "auth_token_enabled", json_boolean(row_int(c, "auth_token_enabled")));
    int has_shards = row_int(c, "has_shards") != 0;
    json_object_del(c, "has_shards");
    if (has_shards) json_object_del(c, "node_count");
    if (has_shards) add_topology(c, shards ? shards : json_array(), nodes);
    else add_node_list(db, c, row_str(c, "name"));
    if (!has_shards) json_decref(shards);
    json_object_set_new(c, "nodes", nodes ? nodes : json_array());
}

json_t *store_cluster_json(sqlite3 *db, const char *name)
{
    json_t *c = db_row(db, CLUSTER_COLUMNS " WHERE name = ?", "s", name);
    if (c == NULL) return NULL;
    json_t *shards = db_rows(db, SHARD_COLUMNS " WHERE cluster = ? ORDER BY id", "s", name);
    size_t i = 0;
    json_t *own = shards ? take_rows(shards, &i, "cluster", name) : NULL;
    json_decref(shards);
    finish_cluster(db, c, cluster_nodes(db, name), own);
    return c;
}

/* The summary view: the cluster's own fields and node_total, how many
 * nodes it has now (what a fleet overview counts without the node list). */
static json_t *clusters_summary_json(sqlite3 *db)
{
    json_t *clusters = db_rows(db, CLUSTER_COLUMNS_SUMMARY " ORDER BY name", "");
    size_t i;
    json_t *c;
    json_array_foreach(clusters, i, c) {
        json_object_set_new(c, "cluster_mode", json_boolean(row_int(c, "cluster_mode")));
        json_object_set_new(c, "auth_token_enabled", json_boolean(row_int(c, "auth_token_enabled")));
        if (row_int(c, "has_shards")) { /* as in the full view: these are memcached's */
            json_object_del(c, "node_count");
            json_object_del(c, "discovery_version");
        }
        json_object_del(c, "has_shards");
    }
    return json_pack("{s:o}", "clusters", clusters ? clusters : json_array());
}

json_t *store_clusters_json(sqlite3 *db, int summary)
{
    if (summary) return clusters_summary_json(db);
    json_t *clusters = db_rows(db, CLUSTER_COLUMNS " ORDER BY name", "");
    json_t *nodes = db_rows(db, NODE_COLUMNS " ORDER BY n.cluster, n.shard, n.role, n.id", "");
    json_t *shards = db_rows(db, SHARD_COLUMNS " ORDER BY cluster, id", "");
    json_t *list = json_array();
    size_t i, at_node = 0, at_shard = 0;
    json_t *c;
    json_array_foreach(clusters, i, c) {
        const char *name = row_str(c, "name");
        finish_cluster(db, c, nodes ? take_rows(nodes, &at_node, "cluster", name) : NULL,
                       shards ? take_rows(shards, &at_shard, "cluster", name) : NULL);
        json_array_append(list, c);
    }
    json_decref(clusters);
    json_decref(nodes);
    json_decref(shards);
    return json_pack("{s:o}", "clusters", list);
}

/* A resharding's slot moves: how many, slots and keys moved, the import
 * rate, and the move under way; NULL for an operation without moves. */
static json_t *moves_json(sqlite3 *db, const char *id)
{
    json_t *sum = db_row(db,
                         "SELECT count(*) AS total, coalesce(sum(phase = 'done'), 0) AS done,"
                         " coalesce(sum(slot_count), 0) AS slots_total,"
                         " coalesce(sum(CASE WHEN phase = 'done' THEN slot_count ELSE 0 END), 0) AS slots_moved,"
                         " coalesce(sum(keys), 0) AS keys_moved,"
                         " coalesce(sum(CASE WHEN phase = 'importing' THEN bytes_per_s ELSE 0 END), 0) AS bytes_per_second"
                         " FROM slot_moves WHERE op = ?", "s", id);
    if (sum == NULL || row_int(sum, "total") == 0) { json_decref(sum); return NULL; }
    json_t *now = db_row(db, "SELECT src AS \"from\", dst AS \"to\", slots, slot_count, phase, state, attempts, keys,"
                             " bytes, lag_bytes, bytes_per_s FROM slot_moves WHERE op = ? AND phase != 'done' ORDER BY seq",
                         "s", id);
    json_object_set_new(sum, "current", now ? now : json_null());
    return sum;
}

json_t *store_operation_json(sqlite3 *db, const char *id)
{
    json_t *op = db_row(db, "SELECT id, cluster, shard, kind, status, error, created_ms, updated_ms FROM operations"
                            " WHERE id = ?", "s", id);
    if (op == NULL) return NULL;
    long long total = db_int(db, 0, "SELECT count(*) FROM op_steps WHERE op = ?", "s", id);
    long long done = db_int(db, 0, "SELECT count(*) FROM op_steps WHERE op = ? AND status = 'done'", "s", id);
    json_object_set_new(op, "progress", json_integer(total ? done * 100 / total : 100));
    json_object_set_new(op, "steps_done", json_integer(done));
    json_object_set_new(op, "steps_total", json_integer(total));
    json_t *step = db_row(db, "SELECT seq, action, node FROM op_steps WHERE op = ? AND status != 'done' ORDER BY seq",
                          "s", id);
    json_object_set_new(op, "current_step", step ? step : json_null());
    json_t *moves = moves_json(db, id);
    if (moves) json_object_set_new(op, "moves", moves);
    return op;
}

json_t *store_operations_json(sqlite3 *db, const char *cluster, int running_only, int limit)
{
    json_t *ids = db_rows(db,
                          "SELECT id FROM operations WHERE (? IS NULL OR cluster = ?)"
                          " AND (? = 0 OR status IN ('pending', 'running')) ORDER BY created_ms DESC, id LIMIT ?",
                          "zzdd", cluster, cluster, running_only, limit);
    json_t *ops = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(ids, i, r) {
        json_t *op = store_operation_json(db, row_str(r, "id"));
        if (op) json_array_append_new(ops, op);
    }
    json_decref(ids);
    return json_pack("{s:o}", "operations", ops);
}

json_t *store_hosts_json(sqlite3 *db, long long now, long long timeout_ms, int summary)
{
    json_t *hosts = db_rows(db,
                            "SELECT id, az, address, agent_url, memory_mb, memory_used_mb, last_seen_ms,"
                            " CASE WHEN ? - last_seen_ms <= ? THEN 'up' ELSE 'down' END AS status,"
                            " (SELECT coalesce(sum(memory_mb), 0) FROM nodes WHERE host = hosts.id) AS memory_reserved_mb,"
                            " (SELECT count(*) FROM nodes WHERE host = hosts.id) AS node_total"
                            " FROM hosts ORDER BY id",
                            "II", now, timeout_ms);
    json_t *nodes = summary ? NULL
                            : db_rows(db, "SELECT host, id, cluster, shard, role, port, status, memory_mb FROM nodes"
                                          " ORDER BY host, id", "");
    size_t i, at = 0;
    json_t *h;
    json_array_foreach(hosts, i, h) {
        if (!summary) json_object_set_new(h, "nodes", nodes ? take_rows(nodes, &at, "host", row_str(h, "id")) : json_array());
    }
    json_decref(nodes);
    return json_pack("{s:o}", "hosts", hosts ? hosts : json_array());
}

json_t *store_events_json(sqlite3 *db, const char *cluster, long long since, int limit)
{
    /* the newest `limit` after `since`, returned oldest first */
    json_t *ev = db_rows(db,
                         "SELECT * FROM (SELECT id, time_ms AS time, cluster, node, type, message FROM events"
                         " WHERE id > ? AND (? IS NULL OR cluster = ?) ORDER BY id DESC LIMIT ?) ORDER BY id",
                         "Izzd", since, cluster, cluster, limit);
    return json_pack("{s:o}", "events", ev ? ev : json_array());
}
