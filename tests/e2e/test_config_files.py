"""test_config_files: `--config FILE` for cachefleet-controller and
cachefleet-agent, and the token files they create.

A config file holds the long options as `name value` lines; flags on the
command line override it; an unknown name, a missing value or a missing file
is refused with the file and line. Without --token-file the controller
creates DBDIR/api.token and DBDIR/agent.token, mode 0600; the agent makes
up no token (it could never match the controller's) and refuses to start
without one. The example configs in deploy/ must parse."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from nodeutil import Suite, free_port, wait_until  # noqa: E402
from test_controller import Process, http  # noqa: E402


class Dir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="config-test-")
        self.procs = []

    def write(self, name, text):
        p = os.path.join(self.path, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def start(self, name, argv):
        p = Process(self.path, name, argv).start()
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            p.terminate()
        shutil.rmtree(self.path, ignore_errors=True)


def bins(suite):
    d = os.path.dirname(os.path.abspath(suite.args.cachenode))
    return os.path.join(d, "cachefleet-controller"), os.path.join(d, "cachefleet-agent")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_controller_config_and_tokens(suite):
    controller, _ = bins(suite)
    d = Dir()
    try:
        port, other = free_port(), free_port()
        db = os.path.join(d.path, "state", "controller.db")
        os.mkdir(os.path.dirname(db))
        conf = d.write("controller.conf", f"""# the controller's options, one `name value` a line
listen 127.0.0.1:{other}

db   {db}
agent-timeout-ms 2500
  loglevel verbose
""")
        # the command line's --listen wins over the file's
        p = d.start("controller", [controller, "--config", conf, "--listen", f"127.0.0.1:{port}"])
        wait_until(lambda: p.alive() and http("GET", f"http://127.0.0.1:{port}/healthz")[0] == 200, 10,
                   what="controller from --config")
        assert http("GET", f"http://127.0.0.1:{port}/v1/clusters")[0] == 401
        for name in ("api.token", "agent.token"):
            path = os.path.join(d.path, "state", name)
            assert mode(path) == 0o600, (name, oct(mode(path)))
            assert len(open(path).read().strip()) == 32
        token = open(os.path.join(d.path, "state", "api.token")).read().strip()
        assert http("GET", f"http://127.0.0.1:{port}/v1/clusters", token=token)[0] == 200
        assert "agents down after 2500 ms" in p.log_text(), p.log_text()
        assert token not in p.log_text()
        assert p.terminate() == 0
        # a restart reads the same tokens, --config=FILE form
        p = d.start("controller2", [controller, f"--config={conf}", "--listen", f"127.0.0.1:{port}"])
        wait_until(lambda: p.alive() and http("GET", f"http://127.0.0.1:{port}/healthz")[0] == 200, 10,
                   what="controller restarted")
        assert http("GET", f"http://127.0.0.1:{port}/v1/clusters", token=token)[0] == 200
        assert p.terminate() == 0
    finally:
        d.cleanup()


def test_bad_config_refused(suite):
    controller, agent = bins(suite)
    d = Dir()
    try:
        cases = [
            ("listen 127.0.0.1:1\ncolour blue\n", "bad.conf:2: unknown option 'colour'"),
            ("loglevel\n", "bad.conf:1: 'loglevel' needs a value"),
            ("help yes\n", "unknown option 'help'"),
            ("config other.conf\n", "unknown option 'config'"),
            ("--listen 127.0.0.1:1\n", "unknown option '--listen'"),
        ]
        for text, want in cases:
            conf = d.write("bad.conf", text)
            for prog in (controller, agent):
                out = subprocess.run([prog, "--config", conf], capture_output=True, timeout=10)
                assert out.returncode != 0 and want in out.stderr.decode(), (prog, text, out.stderr.decode())
        missing = os.path.join(d.path, "nope.conf")
        for prog in (controller, agent):
            out = subprocess.run([prog, "--config", missing], capture_output=True, timeout=10)
            assert out.returncode != 0 and "nope.conf" in out.stderr.decode(), out.stderr.decode()
            out = subprocess.run([prog, "--config"], capture_output=True, timeout=10)
            assert out.returncode != 0 and "--config needs a file" in out.stderr.decode(), out.stderr.decode()
    finally:
        d.cleanup()


def test_agent_config_registers(suite):
    controller, agent = bins(suite)
    d = Dir()
    try:
        port = free_port()
        c = d.start("controller", [controller, "--listen", f"127.0.0.1:{port}", "--db",
                                   os.path.join(d.path, "controller.db")])
        wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/healthz")[0] == 200, 10, what="controller")
        token = open(os.path.join(d.path, "api.token")).read().strip()
        aport = free_port()
        conf = d.write("agent.conf", f"""listen 127.0.0.2:{aport}
controller http://127.0.0.1:{port}
host-id cfg-host
az az-z
data-dir {d.path}/agent-data
token-file {d.path}/agent.token
node-binary {os.path.abspath(suite.args.cachenode)}
ports 31000-31010
memory-mb 512
health-interval-ms 50
""")
        a = d.start("agent", [agent, "--config", conf])

        def registered():
            status, doc = http("GET", f"http://127.0.0.1:{port}/v1/hosts", token=token)
            return status == 200 and [(h["id"], h["az"], h["status"], h["memory_mb"]) for h in doc["hosts"]] == \
                [("cfg-host", "az-z", "up", 512)]
        wait_until(registered, 10, what="the agent from --config registered")
        assert a.alive() and c.alive()
        # without --token-file (and no DATA/agent.token) an agent refuses to start
        data2 = os.path.join(d.path, "agent2-data")
        out = subprocess.run([agent, "--config", conf, "--listen", f"127.0.0.3:{free_port()}",
                              "--host-id", "cfg-host2", "--data-dir", data2, "--token-file", ""],
                             capture_output=True, timeout=10)
        assert out.returncode != 0 and "--token-file" in out.stderr.decode(), out.stderr.decode()
        assert not os.path.exists(os.path.join(data2, "agent.token"))
    finally:
        d.cleanup()


def test_example_configs_parse(suite):
    """deploy/*.conf: every name is an option of its program (checked by the
    program itself: --help after --config parses the file first)."""
    controller, agent = bins(suite)
    found = 0
    for name, prog in (("controller.conf", controller), ("agent.conf", agent)):
        path = os.path.join(ROOT, "deploy", name)
        if not os.path.exists(path):
            continue
        found += 1
        out = subprocess.run([prog, "--config", path, "--help"], capture_output=True, timeout=10)
        assert out.returncode == 0 and b"Usage" in out.stdout, (path, out.stderr.decode())
    assert found == 2, "deploy/controller.conf and deploy/agent.conf are missing"


if __name__ == "__main__":
    suite = Suite()
    sys.exit(suite.run([test_controller_config_and_tokens, test_bad_config_refused, test_agent_config_registers,
                        test_example_configs_parse]))
