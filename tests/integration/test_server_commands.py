#!/usr/bin/python3
"""Process-level test of cachenode's server commands: INFO, CLIENT, SLOWLOG,
CONFIG, COMMAND DOCS (through redis-cli), SHUTDOWN and SIGTERM.

    test_server_commands.py --cachenode build/bin/cachenode

Starts its own cachenode processes on free ports and kills them by pid when
done. Exit status 0 when every check passed; the last line is
"N passed, N failed".
"""

import os
import signal
import socket
import subprocess
import sys
import time

import redis

from nodeutil import Suite

START_DEADLINE = 10.0
EXIT_DEADLINE = 5.0


def start(suite, keep=False):
    return suite.node("--logfile", "cachenode.log", keep=keep, timeout=START_DEADLINE, client_timeout=5)


def raw_command(sock, *args):
    req = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        req += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(req)


def read_until_closed(sock, timeout=5.0):
    """Returns the bytes read until the server closed the connection, or
    None if it stayed open past the timeout."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return data
            data += chunk
    except socket.timeout:
        return None
    except ConnectionResetError:
        return data


# ---- checks ---------------------------------------------------------------------


def check_info(node):
    r = node.client(decode_responses=True)
    r.set("info:k1", "v")
    r.set("info:k2", "v")
    r.get("info:k1")
    r.get("info:nosuch")
    info = r.info()
    for field in ("redis_version", "redis_mode", "os", "arch_bits", "process_id", "run_id",
                  "tcp_port", "uptime_in_seconds", "uptime_in_days", "hz", "executable",
                  "config_file", "cachefleet_version", "node_id", "connected_clients",
                  "blocked_clients", "maxclients", "used_memory", "used_memory_human",
                  "used_memory_rss", "used_memory_peak", "maxmemory", "maxmemory_human",
                  "maxmemory_policy", "mem_fragmentation_ratio", "loading",
                  "rdb_changes_since_last_save", "rdb_bgsave_in_progress",
                  "rdb_last_save_time", "rdb_last_bgsave_status", "aof_enabled",
                  "total_connections_received", "total_commands_processed",
                  "instantaneous_ops_per_sec", "total_net_input_bytes",
                  "total_net_output_bytes", "rejected_connections", "expired_keys",
                  "evicted_keys", "keyspace_hits", "keyspace_misses", "total_error_replies",
                  "role", "connected_slaves", "master_replid", "master_repl_offset",
                  "used_cpu_sys", "used_cpu_user", "db0"):
        assert field in info, "INFO lacks %s" % field
    assert info["redis_version"] == "7.0.15", info["redis_version"]
    assert info["role"] == "master"
    assert info["tcp_port"] == node.port
    assert info["process_id"] == node.proc.pid
    assert isinstance(info["used_memory"], int) and info["used_memory"] > 0
    assert info["connected_clients"] >= 1
    assert info["keyspace_hits"] >= 1 and info["keyspace_misses"] >= 1
    assert len(info["master_replid"]) == 40 and len(info["run_id"]) == 40
    assert info["db0"]["keys"] >= 2, info["db0"]
    assert isinstance(info["used_cpu_sys"], float)

    # named sections, several at once, case-insensitive; commandstats and errorstats
    server_only = r.info("server")
    assert "redis_version" in server_only and "used_memory" not in server_only
    both = r.execute_command("INFO", "SERVER", "memory")
    assert "redis_version" in both and "used_memory" in both
    try:
        r.execute_command("NOSUCHCMD")
    except redis.exceptions.ResponseError:
        pass
    try:
        r.execute_command("CLIENT", "NOSUCHSUB")
    except redis.exceptions.ResponseError:
        pass
    stats = r.info("commandstats")
    assert stats["cmdstat_get"]["calls"] >= 2, stats.get("cmdstat_get")
    assert "usec_per_call" in stats["cmdstat_get"]
    assert stats["cmdstat_client"]["rejected_calls"] >= 1, stats.get("cmdstat_client")
    errors = r.info("errorstats")
    err = errors["errorstat_ERR"]  # redis-py 4 leaves "count=N" unparsed
    count = err["count"] if isinstance(err, dict) else int(err.split("=")[1])
    assert count >= 2, errors
    everything = r.info("everything")
    assert "cmdstat_info" in everything and "role" in everything
    assert r.execute_command("INFO", "nosuchsection") in ("", {})

    # RESP3: a verbatim string of format "txt" (redis-py 4 speaks only RESP2)
    s = node.connect(timeout=5)
    raw_command(s, "HELLO", "3")
    raw_command(s, "INFO", "server")
    data = b""
    s.settimeout(5)
    while True:
        start = data.find(b"\r\n=")
        if start >= 0:
            header_end = data.find(b"\r\n", start + 2)
            if header_end > 0:
                length = int(data[start + 3:header_end])
                if len(data) >= header_end + 2 + length + 2:
                    break
        chunk = s.recv(65536)
        assert chunk, "connection closed during INFO"
        data += chunk
    s.close()
    body = data[header_end + 2:header_end + 2 + length]
    assert body.startswith(b"txt:# Server\r\n"), body[:40]
    assert b"redis_version:7.0.15\r\n" in body


def check_client_list_and_kill(node):
    r = node.client(decode_responses=True)
    r.client_setname("controller")
    my_id = r.client_id()
    victim = node.connect(timeout=5)
    raw_command(victim, "CLIENT", "SETNAME", "victim")
    raw_command(victim, "CLIENT", "ID")
    victim.settimeout(5)
    reply = b""
    while reply.count(b"\r\n") < 2:
        reply += victim.recv(4096)
    victim_id = int(reply.split(b"\r\n")[1][1:])

    clients = r.client_list()
    names = {c["name"]: c for c in clients}
    assert "controller" in names and "victim" in names, names.keys()
    assert int(names["victim"]["id"]) == victim_id
    assert names["controller"]["cmd"] == "client|list"
    only = r.client_list(client_id=[str(victim_id)])
    assert len(only) == 1 and only[0]["name"] == "victim"
    assert r.client_getname() == "controller"
    info = r.client_info()
    assert int(info["id"]) == my_id

    # errors with Redis's texts
    for args, text in ((("CLIENT", "KILL", "203.0.113.1:1"), "No such client"),
                       (("CLIENT", "KILL", "ID", "abc"), "client-id should be greater than 0"),
                       (("CLIENT", "SETNAME", "has space"), "Client names cannot contain spaces"),
                       (("CLIENT", "FOO"), "unknown subcommand 'FOO'. Try CLIENT HELP.")):
        try:
            r.execute_command(*args)
            raise AssertionError("%s did not fail" % (args,))
        except redis.exceptions.ResponseError as e:
            assert text in str(e), str(e)
    assert r.execute_command("CLIENT", "SETINFO", "LIB-NAME", "cachefleet-test") in ("OK", True)

    # kill the victim by ID: its connection closes, ours stays
    assert r.client_kill_filter(_id=victim_id) == 1
    assert read_until_closed(victim) is not None, "killed client still connected"
    victim.close()
    assert r.ping()
    names = {c["name"] for c in r.client_list()}
    assert "victim" not in names, names

    # killing yourself: the reply arrives, then the connection closes
    me = node.connect(timeout=5)
    raw_command(me, "CLIENT", "ID")
    me.settimeout(5)
    data = b""
    while not data.endswith(b"\r\n"):
        data += me.recv(4096)
    self_id = int(data[1:-2])
    raw_command(me, "CLIENT", "KILL", "ID", str(self_id), "SKIPME", "no")
    closed = read_until_closed(me)
    assert closed == b":1\r\n", closed
    me.close()


def check_slowlog(node):
    r = node.client(decode_responses=True)
    r.config_set("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    r.set("slow:key", "x" * 200)
    r.execute_command("AUTH", "default", "not-a-secret-but-redacted")
    entries = r.slowlog_get(10)
    commands = [e["command"].decode() if isinstance(e["command"], bytes) else e["command"]
                for e in entries]
    assert any(c.startswith("SET slow:key") for c in commands), commands
    set_command = next(c for c in commands if c.startswith("SET slow:key"))
    assert "... (72 more bytes)" in set_command, set_command
    assert not any("not-a-secret" in c for c in commands), commands
    assert any("(redacted)" in c for c in commands), commands
    assert r.slowlog_len() >= 2
    r.config_set("slowlog-max-len", 1)
    assert r.slowlog_len() <= 1
    r.config_set("slowlog-max-len", 128)
    r.config_set("slowlog-log-slower-than", -1)
    r.slowlog_reset()
    r.get("slow:key")
    assert r.slowlog_len() == 0
    r.config_set("slowlog-log-slower-than", 10000)


def check_config(node):
    r = node.client(decode_responses=True)
    assert r.config_set("maxmemory", "100mb")
    assert r.config_get("maxmemory") == {"maxmemory": str(100 * 1024 * 1024)}
    assert r.config_set("maxmemory-policy", "allkeys-lru")
    got = r.config_get("maxmemory*")
    for name in ("maxmemory", "maxmemory-policy", "maxmemory-samples"):
        assert name in got, got
    assert got["maxmemory-policy"] == "allkeys-lru"
    assert r.info("memory")["maxmemory_policy"] == "allkeys-lru"
    assert r.config_get("appendonly") == {"appendonly": "no"}
    assert r.config_get("save") == {"save": ""}
    r.config_set("maxmemory", 0)
    r.config_set("maxmemory-policy", "noeviction")
    r.config_resetstat()
    assert r.info("stats")["total_error_replies"] == 0


def check_command(node):
    r = node.client(decode_responses=True)
    r.response_callbacks.pop("COMMAND", None)  # raw replies, not redis-py's parsing
    count = r.execute_command("COMMAND", "COUNT")
    assert count >= 10, count
    info = r.execute_command("COMMAND", "INFO", "get", "nosuchcommand")
    assert len(info) == 2 and info[1] is None, info
    assert r.execute_command("COMMAND", "GETKEYS", "SET", "k", "v") == ["k"]
    out = subprocess.run(["redis-cli", "-p", str(node.port), "--no-raw", "COMMAND", "DOCS", "get"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert '"summary"' in out.stdout and '"group"' in out.stdout, out.stdout
    # redis-cli 7 fetches COMMAND DOCS at start-up for its hints
    out = subprocess.run(["redis-cli", "-p", str(node.port)], input="PING\n",
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0 and "PONG" in out.stdout, (out.stdout, out.stderr)


def check_shutdown(suite):
    node = start(suite)
    s = node.connect(timeout=5)
    raw_command(s, "SHUTDOWN", "NOSAVE")
    assert read_until_closed(s) == b"", "SHUTDOWN replied or kept the connection"
    s.close()
    rc = node.wait_exit(EXIT_DEADLINE)
    assert rc == 0, "exit status after SHUTDOWN: %s" % rc


def check_sigterm(suite):
    node = start(suite)
    started = time.monotonic()
    os.kill(node.proc.pid, signal.SIGTERM)
    rc = node.wait_exit(2.0)
    assert rc == 0, "exit status after SIGTERM: %s" % rc
    assert time.monotonic() - started < 2.0


def main():
    shared = []

    def setup(suite):
        shared.append(start(suite, keep=True))

    def still_running(suite):
        node = shared[0]
        if node.proc.poll() is not None:
            raise AssertionError("cachenode died during the tests (status %s)" % node.proc.returncode)

    checks = [
        ("info", lambda s: check_info(shared[0])),
        ("client list and kill", lambda s: check_client_list_and_kill(shared[0])),
        ("slowlog", lambda s: check_slowlog(shared[0])),
        ("config", lambda s: check_config(shared[0])),
        ("command", lambda s: check_command(shared[0])),
        ("shutdown", check_shutdown),
        ("sigterm", check_sigterm),
    ]
    return Suite().run(checks, setup=setup, teardown=still_running)


if __name__ == "__main__":
    sys.exit(main())
