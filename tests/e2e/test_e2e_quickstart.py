"""test_e2e_quickstart: deploy/quickstart.sh up, up again, status, down.

Runs the newcomer's command against the build under test
(QUICKSTART_SKIP_BUILD=1, QUICKSTART_BIN_DIR = the ctest build's bin dir)
in a temporary QUICKSTART_DIR, then checks what a user would: the env file
and its token, redis-cli against the primary endpoint (and the write on a
replica), an api/examples script driven by the env file, that a second `up`
starts nothing, that `status` lists everything, and that `down` leaves no
process behind. Whatever happens, every pid the run recorded is killed at
the end."""
import glob
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from nodeutil import Suite, wait_until  # noqa: E402

QUICKSTART = os.path.join(ROOT, "deploy", "quickstart.sh")
PROGRAMS = ("cachenode", "cachefleet-agent", "cachefleet-controller")


def live_program(pid):
    """The program name of a live (not zombie) process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return None
    if st[st.rindex(")") + 2] in "ZX":
        return None
    return os.path.basename(argv0)


class Quickstart:
    def __init__(self, bindir):
        self.dir = tempfile.mkdtemp(prefix="quickstart-test-")
        self.env = dict(os.environ, QUICKSTART_DIR=self.dir, QUICKSTART_SKIP_BUILD="1",
                        QUICKSTART_BIN_DIR=bindir, QUICKSTART_TIMEOUT="60")
        self.seen = set()  # every pid the fleet ever reported: killed at the end

    def run(self, *args, check=True, timeout=180):
        start = time.monotonic()
        out = subprocess.run(["bash", QUICKSTART] + list(args), env=self.env, capture_output=True, timeout=timeout)
        text = out.stdout.decode() + out.stderr.decode()
        self.collect_pids()
        print(f"quickstart {' '.join(args)}: rc {out.returncode} in {time.monotonic() - start:.2f}s")
        if check and out.returncode != 0:
            raise AssertionError(f"quickstart {args} failed ({out.returncode}):\n{text}\n{self.logs()}")
        return out.returncode, text

    def collect_pids(self):
        for f in glob.glob(os.path.join(self.dir, "run", "*.pid")) + \
                glob.glob(os.path.join(self.dir, "agents", "*", "nodes", "*", "pid")):
            try:
                self.seen.add(int(open(f).read().strip()))
            except (OSError, ValueError):
                pass
        for f in glob.glob(os.path.join(self.dir, "agents", "*", "specs", "*.json")):
            try:
                pid = json.load(open(f)).get("pid")
                if pid:
                    self.seen.add(int(pid))
            except (OSError, ValueError):
                pass

    def pids(self):
        """{name: pid} from run/*.pid."""
        out = {}
        for f in glob.glob(os.path.join(self.dir, "run", "*.pid")):
            out[os.path.basename(f)[:-4]] = int(open(f).read().strip())
        return out

    def live(self):
        return {p for p in self.seen if live_program(p) in PROGRAMS}

    def logs(self):
        text = ""
        for f in sorted(glob.glob(os.path.join(self.dir, "logs", "*.log"))):
            lines = open(f, errors="replace").read().splitlines()[-25:]
            text += f"--- {os.path.basename(f)} (tail)\n" + "\n".join(lines) + "\n"
        return text

    def cleanup(self):
        self.collect_pids()
        for pid in self.live():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def source_env(path):
    """The variables a user gets from `. .quickstart/env`."""
    out = subprocess.run(["bash", "-c", f'. "{path}" && env -0'], capture_output=True, check=True, timeout=10)
    pairs = [x.split("=", 1) for x in out.stdout.decode().split("\0") if "=" in x]
    return {k: v for k, v in pairs if k.startswith("CACHEFLEET_")}


def redis_cli(endpoint, *args):
    host, port = endpoint.rsplit(":", 1)
    out = subprocess.run(["redis-cli", "-h", host, "-p", port] + list(args), capture_output=True, timeout=10)
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout.decode().strip()


def test_up_twice_status_down(suite):
    qs = Quickstart(os.path.dirname(os.path.abspath(suite.args.cachenode)))
    try:
        start = time.monotonic()
        _, text = qs.run("up")
        print(f"up -> demo available: {time.monotonic() - start:.2f}s")
        for want in ("cluster      demo: primary 127.0.0.", "/v1/clusters/demo/failover", "redis-cli -h 127.0.0.",
                     f"$(cat {qs.dir}/api.token)", "deploy/quickstart.sh down"):
            assert want in text, (want, text)
        token = open(os.path.join(qs.dir, "api.token")).read().strip()
        assert token and token not in text, "the token itself is never printed"
        for f in ("api.token", "agent.token"):
            assert stat.S_IMODE(os.stat(os.path.join(qs.dir, f)).st_mode) == 0o600, f
        first = qs.pids()
        assert sorted(first) == ["agent-h1", "agent-h2", "agent-h3", "controller"], first
        assert all(live_program(p) for p in first.values()), first

        env = source_env(os.path.join(qs.dir, "env"))
        assert env["CACHEFLEET_TOKEN"] == token and env["CACHEFLEET_URL"].startswith("http://127.0.0.1:"), env.keys()
        assert "CACHEFLEET_SENTINEL" in env
        api_env = dict(os.environ, **env)
        out = subprocess.run(["bash", os.path.join(ROOT, "api", "examples", "describe.sh"), "demo"],
                             env=api_env, capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr.decode()
        cluster = json.loads(out.stdout.decode().splitlines()[0])
        assert cluster["status"] == "available" and len(cluster["nodes"]) == 3, cluster
        assert sorted(n["az"] for n in cluster["nodes"]) == ["az-a", "az-b", "az-c"], cluster["nodes"]
        qs.seen |= {n["pid"] for n in json.loads(subprocess.run(
            ["curl", "-s", "-H", "@-", env["CACHEFLEET_URL"] + "/v1/clusters/demo"], input=f"Authorization: Bearer {token}".encode(),
            capture_output=True, timeout=10).stdout).get("nodes", []) if n.get("pid")}

        primary = cluster["endpoints"]["primary"]
        assert redis_cli(primary, "SET", "quickstart", "works") == "OK"
        assert redis_cli(primary, "GET", "quickstart") == "works"
        for reader in cluster["endpoints"]["reader"]:
            wait_until(lambda: redis_cli(reader, "GET", "quickstart") == "works", 10, what=f"the write on {reader}")

        _, text = qs.run("up")
        assert qs.pids() == first, (first, qs.pids())
        assert text.count("already running") == 4, text
        assert "creating cluster" not in text, text
        assert len(qs.live()) == 7, qs.live()  # controller, 3 agents, 3 nodes: no second set

        rc, text = qs.run("status")
        assert rc == 0, text
        assert "cluster demo: available" in text and text.count("running") >= 4, text
        for pid in first.values():
            assert str(pid) in text, (pid, text)

        before = qs.live()
        assert len(before) == 7
        start = time.monotonic()
        _, text = qs.run("down")
        print(f"down: {time.monotonic() - start:.2f}s")
        assert "7 processes stopped" in text, text
        assert not qs.live(), {p: live_program(p) for p in qs.live()}
        rc, text = qs.run("status", check=False)
        assert rc == 3 and "stopped" in text, (rc, text)
        assert not os.path.exists(os.path.join(qs.dir, "controller.db"))
        assert os.path.exists(os.path.join(qs.dir, "logs", "controller.log"))
        _, text = qs.run("down")  # nothing left to stop is fine
        assert "0 processes stopped" in text, text
    except Exception:
        print(qs.logs())
        raise
    finally:
        qs.cleanup()


def test_restarts_only_what_died(suite):
    """A dead agent is started again on its recorded port and adopts its node."""
    qs = Quickstart(os.path.dirname(os.path.abspath(suite.args.cachenode)))
    try:
        qs.run("up")
        first = qs.pids()
        victim = first["agent-h2"]
        os.kill(victim, signal.SIGTERM)
        wait_until(lambda: live_program(victim) is None, 10, what="agent h2 stopped")
        rc, text = qs.run("status", check=False)
        assert rc == 3 and "agent-h2     -" in text, text
        _, text = qs.run("up")
        now = qs.pids()
        assert now["agent-h2"] != victim and {k: v for k, v in now.items() if k != "agent-h2"} == \
            {k: v for k, v in first.items() if k != "agent-h2"}, (first, now)
        assert text.count("already running") == 3, text
        assert len(qs.live()) == 7, qs.live()
        qs.run("down")
        assert not qs.live()
    except Exception:
        print(qs.logs())
        raise
    finally:
        qs.cleanup()


if __name__ == "__main__":
    suite = Suite()
    sys.exit(suite.run([test_up_twice_status_down, test_restarts_only_what_died]))
