"""Transactions: redis-py pipelines with MULTI/EXEC and optimistic locking
(WATCH, retried on WatchError), WATCH invalidated by another client's write,
by expiry, by eviction and by FLUSHALL, blocking commands inside EXEC, and
replication: a transaction reaches replicas wrapped in MULTI/EXEC and a
replica's digest equals its primary's."""
import sys
import threading

import redis

from nodeutil import RawReplica, Suite, wait_equal_digests, wait_until


def test_pipeline_transaction(s):
    c = s.node().client()
    with c.pipeline(transaction=True) as p:
        p.set("a", 1).incr("a").lpush("l", "x", "y").hset("h", "f", "v").zadd("z", {"m": 2})
        assert p.execute() == [True, 2, 2, 1, 1]
    assert c.get("a") == b"2" and c.llen("l") == 2


def test_optimistic_locking_retries(s):
    """Several threads increment one counter with WATCH/MULTI/EXEC: every
    increment lands exactly once, so some transactions must have failed
    (WatchError) and been retried."""
    n = s.node()
    n.client().set("counter", 0)
    conflicts = [0]
    lock = threading.Lock()

    def worker():
        c = n.client()
        for _ in range(200):
            while True:
                with c.pipeline() as p:
                    try:
                        p.watch("counter")
                        value = int(p.get("counter"))
                        p.multi()
                        p.set("counter", value + 1)
                        p.execute()
                        break
                    except redis.WatchError:
                        with lock:
                            conflicts[0] += 1
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        assert not t.is_alive(), "a worker did not finish"
    assert int(n.client().get("counter")) == 800
    return f"{conflicts[0]} conflicts retried"


def exec_after(c, watched, change):
    """WATCH, let `change` happen, then MULTI/PING/EXEC: the EXEC reply."""
    c.execute_command("WATCH", watched)
    change()
    c.execute_command("MULTI")
    c.execute_command("PING")
    return c.execute_command("EXEC")


def test_watch_invalidated_by_write_expiry_eviction_flush(s):
    n = s.node()
    c, other = n.client(), n.client()
    other.set("k", "v")
    assert exec_after(c, "k", lambda: other.append("k", "x")) is None
    assert exec_after(c, "k", lambda: None) == [b"PONG"]  # untouched: it runs

    # expiry, even before anyone deletes the key
    other.set("e", "v", px=30)
    assert exec_after(c, "e", lambda: wait_until(lambda: other.pttl("e") == -2, 5)) is None

    # eviction
    other.config_set("maxmemory-policy", "allkeys-random")
    other.set("victim", "v")

    def evict():
        used = int(other.info("memory")["used_memory"])
        other.config_set("maxmemory", used + 200000)
        i = 0
        while other.exists("victim") and i < 1000000:
            other.set(f"fill:{i}", "x" * 100)
            i += 1
        assert not other.exists("victim")
    assert exec_after(c, "victim", evict) is None
    other.config_set("maxmemory", 0)

    other.set("f", "v")
    assert exec_after(c, "f", lambda: other.flushall()) is None
    # a watched key that did not exist is untouched by a flush
    assert exec_after(c, "absent", lambda: other.flushall()) == [b"PONG"]


def test_blocking_commands_in_exec_do_not_block(s):
    c = s.node().client()
    c.execute_command("MULTI")
    c.execute_command("BLPOP", "none", 0)
    c.execute_command("BLMOVE", "none", "dst", "LEFT", "RIGHT", 0)
    c.execute_command("BZPOPMIN", "none", 0)
    c.execute_command("WAIT", 1, 0)
    assert c.execute_command("EXEC") == [None, None, None, 0]


def test_transaction_replicates_as_one_unit(s):
    p = s.node()
    raw = RawReplica(p)
    try:
        c = p.client()
        c.execute_command("MULTI")
        c.execute_command("SET", "a", 1)
        c.execute_command("SELECT", 3)
        c.execute_command("LPUSH", "l", "x")
        c.execute_command("GET", "a")
        c.execute_command("EXEC")
        c.execute_command("SELECT", 0)
        c.set("after", 1)
        stream = [cmd for cmd in raw.commands_until(b"SET") if cmd[0] != b"SELECT"]
        assert stream[0] == [b"MULTI"], stream
        stream += [cmd for cmd in raw.commands_until(b"EXEC") if cmd[0] != b"SELECT"]
        assert stream == [[b"MULTI"], [b"SET", b"a", b"1"], [b"LPUSH", b"l", b"x"], [b"EXEC"]], stream
        after = raw.commands_until(b"SET")
        assert after[-1] == [b"SET", b"after", b"1"], after
    finally:
        raw.close()


def test_client_list_shows_a_transaction(s):
    n = s.node()
    c, other = n.client(), n.client()
    c.client_setname("txn")
    c.execute_command("WATCH", "k")
    c.execute_command("MULTI")
    c.execute_command("SET", "k", "1")
    c.execute_command("GET", "k")
    other.set("k", "2")  # the watched key changes: EXEC will fail
    line = next(cl for cl in other.client_list() if cl["name"] == "txn")
    # as redis-server 7.0 shows it: the argument bytes plus a pointer each
    assert (line["flags"], line["multi"], line["multi-mem"]) == ("xd", "2", str(5 + 24 + 4 + 16)), line
    assert c.execute_command("EXEC") is None
    line = next(cl for cl in other.client_list() if cl["name"] == "txn")
    assert (line["flags"], line["multi"], line["multi-mem"]) == ("N", "-1", "0"), line


def test_replica_digest_after_transactions(s):
    p = s.node()
    r = s.replica(p)
    pc, rc = p.client(), r.client()
    for i in range(200):
        with pc.pipeline(transaction=True) as tx:
            tx.incr("n").rpush("q", i).sadd("s", i % 17).zincrby("z", 1, i % 5).hincrby("h", i % 3, 1)
            tx.spop("s", 2) if i % 10 == 0 else tx.ping()
            tx.execute()
    wait_equal_digests(p, r)
    assert int(rc.get("n")) == 200


if __name__ == "__main__":
    sys.exit(Suite().run([
        test_pipeline_transaction,
        test_optimistic_locking_retries,
        test_watch_invalidated_by_write_expiry_eviction_flush,
        test_blocking_commands_in_exec_do_not_block,
        test_transaction_replicates_as_one_unit,
        test_client_list_shows_a_transaction,
        test_replica_digest_after_transactions,
    ]))
