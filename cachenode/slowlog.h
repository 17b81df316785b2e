/* slowlog.h: the slow log (SLOWLOG GET/LEN/RESET, slowlog-* settings). */
#ifndef CN_SLOWLOG_H
#define CN_SLOWLOG_H

struct client;
/* Records the command the client just ran if it took long enough. */
void slowlog_maybe_add(struct client *c, long long duration_us);
/* Drops the oldest entries beyond slowlog-max-len (after CONFIG SET). */
void slowlog_trim(void);
/* SLOWLOG subcommands. */
void slowlog_get_command(struct client *c);
void slowlog_len_command(struct client *c);
void slowlog_reset_command(struct client *c);
void slowlog_help_command(struct client *c);

#endif
