#!/usr/bin/python3
"""test_memcached_robustness.py: bad input never crashes a node, never leaves
a connection stuck and never corrupts stored data: malformed lines, binary
garbage, oversize values (swallowed, SERVER_ERROR), too-long lines (error and
close), a connection flood past --maxclients (ERROR Too many open
connections), a client that never reads; and eviction under --maxmemory (no
out-of-memory error while eviction can make room, recent keys kept;
noeviction refuses with memcached's error).
Run: test_memcached_robustness.py --cachenode PATH."""
import os
import random
import socket
import sys

from mcutil import MCSuite, read_reply, wait_until


def check_intact(n, c):
    assert c.get("sentinel") == b"keep-me", "stored data changed"
    assert n.alive()


def test_malformed_input(s):
    n = s.mcnode("--threads", "2")
    c = n.mc()
    c.set("sentinel", b"keep-me", noreply=False)
    rng = random.Random(7)
    words = [b"get", b"set", b"cas", b"incr", b"mg", b"ms", b"md", b"ma", b"delete", b"touch", b"gat",
             b"flush_all 10000", b"stats", b"noreply", b"-1", b"4294967296", b"99999999999999999999",
             b"sentinel", b"\x00", b"\xff", b"b", b"q", b"O", b"T", b"N", b"C", b"MZ", b"  ", b"\r"]
    for round_ in range(200):
        line = b" ".join(rng.choice(words) for _ in range(rng.randint(0, 8)))
        if b"sentinel" in line:
            continue
        data = line + b"\r\n" + os.urandom(rng.randint(0, 50)) + b"\r\nversion\r\n"
        with n.connect(timeout=5) as sock:
            sock.sendall(data)
            # the connection always answers something, or closes; never hangs
            read_reply(sock, b"-cachefleet\r\n", timeout=0.5)
    check_intact(n, c)


def test_garbage_bytes(s):
    n = s.mcnode()
    c = n.mc()
    c.set("sentinel", b"keep-me", noreply=False)
    for seed in range(20):
        with n.connect(timeout=5) as sock:
            sock.sendall(random.Random(seed).randbytes(5000))
            read_reply(sock, None, timeout=0.2)
    check_intact(n, c)


def test_oversize_value_is_swallowed(s):
    n = s.mcnode("--max-item-size", "64kb")
    c = n.mc()
    c.set("sentinel", b"keep-me", noreply=False)
    big = b"x" * 200000
    got = n.raw(b"set big 0 0 %d\r\n%s\r\nget sentinel\r\n" % (len(big), big), until=b"END\r\n")
    assert got == b"SERVER_ERROR object too large for cache\r\nVALUE sentinel 0 7\r\nkeep-me\r\nEND\r\n", got
    got = n.raw(b"ms big %d T0\r\n%s\r\nmn\r\n" % (len(big), big), until=b"MN\r\n")
    assert got == b"SERVER_ERROR object too large for cache\r\nMN\r\n", got
    # a declared length that never arrives keeps only that connection busy
    with n.connect() as sock:
        sock.sendall(b"set huge 0 0 2000000000\r\nabc")
        check_intact(n, c)
    check_intact(n, c)


def test_too_long_lines(s):
    n = s.mcnode()
    c = n.mc()
    c.set("sentinel", b"keep-me", noreply=False)
    with n.connect(timeout=5) as sock:
        sock.sendall(b"set " + b"k" * 5000)
        got = read_reply(sock, None, timeout=5)
        assert got == b"CLIENT_ERROR line too long\r\n", got  # and closed
    # a multi-get line may be long: 2000 keys
    keys = [b"key%05d" % i for i in range(2000)]
    got = n.raw(b"get " + b" ".join(keys) + b" sentinel\r\n", until=b"END\r\n")
    assert got == b"VALUE sentinel 0 7\r\nkeep-me\r\nEND\r\n", got
    with n.connect(timeout=5) as sock:
        sock.sendall(b"get " + b"k " * 70000)
        got = read_reply(sock, None, timeout=5)
        assert got.endswith(b"CLIENT_ERROR line too long\r\n"), got[-100:]
    check_intact(n, c)


def test_connection_flood(s):
    n = s.mcnode("--maxclients", "50")
    c = n.mc()
    c.set("sentinel", b"keep-me", noreply=False)
    socks = []
    refused = 0
    try:
        for _ in range(80):
            sock = socket.create_connection(("127.0.0.1", n.port), timeout=5)
            socks.append(sock)
        for sock in socks:
            sock.sendall(b"version\r\n")
            got = read_reply(sock, b"\r\n", timeout=5)
            if got == b"ERROR Too many open connections\r\n":
                refused += 1
            else:
                assert got.startswith(b"VERSION "), got
    finally:
        for sock in socks:
            sock.close()
    assert refused >= 29, refused  # 50 allowed, the pymemcache client holds one
    wait_until(lambda: int(n.stats()["curr_connections"]) <= 2, 5, what="connections closed")
    check_intact(n, c)


def test_client_that_never_reads(s):
    n = s.mcnode("--threads", "2")
    c = n.mc()
    c.set("sentinel", b"keep-me", noreply=False)
    c.set("v", b"x" * 100000, noreply=False)
    sock = n.connect()
    sock.setblocking(False)
    sent = 0
    try:
        for _ in range(2000):  # ~100 MB of replies asked for, none read
            sock.send(b"get v\r\n")
            sent += 1
    except BlockingIOError:
        pass
    check_intact(n, c)  # other clients are served meanwhile
    sock.close()
    check_intact(n, c)


def test_eviction(s):
    n = s.mcnode("--maxmemory", "4mb", "--threads", "2")
    c = n.mc()
    value = b"v" * 100
    for start in range(0, 100000, 1000):
        c.set_many({"key:%06d" % i: value for i in range(start, start + 1000)}, noreply=False)
        failed = c.set("probe", value, noreply=False)
        assert failed, "a set failed while eviction could make room"
    st = n.stats()
    assert int(st["evictions"]) > 0 and int(st["bytes"]) <= 4 * 1024 * 1024, st
    assert int(st["curr_items"]) < 100000
    recent = c.get_many(["key:%06d" % i for i in range(99000, 100000)])
    assert len(recent) > 900, len(recent)  # the last keys written are kept
    assert all(v == value for v in recent.values())


def test_noeviction(s):
    n = s.mcnode("--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
    c = n.mc()
    value = b"v" * 1000
    refused = None
    for i in range(5000):
        got = n.raw(b"set k%d 0 0 %d\r\n%s\r\n" % (i, len(value), value), until=b"\r\n")
        if got != b"STORED\r\n":
            refused = got
            break
    assert refused == b"SERVER_ERROR out of memory storing object\r\n", refused
    assert c.get("k0") == value
    assert n.stats("settings")["evictions"] == "off"


if __name__ == "__main__":
    sys.exit(MCSuite().run([test_malformed_input, test_garbage_bytes, test_oversize_value_is_swallowed,
                            test_too_long_lines, test_connection_flood, test_client_that_never_reads,
                            test_eviction, test_noeviction]))
