"""Pub/Sub with redis-py PubSub objects (channels, patterns, unsubscribing),
a slow subscriber cut off at its pubsub output-buffer limit while the node's
memory stays bounded, PUBLISH reaching a replica's subscribers, keyspace
notifications of expiry, and client tracking's invalidation messages."""
import socket
import sys
import time

from nodeutil import Suite, encode_command, wait_until


def next_message(p, timeout=5.0):
    """The next message (subscription confirmations included), polled with a
    deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = p.get_message(timeout=0.1)
        if m is not None:
            return m
    raise AssertionError("no message within %.1fs" % timeout)


def test_channels_and_patterns(s):
    n = s.node()
    c = n.client()
    p = n.client().pubsub()
    p.subscribe("news", "sport")
    p.psubscribe("w*")
    got = [next_message(p) for _ in range(3)]
    assert [(m["type"], m["channel"], m["data"]) for m in got] == [
        ("subscribe", b"news", 1), ("subscribe", b"sport", 2), ("psubscribe", b"w*", 3)]
    assert c.publish("news", "hello") == 1
    assert c.publish("weather", "rain") == 1
    assert c.publish("nobody", "x") == 0
    m = next_message(p)
    assert (m["type"], m["channel"], m["data"]) == ("message", b"news", b"hello")
    m = next_message(p)
    assert (m["type"], m["pattern"], m["channel"], m["data"]) == ("pmessage", b"w*", b"weather", b"rain")
    assert c.pubsub_numsub("news", "sport", "x") == [(b"news", 1), (b"sport", 1), (b"x", 0)]
    assert c.pubsub_numpat() == 1
    assert sorted(c.pubsub_channels()) == [b"news", b"sport"]
    info = c.info("stats")
    assert (info["pubsub_channels"], info["pubsub_patterns"]) == (2, 1)
    clients = [x for x in c.client_list() if "P" in x["flags"]]
    assert len(clients) == 1 and (clients[0]["sub"], clients[0]["psub"]) == ("2", "1")
    p.unsubscribe("news")
    assert next_message(p)["type"] == "unsubscribe"
    assert c.publish("news", "gone") == 0
    p.close()  # the connection goes: every subscription with it
    wait_until(lambda: c.pubsub_numpat() == 0 and c.pubsub_channels() == [], 5,
               what="subscriptions dropped on disconnect")


def test_slow_subscriber_is_disconnected(s):
    """A subscriber that never reads grows its output buffer until the pubsub
    class's hard limit: the node closes it, counts the disconnection, and its
    memory goes back down instead of growing with every message."""
    n = s.node()
    c = n.client()
    c.config_set("client-output-buffer-limit", "pubsub 2mb 1mb 60")
    sub = socket.socket()
    sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sub.connect(("127.0.0.1", n.port))
    sub.sendall(b"SUBSCRIBE firehose\r\n")
    wait_until(lambda: c.pubsub_numsub("firehose") == [(b"firehose", 1)], 5, what="subscriber")
    baseline = n.used_memory()
    message = b"m" * 65536
    published = 0
    receivers = 1
    # at most 20 MB offered: 10 times the hard limit
    while receivers and published < 320:
        receivers = c.publish("firehose", message)
        published += 1
    assert receivers == 0, "the slow subscriber was never disconnected"
    assert published * len(message) < 8 * 1024 * 1024, f"cut off only after {published} messages"
    assert c.info("stats")["client_output_buffer_limit_disconnections"] >= 1
    wait_until(lambda: n.used_memory() < baseline + 1024 * 1024, 5, what="memory released")
    sub.close()
    return f"disconnected after {published} messages of 64 KiB"


def test_publish_reaches_replica_subscribers(s):
    primary = s.node()
    replica = s.replica(primary)
    p = replica.client().pubsub()
    p.subscribe("events")
    assert next_message(p)["type"] == "subscribe"
    primary.client().publish("events", "from the primary")
    m = next_message(p)
    assert (m["channel"], m["data"]) == (b"events", b"from the primary")
    p.close()


def test_keyspace_events_for_expiry_and_eviction(s):
    """Active expiry (no client touches the keys) sends "expired" for each
    key; eviction under maxmemory sends "evicted"."""
    n = s.node()
    c = n.client()
    c.config_set("notify-keyspace-events", "Exe")
    p = n.client().pubsub()
    p.psubscribe("__keyevent@0__:*")
    assert next_message(p)["type"] == "psubscribe"
    for i in range(20):
        c.set(f"short:{i}", "v", px=30)
    expired = set()
    while len(expired) < 20:
        m = next_message(p)
        assert m["channel"] == b"__keyevent@0__:expired", m
        expired.add(m["data"])
    assert expired == {f"short:{i}".encode() for i in range(20)}
    c.config_set("maxmemory-policy", "allkeys-random")
    c.mset({f"big:{i}": "x" * 10000 for i in range(50)})
    c.config_set("maxmemory", n.used_memory() - 200000)
    c.set("trigger", "v")  # a write makes room first
    m = next_message(p)
    assert m["channel"] == b"__keyevent@0__:evicted", m
    assert c.exists(m["data"]) == 0
    c.config_set("maxmemory", 0)
    p.close()
    return f"{len(expired)} expired events"


class Resp3:
    """A raw RESP3 connection (redis-py 4 speaks RESP2 only): commands and
    replies, push messages included, parsed with a deadline."""

    def __init__(self, node):
        self.sock = node.connect(timeout=5)
        self.buf = b""
        self.pushes = []
        assert self.call("HELLO", "3")[b"proto"] == 3

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"):
            return rest
        if kind == b":":
            return int(rest)
        if kind == b"_":
            return None
        if kind in (b"$", b"="):
            n = int(rest)
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind in (b"*", b">", b"~"):
            items = [self.read() for _ in range(int(rest))]
            return ("push", items) if kind == b">" else items
        if kind == b"%":
            return {self.read(): self.read() for _ in range(int(rest))}
        raise AssertionError(f"unexpected reply {line!r}")

    def call(self, *args):
        self.sock.sendall(encode_command(*args))
        while True:  # pushes may come before the reply: keep them for next_push
            reply = self.read()
            if not (isinstance(reply, tuple) and reply[0] == "push"):
                return reply
            self.pushes.append(reply)

    def next_push(self):
        return self.pushes.pop(0) if self.pushes else self.read()

    def close(self):
        self.sock.close()


def test_tracking_resp3_invalidation(s):
    """A RESP3 connection tracks what it reads: another client's write, an
    expiry and a FLUSHALL each send it an invalidate push."""
    n = s.node()
    c = n.client()
    t = Resp3(n)
    assert t.call("CLIENT", "TRACKING", "on") == b"OK"
    assert t.call("GET", "user:1") is None
    assert t.call("GET", "session") is None
    c.set("user:1", "alice")
    assert t.next_push() == ("push", [b"invalidate", [b"user:1"]])
    c.set("user:1", "bob")  # no longer tracked until read again
    c.set("session", "s", px=30)
    assert t.next_push() == ("push", [b"invalidate", [b"session"]])
    t.call("GET", "session")
    assert t.next_push() == ("push", [b"invalidate", [b"session"]])  # expired
    assert t.call("GET", "x") is None
    c.flushall()
    assert t.next_push() == ("push", [b"invalidate", None])
    assert c.info("stats")["tracking_total_keys"] == 0
    t.close()


def test_tracking_redirect_to_resp2_subscriber(s):
    """RESP2 tracking: invalidations go to another connection subscribed to
    __redis__:invalidate (a redis-py PubSub); when that connection goes, the
    tracking client is flagged broken_redirect."""
    n = s.node()
    c = n.client()
    p = n.client().pubsub()
    p.subscribe("__redis__:invalidate")
    assert next_message(p)["type"] == "subscribe"
    redirect_id = int([x for x in c.client_list() if "P" in x["flags"]][0]["id"])
    tracker = n.client()
    assert tracker.execute_command("CLIENT", "TRACKING", "on", "REDIRECT", redirect_id) == b"OK"
    assert tracker.execute_command("CLIENT", "GETREDIR") == redirect_id
    tracker.get("price")
    c.set("price", 10)
    m = next_message(p)
    assert (m["channel"], m["data"]) == (b"__redis__:invalidate", [b"price"])
    assert "redir=%d" % redirect_id in tracker.execute_command("CLIENT", "INFO").decode()
    p.close()
    wait_until(lambda: c.pubsub_numsub("__redis__:invalidate")[0][1] == 0, 5, what="subscriber gone")
    tracker.get("price")
    c.set("price", 11)
    info = tracker.execute_command("CLIENT", "TRACKINGINFO")
    assert b"broken_redirect" in info[1], info


def test_tracking_table_limit(s):
    """tracking-table-max-keys: past the limit the node forgets keys, and
    invalidates them so that no client keeps a stale copy."""
    n = s.node()
    c = n.client()
    c.config_set("tracking-table-max-keys", 100)
    t = Resp3(n)
    t.call("CLIENT", "TRACKING", "on")
    for i in range(300):
        assert t.call("GET", f"k:{i}") is None
    invalidated = set()
    deadline = time.monotonic() + 5
    while c.info("stats")["tracking_total_keys"] > 100 and time.monotonic() < deadline:
        time.sleep(0.01)
    t.sock.settimeout(2)
    while len(invalidated) < 200:
        kind, (word, keys) = t.next_push()
        assert (kind, word) == ("push", b"invalidate")
        invalidated.update(keys)
    assert c.info("stats")["tracking_total_keys"] <= 100
    t.close()
    return f"{len(invalidated)} keys evicted from the table"


if __name__ == "__main__":
    sys.exit(Suite().run([
        test_channels_and_patterns,
        test_slow_subscriber_is_disconnected,
        test_publish_reaches_replica_subscribers,
        test_keyspace_events_for_expiry_and_eviction,
        test_tracking_resp3_invalidation,
        test_tracking_redirect_to_resp2_subscriber,
        test_tracking_table_limit,
    ]))
