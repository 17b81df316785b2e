#!/usr/bin/python3
"""Active expiry and lazy flushing, seen from outside the process.

Keys with a TTL that nobody reads must still leave memory: the cron's
adaptive sampler (expire.c) has to find and delete them within a bounded
time. FLUSHALL ASYNC must reply at once and free the old tables in steps
without stalling the event loop.

    test_active_expiry.py --cachenode build/bin/cachenode

Exit status 0 when every check passed; the last line is "N passed, M failed".
"""

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redis

START_DEADLINE = 10.0   # seconds for cachenode to answer PING
EXPIRY_DEADLINE = 15.0  # seconds after the last TTL for DBSIZE to fall
BATCH = 5000            # commands per pipeline round trip


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """A cachenode process on a free port, killed by pid when done."""

    def __init__(self, binary):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="cachenode-expiry-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10)
        deadline = time.monotonic() + START_DEADLINE
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("cachenode exited with %d at start-up (log: %s)" % (self.proc.returncode, self.log.name))
            try:
                if self.client.ping():
                    return
            except redis.exceptions.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("cachenode did not answer PING within %.0f s" % START_DEADLINE)
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log.close()


def set_keys(r, names, ttl_ms=None):
    """SETs the keys, then gives each a TTL drawn by ttl_ms() if given,
    counted from the moment its batch is sent."""
    for i in range(0, len(names), BATCH):
        p = r.pipeline(transaction=False)
        for name in names[i:i + BATCH]:
            p.set(name, "v")
        p.execute()
    if not ttl_ms:
        return
    for i in range(0, len(names), BATCH):
        base = int(time.time() * 1000)
        p = r.pipeline(transaction=False)
        for name in names[i:i + BATCH]:
            p.pexpireat(name, base + ttl_ms())
        p.execute()


def wait_dbsize(r, at_most, deadline_s):
    """Polls DBSIZE (which reads no key) until it is <= at_most; returns the
    last value seen and the seconds it took."""
    start = time.monotonic()
    size = r.dbsize()
    while size > at_most and time.monotonic() - start < deadline_s:
        time.sleep(0.1)
        size = r.dbsize()
    return size, time.monotonic() - start


def test_volatile_keys_leave_without_reads(r):
    r.flushall()
    n = 100_000
    names = ["vol:%d" % i for i in range(n)]
    set_keys(r, names)
    assert r.dbsize() == n
    set_keys(r, names, lambda: random.randint(1000, 2000))
    assert r.dbsize() > 0
    time.sleep(2.0)  # every TTL has passed now; no key is read from here on
    size, took = wait_dbsize(r, n // 100, EXPIRY_DEADLINE)
    assert size <= n // 100, "DBSIZE still %d after %.1f s (expected <= %d)" % (size, took, n // 100)
    # and eventually all of them: the tail is 100% stale, so it is swept too
    size, took = wait_dbsize(r, 0, EXPIRY_DEADLINE)
    assert size == 0, "DBSIZE still %d after %.1f s" % (size, took)


def test_only_expired_keys_go(r):
    r.flushall()
    keep = ["keep:%d" % i for i in range(1000)]
    longttl = ["long:%d" % i for i in range(20_000)]
    short = ["short:%d" % i for i in range(50_000)]
    set_keys(r, keep)
    set_keys(r, longttl, lambda: 300_000)
    set_keys(r, short, lambda: random.randint(500, 1500))
    time.sleep(1.5)
    want = len(keep) + len(longttl)
    size, took = wait_dbsize(r, want, EXPIRY_DEADLINE)
    assert size == want, "DBSIZE %d after %.1f s, want %d" % (size, took, want)
    assert r.exists(*keep) == len(keep), "a key without TTL was deleted"
    assert r.exists(*longttl[:1000]) == 1000, "a key with a long TTL was deleted"
    ttl = r.ttl(longttl[0])
    assert 200 <= ttl <= 301, "TTL of a long-lived key is %d" % ttl


def test_flushall_async_does_not_block(r):
    r.flushall()
    n = 300_000
    set_keys(r, ["f:%d" % i for i in range(n)])
    assert r.dbsize() == n
    t0 = time.monotonic()
    assert r.flushall(asynchronous=True)
    flush_s = time.monotonic() - t0
    assert r.dbsize() == 0
    # while the cron frees the old tables, the server keeps answering quickly
    worst = 0.0
    for _ in range(50):
        t = time.monotonic()
        r.ping()
        worst = max(worst, time.monotonic() - t)
        time.sleep(0.01)
    r.set("after", "1")
    assert r.get("after") == b"1"
    assert r.dbsize() == 1
    assert flush_s < 0.5, "FLUSHALL ASYNC took %.3f s" % flush_s
    assert worst < 0.2, "a PING took %.3f s during the lazy free" % worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cachenode", required=True)
    args = ap.parse_args()
    tests = [test_volatile_keys_leave_without_reads, test_only_expired_keys_go,
             test_flushall_async_does_not_block]
    passed = failed = 0
    node = None
    try:
        node = Node(args.cachenode)
        for t in tests:
            try:
                t(node.client)
                print("PASS", t.__name__)
                passed += 1
            except Exception as e:  # report and go on with the next test
                print("FAIL", t.__name__, "-", e)
                failed += 1
            sys.stdout.flush()
    except Exception as e:
        print("ERROR", e)
        failed += 1
    finally:
        if node:
            node.stop()
            if failed == 0:
                os.unlink(node.log.name)  # kept for a look when something failed
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed == len(tests) else 1


if __name__ == "__main__":
    sys.exit(main())
