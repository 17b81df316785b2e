#!/usr/bin/env python3
"""controller-fleet-cpu.py: the controller's baseline CPU with a big fleet
and no client doing anything.

It builds the fleet of test_dashboard_fleet (one controller and
fakeagent.py playing 10 hosts; 100 clusters, 1000 nodes, all heartbeating
every second), waits until every cluster is available, lets it settle, and
then measures the controller's CPU time (utime + stime from /proc/PID/stat)
over --slices slices of --slice-s seconds, printing each slice's share of
one core, their median, and the share of each controller thread.

    tests/bench/controller-fleet-cpu.py --bindir build/bin [--hold 30]

--bindir names the directory with cachefleet-controller in it, so that two
builds (before and after a change) are measured the same way in the same
session. --hold N keeps the fleet up N more seconds after the figures,
printing the controller's pid first, for `perf record -p PID`.

Every process started is stopped at the end (FakeFleet's cleanup)."""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from test_dashboard_fleet import FakeFleet, Meter, build_fleet, cpu_seconds  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bindir", required=True, help="directory holding cachefleet-controller")
    parser.add_argument("--settle-s", type=float, default=10.0, help="wait after the fleet is available")
    parser.add_argument("--slices", type=int, default=6)
    parser.add_argument("--slice-s", type=float, default=5.0)
    parser.add_argument("--hold", type=float, default=0.0, help="seconds to keep the fleet up afterwards")
    args = parser.parse_args()
    # FakeFleet finds the controller beside the cachenode it is given; the
    # fake agents launch no node, so the path need not exist as a program
    cachenode = os.path.join(os.path.abspath(args.bindir), "cachenode")
    with FakeFleet(cachenode) as f:
        build_fleet(f, 120)
        time.sleep(args.settle_s)  # let creation's last operations and events finish
        pid = f.controller.proc.pid
        meter = Meter(pid)
        fake0 = cpu_seconds(f.fake.proc.pid)
        pcts = []
        for i in range(args.slices):
            before = meter.cpu.get("idle", 0.0), meter.wall.get("idle", 0.0)
            meter.slice("idle", args.slice_s)
            pct = (meter.cpu["idle"] - before[0]) / (meter.wall["idle"] - before[1]) * 100
            pcts.append(pct)
            print(f"slice {i + 1}: controller {pct:.1f}% of a core", flush=True)
        print(f"figure: controller_cpu_idle_pct_median {statistics.median(pcts):.1f} %")
        print(f"figure: controller_cpu_idle_pct_mean {meter.pct('idle'):.1f} %")
        print(f"figure: controller_cpu_idle_pct_range {min(pcts):.1f}-{max(pcts):.1f} %")
        for name, pct in meter.thread_pct("idle").items():
            print(f"figure: controller_thread_{name}_pct {pct:.1f} %")
        print(f"figure: fakeagent_cpu_pct {(cpu_seconds(f.fake.proc.pid) - fake0) / meter.wall['idle'] * 100:.1f} %")
        if args.hold > 0:
            print(f"controller pid {pid}: holding {args.hold:.0f} s", flush=True)
            time.sleep(args.hold)  # the fleet stays up for a profiler, not waiting on anything
    return 0


if __name__ == "__main__":
    sys.exit(main())
