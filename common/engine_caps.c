/* engine_caps.c: the engine-capability table (see engine_caps.h). Adding an engine is
 * adding a row here and, if it speaks a new wire, a case in engine_io.c. */
#include "engine_caps.h"

#include <stddef.h>
#include <string.h>

static const struct engine_caps engines[ENGINE_COUNT] = {
    [ENGINE_REDIS] = {
        .id = ENGINE_REDIS, .name = "redis", .protocol = NULL, .wire = WIRE_RESP,
        .replicas = 1, .failover = 1, .shards = 1, .cluster_mode = 1, .auth = 1, .eviction_policies = 1,
        .discovery = 0, .sentinel = 1, .restart_in_place = 0, .min_nodes = 0, .max_nodes = 0,
        .health_request = "PING", .health_reply = NULL, .metrics = METRICS_INFO,
    },
    /* ElastiCache for Memcached: 1-40 independent nodes, no replicas; a
     * lost node is replaced by a new one, which clients learn through Auto
     * Discovery. A restart in place would bring the node back empty under
     * the same address without the list changing: the controller replaces
     * it instead, so that clients see the change. Both engines change a
     * node's memory live (CONFIG SET maxmemory; memcached's cache_memlimit). */
    [ENGINE_MEMCACHED] = {
        .id = ENGINE_MEMCACHED, .name = "memcached", .protocol = "memcached", .wire = WIRE_TEXT,
        .replicas = 0, .failover = 0, .shards = 0, .cluster_mode = 0, .auth = 0, .eviction_policies = 0,
        .discovery = 1, .sentinel = 0, .restart_in_place = 0, .min_nodes = 1, .max_nodes = 40,
        .health_request = "version\r\n", .health_reply = "VERSION ", .metrics = METRICS_STATS,
    },
};

const struct engine_caps *engine_by_name(const char *name)
{
    for (int i = 0; name && i < ENGINE_COUNT; i++)
        if (strcmp(engines[i].name, name) == 0) return &engines[i];
    return NULL;
}

const struct engine_caps *engine_get(enum engine_id id) { return &engines[id]; }

const char *engine_names(void) { return "'redis' or 'memcached'"; }

int engine_can(const char *engine, const char *capability)
{
    const struct engine_caps *e = engine_by_name(engine);
    if (e == NULL || capability == NULL) return -1;
    static const struct { const char *name; size_t offset; } flags[] = {
        {"replicas", offsetof(struct engine_caps, replicas)},
        {"failover", offsetof(struct engine_caps, failover)},
        {"shards", offsetof(struct engine_caps, shards)},
        {"cluster_mode", offsetof(struct engine_caps, cluster_mode)},
        {"auth", offsetof(struct engine_caps, auth)},
        {"eviction_policies", offsetof(struct engine_caps, eviction_policies)},
        {"discovery", offsetof(struct engine_caps, discovery)},
        {"sentinel", offsetof(struct engine_caps, sentinel)},
        {"restart_in_place", offsetof(struct engine_caps, restart_in_place)},
    };
    if (strcmp(capability, "nodes") == 0) return e->max_nodes > 0; /* a node count instead of shards */
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (strcmp(flags[i].name, capability) == 0) return *(const int *)((const char *)e + flags[i].offset);
    return -1;
}
