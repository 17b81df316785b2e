"""Cluster mode (docs/cluster.md) with real clients: three primaries and
three replicas started with --cluster-enabled yes, one topology pushed to
all with CLUSTER SETTOPOLOGY, replicas attached with REPLICAOF. Then
redis-cli --cluster check, redis-cli -c, redis-py's RedisCluster and an
ioredis Cluster client (ioredis_cluster_app.js) work across the shards;
MOVED, CROSSSLOT and CLUSTERDOWN are byte-exact; READONLY reads on a
replica; a restarted node keeps its topology; a stale epoch is refused; a
slot moved to another shard is dropped by its old owner, which answers
MOVED; COUNTKEYSINSLOT/GETKEYSINSLOT agree with the keys written. Last, a
comparison with a single-node redis-server cluster that owns every slot."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import redis
from redis.cluster import ClusterNode, RedisCluster

from clusterutil import SLOTS, Fleet, cluster_client, end_cleanly, fleet, raw, slot_ranges
from nodeutil import Node, Suite, encode_command, free_port, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = os.path.join(HERE, "..", "..", ".tools", "node_modules")


def test_redis_cli_check_and_redirects(s):
    f = fleet(s)
    out = subprocess.run(["redis-cli", "--cluster", "check", f"127.0.0.1:{f.primary(1).port}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[OK] All 16384 slots covered." in out.stdout, out.stdout
    assert "[OK] All nodes agree about slots configuration." in out.stdout, out.stdout
    for i in range(30):
        key = f"cli:{i}"
        port = f.primary(i % 3).port
        done = subprocess.run(["redis-cli", "-c", "-p", str(port), "set", key, str(i)], capture_output=True,
                              text=True, timeout=30)
        assert done.stdout.strip() == "OK", done.stdout + done.stderr
    for i in range(30):
        done = subprocess.run(["redis-cli", "-c", "-p", str(f.primary(2).port), "get", f"cli:{i}"],
                              capture_output=True, text=True, timeout=30)
        assert done.stdout.strip() == str(i), done.stdout + done.stderr
        slot = f.primary(0).r.execute_command("CLUSTER", "KEYSLOT", f"cli:{i}")
        owner = f.primary(f.owner_of(slot))
        assert owner.r.get(f"cli:{i}") == str(i).encode()
    end_cleanly(*f.nodes)


def test_exact_errors(s):
    f = fleet(s)
    p0 = f.primary(0)
    slot = p0.r.execute_command("CLUSTER", "KEYSLOT", "foo")  # 12182: shard 3
    assert slot == 12182
    assert raw(p0.port, "GET", "foo") == b"-MOVED 12182 127.0.0.1:%d\r\n" % f.primary(2).port
    assert raw(p0.port, "MSET", "a", "1", "b", "2") == b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    # shard channels hash to slots as keys do; a replica of the owner serves them
    assert raw(p0.port, "SPUBLISH", "foo", "m") == b"-MOVED 12182 127.0.0.1:%d\r\n" % f.primary(2).port
    assert raw(f.replica(2).port, "SPUBLISH", "foo", "m") == b":0\r\n"
    assert raw(p0.port, "SSUBSCRIBE", "a", "b") == b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    assert raw(p0.port, "SELECT", "1") == b"-ERR SELECT is not allowed in cluster mode\r\n"
    assert raw(p0.port, "MOVE", "b", "1") == b"-ERR MOVE is not allowed in cluster mode\r\n"
    assert raw(p0.port, "CLUSTER", "MEET", "127.0.0.1", "1").startswith(b"-ERR CLUSTER MEET is not supported")
    # EXEC after a redirected command aborts; EXEC over two slots gives CROSSSLOT
    with p0.connect() as c:
        c.sendall(b"MULTI\r\nSET b 1\r\nGET foo\r\nEXEC\r\n")  # b: slot 3300, here
        want = b"+OK\r\n+QUEUED\r\n-MOVED 12182 127.0.0.1:%d\r\n" % f.primary(2).port + \
            b"-EXECABORT Transaction discarded because of previous errors.\r\n"
        got = b""
        while len(got) < len(want):
            got += c.recv(4096)
        assert got == want, got
    # a script may only touch keys served here
    key_here = "{a}x"  # slot 15495 of shard 3
    owner = f.primary(2)
    assert owner.r.eval("return redis.call('set', KEYS[1], 'v')", 1, key_here) == b"OK"
    try:
        owner.r.eval("return redis.call('get', 'b')", 0)  # slot 3300: shard 1
        raise AssertionError("a script read a key of another shard")
    except redis.ResponseError as e:
        assert str(e).startswith("Script attempted to access a non local key in a cluster node"), str(e)
    # no topology yet: CLUSTERDOWN
    lone = s.node("--cluster-enabled", "yes", "--node-id", "lone")
    assert raw(lone.port, "GET", "foo") == b"-CLUSTERDOWN Hash slot not served\r\n"
    assert lone.r.execute_command("CLUSTER", "INFO").decode().startswith("cluster_state:fail")
    # a slot that no shard serves
    args = ["1", "1", "s1", "0-100", "1", "lone", "127.0.0.1", str(lone.port)]
    assert lone.r.execute_command("CLUSTER", "SETTOPOLOGY", *args) == b"OK"
    assert raw(lone.port, "GET", "foo") == b"-CLUSTERDOWN Hash slot not served\r\n"
    assert raw(lone.port, "SET", "{06S}", "v") == b"+OK\r\n"  # slot 0
    # outside cluster mode
    plain = s.node()
    assert raw(plain.port, "CLUSTER", "INFO") == b"-ERR This instance has cluster support disabled\r\n"
    assert raw(plain.port, "READONLY") == b"-ERR This instance has cluster support disabled\r\n"
    assert plain.r.info("cluster") == {"cluster_enabled": 0}
    assert p0.r.info("cluster") == {"cluster_enabled": 1}
    end_cleanly(*f.nodes, lone, plain)


def test_redis_py_cluster(s):
    f = fleet(s)
    rc = cluster_client(f)
    for i in range(300):
        rc.set(f"py:{i}", i)
    for i in range(300):
        assert rc.get(f"py:{i}") == str(i).encode()
    assert rc.mset({"{t}a": 1, "{t}b": 2})
    assert rc.mget("{t}a", "{t}b") == [b"1", b"2"]
    rc.sadd("{t}s1", "x", "y")
    rc.sadd("{t}s2", "y", "z")
    assert rc.sunionstore("{t}u", "{t}s1", "{t}s2") == 3
    pipe = rc.pipeline()
    for i in range(100):
        pipe.incr(f"ctr:{i % 7}")
    assert pipe.execute()[-1] >= 1
    assert sum(int(rc.get(f"ctr:{i}")) for i in range(7)) == 100
    try:
        rc.execute_command("MSET", "a", "1", "b", "2")
        raise AssertionError("MSET across slots succeeded")
    except redis.exceptions.RedisClusterException as e:
        assert "same key slot" in str(e) or "CROSSSLOT" in str(e), str(e)
    except redis.ResponseError as e:
        assert str(e).startswith("CROSSSLOT"), str(e)
    # COUNTKEYSINSLOT and GETKEYSINSLOT agree with what was written
    expected = {}
    for k in [f"py:{i}" for i in range(300)] + ["{t}a", "{t}b", "{t}s1", "{t}s2", "{t}u"] + \
            [f"ctr:{i}" for i in range(7)]:
        expected.setdefault(key_slot(f, k), set()).add(k.encode())
    for slot, keys in list(expected.items())[:50]:
        owner = f.primary(f.owner_of(slot))
        assert owner.r.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == len(keys)
        assert set(owner.r.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1000)) == keys
        assert len(owner.r.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1)) == 1
    total = sum(f.primary(i).r.dbsize() for i in range(3))
    assert total == sum(len(v) for v in expected.values())
    rc.close()
    end_cleanly(*f.nodes)


def key_slot(f, key):
    return f.primary(0).r.execute_command("CLUSTER", "KEYSLOT", key)


def test_ioredis_cluster(s):
    assert os.path.isfile(os.path.join(MODULES, "ioredis", "package.json")), \
        "ioredis is missing: run deploy/install-deps.sh"
    f = fleet(s)
    env = dict(os.environ, NODE_PATH=MODULES)
    done = subprocess.run(["node", os.path.join(HERE, "ioredis_cluster_app.js"), str(f.primary(1).port)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"ioredis_cluster_app.js failed:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.split() == ["ok", "cluster"], done.stdout
    end_cleanly(*f.nodes)


def test_readonly_on_replica(s):
    f = fleet(s)
    p, r = f.primary(2), f.replica(2)
    p.r.set("foo", "bar")  # slot 12182
    wait_until(lambda: r.r.execute_command("CLUSTER", "COUNTKEYSINSLOT", 12182) == 1, 10, what="replicated")
    with r.connect() as c:
        c.sendall(b"GET foo\r\nREADONLY\r\nGET foo\r\nSET foo x\r\nREADWRITE\r\nGET foo\r\n")
        moved = b"-MOVED 12182 127.0.0.1:%d\r\n" % p.port
        want = moved + b"+OK\r\n$3\r\nbar\r\n" + moved + b"+OK\r\n" + moved
        got = b""
        while len(got) < len(want):
            chunk = c.recv(4096)
            assert chunk
            got += chunk
        assert got == want, got
    # READONLY does not make a replica serve another shard's slots
    with r.connect() as c:
        c.sendall(b"READONLY\r\nGET a\r\n")  # slot 15495 is shard 3's own; "b" is shard 1's
        got = b""
        while got.count(b"\r\n") < 2:
            got += c.recv(4096)
        assert got == b"+OK\r\n$-1\r\n", got
        c.sendall(b"GET b\r\n")
        got = c.recv(4096)
        assert got == b"-MOVED 3300 127.0.0.1:%d\r\n" % f.primary(0).port, got
    # roles switched before the topology says so (a node restarted as a
    # replica with its stored topology): the node named primary but now a
    # replica sends writes to the primary it follows, not READONLY errors
    r.r.execute_command("REPLICAOF", "NO", "ONE")
    p.r.execute_command("REPLICAOF", "127.0.0.1", str(r.port))
    with p.connect() as c:
        c.sendall(b"SET foo y\r\n")
        got = c.recv(4096)
        assert got == b"-MOVED 12182 127.0.0.1:%d\r\n" % r.port, got
    end_cleanly(*f.nodes)


def test_restart_keeps_topology_and_stale_epoch_refused(s):
    f = fleet(s)
    n = f.primary(1)
    before = n.r.execute_command("CLUSTER", "NODES")
    assert os.path.isfile(os.path.join(n.dir, "nodes.conf"))
    n.terminate(check=True)
    n.start()
    assert n.r.execute_command("CLUSTER", "NODES").split(b"\n")[0].split()[:3] == \
        before.split(b"\n")[0].split()[:3]
    info = n.r.execute_command("CLUSTER", "INFO").decode()
    assert "cluster_state:ok" in info and f"cluster_current_epoch:{f.epoch}" in info, info
    try:
        n.r.execute_command("CLUSTER", "SETTOPOLOGY", *f.topology_args(epoch=f.epoch - 1 or 0))
        raise AssertionError("stale epoch accepted")
    except redis.ResponseError as e:
        assert str(e) in (f"stale topology epoch {f.epoch - 1}, this node has {f.epoch}",
                          "invalid topology: the epoch must be an integer from 1 to 9223372036854775807"), str(e)
    # the same epoch again: accepted, nothing changes (the agent replays it)
    assert n.r.execute_command("CLUSTER", "SETTOPOLOGY", *f.topology_args()) == b"OK"
    f.push()
    f.push()
    try:
        n.r.execute_command("CLUSTER", "SETTOPOLOGY", *f.topology_args(epoch=f.epoch - 1))
        raise AssertionError("stale epoch accepted")
    except redis.ResponseError as e:
        assert str(e) == f"stale topology epoch {f.epoch - 1}, this node has {f.epoch}", str(e)
    # a bad file refuses start-up with a clear log line
    n.terminate(check=True)
    with open(os.path.join(n.dir, "nodes.conf"), "w") as fh:
        fh.write("cachenode-topology-v1\n1 1\ns 0-99999 1 x h 1\n")
    assert n.start_expecting_exit() not in (None, 0)
    assert "bad cluster config file" in n.log_text(), n.log_tail()
    # cluster mode needs the node's identity
    anon = s.node("--cluster-enabled", "yes", start=False)
    assert anon.start_expecting_exit() not in (None, 0)
    assert "Cluster mode needs --node-id" in anon.log_text(), anon.log_tail()


def test_slot_moves_to_another_shard(s):
    f = fleet(s)
    old, new = f.primary(2), f.primary(0)
    old.r.set("foo", "v")  # 12182
    old.r.set("{foo}2", "w")
    wait_until(lambda: f.replica(2).r.execute_command("CLUSTER", "COUNTKEYSINSLOT", 12182) == 2, 10,
               what="replicated")
    watcher = old.client()
    watcher.execute_command("WATCH", "foo")
    blocked = old.connect()
    blocked.sendall(encode_command("BLPOP", "{foo}list", "0"))
    wait_until(lambda: old.r.info("clients")["blocked_clients"] == 1, 10, what="BLPOP blocked")
    f.slots = ["0-5461,12182", "5462-10922", "10923-12181,12183-16383"]
    f.push()
    # a client blocked on a key of the lost slot is redirected
    assert blocked.recv(4096) == b"-MOVED 12182 127.0.0.1:%d\r\n" % new.port
    blocked.close()
    # the dropped key counts as modified: the watcher's transaction fails
    watcher.execute_command("MULTI")
    assert watcher.execute_command("GET", "{a}x") == b"QUEUED"
    assert watcher.execute_command("EXEC") is None
    watcher.close()
    for n in (old, f.replica(2)):
        assert n.r.execute_command("CLUSTER", "COUNTKEYSINSLOT", 12182) == 0
    assert raw(old.port, "GET", "foo") == b"-MOVED 12182 127.0.0.1:%d\r\n" % new.port
    assert raw(new.port, "GET", "foo") == b"$-1\r\n"
    rc = cluster_client(f)
    rc.set("foo", "moved")
    assert new.r.get("foo") == b"moved"
    slots = {tuple(r[:2]): r[2][1] for r in old.r.execute_command("CLUSTER", "SLOTS")}
    assert slots[(12182, 12182)] == new.port
    rc.close()
    end_cleanly(*f.nodes)


# ---- against redis-server ------------------------------------------------------------

COMPARED = [
    ("CLUSTER", "KEYSLOT", "foo"), ("CLUSTER", "KEYSLOT", "{user1000}.following"),
    ("CLUSTER", "KEYSLOT", "foo{}{bar}"), ("CLUSTER", "KEYSLOT", "foo{{bar}}zap"),
    ("CLUSTER", "KEYSLOT", "foo{bar}{zap}"), ("CLUSTER", "KEYSLOT", ""),
    ("SET", "foo", "1"), ("SET", "{foo}x", "2"), ("MSET", "{t}a", "1", "{t}b", "2"),
    ("CLUSTER", "COUNTKEYSINSLOT", "12182"), ("CLUSTER", "COUNTKEYSINSLOT", "16384"),
    ("CLUSTER", "COUNTKEYSINSLOT", "-1"), ("CLUSTER", "COUNTKEYSINSLOT", "x"),
    ("CLUSTER", "GETKEYSINSLOT", "12182", "0"), ("CLUSTER", "GETKEYSINSLOT", "0", "-1"),
    ("CLUSTER", "GETKEYSINSLOT", "16384", "1"), ("CLUSTER", "GETKEYSINSLOT", "x", "1"),
    ("CLUSTER", "GETKEYSINSLOT", "12182"), ("CLUSTER", "KEYSLOT"),
    ("MSET", "a", "1", "b", "2"), ("SUNION", "a", "b"), ("SUNIONSTORE", "{t}d", "a", "b"),
    ("RENAME", "a", "b"), ("MGET", "{t}a", "{t}b"), ("DEL", "a", "{t}a"),
    ("EVAL", "return 1", "2", "a", "b"), ("EVAL", "return redis.call('get', KEYS[1])", "1", "{t}a"),
    ("EVAL", "#!lua flags=no-cluster\nreturn 1", "0"),
    ("SELECT", "1"), ("SELECT", "0"), ("SELECT", "x"), ("MOVE", "foo", "1"),
    ("READONLY",), ("READWRITE",), ("ASKING",), ("READONLY", "x"),
    ("CLUSTER", "NOSUCH"), ("CLUSTER",),
]


def start_redis_cluster_node(rdir):
    """A redis-server in cluster mode on a free port (another one when it
    exits, having lost the port to a race): (process, port)."""
    for _ in range(5):
        port = free_port()
        with open(os.path.join(rdir, "redis.log"), "ab") as log:
            proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                     "--appendonly", "no", "--dir", rdir, "--cluster-enabled", "yes"],
                                    stdout=log, stderr=subprocess.STDOUT)
        ref = redis.Redis(host="127.0.0.1", port=port)
        wait_until(lambda: proc.poll() is not None or ref.ping(), 10, what="redis-server")
        if proc.poll() is None:
            return proc, port
    raise AssertionError("redis-server did not start: " + open(os.path.join(rdir, "redis.log")).read()[-2000:])


def test_against_redis_server(s):
    """The same commands to a one-node redis-server cluster that owns every
    slot and a cachenode with a one-shard topology: replies byte for byte."""
    rdir = tempfile.mkdtemp(prefix="redis-cluster-")
    proc, port = start_redis_cluster_node(rdir)
    try:
        ref = redis.Redis(host="127.0.0.1", port=port)
        assert ref.execute_command("CLUSTER", "ADDSLOTSRANGE", "0", "16383") == b"OK"
        wait_until(lambda: b"cluster_state:ok" in ref.execute_command("CLUSTER", "INFO"), 10, what="state ok")
        n = s.node("--cluster-enabled", "yes", "--node-id", "solo")
        n.r.execute_command("CLUSTER", "SETTOPOLOGY", "1", "1", "0001", "0-16383", "1", "solo", "127.0.0.1",
                            str(n.port))
        for cmd in COMPARED:
            want, got = raw(port, *cmd), raw(n.port, *cmd)
            assert got == want, f"{cmd}: redis {want!r}, cachenode {got!r}"
        def fields(info):
            keep = ("cluster_state", "cluster_slots_assigned", "cluster_slots_ok", "cluster_slots_pfail",
                    "cluster_slots_fail", "cluster_known_nodes", "cluster_size")
            return [line for line in info.decode().split("\r\n") if line.split(":")[0] in keep]
        assert fields(n.r.execute_command("CLUSTER", "INFO")) == fields(ref.execute_command("CLUSTER", "INFO"))
        slots_ref, slots_got = ref.execute_command("CLUSTER", "SLOTS"), n.r.execute_command("CLUSTER", "SLOTS")
        assert [r[:2] for r in slots_got] == [r[:2] for r in slots_ref] == [[0, 16383]]
        assert len(slots_got[0][2]) == len(slots_ref[0][2]) == 4
    finally:
        proc.kill()
        proc.wait(timeout=10)
        shutil.rmtree(rdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(Suite().run([
        test_redis_cli_check_and_redirects,
        test_exact_errors,
        test_redis_py_cluster,
        test_ioredis_cluster,
        test_readonly_on_replica,
        test_restart_keeps_topology_and_stale_epoch_refused,
        test_slot_moves_to_another_shard,
        test_against_redis_server,
    ]))
