#!/usr/bin/python3
"""test_networking.py: cachenode's networking layer, end to end, over real
sockets: pipelining, big values, many connections, inline commands,
protocol errors, query and output buffer limits, SIGTERM, config files.

Run: test_networking.py --cachenode PATH. Exits 0 when all pass; the last
line is "N passed, N failed".
"""
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import time

import redis

from nodeutil import Suite, free_port

START_DEADLINE = 15.0
CLIENT_TIMEOUT = 20


def start(suite, **kw):
    return suite.node(timeout=START_DEADLINE, client_timeout=CLIENT_TIMEOUT, **kw)


def recv_until(sock, predicate, timeout=20):
    """Reads until predicate(data) holds or the peer closes; returns (data,
    closed)."""
    data = bytearray()
    deadline = time.monotonic() + timeout
    while not predicate(data):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out after %d bytes" % len(data))
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 20)
        except (ConnectionResetError, BrokenPipeError):
            return bytes(data), True
        if not chunk:
            return bytes(data), True
        data += chunk
    return bytes(data), False


def wait_closed(sock, timeout=20):
    """Drains the socket until the server closes it; returns bytes read."""
    data, closed = recv_until(sock, lambda d: False, timeout)
    assert closed
    return data


def resp_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


# ---- tests -------------------------------------------------------------------

def test_pipeline_10k_in_one_write(node):
    n = 10000
    buf = bytearray()
    for i in range(n // 2):
        buf += resp_command("SET", "p:%d" % i, "v%d" % i)
    for i in range(n // 2):
        buf += resp_command("GET", "p:%d" % i)
    s = node.connect()
    try:
        s.sendall(bytes(buf))  # one write; the kernel may still split it
        want = b"+OK\r\n" * (n // 2) + b"".join(
            b"$%d\r\nv%d\r\n" % (len(b"v%d" % i), i) for i in range(n // 2))
        data, closed = recv_until(s, lambda d: len(d) >= len(want))
        assert not closed and data == want, "replies differ (got %d bytes)" % len(data)
    finally:
        s.close()
    return "%d commands, %d reply bytes" % (n, len(want))


def test_10mb_value_round_trip(node):
    value = os.urandom(10 * 1024 * 1024)
    assert node.r.set("big", value)
    got = node.r.get("big")
    assert got == value, "10 MB value came back different (%s bytes)" % (len(got) if got else None)
    # and through a raw socket, split in odd pieces
    s = node.connect()
    try:
        cmd = resp_command("SET", "big2", value)
        for off in range(0, len(cmd), 777777):
            s.sendall(cmd[off:off + 777777])
        data, _ = recv_until(s, lambda d: len(d) >= 5)
        assert data == b"+OK\r\n", data[:100]
    finally:
        s.close()
    assert node.r.get("big2") == value
    return "ok"


def test_2000_connections(node):
    n = 2000
    socks = []
    try:
        for _ in range(n):
            socks.append(node.connect())
        for i, s in enumerate(socks):
            s.sendall(resp_command("SET", "c:%d" % i, i))
        for s in socks:
            data, closed = recv_until(s, lambda d: d.endswith(b"\r\n"))
            assert data == b"+OK\r\n" and not closed, data
        for i, s in enumerate(socks):
            s.sendall(b"GET c:%d\r\n" % i)
        for i, s in enumerate(socks):
            want = b"$%d\r\n%d\r\n" % (len(str(i)), i)
            data, _ = recv_until(s, lambda d: len(d) >= len(want))
            assert data == want, (i, data)
    finally:
        for s in socks:
            s.close()
    return "%d concurrent connections served" % n


def test_inline_commands(node):
    s = node.connect()
    try:
        s.sendall(b"SET \"my key\" 'a b \\' c'\r\nGET \"my key\"\r\n"
                  b"SET esc \"\\x41\\tB\\n\"\nGET esc\r\nPING\r\n   \r\nPING \"hi there\"\r\n")
        want = (b"+OK\r\n$7\r\na b ' c\r\n+OK\r\n$4\r\nA\tB\n\r\n+PONG\r\n"
                b"$8\r\nhi there\r\n")
        data, closed = recv_until(s, lambda d: len(d) >= len(want))
        assert data == want and not closed, data
    finally:
        s.close()
    assert node.r.get("my key") == b"a b ' c"
    return "ok"


def test_protocol_errors_close(node):
    cases = [
        (b"*1\r\n+foo\r\n", b"-ERR Protocol error: expected '$', got '+'\r\n"),
        (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"SET \"unbalanced\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n"),
        (b"PING\r\n*1\r\n$x\r\nPING\r\n", b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"),
    ]
    for sent, want in cases:
        s = node.connect()
        try:
            s.sendall(sent)
            data = wait_closed(s)
            assert data == want, (sent, data)
        finally:
            s.close()
    # too big inline request: no newline within 64 KB
    s = node.connect()
    try:
        try:
            s.sendall(b"x" * (70 * 1024))
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = wait_closed(s)
        assert data == b"-ERR Protocol error: too big inline request\r\n", data
    finally:
        s.close()
    assert node.alive()
    return "%d error cases" % (len(cases) + 1)


def test_query_buffer_limit(node):
    assert node.r.config_set("client-query-buffer-limit", "1mb")
    try:
        s = node.connect()
        try:
            s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$3000000\r\n")
            sent = 0
            try:
                chunk = b"z" * 65536
                while sent < 2 * 1024 * 1024:
                    s.sendall(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed while we were still sending: what we expect
            wait_closed(s)
        finally:
            s.close()
        assert node.alive()
        assert node.r.get("q") is None
    finally:
        node.r.config_set("client-query-buffer-limit", "1gb")
    return "closed after %d bytes of a partial bulk" % sent


def test_output_buffer_limit(node):
    value = b"o" * (512 * 1024)
    node.r.set("obig", value)
    assert node.r.config_set("client-output-buffer-limit", "normal 1mb 1mb 0")
    try:
        before = node.rss()
        s = node.connect()
        # a small receive buffer, so the kernel soaks up little of the replies
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            n = 400  # 200 MB of replies if nobody stopped it
            s.sendall(resp_command("GET", "obig") * n)
            # Without the limit the server would now hold ~200 MB of replies
            # for a reader that never reads. Sample its memory until the
            # socket turns readable (data or the close), without reading.
            peak = before
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                peak = max(peak, node.rss())
                r, _, _ = select.select([s], [], [], 0.05)
                if r:
                    break
            peak = max(peak, node.rss())
            received = wait_closed(s)
            assert len(received) < n * len(value), "all replies arrived: not disconnected"
        finally:
            s.close()
        growth = peak - before
        assert growth < 64 * 1024 * 1024, "server RSS grew by %d bytes" % growth
        assert node.alive()
    finally:
        node.r.config_set("client-output-buffer-limit", "normal 0 0 0")
    return "disconnected after %d bytes read; server RSS growth %d" % (len(received), growth)


def test_sigterm_exits_zero(suite):
    node = start(suite)
    node.r.set("k", "v")
    t0 = time.monotonic()
    node.proc.send_signal(signal.SIGTERM)
    rc = node.proc.wait(timeout=10)
    took = time.monotonic() - t0
    assert rc == 0, "exit code %d" % rc
    assert took < 5, "took %.1f s" % took
    return "exit 0 after %.2f s" % took


def test_config_file_port(suite):
    port = free_port()
    node = start(suite, port=port,
                 config="# comment\nbind 127.0.0.1\nport %d\nmaxmemory-policy allkeys-lru\n" % port)
    assert node.r.set("cf", "1")
    assert node.r.config_get("port")["port"] == str(port)
    assert node.r.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
    return "listening on %d from the file" % port


def cpu_seconds(pid):
    """User plus system CPU time of a process, from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def benchmark_burst(node, requests=20000):
    """50 clients of redis-benchmark SET at -P 1: enough to load a node."""
    subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(node.port), "-c", "50",
                    "-n", str(requests), "-P", "1", "-r", "1000", "-t", "set", "-q"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=True)


def busy_poll_hits(node):
    return int(node.r.info("cpu")["busy_poll_hits"])


def test_busy_poll_only_under_load(suite):
    """A loaded node polls before it sleeps; an idle one sleeps and costs no
    CPU; busy-poll-us 0 turns polling off; bad values are refused."""
    node = start(suite)
    assert node.r.config_get("busy-poll-us") == {"busy-poll-us": "200"}
    for bad in ("-1", "10001", "abc"):
        try:
            node.r.config_set("busy-poll-us", bad)
            raise AssertionError("busy-poll-us %s was accepted" % bad)
        except redis.ResponseError:
            pass
    assert node.r.config_get("busy-poll-us") == {"busy-poll-us": "200"}
    # load until a poll has found work (a loaded node is busy >= half the time)
    deadline = time.monotonic() + 60
    bursts = 0
    while busy_poll_hits(node) == 0:
        assert time.monotonic() < deadline, "no poll found work in %d bursts of load" % bursts
        benchmark_burst(node)
        bursts += 1
    hits = busy_poll_hits(node)
    # idle now: over the next two seconds the node must sleep, not poll
    before, t0 = cpu_seconds(node.pid), time.monotonic()
    time.sleep(2.0)
    idle_share = (cpu_seconds(node.pid) - before) / (time.monotonic() - t0)
    assert idle_share < 0.1, "an idle node used %.0f%% of a CPU" % (idle_share * 100)
    # turned off, no poll finds work however loaded the node is
    node.r.config_set("busy-poll-us", "0")
    hits_off = busy_poll_hits(node)
    benchmark_burst(node)
    assert busy_poll_hits(node) == hits_off, "polled with busy-poll-us 0"
    return "%d polls found work after %d burst(s); idle CPU %.1f%%" % (hits, bursts, idle_share * 100)


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def main():
    suite = Suite()
    # 2000 client sockets here and 2000 in the server (which inherits this)
    nofile = raise_nofile(8192)
    if nofile < 4200:
        print("note: RLIMIT_NOFILE is %d; the 2000-connection test may fail" % nofile)
    shared = [test_pipeline_10k_in_one_write, test_10mb_value_round_trip, test_2000_connections,
              test_inline_commands, test_protocol_errors_close, test_query_buffer_limit,
              test_output_buffer_limit]
    own = [test_sigterm_exits_zero, test_config_file_port, test_busy_poll_only_under_load]
    node = []

    def setup(s):
        node.append(start(s, keep=True))

    tests = [(t.__name__, lambda s, t=t: t(node[0])) for t in shared]
    def server_survived(s):
        assert node[0].alive(), "the shared cachenode died during the tests"
        return "still answering"

    tests.append(("server_survived", server_survived))
    return suite.run(tests + own, setup=setup)


if __name__ == "__main__":
    sys.exit(main())
