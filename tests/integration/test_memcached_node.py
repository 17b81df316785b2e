#!/usr/bin/python3
"""test_memcached_node.py: cachenode --protocol memcached as a process: the
launch contract (options accepted and refused), SIGTERM (clean exit 0 with
clients connected), Auto Discovery (`config get cluster` and `get
AmazonElastiCache:cluster` from --discovery-file, reloaded when the file
changes and on SIGHUP, the version rising only with the list), and stats.
Run: test_memcached_node.py --cachenode PATH."""
import os
import signal
import sys

from mcutil import MCSuite, wait_until


def test_starts_and_answers(s):
    n = s.mcnode("--threads", "2")
    assert n.version().startswith(b"VERSION 1.6"), n.version()
    c = n.mc()
    c.set("k", b"v")
    assert c.get("k") == b"v"
    st = n.stats("settings")
    assert st["num_threads"] == "2" and st["item_size_max"] == "1048576", st
    assert st["maxbytes"] == str(64 * 1024 * 1024), st  # maxmemory 0: memcached's 64 MB


def test_options(s):
    n = s.mcnode("--maxmemory", "16mb", "--max-item-size", "2mb", "--threads", "1", "--loglevel", "warning",
                 "--node-id", "n1", "--logfile", "mc.log")
    st = n.stats("settings")
    assert st["maxbytes"] == str(16 * 1024 * 1024) and st["item_size_max"] == str(2 * 1024 * 1024), st
    assert n.mc().set("big", b"x" * (1024 * 1024 + 10)) is True


def test_refused_options(s):
    for args, why in [(["--replicaof", "127.0.0.1", "6379"], "replicaof"),
                      (["--cluster-enabled", "yes", "--node-id", "x"], "cluster-enabled"),
                      (["--requirepass", "pw"], "requirepass"),
                      (["--threads", "0"], "threads"),
                      (["--max-item-size", "12"], "max-item-size")]:
        n = s.mcnode(*args, start=False)
        rc = n.start_expecting_exit()
        assert rc not in (None, 0), (args, rc)
        assert why in n.log_text(), n.log_text()


def test_sigterm_clean_exit(s):
    n = s.mcnode("--threads", "3")
    socks = [n.connect() for _ in range(10)]
    for i, sock in enumerate(socks):
        sock.sendall(b"set k%d 0 0 1\r\nx\r\n" % i)
        assert sock.recv(100) == b"STORED\r\n"
    # one connection in the middle of a data block
    socks[0].sendall(b"set half 0 0 100\r\nabc")
    rc = n.terminate(timeout=10, check=True)
    assert rc == 0, rc
    for sock in socks:
        sock.close()


def config_get(n):
    return n.raw(b"config get cluster\r\n", until=b"END\r\n")


def parse_config(reply):
    """An Auto Discovery client's parse: header, counted body, END."""
    head, rest = reply.split(b"\r\n", 1)
    word, key, flags, size = head.split(b" ")
    assert (word, key, flags) == (b"CONFIG", b"cluster", b"0"), head
    body = rest[: int(size)]
    assert rest[int(size):] == b"\r\nEND\r\n", reply
    version, nodes = body.split(b"\n")[:2]
    assert body.endswith(b"\n")
    return int(version), [tuple(x.split(b"|")) for x in nodes.split(b" ") if x]


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def test_discovery_file(s):
    n = s.mcnode(start=False)
    path = os.path.join(n.dir, "discovery")
    write_atomic(path, "a.example|10.0.0.1|11211 b.example|10.0.0.2|11212\n")
    n.args += ["--discovery-file", path]
    n.start()
    reply = config_get(n)
    version, nodes = parse_config(reply)
    assert version == 1 and nodes == [(b"a.example", b"10.0.0.1", b"11211"), (b"b.example", b"10.0.0.2", b"11212")]
    # the byte count is exact
    assert reply.startswith(b"CONFIG cluster 0 %d\r\n" % len(b"1\na.example|10.0.0.1|11211 b.example|10.0.0.2|11212\n"))
    # the pre-1.4.14 form, as a value
    got = n.raw(b"get AmazonElastiCache:cluster\r\n", until=b"END\r\n")
    assert got.startswith(b"VALUE AmazonElastiCache:cluster 0 ") and got.endswith(b"\r\nEND\r\n"), got
    # the same list again: the version stays
    write_atomic(path, "a.example|10.0.0.1|11211 b.example|10.0.0.2|11212\n")
    os.kill(n.pid, signal.SIGHUP)
    assert parse_config(config_get(n))[0] == 1
    # a new list: picked up without a signal (polled), version 2
    write_atomic(path, "a.example|10.0.0.1|11211\n")
    wait_until(lambda: parse_config(config_get(n))[0] == 2, 5, what="the new list")
    assert parse_config(config_get(n))[1] == [(b"a.example", b"10.0.0.1", b"11211")]
    # garbage is refused, the last good list stays
    write_atomic(path, "not a list\n")
    os.kill(n.pid, signal.SIGHUP)
    wait_until(lambda: "does not parse" in n.log_text(), 5, what="the refusal in the log")
    assert parse_config(config_get(n)) == (2, [(b"a.example", b"10.0.0.1", b"11211")])


def test_discovery_explicit_version(s):
    n = s.mcnode(start=False)
    path = os.path.join(n.dir, "discovery")
    write_atomic(path, "7\nh1|127.0.0.1|7000\n")
    n.args += ["--discovery-file", path]
    n.start()
    assert parse_config(config_get(n)) == (7, [(b"h1", b"127.0.0.1", b"7000")])
    write_atomic(path, "7\nh1|127.0.0.1|7000 h2|127.0.0.1|7001\n")  # new list, same version: refused
    os.kill(n.pid, signal.SIGHUP)
    wait_until(lambda: "is not above" in n.log_text(), 5, what="the refusal in the log")
    assert parse_config(config_get(n))[0] == 7
    write_atomic(path, "9\nh1|127.0.0.1|7000 h2|127.0.0.1|7001\n")
    os.kill(n.pid, signal.SIGHUP)
    wait_until(lambda: parse_config(config_get(n))[0] == 9, 5, what="version 9")


def test_no_discovery_file(s):
    n = s.mcnode()
    assert n.raw(b"config get cluster\r\n", until=b"\r\n") == b"ERROR\r\n"
    assert n.raw(b"get AmazonElastiCache:cluster\r\n", until=b"END\r\n") == b"END\r\n"


def test_stats(s):
    n = s.mcnode("--threads", "2")
    c = n.mc()
    c.set("a", b"1")
    c.get("a")
    c.get("missing")
    st = n.stats()
    for field in ("pid", "uptime", "time", "version", "curr_connections", "total_connections", "cmd_get",
                  "cmd_set", "get_hits", "get_misses", "bytes", "curr_items", "total_items", "evictions",
                  "limit_maxbytes", "threads"):
        assert field in st, field
    assert st["cmd_get"] == "2" and st["get_hits"] == "1" and st["get_misses"] == "1", st
    assert st["curr_items"] == "1" and st["threads"] == "2", st
    assert n.stats("items")["items:1:number"] == "1"
    assert "total_malloced" in n.stats("slabs")
    assert n.raw(b"stats reset\r\n", until=b"\r\n") == b"RESET\r\n"
    assert n.stats()["cmd_get"] == "0"


if __name__ == "__main__":
    sys.exit(MCSuite().run([test_starts_and_answers, test_options, test_refused_options, test_sigterm_clean_exit,
                            test_discovery_file, test_discovery_explicit_version, test_no_discovery_file,
                            test_stats]))
