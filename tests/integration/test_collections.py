#!/usr/bin/python3
"""Collections (hashes, lists, sets, sorted sets) across the engine's
machinery, seen from outside the process: DUMP/RESTORE, snapshots, full
sync to a replica under write load, eviction under maxmemory, lazy freeing
of large values, and the keyspace commands (COPY, RENAME, MOVE, TYPE,
OBJECT ENCODING) on every type.

    test_collections.py --cachenode build/bin/cachenode

Exit status 0 when every check passed; the last line is "N passed, M failed".
"""

import sys
import threading
import time

from nodeutil import Suite, wait_synced, wait_until

BATCH = 1000


def fill_types(c, prefix="", small=5, big=300):
    """One key of each type in its compact and in its big encoding."""
    p = c.pipeline(transaction=False)
    p.set(prefix + "str", "value")
    p.set(prefix + "int", 12345)
    p.hset(prefix + "hash:small", mapping={f"f{i}": f"v{i}" for i in range(small)})
    p.hset(prefix + "hash:big", mapping={f"f{i}": f"v{i}" for i in range(big)})
    p.rpush(prefix + "list:small", *[f"e{i}" for i in range(small)])
    p.rpush(prefix + "list:big", *[f"e{i}" for i in range(big)])
    p.sadd(prefix + "set:int", *range(small))
    p.sadd(prefix + "set:big", *[f"m{i}" for i in range(big)])
    p.zadd(prefix + "zset:small", {f"m{i}": i / 3 for i in range(small)})
    p.zadd(prefix + "zset:big", {f"m{i}": i * 1.5 for i in range(big)})
    p.execute()
    return [prefix + k for k in ("str", "int", "hash:small", "hash:big", "list:small", "list:big",
                                 "set:int", "set:big", "zset:small", "zset:big")]


def content(c, key):
    """What a client reads of the key, independent of encoding."""
    t = c.type(key).decode()
    if t == "string":
        return t, c.get(key)
    if t == "hash":
        return t, sorted(c.hgetall(key).items())
    if t == "list":
        return t, c.lrange(key, 0, -1)
    if t == "set":
        return t, sorted(c.smembers(key))
    if t == "zset":
        return t, c.zrange(key, 0, -1, withscores=True)
    return t, None


def encodings(c, keys):
    return {k: c.object("encoding", k) for k in keys}


def digest(c):
    return c.execute_command("DEBUG", "DIGEST")


def test_dump_restore_every_type(s):
    c = s.node().client()
    keys = fill_types(c)
    c.pexpire(keys[2], 100_000)
    for k in keys:
        payload = c.dump(k)
        assert payload, f"DUMP {k} returned nothing"
        assert c.restore(k + ":copy", 0, payload)
        assert content(c, k + ":copy") == content(c, k), f"RESTORE of {k} changed its value"
        assert c.object("encoding", k + ":copy") == c.object("encoding", k), k
        assert c.restore(k + ":ttl", 50_000, payload)
        assert 49 <= c.ttl(k + ":ttl") <= 50
        damaged = payload[:-1] + bytes([payload[-1] ^ 1])
        try:
            c.restore(k + ":bad", 0, damaged)
            raise AssertionError("a damaged payload was accepted")
        except Exception as e:
            assert "checksum" in str(e), str(e)
        assert not c.exists(k + ":bad")


def test_snapshot_round_trip_keeps_types_ttls_encodings(s):
    c = s.node().client()
    keys = fill_types(c)
    # converted to the big encoding, then shrunk: it stays big, across a reload too
    c.hdel("hash:big", *[f"f{i}" for i in range(5, 300)])
    c.sadd("set:few", "a", 1, 2)
    c.srem("set:few", "a")
    keys.append("set:few")
    c.pexpire("zset:big", 200_000)
    before = {k: content(c, k) for k in keys}
    enc = encodings(c, keys)
    d = digest(c)
    assert c.execute_command("DEBUG", "RELOAD")
    assert {k: content(c, k) for k in keys} == before
    assert encodings(c, keys) == enc
    assert digest(c) == d
    assert 190 <= c.ttl("zset:big") <= 200
    assert c.object("encoding", "hash:big") == b"hashtable"
    assert c.object("encoding", "set:few") == b"hashtable"


class MixedWriter(threading.Thread):
    """Writes to every type until stopped."""

    def __init__(self, node):
        super().__init__(daemon=True)
        self.client = node.client()
        self.stop_flag = threading.Event()
        self.count = 0

    def run(self):
        c = self.client
        while not self.stop_flag.is_set() and self.count < 200_000:
            i = self.count
            p = c.pipeline(transaction=False)
            p.hset(f"wh:{i % 50}", f"f{i}", i)
            p.rpush(f"wl:{i % 50}", i)
            if i % 3 == 0:
                p.lpop(f"wl:{(i + 7) % 50}")
            p.sadd(f"ws:{i % 50}", i)
            p.srem(f"ws:{(i + 3) % 50}", i - 3)
            p.zadd(f"wz:{i % 50}", {f"m{i % 400}": i})
            p.zincrby(f"wz:{(i + 1) % 50}", 0.5, f"m{i % 400}")
            p.execute()
            self.count += 1

    def stop(self):
        self.stop_flag.set()
        self.join(10)


def test_replica_of_mixed_types_under_writes_has_equal_digest(s):
    p = s.node()
    c = p.client()
    for i in range(20):
        fill_types(c, prefix=f"pre{i}:")
    w = MixedWriter(p)
    w.start()
    wait_until(lambda: w.count > 50, what="writer running")
    r = s.replica(p)
    wait_until(lambda: w.count > 2000, 30, what="writes during the live stream")
    w.stop()
    wait_synced(p, r)
    assert digest(r.client()) == digest(c), "replica digest differs from the primary's"
    assert r.client().dbsize() == c.dbsize()


def test_eviction_with_large_collections(s):
    n = s.node("--maxmemory", "8mb", "--maxmemory-policy", "allkeys-lru")
    c = n.client()
    for k in range(200):
        p = c.pipeline(transaction=False)
        p.hset(f"h:{k}", mapping={f"field:{i}": "x" * 20 for i in range(300)})
        p.sadd(f"s:{k}", *[f"member:{i}" for i in range(300)])
        p.zadd(f"z:{k}", {f"member:{i}": i for i in range(300)})
        p.rpush(f"l:{k}", *[f"element:{i}" for i in range(300)])
        p.execute()
    info = c.info()
    assert info["evicted_keys"] > 0, "nothing was evicted"
    # collections are counted exactly: memory stays at the limit (lazily
    # freed values may lag a little)
    wait_until(lambda: c.info("memory")["used_memory"] <= 8 * 1024 * 1024 * 1.1, 5,
               what="used_memory back under maxmemory")
    assert c.ping()


def fill_big(c, kind, key, n):
    for start in range(0, n, BATCH):
        chunk = range(start, min(n, start + BATCH))
        if kind == "hash":
            c.hset(key, mapping={f"f{i}": i for i in chunk})
        elif kind == "set":
            c.sadd(key, *chunk)
        elif kind == "zset":
            c.zadd(key, {f"m{i}": i for i in chunk})
        else:
            c.rpush(key, *chunk)


def timed_delete(n, c, key):
    """Deletes key while another client pings; returns the DEL's own time as
    the slowlog measured it (us, 0 when under the 5 ms threshold), its
    round trip (s) and the worst PING round trip meanwhile (s)."""
    c.slowlog_reset()
    worst = [0.0]
    stop = threading.Event()
    pinger = n.client()

    def ping_loop():
        while not stop.is_set():
            t = time.monotonic()
            pinger.ping()
            worst[0] = max(worst[0], time.monotonic() - t)
    th = threading.Thread(target=ping_loop, daemon=True)
    th.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    assert c.delete(key) == 1
    del_s = time.monotonic() - t0
    time.sleep(0.2)  # the lazy-free thread is freeing meanwhile
    stop.set()
    th.join(5)
    slow = [e for e in c.slowlog_get(128) if e["command"].split()[0].upper() in (b"DEL", "DEL")]
    return (slow[0]["duration"] if slow else 0), del_s, worst[0]


def test_deleting_a_million_members_does_not_stall(s):
    """DEL of a 1M-member collection is a queue push: the event loop never
    spends 5 ms on it (the slowlog records any command slower than that),
    and a client pinging meanwhile sees no stall. A synchronous free of a
    million members takes tens of milliseconds every time; a loaded machine
    can deschedule the node for a few ms once in a while, so a DEL that
    crosses 5 ms is measured again (at most three times) before failing."""
    n = s.node()
    c = n.client()
    c.config_set("slowlog-log-slower-than", 5000)
    retried = {}
    for kind in ("hash", "set", "zset", "list"):
        key = f"big:{kind}"
        attempts = retried[kind] = []
        while len(attempts) < 3:
            fill_big(c, kind, key, 1_000_000)
            slow_us, del_s, worst = timed_delete(n, c, key)
            attempts.append(slow_us)
            wait_until(lambda: c.info("memory")["lazyfree_pending_objects"] == 0, 20,
                       what="the lazy-free thread to finish")
            if slow_us == 0 and del_s < 0.1 and worst < 0.1:
                break
        assert attempts[-1] == 0, f"DEL of a 1M-member {kind} took {attempts} us in each attempt"
        assert del_s < 0.1, f"DEL of {kind} took {del_s:.3f} s"
        assert worst < 0.1, f"a PING waited {worst:.3f} s during the free of the {kind}"
    assert c.info("memory")["lazyfreed_objects"] >= 4
    return "slow DELs measured again (us): " + str({k: v[:-1] for k, v in retried.items() if len(v) > 1})


def mutate(c, key, kind):
    """Changes the key's value, whatever its type."""
    if kind == "string":
        c.append(key, "x")
    elif kind == "hash":
        c.hset(key, "new", "x")
    elif kind == "list":
        c.rpush(key, "x")
    elif kind == "set":
        c.sadd(key, "new")
    else:
        c.zadd(key, {"new": 1})


def test_keyspace_commands_on_every_type(s):
    n = s.node()
    c, c3 = n.client(), n.client(db=3)
    keys = fill_types(c)
    for k in keys:
        v = content(c, k)
        assert c.copy(k, k + ":c")
        assert content(c, k + ":c") == v
        mutate(c, k + ":c", v[0])
        assert content(c, k) == v, f"COPY of {k} shares state with the original"
        assert c.rename(k + ":c", k + ":r")
        assert c.move(k + ":r", 3)
        assert content(c3, k + ":r")[0] == v[0]
        assert c.type(k).decode() == v[0]
    names = [t.decode() for t in (c.type(k) for k in keys)]
    assert names == ["string", "string", "hash", "hash", "list", "list", "set", "set", "zset", "zset"]
    assert [c.object("encoding", k) for k in keys] == [
        b"embstr", b"int", b"listpack", b"hashtable", b"quicklist", b"quicklist",
        b"intset", b"hashtable", b"listpack", b"skiplist"]
    for t in ("hash", "list", "set", "zset"):
        found = set(c.scan_iter(_type=t, count=100))
        assert found == {k.encode() for k in keys if k.startswith(t)}, t
        assert c.memory_usage(f"{t}:big") > c.memory_usage(f"{t}:small" if t != "set" else "set:int")


def test_compressed_list_round_trips(s):
    """A list with compressed interior nodes (list-compress-depth 1, the
    default) reads, digests, dumps, copies and reloads as the same list
    kept uncompressed does."""
    zipped, plain = s.node().client(), s.node("--list-compress-depth", "0").client()
    elements = [f"job:{i:06d}" for i in range(20000)] + [str(i) for i in range(5000)]
    for c in (zipped, plain):
        for k in range(0, len(elements), BATCH):
            c.rpush("q", *elements[k:k + BATCH])
        c.linsert("q", "BEFORE", "job:010000", "inserted")
        c.lset("q", 15000, "set")
        c.lrem("q", 0, "job:012345")
    assert zipped.config_get("list-compress-depth") == {"list-compress-depth": "1"}
    want = plain.lrange("q", 0, -1)
    assert zipped.lrange("q", 0, -1) == want
    assert zipped.memory_usage("q", samples=0) * 3 < plain.memory_usage("q", samples=0)
    assert digest(zipped) == digest(plain)
    payload = zipped.dump("q")
    assert plain.restore("q:from-zipped", 0, payload)
    assert plain.lrange("q:from-zipped", 0, -1) == want
    assert zipped.restore("q:restored", 0, plain.dump("q"))
    assert zipped.copy("q", "q:copy")
    zipped.lset("q:copy", 9000, "only-in-the-copy")
    assert zipped.lrange("q", 0, -1) == want
    assert zipped.lindex("q:copy", 9000) == b"only-in-the-copy"
    zipped.delete("q:copy")
    d = digest(zipped)
    assert zipped.execute_command("DEBUG", "RELOAD")
    assert digest(zipped) == d
    assert zipped.lrange("q:restored", 0, -1) == want
    assert zipped.object("encoding", "q") == b"quicklist"


def main():
    return Suite().run([
        test_dump_restore_every_type,
        test_snapshot_round_trip_keeps_types_ttls_encodings,
        test_replica_of_mixed_types_under_writes_has_equal_digest,
        test_eviction_with_large_collections,
        test_deleting_a_million_members_does_not_stall,
        test_keyspace_commands_on_every_type,
        test_compressed_list_round_trips,
    ])


if __name__ == "__main__":
    sys.exit(main())
