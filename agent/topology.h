/* topology.h: a cluster-mode node's routing table as the controller sends it
 * in the node spec ("topology", docs/cluster.md): parsing and validation,
 * the JSON form, and the CLUSTER SETTOPOLOGY argument vector, which is also
 * how a topology is kept. Pure functions; a topology never changes after
 * it is built (a new spec brings a new one). */
#ifndef CF_AGENT_TOPOLOGY_H
#define CF_AGENT_TOPOLOGY_H

#include <jansson.h>
#include <stddef.h>

#define TOPO_MAX_SHARDS 1024
#define TOPO_MAX_SHARD_NODES 16
#define TOPO_MAX_NODES 4096
#define TOPO_EPOCH_MAX (1LL << 53)

struct topology {
    long long epoch;
    int argc;
    /* CLUSTER SETTOPOLOGY <epoch> <shard-count>
     *   {<shard-id> <slots> <node-count> {<node-id> <host> <port>}...}...
     * The pointers and the strings share one allocation. */
    const char **argv;
};

/* Parses and validates {"epoch", "shards":[{"id","slots","nodes":[{"id",
 * "host","port"}]}]}: bounded counts, names [A-Za-z0-9_-]{1,64}, unique
 * shard and node ids, slots as "0-5460,5462" or "-" (slots.h) with no
 * slot in two shards. NULL with a sentence in err when it is not acceptable. */
struct topology *topology_parse(const json_t *v, char *err, size_t errlen);
struct topology *topology_dup(const struct topology *t);
void topology_free(struct topology *t);
/* 1 when both are NULL or hold the same epoch and content. */
int topology_equal(const struct topology *a, const struct topology *b);
/* The JSON form topology_parse takes (for the spec file). */
json_t *topology_to_json(const struct topology *t);

#endif
