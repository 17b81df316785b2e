/* slowlog.h: the slow log (SLOWLOG GET/LEN/RESET, slowlog-* settings). */
#ifndef CN_SLOWLOG_H
#define CN_SLOWLOG_H

struct client;
/* Records the command the client just ran if it took long enough. */
void slowlog_maybe_add(struct client *c, long long duration_us);
/* Drops the oldest entries beyond slowlog-max-len (after CONFIG SET). */
void slowlog_trim(void);
/* Whether argument i of the client's command is a secret shown as
 * "(redacted)" (AUTH, HELLO AUTH, CONFIG SET of a password). */
int arg_is_secret(const struct client *c, int i);
/* SLOWLOG subcommands. */
void slowlog_get_command(struct client *c);
void slowlog_len_command(struct client *c);
void slowlog_reset_command(struct client *c);
void slowlog_help_command(struct client *c);

#endif
