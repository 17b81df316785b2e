#!/usr/bin/python3
"""Process-level test of MONITOR against redis-server 7.0 (the oracle).

    test_introspection.py --cachenode build/bin/cachenode

The same commands run on cachenode and on a redis-server while a monitor is
attached to each; monitor lines carry timestamps and client addresses, so
each line is parsed with a regex and its database and quoted arguments are
compared with redis-server's, the address with the client's own. Also: what
a monitoring client may run, CLIENT LIST's 'O' flag, RESET ending the
monitor, and blocked commands shown once. Both servers run on free ports and
are killed by pid.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from nodeutil import Suite, free_port, wait_until

REDIS_SERVER = "/usr/bin/redis-server"
LINE_RE = re.compile(rb"^\+(\d+)\.(\d{6}) \[(\d+) ([^\]]+)\] (.*)$")
READ_TIMEOUT = 5.0


class Oracle:
    """A redis-server on a free port in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="redis-oracle-")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--enable-debug-command", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, timeout=10.0, what="redis-server to answer PING")

    def _answers(self):
        conn = Conn(self.port)
        try:
            return conn.call("PING") == b"+PONG"
        finally:
            conn.close()

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Conn:
    """A raw RESP connection: no client library sends commands of its own,
    which would show on the monitor."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT)
        self.buf = b""
        host, lport = self.sock.getsockname()
        self.addr = ("%s:%d" % (host, lport)).encode()

    def send(self, *args):
        req = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            req += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(req)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed"
            self.buf += chunk
        out, _, self.buf = self.buf.partition(b"\r\n")
        return out

    def reply(self):
        """One reply, flattened to bytes (enough to compare replies)."""
        head = self.line()
        kind = head[:1]
        if kind == b"$":
            n = int(head[1:])
            if n < 0:
                return head
            while len(self.buf) < n + 2:
                chunk = self.sock.recv(65536)
                assert chunk, "connection closed"
                self.buf += chunk
            out, self.buf = self.buf[:n], self.buf[n + 2:]
            return head + b"\r\n" + out
        if kind in (b"*", b"%"):
            n = int(head[1:]) * (2 if kind == b"%" else 1)
            return head + b"".join(b"|" + self.reply() for _ in range(max(n, 0)))
        return head

    def call(self, *args):
        self.send(*args)
        return self.reply()

    def close(self):
        self.sock.close()


# Commands a client runs while monitored: quoting of every byte class,
# SELECT (the line shows the database after the command), secrets, rejected
# commands (not shown), failing ones (shown), admin commands (not shown),
# transactions (queued commands shown at EXEC, before EXEC).
SCRIPT = [
    ("SET", "a", b'x"\\\n\r\t\x07\x08\x00\xff \xc3\xa9 ok'),
    ("SET", "", ""),
    ("GET", "a"),
    ("SELECT", "1"),
    ("SET", "in1", "v"),
    ("SELECT", "0"),
    ("AUTH", "pw"),
    ("AUTH", "user", "pw"),
    ("AUTH", "a", "b", "c"),
    ("HELLO", "2", "AUTH", "default", "secret", "SETNAME", "named"),
    ("HELLO", "x", "AUTH", "default", "secret"),
    ("HELLO", "2", "BOGUS", "AUTH", "u", "p"),
    ("HELLO", "3", "AUTH", "u", "p", "BOGUS"),
    ("NOSUCH", "1"),
    ("GET",),
    ("LPUSH", "a", "1"),
    ("CONFIG", "GET", "maxmemory"),
    ("SLOWLOG", "LEN"),
    ("DEBUG", "HELP"),
    ("MULTI",),
    ("SET", "b", "1"),
    ("INCRBY", "b", "2"),
    ("EXEC",),
    ("MULTI",),
    ("SET", "q", "1"),
    ("DISCARD",),
    ("MULTI",),
    ("MONITOR",),
    ("EXEC",),
    ("CLIENT", "GETNAME"),
    ("INFO", "keyspace"),
    ("PING",),
    ("BLPOP", "nolist", "0.01"),
    ("OBJECT", "ENCODING", "a"),
    ("ECHO", "end-of-script"),
]


def monitor_lines(mon, until):
    """The monitor's parsed lines up to the one whose arguments end with
    `until` (a quoted argument)."""
    out = []
    deadline = time.monotonic() + READ_TIMEOUT
    while time.monotonic() < deadline:
        line = mon.line()
        m = LINE_RE.match(line)
        assert m, "not a monitor line: %r" % line
        out.append((int(m.group(3)), m.group(4), m.group(5)))
        if m.group(5).endswith(until):
            return out
    raise AssertionError("no monitor line ending with %r" % until)


def run_script(port):
    """Runs SCRIPT monitored; returns the replies and the monitor's lines."""
    mon, c = Conn(port), Conn(port)
    try:
        assert mon.call("MONITOR") == b"+OK"
        replies = [c.call(*cmd) for cmd in SCRIPT]
        lines = monitor_lines(mon, b'"end-of-script"')
        assert all(addr == c.addr for _, addr, _ in lines), (c.addr, lines)
        return replies, [(db, args) for db, _, args in lines]
    finally:
        mon.close()
        c.close()


def error_code(reply):
    return reply.split(b" ", 1)[0] if reply.startswith(b"-") else reply


def check_lines_match_redis(node, oracle):
    ours_replies, ours = run_script(node.port)
    theirs_replies, theirs = run_script(oracle.port)
    for cmd, a, b in zip(SCRIPT, ours_replies, theirs_replies):
        if cmd[0] not in ("INFO", "HELLO", "DEBUG", "CONFIG"):
            assert error_code(a) == error_code(b), (cmd, a, b)
    assert ours == theirs, "cachenode:\n%s\nredis:\n%s" % (
        b"\n".join(b"%d %s" % l for l in ours).decode("latin1"),
        b"\n".join(b"%d %s" % l for l in theirs).decode("latin1"))
    # spot checks, so that a shared mistake cannot pass unseen
    assert (0, b'"SET" "a" "x\\"\\\\\\n\\r\\t\\a\\b\\x00\\xff \\xc3\\xa9 ok"') in ours, ours
    assert (1, b'"SELECT" "1"') in ours
    assert (0, b'"AUTH" "(redacted)" "(redacted)"') in ours


def monitor_session(port):
    """What a monitoring client may run, RESET, and CLIENT LIST's flag."""
    mon, c = Conn(port), Conn(port)
    out = []
    try:
        out.append(mon.call("MONITOR"))
        out.append(error_code(mon.call("GET", "a")))
        out.append(error_code(mon.call("SET", "a", "b")))
        mon.send("MONITOR")  # ignored without a reply
        out.append(mon.call("PING"))
        out.append(LINE_RE.match(mon.line()).group(5))  # its own PING
        c.send("CLIENT", "LIST")
        listing = c.reply().split(b"\r\n", 1)[1]
        flags = sorted(re.search(rb"flags=(\S+)", l).group(1) for l in listing.split(b"\n") if l)
        out.append(b",".join(flags))  # CLIENT LIST is an admin command: no line
        out.append(mon.call("RESET"))
        out.append(c.call("SET", "a", "1"))
        out.append(mon.call("GET", "a"))  # no monitor line before the reply
        # a blocked command is shown when it first runs, not when served
        out.append(mon.call("MONITOR"))
        c.send("BLPOP", "bl", "5")
        out.append(LINE_RE.match(mon.line()).group(5))
        pusher = Conn(port)
        out.append(pusher.call("RPUSH", "bl", "x"))
        out.append(c.reply())
        out.append(pusher.call("ECHO", "after"))
        out.append(LINE_RE.match(mon.line()).group(5))
        out.append(LINE_RE.match(mon.line()).group(5))
        pusher.close()
        return out
    finally:
        mon.close()
        c.close()


def check_monitor_client(node, oracle):
    ours, theirs = monitor_session(node.port), monitor_session(oracle.port)
    assert ours == theirs, "cachenode: %r\nredis:    %r" % (ours, theirs)
    assert b"N,O" in ours, ours


# ---- LATENCY ---------------------------------------------------------------------

def digits_blurred(text):
    return re.sub(rb"[0-9]+(\.[0-9]+)?", b"N", text)


def latency_session(port):
    """A spike of DEBUG SLEEP 0.02 recorded by the monitor and the histogram."""
    c = Conn(port)
    try:
        out = {}
        assert c.call("CONFIG", "RESETSTAT") == b"+OK"
        assert c.call("LATENCY", "RESET").startswith(b":")
        for i in range(200):
            c.call("SET", "k%d" % i, "v")
        # only the sleep crosses the threshold, even on a loaded machine
        assert c.call("CONFIG", "SET", "latency-monitor-threshold", "15") == b"+OK"
        c.call("DEBUG", "SLEEP", "0.02")
        out["latest"] = c.call("LATENCY", "LATEST")
        out["history"] = c.call("LATENCY", "HISTORY", "command")
        out["doctor"] = c.call("LATENCY", "DOCTOR")
        out["graph"] = c.call("LATENCY", "GRAPH", "command")
        out["debug_histogram"] = c.call("LATENCY", "HISTOGRAM", "debug")
        out["set_histogram"] = c.call("LATENCY", "HISTOGRAM", "set")
        out["info"] = c.call("INFO", "latencystats")
        assert c.call("CONFIG", "SET", "latency-monitor-threshold", "0") == b"+OK"
        return out
    finally:
        c.close()


# HdrHistogram (1000 ns to 1e9 ns, two significant digits) reported by powers
# of two from 1024 ns, each bucket named by the largest microsecond value it
# counts: what Redis's LATENCY HISTOGRAM may name a bucket.
def allowed_buckets():
    names = set()
    level = 1024
    while level <= 1 << 29:
        unit = max(512, level // 128)
        names.add((level + unit - 1) // 1000)
        level *= 2
    names.add(1073741)
    return names


def parse_histogram(flat):
    """b'*2|$3\r\nset|*4|$5\r\ncalls|:200|...' -> (calls, [(bucket, count)])"""
    parts = flat.split(b"|")
    calls = int(parts[parts.index(b"$5\r\ncalls") + 1][1:])
    rest = parts[parts.index(b"$14\r\nhistogram_usec") + 2:]
    pairs = [(int(rest[i][1:]), int(rest[i + 1][1:])) for i in range(0, len(rest), 2)]
    return calls, pairs


def check_latency_matches_redis(node, oracle):
    ours, theirs = latency_session(node.port), latency_session(oracle.port)
    for key in ("latest", "history", "doctor", "graph"):
        a, b = digits_blurred(ours[key]), digits_blurred(theirs[key])
        assert a == b, "%s\ncachenode: %r\nredis:     %r" % (key, ours[key], theirs[key])
    assert b"command" in ours["latest"] and b"command: N latency spikes" in digits_blurred(ours["doctor"])
    # 20 ms falls in the bucket of 2^25 ns (33816 us) unless the machine
    # is so loaded that the sleep overran it
    allowed = allowed_buckets()
    for side in (ours, theirs):
        calls, pairs = parse_histogram(side["debug_histogram"])
        assert calls == 1 and len(pairs) == 1 and pairs[0][0] in allowed and pairs[0][0] >= 33816, pairs
    for side in (ours, theirs):
        calls, pairs = parse_histogram(side["set_histogram"])
        assert calls == 200, side["set_histogram"]
        assert all(b in allowed for b, _ in pairs), pairs
        counts = [n for _, n in pairs]
        assert counts == sorted(set(counts)) and counts[-1] == 200, pairs
    info = ours["info"].split(b"\r\n", 1)[1].split(b"\r\n")
    line = [l for l in info if l.startswith(b"latency_percentiles_usec_debug:")]
    assert line, info
    m = re.match(rb"latency_percentiles_usec_debug:p50=([0-9.]+),p99=([0-9.]+),p99\.9=([0-9.]+)$", line[0])
    assert m and float(m.group(1)) >= 20000 and m.group(1) == m.group(3), line
    assert re.search(rb"latency_percentiles_usec_set:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}",
                     ours["info"]), ours["info"]


def main():
    shared = []

    def setup(suite):
        shared.append(suite.node("--logfile", "cachenode.log", keep=True, client_timeout=5))
        shared.append(Oracle())

    def with_both(fn):
        return lambda s: fn(shared[0], shared[1])

    checks = [
        ("monitor lines match redis", with_both(check_lines_match_redis)),
        ("monitoring client", with_both(check_monitor_client)),
        ("latency matches redis", with_both(check_latency_matches_redis)),
    ]
    try:
        return Suite().run(checks, setup=setup)
    finally:
        if len(shared) > 1:
            shared[1].cleanup()


if __name__ == "__main__":
    sys.exit(main())
