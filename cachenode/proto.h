/* proto.h: request parsing (RESP multibulk and inline), see proto.c. */
#ifndef CN_PROTO_H
#define CN_PROTO_H

#include "server.h"

enum parse_result { PARSE_NEED_MORE = 0, PARSE_OK, PARSE_ERROR };

/* Parses one request starting at c->qb_pos (which must be < c->qb_len).
 * PARSE_OK: c->argv/argc hold it (argc may be 0 for an empty request) and
 * qb_pos is past it. PARSE_NEED_MORE: partial state is kept for the next
 * call. PARSE_ERROR: a protocol error was replied and the client is marked
 * to close after the reply. */
enum parse_result proto_parse_request(client *c);
/* Clears the parse state after a request has been executed. */
void proto_reset_request(client *c);
/* Makes room for at least want_free more bytes at the end of the query
 * buffer, rebasing the arguments of a half-parsed request if it moves. */
void proto_reserve(client *c, size_t want_free);
/* Drops the bytes of executed requests from the query buffer. */
void proto_compact(client *c);

#endif
