/* log.c: leveled logging to a file or stderr (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static FILE *log_file;
static enum log_level min_level = LOG_NOTICE;
static char log_role = 'M';

static const char *level_names[] = {"debug", "verbose", "notice", "warning"};
static const char level_marks[] = {'.', '-', '*', '#'};

int log_set_file(const char *path)
{
    if (path == NULL || path[0] == '\0') {
        if (log_file) fclose(log_file);
        log_file = NULL;
        return 0;
    }
    FILE *f = fopen(path, "a");
    if (f == NULL) return -1;
    setvbuf(f, NULL, _IOLBF, 0);
    if (log_file) fclose(log_file);
    log_file = f;
    return 0;
}

void log_set_level(enum log_level level) { min_level = level; }
void log_set_role(char role) { log_role = role; }

int log_level_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, level_names[i]) == 0) return i;
    return -1;
}

const char *log_level_name(enum log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "notice";
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < min_level) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char when[64];
    size_t n = strftime(when, sizeof(when), "%d %b %Y %H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03d", (int)(tv.tv_usec / 1000));

    FILE *out = log_file ? log_file : stderr;
    fprintf(out, "%d:%c %s %c %s\n", (int)getpid(), log_role, when,
            level_marks[level], msg);
}
