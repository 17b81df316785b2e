"""test_prometheus_rules: deploy/prometheus/ (the scrape configuration and
the alert rules) and deploy/grafana/ (the fleet dashboard) are valid and
query series the fleet really serves.

- `promtool check rules alerts.yml` and `promtool test rules
  alerts_test.yml` (every alert fires when it should and not before, with
  its labels and texts);
- `promtool check config prometheus.yml` with its token files pointed at
  files that exist;
- every query of the Grafana dashboard parses (`promtool check rules` on
  them as recording rules, its $cluster variable as .*);
- a Fleet (test_controller.py) with a cluster whose replica is stopped
  (SIGSTOP), then continued and a planned failover made: every
  cachefleet_* series an alert or a dashboard panel names is in the /metrics
  of the controller or of an agent, with the node labels, and the values
  the node-down, degraded and failover alerts test for are there.

Every process is stopped by pid at the end (Fleet.cleanup)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import Suite, wait_until  # noqa: E402
from test_controller import Fleet  # noqa: E402
from fleetutil import AGENT_TOKEN, http  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PROM = os.path.join(HERE, "..", "..", "deploy", "prometheus")
GRAFANA = os.path.join(HERE, "..", "..", "deploy", "grafana", "cachefleet-fleet.json")
LABELS = ("cluster", "shard", "node", "role", "az", "host")


def promtool(*args, cwd=PROM):
    tool = shutil.which("promtool")
    assert tool, "promtool is missing (deploy/install-deps.sh installs the prometheus package)"
    out = subprocess.run([tool, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, (args, out.stdout, out.stderr)
    return out.stdout


def test_rules_and_config(suite):
    assert "SUCCESS: 7 rules found" in promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")
    work = tempfile.mkdtemp(prefix="prometheus-config-")
    try:
        with open(os.path.join(PROM, "prometheus.yml")) as f:
            config = f.read()
        for name in ("api.token", "agent.token"):
            path = os.path.join(work, name)
            with open(path, "w") as t:
                t.write("0123456789abcdef0123456789abcdef\n")
            config = config.replace(f"/etc/cachefleet/{name}", path)
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write(config)
        shutil.copy(os.path.join(PROM, "alerts.yml"), work)
        assert "SUCCESS" in promtool("check", "config", "prometheus.yml", cwd=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def panel_queries():
    """Every PromQL query of the Grafana dashboard, its variable filled in."""
    with open(GRAFANA) as f:
        dash = json.load(f)
    return [t["expr"].replace("$cluster", ".*") for p in dash["panels"] for t in p["targets"]]


def test_grafana_queries_parse(suite):
    queries = panel_queries()
    assert len(queries) >= 15, queries
    work = tempfile.mkdtemp(prefix="grafana-queries-")
    try:
        rules = {"groups": [{"name": "panels", "rules": [{"record": f"panel_query_{i}", "expr": q}
                                                          for i, q in enumerate(queries)]}]}
        with open(os.path.join(work, "panels.yml"), "w") as f:
            json.dump(rules, f)  # JSON is YAML
        assert f"SUCCESS: {len(queries)} rules found" in promtool("check", "rules", "panels.yml", cwd=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def queried_series():
    """The cachefleet_* series the alerts and the dashboard's panels name."""
    with open(os.path.join(PROM, "alerts.yml")) as f:
        exprs = re.findall(r"expr: (.*)", f.read()) + panel_queries()
    return sorted(set(re.findall(r"\b(cachefleet_[a-z_]+)", "\n".join(exprs))))


def test_alerts_name_served_series(suite):
    with Fleet(suite.args.cachenode) as f:
        f.create("watched", replicas=1)
        c = f.wait_status("watched", "available", timeout=60)
        replica = c["shards"][0]["replicas"][0]
        pid = f.agent_nodes()[replica]["pid"]

        def scraped():
            ctl = f.api("GET", "/metrics")[1]
            return ctl + "".join(http("GET", f"http://{a.address}:{a.port}/metrics", token=AGENT_TOKEN)[1]
                                 for a in f.agents)
        # the agent restarts a crashed replica; a stopped one (SIGSTOP) just stops answering
        os.kill(pid, signal.SIGSTOP)
        try:
            f.wait_status("watched", "degraded", timeout=30)

            def reported():
                text = scraped()
                return re.search(rf'cachefleet_node_up{{[^}}]*node="{replica}"[^}}]*}} 0\n', text) and \
                    "cachefleet_node_memory_used_bytes{" in text
            wait_until(reported, 30, 0.1, "the replica reported down, the primary's memory reported")
            text = scraped()
        finally:
            os.kill(pid, signal.SIGCONT)
        # a planned failover puts the first series of cachefleet_failovers_total there
        f.wait_status("watched", "available", timeout=60)
        status, doc = f.api("POST", "/v1/clusters/watched/failover", {"shard": "0001"})
        assert status == 202, (status, doc)
        op = doc["operation"]["id"]
        wait_until(lambda: f.api("GET", f"/v1/operations/{op}")[1]["status"] == "succeeded", 30, 0.05, "failover")
        # and, with both nodes up again, the replica's lag
        wait_until(lambda: "cachefleet_node_replication_lag_bytes{" in scraped(), 30, 0.1, "the replica's lag reported")
        text += scraped()
        assert 'cachefleet_failovers_total{cluster="watched",cause="planned",outcome="succeeded"} 1' in text
        for name in queried_series():
            lines = [line for line in text.splitlines() if line.startswith(name + "{")]
            if name.startswith("cachefleet_slot_move") or name == "cachefleet_slots_moved_total":
                # series of clusters that resharded (test_controller_resharding); declared here
                assert f"# TYPE {name} " in text, name
                continue
            assert lines, (f"{name}: queried, served by no /metrics",
                           [line for line in text.splitlines() if "cachefleet_node_" in line and "#" not in line])
            if name.startswith("cachefleet_node_"):
                assert all(f'{label}="' in lines[0] for label in LABELS), lines[0]
        assert re.search(r'cachefleet_cluster_status\{cluster="watched",engine="redis",status="degraded"\} 1', text), \
            [line for line in text.splitlines() if "cluster_status" in line]


if __name__ == "__main__":
    sys.exit(Suite().run([test_rules_and_config, test_grafana_queries_parse, test_alerts_name_served_series]))
