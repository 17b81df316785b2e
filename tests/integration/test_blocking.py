"""Blocking list commands between processes: BLPOP waits until another
client pushes, timeouts (null array), arrival-order fairness among waiters,
BLMOVE chains, BLMPOP with a count, a waiter that stays blocked while its key
holds another type, the replication of served pops (the replica gets
the non-blocking form and ends up with the primary's lists), CLIENT UNBLOCK,
pipelined requests that wait for the block to end, REPLICAOF ending every
block with UNBLOCKED, and sorted-set pops served in arrival order."""
import socket
import sys
import time

from nodeutil import Suite, encode_command, wait_until


class Raw:
    """A RESP connection that sends without waiting, so that a test can hold
    several blocked clients at once and read their replies later."""

    def __init__(self, node):
        self.s = node.connect()
        self.f = self.s.makefile("rb")

    def send(self, *args):
        self.s.sendall(encode_command(*args))

    def read(self):
        line = self.f.readline()
        if not line:
            raise AssertionError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind in (b"+", b":"):
            return int(rest) if kind == b":" else rest
        if kind == b"-":
            return ("error", rest)
        if kind == b"_":
            return None
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise AssertionError("unexpected reply %r" % line)

    def call(self, *args):
        self.send(*args)
        return self.read()

    def pending(self, wait=0.2):
        """True if a reply arrives within `wait` seconds (without reading it)."""
        self.s.settimeout(wait)
        try:
            return len(self.s.recv(1, socket.MSG_PEEK)) > 0
        except socket.timeout:
            return False
        finally:
            self.s.settimeout(20)

    def close(self):
        self.f.close()
        self.s.close()


def blocked(node):
    return node.r.info("clients")["blocked_clients"]


def wait_blocked(node, n):
    wait_until(lambda: blocked(node) == n, 10, what=f"{n} blocked clients")


def test_blpop_woken_by_push(s):
    n = s.node()
    a = Raw(n)
    a.send("BLPOP", "q", 0)
    wait_blocked(n, 1)
    assert not a.pending(), "BLPOP replied before any push"
    assert n.r.lpush("q", "hello") == 1
    assert a.read() == [b"q", b"hello"]
    assert n.r.exists("q") == 0, "the emptied list was not deleted"
    wait_blocked(n, 0)
    a.close()


def test_timeouts(s):
    n = s.node()
    a = Raw(n)
    for cmd in (("BLPOP", "t", "0.1"), ("BRPOP", "t", "u", "0.1"), ("BLMOVE", "t", "u", "LEFT", "LEFT", "0.1"),
                ("BRPOPLPUSH", "t", "u", "0.1"), ("BLMPOP", "0.1", "1", "t", "LEFT")):
        start = time.monotonic()
        assert a.call(*cmd) is None, cmd
        took = time.monotonic() - start
        assert 0.09 <= took < 2.0, "%s timed out after %.3fs" % (cmd[0], took)
    # timeout 0 waits for ever: still blocked after a while
    a.send("BLPOP", "t", 0)
    wait_blocked(n, 1)
    assert not a.pending(0.5)
    n.r.rpush("t", "late")
    assert a.read() == [b"t", b"late"]
    a.close()


def test_waiters_served_in_arrival_order(s):
    n = s.node()
    waiters = [Raw(n) for _ in range(3)]
    for i, w in enumerate(waiters):
        w.send("BLPOP", "fair", 0)
        wait_blocked(n, i + 1)
    assert n.r.rpush("fair", "one", "two", "three", "four") == 4
    got = [w.read() for w in waiters]
    assert got == [[b"fair", b"one"], [b"fair", b"two"], [b"fair", b"three"]], got
    assert n.r.lrange("fair", 0, -1) == [b"four"]
    # one element at a time: still first come, first served
    for i, w in enumerate(waiters):
        w.send("BRPOP", "fair2", 0)
        wait_blocked(n, i + 1)
    for i in range(3):
        n.r.rpush("fair2", f"e{i}")
        assert waiters[i].read() == [b"fair2", f"e{i}".encode()]
    for w in waiters:
        w.close()


def test_blmove_chain(s):
    n = s.node()
    b_to_c, a_to_b = Raw(n), Raw(n)
    b_to_c.send("BLMOVE", "b", "c", "LEFT", "RIGHT", 0)
    wait_blocked(n, 1)
    a_to_b.send("BRPOPLPUSH", "a", "b", 0)
    wait_blocked(n, 2)
    n.r.rpush("a", "x")
    assert a_to_b.read() == b"x"
    assert b_to_c.read() == b"x"
    assert n.r.exists("a", "b") == 0
    assert n.r.lrange("c", 0, -1) == [b"x"]
    b_to_c.close()
    a_to_b.close()


def test_blmpop_count_and_wrong_type(s):
    n = s.node()
    a = Raw(n)
    a.send("BLMPOP", 0, 2, "m1", "m2", "RIGHT", "COUNT", 3)
    wait_blocked(n, 1)
    n.r.rpush("m2", "a", "b", "c", "d", "e")
    assert a.read() == [b"m2", [b"e", b"d", b"c"]]
    # a waiter keeps waiting while its key holds a string
    a.send("BLPOP", "w", 0)
    wait_blocked(n, 1)
    n.r.set("w", "str")
    assert not a.pending(0.3), "woken by a string"
    n.r.delete("w")
    n.r.rpush("w", "v")
    assert a.read() == [b"w", b"v"]
    a.close()


def test_served_pops_replicate(s):
    p = s.node()
    r = s.replica(p)
    clients = [Raw(p) for _ in range(3)]
    clients[0].send("BLPOP", "src", 0)
    wait_blocked(p, 1)
    clients[1].send("BLMOVE", "src", "dst", "RIGHT", "LEFT", 0)
    wait_blocked(p, 2)
    clients[2].send("BLMPOP", 0, 1, "src", "LEFT", "COUNT", 2)
    wait_blocked(p, 3)
    p.r.rpush("src", *[f"e{i}" for i in range(10)])
    assert clients[0].read() == [b"src", b"e0"]
    assert clients[1].read() == b"e9"
    assert clients[2].read() == [b"src", [b"e1", b"e2"]]
    # served at once (data present): propagated too
    assert clients[0].call("BRPOP", "src", 0) == [b"src", b"e8"]
    assert clients[0].call("BRPOPLPUSH", "src", "dst", 0) == b"e7"
    expect = {k: p.r.lrange(k, 0, -1) for k in ("src", "dst")}
    assert expect == {"src": [b"e3", b"e4", b"e5", b"e6"], "dst": [b"e7", b"e9"]}, expect
    wait_until(lambda: {k: r.r.lrange(k, 0, -1) for k in ("src", "dst")} == expect, 10,
               what="the replica's lists equal the primary's")
    assert r.r.execute_command("DEBUG", "DIGEST") == p.r.execute_command("DEBUG", "DIGEST")
    for c in clients:
        c.close()


def test_disconnected_waiter_is_forgotten(s):
    n = s.node()
    a, b = Raw(n), Raw(n)
    a.send("BLPOP", "gone", 0)
    wait_blocked(n, 1)
    b.send("BLPOP", "gone", 0)
    wait_blocked(n, 2)
    a.close()
    wait_blocked(n, 1)
    n.r.rpush("gone", "v")
    assert b.read() == [b"gone", b"v"]
    b.close()


def test_client_unblock(s):
    n = s.node()
    a = Raw(n)
    a_id = a.call("CLIENT", "ID")
    a.send("BLPOP", "u", 0)
    wait_blocked(n, 1)
    assert n.r.execute_command("CLIENT", "UNBLOCK", a_id) == 1
    assert a.read() is None, "CLIENT UNBLOCK did not reply as a timeout"
    a.send("BZPOPMIN", "uz", 0)
    wait_blocked(n, 1)
    assert n.r.execute_command("CLIENT", "UNBLOCK", a_id, "ERROR") == 1
    kind, text = a.read()
    assert kind == "error" and text.startswith(b"UNBLOCKED"), text
    # a client that is not blocked, or one waiting in WAIT, is not unblocked
    assert n.r.execute_command("CLIENT", "UNBLOCK", a_id) == 0
    assert n.r.execute_command("CLIENT", "UNBLOCK", 999999) == 0
    a.close()


def test_pipelined_requests_run_after_the_block(s):
    n = s.node()
    a = Raw(n)
    # BLPOP then two more commands in one write: they wait for the block
    a.s.sendall(b"*3\r\n$5\r\nBLPOP\r\n$1\r\np\r\n$1\r\n0\r\n"
                b"*2\r\n$4\r\nECHO\r\n$5\r\nafter\r\n*1\r\n$4\r\nPING\r\n")
    wait_blocked(n, 1)
    assert not a.pending(0.3)
    n.r.rpush("p", "x")
    assert a.read() == [b"p", b"x"]
    assert a.read() == b"after"
    assert a.read() == b"PONG"
    a.close()


def test_replicaof_unblocks_waiters(s):
    p = s.node()
    n = s.node()
    a, z = Raw(n), Raw(n)
    a.send("BLPOP", "r", 0)
    z.send("BZPOPMAX", "rz", 0)
    wait_blocked(n, 2)
    n.r.replicaof("127.0.0.1", p.port)
    for c in (a, z):
        kind, text = c.read()
        assert kind == "error" and text.startswith(b"UNBLOCKED"), text
    wait_blocked(n, 0)
    # on a replica the blocking pops are writes, refused
    kind, text = a.call("BLPOP", "r", 0)
    assert kind == "error" and text.startswith(b"READONLY"), text
    a.close()
    z.close()


def test_sorted_set_pops_wake_in_order(s):
    n = s.node()
    a, b = Raw(n), Raw(n)
    a.send("BZPOPMIN", "z", 0)
    wait_blocked(n, 1)
    b.send("BZMPOP", 0, 1, "z", "MAX", "COUNT", 2)
    wait_blocked(n, 2)
    n.r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert a.read() == [b"z", b"a", b"1"]
    assert b.read() == [b"z", [[b"d", b"4"], [b"c", b"3"]]]
    assert n.r.zrange("z", 0, -1) == [b"b"]
    a.close()
    b.close()


if __name__ == "__main__":
    sys.exit(Suite().run([
        test_blpop_woken_by_push,
        test_timeouts,
        test_waiters_served_in_arrival_order,
        test_blmove_chain,
        test_blmpop_count_and_wrong_type,
        test_served_pops_replicate,
        test_disconnected_waiter_is_forgotten,
        test_client_unblock,
        test_pipelined_requests_run_after_the_block,
        test_replicaof_unblocks_waiters,
        test_sorted_set_pops_wake_in_order,
    ]))
