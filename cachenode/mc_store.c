/* mc_store.c: the memcached engine's keyspace. Items are one allocation
 * each (header, key, value, "\r\n"), chained in a hash table split into
 * stripes: a key's stripe is chosen by its hash, and each stripe has its
 * own lock, its own buckets (grown independently) and its own CLOCK hand.
 * Eviction is CLOCK over a stripe's buckets: an item read since the hand
 * last passed has its reference bit cleared and is spared once; expired and
 * flushed items are reclaimed first. Memory is counted in one atomic
 * against the memory limit (also atomic: cache_memlimit changes it while
 * workers store); no lock is ever held while taking another. */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mc.h"

#define STRIPES 256 /* a power of two */
#define STRIPE_BITS 8
#define INITIAL_BUCKETS 64

struct stripe {
    pthread_mutex_t lock;
    mc_item **buckets;
    uint32_t mask;
    uint32_t hand;        /* CLOCK: the next bucket to look at */
    uint64_t count;
    uint64_t total_items, evictions, reclaimed, expired_unfetched, evicted_unfetched;
} __attribute__((aligned(64)));

static struct stripe stripes[STRIPES];
static struct mc_store_config config;
static _Atomic size_t used_bytes;
static _Atomic size_t limit_bytes;   /* config.maxmemory until cache_memlimit */
static _Atomic uint64_t cas_counter;
static _Atomic uint32_t oldest_live; /* delayed flush_all: items touched at or before are dead */
static _Atomic unsigned evict_hand;  /* the next stripe asked to evict */
static time_t process_started;
static struct timespec started_mono;

/* ---- time ------------------------------------------------------------------ */

uint32_t mc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    /* start at 2, as memcached does, so that "1" is always in the past */
    return (uint32_t)(ts.tv_sec - started_mono.tv_sec) + 2;
}

time_t mc_process_started(void) { return process_started; }

long long mc_unix_time(uint32_t t) { return (long long)process_started + t; }

uint32_t mc_exptime(long long exptime)
{
    if (exptime < 0) return 1; /* already expired */
    if (exptime == 0) return 0;
    if (exptime > MC_REALTIME_MAXDELTA) {
        if (exptime <= (long long)process_started + 1) return 1;
        long long rel = exptime - process_started;
        return rel > UINT32_MAX ? UINT32_MAX : (uint32_t)rel;
    }
    return (uint32_t)exptime + mc_now();
}

uint64_t mc_next_cas(void) { return atomic_fetch_add(&cas_counter, 1) + 1; }

/* ---- hashing ---------------------------------------------------------------- */

/* A 64-bit multiply-mix hash over 8-byte words: keys are short, so the
 * per-byte loops of FNV-style hashes would dominate. */
static uint64_t hash_key(const char *key, size_t n)
{
    const uint64_t m = 0x9E3779B97F4A7C15ULL;
    uint64_t h = n * m;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, key, 8);
        h = (h ^ (w * m)) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 29;
        key += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, key, n);
    h = (h ^ (w * m)) * 0x94D049BB133111EBULL;
    h ^= h >> 31;
    h *= m;
    return h ^ (h >> 32);
}

static inline struct stripe *stripe_of(uint64_t h) { return &stripes[h & (STRIPES - 1)]; }
static inline uint32_t bucket_of(const struct stripe *s, uint64_t h)
{
    return (uint32_t)(h >> STRIPE_BITS) & s->mask;
}

/* ---- items ------------------------------------------------------------------ */

/* non-const: the allocation may not be written yet when it is charged */
static size_t item_charge(mc_item *it) { return malloc_usable_size(it) + sizeof(size_t); }

int mc_item_size_ok(size_t nkey, size_t nbytes)
{
    return nkey + nbytes + MC_ITEM_OVERHEAD <= config.max_item_size;
}

int mc_item_dead(const mc_item *it, uint32_t now)
{
    if (it->exptime && it->exptime <= now) return 1;
    uint32_t ol = atomic_load_explicit(&oldest_live, memory_order_relaxed);
    return ol && ol <= now && it->atime <= ol;
}

void mc_item_free(mc_item *it)
{
    if (!it) return;
    atomic_fetch_sub_explicit(&used_bytes, item_charge(it), memory_order_relaxed);
    free(it);
}

static int evict_somewhere(void);

/* may_evict is 0 for callers that hold a stripe lock: eviction takes
 * other stripes' locks. */
static mc_item *item_make(const char *key, size_t nkey, uint32_t flags, uint32_t exptime, size_t nbytes,
                          enum mc_result *res, int may_evict)
{
    if (!mc_item_size_ok(nkey, nbytes)) {
        *res = MC_TOO_LARGE;
        return NULL;
    }
    size_t size = sizeof(mc_item) + nkey + nbytes + 2;
    /* make room first: eviction fails only when there is nothing left */
    while (may_evict && atomic_load_explicit(&used_bytes, memory_order_relaxed) + size >
                            atomic_load_explicit(&limit_bytes, memory_order_relaxed)) {
        if (!config.evict || !evict_somewhere()) {
            *res = MC_NO_MEMORY;
            return NULL;
        }
    }
    mc_item *it = malloc(size);
    if (!it) {
        *res = MC_NO_MEMORY;
        return NULL;
    }
    atomic_fetch_add_explicit(&used_bytes, item_charge(it), memory_order_relaxed);
    it->next = NULL;
    it->cas = 0;
    it->exptime = exptime;
    it->atime = mc_now();
    it->flags = flags;
    it->nbytes = (uint32_t)nbytes;
    it->nkey = (uint8_t)nkey;
    it->bits = 0;
    memcpy(it->data, key, nkey);
    memcpy(it->data + nkey + nbytes, "\r\n", 2);
    return it;
}

mc_item *mc_item_new(const char *key, size_t nkey, uint32_t flags, uint32_t exptime, size_t nbytes,
                     enum mc_result *res)
{
    return item_make(key, nkey, flags, exptime, nbytes, res, 1);
}

/* ---- the table -------------------------------------------------------------- */

/* Items are malloc'ed by the worker threads. glibc gives each thread an
 * arena of its own that grows a page at a time (an mprotect and a fault for
 * each: about 9% of a set-heavy load under perf), and M_TOP_PAD does not
 * apply to such arenas. The main arena grows by M_TOP_PAD per brk; the
 * per-thread cache in front of it keeps the workers off its lock for the
 * small sizes items are. Untouched padding is not resident. */
static void malloc_tune(void)
{
    if (mallopt(M_ARENA_MAX, 1) != 1 || mallopt(M_TOP_PAD, 16 << 20) != 1)
        log_msg(LOG_WARNING, "mallopt refused the item allocator's settings; running with glibc's defaults");
}

int mc_store_init(const struct mc_store_config *cfg)
{
    malloc_tune();
    config = *cfg;
    atomic_store(&limit_bytes, cfg->maxmemory);
    process_started = time(NULL) - 2;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &started_mono);
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        memset(s, 0, sizeof(*s));
        if (pthread_mutex_init(&s->lock, NULL) != 0) return -1;
        s->buckets = calloc(INITIAL_BUCKETS, sizeof(mc_item *));
        if (!s->buckets) return -1;
        s->mask = INITIAL_BUCKETS - 1;
    }
    return 0;
}

const struct mc_store_config *mc_store_config(void) { return &config; }

static void stripe_clear(struct stripe *s)
{
    for (uint32_t b = 0; b <= s->mask; b++) {
        mc_item *it = s->buckets[b];
        while (it) {
            mc_item *next = it->next;
            mc_item_free(it);
            it = next;
        }
        s->buckets[b] = NULL;
    }
    s->count = 0;
}

void mc_store_release(void)
{
    for (int i = 0; i < STRIPES; i++) {
        stripe_clear(&stripes[i]);
        free(stripes[i].buckets);
        stripes[i].buckets = NULL;
        pthread_mutex_destroy(&stripes[i].lock);
    }
}

/* Doubles a stripe's buckets when its chains grow past 1.5 on average; a
 * failed allocation just leaves the chains longer. */
static void stripe_grow(struct stripe *s)
{
    if (s->count <= (uint64_t)(s->mask + 1) * 3 / 2 || s->mask >= (1u << 30)) return;
    uint32_t nmask = (s->mask << 1) | 1;
    mc_item **nb = calloc((size_t)nmask + 1, sizeof(mc_item *));
    if (!nb) return;
    for (uint32_t b = 0; b <= s->mask; b++) {
        mc_item *it = s->buckets[b];
        while (it) {
            mc_item *next = it->next;
            uint32_t nbk = (uint32_t)(hash_key(it->data, it->nkey) >> STRIPE_BITS) & nmask;
            it->next = nb[nbk];
            nb[nbk] = it;
            it = next;
        }
    }
    free(s->buckets);
    s->buckets = nb;
    s->mask = nmask;
    s->hand = 0;
}

/* The link that points at key's item (or at the chain's NULL end). */
static mc_item **find_slot(struct stripe *s, uint64_t h, const char *key, size_t nkey)
{
    mc_item **p = &s->buckets[bucket_of(s, h)];
    while (*p && ((*p)->nkey != nkey || memcmp((*p)->data, key, nkey) != 0)) p = &(*p)->next;
    return p;
}

static void unlink_free(struct stripe *s, mc_item **slot)
{
    mc_item *it = *slot;
    *slot = it->next;
    s->count--;
    mc_item_free(it);
}

/* The live item for key, unlinking it when it has expired or was flushed. */
static mc_item **find_live(struct stripe *s, uint64_t h, const char *key, size_t nkey, uint32_t now)
{
    mc_item **slot = find_slot(s, h, key, nkey);
    if (*slot && mc_item_dead(*slot, now)) {
        if ((*slot)->exptime && !((*slot)->bits & MC_FETCHED)) s->expired_unfetched++;
        unlink_free(s, slot);
    }
    return slot;
}

static void link_at(struct stripe *s, mc_item **slot, mc_item *it)
{
    it->cas = mc_next_cas();
    if (*slot) { /* replace */
        mc_item *old = *slot;
        it->next = old->next;
        *slot = it;
        mc_item_free(old);
    } else {
        it->next = NULL;
        *slot = it;
        s->count++;
        stripe_grow(s);
    }
    s->total_items++;
}

/* A new item with meta's key and header, head's value then tail's
 * (append/prepend). */
static mc_item *concat(const mc_item *head, const mc_item *tail, const mc_item *meta)
{
    mc_item *it = malloc(sizeof(mc_item) + meta->nkey + head->nbytes + tail->nbytes + 2);
    if (!it) return NULL;
    *it = *meta;
    it->nbytes = head->nbytes + tail->nbytes;
    atomic_fetch_add_explicit(&used_bytes, item_charge(it), memory_order_relaxed); /* charged by its own size */
    memcpy(it->data, MC_ITEM_KEY(meta), meta->nkey);
    memcpy(it->data + meta->nkey, MC_ITEM_VAL(head), head->nbytes);
    memcpy(it->data + meta->nkey + head->nbytes, MC_ITEM_VAL(tail), tail->nbytes);
    memcpy(it->data + meta->nkey + it->nbytes, "\r\n", 2);
    return it;
}

enum mc_result mc_store_item(mc_item *it, enum mc_store_mode mode, uint64_t cas_in, int invalidate,
                             uint64_t *cas_out)
{
    uint64_t h = hash_key(it->data, it->nkey);
    struct stripe *s = stripe_of(h);
    enum mc_result res = MC_STORED;
    mc_item *drop = NULL;
    pthread_mutex_lock(&s->lock);
    mc_item **slot = find_live(s, h, it->data, it->nkey, mc_now());
    mc_item *old = *slot;
    switch (mode) {
    case MC_SET: break;
    case MC_ADD:
        if (old) { /* memcached refreshes an existing item that add hit */
            old->atime = mc_now();
            res = MC_NOT_STORED;
        }
        break;
    case MC_REPLACE:
        if (!old) res = MC_NOT_STORED;
        break;
    case MC_CAS:
        if (!old) {
            res = MC_NOT_FOUND;
        } else if (invalidate && cas_in < old->cas) {
            /* stale-while-revalidate: the value goes in, still stale */
            it->exptime = old->exptime;
            it->bits |= MC_STALE | (old->bits & MC_TOKEN_SENT);
        } else if (old->cas != cas_in) {
            res = MC_EXISTS;
        }
        break;
    case MC_APPEND:
    case MC_PREPEND:
        if (!old) {
            res = MC_NOT_STORED;
        } else if (!mc_item_size_ok(old->nkey, (size_t)old->nbytes + it->nbytes)) {
            res = MC_NOT_STORED; /* what memcached answers */
        } else if (cas_in && old->cas != cas_in) {
            res = MC_EXISTS;
        } else {
            mc_item *joined = mode == MC_APPEND ? concat(old, it, old) : concat(it, old, old);
            drop = it;
            it = joined;
            if (!it) res = MC_NO_MEMORY;
        }
        break;
    }
    if (res == MC_STORED) {
        link_at(s, slot, it);
        if (cas_out) *cas_out = it->cas;
    } else {
        drop = drop ? drop : it;
        if (it != drop) mc_item_free(it);
    }
    pthread_mutex_unlock(&s->lock);
    mc_item_free(drop);
    return res;
}

int mc_store_visit(const char *key, size_t nkey, mc_visit_fn fn, void *arg)
{
    uint64_t h = hash_key(key, nkey);
    struct stripe *s = stripe_of(h);
    pthread_mutex_lock(&s->lock);
    mc_item **slot = find_live(s, h, key, nkey, mc_now());
    int r = fn(*slot, arg);
    pthread_mutex_unlock(&s->lock);
    return r;
}

enum mc_result mc_store_delete(const char *key, size_t nkey, uint64_t cas)
{
    uint64_t h = hash_key(key, nkey);
    struct stripe *s = stripe_of(h);
    enum mc_result res = MC_DELETED;
    pthread_mutex_lock(&s->lock);
    mc_item **slot = find_live(s, h, key, nkey, mc_now());
    if (!*slot) res = MC_NOT_FOUND;
    else if (cas && (*slot)->cas != cas) res = MC_EXISTS;
    else unlink_free(s, slot);
    pthread_mutex_unlock(&s->lock);
    return res;
}

/* memcached's reading of a stored number: digits, then the end or a space. */
static int value_number(const mc_item *it, uint64_t *out)
{
    char buf[32];
    if (it->nbytes == 0 || it->nbytes >= sizeof(buf)) return -1;
    memcpy(buf, MC_ITEM_VAL(it), it->nbytes);
    buf[it->nbytes] = '\0';
    return mc_strtoull(buf, out);
}

enum mc_result mc_store_delta(const char *key, size_t nkey, int incr, uint64_t delta, uint64_t cas,
                              int in_place, uint64_t *value, uint64_t *cas_out)
{
    uint64_t h = hash_key(key, nkey);
    struct stripe *s = stripe_of(h);
    enum mc_result res = MC_OK;
    mc_item *old_to_free = NULL;
    pthread_mutex_lock(&s->lock);
    mc_item **slot = find_live(s, h, key, nkey, mc_now());
    mc_item *it = *slot;
    uint64_t v;
    if (!it) {
        res = MC_NOT_FOUND;
    } else if (cas && it->cas != cas) {
        res = MC_EXISTS;
    } else if (value_number(it, &v) == -1) {
        res = MC_NON_NUMERIC;
    } else {
        v = incr ? v + delta : (delta > v ? 0 : v - delta);
        char num[24];
        int n = 0;
        uint64_t t = v;
        do { num[n++] = (char)('0' + t % 10); t /= 10; } while (t);
        if (in_place && (uint32_t)n <= it->nbytes) {
            /* in place: memcached pads a shorter number with spaces */
            char *dst = MC_ITEM_VAL(it);
            for (int i = 0; i < n; i++) dst[i] = num[n - 1 - i];
            memset(dst + n, ' ', it->nbytes - (uint32_t)n);
            it->cas = mc_next_cas();
        } else {
            enum mc_result r2;
            mc_item *nit = item_make(key, nkey, it->flags, it->exptime, (size_t)n, &r2, 0);
            if (!nit) {
                res = r2;
            } else {
                for (int i = 0; i < n; i++) MC_ITEM_VAL(nit)[i] = num[n - 1 - i];
                nit->bits = it->bits;
                nit->atime = it->atime;
                nit->cas = mc_next_cas();
                nit->next = it->next;
                *slot = nit;
                old_to_free = it;
                it = nit;
            }
        }
        it->atime = mc_now();
        *value = v;
        if (cas_out) *cas_out = it->cas;
    }
    pthread_mutex_unlock(&s->lock);
    mc_item_free(old_to_free);
    return res;
}

void mc_store_flush(long long delay)
{
    if (delay > 0) {
        atomic_store(&oldest_live, mc_exptime(delay) - 1);
        return;
    }
    atomic_store(&oldest_live, 0);
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_lock(&stripes[i].lock);
        stripe_clear(&stripes[i]);
        pthread_mutex_unlock(&stripes[i].lock);
    }
}

/* ---- eviction ------------------------------------------------------------- */

/* Frees one item of stripe s by CLOCK; 0 when the stripe is empty. */
static int stripe_evict_one(struct stripe *s)
{
    if (s->count == 0) return 0;
    uint32_t now = mc_now();
    /* two sweeps at most: the first may only clear reference bits */
    for (uint64_t steps = 0; steps <= 2 * ((uint64_t)s->mask + 1); steps++) {
        uint32_t b = s->hand & s->mask;
        for (mc_item **p = &s->buckets[b]; *p; p = &(*p)->next) {
            mc_item *it = *p;
            if (mc_item_dead(it, now)) {
                s->reclaimed++;
                if (it->exptime && !(it->bits & MC_FETCHED)) s->expired_unfetched++;
                unlink_free(s, p);
                return 1;
            }
            if (it->bits & MC_REF) {
                it->bits &= (uint8_t)~MC_REF;
                continue;
            }
            s->evictions++;
            if (!(it->bits & MC_FETCHED)) s->evicted_unfetched++;
            unlink_free(s, p);
            return 1;
        }
        s->hand = (b + 1) & s->mask;
    }
    return 0;
}

/* Evicts one item from the stripes in turn; 0 when all are empty. */
static int evict_somewhere(void)
{
    for (int tries = 0; tries < STRIPES; tries++) {
        struct stripe *s = &stripes[atomic_fetch_add_explicit(&evict_hand, 1, memory_order_relaxed) & (STRIPES - 1)];
        pthread_mutex_lock(&s->lock);
        int ok = stripe_evict_one(s);
        pthread_mutex_unlock(&s->lock);
        if (ok) return 1;
    }
    return 0;
}

size_t mc_store_limit(void) { return atomic_load(&limit_bytes); }

void mc_store_set_limit(size_t bytes)
{
    atomic_store(&limit_bytes, bytes);
    /* a smaller limit takes effect now, not at the next stores: the host
     * promised the memory given back to others */
    while (config.evict && atomic_load(&used_bytes) > bytes && evict_somewhere()) {
    }
}

/* ---- statistics ------------------------------------------------------------ */

void mc_store_stats(struct mc_store_stats *st)
{
    memset(st, 0, sizeof(*st));
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        pthread_mutex_lock(&s->lock);
        st->curr_items += s->count;
        st->total_items += s->total_items;
        st->evictions += s->evictions;
        st->reclaimed += s->reclaimed;
        st->expired_unfetched += s->expired_unfetched;
        st->evicted_unfetched += s->evicted_unfetched;
        st->hash_buckets += (uint64_t)s->mask + 1;
        pthread_mutex_unlock(&s->lock);
    }
    st->bytes = atomic_load(&used_bytes);
    st->limit_maxbytes = atomic_load(&limit_bytes);
}

void mc_store_stats_reset(void)
{
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        pthread_mutex_lock(&s->lock);
        s->total_items = s->evictions = s->reclaimed = 0;
        s->expired_unfetched = s->evicted_unfetched = 0;
        pthread_mutex_unlock(&s->lock);
    }
}
