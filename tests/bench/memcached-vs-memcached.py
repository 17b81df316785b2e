#!/usr/bin/python3
"""tests/bench/memcached-vs-memcached.py

Owns: the side-by-side benchmark of cachenode --protocol memcached against
memcached 1.6 (the peer), in one run on one machine. For each --threads
value (default 1 and 2) it starts one of each on free loopback ports with
the same thread count and measures, in rounds that alternate which server
goes first:
  1. memcslap --test=set and --test=get (libmemcached-tools), ops/s;
  2. a mixed get/set pipeline: CLIENTS client processes, each sending
     batches of PIPELINE requests (9 gets to 1 set of 100-byte values over
     KEYS keys) on one connection and waiting for all replies, ops/s;
and then, on a fresh pair, memory per item: the growth of the resident set
(VmRSS) after storing ITEMS values of 100 bytes under 11-byte keys, divided
by ITEMS. Prints one line per measurement, the medians and the ratios
(cachenode / memcached: above 1 is faster, or for memory, more bytes), with
the median and range of the per-round ratios (a round runs both servers
back to back, so its ratio shares the machine's state of the moment).

    tests/bench/memcached-vs-memcached.py [--cachenode build/bin/cachenode]
        [--threads 1 2] [--rounds 3] [--items 1000000] [--clients 4]
        [--pipeline 100] [--seconds 3]

Exit status 0 whatever the numbers (a benchmark, not a test); 2 when a
server does not start or a tool is missing."""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import get_context

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name, argv_fn):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="mcbench-")
        self.port = free_port()
        self.proc = subprocess.Popen(argv_fn(self.port, self.dir), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=self.dir)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"version\r\n")
                    if s.recv(100).startswith(b"VERSION"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        sys.exit(f"{name} did not start")

    def rss(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def memcached_argv(threads, mem_mb):
    def argv(port, _dir):
        a = ["memcached", "-p", str(port), "-U", "0", "-l", "127.0.0.1", "-t", str(threads), "-m", str(mem_mb),
             "-c", "4096"]
        return a + (["-u", "nobody"] if os.geteuid() == 0 else [])
    return argv


def cachenode_argv(binary, threads, mem_mb):
    def argv(port, d):
        return [binary, "--protocol", "memcached", "--port", str(port), "--bind", "127.0.0.1", "--threads",
                str(threads), "--maxmemory", "%dmb" % mem_mb, "--maxclients", "4096", "--dir", d]
    return argv


def memcslap(port, test, clients, number):
    out = subprocess.run(["memcslap", "--servers=127.0.0.1:%d" % port, "--concurrency=%d" % clients,
                          "--execute-number=%d" % number, "--test=%s" % test],
                         capture_output=True, text=True, timeout=600).stdout
    m = re.search(r"Time to %s\s+(\d+) keys by\s+\d+ threads:\s+([\d.]+) seconds" % test, out)
    if not m:
        raise RuntimeError("memcslap said: " + out)
    return int(m.group(1)) / max(float(m.group(2)), 1e-6)


# ---- the mixed pipeline load ---------------------------------------------------------

def batch(keys, pipeline, seed):
    """One fixed batch of requests and the replies' end markers it expects."""
    import random
    rng = random.Random(seed)
    value = b"v" * 100
    parts, sets = [], 0
    for i in range(pipeline):
        k = b"key:%07d" % rng.randrange(keys)
        if i % 10 == 9:
            parts.append(b"set %s 0 0 100\r\n%s\r\n" % (k, value))
            sets += 1
        else:
            parts.append(b"get %s\r\n" % k)
    return b"".join(parts), pipeline - sets, sets


def pipeline_client(port, keys, pipeline, seconds, seed, result):
    req, gets, sets = batch(keys, pipeline, seed)
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ops = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        s.sendall(req)
        got_end = got_stored = 0
        tail = b""
        while got_end < gets or got_stored < sets:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise RuntimeError("server closed")
            data = tail + chunk
            got_end += data.count(b"END\r\n") - tail.count(b"END\r\n")
            got_stored += data.count(b"STORED\r\n") - tail.count(b"STORED\r\n")
            tail = data[-8:]
        ops += pipeline
    result.put(ops / seconds)


def mixed(port, clients, keys, pipeline, seconds):
    ctx = get_context("fork")
    q = ctx.Queue()
    ps = [ctx.Process(target=pipeline_client, args=(port, keys, pipeline, seconds, i, q)) for i in range(clients)]
    for p in ps:
        p.start()
    total = sum(q.get(timeout=seconds + 60) for _ in ps)
    for p in ps:
        p.join()
    return total


def preload(port, keys):
    s = socket.create_connection(("127.0.0.1", port))
    value = b"v" * 100
    for start in range(0, keys, 1000):
        s.sendall(b"".join(b"set key:%07d 0 0 100 noreply\r\n%s\r\n" % (i, value)
                           for i in range(start, min(keys, start + 1000))))
    s.sendall(b"version\r\n")
    buf = b""
    while not buf.endswith(b"\r\n"):
        buf += s.recv(100)
    s.close()


# ---- the phases ------------------------------------------------------------------------

def throughput(args, threads):
    peer = Server("memcached", memcached_argv(threads, 1024))
    cand = Server("cachenode", cachenode_argv(args.cachenode, threads, 1024))
    servers = [cand, peer]
    res = {(s.name, t): [] for s in servers for t in ("memcslap-set", "memcslap-get", "mixed")}
    try:
        for s in servers:
            preload(s.port, args.keys)
        for r in range(args.rounds):
            order = servers if r % 2 == 0 else servers[::-1]
            for test in ("set", "get"):
                for s in order:
                    v = memcslap(s.port, test, args.clients, args.slap_number)
                    res[(s.name, "memcslap-" + test)].append(v)
                    print(f"threads={threads} round={r} {s.name:9s} memcslap-{test}: {v:12.0f} ops/s", flush=True)
            for s in order:
                v = mixed(s.port, args.clients, args.keys, args.pipeline, args.seconds)
                res[(s.name, "mixed")].append(v)
                print(f"threads={threads} round={r} {s.name:9s} mixed-pipeline: {v:12.0f} ops/s", flush=True)
    finally:
        for s in servers:
            s.stop()
    summary = []
    for t in ("memcslap-set", "memcslap-get", "mixed"):
        c, p = statistics.median(res[("cachenode", t)]), statistics.median(res[("memcached", t)])
        ratios = [a / b for a, b in zip(res[("cachenode", t)], res[("memcached", t)])]
        summary.append(f"threads={threads} {t:13s} cachenode {c:12.0f} ops/s  memcached {p:12.0f} ops/s  "
                       f"ratio {c / p:.2f} (per-round ratios: median {statistics.median(ratios):.2f}, "
                       f"range {min(ratios):.2f}-{max(ratios):.2f})")
    return summary


def memory(args):
    out = []
    peer = Server("memcached", memcached_argv(1, 4096))
    cand = Server("cachenode", cachenode_argv(args.cachenode, 1, 4096))
    try:
        for s in (cand, peer):
            before = s.rss()
            preload(s.port, args.items)
            time.sleep(0.5)  # let the last writes land before reading VmRSS
            grown = s.rss() - before
            out.append((s.name, grown / args.items))
            print(f"memory {s.name:9s}: {grown / 1e6:.1f} MB for {args.items} items = "
                  f"{grown / args.items:.1f} bytes/item", flush=True)
    finally:
        cand.stop()
        peer.stop()
    c, p = dict(out)["cachenode"], dict(out)["memcached"]
    return [f"memory per item ({args.items} x 100-byte values): cachenode {c:.1f} B  memcached {p:.1f} B  "
            f"ratio {c / p:.2f}"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cachenode", default=os.path.join(ROOT, "build/bin/cachenode"))
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--items", type=int, default=1000000)
    ap.add_argument("--keys", type=int, default=100000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--pipeline", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--slap-number", type=int, default=20000)
    args = ap.parse_args()
    for tool in ("memcached", "memcslap"):
        if not shutil.which(tool):
            print(f"{tool} is missing (deploy/install-deps.sh)")
            return 2
    summary = []
    for t in args.threads:
        summary += throughput(args, t)
    summary += memory(args)
    print("---- summary (cachenode / memcached, same run)")
    for line in summary:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
