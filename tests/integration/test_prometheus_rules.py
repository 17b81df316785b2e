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
- the agents' redis_exporter-named series (redis_up, redis_commands_total
  {cmd}, redis_db_keys{db}, ...) carry the node labels, pass `promtool
  check metrics` and agree with the node's own INFO; a real Prometheus
  (Debian's, started here on a free port, scraping the agents every
  second) answers every query of the community redis_exporter Grafana
  dashboard (fixtures/redis_exporter_dashboard_763.promql) with data
  while a client keeps the cluster busy;
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
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import Suite, free_port, wait_until  # noqa: E402
from test_controller import Fleet, endpoint_client  # noqa: E402
from fleetutil import AGENT_TOKEN, Process, http  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PROM = os.path.join(HERE, "..", "..", "deploy", "prometheus")
GRAFANA = os.path.join(HERE, "..", "..", "deploy", "grafana", "cachefleet-fleet.json")
LABELS = ("cluster", "shard", "node", "role", "az", "host")
COMMUNITY_DASHBOARD = os.path.join(HERE, "fixtures", "redis_exporter_dashboard_763.promql")
# the redis_exporter names the issue lists, each a series of every Redis node
EXPORTER_NAMES = ("redis_up", "redis_connected_clients", "redis_memory_used_bytes", "redis_memory_max_bytes",
                  "redis_commands_total", "redis_commands_duration_seconds_total", "redis_keyspace_hits_total",
                  "redis_keyspace_misses_total", "redis_db_keys", "redis_db_keys_expiring", "redis_expired_keys_total",
                  "redis_evicted_keys_total", "redis_net_input_bytes_total", "redis_net_output_bytes_total",
                  "redis_connected_slaves", "redis_master_repl_offset", "redis_blocked_clients",
                  "redis_uptime_in_seconds", "redis_commands_processed_total", "redis_instance_info")


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


def series(text, name):
    """{labels text: value} of one family's samples."""
    return {m.group(1): float(m.group(2))
            for m in re.finditer(rf"^{name}{{([^}}]*)}} (\S+)$", text, re.M)}


def check_exporter_text(text, primary_id, info):
    for name in EXPORTER_NAMES:
        found = series(text, name)
        assert found, f"{name} is not served"
        assert all(f'{label}="' in labels for labels in found for label in LABELS), (name, found)
    def one(name, extra=""):
        values = [v for labels, v in series(text, name).items() if f'node="{primary_id}"' in labels and extra in labels]
        assert len(values) == 1, (name, extra, values)
        return values[0]
    assert one("redis_up") == 1
    assert one("redis_db_keys", 'db="db0"') == info["db0"]["keys"]
    assert one("redis_db_keys_expiring", 'db="db0"') == info["db0"]["expires"]
    assert one("redis_memory_max_bytes") == info["maxmemory"]
    assert one("redis_connected_slaves") == info["connected_slaves"] == 1
    assert one("redis_commands_total", 'cmd="set"') >= 200
    assert one("redis_commands_duration_seconds_total", 'cmd="set"') > 0
    assert one("redis_keyspace_misses_total") >= 50
    assert one("redis_errors_total", 'err="ERR"') >= 1
    assert one("redis_connected_slave_offset_bytes") >= 0


def lint(text):
    tool = shutil.which("promtool")
    out = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr  # parses, and names pass its lint


def start_prometheus(root, targets, token_file):
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing (deploy/install-deps.sh installs it)"
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "scrape_configs": [{"job_name": "cachefleet-agents",
                                  "authorization": {"type": "Bearer", "credentials_file": token_file},
                                  "static_configs": [{"targets": targets}]}]}
    with open(os.path.join(root, "prometheus.yml"), "w") as f:
        json.dump(config, f)  # JSON is YAML
    for _ in range(5):
        port = free_port()
        proc = Process(root, "prometheus", [binary, f"--config.file={root}/prometheus.yml",
                                            f"--storage.tsdb.path={root}/tsdb", f"--web.listen-address=127.0.0.1:{port}"])
        proc.start()
        try:
            wait_until(lambda: not proc.alive() or http("GET", f"http://127.0.0.1:{port}/-/ready")[0] == 200, 30, 0.1,
                       "prometheus ready")
        except AssertionError:
            proc.terminate()
            raise
        if proc.alive():
            return proc, f"http://127.0.0.1:{port}"
    raise AssertionError("prometheus did not start: " + proc.log_text()[-2000:])


def prom_query(url, expr):
    status, doc = http("GET", f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert status == 200 and doc["status"] == "success", (expr, status, doc)
    return doc["data"]["result"]


def community_queries():
    with open(COMMUNITY_DASHBOARD) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def test_exporter_series_and_community_dashboard(suite):
    with Fleet(suite.args.cachenode) as f:
        f.create("shop", replicas=1)
        c = f.wait_status("shop", "available", timeout=60)
        primary_id = c["shards"][0]["primary"]
        client = endpoint_client(c["endpoints"]["primary"])
        for i in range(200):
            client.set(f"session:{i}", "x" * 50, ex=3600 if i % 2 else None)
            client.get(f"missing:{i % 50}")
        try:
            client.execute_command("NOSUCHCOMMAND")
        except Exception:
            pass
        client.wait(1, 5000)
        info = client.info("everything")

        def scraped():
            return [http("GET", f"http://{a.address}:{a.port}/metrics", token=AGENT_TOKEN)[1] for a in f.agents]

        got = {}

        def current():
            got["texts"] = scraped()
            got["text"] = "".join(got["texts"])
            keys = series(got["text"], "redis_db_keys")
            return any(f'node="{primary_id}"' in k and v == 200 for k, v in keys.items())
        wait_until(current, 10, 0.1, "the agent's series show the primary's 200 keys")
        check_exporter_text(got["text"], primary_id, info)
        for text in got["texts"]:
            lint(text)

        # a real Prometheus scraping every agent, a client busy meanwhile
        stop = threading.Event()

        def busy():
            i = 0
            while not stop.is_set():
                client.set(f"busy:{i % 100}", i)
                client.get(f"busy:{(i * 7) % 150}")
                i += 1
        worker = threading.Thread(target=busy, daemon=True)
        worker.start()
        root = tempfile.mkdtemp(prefix="prometheus-")
        prom = None
        try:
            prom, url = start_prometheus(root, [f"{a.address}:{a.port}" for a in f.agents], f.agent_token_file)
            wait_until(lambda: len(prom_query(url, "up == 1")) == len(f.agents), 30, 0.2, "every agent scraped")
            instances = http("GET", f"{url}/api/v1/label/instance/values?" +
                             urllib.parse.urlencode({"match[]": "redis_up"}))[1]["data"]
            assert len(instances) >= 2, instances  # the primary's and the replica's agents
            pattern = "|".join(instances)  # a Grafana multi-value variable (dots match themselves too)
            empty = {}
            for raw in community_queries():
                expr = raw.replace("$instance", pattern).replace("$__interval", "1m")
                try:
                    wait_until(lambda: prom_query(url, expr), 20, 0.5, expr)
                except AssertionError:
                    empty[raw] = prom_query(url, expr)
            assert not empty, f"community dashboard queries without data: {empty}"
            print(f"figure: community_dashboard_queries_with_data {len(community_queries())} queries")
        finally:
            stop.set()
            worker.join(10)
            if prom:
                prom.terminate()
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(Suite().run([test_rules_and_config, test_grafana_queries_parse, test_alerts_name_served_series,
                          test_exporter_series_and_community_dashboard]))
