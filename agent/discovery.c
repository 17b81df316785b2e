/* discovery.c: a memcached node's Auto Discovery list (see discovery.h). */
#include "discovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

static void *fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "'discovery': %s", msg);
    return NULL;
}

/* host|ip|port: host a valid host, ip empty or a valid host, port 1..65535. */
static int valid_entry(const char *s)
{
    char host[SPEC_HOST_MAX + 1], ip[SPEC_HOST_MAX + 1];
    const char *a = strchr(s, '|'), *b = a ? strchr(a + 1, '|') : NULL;
    if (a == NULL || b == NULL || strchr(b + 1, '|')) return 0;
    size_t hl = (size_t)(a - s), il = (size_t)(b - a - 1);
    if (hl == 0 || hl > SPEC_HOST_MAX || il > SPEC_HOST_MAX) return 0;
    memcpy(host, s, hl);
    host[hl] = '\0';
    memcpy(ip, a + 1, il);
    ip[il] = '\0';
    if (!spec_valid_host(host) || (il > 0 && !spec_valid_host(ip))) return 0;
    const char *p = b + 1;
    if (*p == '\0' || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p)) return 0;
    long port = strtol(p, NULL, 10);
    return port >= 1 && port <= 65535;
}

struct discovery *discovery_parse(const json_t *v, char *err, size_t errlen)
{
    if (!json_is_object(v)) return fail(err, errlen, "must be an object {version, nodes}");
    static const char *const fields[] = {"version", "nodes", NULL};
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val) {
        int known = 0;
        for (const char *const *f = fields; *f && !known; f++) known = strcmp(*f, key) == 0;
        if (!known) return fail(err, errlen, "unknown field");
    }
    json_t *ver = json_object_get(v, "version"), *nodes = json_object_get(v, "nodes");
    if (!json_is_integer(ver) || json_integer_value(ver) < 1 || json_integer_value(ver) > DISCOVERY_VERSION_MAX)
        return fail(err, errlen, "'version' must be a positive integer");
    if (!json_is_array(nodes) || json_array_size(nodes) > DISCOVERY_MAX_NODES)
        return fail(err, errlen, "'nodes' must be an array of at most 256 \"host|ip|port\"");
    size_t n = json_array_size(nodes), bytes = 1, i;
    json_array_foreach(nodes, i, val) {
        const char *s = json_string_value(val);
        if (s == NULL || strlen(s) != json_string_length(val) || !valid_entry(s))
            return fail(err, errlen, "every node must be \"host|ip|port\"");
        for (size_t j = 0; j < i; j++)
            if (strcmp(s, json_string_value(json_array_get(nodes, j))) == 0) return fail(err, errlen, "a node is listed twice");
        bytes += strlen(s) + 1;
    }
    struct discovery *d = calloc(1, sizeof(*d));
    char *text = malloc(bytes);
    if (d == NULL || text == NULL) {
        free(d);
        free(text);
        return fail(err, errlen, "out of memory");
    }
    size_t used = 0;
    text[0] = '\0';
    json_array_foreach(nodes, i, val) used += (size_t)snprintf(text + used, bytes - used, "%s%s", i ? " " : "", json_string_value(val));
    d->version = json_integer_value(ver);
    d->count = (int)n;
    d->text = text;
    return d;
}

struct discovery *discovery_dup(const struct discovery *d)
{
    if (d == NULL) return NULL;
    struct discovery *c = calloc(1, sizeof(*c));
    if (c == NULL) return NULL;
    *c = *d;
    c->text = strdup(d->text);
    if (c->text == NULL) { free(c); return NULL; }
    return c;
}

void discovery_free(struct discovery *d)
{
    if (d == NULL) return;
    free(d->text);
    free(d);
}

int discovery_equal(const struct discovery *a, const struct discovery *b)
{
    if (a == NULL || b == NULL) return a == b;
    return a->version == b->version && strcmp(a->text, b->text) == 0;
}

json_t *discovery_to_json(const struct discovery *d)
{
    json_t *nodes = json_array();
    char *copy = strdup(d->text), *save = NULL;
    for (char *tok = copy ? strtok_r(copy, " ", &save) : NULL; tok; tok = strtok_r(NULL, " ", &save))
        json_array_append_new(nodes, json_string(tok));
    free(copy);
    return json_pack("{s:I,s:o}", "version", (json_int_t)d->version, "nodes", nodes);
}

/* cachenode's side (mc-engine): `config set cluster 0 <bytes>\r\n<data>\r\n`
 * where data is what `config get cluster` serves: "<version>\n<list>\n",
 * answered with STORED (or OK). */
char *discovery_request(const struct discovery *d, size_t *len)
{
    size_t data = (size_t)snprintf(NULL, 0, "%lld\n%s\n", d->version, d->text);
    size_t cap = data + 64;
    char *out = malloc(cap);
    if (out == NULL) return NULL;
    int n = snprintf(out, cap, "config set cluster 0 %zu\r\n%lld\n%s\n\r\n", data, d->version, d->text);
    if (n < 0 || (size_t)n >= cap) { free(out); return NULL; }
    *len = (size_t)n;
    return out;
}

int discovery_reply_ok(const char *reply)
{
    return reply && (strncmp(reply, "STORED", 6) == 0 || strncmp(reply, "OK", 2) == 0);
}
