/* alloc.h: the engine's allocator. Every engine allocation goes through here
 * so that used_memory (INFO, maxmemory) is an exact count of the bytes the
 * allocator handed out. Allocation failure aborts: a cache that cannot
 * allocate a few bytes cannot answer anyone. */
#ifndef CN_ALLOC_H
#define CN_ALLOC_H

#include <stddef.h>

void *zmalloc(size_t size);
void *zcalloc(size_t size);
void *zrealloc(void *ptr, size_t size);
void zfree(void *ptr);
char *zstrndup(const char *s, size_t len);
/* Usable size of an allocation made here (0 for NULL). */
size_t zmalloc_size(const void *ptr);
/* Bytes currently allocated through this module. */
size_t zmalloc_used(void);
/* Resident set size of the process, from /proc/self/statm. */
size_t zmalloc_rss(void);

#endif
