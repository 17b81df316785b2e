/* test_client.h: a client without a connection, for tests and fuzz targets
 * that drive the parser or commands directly. Replies go to `fd` (a pipe
 * nobody reads is fine; -1 drops them). */
#ifndef CN_TEST_CLIENT_H
#define CN_TEST_CLIENT_H

#include "server.h"

static inline client *test_client_new(int fd)
{
    client *c = zcalloc(sizeof(client));
    c->fd = fd;
    c->resp = 2;
    c->bulk_len = -1;
    c->flags = CLIENT_AUTHENTICATED; /* as every client is without requirepass */
    c->db = server.dbs[0];
    c->buf = zmalloc(PROTO_REPLY_CHUNK);
    return c;
}

static inline void test_client_free(client *c)
{
    struct reply_block *b = c->reply_head;
    while (b) {
        struct reply_block *next = b->next;
        zfree(b);
        b = next;
    }
    zfree(c->buf);
    zfree(c->querybuf);
    zfree(c->argv);
    zfree(c);
    server.pending_writes = NULL; /* a reply may have queued the client there */
}

#endif
