"""test_dashboard_fleet: the operators' dashboard at fleet scale, issue 15's
acceptance target: "The dashboard page loads in under 1 s from a local
controller with 100 clusters and 1000 nodes (a synthetic fleet), and its
live updates cost the controller under 5% of one core."

The fleet: one controller (test_controller.Fleet, without real agents) and
fakeagent.py, one process playing 10 agents (hosts h01-h10 on 127.0.77.1-10,
zones az-a, az-b, az-c): each registers and heartbeats every second with
every node's observation (memory, ops, clients, keys, offsets, keyspace
hits and misses, evictions, replication lag) and answers the controller's
node API and the RESP commands the controller sends nodes, without
launching a process. Through the REST API, 100 clusters of 1000 nodes in
all are created and awaited until available: 30 redis primary/replicas
(1 primary, 4 replicas), 45 redis cluster-mode (5 shards of 2), 5 redis
cluster-mode (20 shards of 2) and 20 memcached (10 nodes).

Measured, and printed as "figure: NAME VALUE UNIT" lines:
- what each call the page makes costs the controller (response size and
  time, median of 3, over urllib);
- page load, in Debian's headless Chromium through Selenium: after logging
  in through the page's form, /dashboard is loaded fresh 3 times and timed
  from navigation start until the fleet view lists all 100 clusters (the DOM
  polled; PerformanceNavigationTiming printed too); then one cluster's view
  (the 40-node one), from the click until all its nodes are listed;
- the live updates' cost: the controller's CPU time (utime + stime from
  /proc/PID/stat) over 20 s with the page closed (about:blank; heartbeats
  flowing), 20 s with the fleet view open (it refreshes every second over
  the REST API) and 20 s with the cluster view open. Each condition's 20 s
  are 4 slices of 5 s, interleaved (closed, fleet, cluster, cluster, fleet,
  closed, ...), each starting once its view shows: the controller's CPU
  with no page at all wanders by a few % of a core from one 5 s to the next
  on this 2-core machine, with builds beside it, and interleaving makes
  that weigh on every condition alike. The page's cost is a view's share of
  one core minus the closed page's. The controller's threads and the fake
  agent's own CPU are printed too.

Asserted: the best of the 3 loads under 1000 ms, and the page's cost under
5% of one core in both views (and that the page did refresh during each
window). In the sanitizer build (its controller has __asan_init) timing
targets mean nothing: the figures are printed, not asserted. Skipped, with
the reason, when Chromium, chromedriver or Selenium is missing.

Every wait polls with a deadline; the controller, the fake agent, chromedriver
and Chromium (by the pids found under chromedriver) are stopped at the end.
ctest runs this test alone (RUN_SERIAL), so that no other test shares the
two cores while it measures."""
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodeutil import Suite, wait_until  # noqa: E402
from fleetutil import USER_TOKEN, Process, http  # noqa: E402
from test_controller import Fleet  # noqa: E402
from test_dashboard import browser_missing, start_browser  # noqa: E402

HOSTS, ZONES, ADDRESS_PREFIX = 10, 3, "127.0.77."
# (name prefix, count, create body): 100 clusters, 1000 nodes
PLAN = [
    ("web", 30, {"engine": "redis", "shards": 1, "replicas": 4}),
    ("shop", 45, {"engine": "redis", "cluster_mode": True, "shards": 5, "replicas": 1}),
    ("big", 5, {"engine": "redis", "cluster_mode": True, "shards": 20, "replicas": 1}),
    ("mc", 20, {"engine": "memcached", "nodes": 10}),
]
CLUSTERS, NODES = 100, 1000
BIG = "big-00"  # the cluster whose view is timed: 40 nodes
BIG_NODES = 40
WINDOW_S = 20  # seconds of measurement per condition
SLICES = 4  # ... in this many interleaved slices
LOAD_MS_MAX = 1000
PAGE_CPU_PCT_MAX = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def figure(name, value, unit):
    print(f"figure: {name} {value:.1f} {unit}" if isinstance(value, float) else f"figure: {name} {value} {unit}",
          flush=True)


def is_sanitizer_build(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


# ---- processes --------------------------------------------------------------


def proc_stat(pid):
    """The fields of /proc/PID/stat after the command name (state first)."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()


def cpu_seconds(pid):
    f = proc_stat(pid)
    return (int(f[11]) + int(f[12])) / CLOCK_TICKS  # utime, stime


def descendants(pid):
    """(pid, start time) of every process under pid."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                f = proc_stat(d)
            except (OSError, ValueError):
                continue
            children.setdefault(int(f[1]), []).append((int(d), f[19]))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child[0])
    return out


def kill_if_same(pid, start):
    """SIGKILL to pid if it is still the process that started at start."""
    try:
        if proc_stat(pid)[19] == start:
            os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError, IndexError):
        pass


class FakeFleet(Fleet):
    """A controller (Fleet without agents) and fakeagent.py's hosts."""

    def __init__(self, cachenode):
        super().__init__(cachenode, agents=())
        self.fake = None

    def start(self):
        super().start()
        ready = os.path.join(self.root, "fakeagent.ready")
        here = os.path.dirname(os.path.abspath(__file__))
        self.fake = Process(self.root, "fakeagent", [
            sys.executable, os.path.join(here, "fakeagent.py"), "--controller", self.url(""),
            "--token-file", self.agent_token_file, "--hosts", str(HOSTS), "--zones", str(ZONES),
            "--address-prefix", ADDRESS_PREFIX, "--memory-mb", "16384", "--ready-file", ready]).start()

        def up():
            assert self.fake.alive(), "fakeagent exited:\n" + self.fake.log_text()[-2000:]
            return os.path.exists(ready)
        wait_until(up, 20, 0.05, "the fake agents registered")
        wait_until(lambda: sum(h["status"] == "up" for h in self.hosts()) == HOSTS, 10, 0.05, "fake hosts up")
        return self

    def dump_logs(self):
        super().dump_logs()
        text = self.controller.log_text() if self.controller else ""
        if "ERROR: AddressSanitizer" in text:  # its stack is above the tail printed
            report = text[text.index("ERROR: AddressSanitizer"):].splitlines()
            print("--- controller's sanitizer report:\n" + "\n".join(report[:40]))
        if self.fake:
            print("--- fakeagent log (tail):\n" + "\n".join(self.fake.log_text().splitlines()[-40:]))

    def cleanup(self):
        if self.fake:
            self.fake.terminate(timeout=10)
        super().cleanup()


# ---- the fleet ----------------------------------------------------------------


def build_fleet(f, deadline_s):
    start = time.monotonic()
    for prefix, count, body in PLAN:
        for i in range(count):
            status, doc = f.api("POST", "/v1/clusters", dict(body, name=f"{prefix}-{i:02d}", node_memory_mb=64))
            assert status == 202, (status, doc)
    state = {}

    def settled():  # every cluster available, or one not created (that fails at once)
        clusters = state["clusters"] = f.api("GET", "/v1/clusters")[1]["clusters"]
        return all(c["status"] != "creating" for c in clusters)
    wait_until(settled, deadline_s, 0.5, "100 clusters available")
    took = time.monotonic() - start
    clusters = state["clusters"]
    failed = {c["name"]: c["status"] for c in clusters if c["status"] != "available"}
    assert not failed, f"clusters not created: {failed}"
    nodes = [n for c in clusters for n in c["nodes"]]
    assert len(clusters) == CLUSTERS and len(nodes) == NODES, (len(clusters), len(nodes))
    assert all(n["status"] == "available" and n["health"] == "up" for n in nodes), \
        [n for n in nodes if n["status"] != "available" or n["health"] != "up"][:3]
    hosts = f.hosts()
    assert len({h["az"] for h in hosts}) == ZONES and sum(len(h["nodes"]) for h in hosts) == NODES, hosts
    figure("fleet_create_to_available", took, "s")
    figure("fleet_clusters", len(clusters), "clusters")
    figure("fleet_nodes", len(nodes), "nodes")
    return clusters


def api_figures(f):
    """Each call the page makes: response size and time (median of 3)."""
    calls = [("clusters", "/v1/clusters"), ("hosts", "/v1/hosts"), ("clusters_summary", "/v1/clusters?view=summary"),
             ("hosts_summary", "/v1/hosts?view=summary"), ("events", "/v1/events?"),
             ("operations", "/v1/operations?status=running&"), ("cluster", f"/v1/clusters/{BIG}"),
             ("cluster_events", f"/v1/events?cluster={BIG}"),
             ("cluster_operations", f"/v1/operations?status=running&cluster={BIG}"),
             ("cluster_stats", f"/v1/clusters/{BIG}/stats")]  # the cluster view's node charts, where served
    for name, path in calls:
        times, size = [], 0
        for _ in range(3):
            t = time.monotonic()
            status, doc = http("GET", f.url(path), token=USER_TOKEN)
            times.append((time.monotonic() - t) * 1000)
            if status == 404 and name == "cluster_stats":
                break
            assert status == 200, (path, status, doc)
            size = len(json.dumps(doc, separators=(",", ":")))
        if status == 404:
            print(f"  {path}: not served by this controller", flush=True)
            continue
        figure(f"api_{name}_ms", statistics.median(times), "ms")
        figure(f"api_{name}_bytes", size, "B")


# ---- the page -----------------------------------------------------------------


class Page:
    def __init__(self, driver, url):
        self.driver, self.url = driver, url

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def poll(self, script, done, timeout, what):
        """Runs script until done(result); the last result."""
        out = {}

        def check():
            out["r"] = self.js(script)
            return done(out["r"])
        wait_until(check, timeout, 0.005, what)
        return out["r"]

    def login(self, timeout):
        from selenium.webdriver.common.by import By
        self.driver.get(self.url)

        def visible(css):
            found = self.driver.find_elements(By.CSS_SELECTOR, css)
            return found[0] if found and found[0].is_displayed() else None
        wait_until(lambda: visible("#login-form"), timeout, 0.05, "the login form")
        visible("#token").send_keys(USER_TOKEN)
        visible("#login-form button").click()
        self.wait_fleet(timeout)

    def fleet_rows(self):
        return self.js("return document.getElementById('fleet').hidden ? -1 :"
                       " document.querySelectorAll('#clusters tbody tr').length;")

    def wait_fleet(self, timeout):
        wait_until(lambda: self.fleet_rows() == CLUSTERS, timeout, 0.02, "the fleet view listing 100 clusters")

    def load(self, timeout):
        """A fresh load of /dashboard: ms from navigation start until the
        fleet view lists every cluster, and the navigation's timing."""
        self.driver.get("about:blank")
        self.driver.get(self.url)  # returns after the load event
        shown = self.poll(
            "return [document.getElementById('fleet').hidden ? -1 :"
            " document.querySelectorAll('#clusters tbody tr').length, performance.now()];",
            lambda r: r[0] == CLUSTERS, timeout, "the fleet view listing 100 clusters")[1]
        nav = self.js("const e = performance.getEntriesByType('navigation')[0]; return e ? e.toJSON() : null;")
        api = self.js("return performance.getEntriesByType('resource').map(e => [e.name, e.startTime,"
                      " e.responseEnd, e.encodedBodySize]);")
        return shown, nav or {}, api

    def open_cluster(self, name, count, timeout):
        """ms from the click on the cluster's row until its view lists count nodes."""
        t0 = self.js("const r = document.querySelector(`tr[data-cluster=\"${arguments[0]}\"]`);"
                     " const t = performance.now(); r.click(); return t;", name)
        t1 = self.poll(
            "return [document.getElementById('cluster').hidden ? '' :"
            " document.getElementById('cluster-name').textContent,"
            " document.querySelectorAll('#nodes tbody tr').length, performance.now()];",
            lambda r: r[0] == name and r[1] == count, timeout, f"{name}'s {count} nodes listed")[2]
        return t1 - t0

    def api_calls(self):
        """The REST calls the page made since the last clear: {path: [count, mean ms]}."""
        entries = self.js("return performance.getEntriesByType('resource').filter(e => e.name.includes('/v1/'))"
                          ".map(e => [new URL(e.name).pathname, e.responseEnd - e.startTime]);")
        out = {}
        for path, ms in entries:
            parts = path.split("/")  # "/v1/clusters/NAME[/...]": one key for every cluster
            key = "/".join(parts[:3] + ["{name}"] + parts[4:]) if path.startswith("/v1/clusters/") else path
            c = out.setdefault(key, [0, 0.0])
            c[0] += 1
            c[1] += ms
        return {k: [n, total / n] for k, (n, total) in out.items()}


def thread_cpu(pid):
    """{thread name: CPU seconds} of the process's threads (same names summed)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            out[name] = out.get(name, 0.0) + cpu_seconds(f"{pid}/task/{tid}")
        except (OSError, ValueError):
            pass
    return out


class Meter:
    """CPU seconds of the controller (and of each of its threads) and wall
    seconds, summed per condition over the slices measured."""

    def __init__(self, pid):
        self.pid = pid
        self.cpu, self.wall, self.threads = {}, {}, {}

    def slice(self, condition, seconds):
        c0, th0, t0 = cpu_seconds(self.pid), thread_cpu(self.pid), time.monotonic()
        time.sleep(seconds)  # the slice itself: a measurement, not a wait for something
        c1, th1, t1 = cpu_seconds(self.pid), thread_cpu(self.pid), time.monotonic()
        self.cpu[condition] = self.cpu.get(condition, 0.0) + c1 - c0
        self.wall[condition] = self.wall.get(condition, 0.0) + t1 - t0
        threads = self.threads.setdefault(condition, {})
        for name, s in th1.items():
            threads[name] = threads.get(name, 0.0) + s - th0.get(name, 0.0)

    def pct(self, condition):
        return self.cpu[condition] / self.wall[condition] * 100

    def thread_pct(self, condition):
        return {name: s / self.wall[condition] * 100 for name, s in sorted(self.threads[condition].items())}


def live_cost(f, page, timeout):
    """The controller's share of one core with the page closed, with the
    fleet view and with the cluster view open, WINDOW_S seconds each, in
    SLICES interleaved slices (closed, fleet, cluster, then cluster, fleet,
    closed, ...): the other load of the machine then weighs on each alike.
    A slice starts once its view shows; {condition: (pct, calls)}."""
    meter = Meter(f.controller.proc.pid)
    fake0 = cpu_seconds(f.fake.proc.pid)
    calls = {"fleet": {}, "cluster": {}}
    shown = "cluster"  # measure() leaves the cluster view open
    order = ["closed", "fleet", "cluster"]
    for r in range(SLICES):
        for condition in order if r % 2 == 0 else order[::-1]:
            if condition == "closed" and shown != "closed":
                page.driver.get("about:blank")
            elif condition == "fleet" and shown == "closed":
                page.driver.get(page.url)
                page.wait_fleet(timeout)
            elif condition == "fleet" and shown == "cluster":
                page.js("document.getElementById('back').click();")
                page.wait_fleet(timeout)
            elif condition == "cluster" and shown != "cluster":
                page.open_cluster(BIG, BIG_NODES, timeout)
            shown = condition
            if condition != "closed":
                page.js("performance.clearResourceTimings();")
            meter.slice(condition, WINDOW_S / SLICES)
            if condition != "closed":
                for path, (n, ms) in page.api_calls().items():
                    c = calls[condition].setdefault(path, [0, 0.0])
                    c[0] += n
                    c[1] += n * ms
    page.driver.get("about:blank")
    figure("fakeagent_cpu_pct", (cpu_seconds(f.fake.proc.pid) - fake0) / sum(meter.wall.values()) * 100, "%")
    out = {}
    for condition in order:
        for name, pct in meter.thread_pct(condition).items():
            print(f"  {condition}: controller thread {name} {pct:.1f}% of a core", flush=True)
        for path, (n, total) in sorted(calls.get(condition, {}).items()):
            print(f"  {condition}: {path} x{n} in {meter.wall[condition]:.1f} s, {total / n:.1f} ms each as the page saw"
                  " it", flush=True)
        out[condition] = (meter.pct(condition), {k: v[0] for k, v in calls.get(condition, {}).items()})
    return out


def measure(f, driver, sanitized):
    page = Page(driver, f.url("/dashboard"))
    timeout = 150 if sanitized else 30
    page.login(timeout)

    # 1. page load: three fresh loads, the best must make it
    loads = []
    for i in range(3):
        shown, nav, api = page.load(timeout)
        loads.append(shown)
        figure(f"page_load_{i + 1}_ms", shown, "ms")
        figure(f"page_load_{i + 1}_dom_content_loaded_ms", nav.get("domContentLoadedEventEnd", -1.0), "ms")
        figure(f"page_load_{i + 1}_load_event_ms", nav.get("loadEventEnd", -1.0), "ms")
        for name, start, end, size in api:
            if "/v1/" in name or "/dashboard/" in name:
                print(f"  load {i + 1}: {name.split(f.url(''), 1)[-1]} {start:.0f}-{end:.0f} ms {size} B", flush=True)
    best = min(loads)
    figure("page_load_best_ms", best, "ms")
    took = page.open_cluster(BIG, BIG_NODES, timeout)
    figure("cluster_view_ms", took, "ms")

    # 2. live-update cost
    cost = live_cost(f, page, timeout)
    closed = cost["closed"][0]
    figure("controller_cpu_page_closed_pct", closed, "%")
    problems = []
    if best >= LOAD_MS_MAX:
        problems.append(f"the best page load took {best:.0f} ms (loads: {', '.join(f'{x:.0f}' for x in loads)})")
    for view, main in (("fleet", "/v1/clusters"), ("cluster", "/v1/clusters/{name}")):
        pct, calls = cost[view]
        figure(f"controller_cpu_{view}_view_pct", pct, "%")
        figure(f"page_cost_{view}_view_pct", pct - closed, "%")
        if calls.get(main, 0) < WINDOW_S * 0.75:
            problems.append(f"the {view} view refreshed {calls.get(main, 0)} times in {WINDOW_S} s")
        if pct - closed >= PAGE_CPU_PCT_MAX:
            problems.append(f"the {view} view costs the controller {pct - closed:.1f}% of a core "
                            f"({pct:.1f}% open, {closed:.1f}% closed)")
    return problems


def stop_browser(driver):
    """Quits the browser, then kills by pid whatever of chromedriver and
    its Chromium is left."""
    driver_pid = driver.service.process.pid
    tree = [(driver_pid, proc_stat(driver_pid)[19])] + descendants(driver_pid)
    try:
        driver.quit()
    finally:
        for pid, start in tree:
            kill_if_same(pid, start)


def test_dashboard_fleet(suite):
    why = browser_missing()
    if why:
        return f"skipped: {why}"
    with FakeFleet(suite.args.cachenode) as f:
        sanitized = is_sanitizer_build(f.controller.argv[0])
        build_fleet(f, 180 if sanitized else 60)
        api_figures(f)
        profile = tempfile.mkdtemp(prefix="dashboard-fleet-chromium-")
        driver = start_browser(profile)
        try:
            problems = measure(f, driver, sanitized)
        finally:
            stop_browser(driver)
            shutil.rmtree(profile, ignore_errors=True)
    if sanitized:
        return "sanitizer build: figures printed, not asserted" + (f" ({'; '.join(problems)})" if problems else "")
    assert not problems, "; ".join(problems)
    return None


if __name__ == "__main__":
    sys.exit(Suite().run([test_dashboard_fleet]))
