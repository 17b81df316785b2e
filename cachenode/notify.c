/* notify.c: keyspace notifications: the notify-keyspace-events parameter
 * (Redis's class letters, parsed and rendered as Redis does) and delivery
 * of each event as pub/sub messages on __keyspace@<db>__:<key> (the event
 * name as message) and __keyevent@<db>__:<event> (the key as message). */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "notify.h"
#include "pubsub.h"

/* "A": every class but key-miss and new-key. */
#define NOTIFY_ALL (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET | \
                    NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE)

static int notify_flags; /* the configured classes; 0: notifications off */

/* Class letters in the order CONFIG GET renders them. */
static const struct {
    char letter;
    int flag;
} class_letters[] = {
    {'g', NOTIFY_GENERIC}, {'$', NOTIFY_STRING},  {'l', NOTIFY_LIST},    {'s', NOTIFY_SET},
    {'h', NOTIFY_HASH},    {'z', NOTIFY_ZSET},    {'x', NOTIFY_EXPIRED}, {'e', NOTIFY_EVICTED},
    {'t', NOTIFY_STREAM},  {'d', NOTIFY_MODULE},  {'n', NOTIFY_NEW},
};
#define CLASS_LETTERS (sizeof(class_letters) / sizeof(class_letters[0]))

static int letter_flag(char ch)
{
    switch (ch) {
    case 'A': return NOTIFY_ALL;
    case 'K': return NOTIFY_KEYSPACE;
    case 'E': return NOTIFY_KEYEVENT;
    case 'm': return NOTIFY_KEY_MISS;
    default: break;
    }
    for (size_t i = 0; i < CLASS_LETTERS; i++)
        if (class_letters[i].letter == ch) return class_letters[i].flag;
    return 0;
}

int notify_config_set(char **words, int n, const char **err)
{
    int flags = 0;
    /* a value with blanks arrives split: a blank is no class letter */
    for (int w = 0; w < n && flags >= 0; w++) {
        if (n > 1) flags = -1;
        for (const char *p = words[w]; *p && flags >= 0; p++) {
            int f = letter_flag(*p);
            flags = f ? flags | f : -1;
        }
    }
    if (flags < 0) {
        *err = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
        return -1;
    }
    notify_flags = flags;
    return 0;
}

void notify_config_get(char *buf, size_t size)
{
    char s[32];
    size_t n = 0;
    if ((notify_flags & NOTIFY_ALL) == NOTIFY_ALL) {
        s[n++] = 'A';
    } else {
        for (size_t i = 0; i < CLASS_LETTERS; i++)
            if (notify_flags & class_letters[i].flag) s[n++] = class_letters[i].letter;
    }
    if (notify_flags & NOTIFY_KEYSPACE) s[n++] = 'K';
    if (notify_flags & NOTIFY_KEYEVENT) s[n++] = 'E';
    if (notify_flags & NOTIFY_KEY_MISS) s[n++] = 'm';
    s[n] = '\0';
    snprintf(buf, size, "%s", s);
}

/* "__<kind>@<db>__:<name>" in buf, or in an allocation when it does not
 * fit; the caller frees it when it is not buf. */
static char *channel_name(char *buf, size_t size, const char *kind, int dbid, const char *name, size_t len,
                          size_t *out_len)
{
    char prefix[48];
    int plen = snprintf(prefix, sizeof(prefix), "__%s@%d__:", kind, dbid);
    size_t total = (size_t)plen + len;
    char *p = total <= size ? buf : zmalloc(total);
    memcpy(p, prefix, (size_t)plen);
    memcpy(p + plen, name, len);
    *out_len = total;
    return p;
}

static void publish_on(const char *kind, int dbid, const char *name, size_t len, const char *msg, size_t mlen)
{
    char buf[256];
    size_t clen;
    char *channel = channel_name(buf, sizeof(buf), kind, dbid, name, len, &clen);
    pubsub_publish(channel, clen, msg, mlen);
    if (channel != buf) zfree(channel);
}

void notify_keyspace_event(int type, const char *event, const char *key, size_t keylen, int dbid)
{
    if (!(notify_flags & type)) return;
    size_t elen = strlen(event);
    if (notify_flags & NOTIFY_KEYSPACE) publish_on("keyspace", dbid, key, keylen, event, elen);
    if (notify_flags & NOTIFY_KEYEVENT) publish_on("keyevent", dbid, event, elen, key, keylen);
}
