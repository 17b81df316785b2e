#!/usr/bin/env python3
"""create-cluster.py: time from POST /v1/clusters to status "available" for
a 1-primary, 2-replica cluster (cluster mode off), on a local controller and
three agents in three zones (127.0.0.2-4), the same fleet the process-level
tests start. Prints one line per run and the median; target: under 1 s.

    tests/bench/create-cluster.py --cachenode build/bin/cachenode [--runs 5]
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from test_controller import Fleet  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cachenode", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--events", action="store_true", help="print each run's events with times")
    args = ap.parse_args()
    times = []
    with Fleet(args.cachenode, agent_memory_mb=1024) as f:
        for i in range(args.runs):
            name = f"bench-{i}"
            start = time.monotonic()
            f.create(name, replicas=2, node_memory_mb=64)
            f.wait_status(name, "available", timeout=30)
            took = time.monotonic() - start
            times.append(took)
            print(f"run {i + 1}: create->available {took * 1000:.0f} ms (1 primary + 2 replicas)", flush=True)
            if args.events:
                ev = f.api("GET", f"/v1/events?cluster={name}")[1]["events"]
                t0 = ev[0]["time"]
                for e in ev:
                    print(f"   +{e['time'] - t0:4d} ms {e['type']:<20} {e['node'] or ''}")
            status, _ = f.api("DELETE", f"/v1/clusters/{name}")
            assert status == 202
            f.wait_gone(name)
    med = statistics.median(times)
    print(f"median create->available: {med * 1000:.0f} ms over {len(times)} runs "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); target < 1000 ms: "
          f"{'met' if med < 1.0 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
