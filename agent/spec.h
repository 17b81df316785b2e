/* spec.h: a node's desired state as the controller sends it in
 * PUT /v1/nodes/{id}: parsing and validation of the JSON body, comparison,
 * and the JSON forms used on disk and in GET replies. Pure functions. */
#ifndef CF_AGENT_SPEC_H
#define CF_AGENT_SPEC_H

#include <jansson.h>
#include <stddef.h>

#include "discovery.h"
#include "engine_caps.h"
#include "topology.h"

#define SPEC_NAME_MAX 64
#define SPEC_HOST_MAX 256
#define SPEC_TOKEN_MIN 16
#define SPEC_TOKEN_MAX 128
#define SPEC_POLICY_MAX 32

/* A memcached node, which has no replicas, runs as a primary. */
enum node_role { ROLE_PRIMARY = 0, ROLE_REPLICA };

struct node_spec {
    char id[SPEC_NAME_MAX + 1];
    char cluster[SPEC_NAME_MAX + 1];
    char shard[SPEC_NAME_MAX + 1];
    enum node_role role;
    enum engine_id engine;     /* what it can do: engine_get(engine) */
    long long memory_mb;
    int port;                  /* 0: the agent picks one */
    char primary_host[SPEC_HOST_MAX + 1];
    int primary_port;          /* replicas only */
    char auth_token[SPEC_TOKEN_MAX + 1]; /* "" when none; never logged */
    char eviction_policy[SPEC_POLICY_MAX + 1];
    long long generation;
    int cluster_mode;          /* launched with --cluster-enabled yes; immutable */
    /* Cluster mode: the routing table to apply (NULL: none yet). Owned by
     * the spec it was parsed into; a copy of a spec by value only borrows
     * it (see spec_release and spec_move). */
    struct topology *topology;
    /* Engines with discovery: the node list it serves (NULL: none yet),
     * owned like the topology. */
    struct discovery *discovery;
};

/* A node id, cluster or shard name: [A-Za-z0-9_-], 1..64, not starting with
 * '-' (ids are file and directory names and appear in argv). */
int spec_valid_name(const char *s);
/* A host name or IP literal for the primary's address. */
int spec_valid_host(const char *s);

/* Parses and validates body for node id. Returns 0, or -1 with a message for
 * a 400 InvalidParameterValue reply in err. */
int spec_parse(const char *id, const json_t *body, struct node_spec *out, char *err, size_t errlen);

/* Frees what the spec owns (its topology and discovery list). */
void spec_release(struct node_spec *s);
/* *dst = *src, releasing dst's topology and list first; src no longer owns them. */
void spec_move(struct node_spec *dst, struct node_spec *src);

/* 1 when a and b ask for the same node; a's port 0 matches any port. */
int spec_same(const struct node_spec *a, const struct node_spec *b);

/* JSON of the spec. with_secret adds auth_token and the whole topology (disk
 * form); without them the reply carries "auth": true|false and the
 * topology's "desired_topology_epoch" (the API form). */
json_t *spec_to_json(const struct node_spec *s, int with_secret);

const char *spec_role_name(enum node_role r);
const char *spec_engine_name(enum engine_id e);

#endif
