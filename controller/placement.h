/* placement.h: where new nodes go. A pure function over a snapshot of the
 * hosts, so it is unit-tested without a database or agents. */
#ifndef CF_CTL_PLACEMENT_H
#define CF_CTL_PLACEMENT_H

#include <stddef.h>

#define PLACE_ID_MAX 64

struct place_host {
    char id[PLACE_ID_MAX + 1];
    char az[PLACE_ID_MAX + 1];
    int up;                    /* only hosts that are up take nodes */
    long long free_mb;         /* capacity minus what is reserved */
    int primaries;             /* primaries it already runs (any cluster) */
    int in_shard;              /* already runs a node of the shard being placed */
    int cluster_nodes;         /* nodes of the cluster being placed it runs (place_spread) */
};

enum place_result { PLACE_OK = 0, PLACE_NO_HOSTS = 422, PLACE_NO_MEMORY = 507 };

/* Places `count` new nodes of one shard, each of memory_mb; the first is the
 * primary when first_is_primary. Rules, in order: distinct hosts within the
 * shard; distinct zones within the shard while a zone is unused; for a
 * primary, the zone and then the host with the fewest primaries; then the
 * most free memory; then the host id (deterministic). Writes host indexes
 * to out[count]. hosts[] is updated (free_mb, primaries, in_shard) only on
 * success. On failure returns why, with a sentence in err. */
enum place_result place_shard(struct place_host *hosts, size_t nhosts, int count, int first_is_primary,
                              long long memory_mb, int *out, char *err, size_t errlen);

/* Places nshards new shards of `count` nodes each (the first of each a
 * primary), one shard after the other on one snapshot, with place_shard's
 * rules: each shard's nodes on distinct hosts (and zones while one is
 * unused), and every primary where the earlier shards left the fewest. Shard
 * s's nodes go to out[s * count ...]. All or nothing: on failure hosts[] is
 * unchanged and err names the shard that did not fit. hosts[].in_shard must
 * be 0 (the shards are new). */
enum place_result place_shards(struct place_host *hosts, size_t nhosts, int nshards, int count,
                               long long memory_mb, int *out, char *err, size_t errlen);

/* Places `count` nodes of a cluster whose nodes are independent (memcached:
 * no shards, no replicas), as ElastiCache spreads them: each node to the
 * zone with the fewest of the cluster's nodes, then the host of that zone
 * with the fewest, then the most free memory, then the host id. Several
 * nodes may share a host. All or nothing, like place_shard; hosts[] is
 * updated (free_mb, cluster_nodes) only on success. */
enum place_result place_spread(struct place_host *hosts, size_t nhosts, int count, long long memory_mb, int *out,
                               char *err, size_t errlen);

#endif
