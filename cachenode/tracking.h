/* tracking.h: client-side caching (CLIENT TRACKING): which clients read
 * which keys, and the invalidation messages sent when those keys change. */
#ifndef CN_TRACKING_H
#define CN_TRACKING_H

#include <stddef.h>

#include "server.h"

/* A key changed (a write, its expiry or eviction): clients that read it,
 * and BCAST clients of a matching prefix, are told. */
void tracking_invalidate_key(const char *key, size_t len);
/* FLUSHDB / FLUSHALL: every tracking client is told to drop everything. */
void tracking_invalidate_all(void);
/* After a command: remembers the keys a read-only command read for its
 * tracking client; at top level, sends the invalidations held back until
 * the client had its reply and ends CLIENT CACHING's one-command scope. */
void tracking_after_command(client *c, const struct command *cmd, int top_level);
/* Before the event loop sleeps: BCAST invalidations, the table's size limit. */
void tracking_before_sleep(void);
/* Whether tracking_invalidate_key has anyone to tell. */
int tracking_wants_keys(void);
/* RESET and disconnection. */
void tracking_client_reset(client *c);
/* CLIENT LIST's redir field. */
long long tracking_redirect_id(const client *c);
/* INFO's tracking_total_keys, tracking_total_items, tracking_total_prefixes
 * and tracking_clients. */
void tracking_counts(long long *keys, long long *items, long long *prefixes, long long *clients);

void client_tracking_command(client *c);
void client_caching_command(client *c);
void client_trackinginfo_command(client *c);
void client_getredir_command(client *c);

#endif
