"""Scripting: redis-py's Lock (EVALSHA-based) works, the sandbox refuses
os/io/dofile and binary chunks, a script's writes reach replicas as one
MULTI/EXEC unit (never the EVAL itself) and the replica's DEBUG DIGEST
equals its primary's, WATCH sees a script's writes, a stuck script is
killed (SCRIPT KILL, UNKILLABLE, SHUTDOWN NOSAVE), used_memory counts the
Lua state; functions replicate (live and by full sync), survive a restart
through the snapshot, round-trip through DUMP/RESTORE, and a busy one is
stopped with FUNCTION KILL."""
import sys

import redis

from nodeutil import RawReplica, Suite, wait_equal_digests, wait_until


def test_redis_py_lock(s):
    c = s.node().client()
    lock = c.lock("resource", timeout=5, blocking_timeout=1)
    assert lock.acquire()
    other = c.lock("resource", timeout=5, blocking_timeout=0.05)
    assert not other.acquire()
    lock.extend(5)
    assert c.pttl("resource") > 5000
    lock.release()
    assert other.acquire()
    other.release()
    assert c.exists("resource") == 0
    script = c.register_script("return redis.call('incr', KEYS[1])")
    assert [script(keys=["n"]) for _ in range(3)] == [1, 2, 3]


def test_sandbox_refuses_os_io(s):
    c = s.node().client()
    for body in ("return os.execute('true')", "return io.open('/etc/passwd')",
                 "return dofile('/etc/passwd')", "return require('os')",
                 "return getfenv(0)", "x = 1", "return loadstring('return 7')()",
                 "return loadstring(string.dump(function() return 1 end))",
                 "return load(function() return nil end)"):
        try:
            c.eval(body, 0)
        except redis.ResponseError as e:
            assert "nonexistent global" in str(e) or "readonly table" in str(e), str(e)
        else:
            raise AssertionError(f"{body!r} ran")


def test_script_effects_replicate_as_multi_exec(s):
    p = s.node()
    raw = RawReplica(p)
    try:
        c = p.client()
        c.eval("redis.call('set', KEYS[1], 'v'); redis.call('incr', KEYS[2]); return 1", 2, "a", "n")
        c.set("after", 1)
        stream = [cmd for cmd in raw.commands_until(b"EXEC") if cmd[0] != b"SELECT"]
        assert stream == [[b"MULTI"], [b"SET", b"a", b"v"], [b"INCR", b"n"], [b"EXEC"]], stream
        after = [cmd for cmd in raw.commands_until(b"SET") if cmd[0] != b"SELECT"]
        assert after == [[b"SET", b"after", b"1"]], after
        c.eval("return redis.call('get', 'a')", 0)  # a read-only script sends nothing
        c.set("last", 1)
        assert [cmd for cmd in raw.commands_until(b"SET") if cmd[0] != b"SELECT"] == [[b"SET", b"last", b"1"]]
    finally:
        raw.close()


def test_replica_digest_after_scripts(s):
    p = s.node()
    r = s.replica(p)
    pc, rc = p.client(), r.client()
    body = """
        redis.call('incr', KEYS[1])
        redis.call('rpush', KEYS[2], ARGV[1])
        redis.call('hincrby', KEYS[3], ARGV[1] % 3, 1)
        if tonumber(ARGV[1]) % 10 == 0 then redis.call('spop', KEYS[4]) end
        redis.call('sadd', KEYS[4], ARGV[1] % 17)
        redis.call('select', 2)
        redis.call('zincrby', KEYS[5], 1, ARGV[1] % 5)
        return redis.call('get', KEYS[1])"""
    sha = pc.script_load(body)
    for i in range(200):
        pc.evalsha(sha, 5, "n", "q", "h", "s", "z", i)
    wait_equal_digests(p, r)
    assert int(rc.get("n")) == 200
    try:
        rc.eval("return redis.call('set', 'x', 1)", 0)
    except redis.ReadOnlyError:
        pass
    else:
        raise AssertionError("a replica ran a script's write")


def test_watch_sees_script_writes(s):
    n = s.node()
    c, other = n.client(), n.client()
    with c.pipeline() as p:
        p.watch("w")
        other.eval("return redis.call('set', KEYS[1], 'x')", 1, "w")
        p.multi()
        p.get("w")
        try:
            p.execute()
        except redis.WatchError:
            pass
        else:
            raise AssertionError("EXEC ran after a script wrote a watched key")


def expect_error(prefix, fn, *args):
    """fn(*args) must fail with a reply error containing `prefix`."""
    try:
        fn(*args)
    except redis.ResponseError as e:
        assert prefix in str(e), str(e)
    else:
        raise AssertionError(f"{fn.__name__}{args!r} did not fail with {prefix!r}")


def start_busy_script(node, body):
    """Runs `body` on its own connection in a thread; returns the thread and
    a list that receives its outcome (a reply or the exception)."""
    import threading
    outcome = []
    c = node.client(socket_timeout=30)

    def run():
        try:
            outcome.append(c.eval(body, 0))
        except Exception as e:  # the script's error is the expected outcome
            outcome.append(e)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, outcome


def wait_busy(c):
    def busy():
        try:
            c.ping()
        except redis.BusyLoadingError:
            return True
        except redis.ResponseError as e:
            return str(e).startswith("BUSY")
        return False
    wait_until(busy, 10, what="-BUSY replies")


def test_stuck_script_killed(s):
    n = s.node()
    c = n.client()
    c.config_set("busy-reply-threshold", 100)
    c.set("k", "v")
    t, outcome = start_busy_script(n, "while true do end")
    wait_busy(c)
    try:
        c.get("k")
    except redis.exceptions.ResponseError as e:
        assert "BUSY Redis is busy running a script" in str(e) or "busy running a script" in str(e), str(e)
    assert c.execute_command("SCRIPT", "KILL") == b"OK"
    t.join(10)
    assert not t.is_alive()
    assert "Script killed by user with SCRIPT KILL" in str(outcome[0]), outcome
    assert c.get("k") == b"v" and c.ping()
    # pcall does not catch the kill for good
    t, outcome = start_busy_script(n, "while true do pcall(function() while true do end end) end")
    wait_busy(c)
    assert c.execute_command("SCRIPT", "KILL") == b"OK"
    t.join(10)
    assert not t.is_alive() and "Script killed" in str(outcome[0]), outcome
    expect_error("NOTBUSY", c.execute_command, "SCRIPT", "KILL")


def test_script_that_wrote_is_unkillable(s):
    n = s.node()
    c = n.client()
    c.config_set("lua-time-limit", 100)
    t, outcome = start_busy_script(n, "redis.call('set', 'w', 1) while true do end")
    wait_busy(c)
    expect_error("UNKILLABLE", c.execute_command, "SCRIPT", "KILL")
    expect_error("BUSY", c.execute_command, "SHUTDOWN")
    try:
        c.execute_command("SHUTDOWN", "NOSAVE")
    except (redis.ConnectionError, redis.ResponseError):
        pass
    assert n.wait_exit(10) is not None, "SHUTDOWN NOSAVE did not end the node"
    t.join(10)


LIBRARY = """#!lua name=counters
redis.register_function('bump', function(keys, args)
    redis.call('incrby', keys[1], args[1])
    return redis.call('rpush', keys[2], args[1])
end)
redis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end,
                        flags={'no-writes'}}
"""


def test_functions_replicate_and_full_sync(s):
    p = s.node()
    pc = p.client()
    assert pc.function_load(LIBRARY) == "counters" or pc.function_load(LIBRARY, replace=True)
    pc.fcall("bump", 2, "n", "log", 5)
    # a replica that attaches now gets the library with the full sync
    r = s.replica(p)
    rc = r.client()
    wait_until(lambda: len(rc.function_list()) == 1, 10, what="library on the replica")
    # later loads and calls are replicated as they happen
    pc.function_load("#!lua name=extra\nredis.register_function('twice', function(k) "
                     "return redis.call('incrby', k[1], 2) end)")
    for i in range(50):
        pc.fcall("bump", 2, "n", "log", i)
        pc.fcall("twice", 1, "t")
    wait_equal_digests(p, r)
    assert rc.fcall_ro("peek", 1, "t") == b"100"
    wait_until(lambda: len(rc.function_list()) == 2, 10, what="second library on the replica")
    pc.function_delete("extra")
    wait_until(lambda: len(rc.function_list()) == 1, 10, what="library deleted on the replica")


def test_functions_survive_restart(s):
    n = s.node()
    c = n.client()
    c.function_load(LIBRARY)
    c.set("k", "v")
    assert c.save()
    n.terminate(20.0, check=True)
    n.start(10)
    c = n.client()
    assert c.fcall_ro("peek", 1, "k") == b"v"
    assert c.fcall("bump", 2, "n", "log", 3) == 1
    libs = c.function_list(withcode=True)
    assert len(libs) == 1 and as_map(libs[0])[b"library_code"].decode() == LIBRARY, libs


def test_function_dump_restore(s):
    c = s.node().client()
    c.function_load(LIBRARY)
    payload = c.function_dump()
    c.function_flush()
    assert c.function_list() == []
    assert c.function_restore(payload)
    assert c.fcall_ro("peek", 1, "missing") is None
    expect_error("already exists", c.function_restore, payload)  # APPEND: the library exists
    assert c.function_restore(payload, "REPLACE")
    assert c.function_restore(payload, "FLUSH")
    expect_error("checksum", c.function_restore, payload[:-1] + bytes([payload[-1] ^ 1]))


def test_busy_function_killed(s):
    n = s.node()
    c = n.client()
    c.config_set("busy-reply-threshold", 100)
    c.function_load("#!lua name=spin\nredis.register_function{function_name='spin', "
                    "callback=function() while true do end end, flags={'no-writes'}}")
    import threading
    outcome = []
    caller = n.client(socket_timeout=30)
    t = threading.Thread(target=lambda: outcome.append(_call(caller, "FCALL", "spin", 0)), daemon=True)
    t.start()
    wait_busy(c)
    stats = c.function_stats()
    assert as_map(as_map(stats)[b"running_script"])[b"name"] == b"spin", stats
    expect_error("NOTBUSY", c.execute_command, "SCRIPT", "KILL")  # not an EVAL script
    assert c.function_kill() in (b"OK", True, "OK")
    t.join(10)
    assert not t.is_alive() and "Script killed" in str(outcome[0]), outcome
    assert c.ping()


def as_map(pairs):
    """A RESP2 map reply (a flat list) as a dict."""
    return dict(zip(pairs[::2], pairs[1::2]))


def _call(c, *args):
    try:
        return c.execute_command(*args)
    except Exception as e:  # the error is the expected outcome
        return e


def test_decoders_survive_garbage(s):
    """cmsgpack, cjson and struct on random bytes: a value or an error,
    never a crash; deep nesting is refused, not a stack overflow."""
    import random
    rnd = random.Random(11)
    c = s.node().client()
    body = ("local ok1 = pcall(cmsgpack.unpack, ARGV[1]) "
            "local ok2 = pcall(cjson.decode, ARGV[1]) "
            "local ok3 = pcall(struct.unpack, '>i4 s c3 d', ARGV[1]) return 1")
    sha = c.script_load(body)
    for _ in range(600):
        blob = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 40)))
        if rnd.random() < 0.3:
            blob = bytes([rnd.choice([0x91, 0x92, 0xdc, 0x81, 0xde])]) * rnd.randint(1, 50) + blob
        assert c.evalsha(sha, 0, blob) == 1
    deep = bytes([0x91]) * 5000 + b"\x01"
    expect_error("Bad data format", c.eval, "return cmsgpack.unpack(ARGV[1])", 0, deep)
    assert c.ping()


def raw_eval(port, body):
    """EVAL body 0 on a raw socket: the reply's bytes (too deep for redis-py)."""
    import socket
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    args = [b"EVAL", body.encode(), b"0"]
    sock.sendall(b"*3\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
    data = b""
    while not (data.endswith(b"*0\r\n") or data.endswith(b"limit\r\n")):
        chunk = sock.recv(1 << 20)
        assert chunk, "connection closed"
        data += chunk
    sock.close()
    return data


def test_deep_tables_as_redis(s):
    """A returned table nested 5000 deep is sent whole; past Lua's stack
    (about 8000 levels) the reply ends with Redis's error at that depth."""
    port = s.node().port
    deep = raw_eval(port, "local t = {} for i = 1, 5000 do t = {t} end return t")
    assert deep == b"*1\r\n" * 5000 + b"*0\r\n"
    deeper = raw_eval(port, "local t = {} for i = 1, 20000 do t = {t} end return t")
    assert deeper == b"*1\r\n" * 7995 + b"-ERR reached lua stack limit\r\n", deeper[-60:]


def test_lua_memory_counted(s):
    c = s.node().client()
    before = c.info("memory")["used_memory"]
    c.eval("local t = {} for i = 1, 200000 do t[i] = i end redis.call('set', 'k', #t)", 0)
    assert c.get("k") == b"200000"
    c.eval("collectgarbage()", 0)
    mem = c.info("memory")
    assert mem["used_memory"] < before + 4 * 1024 * 1024
    assert mem["number_of_cached_scripts"] == 2 and mem["used_memory_lua"] > 0, mem
    assert mem["used_memory_vm_total"] == mem["used_memory_lua"] and mem["number_of_libraries"] == 0
    c.function_load("#!lua name=m\nredis.register_function('m', function() return 1 end)")
    mem = c.info("memory")
    assert mem["number_of_functions"] == 1 and mem["used_memory_functions"] > 0, mem
    c.script_flush()
    assert c.info("memory")["number_of_cached_scripts"] == 0


if __name__ == "__main__":
    sys.exit(Suite().run([
        test_redis_py_lock,
        test_sandbox_refuses_os_io,
        test_script_effects_replicate_as_multi_exec,
        test_replica_digest_after_scripts,
        test_watch_sees_script_writes,
        test_stuck_script_killed,
        test_script_that_wrote_is_unkillable,
        test_lua_memory_counted,
        test_decoders_survive_garbage,
        test_deep_tables_as_redis,
        test_functions_replicate_and_full_sync,
        test_functions_survive_restart,
        test_function_dump_restore,
        test_busy_function_killed,
    ]))
