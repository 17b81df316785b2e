/* httpc.h: a blocking HTTP client on libcurl with hard timeouts, for JSON
 * calls between the agent and the controller. Call httpc_global_init once
 * before any thread starts. */
#ifndef CF_HTTPC_H
#define CF_HTTPC_H

#include <stddef.h>

int httpc_global_init(void);
void httpc_global_cleanup(void);

struct httpc_result {
    long status;      /* HTTP status, 0 when no response */
    char *body;       /* malloc'd response body (NUL-terminated) or NULL */
    char error[256];  /* transport error text when status == 0 */
};

/* Sends method url with an optional JSON body and bearer token. Returns 0
 * when a response arrived (any status), -1 on a transport failure. The
 * token never appears in error text. Free result->body. */
int httpc_request(const char *method, const char *url, const char *bearer, const char *json_body,
                  long timeout_ms, struct httpc_result *result);

#endif
