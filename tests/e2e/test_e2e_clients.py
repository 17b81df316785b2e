"""test_e2e_clients: real clients against a running fleet.

One fleet (a controller and three agents in three zones, as in
test_controller.Fleet); the cluster is made and changed with the curl
scripts in api/examples/ (create, describe, scale-replicas, resize-memory,
delete), and used in between by redis-cli (commands, --pipe mass insert,
replica READONLY), redis-benchmark (short and bounded), and redis-py (plain,
pipelines, WAIT, and Sentinel discovery when the controller has
--sentinel-listen). Replicas must end with the primary's DEBUG DIGEST."""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from nodeutil import Suite, free_port, wait_until  # noqa: E402
from test_controller import USER_TOKEN, Fleet, Process, endpoint_client, http  # noqa: E402

EXAMPLES = os.path.join(ROOT, "api", "examples")


def controller_has_sentinel(bindir):
    out = subprocess.run([os.path.join(bindir, "cachefleet-controller"), "--help"], capture_output=True, timeout=10)
    return b"--sentinel-listen" in out.stdout + out.stderr


class SentinelFleet(Fleet):
    """A Fleet whose controller also answers Sentinel discovery."""

    def start_controller(self):
        self.port = free_port()
        self.sentinel_port = free_port()
        self.controller = Process(self.root, "controller", [
            os.path.join(self.bindir, "cachefleet-controller"), "--listen", f"127.0.0.1:{self.port}",
            "--db", self.db, "--token-file", self.user_token_file, "--agent-token-file", self.agent_token_file,
            "--sentinel-listen", f"127.0.0.1:{self.sentinel_port}"]).start()
        wait_until(self._controller_healthy, 10, what="controller /healthz")


def example(fleet, script, *args):
    env = dict(os.environ, CACHEFLEET_URL=fleet.url(""), CACHEFLEET_TOKEN=USER_TOKEN)
    start = time.monotonic()
    out = subprocess.run(["bash", os.path.join(EXAMPLES, script)] + list(args), env=env,
                         capture_output=True, timeout=120)
    text = out.stdout.decode() + out.stderr.decode()
    assert out.returncode == 0, (script, text)
    assert USER_TOKEN not in text
    print(f"api/examples/{script} {' '.join(args)}: {time.monotonic() - start:.2f}s")
    return text


def cli(endpoint, *args, stdin=None):
    host, port = endpoint.rsplit(":", 1)
    out = subprocess.run(["redis-cli", "-h", host, "-p", port] + list(args), input=stdin,
                         capture_output=True, timeout=30)
    assert out.returncode == 0, (args[:2], out.stdout.decode()[-300:], out.stderr.decode())
    return out.stdout.decode().strip()


def digests_match(c):
    want = endpoint_client(c["endpoints"]["primary"]).execute_command("DEBUG", "DIGEST")
    return all(endpoint_client(ep).execute_command("DEBUG", "DIGEST") == want for ep in c["endpoints"]["reader"])


def check_redis_cli(c):
    primary, readers = c["endpoints"]["primary"], c["endpoints"]["reader"]
    assert cli(primary, "PING") == "PONG"
    assert cli(primary, "SET", "greeting", "hello world") == "OK"
    assert cli(primary, "GET", "greeting") == "hello world"
    cli(primary, "DEL", "counter")
    assert cli(primary, "INCRBY", "counter", "41") == "41" and cli(primary, "INCR", "counter") == "42"
    assert cli(primary, "SET", "short", "lived", "EX", "100") == "OK"
    assert 0 < int(cli(primary, "TTL", "short")) <= 100
    info = cli(primary, "INFO", "replication")
    assert "role:master" in info, info
    wait_until(lambda: f"connected_slaves:{len(readers)}" in cli(primary, "INFO", "replication"), 10,
               what=f"{len(readers)} replicas connected")
    # mass insertion the way operators load data: redis-cli --pipe
    proto = "".join(f"*3\r\n$3\r\nSET\r\n${len(f'pipe:{i}')}\r\npipe:{i}\r\n${len(str(i))}\r\n{i}\r\n"
                    for i in range(2000))
    out = cli(primary, "--pipe", stdin=proto.encode())
    assert "errors: 0, replies: 2000" in out, out
    for ep in readers:
        wait_until(lambda: cli(ep, "GET", "pipe:1999") == "1999", 10, what=f"--pipe data on {ep}")
        assert "role:slave" in cli(ep, "INFO", "replication")
        ro = cli(ep, "SET", "x", "y")
        assert ro.startswith("READONLY"), ("a replica refuses writes", ep, ro)


def check_redis_benchmark(c):
    host, port = c["endpoints"]["primary"].rsplit(":", 1)
    start = time.monotonic()
    out = subprocess.run(["redis-benchmark", "-h", host, "-p", port, "-n", "20000", "-c", "20", "-P", "8",
                          "-r", "5000", "-t", "set,get,incr,mset", "--csv"], capture_output=True, timeout=120)
    text = out.stdout.decode()
    assert out.returncode == 0, out.stderr.decode()
    rows = {}
    for line in text.splitlines()[1:]:
        fields = [f.strip('"') for f in line.split(",")]
        rows[fields[0].split()[0]] = float(fields[1])
    print(f"redis-benchmark (20000 requests, 20 clients, -P 8) in {time.monotonic() - start:.2f}s: "
          + ", ".join(f"{k} {v:.0f}/s" for k, v in rows.items()))
    assert {"SET", "GET", "INCR", "MSET"} <= set(rows), rows
    assert all(v > 0 for v in rows.values()), rows


def check_redis_py(c):
    p = endpoint_client(c["endpoints"]["primary"])
    assert p.ping() is True
    pipe = p.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"py:{i}", i, ex=3600 if i % 2 else None)
    assert all(pipe.execute())
    assert p.mget([f"py:{i}" for i in range(0, 1000, 111)]) == [str(i).encode() for i in range(0, 1000, 111)]
    assert p.wait(len(c["endpoints"]["reader"]), 5000) == len(c["endpoints"]["reader"])
    for ep in c["endpoints"]["reader"]:
        r = endpoint_client(ep)
        assert r.get("py:999") == b"999" and 0 < r.ttl("py:999") <= 3600 and r.ttl("py:998") == -1


def check_sentinel(fleet, name):
    if not isinstance(fleet, SentinelFleet):
        print("skipped: redis-py Sentinel: this controller has no --sentinel-listen (issue 6)")
        return
    from redis.sentinel import Sentinel
    s = Sentinel([("127.0.0.1", fleet.sentinel_port)], socket_timeout=5)
    c = fleet.cluster(name)
    assert "%s:%d" % s.discover_master(name) == c["endpoints"]["primary"]
    assert sorted("%s:%d" % a for a in s.discover_slaves(name)) == sorted(c["endpoints"]["reader"])
    m = s.master_for(name, socket_timeout=5)
    m.set("via-sentinel", "yes")
    assert s.slave_for(name, socket_timeout=5).get("via-sentinel") in (b"yes", None)


def test_real_clients(suite):
    bindir = os.path.dirname(os.path.abspath(suite.args.cachenode))
    cls = SentinelFleet if controller_has_sentinel(bindir) else Fleet
    with cls(suite.args.cachenode) as f:
        text = example(f, "create.sh", "e2e")
        assert "primary: 127.0.0." in text, text
        assert '"name":"e2e"' in example(f, "describe.sh", "e2e")
        assert '"clusters"' in example(f, "describe.sh")
        c = f.cluster("e2e")
        assert c["status"] == "available" and len(c["endpoints"]["reader"]) == 2, c

        check_redis_cli(c)
        check_redis_benchmark(c)
        check_redis_py(c)
        check_sentinel(f, "e2e")
        wait_until(lambda: digests_match(c), 10, what="replicas' DEBUG DIGEST equal to the primary's")

        example(f, "scale-replicas.sh", "e2e", "1")
        c = f.cluster("e2e")
        assert len(c["endpoints"]["reader"]) == 1, c["endpoints"]
        check_redis_cli(c)
        example(f, "scale-replicas.sh", "e2e", "2")
        c = f.cluster("e2e")
        assert len(c["endpoints"]["reader"]) == 2, c["endpoints"]
        wait_until(lambda: digests_match(c), 10, what="a new replica has everything")
        example(f, "resize-memory.sh", "e2e", "80")
        assert endpoint_client(c["endpoints"]["primary"]).config_get("maxmemory")["maxmemory"] == str(80 << 20)
        check_redis_py(c)
        assert "deleted e2e" in example(f, "delete.sh", "e2e")
        assert f.agent_nodes() == {}
        assert http("GET", f.url("/v1/clusters/e2e"), token=USER_TOKEN)[0] == 404


if __name__ == "__main__":
    suite = Suite()
    sys.exit(suite.run([test_real_clients]))
