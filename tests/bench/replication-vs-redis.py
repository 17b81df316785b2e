#!/usr/bin/env python3
"""tests/bench/replication-vs-redis.py

Owns: the replication benchmark of issue 3, cachenode against redis-server
measured in the same run on the same machine.
  1. full sync: a primary holding N keys (default 1,000,000 16-byte keys and
     values); time from REPLICAOF on a fresh replica until the replica's
     offset equals the primary's. Rounds alternate between the servers; the
     median is printed with the ratio (cachenode/redis, lower is better).
     redis-server runs in its fastest mode: diskless sync without the
     default 5 s delay (repl-diskless-sync-delay 0).
  2. throughput with a replica: redis-benchmark SET at -P 1 and -P 16 against
     a primary alone, then with one replica attached; the kept fraction is
     printed for both servers (target for cachenode: at least 0.90).
Usage: tests/bench/replication-vs-redis.py [--cachenode PATH] [--peer PATH]
           [--keys N] [--rounds N] [--requests N]
Exit status 0 whatever the numbers; 2 when a server cannot be started."""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from nodeutil import Node, wait_until  # noqa: E402


def resp_load(n, path):
    """Writes n SETs of 16-byte keys and values as RESP to path."""
    val = b"v" * 16
    with open(path, "wb") as f:
        for i in range(n):
            key = b"key:%012d" % i
            f.write(b"*3\r\n$3\r\nSET\r\n$16\r\n" + key + b"\r\n$16\r\n" + val + b"\r\n")


def load(node, path):
    with open(path, "rb") as f:
        out = subprocess.run(["redis-cli", "-p", str(node.port), "--pipe"], stdin=f,
                             capture_output=True, timeout=600)
    if out.returncode != 0 or b"errors: 0" not in out.stdout:
        raise SystemExit(f"loading failed: {out.stdout[-300:]!r} {out.stderr[-300:]!r}")


def start(binary, *args):
    extra = ("--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0") \
        if "redis-server" in os.path.basename(binary) else ()
    return Node(binary, *extra, *args).start(timeout=30)


def offsets_equal(primary, replica):
    p = primary.client().info("replication")
    r = replica.client().info("replication")
    return r.get("master_link_status") == "up" and r.get("slave_repl_offset") == p["master_repl_offset"]


def full_sync_seconds(binary, loadfile):
    primary = start(binary)
    replica = start(binary)
    try:
        load(primary, loadfile)
        begin = time.monotonic()
        replica.client().execute_command("REPLICAOF", "127.0.0.1", primary.port)
        wait_until(lambda: offsets_equal(primary, replica), 600, 0.005, "full sync")
        took = time.monotonic() - begin
        keys = replica.client().dbsize()
        if keys != primary.client().dbsize():
            raise SystemExit(f"replica has {keys} keys after sync")
        return took
    finally:
        primary.cleanup()
        replica.cleanup()


def set_rps(node, pipeline, requests):
    out = subprocess.run(["redis-benchmark", "-p", str(node.port), "-t", "set", "-c", "50",
                          "-P", str(pipeline), "-n", str(requests), "-r", "100000", "-q", "--csv"],
                         capture_output=True, text=True, timeout=600)
    for line in out.stdout.splitlines():
        if line.startswith('"SET"'):
            return float(line.split(",")[1].strip('"'))
    raise SystemExit(f"redis-benchmark printed no SET line: {out.stdout!r} {out.stderr!r}")


def throughput_kept(binary, pipeline, requests, rounds):
    primary = start(binary)
    replica = start(binary)
    try:
        alone = statistics.median(set_rps(primary, pipeline, requests) for _ in range(rounds))
        replica.client().execute_command("REPLICAOF", "127.0.0.1", primary.port)
        wait_until(lambda: offsets_equal(primary, replica), 60, 0.01, "replica attached")
        with_replica = statistics.median(set_rps(primary, pipeline, requests) for _ in range(rounds))
        wait_until(lambda: offsets_equal(primary, replica), 120, 0.01, "replica caught up")
        return alone, with_replica
    finally:
        primary.cleanup()
        replica.cleanup()


def main():
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cachenode", default=os.path.join(root, "build", "bin", "cachenode"))
    ap.add_argument("--peer", default="/usr/bin/redis-server")
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200_000)
    a = ap.parse_args()
    servers = [("redis", a.peer), ("cachenode", a.cachenode)]
    loadfile = os.path.join("/tmp", f"repl-bench-{os.getpid()}.resp")
    resp_load(a.keys, loadfile)
    try:
        times = {name: [] for name, _ in servers}
        for r in range(a.rounds):
            order = servers if r % 2 == 0 else servers[::-1]
            for name, binary in order:
                t = full_sync_seconds(binary, loadfile)
                times[name].append(t)
                print(f"round {r + 1}/{a.rounds}  full sync  {name:9s} {t:7.3f} s", flush=True)
    finally:
        os.unlink(loadfile)
    med = {name: statistics.median(v) for name, v in times.items()}
    print(f"\n== full sync of {a.keys} keys (median of {a.rounds}; lower is better)")
    print(f"redis {med['redis']:.3f} s   cachenode {med['cachenode']:.3f} s   "
          f"ratio {med['cachenode'] / med['redis']:.2f}x")
    print("\n== SET throughput of a primary with one replica, as a fraction of alone (target >= 0.90)")
    for p in (1, 16):
        for name, binary in servers:
            requests = a.requests * (5 if p == 16 else 1)
            alone, with_r = throughput_kept(binary, p, requests, a.rounds)
            print(f"-P{p:<3d} {name:9s} alone {alone:9.0f} rps   with replica {with_r:9.0f} rps   "
                  f"kept {with_r / alone:.2f}", flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
