/* discovery.h: the node list a memcached node serves to Auto Discovery
 * clients (`config get cluster`), as the controller sends it in the node
 * spec: {"version": V, "nodes": ["host|ip|port", ...]}. Parsing and
 * validation, the JSON form, and how cachenode is handed the list (its
 * discovery file) and says which version it serves. A list never changes
 * after it is built (a new spec brings a new one). */
#ifndef CF_AGENT_DISCOVERY_H
#define CF_AGENT_DISCOVERY_H

#include <jansson.h>
#include <stddef.h>

#define DISCOVERY_MAX_NODES 256
#define DISCOVERY_VERSION_MAX (1LL << 53)

struct discovery {
    long long version;
    int count;
    char *text;                /* "host|ip|port host|ip|port ..." (config get cluster's second line) */
};

/* NULL with a sentence in err when v is not an acceptable list: version
 * 1.., at most DISCOVERY_MAX_NODES entries of host|ip|port with host and ip
 * of [A-Za-z0-9.:_-] (ip may be empty) and a port 1..65535, none twice. */
struct discovery *discovery_parse(const json_t *v, char *err, size_t errlen);
struct discovery *discovery_dup(const struct discovery *d);
void discovery_free(struct discovery *d);
/* 1 when both are NULL or hold the same version and list. */
int discovery_equal(const struct discovery *a, const struct discovery *b);
json_t *discovery_to_json(const struct discovery *d);

/* How cachenode is told its list (mc-engine): the file named by its
 * --discovery-file holds "<version>\n<host|ip|port ...>\n"; the node reads
 * it at start-up, on SIGHUP and when the file changes, and serves it to
 * `config get cluster`. These are the only places that know it. */
#define DISCOVERY_FILE "discovery"
/* The file's text, malloc'd. */
char *discovery_file_text(const struct discovery *d);
/* Writes the file in dir unless it holds d already (rename over it, so the
 * node never reads half a file): 1 written, 0 it was there, -1 error. */
int discovery_write_file(const char *dir, const struct discovery *d);
/* The version a `config get cluster` reply serves; -1 when it is not one. */
long long discovery_served_version(const char *reply);

#endif
