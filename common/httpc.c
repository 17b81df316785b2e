/* httpc.c: the libcurl client (see httpc.h). One easy handle per call: calls
 * are rare (a heartbeat a second) and this keeps threads independent. */
#include "httpc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTPC_MAX_BODY (4 * 1024 * 1024)

struct sink {
    char *data;
    size_t len;
    int overflow;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct sink *s = userdata;
    size_t n = size * nmemb;
    if (s->len + n > HTTPC_MAX_BODY) { s->overflow = 1; return 0; }
    char *nd = realloc(s->data, s->len + n + 1);
    if (nd == NULL) return 0;
    memcpy(nd + s->len, ptr, n);
    s->len += n;
    nd[s->len] = '\0';
    s->data = nd;
    return n;
}

int httpc_global_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1; }
void httpc_global_cleanup(void) { curl_global_cleanup(); }

int httpc_request(const char *method, const char *url, const char *bearer, const char *json_body,
                  long timeout_ms, struct httpc_result *result)
{
    memset(result, 0, sizeof(*result));
    CURL *curl = curl_easy_init();
    if (curl == NULL) { snprintf(result->error, sizeof(result->error), "curl init failed"); return -1; }
    struct curl_slist *headers = NULL, *h;
    char auth[1024];
    int ok = 1;
    if ((h = curl_slist_append(headers, "Content-Type: application/json")) == NULL) ok = 0; else headers = h;
    if (ok && bearer && *bearer) {
        if (snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer) >= (int)sizeof(auth)) ok = 0;
        else if ((h = curl_slist_append(headers, auth)) == NULL) ok = 0;
        else headers = h;
    }
    struct sink sink = {0};
    CURLcode rc = CURLE_OK;
    if (ok) {
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        if (json_body) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);           /* threads + timeouts */
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 1000 ? timeout_ms : 1000L);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        rc = curl_easy_perform(curl);
    }
    explicit_bzero(auth, sizeof(auth));
    int ret = 0;
    if (!ok) {
        snprintf(result->error, sizeof(result->error), "cannot build request");
        ret = -1;
    } else if (rc != CURLE_OK) {
        snprintf(result->error, sizeof(result->error), "%s", curl_easy_strerror(rc));
        ret = -1;
    } else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result->status);
        result->body = sink.data;
        sink.data = NULL;
    }
    free(sink.data);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return ret;
}
