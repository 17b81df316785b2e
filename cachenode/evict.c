/* evict.c: maxmemory enforcement. */
#include "server.h"

int evict_to_fit(void) { return (long long)zmalloc_used() > server.maxmemory ? -1 : 0; }
