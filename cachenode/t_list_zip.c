/* t_list_zip.c: compression of list nodes with zstd (list-compress-depth).
 *
 * Redis compresses interior quicklist nodes with LZF. We use zstd at level 1
 * (Debian's libzstd), a maintained and fuzzed codec with an entropy stage
 * that LZF lacks: it shrinks text with few distinct symbols (hex, digits)
 * that LZF's matches alone barely touch, and it decompresses fast, which
 * is what LRANGE and LINDEX on interior nodes pay. A compressor of our own
 * would be worse, slower, and much more code to prove correct.
 *
 * One compression and one decompression context are kept for the process:
 * only the main thread (and a snapshot's forked child, which has its own
 * copy) touches list nodes. They allocate through alloc.h, so used_memory
 * counts them. */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_customMem, ZSTD_create?Ctx_advanced */
#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "alloc.h"
#include "t_list_zip.h"

#define ZIP_LEVEL 1

static void *zip_alloc(void *opaque, size_t size)
{
    (void)opaque;
    return zmalloc(size);
}

static void zip_free(void *opaque, void *p)
{
    (void)opaque;
    zfree(p);
}

static const ZSTD_customMem zip_mem = {zip_alloc, zip_free, NULL};
static ZSTD_CCtx *cctx;
static ZSTD_DCtx *dctx;

static void zip_fatal(const char *what, size_t code)
{
    fprintf(stderr, "cachenode: list node %s failed: %s\n", what, ZSTD_getErrorName(code));
    abort();
}

size_t lzip_compress(void *dst, size_t cap, const void *src, size_t n)
{
    if (cctx == NULL && (cctx = ZSTD_createCCtx_advanced(zip_mem)) == NULL) zip_fatal("compression", 0);
    size_t r = ZSTD_compressCCtx(cctx, dst, cap, src, n, ZIP_LEVEL);
    if (!ZSTD_isError(r)) return r;
    if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall) return 0;
    zip_fatal("compression", r);
    return 0;
}

void lzip_decompress(void *dst, size_t n, const void *src, size_t zlen)
{
    if (dctx == NULL && (dctx = ZSTD_createDCtx_advanced(zip_mem)) == NULL) zip_fatal("decompression", 0);
    size_t r = ZSTD_decompressDCtx(dctx, dst, n, src, zlen);
    if (ZSTD_isError(r)) zip_fatal("decompression", r);
    if (r != n) zip_fatal("decompression (length)", 0);
}
