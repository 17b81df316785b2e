"""test_failover: automatic failover, fencing, self-healing, planned failover
and Sentinel discovery, at the process level.

A controller with --sentinel-listen and agents on 127.0.0.2/.3/.4 (.5 when a
test needs a spare host) in zones az-a/b/c; a 1+2 cluster; writes through
redis-py's redis.sentinel.Sentinel, each followed by WAIT 1 and counted as
acknowledged only when WAIT says a replica has it. Every wait is a poll with
a deadline; every process is killed by pid at the end (Fleet.cleanup).

Also used by tests/bench/failover.py (FoFleet, Writer)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import Suite, free_port, wait_until  # noqa: E402
from fleetutil import USER_TOKEN, http  # noqa: E402
from test_controller import Fleet  # noqa: E402

import redis  # noqa: E402
from redis.sentinel import Sentinel  # noqa: E402

CLUSTER_AUTH = None


class FoFleet(Fleet):
    """A Fleet whose controller also serves the Sentinel port."""

    def start_controller(self):
        self.sentinel_port = free_port()
        super().start_controller()

    def controller_options(self):
        return ("--sentinel-listen", f"127.0.0.1:{self.sentinel_port}")

    def lost_port_race(self):
        self.port, self.sentinel_port = None, free_port()

    def sentinel(self):
        return Sentinel([("127.0.0.1", self.sentinel_port)], socket_timeout=0.5)

    def sentinel_raw(self):
        """A plain TCP connection to the Sentinel port."""
        import socket
        return socket.create_connection(("127.0.0.1", self.sentinel_port), timeout=5)

    def primary(self, name):
        c = self.cluster(name)
        pid = c["shards"][0]["primary"]
        return [n for n in c["nodes"] if n["id"] == pid][0]

    def node_pid(self, node_id):
        pid = self.agent_nodes()[node_id]["pid"]
        self.known_pids.add(pid)
        return pid

    def events(self, name):
        return self.api("GET", f"/v1/events?cluster={name}")[1]["events"]

    def agent_of(self, host_id):
        return [a for a in self.agents if a.host_id == host_id][0]

    def kill_agent(self, agent):
        self.node_pids()  # remember its nodes' pids before it goes
        agent.proc.kill()
        agent.proc.wait(timeout=10)
        self.agents.remove(agent)


class Writer(threading.Thread):
    """Writes k0, k1, ... through a Sentinel-managed client; a write counts
    as acknowledged when WAIT 1 confirms a replica has it."""

    def __init__(self, fleet, name, wait_ms=500):
        super().__init__(daemon=True)
        self.master = fleet.sentinel().master_for(name, socket_timeout=0.5, socket_connect_timeout=0.3)
        self.wait_ms = wait_ms
        self.acked = {}          # key -> (monotonic time sent, time acknowledged)
        self.errors = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        i = 0
        while not self.stop.is_set():
            key = f"k{i}"
            i += 1
            started = time.monotonic()
            try:
                self.master.set(key, key)
                if self.master.execute_command("WAIT", 1, self.wait_ms) >= 1:
                    with self.lock:
                        self.acked[key] = (started, time.monotonic())
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                    redis.exceptions.ResponseError):
                self.errors += 1
                time.sleep(0.005)

    def acked_after(self, t):
        """When the writes sent after t were acknowledged: a write in flight at
        t may have been acknowledged by the old primary."""
        with self.lock:
            return sorted(done for started, done in self.acked.values() if started > t)

    def finish(self):
        self.stop.set()
        self.join(timeout=10)
        assert not self.is_alive()
        return dict(self.acked)


def client_for(node, **kw):
    kw.setdefault("socket_timeout", 2)
    return redis.Redis(host=node["address"], port=node["port"], **kw)


def all_present(node, keys):
    r = client_for(node)
    missing = []
    keys = list(keys)
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        vals = r.mget(chunk)
        missing += [k for k, v in zip(chunk, vals) if v is None]
    return missing


def new_primary_after(f, name, old_id, timeout):
    wait_until(lambda: f.cluster(name)["shards"][0]["primary"] != old_id, timeout, 0.005, "a new primary")
    return f.primary(name)


def wait_whole(f, name, timeout=20):
    def whole():
        c = f.cluster(name)
        return c["status"] == "available" and len(c["nodes"]) == 3 and \
            all(n["status"] == "available" for n in c["nodes"])
    wait_until(whole, timeout, 0.02, f"{name} whole and available")
    return f.cluster(name)


# ---- tests -------------------------------------------------------------------


def test_sentinel_discovery(suite):
    with FoFleet(suite.args.cachenode) as f:
        f.create("disc", replicas=2)
        c = f.wait_status("disc", "available")
        p = f.primary("disc")
        s = redis.Redis(host="127.0.0.1", port=f.sentinel_port, socket_timeout=2, decode_responses=True)
        assert s.ping()
        assert s.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "disc") == [p["address"], str(p["port"])]
        assert s.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nope") is None
        masters = s.sentinel_masters()
        assert masters["disc"]["ip"] == p["address"] and masters["disc"]["port"] == p["port"], masters
        assert masters["disc"]["is_master"] and not masters["disc"]["is_sdown"]
        assert masters["disc"]["num-other-sentinels"] == 0 and masters["disc"]["num-slaves"] == 2
        assert s.sentinel_master("disc")["runid"] == p["id"]
        reps = s.sentinel_slaves("disc")
        want = sorted((n["address"], n["port"]) for n in c["nodes"] if n["role"] == "replica")
        assert sorted((r["ip"], r["port"]) for r in reps) == want, reps
        assert all(r["is_slave"] and r["master-link-status"] == "ok" for r in reps), reps
        assert s.execute_command("SENTINEL", "SENTINELS", "disc") == []
        try:
            s.execute_command("SENTINEL", "MASTER", "nope")
            raise AssertionError("unknown master accepted")
        except redis.exceptions.ResponseError as e:
            assert "No such master" in str(e)
        sent = f.sentinel()
        assert sent.discover_master("disc") == (p["address"], p["port"])
        assert sorted(sent.discover_slaves("disc")) == want
        m = sent.master_for("disc", socket_timeout=2)
        assert m.set("x", "1") and m.get("x") == b"1"
        switch_master_published(f, "disc", p)


def next_message(ps, timeout):
    """The next pub/sub message (not a subscribe confirmation), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = ps.get_message(ignore_subscribe_messages=True, timeout=0.05)
        if m is not None:
            return m
    return None


def raw_exchange(f, request, want):
    """Sends raw bytes to the Sentinel port and checks the exact bytes back."""
    raw = f.sentinel_raw()
    raw.sendall(request)
    got = b""
    deadline = time.monotonic() + 5
    while len(got) < len(want) and time.monotonic() < deadline:
        got += raw.recv(4096)
    raw.close()
    assert got == want, got


def many_channels_in_one_command(f):
    """One SUBSCRIBE may name many channels (the port once parsed only 8 arguments)."""
    names = [b"ch%d" % i for i in range(12)]
    raw_exchange(f, b"*13\r\n$9\r\nSUBSCRIBE\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(n), n) for n in names),
                 b"".join(b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:%d\r\n" % (len(n), n, i + 1)
                          for i, n in enumerate(names)))


def switch_master_published(f, name, old):
    """A planned failover is announced on the Sentinel port as +switch-master,
    to subscribers of the channel and of a matching pattern."""
    s = redis.Redis(host="127.0.0.1", port=f.sentinel_port, socket_timeout=2, decode_responses=True)
    ps = s.pubsub()
    ps.subscribe("+switch-master")
    ps.psubscribe("+switch-*")
    assert [ps.get_message(timeout=2)["type"] for _ in range(2)] == ["subscribe", "psubscribe"]
    raw_exchange(f, b"SUBSCRIBE +switch-master\r\nSENTINEL MASTERS\r\nPING\r\nUNSUBSCRIBE\r\nUNSUBSCRIBE\r\nPING\r\n",
                 b"*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n"
                 b"-ERR Can't execute 'sentinel': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                 b"are allowed in this context\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n"
                 b"*3\r\n$11\r\nunsubscribe\r\n$14\r\n+switch-master\r\n:0\r\n"
                 b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n+PONG\r\n")
    many_channels_in_one_command(f)
    assert next_message(ps, 0.3) is None  # nothing moved yet
    status, doc = f.api("POST", f"/v1/clusters/{name}/failover", {"shard": "0001"})
    assert status == 202, (status, doc)
    m1, m2 = next_message(ps, 10), next_message(ps, 2)
    new = f.primary(name)
    payload = f"{name} {old['address']} {old['port']} {new['address']} {new['port']}"
    assert new["id"] != old["id"]
    got = sorted([(m1["type"], m1["channel"], m1["data"]), (m2["type"], m2["channel"], m2["data"])])
    assert got == [("message", "+switch-master", payload), ("pmessage", "+switch-master", payload)], got
    assert next_message(ps, 0.3) is None  # once per switch
    ps.close()


def test_kill_primary_under_load(suite):
    with FoFleet(suite.args.cachenode) as f:
        f.create("fo", replicas=2)
        f.wait_status("fo", "available")
        old = f.primary("fo")
        pid = f.node_pid(old["id"])
        w = Writer(f, "fo")
        w.start()
        wait_until(lambda: len(w.acked) >= 200, 10, 0.01, "writes acknowledged before the kill")
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        new = new_primary_after(f, "fo", old["id"], 5)
        assert new["az"] != old["az"]
        wait_until(lambda: w.acked_after(killed), 5, 0.005, "a write acknowledged by the new primary")
        first = w.acked_after(killed)[0] - killed
        wait_until(lambda: len(w.acked_after(killed)) >= 200, 10, 0.01, "writes flowing on the new primary")
        acked = w.finish()
        print(f"    kill -9 -> first acknowledged write on the new primary: {first * 1000:.0f} ms "
              f"({len(acked)} acknowledged writes, {w.errors} errors)")
        assert first < 3.0, first
        missing = all_present(f.primary("fo"), acked)
        assert missing == [], f"{len(missing)} acknowledged writes lost: {missing[:10]}"
        # clients can be writing to the new primary before the operation's
        # last steps (the write guard) are done
        wait_until(lambda: "failover_completed" in [e["type"] for e in f.events("fo")], 10, 0.02,
                   "the failover operation completes")
        types = [e["type"] for e in f.events("fo")]
        for t in ("failover_started", "replica_promoted", "failover_completed"):
            assert t in types, types
        # healed in place: the agent relaunches the old primary as a replica of the new one
        c = wait_whole(f, "fo")
        assert [n["role"] for n in c["nodes"] if n["id"] == old["id"]] == ["replica"]
        assert all_present([n for n in c["nodes"] if n["id"] == old["id"]][0], acked) == []
        status, text = http("GET", f.url("/metrics"), token=USER_TOKEN)
        assert 'cachefleet_failovers_total{cluster="fo",cause="node_down",outcome="succeeded"} 1' in text, text[-2000:]
        assert 'cachefleet_failovers_in_progress{cluster="fo"} 0' in text, text[-2000:]
        promtool = shutil.which("promtool")
        assert promtool, "promtool is missing (deploy/install-deps.sh installs the prometheus package)"
        out = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
        assert out.returncode == 0, out.stdout.decode() + out.stderr.decode()


def test_agent_killed_node_healthy_no_failover(suite):
    with FoFleet(suite.args.cachenode) as f:
        f.create("calm", replicas=2)
        f.wait_status("calm", "available")
        old = f.primary("calm")
        victim = f.agent_of(old["host"])
        f.kill_agent(victim)
        f.wait_status("calm", "degraded", timeout=10)  # the host is silent past --agent-timeout-ms
        seen = f.events("calm")[-1]["id"]
        deadline = time.monotonic() + 2.0  # the failover pass runs every 50 ms: 40 chances to act
        while time.monotonic() < deadline:
            assert f.primary("calm")["id"] == old["id"]
            time.sleep(0.05)
        types = [e["type"] for e in f.events("calm")]
        assert "failover_started" not in types and "node_replacing" not in types, types
        assert client_for(old).set("still", "writable")
        assert seen > 0
        f.start_agent(victim.host_id, victim.address, victim.az)  # adopts its node
        wait_whole(f, "calm")
        assert f.primary("calm")["id"] == old["id"]


def test_host_lost_failover_and_replacement(suite):
    with FoFleet(suite.args.cachenode) as f:
        f.create("heal", replicas=2)
        f.wait_status("heal", "available")
        spare = f.start_agent("h4", "127.0.0.5", "az-a")
        wait_until(lambda: any(h["id"] == "h4" and h["status"] == "up" for h in f.hosts()), 10, 0.02, "h4 up")
        old = f.primary("heal")
        pid = f.node_pid(old["id"])
        w = Writer(f, "heal")
        w.start()
        wait_until(lambda: len(w.acked) >= 100, 10, 0.01, "writes before the host goes")
        f.kill_agent(f.agent_of(old["host"]))
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        new_primary_after(f, "heal", old["id"], 5)
        took = time.monotonic() - killed
        wait_until(lambda: w.acked_after(killed), 5, 0.005, "writes on the new primary")
        print(f"    agent + node killed -> new primary in {took * 1000:.0f} ms")
        assert took < 3.0, took
        c = wait_whole(f, "heal", timeout=30)  # a new replica on the spare host, synced
        assert old["id"] not in [n["id"] for n in c["nodes"]]
        assert old["host"] not in [n["host"] for n in c["nodes"]]
        assert spare.host_id in [n["host"] for n in c["nodes"]] or len({n["az"] for n in c["nodes"]}) == 3
        acked = w.finish()
        assert all_present(f.primary("heal"), acked) == []
        types = [e["type"] for e in f.events("heal")]
        assert "node_replacing" in types and "replica_synced" in types, types


def pid_alive(pid):
    """The process exists and has not ended (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_returning_host_stops_abandoned_node(suite):
    """A host frozen until its primary is replaced comes back: the controller
    has its agent stop the node it gave up on, and nothing else changes."""
    with FoFleet(suite.args.cachenode) as f:
        f.create("orphan", replicas=2)
        f.wait_status("orphan", "available")
        f.start_agent("h4", "127.0.0.5", "az-a")
        wait_until(lambda: any(h["id"] == "h4" and h["status"] == "up" for h in f.hosts()), 10, 0.02, "h4 up")
        old = f.primary("orphan")
        pid = f.node_pid(old["id"])
        frozen = [f.agent_of(old["host"]).proc.pid, pid]
        for p in frozen:
            os.kill(p, signal.SIGSTOP)
        try:
            new_primary_after(f, "orphan", old["id"], 5)
            wait_until(lambda: "node_abandoned" in [e["type"] for e in f.events("orphan")], 30, 0.05,
                       "the old primary abandoned once replaced")
            wait_until(lambda: old["id"] not in [n["id"] for n in f.cluster("orphan")["nodes"]], 30, 0.05,
                       "the old primary forgotten")
            assert pid_alive(pid)
        finally:
            for p in frozen:
                os.kill(p, signal.SIGCONT)
        thawed = time.monotonic()
        wait_until(lambda: not pid_alive(pid), 15, 0.02, "the abandoned node stopped by its agent")
        print(f"    host back -> abandoned node stopped in {(time.monotonic() - thawed) * 1000:.0f} ms")
        wait_until(lambda: "abandoned_node_stopped" in [e["type"] for e in f.events("orphan")], 10, 0.05,
                   "the abandoned_node_stopped event")
        c = wait_whole(f, "orphan", timeout=30)
        assert old["id"] not in [n["id"] for n in c["nodes"]]
        assert f.primary("orphan")["id"] != old["id"]


def test_sigstop_primary_is_fenced(suite):
    with FoFleet(suite.args.cachenode) as f:
        f.create("fence", replicas=2)
        f.wait_status("fence", "available")
        old = f.primary("fence")
        pid = f.node_pid(old["id"])
        early = client_for(old)  # a client of the old primary from before the freeze
        assert early.set("before", "1")
        stopped = time.monotonic()
        os.kill(pid, signal.SIGSTOP)
        try:
            new = new_primary_after(f, "fence", old["id"], 5)
            wait_until(lambda: client_for(new).set("after", "1"), 5, 0.01, "writes on the new primary")
            # frozen longer than min-replicas-max-lag (2 s): on waking it has no fresh replica
            time.sleep(max(0.0, stopped + 3.0 - time.monotonic()))
        finally:
            os.kill(pid, signal.SIGCONT)
        try:
            early.set("lost", "1")
            raise AssertionError("the old primary took a write after waking")
        except redis.exceptions.ResponseError as e:
            assert str(e).startswith(("NOREPLICAS", "READONLY")), e
        wait_until(lambda: client_for(old).info("replication")["role"] == "slave", 10, 0.02, "old primary demoted")
        try:
            early.set("lost", "1")
            raise AssertionError("the demoted primary took a write")
        except redis.exceptions.ReadOnlyError:
            pass
        c = wait_whole(f, "fence")
        assert [n["role"] for n in c["nodes"] if n["id"] == old["id"]] == ["replica"]
        assert client_for(f.primary("fence")).get("lost") is None
        types = [e["type"] for e in f.events("fence")]
        assert "node_fenced" in types or "node_spec_applied" in types, types


def test_planned_failover(suite):
    with FoFleet(suite.args.cachenode) as f:
        f.create("plan", replicas=2)
        f.wait_status("plan", "available")
        old = f.primary("plan")
        w = Writer(f, "plan")
        w.start()
        wait_until(lambda: len(w.acked) >= 200, 10, 0.01, "writes before the switch")
        status, doc = f.api("POST", "/v1/clusters/plan/failover", {"shard": "0001"})
        assert status == 202, (status, doc)
        op = doc["operation"]["id"]
        wait_until(lambda: f.api("GET", f"/v1/operations/{op}")[1]["status"] in ("succeeded", "failed"), 20, 0.02,
                   "the planned failover")
        assert f.api("GET", f"/v1/operations/{op}")[1]["status"] == "succeeded"
        switched = time.monotonic()
        new = f.primary("plan")
        assert new["id"] != old["id"]
        wait_until(lambda: len(w.acked_after(switched)) >= 100, 10, 0.01, "writes on the new primary")
        acked = w.finish()
        assert all_present(new, acked) == []
        c = wait_whole(f, "plan")
        assert [n["role"] for n in c["nodes"] if n["id"] == old["id"]] == ["replica"]
        assert client_for(old).info("replication")["role"] == "slave"
        # the curl example switches back, the token never on a command line
        examples = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "api", "examples")
        env = dict(os.environ, CACHEFLEET_URL=f.url(""), CACHEFLEET_TOKEN=USER_TOKEN)
        out = subprocess.run(["bash", os.path.join(examples, "failover.sh"), "plan"], env=env, capture_output=True,
                             timeout=120)
        text = out.stdout.decode() + out.stderr.decode()
        assert out.returncode == 0 and "primary: 127.0.0." in text, text
        assert f.primary("plan")["id"] != new["id"]
        status, doc = f.api("POST", "/v1/clusters/plan/failover", {"shard": "0009"})
        assert status == 404 and doc["error"]["code"] == "ShardNotFound", (status, doc)
        assert f.api("POST", "/v1/clusters/plan/failover", {"nope": 1})[0] == 400
        status, doc = f.api("POST", "/v1/clusters/none/failover", {"shard": "0001"})
        assert status == 404 and doc["error"]["code"] == "ClusterNotFound", (status, doc)
        failover_metrics_after_delete(f, "plan")


def failover_metrics_after_delete(f, name):
    """A failover counts once it ends, never as "running"; while it waits it
    is in cachefleet_failovers_in_progress, and one that a delete supersedes
    ends too (failed), so none stays in progress. The replicas are stopped
    (SIGSTOP) so that the planned failover waits at its catch_up step."""
    c = wait_whole(f, name)
    pids = [f.node_pid(n["id"]) for n in c["nodes"] if n["role"] == "replica"]
    before = http("GET", f.url("/metrics"), token=USER_TOKEN)[1]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        status, doc = f.api("POST", f"/v1/clusters/{name}/failover", {"shard": "0001"})
        assert status == 202, (status, doc)
        op = doc["operation"]["id"]
        wait_until(lambda: (f.api("GET", f"/v1/operations/{op}")[1]["current_step"] or {}).get("action") == "catch_up",
                   10, 0.02, "the failover waiting for a stopped replica")
        during = http("GET", f.url("/metrics"), token=USER_TOKEN)[1]
        assert f'cachefleet_failovers_in_progress{{cluster="{name}"}} 1' in during, during
        assert f.api("DELETE", f"/v1/clusters/{name}")[0] == 202
        assert f.api("GET", f"/v1/operations/{op}")[1]["error"] == "superseded by a delete"
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    wait_until(lambda: f.api("GET", f"/v1/clusters/{name}")[0] == 404, 30, 0.02, f"{name} deleted")
    after = http("GET", f.url("/metrics"), token=USER_TOKEN)[1]
    assert all('outcome="running"' not in t for t in (before, during, after)), during
    assert f'cachefleet_failovers_in_progress{{cluster="{name}"}} 0' in after, after
    line = 'cachefleet_failovers_total{cluster="%s",cause="planned",outcome="%s"} %d'
    assert line % (name, "succeeded", 2) in after and line % (name, "failed", 1) in after, after


if __name__ == "__main__":
    suite = Suite()
    sys.exit(suite.run([
        test_sentinel_discovery,
        test_kill_primary_under_load,
        test_agent_killed_node_healthy_no_failover,
        test_host_lost_failover_and_replacement,
        test_returning_host_stops_abandoned_node,
        test_sigstop_primary_is_fenced,
        test_planned_failover,
    ]))
