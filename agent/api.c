/* api.c: the agent's HTTP routes. Everything but GET /healthz needs
 * "Authorization: Bearer <token>"; errors are
 * {"error":{"code":...,"message":...}} with a fitting status.
 *   GET /healthz   GET /metrics
 *   GET /v1/nodes  GET|PUT|DELETE /v1/nodes/{id} */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "httpd.h"
#include "json.h"
#include "log.h"

static int authorized(const struct agent *a, const struct http_request *req)
{
    const char *given = http_bearer_token(req->authorization);
    return given != NULL && http_token_equal(given, a->cfg.token);
}

static void get_nodes(struct agent *a, struct http_response *res)
{
    pthread_mutex_lock(&a->lock);
    json_t *body = json_pack("{s:o}", "nodes", agent_nodes_json(a));
    pthread_mutex_unlock(&a->lock);
    http_respond(res, 200, json_dump_and_free(body));
}

static void get_node(struct agent *a, const char *id, struct http_response *res)
{
    pthread_mutex_lock(&a->lock);
    struct node *n = agent_find(a, id);
    json_t *body = n ? node_to_json(a, n) : NULL;
    pthread_mutex_unlock(&a->lock);
    if (n == NULL) http_respond_error(res, 404, "NodeNotFound", "no such node on this host");
    else http_respond(res, 200, json_dump_and_free(body));
}

static void node_route(struct agent *a, const struct http_request *req, const char *id, struct http_response *res)
{
    char *reply = NULL;
    int status;
    if (strcmp(req->method, "GET") == 0) { get_node(a, id, res); return; }
    if (strcmp(req->method, "PUT") == 0) status = agent_put_node(a, id, req->body, &reply);
    else if (strcmp(req->method, "DELETE") == 0) status = agent_delete_node(a, id, &reply);
    else { http_respond_error(res, 405, "MethodNotAllowed", "use GET, PUT or DELETE"); return; }
    http_respond(res, status, reply);
    log_msg(LOG_VERBOSE, "%s /v1/nodes/%s -> %d", req->method, spec_valid_name(id) ? id : "(bad id)", status);
}

void api_handle(const struct http_request *req, struct http_response *res, void *ctx)
{
    struct agent *a = ctx;
    const char *path = req->path;
    if (strcmp(path, "/healthz") == 0) {
        if (strcmp(req->method, "GET") != 0) { http_respond_error(res, 405, "MethodNotAllowed", "use GET"); return; }
        { http_respond(res, 200, strdup("{\"status\":\"ok\"}")); return; }
    }
    if (!authorized(a, req))
        { http_respond_error(res, 401, "Unauthorized", "missing or wrong bearer token"); return; }
    if (strcmp(path, "/metrics") == 0) {
        if (strcmp(req->method, "GET") != 0) { http_respond_error(res, 405, "MethodNotAllowed", "use GET"); return; }
        char *text = metrics_render(a);
        if (text == NULL) { http_respond_error(res, 500, "InternalError", "out of memory"); return; }
        http_respond(res, 200, text);
        res->content_type = "text/plain; version=0.0.4; charset=utf-8";
        return;
    }
    if (strcmp(path, "/v1/nodes") == 0 || strcmp(path, "/v1/nodes/") == 0) {
        if (strcmp(req->method, "GET") != 0) { http_respond_error(res, 405, "MethodNotAllowed", "use GET"); return; }
        { get_nodes(a, res); return; }
    }
    if (strncmp(path, "/v1/nodes/", 10) == 0 && strchr(path + 10, '/') == NULL)
        { node_route(a, req, path + 10, res); return; }
    http_respond_error(res, 404, "NotFound", "no such route");
}
