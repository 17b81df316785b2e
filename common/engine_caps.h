/* engine_caps.h: what each cache engine can do, in one table. The agent and the
 * controller ask this table instead of comparing engine names: which
 * protocol flag a node is started with, whether the engine has replicas,
 * failover, shards, cluster mode, auth and eviction policies, how a node is
 * health-checked, where its metrics come from, and whether its nodes serve
 * a discovery list (memcached's Auto Discovery). Pure data and lookups;
 * the wire side is in engine_io.h. */
#ifndef CF_ENGINE_CAPS_H
#define CF_ENGINE_CAPS_H

enum engine_id { ENGINE_REDIS = 0, ENGINE_MEMCACHED, ENGINE_COUNT };

/* How requests travel to a node: RESP arrays, or memcached's text lines. */
enum engine_wire { WIRE_RESP = 0, WIRE_TEXT };

/* Where a node's observations come from: INFO (+ ROLE), or memcached's stats. */
enum engine_metrics { METRICS_INFO = 0, METRICS_STATS };

struct engine_caps {
    enum engine_id id;
    const char *name;              /* in the API, the database and node specs */
    const char *protocol;          /* cachenode --protocol value; NULL: the default, not passed */
    enum engine_wire wire;
    int replicas;                  /* a node can replicate from a primary */
    int failover;                  /* a lost primary is replaced by promoting a replica */
    int shards;                    /* "shards" and "replicas" describe a cluster */
    int cluster_mode;              /* Redis Cluster (slots, MOVED) */
    int auth;                      /* an auth token (AUTH/requirepass) */
    int eviction_policies;         /* maxmemory-policy can be chosen */
    int discovery;                 /* nodes serve the cluster's node list (config get cluster) */
    int sentinel;                  /* served on the controller's Sentinel port */
    int restart_in_place;          /* a crashed node (any role) may be relaunched empty by its agent */
    int min_nodes, max_nodes;      /* "nodes" at create and resize; 0 when the engine has no such count */
    const char *health_request;    /* RESP: the command; TEXT: the line, with its \r\n */
    const char *health_reply;      /* the reply's expected start; NULL: any reply proves the node serves */
    enum engine_metrics metrics;
};

/* NULL when the name is not a known engine. */
const struct engine_caps *engine_by_name(const char *name);
/* id must be < ENGINE_COUNT. */
const struct engine_caps *engine_get(enum engine_id id);
/* "'redis' or 'memcached'", for error messages. */
const char *engine_names(void);

/* A capability by its name ("replicas", "failover", "discovery", ...,
 * "nodes": sized by a node count instead of shards and replicas), so
 * that SQL and JSON can ask the table; -1 for an unknown engine or name. */
int engine_can(const char *engine, const char *capability);

#endif
