/* engine_io.c: health checks in each engine's wire format (see engine_io.h). */
#include "engine_io.h"

#include <string.h>

int engine_health_send(struct resp_conn *c, const struct engine_caps *e, int timeout_ms)
{
    if (e->wire == WIRE_TEXT) return resp_send_text(c, e->health_request, strlen(e->health_request), timeout_ms);
    const char *argv[] = {e->health_request};
    return resp_send(c, 1, argv, timeout_ms);
}

struct resp_reply *engine_read(struct resp_conn *c, const struct engine_caps *e, long long deadline_ms)
{
    return e->wire == WIRE_TEXT ? resp_read_text(c, deadline_ms) : resp_read(c, deadline_ms);
}

int engine_health_read(struct resp_conn *c, const struct engine_caps *e, long long deadline_ms)
{
    struct resp_reply *r = engine_read(c, e, deadline_ms);
    /* RESP: any reply, even an error such as LOADING, proves the process serves. */
    int ok = r != NULL && (e->health_reply == NULL ||
                           (r->str && strncmp(r->str, e->health_reply, strlen(e->health_reply)) == 0));
    resp_reply_free(r);
    return ok;
}
