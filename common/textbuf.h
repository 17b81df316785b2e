/* textbuf.h: a growable text buffer filled with printf-style calls, for
 * building HTTP bodies such as the Prometheus /metrics page. An allocation
 * failure is remembered and reported once, at the end. */
#ifndef CF_TEXTBUF_H
#define CF_TEXTBUF_H

#include <stddef.h>

struct textbuf {
    char *buf;
    size_t len, cap;
    int failed;
};

/* Returns 0, or -1 when the first allocation fails. */
int textbuf_init(struct textbuf *t, size_t cap);
void textbuf_printf(struct textbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text (the caller frees it), or NULL if any append failed. */
char *textbuf_finish(struct textbuf *t);

#endif
