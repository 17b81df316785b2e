/* slot.h: Redis Cluster's hash slots: CRC16 (XMODEM) of the key, or of its
 * hash tag (the bytes between the first '{' and the next '}', when there
 * are any), modulo 16384. */
#ifndef CN_SLOT_H
#define CN_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_SLOTS 16384

uint16_t crc16_xmodem(const char *buf, size_t len);
unsigned key_hash_slot(const char *key, size_t len);

/* A set of slots as a bitmap of CLUSTER_SLOTS bits. */
#define SLOT_BITMAP_BYTES (CLUSTER_SLOTS / 8)
static inline int slot_bit(const unsigned char *bits, unsigned slot)
{
    return (bits[slot >> 3] >> (slot & 7)) & 1;
}
static inline void slot_bit_set(unsigned char *bits, unsigned slot) { bits[slot >> 3] |= (unsigned char)(1u << (slot & 7)); }

#endif
