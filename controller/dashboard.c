/* dashboard.c: the operators' web page (GET /dashboard) and its sessions.
 * The page's files are compiled in (dashboard_assets.c), so the controller
 * needs nothing at run time and the page loads nothing from the internet.
 * Logging in: POST /dashboard/login {"token": "<the API token>"} sets a
 * session cookie (HttpOnly: no script reads it; SameSite=Strict: no other
 * site's page sends it); the REST API and /metrics accept that cookie in
 * place of the bearer token, so the page calls the same API curl does and
 * the token itself is never kept in the browser. Sessions live in this
 * process's memory: they end after --session-idle-ms unused, after
 * SESSION_MAX_MS in any case, at logout, and when the controller restarts.
 * Wrong tokens are throttled: after LOGIN_FAILURES_MAX of them within
 * LOGIN_WINDOW_MS every login is answered 429 until the window ends, so a
 * page cannot be used to guess the token at speed.
 * Every answer of the page carries a Content-Security-Policy that allows
 * only the page's own files (no inline script), so that text from the API
 * can never run as code even if it were put in as markup. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "dashboard.h"

#define SESSIONS_MAX 256
#define SESSION_ID_HEX 64
#define SESSION_MAX_MS (12LL * 60 * 60 * 1000)
#define COOKIE_NAME "cf_session"
#define LOGIN_FAILURES_MAX 5
#define LOGIN_WINDOW_MS 3000LL

struct session {
    char id[SESSION_ID_HEX + 1]; /* "" when free */
    long long created_ms, used_ms;
};

static struct session sessions[SESSIONS_MAX];
static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static long long session_idle_ms = 60LL * 60 * 1000; /* set once at start-up */

static struct {
    long long window_start_ms;
    int failures;
} logins; /* under sessions_lock */

void dashboard_set_session_idle_ms(long long idle_ms) { session_idle_ms = idle_ms; }

/* Milliseconds until logins are taken again; 0: now. */
static long long login_wait_ms(void)
{
    long long now = mono_ms(), wait = 0;
    pthread_mutex_lock(&sessions_lock);
    if (now - logins.window_start_ms >= LOGIN_WINDOW_MS) logins.failures = 0;
    if (logins.failures >= LOGIN_FAILURES_MAX) wait = logins.window_start_ms + LOGIN_WINDOW_MS - now;
    pthread_mutex_unlock(&sessions_lock);
    return wait;
}

static void login_failed(void)
{
    long long now = mono_ms();
    pthread_mutex_lock(&sessions_lock);
    if (logins.failures == 0) logins.window_start_ms = now;
    logins.failures++;
    pthread_mutex_unlock(&sessions_lock);
}

static int session_live(const struct session *s, long long now)
{
    return s->id[0] && now - s->used_ms < session_idle_ms && now - s->created_ms < SESSION_MAX_MS;
}

/* A new session's id into id; the oldest session makes room when all are taken. */
static int session_new(char *id)
{
    unsigned char raw[SESSION_ID_HEX / 2];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) return -1;
    for (size_t i = 0; i < sizeof(raw); i++) snprintf(id + 2 * i, 3, "%02x", raw[i]);
    long long now = mono_ms();
    pthread_mutex_lock(&sessions_lock);
    struct session *slot = &sessions[0];
    for (int i = 0; i < SESSIONS_MAX; i++) {
        if (!session_live(&sessions[i], now)) { slot = &sessions[i]; break; }
        if (sessions[i].used_ms < slot->used_ms) slot = &sessions[i];
    }
    memcpy(slot->id, id, SESSION_ID_HEX + 1);
    slot->created_ms = slot->used_ms = now;
    pthread_mutex_unlock(&sessions_lock);
    return 0;
}

/* The session cookie's value in the request, copied into id; -1 if none. */
static int cookie_session(const struct http_request *req, char *id)
{
    const char *h = http_request_header(req, "Cookie");
    for (const char *p = h; p && *p;) {
        while (*p == ' ' || *p == ';') p++;
        size_t len = strcspn(p, ";");
        if (len == strlen(COOKIE_NAME) + 1 + SESSION_ID_HEX && strncmp(p, COOKIE_NAME "=", strlen(COOKIE_NAME) + 1) == 0) {
            memcpy(id, p + strlen(COOKIE_NAME) + 1, SESSION_ID_HEX);
            id[SESSION_ID_HEX] = '\0';
            return 0;
        }
        p += len;
    }
    return -1;
}

/* Finds the request's session; touches it (used now) or, with end, ends it. */
static int session_find(const struct http_request *req, int end)
{
    char id[SESSION_ID_HEX + 1];
    if (cookie_session(req, id) != 0) return 0;
    long long now = mono_ms();
    int found = 0;
    pthread_mutex_lock(&sessions_lock);
    for (int i = 0; i < SESSIONS_MAX && !found; i++) {
        if (!session_live(&sessions[i], now) || !http_token_equal(id, sessions[i].id)) continue;
        found = 1;
        if (end) sessions[i].id[0] = '\0';
        else sessions[i].used_ms = now;
    }
    pthread_mutex_unlock(&sessions_lock);
    return found;
}

int dashboard_session_ok(const struct http_request *req)
{
    if (strcmp(req->method, "GET") != 0) {
        const char *xrw = http_request_header(req, "X-Requested-With");
        if (xrw == NULL || strcmp(xrw, "cachefleet") != 0) return 0;
    }
    return session_find(req, 0);
}

/* ---- answers ---------------------------------------------------------------- */

static void page_headers(struct http_response *res)
{
    http_response_header(res, "Content-Security-Policy",
                         "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                         "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    http_response_header(res, "X-Content-Type-Options", "nosniff");
    http_response_header(res, "X-Frame-Options", "DENY");
    http_response_header(res, "Referrer-Policy", "no-referrer");
    http_response_header(res, "Cache-Control", "no-store");
}

static void serve_asset(const char *name, struct http_response *res)
{
    for (const struct dashboard_asset *a = dashboard_assets; a->name; a++) {
        if (strcmp(a->name, name) != 0) continue;
        char *body = malloc(a->len + 1);
        if (body == NULL) { http_respond_error(res, 500, "InternalError", "out of memory"); return; }
        memcpy(body, a->data, a->len + 1);
        res->status = 200;
        res->body = body;
        res->content_type = a->type;
        return;
    }
    http_respond_error(res, 404, "NotFound", "no such file of the dashboard");
}

static void login(const struct http_request *req, struct http_response *res, const char *api_token)
{
    json_t *doc = json_loadb(req->body, req->body_len, 0, NULL);
    const char *token = json_string_value(json_object_get(doc, "token"));
    char id[SESSION_ID_HEX + 1];
    long long wait_ms = login_wait_ms();
    if (wait_ms > 0) {
        char msg[96], retry[24];
        snprintf(retry, sizeof(retry), "%lld", (wait_ms + 999) / 1000);
        snprintf(msg, sizeof(msg), "too many wrong tokens; try again in %s s", retry);
        http_response_header(res, "Retry-After", retry);
        http_respond_error(res, 429, "TooManyRequests", msg);
    } else if (token == NULL) {
        http_respond_error(res, 400, "InvalidParameterValue", "the body must be {\"token\": \"<the API token>\"}");
    } else if (!http_token_equal(token, api_token)) {
        login_failed();
        http_respond_error(res, 401, "Unauthorized", "wrong token");
    } else if (session_new(id) != 0) {
        http_respond_error(res, 500, "InternalError", "no randomness for a session");
    } else {
        char cookie[256];
        snprintf(cookie, sizeof(cookie), COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld", id,
                 SESSION_MAX_MS / 1000);
        http_response_header(res, "Set-Cookie", cookie);
        http_respond(res, 200, strdup("{\"logged_in\":true}"));
    }
    json_decref(doc);
}

static void logout(const struct http_request *req, struct http_response *res)
{
    session_find(req, 1);
    http_response_header(res, "Set-Cookie", COOKIE_NAME "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    http_respond(res, 200, strdup("{\"logged_in\":false}"));
}

int dashboard_route(const struct http_request *req, struct http_response *res, const char *api_token)
{
    const char *p = req->path;
    if (strcmp(p, "/dashboard") != 0 && strncmp(p, "/dashboard/", 11) != 0) return 0;
    page_headers(res);
    int get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    const char *rest = p[10] == '/' ? p + 11 : "";
    if (strcmp(rest, "login") == 0 && post) login(req, res, api_token);
    else if (strcmp(rest, "logout") == 0 && post) logout(req, res);
    else if (strcmp(rest, "session") == 0 && get)
        session_find(req, 0) ? http_respond(res, 200, strdup("{\"logged_in\":true}"))
                             : http_respond_error(res, 401, "Unauthorized", "no session; log in");
    else if (get) serve_asset(rest[0] ? rest : "index.html", res);
    else http_respond_error(res, 405, "MethodNotAllowed", "GET, or POST to login and logout");
    return 1;
}
