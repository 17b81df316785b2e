/* sha1.h: SHA-1 (FIPS 180-4), for script identifiers (EVALSHA, SCRIPT LOAD,
 * redis.sha1hex). Not for security: scripts are named by it. */
#ifndef CN_SHA1_H
#define CN_SHA1_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha1_ctx {
    uint32_t state[5];
    uint64_t bytes;      /* message length so far */
    unsigned char block[64];
    size_t used;         /* bytes waiting in block */
} sha1_ctx;

void sha1_init(sha1_ctx *ctx);
void sha1_update(sha1_ctx *ctx, const void *data, size_t len);
void sha1_final(sha1_ctx *ctx, unsigned char digest[20]);
/* The digest of data as 40 lower-case hex digits and a NUL. */
void sha1_hex(const void *data, size_t len, char out[41]);

#endif
