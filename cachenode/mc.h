/* mc.h: the memcached engine's internal interface (cachenode --protocol
 * memcached). The engine is its own set of files and shares with the Redis
 * engine only the configuration (config.c) and logging:
 *   mc_store.c      items, the striped hash table, CLOCK eviction, expiry
 *   mc_proto.c      the text protocol: parsing, storage and retrieval commands
 *   mc_meta.c       the meta protocol (mg, ms, md, ma, mn, me)
 *   mc_stats.c      counters and the stats command family
 *   mc_discovery.c  the Auto Discovery list (config get cluster)
 *   mc_server.c     listener, worker threads, connections, signals */
#ifndef CN_MC_H
#define CN_MC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MC_VERSION "1.6.18-cachefleet" /* memcached's protocol version we follow */
#define MC_KEY_MAX 250
#define MC_REALTIME_MAXDELTA (60 * 60 * 24 * 30) /* larger expiries are Unix times */
/* What memcached charges an item besides key and value (header, CAS,
 * terminators), so that the item size limit means the same thing. */
#define MC_ITEM_OVERHEAD 59

/* ---- items and the store (mc_store.c) ------------------------------------ */

/* MC_STALE, MC_TOKEN_SENT: meta's stale-while-revalidate (an invalidated
 * item, and whether a client was told it won the right to refresh it);
 * MC_BINARY_KEY: set with a base64 key, so that meta returns it encoded. */
enum { MC_REF = 1, MC_FETCHED = 2, MC_STALE = 4, MC_TOKEN_SENT = 8, MC_BINARY_KEY = 16 };

typedef struct mc_item {
    struct mc_item *next; /* hash chain */
    uint64_t cas;
    uint32_t exptime;     /* server time (mc_now), 0 = never */
    uint32_t atime;       /* last access, server time */
    uint32_t flags;       /* the client's 32-bit flags */
    uint32_t nbytes;      /* value length, without the \r\n kept after it */
    uint8_t nkey;
    uint8_t bits;         /* MC_REF (CLOCK reference bit), MC_FETCHED, ... */
    char data[];          /* key, value, "\r\n" */
} mc_item;

#define MC_ITEM_KEY(it) ((it)->data)
#define MC_ITEM_VAL(it) ((it)->data + (it)->nkey)

enum mc_store_mode { MC_SET, MC_ADD, MC_REPLACE, MC_APPEND, MC_PREPEND, MC_CAS };
enum mc_result {
    MC_STORED, MC_NOT_STORED, MC_EXISTS, MC_NOT_FOUND, MC_TOO_LARGE, MC_NO_MEMORY,
    MC_DELETED, MC_TOUCHED, MC_NON_NUMERIC, MC_OK
};

/* Server time: seconds since start-up (never 0) and the conversions. */
uint32_t mc_now(void);
/* memcached's rule: 0 never, > 30 days a Unix time, negative already past. */
uint32_t mc_exptime(long long exptime);
/* Unix time of a server time. */
long long mc_unix_time(uint32_t t);
time_t mc_process_started(void);

struct mc_store_config {
    size_t maxmemory;      /* bytes for items; eviction starts beyond */
    size_t max_item_size;  /* header + key + value, as memcached's -I */
    int evict;             /* 0: refuse with out of memory instead */
};
int mc_store_init(const struct mc_store_config *cfg);
void mc_store_release(void);
const struct mc_store_config *mc_store_config(void);
/* The memory limit in bytes (maxmemory at start; cache_memlimit changes
 * it live, evicting at once down to a smaller one). */
size_t mc_store_limit(void);
void mc_store_set_limit(size_t bytes);

/* Whether an item of this key and value length fits the size limit. */
int mc_item_size_ok(size_t nkey, size_t nbytes);

/* A new unlinked item (the value is copied in later by the caller), or NULL
 * when memory cannot be had (*res says TOO_LARGE or NO_MEMORY). */
mc_item *mc_item_new(const char *key, size_t nkey, uint32_t flags, uint32_t exptime,
                     size_t nbytes, enum mc_result *res);
void mc_item_free(mc_item *it);

/* Links `it` by the mode's rules (it is consumed whatever happens).
 * cas_in: the client's unique for MC_CAS (and, when not 0, for append and
 * prepend); *cas_out: the stored item's. invalidate (meta's I flag): a
 * cas_in older than the item's stores the value anyway, marked stale, with
 * the old item's expiry. */
enum mc_result mc_store_item(mc_item *it, enum mc_store_mode mode, uint64_t cas_in, int invalidate,
                             uint64_t *cas_out);

/* Reads under the key's lock: fn sees the live item (NULL on a miss) and
 * may change its metadata (exptime, bits, flags), not its size. Returns
 * what fn returns. Expired or flushed items are removed and reported as
 * a miss. */
typedef int (*mc_visit_fn)(mc_item *it, void *arg);
int mc_store_visit(const char *key, size_t nkey, mc_visit_fn fn, void *arg);

enum mc_result mc_store_delete(const char *key, size_t nkey, uint64_t cas);
/* incr/decr; *value receives the new value. cas 0: any. in_place: a
 * shorter number is padded with spaces in the old value (text incr/decr
 * in memcached; its meta ma makes a new value of the exact length). */
enum mc_result mc_store_delta(const char *key, size_t nkey, int incr, uint64_t delta, uint64_t cas,
                              int in_place, uint64_t *value, uint64_t *cas_out);
/* flush_all: delay 0 drops everything now; otherwise at that time. */
void mc_store_flush(long long delay);
uint64_t mc_next_cas(void);

struct mc_store_stats {
    uint64_t curr_items, total_items, bytes, evictions, reclaimed, expired_unfetched,
        evicted_unfetched, hash_buckets, limit_maxbytes;
};
void mc_store_stats(struct mc_store_stats *st);
void mc_store_stats_reset(void);
/* Whether an item is past its expiry or a flush (the caller holds its lock). */
int mc_item_dead(const mc_item *it, uint32_t now);

/* ---- the protocol (mc_proto.c) ---------------------------------------------- */

/* An output buffer that grows; replies are appended to it. */
struct mc_buf {
    char *data;
    size_t len, cap;
};
void mc_buf_add(struct mc_buf *b, const void *p, size_t n);
void mc_buf_str(struct mc_buf *b, const char *s);
void mc_buf_printf(struct mc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mc_buf_u64(struct mc_buf *b, uint64_t v);

struct mc_worker_stats;

/* What a connection's parser needs from it. */
struct mc_session {
    struct mc_buf *out;
    struct mc_worker_stats *stats;
    int close;           /* set: close once the output is written */
    size_t swallow;      /* bytes of a refused data block still to drop */
    size_t get_resume;   /* a paused multi-get: where its next key is in the line */
    uint32_t get_exptime; /* ... and a paused gat's new expiry */
    int paused;          /* the last request paused (see MC_GET_PAUSE) */
};
/* A multi-get pauses once its reply has grown by this much, and goes on
 * when the connection has sent it: a connection's output stays bounded. */
#define MC_GET_PAUSE (1024 * 1024)

/* Parses and runs one request from in[0..len). Returns the bytes consumed,
 * 0 when the request is not complete yet, or -1 when the connection must
 * be closed (after out is written). */
long mc_process(struct mc_session *s, char *in, size_t len);
/* The longest request line accepted before the connection is refused. */
#define MC_LINE_MAX 2048
#define MC_GET_LINE_MAX (64 * 1024)


/* The meta protocol (mc_meta.c): line is the request line (NUL-terminated,
 * modifiable), data/avail what follows it. Returns the data bytes it
 * consumed, -2 when a data block has not all arrived, -1 to close. */
long mc_meta_process(struct mc_session *s, char *line, const char *data, size_t avail);

/* ---- helpers shared by the text and meta parsers (mc_proto.c) ------------ */

int mc_strtoull(const char *s, uint64_t *out);
int mc_strtoul32(const char *s, uint32_t *out);
int mc_strtol32(const char *s, int32_t *out);
int mc_strtoll(const char *s, long long *out);
/* Splits line on spaces (in place); returns the number of tokens (<= max). */
int mc_tokenize(char *line, char **tok, size_t *toklen, int max);
/* The replies shared by both protocols' storage commands. */
long mc_refuse_store(struct mc_session *s, enum mc_result res, const char *key, size_t nkey, int is_set,
                     int noreply, size_t need, size_t avail);

/* Base64 (RFC 4648, padded): decode returns the length or -1. */
long mc_base64_decode(const char *in, size_t n, char *out, size_t cap);
size_t mc_base64_encode(const char *in, size_t n, char *out);

/* ---- counters and stats (mc_stats.c) ------------------------------------- */

/* One per worker thread, written only by it (relaxed atomics, so that
 * stats may read them from another thread). */
struct mc_worker_stats {
    _Atomic uint64_t cmd_get, cmd_set, cmd_flush, cmd_touch, cmd_meta, get_hits, get_misses,
        get_expired, get_flushed, delete_misses, delete_hits, incr_misses, incr_hits, decr_misses,
        decr_hits, cas_misses, cas_hits, cas_badval, touch_hits, touch_misses, store_too_large,
        store_no_memory, auth_cmds, auth_errors, bytes_read, bytes_written;
};
#define MC_STAT_INC(st, f) MC_STAT_ADD(st, f, 1)
#define MC_STAT_ADD(st, f, n) \
    atomic_store_explicit(&(st)->f, atomic_load_explicit(&(st)->f, memory_order_relaxed) + (n), memory_order_relaxed)

/* Appends the reply to "stats [sub]"; returns -1 for an unknown group. */
int mc_stats_reply(struct mc_buf *out, const char *sub);
void mc_stats_reset(void);

/* Server-wide figures mc_server.c keeps for stats. */
struct mc_server_info {
    int threads;
    int port;
    int maxconns;
    uint64_t curr_connections, total_connections, rejected_connections;
    struct mc_worker_stats **worker_stats;
    int nworkers;
};
void mc_server_info(struct mc_server_info *info);
void mc_server_verbosity(int level);

/* ---- Auto Discovery (mc_discovery.c) ------------------------------------- */

/* Loads the list from --discovery-file if it changed; 0 or -1 (logged). */
int mc_discovery_reload(void);
/* Appends the "config get cluster" reply body (version and list lines),
 * or returns -1 when this node has no discovery list configured. */
int mc_discovery_body(struct mc_buf *out);
void mc_discovery_release(void);

/* ---- the server (mc_server.c) --------------------------------------------- */

/* Runs the memcached engine until SIGTERM/SIGINT; the process exit status. */
int mc_main(void);

#endif
