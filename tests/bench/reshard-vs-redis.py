#!/usr/bin/env python3
"""tests/bench/reshard-vs-redis.py

Owns: the resharding benchmark of issue 13, cachenode's slot moves against
the classic MIGRATE procedure of redis-server, in the same run on the same
machine.
  1. throughput: node A owns every slot and holds N keys (default 400,000
     keys of 1000-byte values); half the slots (0-8191) move to node B, an
     empty primary, while redis-benchmark keeps a SET load on A's other
     slots. cachenode: CLUSTER IMPORT on B, CLUSTER MIGRATIONS polled, then
     IMPORT-FINISH and the next topology (SETTOPOLOGY) on both nodes, as the
     controller does. redis-server: `redis-cli --cluster reshard` (its
     default --cluster-pipeline 10, and 1000 as a second peer run). MB/s =
     the key and value bytes of the moved keys / the wall time of the
     whole move. Each with no load, 1 load client and 10 (which, with
     the move, want more than 2 cores). Target: >= 100 MB/s and >= 2x
     redis-cli's.
  2. hand-off pause (cachenode): MOVES moves of 64 slots back and forth
     between A and B while a writer SETs keys of the moving slots in a loop
     (following MOVED as a cluster client does); a hand-off's pause is the
     longest such SET from IMPORT-FINISH to the topology published. Printed:
     p50/p99/max over the hand-offs (target p99 < 50 ms).
Usage: tests/bench/reshard-vs-redis.py [--cachenode PATH] [--keys N]
           [--value-size B] [--moves N]
Exit status 0 whatever the numbers; 2 when a server cannot be started.
Every server and load process is stopped by pid on exit."""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from nodeutil import Node, wait_until  # noqa: E402

import redis  # noqa: E402
from redis.crc import key_slot  # noqa: E402

MOVED_LAST = 8191  # slots 0..8191 move


def tag_in(lo, hi, start=0):
    """A hash tag whose slot is in lo..hi."""
    i = start
    while not lo <= key_slot(f"t{i}".encode()) <= hi:
        i += 1
    return f"t{i}"


def write_load(path, keys, value_size):
    """RESP SETs of keys key:<i> to path; the key and value bytes of the
    keys in the moved slots."""
    val = b"v" * value_size
    moved = 0
    with open(path, "wb") as f:
        for i in range(keys):
            key = b"key:%d" % i
            f.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, value_size, val))
            if key_slot(key) <= MOVED_LAST:
                moved += len(key) + value_size
    return moved


def load(node, path):
    with open(path, "rb") as f:
        out = subprocess.run(["redis-cli", "-p", str(node.port), "--pipe"], stdin=f, capture_output=True, timeout=900)
    if out.returncode != 0 or b"errors: 0" not in out.stdout:
        raise SystemExit(f"loading failed: {out.stdout[-300:]!r} {out.stderr[-300:]!r}")


class Background:
    """redis-benchmark SETs from `clients` connections on one slot of A
    that stays, until stopped (0 clients: no load)."""

    def __init__(self, port, clients):
        tag = tag_in(MOVED_LAST + 1, 16383)
        self.proc = None
        if clients:
            self.proc = subprocess.Popen(["redis-benchmark", "-p", str(port), "-c", str(clients), "-n", "100000000",
                                          "-q", "SET", f"{{{tag}}}:__rand_int__", "x" * 100],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


# ---- cachenode ----------------------------------------------------------------


def topology(epoch, a, b, a_slots, b_slots):
    return ["CLUSTER", "SETTOPOLOGY", str(epoch), "2", "0001", a_slots, "1", "bench-a", "127.0.0.1", str(a.port),
            "0002", b_slots, "1", "bench-b", "127.0.0.1", str(b.port)]


def publish(a, b, epoch, a_slots, b_slots):
    for n in (a, b):
        n.r.execute_command(*topology(epoch, a, b, a_slots, b_slots))


def migration(node, mid):
    for m in node.r.execute_command("CLUSTER", "MIGRATIONS"):
        d = {m[i].decode(): m[i + 1] for i in range(0, len(m), 2)}
        if d["id"] == mid.encode():
            return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in d.items()}
    raise SystemExit(f"migration {mid} is not listed")


def move(src, dst, mid, slots, done_hook=None):
    """Moves slots from src to dst; the hand-off's start and end times."""
    dst.r.execute_command("CLUSTER", "IMPORT", mid, "127.0.0.1", str(src.port), slots)

    def ready():
        m = migration(dst, mid)
        if m["state"] in ("failed", "cancelled"):
            raise SystemExit(f"migration {mid}: {m}")
        return m["state"] == "streaming" and int(m["lag_bytes"]) < 65536
    wait_until(ready, 900, 0.002, f"migration {mid} streaming")
    begin = time.monotonic()
    assert dst.r.execute_command("CLUSTER", "IMPORT-FINISH", mid) == b"OK"
    if done_hook:
        done_hook()
    return begin, time.monotonic()


def cachenode_pair(binary):
    a = Node(binary, "--cluster-enabled", "yes", "--node-id", "bench-a", client_timeout=60).start(timeout=30)
    b = Node(binary, "--cluster-enabled", "yes", "--node-id", "bench-b", client_timeout=60).start(timeout=30)
    publish(a, b, 1, "0-16383", "-")
    return a, b


def cachenode_throughput(binary, loadfile, clients):
    a, b = cachenode_pair(binary)
    try:
        load(a, loadfile)
        bg = Background(a.port, clients)
        try:
            start = time.monotonic()
            move(a, b, "bench-1", f"0-{MOVED_LAST}",
                 lambda: publish(a, b, 2, f"{MOVED_LAST + 1}-16383", f"0-{MOVED_LAST}"))
            took = time.monotonic() - start
        finally:
            bg.stop()
        keys = sum(b.r.execute_command("CLUSTER", "COUNTKEYSINSLOT", s) for s in range(0, MOVED_LAST + 1))
        return took, keys
    finally:
        a.cleanup()
        b.cleanup()


class Writer(threading.Thread):
    """SETs to keys of one slot in a loop, following MOVED; (start, seconds) per SET."""

    def __init__(self, a, b, tag):
        super().__init__(daemon=True)
        self.conns = {a.port: redis.Redis(port=a.port), b.port: redis.Redis(port=b.port)}
        self.port, self.tag = a.port, tag
        self.samples, self.errors = [], []
        self.stop = threading.Event()

    def run(self):
        i = 0
        while not self.stop.is_set():
            begin = time.monotonic()
            while True:
                try:
                    self.conns[self.port].set(f"{{{self.tag}}}:{i % 1000}", i)
                    break
                except redis.ResponseError as e:
                    if not str(e).startswith("MOVED "):
                        self.errors.append(str(e))
                        return
                    self.port = int(str(e).rsplit(":", 1)[1])
            self.samples.append((begin, time.monotonic() - begin))
            i += 1


def handoff_pauses(binary, moves):
    a, b = cachenode_pair(binary)
    try:
        tags = {}
        i = 0
        while len(tags) < 64:  # a hash tag for each moving slot, some keys in each
            slot = key_slot(f"t{i}".encode())
            if slot < 64:
                tags.setdefault(slot, f"t{i}")
            i += 1
        tag = tags[0]
        p = a.r.pipeline(transaction=False)
        for j in range(64 * 200):
            p.set(f"{{{tags[j % 64]}}}:{j}", "x" * 100)
        p.execute()
        w = Writer(a, b, tag)
        w.start()
        windows = []
        owner, epoch = (a, b), 1
        for k in range(moves):
            src, dst = owner
            epoch += 1
            rest = "64-16383"
            a_slots, b_slots = (rest, "0-63") if dst is b else ("0-16383", "-")
            windows.append(move(src, dst, f"h{k}", "0-63", lambda: publish(a, b, epoch, a_slots, b_slots)))
            owner = (dst, src)
            time.sleep(0.05)
        w.stop.set()
        w.join(timeout=10)
        if w.errors:
            raise SystemExit(f"the writer saw errors: {w.errors[:3]}")
        pauses = []
        for begin, end in windows:
            inside = [d for s, d in w.samples if s + d >= begin and s <= end]
            pauses.append(max(inside) if inside else 0.0)
        return pauses
    finally:
        a.cleanup()
        b.cleanup()


# ---- redis-server --------------------------------------------------------------


def redis_pair():
    args = ("--save", "", "--appendonly", "no", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
    a = Node("redis-server", *args, client_timeout=60).start(timeout=30)
    b = Node("redis-server", *args, client_timeout=60).start(timeout=30)
    a.r.execute_command("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
    a.r.execute_command("CLUSTER", "MEET", "127.0.0.1", str(b.port))

    def formed():
        return all(n.r.execute_command("CLUSTER", "INFO").decode().find("cluster_state:ok") >= 0 and
                   b"connected" in n.r.execute_command("CLUSTER", "NODES") and
                   n.r.execute_command("CLUSTER", "NODES").count(b"connected") == 2 for n in (a, b))
    wait_until(formed, 30, 0.05, "the redis-server cluster formed")
    return a, b


def redis_throughput(loadfile, pipeline, clients):
    a, b = redis_pair()
    try:
        load(a, loadfile)
        bg = Background(a.port, clients)
        try:
            ida = a.r.execute_command("CLUSTER", "MYID").decode()
            idb = b.r.execute_command("CLUSTER", "MYID").decode()
            start = time.monotonic()
            out = subprocess.run(["redis-cli", "--cluster", "reshard", f"127.0.0.1:{a.port}", "--cluster-from", ida,
                                  "--cluster-to", idb, "--cluster-slots", str(MOVED_LAST + 1), "--cluster-yes",
                                  "--cluster-pipeline", str(pipeline)],
                                 capture_output=True, text=True, timeout=3600)
            took = time.monotonic() - start
        finally:
            bg.stop()
        if out.returncode != 0:
            raise SystemExit(f"redis-cli --cluster reshard failed: {out.stdout[-500:]} {out.stderr[-500:]}")
        keys = b.r.dbsize()
        return took, keys
    finally:
        a.cleanup()
        b.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cachenode", default=os.path.join(HERE, "..", "..", "build", "cachenode", "cachenode"))
    ap.add_argument("--keys", type=int, default=400_000)
    ap.add_argument("--value-size", type=int, default=1000)
    ap.add_argument("--moves", type=int, default=40)
    opt = ap.parse_args()
    loadfile = f"/tmp/reshard-bench-{os.getpid()}.resp"
    try:
        moved_bytes = write_load(loadfile, opt.keys, opt.value_size)
        mb = moved_bytes / 1e6
        print(f"== resharding throughput: {opt.keys} keys of {opt.value_size} B, slots 0-{MOVED_LAST} "
              f"({mb:.0f} MB of keys and values) move from A to B; load on A's other slots: redis-benchmark SET "
              f"from 0, 1 or 10 clients (10 saturate this machine's cores with the move)")
        for clients in (0, 1, 10):
            ours, ours_keys = cachenode_throughput(opt.cachenode, loadfile, clients)
            print(f"load {clients:2d}: cachenode slot move               {ours:7.2f} s  {mb / ours:8.1f} MB/s  "
                  f"({ours_keys} keys; target >= 100 MB/s)")
            for pipeline in (10, 1000):
                took, keys = redis_throughput(loadfile, pipeline, clients)
                print(f"load {clients:2d}: redis-cli --cluster reshard -P {pipeline:<5} {took:7.2f} s  "
                      f"{mb / took:8.1f} MB/s  ({keys} keys; ratio {took / ours:.2f}x, target >= 2.0)")
    finally:
        if os.path.exists(loadfile):
            os.unlink(loadfile)
    pauses = sorted(handoff_pauses(opt.cachenode, opt.moves))
    p99 = pauses[min(len(pauses) - 1, int(len(pauses) * 0.99))]
    print(f"== hand-off pause of {len(pauses)} moves of 64 slots under a writer to them: "
          f"p50 {statistics.median(pauses) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {pauses[-1] * 1000:.1f} ms "
          f"(target p99 < 50 ms)")


if __name__ == "__main__":
    main()
