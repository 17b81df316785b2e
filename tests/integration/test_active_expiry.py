#!/usr/bin/python3
"""Active expiry and lazy flushing, seen from outside the process.

Keys with a TTL that nobody reads must still leave memory: the cron's
adaptive sampler (expire.c) has to find and delete them within a bounded
time. FLUSHALL ASYNC must reply at once and free the old tables in steps
without stalling the event loop.

    test_active_expiry.py --cachenode build/bin/cachenode

Exit status 0 when every check passed; the last line is "N passed, M failed".
"""

import random
import sys
import time

from nodeutil import Suite

START_DEADLINE = 10.0   # seconds for cachenode to answer PING
EXPIRY_DEADLINE = 15.0  # seconds after the last TTL for DBSIZE to fall
BATCH = 5000            # commands per pipeline round trip


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
    tests = [test_volatile_keys_leave_without_reads, test_only_expired_keys_go,
             test_flushall_async_does_not_block]
    shared = []

    def setup(suite):
        shared.append(suite.node(keep=True, timeout=START_DEADLINE))

    return Suite().run([(t.__name__, lambda suite, t=t: t(shared[0].r)) for t in tests],
                       setup=setup, teardown=lambda suite: shared[0].terminate(timeout=5))


if __name__ == "__main__":
    sys.exit(main())
