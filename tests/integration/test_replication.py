"""Replication: full sync under write load, partial resync within the
backlog and full resync beyond it, promotion with a second replica that
follows by partial resync, WAIT, NOREPLICAS, READONLY for replicas and for
the clients of a demoted primary. Datasets are compared key by key."""
import os
import signal
import sys
import threading
import time

import redis

from nodeutil import RawReplica, Suite, wait_synced, wait_until


def repl(node):
    return node.client().info("replication")


def stats(node):
    return node.client().info("stats")


def dataset(node, db=0):
    c = node.client(db=db)
    keys = list(c.scan_iter(count=1000))
    data = {}
    for i in range(0, len(keys), 1000):
        batch = keys[i:i + 1000]
        data.update(zip(batch, c.mget(batch)))
    return data


def assert_same_data(a, b):
    da, db_ = dataset(a), dataset(b)
    assert len(da) == len(db_), f"{len(da)} keys vs {len(db_)} keys"
    diff = [k for k in da if da[k] != db_.get(k)]
    assert not diff, f"{len(diff)} keys differ, e.g. {diff[:3]}"


def load(node, n, prefix="k", size=16):
    c = node.client()
    value = b"x" * size
    for start in range(0, n, 1000):
        p = c.pipeline(transaction=False)
        for i in range(start, min(n, start + 1000)):
            p.set(f"{prefix}:{i}", value)
        p.execute()


def replica_of(suite, primary, *extra):
    return suite.node("--replicaof", "127.0.0.1", str(primary.port), *extra)


class Writer(threading.Thread):
    """Keeps writing to a node until stopped; counts acknowledged writes."""

    def __init__(self, node, prefix):
        super().__init__(daemon=True)
        self.client = node.client()
        self.prefix = prefix
        self.stop_flag = threading.Event()
        self.count = 0

    def run(self):
        while not self.stop_flag.is_set() and self.count < 1_000_000:
            self.client.set(f"{self.prefix}:{self.count}", self.count)
            self.count += 1

    def stop(self):
        self.stop_flag.set()
        self.join(10)


def test_full_sync_under_write_load(s):
    p = s.node()
    load(p, 50_000)
    w = Writer(p, "live")
    w.start()
    wait_until(lambda: w.count > 100, what="writer running")
    r = replica_of(s, p)
    wait_until(lambda: repl(r)["master_link_status"] == "up", 20, what="link up")
    time.sleep(0.2)  # let the writer overlap the live stream too
    w.stop()
    wait_synced(p, r)
    assert_same_data(p, r)
    assert stats(p)["sync_full"] == 1


def pause_until_dropped(primary, replica):
    """Stops the replica until the primary drops it for not acknowledging."""
    primary.client().config_set("repl-timeout", 1)
    os.kill(replica.pid, signal.SIGSTOP)
    wait_until(lambda: repl(primary)["connected_slaves"] == 0, 10, what="primary drops the replica")


def test_partial_resync_within_backlog(s):
    p = s.node()
    r = replica_of(s, p)
    load(p, 1000)
    wait_synced(p, r)
    pause_until_dropped(p, r)
    load(p, 500, prefix="during")
    os.kill(r.pid, signal.SIGCONT)
    wait_synced(p, r)
    assert_same_data(p, r)
    st = stats(p)
    assert st["sync_full"] == 1 and st["sync_partial_ok"] == 1, st


def test_full_resync_beyond_backlog(s):
    p = s.node("--repl-backlog-size", "16kb")
    r = replica_of(s, p)
    load(p, 100)
    wait_synced(p, r)
    pause_until_dropped(p, r)
    load(p, 5000, prefix="during", size=64)  # far more than 16 kB
    os.kill(r.pid, signal.SIGCONT)
    wait_synced(p, r)
    assert_same_data(p, r)
    assert stats(p)["sync_full"] == 2, stats(p)


def test_promotion_keeps_partial_resync(s):
    p = s.node()
    r1 = replica_of(s, p)
    r2 = replica_of(s, p)
    load(p, 2000)
    wait_synced(p, r1, r2)
    r1.client().execute_command("REPLICAOF", "NO", "ONE")
    info = repl(r1)
    assert info["role"] == "master" and info["second_repl_offset"] > 0, info
    r2.client().execute_command("REPLICAOF", "127.0.0.1", r1.port)
    p.client().execute_command("REPLICAOF", "127.0.0.1", r1.port)
    r1.client().set("after-promotion", "yes")
    wait_synced(r1, r2, p)
    st = stats(r1)
    assert st["sync_full"] == 0 and st["sync_partial_ok"] == 2, st
    assert r2.client().get("after-promotion") == b"yes"
    assert_same_data(r1, r2)
    assert_same_data(r1, p)


def test_wait(s):
    p = s.node()
    r = replica_of(s, p)
    wait_synced(p, r)
    c = p.client()
    c.set("a", 1)
    assert c.execute_command("WAIT", 1, 2000) == 1
    os.kill(r.pid, signal.SIGSTOP)
    try:
        c.set("b", 2)
        start = time.monotonic()
        assert c.execute_command("WAIT", 1, 300) == 0
        took = time.monotonic() - start
        assert 0.25 <= took < 3, took
    finally:
        os.kill(r.pid, signal.SIGCONT)
    assert c.execute_command("WAIT", 1, 5000) == 1


def test_noreplicas(s):
    p = s.node("--min-replicas-to-write", "1", "--min-replicas-max-lag", "2")
    c = p.client()
    try:
        c.set("a", 1)
        raise AssertionError("write accepted without replicas")
    except redis.ResponseError as e:
        assert str(e).startswith("NOREPLICAS"), e
    r = replica_of(s, p)
    wait_synced(p, r)
    wait_until(lambda: c.set("a", 1), 5, what="write accepted with a replica")
    assert c.get("a") == b"1"


def test_replica_and_demoted_primary_refuse_writes(s):
    p = s.node()
    other = s.node()
    r = replica_of(s, p)
    wait_synced(p, r)
    try:
        r.client().set("x", 1)
        raise AssertionError("replica accepted a write")
    except redis.ReadOnlyError:
        pass
    old_client = p.client()
    old_client.set("before", 1)
    waiter_result = {}

    def blocked_wait():
        try:
            waiter_result["reply"] = p.client().execute_command("WAIT", 5, 0)
        except redis.ResponseError as e:
            waiter_result["error"] = str(e)

    t = threading.Thread(target=blocked_wait, daemon=True)
    t.start()
    wait_until(lambda: p.client().info("clients")["blocked_clients"] >= 1 if "blocked_clients" in p.client().info("clients") else True,
               5, what="WAIT blocked")
    time.sleep(0.1)
    p.client().execute_command("REPLICAOF", "127.0.0.1", other.port)
    t.join(5)
    assert "UNBLOCKED" in waiter_result.get("error", ""), waiter_result
    try:
        old_client.set("after", 1)
        raise AssertionError("demoted primary accepted a write")
    except redis.ReadOnlyError:
        pass


def test_masterauth(s):
    p = s.node("--requirepass", "s3cret")
    r = replica_of(s, p, "--masterauth", "s3cret")
    pc = p.client()
    pc.set("guarded", "yes")
    wait_until(lambda: repl(r)["master_link_status"] == "up", 10, what="authenticated link")
    wait_until(lambda: r.client().get("guarded") == b"yes", 10, what="data on the replica")
    wrong = replica_of(s, p, "--masterauth", "nope")
    time.sleep(0.5)  # give it the chance to (wrongly) sync
    assert repl(wrong)["master_link_status"] == "down"
    assert wrong.client().dbsize() == 0
    assert "s3cret" not in r.log_tail(200) and "s3cret" not in p.log_tail(200)


def test_ttls_survive_sync_as_absolute_times(s):
    p = s.node()
    c = p.client()
    c.set("synced-ttl", "v", px=60_000)           # travels in the snapshot
    r = replica_of(s, p)
    wait_synced(p, r)
    c.set("streamed-ttl", "v", ex=60)              # travels in the stream (SET ... PXAT)
    c.set("expire-cmd", "v")
    c.expire("expire-cmd", 60)                     # PEXPIREAT in the stream
    wait_synced(p, r)
    rc = r.client()
    for key in ("synced-ttl", "streamed-ttl", "expire-cmd"):
        want = c.pexpiretime(key) if hasattr(c, "pexpiretime") else c.execute_command("PEXPIRETIME", key)
        got = rc.execute_command("PEXPIRETIME", key)
        assert want > 0 and got == want, f"{key}: primary {want}, replica {got}"
    # a key that expires on the primary is gone for the replica's readers
    c.set("short", "v", px=100)
    wait_synced(p, r)
    wait_until(lambda: rc.get("short") is None, 5, what="expired key hidden on the replica")
    assert c.get("short") is None  # the primary expires it and sends DEL
    wait_synced(p, r)
    assert rc.exists("short") == 0


def test_acks_report_the_replicas_offset(s):
    p = s.node()
    r = replica_of(s, p)
    load(p, 40_000, size=64)  # a few MB of stream: offsets of 7 digits and more
    wait_synced(p, r)
    want = repl(p)["master_repl_offset"]
    assert want > 1_000_000, want

    def acked():
        slave = repl(p)["slave0"]
        return slave["offset"] == want and slave["lag"] <= 2
    wait_until(acked, 5, what="the primary to see the replica's acknowledged offset")
    role = p.client().execute_command("ROLE")
    assert int(role[2][0][2]) == want, role
    assert "Protocol error" not in p.log_tail(500) + r.log_tail(500)


def freeze(node, seconds):
    """Stops the process for `seconds`: the scenario itself (a frozen
    primary), not a wait for some condition."""
    os.kill(node.pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.kill(node.pid, signal.SIGCONT)


def test_frozen_primary_fenced_after_failover(s):
    p = s.node("--min-replicas-to-write", "1", "--min-replicas-max-lag", "10")
    r = replica_of(s, p)
    wait_synced(p, r)
    c = p.client()
    c.set("before", 1)
    os.kill(p.pid, signal.SIGSTOP)
    try:
        r.client().execute_command("REPLICAOF", "NO", "ONE")  # failed over meanwhile
        time.sleep(0.5)
    finally:
        os.kill(p.pid, signal.SIGCONT)
    # the very first write after waking is refused, although the replica's
    # last acknowledgement is well within min-replicas-max-lag
    try:
        c.set("lost", 1)
        raise AssertionError("the frozen old primary took a write after waking")
    except redis.ResponseError as e:
        assert str(e).startswith("NOREPLICAS"), e
    assert c.get("lost") is None
    assert "did not run" in p.log_tail(50)


def test_stall_fences_writes_until_a_fresh_ack(s):
    p = s.node("--min-replicas-to-write", "1", "--min-replicas-max-lag", "10")
    silent = RawReplica(p)  # acknowledges once, then never again
    try:
        c = p.client()
        wait_until(lambda: c.set("before", 1), 5, what="a write with the replica's ack")
        freeze(p, 0.5)
        # Its one ack is recent enough for min-replicas-max-lag, but it came
        # before the stall: the primary must not count it any more.
        try:
            c.set("after", 1)
            raise AssertionError("a write was accepted on an ack from before the stall")
        except redis.ResponseError as e:
            assert str(e).startswith("NOREPLICAS"), e
    finally:
        silent.close()


def test_frozen_primary_without_failover_resumes(s):
    p = s.node("--min-replicas-to-write", "1", "--min-replicas-max-lag", "10")
    r = replica_of(s, p)
    wait_synced(p, r)
    c = p.client()
    freeze(p, 0.5)

    def write_ok():
        try:
            return c.set("after-stall", 1)
        except redis.ResponseError:
            return False
    # the replica answers the GETACK at once: no need to wait for its 1 s ack
    start = time.monotonic()
    wait_until(write_ok, 3, 0.005, "writes resume after the replica acknowledges")
    assert time.monotonic() - start < 0.9, time.monotonic() - start
    wait_synced(p, r)
    assert r.client().get("after-stall") == b"1"


def test_evictions_reach_replicas(s):
    p = s.node("--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru")
    r = replica_of(s, p)
    wait_synced(p, r)
    load(p, 60_000, size=64)  # far more than 4 MB: the primary evicts
    assert stats(p)["evicted_keys"] > 0, "nothing was evicted"
    # One connection each, kept open: on a full primary every new connection
    # (its buffers count towards maxmemory) evicts a little more.
    pc, rc = p.client(), r.client()
    state = lambda c: (c.dbsize(), c.execute_command("DEBUG", "DIGEST"))
    wait_until(lambda: state(pc) == state(rc), 10, what="replica holds exactly the primary's keys")


if __name__ == "__main__":
    sys.exit(Suite().run([
        test_full_sync_under_write_load,
        test_partial_resync_within_backlog,
        test_full_resync_beyond_backlog,
        test_promotion_keeps_partial_resync,
        test_wait,
        test_noreplicas,
        test_replica_and_demoted_primary_refuse_writes,
        test_masterauth,
        test_ttls_survive_sync_as_absolute_times,
        test_evictions_reach_replicas,
        test_acks_report_the_replicas_offset,
        test_frozen_primary_fenced_after_failover,
        test_stall_fences_writes_until_a_fresh_ack,
        test_frozen_primary_without_failover_resumes,
    ]))
