/* resp.h: a small RESP2 client with deadlines, for health checks and for the
 * few commands an agent sends to its nodes (PING, ROLE, INFO, CONFIG SET,
 * REPLICAOF). Every call is bounded by a timeout; nothing blocks forever.
 * A connection whose reply timed out is unusable (a late reply would be read
 * as the answer to the next command): callers close it and reconnect. */
#ifndef CF_RESP_H
#define CF_RESP_H

#include <stddef.h>

enum resp_type { RESP_STATUS, RESP_ERROR, RESP_INTEGER, RESP_BULK, RESP_NIL, RESP_ARRAY };

struct resp_reply {
    enum resp_type type;
    long long integer;         /* RESP_INTEGER */
    char *str;                 /* STATUS, ERROR, BULK: NUL-terminated */
    size_t len;
    struct resp_reply **elements; /* RESP_ARRAY */
    size_t count;
};

struct resp_conn;

/* Connects to host:port within timeout_ms. Returns NULL on failure with a
 * short reason in err (may be NULL). The socket is close-on-exec. */
struct resp_conn *resp_connect(const char *host, int port, int timeout_ms, char *err, size_t errlen);
void resp_close(struct resp_conn *c);

/* Sends one command (an argument vector, binary safe by argvlen or strlen). */
int resp_send(struct resp_conn *c, int argc, const char **argv, int timeout_ms);
/* Reads one reply by the absolute monotonic deadline (ms, see mono_ms in clock.h).
 * Returns NULL on timeout, EOF, or a protocol error. */
struct resp_reply *resp_read(struct resp_conn *c, long long deadline_ms);
/* send + read in one call. */
struct resp_reply *resp_command(struct resp_conn *c, int timeout_ms, int argc, const char **argv);
void resp_reply_free(struct resp_reply *r);

/* memcached's text protocol on the same connection: text is sent as it is
 * (with its \r\n); a reply is read up to its final line (END, OK, STORED,
 * ERROR, VERSION ..., CLIENT_ERROR ..., SERVER_ERROR ..., MEMLIMIT_...) and returned
 * whole as RESP_BULK without the last \r\n, or as RESP_ERROR when that line
 * is an error. NULL on timeout or EOF. */
int resp_send_text(struct resp_conn *c, const char *text, size_t len, int timeout_ms);
struct resp_reply *resp_read_text(struct resp_conn *c, long long deadline_ms);
struct resp_reply *resp_text_command(struct resp_conn *c, int timeout_ms, const char *text, size_t len);

/* Finds "field:" in an INFO text and copies its value; returns 0 when found. */
int resp_info_field(const char *info, const char *field, char *out, size_t outlen);
/* Same, parsed as a long long; returns 0 when found and numeric. */
int resp_info_ll(const char *info, const char *field, long long *out);

#endif
