/* ports.c: port range parsing and free-port picking (see ports.h). */
#include "ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse_port(const char *s, const char *end, int *out)
{
    if (s == end || end - s > 5) return -1;
    int v = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
    }
    if (v < 1 || v > 65535) return -1;
    *out = v;
    return 0;
}

int ports_parse_range(const char *text, struct port_range *out)
{
    const char *dash = strchr(text, '-');
    const char *end = text + strlen(text);
    if (dash == NULL) {
        if (parse_port(text, end, &out->first)) return -1;
        out->last = out->first;
        return 0;
    }
    if (parse_port(text, dash, &out->first) || parse_port(dash + 1, end, &out->last)) return -1;
    return out->first <= out->last ? 0 : -1;
}

int ports_in_range(const struct port_range *r, int port) { return port >= r->first && port <= r->last; }

static int port_used(const int *used, size_t nused, int port)
{
    for (size_t i = 0; i < nused; i++)
        if (used[i] == port) return 1;
    return 0;
}

int ports_pick(const struct port_range *r, const int *used, size_t nused, port_probe *busy, void *ctx)
{
    for (int p = r->first; p <= r->last; p++) {
        if (port_used(used, nused, p)) continue;
        if (busy && busy(p, ctx)) continue;
        return p;
    }
    return 0;
}

int ports_probe_bind(int port, void *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 1;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)); /* as the node will */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (addr == NULL || inet_pton(AF_INET, addr, &sa.sin_addr) != 1) sa.sin_addr.s_addr = htonl(INADDR_ANY);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    return rc != 0;
}
