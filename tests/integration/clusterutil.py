"""Shared set-up of the cluster-mode tests: shards of a primary and a
replica started with --cluster-enabled yes, one topology pushed to all with
CLUSTER SETTOPOLOGY, replicas attached with REPLICAOF."""
import socket

from redis.cluster import ClusterNode, RedisCluster

from nodeutil import encode_command, wait_until

SLOTS = 16384


def slot_ranges(nshards):
    """The controller's split: even, the first 16384 % n shards one more."""
    out, start = [], 0
    for i in range(nshards):
        size = SLOTS // nshards + (1 if i < SLOTS % nshards else 0)
        out.append((start, start + size - 1))
        start += size
    return out


def raw(port, *args):
    """One command on a new connection; the raw reply bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(encode_command(*args))
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(65536)
            assert chunk, "connection closed"
            data += chunk
        return data


class Fleet:
    """Shards of a primary and a replica; shards[i] = [(name, primary), (name, replica)];
    slots[i] is shard i's slot list as SETTOPOLOGY takes it."""

    def __init__(self, suite, nshards=3, args=()):
        self.suite = suite
        self.epoch = 0
        self.shards = []
        for s in range(nshards):
            nodes = []
            for i in range(2):
                name = f"t-{s + 1:04d}-{i + 1:03d}"
                nodes.append((name, suite.node("--cluster-enabled", "yes", "--node-id", name, *args)))
            self.shards.append(nodes)
        self.slots = [f"{a}-{b}" for a, b in slot_ranges(nshards)]

    @property
    def nodes(self):
        return [n for shard in self.shards for _, n in shard]

    def topology_args(self, epoch=None):
        args = [str(epoch if epoch is not None else self.epoch), str(len(self.shards))]
        for s, shard in enumerate(self.shards):
            args += [f"{s + 1:04d}", self.slots[s], str(len(shard))]
            for name, n in shard:
                args += [name, "127.0.0.1", str(n.port)]
        return args

    def push(self):
        self.epoch += 1
        for n in self.nodes:
            assert n.r.execute_command("CLUSTER", "SETTOPOLOGY", *self.topology_args()) == b"OK"

    def replicate(self):
        for shard in self.shards:
            primary = shard[0][1]
            for _, n in shard[1:]:
                n.r.execute_command("REPLICAOF", "127.0.0.1", str(primary.port))
        for shard in self.shards:
            for _, n in shard[1:]:
                wait_until(lambda: n.r.info("replication")["master_link_status"] == "up", 15,
                           what="replica link up")

    def primary(self, s):
        return self.shards[s][0][1]

    def replica(self, s):
        return self.shards[s][1][1]

    def owner_of(self, slot):
        for s, (a, b) in enumerate(slot_ranges(len(self.shards))):
            if a <= slot <= b:
                return s
        raise AssertionError(slot)


def fleet(suite, nshards=3, args=()):
    f = Fleet(suite, nshards, args)
    f.push()
    f.replicate()
    return f


def end_cleanly(*nodes):
    """SIGTERM: each node must exit 0 with no sanitizer report in its log."""
    for n in nodes:
        n.terminate(check=True)


def cluster_client(f, **kw):
    return RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", f.primary(0).port)], **kw)
