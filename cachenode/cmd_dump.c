/* cmd_dump.c: DUMP and RESTORE. The payload is our own (see snapshot.c:
 * one value as the snapshot stores it, the format version and a CRC-64),
 * so a value moves between cachenode nodes with its type and encoding, and
 * a damaged or foreign payload is refused before anything is written. */
#include <string.h>

#include "notify.h"
#include "server.h"
#include "snapshot.h"

static void dump_command(client *c)
{
    entry *e = lookup_read(c, &c->argv[1]);
    if (e == NULL) {
        reply_null(c);
        return;
    }
    size_t len;
    unsigned char *payload = snapshot_dump_payload(e, &len);
    reply_bulk(c, (const char *)payload, len);
    zfree(payload);
}

struct restore_options {
    int replace, absttl;
    long long idle, freq; /* -1 when not given */
};

static int parse_restore_options(client *c, struct restore_options *o)
{
    o->replace = o->absttl = 0;
    o->idle = o->freq = -1;
    for (int j = 4; j < c->argc; j++) {
        const arg *a = &c->argv[j];
        int more = j + 1 < c->argc;
        if (arg_is(a->p, a->len, "replace")) {
            o->replace = 1;
        } else if (arg_is(a->p, a->len, "absttl")) {
            o->absttl = 1;
        } else if (arg_is(a->p, a->len, "idletime") && more && o->freq == -1) {
            if (!arg_to_ll(c, &c->argv[++j], &o->idle)) return 0;
            if (o->idle < 0) {
                reply_error(c, "ERR Invalid IDLETIME value, must be >= 0");
                return 0;
            }
        } else if (arg_is(a->p, a->len, "freq") && more && o->idle == -1) {
            if (!arg_to_ll(c, &c->argv[++j], &o->freq)) return 0;
            if (o->freq < 0 || o->freq > 255) {
                reply_error(c, "ERR Invalid FREQ value, must be >= 0 and <= 255");
                return 0;
            }
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    return 1;
}

/* IDLETIME and FREQ set the access data the eviction policy reads. */
static void apply_access_data(entry *e, const struct restore_options *o)
{
    int lfu = server.maxmemory_policy == MAXMEMORY_ALLKEYS_LFU ||
              server.maxmemory_policy == MAXMEMORY_VOLATILE_LFU;
    if (lfu && o->freq != -1) {
        e->lru = (e->lru & ~0xFFu) | (uint32_t)o->freq;
    } else if (!lfu && o->idle != -1) {
        uint32_t idle = o->idle > 0xFFFFFF ? 0xFFFFFF : (uint32_t)o->idle;
        e->lru = (lru_clock() - idle) & 0xFFFFFF;
    }
}

/* RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f] */
static void restore_command(client *c)
{
    struct restore_options o;
    long long ttl;
    if (!parse_restore_options(c, &o)) return;
    entry *old = lookup_write(c, &c->argv[1]);
    if (old && !o.replace) {
        reply_error(c, "BUSYKEY Target key name already exists.");
        return;
    }
    if (!arg_to_ll(c, &c->argv[2], &ttl)) return;
    if (ttl < 0) {
        reply_error(c, "ERR Invalid TTL value, must be >= 0");
        return;
    }
    if (ttl > 0 && !o.absttl) ttl += server.now_ms;
    /* parse into a scratch database first: a bad payload changes nothing */
    db *scratch = db_create(c->dbid, 0);
    const char *err;
    const arg *key = &c->argv[1], *payload = &c->argv[3];
    entry *e = snapshot_restore_payload(scratch, key->p, key->len, (const unsigned char *)payload->p,
                                        payload->len, &err);
    if (e == NULL) {
        db_release(scratch);
        reply_error(c, err);
        return;
    }
    db_unlink_entry(scratch, e);
    db_release(scratch);
    if (old) db_delete_entry(c->db, old);
    if (ttl > 0 && ttl <= server.now_ms) { /* already expired: only the delete remains */
        entry_free(e);
        if (old) {
            arg del[2] = {{"DEL", 3}, *key};
            propagate_command(c, 2, del);
            key_modified(c->db, key);
            notify_key(c, NOTIFY_GENERIC, "del", key);
        }
        reply_ok(c);
        return;
    }
    db_link_entry(c->db, e);
    notify_key(c, NOTIFY_NEW, "new", key);
    if (ttl > 0) e = db_set_expire(c->db, e, ttl);
    apply_access_data(e, &o);
    char when[24];
    arg argv[6] = {{"RESTORE", 7}, *key, {when, 0}, *payload, {"REPLACE", 7}, {"ABSTTL", 6}};
    argv[2].len = ll2str(when, sizeof(when), ttl);
    propagate_command(c, 6, argv);
    key_modified(c->db, key);
    notify_key(c, NOTIFY_GENERIC, "restore", key);
    reply_ok(c);
}

struct command dump_commands[] = {
    {"dump", dump_command, 2, CMD_READONLY, ACL_KEYSPACE, 1, 1, 1, "RO access", "nondeterministic_output", "generic", "Return a serialized version of the value stored at the specified key.", "2.6.0", "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).", NULL, 0, 0, 0, 0},
    {"restore", restore_command, -4, CMD_WRITE | CMD_DENYOOM, ACL_KEYSPACE | ACL_DANGEROUS, 1, 1, 1, "OW update", NULL, "generic", "Create a key using the provided serialized value, previously obtained using DUMP.", "2.6.0", "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
