/* fuzz_payload.c: libFuzzer target for the value loaders: RESTORE's
 * payload parser and the snapshot loader, for every value type.
 *
 * Both check a CRC before parsing, which random bytes would never pass, so
 * the target seals the input itself: it appends the format version and the
 * CRC-64 to make a payload, and wraps the same bytes as one key record in a
 * snapshot file (header, SELECTDB, the record, EOF, CRC). What must hold
 * beyond "no crash, no sanitizer report, no leak":
 *   - a refused payload adds nothing, and the dataset keeps what it had;
 *   - an accepted payload yields a key whose DUMP is accepted again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (1 << 20)

static void init_once(void)
{
    static int done;
    if (done) return;
    done = 1;
    config_set_defaults();
    server_init();
}

static unsigned char *seal_payload(const uint8_t *body, size_t size, size_t *len)
{
    unsigned char *p = malloc(size + 10);
    if (p == NULL) abort();
    memcpy(p, body, size);
    p[size] = 1; /* format version */
    p[size + 1] = 0;
    uint64_t crc = snapshot_crc64(0, p, size + 2);
    for (int i = 0; i < 8; i++) p[size + 2 + i] = (unsigned char)(crc >> (8 * i));
    *len = size + 10;
    return p;
}

/* "CFSNAP" v1, SELECTDB 0, a key record "k" with the input as its type code
 * and value, EOF, CRC. */
static unsigned char *seal_snapshot(const uint8_t *body, size_t size, size_t *len)
{
    static const unsigned char head[] = {'C', 'F', 'S', 'N', 'A', 'P', 1, 0, 0xFE, 0, 1, 0};
    size_t n = sizeof(head) + (size ? 1 : 0) + 2 + (size ? size - 1 : 0) + 1 + 8;
    unsigned char *p = malloc(n), *w = p;
    if (p == NULL) abort();
    memcpy(w, head, sizeof(head));
    w += sizeof(head);
    if (size) *w++ = body[0]; /* type code */
    *w++ = 1;                  /* key length */
    *w++ = 'k';
    if (size > 1) memcpy(w, body + 1, size - 1);
    w += size > 1 ? size - 1 : 0;
    *w++ = 0xFF;
    uint64_t crc = snapshot_crc64(0, p, (size_t)(w - p));
    for (int i = 0; i < 8; i++) *w++ = (unsigned char)(crc >> (8 * i));
    *len = (size_t)(w - p);
    return p;
}

static void check_restore(const uint8_t *data, size_t size)
{
    size_t len;
    unsigned char *payload = seal_payload(data, size, &len);
    db *d = db_create(0, 0);
    const char *err;
    entry *e = snapshot_restore_payload(d, "k", 1, payload, len, &err);
    if (e == NULL) {
        if (err == NULL || db_size(d) != 0) abort();
    } else {
        if (db_size(d) != 1) abort();
        size_t again_len;
        unsigned char *again = snapshot_dump_payload(e, &again_len);
        db *d2 = db_create(0, 0);
        if (snapshot_restore_payload(d2, "k", 1, again, again_len, &err) == NULL) abort();
        zfree(again);
        db_release(d2);
    }
    db_release(d);
    free(payload);
}

static void check_snapshot(const uint8_t *data, size_t size)
{
    size_t len;
    unsigned char *file = seal_snapshot(data, size, &len);
    char err[256];
    db_add_string(server.dbs[1], "keep", 4, "me", 2);
    if (snapshot_load_buffer(file, len, err, sizeof(err)) == -1) {
        /* refused: the dataset is what it was */
        if (db_find(server.dbs[1], "keep", 4) == NULL) abort();
    }
    for (int i = 0; i < DB_COUNT; i++) db_empty(server.dbs[i]);
    free(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    if (size > MAX_INPUT) return 0;
    check_restore(data, size);
    check_snapshot(data, size);
    return 0;
}
