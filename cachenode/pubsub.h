/* pubsub.h: publish/subscribe. Channels, patterns and shard channels map to
 * their subscribers; a client's subscriptions are kept on the client. Other
 * modules publish through pubsub_publish (keyspace notifications, client
 * tracking's redirect channel). */
#ifndef CN_PUBSUB_H
#define CN_PUBSUB_H

#include <stddef.h>

#include "server.h"

/* Delivers a message to the channel's subscribers and to the subscribers
 * of every pattern that matches it; returns how many received it. */
long long pubsub_publish(const char *channel, size_t clen, const char *msg, size_t mlen);
/* Whether a RESP2 client in subscribed mode may run the command. */
int pubsub_allowed_when_subscribed(const struct command *cmd);
/* RESET and disconnection: drops every subscription, silently. */
void pubsub_client_reset(client *c);
/* CLIENT LIST's sub, psub and ssub. */
void pubsub_client_counts(const client *c, long *sub, long *psub, long *ssub);
/* INFO's pubsub_channels, pubsub_patterns and pubsubshard_channels. */
void pubsub_server_counts(long *channels, long *patterns, long *shard_channels);
/* The client is subscribed to this channel (tracking's redirect target). */
int pubsub_client_subscribed(const client *c, const char *channel, size_t clen);

#endif
