"""fakeagent: many fake cachefleet agents in one process, for tests that need
a big fleet without running its nodes (test_dashboard_fleet.py).

Each fake host speaks the agent's side of the controller protocol as
agent/report.c and agent/api.c do. It registers (POST /v1/agents/register)
and heartbeats every second (POST /v1/agents/{host}/heartbeat) with its
capacity, every node's observation (the fields of node_to_json in
agent/nodes.c, plus keyspace_hits, keyspace_misses, evicted_keys and
repl_lag_bytes, with made-up but plausible numbers that move from beat to
beat) and its queued events (node_launched, node_up, node_changed,
node_deleted, numbered by seq). It answers the controller on its own address
(HOST_PREFIX + n, agent_url http://ADDRESS:PORT): GET /healthz, and with the
agent token GET /v1/nodes, GET|PUT|DELETE /v1/nodes/{id}, with the agent's
replies (201 for a new node, 200 for a replay or a newer generation, 409 for
an older or conflicting generation, 404 for an unknown node).

A PUT node launches no process. It gets a listening port on its host's
address that answers the few commands the controller sends a node itself
(PING, AUTH, INFO, CONFIG SET/GET, CLIENT, and memcached's `version`), with
the role its spec gives (INFO: role, connected_slaves of its shard,
master_link_status up for a replica). It is up from its PUT on, runs the
topology epoch and discovery version of its spec at once, and a replica
reports its link up.

Everything runs in one thread on asyncio, so that a thousand nodes cost the
machine little: the test measures the controller's CPU next to it.

    fakeagent.py --controller http://127.0.0.1:PORT --token-file FILE
                 --hosts 10 --zones 3 --address-prefix 127.0.77.
                 --memory-mb 16384 --ready-file FILE

The ready file (JSON {"pid", "hosts": [{"id", "az", "address", "agent_url"}]})
is written once every host has registered and sent its first heartbeat.
SIGTERM or SIGINT ends the process."""
import argparse
import asyncio
import json
import os
import random
import signal
import sys
import time
import urllib.parse

HEARTBEAT_S = 1.0
REPORT_TIMEOUT_S = 2.0
MAX_EVENTS = 1000


def wall_ms():
    return int(time.time() * 1000)


class Node:
    """One fake node: its spec, its port and its observed numbers."""

    def __init__(self, host, spec):
        self.host, self.spec = host, spec
        self.id = spec["id"]
        self.server = None
        self.port = 0
        self.since_ms = wall_ms()
        rnd = random.Random(self.id)
        self.rnd = rnd
        self.base_ops = rnd.choice((0, 5, 50, 200, 1000, 4000))
        self.keys = rnd.randrange(0, 50000)
        self.hits = self.misses = self.evicted = self.expired = 0
        self.offset = rnd.randrange(0, 1 << 20)
        self.clients = rnd.randrange(1, 40)
        self.ops = 0

    @property
    def memcached(self):
        return self.spec.get("engine") == "memcached"

    @property
    def replica(self):
        return self.spec.get("role") == "replica"

    def maxmemory(self):
        return int(self.spec.get("memory_mb", 64)) * 1024 * 1024

    def tick(self):
        """One second passes: the numbers move as a busy cache's would."""
        ops = int(self.base_ops * self.rnd.uniform(0.7, 1.3))
        self.ops = ops
        self.hits += int(ops * 0.8)
        self.misses += ops - int(ops * 0.8)
        self.keys = max(0, self.keys + self.rnd.randrange(-20, 40) * (1 if ops else 0))
        if self.used_memory() > self.maxmemory() * 0.9:
            self.evicted += ops // 50
            self.keys = max(0, self.keys - ops // 50)
        self.expired += ops // 200
        self.offset += ops * 40
        self.clients = max(1, self.clients + self.rnd.randrange(-1, 2))

    def used_memory(self):
        return min(self.maxmemory(), 1_000_000 + self.keys * 180)

    def topology_epoch(self):
        t = self.spec.get("topology")
        return t.get("epoch") if isinstance(t, dict) else None

    def discovery_version(self):
        d = self.spec.get("discovery")
        return d.get("version") if isinstance(d, dict) else None

    def to_json(self):
        """What agent/nodes.c node_to_json says of a node (spec_to_json
        without secrets, then the observation)."""
        s = self.spec
        o = {"id": self.id, "cluster": s["cluster"], "shard": s["shard"], "role": s["role"],
             "engine": s.get("engine", "redis"), "memory_mb": s["memory_mb"], "port": self.port,
             "eviction_policy": s.get("eviction_policy", "allkeys-lru"), "generation": s["generation"]}
        if self.replica:
            o["primary"] = s.get("primary")
        o["cluster_mode"] = bool(s.get("cluster_mode"))
        o["auth"] = bool(s.get("auth_token"))
        o["desired_topology_epoch"] = self.topology_epoch()
        if self.memcached:
            o["desired_discovery_version"] = self.discovery_version()
        ops = self.ops
        o.update({
            "address": self.host.address, "health": "up", "health_since_ms": self.since_ms, "pid": None,
            "observed_role": None if self.memcached else ("slave" if self.replica else "master"),
            "master_link_status": "up" if self.replica else None,
            "repl_offset": None if self.memcached else self.offset,
            "used_memory": self.used_memory(), "maxmemory": self.maxmemory(), "ops_per_sec": ops,
            "connected_clients": self.clients, "keys": self.keys,
            "keyspace_hits": self.hits, "keyspace_misses": self.misses, "evicted_keys": self.evicted,
            "repl_lag_bytes": (self.rnd.randrange(0, 4096) if ops else 0) if self.replica else None,
            "restarts": 0, "topology_epoch": self.topology_epoch(), "last_error": None})
        if self.memcached:
            o["discovery_version"] = self.discovery_version()
        return o

    # ---- the node's own port ----

    def info(self):
        fleet = self.host.fleet
        lines = ["# Server", "redis_version:7.2.0", "cachefleet_fake:1", "# Clients",
                 f"connected_clients:{self.clients}", "# Memory", f"used_memory:{self.used_memory()}",
                 f"maxmemory:{self.maxmemory()}", "# Stats", f"keyspace_hits:{self.hits}",
                 f"keyspace_misses:{self.misses}", f"evicted_keys:{self.evicted}", "# Replication"]
        if self.replica:
            p = self.spec.get("primary") or {}
            lines += ["role:slave", f"master_host:{p.get('host', '')}", f"master_port:{p.get('port', 0)}",
                      "master_link_status:up", f"slave_repl_offset:{self.offset}", "connected_slaves:0",
                      f"master_repl_offset:{self.offset}"]
        else:
            replicas = sum(1 for n in fleet.nodes.values() if n.replica and n.spec["cluster"] == self.spec["cluster"]
                           and n.spec["shard"] == self.spec["shard"])
            lines += ["role:master", f"connected_slaves:{replicas}", f"master_repl_offset:{self.offset}"]
        lines.append(f"# Keyspace\r\ndb0:keys={self.keys},expires=0,avg_ttl=0")
        return "\r\n".join(lines) + "\r\n"

    def answer(self, args):
        if not args:
            return b""
        cmd = args[0].decode(errors="replace").upper()
        if self.memcached:
            if cmd == "VERSION":
                return b"VERSION 1.6.21\r\n"
            return b"ERROR\r\n"
        if cmd == "PING":
            return b"+PONG\r\n"
        if cmd == "AUTH":
            want = self.spec.get("auth_token")
            if want and args[-1].decode(errors="replace") != want:
                return b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
            return b"+OK\r\n"
        if cmd == "INFO":
            text = self.info().encode()
            return b"$%d\r\n%s\r\n" % (len(text), text)
        if cmd == "CONFIG" and len(args) >= 3 and args[1].upper() == b"GET":
            name = args[2]
            value = self.id.encode() if name == b"node-id" else b""
            return b"*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(name), name, len(value), value)
        if cmd in ("CONFIG", "CLIENT", "REPLICAOF", "CLUSTER", "SELECT"):
            return b"+OK\r\n"
        if cmd == "QUIT":
            return None
        return b"-ERR unknown command '%s'\r\n" % args[0][:40]

    async def serve(self, reader, writer):
        try:
            while True:
                args = await read_resp(reader)
                if args is None:
                    break
                reply = self.answer(args)
                if reply is None:
                    writer.write(b"+OK\r\n")
                    break
                writer.write(reply)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()


async def read_resp(reader):
    """One command as a list of bytes (RESP multibulk or an inline line); None at EOF."""
    line = await reader.readline()
    if not line:
        return None
    if line[:1] == b"*":
        args = []
        for _ in range(int(line[1:])):
            size = await reader.readline()
            if size[:1] != b"$":
                raise ValueError("bad bulk header")
            data = await reader.readexactly(int(size[1:]) + 2)
            args.append(data[:-2])
        return args
    return line.split()


class Host:
    """One fake agent: its address, its HTTP API and its reporter."""

    def __init__(self, fleet, host_id, az, address, memory_mb):
        self.fleet, self.id, self.az, self.address, self.memory_mb = fleet, host_id, az, address, memory_mb
        self.nodes = {}
        self.events = []
        self.event_seq = 0
        self.registered = False
        self.beats_ok = 0
        self.agent_url = None

    # ---- the agent API ----

    async def start(self):
        self.http = await asyncio.start_server(self.serve_http, self.address, 0)
        port = self.http.sockets[0].getsockname()[1]
        self.agent_url = f"http://{self.address}:{port}"

    async def serve_http(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                n = int(headers.get("content-length", "0"))
                body = await reader.readexactly(n) if n else b""
                status, doc = self.route(method, urllib.parse.urlsplit(target).path, headers, body)
                text = json.dumps(doc, separators=(",", ":")).encode()
                close = headers.get("connection", "").lower() == "close"
                writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s" % (
                    status, len(text), b"Connection: close\r\n" if close else b"", text))
                await writer.drain()
                if close:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    def error(self, status, code, message):
        return status, {"error": {"code": code, "message": message}}

    def route(self, method, path, headers, body):
        if path == "/healthz":
            return 200, {"status": "ok"}
        if headers.get("authorization") != "Bearer " + self.fleet.token:
            return self.error(401, "Unauthorized", "missing or wrong bearer token")
        if path in ("/v1/nodes", "/v1/nodes/") and method == "GET":
            return 200, {"nodes": [n.to_json() for n in self.nodes.values()]}
        if path.startswith("/v1/nodes/") and "/" not in path[10:]:
            node_id = path[10:]
            if method == "GET":
                n = self.nodes.get(node_id)
                return (200, n.to_json()) if n else self.error(404, "NodeNotFound", "no such node on this host")
            if method == "DELETE":
                return self.delete(node_id)
            if method == "PUT":
                try:
                    spec = json.loads(body)
                except ValueError:
                    return self.error(400, "InvalidParameterValue", "the body is not valid JSON")
                return self.put(node_id, spec)
            return self.error(405, "MethodNotAllowed", "use GET, PUT or DELETE")
        return self.error(404, "NotFound", "no such route")

    def event(self, node, kind, message):
        self.event_seq += 1
        self.events.append({"seq": self.event_seq, "time_ms": wall_ms(), "type": kind, "node": node.id,
                            "cluster": node.spec["cluster"], "shard": node.spec["shard"], "message": message,
                            "node_state": node.to_json()})
        del self.events[:-MAX_EVENTS]

    def put(self, node_id, spec):
        spec = dict(spec, id=node_id)
        for key in ("cluster", "shard", "role", "memory_mb", "generation"):
            if key not in spec:
                return self.error(400, "InvalidParameterValue", f"'{key}' is required")
        n = self.nodes.get(node_id)
        if n is None:
            used = sum(m.spec["memory_mb"] for m in self.nodes.values())
            if used + spec["memory_mb"] > self.memory_mb:
                return self.error(507, "InsufficientCapacity", "this host's memory is taken")
            n = Node(self, spec)
            try:
                self.fleet.bind(n, spec.get("port") or 0)
            except OSError as e:
                return self.error(409, "PortConflict", str(e))
            self.nodes[node_id] = n
            self.fleet.nodes[node_id] = n
            self.event(n, "node_launched", f"{node_id} launched as {spec['role']} on port {n.port} (fake)")
            self.event(n, "node_up", f"{node_id} is up (was starting)")
            return 201, n.to_json()
        old = n.spec
        if spec["generation"] < old["generation"]:
            return self.error(409, "StaleGeneration", "generation is older than the applied one")
        want = dict(spec, port=n.port)
        have = dict(old, port=n.port)
        if want == have:
            return 200, n.to_json()
        if spec["generation"] == old["generation"]:
            return self.error(409, "GenerationConflict", "this generation was applied with a different spec")
        if spec.get("port") and spec["port"] != n.port:
            return self.error(409, "ImmutableField", "a node's port cannot change; create a new node")
        n.spec = want
        self.event(n, "node_changed", f"{node_id} changed live to generation {spec['generation']} ({spec['role']})")
        return 200, n.to_json()

    def delete(self, node_id):
        n = self.nodes.pop(node_id, None)
        if n is None:
            return self.error(404, "NodeNotFound", "no such node on this host")
        self.fleet.nodes.pop(node_id, None)
        if n.server:
            n.server.close()
        self.event(n, "node_deleted", f"{node_id} stopped and removed")
        return 200, {"id": node_id, "deleted": True}

    # ---- the reporter ----

    def describe(self):
        return {"host_id": self.id, "az": self.az, "address": self.address, "agent_url": self.agent_url,
                "time_ms": wall_ms(),
                "capacity": {"memory_mb": self.memory_mb,
                             "memory_used_mb": sum(n.spec["memory_mb"] for n in self.nodes.values()),
                             "port_first": 32768, "port_last": 60999, "nodes": len(self.nodes)}}

    async def heartbeat(self):
        for n in self.nodes.values():
            n.tick()
        events = self.events
        self.events = []
        body = dict(self.describe(), nodes=[n.to_json() for n in self.nodes.values()], events=events)
        status = await self.fleet.post(f"/v1/agents/{self.id}/heartbeat", body)
        if status == 200:
            self.beats_ok += 1
            return True
        self.events = (events + self.events)[-MAX_EVENTS:]
        if status in (401, 403, 404):
            self.registered = False
        return False

    async def report(self, offset):
        await asyncio.sleep(offset)
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            try:
                if not self.registered:
                    self.registered = await self.fleet.post("/v1/agents/register", self.describe()) == 200
                if self.registered:
                    await self.heartbeat()
            except (OSError, asyncio.TimeoutError, ValueError) as e:
                print(f"fakeagent {self.id}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            due += HEARTBEAT_S
            now = loop.time()
            if due < now:
                due = now  # late (a slow controller): no burst to catch up
            await asyncio.sleep(due - now)


class FakeFleet:
    def __init__(self, args, token):
        self.args, self.token = args, token
        u = urllib.parse.urlsplit(args.controller)
        self.ctl_host, self.ctl_port = u.hostname, u.port or 80
        self.nodes = {}
        zones = [f"az-{chr(ord('a') + i)}" for i in range(args.zones)]
        self.hosts = [Host(self, f"h{i + 1:02d}", zones[i % len(zones)], f"{args.address_prefix}{i + 1}",
                           args.memory_mb) for i in range(args.hosts)]

    def bind(self, node, port):
        """The node's listening socket, on its host's address (port 0: any free one)."""
        import socket
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((node.host.address, port))
            s.listen(64)
            s.setblocking(False)
        except OSError:
            s.close()
            raise
        node.port = s.getsockname()[1]
        node.server = Listener(self.loop, s, node)

    async def post(self, path, doc):
        """POSTs doc to the controller with the agent token; the HTTP status."""
        body = json.dumps(doc, separators=(",", ":")).encode()
        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.ctl_host, self.ctl_port),
                                                REPORT_TIMEOUT_S)
        try:
            writer.write((f"POST {path} HTTP/1.1\r\nHost: {self.ctl_host}:{self.ctl_port}\r\n"
                          f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), REPORT_TIMEOUT_S)
            status = int(line.split()[1])
            await asyncio.wait_for(reader.read(), REPORT_TIMEOUT_S)  # the rest, up to the close
            return status
        finally:
            writer.close()

    async def run(self):
        self.loop = asyncio.get_running_loop()
        for h in self.hosts:
            await h.start()
        for i, h in enumerate(self.hosts):  # spread over the second, as independent agents are
            self.loop.create_task(h.report(i * HEARTBEAT_S / len(self.hosts)))
        while not all(h.beats_ok for h in self.hosts):
            await asyncio.sleep(0.02)
        tmp = self.args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"pid": os.getpid(), "hosts": [{"id": h.id, "az": h.az, "address": h.address,
                                                      "agent_url": h.agent_url} for h in self.hosts]}, f)
        os.replace(tmp, self.args.ready_file)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, stop.set)
        await stop.wait()


class Listener:
    """A node's listening socket, served on the event loop without an
    asyncio Server object per node (cheaper for a thousand of them)."""

    def __init__(self, loop, sock, node):
        self.loop, self.sock, self.node = loop, sock, node
        loop.add_reader(sock.fileno(), self.accept)

    def accept(self):
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        self.loop.create_task(self.handle(conn))

    async def handle(self, conn):
        conn.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=conn)
        await self.node.serve(reader, writer)

    def close(self):
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--controller", required=True)
    p.add_argument("--token-file", required=True)
    p.add_argument("--hosts", type=int, default=10)
    p.add_argument("--zones", type=int, default=3)
    p.add_argument("--address-prefix", default="127.0.77.")
    p.add_argument("--memory-mb", type=int, default=16384)
    p.add_argument("--ready-file", required=True)
    args = p.parse_args()
    with open(args.token_file) as f:
        token = f.read().strip()
    asyncio.run(FakeFleet(args, token).run())


if __name__ == "__main__":
    main()
