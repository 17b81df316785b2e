/* fuzz_proto.c: libFuzzer target for the request parser (proto.c).
 *
 * The input is a byte stream as a client would send it. It is fed to a
 * client's query buffer in chunks whose sizes come from a generator seeded
 * by the input itself, and parsed the way networking.c does it (buffer
 * growth with argv rebasing, compaction after each batch). Properties
 * checked beyond "no crash, no sanitizer report":
 *   - every parsed argument lies inside the query buffer;
 *   - for inputs under PROTO_INLINE_MAX (where no size limit can depend on
 *     how the bytes were split), chunked parsing yields exactly the same
 *     requests and the same error outcome as parsing the whole input.
 * Commands are not executed: parser only, so no side effects to fence. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "server.h"
#include "test_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQS 4096

/* A digest of the parsed requests: cheap to compare, order-sensitive. */
struct outcome {
    uint64_t digest;
    long nreq;
    int error;
};

static int reply_fd = -1; /* write end of a pipe nobody reads or flushes */

static void init_once(void)
{
    static int done;
    if (done) return;
    done = 1;
    config_set_defaults();
    server_init();
    int fds[2];
    if (pipe(fds) == 0) reply_fd = fds[1]; /* else replies are dropped: fine */
}


static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < len; i++) h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static void check_argv_in_buffer(const client *c)
{
    for (int i = 0; i < c->argc; i++) {
        const char *p = c->argv[i].p;
        if (p < c->querybuf || p + c->argv[i].len > c->querybuf + c->qb_len) abort();
    }
}

static void append(client *c, const uint8_t *bytes, size_t len)
{
    proto_reserve(c, len + 16);
    memcpy(c->querybuf + c->qb_len, bytes, len);
    c->qb_len += len;
}

/* Like process_client_input() in networking.c, minus execution. */
static void parse_batch(client *c, struct outcome *o)
{
    while (c->qb_pos < c->qb_len && !o->error) {
        enum parse_result r = proto_parse_request(c);
        check_argv_in_buffer(c);
        if (r == PARSE_ERROR) {
            if (!(c->flags & CLIENT_CLOSE_AFTER_REPLY)) abort();
            o->error = 1;
            break;
        }
        if (r == PARSE_NEED_MORE) break;
        if (c->argc > 0) {
            o->nreq++;
            o->digest = fnv(o->digest, &c->argc, sizeof(c->argc));
            for (int i = 0; i < c->argc; i++) {
                o->digest = fnv(o->digest, &c->argv[i].len, sizeof(c->argv[i].len));
                o->digest = fnv(o->digest, c->argv[i].p, c->argv[i].len);
            }
        }
        proto_reset_request(c);
    }
    if (o->error) return;
    proto_compact(c);
}

static struct outcome run(const uint8_t *data, size_t size, int chunked)
{
    struct outcome o = {1469598103934665603ULL, 0, 0};
    client *c = test_client_new(reply_fd);
    uint64_t rng = fnv(0x9E3779B97F4A7C15ULL, data, size);
    size_t off = 0;
    while (off < size && !o.error) {
        size_t n = size - off;
        if (chunked) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t want = 1 + (size_t)((rng >> 33) % ((rng >> 60) < 8 ? 3 : 64));
            if (want < n) n = want;
        }
        append(c, data + off, n);
        off += n;
        parse_batch(c, &o);
    }
    test_client_free(c);
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    struct outcome whole = run(data, size, 0);
    struct outcome parts = run(data, size, 1);
    if (size < PROTO_INLINE_MAX &&
        (whole.error != parts.error || whole.nreq != parts.nreq || whole.digest != parts.digest)) {
        fprintf(stderr, "chunked parse differs: whole %ld reqs err=%d, chunked %ld reqs err=%d\n",
                whole.nreq, whole.error, parts.nreq, parts.error);
        abort();
    }
    return 0;
}
