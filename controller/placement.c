/* placement.c: the pure placement functions (see placement.h). It works on
 * a private copy of the hosts and writes back only when every node found a
 * place, so a refused request changes nothing. */
#include "placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A private copy of the hosts to place on; NULL (with err) when out of memory. */
static struct place_host *copy_hosts(const struct place_host *hosts, size_t nhosts, char *err, size_t errlen)
{
    struct place_host *h = malloc((nhosts ? nhosts : 1) * sizeof(*h));
    if (h == NULL) snprintf(err, errlen, "out of memory");
    else if (nhosts) memcpy(h, hosts, nhosts * sizeof(*h));
    return h;
}

/* Nodes of the shard per zone, counting the ones placed so far. */
static int zone_use(const struct place_host *h, size_t n, const char *az)
{
    int used = 0;
    for (size_t i = 0; i < n; i++) used += h[i].in_shard && strcmp(h[i].az, az) == 0;
    return used;
}

static int zone_primaries(const struct place_host *h, size_t n, const char *az)
{
    int p = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].az, az) == 0) p += h[i].primaries;
    return p;
}

/* Negative when a is the better host for the node. */
static int compare(const struct place_host *h, size_t n, size_t a, size_t b, int primary)
{
    int za = zone_use(h, n, h[a].az), zb = zone_use(h, n, h[b].az);
    if (za != zb) return za - zb;
    if (primary) {
        int pa = zone_primaries(h, n, h[a].az), pb = zone_primaries(h, n, h[b].az);
        if (pa != pb) return pa - pb;
        if (h[a].primaries != h[b].primaries) return h[a].primaries - h[b].primaries;
    }
    if (h[a].free_mb != h[b].free_mb) return h[a].free_mb > h[b].free_mb ? -1 : 1;
    return strcmp(h[a].id, h[b].id);
}

/* The best eligible host, or -1. */
static int pick(const struct place_host *h, size_t n, int primary, long long memory_mb)
{
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        if (!h[i].up || h[i].in_shard || h[i].free_mb < memory_mb) continue;
        if (best < 0 || compare(h, n, i, (size_t)best, primary) < 0) best = (int)i;
    }
    return best;
}

static enum place_result explain(const struct place_host *h, size_t n, int count, long long memory_mb, char *err,
                                 size_t errlen)
{
    int up = 0, free_enough = 0, taken = 0;
    for (size_t i = 0; i < n; i++) {
        up += h[i].up;
        taken += h[i].up && h[i].in_shard;
        free_enough += h[i].up && h[i].free_mb >= memory_mb;
    }
    if (up < count + taken) {
        snprintf(err, errlen, "a shard of %d node(s) needs %d distinct hosts that are up; %d are up", count + taken,
                 count + taken, up);
        return PLACE_NO_HOSTS;
    }
    snprintf(err, errlen, "not enough memory: %d node(s) of %lld MB need distinct hosts with that much free; %d host(s) have it",
             count, memory_mb, free_enough);
    return PLACE_NO_MEMORY;
}

enum place_result place_shard(struct place_host *hosts, size_t nhosts, int count, int first_is_primary,
                              long long memory_mb, int *out, char *err, size_t errlen)
{
    if (count <= 0) return PLACE_OK;
    if (nhosts == 0) {
        snprintf(err, errlen, "no hosts are registered");
        return PLACE_NO_HOSTS;
    }
    struct place_host *h = copy_hosts(hosts, nhosts, err, errlen);
    if (h == NULL) return PLACE_NO_MEMORY;
    for (int k = 0; k < count; k++) {
        int primary = first_is_primary && k == 0;
        int i = pick(h, nhosts, primary, memory_mb);
        if (i < 0) {
            enum place_result r = explain(hosts, nhosts, count, memory_mb, err, errlen);
            free(h);
            return r;
        }
        out[k] = i;
        h[i].in_shard = 1;
        h[i].free_mb -= memory_mb;
        h[i].primaries += primary;
    }
    memcpy(hosts, h, nhosts * sizeof(*h));
    free(h);
    return PLACE_OK;
}

enum place_result place_shards(struct place_host *hosts, size_t nhosts, int nshards, int count,
                               long long memory_mb, int *out, char *err, size_t errlen)
{
    struct place_host *h = copy_hosts(hosts, nhosts, err, errlen);
    if (h == NULL) return PLACE_NO_MEMORY;
    for (int s = 0; s < nshards; s++) {
        for (size_t i = 0; i < nhosts; i++) h[i].in_shard = 0; /* a new shard: no node of it yet */
        char why[200];
        enum place_result r = place_shard(h, nhosts, count, 1, memory_mb, out + (size_t)s * (size_t)count, why, sizeof(why));
        if (r != PLACE_OK) {
            snprintf(err, errlen, "shard %d of %d cannot be placed: %s", s + 1, nshards, why);
            free(h);
            return r;
        }
    }
    for (size_t i = 0; i < nhosts; i++) h[i].in_shard = 0;
    if (nhosts) memcpy(hosts, h, nhosts * sizeof(*h));
    free(h);
    return PLACE_OK;
}

/* ---- spread: independent nodes ------------------------------------------- */

static int zone_nodes(const struct place_host *h, size_t n, const char *az)
{
    int used = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].az, az) == 0) used += h[i].cluster_nodes;
    return used;
}

/* Negative when a is the better host for the next node. */
static int compare_spread(const struct place_host *h, size_t n, size_t a, size_t b)
{
    int za = zone_nodes(h, n, h[a].az), zb = zone_nodes(h, n, h[b].az);
    if (za != zb) return za - zb;
    if (h[a].cluster_nodes != h[b].cluster_nodes) return h[a].cluster_nodes - h[b].cluster_nodes;
    if (h[a].free_mb != h[b].free_mb) return h[a].free_mb > h[b].free_mb ? -1 : 1;
    return strcmp(h[a].id, h[b].id);
}

enum place_result place_spread(struct place_host *hosts, size_t nhosts, int count, long long memory_mb, int *out,
                               char *err, size_t errlen)
{
    int up = 0;
    for (size_t i = 0; i < nhosts; i++) up += hosts[i].up;
    if (count <= 0) return PLACE_OK;
    if (up == 0) {
        snprintf(err, errlen, "no hosts are up");
        return PLACE_NO_HOSTS;
    }
    struct place_host *h = copy_hosts(hosts, nhosts, err, errlen);
    if (h == NULL) return PLACE_NO_MEMORY;
    for (int k = 0; k < count; k++) {
        int best = -1;
        for (size_t i = 0; i < nhosts; i++) {
            if (!h[i].up || h[i].free_mb < memory_mb) continue;
            if (best < 0 || compare_spread(h, nhosts, i, (size_t)best) < 0) best = (int)i;
        }
        if (best < 0) {
            snprintf(err, errlen, "not enough memory: %d node(s) of %lld MB do not fit on the %d host(s) that are up",
                     count, memory_mb, up);
            free(h);
            return PLACE_NO_MEMORY;
        }
        out[k] = best;
        h[best].cluster_nodes++;
        h[best].free_mb -= memory_mb;
    }
    memcpy(hosts, h, nhosts * sizeof(*h));
    free(h);
    return PLACE_OK;
}
