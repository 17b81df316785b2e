/* engine_io.h: the few exchanges the agent and the controller have with a
 * node whose wording depends on its engine (engine_caps.h): the health check
 * and its reply. The connection is a resp_conn either way (resp.h). */
#ifndef CF_ENGINE_IO_H
#define CF_ENGINE_IO_H

#include "engine_caps.h"
#include "resp.h"

/* Sends the engine's health request. 0 or -1. */
int engine_health_send(struct resp_conn *c, const struct engine_caps *e, int timeout_ms);
/* Reads its reply by the deadline: 1 when it proves the node serves, 0 when
 * none came or it was not the expected one (then the connection is unusable). */
int engine_health_read(struct resp_conn *c, const struct engine_caps *e, long long deadline_ms);
/* Reads one reply in the engine's wire format. */
struct resp_reply *engine_read(struct resp_conn *c, const struct engine_caps *e, long long deadline_ms);

#endif
