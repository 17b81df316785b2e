/* test_sha1.c: unit tests for cachenode/sha1.c against the FIPS 180 and
 * other well-known vectors, including inputs that cross block boundaries
 * and data fed in pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "sha1.h"

static void check(const char *in, size_t len, const char *want)
{
    char hex[41];
    sha1_hex(in, len, hex);
    assert_string_equal(hex, want);
}

static void test_known_vectors(void **state)
{
    (void)state;
    check("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    check("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check(two_blocks, strlen(two_blocks), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    const char *fox = "The quick brown fox jumps over the lazy dog";
    check(fox, strlen(fox), "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
}

static void test_million_a_in_pieces(void **state)
{
    (void)state;
    char chunk[997];
    memset(chunk, 'a', sizeof(chunk));
    sha1_ctx ctx;
    sha1_init(&ctx);
    size_t left = 1000000;
    while (left > 0) {
        size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
        sha1_update(&ctx, chunk, n);
        left -= n;
    }
    unsigned char d[20];
    sha1_final(&ctx, d);
    static const unsigned char want[20] = {0x34, 0xaa, 0x97, 0x3c, 0xd4, 0xc4, 0xda, 0xa4, 0xf6, 0x1e,
                                           0xeb, 0x2b, 0xdb, 0xad, 0x27, 0x31, 0x65, 0x34, 0x01, 0x6f};
    assert_memory_equal(d, want, 20);
}

static void test_padding_edges(void **state)
{
    (void)state;
    /* 55, 56 and 64 bytes: the length fits, just misses, fills the block */
    char buf[64];
    memset(buf, 'x', sizeof(buf));
    check(buf, 55, "cef734ba81a024479e09eb5a75b6ddae62e6abf1");
    check(buf, 56, "901305367c259952f4e7af8323f480d59f81335b");
    check(buf, 64, "bb2fa3ee7afb9f54c6dfb5d021f14b1ffe40c163");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_million_a_in_pieces),
        cmocka_unit_test(test_padding_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
