/* ports.h: the host's port range (--ports FIRST-LAST) and picking a free
 * port in it for a new node. Pure, apart from the optional probe. */
#ifndef CF_AGENT_PORTS_H
#define CF_AGENT_PORTS_H

#include <stddef.h>

struct port_range {
    int first, last;
};

/* Parses "7000-7999" (or a single "7000"). Returns 0 or -1. */
int ports_parse_range(const char *text, struct port_range *out);
int ports_in_range(const struct port_range *r, int port);

/* Returns 1 when something else may use port (the probe says so). */
typedef int port_probe(int port, void *ctx);

/* Picks the lowest port in r not in used[0..nused) for which probe (if not
 * NULL) reports it free. Returns the port, or 0 when none is left. */
int ports_pick(const struct port_range *r, const int *used, size_t nused, port_probe *busy, void *ctx);

/* A probe that tries to bind addr:port (TCP); 1 when that fails. */
int ports_probe_bind(int port, void *addr);

#endif
