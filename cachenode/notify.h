/* notify.h: keyspace notifications (notify-keyspace-events). A command that
 * changes a key calls notify_keyspace_event once per event, after the change,
 * with the event's class and Redis's event name ("hset", "lpush", "del",
 * "expired", ...); the node publishes __keyspace@<db>__:<key> and
 * __keyevent@<db>__:<event> when the configured classes ask for it. */
#ifndef CN_NOTIFY_H
#define CN_NOTIFY_H

#include <stddef.h>

/* Event classes, one letter each in notify-keyspace-events. */
#define NOTIFY_KEYSPACE (1 << 0)  /* K */
#define NOTIFY_KEYEVENT (1 << 1)  /* E */
#define NOTIFY_GENERIC (1 << 2)   /* g: DEL, EXPIRE, RENAME, ... */
#define NOTIFY_STRING (1 << 3)    /* $ */
#define NOTIFY_LIST (1 << 4)      /* l */
#define NOTIFY_SET (1 << 5)       /* s */
#define NOTIFY_HASH (1 << 6)      /* h */
#define NOTIFY_ZSET (1 << 7)      /* z */
#define NOTIFY_EXPIRED (1 << 8)   /* x */
#define NOTIFY_EVICTED (1 << 9)   /* e */
#define NOTIFY_STREAM (1 << 10)   /* t */
#define NOTIFY_KEY_MISS (1 << 11) /* m (not part of A) */
#define NOTIFY_MODULE (1 << 13)   /* d */
#define NOTIFY_NEW (1 << 14)      /* n (not part of A) */

void notify_keyspace_event(int type, const char *event, const char *key, size_t keylen, int dbid);

/* The notify-keyspace-events parameter (config.c's table calls these). */
int notify_config_set(char **words, int n, const char **err);
void notify_config_get(char *buf, size_t size);

#endif
