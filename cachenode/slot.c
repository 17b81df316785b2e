/* slot.c: key to hash slot (see slot.h). */
#include "slot.h"

#include <string.h>

static uint16_t crc_table[256];

static void build_table(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint16_t crc = (uint16_t)(i << 8);
        for (int b = 0; b < 8; b++) crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
        crc_table[i] = crc;
    }
}

uint16_t crc16_xmodem(const char *buf, size_t len)
{
    if (crc_table[1] == 0) build_table();
    const unsigned char *p = (const unsigned char *)buf;
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) crc = (uint16_t)((crc << 8) ^ crc_table[((crc >> 8) ^ p[i]) & 0xff]);
    return crc;
}

unsigned key_hash_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close && close > open + 1) {
            key = open + 1;
            len = (size_t)(close - open - 1);
        }
    }
    return crc16_xmodem(key, len) & (CLUSTER_SLOTS - 1);
}
