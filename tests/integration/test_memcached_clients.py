#!/usr/bin/python3
"""test_memcached_clients.py: real memcached clients against cachenode
--protocol memcached: pymemcache (its whole command set, noreply, cas,
gets_many, a HashClient over three nodes) and libmemcached's tools (memccp,
memccat, memcstat, memcrm, memcflush, memcslap).
Run: test_memcached_clients.py --cachenode PATH."""
import os
import subprocess
import sys

from pymemcache.client.hash import HashClient

from mcutil import MCSuite


def test_pymemcache_commands(s):
    c = s.mcnode().mc()
    assert c.set("a", b"1", noreply=False) is True
    assert c.get("a") == b"1"
    assert c.add("a", b"2", noreply=False) is False
    assert c.replace("a", b"3", noreply=False) is True
    assert c.append("a", b"4", noreply=False) is True
    assert c.prepend("a", b"0", noreply=False) is True
    assert c.get("a") == b"034"
    value, cas = c.gets("a")
    assert value == b"034"
    assert c.cas("a", b"x", cas, noreply=False) is True
    assert c.cas("a", b"y", cas, noreply=False) is False
    assert c.get("a") == b"x"
    c.set("n", b"10")
    assert c.incr("n", 5) == 15
    assert c.decr("n", 20) == 0
    assert c.incr("missing", 1) is None
    assert c.touch("n", 100, noreply=False) is True
    assert c.delete("n", noreply=False) is True
    assert c.delete("n", noreply=False) is False
    c.set_many({"m1": b"1", "m2": b"2"}, noreply=False)
    assert c.get_many(["m1", "m2", "m3"]) == {"m1": b"1", "m2": b"2"}
    got = c.gets_many(["m1", "m2"])
    assert set(got) == {"m1", "m2"} and got["m1"][0] == b"1"
    # flags round trip through pymemcache's serde-less path
    c.set("f", b"v", noreply=False, flags=0xFFFFFFFF)
    assert c.get("f") == b"v"
    assert c.version().startswith(b"1.6")
    assert c.stats()[b"curr_items"] >= 4
    c.set("noreply", b"z")  # pymemcache sends noreply by default
    assert c.get("noreply") == b"z"
    assert c.flush_all(noreply=False) is True
    assert c.get("a") is None


def test_hash_client(s):
    nodes = [s.mcnode("--threads", "2") for _ in range(3)]
    hc = HashClient([("127.0.0.1", n.port) for n in nodes], use_pooling=True)
    keys = {"key:%d" % i: b"value:%d" % i for i in range(3000)}
    hc.set_many(keys, noreply=False)
    assert hc.get_many(list(keys)) == keys
    # every node holds a share of the keys
    counts = [int(n.stats()["curr_items"]) for n in nodes]
    assert sum(counts) == len(keys) and min(counts) > 300, counts
    for i in range(0, 3000, 7):
        assert hc.incr("c%d" % i, 1) is None
        hc.set("c%d" % i, b"1", noreply=False)  # a noreply write then a read stalls on the client's Nagle
        assert hc.incr("c%d" % i, 41) == 42
    hc.delete_many(list(keys)[:1000])
    assert hc.get("key:0") is None and hc.get("key:2999") == b"value:2999"


def tool(name, *args, cwd=None):
    p = subprocess.run([name, *args], capture_output=True, timeout=120, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def test_libmemcached_tools(s):
    n = s.mcnode("--threads", "2")
    servers = "--servers=127.0.0.1:%d" % n.port
    path = os.path.join(n.dir, "payload.bin")
    payload = os.urandom(50000)
    with open(path, "wb") as f:
        f.write(payload)
    rc, out, err = tool("memccp", servers, path, cwd=n.dir)
    assert rc == 0, err
    rc, out, err = tool("memccat", servers, "payload.bin")
    assert rc == 0 and out == payload + b"\n", (rc, len(out), err)  # memccat ends with a newline
    rc, out, err = tool("memcstat", servers)
    assert rc == 0 and b"curr_items: 1" in out and b"version:" in out, out
    rc, out, err = tool("memcrm", servers, "payload.bin")
    assert rc == 0, err
    assert n.mc().get("payload.bin") is None
    n.mc().set("x", b"1")
    rc, out, err = tool("memcflush", servers)
    assert rc == 0 and n.mc().get("x") is None, err


def test_memcslap(s):
    n = s.mcnode("--threads", "2")
    rc, out, err = tool("memcslap", "--servers=127.0.0.1:%d" % n.port, "--concurrency=4",
                        "--execute-number=2000", "--test=set")
    assert rc == 0, (out, err)
    assert b"Time to set" in out, out
    rc, out, err = tool("memcslap", "--servers=127.0.0.1:%d" % n.port, "--concurrency=4",
                        "--execute-number=2000", "--test=get")
    assert rc == 0 and b"Time to get" in out, (out, err)
    st = n.stats()
    assert int(st["cmd_set"]) >= 2000 and int(st["get_hits"]) > 0, st


if __name__ == "__main__":
    sys.exit(MCSuite().run([test_pymemcache_commands, test_hash_client, test_libmemcached_tools, test_memcslap]))
