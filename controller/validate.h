/* validate.h: the user API's request bodies: parsing and validation of
 * create and modify requests. Pure functions, unit-tested. */
#ifndef CF_CTL_VALIDATE_H
#define CF_CTL_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

#define VALIDATE_TOKEN_MIN 16
#define VALIDATE_TOKEN_MAX 128

struct create_request {
    char name[41];
    char engine[16];
    int shards;
    int replicas;
    long long node_memory_mb;
    int cluster_mode;
    char eviction_policy[32];
    char auth_token[VALIDATE_TOKEN_MAX + 1]; /* "" when none; never logged */
    int nodes;                 /* an engine without shards (memcached): its node count; else 0 */
};

struct modify_request {
    int replicas;              /* -1: unchanged */
    int shards;                /* -1: unchanged; cluster mode's resharding (not supported yet) */
    long long node_memory_mb;  /* -1: unchanged */
    int nodes;                 /* -1: unchanged; memcached's node count (its range is the engine's) */
};

/* A cluster name: [a-z0-9-]{1,40}. */
int valid_cluster_name(const char *s);

/* Parses a POST /v1/clusters body. 0, or -1 with a sentence for a 400.
 * What the body may hold depends on the engine (engine_caps.h): shards and
 * replicas, cluster_mode, auth_token and eviction_policy for an engine that
 * has them; "nodes" in the engine's range for one without shards. */
int parse_create(const char *body, struct create_request *out, char *err, size_t errlen);
/* Parses a PATCH /v1/clusters/{name} body (exactly one field). */
int parse_modify(const char *body, struct modify_request *out, char *err, size_t errlen);

#endif
