/* server.h: what every command module needs: the client, the command table
 * entry, the server's state, the reply functions and keyspace lookups with
 * expiry. Modules own their commands; this header owns the shared shapes. */
#ifndef CN_SERVER_H
#define CN_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "alloc.h"
#include "keyspace.h"
#include "util.h"

#define CN_VERSION "7.0.15" /* the Redis version whose behaviour we follow */
#define CACHEFLEET_VERSION "0.1.0"
#define DB_COUNT 16
#define PROTO_IOBUF_LEN (16 * 1024)
#define PROTO_REPLY_CHUNK (16 * 1024)
#define PROTO_INLINE_MAX (64 * 1024)
#define PROTO_MBULK_BIG_ARG (32 * 1024)

/* ---- arguments ---------------------------------------------------------- */

/* A command argument: bytes in the client's query buffer, valid until the
 * command returns. Not NUL-terminated. */
typedef struct arg {
    const char *p;
    size_t len;
} arg;

/* ---- clients ------------------------------------------------------------ */

#define CLIENT_CLOSE_AFTER_REPLY (1 << 0)
#define CLIENT_CLOSE_ASAP (1 << 1)
#define CLIENT_PENDING_WRITE (1 << 2)
#define CLIENT_AUTHENTICATED (1 << 3)
#define CLIENT_NO_EVICT (1 << 4)
#define CLIENT_PROTECTED (1 << 5) /* do not free: a command is running on it */
#define CLIENT_REPLICA (1 << 6)   /* a replica attached to us */
#define CLIENT_MASTER (1 << 7)    /* our link to the primary we replicate */
#define CLIENT_BLOCKED (1 << 8)   /* waiting (WAIT); input is not processed */
#define CLIENT_MULTI (1 << 9)     /* inside MULTI: commands are queued */
#define CLIENT_DIRTY_CAS (1 << 10)  /* a watched key changed: EXEC fails */
#define CLIENT_DIRTY_EXEC (1 << 11) /* a command was refused while queuing: EXEC aborts */
#define CLIENT_DENY_BLOCKING (1 << 12) /* inside EXEC or a script: blocking commands time out at once */
#define CLIENT_PUBSUB (1 << 13)   /* subscribed to a channel or pattern (RESP2 subscribed mode) */
#define CLIENT_SCRIPT (1 << 14)   /* the client a script's redis.call runs on */
#define CLIENT_MONITOR (1 << 15)  /* MONITOR: sees every command */
#define CLIENT_TRACKING (1 << 16) /* CLIENT TRACKING on */
#define CLIENT_TRACKING_BCAST (1 << 17)
#define CLIENT_TRACKING_OPTIN (1 << 18)
#define CLIENT_TRACKING_OPTOUT (1 << 19)
#define CLIENT_TRACKING_CACHING (1 << 20) /* CLIENT CACHING yes|no given for the next command */
#define CLIENT_TRACKING_NOLOOP (1 << 21)
#define CLIENT_TRACKING_BROKEN_REDIR (1 << 22)
#define CLIENT_READONLY (1 << 23) /* cluster mode: READONLY, reads served on a replica */
#define CLIENT_ASKING (1 << 24)   /* cluster mode: ASKING */
#define CLIENT_IMPORT (1 << 25)   /* cluster mode: our link to a slot move's source */
#define CLIENT_MIGRATE_PAUSED (1 << 26) /* a write waiting for a slot hand-off to end */

enum reply_mode { REPLY_ON = 0, REPLY_OFF, REPLY_SKIP_NEXT, REPLY_SKIP };

/* Output is a list of byte blocks; a file block (full resynchronisation)
 * sends a "$<size>\r\n" header and then a file with sendfile(2). The
 * writer stops at a file block until it is ready. */
enum reply_block_kind { BLOCK_BYTES = 0, BLOCK_FILE };

struct reply_block {
    struct reply_block *next;
    size_t size, used;
    enum reply_block_kind kind;
    int file_fd;           /* BLOCK_FILE: -1 until ready */
    long long file_off, file_size;
    char header[32];
    size_t header_len, header_sent;
    char buf[];
};

typedef struct client {
    uint64_t id;
    int fd;
    int resp; /* 2 or 3 */
    int flags;
    int dbid;
    db *db;
    enum reply_mode reply_mode;

    /* input */
    char *querybuf;
    size_t qb_len, qb_cap, qb_pos, qb_peak;
    size_t req_start; /* where the request being parsed begins */
    int reqtype; /* 0 unknown, '*' multibulk, 'i' inline */
    long multibulk_left;
    long bulk_len; /* -1 when not inside a bulk */
    int argc, argv_cap;
    arg *argv;

    /* output: buf first, then the block list */
    char *buf;
    size_t bufpos, sentlen;
    struct reply_block *reply_head, *reply_tail;
    size_t reply_bytes;
    long long obuf_soft_since_ms;

    /* identity and bookkeeping */
    char *name, *lib_name, *lib_ver;
    char addr[64], laddr[64];
    time_t ctime;
    long long last_interaction_ms;
    const struct command *cmd, *last_cmd;
    long long commands_processed;
    struct replica_state *repl;       /* CLIENT_REPLICA only */
    struct multi_state *mstate;       /* MULTI: the queued commands (multi.c) */
    struct watched_key *watched;      /* WATCH: the keys it watches (multi.c) */
    size_t nwatched;
    long long wait_offset;            /* WAIT: the offset to be acknowledged */
    long wait_replicas;
    long long block_deadline_ms;      /* 0: no timeout */
    struct key_block *kblock;         /* blocked on keys: blocking.c's state */
    struct pubsub_state *pubsub;      /* channels and patterns subscribed (pubsub.c) */
    struct tracking_state *tracking;  /* CLIENT TRACKING's options (tracking.c) */
    struct client *prev, *next;       /* all clients */
    struct client *pending_next;      /* clients with replies to write */
} client;

/* ---- commands ----------------------------------------------------------- */

#define CMD_WRITE (1u << 0)
#define CMD_READONLY (1u << 1)
#define CMD_DENYOOM (1u << 2)
#define CMD_ADMIN (1u << 3)
#define CMD_PUBSUB (1u << 4)
#define CMD_NOSCRIPT (1u << 5)
#define CMD_BLOCKING (1u << 6)
#define CMD_LOADING (1u << 7)
#define CMD_STALE (1u << 8)
#define CMD_SKIP_MONITOR (1u << 9)
#define CMD_SKIP_SLOWLOG (1u << 10)
#define CMD_FAST (1u << 11)
#define CMD_NO_AUTH (1u << 12)
#define CMD_MAY_REPLICATE (1u << 13)
#define CMD_NO_MULTI (1u << 14)
#define CMD_MOVABLE_KEYS (1u << 15)
#define CMD_ALLOW_BUSY (1u << 16)
#define CMD_NO_ASYNC_LOADING (1u << 17)
#define CMD_NO_MANDATORY_KEYS (1u << 18) /* EVAL, FCALL: numkeys may be 0 */

/* ACL categories, in the order Redis lists them. A table entry names those
 * its flags do not imply: flags give @read, @write, @admin and @dangerous,
 * @fast or @slow, and @blocking. */
#define ACL_KEYSPACE (1u << 0)
#define ACL_READ (1u << 1)
#define ACL_WRITE (1u << 2)
#define ACL_STRING (1u << 3)
#define ACL_ADMIN (1u << 4)
#define ACL_FAST (1u << 5)
#define ACL_SLOW (1u << 6)
#define ACL_BLOCKING (1u << 7)
#define ACL_DANGEROUS (1u << 8)
#define ACL_CONNECTION (1u << 9)
#define ACL_SET (1u << 10)
#define ACL_SORTEDSET (1u << 11)
#define ACL_LIST (1u << 12)
#define ACL_HASH (1u << 13)
#define ACL_TRANSACTION (1u << 14)
#define ACL_PUBSUB (1u << 15)
#define ACL_SCRIPTING (1u << 16)
#define ACL_STREAM (1u << 17)
#define ACL_BITMAP (1u << 18)
#define ACL_HYPERLOGLOG (1u << 19)
#define ACL_GEO (1u << 20)

typedef void (*command_proc)(client *c);

/* One command running (command_call): nested for EXEC's queued commands
 * and a script's calls. */
struct call_frame {
    struct call_frame *parent;
    int propagated; /* it propagated something of its own, or nothing at all */
};

struct command {
    const char *name;  /* lower case */
    command_proc proc;
    int arity;         /* > 0 exact, < 0 at least -arity */
    uint32_t flags;
    uint32_t acl;      /* ACL_* categories beyond those the flags imply */
    int first_key, last_key, key_step; /* as COMMAND INFO reports them */
    /* Redis's key specifications, ';'-separated, or NULL. A spec is its flags
     * (RW RO OW RM access update insert delete variable_flags ...), then
     * "@N" if it covers the one key at argument N (else the key positions
     * above), "@N~LAST,STEP,LIMIT" for a range from N, "@N#KEYNUMIDX,
     * FIRSTKEY,STEP" for keys counted by an argument (ZUNIONSTORE), or
     * "@?" for keys that depend on the arguments' contents (SORT's BY), or
     * "@=WORD,START" (optionally followed by "~LAST,STEP,LIMIT") for keys
     * that follow a keyword searched from argument START (from the end if
     * negative; XREAD's STREAMS, GEORADIUS's STORE), then an optional note
     * in parentheses. */
    const char *key_specs;
    const char *tips;  /* Redis's command tips, space-separated, or NULL */
    const char *group;   /* "string", "keyspace", "server", "connection", ... */
    const char *summary;
    const char *since;
    const char *complexity; /* NULL: none documented (internal commands) */
    struct command *subcommands; /* NULL-name terminated, or NULL */
    /* statistics (INFO commandstats) */
    long long calls, usec, rejected_calls, failed_calls;
};

/* Each module exposes its table, terminated by an entry with a NULL name. */
extern struct command string_commands[];
extern struct command keyspace_commands[];
extern struct command expire_commands[];
extern struct command connection_commands[];
extern struct command server_commands[];
extern struct command persistence_commands[];
extern struct command replication_commands[];
extern struct command hash_commands[];    /* t_hash.c */
extern struct command list_commands[];    /* t_list.c */
extern struct command set_commands[];     /* t_set.c */
extern struct command zset_commands[];    /* t_zset.c */
extern struct command dump_commands[];    /* cmd_dump.c */
extern struct command sort_commands[];    /* cmd_sort.c */
extern struct command multi_commands[];   /* multi.c */
extern struct command stream_commands[];  /* t_stream.c */
extern struct command stream_cg_commands[]; /* t_stream_cg_cmd.c */
extern struct command pubsub_commands[];  /* pubsub.c */
extern struct command script_commands[];  /* eval.c */
extern struct command function_commands[]; /* function.c */

struct command *command_lookup(const char *name, size_t len);
/* The subcommand of a container command named by name, or NULL. */
struct command *command_find_subcommand(struct command *parent, const arg *name);
/* Every top-level command, for COMMAND and INFO; NULL-terminated array. */
struct command **command_all(void);
void commands_init(void);
/* Runs a parsed command on the client: lookup, checks, execution, stats. */
void command_execute(client *c);
/* Runs a command that passed the checks (command_execute, a blocked
 * command run again): execution, propagation, statistics. `start` is the
 * start time in microseconds. */
void command_call(client *c, struct command *cmd, long long start);

/* ---- server state ------------------------------------------------------- */

enum maxmemory_policy {
    MAXMEMORY_NOEVICTION = 0,
    MAXMEMORY_ALLKEYS_LRU,
    MAXMEMORY_ALLKEYS_LFU,
    MAXMEMORY_ALLKEYS_RANDOM,
    MAXMEMORY_VOLATILE_LRU,
    MAXMEMORY_VOLATILE_LFU,
    MAXMEMORY_VOLATILE_RANDOM,
    MAXMEMORY_VOLATILE_TTL,
};

enum { PROTOCOL_RESP = 0, PROTOCOL_MEMCACHED };

struct server {
    /* configuration (see config.c for names and defaults) */
    char *config_file;
    int port;
    char *bind;
    char *requirepass, *masterauth;
    long long maxmemory;
    int maxmemory_policy;
    int maxmemory_samples;
    int lfu_log_factor, lfu_decay_time;
    char *dir, *dbfilename, *logfile;
    int loglevel;
    int hz;
    int busy_poll_us; /* the event loop's longest poll before it sleeps */
    char *node_id;
    int protocol_mode; /* PROTOCOL_*: resp, or the memcached engine (mc.h) */
    int mc_threads;             /* memcached mode: worker threads */
    long long mc_max_item_size; /* memcached mode: largest item, as memcached's -I */
    char *mc_discovery_file;    /* memcached mode: the Auto Discovery list (mc_discovery.c) */
    int cluster_enabled; /* cluster mode (cluster.c), immutable */
    char *cluster_config_file; /* the topology, in dir unless absolute */
    char *replicaof;
    int maxclients;
    int timeout;
    int tcp_keepalive;
    int tcp_backlog;
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    long long obuf_hard_limit, obuf_soft_limit;
    int obuf_soft_seconds;
    long long repl_backlog_size;
    int repl_timeout;
    int repl_ping_period;
    int min_replicas_to_write, min_replicas_max_lag;
    long long obuf_replica_hard, obuf_replica_soft;
    int obuf_replica_seconds;
    long long obuf_pubsub_hard, obuf_pubsub_soft;
    int obuf_pubsub_seconds;
    long long tracking_table_max_keys;
    long long slowlog_log_slower_than;
    int slowlog_max_len;
    int active_expire_effort;
    int databases;
    /* compact encodings: a collection converts to its big encoding past
     * these (Redis's parameters, honoured with Redis's names) */
    long long hash_max_listpack_entries, hash_max_listpack_value;
    int list_max_listpack_size, list_compress_depth;
    long long set_max_intset_entries;
    long long zset_max_listpack_entries, zset_max_listpack_value;
    long long hll_sparse_max_bytes; /* a sparse HyperLogLog past this becomes dense */

    /* runtime */
    int listen_fd;
    db *dbs[DB_COUNT];
    client *clients;
    client *pending_writes;
    size_t connected_clients;
    uint64_t next_client_id;
    char run_id[41];
    pid_t pid;
    long long start_time_ms;
    long long now_ms;   /* cached per event-loop turn and per command */
    long long now_us;   /* the same reading in microseconds */
    time_t unixtime;
    uint32_t lru_clock;
    volatile int shutdown_asap;
    client *current_client;
    struct call_frame *call_frame; /* the innermost command running, or NULL */
    long long dirty; /* changes to the dataset, for propagation and INFO */

    /* statistics (INFO stats) */
    long long stat_numcommands, stat_numconnections, stat_rejected_conn;
    long long stat_expiredkeys, stat_evictedkeys, stat_evicted_clients;
    long long stat_keyspace_hits, stat_keyspace_misses;
    long long stat_net_input_bytes, stat_net_output_bytes;
    long long stat_total_error_replies, stat_unexpected_error_replies;
    long long stat_expired_stale_perc_x100, stat_expire_cycle_time_used_us;
    long long stat_peak_memory;
    long long stat_client_qbuf_limit_disconnections, stat_client_outbuf_limit_disconnections;
    /* instantaneous ops/sec: samples taken by the cron */
    long long ops_samples[16];
    int ops_sample_idx;
    long long ops_last_sample_ms, ops_last_sample_count;
};

extern struct server server;

/* ---- replies (reply.c) -------------------------------------------------- */

void reply_raw(client *c, const char *s, size_t len);
void reply_ok(client *c);
void reply_status(client *c, const char *s);
/* `msg` starts with the error code, e.g. "ERR syntax error". */
void reply_error(client *c, const char *msg);
void reply_errorf(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_bulk(client *c, const char *s, size_t len);
void reply_bulk_cstr(client *c, const char *s);
void reply_bulk_ll(client *c, long long v);
void reply_null(client *c);       /* $-1 (RESP2) or _ (RESP3) */
void reply_null_array(client *c); /* *-1 (RESP2) or _ (RESP3) */
void reply_int(client *c, long long v);
void reply_double(client *c, double v);
void reply_bool(client *c, int v);
void reply_array(client *c, long n);
void reply_map(client *c, long n);
/* An out-of-band message's header (pub/sub messages, invalidations): a
 * RESP3 push ('>') or, in RESP2, an array. */
void reply_push_len(client *c, long n);
void reply_set(client *c, long n);
void reply_verbatim(client *c, const char *s, size_t len, const char *ext);
void reply_entry_string(client *c, const entry *e);
/* A placeholder for an aggregate length that is known only later. */
void *reply_deferred(client *c);
void reply_set_deferred_array(client *c, void *handle, long n);
void reply_set_deferred_map(client *c, void *handle, long n);
/* Appends a file block that holds back later output until it is ready. */
struct reply_block *reply_file_placeholder(client *c);
/* Makes the block ready: it will send "$size\r\n" then the file. The block
 * takes ownership of fd. */
void reply_file_ready(client *c, struct reply_block *b, int fd, long long size);
/* Makes the block ready with nothing to send: another process (a forked
 * child) wrote its content to the socket itself. */
#define FILE_SENT_ELSEWHERE (-2)
void reply_file_sent(client *c, struct reply_block *b);
/* Writes the client's output now, as far as the socket takes it; -1 when
 * the client was freed. */
int client_write_now(client *c);
/* Called by the writer when a file block has been sent completely. */
void replication_snapshot_sent(client *c);

/* A HELP subcommand's reply: one status line per entry. */
void reply_help(client *c, const char *const *lines, size_t n);

/* Standard errors, with Redis's texts. */
void reply_syntax_error(client *c);
void reply_wrongtype(client *c);
void reply_not_integer(client *c);
void reply_not_float(client *c);
void reply_arity_error(client *c);

/* ---- lookups with expiry and statistics (db.c) --------------------------- */

/* Lookup for reading: expires the key if due, counts a hit or miss, and
 * touches its LRU/LFU data. */
entry *lookup_read(client *c, const arg *key);
/* Lookup for writing: expires the key if due; no hit/miss accounting. */
entry *lookup_write(client *c, const arg *key);
/* Typed lookups, for the commands of one type: return 1 with *out set to
 * the entry (NULL when the key is missing), or 0 after replying WRONGTYPE
 * when the key holds another type. The read form counts hits and misses. */
int lookup_read_typed(client *c, const arg *key, enum value_type type, entry **out);
int lookup_write_typed(client *c, const arg *key, enum value_type type, entry **out);
/* Lookup that neither counts nor touches (TYPE, OBJECT, TTL...). */
entry *lookup_quiet(client *c, db *d, const arg *key);
/* Deletes the key if its TTL has passed; returns 1 if it did. */
int expire_if_needed(db *d, entry *e);
/* Deletes a key the server removes on its own (expiry, eviction) and sends
 * replicas a DEL for it. The command being run is not thereby a write. */
void delete_and_propagate(db *d, entry *e);
void touch_entry(entry *e);
/* Sets or replaces a string key: keeps no TTL unless keep_ttl. */
entry *set_string(db *d, const arg *key, const char *val, size_t vlen, int keep_ttl);
/* Called by every write that changes a key (replication, WATCH later). */
void key_modified(db *d, const arg *key);
/* Whether key_modified has more to do than count a change (blocked
 * clients, WATCH, tracking), for callers that drop keys in bulk. */
int key_modified_matters(void);
/* A key qualified by its database, as indexes over all databases name it
 * (blocked clients, WATCH): the database id's byte, then the key; in buf
 * when it fits, else allocated (the caller frees it when it is not buf). */
char *db_qualified_key(int dbid, const char *key, size_t klen, char *buf, size_t size, size_t *len);
/* notify_keyspace_event (notify.h) for a key argument of the client's
 * database. */
void notify_key(client *c, int type, const char *event, const arg *key);
/* Current LRU clock (seconds, 24 bits). */
uint32_t lru_clock(void);
/* Idle time of an entry in milliseconds (LRU policies). */
unsigned long long entry_idle_ms(const entry *e);
/* LFU: logarithmic counter, decayed as of now. */
unsigned lfu_counter(const entry *e);

/* ---- arguments ------------------------------------------------------------ */

/* Parses argument `a` as a long long; replies the standard error and returns
 * 0 when it is not one. */
int arg_to_ll(client *c, const arg *a, long long *out);
int arg_to_ll_msg(client *c, const arg *a, long long *out, const char *msg);

/* ---- networking (networking.c) ------------------------------------------ */

/* A listening TCP socket (nonblocking) on the first address of bind_addr;
 * -1, logged, on failure. */
int listen_tcp(const char *bind_addr, int port, int backlog);
int server_listen(void);
void free_client(client *c);
void close_client_async(client *c);
void handle_pending_writes(void);
void clients_cron(void);
client *client_by_id(uint64_t id);
/* Formats CLIENT LIST/INFO's line for the client into buf. */
size_t client_info_line(client *c, char *buf, size_t size);
size_t client_output_bytes(const client *c);

/* ---- server (server.c) ------------------------------------------------------ */

void server_init(void);
void server_release(void);
void server_cron(void);
int select_db(client *c, long long id);
long long instantaneous_ops(void);
void update_cached_time(void);

/* ---- configuration (config.c) ----------------------------------------------- */

void config_set_defaults(void);
/* Applies a config file; returns 0, or -1 after logging the problem. */
int config_load_file(const char *path);
/* Applies `--name value ...` command-line options. */
int config_load_args(int argc, char **argv);
/* memcached mode: refuses the options it cannot honour, sets its defaults. */
int config_check_memcached(void);
/* INFO and CONFIG GET use this to render a value. */
void command_config(client *c);
void maxmemory_policy_name(int policy, char *buf, size_t size);

/* ---- eviction (evict.c) --------------------------------------------------- */

/* Frees memory per maxmemory-policy; returns 0 when under the limit after,
 * -1 when it could not get there (the caller refuses the write with OOM). */
int evict_to_fit(void);
/* ---- expiry (expire.c) ---------------------------------------------------- */

void active_expire_cycle(int fast);

/* ---- replication (replication.c) ------------------------------------------ */

/* Appends a command to the replication stream (backlog and replicas),
 * preceded by a SELECT when the database differs from the stream's. */
void replication_feed(int dbid, int argc, const arg *argv);
/* Appends raw stream bytes received from our primary (we are a replica). */
void replication_feed_proxy(const char *bytes, size_t len);
/* Propagates the deletion of a key (lazy/active expiry, eviction). */
void propagate_del(db *d, const char *key, size_t len);
/* A command propagates this instead of itself (relative TTL -> absolute,
 * SPOP -> SREM, BLPOP -> LPOP). Each call adds one command; when a
 * top-level command propagates several, replicas get them wrapped in
 * MULTI/EXEC. */
void propagate_command(client *c, int argc, const arg *argv);
int server_is_replica(void);
/* Why a command with these flags may not write now (a replica, too few
 * good replicas): the error reply's text, or NULL when it may. */
const char *replication_write_refusal(const client *c, uint32_t cmd_flags);
void replication_cron(void);
void replication_before_sleep(void);
/* The process did not run for gap_ms: a guarded primary (min-replicas-to-
 * write > 0) refuses writes until enough replicas acknowledge a GETACK sent
 * after the gap, so a frozen primary that was failed over meanwhile takes
 * no write that would be lost. */
void replication_note_stall(long long gap_ms);
/* The primary link's accounting of executed stream bytes. */
void replication_master_applied(client *c, size_t bytes);
void replication_client_freed(client *c);
/* A non-blocking TCP connection to host:port under way (TCP_NODELAY), or
 * -1 with the reason in err (empty when there is nothing worth logging). */
int net_connect_nonblock(const char *host, int port, char *err, size_t errlen);

/* ---- slot replicas (the source side of a slot move, cluster_migrate.c) ----
 * A replica-kind client that gets a forked snapshot of some slots' keys
 * (written by write_snapshot in the child), then the stream's commands to
 * those slots only; FLUSHALL/FLUSHDB reach it as CLUSTER SYNCSLOTS-CTL
 * FLUSH. It waits for the one child at a time like any replica. */
struct slot_replica_ops {
    /* in the child: the snapshot written to fd (the replica's socket), its
     * size in *bytes; 0 on success */
    int (*write_snapshot)(int fd, long long *bytes, void *priv);
    void (*snapshot_sent)(void *priv, long long size); /* the child is done; the stream follows */
    void (*online)(void *priv);                        /* right after snapshot_sent */
    void (*gone)(void *priv);                            /* detached: closed or dropped */
    void *priv;
};
#define STREAM_SLOT_NONE (-1)
#define STREAM_SLOT_FLUSH (-2)
/* Registers c (slots: a bitmap that outlives it, see slot.h). -1 after
 * replying the error when no more replicas fit. */
int replication_add_slot_replica(client *c, const unsigned char *slots, const struct slot_replica_ops *ops);
/* Appends bytes to its stream (control lines), counted in its offset. */
void replication_slot_replica_send(client *c, const char *p, size_t len);
/* The bytes sent to it from its snapshot's first on. */
long long replication_slot_replica_offset(const client *c);
/* The slot of a command of the stream (cluster.c): its keys', or
 * STREAM_SLOT_FLUSH / STREAM_SLOT_NONE (no keys, pub/sub). */
int cluster_stream_slot(int argc, const arg *argv);
/* Propagates the command the client just ran (it changed the dataset and
 * propagated nothing of its own). */
void replication_propagate(client *c, int top_level);
/* Feeds what the top-level command that just ended propagated: one command
 * as it is, several wrapped in MULTI/EXEC (command_call calls it). */
void propagate_flush(void);
/* The running command propagates nothing as itself (EXEC: its queued
 * commands propagate on their own). */
void propagate_prevent(void);
void replication_send_ack(void);
long long replication_offset(void);
/* Bytes waiting in replicas' output buffers (not counted for eviction). */
size_t replication_output_bytes(void);
/* INFO replication section, and the sync_* lines of INFO stats. */
size_t replication_info(char *buf, size_t size);
size_t replication_stats_info(char *buf, size_t size);
/* Starts replicating when --replicaof was given; needs the event loop. */
void replication_init(void);

/* ---- blocking (networking.c; on keys: blocking.c) ------------------------ */

/* Parses a blocking command's timeout (seconds, a float, 0 = forever) into
 * an absolute deadline in ms (0 = none). Replies Redis's error and returns
 * 0 when it is not a valid timeout. */
int blocking_parse_timeout(client *c, const arg *a, long long *deadline_ms);
/* Blocks the client on keys (BLPOP, BZPOPMIN, ...) until a command modifies
 * one of them or the deadline passes. The blocked command then runs again,
 * from the start, with its own copy of the arguments: it serves the client
 * or, finding nothing, calls block_for_keys again, which keeps its place in
 * the queue. Clients blocked on one key are served in arrival order. On
 * timeout the client gets a null array, or a null bulk with null_bulk. */
void block_for_keys(client *c, const arg *keys, int nkeys, long long deadline_ms, int null_bulk);
/* Runs the blocked clients whose keys became ready (after each command). */
void blocking_serve_ready(void);
/* Times out blocked clients (each event-loop turn). */
void blocking_check_timeouts(void);
/* CLIENT UNBLOCK, REPLICAOF and disconnection: ends a key-blocked client's
 * block; with an error text, replies it, else replies the timeout reply. */
void blocking_unblock(client *c, const char *error);
/* Unblocks every key-blocked client with the error (a primary became a replica). */
void blocking_unblock_all(const char *error);
/* Unblocks, with the error `refuse` writes, each key-blocked client whose
 * command `refuse` turns down now (cluster mode: its slot moved away). */
typedef int (*blocked_refusal_fn)(const client *c, const struct command *cmd, const arg *argv, int argc,
                                  char *err, size_t size);
void blocking_unblock_refused(blocked_refusal_fn refuse);
/* A key-blocked client is being freed: forget it without a reply. */
void blocking_client_freed(client *c);
int blocking_client_waits_on_keys(const client *c);
/* key_modified calls it: clients blocked on the key become ready. */
void blocking_key_modified(db *d, const arg *key);
size_t blocking_keys_count(void);

void block_client(client *c, long long deadline_ms);
/* Ends the block (the caller has replied) and resumes the client's input. */
void unblock_client(client *c);
/* Runs the pipelined requests of clients unblocked during another client's
 * command (before the event loop sleeps). */
void resume_unblocked_clients(void);
client *client_create(int fd);
void process_client_input(client *c);

/* ---- transactions (multi.c) ---------------------------------------------- */

int multi_is_exec(const struct command *cmd);
/* CLIENT LIST's multi= (-1 outside MULTI) and multi-mem= fields. */
int multi_queued_count(const client *c);
size_t multi_queued_mem(const client *c);
/* EXEC's flags are those of the commands it queued (a transaction that
 * writes is refused on a replica, one that may grow memory under OOM). */
uint32_t multi_exec_flags(const client *c, const struct command *cmd);
/* Whether the client is inside MULTI and this command is queued, not run. */
int multi_queues(const client *c, const struct command *cmd);
void multi_queue(client *c, struct command *cmd);
/* A refused EXEC: replies EXECABORT with the reason and ends the transaction. */
void multi_abort_exec(client *c, const char *err);
/* RESET and disconnection: forgets the transaction and the watched keys. */
void multi_client_reset(client *c);
/* Calls fn on the keys and shard channels of each command the client
 * queued (cluster routing of EXEC). */
void multi_queued_keys(const client *c, void (*fn)(void *priv, const arg *key), void *priv);
size_t watched_keys_count(void);
/* The key changed (a write, its expiry or eviction): watchers' EXEC fails. */
void watch_touch_key(db *d, const char *key, size_t len);
/* The database is about to be flushed: watchers of its existing keys fail. */
void watch_touch_db(db *d);

/* ---- shared odds and ends ------------------------------------------------- */

void update_new_entry_lru(void);                 /* db.c */
void db_init_hooks(void);                        /* db.c */
void config_reset_stats(void);                   /* server.c */
void set_client_name(client *c, const arg *name); /* cmd_connection.c */
int errorstats_count(void);                      /* reply.c */
const char *errorstats_at(int i, long long *count);
void errorstats_reset(void);

/* ---- additions by module: each module adds its declarations in its own
 * section below, so that parallel work never edits the same lines. ---- */

/* -- t_string.c -- */

/* Compares a command option with `word` (lower case) the way Redis's option
 * parsers do: case-insensitively, up to the argument's first NUL byte. */
int string_option_is(const arg *a, const char *word);
/* LCS lives in t_string_lcs.c; its table entry is in t_string.c. */
void lcs_command(client *c);
/* keyspace.c: replaces a string value as embstr or raw, never int. */
entry *db_set_string_value_noint(db *d, entry *e, const char *val, size_t vlen);



/* -- cmd_keys.c and expire.c -- */
/* Lookup that counts a keyspace hit or miss but leaves the LRU/LFU data
 * alone, as TYPE, EXISTS, TTL and OBJECT do. */
entry *lookup_read_notouch(client *c, const arg *key);
/* The SCAN family (SCAN, HSCAN, SSCAN, ZSCAN) reads its cursor with the
 * leniency of strtoul, as Redis does (0 when it is not a cursor), and its
 * options MATCH, COUNT and, for SCAN only, TYPE; parse_scan_options
 * replies the error and returns 0 when they are bad. */
struct scan_options {
    const arg *pattern; /* NULL: everything ("*" too) */
    const arg *type;    /* NULL: every type */
    long long count;    /* 10 unless given; at most LLONG_MAX / 10 */
};
int parse_scan_cursor(const arg *a, unsigned long *out);
int parse_scan_options(client *c, int first, int allow_type, struct scan_options *o);
/* [ "0", [] ]: the scan of a missing key. */
void reply_empty_scan(client *c);
/* "string", "list", ... as TYPE replies. */
const char *entry_type_name(const entry *e);


/* FLUSHDB/FLUSHALL ASYNC hand the old tables to the cron, which frees them
 * in steps of at most `budget_us` microseconds (server_cron calls it; 0: a
 * share of the cron period; negative: all of it now, for exit). */
void lazyfree_step(long long budget_us);
size_t lazyfree_pending_objects(void);
/* Deletes the slot's keys (cluster mode: a slot this node lost) through
 * the same queue, so the event loop never waits for a topology change
 * that drops many keys (its slots are mostly small, but together large).
 * Returns how many keys there were. */
size_t lazyfree_slot(db *d, unsigned slot);

/* Active expiry statistics: stat_expired_stale_perc_x100 holds the
 * estimated percentage of expired keys among the volatile ones, times 100
 * (1234 means 12.34%). */



/* -- cmd_server.c, info.c, cmd_client.c, slowlog.c, cmd_command.c -- */

void info_command(client *c);                        /* info.c */
/* Renders INFO's text for the client's arguments; the caller zfrees it. */
char *info_render(client *c, size_t *len);
long long server_last_save_time(void);               /* cmd_server.c */
void command_command(client *c);                     /* cmd_command.c */
extern struct command command_subcommands[];
extern struct command client_subcommands[];          /* cmd_client.c */
/* Calls fn on each key argument of the command (its key specs; channel
 * names and keys that depend on the contents excepted); returns how many,
 * 0 when a key count among the arguments is invalid. */
int command_keys(const struct command *cmd, const arg *argv, int argc, void (*fn)(void *priv, const arg *key),
                 void *priv);
/* The same with the shard channels (SPUBLISH, SSUBSCRIBE), which hash to
 * slots as keys do: what cluster routing looks at. */
int command_slot_args(const struct command *cmd, const arg *argv, int argc,
                      void (*fn)(void *priv, const arg *key), void *priv);



/* -- monitor.c, latency.c -- */

extern struct command monitor_commands[];            /* monitor.c */
extern size_t monitor_count; /* clients in MONITOR mode; 0: feeding costs one test */
/* Sends the command the client just ran to the monitors. */
void monitor_feed(client *c);
/* RESET and disconnection: the client stops monitoring. */
void monitor_remove(client *c);
extern struct command latency_commands[];            /* latency.c */
extern long long latency_monitor_threshold; /* latency-monitor-threshold, ms */
extern int latency_tracking;                /* latency-tracking */
/* Records an event's duration when it reaches the threshold. Events are
 * Redis's: command, fast-command, expire-cycle, eviction-cycle,
 * eviction-del, fork. */
void latency_add_sample_if_needed(const char *event, long long ms);
/* Adds a command's execution time to its latency histogram. */
void latency_track_command(const struct command *cmd, long long duration_us);
/* CONFIG RESETSTAT: forgets every histogram. */
void latency_reset_histograms(void);
/* INFO latencystats' line for the command into buf; 0 when it has none. */
size_t latency_command_percentiles(const struct command *cmd, char *buf, size_t size);
/* latency-tracking-info-percentiles' parser and renderer. */
int latency_set_percentiles(char **words, int n, const char **err);
void latency_get_percentiles(char *buf, size_t size);
/* Whether the client's command is a blocked one run again (blocking.c). */
int blocking_rerunning(const client *c);

/* -- bitops.c, hyperloglog.c, geo.c -- */
extern struct command bitmap_commands[];      /* bitops.c */
extern struct command hyperloglog_commands[]; /* hyperloglog.c */
extern struct command geo_commands[];         /* geo.c */
/* ZADD on the client's arguments (t_zset.c); GEOADD runs it on its own. */
void zadd_command(client *c);
/* Set bits in p[0..n). */
long long bits_popcount(const unsigned char *p, size_t n);
/* -- eval.c, script_lua.c -- */

/* Creates the script cache and the Lua state (server_init). */
void scripts_init(void);
/* Frees the scripts, the functions and the Lua state (exit). */
void scripts_release(void);
size_t scripts_count(void);  /* INFO number_of_cached_scripts */
size_t scripts_memory(void); /* INFO used_memory_scripts */
/* INFO memory's scripting lines (used_memory_lua ... number_of_libraries)
 * into buf; returns their length. */
size_t scripts_memory_info(char *buf, size_t size);
struct script_run;
/* The script hook calls it: past busy-reply-threshold the server serves
 * other clients (with -BUSY) while the script runs. */
void script_busy_check(struct script_run *run);
/* While a script runs past the threshold: the -BUSY error for a command
 * with these flags (NULL for CMD_ALLOW_BUSY ones); NULL when not busy. */
const char *script_busy_refusal(uint32_t cmd_flags);
extern long long script_busy_threshold_ms; /* busy-reply-threshold (lua-time-limit) */

/* -- function.c -- */

void functions_init(void);
void functions_release(void);
size_t functions_library_count(void);
size_t functions_count(void);
size_t functions_memory(void); /* INFO used_memory_functions */
/* Calls fn with each library's code (snapshots); stops at a non-zero return. */
int functions_foreach_code(int (*fn)(void *priv, const char *code, size_t len), void *priv);
/* Libraries compiled aside (a snapshot being loaded), then committed to
 * replace every live library, or freed. */
struct function_batch;
struct function_batch *functions_batch_new(void);
int functions_batch_add(struct function_batch *b, const char *code, size_t len, char *err, size_t errlen);
void functions_batch_commit(struct function_batch *b);
void functions_batch_free(struct function_batch *b);


/* -- evict.c -- */

/* Forgets the eviction candidates kept across calls (tests, FLUSHALL). */
void evict_reset_pool(void);


#endif
