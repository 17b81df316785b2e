/* db.c: keyspace access with the server's semantics on top of keyspace.c:
 * lazy expiry, hit/miss statistics, LRU and LFU bookkeeping, SELECT. */
#include <string.h>

#include "notify.h"
#include "server.h"
#include "tracking.h"

extern uint32_t keyspace_new_lru;

#define LRU_CLOCK_MAX ((1u << 24) - 1)
#define LFU_INIT_VAL 5

static int policy_is_lfu(void)
{
    return server.maxmemory_policy == MAXMEMORY_ALLKEYS_LFU ||
           server.maxmemory_policy == MAXMEMORY_VOLATILE_LFU;
}

uint32_t lru_clock(void) { return (uint32_t)(server.now_ms / 1000) & LRU_CLOCK_MAX; }

static uint32_t lfu_minutes(void) { return (uint32_t)(server.now_ms / 60000) & 0xFFFF; }

/* What a new entry's lru field starts with under the current policy. */
static uint32_t initial_lru(void)
{
    return policy_is_lfu() ? (lfu_minutes() << 8) | LFU_INIT_VAL : lru_clock();
}

unsigned long long entry_idle_ms(const entry *e)
{
    uint32_t now = lru_clock();
    uint32_t then = e->lru;
    unsigned long long secs = now >= then ? now - then : (LRU_CLOCK_MAX - then) + now;
    return secs * 1000ULL;
}

unsigned lfu_counter(const entry *e)
{
    unsigned counter = e->lru & 0xFF;
    uint32_t then = e->lru >> 8, now = lfu_minutes();
    uint32_t elapsed = now >= then ? now - then : 65535 - then + now;
    if (server.lfu_decay_time > 0) {
        uint32_t periods = elapsed / (uint32_t)server.lfu_decay_time;
        counter = periods > counter ? 0 : counter - periods;
    }
    return counter;
}

static unsigned lfu_increment(unsigned counter)
{
    if (counter == 255) return 255;
    double base = counter > LFU_INIT_VAL ? counter - LFU_INIT_VAL : 0;
    double p = 1.0 / (base * server.lfu_log_factor + 1);
    double r = (double)(random_u64() >> 11) / (double)(1ULL << 53);
    return r < p ? counter + 1 : counter;
}

void touch_entry(entry *e)
{
    if (policy_is_lfu()) {
        unsigned counter = lfu_increment(lfu_counter(e));
        e->lru = (lfu_minutes() << 8) | counter;
    } else {
        e->lru = lru_clock();
    }
}

/* A bigger bucket array must fit under maxmemory (see keyspace.h). */
static int table_growth_fits(size_t bytes)
{
    return server.maxmemory == 0 || zmalloc_used() + bytes <= (size_t)server.maxmemory;
}

void db_init_hooks(void) { keyspace_set_grow_check(table_growth_fits); }

void update_new_entry_lru(void) { keyspace_new_lru = initial_lru(); }

int expire_if_needed(db *d, entry *e)
{
    if (!e->has_expire) return 0;
    long long when = entry_expire(e);
    if (when > server.now_ms) return 0;
    if (server_is_replica() || pause_writes_paused()) {
        /* a replica deletes only when its primary's DEL arrives; until
         * then the key exists for the stream and is gone for readers
         * (as on a primary whose writes are paused: nothing changes) */
        client *c = server.current_client;
        return (c && (c->flags & CLIENT_MASTER)) ? 0 : 1;
    }
    notify_keyspace_event(NOTIFY_EXPIRED, "expired", entry_key(e), e->keylen, d->id);
    delete_and_propagate(d, e);
    server.stat_expiredkeys++;
    return 1;
}

void delete_and_propagate(db *d, entry *e)
{
    char stack[128];
    size_t klen = e->keylen;
    char *key = klen <= sizeof(stack) ? stack : zmalloc(klen);
    memcpy(key, entry_key(e), klen);
    db_delete_entry(d, e);
    if (watched_keys_count() > 0) watch_touch_key(d, key, klen);
    tracking_invalidate_key(key, klen);
    propagate_del(d, key, klen);
    if (key != stack) zfree(key);
}

entry *lookup_quiet(client *c, db *d, const arg *key)
{
    (void)c;
    entry *e = db_find(d, key->p, key->len);
    if (e && expire_if_needed(d, e)) return NULL;
    return e;
}

entry *lookup_read(client *c, const arg *key)
{
    entry *e = lookup_quiet(c, c->db, key);
    if (e == NULL) {
        server.stat_keyspace_misses++;
        notify_key(c, NOTIFY_KEY_MISS, "keymiss", key);
        return NULL;
    }
    server.stat_keyspace_hits++;
    touch_entry(e);
    return e;
}

entry *lookup_write(client *c, const arg *key)
{
    entry *e = lookup_quiet(c, c->db, key);
    if (e) touch_entry(e);
    return e;
}

static int check_type(client *c, entry *e, enum value_type type, entry **out)
{
    if (e && e->type != type) {
        reply_wrongtype(c);
        return 0;
    }
    *out = e;
    return 1;
}

int lookup_read_typed(client *c, const arg *key, enum value_type type, entry **out)
{
    return check_type(c, lookup_read(c, key), type, out);
}

int lookup_write_typed(client *c, const arg *key, enum value_type type, entry **out)
{
    return check_type(c, lookup_write(c, key), type, out);
}

entry *set_string(db *d, const arg *key, const char *val, size_t vlen, int keep_ttl)
{
    entry *e = db_find(d, key->p, key->len);
    if (e == NULL) return db_add_string(d, key->p, key->len, val, vlen);
    if (e->type != TYPE_STRING) {
        db_delete_entry(d, e);
        keyspace_overwriting = 1;
        e = db_add_string(d, key->p, key->len, val, vlen);
        keyspace_overwriting = 0;
        return e;
    }
    if (!keep_ttl && e->has_expire) e = db_remove_expire(d, e);
    e = db_set_string_value(d, e, val, vlen);
    touch_entry(e);
    return e;
}

char *db_qualified_key(int dbid, const char *key, size_t klen, char *buf, size_t size, size_t *len)
{
    char *p = klen + 1 <= size ? buf : zmalloc(klen + 1);
    p[0] = (char)dbid;
    memcpy(p + 1, key, klen);
    *len = klen + 1;
    return p;
}

int key_modified_matters(void)
{
    return blocking_keys_count() > 0 || watched_keys_count() > 0 || tracking_wants_keys();
}

void key_modified(db *d, const arg *key)
{
    /* clients blocked on the key may be served now; watchers' EXEC fails */
    if (blocking_keys_count() > 0) blocking_key_modified(d, key);
    if (watched_keys_count() > 0) watch_touch_key(d, key->p, key->len);
    tracking_invalidate_key(key->p, key->len);
    server.dirty++;
}

void notify_key(client *c, int type, const char *event, const arg *key)
{
    notify_keyspace_event(type, event, key->p, key->len, c->db->id);
}

int select_db(client *c, long long id)
{
    if (id < 0 || id >= server.databases) return -1;
    c->dbid = (int)id;
    c->db = server.dbs[id];
    return 0;
}

int arg_to_ll_msg(client *c, const arg *a, long long *out, const char *msg)
{
    if (string2ll(a->p, a->len, out)) return 1;
    reply_error(c, msg ? msg : "ERR value is not an integer or out of range");
    return 0;
}

int arg_to_ll(client *c, const arg *a, long long *out) { return arg_to_ll_msg(c, a, out, NULL); }
