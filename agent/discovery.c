/* discovery.c: a memcached node's Auto Discovery list (see discovery.h). */
#include "discovery.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
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

char *discovery_file_text(const struct discovery *d)
{
    size_t cap = strlen(d->text) + 32;
    char *out = malloc(cap);
    if (out && snprintf(out, cap, "%lld\n%s\n", d->version, d->text) >= (int)cap) {
        free(out);
        out = NULL;
    }
    return out;
}

/* 1 when the file at path holds exactly text. */
static int file_holds(const char *path, const char *text)
{
    size_t want = strlen(text);
    FILE *f = fopen(path, "re");
    if (f == NULL) return 0;
    char *buf = malloc(want + 2);
    size_t got = buf ? fread(buf, 1, want + 1, f) : 0;
    fclose(f);
    int same = buf && got == want && memcmp(buf, text, want) == 0;
    free(buf);
    return same;
}

int discovery_write_file(const char *dir, const struct discovery *d)
{
    char path[1200], tmp[1220];
    char *text = discovery_file_text(d);
    if (text == NULL || snprintf(path, sizeof(path), "%s/%s", dir, DISCOVERY_FILE) >= (int)sizeof(path)) {
        free(text);
        return -1;
    }
    if (file_holds(path, text)) {
        free(text);
        return 0;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    int rc = fd >= 0 ? write_all(fd, text, strlen(text)) : -1;
    if (fd >= 0 && close(fd) != 0) rc = -1;
    if (rc == 0 && rename(tmp, path) != 0) rc = -1;
    if (rc != 0) unlink(tmp);
    free(text);
    return rc == 0 ? 1 : -1;
}

/* "CONFIG cluster 0 <bytes>\r\n<version>\n<list>\n\r\nEND" */
long long discovery_served_version(const char *reply)
{
    if (reply == NULL || strncmp(reply, "CONFIG cluster ", 15) != 0) return -1;
    const char *eol = strstr(reply, "\r\n");
    if (eol == NULL) return -1;
    char *end;
    long long v = strtoll(eol + 2, &end, 10);
    return end == eol + 2 || *end != '\n' ? -1 : v;
}
