#!/usr/bin/python3
"""Differential tests: cachenode --protocol memcached against memcached 1.6.

This file owns the harness (processes, sending, normalising, comparing);
the cases live in tests/diff/memcached/cases/*.txt.

For every case file it starts Debian's memcached (the oracle:
`memcached -p PORT -U 0 -l 127.0.0.1 -t 1 -m 64`) and cachenode
(`--protocol memcached --threads 1 --maxmemory 64mb`), each on a free port,
and runs each block of the file on a new connection to both. Replies are
compared byte for byte after normalising only what must differ: the VERSION
line's text and CAS unique values (renamed c1, c2, ... in the order they
first appear on that server, so equal CAS values stay equal).

    mcdiff.py --cachenode build/bin/cachenode tests/diff/memcached/cases/text_basic.txt
    mcdiff.py --against-memcached tests/diff/memcached/cases/*.txt   # check the cases

Case format:
    === name            starts a block (a new connection to each server)
    set a 0 0 1         a request line; sent with \\r\\n
    #raw b"x\\r\\ny"    exact bytes (a Python bytes literal), nothing added
    #sync               send what is pending, then wait for all replies
                        (later lines may use $CAS: the last CAS value this
                        server returned, or $CASn: the n-th distinct one)
    #pause              send what is pending as it is (no end marker), then
                        wait 0.2 s: the next bytes arrive as a later write
    #closes             the server must close the connection after what
                        was sent (nothing more is sent in the block)
    # comment           any other line starting with "# "
Everything pending is sent at the end of the block, followed by "version"
as an end marker (none after #closes)."""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

MEMCACHED = "/usr/bin/memcached"
CAS_VALUE = re.compile(rb"^(VALUE \S+ \d+ \d+ )(\d+)\r$")
META_CAS = re.compile(rb"(?<= )c(\d+)(?= |\r$)")
META_LINE = re.compile(rb"^(HD|VA|EN|NS|EX|NF|MN|ME)( |\r$)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, argv_fn, name):
        self.name = name
        for _ in range(5):
            self.port = free_port()
            self.dir = tempfile.mkdtemp(prefix="mcdiff-")
            self.log = open(os.path.join(self.dir, "log"), "wb")
            self.proc = subprocess.Popen(argv_fn(self.port, self.dir), stdout=self.log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir)
            if self._wait_ready():
                return
            self.stop()
        raise SystemExit(f"{name} did not start")

    def _wait_ready(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"version\r\n")
                    if s.recv(100).startswith(b"VERSION"):
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Conn:
    """One connection: sends requests, reads until the end marker."""

    def __init__(self, server):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.out = b""
        self.cas = []  # distinct CAS values seen, in order

    def exchange(self, data, closes=False):
        """Sends data (plus the marker unless closes) and returns the reply."""
        if not closes:
            data += b"version\r\n"
        self.sock.sendall(data)
        got = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not closes and re.search(rb"(^|\n)VERSION [^\r\n]*\r\n$", got):
                break
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                break
            if not chunk:
                got += b"<closed>"
                break
            got += chunk
        else:
            got += b"<timeout>"
        if not closes:
            got = got[: got.rfind(b"VERSION ")]
        self._learn_cas(got)
        return got

    def _learn_cas(self, got):
        for line in got.split(b"\n"):
            m = CAS_VALUE.match(line)
            vals = [m.group(2)] if m else []
            if META_LINE.match(line):
                vals += META_CAS.findall(line)
            for v in vals:
                if v not in self.cas:
                    self.cas.append(v)
                self.last_cas = v

    def substitute(self, data):
        data = re.sub(rb"\$CAS(\d+)", lambda m: self.cas[int(m.group(1)) - 1], data)
        return data.replace(b"$CAS", getattr(self, "last_cas", b"0"))

    def close(self):
        self.sock.close()


def normalize(reply):
    order = []

    def name(v):
        if v not in order:
            order.append(v)
        return b"<cas%d>" % (order.index(v) + 1)

    lines = []
    for line in reply.split(b"\n"):
        if line.startswith(b"VERSION "):
            line = b"VERSION <v>\r"
        m = CAS_VALUE.match(line)
        if m:
            line = m.group(1) + name(m.group(2)) + b"\r"
        if META_LINE.match(line):
            line = META_CAS.sub(lambda mm: b"c" + name(mm.group(1)), line)
        lines.append(line)
    return b"\n".join(lines)


def short(reply, limit=1500):
    text = repr(reply)
    return text if len(text) <= limit else text[:limit] + "... (%d bytes)" % len(reply)


def parse_blocks(path):
    blocks, cur = [], None
    with open(path, "rb") as f:
        for raw in f.read().split(b"\n"):
            if raw.startswith(b"=== "):
                cur = (raw[4:].decode(), [])
                blocks.append(cur)
            elif raw.startswith(b"# ") or raw == b"#" or (not raw and cur is None):
                continue
            elif cur is None:
                raise SystemExit(f"{path}: a request before the first === block")
            elif raw.startswith(b"#raw "):
                cur[1].append(("raw", eval(raw[5:].decode(), {"__builtins__": {}})))  # our own case files
            elif raw == b"#sync":
                cur[1].append(("sync", None))
            elif raw == b"#pause":
                cur[1].append(("pause", None))
            elif raw == b"#closes":
                cur[1].append(("closes", None))
            elif raw == b"":
                continue
            else:
                cur[1].append(("line", raw + b"\r\n"))
    return blocks


def run_block(server, steps):
    conn = Conn(server)
    replies, pending = [], b""
    try:
        for kind, val in steps:
            if kind in ("line", "raw"):
                pending += conn.substitute(val)
            elif kind == "sync":
                replies.append(conn.exchange(pending))
                pending = b""
            elif kind == "pause":
                conn.sock.sendall(pending)
                pending = b""
                time.sleep(0.2)
            elif kind == "closes":
                replies.append(conn.exchange(pending, closes=True))
                return replies
        replies.append(conn.exchange(pending))
        return replies
    finally:
        conn.close()


def memcached_argv(port, _dir):
    argv = [MEMCACHED, "-p", str(port), "-U", "0", "-l", "127.0.0.1", "-t", "1", "-m", "64"]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]
    return argv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cachenode")
    ap.add_argument("--against-memcached", action="store_true")
    ap.add_argument("cases", nargs="+")
    a = ap.parse_args()
    if not a.cachenode and not a.against_memcached:
        ap.error("--cachenode PATH or --against-memcached")
    cand_argv = (memcached_argv if a.against_memcached else
                 lambda port, d: [os.path.abspath(a.cachenode), "--protocol", "memcached", "--port", str(port),
                                  "--bind", "127.0.0.1", "--threads", "1", "--maxmemory", "64mb", "--dir", d])
    failures = total = 0
    for path in a.cases:
        ref = Server(memcached_argv, "memcached")
        cand = None
        try:
            cand = Server(cand_argv, "candidate")
            for name, steps in parse_blocks(path):
                total += 1
                want = run_block(ref, steps)
                got = run_block(cand, steps)
                if [normalize(r) for r in want] != [normalize(r) for r in got]:
                    failures += 1
                    print(f"FAIL {os.path.basename(path)}: {name}")
                    print(f"  memcached: {short(b''.join(want))}")
                    print(f"  cachenode: {short(b''.join(got))}")
            if cand.proc.poll() is not None:
                print(f"FAIL {path}: cachenode exited with {cand.proc.returncode}")
                failures += 1
        finally:
            ref.stop()
            if cand:
                cand.stop()
    print(f"{total - failures}/{total} blocks matched")
    return 1 if failures else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    sys.exit(main())
