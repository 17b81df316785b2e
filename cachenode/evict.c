/* evict.c: maxmemory enforcement. Before each command, when used memory is
 * over maxmemory, keys are evicted as maxmemory-policy says until it fits.
 *
 * The LRU, LFU and TTL policies are sampled approximations, as Redis
 * documents them: each round samples maxmemory-samples keys per database
 * and merges them into a small pool of the best candidates seen so far (the
 * pool survives across calls, so its quality grows with the rounds); the
 * best candidate is evicted. A candidate's score is "higher is more
 * evictable": idle time for LRU, 255 minus the decayed counter for LFU,
 * nearness of the expiry for volatile-ttl. The random policies evict a
 * random key, going round the databases.
 *
 * Memory is measured with zmalloc_used(), i.e. the dataset plus client
 * buffers and the server's own structures, less the output buffers of
 * replicas: those grow with every eviction (each sends a DEL), so counting
 * them would make eviction feed itself. Other client buffers count, which
 * errs on the side of staying under the limit.
 *
 * A call is bounded: past EVICT_MIN_PER_CALL evictions it stops after
 * EVICT_TIME_BUDGET_US, and always after EVICT_HARD_BUDGET_US or
 * EVICT_MAX_ROUNDS, so a sudden large drop of maxmemory (CONFIG SET) never
 * stalls a command; it then returns 0 while still over the limit (as Redis
 * lets commands run while eviction is in progress) and the next commands
 * carry on the work. */
#include <limits.h>
#include <string.h>

#include "object.h"
#include "notify.h"
#include "server.h"

#define EVPOOL_SIZE 16
#define EVPOOL_KEY_INLINE 48 /* keys up to this long are cached in the slot */
#define EVICT_TIME_BUDGET_US 1000
#define EVICT_HARD_BUDGET_US 5000
#define EVICT_MAX_ROUNDS 100000
/* Evictions a call always makes (unless it fits sooner) before the clock
 * may stop it: a write adds far less than this many keys' worth, so under
 * any load memory converges on the limit instead of drifting above it even
 * when the process is descheduled in the middle of a call. */
#define EVICT_MIN_PER_CALL 64

/* A pool slot: the key is copied, never pointed to, because entries move
 * (realloc on updates) and die (DEL, expiry) between calls. It is found
 * again by name when it is the one to evict. Short keys live in the slot,
 * so that slots can be moved with memmove. */
struct pool_slot {
    unsigned long long score; /* higher: better to evict */
    int dbid;
    size_t keylen;
    char *heap_key; /* keys longer than EVPOOL_KEY_INLINE */
    char inline_key[EVPOOL_KEY_INLINE];
};

/* Sorted by ascending score: the best candidate is the last used slot.
 * Slots at and past pool_len are garbage. */
static struct pool_slot pool[EVPOOL_SIZE];
static int pool_len;
static int pool_policy = -1; /* scores of different policies don't compare */
static int next_random_db;   /* random policies go round the databases */

/* ---- the candidate pool -------------------------------------------------- */

static const char *slot_key(const struct pool_slot *s)
{
    return s->keylen <= EVPOOL_KEY_INLINE ? s->inline_key : s->heap_key;
}

static void pool_clear(void)
{
    for (int i = 0; i < pool_len; i++) zfree(pool[i].heap_key);
    pool_len = 0;
}

/* Removes slot i, keeping the order. */
static void pool_remove(int i)
{
    zfree(pool[i].heap_key);
    memmove(&pool[i], &pool[i + 1], sizeof(pool[0]) * (size_t)(pool_len - i - 1));
    pool_len--;
}

static int pool_has(int dbid, const char *key, size_t len)
{
    for (int i = 0; i < pool_len; i++)
        if (pool[i].dbid == dbid && pool[i].keylen == len && memcmp(slot_key(&pool[i]), key, len) == 0)
            return 1;
    return 0;
}

/* Inserts a candidate in score order. When the pool is full, a candidate
 * worse than every pooled one is dropped, else the worst pooled one is. */
static void pool_insert(int dbid, const entry *e, unsigned long long score)
{
    if (pool_len == EVPOOL_SIZE && score <= pool[0].score) return;
    if (pool_has(dbid, entry_key(e), e->keylen)) return;
    if (pool_len == EVPOOL_SIZE) pool_remove(0);
    int pos = pool_len;
    while (pos > 0 && pool[pos - 1].score > score) pos--;
    memmove(&pool[pos + 1], &pool[pos], sizeof(pool[0]) * (size_t)(pool_len - pos));
    pool_len++;
    struct pool_slot *s = &pool[pos];
    s->score = score;
    s->dbid = dbid;
    s->keylen = e->keylen;
    s->heap_key = e->keylen <= EVPOOL_KEY_INLINE ? NULL : zmalloc(e->keylen);
    memcpy(e->keylen <= EVPOOL_KEY_INLINE ? s->inline_key : s->heap_key, entry_key(e), e->keylen);
}

/* ---- policies -------------------------------------------------------------- */

static int policy_is_volatile(int policy)
{
    return policy == MAXMEMORY_VOLATILE_LRU || policy == MAXMEMORY_VOLATILE_LFU ||
           policy == MAXMEMORY_VOLATILE_RANDOM || policy == MAXMEMORY_VOLATILE_TTL;
}

static int policy_is_random(int policy)
{
    return policy == MAXMEMORY_ALLKEYS_RANDOM || policy == MAXMEMORY_VOLATILE_RANDOM;
}

static unsigned long long candidate_score(int policy, const entry *e)
{
    switch (policy) {
    case MAXMEMORY_ALLKEYS_LFU:
    case MAXMEMORY_VOLATILE_LFU: return 255 - (unsigned long long)lfu_counter(e);
    case MAXMEMORY_VOLATILE_TTL: {
        long long when = entry_expire(e);
        /* the nearest expiry (already expired ones first) scores highest */
        return when < 0 ? 0 : ULLONG_MAX - (unsigned long long)when;
    }
    default: return entry_idle_ms(e);
    }
}

static entry *sample_one(db *d, int policy)
{
    return policy_is_volatile(policy) ? db_random_volatile(d) : db_random_entry(d);
}

static size_t candidates_in(const db *d, int policy)
{
    return policy_is_volatile(policy) ? db_expires(d) : db_size(d);
}

/* Samples every database into the pool; returns how many keys it saw. */
static size_t pool_populate(int policy)
{
    size_t seen = 0;
    int samples = server.maxmemory_samples > 0 ? server.maxmemory_samples : 5;
    for (int i = 0; i < server.databases && i < DB_COUNT; i++) {
        db *d = server.dbs[i];
        if (d == NULL || candidates_in(d, policy) == 0) continue;
        for (int s = 0; s < samples; s++) {
            entry *e = sample_one(d, policy);
            if (e == NULL) break;
            pool_insert(i, e, candidate_score(policy, e));
            seen++;
        }
    }
    return seen;
}

/* Takes the best pooled candidate that still exists; NULL if none. */
static entry *pool_take_best(int policy, db **out_db)
{
    while (pool_len > 0) {
        struct pool_slot *s = &pool[pool_len - 1];
        db *d = s->dbid < DB_COUNT ? server.dbs[s->dbid] : NULL;
        entry *e = d ? db_find(d, slot_key(s), s->keylen) : NULL;
        pool_remove(pool_len - 1);
        /* gone, or made persistent since it was pooled: a stale candidate */
        if (e == NULL || (policy_is_volatile(policy) && !e->has_expire)) continue;
        *out_db = d;
        return e;
    }
    return NULL;
}

static entry *pick_random(int policy, db **out_db)
{
    int n = server.databases < DB_COUNT ? server.databases : DB_COUNT;
    for (int tries = 0; tries < n; tries++) {
        int i = next_random_db++ % n;
        if (next_random_db >= n) next_random_db = 0;
        db *d = server.dbs[i];
        if (d == NULL || candidates_in(d, policy) == 0) continue;
        entry *e = sample_one(d, policy);
        if (e) {
            *out_db = d;
            return e;
        }
    }
    return NULL;
}

/* One round: chooses the key the policy evicts next; NULL when nothing is
 * evictable. */
static entry *pick_victim(int policy, db **out_db)
{
    if (policy_is_random(policy)) return pick_random(policy, out_db);
    if (pool_policy != policy) {
        pool_clear();
        pool_policy = policy;
    }
    /* A second attempt matters when every pooled candidate was stale: the
     * emptied pool then takes the fresh samples it refused before. */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (pool_populate(policy) == 0) {
            pool_clear(); /* nothing left to sample: old candidates are stale */
            return NULL;
        }
        entry *e = pool_take_best(policy, out_db);
        if (e) return e;
    }
    return NULL;
}

static void evict_entry(db *d, entry *e)
{
    long long start = latency_monitor_threshold ? monotonic_us() : 0;
    notify_keyspace_event(NOTIFY_EVICTED, "evicted", entry_key(e), e->keylen, d->id);
    delete_and_propagate(d, e); /* replicas ignore maxmemory: they follow */
    server.stat_evictedkeys++;
    if (latency_monitor_threshold) latency_add_sample_if_needed("eviction-del", (monotonic_us() - start) / 1000);
}

/* Checked every round: reading the clock costs far less than a round, and
 * a round can cost up to a millisecond when mass eviction has left a big,
 * sparse table (random sampling then probes many empty buckets until the
 * cron shrinks it). Hence also the hard budget, which even the minimum
 * number of evictions respects. */
static int out_of_time(long long start_us, long rounds)
{
    long long spent = monotonic_us() - start_us;
    return spent > EVICT_HARD_BUDGET_US || (rounds >= EVICT_MIN_PER_CALL && spent > EVICT_TIME_BUDGET_US);
}

static int over_limit(void)
{
    return (long long)(zmalloc_used() - replication_output_bytes()) > server.maxmemory;
}

static int evict_rounds(int policy, long long start);

int evict_to_fit(void)
{
    if (server.maxmemory <= 0 || !over_limit()) return 0;
    if (pause_writes_paused()) return -1; /* the dataset stays as it is */
    int policy = server.maxmemory_policy;
    if (policy == MAXMEMORY_NOEVICTION) return -1;
    long long start = monotonic_us();
    int result = evict_rounds(policy, start);
    latency_add_sample_if_needed("eviction-cycle", (monotonic_us() - start) / 1000);
    return result;
}

/* Evicts until under the limit or out of time. */
static int evict_rounds(int policy, long long start)
{
    for (long rounds = 0; rounds < EVICT_MAX_ROUNDS; rounds++) {
        db *d = NULL;
        entry *victim = pick_victim(policy, &d);
        if (victim == NULL) return -1; /* nothing evictable is left */
        evict_entry(d, victim);
        if (!over_limit()) return 0;
        /* a large value went to the lazy-free thread: its memory drops in
         * a moment, and evicting more meanwhile would overshoot */
        if (object_lazyfree_pending() > 0) return 0;
        if (out_of_time(start, rounds)) break;
    }
    /* Out of budget while keys remain: let this command through, the next
     * ones continue (as Redis lets a command run while eviction is still
     * in progress). */
    return 0;
}

void evict_reset_pool(void)
{
    pool_clear();
    pool_policy = -1;
}
