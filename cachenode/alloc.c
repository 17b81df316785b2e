/* alloc.c: counted allocation on top of libc malloc (see alloc.h). */
#include "alloc.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Atomic: the lazy-free thread frees too (object.c). Relaxed order is
 * enough for a counter that is only ever summed. */
static size_t used_memory;

#define USED_ADD(n) __atomic_add_fetch(&used_memory, (n), __ATOMIC_RELAXED)
#define USED_SUB(n) __atomic_sub_fetch(&used_memory, (n), __ATOMIC_RELAXED)

static void out_of_memory(size_t size)
{
    fprintf(stderr, "cachenode: out of memory allocating %zu bytes\n", size);
    abort();
}

void *zmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL) out_of_memory(size);
    USED_ADD(malloc_usable_size(p));
    return p;
}

void *zcalloc(size_t size)
{
    void *p = calloc(1, size ? size : 1);
    if (p == NULL) out_of_memory(size);
    USED_ADD(malloc_usable_size(p));
    return p;
}

void *zrealloc(void *ptr, size_t size)
{
    if (ptr == NULL) return zmalloc(size);
    size_t old = malloc_usable_size(ptr);
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL) out_of_memory(size);
    USED_SUB(old);
    USED_ADD(malloc_usable_size(p));
    return p;
}

void zfree(void *ptr)
{
    if (ptr == NULL) return;
    USED_SUB(malloc_usable_size(ptr));
    free(ptr);
}

char *zstrndup(const char *s, size_t len)
{
    char *p = zmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

size_t zmalloc_size(const void *ptr)
{
    return ptr ? malloc_usable_size((void *)ptr) : 0;
}

size_t zmalloc_used(void) { return __atomic_load_n(&used_memory, __ATOMIC_RELAXED); }

size_t zmalloc_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return 0;
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    if (n != 2) return 0;
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}
