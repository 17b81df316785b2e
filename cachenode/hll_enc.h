/* hll_enc.h: the HyperLogLog representation Redis documents, byte for byte:
 * a 16-byte header ("HYLL", encoding, 3 unused bytes, the cached
 * cardinality as 8 little-endian bytes whose top bit marks it stale), then
 * either 16384 six-bit registers packed least significant bit first
 * (dense) or a run-length opcode stream (sparse: ZERO 00xxxxxx, XZERO
 * 01xxxxxx yyyyyyyy, VAL 1vvvvvxx). Elements hash with MurmurHash64A (seed
 * 0xadc83b19): the low 14 bits pick the register, the run of zeros above
 * them (plus one) is the value. These functions work on plain buffers; the
 * commands (hyperloglog.c) own the keys. */
#ifndef CN_HLL_ENC_H
#define CN_HLL_ENC_H

#include <stddef.h>
#include <stdint.h>

#define HLL_P 14
#define HLL_Q (64 - HLL_P)
#define HLL_REGISTERS (1 << HLL_P)
#define HLL_BITS 6
#define HLL_REGISTER_MAX ((1 << HLL_BITS) - 1)
#define HLL_HDR_SIZE 16
#define HLL_DENSE_BYTES ((HLL_REGISTERS * HLL_BITS + 7) / 8)
#define HLL_DENSE_SIZE (HLL_HDR_SIZE + HLL_DENSE_BYTES)
#define HLL_SPARSE_NEW_SIZE (HLL_HDR_SIZE + 2) /* one XZERO covering every register */
/* A sparse update grows the stream by at most this (XZERO -> XZERO VAL XZERO). */
#define HLL_SPARSE_MAX_GROWTH 3

enum { HLL_DENSE = 0, HLL_SPARSE = 1 };

uint64_t hll_murmur64a(const void *key, size_t len, uint64_t seed);
/* The register an element lands in and the value it proposes (1..51). */
int hll_pattern(const unsigned char *ele, size_t len, long *reg);

/* Whether the bytes are a HyperLogLog this module can read: the magic, a
 * known encoding, and the exact size when dense. */
int hll_header_valid(const unsigned char *s, size_t len);
int hll_encoding(const unsigned char *s);
int hll_cache_valid(const unsigned char *s);
uint64_t hll_cache_get(const unsigned char *s);
void hll_cache_set(unsigned char *s, uint64_t card);
void hll_cache_invalidate(unsigned char *s);

/* Writes an empty sparse HyperLogLog (HLL_SPARSE_NEW_SIZE bytes). */
void hll_init_sparse(unsigned char *out);

int hll_dense_get(const unsigned char *regs, long index);
/* Raises the register to count; 1 if it changed, 0 if it was as high. */
int hll_dense_set(unsigned char *regs, long index, int count);

/* The outcome of a sparse update. */
enum { HLL_UNCHANGED = 0, HLL_UPDATED = 1, HLL_CORRUPT = -1, HLL_NEEDS_DENSE = 2 };
/* Raises register `index` to `count` in the sparse HyperLogLog s[0..*len),
 * which must have HLL_SPARSE_MAX_GROWTH bytes of room past *len. Returns
 * HLL_NEEDS_DENSE, changing nothing, when the value does not fit the sparse
 * form or the result would pass max_bytes. */
int hll_sparse_set(unsigned char *s, size_t *len, long index, int count, size_t max_bytes);
/* Writes the dense form of the sparse s[0..len) to out (HLL_DENSE_SIZE
 * bytes), header included; -1 if the stream is corrupt. */
int hll_sparse_to_dense(const unsigned char *s, size_t len, unsigned char *out);

/* max[i] = MAX(max[i], register i) over HLL_REGISTERS bytes; -1 if corrupt. */
int hll_merge_into(uint8_t *max, const unsigned char *s, size_t len);
/* The estimate of the HyperLogLog s[0..len); sets *invalid on a corrupt
 * sparse stream. */
uint64_t hll_count(const unsigned char *s, size_t len, int *invalid);
/* The estimate from HLL_REGISTERS one-byte registers (PFCOUNT's union). */
uint64_t hll_count_registers(const uint8_t *regs);

/* PFDEBUG DECODE's text of a sparse stream ("z:N", "Z:N", "v:V,N" joined
 * by spaces), zmalloc'ed; *outlen is its length. */
char *hll_sparse_decode(const unsigned char *s, size_t len, size_t *outlen);

#endif
