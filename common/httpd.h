/* httpd.h: a small HTTP/1.1 server on libmicrohttpd. The caller gives one
 * handler that sees a whole request (body buffered, bounded) and fills in a
 * response; the server runs in its own thread. */
#ifndef CF_HTTPD_H
#define CF_HTTPD_H

#include <stddef.h>

#define HTTPD_MAX_BODY (1024 * 1024)

struct http_request {
    const char *method;        /* "GET", "PUT", ... */
    const char *path;          /* without the query string */
    const char *query;         /* raw query string after '?', or "" */
    const char *authorization; /* the Authorization header, or NULL */
    const char *body;          /* NUL-terminated; "" when none */
    size_t body_len;
    void *impl;                /* the server's connection; for the lookups below */
};

#define HTTPD_MAX_HEADERS 8
#define HTTPD_HEADER_VALUE_MAX 512

struct http_response {
    int status;
    const char *content_type;  /* static string; default application/json */
    char *body;                /* malloc'd, owned by the server after return */
    int nheaders;              /* more headers (http_response_header) */
    struct {
        const char *name;      /* static string */
        char value[HTTPD_HEADER_VALUE_MAX];
    } headers[HTTPD_MAX_HEADERS];
};

typedef void http_handler(const struct http_request *req, struct http_response *res, void *ctx);

struct httpd;

/* listen is "ADDR:PORT" (IPv4, or [IPv6]:PORT). Returns NULL with err set. */
struct httpd *httpd_start(const char *listen, http_handler *handler, void *ctx, char *err, size_t errlen);
void httpd_stop(struct httpd *h);

/* Sets res to a JSON body (takes ownership of body). */
void http_respond(struct http_response *res, int status, char *body);
/* Sets res to {"error":{"code":code,"message":message}}. */
void http_respond_error(struct http_response *res, int status, const char *code, const char *message);

/* Adds a response header (name: a static string; value copied). -1 when
 * there is no room or the value is too long or holds a line break. */
int http_response_header(struct http_response *res, const char *name, const char *value);

/* A request header's value, or NULL (case-insensitive name). */
const char *http_request_header(const struct http_request *req, const char *name);
/* A query-string argument's (decoded) value, or NULL. */
const char *http_request_arg(const struct http_request *req, const char *name);

/* Returns the bearer token in an Authorization header value, or NULL. */
const char *http_bearer_token(const char *authorization);
/* Compares two secrets in time that does not depend on where they differ. */
int http_token_equal(const char *given, const char *expected);

#endif
