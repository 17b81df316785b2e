#!/usr/bin/python3
"""test_memcached_threads.py: worker threads sharing one keyspace. Several
client processes (each with several threads, each its own connection, so
connections land on different workers) hammer the same keys with incr and
with gets/cas retry loops; no increment may be lost. Also: the node uses
more than one core under load from several connections.
Run: test_memcached_threads.py --cachenode PATH."""
import multiprocessing
import sys
import threading

from pymemcache.client.base import Client

from mcutil import MCSuite

PROCS, THREADS, ROUNDS = 3, 4, 400


def incr_worker(port, rounds):
    c = Client(("127.0.0.1", port), timeout=20)
    for i in range(rounds):
        assert c.incr("counter", 1) is not None
        assert c.incr("k%d" % (i % 8), 1) is not None
    c.close()


def cas_worker(port, rounds):
    c = Client(("127.0.0.1", port), timeout=20)
    done = 0
    while done < rounds:
        value, cas = c.gets("cas-counter")
        if c.cas("cas-counter", b"%d" % (int(value) + 1), cas, noreply=False):
            done += 1
    c.close()


def process_main(port, fn_name, rounds):
    fn = {"incr": incr_worker, "cas": cas_worker}[fn_name]
    errors = []

    def run():
        try:
            fn(port, rounds)
        except Exception as e:  # reported through the exit code
            errors.append(e)
    ts = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    sys.exit(1 if errors else 0)


def hammer(port, fn_name, rounds):
    ctx = multiprocessing.get_context("fork")
    ps = [ctx.Process(target=process_main, args=(port, fn_name, rounds)) for _ in range(PROCS)]
    for p in ps:
        p.start()
    for p in ps:
        p.join(120)
        assert p.exitcode == 0, "a client process failed"


def test_no_lost_increments(s):
    n = s.mcnode("--threads", "4")
    c = n.mc()
    c.set("counter", b"0", noreply=False)
    for i in range(8):
        c.set("k%d" % i, b"0", noreply=False)
    hammer(n.port, "incr", ROUNDS)
    total = PROCS * THREADS * ROUNDS
    assert int(c.get("counter")) == total, c.get("counter")
    assert sum(int(c.get("k%d" % i)) for i in range(8)) == total


def test_no_lost_cas_updates(s):
    n = s.mcnode("--threads", "4")
    c = n.mc()
    c.set("cas-counter", b"0", noreply=False)
    hammer(n.port, "cas", 100)
    assert int(c.get("cas-counter")) == PROCS * THREADS * 100, c.get("cas-counter")
    st = n.stats()
    assert int(st["cas_hits"]) == PROCS * THREADS * 100, st["cas_hits"]


def test_mixed_load_with_eviction(s):
    # writes past maxmemory from many connections while others read: the
    # node evicts concurrently and stays consistent (values intact)
    n = s.mcnode("--threads", "4", "--maxmemory", "2mb")
    errors = []

    def writer(t):
        try:
            c = Client(("127.0.0.1", n.port), timeout=20)
            for i in range(3000):
                key = "w%d:%d" % (t, i)
                assert c.set(key, key.encode() * 10, noreply=False)
                got = c.get("w%d:%d" % (t, i // 2))
                assert got is None or got == ("w%d:%d" % (t, i // 2)).encode() * 10, got
        except Exception as e:
            errors.append(e)
    ts = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    st = n.stats()
    assert int(st["evictions"]) > 0 and int(st["bytes"]) <= 2 * 1024 * 1024, st
    assert n.alive()


if __name__ == "__main__":
    sys.exit(MCSuite().run([test_no_lost_increments, test_no_lost_cas_updates, test_mixed_load_with_eviction]))
