/* slots.c: hash slots as text ranges (see slots.h). */
#include "slots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int slots_spread(int nshards, int index, int *first, int *last)
{
    if (nshards < 1 || nshards > SLOTS_COUNT || index < 0 || index >= nshards) return -1;
    int base = SLOTS_COUNT / nshards, extra = SLOTS_COUNT % nshards;
    *first = index * base + (index < extra ? index : extra);
    *last = *first + base + (index < extra ? 1 : 0) - 1;
    return 0;
}

/* A slot number of 1 to 5 digits below SLOTS_COUNT; advances *p. */
static int number(const char **p, int *out)
{
    int v = 0, digits = 0;
    while (**p >= '0' && **p <= '9' && digits <= 5) {
        v = v * 10 + (**p - '0');
        (*p)++;
        digits++;
    }
    if (digits == 0 || digits > 5 || v >= SLOTS_COUNT) return -1;
    *out = v;
    return 0;
}

int slots_parse(const char *text, unsigned char *owned)
{
    if (strlen(text) > SLOTS_TEXT_MAX) return -1;
    if (strcmp(text, "-") == 0) return 0;
    for (const char *p = text;;) {
        int first, last;
        if (number(&p, &first) != 0) return -1;
        last = first;
        if (*p == '-' && (p++, number(&p, &last) != 0 || last < first)) return -1;
        for (int s = first; s <= last; s++) {
            if (owned[s]) return -1;
            owned[s] = 1;
        }
        if (*p == '\0') return 0;
        if (*p++ != ',') return -1;
    }
}

int slots_format(const unsigned char *owned, char *out, size_t len)
{
    size_t used = 0;
    if (len == 0) return -1;
    out[0] = '\0';
    for (int s = 0; s < SLOTS_COUNT; s++) {
        if (!owned[s]) continue;
        int e = s;
        while (e + 1 < SLOTS_COUNT && owned[e + 1]) e++;
        int n = e > s ? snprintf(out + used, len - used, "%s%d-%d", used ? "," : "", s, e)
                      : snprintf(out + used, len - used, "%s%d", used ? "," : "", s);
        if (n < 0 || (size_t)n >= len - used) return -1;
        used += (size_t)n;
        s = e;
    }
    if (used == 0) return snprintf(out, len, "-") < (int)len ? 0 : -1;
    return 0;
}

int slots_count(const char *text)
{
    unsigned char *owned = malloc(SLOTS_COUNT);
    if (owned == NULL) return -1;
    int n = -1;
    memset(owned, 0, SLOTS_COUNT);
    if (slots_parse(text, owned) == 0) {
        n = 0;
        for (int s = 0; s < SLOTS_COUNT; s++) n += owned[s];
    }
    free(owned);
    return n;
}
