"""test_controller_resharding: online resharding through the controller,
end to end (docs/cluster.md, "Moving slots").

A Fleet (test_controller.py: a controller and three agents in three zones)
creates a cluster-mode cluster of 3 shards x (1 primary + 1 replica) and
preloads it. Two cluster clients keep a mixed load on it the whole time: a
redis-py RedisCluster (SET and a checked GET, MSET/MGET of hash-tagged keys,
a pipeline in one slot) in a thread, and an ioredis Cluster
(reshard_load_ioredis.js) in a Node.js process. Then:

- PATCH shards 3 -> 5. While one slot move imports, the primary of the shard
  it fills is killed with SIGKILL: the move is cancelled, that shard fails
  over, and the move starts again on the new primary.
- PATCH shards 5 -> 2: the last three shards are emptied, leave the
  topology, and their nodes are deleted. While a move imports, the
  controller is killed with SIGKILL and started again on its database: the
  operation resumes from the step it stored.
- PATCH shards 2 -> 3. While a move imports, the primary of the shard it
  empties (the source) is killed with SIGKILL: the move is cancelled, that
  shard fails over, and the move starts again from the new primary. The
  writes the old one acknowledged reached its replica first (a primary
  sends its replication stream before its replies), so none is lost.

After each: the operation succeeded with its slots and keys moved,
describe's slots cover 0-16383 once and evenly, every node's CLUSTER SLOTS
says what describe says, `redis-cli --cluster check` passes, and every key
sits only on the nodes of the shard that owns its slot (COUNTKEYSINSLOT of
every slot on every node). At the end every write either client had
acknowledged reads back, neither client saw an error (the redirects they
followed are not errors), and the controller's metrics count the moved
slots.

Every wait polls with a deadline; every process is killed by pid at the
end (Fleet.cleanup, and the loader process here)."""
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import wait_until  # noqa: E402
from test_controller import Fleet  # noqa: E402
from test_controller_cluster_mode import (AUTH, SLOTS, addr, client, node_slots, run_with_cluster_mode,  # noqa: E402
                                          slot_set)

import redis  # noqa: E402
from redis.cluster import ClusterNode, RedisCluster  # noqa: E402

logging.getLogger("redis.cluster").setLevel(logging.CRITICAL)

NAME = "cm"
HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = os.path.join(HERE, "..", "..", ".tools", "node_modules")
PRELOAD = 40_000
VALUE = "x" * 100


def seeds(c):
    """Shards 0001 and 0002's primaries: they are in every topology here."""
    nodes = {n["id"]: n for n in c["nodes"]}
    return [addr(nodes[s["primary"]]) for s in c["shards"][:2]]


def cluster_client(c):
    return RedisCluster(startup_nodes=[ClusterNode(*ep.rsplit(":", 1)) for ep in seeds(c)], password=AUTH,
                        socket_timeout=5, cluster_error_retry_attempts=20)


class PyLoad(threading.Thread):
    """redis-py RedisCluster: py:<i> written then an earlier key read back;
    every 5th round {py<t>}a/b by MSET and MGET, every 7th a pipeline of a
    SET and an INCR of {py}counter. acked/tagged/counter count what was
    acknowledged; errors are what the client raised to the application."""

    def __init__(self, c):
        super().__init__(daemon=True)
        self.rc = cluster_client(c)
        self.acked = self.tagged = self.counter = 0
        self.errors = []
        self.stop = threading.Event()

    def round(self):
        i = self.acked
        self.rc.set(f"py:{i}", f"v{i}")
        self.acked += 1
        j = random.randrange(self.acked)
        got = self.rc.get(f"py:{j}")
        assert got == f"v{j}".encode(), f"py:{j} read {got!r}"
        if i % 5 == 0:
            t = self.tagged
            self.rc.execute_command("MSET", f"{{py{t}}}a", f"a{t}", f"{{py{t}}}b", f"b{t}")
            self.tagged += 1
            both = self.rc.execute_command("MGET", f"{{py{t}}}a", f"{{py{t}}}b")
            assert both == [f"a{t}".encode(), f"b{t}".encode()], f"{{py{t}}} read {both!r}"
        if i % 7 == 0:
            p = self.rc.pipeline()
            p.set("{py}last", i)
            p.incr("{py}counter")
            p.execute()
            self.counter += 1

    def run(self):
        while not self.stop.is_set() and len(self.errors) < 20:
            try:
                self.round()
            except Exception as e:  # noqa: BLE001 -- every failure is reported by the test
                self.errors.append(repr(e))
                time.sleep(0.05)

    def finish(self):
        self.stop.set()
        self.join(timeout=30)
        assert not self.is_alive(), "the redis-py load stops"
        self.rc.close()


class IoLoad:
    """reshard_load_ioredis.js in its own process."""

    def __init__(self, c):
        assert os.path.isfile(os.path.join(MODULES, "ioredis", "package.json")), \
            "ioredis is missing: run deploy/install-deps.sh"
        self.dir = tempfile.mkdtemp(prefix="reshard-io-")
        self.stop_file = os.path.join(self.dir, "stop")
        self.out = open(os.path.join(self.dir, "out"), "w+")
        self.proc = subprocess.Popen(["node", os.path.join(HERE, "reshard_load_ioredis.js"), self.stop_file, AUTH]
                                     + seeds(c), env=dict(os.environ, NODE_PATH=MODULES), stdout=self.out,
                                     stderr=subprocess.STDOUT)

    def finish(self):
        open(self.stop_file, "w").close()
        try:
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.out.seek(0)
        text = self.out.read()
        self.out.close()
        assert self.proc.returncode == 0, text
        return json.loads(text.strip().splitlines()[-1])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def preload(c):
    rc = cluster_client(c)
    for start in range(0, PRELOAD, 1000):
        p = rc.pipeline(transaction=False)
        for i in range(start, start + 1000):
            p.set(f"pre:{i}", VALUE)
        p.execute()
    rc.close()


def routing_agrees(c):
    """Every node's CLUSTER SLOTS maps each slot to the primary and replicas
    describe gives its shard (a shard may own several ranges now)."""
    nodes = {n["id"]: n for n in c["nodes"]}
    want = {}
    for s in c["shards"]:
        owner = (addr(nodes[s["primary"]]), frozenset(addr(nodes[r]) for r in s["replicas"]))
        for slot in slot_set(s["slots"]):
            want[slot] = owner
    for n in c["nodes"]:
        try:
            got = node_slots(client(n))
        except (redis.RedisError, OSError):
            return False
        seen = {}
        for (start, end), (primary, replicas, _) in got.items():
            for slot in range(start, end + 1):
                seen[slot] = (primary, frozenset(replicas))
        if seen != want:
            return False
    return True


def wait_routing(f, timeout=30):
    c = {}

    def agrees():
        c.clear()
        c.update(f.cluster(NAME))
        return routing_agrees(c)
    wait_until(agrees, timeout, 0.05, "every node's CLUSTER SLOTS agrees with describe")
    return c


def check_even(c, nshards):
    assert [s["id"] for s in c["shards"]] == [f"{i + 1:04d}" for i in range(nshards)], c["shards"]
    seen = []
    for s in c["shards"]:
        seen += sorted(slot_set(s["slots"]))
    assert sorted(seen) == list(range(SLOTS)), "the slots cover 0-16383 exactly once"
    sizes = [len(slot_set(s["slots"])) for s in c["shards"]]
    assert max(sizes) - min(sizes) <= 1, ("slots spread evenly", sizes)
    assert len(c["nodes"]) == 2 * nshards and all(n["status"] == "available" for n in c["nodes"]), c["nodes"]


def cli_check(c):
    ep = seeds(c)[0]
    host, port = ep.rsplit(":", 1)
    out = subprocess.run(["redis-cli", "-h", host, "-p", port, "-a", AUTH, "--no-auth-warning", "--cluster", "check",
                          ep], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[OK] All 16384 slots covered." in out.stdout, out.stdout


def keys_where_owned(c):
    """COUNTKEYSINSLOT of every slot on every node: keys only in the slots
    of the node's own shard. The number of keys per shard (its primary)."""
    owned = {s["id"]: slot_set(s["slots"]) for s in c["shards"]}
    per_shard = {}
    for n in c["nodes"]:
        p = client(n).pipeline(transaction=False)
        for slot in range(SLOTS):
            p.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot)
        counts = p.execute()
        stray = [slot for slot, k in enumerate(counts) if k and slot not in owned[n["shard"]]]
        assert not stray, f"{n['id']} (shard {n['shard']}) holds keys of slots it does not own: {stray[:10]}"
        if n["role"] == "primary":
            per_shard[n["shard"]] = sum(counts)
    return per_shard


def reshard(f, shards, during=None):
    """PATCH shards, `during(op)` while it runs, then the checks above."""
    status, doc = f.api("PATCH", f"/v1/clusters/{NAME}", {"shards": shards})
    assert status == 202 and doc["operation"]["kind"] == "reshard", (status, doc)
    op = doc["operation"]["id"]
    start = time.monotonic()
    if during:
        during(op)

    def finished():
        o = f.api("GET", f"/v1/operations/{op}")[1]
        assert o["status"] in ("pending", "running", "succeeded"), o
        return o["status"] == "succeeded"
    wait_until(finished, 180, 0.1, f"resharding to {shards} shards done")
    o = f.api("GET", f"/v1/operations/{op}")[1]
    moves = o["moves"]
    assert moves["done"] == moves["total"] > 0 and moves["slots_moved"] == moves["slots_total"] > 0, o
    print(f"to {shards} shards: {moves['slots_moved']} slots, {moves['keys_moved']} keys in {moves['total']} "
          f"moves, {time.monotonic() - start:.1f} s")
    c = f.wait_status(NAME, "available", timeout=60)
    check_even(c, shards)
    c = wait_routing(f, 30)
    cli_check(c)
    per_shard = keys_where_owned(c)
    print(f"keys per shard: {per_shard}")
    assert all(k > 0 for k in per_shard.values()), per_shard
    return c


def kill_primary_mid_move(f, side):
    """While a move imports, SIGKILL of the primary of the shard it fills
    (side "to") or empties (side "from")."""
    killed = {}

    def during(op):
        def importing():
            cur = f.api("GET", f"/v1/operations/{op}")[1].get("moves", {}) or {}
            cur = cur.get("current") or {}
            if cur.get("phase") == "importing":  # IMPORT accepted, the hand-off not done
                killed["shard"] = cur[side]
                return True
            return False
        wait_until(importing, 60, 0.01, "a slot move importing")
        c = f.cluster(NAME)
        victim = next(s for s in c["shards"] if s["id"] == killed["shard"])["primary"]
        os.kill(f.agent_nodes()[victim]["pid"], signal.SIGKILL)
        killed["node"] = victim
        print(f"killed {victim}, primary of shard {killed['shard']}, during a move {side} it")
    return killed, during


def check_failed_over(f, killed, cancelled_before):
    """The killed primary's shard failed over and the move was cancelled
    (and started again: the operation succeeded)."""
    events = f.api("GET", f"/v1/events?cluster={NAME}")[1]["events"]
    assert any(e["type"] == "failover_started" and e["node"] == killed["node"] for e in events), events
    cancelled = sum(e["type"] == "slot_move_cancelled" for e in events)
    assert cancelled > cancelled_before, [e["type"] for e in events]
    return cancelled


def kill_controller_mid_move(f):
    """While a move imports, SIGKILL of the controller, then a new one on
    the same database: the operation goes on from the step it stored."""
    def during(op):
        wait_until(lambda: ((f.api("GET", f"/v1/operations/{op}")[1].get("moves") or {}).get("current") or {})
                   .get("phase") == "importing", 60, 0.01, "a slot move importing")
        f.controller.proc.kill()
        f.controller.proc.wait(timeout=10)
        f.start_controller()
        wait_until(lambda: all(h["status"] == "up" for h in f.hosts()), 10, 0.05, "hosts up again")
        print("killed the controller during a move; a new one took over")
    return during


def controller_metric(f, name):
    status, text = f.api("GET", "/metrics")
    assert status == 200, (status, text)
    m = re.search(rf'^{name}\{{cluster="{NAME}"\}} (\d+)$', text, re.M)
    return int(m.group(1)) if m else None


def check_acked(c, py, io):
    rc = cluster_client(c)
    try:
        for start in range(0, max(py.acked, io["acked"]), 1000):
            p = rc.pipeline(transaction=False)
            idx = range(start, min(start + 1000, max(py.acked, io["acked"])))
            for i in idx:
                if i < py.acked:
                    p.get(f"py:{i}")
                if i < io["acked"]:
                    p.get(f"io:{i}")
            got = iter(p.execute())
            for i in idx:
                if i < py.acked:
                    assert next(got) == f"v{i}".encode(), f"py:{i} lost"
                if i < io["acked"]:
                    assert next(got) == f"v{i}".encode(), f"io:{i} lost"
        for prefix, n in (("py", py.tagged), ("io", io["tagged"])):
            for t in range(n):
                assert rc.execute_command("MGET", f"{{{prefix}{t}}}a", f"{{{prefix}{t}}}b") == \
                    [f"a{t}".encode(), f"b{t}".encode()], f"{{{prefix}{t}}} lost"
        assert int(rc.get("{py}counter") or 0) >= py.counter and int(rc.get("{io}counter") or 0) >= io["counter"]
        p = rc.pipeline(transaction=False)
        for i in range(PRELOAD):
            p.get(f"pre:{i}")
        assert all(v == VALUE.encode() for v in p.execute()), "a preloaded key is lost"
    finally:
        rc.close()


def test_reshard_3_5_2_under_load(suite):
    with Fleet(suite.args.cachenode, agent_memory_mb=512) as f:
        status, doc = f.api("POST", "/v1/clusters", {"name": NAME, "engine": "redis", "cluster_mode": True,
                                                     "shards": 3, "replicas": 1, "node_memory_mb": 64,
                                                     "auth_token": AUTH})
        assert status == 202, (status, doc)
        f.wait_status(NAME, "available", timeout=60)
        c = wait_routing(f)
        preload(c)
        py, io = PyLoad(c), IoLoad(c)
        py.start()
        try:
            wait_until(lambda: py.acked > 100, 30, 0.05, "the redis-py load runs")
            killed, during = kill_primary_mid_move(f, "to")
            c = reshard(f, 5, during)
            cancelled = check_failed_over(f, killed, 0)
            moved = controller_metric(f, "cachefleet_slots_moved_total")
            assert moved is not None and moved > 0, moved
            c = reshard(f, 2, kill_controller_mid_move(f))
            assert controller_metric(f, "cachefleet_slots_moved_total") > moved
            killed, during = kill_primary_mid_move(f, "from")
            c = reshard(f, 3, during)
            check_failed_over(f, killed, cancelled)
            before = py.acked
            wait_until(lambda: py.acked > before + 100, 30, 0.05, "the redis-py load goes on after resharding")
        finally:
            py.finish()
            io_result = io.finish() if io.proc.poll() is None or io.proc.returncode == 0 else None
            io.kill()
        print(f"redis-py: {py.acked} writes, {py.tagged} MSETs, {py.counter} pipelines; ioredis: {io_result}")
        assert py.errors == [], py.errors
        assert io_result is not None and io_result["errors"] == [], io_result
        assert io_result["acked"] > 100, io_result
        check_acked(c, py, io_result)


if __name__ == "__main__":
    sys.exit(run_with_cluster_mode("test_controller_resharding", [test_reshard_3_5_2_under_load]))
