/* slowlog.h: the slow log (SLOWLOG GET/LEN/RESET, slowlog-* settings). */
#ifndef CN_SLOWLOG_H
#define CN_SLOWLOG_H

struct client;
/* Records the command the client just ran if it took long enough. */
void slowlog_maybe_add(struct client *c, long long duration_us);
void slowlog_trim(void);

#endif
