/* cluster_topo.h: the cluster topology as CLUSTER SETTOPOLOGY gives it
 * (docs/cluster.md): parsing and validating its arguments, its canonical
 * text (the cluster-config-file's content, also how two topologies are
 * compared), and finding a node in it. No server state: cluster.c keeps the
 * topology a node runs. */
#ifndef CN_CLUSTER_TOPO_H
#define CN_CLUSTER_TOPO_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"
#include "slot.h"

#define TOPO_NAME_MAX 64     /* controller ids: [A-Za-z0-9_-]{1,64} */
#define TOPO_HOST_MAX 255
#define TOPO_MAX_NODES 4096  /* in the whole topology */
#define TOPO_MAX_SHARD_NODES 64
#define TOPO_FILE_MAGIC "cachenode-topology-v1"

struct topo_node {
    char name[TOPO_NAME_MAX + 1];
    char id[41]; /* SHA-1 of name, as CLUSTER replies show it */
    char host[TOPO_HOST_MAX + 1];
    int port;
};

struct topo_shard {
    char name[TOPO_NAME_MAX + 1];
    char id[41];
    int nnodes; /* the first is the primary */
    struct topo_node *nodes;
};

struct topology {
    long long epoch; /* 0: none applied */
    int nshards;
    struct topo_shard *shards;
    int16_t owner[CLUSTER_SLOTS]; /* shard index, -1 for none */
};

/* An empty topology: epoch 0, no shards, no slot owned. */
void topology_init(struct topology *t);
/* Parses SETTOPOLOGY's arguments (from the epoch on) into t, which the
 * caller frees with topology_free in any case. Returns 0, or -1 with the
 * reason (an error reply's text, "ERR ...") in err. */
int topology_parse(const arg *argv, int argc, struct topology *t, char *err, size_t errlen);
/* Frees what t holds and leaves it empty (topology_init). */
void topology_free(struct topology *t);
/* The canonical text: magic, then the arguments, one shard per line, slots
 * as merged ranges. zmalloc'd, NUL-terminated. */
char *topology_text(const struct topology *t, size_t *len);
/* Parses a topology_text back (the config file); -1 with err when bad. */
int topology_parse_text(const char *text, size_t len, struct topology *t, char *err, size_t errlen);
/* The shard holding the node named `name` and its index there, or -1. */
int topology_find_node(const struct topology *t, const char *name, int *index);
/* The shard's next run of slots at or after *from: [*start, *end]; sets
 * *from past it. Returns 0 when there is none. */
int topology_next_range(const struct topology *t, int shard, int *from, int *start, int *end);

/* A slot list as SETTOPOLOGY's ("0-5,9") into a bitmap; -1 with err. */
int topology_parse_slot_set(const arg *a, unsigned char bits[SLOT_BITMAP_BYTES], char *err, size_t errlen);
/* Whether p is a controller id: [A-Za-z0-9_-]{1,64}. */
int topology_name_ok(const char *p, size_t len);

#endif
