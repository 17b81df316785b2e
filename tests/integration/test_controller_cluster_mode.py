"""test_controller_cluster_mode: cluster mode through the controller, at the
process level.

A Fleet (test_controller.py: a controller and three agents on 127.0.0.2/.3/.4
in zones az-a/b/c) creates a cluster-mode cluster of 3 shards x (1 primary
+ 1 replica). Describe must spread the slots evenly (0-16383, each once),
put each shard's nodes on distinct hosts and zones and the primaries on
distinct hosts; every node's CLUSTER SLOTS and CLUSTER SHARDS must say what
describe says; `redis-cli --cluster check` passes and redis-py's
RedisCluster writes and reads 1000 keys. Then one shard's primary is killed
(by its pid from the agent's GET /v1/nodes): that shard fails over (a new
primary, a higher topology epoch, every node routing to it) while the other
shards keep their primaries and processes, and the client keeps working.
A planned failover of another shard, a replica added per shard (a new
epoch) and resharding calls that change nothing follow; last the cluster
is deleted and its processes are gone. A host lost with a primary and
another shard's replica heals shard by shard; a restarted controller keeps
the topology and its epoch. The api/examples scripts for cluster
mode run against a cluster of their own.

Every wait polls with a deadline; processes are killed by pid at the end
(Fleet.cleanup). Skipped, with the reason, only when cachenode has no
cluster mode (CLUSTER INFO on a node started with --cluster-enabled yes)."""
import hashlib
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import Suite, free_port, wait_until  # noqa: E402
from test_controller import Fleet  # noqa: E402
from fleetutil import AGENT_TOKEN, USER_TOKEN, http, live_cachenodes  # noqa: E402

import redis  # noqa: E402
from redis.cluster import ClusterNode, RedisCluster  # noqa: E402
from redis.crc import key_slot  # noqa: E402

# redis-py logs every MOVED it follows (with a traceback); after a failover
# those redirections are what the test expects, not news
logging.getLogger("redis.cluster").addHandler(logging.NullHandler())

SLOTS = 16384
NAME = "cm"
EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "api", "examples")
AUTH = "cluster-mode-secret-0123456789"


def cluster_mode_missing(cachenode):
    """None when cachenode serves CLUSTER INFO with --cluster-enabled yes,
    else why not (the skip reason)."""
    port = free_port()
    proc = subprocess.Popen([cachenode, "--port", str(port), "--cluster-enabled", "yes", "--node-id", "probe"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def answers():
            if proc.poll() is not None:
                return True
            out = subprocess.run(["redis-cli", "-p", str(port), "CLUSTER", "INFO"], capture_output=True, text=True,
                                 timeout=10)
            return "cluster_state" in out.stdout or "ERR" in out.stdout
        wait_until(answers, 10, 0.05, "cachenode --cluster-enabled yes answers")
        if proc.poll() is not None:
            return "cachenode refuses --cluster-enabled yes: " + proc.stderr.read().decode(errors="replace")[:200]
        out = subprocess.run(["redis-cli", "-p", str(port), "CLUSTER", "INFO"], capture_output=True, text=True,
                             timeout=10)
        return None if "cluster_state" in out.stdout else "cachenode has no CLUSTER INFO: " + out.stdout[:200]
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


def slot_set(text):
    """The slots of a text such as "0-5460,5462" ("-": none)."""
    out = set()
    if text == "-":
        return out
    for part in text.split(","):
        a, _, b = part.partition("-")
        out |= set(range(int(a), int(b or a) + 1))
    return out


def addr(node):
    return f"{node['address']}:{node['port']}"


def client(node):
    return redis.Redis(host=node["address"], port=node["port"], password=AUTH, socket_timeout=5)


def expected_routing(c):
    """{slot range text: (primary "host:port", {replica "host:port"})} from describe."""
    nodes = {n["id"]: n for n in c["nodes"]}
    return {s["id"]: (slot_set(s["slots"]), addr(nodes[s["primary"]]), {addr(nodes[r]) for r in s["replicas"]})
            for s in c["shards"]}


def node_slots(r):
    """CLUSTER SLOTS as {(start, end): (primary "host:port", {replicas}, primary id)}."""
    out = {}
    for entry in r.execute_command("CLUSTER", "SLOTS"):
        start, end, primary, replicas = entry[0], entry[1], entry[2], entry[3:]
        out[(start, end)] = (f"{primary[0].decode()}:{primary[1]}", {f"{x[0].decode()}:{x[1]}" for x in replicas},
                             primary[2].decode())
    return out


def pairs(items):
    """A RESP2 flat key/value list as a dict with str keys."""
    return {items[i].decode(): items[i + 1] for i in range(0, len(items), 2)}


def node_shards(r):
    """CLUSTER SHARDS as a list of (slot set, primary "host:port", {replicas})."""
    out = []
    for shard in r.execute_command("CLUSTER", "SHARDS"):
        s = pairs(shard)
        ranges = s["slots"]
        slots = set()
        for i in range(0, len(ranges), 2):
            slots |= set(range(int(ranges[i]), int(ranges[i + 1]) + 1))
        primary, replicas = None, set()
        for n in s["nodes"]:
            n = pairs(n)
            where = f"{n['ip'].decode()}:{n['port']}"
            if n["role"] == b"master":
                primary = where
            else:
                replicas.add(where)
        out.append((slots, primary, replicas))
    return out


def routing_agrees(c):
    """True when every node's CLUSTER SLOTS and SHARDS say what describe says."""
    want = expected_routing(c)
    want_slots = sorted((min(s), max(s), p, frozenset(r)) for s, p, r in want.values())
    want_shards = sorted((frozenset(s), p, frozenset(r)) for s, p, r in want.values())
    ids = {addr(n): sha1(n["id"]) for n in c["nodes"]}
    for n in c["nodes"]:
        try:
            r = client(n)
            got = node_slots(r)
            shards = node_shards(r)
        except (redis.RedisError, OSError):
            return False
        slots = sorted((a, b, p, frozenset(rs)) for (a, b), (p, rs, _) in got.items())
        if slots != want_slots or any(ids[p] != pid for p, _, pid in got.values()):
            return False
        if sorted((frozenset(s), p, frozenset(r)) for s, p, r in shards) != want_shards:
            return False
    return True


def wait_routing(f, timeout=20):
    c = {}

    def agrees():
        c.update(f.cluster(NAME))
        return routing_agrees(c)
    wait_until(agrees, timeout, 0.05, "every node's CLUSTER SLOTS/SHARDS agree with describe")
    return f.cluster(NAME)


def check_describe(c, replicas=1):
    assert c["cluster_mode"] is True and c["status"] == "available", c
    assert [s["id"] for s in c["shards"]] == ["0001", "0002", "0003"], c["shards"]
    assert [s["slots"] for s in c["shards"]] == ["0-5461", "5462-10922", "10923-16383"], c["shards"]
    seen = []
    for s in c["shards"]:
        seen += sorted(slot_set(s["slots"]))
    assert seen == list(range(SLOTS)), "the slots cover 0-16383 exactly once"
    nodes = {n["id"]: n for n in c["nodes"]}
    for s in c["shards"]:
        members = [nodes[s["primary"]]] + [nodes[r] for r in s["replicas"]]
        assert len(members) == 1 + replicas, s
        assert len({n["host"] for n in members}) == len(members), ("a shard's nodes on distinct hosts", members)
        assert len({n["az"] for n in members}) == len(members), ("and distinct zones", members)
        assert all(n["shard"] == s["id"] and n["status"] == "available" for n in members), members
    assert c["endpoints"]["configuration"] == [addr(nodes[s["primary"]]) for s in c["shards"]], c["endpoints"]
    assert "primary" not in c["endpoints"], c["endpoints"]
    assert c["topology_epoch"] >= 1, c


def cluster_client(c):
    seeds = [ClusterNode(*ep.rsplit(":", 1)) for ep in c["endpoints"]["configuration"]]
    return RedisCluster(startup_nodes=seeds, password=AUTH, socket_timeout=5, cluster_error_retry_attempts=10)


def wait_replicated(c):
    """WAIT on every shard's primary: the replicas have every write."""
    nodes = {n["id"]: n for n in c["nodes"]}
    for s in c["shards"]:
        assert client(nodes[s["primary"]]).wait(len(s["replicas"]), 5000) == len(s["replicas"]), s


def read_all(rc, n, prefix, timeout=20):
    """Reads every key through the cluster client until all are there (a
    client redirected by a failover retries)."""
    def all_there():
        try:
            return all(rc.get(f"{prefix}{i}") == f"v{i}".encode() for i in range(n))
        except (redis.RedisError, OSError):
            return False
    wait_until(all_there, timeout, 0.1, f"{n} keys read back through RedisCluster")


# ---- tests -------------------------------------------------------------------


def create_and_check(f):
    status, doc = f.api("POST", "/v1/clusters", {"name": NAME, "engine": "redis", "cluster_mode": True, "shards": 3,
                                                 "replicas": 1, "node_memory_mb": 32, "auth_token": AUTH})
    assert status == 202 and doc["operation"]["kind"] == "create", (status, doc)
    c = f.wait_status(NAME, "available", timeout=60)
    check_describe(c)
    primaries = {n["host"] for n in c["nodes"] if n["role"] == "primary"}
    assert len(primaries) == 3, ("primaries spread over the hosts", c["nodes"])
    return wait_routing(f)


def cli_check_and_client(c):
    ep = c["endpoints"]["configuration"][0]
    host, port = ep.rsplit(":", 1)
    out = subprocess.run(["redis-cli", "-h", host, "-p", port, "-a", AUTH, "--no-auth-warning", "--cluster", "check",
                          ep], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[OK] All 16384 slots covered." in out.stdout, out.stdout
    done = subprocess.run(["redis-cli", "-c", "-h", host, "-p", port, "-a", AUTH, "--no-auth-warning", "set", "cli-key",
                           "x"], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "OK", done.stdout + done.stderr
    rc = cluster_client(c)
    for i in range(1000):
        rc.set(f"k{i}", f"v{i}")
    read_all(rc, 1000, "k")
    wait_replicated(c)
    return rc


def kill_primary_and_fail_over(f, c, rc, shard="0002"):
    nodes = {n["id"]: n for n in c["nodes"]}
    lost = next(s for s in c["shards"] if s["id"] == shard)["primary"]
    others = {s["id"]: s["primary"] for s in c["shards"] if s["id"] != shard}
    agent_view = f.agent_nodes()
    pid = agent_view[lost]["pid"]
    assert agent_view[lost]["topology_epoch"] == c["topology_epoch"], agent_view[lost]
    untouched = {nid: agent_view[nid]["pid"] for nid, n in nodes.items() if n["shard"] != shard}
    epoch = c["topology_epoch"]
    start = time.monotonic()
    os.kill(pid, signal.SIGKILL)

    def failed_over():
        d = f.cluster(NAME)
        s = next(x for x in d["shards"] if x["id"] == shard)
        return s["primary"] not in (None, lost) and d["topology_epoch"] > epoch
    wait_until(failed_over, 20, 0.02, f"shard {shard} failed over")
    print(f"kill -9 of shard {shard}'s primary to a new primary and epoch {epoch + 1}+: "
          f"{(time.monotonic() - start) * 1000:.0f} ms")
    d = f.cluster(NAME)
    assert {s["id"]: s["primary"] for s in d["shards"] if s["id"] != shard} == others, d["shards"]
    d = wait_routing(f, 30)
    new = next(x for x in d["shards"] if x["id"] == shard)["primary"]
    assert new != lost, d["shards"]
    read_all(rc, 1000, "k")
    for i in range(100):
        rc.set(f"after{i}", f"v{i}")
    read_all(rc, 100, "after")
    view = f.agent_nodes()
    assert {nid: view[nid]["pid"] for nid in untouched} == untouched, "the other shards' processes are untouched"
    d = f.wait_status(NAME, "available", timeout=30)  # the old primary is back as a replica
    assert d["topology_epoch"] > epoch
    ops = [e for e in f.api("GET", f"/v1/events?cluster={NAME}")[1]["events"] if e["type"] == "failover_started"]
    assert len(ops) == 1 and ops[0]["node"] == lost, ops
    return wait_routing(f)


class ShardWriter(threading.Thread):
    """SETs keys of one shard's slots in a loop through its own cluster
    client, until stopped; keeps what was acknowledged and any error."""

    def __init__(self, c, shard):
        super().__init__(daemon=True)
        slots = slot_set(next(s for s in c["shards"] if s["id"] == shard)["slots"])
        self.keys = [k for k in (f"pf:{i}" for i in range(5000)) if key_slot(k.encode()) in slots][:200]
        self.client = cluster_client(c)
        self.acked, self.errors = {}, []
        self.slowest = 0.0
        self.writes = 0  # acknowledged SETs (acked keeps the last value of each of the 200 keys)
        self.stop = threading.Event()

    def run(self):
        n = 0
        while not self.stop.is_set() and not self.errors:
            key = self.keys[n % len(self.keys)]
            began = time.monotonic()
            try:
                self.client.set(key, n)
                self.acked[key] = str(n)
                self.writes += 1
                self.slowest = max(self.slowest, time.monotonic() - began)
            except Exception as e:  # noqa: BLE001 - any error is the finding
                self.errors.append(repr(e))
            n += 1


def planned_failover(f, c, rc, shard="0003"):
    """The shard's writes wait during the switch and then follow MOVED to the
    new primary: a client writing to it all along sees no error (before
    CLIENT PAUSE, NOREPLICAS errors) and every acknowledged write stays."""
    old = next(s for s in c["shards"] if s["id"] == shard)["primary"]
    epoch = c["topology_epoch"]
    writer = ShardWriter(c, shard)
    writer.start()
    wait_until(lambda: writer.writes > 20 or writer.errors, 10, 0.01, "the writer running")
    status, doc = f.api("POST", f"/v1/clusters/{NAME}/failover", {"shard": shard})
    assert status == 202 and doc["operation"]["kind"] == "planned_failover", (status, doc)
    assert doc["operation"]["shard"] == shard, doc["operation"]
    op = doc["operation"]["id"]
    try:
        wait_until(lambda: f.api("GET", f"/v1/operations/{op}")[1]["status"] == "succeeded", 30, 0.05,
                   "planned failover done")
        done = writer.writes
        wait_until(lambda: writer.writes > done + 20 or writer.errors, 20, 0.01, "writes after the failover")
    finally:
        writer.stop.set()
        writer.join(10)
    assert not writer.errors, writer.errors
    print(f"planned failover under a writer: {writer.writes} writes, slowest {writer.slowest:.3f} s")
    for key, value in writer.acked.items():
        assert rc.get(key) == value.encode(), (key, value)
    d = f.wait_status(NAME, "available")
    assert next(s for s in d["shards"] if s["id"] == shard)["primary"] != old, d["shards"]
    assert d["topology_epoch"] > epoch
    d = wait_routing(f)
    read_all(rc, 1000, "k")
    status, doc = f.api("POST", f"/v1/clusters/{NAME}/failover", {"shard": "0009"})
    assert status == 404 and doc["error"]["code"] == "ShardNotFound", (status, doc)
    return d


def more_replicas_and_refusals(f, c):
    epoch = c["topology_epoch"]
    status, doc = f.api("PATCH", f"/v1/clusters/{NAME}", {"replicas": 2})
    assert status == 202 and doc["operation"]["kind"] == "add_replicas", (status, doc)
    d = f.wait_status(NAME, "available", timeout=60)
    check_describe(d, replicas=2)
    assert d["topology_epoch"] > epoch, d
    d = wait_routing(f)
    # an even cluster: the same shard count and a rebalance change nothing
    for body, path, method in (({"shards": 3}, f"/v1/clusters/{NAME}", "PATCH"),
                               (None, f"/v1/clusters/{NAME}/rebalance", "POST")):
        status, doc = f.api(method, path, body)
        assert status == 200 and doc["operation"] is None, (path, status, doc)
    assert f.cluster(NAME)["topology_epoch"] == d["topology_epoch"]
    return d


def delete_and_check(f, nodes=9):
    pids = {n["pid"] for n in f.agent_nodes().values()}
    assert len(live_cachenodes(pids)) == nodes, pids
    status, doc = f.api("DELETE", f"/v1/clusters/{NAME}")
    assert status == 202, (status, doc)
    f.wait_gone(NAME)
    wait_until(lambda: not live_cachenodes(pids), 15, 0.02, "every node process stopped")
    assert f.agent_nodes() == {}


def metrics_by_shard(f, c):
    """Every agent's cachefleet_node_up series carry each node's shard and role."""
    want = {(n["id"], n["shard"], n["role"]) for n in c["nodes"]}
    got = set()
    for a in f.agents:
        status, text = http("GET", f"http://{a.address}:{a.port}/metrics", token=AGENT_TOKEN)
        assert status == 200, status
        for m in re.finditer(r'^cachefleet_node_up\{([^}]*)\} 1$', text, re.M):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            got.add((labels["node"], labels["shard"], labels["role"]))
    assert got == want, (got, want)


def test_cluster_mode_lifecycle(suite):
    with Fleet(suite.args.cachenode) as f:
        c = create_and_check(f)
        metrics_by_shard(f, c)
        rc = cli_check_and_client(c)
        c = kill_primary_and_fail_over(f, c, rc)
        wait_until(lambda: metrics_by_shard(f, f.cluster(NAME)) is None, 10, 0.1, "metrics show the new roles")
        c = planned_failover(f, c, rc)
        more_replicas_and_refusals(f, c)
        rc.close()
        delete_and_check(f)
        # the same name again: new nodes with the old ids start from epoch 1,
        # whatever topology the old ones left in their directories
        c = create_and_check(f)
        assert c["topology_epoch"] == 1, c
        delete_and_check(f, nodes=6)
        for text in [f.controller.log_text()] + [a.log_text() for a in f.agents]:
            assert AUTH not in text, "the auth token is never logged"


def test_host_lost(suite):
    """A host with one shard's primary and another shard's replica goes
    silent and its nodes die: the first shard fails over, both lost nodes
    are replaced on the hosts left (a spare joins), each shard stays on
    distinct hosts, every node routes by the newest topology, and no
    acknowledged write is lost."""
    with Fleet(suite.args.cachenode) as f:
        c = create_and_check(f)
        spare = f.start_agent("h4", "127.0.0.5", "az-a")
        wait_until(lambda: any(h["id"] == "h4" and h["status"] == "up" for h in f.hosts()), 10, 0.02, "h4 up")
        rc = cluster_client(c)
        for i in range(300):
            rc.set(f"k{i}", f"v{i}")
        wait_replicated(c)
        nodes = {n["id"]: n for n in c["nodes"]}
        lost_host = nodes[c["shards"][0]["primary"]]["host"]
        lost = {nid for nid, n in nodes.items() if n["host"] == lost_host}
        assert len(lost) == 2, ("a primary and another shard's replica on one host", c["nodes"])
        view = f.agent_nodes()
        pids = [view[nid]["pid"] for nid in lost]
        agent = next(a for a in f.agents if a.host_id == lost_host)
        f.known_pids.update(f.node_pids())  # its nodes are still killed at cleanup
        agent.proc.kill()
        agent.proc.wait(timeout=10)
        f.agents.remove(agent)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)

        def healed():
            d = f.cluster(NAME)
            return d["status"] == "available" and len(d["nodes"]) == 6 and not lost & {n["id"] for n in d["nodes"]} \
                and all(n["status"] == "available" for n in d["nodes"])
        wait_until(healed, 40, 0.05, "both lost nodes replaced, the cluster available")
        d = f.cluster(NAME)
        check_describe(d)
        assert lost_host not in {n["host"] for n in d["nodes"]}, d["nodes"]
        assert spare.host_id in {n["host"] for n in d["nodes"]}, d["nodes"]
        assert d["topology_epoch"] > c["topology_epoch"] + 1, (c["topology_epoch"], d["topology_epoch"])
        d = wait_routing(f, 30)
        # a new client from the configuration endpoints as they are now: the
        # old one's seed list holds the lost host, and this redis-py fails to
        # re-read the slots when a seed is gone ("cannot pickle '_thread.lock'")
        rc.close()
        rc = cluster_client(d)
        read_all(rc, 300, "k")
        rc.close()
        types = [e["type"] for e in f.api("GET", f"/v1/events?cluster={NAME}")[1]["events"]]
        assert types.count("node_replacing") == 2 and "failover_started" in types, types


def test_controller_restart_keeps_topology(suite):
    """A controller killed with SIGKILL comes back with the same topology and
    epoch, relaunches nothing, and the next change takes the next epoch."""
    with Fleet(suite.args.cachenode) as f:
        c = create_and_check(f)
        pids = {i: n["pid"] for i, n in f.agent_nodes().items()}
        f.controller.proc.kill()
        f.controller.proc.wait(timeout=10)
        f.start_controller()
        wait_until(lambda: all(h["status"] == "up" for h in f.hosts()), 10, 0.05, "hosts up again")
        after = f.cluster(NAME)
        assert after["topology_epoch"] == c["topology_epoch"] and after["shards"] == c["shards"], after
        assert {i: n["pid"] for i, n in f.agent_nodes().items()} == pids
        status, doc = f.api("POST", f"/v1/clusters/{NAME}/failover", {"shard": "0001"})
        assert status == 202, (status, doc)
        wait_until(lambda: f.cluster(NAME)["shards"][0]["primary"] != c["shards"][0]["primary"], 20, 0.05,
                   "shard 0001 failed over")
        d = f.wait_status(NAME, "available")
        assert d["topology_epoch"] == c["topology_epoch"] + 1, (c["topology_epoch"], d["topology_epoch"])
        wait_routing(f)


def test_refusals(suite):
    with Fleet(suite.args.cachenode) as f:
        for body in ({"name": "x", "cluster_mode": True, "shards": 501},
                     {"name": "x", "cluster_mode": True, "shards": 0},
                     {"name": "x", "shards": 3}):
            status, doc = f.api("POST", "/v1/clusters", body)
            assert status == 400 and doc["error"]["code"] == "InvalidParameterValue", (body, status, doc)
        # 3 hosts cannot hold shards of 4 distinct hosts: refused, nothing made
        status, doc = f.api("POST", "/v1/clusters", {"name": "big", "cluster_mode": True, "shards": 2, "replicas": 3})
        assert status == 422 and doc["error"]["code"] == "InsufficientHosts", (status, doc)
        # 256 MB per agent: 6 shards x 2 nodes x 128 MB do not fit
        status, doc = f.api("POST", "/v1/clusters", {"name": "big", "cluster_mode": True, "shards": 6, "replicas": 1,
                                                     "node_memory_mb": 128})
        assert status == 507 and doc["error"]["code"] == "InsufficientCapacity", (status, doc)
        assert f.api("GET", "/v1/clusters")[1]["clusters"] == []
        assert all(h["nodes"] == [] for h in f.hosts())
        # a cluster-mode-off cluster keeps its primary/reader endpoints and one shard
        f.create("plain", replicas=1)
        c = f.wait_status("plain", "available")
        assert c["cluster_mode"] is False and c["endpoints"]["primary"] and "configuration" not in c["endpoints"], c
        assert [s["slots"] for s in c["shards"]] == ["0-16383"] and c["topology_epoch"] == 0, c
        status, doc = f.api("POST", "/v1/clusters/plain/rebalance")
        assert status == 400 and doc["error"]["code"] == "InvalidParameterValue", (status, doc)
        assert all(n.get("cluster_mode") is False for n in f.agent_nodes().values())


def example(f, script, *args):
    env = dict(os.environ, CACHEFLEET_URL=f.url(""), CACHEFLEET_TOKEN=USER_TOKEN)
    out = subprocess.run(["bash", os.path.join(EXAMPLES, script)] + list(args), env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, (script, out.stdout + out.stderr)
    return out.stdout


def test_example_scripts(suite):
    """api/examples/create-cluster-mode.sh, failover.sh of shard 0002,
    reshard.sh to 4 shards and a rebalance that has nothing to move, and
    redis-cli -c on the configuration endpoint the script printed."""
    with Fleet(suite.args.cachenode) as f:
        text = example(f, "create-cluster-mode.sh", "ex", "3")
        assert "shard 0003 slots 10923-16383" in text and "topology epoch: 1" in text, text
        ep = text.split("configuration: ")[1].split()[0]
        host, port = ep.rsplit(":", 1)
        for cmd, want in ((["set", "{user1}:name", "ada"], "OK"), (["get", "{user1}:name"], "ada")):
            out = subprocess.run(["redis-cli", "-c", "-h", host, "-p", port] + cmd, capture_output=True, text=True,
                                 timeout=30)
            assert out.stdout.strip() == want, out.stdout + out.stderr
        assert "primary: 127.0.0." in example(f, "failover.sh", "ex", "0002")
        text = example(f, "reshard.sh", "ex", "4")
        assert "shard 0004 slots " in text and "topology epoch: " in text, text
        assert "nothing to move" in example(f, "reshard.sh", "ex", "rebalance")
        out = subprocess.run(["redis-cli", "-c", "-h", host, "-p", port, "get", "{user1}:name"], capture_output=True,
                             text=True, timeout=30)
        assert out.stdout.strip() == "ada", out.stdout + out.stderr
        assert "deleted ex" in example(f, "delete.sh", "ex")


def run_with_cluster_mode(name, tests):
    """Runs the tests, or skips them (exit 0, the reason printed) when
    cachenode has no cluster mode. The exit code."""
    suite = Suite()
    why = cluster_mode_missing(suite.binary)
    if why:
        print(f"SKIP {name}: {why}")
        return 0
    return suite.run(tests)


if __name__ == "__main__":
    sys.exit(run_with_cluster_mode("test_controller_cluster_mode",
                                   [test_refusals, test_cluster_mode_lifecycle, test_host_lost,
                                    test_controller_restart_keeps_topology, test_example_scripts]))
