"""mcutil: cachenode --protocol memcached nodes for process-level tests.

MCNode is nodeutil's Node started in memcached mode: free port, its own
directory, readiness polled with `version` against a deadline, killed by pid
at the end. MCSuite is nodeutil's Suite with mcnode()."""
import socket
import time

from pymemcache.client.base import Client

from nodeutil import Node, Suite, free_port, wait_until  # noqa: F401 (re-exported)


class MCNode(Node):
    def __init__(self, binary, *args, **kw):
        super().__init__(binary, "--protocol", "memcached", *args, **kw)

    def _answers(self):
        if self.proc.poll() is not None:
            return True
        try:
            return self.version().startswith(b"VERSION ")
        except OSError:
            return False

    def version(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"version\r\n")
            return s.recv(200)

    def alive(self):
        return self.proc.poll() is None and self._answers()

    def mc(self, **kw):
        """A pymemcache client of this node."""
        kw.setdefault("connect_timeout", 5)
        kw.setdefault("timeout", 10)
        return Client(("127.0.0.1", self.port), **kw)

    def raw(self, data, until=None, timeout=5.0):
        """Sends raw bytes on a new connection and returns what comes back:
        until the reply ends with `until`, the connection closes or timeout."""
        with self.connect(timeout=timeout) as s:
            s.sendall(data)
            return read_reply(s, until, timeout)

    def stats(self, group=None):
        out = self.raw(b"stats%s\r\n" % (b" " + group.encode() if group else b""), until=b"END\r\n")
        stats = {}
        for line in out.split(b"\r\n"):
            parts = line.split(b" ", 2)
            if len(parts) == 3 and parts[0] == b"STAT":
                stats[parts[1].decode()] = parts[2].decode()
        return stats


def read_reply(sock, until=None, timeout=5.0):
    got = b""
    deadline = time.monotonic() + timeout
    sock.settimeout(timeout)
    while time.monotonic() < deadline:
        if until is not None and got.endswith(until):
            break
        try:
            chunk = sock.recv(1 << 16)
        except socket.timeout:
            break
        if not chunk:
            break
        got += chunk
    return got


class MCSuite(Suite):
    def mcnode(self, *args, keep=False, timeout=10.0, start=True, **kw):
        n = MCNode(self.args.cachenode, *args, **kw)
        (self.kept if keep else self.nodes).append(n)
        return n.start(timeout) if start else n
