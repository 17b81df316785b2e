/* slotmove.c: the `move` step of a resharding (reshard.c): one range of
 * slots from shard A to shard B through the nodes' slot migration
 * (docs/cluster.md, "Node commands"), over the controller's direct RESP
 * link to the primaries. Its phase is persisted in slot_moves:
 *   pending    a memory check, then CLUSTER IMPORT to B's primary
 *   importing  CLUSTER MIGRATIONS polled (progress into the row); once the
 *              lag is small, IMPORT-FINISH. Its +OK is the hand-off: the
 *              slots change shards in the transaction that marks the step
 *              done, and the topology steps after it publish them
 *   restart    the controller restarted while importing: done if B took
 *              the slots already, else IMPORT-CANCEL and pending again
 * Another operation on A or B (a failover, a replacement), or a primary
 * other than the one the import began with, cancels the import; it begins
 * again once that operation is over. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctl.h"
#include "failover.h"
#include "log.h"
#include "ops_internal.h"
#include "resp.h"
#include "slots.h"
#include "store.h"

#define MOVE_PROBE_MS 1000          /* one command to a node */
#define MOVE_FINISH_MS 5000         /* IMPORT-FINISH waits for the hand-off (the node's own limit is 2000 ms) */
#define MOVE_POLL_MS 200            /* CLUSTER MIGRATIONS at most this often */
#define MOVE_FINISH_LAG 65536       /* IMPORT-FINISH once the import lags by fewer bytes */
#define MOVE_ATTEMPTS_MAX 5         /* imports that fail this often fail the operation */
#define MOVE_SILENT_MS 10000        /* B's primary silent this long: the import is cancelled */
#define MOVE_MEMORY_PCT 90          /* B's primary must stay under this share of its maxmemory */
#define MOVE_KEEPALIVE_MS 5000      /* progress pushes the step's deadline this often */

struct move {
    json_t *row;                    /* the slot_moves row */
    char src_primary[96], dst_primary[96]; /* the shards' primaries now ("" when none) */
};

struct migration {
    char state[16], error[160];
    long long keys, bytes, lag_bytes;
};

enum { NODE_OK = 0, NODE_UNKNOWN_COMMAND = 1, NODE_ERROR = -1 };

static int primary_of(sqlite3 *db, const char *cluster, const char *shard, char *out, size_t len)
{
    json_t *p = db_row(db, "SELECT id FROM nodes WHERE cluster = ? AND shard = ? AND role = 'primary'"
                           " AND status != 'deleting'", "ss", cluster, shard);
    snprintf(out, len, "%s", p ? row_str(p, "id") : "");
    json_decref(p);
    return p ? 0 : -1;
}

static int load_move(sqlite3 *db, const struct step *s, struct move *m)
{
    memset(m, 0, sizeof(*m));
    m->row = db_row(db, "SELECT * FROM slot_moves WHERE op = ? AND seq = ?", "sI", s->op, s->seq);
    if (m->row == NULL) return -1;
    primary_of(db, s->cluster, row_str(m->row, "src"), m->src_primary, sizeof(m->src_primary));
    primary_of(db, s->cluster, row_str(m->row, "dst"), m->dst_primary, sizeof(m->dst_primary));
    return 0;
}

/* The step may not touch the nodes now: a shard has no primary, or another
 * operation (a failover, a replacement) works on A or B. Says why. */
static int blocked(sqlite3 *db, struct step *s, const struct move *m)
{
    const char *src = row_str(m->row, "src"), *dst = row_str(m->row, "dst");
    json_t *op = db_row(db, "SELECT kind, shard FROM operations WHERE cluster = ? AND id != ? AND shard IN (?, ?)"
                            " AND status IN ('pending', 'running')", "ssss", s->cluster, s->op, src, dst);
    if (op) snprintf(s->error, sizeof(s->error), "waiting for the %s of shard %s", row_str(op, "kind"),
                     row_str(op, "shard"));
    else if (!m->src_primary[0] || !m->dst_primary[0])
        snprintf(s->error, sizeof(s->error), "shard %s has no primary", m->src_primary[0] ? dst : src);
    json_decref(op);
    return op != NULL || !m->src_primary[0] || !m->dst_primary[0];
}

/* A step that makes progress (or waits on another operation) pushes its
 * deadline on, at most every MOVE_KEEPALIVE_MS; inside the step's transaction. */
static void keep_alive(sqlite3 *db, struct step *s)
{
    long long now = wall_ms();
    if (now - s->started_ms < MOVE_KEEPALIVE_MS || ops_step_tx(db, s) != 0) return;
    s->started_ms = now;
    db_run(db, "UPDATE op_steps SET started_ms = ? WHERE op = ? AND seq = ?", "IsI", now, s->op, s->seq);
}

/* Sends one command; NODE_OK on a status reply, NODE_UNKNOWN_COMMAND when
 * the node does not know it, else NODE_ERROR; err holds the reply or why. */
static int node_ok(sqlite3 *db, const char *node, int timeout_ms, int argc, const char **argv, char *err, size_t len)
{
    struct resp_reply *r = node_command(db, node, timeout_ms, argc, argv);
    int rc = r && r->type == RESP_STATUS ? NODE_OK : NODE_ERROR;
    snprintf(err, len, "%s", r == NULL ? "no answer" : r->str ? r->str : "an unexpected reply");
    if (r && r->type == RESP_ERROR) {
        char low[64];
        size_t i;
        for (i = 0; i + 1 < sizeof(low) && r->str[i]; i++) low[i] = (char)tolower((unsigned char)r->str[i]);
        low[i] = '\0';
        if (strstr(low, "unknown subcommand") || strstr(low, "unknown command")) rc = NODE_UNKNOWN_COMMAND;
    }
    resp_reply_free(r);
    return rc;
}

static long long info_number(sqlite3 *db, const char *node, const char *field)
{
    const char *argv[] = {"INFO", "memory"};
    struct resp_reply *r = node_command(db, node, MOVE_PROBE_MS, 2, argv);
    long long v = -1;
    if (r == NULL || r->type != RESP_BULK || resp_info_ll(r->str, field, &v) != 0) v = -1;
    resp_reply_free(r);
    return v;
}

/* B's primary can take the slots' share of A's memory and stay under
 * MOVE_MEMORY_PCT of its maxmemory; 1 yes, 0 no (error set), -1 unknown. */
static int memory_fits(sqlite3 *db, struct step *s, const struct move *m)
{
    long long a_used = info_number(db, m->src_primary, "used_memory");
    long long b_used = info_number(db, m->dst_primary, "used_memory");
    long long b_max = info_number(db, m->dst_primary, "maxmemory");
    json_t *sh = db_row(db, "SELECT slots FROM shards WHERE cluster = ? AND id = ?", "ss", s->cluster,
                        row_str(m->row, "src"));
    int a_slots = sh ? slots_count(row_str(sh, "slots")) : -1;
    json_decref(sh);
    if (a_used < 0 || b_used < 0 || b_max < 0 || a_slots <= 0) {
        snprintf(s->error, sizeof(s->error), "cannot read the memory of %s or %s", m->src_primary, m->dst_primary);
        return -1;
    }
    long long brings = a_used / a_slots * row_int(m->row, "slot_count");
    if (b_max == 0 || (b_used + brings) * 100 <= b_max * MOVE_MEMORY_PCT) return 1;
    snprintf(s->error, sizeof(s->error),
             "shard %s cannot take the slots: its primary %s uses %lld of %lld bytes and they bring about %lld",
             row_str(m->row, "dst"), m->dst_primary, b_used, b_max, brings);
    return 0;
}

static enum step_result record_start(sqlite3 *db, struct step *s, const struct move *m, const char *id)
{
    if (ops_step_tx(db, s) != 0) return STEP_WAIT; /* B imports; a cancel on restart cleans up */
    db_run(db,
           "UPDATE slot_moves SET phase = 'importing', migration = ?, src_primary = ?, dst_primary = ?,"
           " attempts = attempts + 1, keys = 0, bytes = 0, lag_bytes = 0, bytes_per_s = 0, state = 'connecting',"
           " polled_ms = ? WHERE op = ? AND seq = ?",
           "sssIsI", id, m->src_primary, m->dst_primary, wall_ms(), s->op, s->seq);
    char msg[300];
    snprintf(msg, sizeof(msg), "moving %lld slot(s) (%.120s) from shard %s to shard %s (migration %s)",
             row_int(m->row, "slot_count"), row_str(m->row, "slots"), row_str(m->row, "src"), row_str(m->row, "dst"), id);
    store_event(db, s->cluster, m->dst_primary, "slot_move_started", msg);
    s->started_ms = 0; /* keep_alive writes a fresh deadline */
    keep_alive(db, s);
    return STEP_WAIT;
}

static enum step_result start_import(sqlite3 *db, struct step *s, const struct move *m)
{
    if (blocked(db, s, m)) { keep_alive(db, s); return STEP_WAIT; }
    int fits = memory_fits(db, s, m);
    if (fits <= 0) return fits == 0 ? STEP_FAIL : STEP_WAIT;
    json_t *a = db_row(db, "SELECT h.address, n.port FROM nodes n JOIN hosts h ON h.id = n.host WHERE n.id = ?", "s",
                       m->src_primary);
    if (a == NULL || row_int(a, "port") <= 0) {
        json_decref(a);
        snprintf(s->error, sizeof(s->error), "%s has no address yet", m->src_primary);
        return STEP_WAIT;
    }
    char id[96], port[16], err[200];
    snprintf(id, sizeof(id), "%s-%lld-%lld", s->op, s->seq, row_int(m->row, "attempts") + 1);
    snprintf(port, sizeof(port), "%lld", row_int(a, "port"));
    const char *argv[] = {"CLUSTER", "IMPORT", id, row_str(a, "address"), port, row_str(m->row, "slots")};
    int rc = node_ok(db, m->dst_primary, MOVE_PROBE_MS, 6, argv, err, sizeof(err));
    json_decref(a);
    /* "already importing" this very id: an earlier IMPORT's reply was lost */
    if (rc == NODE_OK || strstr(err, "is already importing")) return record_start(db, s, m, id);
    snprintf(s->error, sizeof(s->error),
             rc == NODE_UNKNOWN_COMMAND
                 ? "%.60s (primary of shard %.8s) does not know CLUSTER IMPORT: its cachenode has no slot migration (%.80s)"
                 : "CLUSTER IMPORT on %.60s (primary of shard %.8s): %.100s",
             m->dst_primary, row_str(m->row, "dst"), err);
    return rc == NODE_UNKNOWN_COMMAND ? STEP_FAIL : STEP_WAIT;
}

/* ---- progress ---------------------------------------------------------------- */

static const struct resp_reply *map_get(const struct resp_reply *map, const char *key)
{
    if (map == NULL || map->type != RESP_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < map->count; i += 2)
        if (map->elements[i]->str && strcmp(map->elements[i]->str, key) == 0) return map->elements[i + 1];
    return NULL;
}

static long long map_int(const struct resp_reply *map, const char *key)
{
    const struct resp_reply *v = map_get(map, key);
    if (v == NULL) return 0;
    return v->type == RESP_INTEGER ? v->integer : v->str ? strtoll(v->str, NULL, 10) : 0;
}

static void map_str(const struct resp_reply *map, const char *key, char *out, size_t len)
{
    const struct resp_reply *v = map_get(map, key);
    snprintf(out, len, "%s", v && v->str ? v->str : "");
}

/* B's view of migration id: 0 found, 1 not there, -1 no answer. */
static int read_migration(sqlite3 *db, const char *node, const char *id, struct migration *out)
{
    const char *argv[] = {"CLUSTER", "MIGRATIONS"};
    struct resp_reply *r = node_command(db, node, MOVE_PROBE_MS, 2, argv);
    int rc = r && r->type == RESP_ARRAY ? 1 : -1;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; rc == 1 && i < r->count; i++) {
        const struct resp_reply *e = r->elements[i], *mid = map_get(e, "id");
        if (mid == NULL || mid->str == NULL || strcmp(mid->str, id) != 0) continue;
        map_str(e, "state", out->state, sizeof(out->state));
        map_str(e, "error", out->error, sizeof(out->error));
        out->keys = map_int(e, "keys");
        out->bytes = map_int(e, "bytes");
        out->lag_bytes = map_int(e, "lag_bytes");
        rc = 0;
    }
    resp_reply_free(r);
    return rc;
}

static void record_progress(sqlite3 *db, struct step *s, const struct move *m, const struct migration *g)
{
    long long now = wall_ms(), then = row_int(m->row, "polled_ms"), before = row_int(m->row, "bytes");
    long long rate = now > then && g->bytes >= before ? (g->bytes - before) * 1000 / (now - then) : 0;
    if (g->bytes != before || g->keys != row_int(m->row, "keys") || strcmp(g->state, row_str(m->row, "state")) != 0)
        keep_alive(db, s);
    if (ops_step_tx(db, s) != 0) return;
    db_run(db, "UPDATE slot_moves SET keys = ?, bytes = ?, lag_bytes = ?, bytes_per_s = ?, state = ?, polled_ms = ?"
               " WHERE op = ? AND seq = ?", "IIIIsIsI", g->keys, g->bytes, g->lag_bytes, rate, g->state, now, s->op, s->seq);
}

/* ---- hand-off, cancel ---------------------------------------------------------- */

/* The slots leave src's text and join dst's (slots already in dst stay). */
static int shift_slots(sqlite3 *db, const char *cluster, const json_t *row)
{
    unsigned char *a = calloc(SLOTS_COUNT, 1), *b = calloc(SLOTS_COUNT, 1), *mv = calloc(SLOTS_COUNT, 1);
    char *ta = malloc(SLOTS_TEXT_MAX), *tb = malloc(SLOTS_TEXT_MAX);
    json_t *sa = db_row(db, "SELECT slots FROM shards WHERE cluster = ? AND id = ?", "ss", cluster, row_str(row, "src"));
    json_t *sb = db_row(db, "SELECT slots FROM shards WHERE cluster = ? AND id = ?", "ss", cluster, row_str(row, "dst"));
    int rc = a && b && mv && ta && tb && sa && sb && slots_parse(row_str(sa, "slots"), a) == 0 &&
                     slots_parse(row_str(sb, "slots"), b) == 0 && slots_parse(row_str(row, "slots"), mv) == 0
                 ? 0 : -1;
    for (int i = 0; rc == 0 && i < SLOTS_COUNT; i++) {
        if (!mv[i]) continue;
        a[i] = 0;
        b[i] = 1;
    }
    rc = rc || slots_format(a, ta, SLOTS_TEXT_MAX) || slots_format(b, tb, SLOTS_TEXT_MAX) ||
         db_run(db, "UPDATE shards SET slots = ? WHERE cluster = ? AND id = ?", "sss", ta, cluster, row_str(row, "src")) ||
         db_run(db, "UPDATE shards SET slots = ? WHERE cluster = ? AND id = ?", "sss", tb, cluster, row_str(row, "dst"));
    free(a), free(b), free(mv), free(ta), free(tb);
    json_decref(sa);
    json_decref(sb);
    return rc ? -1 : 0;
}

static enum step_result hand_off(sqlite3 *db, struct step *s, const struct move *m, const struct migration *g)
{
    if (ops_step_tx(db, s) != 0) return STEP_WAIT;
    if (shift_slots(db, s->cluster, m->row) != 0 ||
        db_run(db, "UPDATE slot_moves SET phase = 'done', state = 'done', keys = ?, bytes = ?, lag_bytes = 0,"
                   " done_ms = ? WHERE op = ? AND seq = ?", "IIIsI", g->keys, g->bytes, wall_ms(), s->op, s->seq) != 0) {
        snprintf(s->error, sizeof(s->error), "cannot store the hand-off");
        return STEP_WAIT; /* rolled back; B answers "done" when asked again */
    }
    char msg[300];
    snprintf(msg, sizeof(msg), "%lld slot(s) (%.120s) moved from shard %s to shard %s: %lld key(s), %lld byte(s)",
             row_int(m->row, "slot_count"), row_str(m->row, "slots"), row_str(m->row, "src"), row_str(m->row, "dst"),
             g->keys, g->bytes);
    store_event(db, s->cluster, m->dst_primary, "slots_moved", msg);
    return STEP_DONE;
}

/* IMPORT-CANCEL (best effort: a node that restarted forgot the import) on
 * the primary the import began on and on B's primary now. */
static void send_import_cancel(sqlite3 *db, const struct move *m)
{
    const char *argv[] = {"CLUSTER", "IMPORT-CANCEL", row_str(m->row, "migration")};
    char err[200];
    const char *began = row_str(m->row, "dst_primary");
    if (began[0]) node_ok(db, began, MOVE_PROBE_MS, 3, argv, err, sizeof(err));
    if (m->dst_primary[0] && strcmp(m->dst_primary, began) != 0)
        node_ok(db, m->dst_primary, MOVE_PROBE_MS, 3, argv, err, sizeof(err));
}

/* The import is cancelled and the move pending again. */
static enum step_result cancel_import(sqlite3 *db, struct step *s, const struct move *m, const char *why)
{
    const char *began = row_str(m->row, "dst_primary");
    struct migration g;
    /* B may have taken the slots already (IMPORT-FINISH's reply lost):
     * then the move is done and only the publish is left */
    if (began[0] && read_migration(db, began, row_str(m->row, "migration"), &g) == 0 && strcmp(g.state, "done") == 0)
        return hand_off(db, s, m, &g);
    send_import_cancel(db, m);
    if (ops_step_tx(db, s) != 0) return STEP_WAIT;
    db_run(db, "UPDATE slot_moves SET phase = 'pending', state = 'cancelled' WHERE op = ? AND seq = ?", "sI", s->op,
           s->seq);
    char msg[300];
    snprintf(msg, sizeof(msg), "move of shard %s's slots to shard %s cancelled (%.200s); it starts again",
             row_str(m->row, "src"), row_str(m->row, "dst"), why);
    store_event(db, s->cluster, NULL, "slot_move_cancelled", msg);
    snprintf(s->error, sizeof(s->error), "%.250s", msg);
    return STEP_WAIT;
}

/* The import cannot hand off: started again, a few times. */
static enum step_result restart_or_fail(sqlite3 *db, struct step *s, const struct move *m, const char *why)
{
    if (row_int(m->row, "attempts") < MOVE_ATTEMPTS_MAX) return cancel_import(db, s, m, why);
    snprintf(s->error, sizeof(s->error), "%.200s; %d attempts failed", why, MOVE_ATTEMPTS_MAX);
    return STEP_FAIL;
}

static enum step_result import_failed(sqlite3 *db, struct step *s, const struct move *m, const struct migration *g)
{
    char why[200];
    snprintf(why, sizeof(why), "the import on %s is %s%s%.120s", row_str(m->row, "dst_primary"),
             g->state[0] ? g->state : "gone", g->error[0] ? ": " : "", g->error);
    return restart_or_fail(db, s, m, why);
}

/* Every IMPORT-FINISH that fails has paused the slots' writes on the source
 * for up to the node's 2 s: after FINISH_TRIES_MAX of them the import starts
 * over (a failed attempt) instead of pausing the clients again and again.
 * Counted in memory, per import (its id names the attempt); a restarted
 * controller restarts the import anyway. */
#define FINISH_TRIES_MAX 3
#define FINISH_TRACKED 16

static int count_finish_failure(const char *migration)
{
    static struct {
        char id[128];
        int fails;
    } tracked[FINISH_TRACKED];
    static int next;
    int i = 0;
    while (i < FINISH_TRACKED && strcmp(tracked[i].id, migration) != 0) i++;
    if (i == FINISH_TRACKED) {
        i = next;
        next = (next + 1) % FINISH_TRACKED;
        snprintf(tracked[i].id, sizeof(tracked[i].id), "%s", migration);
        tracked[i].fails = 0;
    }
    return ++tracked[i].fails;
}

static enum step_result poll_import(sqlite3 *db, struct step *s, const struct move *m)
{
    const char *id = row_str(m->row, "migration");
    if (blocked(db, s, m)) return cancel_import(db, s, m, s->error);
    if (strcmp(m->src_primary, row_str(m->row, "src_primary")) != 0 ||
        strcmp(m->dst_primary, row_str(m->row, "dst_primary")) != 0)
        return cancel_import(db, s, m, "a primary changed");
    if (wall_ms() - row_int(m->row, "polled_ms") < MOVE_POLL_MS) return STEP_WAIT;
    struct migration g;
    int rc = read_migration(db, m->dst_primary, id, &g);
    if (rc < 0) {
        snprintf(s->error, sizeof(s->error), "%s does not answer CLUSTER MIGRATIONS", m->dst_primary);
        return wall_ms() - row_int(m->row, "polled_ms") > MOVE_SILENT_MS ? cancel_import(db, s, m, s->error) : STEP_WAIT;
    }
    if (rc == 1 || strcmp(g.state, "failed") == 0 || strcmp(g.state, "cancelled") == 0) return import_failed(db, s, m, &g);
    record_progress(db, s, m, &g);
    if (strcmp(g.state, "done") == 0) return hand_off(db, s, m, &g);
    if (strcmp(g.state, "streaming") != 0 || g.lag_bytes > MOVE_FINISH_LAG) {
        snprintf(s->error, sizeof(s->error), "importing: %s, %lld key(s), %lld byte(s), lag %lld", g.state, g.keys,
                 g.bytes, g.lag_bytes);
        return STEP_WAIT;
    }
    const char *argv[] = {"CLUSTER", "IMPORT-FINISH", id};
    char err[200];
    if (node_ok(db, m->dst_primary, MOVE_FINISH_MS, 3, argv, err, sizeof(err)) == NODE_OK) return hand_off(db, s, m, &g);
    int fails = count_finish_failure(id);
    char why[256];
    snprintf(why, sizeof(why), "IMPORT-FINISH on %.60s failed %d time(s): %.100s", m->dst_primary, fails, err);
    if (fails >= FINISH_TRIES_MAX) return restart_or_fail(db, s, m, why);
    snprintf(s->error, sizeof(s->error), "%s", why);
    return STEP_WAIT;
}

/* The controller restarted while B imported: B may have taken the slots
 * (then only the publish is left), else the import starts again. */
static enum step_result resume_import(sqlite3 *db, struct step *s, const struct move *m)
{
    struct migration g;
    const char *began = row_str(m->row, "dst_primary");
    if (read_migration(db, began, row_str(m->row, "migration"), &g) == 0 && strcmp(g.state, "done") == 0)
        return hand_off(db, s, m, &g);
    return cancel_import(db, s, m, "the controller restarted during the import");
}

enum step_result slotmove_step(struct ctl *c, sqlite3 *db, struct step *s)
{
    (void)c;
    struct move m;
    if (load_move(db, s, &m) != 0) {
        snprintf(s->error, sizeof(s->error), "the move's row is gone");
        return STEP_FAIL;
    }
    const char *phase = row_str(m.row, "phase");
    enum step_result r;
    if (strcmp(phase, "done") == 0) r = ops_step_tx(db, s) == 0 ? STEP_DONE : STEP_WAIT;
    else if (strcmp(phase, "restart") == 0) r = resume_import(db, s, &m);
    else if (strcmp(phase, "importing") == 0) r = poll_import(db, s, &m);
    else r = start_import(db, s, &m);
    json_decref(m.row);
    return r;
}

void slotmove_abandon(sqlite3 *db, struct step *s)
{
    struct move m;
    if (load_move(db, s, &m) != 0) return;
    if (strcmp(row_str(m.row, "phase"), "done") != 0) send_import_cancel(db, &m);
    json_decref(m.row);
}

void reshard_resume(sqlite3 *db)
{
    if (db_run(db, "UPDATE slot_moves SET phase = 'restart' WHERE phase = 'importing'", "") != 0)
        log_msg(LOG_WARNING, "cannot mark the interrupted slot moves for a restart");
}
