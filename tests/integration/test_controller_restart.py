"""test_controller_restart: a controller killed with SIGKILL keeps its state
and resumes its operations after a restart, and never re-creates or
restarts a node that exists (same pids before and after)."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import Suite, wait_until  # noqa: E402
from fleetutil import live_cachenodes  # noqa: E402
from test_controller import Fleet, endpoint_client  # noqa: E402


def kill9_and_restart(f):
    f.controller.proc.kill()
    f.controller.proc.wait(timeout=10)
    f.start_controller()


def test_kill9_after_available_keeps_state_and_pids(suite):
    with Fleet(suite.args.cachenode) as f:
        doc = f.create("keep", replicas=2)
        before = f.wait_status("keep", "available")
        endpoint_client(before["endpoints"]["primary"]).set("x", "1")
        pids = {i: n["pid"] for i, n in f.agent_nodes().items()}
        kill9_and_restart(f)
        after = f.cluster("keep")
        assert after["status"] == "available", after
        assert after["nodes"] == before["nodes"] and after["endpoints"] == before["endpoints"]
        assert f.api("GET", f"/v1/operations/{doc['operation']['id']}")[1]["status"] == "succeeded"
        # heartbeats resume; nothing is relaunched
        wait_until(lambda: all(h["status"] == "up" for h in f.hosts()), 10, 0.05, "hosts up again")
        assert {i: n["pid"] for i, n in f.agent_nodes().items()} == pids
        assert f.cluster("keep")["status"] == "available"
        assert endpoint_client(after["endpoints"]["reader"][0]).get("x") == b"1"


def test_kill9_mid_create_resumes_without_duplicates(suite):
    with Fleet(suite.args.cachenode) as f:
        # freeze the third agent: the create stalls at its replica's PUT
        frozen = f.agents[2]
        frozen.proc.send_signal(signal.SIGSTOP)
        try:
            doc = f.create("mid", replicas=2)
            op_id = doc["operation"]["id"]

            def stalled_at_frozen_host():
                op = f.api("GET", f"/v1/operations/{op_id}")[1]
                step = op["current_step"] or {}
                node = [n for n in f.cluster("mid")["nodes"] if n["id"] == step.get("node")]
                return op["status"] == "running" and node and node[0]["host"] == frozen.host_id

            wait_until(stalled_at_frozen_host, 10, 0.01, "the create waits on the frozen agent")
            early = {i: n["pid"] for i, n in f.agent_nodes_except(frozen).items()}
            assert len(early) == 2, early
            f.controller.proc.kill()
            f.controller.proc.wait(timeout=10)
        finally:
            frozen.proc.send_signal(signal.SIGCONT)
        f.start_controller()
        c = f.wait_status("mid", "available", timeout=30)
        op = f.api("GET", f"/v1/operations/{op_id}")[1]
        assert op["status"] == "succeeded" and op["progress"] == 100, op
        nodes = f.agent_nodes()
        assert len(nodes) == 3 and sorted(nodes) == sorted(n["id"] for n in c["nodes"]), nodes
        assert all(nodes[i]["pid"] == pid for i, pid in early.items()), "a node that existed was restarted"
        assert all(n["restarts"] == 0 for n in nodes.values())
        assert len(live_cachenodes({n["pid"] for n in nodes.values()})) == 3
        p = endpoint_client(c["endpoints"]["primary"])
        p.set("after", "restart")
        assert p.wait(2, 5000) == 2
        # Each node launched exactly once: three distinct (node, pid) launches.
        # The last agent's event comes with its next heartbeat, and an agent
        # resends the events of a heartbeat that failed, so wait, and count
        # launches rather than event rows.
        def launches():
            events = f.api("GET", "/v1/events?cluster=mid")[1]["events"]
            return {(e["node"], e["message"].rsplit("pid ", 1)[-1]) for e in events
                    if e["type"] == "agent_node_launched"}
        wait_until(lambda: len(launches()) >= 3, 10, 0.05, "three launch events")
        assert len(launches()) == 3, launches()
        assert len({node for node, _ in launches()}) == 3, launches()


if __name__ == "__main__":
    suite = Suite()
    sys.exit(suite.run([
        test_kill9_after_available_keeps_state_and_pids,
        test_kill9_mid_create_resumes_without_duplicates,
    ]))
