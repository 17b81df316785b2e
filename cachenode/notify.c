/* notify.c: keyspace notifications. Delivery arrives with pub/sub; until
 * then no class can be configured, so there is nothing to publish. */
#include "notify.h"

void notify_keyspace_event(int type, const char *event, const char *key, size_t keylen, int dbid)
{
    (void)type, (void)event, (void)key, (void)keylen, (void)dbid;
}
