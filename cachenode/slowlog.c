/* slowlog.c: the slow log. */
#include "server.h"
#include "slowlog.h"

void slowlog_maybe_add(struct client *c, long long duration_us) { (void)c; (void)duration_us; }
void slowlog_trim(void) {}
