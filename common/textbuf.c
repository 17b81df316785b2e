/* textbuf.c: a growable printf buffer (see textbuf.h). */
#include "textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int textbuf_init(struct textbuf *t, size_t cap)
{
    t->buf = malloc(cap);
    t->len = 0;
    t->cap = cap;
    t->failed = t->buf == NULL;
    if (t->buf) t->buf[0] = '\0';
    return t->failed ? -1 : 0;
}

void textbuf_printf(struct textbuf *t, const char *fmt, ...)
{
    if (t->failed) return;
    for (int attempt = 0; attempt < 2; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n + 1;
        char *grown = realloc(t->buf, cap);
        if (grown == NULL) {
            t->failed = 1;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
}

char *textbuf_finish(struct textbuf *t)
{
    if (t->failed) {
        free(t->buf);
        t->buf = NULL;
        return NULL;
    }
    return t->buf;
}
