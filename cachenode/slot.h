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

#endif
