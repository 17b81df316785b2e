/* log.h: leveled logging shared by every cachefleet program.
 * Lines go to the log file when one is set, else to stderr, in the form
 *   pid:role dd Mon yyyy hh:mm:ss.mmm <level> message
 * which is the shape operators know from redis-server. */
#ifndef CF_LOG_H
#define CF_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_VERBOSE, LOG_NOTICE, LOG_WARNING };

/* Returns 0, or -1 if the file cannot be opened (the old target stays). */
int log_set_file(const char *path);
void log_set_level(enum log_level level);
/* Parses "debug", "verbose", "notice", "warning"; -1 when unknown. */
int log_level_from_name(const char *name);
const char *log_level_name(enum log_level level);
void log_set_role(char role);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
