"""Streams between processes: a consumer group whose consumer disconnects
with pending entries that another consumer takes over with XAUTOCLAIM;
blocking XREAD and XREADGROUP woken by an XADD from another client (and a
blocked XREAD ... $ that is not woken by an entry it must not see); a
replica whose DEBUG DIGEST equals its primary's after stream writes,
consumer groups, claims, acknowledgements and approximate trims; a
restart that keeps streams and their groups; DUMP/RESTORE and COPY of a
stream with groups."""
import sys

import redis

from nodeutil import Suite, digest, wait_synced, wait_until
from test_blocking import Raw, wait_blocked


def test_autoclaim_after_consumer_crash(s):
    n = s.node()
    c = n.client()
    for i in range(1, 6):
        c.xadd("jobs", {"n": i}, id=f"{i}-0")
    c.xgroup_create("jobs", "workers", id="0")
    crashed = Raw(n)
    reply = crashed.call("XREADGROUP", "GROUP", "workers", "w1", "COUNT", "3", "STREAMS", "jobs", ">")
    assert [e[0] for e in reply[0][1]] == [b"1-0", b"2-0", b"3-0"], reply
    crashed.close()  # w1 dies with three pending entries
    survivor = n.client()
    got = survivor.xreadgroup("workers", "w2", {"jobs": ">"})
    assert [e[0] for e in got[0][1]] == [b"4-0", b"5-0"], got
    survivor.xack("jobs", "workers", "4-0", "5-0")
    pending = survivor.xpending("jobs", "workers")
    assert pending["pending"] == 3 and pending["consumers"] == [{"name": b"w1", "pending": 3}], pending
    cursor, claimed, deleted = survivor.execute_command("XAUTOCLAIM", "jobs", "workers", "w2", 0, "0")
    assert cursor == b"0-0" and deleted == [], (cursor, deleted)
    assert [e[0] for e in claimed] == [b"1-0", b"2-0", b"3-0"], claimed
    detail = survivor.xpending_range("jobs", "workers", "-", "+", 10)
    assert all(d["consumer"] == b"w2" and d["times_delivered"] == 2 for d in detail), detail
    assert survivor.xack("jobs", "workers", "1-0", "2-0", "3-0") == 3
    assert survivor.xpending("jobs", "workers")["pending"] == 0


def test_blocking_xread_woken_by_xadd(s):
    n = s.node()
    c = n.client()
    c.xadd("s", {"a": 1}, id="1-0")
    reader = Raw(n)
    reader.send("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    wait_blocked(n, 1)
    # an entry the reader must not see ($ was 1-0): nothing arrives until 2-0
    c.xdel("s", "1-0")
    assert not reader.pending(0.2), "XREAD woke for a deletion"
    c.xadd("s", {"b": 2}, id="2-0")
    assert reader.read() == [[b"s", [[b"2-0", [b"b", b"2"]]]]]
    wait_blocked(n, 0)
    reader.send("XREAD", "BLOCK", "50", "STREAMS", "s", "$")
    assert reader.read() is None  # timed out: a null array


def test_blocking_xreadgroup_woken_by_xadd(s):
    n = s.node()
    c = n.client()
    c.xgroup_create("s", "g", id="$", mkstream=True)
    readers = [Raw(n), Raw(n)]
    for i, r in enumerate(readers):
        r.send("XREADGROUP", "GROUP", "g", f"c{i}", "BLOCK", "0", "STREAMS", "s", ">")
    wait_blocked(n, 2)
    c.xadd("s", {"x": 1}, id="1-0")
    # the first to block gets the entry; the other keeps waiting
    assert readers[0].read() == [[b"s", [[b"1-0", [b"x", b"1"]]]]]
    assert not readers[1].pending(0.2)
    c.xadd("s", {"x": 2}, id="2-0")
    assert readers[1].read() == [[b"s", [[b"2-0", [b"x", b"2"]]]]]
    assert c.xpending("s", "g")["pending"] == 2
    # a destroyed group ends the wait with an error
    readers[0].send("XREADGROUP", "GROUP", "g", "c0", "BLOCK", "0", "STREAMS", "s", ">")
    wait_blocked(n, 1)
    c.xgroup_destroy("s", "g")
    reply = readers[0].read()
    assert reply == ("error", b"NOGROUP the consumer group this client was blocked on no longer exists"), reply


def stream_writes(c):
    for i in range(300):
        c.xadd("s", {"f": i, "g": "v"})  # auto IDs: the replica must get the same ones
    c.xadd("s", {"other": "fields"}, id="*")
    c.xadd("s", {"f": "x"}, maxlen=250, approximate=True)
    c.xtrim("s", minid="0-1", approximate=True)
    c.xdel("s", c.xrange("s", count=3)[2][0])
    c.xgroup_create("s", "g1", id="0")
    c.xgroup_create("s", "g2", id="$")
    c.xreadgroup("g1", "alice", {"s": ">"}, count=10)
    c.xreadgroup("g1", "bob", {"s": ">"}, count=5, noack=True)
    c.xreadgroup("g1", "carol", {"s": ">"}, count=7)
    c.xreadgroup("g1", "carol", {"s": "0"}, count=3)  # history: delivery counts move
    c.xack("s", "g1", c.xrange("s", count=1)[0][0])
    c.execute_command("XAUTOCLAIM", "s", "g1", "dave", 0, "0", "COUNT", 4)
    first = c.xrange("s", count=1)[0][0]
    c.xclaim("s", "g1", "erin", 0, [first], force=True)
    c.xgroup_createconsumer("s", "g2", "zed")
    c.xgroup_delconsumer("s", "g1", "bob")
    c.xgroup_setid("s", "g2", "0")
    c.execute_command("XSETID", "s", "99999999999999-0")
    c.xadd("t", {"a": 1}, id="5-*")
    c.execute_command("XADD", "t", "MAXLEN", "~", "0", "LIMIT", "1000", "*", "b", "2")


def test_replica_digest_matches(s):
    p = s.node()
    r = s.replica(p)
    pc = p.client()
    stream_writes(pc)
    wait_synced(p, r)
    rc = r.client()
    assert digest(p) == digest(r)
    for key in ("s", "t"):
        assert pc.xrange(key) == rc.xrange(key), key
        assert pc.execute_command("DEBUG", "DIGEST-VALUE", key) == rc.execute_command("DEBUG", "DIGEST-VALUE", key)
    assert pc.xinfo_groups("s") == rc.xinfo_groups("s")
    pel = lambda c: [(d["message_id"], d["consumer"], d["times_delivered"])
                     for d in c.xpending_range("s", "g1", "-", "+", 1000)]
    assert pel(pc) == pel(rc) and len(pel(pc)) > 0
    # a replica that syncs from scratch gets the same through the snapshot
    r2 = s.replica(p)
    wait_synced(p, r2)
    assert digest(p) == digest(r2)


def test_restart_keeps_streams_and_groups(s):
    n = s.node()
    c = n.client()
    stream_writes(c)
    before = (c.execute_command("DEBUG", "DIGEST"), c.xrange("s"), c.xinfo_groups("s"),
              c.xpending_range("s", "g1", "-", "+", 100), c.xinfo_stream("t"))
    c.save()
    n.terminate(20.0, check=True)
    again = s.node(dir=n.dir)
    c = again.client()
    after = (c.execute_command("DEBUG", "DIGEST"), c.xrange("s"), c.xinfo_groups("s"),
             c.xpending_range("s", "g1", "-", "+", 100), c.xinfo_stream("t"))
    for i, (a, b) in enumerate(zip(before, after)):
        if i == 3:  # idle times moved on
            a = [(d["message_id"], d["consumer"], d["times_delivered"]) for d in a]
            b = [(d["message_id"], d["consumer"], d["times_delivered"]) for d in b]
        assert a == b, (i, a, b)


def test_dump_restore_and_copy(s):
    n = s.node()
    c = n.client()
    stream_writes(c)
    payload = c.dump("s")
    c.restore("s2", 0, payload)
    c.copy("s", "s3")
    d = lambda k: c.execute_command("DEBUG", "DIGEST-VALUE", k)
    assert d("s") == d("s2") == d("s3")
    assert c.type("s2") == b"stream" and c.object("encoding", "s3") == b"stream"
    # the copy is deep: changing it leaves the original alone
    c.xgroup_destroy("s3", "g1")
    c.xadd("s3", {"n": "1"})
    assert d("s") == d("s2") != d("s3")
    try:
        c.restore("bad", 0, payload[:-12] + b"\x00" * 12)
        raise AssertionError("a corrupt payload was accepted")
    except redis.ResponseError:
        pass


if __name__ == "__main__":
    sys.exit(Suite().run([
        test_autoclaim_after_consumer_crash,
        test_blocking_xread_woken_by_xadd,
        test_blocking_xreadgroup_woken_by_xadd,
        test_replica_digest_matches,
        test_restart_keeps_streams_and_groups,
        test_dump_restore_and_copy,
    ]))
