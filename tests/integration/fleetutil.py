"""fleetutil: the fleet pieces shared by the process-level tests of
cachefleet-agent and cachefleet-controller (nodeutil.py has the single-node
ones).

HTTP calls with the bearer token (http), the command lines of a controller
and of an agent, a program with its output in a log file (Process), the
calls every fleet test makes on the controller's API (FleetApi: hosts,
cluster, wait_status), and the cleanup of the cachenode processes that
agents launched: those outlive their agent by design, so they are killed by
pid, the pids coming from API answers and from DATA/nodes/*/pid."""
import glob
import json
import os
import signal
import subprocess
import urllib.error
import urllib.request

from nodeutil import wait_until

USER_TOKEN = "user-token-0123456789abcdef"
AGENT_TOKEN = "agent-token-0123456789abcdef"


def http(method, url, body=None, token=None, raw=None, headers=None, timeout=15):
    """(status, parsed JSON or text); token: sent as a bearer token."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def write_token(path, token):
    with open(path, "w") as f:
        f.write(token + "\n")


def controller_argv(bindir, listen, db, token_file, agent_token_file, agent_timeout_ms, *extra):
    return [os.path.join(bindir, "cachefleet-controller"), "--listen", listen, "--db", db,
            "--token-file", token_file, "--agent-token-file", agent_token_file,
            "--agent-timeout-ms", str(agent_timeout_ms)] + list(extra)


def agent_argv(bindir, listen, controller_url, host_id, az, data_dir, token_file, ports, memory_mb, cachenode,
               *extra):
    """ports: (first, last) of the node port range."""
    return [os.path.join(bindir, "cachefleet-agent"), "--listen", listen, "--controller", controller_url,
            "--host-id", host_id, "--az", az, "--data-dir", data_dir, "--token-file", token_file,
            "--ports", f"{ports[0]}-{ports[1]}", "--memory-mb", str(memory_mb),
            "--node-binary", cachenode] + list(extra)


def is_cachenode(pid):
    """True for a live (not zombie) cachenode process with this pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
    except OSError:
        return False
    state = stat[stat.rindex(")") + 2]
    return state not in "ZX" and b"cachenode" in cmd.split(b"\0")[0]


def live_cachenodes(pids):
    return {p for p in pids if is_cachenode(p)}


def pid_files(data_dirs):
    """The pids in DATA/nodes/*/pid of these agent data directories."""
    pids = set()
    for d in data_dirs:
        for f in glob.glob(os.path.join(d, "nodes", "*", "pid")):
            try:
                pids.add(int(open(f).read().strip()))
            except (OSError, ValueError):
                pass
    return pids


def kill_cachenodes(pids):
    """SIGKILL to those of these pids that are cachenode processes."""
    for pid in pids:
        if is_cachenode(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def sanitizer_lines(text):
    return [l for l in text.splitlines() if "Sanitizer" in l or "runtime error:" in l]


def kill_pid(proc):
    if proc and proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


class Process:
    """A program started with its output in root/NAME.log."""

    def __init__(self, root, name, argv):
        self.root, self.name, self.argv = root, name, argv
        self.proc = None

    def start(self):
        log = open(self.log_path(), "ab")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def log_path(self):
        return os.path.join(self.root, self.name + ".log")

    def log_text(self):
        try:
            with open(self.log_path(), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout=15):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_pid(self.proc)
                return None
        return self.proc.returncode if self.proc else None


class FleetApi:
    """The controller calls every fleet test makes, over self.api(method,
    path, body) -> (status, doc). wait_status polls every status_interval
    seconds, for status_timeout seconds unless told."""

    status_interval, status_timeout = 0.005, 20

    def hosts(self):
        status, doc = self.api("GET", "/v1/hosts")
        assert status == 200, (status, doc)
        return doc["hosts"]

    def cluster(self, name):
        status, doc = self.api("GET", f"/v1/clusters/{name}")
        assert status == 200, (status, doc)
        return doc

    def wait_status(self, name, status, timeout=None):
        timeout = self.status_timeout if timeout is None else timeout
        wait_until(lambda: self.cluster(name)["status"] == status, timeout, self.status_interval,
                   f"cluster {name} {status}")
        return self.cluster(name)
