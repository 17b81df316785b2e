"""test_e2e_netns: a multi-host fleet on network namespaces.

Each host is a network namespace of its own on one bridge (in a "switch"
namespace), with its own address in 10.77.0.0/24, private to this test's
namespaces (that traffic never leaves the machine): the controller on
10.77.0.10, agents h1..h3 (zones az-a..az-c) and their cache nodes on
10.77.0.11..13, and this test's clients on 10.77.0.5 (the test process
enters that namespace with setns(2); the programs are started with
`ip netns exec`, which keeps their pid).

- A cluster is created; writes to the primary replicate across namespaces.
- A replica's host is cut off (its link down): the controller marks the
  host down and the cluster degraded; writes go on; the link heals: the
  cluster is available again and the replica has every write.
- Failover (the primary's host cut off under a write load: a replica is
  promoted, clients continue; healed, the old primary rejoins as a replica,
  never a second primary) runs only when the controller has failover
  (`--sentinel-listen` in its --help, issue 6); otherwise it prints
  "skipped: failover not in this build".

Needs root (ip netns, veth, bridge); skips with a message otherwise. Every
process and namespace is removed at the end, even on failure."""
import ctypes
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from nodeutil import Suite, wait_until  # noqa: E402
from fleetutil import (AGENT_TOKEN, USER_TOKEN, FleetApi, Process, agent_argv, controller_argv, http,  # noqa: E402
                       is_cachenode, kill_cachenodes, pid_files, write_token)

import redis  # noqa: E402

CLONE_NEWNET = 0x40000000
SUBNET = "10.77.0"
CONTROLLER_IP = f"{SUBNET}.10"
CLIENT_IP = f"{SUBNET}.5"
HOSTS = [("h1", f"{SUBNET}.11", "az-a"), ("h2", f"{SUBNET}.12", "az-b"), ("h3", f"{SUBNET}.13", "az-c")]
libc = ctypes.CDLL(None, use_errno=True)


def sh(*args, check=True):
    out = subprocess.run(list(args), capture_output=True, timeout=30)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {out.stderr.decode().strip()}")
    return out


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {path}")
    finally:
        os.close(fd)


def namespaces_permitted():
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is missing"
    name = f"cfprobe{os.getpid()}"
    out = sh("ip", "netns", "add", name, check=False)
    if out.returncode != 0:
        return "network namespaces are not permitted here (" + out.stderr.decode().strip() + ")"
    sh("ip", "netns", "del", name, check=False)
    return None


class Net:
    """The namespaces, the bridge and the veth pairs."""

    def __init__(self):
        self.prefix = f"cf{os.getpid() % 100000}"
        self.switch = f"{self.prefix}-sw"
        self.made = []
        self.root_ns = os.open("/proc/self/ns/net", os.O_RDONLY)

    def ns(self, role):
        return f"{self.prefix}-{role}"

    def build(self, roles):
        sh("ip", "netns", "add", self.switch)
        self.made.append(self.switch)
        sh("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.switch, "link", "set", "br0", "up")
        for role, addr in roles:
            ns = self.ns(role)
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            sh("ip", "-n", self.switch, "link", "add", self.port(role), "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", self.switch, "link", "set", self.port(role), "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def port(self, role):
        return f"v-{role}"

    def link(self, role, state):
        """Cuts (down) or heals (up) a host's cable at the switch."""
        sh("ip", "-n", self.switch, "link", "set", self.port(role), state)

    def enter(self, role):
        setns(f"/run/netns/{self.ns(role)}")

    def cleanup(self):
        if libc.setns(self.root_ns, CLONE_NEWNET) != 0:
            print("warning: could not return to the root network namespace")
        for ns in reversed(self.made):
            sh("ip", "netns", "del", ns, check=False)
        leftover = [n for n in sh("ip", "netns", "list").stdout.decode().split() if n.startswith(self.prefix + "-")]
        assert not leftover, f"namespaces left: {leftover}"


class MultiHost(FleetApi):
    status_interval, status_timeout = 0.05, 30

    def __init__(self, bindir):
        self.bindir = bindir
        self.root = tempfile.mkdtemp(prefix="netns-test-")
        self.net = Net()
        self.procs = []
        self.pids = set()
        self.url = f"http://{CONTROLLER_IP}:8700"
        write_token(os.path.join(self.root, "user.token"), USER_TOKEN)
        write_token(os.path.join(self.root, "agent.token"), AGENT_TOKEN)

    def start(self):
        self.net.build([("ctl", CONTROLLER_IP), ("cli", CLIENT_IP)] + [(h, a) for h, a, _ in HOSTS])
        self.net.enter("cli")
        argv = controller_argv(self.bindir, f"{CONTROLLER_IP}:8700", os.path.join(self.root, "controller.db"),
                               os.path.join(self.root, "user.token"), os.path.join(self.root, "agent.token"), 1500)
        self.controller = self.spawn("ctl", "controller", argv)
        wait_until(lambda: http("GET", self.url + "/healthz", timeout=2)[0] == 200, 15, what="controller in its namespace")
        self.agents = {}
        for host, addr, az in HOSTS:
            self.agents[host] = (self.spawn(host, "agent-" + host, agent_argv(
                self.bindir, f"{addr}:8701", self.url, host, az, os.path.join(self.root, host),
                os.path.join(self.root, "agent.token"), (7000, 7020), 256, os.path.join(self.bindir, "cachenode"))),
                addr)
        wait_until(lambda: sorted(h["id"] for h in self.hosts() if h["status"] == "up") == ["h1", "h2", "h3"],
                   15, what="three hosts up across namespaces")
        return self

    def spawn(self, role, name, argv):
        p = Process(self.root, name, ["ip", "netns", "exec", self.net.ns(role)] + argv).start()
        self.procs.append(p)
        self.pids.add(p.proc.pid)
        return p

    def api(self, method, path, body=None):
        return http(method, self.url + path, body, token=USER_TOKEN, timeout=5)

    def cluster(self, name):
        doc = super().cluster(name)
        for n in doc["nodes"]:
            if n.get("pid"):
                self.pids.add(n["pid"])
        return doc

    def node_pids(self):
        return self.pids | pid_files(glob.glob(os.path.join(self.root, "h*")))

    def dump_logs(self):
        for p in self.procs:
            print(f"--- {p.name} (tail):\n" + "\n".join(p.log_text().splitlines()[-30:]))

    def cleanup(self):
        try:
            for p in self.procs:
                p.terminate(timeout=10)
            kill_cachenodes(self.node_pids())
            wait_until(lambda: not [p for p in self.node_pids() if is_cachenode(p)], 10, what="nodes gone")
        finally:
            self.net.cleanup()
            shutil.rmtree(self.root, ignore_errors=True)


def client(ep, **kw):
    host, port = ep.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), socket_timeout=3, socket_connect_timeout=3, **kw)


def controller_has_failover(bindir):
    out = subprocess.run([os.path.join(bindir, "cachefleet-controller"), "--help"], capture_output=True, timeout=10)
    return b"--sentinel-listen" in out.stdout + out.stderr


class Writer(threading.Thread):
    """Writes k0, k1, ... to whatever the controller names as primary; counts
    acknowledged writes and failures."""

    def __init__(self, fleet, name):
        super().__init__(daemon=True)
        self.fleet, self.name = fleet, name
        self.stop = threading.Event()
        self.acked, self.errors, self.i = [], 0, 0

    def run(self):
        conn, ep = None, None
        while not self.stop.is_set():
            try:
                now = self.fleet.cluster(self.name)["endpoints"]["primary"] if conn is None else ep
                if conn is None:
                    conn, ep = client(now), now
                key = f"w{self.i}"
                conn.set(key, self.i)
                self.acked.append(key)
                self.i += 1
            except Exception:
                self.errors += 1
                conn = None
                time.sleep(0.05)


def test_multi_host(suite):
    bindir = os.path.dirname(os.path.abspath(suite.args.cachenode))
    why = namespaces_permitted()
    if why:
        print(f"skipped: {why}")
        return
    mh = MultiHost(bindir)
    try:
        mh.start()
        status, doc = mh.api("POST", "/v1/clusters", {"name": "mh", "engine": "redis", "replicas": 2,
                                                       "node_memory_mb": 32})
        assert status == 202, (status, doc)
        start = time.monotonic()
        c = mh.wait_status("mh", "available")
        print(f"create -> available across namespaces: {time.monotonic() - start:.2f}s")
        addrs = {h: a for h, a, _ in HOSTS}
        assert sorted(n["az"] for n in c["nodes"]) == ["az-a", "az-b", "az-c"], c["nodes"]
        for n in c["nodes"]:
            assert n["address"] == addrs[n["host"]], n
        p = client(c["endpoints"]["primary"])
        pipe = p.pipeline(transaction=False)
        for i in range(1000):
            pipe.set(f"k{i}", i)
        pipe.execute()
        assert p.wait(2, 5000) == 2
        for ep in c["endpoints"]["reader"]:
            r = client(ep)
            assert r.get("k999") == b"999" and r.dbsize() == p.dbsize(), ep

        # a replica's host cut off: down and degraded; writes go on; healed: available, caught up
        replica = [n for n in c["nodes"] if n["role"] == "replica"][0]
        start = time.monotonic()
        mh.net.link(replica["host"], "down")
        mh.wait_status("mh", "degraded", timeout=15)
        print(f"replica host {replica['host']} cut off -> degraded: {time.monotonic() - start:.2f}s")
        assert [h["status"] for h in mh.hosts() if h["id"] == replica["host"]] == ["down"]
        for i in range(1000, 1500):
            p.set(f"k{i}", i)
        mh.net.link(replica["host"], "up")
        start = time.monotonic()
        c = mh.wait_status("mh", "available", timeout=30)
        print(f"link healed -> available: {time.monotonic() - start:.2f}s")
        r = client(f"{replica['address']}:{replica['port']}")
        wait_until(lambda: r.get("k1499") == b"1499", 15, what="the cut-off replica caught up")
        assert r.dbsize() == p.dbsize()
        digest = p.execute_command("DEBUG", "DIGEST")
        for ep in c["endpoints"]["reader"]:
            wait_until(lambda: client(ep).execute_command("DEBUG", "DIGEST") == digest, 10, what=f"{ep} digest")

        if not controller_has_failover(bindir):
            print("skipped: failover not in this build (the controller has no --sentinel-listen; issue 6)")
            return
        check_failover(mh, c)
    except Exception:
        mh.dump_logs()
        raise
    finally:
        mh.cleanup()


def check_failover(mh, c):
    """The primary's host cut off under a write load: a replica takes over,
    clients continue; healed: the old primary is a replica, one primary."""
    old = [n for n in c["nodes"] if n["role"] == "primary"][0]
    w = Writer(mh, "mh")
    w.start()
    wait_until(lambda: len(w.acked) > 200, 10, what="write load running")
    start = time.monotonic()
    mh.net.link(old["host"], "down")
    wait_until(lambda: mh.cluster("mh")["endpoints"]["primary"] != f"{old['address']}:{old['port']}", 30, 0.05,
               "a new primary")
    print(f"primary host cut off -> new primary named: {time.monotonic() - start:.2f}s")
    before = len(w.acked)
    wait_until(lambda: len(w.acked) > before + 200, 20, what="writes continue on the new primary")
    print(f"writes continued: {len(w.acked)} acknowledged, {w.errors} failed attempts during the failover")
    mh.net.link(old["host"], "up")
    w.stop.set()
    w.join(10)
    c = mh.cluster("mh")
    new_primary = c["endpoints"]["primary"]
    oldc = client(f"{old['address']}:{old['port']}")
    wait_until(lambda: oldc.info("replication")["role"] == "slave", 30, what="the old primary rejoins as a replica")
    roles = [client(f"{n['address']}:{n['port']}").info("replication")["role"] for n in c["nodes"]]
    assert roles.count("master") == 1, roles
    np = client(new_primary)
    assert np.wait(2, 10000) == 2
    last = w.acked[-1]
    wait_until(lambda: oldc.get(last) is not None, 15, what="the old primary has the new writes")
    digest = np.execute_command("DEBUG", "DIGEST")
    wait_until(lambda: oldc.execute_command("DEBUG", "DIGEST") == digest, 15, what="no split brain: same data")


if __name__ == "__main__":
    suite = Suite()
    sys.exit(suite.run([test_multi_host]))
