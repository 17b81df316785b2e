"""test_agent_cluster_mode: the agent's side of cluster mode (docs/cluster.md)
at the process level, with a fake controller (test_agent.Fixture).

A node spec with cluster_mode launches cachenode with --cluster-enabled yes;
a spec's topology is applied with CLUSTER SETTOPOLOGY as a live change (the
same process), again after the node restarts and after the agent adopts it,
and retried while the node refuses it; GET shows the epoch the node runs.
Skipped, with the reason, only when cachenode has no cluster mode."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import wait_until  # noqa: E402
from test_agent import TOKEN, Fixture, client, spec  # noqa: E402
from test_controller_cluster_mode import run_with_cluster_mode  # noqa: E402

AUTH = "agent-cluster-secret-0123456789"


def cspec(**kw):
    s = spec(cluster="cm", cluster_mode=True, auth_token=AUTH)
    s.update(kw)
    return s


def topology(epoch, primary, replica, slots="0-16383"):
    """One shard: primary first, then the replica (nodes as the agent shows them)."""
    return {"epoch": epoch, "shards": [{"id": "0001", "slots": slots, "nodes": [
        {"id": n["id"], "host": "127.0.0.1", "port": n["port"]} for n in (primary, replica)]}]}


def cluster_info(node):
    text = client(node, password=AUTH).execute_command("CLUSTER", "INFO").decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def runs_epoch(a, node_id, epoch, timeout=10):
    wait_until(lambda: a.node(node_id)["topology_epoch"] == epoch, timeout, 0.01, f"{node_id} runs epoch {epoch}")
    return a.node(node_id)


def pair(a):
    """A cluster-mode primary and its replica, up, without a topology yet."""
    status, p = a.call("PUT", "/v1/nodes/cm-0001-001", cspec())
    assert status == 201 and p["cluster_mode"] is True and p["topology_epoch"] is None, (status, p)
    p = a.wait_health("cm-0001-001", "up")
    status, r = a.call("PUT", "/v1/nodes/cm-0001-002",
                       cspec(role="replica", primary={"host": "127.0.0.1", "port": p["port"]}))
    assert status == 201, (status, r)
    return p, a.wait_health("cm-0001-002", "up")


def test_topology_is_a_live_change(suite):
    with Fixture(suite) as f:
        a = f.agent
        p, r = pair(a)
        cmdline = open(f"/proc/{p['pid']}/cmdline", "rb").read().split(b"\0")
        assert b"--cluster-enabled" in cmdline and cmdline[cmdline.index(b"--cluster-enabled") + 1] == b"yes", cmdline
        assert cluster_info(p)["cluster_state"] == "fail"  # no topology yet
        for epoch, slots in ((1, "0-16383"), (2, "0-8191,8192-16383")):
            t = topology(epoch, p, r, slots)
            for n, role in ((p, {}), (r, {"role": "replica", "primary": {"host": "127.0.0.1", "port": p["port"]}})):
                status, doc = a.call("PUT", f"/v1/nodes/{n['id']}", cspec(generation=1 + epoch, topology=t, **role))
                assert status == 200 and doc["pid"] == n["pid"], (status, doc)  # live: never a relaunch
                assert doc["desired_topology_epoch"] == epoch and "topology" not in doc, doc
            for n in (p, r):
                assert runs_epoch(a, n["id"], epoch)["pid"] == n["pid"]
                assert cluster_info(n)["cluster_state"] == "ok"
        # replaying the spec changes nothing
        status, doc = a.call("PUT", f"/v1/nodes/{p['id']}", cspec(generation=3, topology=topology(2, p, r, "0-8191,8192-16383")))
        assert status == 200 and doc["pid"] == p["pid"] and doc["topology_epoch"] == 2, doc
        # cluster_mode is the node's identity; a topology needs it; a bad one is refused
        status, doc = a.call("PUT", f"/v1/nodes/{p['id']}", cspec(generation=4, cluster_mode=False))
        assert status == 409 and doc["error"]["code"] == "ImmutableField", doc
        for bad in ({"cluster_mode": False, "topology": topology(3, p, r)},
                    {"topology": topology(3, p, r, slots="0-16384")},
                    {"topology": {"epoch": 3, "shards": []}}):
            status, doc = a.call("PUT", f"/v1/nodes/{p['id']}", cspec(generation=4, **bad))
            assert status == 400 and doc["error"]["code"] == "InvalidParameterValue", (bad, doc)
        log = a.log_tail(100000)
        assert AUTH not in log and TOKEN not in log


def test_restart_adoption_and_refusal(suite):
    with Fixture(suite) as f:
        a = f.agent
        p, r = pair(a)
        rep = {"role": "replica", "primary": {"host": "127.0.0.1", "port": p["port"]}}
        t = topology(5, p, r)
        assert a.call("PUT", f"/v1/nodes/{p['id']}", cspec(generation=2, topology=t))[0] == 200
        assert a.call("PUT", f"/v1/nodes/{r['id']}", cspec(generation=2, topology=t, **rep))[0] == 200
        runs_epoch(a, r["id"], 5)
        # a crashed replica is relaunched and runs the topology again
        os.kill(r["pid"], signal.SIGKILL)
        wait_until(lambda: a.node(r["id"])["pid"] not in (None, r["pid"]), 10, 0.01, "the replica restarted")
        r2 = runs_epoch(a, r["id"], 5)
        assert cluster_info(r2)["cluster_state"] == "ok"
        # a restarted agent adopts the nodes and replays their topology (same epoch: accepted)
        assert a.terminate() == 0
        a.start()
        assert runs_epoch(a, p["id"], 5)["pid"] == p["pid"]
        assert runs_epoch(a, r["id"], 5)["pid"] == r2["pid"]
        # an older epoch than the node has is refused by the node: the agent
        # keeps the spec, says why, and retries; a newer one then goes through
        status, doc = a.call("PUT", f"/v1/nodes/{p['id']}", cspec(generation=3, topology=topology(4, p, r2)))
        assert status == 200 and doc["pid"] == p["pid"], doc
        wait_until(lambda: "stale topology epoch" in (a.node(p["id"])["last_error"] or ""), 10, 0.02,
                   "the refusal shown")
        assert a.node(p["id"])["topology_epoch"] == 5
        status, doc = a.call("PUT", f"/v1/nodes/{p['id']}", cspec(generation=4, topology=topology(6, p, r2)))
        assert status == 200, doc
        runs_epoch(a, p["id"], 6)


if __name__ == "__main__":
    sys.exit(run_with_cluster_mode("test_agent_cluster_mode",
                                   [test_topology_is_a_live_change, test_restart_adoption_and_refusal]))
