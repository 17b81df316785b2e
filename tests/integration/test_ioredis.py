"""A Node.js application on ioredis (from npm, installed into .tools/ by
deploy/install-deps.sh): pipelines, MULTI, Lua scripts through
defineCommand (a token bucket, a BullMQ-style job move) and pub/sub, run by
ioredis_app.js against one node; then the same scripts' effects checked
from redis-py, and on a replica."""
import os
import subprocess
import sys

from nodeutil import Suite, wait_equal_digests

HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = os.path.join(HERE, "..", "..", ".tools", "node_modules")


def run_app(port):
    env = dict(os.environ, NODE_PATH=MODULES)
    done = subprocess.run(["node", os.path.join(HERE, "ioredis_app.js"), str(port)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"ioredis_app.js failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout.split()


def test_ioredis_application(s):
    assert os.path.isfile(os.path.join(MODULES, "ioredis", "package.json")), \
        "ioredis is missing: run deploy/install-deps.sh"
    n = s.node()
    out = run_app(n.port)
    assert out == ["ok", "pipelines_and_transactions", "ok", "lua_scripts", "ok", "pubsub"], out


def test_script_effects_reach_a_replica(s):
    p = s.node()
    r = s.replica(p)
    rc = r.client()
    run_app(p.port)
    pc = p.client()
    wait_equal_digests(p, r)
    assert rc.lrange("q:active", 0, -1) == [b"3", b"2", b"1"]
    assert rc.hget("job:1", "state") == b"active"


if __name__ == "__main__":
    sys.exit(Suite().run([test_ioredis_application, test_script_effects_reach_a_replica]))
