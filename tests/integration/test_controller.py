"""test_controller: cachefleet-controller at the process level.

Each test starts a Fleet: one controller (its own database dir and token
files) and three agents on 127.0.0.2, 127.0.0.3, 127.0.0.4 in zones az-a,
az-b, az-c, on free ports. Everything waits on deadlines, never on fixed
sleeps, and every process is killed by pid at the end: the controller, the
agents, and the cachenode processes the agents launched (which outlive
agents by design; their pids come from the API and from DATA/nodes/*/pid).

Other test_controller_*.py files and tests/bench/create-cluster.py import
Fleet from here."""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import Suite, free_port, wait_until  # noqa: E402
from fleetutil import (AGENT_TOKEN, USER_TOKEN, FleetApi, Process, agent_argv, controller_argv, http,  # noqa: E402,F401
                       is_cachenode, kill_cachenodes, live_cachenodes, pid_files, sanitizer_lines, write_token)

import redis  # noqa: E402

CLUSTER_AUTH = "cluster-auth-secret-0123456789"
ZONES = [("h1", "127.0.0.2", "az-a"), ("h2", "127.0.0.3", "az-b"), ("h3", "127.0.0.4", "az-c")]


class Fleet(FleetApi):
    """A controller and three agents in three zones."""

    def __init__(self, cachenode, agent_memory_mb=256, agents=ZONES):
        self.bindir = os.path.dirname(os.path.abspath(cachenode))
        self.cachenode = os.path.abspath(cachenode)
        self.root = tempfile.mkdtemp(prefix="controller-test-")
        self.user_token_file = os.path.join(self.root, "user.token")
        self.agent_token_file = os.path.join(self.root, "agent.token")
        write_token(self.user_token_file, USER_TOKEN)
        write_token(self.agent_token_file, AGENT_TOKEN)
        self.db = os.path.join(self.root, "controller.db")
        self.port = None
        self.controller = None
        self.agents = []
        self.agent_specs = agents
        self.agent_memory_mb = agent_memory_mb
        self.known_pids = set()
        self.port_bases = {}

    # ---- processes ----

    def start_controller(self):
        for _ in range(5):
            self.port = self.port or free_port()
            self.controller = Process(self.root, "controller", controller_argv(
                self.bindir, f"127.0.0.1:{self.port}", self.db, self.user_token_file, self.agent_token_file, 3000,
                *self.controller_options(), "--loglevel", "verbose")).start()
            try:
                wait_until(self._controller_healthy, 10, what="controller /healthz")
                return
            except AssertionError:
                if self.controller.alive():
                    raise
                self.lost_port_race()
        raise AssertionError("controller did not start:\n" + self.controller.log_text()[-3000:])

    def controller_options(self):
        """More controller options (a subclass's)."""
        return ()

    def lost_port_race(self):
        self.port = None

    def _controller_healthy(self):
        if not self.controller.alive():
            raise AssertionError("controller exited")
        return http("GET", self.url("/healthz"))[0] == 200

    def start_agent(self, host_id, address, az):
        data = os.path.join(self.root, host_id)
        for _ in range(5):
            port = free_port()
            # a restarted agent keeps its node port range: it adopts its nodes
            base = self.port_bases.setdefault(host_id, random.randrange(20000, 40000))
            agent = Process(self.root, "agent-" + host_id, agent_argv(
                self.bindir, f"{address}:{port}", f"http://127.0.0.1:{self.port}", host_id, az, data,
                self.agent_token_file, (base, base + 30), self.agent_memory_mb, self.cachenode)).start()
            agent.host_id, agent.address, agent.az, agent.port, agent.data = host_id, address, az, port, data
            try:
                wait_until(lambda: agent.alive() and http("GET", f"http://{address}:{port}/healthz")[0] == 200,
                           10, what=f"agent {host_id}")
                self.agents.append(agent)
                return agent
            except AssertionError:
                if agent.alive():
                    agent.terminate()
                    raise
        raise AssertionError(f"agent {host_id} did not start")

    def start(self):
        self.start_controller()
        for host_id, address, az in self.agent_specs:
            self.start_agent(host_id, address, az)
        want = {h for h, _, _ in self.agent_specs}
        wait_until(lambda: {h["id"] for h in self.hosts() if h["status"] == "up"} >= want, 10, 0.02, "hosts up")
        return self

    def node_pids(self):
        return self.known_pids | pid_files(a.data for a in self.agents)

    def sanitizer_reports(self):
        out = []
        for p in [self.controller] + self.agents:
            if p:
                out += sanitizer_lines(p.log_text())
        return out

    def cleanup(self):
        if self.controller:
            self.controller.terminate()
        for a in self.agents:
            a.terminate()
        kill_cachenodes(self.node_pids())
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except Exception:
            self.dump_logs()
            self.cleanup()
            raise

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump_logs()
        reports = self.sanitizer_reports() if exc_type is None else []
        if self.controller and exc_type is None and self.controller.alive():
            rc = self.controller.terminate()
            if rc != 0:
                reports.append(f"controller exited with {rc} on SIGTERM")
            reports += sanitizer_lines(self.controller.log_text())
        self.cleanup()
        if reports:
            raise AssertionError("problems at shutdown:\n" + "\n".join(reports[:20]))
        return False

    def dump_logs(self):
        for p in [self.controller] + self.agents:
            if p:
                print(f"--- {p.name} log (tail):\n" + "\n".join(p.log_text().splitlines()[-40:]))

    # ---- API ----

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def api(self, method, path, body=None, token=USER_TOKEN, **kw):
        status, doc = http(method, self.url(path), body, token=token, **kw)
        if isinstance(doc, dict):
            cluster = doc.get("cluster") if isinstance(doc.get("cluster"), dict) else {}
            for n in doc.get("nodes", []) + cluster.get("nodes", []):
                if isinstance(n, dict) and n.get("pid"):
                    self.known_pids.add(n["pid"])
        return status, doc

    def create(self, name, **kw):
        body = {"name": name, "engine": "redis", "replicas": 2, "node_memory_mb": 32}
        body.update(kw)
        status, doc = self.api("POST", "/v1/clusters", body)
        assert status == 202, (status, doc)
        return doc

    def wait_gone(self, name, timeout=30):
        wait_until(lambda: self.api("GET", f"/v1/clusters/{name}")[0] == 404, timeout, 0.02, f"{name} deleted")

    def agent_nodes(self):
        """Every node every agent runs: {node id: node}."""
        return self.agent_nodes_except(None)

    def agent_nodes_except(self, skip):
        out = {}
        for a in self.agents:
            if a is skip:
                continue
            status, doc = http("GET", f"http://{a.address}:{a.port}/v1/nodes", token=AGENT_TOKEN)
            assert status == 200, (status, doc)
            for n in doc["nodes"]:
                if n.get("pid"):
                    self.known_pids.add(n["pid"])
                out[n["id"]] = n
        return out


def endpoint_client(ep, **kw):
    host, port = ep.rsplit(":", 1)
    kw.setdefault("socket_timeout", 5)
    return redis.Redis(host=host, port=int(port), **kw)


# ---- tests -------------------------------------------------------------------


def test_create_available_zones_replication_delete(suite):
    with Fleet(suite.args.cachenode) as f:
        start = time.monotonic()
        doc = f.create("demo", auth_token=CLUSTER_AUTH)
        assert doc["operation"]["kind"] == "create" and doc["operation"]["id"], doc
        assert doc["cluster"]["status"] == "creating", doc
        assert "auth_token" not in json.dumps(doc) or doc["cluster"]["auth_token_enabled"] is True
        assert CLUSTER_AUTH not in json.dumps(doc)
        c = f.wait_status("demo", "available")
        took = time.monotonic() - start
        print(f"create->available (1 primary + 2 replicas): {took * 1000:.0f} ms")
        assert len(c["nodes"]) == 3, c
        assert len({n["az"] for n in c["nodes"]}) == 3, c["nodes"]
        assert len({n["host"] for n in c["nodes"]}) == 3, c["nodes"]
        assert all(n["status"] == "available" for n in c["nodes"]), c["nodes"]
        roles = sorted(n["role"] for n in c["nodes"])
        assert roles == ["primary", "replica", "replica"], roles
        shard = c["shards"][0]
        assert shard["id"] == "0001" and shard["slots"] == "0-16383" and len(shard["replicas"]) == 2, shard
        primary = [n for n in c["nodes"] if n["role"] == "primary"][0]
        assert shard["primary"] == primary["id"]
        assert c["endpoints"]["primary"] == f"{primary['address']}:{primary['port']}", c["endpoints"]
        assert len(c["endpoints"]["reader"]) == 2
        assert c["auth_token_enabled"] is True and CLUSTER_AUTH not in json.dumps(c)
        op = f.api("GET", f"/v1/operations/{doc['operation']['id']}")[1]
        assert op["status"] == "succeeded" and op["progress"] == 100, op

        # write through the primary endpoint, read back from every replica
        p = endpoint_client(c["endpoints"]["primary"], password=CLUSTER_AUTH)
        for i in range(100):
            p.set(f"k{i}", f"v{i}")
        assert p.wait(2, 5000) == 2
        for ep in c["endpoints"]["reader"]:
            r = endpoint_client(ep, password=CLUSTER_AUTH)
            wait_until(lambda: r.get("k99") == b"v99", 5, what=f"replica {ep} has the writes")
            assert r.mget([f"k{i}" for i in range(100)]) == [f"v{i}".encode() for i in range(100)]

        listed = f.api("GET", "/v1/clusters")[1]["clusters"]
        assert [x["name"] for x in listed] == ["demo"]
        hosts = f.hosts()
        assert sorted(h["az"] for h in hosts) == ["az-a", "az-b", "az-c"]
        assert all(len(h["nodes"]) == 1 and h["status"] == "up" for h in hosts), hosts

        pids = {n["pid"] for n in f.agent_nodes().values()}
        assert len(live_cachenodes(pids)) == 3, pids
        status, doc = f.api("DELETE", "/v1/clusters/demo")
        assert status == 202 and doc["operation"]["kind"] == "delete", (status, doc)
        f.wait_gone("demo")
        wait_until(lambda: not live_cachenodes(pids), 10, 0.02, "every node process stopped")
        assert f.agent_nodes() == {}
        assert f.api("GET", "/v1/clusters")[1]["clusters"] == []
        assert all(h["nodes"] == [] for h in f.hosts())
        for text in [f.controller.log_text()] + [a.log_text() for a in f.agents]:
            assert CLUSTER_AUTH not in text and USER_TOKEN not in text and AGENT_TOKEN not in text


def test_validation_errors(suite):
    with Fleet(suite.args.cachenode) as f:
        bad = [
            ({"name": "Bad_Name"}, "name"),
            ({"name": ""}, "name"),
            ({"name": "x" * 41}, "name"),
            ({}, "name"),
            ({"name": 5}, "name"),
            ({"name": "a", "engine": "mysql"}, "engine"),
            ({"name": "a", "engine": 1}, "engine"),
            ({"name": "a", "replicas": -1}, "replicas"),
            ({"name": "a", "replicas": 6}, "replicas"),
            ({"name": "a", "replicas": "2"}, "replicas"),
            ({"name": "a", "replicas": 1.5}, "replicas"),
            ({"name": "a", "node_memory_mb": 0}, "node_memory_mb"),
            ({"name": "a", "node_memory_mb": True}, "node_memory_mb"),
            ({"name": "a", "shards": 2}, "shards"),
            ({"name": "a", "shards": 2, "cluster_mode": False}, "shards"),
            ({"name": "a", "cluster_mode": "no"}, "cluster_mode"),
            ({"name": "a", "eviction_policy": "lru"}, "eviction_policy"),
            ({"name": "a", "auth_token": "short"}, "auth_token"),
            ({"name": "a", "auth_token": "has space in it 0123456789"}, "auth_token"),
            ({"name": "a", "colour": "blue"}, "colour"),
            ([1, 2], "object"),
        ]
        for body, word in bad:
            status, doc = f.api("POST", "/v1/clusters", body)
            assert status == 400, (body, status, doc)
            assert doc["error"]["code"] == "InvalidParameterValue" and word in doc["error"]["message"], (body, doc)
            assert "0123456789" not in doc["error"]["message"], doc  # a rejected token is not echoed
        for raw in (b"", b"{", b"null", b"{\"name\":\"a\",\"name\":\"b\"}"):
            status, doc = f.api("POST", "/v1/clusters", raw=raw)
            assert status == 400 and doc["error"]["code"] == "InvalidParameterValue", (raw, status, doc)
        # authentication
        assert f.api("GET", "/v1/clusters", token=None)[0] == 401
        assert f.api("GET", "/v1/clusters", token="wrong")[0] == 401
        assert f.api("POST", "/v1/clusters", {"name": "a"}, token=AGENT_TOKEN)[0] == 401
        assert f.api("POST", "/v1/agents/register", {}, token=USER_TOKEN)[0] == 401
        # unknown things
        assert f.api("GET", "/v1/clusters/nope")[0] == 404
        assert f.api("DELETE", "/v1/clusters/nope")[0] == 404
        assert f.api("PATCH", "/v1/clusters/nope", {"replicas": 1})[0] == 404
        assert f.api("GET", "/v1/operations/op-nope")[0] == 404
        assert f.api("GET", "/v1/nothing")[0] == 404
        # duplicate name
        f.create("dup", replicas=0)
        status, doc = f.api("POST", "/v1/clusters", {"name": "dup"})
        assert status == 409 and doc["error"]["code"] == "ClusterAlreadyExists", (status, doc)
        f.wait_status("dup", "available")
        # PATCH validation
        for body in ({}, {"replicas": 1, "node_memory_mb": 64}, {"shards": 2}, {"replicas": 9}, {"x": 1},
                     {"node_memory_mb": "big"}):
            status, doc = f.api("PATCH", "/v1/clusters/dup", body)
            assert status == 400 and doc["error"]["code"] == "InvalidParameterValue", (body, status, doc)
        assert f.cluster("dup")["status"] == "available"
        assert f.api("GET", "/v1/clusters")[1]["clusters"][0]["name"] == "dup"
        patch_without_change(f, "dup")
        agent_link_validation(f)


def operation_count(f):
    text = f.api("GET", "/metrics")[1]
    return sum(int(m) for m in re.findall(r"^cachefleet_operations\{[^}]*\} (\d+)$", text, re.M))


def patch_without_change(f, name):
    """A PATCH to the values the cluster has: 200, the cluster as it is, no
    operation, no event, the status unchanged; a real change still gets 202."""
    c = f.cluster(name)
    ops, events = operation_count(f), f.api("GET", f"/v1/events?cluster={name}")[1]["events"]
    for body in ({"replicas": c["replicas"]}, {"node_memory_mb": c["node_memory_mb"]}):
        status, doc = f.api("PATCH", f"/v1/clusters/{name}", body)
        assert status == 200 and doc["operation"] is None, (body, status, doc)
        assert doc["cluster"]["status"] == "available" and doc["cluster"]["nodes"] == c["nodes"], doc
        assert f.cluster(name)["status"] == "available"
    # a retry with a key gets the same 200 back
    key = {"Idempotency-Key": "no-change-1"}
    first = f.api("PATCH", f"/v1/clusters/{name}", {"replicas": c["replicas"]}, headers=key)
    assert first == f.api("PATCH", f"/v1/clusters/{name}", {"replicas": c["replicas"]}, headers=key), first
    assert operation_count(f) == ops, "a PATCH without a change started an operation"
    assert f.api("GET", f"/v1/events?cluster={name}")[1]["events"] == events
    status, doc = f.api("PATCH", f"/v1/clusters/{name}", {"node_memory_mb": c["node_memory_mb"] + 1})
    assert status == 202 and doc["operation"]["kind"] == "resize_memory", (status, doc)
    f.wait_status(name, "available")


def agent_link_validation(f):
    """A bad registration or heartbeat gets 400 with what is missing; nothing is stored."""
    hello = {"host_id": "h7", "az": "az-z", "address": "127.0.0.7", "agent_url": "http://127.0.0.7:1",
             "capacity": {"memory_mb": 64}}
    for drop in ("host_id", "az", "address", "agent_url", "capacity"):
        bad = {k: v for k, v in hello.items() if k != drop}
        status, doc = http("POST", f.url("/v1/agents/register"), bad, token=AGENT_TOKEN)
        assert status == 400 and doc["error"]["code"] == "InvalidParameterValue", (drop, status, doc)
        assert drop in doc["error"]["message"], (drop, doc)
    status, doc = http("POST", f.url("/v1/agents/register"), dict(hello, agent_url="ftp://x"), token=AGENT_TOKEN)
    assert status == 400, (status, doc)
    assert "h7" not in {h["id"] for h in f.hosts()}
    status, doc = http("POST", f.url("/v1/agents/h1/heartbeat"), {"nodes": [], "events": []}, token=AGENT_TOKEN)
    assert status == 400 and doc["error"]["code"] == "InvalidParameterValue", (status, doc)
    assert {h["id"]: h["status"] for h in f.hosts()}["h1"] == "up"


def test_unplaceable_and_over_memory_refused(suite):
    with Fleet(suite.args.cachenode, agent_memory_mb=100) as f:
        before_events = f.api("GET", "/v1/events")[1]["events"]
        # 4 nodes need 4 distinct hosts; there are 3
        status, doc = f.api("POST", "/v1/clusters", {"name": "wide", "replicas": 3, "node_memory_mb": 16})
        assert status == 422 and doc["error"]["code"] == "InsufficientHosts", (status, doc)
        assert "distinct hosts" in doc["error"]["message"], doc
        # 200 MB does not fit any 100 MB host
        status, doc = f.api("POST", "/v1/clusters", {"name": "fat", "replicas": 1, "node_memory_mb": 200})
        assert status == 507 and doc["error"]["code"] == "InsufficientCapacity", (status, doc)
        # nothing left behind
        assert f.api("GET", "/v1/clusters")[1]["clusters"] == []
        assert f.api("GET", "/v1/clusters/wide")[0] == 404 and f.api("GET", "/v1/clusters/fat")[0] == 404
        assert all(h["nodes"] == [] and h["memory_reserved_mb"] == 0 for h in f.hosts())
        assert f.agent_nodes() == {}
        assert f.api("GET", "/v1/events")[1]["events"] == before_events
        # the same names can then be created at a size that fits
        f.create("fat", replicas=1, node_memory_mb=60)
        f.wait_status("fat", "available")
        # a second 60 MB cluster still fits on the third host only once: 2 nodes need 2 hosts with 60 MB
        status, doc = f.api("POST", "/v1/clusters", {"name": "more", "replicas": 1, "node_memory_mb": 60})
        assert status == 507, (status, doc)
        assert len(f.agent_nodes()) == 2


def config_maxmemory(ep, password=None):
    return int(endpoint_client(ep, password=password).config_get("maxmemory")["maxmemory"])


def test_scale_replicas_out_and_in(suite):
    with Fleet(suite.args.cachenode) as f:
        f.create("sc", replicas=1)
        c = f.wait_status("sc", "available")
        p = endpoint_client(c["endpoints"]["primary"])
        for i in range(200):
            p.set(f"k{i}", i)
        old = {n["id"]: n for n in f.agent_nodes().values()}
        # out: the new replica lands on the third host/zone and is synced before it counts
        status, doc = f.api("PATCH", "/v1/clusters/sc", {"replicas": 2})
        assert status == 202 and doc["operation"]["kind"] == "add_replicas", (status, doc)
        assert doc["cluster"]["status"] == "modifying"
        status, busy = f.api("PATCH", "/v1/clusters/sc", {"replicas": 1})
        assert status == 409 and busy["error"]["code"] == "InvalidClusterState", (status, busy)
        c = f.wait_status("sc", "available")
        assert c["replicas"] == 2 and len(c["nodes"]) == 3, c
        assert len({n["az"] for n in c["nodes"]}) == 3 and all(n["status"] == "available" for n in c["nodes"])
        new = [n for n in c["nodes"] if n["id"] not in old][0]
        assert new["role"] == "replica"
        r = endpoint_client(f"{new['address']}:{new['port']}")
        assert r.get("k199") == b"199" and r.dbsize() == 200
        now = f.agent_nodes()
        assert all(now[i]["pid"] == old[i]["pid"] for i in old), "existing nodes were restarted"
        types = [e["type"] for e in f.api("GET", "/v1/events?cluster=sc")[1]["events"]]
        assert "replica_synced" in types and types[-1] == "cluster_modified", types
        # more replicas than distinct hosts: refused, nothing changes
        status, doc = f.api("PATCH", "/v1/clusters/sc", {"replicas": 3})
        assert status == 422 and doc["error"]["code"] == "InsufficientHosts", (status, doc)
        assert len(f.cluster("sc")["nodes"]) == 3 and f.cluster("sc")["replicas"] == 2
        # in: the primary always stays; removed replicas' processes stop
        primary = [n for n in c["nodes"] if n["role"] == "primary"][0]
        replica_pids = {now[n["id"]]["pid"] for n in c["nodes"] if n["role"] == "replica"}
        status, doc = f.api("PATCH", "/v1/clusters/sc", {"replicas": 0})
        assert status == 202 and doc["operation"]["kind"] == "remove_replicas", (status, doc)
        c = f.wait_status("sc", "available")
        assert [n["id"] for n in c["nodes"]] == [primary["id"]] and c["endpoints"]["reader"] == [], c
        wait_until(lambda: not live_cachenodes(replica_pids), 10, 0.02, "removed replicas stopped")
        assert list(f.agent_nodes()) == [primary["id"]]
        assert f.agent_nodes()[primary["id"]]["pid"] == now[primary["id"]]["pid"]
        assert endpoint_client(c["endpoints"]["primary"]).dbsize() == 200


def test_resize_memory_live(suite):
    with Fleet(suite.args.cachenode) as f:
        f.create("mem", replicas=2, node_memory_mb=32, auth_token=CLUSTER_AUTH)
        c = f.wait_status("mem", "available")
        pids = {i: n["pid"] for i, n in f.agent_nodes().items()}
        eps = [c["endpoints"]["primary"]] + c["endpoints"]["reader"]
        assert all(config_maxmemory(ep, CLUSTER_AUTH) == 32 << 20 for ep in eps)
        status, doc = f.api("PATCH", "/v1/clusters/mem", {"node_memory_mb": 48})
        assert status == 202 and doc["operation"]["kind"] == "resize_memory", (status, doc)
        c = f.wait_status("mem", "available")
        assert c["node_memory_mb"] == 48 and all(n["memory_mb"] == 48 for n in c["nodes"]), c
        assert all(config_maxmemory(ep, CLUSTER_AUTH) == 48 << 20 for ep in eps)
        nodes = f.agent_nodes()
        assert {i: n["pid"] for i, n in nodes.items()} == pids, "a live resize restarted a node"
        assert all(n["generation"] == 2 and n["memory_mb"] == 48 for n in nodes.values()), nodes
        # beyond a host's capacity (256 MB): refused, nothing changes
        status, doc = f.api("PATCH", "/v1/clusters/mem", {"node_memory_mb": 300})
        assert status == 507 and doc["error"]["code"] == "InsufficientCapacity", (status, doc)
        assert f.cluster("mem")["node_memory_mb"] == 48
        assert all(n["generation"] == 2 for n in f.agent_nodes().values())


def test_idempotency_events_hosts(suite):
    with Fleet(suite.args.cachenode) as f:
        key = {"Idempotency-Key": "create-idem-1"}
        body = {"name": "idem", "replicas": 1, "node_memory_mb": 16}
        s1, d1 = f.api("POST", "/v1/clusters", body, headers=key)
        s2, d2 = f.api("POST", "/v1/clusters", body, headers=key)
        assert s1 == s2 == 202 and d1["operation"]["id"] == d2["operation"]["id"], (d1, d2)
        s3, d3 = f.api("POST", "/v1/clusters", dict(body, replicas=2), headers=key)
        assert s3 == 422 and d3["error"]["code"] == "IdempotencyKeyMismatch", (s3, d3)
        f.wait_status("idem", "available")
        assert len(f.api("GET", "/v1/clusters")[1]["clusters"]) == 1 and len(f.agent_nodes()) == 2
        pkey = {"Idempotency-Key": "resize-idem-1"}
        s1, d1 = f.api("PATCH", "/v1/clusters/idem", {"node_memory_mb": 24}, headers=pkey)
        s2, d2 = f.api("PATCH", "/v1/clusters/idem", {"node_memory_mb": 24}, headers=pkey)
        assert s1 == s2 == 202 and d1["operation"]["id"] == d2["operation"]["id"], (s2, d2)
        f.wait_status("idem", "available")
        ops = f.api("GET", "/metrics")[1]
        assert 'cachefleet_operations{kind="resize_memory",status="succeeded"} 1' in ops, ops

        events = f.api("GET", "/v1/events?cluster=idem")[1]["events"]
        types = [e["type"] for e in events]
        assert types[0] == "cluster_creating" and "cluster_available" in types and "node_launched" in types, types
        assert all(e["cluster"] == "idem" and e["time"] > 0 and e["message"] for e in events)
        ids = [e["id"] for e in events]
        assert ids == sorted(ids)
        later = f.api("GET", f"/v1/events?cluster=idem&since={ids[2]}")[1]["events"]
        assert [e["id"] for e in later] == ids[3:]
        events_query_validation(f, ids)
        assert f.api("GET", "/v1/events?cluster=other")[1]["events"] == []

        hosts = {h["id"]: h for h in f.hosts()}
        assert set(hosts) == {"h1", "h2", "h3"}
        for host_id, address, az in ZONES:
            h = hosts[host_id]
            assert h["az"] == az and h["address"] == address and h["status"] == "up" and h["memory_mb"] == 256, h
        assert sum(len(h["nodes"]) for h in hosts.values()) == 2
        assert all(h["node_total"] == len(h["nodes"]) for h in hosts.values()), hosts
        summary_views(f)
        # an agent that stops is "down" after --agent-timeout-ms (3 s)
        f.agents[2].terminate()
        wait_until(lambda: {h["id"]: h["status"] for h in f.hosts()}["h3"] == "down", 8, 0.1, "h3 down")
        status, doc = f.api("POST", "/v1/clusters", {"name": "three", "replicas": 2, "node_memory_mb": 16})
        assert status == 422, (status, doc)  # two hosts up cannot hold three nodes
        resent_agent_events_stored_once(f)


def summary_views(f):
    """?view=summary: the lists without their nested node lists, the same
    own fields, and node_total counting the nodes; another view is 400."""
    full = f.api("GET", "/v1/clusters")[1]["clusters"]
    status, doc = f.api("GET", "/v1/clusters?view=summary")
    assert status == 200 and len(doc["clusters"]) == len(full), (status, doc)
    for c, whole in zip(doc["clusters"], full):
        assert not {"nodes", "shards", "endpoints"} & set(c), c
        assert c["node_total"] == len(whole["nodes"]) and c["shard_count"] == len(whole["shards"]), (c, whole)
        assert all(c[k] == whole[k] for k in c if k != "node_total"), (c, whole)
    status, doc = f.api("GET", "/v1/hosts?view=summary")
    assert status == 200 and all("nodes" not in h for h in doc["hosts"]), doc
    assert sum(h["node_total"] for h in doc["hosts"]) == sum(len(c["nodes"]) for c in full), doc
    assert f.api("GET", "/v1/clusters?view=full")[1]["clusters"] == full
    for path in ("/v1/clusters", "/v1/hosts"):
        for bad in ("summaryx", "SUMMARY", "nodes"):
            status, doc = f.api("GET", f"{path}?view={bad}")
            assert status == 400 and doc["error"]["code"] == "InvalidParameterValue", (path, bad, status, doc)


def events_query_validation(f, ids):
    """since and limit: whole numbers in range, or 400 naming the parameter;
    one bad parameter is not hidden by a good one after it."""
    bad = [("since=abc", "since"), ("since=abc&limit=2", "since"), ("limit=2&since=abc", "since"),
           ("since=-1", "since"), ("since=+5", "since"), ("since=5x", "since"), ("since=1.5", "since"),
           ("since=%205", "since"), ("since=9223372036854775808", "since"),
           ("since=99999999999999999999999", "since"), ("limit=0", "limit"), ("limit=1001", "limit"),
           ("limit=abc", "limit"), ("since=1&limit=-2", "limit"), ("limit=99999999999999999999", "limit"),
           ("cluster=Bad_Name", "cluster")]
    for query, word in bad:
        status, doc = f.api("GET", f"/v1/events?{query}")
        assert status == 400 and doc["error"]["code"] == "InvalidParameterValue", (query, status, doc)
        assert doc["error"]["message"].startswith(word), (query, doc)
    now = [e["id"] for e in f.api("GET", "/v1/events?cluster=idem")[1]["events"]]
    got = f.api("GET", "/v1/events?cluster=idem&since=0&limit=2")
    assert got[0] == 200 and [e["id"] for e in got[1]["events"]] == now[-2:] and now[:len(ids)] == ids, got
    assert f.api("GET", "/v1/events?since=9223372036854775807")[1]["events"] == []
    assert len(f.api("GET", "/v1/events?since=&limit=")[1]["events"]) >= len(ids)


def resent_agent_events_stored_once(f):
    """An agent sends a failed heartbeat's events again; each is stored once."""
    hello = {"host_id": "h9", "az": "az-z", "address": "127.0.0.9", "agent_url": "http://127.0.0.9:1",
             "time_ms": 0, "capacity": {"memory_mb": 64, "memory_used_mb": 0, "port_first": 1000,
                                        "port_last": 1001, "nodes": 0}}
    assert http("POST", f.url("/v1/agents/register"), hello, token=AGENT_TOKEN)[0] == 200

    def beat(*seqs):
        events = [{"seq": n, "time_ms": n, "type": "node_down", "node": "x", "cluster": "dupe", "shard": "0001",
                   "message": f"event {n}"} for n in seqs]
        assert http("POST", f.url("/v1/agents/h9/heartbeat"), dict(hello, nodes=[], events=events),
                    token=AGENT_TOKEN)[0] == 200

    beat(5, 6)
    beat(5, 6, 7)  # the first batch again, with one new event
    beat(4)        # older than what is stored
    beat(8)
    got = [e["message"] for e in f.api("GET", "/v1/events?cluster=dupe")[1]["events"]]
    assert got == ["event 5", "event 6", "event 7", "event 8"], got


def test_metrics_and_healthz(suite):
    with Fleet(suite.args.cachenode) as f:
        f.create("met", replicas=1, node_memory_mb=16)
        f.wait_status("met", "available")
        assert f.api("GET", "/healthz", token=None)[0] == 200
        assert f.api("GET", "/metrics", token=None)[0] == 401
        status, text = f.api("GET", "/metrics")
        assert status == 200, (status, text)
        for want in ('cachefleet_clusters{status="available"} 1', 'cachefleet_nodes{status="available"} 2',
                     'cachefleet_hosts{status="up"} 3', 'cachefleet_operations{kind="create",status="succeeded"} 1',
                     "cachefleet_api_request_duration_seconds_bucket", "cachefleet_agent_call_failures_total",
                     'cachefleet_api_requests_total{code="4xx"} 1'):
            assert want in text, (want, text)
        promtool = shutil.which("promtool")
        assert promtool, "promtool is missing (deploy/install-deps.sh installs the prometheus package)"
        out = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
        assert out.returncode == 0, out.stdout.decode() + out.stderr.decode()
        assert USER_TOKEN not in text and AGENT_TOKEN not in text


def test_api_examples_run(suite):
    examples = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "api", "examples")
    with Fleet(suite.args.cachenode) as f:
        env = dict(os.environ, CACHEFLEET_URL=f.url(""), CACHEFLEET_TOKEN=USER_TOKEN)

        def run(script, *args, key=None):
            e = dict(env, CACHEFLEET_IDEMPOTENCY_KEY=key) if key else env
            out = subprocess.run(["bash", os.path.join(examples, script)] + list(args), env=e,
                                 capture_output=True, timeout=120)
            text = out.stdout.decode() + out.stderr.decode()
            assert out.returncode == 0, (script, text)
            assert USER_TOKEN not in text
            return text

        text = run("create.sh", "ex")
        assert "primary: 127.0.0." in text
        key = re.search(r"Idempotency-Key: (\S+)", text).group(1)
        # the same call again with its key is a replay; a new run is a new request
        run("create.sh", "ex", key=key)
        assert len(f.agent_nodes()) == 3
        again = subprocess.run(["bash", os.path.join(examples, "create.sh"), "ex"], env=env, capture_output=True,
                               timeout=120)
        assert again.returncode != 0 and b"ClusterAlreadyExists" in again.stdout, again
        assert '"name":"ex"' in run("describe.sh", "ex")
        # every run is its own change: 1, 2, 1 within a day all happen
        for count in (1, 2, 1):
            run("scale-replicas.sh", "ex", str(count))
            c = f.cluster("ex")
            assert c["replicas"] == count and len(c["nodes"]) == count + 1, (count, c)
        run("resize-memory.sh", "ex", "80")
        assert f.cluster("ex")["node_memory_mb"] == 80
        assert "deleted ex" in run("delete.sh", "ex")
        assert f.agent_nodes() == {}


def test_silent_host_degrades_and_recovers(suite):
    with Fleet(suite.args.cachenode) as f:
        f.create("deg", replicas=2)
        c = f.wait_status("deg", "available")
        victim = f.agents[2]
        on_victim = [n for n in c["nodes"] if n["host"] == victim.host_id][0]
        pid = f.agent_nodes()[on_victim["id"]]["pid"]
        assert victim.terminate() == 0  # the agent stops; its node keeps running
        c = f.wait_status("deg", "degraded", timeout=10)
        assert [n["status"] for n in c["nodes"] if n["id"] == on_victim["id"]] == ["failed"]
        assert all(n["status"] == "available" for n in c["nodes"] if n["id"] != on_victim["id"])
        types = [e["type"] for e in f.api("GET", "/v1/events?cluster=deg")[1]["events"]]
        assert "node_failed" in types and "cluster_degraded" in types, types
        f.agents.remove(victim)
        f.start_agent(victim.host_id, victim.address, victim.az)  # adopts the running node
        c = f.wait_status("deg", "available", timeout=15)
        assert all(n["status"] == "available" for n in c["nodes"])
        assert f.agent_nodes()[on_victim["id"]]["pid"] == pid


if __name__ == "__main__":
    suite = Suite()
    sys.exit(suite.run([
        test_create_available_zones_replication_delete,
        test_validation_errors,
        test_unplaceable_and_over_memory_refused,
        test_scale_replicas_out_and_in,
        test_resize_memory_live,
        test_idempotency_events_hosts,
        test_metrics_and_healthz,
        test_api_examples_run,
        test_silent_host_degrades_and_recovers,
    ]))
