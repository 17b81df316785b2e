"""Moving slots between shards (docs/cluster.md, "Moving slots"): two shards
of a primary and a replica. 200k keys of every type in the slots moved; a
writer keeps writing to them (and a redis-py RedisCluster client reads and
writes) through CLUSTER IMPORT and IMPORT-FINISH; after the hand-off and the
next topology every acknowledged write is on the target, the target's
replica holds the same values, the source and its replica hold none of the
slots' keys, and the clients saw no error but MOVED. The hand-off pause
(max and p99 of the writes to the slots then) and the sync throughput are
measured and printed. A cancel during the snapshot leaves the target
without the slots' keys; a target killed during the sync leaves the source
serving them."""
import logging
import os
import signal
import socket
import sys
import threading
import time

import redis

from clusterutil import cluster_client, end_cleanly, fleet
from nodeutil import Suite, encode_command, wait_equal_digests, wait_synced, wait_until

# redis-py logs every MOVED it follows with a traceback
logging.getLogger("redis.cluster").setLevel(logging.CRITICAL)

MOVED = "100-199"
MOVED_SLOTS = range(100, 200)
NKEYS = 200_000


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def tags_in(slots, n):
    """n hash tags whose slots are in `slots`."""
    out, i = [], 0
    while len(out) < n:
        t = f"t{i}"
        if crc16(t.encode()) % 16384 in slots:
            out.append(t)
        i += 1
    return out


TAGS = tags_in(MOVED_SLOTS, 200)
STAYS = "{" + tags_in(range(200, 8192), 1)[0] + "}:stays"


def load(node, nkeys=NKEYS):
    """nkeys keys of every type (some with a TTL) in the moved slots."""
    r = node.client()
    p = r.pipeline(transaction=False)
    for i in range(nkeys):
        k = f"{{{TAGS[i % len(TAGS)]}}}:k{i}"
        kind = i % 6
        if kind == 0:
            p.set(k, f"v{i}" * 4)
        elif kind == 1:
            p.hset(k, mapping={"a": i, "b": "x" * 20})
        elif kind == 2:
            p.rpush(k, *range(5))
        elif kind == 3:
            p.sadd(k, "m1", "m2", str(i))
        elif kind == 4:
            p.zadd(k, {"a": 1, "b": i})
        else:
            p.xadd(k, {"f": i})
        if i % 10 == 0:
            p.expire(k, 3600)
        if i % 2000 == 1999:
            p.execute()
    p.execute()
    return r


def migrations(node, role):
    out = []
    for m in node.client().execute_command("CLUSTER", "MIGRATIONS"):
        d = {m[i].decode(): m[i + 1] for i in range(0, len(m), 2)}
        d = {k: v.decode() if isinstance(v, bytes) else v for k, v in d.items()}
        if d["role"] == role:
            out.append(d)
    return out


def state(node, mid, role):
    for m in migrations(node, role):
        if m["id"] == mid:
            return m
    return None


def keys_in_moved(node):
    r = node.client()
    return sum(r.execute_command("CLUSTER", "COUNTKEYSINSLOT", s) for s in MOVED_SLOTS)


class Writer(threading.Thread):
    """SETs to keys of the moved slots on the source, following MOVED by
    hand: the acknowledged value of each key, each write's latency."""

    def __init__(self, source, target):
        super().__init__(daemon=True)
        self.conns = {source.port: redis.Redis(port=source.port), target.port: redis.Redis(port=target.port)}
        self.port = source.port
        self.acked, self.samples, self.errors, self.moved = {}, [], [], 0
        self.stop = threading.Event()

    def run(self):
        i = 0
        while not self.stop.is_set():
            key = f"{{{TAGS[i % len(TAGS)]}}}:w{i % 500}"
            start = time.monotonic()
            try:
                self.conns[self.port].set(key, i)
                self.acked[key] = i
                self.samples.append((start, time.monotonic() - start))
                i += 1
            except redis.ResponseError as e:
                if str(e).startswith("MOVED "):
                    self.moved += 1
                    self.port = int(str(e).split(":")[-1])
                else:
                    self.errors.append(str(e))
            except Exception as e:  # noqa: BLE001 -- any other failure fails the test
                self.errors.append(repr(e))
                return


class ClusterLoad(threading.Thread):
    """A redis-py RedisCluster client writing and reading keys of the slots."""

    def __init__(self, f):
        super().__init__(daemon=True)
        self.rc = cluster_client(f)
        self.acked, self.errors = {}, []
        self.stop = threading.Event()

    def run(self):
        i = 0
        while not self.stop.is_set():
            key = f"{{{TAGS[(i * 7) % len(TAGS)]}}}:c{i % 300}"
            try:
                self.rc.set(key, i)
                self.acked[key] = i
                self.rc.get(key)
                i += 1
            except Exception as e:  # noqa: BLE001
                self.errors.append(repr(e))
                return


def publish_move(f):
    f.slots[0] = "0-99,200-8191"
    f.slots[1] = "100-199,8192-16383"
    f.push()


def test_move_under_load(s):
    f = fleet(s, 2)
    a, b = f.primary(0), f.primary(1)
    load(a)
    a.client().set(f"{{{TAGS[0]}}}:extra", "x")  # moved with the rest
    a.client().set(STAYS, "here")  # a slot of shard 0 not moved
    wait_synced(a, f.replica(0))
    before = a.client().info("memory")["used_memory"]
    writer, cl = Writer(a, b), ClusterLoad(f)
    writer.start()
    cl.start()
    t0 = time.monotonic()
    assert b.r.execute_command("CLUSTER", "IMPORT", "m1", "127.0.0.1", a.port, MOVED) == b"OK"
    wait_until(lambda: state(b, "m1", "import")["state"] == "streaming", 120, what="snapshot loaded")
    sync_s = time.monotonic() - t0
    sync_bytes = state(b, "m1", "import")["bytes"]
    exp = state(a, "m1", "export")
    assert exp["state"] == "streaming" and exp["peer"] == f"127.0.0.1:{b.port}", exp
    wait_until(lambda: state(a, "m1", "export")["lag_bytes"] < 64 * 1024, 30, what="small lag")
    h0 = time.monotonic()
    assert b.r.execute_command("CLUSTER", "IMPORT-FINISH", "m1", "TIMEOUT", 5000) == b"OK"
    h1 = time.monotonic()
    assert state(b, "m1", "import")["state"] == "done"
    wait_until(lambda: state(a, "m1", "export")["state"] == "done", 10, what="source done")
    wait_until(lambda: writer.port == b.port, 10, what="the writer redirected")
    time.sleep(0.2)  # some writes on the target after the hand-off
    for t in (writer, cl):
        t.stop.set()
        t.join(30)
    assert not writer.errors and not cl.errors, (writer.errors[:3], cl.errors[:3])
    assert writer.moved >= 1

    sample = [f"{{{TAGS[i % len(TAGS)]}}}:k{i}" for i in range(0, NKEYS, 97)]
    rb = b.client()
    digests = [rb.execute_command("DEBUG", "DIGEST-VALUE", k) for k in sample]
    assert digests == [a.client().execute_command("DEBUG", "DIGEST-VALUE", k) for k in sample]
    publish_move(f)
    for key, val in list(writer.acked.items()) + list(cl.acked.items()):
        assert rb.get(key) == str(val).encode(), key
    assert keys_in_moved(b) >= NKEYS
    for n in (a, f.replica(0)):
        assert keys_in_moved(n) == 0
    assert a.client().get(STAYS) == b"here" and rb.get(f"{{{TAGS[0]}}}:extra") == b"x"
    wait_synced(b, f.replica(1))
    wait_equal_digests(b, f.replica(1), 30)
    rr = f.replica(1).client()
    assert digests == [rr.execute_command("DEBUG", "DIGEST-VALUE", k) for k in sample]

    during = sorted(lat for start, lat in writer.samples if h0 - 0.05 <= start <= h1 + 0.05)
    assert during, "no write during the hand-off"
    p99 = during[min(len(during) - 1, int(len(during) * 0.99))]
    mbs = sync_bytes / sync_s / 1e6
    end_cleanly(*f.nodes)
    return (f"sync {sync_bytes / 1e6:.1f} MB in {sync_s:.2f}s = {mbs:.1f} MB/s under load "
            f"(source used_memory {before / 1e6:.0f} MB); hand-off {1000 * (h1 - h0):.1f} ms, "
            f"writes to the slots then: {len(during)}, max {1000 * during[-1]:.1f} ms, p99 {1000 * p99:.1f} ms")


def test_cancel_mid_snapshot(s):
    f = fleet(s, 2)
    a, b = f.primary(0), f.primary(1)
    load(a)
    assert b.r.execute_command("CLUSTER", "IMPORT", "m2", "127.0.0.1", a.port, MOVED) == b"OK"
    seen = []

    def loading():
        m = state(b, "m2", "import")
        seen.append(m["state"])
        return m["bytes"] > 0
    wait_until(loading, 60, interval=0.002, what="the snapshot arriving")
    # CLUSTER NODES shows the open slots on each node's own line, as Redis does
    ida, idb = (n.r.execute_command("CLUSTER", "MYID").decode() for n in (a, b))
    for node, mark in ((a, f"[100->-{idb}]"), (b, f"[100-<-{ida}]")):
        mine = next(line for line in node.r.execute_command("CLUSTER", "NODES").decode().splitlines()
                    if "myself" in line)
        assert mine.endswith(" " + " ".join(f"[{x}{mark[4:]}" for x in range(100, 200))), mine
        assert mark in mine, mine
    assert b.r.execute_command("CLUSTER", "IMPORT-CANCEL", "m2") == b"OK"
    assert "[" not in b.r.execute_command("CLUSTER", "NODES").decode(), "no open slot after the cancel"
    assert state(b, "m2", "import")["state"] == "cancelled"
    assert keys_in_moved(b) == 0
    wait_until(lambda: state(a, "m2", "export")["state"] == "failed", 10, what="source forgets")
    wait_synced(b, f.replica(1))
    assert keys_in_moved(f.replica(1)) == 0
    assert keys_in_moved(a) == NKEYS
    a.r.set(f"{{{TAGS[0]}}}:after", 1)
    try:
        b.r.execute_command("CLUSTER", "IMPORT-FINISH", "m2")
        raise AssertionError("IMPORT-FINISH of a cancelled import succeeded")
    except redis.ResponseError as e:
        assert "cancelled" in str(e), e
    end_cleanly(*f.nodes)
    return f"cancelled in state {seen[-1]}"


def test_kill_target_mid_sync(s):
    f = fleet(s, 2)
    a, b = f.primary(0), f.primary(1)
    load(a)
    assert b.r.execute_command("CLUSTER", "IMPORT", "m3", "127.0.0.1", a.port, MOVED) == b"OK"
    wait_until(lambda: state(b, "m3", "import")["bytes"] > 0, 60, interval=0.002, what="the sync under way")
    os.kill(b.pid, signal.SIGKILL)
    b.wait_exit()
    wait_until(lambda: state(a, "m3", "export")["state"] == "failed", 10, what="source forgets")
    ra = a.client()
    start = time.monotonic()
    ra.set(f"{{{TAGS[1]}}}:after", 1)  # not paused, not redirected
    assert time.monotonic() - start < 1
    assert keys_in_moved(a) == NKEYS + 1
    b.start()
    assert keys_in_moved(b) == 0
    end_cleanly(*f.nodes)


BUSY_SCRIPT = """
local start = redis.call('TIME')
while true do
  local now = redis.call('TIME')
  if (now[1] - start[1]) * 1000000 + (now[2] - start[2]) > tonumber(ARGV[1]) then return 1 end
end"""


def test_busy_script_on_the_target(s):
    """Writes streamed while a script is busy on the target wait for it:
    none is refused with -BUSY and lost on the way (the link stops
    reading, as a replica's link to its primary does)."""
    f = fleet(s, 2)
    a, b = f.primary(0), f.primary(1)
    load(a, 2000)
    assert b.r.execute_command("CLUSTER", "IMPORT", "m5", "127.0.0.1", a.port, MOVED) == b"OK"
    wait_until(lambda: state(b, "m5", "import")["state"] == "streaming", 60, what="snapshot loaded")
    b.r.config_set("busy-reply-threshold", 50)
    busy = threading.Thread(target=lambda: b.client().eval(BUSY_SCRIPT, 0, 1500000), daemon=True)
    busy.start()

    def is_busy():
        try:
            b.client().ping()
            return False
        except redis.exceptions.BusyLoadingError:
            return False
        except redis.ResponseError as e:
            return str(e).startswith("BUSY")
    wait_until(is_busy, 10, 0.01, "the target busy with a script")
    ra = a.client()
    for i in range(300):
        ra.set(f"{{{TAGS[i % len(TAGS)]}}}:busy{i}", i)
    assert is_busy(), "the script outlasted the writes"
    busy.join(30)
    wait_until(lambda: state(a, "m5", "export")["lag_bytes"] < 64 * 1024, 30, what="small lag")
    assert b.r.execute_command("CLUSTER", "IMPORT-FINISH", "m5", "TIMEOUT", 5000) == b"OK"
    publish_move(f)
    rb = b.client()
    missing = [i for i in range(300) if rb.get(f"{{{TAGS[i % len(TAGS)]}}}:busy{i}") != str(i).encode()]
    assert not missing, f"{len(missing)} writes made during the busy script are missing on the target"
    end_cleanly(*f.nodes)


def test_flush_reaches_only_the_slots(s):
    """FLUSHALL on the source empties the slots on the target, nothing else;
    PUBLISH does not cross."""
    f = fleet(s, 2)
    a, b = f.primary(0), f.primary(1)
    load(a, 1000)
    own = "{" + tags_in(range(8192, 16384), 1)[0] + "}:own"
    b.r.set(own, "mine")
    sub = b.client().pubsub()
    sub.subscribe("news")
    assert b.r.execute_command("CLUSTER", "IMPORT", "m7", "127.0.0.1", a.port, MOVED) == b"OK"
    wait_until(lambda: state(b, "m7", "import")["state"] == "streaming", 30, what="streaming")
    wait_until(lambda: keys_in_moved(b) == 1000, 10, what="keys imported")
    a.r.flushall()
    a.r.set(f"{{{TAGS[3]}}}:new", 1)
    a.r.publish("news", "hello")
    wait_until(lambda: keys_in_moved(b) == 1, 10, what="the flush on the target")
    assert b.r.get(own) == b"mine"
    wait_synced(b, f.replica(1))
    assert keys_in_moved(f.replica(1)) == 1
    msg = sub.get_message(timeout=1.0)
    assert msg is None or msg["type"] == "subscribe", msg
    assert sub.get_message(timeout=0.2) is None
    sub.close()
    end_cleanly(*f.nodes)


def test_big_keys_go_in_parts(s):
    """Lists, sets, sorted sets and hashes of more than 4096 elements reach
    the target in parts of 1024 (RPUSH/SADD/ZADD/HSET after a DEL, then
    PEXPIREAT), so that no single command stalls it; the target's values,
    encodings and expiry times are the source's. Small ones go as RESTORE."""
    f = fleet(s, 2)
    a, b = f.primary(0), f.primary(1)
    ra = a.client()
    tag = TAGS[0]
    n = 10_000
    p = ra.pipeline(transaction=False)
    for i in range(0, n, 1000):
        chunk = range(i, i + 1000)
        p.rpush(f"{{{tag}}}:list", *[f"e{j}" for j in chunk])
        p.sadd(f"{{{tag}}}:set", *[f"m{j}" for j in chunk])
        p.sadd(f"{{{tag}}}:intset", *chunk)
        p.zadd(f"{{{tag}}}:zset", {f"m{j}": j / 7 for j in chunk})
        p.hset(f"{{{tag}}}:hash", mapping={f"f{j}": f"v{j}" for j in chunk})
    p.zadd(f"{{{tag}}}:zset", {"low": float("-inf"), "high": float("inf")})
    p.rpush(f"{{{tag}}}:small", *range(100))
    p.pexpireat(f"{{{tag}}}:zset", int(time.time() * 1000) + 3_600_000)
    p.pexpireat(f"{{{tag}}}:small", int(time.time() * 1000) + 3_600_000)
    p.execute()
    big = ["list", "set", "intset", "zset", "hash"]
    keys = [f"{{{tag}}}:{k}" for k in big + ["small"]]
    def looks(r):
        return [(r.execute_command("DEBUG", "DIGEST-VALUE", k), r.object("encoding", k),
                 r.execute_command("PEXPIRETIME", k)) for k in keys]
    on_source = looks(ra)
    assert b.r.execute_command("CLUSTER", "IMPORT", "parts", "127.0.0.1", a.port, MOVED) == b"OK"
    wait_until(lambda: state(b, "parts", "import")["state"] == "streaming", 60, what="snapshot loaded")
    assert b.r.execute_command("CLUSTER", "IMPORT-FINISH", "parts") == b"OK"
    rb = b.client()
    assert looks(rb) == on_source
    stats = rb.info("commandstats")
    parts = -(-n // 1024)
    for cmd in ("rpush", "hset"):
        assert stats[f"cmdstat_{cmd}"]["calls"] == parts, (cmd, stats.get(f"cmdstat_{cmd}"))
    assert stats["cmdstat_sadd"]["calls"] == 2 * parts, stats["cmdstat_sadd"]
    assert stats["cmdstat_zadd"]["calls"] == -(-(n + 2) // 1024), stats["cmdstat_zadd"]
    assert stats["cmdstat_restore"]["calls"] == 1, stats["cmdstat_restore"]  # the small list
    assert stats["cmdstat_pexpireat"]["calls"] == 1, stats["cmdstat_pexpireat"]
    end_cleanly(*f.nodes)


def test_refusals(s):
    f = fleet(s, 2)
    a, b = f.primary(0), f.primary(1)
    rb = b.client()
    for args, want in [
        (("IMPORT", "m4", "127.0.0.1", a.port, "9000"), "not owned by another shard"),
        (("IMPORT", "bad id!", "127.0.0.1", a.port, MOVED), "invalid migration id"),
        (("IMPORT-FINISH", "nope"), "no import named"),
        (("IMPORT-CANCEL", "nope"), "no import named"),
    ]:
        try:
            rb.execute_command("CLUSTER", *args)
            raise AssertionError(f"{args} succeeded")
        except redis.ResponseError as e:
            assert want in str(e), (args, e)
    try:
        f.replica(1).client().execute_command("CLUSTER", "IMPORT", "m5", "127.0.0.1", a.port, MOVED)
        raise AssertionError("a replica imported")
    except redis.ResponseError as e:
        assert "primary" in str(e), e
    # the memory check: the slots' size, as the source tells it, must fit
    load(a, 20_000)
    rb.config_set("maxmemory", rb.info("memory")["used_memory"] + 100_000)
    try:
        rb.execute_command("CLUSTER", "IMPORT", "m6", "127.0.0.1", a.port, MOVED)
        raise AssertionError("an import beyond maxmemory succeeded")
    except redis.ResponseError as e:
        assert "not enough memory" in str(e), e
    assert keys_in_moved(b) == 0
    # RESP3: maps
    with socket.create_connection(("127.0.0.1", b.port), timeout=10) as conn:
        conn.sendall(encode_command("HELLO", "3") + encode_command("CLUSTER", "MIGRATIONS"))
        data = b""
        while b"error" not in data or not data.endswith(b"\r\n"):
            chunk = conn.recv(65536)
            assert chunk, "connection closed"
            data += chunk
    reply = data[data.index(b"*1\r\n%9\r\n"):]
    assert b"$5\r\nstate\r\n$6\r\nfailed\r\n" in reply, reply
    end_cleanly(*f.nodes)


if __name__ == "__main__":
    sys.exit(Suite().run([
        test_refusals,
        test_flush_reaches_only_the_slots,
        test_big_keys_go_in_parts,
        test_cancel_mid_snapshot,
        test_busy_script_on_the_target,
        test_kill_target_mid_sync,
        test_move_under_load,
    ]))
