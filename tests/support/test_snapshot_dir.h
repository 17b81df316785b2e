/* test_snapshot_dir.h: what unit tests that save and load snapshots share:
 * a server with default configuration and a fresh temp dir whose
 * dump_path they save to, removed again at the end; and a builder of
 * hand-made snapshot files (include after cmocka.h), for loaders that must
 * refuse what is malformed. */
#ifndef CN_TEST_SNAPSHOT_DIR_H
#define CN_TEST_SNAPSHOT_DIR_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"
#include "snapshot.h"

static char tmpdir[PATH_MAX];
static char dump_path[PATH_MAX + 16];

/* name: the test's name, for the temp dir's. Returns 0, or -1. */
static inline int snapshot_dir_setup(const char *name)
{
    config_set_defaults();
    server_init();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/%s.XXXXXX", name);
    if (mkdtemp(tmpdir) == NULL) return -1;
    snprintf(dump_path, sizeof(dump_path), "%s/dump.cfs", tmpdir);
    return 0;
}

static inline void snapshot_dir_teardown(void)
{
    unlink(dump_path);
    rmdir(tmpdir);
}

/* ---- hand-made files ----------------------------------------------------- */

struct builder {
    unsigned char buf[4096];
    size_t len;
};

static inline void b_bytes(struct builder *b, const void *p, size_t n)
{
    assert_true(b->len + n <= sizeof(b->buf));
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

static inline void b_byte(struct builder *b, unsigned char c) { b_bytes(b, &c, 1); }

static inline void b_varint(struct builder *b, uint64_t v)
{
    do {
        b_byte(b, (unsigned char)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0)));
        v >>= 7;
    } while (v);
}

/* short strings: one varint byte of length */
static inline void b_string(struct builder *b, const char *s)
{
    b_byte(b, (unsigned char)strlen(s));
    b_bytes(b, s, strlen(s));
}

/* Starts a file: magic and format version. */
static inline void b_header(struct builder *b, unsigned version)
{
    b->len = 0;
    b_bytes(b, "CFSNAP", 6);
    b_byte(b, (unsigned char)(version & 0xff));
    b_byte(b, (unsigned char)(version >> 8));
}

/* Starts a version-1 file whose database 0 holds one key, of type code
 * `type` and name `key`: what follows is its value. */
static inline void b_one_key(struct builder *b, unsigned char type, const char *key)
{
    b_header(b, 1);
    b_byte(b, 0xFE); /* SELECTDB 0, one key, no TTL */
    b_byte(b, 0);
    b_byte(b, 1);
    b_byte(b, 0);
    b_byte(b, type);
    b_string(b, key);
}

/* Ends the file: the EOF opcode and the CRC-64 of everything before. */
static inline void b_finish(struct builder *b)
{
    b_byte(b, 0xFF);
    uint64_t crc = snapshot_crc64(0, b->buf, b->len);
    for (int i = 0; i < 8; i++) b_byte(b, (unsigned char)(crc >> (8 * i)));
}

static inline int b_load(struct builder *b, char *err, size_t errlen)
{
    return snapshot_load_buffer(b->buf, b->len, err, errlen);
}

#endif
