/* reply.c: building replies in a client's output buffer, in RESP2 or RESP3
 * as the client negotiated. Output goes to the client's fixed buffer first,
 * then to a list of blocks; the output-buffer limits are enforced here. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "server.h"

static int can_reply(client *c)
{
    if (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) return 0;
    if (c->reply_mode != REPLY_ON) return 0;
    if (c->flags & CLIENT_SCRIPT) return 1; /* its replies are read back, never written */
    if (c->fd < 0) return 0;
    if (!(c->flags & CLIENT_PENDING_WRITE)) {
        c->flags |= CLIENT_PENDING_WRITE;
        c->pending_next = server.pending_writes;
        server.pending_writes = c;
    }
    return 1;
}

static void check_output_limits(client *c)
{
    if (c->flags & (CLIENT_MASTER | CLIENT_SCRIPT)) return;
    /* Redis's client classes: replica, then pubsub (subscribed), then normal */
    long long hard = server.obuf_hard_limit, soft = server.obuf_soft_limit;
    int seconds = server.obuf_soft_seconds;
    if (c->flags & CLIENT_REPLICA) {
        hard = server.obuf_replica_hard, soft = server.obuf_replica_soft;
        seconds = server.obuf_replica_seconds;
    } else if (c->flags & CLIENT_PUBSUB) {
        hard = server.obuf_pubsub_hard, soft = server.obuf_pubsub_soft;
        seconds = server.obuf_pubsub_seconds;
    }
    size_t used = c->reply_bytes;
    int over_hard = hard && used > (size_t)hard;
    int over_soft = soft && used > (size_t)soft;
    if (!over_soft) c->obuf_soft_since_ms = 0;
    else if (c->obuf_soft_since_ms == 0) c->obuf_soft_since_ms = server.now_ms;
    int soft_expired = over_soft && server.now_ms - c->obuf_soft_since_ms >= (long long)seconds * 1000;
    if (over_hard || soft_expired) {
        log_msg(LOG_WARNING, "Client id=%llu addr=%s scheduled to be closed ASAP for "
                "overcoming of output buffer limits.", (unsigned long long)c->id, c->addr);
        server.stat_client_outbuf_limit_disconnections++;
        close_client_async(c);
    }
}

static struct reply_block *new_block(size_t size)
{
    struct reply_block *b = zmalloc(sizeof(*b) + size);
    memset(b, 0, sizeof(*b));
    b->size = size;
    b->file_fd = -1;
    return b;
}

static void append_block(client *c, struct reply_block *b)
{
    if (c->reply_tail) c->reply_tail->next = b;
    else c->reply_head = b;
    c->reply_tail = b;
}

static void append_to_list(client *c, const char *s, size_t len)
{
    struct reply_block *tail = c->reply_tail;
    if (tail && tail->kind == BLOCK_BYTES && tail->used < tail->size) {
        size_t n = tail->size - tail->used;
        if (n > len) n = len;
        memcpy(tail->buf + tail->used, s, n);
        tail->used += n;
        s += n;
        len -= n;
        c->reply_bytes += n;
    }
    if (len == 0) return;
    size_t size = len > PROTO_REPLY_CHUNK ? len : PROTO_REPLY_CHUNK;
    struct reply_block *b = new_block(size);
    b->used = len;
    memcpy(b->buf, s, len);
    append_block(c, b);
    c->reply_bytes += len;
    check_output_limits(c);
}

static inline void add_bytes(client *c, const char *s, size_t len)
{
    if (c->reply_head == NULL) {
        size_t room = PROTO_REPLY_CHUNK - c->bufpos;
        if (len <= room) {
            memcpy(c->buf + c->bufpos, s, len);
            c->bufpos += len;
            return;
        }
        memcpy(c->buf + c->bufpos, s, room);
        c->bufpos += room;
        s += room;
        len -= room;
    }
    append_to_list(c, s, len);
}

void reply_raw(client *c, const char *s, size_t len)
{
    if (can_reply(c)) add_bytes(c, s, len);
}

/* "<prefix><number>\r\n" */
static void add_header(client *c, char prefix, long long n)
{
    char buf[32];
    buf[0] = prefix;
    size_t len = 1 + ll2str(buf + 1, sizeof(buf) - 1, n);
    buf[len++] = '\r';
    buf[len++] = '\n';
    add_bytes(c, buf, len);
}

void reply_ok(client *c) { reply_raw(c, "+OK\r\n", 5); }

void reply_status(client *c, const char *s)
{
    if (!can_reply(c)) return;
    add_bytes(c, "+", 1);
    add_bytes(c, s, strlen(s));
    add_bytes(c, "\r\n", 2);
}

/* Error statistics by code, for INFO errorstats. */
#define ERRORSTATS_MAX 128
static struct { char code[32]; long long count; } errorstats[ERRORSTATS_MAX];
static int errorstats_len;

static void count_error(const char *msg)
{
    char code[32];
    size_t n = strcspn(msg, " ");
    if (n >= sizeof(code)) n = sizeof(code) - 1;
    memcpy(code, msg, n);
    code[n] = '\0';
    server.stat_total_error_replies++;
    for (int i = 0; i < errorstats_len; i++) {
        if (strcmp(errorstats[i].code, code) == 0) {
            errorstats[i].count++;
            return;
        }
    }
    if (errorstats_len == ERRORSTATS_MAX) return;
    memcpy(errorstats[errorstats_len].code, code, n + 1);
    errorstats[errorstats_len++].count = 1;
}

int errorstats_count(void) { return errorstats_len; }

const char *errorstats_at(int i, long long *count)
{
    *count = errorstats[i].count;
    return errorstats[i].code;
}

void errorstats_reset(void) { errorstats_len = 0; }

void reply_error(client *c, const char *msg)
{
    count_error(msg);
    if (!can_reply(c)) return;
    char small[1024];
    size_t len = strlen(msg); /* a script's error can be long: sent whole, as Redis does */
    char *line = len + 3 <= sizeof(small) ? small : zmalloc(len + 3);
    size_t n = 0;
    line[n++] = '-';
    for (const char *p = msg; *p; p++) line[n++] = (*p == '\r' || *p == '\n') ? ' ' : *p;
    line[n++] = '\r';
    line[n++] = '\n';
    add_bytes(c, line, n);
    if (line != small) zfree(line);
}

void reply_errorf(client *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply_error(c, msg);
}

void reply_bulk(client *c, const char *s, size_t len)
{
    if (!can_reply(c)) return;
    add_header(c, '$', (long long)len);
    add_bytes(c, s, len);
    add_bytes(c, "\r\n", 2);
}

void reply_bulk_cstr(client *c, const char *s)
{
    if (s == NULL) reply_null(c);
    else reply_bulk(c, s, strlen(s));
}

void reply_bulk_ll(client *c, long long v)
{
    char buf[32];
    size_t n = ll2str(buf, sizeof(buf), v);
    reply_bulk(c, buf, n);
}

void reply_entry_string(client *c, const entry *e)
{
    char buf[24];
    size_t len;
    const char *s = entry_string(e, buf, &len);
    reply_bulk(c, s, len);
}

void reply_null(client *c)
{
    if (c->resp == 3) reply_raw(c, "_\r\n", 3);
    else reply_raw(c, "$-1\r\n", 5);
}

void reply_null_array(client *c)
{
    if (c->resp == 3) reply_raw(c, "_\r\n", 3);
    else reply_raw(c, "*-1\r\n", 5);
}

void reply_int(client *c, long long v)
{
    if (v == 0) reply_raw(c, ":0\r\n", 4);
    else if (v == 1) reply_raw(c, ":1\r\n", 4);
    else if (can_reply(c)) add_header(c, ':', v);
}

void reply_double(client *c, double v)
{
    char buf[64];
    size_t n = d2str(buf, sizeof(buf), v);
    if (c->resp == 3) {
        if (!can_reply(c)) return;
        add_bytes(c, ",", 1);
        add_bytes(c, buf, n);
        add_bytes(c, "\r\n", 2);
    } else {
        reply_bulk(c, buf, n);
    }
}

void reply_bool(client *c, int v)
{
    if (c->resp == 3) reply_raw(c, v ? "#t\r\n" : "#f\r\n", 4);
    else reply_int(c, v ? 1 : 0);
}

void reply_array(client *c, long n)
{
    if (can_reply(c)) add_header(c, '*', n);
}

void reply_map(client *c, long n)
{
    if (can_reply(c)) add_header(c, c->resp == 3 ? '%' : '*', c->resp == 3 ? n : 2 * n);
}

void reply_push_len(client *c, long n)
{
    if (can_reply(c)) add_header(c, c->resp == 3 ? '>' : '*', n);
}

void reply_set(client *c, long n)
{
    if (can_reply(c)) add_header(c, c->resp == 3 ? '~' : '*', n);
}

void reply_verbatim(client *c, const char *s, size_t len, const char *ext)
{
    if (c->resp != 3) {
        reply_bulk(c, s, len);
        return;
    }
    if (!can_reply(c)) return;
    add_header(c, '=', (long long)len + 4);
    add_bytes(c, ext, 3);
    add_bytes(c, ":", 1);
    add_bytes(c, s, len);
    add_bytes(c, "\r\n", 2);
}

#define DEFERRED_HEADER_MAX 32

void *reply_deferred(client *c)
{
    if (!can_reply(c)) return NULL;
    struct reply_block *b = new_block(DEFERRED_HEADER_MAX);
    b->used = DEFERRED_HEADER_MAX; /* full: later replies go to a new block */
    append_block(c, b);
    return b;
}

static void set_deferred(client *c, void *handle, char prefix, long n)
{
    struct reply_block *b = handle;
    if (b == NULL) return;
    char buf[DEFERRED_HEADER_MAX];
    buf[0] = prefix;
    size_t len = 1 + ll2str(buf + 1, sizeof(buf) - 3, n);
    buf[len++] = '\r';
    buf[len++] = '\n';
    memcpy(b->buf, buf, len);
    b->used = len;
    c->reply_bytes += len;
}

void reply_set_deferred_array(client *c, void *handle, long n) { set_deferred(c, handle, '*', n); }

void reply_set_deferred_map(client *c, void *handle, long n)
{
    if (c->resp == 3) set_deferred(c, handle, '%', n);
    else set_deferred(c, handle, '*', 2 * n);
}

struct reply_block *reply_file_placeholder(client *c)
{
    if (!can_reply(c)) return NULL;
    /* bytes in c->buf precede the block; keep them there by moving on to
     * the list, which is where everything after the block goes too */
    struct reply_block *b = new_block(0);
    b->kind = BLOCK_FILE;
    append_block(c, b);
    return b;
}

void reply_file_ready(client *c, struct reply_block *b, int fd, long long size)
{
    b->file_fd = fd;
    b->file_off = 0;
    b->file_size = size;
    b->header_len = (size_t)snprintf(b->header, sizeof(b->header), "$%lld\r\n", size);
    b->header_sent = 0;
    can_reply(c); /* schedules the write */
}

void reply_file_sent(client *c, struct reply_block *b)
{
    b->file_fd = FILE_SENT_ELSEWHERE;
    b->file_size = 0;
    b->header_len = 0;
    can_reply(c); /* schedules the write of what follows */
}

void reply_help(client *c, const char *const *lines, size_t n)
{
    reply_array(c, (long)n);
    for (size_t i = 0; i < n; i++) reply_status(c, lines[i]);
}

void reply_syntax_error(client *c) { reply_error(c, "ERR syntax error"); }

void reply_wrongtype(client *c)
{
    reply_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

void reply_not_integer(client *c) { reply_error(c, "ERR value is not an integer or out of range"); }
void reply_not_float(client *c) { reply_error(c, "ERR value is not a valid float"); }

void reply_arity_error(client *c)
{
    if (c->cmd) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command", c->cmd->name);
        return;
    }
    char name[128];
    size_t n = c->argv[0].len < sizeof(name) - 1 ? c->argv[0].len : sizeof(name) - 1;
    for (size_t i = 0; i < n; i++) {
        char ch = c->argv[0].p[i];
        name[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    name[n] = '\0';
    reply_errorf(c, "ERR wrong number of arguments for '%s' command", name);
}
