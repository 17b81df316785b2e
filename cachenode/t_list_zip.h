/* t_list_zip.h: compression of list nodes (t_list_enc.c) with zstd. */
#ifndef CN_T_LIST_ZIP_H
#define CN_T_LIST_ZIP_H

#include <stddef.h>

/* Compresses n bytes of src into dst (at most cap bytes). Returns the
 * frame's length, or 0 when it would not fit in cap (the data does not
 * compress well enough to be worth it). */
size_t lzip_compress(void *dst, size_t cap, const void *src, size_t n);
/* Decompresses a frame of zlen bytes that lzip_compress made from exactly
 * n bytes into dst. Aborts if it does not (the frame is our own memory:
 * a bad one means the process is corrupt). */
void lzip_decompress(void *dst, size_t n, const void *src, size_t zlen);

#endif
