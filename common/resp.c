/* resp.c: RESP2 client with deadlines (see resp.h), and the same socket and
 * buffer for memcached's text protocol. One socket, one growing input
 * buffer, a parser that returns "need more" until a whole reply is in. */
#include "resp.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESP_MAX_BUFFER (8 * 1024 * 1024) /* no reply we ask for is this big */
#define RESP_MAX_DEPTH 8
#define RESP_MAX_ELEMENTS 65536

struct resp_conn {
    int fd;
    char *buf;
    size_t len, cap;
};

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen) snprintf(err, errlen, "%s", msg);
}

/* Waits for fd to become ready for events until deadline; 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, long long deadline_ms)
{
    for (;;) {
        long long left = deadline_ms - mono_ms();
        if (left <= 0) return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
        if (rc > 0) return 1;
        if (rc == 0) continue;
        if (errno != EINTR) return -1;
    }
}

static int connect_one(const struct addrinfo *ai, long long deadline, char *err, size_t errlen)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) { set_err(err, errlen, strerror(errno)); return -1; }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return fd;
    if (errno != EINPROGRESS) { set_err(err, errlen, strerror(errno)); close(fd); return -1; }
    if (wait_fd(fd, POLLOUT, deadline) != 1) { set_err(err, errlen, "connect timeout"); close(fd); return -1; }
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
        set_err(err, errlen, strerror(soerr ? soerr : errno));
        close(fd);
        return -1;
    }
    return fd;
}

struct resp_conn *resp_connect(const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) { set_err(err, errlen, gai_strerror(rc)); return NULL; }
    long long deadline = mono_ms() + timeout_ms;
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) fd = connect_one(ai, deadline, err, errlen);
    freeaddrinfo(res);
    if (fd < 0) return NULL;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* latency hint only */
    struct resp_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) { close(fd); set_err(err, errlen, "out of memory"); return NULL; }
    c->fd = fd;
    return c;
}

void resp_close(struct resp_conn *c)
{
    if (c == NULL) return;
    close(c->fd);
    free(c->buf);
    free(c);
}

static int write_all(int fd, const char *p, size_t n, long long deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) { p += w; n -= (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(fd, POLLOUT, deadline) != 1) return -1;
            continue;
        }
        return -1;
    }
    return 0;
}

int resp_send(struct resp_conn *c, int argc, const char **argv, int timeout_ms)
{
    size_t need = 32;
    for (int i = 0; i < argc; i++) need += strlen(argv[i]) + 32;
    char *out = malloc(need);
    if (out == NULL) return -1;
    size_t n = (size_t)snprintf(out, need, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(argv[i]);
        n += (size_t)snprintf(out + n, need - n, "$%zu\r\n", len);
        memcpy(out + n, argv[i], len);
        n += len;
        memcpy(out + n, "\r\n", 2);
        n += 2;
    }
    int rc = write_all(c->fd, out, n, mono_ms() + timeout_ms);
    free(out);
    return rc;
}

void resp_reply_free(struct resp_reply *r)
{
    if (r == NULL) return;
    for (size_t i = 0; i < r->count; i++) resp_reply_free(r->elements[i]);
    free(r->elements);
    free(r->str);
    free(r);
}

/* n bytes at p and a NUL. Not strndup: the input buffer has no NUL after
 * its data, and strndup's string argument must be a whole C string (ASan's
 * strict_string_checks, as tests/run.sh runs it, reads it to its NUL). */
static char *copy_bytes(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL) return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Parses one reply at p (n bytes). Returns bytes consumed, 0 if incomplete,
 * -1 on a protocol error. */
static long parse_reply(const char *p, size_t n, int depth, struct resp_reply **out)
{
    *out = NULL;
    if (depth > RESP_MAX_DEPTH) return -1;
    const char *eol = memchr(p, '\n', n);
    if (eol == NULL) return n > 65536 ? -1 : 0;
    if (eol == p || eol[-1] != '\r') return -1;
    size_t linelen = (size_t)(eol - p) - 1; /* without the type byte and \r */
    size_t head = (size_t)(eol - p) + 1;
    struct resp_reply *r = calloc(1, sizeof(*r));
    if (r == NULL) return -1;
    char numbuf[32];
    long long num = 0;
    if (p[0] == '$' || p[0] == '*' || p[0] == ':') {
        if (linelen - 1 >= sizeof(numbuf) || linelen < 2) { free(r); return -1; }
        memcpy(numbuf, p + 1, linelen - 1);
        numbuf[linelen - 1] = '\0';
        char *end;
        errno = 0;
        num = strtoll(numbuf, &end, 10);
        if (*end || errno) { free(r); return -1; }
    }
    switch (p[0]) {
    case '+': case '-':
        r->type = p[0] == '+' ? RESP_STATUS : RESP_ERROR;
        r->len = linelen - 1;
        r->str = copy_bytes(p + 1, r->len);
        if (r->str == NULL) { free(r); return -1; }
        *out = r;
        return (long)head;
    case ':':
        r->type = RESP_INTEGER;
        r->integer = num;
        *out = r;
        return (long)head;
    case '$':
        if (num < 0) { r->type = RESP_NIL; *out = r; return (long)head; }
        if (num > RESP_MAX_BUFFER) { free(r); return -1; }
        if (n < head + (size_t)num + 2) { free(r); return 0; }
        r->type = RESP_BULK;
        r->len = (size_t)num;
        r->str = copy_bytes(p + head, r->len);
        if (r->str == NULL) { free(r); return -1; }
        *out = r;
        return (long)(head + r->len + 2);
    case '*': {
        if (num < 0) { r->type = RESP_NIL; *out = r; return (long)head; }
        if (num > RESP_MAX_ELEMENTS) { free(r); return -1; }
        r->type = RESP_ARRAY;
        r->elements = calloc((size_t)num ? (size_t)num : 1, sizeof(*r->elements));
        if (r->elements == NULL) { free(r); return -1; }
        size_t off = head;
        for (long long i = 0; i < num; i++) {
            long used = parse_reply(p + off, n - off, depth + 1, &r->elements[i]);
            if (used <= 0) { resp_reply_free(r); return used; }
            r->count++;
            off += (size_t)used;
        }
        *out = r;
        return (long)off;
    }
    default:
        free(r);
        return -1;
    }
}

/* memcached's text protocol: a reply is complete at its last line, one of
 * these words alone or a line starting with one of the prefixes; the lines
 * before it (STAT ..., VALUE/CONFIG blocks) belong to it. */
static int text_final_line(const char *line, size_t len)
{
    static const char *const words[] = {"END", "OK", "STORED", "NOT_STORED", "EXISTS", "NOT_FOUND", "DELETED",
                                        "TOUCHED", "RESET", "ERROR", NULL};
    static const char *const prefixes[] = {"VERSION ", "CLIENT_ERROR", "SERVER_ERROR", "MEMLIMIT_", NULL};
    for (const char *const *w = words; *w; w++)
        if (len == strlen(*w) && memcmp(line, *w, len) == 0) return 1;
    for (const char *const *pf = prefixes; *pf; pf++)
        if (len >= strlen(*pf) && memcmp(line, *pf, strlen(*pf)) == 0) return 1;
    return 0;
}

/* Parses one text reply at p: a RESP_BULK holding all of it (its final
 * \r\n cut), or RESP_ERROR when the final line is an error. */
static long parse_text(const char *p, size_t n, int depth, struct resp_reply **out)
{
    (void)depth;
    *out = NULL;
    for (size_t start = 0; start < n;) {
        const char *eol = memchr(p + start, '\n', n - start);
        if (eol == NULL) return 0;
        size_t end = (size_t)(eol - p), len = end - start;
        if (len > 0 && p[end - 1] == '\r') len--;
        if (text_final_line(p + start, len)) {
            struct resp_reply *r = calloc(1, sizeof(*r));
            if (r == NULL) return -1;
            const char *l = p + start;
            int error = (len >= 5 && memcmp(l, "ERROR", 5) == 0) || (len >= 12 && memcmp(l + 6, "_ERROR", 6) == 0) ||
                        (len >= 9 && memcmp(l, "MEMLIMIT_", 9) == 0);
            r->type = error ? RESP_ERROR : RESP_BULK;
            r->len = start + len;
            r->str = copy_bytes(p, r->len);
            if (r->str == NULL) { free(r); return -1; }
            *out = r;
            return (long)(end + 1);
        }
        start = end + 1;
    }
    return 0;
}

/* Reads until parse() has one whole reply, by the deadline. */
static struct resp_reply *read_reply(struct resp_conn *c, long long deadline_ms,
                                     long (*parse)(const char *, size_t, int, struct resp_reply **))
{
    for (;;) {
        if (c->len > 0) {
            struct resp_reply *r = NULL;
            long used = parse(c->buf, c->len, 0, &r);
            if (used < 0) return NULL;
            if (used > 0) {
                memmove(c->buf, c->buf + used, c->len - (size_t)used);
                c->len -= (size_t)used;
                return r;
            }
        }
        if (c->cap - c->len < 4096) {
            size_t ncap = c->cap ? c->cap * 2 : 16384;
            if (ncap > RESP_MAX_BUFFER) return NULL;
            char *nb = realloc(c->buf, ncap);
            if (nb == NULL) return NULL;
            c->buf = nb;
            c->cap = ncap;
        }
        ssize_t got = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (got > 0) { c->len += (size_t)got; continue; }
        if (got == 0) return NULL; /* peer closed */
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return NULL;
        if (wait_fd(c->fd, POLLIN, deadline_ms) != 1) return NULL;
    }
}

struct resp_reply *resp_read(struct resp_conn *c, long long deadline_ms) { return read_reply(c, deadline_ms, parse_reply); }

int resp_send_text(struct resp_conn *c, const char *text, size_t len, int timeout_ms)
{
    return write_all(c->fd, text, len, mono_ms() + timeout_ms);
}

struct resp_reply *resp_read_text(struct resp_conn *c, long long deadline_ms)
{
    return read_reply(c, deadline_ms, parse_text);
}

struct resp_reply *resp_text_command(struct resp_conn *c, int timeout_ms, const char *text, size_t len)
{
    long long deadline = mono_ms() + timeout_ms;
    if (resp_send_text(c, text, len, timeout_ms) != 0) return NULL;
    return resp_read_text(c, deadline);
}

struct resp_reply *resp_command(struct resp_conn *c, int timeout_ms, int argc, const char **argv)
{
    long long deadline = mono_ms() + timeout_ms;
    if (resp_send(c, argc, argv, timeout_ms) != 0) return NULL;
    return resp_read(c, deadline);
}

int resp_info_field(const char *info, const char *field, char *out, size_t outlen)
{
    size_t flen = strlen(field);
    for (const char *p = info; p && *p;) {
        if (strncmp(p, field, flen) == 0 && p[flen] == ':') {
            const char *v = p + flen + 1;
            size_t vlen = strcspn(v, "\r\n");
            if (vlen >= outlen) vlen = outlen - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 0;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return -1;
}

int resp_info_ll(const char *info, const char *field, long long *out)
{
    char v[64];
    if (resp_info_field(info, field, v, sizeof(v)) != 0) return -1;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || errno) return -1;
    *out = x;
    return 0;
}
