#!/usr/bin/env python3
"""failover.py: from kill -9 of the primary to the first write acknowledged
(SET + WAIT 1 >= 1) by the new primary through redis-py's Sentinel client,
over N runs (default 10) on a fresh 1+2 cluster each; prints every run, the
median and the worst. Target: median < 1 s, worst < 2 s.

    tests/bench/failover.py --cachenode build/bin/cachenode [--runs 10]"""
import argparse
import os
import signal
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from nodeutil import wait_until  # noqa: E402
from test_failover import FoFleet, Writer, all_present  # noqa: E402


def one_run(f, i):
    name = f"bench{i}"
    f.create(name, replicas=2)
    f.wait_status(name, "available", timeout=30)
    old = f.primary(name)
    pid = f.node_pid(old["id"])
    w = Writer(f, name)
    w.start()
    wait_until(lambda: len(w.acked) >= 50, 10, 0.005, "writes before the kill")
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: w.acked_after(killed), 10, 0.001, "a write acknowledged by the new primary")
    took = w.acked_after(killed)[0] - killed
    acked = w.finish()
    lost = all_present(f.primary(name), acked)
    assert f.primary(name)["id"] != old["id"]
    assert not lost, f"{len(lost)} acknowledged writes lost"
    status, _ = f.api("DELETE", f"/v1/clusters/{name}")
    assert status == 202
    f.wait_gone(name)
    return took


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cachenode", required=True)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    times = []
    with FoFleet(args.cachenode) as f:
        for i in range(args.runs):
            t = one_run(f, i)
            times.append(t)
            print(f"run {i + 1}: {t * 1000:.0f} ms", flush=True)
    med, worst = statistics.median(times), max(times)
    print(f"failover (kill -9 -> first acknowledged write via Sentinel): median {med * 1000:.0f} ms, "
          f"worst {worst * 1000:.0f} ms over {len(times)} runs (target: median < 1000 ms, worst < 2000 ms)")
    return 0 if med < 1.0 and worst < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
