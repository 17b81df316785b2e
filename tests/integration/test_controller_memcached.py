"""test_controller_memcached: memcached clusters through the controller's API
with real cachenode memcached nodes and a real Auto Discovery client.

A Fleet (test_controller.py: a controller and three agents in three zones)
creates a 3-node memcached cluster; a client that knows only one
configuration endpoint polls `config get cluster` and rebuilds a pymemcache
HashClient from it whenever the version changes, and keeps writing and
reading meanwhile. The cluster is scaled to 5 nodes, then to 2, and a node
is killed with kill -9: every change must reach the discovery list (API and
every node alike) with a higher version, the client must follow it, and its
operations may fail only on nodes that have left or died. Also: bad input
gets 400 with the JSON error body, a controller killed with SIGKILL in the
middle of a scale-out resumes it without a duplicate node, node metrics
come from stats, a memory resize changes the running nodes (the same
processes, items kept) and evicts at once below a smaller limit, and the
Sentinel port does not serve memcached clusters.
Everything waits on deadlines; every process is killed by pid."""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import Suite, free_port, wait_until  # noqa: E402
from fleetutil import AGENT_TOKEN, USER_TOKEN, http, live_cachenodes  # noqa: E402
from test_controller import Fleet  # noqa: E402

from pymemcache.client.base import Client  # noqa: E402
from pymemcache.client.hash import HashClient  # noqa: E402


def mc_request(addr, text, timeout=2.0):
    """One memcached text request to host:port; the reply up to END (or the
    first line for a one-line reply)."""
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(text.encode())
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if data.endswith(b"END\r\n") or data.startswith(b"VERSION") and data.endswith(b"\r\n") \
                    or data.endswith(b"ERROR\r\n"):
                break
        return data.decode()


def config_get_cluster(addr):
    """(version, ["host|ip|port", ...]) as a node serves them."""
    reply = mc_request(addr, "config get cluster\r\n")
    m = re.match(r"CONFIG cluster 0 (\d+)\r\n", reply)
    assert m, reply
    body = reply[m.end():m.end() + int(m.group(1))]
    version, nodes = body.split("\n")[:2]
    return int(version), nodes.split() if nodes else []


def endpoint(entry):
    host, ip, port = entry.split("|")
    return f"{ip or host}:{port}"


class DiscoveryClient:
    """What an Auto Discovery client does: polls `config get cluster` on a
    configuration endpoint (any node still in the list once the first one
    has left), rebuilds its HashClient when the version changes, and keeps
    doing sets and gets. Records every operation's outcome with the server
    it went to, and every list it saw."""

    def __init__(self, seed):
        self.seeds = [seed]
        self.version, self.entries = 0, []
        self.client = None
        self.ok = 0
        self.failures = []          # (server, key, error, version)
        self.versions = []          # (version, entries) in the order seen
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def refresh(self):
        for seed in list(self.seeds):
            try:
                version, entries = config_get_cluster(seed)
            except (OSError, AssertionError):
                continue
            if version != self.version:
                servers = [tuple(endpoint(e).rsplit(":", 1)) for e in entries]
                client = HashClient([(h, int(p)) for h, p in servers], connect_timeout=1, timeout=1,
                                    retry_attempts=1, dead_timeout=0.1, default_noreply=False)
                with self.lock:
                    self.version, self.entries, self.client = version, entries, client
                    self.versions.append((version, entries))
                    self.seeds = [endpoint(e) for e in entries] or self.seeds
            return

    def run(self):
        i = 0
        next_poll = 0.0
        while not self.stop.is_set():
            if time.monotonic() >= next_poll:
                self.refresh()
                next_poll = time.monotonic() + 0.02
            with self.lock:
                client, version = self.client, self.version
            if client is None:
                time.sleep(0.01)
                continue
            key = f"k{i % 500}"
            server = client.hasher.get_node(key)
            try:
                assert client.set(key, str(i)) is True
                got = client.get(key)
                assert got is None or got.isdigit(), got
                self.ok += 1
            except Exception as e:  # noqa: BLE001 - every failure is recorded and judged
                self.failures.append((server, key, repr(e), version))
            i += 1
            time.sleep(0.002)

    def start(self):
        self.thread.start()
        wait_until(lambda: self.ok > 0, 10, 0.02, "the discovery client works")
        return self

    def wait_list(self, version, entries, what):
        wait_until(lambda: self.version == version and sorted(self.entries) == sorted(entries), 10, 0.02, what)

    def ops_since(self, mark):
        return self.ok - mark

    def close(self):
        self.stop.set()
        self.thread.join(timeout=10)


def create(f, name, **kw):
    """POST a memcached cluster (Fleet.create's body is redis's)."""
    body = {"name": name, "engine": "memcached", "node_memory_mb": 32}
    body.update(kw)
    status, doc = f.api("POST", "/v1/clusters", body)
    assert status == 202 and doc["operation"]["kind"] == "create", (status, doc)
    return doc


def discovery(f, name):
    status, doc = f.api("GET", f"/v1/clusters/{name}/discovery")
    assert status == 200, (status, doc)
    return doc


def check_listed_everywhere(f, name, count):
    """The API's list has count nodes, each an available node of the cluster
    on its address and port, and every node serves exactly it."""
    c = f.cluster(name)
    d = discovery(f, name)
    assert d["version"] == c["discovery_version"], (d, c)
    nodes = {f"{n['address']}|{n['address']}|{n['port']}": n for n in c["nodes"]}
    assert len(d["nodes"]) == count and set(d["nodes"]) <= set(nodes), (d, c["nodes"])
    assert all(nodes[e]["status"] == "available" for e in d["nodes"])
    assert d["config"] == f"{d['version']}\n{' '.join(d['nodes'])}\n", d
    assert sorted(c["endpoints"]["configuration"]) == sorted(endpoint(e) for e in d["nodes"]), c["endpoints"]
    for e in d["nodes"]:
        assert config_get_cluster(endpoint(e)) == (d["version"], d["nodes"]), e
    return c, d


def events_of(f, name, etype):
    events = f.api("GET", f"/v1/events?cluster={name}")[1]["events"]
    return [e for e in events if e["type"] == etype]


def zones_of(c):
    out = {}
    for n in c["nodes"]:
        out[n["az"]] = out.get(n["az"], 0) + 1
    return out


def test_create_scale_and_replace_under_a_discovery_client(suite):
    with Fleet(suite.args.cachenode, agent_memory_mb=512) as f:
        create(f, "mc", nodes=3)
        c = f.wait_status("mc", "available")
        assert c["engine"] == "memcached" and c["shards"] == [] and c["shard_count"] == 0 and c["node_count"] == 3, c
        summary = f.api("GET", "/v1/clusters?view=summary")[1]["clusters"][0]
        assert summary["node_total"] == 3 and summary["shard_count"] == 0, summary
        assert summary["discovery_version"] == c["discovery_version"] > 0, (summary, c)
        assert len(c["nodes"]) == 3 and zones_of(c) == {"az-a": 1, "az-b": 1, "az-c": 1}, c["nodes"]
        for n in c["nodes"]:
            assert n["role"] == "primary" and n["port"] > 0 and n["status"] == "available", n
            assert set(n) >= {"id", "host", "az", "address", "port", "status"}, n
            assert mc_request(f"{n['address']}:{n['port']}", "version\r\n").startswith("VERSION "), n
        c, d = check_listed_everywhere(f, "mc", 3)
        assert d["version"] == 1, d
        client = DiscoveryClient(c["endpoints"]["configuration"][0]).start()
        try:
            client.wait_list(1, d["nodes"], "the client on list 1")

            # ---- scale out to 5: the new nodes join once they are up
            status, doc = f.api("PATCH", "/v1/clusters/mc", {"nodes": 5})
            assert status == 202 and doc["operation"]["kind"] == "add_nodes", (status, doc)
            c = f.wait_status("mc", "available")
            assert len(c["nodes"]) == 5 and c["node_count"] == 5, c["nodes"]
            assert sorted(zones_of(c).values()) == [1, 2, 2], zones_of(c)  # spread over the zones
            c, d = check_listed_everywhere(f, "mc", 5)
            assert d["version"] == 2, d  # one new list: both new nodes joined together
            mark = client.ok
            client.wait_list(2, d["nodes"], "the client on list 2")
            wait_until(lambda: client.ops_since(mark) > 50, 10, 0.02, "operations on 5 nodes")
            assert client.failures == [], client.failures[:5]  # nothing went away: no failure at all
            new_servers = {endpoint(e) for e in d["nodes"]} - {endpoint(e) for e in client.versions[0][1]}
            hits = {}
            for i in range(200):  # the new nodes take keys: the client hashes over five
                s = client.client.hasher.get_node(f"probe{i}")
                hits[s] = hits.get(s, 0) + 1
            assert new_servers and all(hits.get(s, 0) > 0 for s in new_servers), (new_servers, hits)

            # ---- scale in to 2: the leaving nodes leave the list before they stop
            before = {n["id"] for n in c["nodes"]}
            status, doc = f.api("PATCH", "/v1/clusters/mc", {"nodes": 2})
            assert status == 202 and doc["operation"]["kind"] == "remove_nodes", (status, doc)
            c = f.wait_status("mc", "available")
            assert len(c["nodes"]) == 2, c["nodes"]
            gone = before - {n["id"] for n in c["nodes"]}
            assert len(gone) == 3, gone
            c, d = check_listed_everywhere(f, "mc", 2)
            assert d["version"] == 3, d
            changed = [e for e in events_of(f, "mc", "discovery_changed") if "version 3" in e["message"]]
            deleted = [e for e in events_of(f, "mc", "node_deleted") if e["node"] in gone]
            assert len(changed) == 1 and len(deleted) == 3, (changed, deleted)
            assert all(changed[0]["id"] < e["id"] for e in deleted), (changed, deleted)
            mark = client.ok
            client.wait_list(3, d["nodes"], "the client on list 3")
            wait_until(lambda: client.ops_since(mark) > 50, 10, 0.02, "operations on 2 nodes")
            left = {endpoint(e) for e in client.versions[1][1]} - {endpoint(e) for e in d["nodes"]}
            assert all(fl[0] in left and fl[3] < 3 for fl in client.failures), client.failures[:5]
            for n in f.agent_nodes().values():
                assert n["id"] not in gone, n
            failures_before_kill = len(client.failures)

            # ---- kill -9 a node: a new one replaces it and is announced
            victim = c["nodes"][0]
            victim_ep = f"{victim['address']}:{victim['port']}"
            assert live_cachenodes({victim["pid"]}) == {victim["pid"]}
            killed_at = time.monotonic()
            os.kill(victim["pid"], 9)

            def replaced():
                now = f.cluster("mc")
                ids = {n["id"] for n in now["nodes"]}
                return now["status"] == "available" and victim["id"] not in ids and len(ids) == 2

            wait_until(replaced, 30, 0.02, "the killed node replaced")
            replaced_in = time.monotonic() - killed_at
            c, d = check_listed_everywhere(f, "mc", 2)
            assert d["version"] == 4 and victim_ep not in {endpoint(e) for e in d["nodes"]}, d
            assert [e for e in events_of(f, "mc", "node_replacing") if e["node"] == victim["id"]]
            mark = client.ok
            client.wait_list(4, d["nodes"], "the client on list 4")
            wait_until(lambda: client.ops_since(mark) > 50, 10, 0.02, "operations after the replacement")
            late = client.failures[failures_before_kill:]
            assert all(fl[0] == victim_ep for fl in late), late[:5]  # only the dead node failed
        finally:
            client.close()

        # ---- observations: stats through the agent, into the controller
        def observed():
            nodes = f.cluster("mc")["nodes"]
            return all(n["used_memory"] is not None and n["discovery_version"] == 4 for n in nodes)

        wait_until(observed, 10, 0.05, "used memory and the list version observed")
        a = f.agents[0]
        status, text = http("GET", f"http://{a.address}:{a.port}/metrics", token=AGENT_TOKEN)
        assert status == 200
        mine = [n for n in f.cluster("mc")["nodes"] if n["host"] == a.host_id]
        for n in mine:
            labels = f'cluster="mc",shard="0001",node="{n["id"]}",role="primary",az="{a.az}",host="{a.host_id}"'
            for metric in ("cachefleet_node_up", "cachefleet_node_memory_max_bytes", "cachefleet_node_keys",
                           "cachefleet_node_commands_total", "cachefleet_node_keyspace_hits_total"):
                assert f"{metric}{{{labels}}}" in text, (metric, labels)
            assert f"cachefleet_node_memory_max_bytes{{{labels}}} {32 * 1048576}" in text
            # and under memcached_exporter's names, for its dashboards
            assert f"memcached_up{{{labels}}} 1" in text
            assert f"memcached_limit_bytes{{{labels}}} {32 * 1048576}" in text
            assert re.search(rf'memcached_commands_total{{{labels},command="get",status="hit"}} \d+', text), labels

        status, text = f.api("GET", "/metrics")
        assert status == 200 and 'cachefleet_discovery_version{cluster="mc"} 4\n' in text, text
        used = int(re.search(r'cachefleet_cluster_memory_used_bytes\{cluster="mc"\} (\d+)', text).group(1))
        assert used > 0, used  # the client wrote keys: the nodes use memory

        status, doc = f.api("DELETE", "/v1/clusters/mc")
        assert status == 202, doc
        f.wait_gone("mc")
        assert not [n for n in f.agent_nodes().values() if n["cluster"] == "mc"]
        return (f"client: {client.ok} operations, {len(client.failures)} failed on nodes gone "
                f"({failures_before_kill} on nodes that left, the rest on the killed one), "
                f"lists {[v for v, _ in client.versions]} of {[len(e) for _, e in client.versions]} nodes, "
                f"kill -9 to the new list on every node in {replaced_in:.2f}s")


def test_bad_input_is_refused(suite):
    with Fleet(suite.args.cachenode) as f:
        bad = [
            {"name": "m", "engine": "memcached", "nodes": 3, "replicas": 1},
            {"name": "m", "engine": "memcached", "nodes": 3, "shards": 2},
            {"name": "m", "engine": "memcached", "nodes": 3, "cluster_mode": True},
            {"name": "m", "engine": "memcached", "nodes": 0},
            {"name": "m", "engine": "memcached", "nodes": 41},
            {"name": "m", "engine": "memcached", "nodes": "3"},
            {"name": "m", "engine": "memcached", "auth_token": "0123456789abcdef0123"},
            {"name": "m", "engine": "redis", "nodes": 3},
            {"name": "m", "nodes": 1},
            {"name": "m", "engine": "mongodb"},
        ]
        for body in bad:
            status, doc = f.api("POST", "/v1/clusters", body)
            assert status == 400 and doc["error"]["code"] == "InvalidParameterValue", (body, status, doc)
            assert doc["error"]["message"], doc
        assert f.api("GET", "/v1/clusters")[1]["clusters"] == []
        create(f, "mc")  # nodes defaults to 1
        f.create("rd", replicas=0)
        f.wait_status("mc", "available")
        f.wait_status("rd", "available")
        assert len(f.cluster("mc")["nodes"]) == 1  # nodes defaults to 1
        for name, body, words in [("mc", {"replicas": 1}, "'replicas' does not apply to engine 'memcached'"),
                                  ("mc", {"shards": 2}, "'shards' does not apply to engine 'memcached'"),
                                  ("mc", {"nodes": 41}, "'nodes' must be between 1 and 40"),
                                  ("rd", {"nodes": 2}, "'nodes' does not apply to engine 'redis'")]:
            status, doc = f.api("PATCH", f"/v1/clusters/{name}", body)
            assert status == 400 and words in doc["error"]["message"], (name, body, status, doc)
        status, doc = f.api("POST", "/v1/clusters/mc/failover", {"shard": "0001"})
        assert status == 400 and "does not apply" in doc["error"]["message"], doc
        status, doc = f.api("GET", "/v1/clusters/rd/discovery")
        assert status == 400 and doc["error"]["code"] == "InvalidParameterValue", doc
        assert f.api("GET", "/v1/clusters/nope/discovery")[0] == 404
        status, doc = f.api("PATCH", "/v1/clusters/mc", {"nodes": 1})
        assert status == 200 and doc["operation"] is None, doc  # nothing to change
        # what cannot be placed is refused whole: 3 hosts of 256 MB hold 21 nodes of 32 MB, not 40
        status, doc = f.api("POST", "/v1/clusters", {"name": "big", "engine": "memcached", "nodes": 40,
                                                       "node_memory_mb": 32})
        assert status == 507 and doc["error"]["code"] == "InsufficientCapacity", (status, doc)
        assert f.api("GET", "/v1/clusters/big")[0] == 404
        status, doc = f.api("PATCH", "/v1/clusters/mc", {"nodes": 40})
        assert status == 507 and doc["error"]["code"] == "InsufficientCapacity", (status, doc)
        c = f.cluster("mc")
        assert c["status"] == "available" and c["node_count"] == 1 and len(c["nodes"]) == 1, c


class SentinelFleet(Fleet):
    def controller_options(self):
        self.sentinel_port = getattr(self, "sentinel_port", None) or free_port()
        return ("--sentinel-listen", f"127.0.0.1:{self.sentinel_port}")

    def lost_port_race(self):
        super().lost_port_race()
        self.sentinel_port = None


def sentinel_master(port, name):
    import redis
    r = redis.Redis("127.0.0.1", port, socket_timeout=5)
    return r.execute_command("SENTINEL", "get-master-addr-by-name", name)


def test_sentinel_ignores_memcached(suite):
    with SentinelFleet(suite.args.cachenode) as f:
        f.create("rd", replicas=0)
        create(f, "mc", nodes=2)
        f.wait_status("rd", "available")
        f.wait_status("mc", "available")
        assert sentinel_master(f.sentinel_port, "rd") is not None
        assert sentinel_master(f.sentinel_port, "mc") is None


def test_controller_kill9_mid_scale_out_resumes(suite):
    with Fleet(suite.args.cachenode, agent_memory_mb=512) as f:
        create(f, "mc", nodes=2)
        f.wait_status("mc", "available")
        before = {i: n["pid"] for i, n in f.agent_nodes().items()}
        status, doc = f.api("PATCH", "/v1/clusters/mc", {"nodes": 4})
        assert status == 202, doc
        op_id = doc["operation"]["id"]
        f.controller.proc.kill()
        f.controller.proc.wait(timeout=10)
        f.start_controller()
        c = f.wait_status("mc", "available", timeout=30)
        op = f.api("GET", f"/v1/operations/{op_id}")[1]
        assert op["status"] == "succeeded", op
        nodes = f.agent_nodes()
        assert len(nodes) == 4 and sorted(nodes) == sorted(n["id"] for n in c["nodes"]), nodes
        assert all(nodes[i]["pid"] == pid for i, pid in before.items()), "a node that existed was restarted"
        assert len(live_cachenodes({n["pid"] for n in nodes.values()})) == 4
        c, d = check_listed_everywhere(f, "mc", 4)
        assert d["version"] == 2, d


def test_agent_restart_adopts_memcached_nodes(suite):
    """An agent killed with SIGKILL and started again adopts its memcached
    nodes (same pids, recognised by their health check), serves their list
    version again, and nothing is replaced."""
    with Fleet(suite.args.cachenode, agent_memory_mb=512) as f:
        create(f, "mc", nodes=3)
        before = f.wait_status("mc", "available")
        a = f.agents[0]
        pids = {i: n["pid"] for i, n in f.agent_nodes().items()}
        a.proc.kill()
        a.proc.wait(timeout=10)
        f.agents.remove(a)
        b = f.start_agent(a.host_id, a.address, a.az)

        def adopted():
            status, doc = http("GET", f"http://{b.address}:{b.port}/v1/nodes", token=AGENT_TOKEN)
            nodes = doc["nodes"]
            return nodes and all(n["health"] == "up" and n["discovery_version"] == 1 for n in nodes)

        wait_until(adopted, 10, 0.02, "the restarted agent adopts its nodes")
        assert {i: n["pid"] for i, n in f.agent_nodes().items()} == pids
        assert all(n["restarts"] == 0 for n in f.agent_nodes().values())
        after = f.cluster("mc")
        assert after["status"] == "available" and after["discovery_version"] == 1, after
        assert [n["id"] for n in after["nodes"]] == [n["id"] for n in before["nodes"]]
        assert not events_of(f, "mc", "node_replacing")


def test_lost_host_node_replaced_then_stopped(suite):
    """A host that goes silent with its node frozen (agent and node stopped
    with SIGSTOP): the node is replaced on another host and announced; when
    the host comes back, the old node is stopped."""
    with Fleet(suite.args.cachenode, agent_memory_mb=512) as f:
        create(f, "mc", nodes=3)
        c = f.wait_status("mc", "available")
        a = f.agents[0]
        victim = [n for n in c["nodes"] if n["host"] == a.host_id][0]
        frozen = [a.proc.pid, victim["pid"]]
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            def replaced():
                now = f.cluster("mc")
                return now["status"] == "available" and victim["id"] not in {n["id"] for n in now["nodes"]}

            wait_until(replaced, 30, 0.05, "the silent host's node replaced")
            now = f.cluster("mc")
            assert all(n["host"] != a.host_id for n in now["nodes"]), now["nodes"]
            c, d = check_listed_everywhere(f, "mc", 3)
            assert d["version"] == 2, d
            assert [e for e in events_of(f, "mc", "node_abandoned") if e["node"] == victim["id"]]
        finally:
            for pid in reversed(frozen):
                os.kill(pid, signal.SIGCONT)
        wait_until(lambda: not live_cachenodes({victim["pid"]}), 20, 0.05, "the abandoned node stopped")
        # stopped by the controller's stop of abandoned nodes (event abandoned_node_stopped) or, when the
        # frozen agent still held the delete step's timed-out DELETE, by that one: either way it is gone
        wait_until(lambda: victim["id"] not in f.agent_nodes(), 10, 0.05, "the old node gone from its agent")
        assert f.cluster("mc")["status"] == "available"


def test_memory_resize_is_live(suite):
    """node_memory_mb: each running node's limit changes (its agent sends
    cache_memlimit): the same nodes, the same processes and the same list
    version, the items kept on a grow; a shrink below what is stored evicts
    down to the new limit at once; a resize to the same size changes nothing."""
    with Fleet(suite.args.cachenode, agent_memory_mb=512) as f:
        create(f, "mc", nodes=2)
        before = f.wait_status("mc", "available")["nodes"]
        pids = {i: n["pid"] for i, n in f.agent_nodes().items() if n["cluster"] == "mc"}
        version = check_listed_everywhere(f, "mc", 2)[1]["version"]
        eps = [f"{n['address']}:{n['port']}" for n in before]
        clients = [Client((n["address"], n["port"]), connect_timeout=2, timeout=5) for n in before]
        for client in clients:
            for i in range(300):  # ~330 KB a node
                assert client.set(f"k{i}", b"v" * 1000, noreply=False)
        status, doc = f.api("PATCH", "/v1/clusters/mc", {"node_memory_mb": 48})
        assert status == 202 and doc["operation"]["kind"] == "resize_memory", (status, doc)
        c = f.wait_status("mc", "available")
        assert c["node_memory_mb"] == 48 and sorted(n["id"] for n in c["nodes"]) == sorted(n["id"] for n in before)
        assert all(n["memory_mb"] == 48 for n in c["nodes"]), c["nodes"]
        now = {i: n["pid"] for i, n in f.agent_nodes().items() if n["cluster"] == "mc"}
        assert now == pids, (pids, now)
        assert check_listed_everywhere(f, "mc", 2)[1]["version"] == version
        for ep in eps:
            stats = mc_request(ep, "stats\r\n")
            assert f"STAT limit_maxbytes {48 * 1048576}\r\n" in stats, stats[:300]
            assert "STAT curr_items 300\r\n" in stats, stats  # nothing lost
        status, doc = f.api("PATCH", "/v1/clusters/mc", {"node_memory_mb": 48})
        assert status == 200 and doc["operation"] is None, doc
        # shrink below what is stored (the controller's minimum is 16 MB: fill past it first)
        for client in clients:
            for i in range(200):  # ~20 MB a node
                assert client.set(f"big{i}", b"b" * 100000, noreply=False)
            client.close()
        status, doc = f.api("PATCH", "/v1/clusters/mc", {"node_memory_mb": 16})
        assert status == 202, (status, doc)
        f.wait_status("mc", "available")
        for ep in eps:
            stats = dict(line.split(" ", 2)[1:] for line in mc_request(ep, "stats\r\n").split("\r\n")
                         if line.startswith("STAT "))
            assert int(stats["limit_maxbytes"]) == 16 * 1048576, stats["limit_maxbytes"]
            assert int(stats["bytes"]) <= 16 * 1048576 and int(stats["evictions"]) > 0, stats


EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "api", "examples")


def example(f, script, *args):
    env = dict(os.environ, CACHEFLEET_URL=f.url(""), CACHEFLEET_TOKEN=USER_TOKEN, MEMCACHED_NODE_MEMORY_MB="32")
    out = subprocess.run(["bash", os.path.join(EXAMPLES, script)] + list(args), env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, (script, out.stdout + out.stderr)
    return out.stdout


def test_example_script(suite):
    """api/examples/memcached.sh: create with 2 nodes, scale to 3; what it
    prints is what a node serves to config get cluster."""
    with Fleet(suite.args.cachenode) as f:
        text = example(f, "memcached.sh", "ex", "2")
        assert text.count("\nnode ") + text.startswith("node ") == 2 and "discovery version 1: " in text, text
        text = example(f, "memcached.sh", "ex", "3")
        assert "discovery version 2: " in text, text
        entries = text.split("discovery version 2: ")[1].split()
        ep = text.split("configuration: ")[1].split()[0]
        assert config_get_cluster(ep) == (2, entries), (ep, entries)
        assert "deleted ex" in example(f, "delete.sh", "ex")


if __name__ == "__main__":
    suite = Suite()
    sys.exit(suite.run([
        test_create_scale_and_replace_under_a_discovery_client,
        test_bad_input_is_refused,
        test_sentinel_ignores_memcached,
        test_controller_kill9_mid_scale_out_resumes,
        test_memory_resize_is_live,
        test_agent_restart_adopts_memcached_nodes,
        test_lost_host_node_replaced_then_stopped,
        test_example_script,
    ]))
