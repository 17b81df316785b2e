#!/usr/bin/python3
"""Process-level test of cachenode's server commands: INFO, CLIENT, SLOWLOG,
CONFIG (GET, SET, REWRITE), COMMAND DOCS (through redis-cli), SHUTDOWN and
SIGTERM; and the start-up options and config files CONFIG reflects: values
cachenode does not implement are refused, and the reason reaches stderr.

    test_server_commands.py --cachenode build/bin/cachenode

Starts its own cachenode processes on free ports and kills them by pid when
done. Exit status 0 when every check passed; the last line is
"N passed, N failed".
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import redis

from nodeutil import Suite, free_port, wait_until

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
    # no automatic save points (a crashed node restarts empty): refused, not dropped
    expect_error(lambda: r.config_set("save", "100 1"), "automatic save points are not supported")
    assert r.config_get("save") == {"save": ""}
    assert r.config_set("save", "")
    # REPLICAOF is the live way; the parameter is what it recorded, as in Redis
    for name in ("replicaof", "slaveof"):
        expect_error(lambda: r.config_set(name, "127.0.0.1 1"), "can't set immutable config")
    assert r.config_get("replicaof") == {"replicaof": ""}
    assert r.execute_command("ROLE")[0] == "master"
    assert hello(r)["role"] == "master"
    expect_error(lambda: r.config_rewrite(), "running without a config file")
    r.config_set("maxmemory", 0)
    r.config_set("maxmemory-policy", "noeviction")
    r.config_resetstat()
    assert r.info("stats")["total_error_replies"] == 0


def expect_error(call, text):
    try:
        call()
    except redis.exceptions.ResponseError as e:
        assert text in str(e), str(e)
        return
    raise AssertionError("no error containing %r" % text)


def hello(r):
    reply = r.execute_command("HELLO", "2")
    return dict(zip(reply[0::2], reply[1::2]))


def check_role_follows_replicaof(suite):
    """HELLO's role is the replication role (what ROLE says), before, during
    and after REPLICAOF."""
    node = start(suite)
    r = node.client(decode_responses=True)
    assert hello(r)["role"] == "master" and hello(r)["mode"] == "standalone"
    nobody = free_port()  # a primary that is not there: the replica keeps trying
    assert r.execute_command("REPLICAOF", "127.0.0.1", str(nobody)) == "OK"
    assert r.execute_command("ROLE")[0] == "slave"
    assert hello(r)["role"] == "replica"
    assert r.config_get("replicaof") == {"replicaof": "127.0.0.1 %d" % nobody}
    assert r.info("replication")["role"] == "slave"
    assert r.execute_command("REPLICAOF", "NO", "ONE") == "OK"
    assert r.execute_command("ROLE")[0] == "master"
    assert hello(r)["role"] == "master"
    assert r.config_get("replicaof") == {"replicaof": ""}


# what each refused start-up value must say, on stderr and in the log
REFUSED = [
    (("save", "100 1"), "automatic save points are not supported"),
    (("dbfilename", "../elsewhere.cfs"), "dbfilename can't be a path, just a filename"),
    (("logfile", "/nonexistent-dir/node.log"), "can't open the log file: No such file or directory"),
    (("no-such-option", "1"), "bad directive or wrong number of arguments: 'no-such-option'"),
]


def read_in(node, name):
    try:
        with open(os.path.join(node.dir, name), errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def refusal_problem(node, reason, where):
    """Why the node's start does not count as refused with `reason`, or None.
    The node logs to DIR/cachenode.log."""
    rc = node.start_expecting_exit(EXIT_DEADLINE)
    if rc is None or rc == 0:
        return "started anyway (status %s)" % rc
    # nodeutil sends stderr to DIR/node.log
    for name, text in (("stderr", read_in(node, "node.log")), ("log", read_in(node, "cachenode.log"))):
        if reason not in text or where not in text:
            return "%s lacks %r %s:\n%s" % (name, reason, where, text)
    return None


def check_refused_options(suite):
    """Values cachenode does not implement stop it at start-up, from the
    command line and from a config file, and the reason reaches stderr even
    when a log file is already open."""
    problems = []
    for (name, value), reason in REFUSED:
        node = suite.node("--logfile", "cachenode.log", "--" + name, *value.split(), start=False)
        problems.append(("--%s %s" % (name, value), refusal_problem(node, reason, "on the command line")))
        port = free_port()
        config = "bind 127.0.0.1\nport %d\nlogfile cachenode.log\n%s %s\n" % (port, name, value)
        node = suite.node(start=False, port=port, config=config)
        problems.append(("file: %s %s" % (name, value), refusal_problem(node, reason, "at line 4")))
    problems = ["%s: %s" % (case, p) for case, p in problems if p]
    assert not problems, "\n".join(problems)


def check_accepted_options(suite):
    """The implemented values start a node that reports them, and INFO and
    HELLO read the mode from the configuration."""
    node = suite.node("--logfile", "cachenode.log", "--protocol", "resp", "--cluster-enabled", "no",
                      "--save", "", "--appendonly", "no", timeout=START_DEADLINE)
    r = node.client(decode_responses=True)
    got = r.config_get("*")
    assert (got["protocol"], got["cluster-enabled"], got["save"]) == ("resp", "no", ""), got
    assert r.info("server")["redis_mode"] == "standalone"
    assert r.info("cluster")["cluster_enabled"] == 0
    assert hello(r)["mode"] == "standalone"
    for name, value in (("protocol", "resp"), ("cluster-enabled", "no")):
        expect_error(lambda: r.config_set(name, value), "can't set immutable config")


def check_usage_shows_defaults(suite):
    """--help names the real defaults: what a node started without those
    options reports through CONFIG GET."""
    out = subprocess.run([suite.binary, "--help"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out
    # the RESP node's usage; the memcached line after it has its own defaults
    resp_usage = out.stderr.split("cachenode --protocol memcached")[0]
    shown = dict(re.findall(r"\[--([a-z-]+) ([^\]\s]+)\]", resp_usage))
    node = start(suite)
    actual = node.client(decode_responses=True).config_get("*")
    checked = [n for n in ("maxmemory", "maxmemory-policy", "dbfilename", "cluster-enabled",
                           "protocol", "loglevel") if n in shown]
    assert len(checked) == 6, shown
    for name in checked:
        assert shown[name] == actual[name], "usage says %s %s, the default is %s" % (
            name, shown[name], actual[name])


REWRITE_CONFIG = """# a comment that stays
bind 127.0.0.1
port {port}

maxmemory 10mb
maxmemory 20mb
slaveof ""
"""


def check_config_rewrite(suite):
    """CONFIG REWRITE of a node started from a file: comments stay, each
    parameter's first line takes its current value and later ones go, changed
    parameters are added; the node restarts with the rewritten values, and a
    value the file cannot hold fails the rewrite and leaves the file as it was."""
    port = free_port()
    node = suite.node(port=port, config=REWRITE_CONFIG.format(port=port), timeout=START_DEADLINE)
    conf = os.path.join(node.dir, "node.conf")
    r = node.client(decode_responses=True)
    assert r.info("server")["config_file"] == os.path.realpath(conf)
    assert r.config_set("maxmemory", "5mb") and r.config_set("maxmemory-policy", "allkeys-lru")
    assert r.config_rewrite()
    with open(conf) as f:
        lines = f.read().splitlines()
    assert lines[:6] == ["# a comment that stays", "bind 127.0.0.1", "port %d" % port, "",
                         "maxmemory %d" % (5 << 20), 'replicaof ""'], lines
    assert "# Generated by CONFIG REWRITE" in lines and "maxmemory-policy allkeys-lru" in lines, lines
    assert sorted(os.listdir(node.dir)) == ["node.conf", "node.log"], os.listdir(node.dir)

    assert r.config_set("requirepass", "two words")
    r = node.client(decode_responses=True, password="two words")
    expect_error(lambda: r.config_rewrite(), "'requirepass' has spaces")
    with open(conf) as f:
        assert f.read().splitlines() == lines
    assert r.config_set("requirepass", "")

    node.terminate(check=True)
    with open(conf) as f:
        node.config = f.read()  # nodeutil writes node.config to the file at each start
    node.start(START_DEADLINE)
    r = node.client(decode_responses=True)
    assert r.config_get("maxmemory") == {"maxmemory": str(5 << 20)}
    assert r.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}


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


def recv_reply(sock, timeout):
    """The bytes of one reply line, or None when none came within timeout."""
    sock.settimeout(timeout)
    try:
        return sock.recv(4096)
    except socket.timeout:
        return None


def check_client_pause(suite):
    """CLIENT PAUSE WRITE holds writes (and an EXEC with writes), not reads or
    queued commands; nothing expires meanwhile; UNPAUSE runs the held ones.
    CLIENT PAUSE ALL holds every command until its deadline."""
    node = start(suite)
    r = node.client(decode_responses=True)
    r.set("short", "x", px=1)
    r.set("k", "old")
    assert r.execute_command("CLIENT", "PAUSE", "100000", "WRITE") == "OK"
    writer = socket.create_connection(("127.0.0.1", node.port), timeout=5)
    raw_command(writer, "SET", "k", "new")
    tx = socket.create_connection(("127.0.0.1", node.port), timeout=5)
    raw_command(tx, "MULTI")
    assert recv_reply(tx, 5) == b"+OK\r\n"
    raw_command(tx, "INCR", "n")
    assert recv_reply(tx, 5) == b"+QUEUED\r\n"
    raw_command(tx, "EXEC")
    assert r.get("k") == "old" and r.get("short") is None  # reads go on; the expired key reads as gone
    # three cron periods: the held commands stay held and no key is deleted
    assert recv_reply(writer, 0.3) is None and recv_reply(tx, 0.01) is None
    assert r.dbsize() == 2, r.dbsize()
    assert r.execute_command("CLIENT", "UNPAUSE") == "OK"
    assert recv_reply(writer, 5) == b"+OK\r\n"
    assert recv_reply(tx, 5) == b"*1\r\n:1\r\n"
    assert r.get("k") == "new"
    wait_until(lambda: r.dbsize() == 2, 5, what="the expired key deleted once the pause ended")  # k, n
    assert r.execute_command("CLIENT", "PAUSE", "300") == "OK"
    began = time.monotonic()
    raw_command(writer, "PING")
    assert recv_reply(writer, 5) == b"+PONG\r\n"
    assert time.monotonic() - began >= 0.25, "PING ran during a pause of every command"
    writer.close()
    tx.close()


def environ_of(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)


def check_hugepages(suite):
    """--hugepages yes (the default) restarts the process once, keeping its
    pid, with glibc's tunable that puts the heap on transparent huge pages;
    --hugepages no leaves the environment alone. Only where the kernel offers
    them (madvise or always) and malloc is glibc's (not under sanitizers)."""
    with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
        offered = "[never]" not in f.read()
    sanitized = b"libasan" in subprocess.run(["ldd", suite.binary], capture_output=True, timeout=30).stdout
    on = suite.node("--logfile", "cachenode.log", timeout=START_DEADLINE)
    off = suite.node("--logfile", "cachenode.log", "--hugepages", "no", timeout=START_DEADLINE)
    r_on, r_off = on.client(decode_responses=True), off.client(decode_responses=True)
    assert r_on.config_get("hugepages") == {"hugepages": "yes"}
    assert r_off.config_get("hugepages") == {"hugepages": "no"}
    expect_error(lambda: r_on.config_set("hugepages", "no"), "can't set immutable config")
    tunables = environ_of(on.proc.pid).get(b"GLIBC_TUNABLES", b"")
    assert (b"glibc.malloc.hugetlb=1" in tunables) == (offered and not sanitized), (tunables, offered, sanitized)
    assert b"GLIBC_TUNABLES" not in environ_of(off.proc.pid)


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
        ("role follows replicaof", check_role_follows_replicaof),
        ("refused options", check_refused_options),
        ("accepted options", check_accepted_options),
        ("hugepages", check_hugepages),
        ("client pause", check_client_pause),
        ("usage shows defaults", check_usage_shows_defaults),
        ("config rewrite", check_config_rewrite),
        ("shutdown", check_shutdown),
        ("sigterm", check_sigterm),
    ]
    return Suite().run(checks, setup=setup, teardown=still_running)


if __name__ == "__main__":
    sys.exit(main())
