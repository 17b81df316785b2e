/* httpd.c: the HTTP server wrapper (see httpd.h). libmicrohttpd runs one
 * internal polling thread; requests are handled one at a time on it, and each
 * body is collected into a bounded buffer before the handler runs. */
#include "httpd.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "json.h"
#include "log.h"

struct httpd {
    struct MHD_Daemon *daemon;
    http_handler *handler;
    void *ctx;
};

struct upload {
    char *data;
    size_t len;
    int too_big;
};

static enum MHD_Result send_response(struct MHD_Connection *conn, int status, const char *type, char *body,
                                      const struct http_response *extra)
{
    size_t len = body ? strlen(body) : 0;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (r == NULL) { free(body); return MHD_NO; }
    int ok = MHD_add_response_header(r, "Content-Type", type) == MHD_YES;
    for (int i = 0; ok && extra && i < extra->nheaders; i++)
        ok = MHD_add_response_header(r, extra->headers[i].name, extra->headers[i].value) == MHD_YES;
    if (!ok) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Appends a body chunk, refusing to grow past HTTPD_MAX_BODY. */
static void upload_append(struct upload *u, const char *data, size_t n)
{
    if (u->too_big || n == 0) return;
    if (u->len + n > HTTPD_MAX_BODY) { u->too_big = 1; return; }
    char *nd = realloc(u->data, u->len + n + 1);
    if (nd == NULL) { u->too_big = 1; return; }
    memcpy(nd + u->len, data, n);
    u->len += n;
    nd[u->len] = '\0';
    u->data = nd;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    struct httpd *h = cls;
    struct upload *u = *con_cls;
    if (u == NULL) { /* first call: headers only */
        u = calloc(1, sizeof(*u));
        if (u == NULL) return MHD_NO;
        *con_cls = u;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        upload_append(u, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (u->too_big) {
        struct http_response res = {0};
        http_respond_error(&res, 413, "RequestTooLarge", "request body is too large");
        return send_response(conn, res.status, "application/json", res.body, NULL);
    }
    struct http_request req = {
        .method = method,
        .path = url,
        .query = "", /* MHD splits the query off; no route of ours reads it yet */
        .authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
        .body = u->data ? u->data : "",
        .body_len = u->len,
        .impl = conn,
    };
    struct http_response res = {.status = 500, .content_type = NULL, .body = NULL};
    h->handler(&req, &res, h->ctx);
    return send_response(conn, res.status, res.content_type ? res.content_type : "application/json", res.body, &res);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls; (void)conn; (void)toe;
    struct upload *u = *con_cls;
    if (u) { free(u->data); free(u); }
    *con_cls = NULL;
}

/* Parses "ADDR:PORT" into an IPv4 or IPv6 socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, unsigned *flags)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host)) return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535) return -1;
    memset(ss, 0, sizeof(*ss));
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) return -1;
        *flags |= MHD_USE_IPv6;
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) return -1;
    return 0;
}

struct httpd *httpd_start(const char *listen, http_handler *handler, void *ctx, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (parse_listen(listen, &ss, &flags) != 0) {
        snprintf(err, errlen, "bad listen address '%s' (want ADDR:PORT)", listen);
        return NULL;
    }
    struct httpd *h = calloc(1, sizeof(*h));
    if (h == NULL) { snprintf(err, errlen, "out of memory"); return NULL; }
    h->handler = handler;
    h->ctx = ctx;
    uint16_t port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    h->daemon = MHD_start_daemon(flags, port, NULL, NULL, on_request, h,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
                                 MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
                                 MHD_OPTION_END);
    if (h->daemon == NULL) {
        snprintf(err, errlen, "cannot listen on %s", listen);
        free(h);
        return NULL;
    }
    return h;
}

void httpd_stop(struct httpd *h)
{
    if (h == NULL) return;
    MHD_stop_daemon(h->daemon);
    free(h);
}

void http_respond(struct http_response *res, int status, char *body)
{
    free(res->body);
    res->status = status;
    res->content_type = "application/json";
    res->body = body;
}

void http_respond_error(struct http_response *res, int status, const char *code, const char *message)
{
    http_respond(res, status, json_error_body(code, message));
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    return req->impl ? MHD_lookup_connection_value(req->impl, MHD_HEADER_KIND, name) : NULL;
}

const char *http_request_arg(const struct http_request *req, const char *name)
{
    return req->impl ? MHD_lookup_connection_value(req->impl, MHD_GET_ARGUMENT_KIND, name) : NULL;
}

const char *http_bearer_token(const char *authorization)
{
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0) return NULL;
    const char *t = authorization + 7;
    while (*t == ' ') t++;
    return *t ? t : NULL;
}

int http_token_equal(const char *given, const char *expected)
{
    size_t gl = strlen(given), el = strlen(expected);
    unsigned char diff = gl != el;
    for (size_t i = 0; i < el; i++) diff |= (unsigned char)(expected[i] ^ given[i < gl ? i : 0]);
    return diff == 0;
}

int http_response_header(struct http_response *res, const char *name, const char *value)
{
    size_t len = strlen(value);
    if (res->nheaders >= HTTPD_MAX_HEADERS || len >= HTTPD_HEADER_VALUE_MAX || strpbrk(value, "\r\n")) return -1;
    res->headers[res->nheaders].name = name;
    memcpy(res->headers[res->nheaders].value, value, len + 1);
    res->nheaders++;
    return 0;
}
