"""test_dashboard: the operators' page the controller serves (GET /dashboard).

A Fleet (test_controller.py: a controller and three agents in three zones)
runs a demo cluster (1 shard, 1 replica). Over HTTP: the page and its files
come with a Content-Security-Policy that allows only the page's own files;
POST /dashboard/login with a wrong token is refused (after 5 wrong ones
within 3 s every login gets 429 with Retry-After until the 3 s pass), with
the right one it
sets a session cookie that is HttpOnly and SameSite=Strict; the API accepts
the cookie in place of the token (a POST only with the page's
X-Requested-With header); after logout the cookie is refused; a cluster
name with markup in it is refused by the API; GET
/v1/clusters/{name}/stats gives each node's latest numbers (memory, clients,
keys, a replica's lag) and its history in 5 s steps, only the points after
?since= (a bad one: 400; an unknown cluster: 404); a session unused for
--session-idle-ms (3 s here) is refused.

In Debian's Chromium, headless, driven by chromedriver through Selenium:
log in with a wrong token (the error shows), then the right one; the demo
cluster is listed; its view shows its primary and replica in their zones,
and, with a client reading on the primary (a hit and a miss each time),
its ops/s, a hit ratio near 50% and its memory of 32 MB, and the
ops/s, memory and hit-ratio charts draw its line;
the events list shows the cluster's creation; the primary's "Fail over"
button, confirmed, makes the replica the primary, which the page then
shows, with the failover in the events; a cluster is created from the
page's form, its replicas scaled to 1 and its memory resized, then deleted
(a mistyped name in the delete prompt deletes nothing); logout ends the
session.
Screenshots go to the test's output directory (DASHBOARD_SHOTS, default a
temporary directory, printed). Skipped, with the reason, when Chromium,
chromedriver or Selenium is missing (deploy/install-deps.sh installs them).

Every wait polls with a deadline; the browser, the driver and the fleet are
stopped at the end."""
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import redis  # noqa: E402
from nodeutil import Suite, wait_until  # noqa: E402
from test_controller import Fleet  # noqa: E402
from fleetutil import USER_TOKEN  # noqa: E402

NAME = "demo"
SESSION_IDLE_MS = 3000


class DashboardFleet(Fleet):
    def controller_options(self):
        return ("--session-idle-ms", str(SESSION_IDLE_MS))


def request(f, method, path, body=None, headers=None):
    """(status, headers, parsed JSON or text) of a request to the controller."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{f.port}{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            status, hdrs, text = r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        status, hdrs, text = e.code, e.headers, e.read().decode()
    try:
        return status, hdrs, json.loads(text)
    except ValueError:
        return status, hdrs, text


def session_cookie(headers):
    cookie = headers.get("Set-Cookie")
    assert cookie and cookie.startswith("cf_session="), cookie
    attrs = [a.strip() for a in cookie.split(";")]
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs and "Path=/" in attrs, cookie
    return attrs[0]


def check_http(f):
    status, hdrs, page = request(f, "GET", "/dashboard")
    assert status == 200 and "<title>cachefleet</title>" in page, (status, page[:200])
    csp = hdrs.get("Content-Security-Policy", "")
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
    assert "unsafe-inline" not in csp, csp
    status, hdrs, js = request(f, "GET", "/dashboard/app.js")
    assert status == 200 and hdrs.get("Content-Type", "").startswith("text/javascript"), (status, hdrs)
    assert request(f, "GET", "/dashboard/nosuch.js")[0] == 404
    assert request(f, "GET", "/dashboard/session")[0] == 401
    assert request(f, "GET", "/v1/clusters")[0] == 401
    status, _, doc = request(f, "POST", "/dashboard/login", {"token": "wrong-token-0123456789"})
    assert status == 401 and doc["error"]["code"] == "Unauthorized", (status, doc)
    assert request(f, "POST", "/dashboard/login", {"nothing": 1})[0] == 400
    # guessing is throttled: after 5 wrong tokens in 3 s even the right one waits
    for _ in range(4):
        assert request(f, "POST", "/dashboard/login", {"token": "wrong-token-0123456789"})[0] == 401
    status, hdrs, doc = request(f, "POST", "/dashboard/login", {"token": USER_TOKEN})
    assert status == 429 and doc["error"]["code"] == "TooManyRequests", (status, doc)
    assert 1 <= int(hdrs["Retry-After"]) <= 3, hdrs
    wait_until(lambda: request(f, "POST", "/dashboard/login", {"token": USER_TOKEN})[0] == 200, 5, 0.2,
               "logins taken again after the window")
    status, hdrs, doc = request(f, "POST", "/dashboard/login", {"token": USER_TOKEN})
    assert status == 200 and doc == {"logged_in": True}, (status, doc)
    cookie = session_cookie(hdrs)
    status, _, doc = request(f, "GET", "/v1/clusters", headers={"Cookie": cookie})
    assert status == 200 and [c["name"] for c in doc["clusters"]] == [NAME], (status, doc)
    assert request(f, "GET", "/metrics", headers={"Cookie": cookie})[0] == 200
    # the operations the page lists: all of a cluster's, or the running ones
    status, _, doc = request(f, "GET", f"/v1/operations?cluster={NAME}", headers={"Cookie": cookie})
    assert status == 200 and [(o["kind"], o["status"], o["progress"]) for o in doc["operations"]] == \
        [("create", "succeeded", 100)], doc
    status, _, doc = request(f, "GET", "/v1/operations?status=running", headers={"Cookie": cookie})
    assert status == 200 and doc == {"operations": []}, doc
    for bad in ("status=done", "limit=0", "cluster=No_Such"):
        status, _, doc = request(f, "GET", f"/v1/operations?{bad}", headers={"Cookie": cookie})
        assert status == 400 and doc["error"]["code"] == "InvalidParameterValue", (bad, status, doc)
    check_stats(f, cookie)
    # a write with the cookie needs the page's header: a form elsewhere cannot send it
    body = {"name": "x", "shards": 1, "replicas": 0, "node_memory_mb": 16}
    assert request(f, "POST", "/v1/clusters", body, headers={"Cookie": cookie})[0] == 401
    status, _, doc = request(f, "POST", "/v1/clusters", dict(body, name="<img src=x onerror=alert(1)>"),
                             headers={"Cookie": cookie, "X-Requested-With": "cachefleet"})
    assert status == 400 and doc["error"]["code"] == "InvalidParameterValue", (status, doc)
    assert request(f, "GET", "/dashboard/session", headers={"Cookie": cookie})[0] == 200
    status, hdrs, _ = request(f, "POST", "/dashboard/logout", headers={"Cookie": cookie})
    assert status == 200 and "Max-Age=0" in hdrs.get("Set-Cookie", ""), hdrs
    assert request(f, "GET", "/v1/clusters", headers={"Cookie": cookie})[0] == 401
    assert request(f, "GET", "/v1/clusters", headers={"Cookie": "cf_session=" + "0" * 64})[0] == 401
    # a session unused for --session-idle-ms ends (any use would renew it, so one look after the wait)
    cookie = session_cookie(request(f, "POST", "/dashboard/login", {"token": USER_TOKEN})[1])
    time.sleep(SESSION_IDLE_MS / 1000 * 1.5)
    assert request(f, "GET", "/v1/clusters", headers={"Cookie": cookie})[0] == 401, "an idle session still works"


def check_stats(f, cookie):
    """GET /v1/clusters/{name}/stats: each node's latest numbers, and its
    history in 5 s steps, only the points after ?since=."""
    def stats(query=""):
        status, _, doc = request(f, "GET", f"/v1/clusters/{NAME}/stats{query}", headers={"Cookie": cookie})
        assert status == 200, (status, doc)
        return doc
    wait_until(lambda: all(n["current"] and n["current"]["used_memory"] for n in stats()["nodes"]), 15, 0.1,
               "every node's numbers")
    c = f.cluster(NAME)
    doc = stats()
    assert doc["cluster"] == NAME and doc["step_ms"] == 5000, doc
    assert [n["id"] for n in doc["nodes"]] == [n["id"] for n in c["nodes"]], doc
    for n in doc["nodes"]:
        role = next(m["role"] for m in c["nodes"] if m["id"] == n["id"])
        cur = n["current"]
        assert cur["maxmemory"] == 32 * 1048576 and cur["connected_clients"] >= 1 and cur["keys"] == 0, cur
        assert (cur["repl_lag_bytes"] is None) == (role == "primary"), (role, cur)
    wait_until(lambda: all(n["history"]["time_ms"] for n in stats()["nodes"]), 15, 0.1, "a first history point")
    h = stats()["nodes"][0]["history"]
    assert set(h) == {"time_ms", "ops_per_sec", "used_memory", "hit_ratio", "repl_lag_bytes"}, h
    assert all(len(v) == len(h["time_ms"]) for v in h.values()) and h["used_memory"][-1] > 0, h
    later = stats()["time_ms"]
    assert all(not n["history"]["time_ms"] for n in stats(f"?since={later}")["nodes"])
    for query, code in (("?since=-1", 400), ("?since=x", 400)):
        assert request(f, "GET", f"/v1/clusters/{NAME}/stats{query}", headers={"Cookie": cookie})[0] == code, query
    assert request(f, "GET", "/v1/clusters/nosuch/stats", headers={"Cookie": cookie})[0] == 404
    assert request(f, "POST", f"/v1/clusters/{NAME}/stats", {}, headers={"Cookie": cookie,
                   "X-Requested-With": "cachefleet"})[0] == 405


def browser_missing():
    for tool in ("chromium", "chromedriver"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    try:
        __import__("selenium")
    except ImportError:
        return "python3-selenium is not installed"
    return None


def start_browser(profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


def check_browser(f, shots):
    from selenium.webdriver.common.by import By
    profile = tempfile.mkdtemp(prefix="dashboard-chromium-")
    driver = start_browser(profile)
    try:
        def find(css):
            found = driver.find_elements(By.CSS_SELECTOR, css)
            return found[0] if found and found[0].is_displayed() else None

        # the page redraws its tables every second: rows are read and
        # clicked in one script, never through a kept element reference
        def row(css):
            return driver.execute_script(
                "const r = document.querySelector(arguments[0]);"
                "return r && r.offsetParent !== null ? [r.dataset.role || '', r.textContent] : null;", css)

        def click(css):  # after the script returns: a confirm() would block it
            return driver.execute_script(
                "const e = document.querySelector(arguments[0]); if (e) setTimeout(() => e.click(), 0);"
                "return !!e;", css)

        def count(css):
            return driver.execute_script("return document.querySelectorAll(arguments[0]).length;", css)

        def shot(name):
            driver.save_screenshot(os.path.join(shots, name + ".png"))

        driver.get(f"http://127.0.0.1:{f.port}/dashboard")
        wait_until(lambda: find("#login-form"), 15, 0.05, "the login form")
        find("#token").send_keys("wrong-token-0123456789")
        find("#login-form button").click()
        wait_until(lambda: "wrong token" in driver.find_element(By.ID, "login-error").text, 10, 0.05, "the error")
        shot("1-login-refused")
        find("#token").send_keys(USER_TOKEN)
        find("#login-form button").click()
        wait_until(lambda: row(f'tr[data-cluster="{NAME}"]'), 15, 0.05, "the demo cluster listed")
        assert driver.execute_script("return document.cookie") == "", "the session cookie is HttpOnly"
        assert driver.execute_script("return window.localStorage.length + window.sessionStorage.length") == 0
        wait_until(lambda: count("#zones .zone") == 3, 10, 0.05, "3 zones")
        shot("2-fleet")
        assert click(f'tr[data-cluster="{NAME}"]')
        c = f.cluster(NAME)
        wait_until(lambda: count("#nodes tbody tr") == len(c["nodes"]) and row("#nodes tbody tr"), 15, 0.05,
                   "the cluster's nodes")
        primary = c["shards"][0]["primary"]
        role, text = row(f'#nodes tr[data-node="{primary}"]')
        assert role == "primary", text
        assert next(n["az"] for n in c["nodes"] if n["id"] == primary) in text, text
        wait_until(lambda: count('#events tr[data-type="cluster_available"]'), 10, 0.05, "the creation in the events")
        check_node_numbers(c, primary, driver, shot)
        # a planned failover from the page: confirmed, the roles switch and the event shows
        assert click(f'#nodes tr[data-node="{primary}"] button.failover'), \
            driver.execute_script("return document.querySelector('#nodes').outerHTML")
        wait_until(lambda: driver.switch_to.alert, 5, 0.05, "the confirmation")
        driver.switch_to.alert.accept()
        wait_until(lambda: "started" in driver.find_element(By.ID, "action-result").text, 10, 0.05, "202")
        wait_until(lambda: f.cluster(NAME)["shards"][0]["primary"] != primary, 30, 0.05, "a new primary")
        new = f.cluster(NAME)["shards"][0]["primary"]
        wait_until(lambda: (row(f'#nodes tr[data-node="{new}"]') or [""])[0] == "primary", 10, 0.05,
                   "the page showing the new primary")
        wait_until(lambda: count('#events tr[data-type="failover_completed"]'), 10, 0.05, "the failover in the events")
        shot("4-failed-over")
        actions(f, driver, click, row, shot)
        find("#logout").click()
        wait_until(lambda: find("#login-form"), 10, 0.05, "the login form again")
        shot("6-logged-out")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def check_node_numbers(c, primary, driver, shot):
    """With a client reading (hits and misses) on the primary, its row shows
    ops/s, a hit ratio and memory used of max, and the charts draw it."""
    client = redis.Redis(*c["endpoints"]["primary"].rsplit(":", 1), socket_timeout=5)
    client.set("hit", "x")
    stop = threading.Event()

    def reads():
        while not stop.is_set():
            client.get("hit")
            client.get("miss")
            time.sleep(0.002)
    worker = threading.Thread(target=reads, daemon=True)
    worker.start()

    def cell(node, metric):
        return driver.execute_script(
            "const e = document.querySelector(`#nodes tr[data-node='${arguments[0]}'] td[data-metric='${arguments[1]}']`);"
            "return e ? e.textContent : null;", node, metric)
    try:
        wait_until(lambda: (cell(primary, "hit_ratio") or "").endswith("%") and
                   int(cell(primary, "ops_per_sec") or 0) > 0, 20, 0.1, "the primary's hit ratio and ops/s shown")
        assert 40.0 <= float(cell(primary, "hit_ratio")[:-1]) <= 60.0, cell(primary, "hit_ratio")  # one hit, one miss
        assert " / 32 MB" in cell(primary, "memory"), cell(primary, "memory")
        for metric in ("ops_per_sec", "used_memory", "hit_ratio"):
            wait_until(lambda: driver.execute_script(
                "return document.querySelectorAll(`.chart[data-metric='${arguments[0]}'] [data-node='${arguments[1]}']`)"
                ".length", metric, primary), 15, 0.1, f"the {metric} chart drawing the primary")
        shot("3-cluster")
    finally:
        stop.set()
        worker.join(10)
        client.close()


def answer(driver, text=None):
    """Accepts the confirm() (or, with text, the prompt()) the page opened."""
    wait_until(lambda: driver.switch_to.alert, 5, 0.05, "the page's dialog")
    if text is not None:
        driver.switch_to.alert.send_keys(text)
    driver.switch_to.alert.accept()


def set_fields(driver, values):
    driver.execute_script(
        "for (const [id, v] of Object.entries(arguments[0])) {"
        "  const e = document.getElementById(id); if (e.type === 'checkbox') e.checked = v; else e.value = v; }",
        values)


def actions(f, driver, click, row, shot):
    """Create, scale, resize and delete from the page, each confirmed."""
    def result(where):
        return driver.execute_script("return document.getElementById(arguments[0]).textContent", where)
    assert click("#back")
    wait_until(lambda: row(f'tr[data-cluster="{NAME}"]'), 10, 0.05, "the fleet view")
    set_fields(driver, {"create-name": "web", "create-engine": "redis", "create-shards": 1, "create-replicas": 0,
                        "create-memory": 16, "create-cluster-mode": False})
    assert click("#create-form button[type=submit]")
    answer(driver)
    wait_until(lambda: "started" in result("create-result"), 10, 0.05, "create started")
    f.wait_status("web", "available", timeout=60)
    wait_until(lambda: row('tr[data-cluster="web"]'), 10, 0.05, "web listed")
    assert click('tr[data-cluster="web"]')
    wait_until(lambda: row("#nodes tbody tr"), 10, 0.05, "web's node")
    set_fields(driver, {"modify-replicas": 1})
    assert click("#apply-replicas")
    answer(driver)
    wait_until(lambda: "started" in result("action-result"), 10, 0.05, "scale started")
    f.wait_status("web", "available", timeout=60)
    wait_until(lambda: len(f.cluster("web")["shards"][0]["replicas"]) == 1, 30, 0.05, "a replica added")
    set_fields(driver, {"modify-memory": 32})
    assert click("#apply-memory")
    answer(driver)
    wait_until(lambda: f.cluster("web")["node_memory_mb"] == 32 and f.cluster("web")["status"] == "available", 60,
               0.05, "resized to 32 MB")
    shot("5-scaled")
    assert click("#delete-cluster")
    answer(driver, "not-web")
    wait_until(lambda: "did not match" in result("action-result"), 10, 0.05, "a wrong name refused")
    assert f.cluster("web")["status"] == "available"
    assert click("#delete-cluster")
    answer(driver, "web")
    f.wait_gone("web", timeout=60)


def test_dashboard(suite):
    shots = os.environ.get("DASHBOARD_SHOTS") or tempfile.mkdtemp(prefix="dashboard-shots-")
    os.makedirs(shots, exist_ok=True)
    with DashboardFleet(suite.args.cachenode) as f:
        f.create(NAME, replicas=1)
        f.wait_status(NAME, "available", timeout=60)
        check_http(f)
        why = browser_missing()
        if why:
            return f"browser part skipped: {why}"
        check_browser(f, shots)
    return f"screenshots in {shots}"


if __name__ == "__main__":
    sys.exit(Suite().run([test_dashboard]))
