#!/usr/bin/python3
"""Differential test harness: cachenode versus redis-server, byte for byte.

This file owns the harness only (process control, RESP client, script
interpreter, comparison); the command scripts live in tests/diff/cases/.

For every script it starts a fresh redis-server (the reference) and a fresh
cachenode (the candidate; with --against-redis a second redis-server instead),
sends FLUSHALL to both (compared as "line 0"), then sends each script command to both over raw
sockets as a RESP multibulk request, reads exactly one complete RESP2/RESP3
reply from each and compares the raw reply bytes.  Error replies compare by
their error code (first word, e.g. -ERR, -WRONGTYPE) unless `!exact` is given.

    difftest.py --cachenode build/bin/cachenode tests/diff/cases/strings.txt
    difftest.py --against-redis tests/diff/cases/*.txt      # validate scripts

Exit status: 0 if every reply matched, 1 if any did not, 2 on a setup or
script error (server would not start, unparsable script line).

Script format (one item per line)
---------------------------------
    # comment                       whole-line comment; also ` # ...` after a token
    SET key "a\\x00b\\r\\n"         a command: whitespace-separated arguments
    @2 CLIENT SETNAME other         run on connection 2 (opened on first use;
                                    default 1); @N may follow modifiers too
    !exact GET a b                  modifier(s) and the command on one line, or
    !exact                          ... modifiers alone on a line apply to the
    GET a b                         ... next command (or !raw)

Arguments are split like redis-cli does: "double quotes" understand \\xHH,
\\n, \\r, \\t, \\b, \\a, \\" and \\\\ (any other \\c is c); 'single quotes' are
literal except \\'; "" is an empty argument; a # that starts an unquoted
argument starts a comment.  Arguments are bytes (UTF-8 for non-ASCII text).

Modifiers (apply to one command):
    !exact           error replies must match in full text, not just the code
    !unordered       top-level array/set/map: element order does not matter
    !ignore          send to both, read a reply from both, compare nothing
    !type            compare only the reply kind: the RESP type byte (the
                     nulls $-1, *-1 and _ are kinds of their own); any value
    !shape           compare structure only: kinds and aggregate sizes at
                     every depth, map keys verbatim, scalar values ignored
                     (HELLO, SLOWLOG GET, CONFIG GET of a variable value)
    !range LO HI     both replies must be integers within [LO, HI]
    !scan            SCAN/SSCAN/HSCAN/ZSCAN: iterate the cursor (the argument
                     after the command name, or after the key) until it comes
                     back to 0 on each side; compare the sorted, de-duplicated
                     union of the returned elements (pairs for HSCAN/ZSCAN)
    !noreply         send to both but read no reply (CLIENT REPLY OFF/SKIP)
    !closes          the server must close the connection after the reply;
                     both sides are checked and then reconnected (implied for
                     QUIT and for -ERR Protocol error replies)
Actions:
    !raw "BYTES"     send these raw bytes (escapes as above) instead of a
                     multibulk request and read one reply; !raw "" sends
                     nothing and reads the next pending reply (pipelining,
                     push messages)
    !read [COUNT]    send nothing and read COUNT (default 1) pending replies
                     on the connection, each compared on its own: the rest
                     of a multi-reply command (SUBSCRIBE a b), messages
                     pushed by another connection's PUBLISH
    !sleep MS        pause MS milliseconds (keep it rare and short)
    !blocked N       wait (polling INFO clients on a side connection, with
                     the reply timeout as deadline) until each server has N
                     blocked clients: a blocking command sent with !noreply
                     is then surely waiting before the next line runs
    !cluster         (alone, before any command) start both servers in cluster
                     mode, each owning all 16384 slots: redis-server with
                     CLUSTER ADDSLOTSRANGE 0 16383, cachenode with a one-shard
                     CLUSTER SETTOPOLOGY naming itself

A reconnected connection is a fresh client (RESP2, database 0, no name).
tests/diff/README.md has the same in more words, and advice on writing
scripts that stay deterministic.
"""

import argparse
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

DEFAULT_REDIS = "/usr/bin/redis-server"
START_DEADLINE = 10.0       # seconds for a server to start answering PING
REPLY_TIMEOUT = 5.0         # seconds to wait for one reply
CLOSE_DEADLINE = 2.0        # seconds for a server to close after QUIT & co.
SCAN_MAX_CALLS = 100000     # a cursor that never returns to 0 is a failure
CLOSED_PREFIX = "connection closed by server"
SHOW_MAX = 600              # longest reply repr printed in a mismatch report


class ScriptError(Exception):
    """The script itself is malformed (a harness error, not a mismatch)."""


class ServerError(Exception):
    """A server process could not be started."""


class ConnectionLost(Exception):
    """The peer closed, reset or timed out while a reply was expected."""


# --------------------------------------------------------------------------
# RESP reply parsing
# --------------------------------------------------------------------------

class Reply:
    """One parsed reply.  kind is the type byte as a one-char str; raw is the
    exact bytes received; value is bytes/int/None for scalars and a list of
    Reply for aggregates (a map holds 2*N items: key, value, key, value...).
    attrs is the attribute map (a Reply of kind '|') that preceded it."""

    __slots__ = ("kind", "raw", "value", "attrs")

    def __init__(self, kind, raw, value, attrs=None):
        self.kind, self.raw, self.value, self.attrs = kind, raw, value, attrs

    @property
    def is_null(self):
        return self.kind == "_" or (self.kind in "$*" and self.value is None)

    @property
    def is_error(self):
        return self.kind in "-!"

    def error_text(self):
        if self.kind == "-":
            return self.raw[1:-2]
        return self.value

    def __repr__(self):
        return repr(self.raw)


AGGREGATES = {"*": 1, "~": 1, ">": 1, "%": 2, "|": 2}   # kind -> items per count
LENGTH_PREFIXED = "$=!"                                  # bulk, verbatim, blob error
LINE_TYPES = "+-:_#,("


class RespConn:
    """A client connection with a buffered RESP reader."""

    def __init__(self, port, timeout=REPLY_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            raise ConnectionLost(CLOSED_PREFIX + " (on send)") from None
        except OSError as e:
            raise ConnectionLost("send failed: %s" % e) from None

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise ConnectionLost("timed out waiting for a reply") from None
        except ConnectionResetError:
            raise ConnectionLost(CLOSED_PREFIX + " (reset)") from None
        except OSError as e:
            raise ConnectionLost("recv failed: %s" % e) from None
        if not chunk:
            raise ConnectionLost(CLOSED_PREFIX)
        if self.pos:
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += chunk

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos:end])
                self.pos = end + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        if self.buf[self.pos + n:self.pos + n + 2] != b"\r\n":
            raise ConnectionLost("protocol violation: payload not followed by CRLF")
        self.pos += n + 2
        return data

    def read_reply(self):
        """Read one complete reply (attributes included) and return a Reply."""
        return self._parse()

    def _parse(self):
        line = self._line()
        if not line:
            raise ConnectionLost("protocol violation: empty reply line")
        kind, body = chr(line[0]), line[1:]
        head = line + b"\r\n"
        if kind in LINE_TYPES:
            if kind == ":":
                return Reply(kind, head, _int(body))
            if kind == "_":
                return Reply(kind, head, None)
            return Reply(kind, head, body)
        if kind in LENGTH_PREFIXED:
            n = _int(body)
            if n < 0:
                return Reply(kind, head, None)
            data = self._exact(n)
            return Reply(kind, head + data + b"\r\n", data)
        if kind in AGGREGATES:
            n = _int(body)
            if n < 0:
                return Reply(kind, head, None)
            items = [self._parse() for _ in range(n * AGGREGATES[kind])]
            raw = head + b"".join(i.raw for i in items)
            if kind == "|":                 # attribute: the real reply follows
                attrs = Reply(kind, raw, items)
                reply = self._parse()
                return Reply(reply.kind, raw + reply.raw, reply.value, attrs)
            return Reply(kind, raw, items)
        raise ConnectionLost("protocol violation: unknown reply type %r" % line[:40])

    def eof_within(self, seconds):
        """True if the server closes the connection within `seconds`,
        discarding anything else it sends meanwhile."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.sock.settimeout(left)
                if not self.sock.recv(65536):
                    return True
        except socket.timeout:
            return False
        except OSError:
            return True             # reset counts as closed


def _int(body):
    try:
        return int(body)
    except ValueError:
        raise ConnectionLost("protocol violation: bad integer %r" % body) from None


def encode_command(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


# --------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------

def canonical(reply, exact_errors):
    """Bytes that must be equal for two replies to match: the raw reply, with
    error replies (at any depth) cut down to their code unless exact."""
    if reply.is_error and not exact_errors:
        text = reply.error_text() or b""
        return b"%s%s\r\n" % (reply.kind.encode(), text.split(b" ", 1)[0])
    attrs = canonical(reply.attrs, exact_errors) if reply.attrs else b""
    if reply.kind in AGGREGATES and reply.value is not None:
        n = len(reply.value) // AGGREGATES[reply.kind]
        head = b"%s%d\r\n" % (reply.kind.encode(), n)
        return attrs + head + b"".join(canonical(i, exact_errors) for i in reply.value)
    if attrs:
        return attrs + reply.raw[len(reply.attrs.raw):]
    return reply.raw


def unordered_key(reply, exact_errors):
    """Canonical form of an aggregate whose element order does not matter."""
    if reply.kind not in AGGREGATES or reply.value is None:
        return canonical(reply, exact_errors)
    step = AGGREGATES[reply.kind]
    items = [b"".join(canonical(i, exact_errors) for i in reply.value[k:k + step])
             for k in range(0, len(reply.value), step)]
    return (reply.kind, tuple(sorted(items)))


def _first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def _shown(reply):
    """repr() of a reply for a report, cut short if it is very long."""
    text = repr(reply)
    if len(text) <= SHOW_MAX:
        return text
    size = len(reply.raw) if isinstance(reply, Reply) else len(text)
    return "%s... (%d bytes)" % (text[:SHOW_MAX], size)


def kind_of(reply):
    """The RESP type byte, with the RESP2 nulls as kinds of their own."""
    if reply.kind in "$*" and reply.value is None:
        return reply.kind + "-1"
    return reply.kind


def shape(reply):
    """Structure without scalar values: kinds and aggregate sizes at every
    depth, and map keys verbatim (so HELLO's field names are checked)."""
    if reply.kind not in AGGREGATES or reply.value is None:
        return kind_of(reply)
    if AGGREGATES[reply.kind] == 2:
        items = reply.value
        return (reply.kind, tuple((canonical(k, False), shape(v))
                                  for k, v in zip(items[0::2], items[1::2])))
    return (reply.kind, tuple(shape(i) for i in reply.value))


# --------------------------------------------------------------------------
# Script parsing
# --------------------------------------------------------------------------

ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "b": b"\b", "a": b"\a"}
HEX = "0123456789abcdefABCDEF"


def split_args(line, lineno):
    """Split a line into byte-string arguments, redis-cli style."""
    args, i, n = [], 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n or line[i] == "#":
            return args
        cur, quote = bytearray(), None
        while True:
            if i >= n:
                if quote:
                    raise ScriptError("line %d: unbalanced quotes" % lineno)
                break
            c = line[i]
            if quote == '"':
                if c == "\\" and i + 3 < n and line[i + 1] == "x" \
                        and line[i + 2] in HEX and line[i + 3] in HEX:
                    cur.append(int(line[i + 2:i + 4], 16))
                    i += 4
                    continue
                if c == "\\" and i + 1 < n:
                    cur += ESCAPES.get(line[i + 1], line[i + 1].encode())
                    i += 2
                    continue
                if c == '"':
                    if i + 1 < n and not line[i + 1].isspace():
                        raise ScriptError("line %d: closing quote must be "
                                          "followed by a space" % lineno)
                    i += 1
                    break
                cur += c.encode()
            elif quote == "'":
                if c == "\\" and i + 1 < n and line[i + 1] == "'":
                    cur += b"'"
                    i += 2
                    continue
                if c == "'":
                    if i + 1 < n and not line[i + 1].isspace():
                        raise ScriptError("line %d: closing quote must be "
                                          "followed by a space" % lineno)
                    i += 1
                    break
                cur += c.encode()
            else:
                if c.isspace():
                    break
                if c in "\"'" and not cur:
                    quote = c
                else:
                    cur += c.encode()
            i += 1
        args.append(bytes(cur))


class Step:
    """One executable script item: a command or an action, with modifiers."""

    def __init__(self, lineno, conn, op, args, mods):
        self.lineno, self.conn, self.op, self.args, self.mods = \
            lineno, conn, op, args, mods

    def describe(self):
        if self.lineno == 0:
            return "FLUSHALL (sent before every script)"
        prefix = "" if self.conn == 1 else "@%d " % self.conn
        if self.op == "raw":
            return prefix + "!raw %r" % self.args[0]
        if self.op == "blocked":
            return "!blocked %d" % self.args[0]
        if self.op == "read":
            return prefix + "!read"
        return prefix + " ".join(_show_arg(a) for a in self.args)


def _show_arg(a):
    """An argument as it could be written in a script."""
    if a and all(33 <= b < 127 and b not in b"\"'\\#" for b in a):
        return a.decode()
    named = {0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t", 0x22: '\\"', 0x5c: "\\\\"}
    return '"%s"' % "".join(named.get(b) or (chr(b) if 32 <= b < 127 else "\\x%02x" % b)
                            for b in a)


FLAG_MODS = {"!exact", "!unordered", "!ignore", "!type", "!shape", "!scan",
             "!noreply", "!closes"}


def scan_cursor_index(args):
    """Where the cursor is: SCAN cursor ..., but SSCAN/HSCAN/ZSCAN key cursor."""
    return 1 if args[0].upper() == b"SCAN" else 2


def parse_script(text):
    steps, pending = [], {}
    for lineno, line in enumerate(text.splitlines(), 1):
        args = split_args(line, lineno)
        if not args:
            continue
        conn = 1
        while args and args[0][:1] in (b"!", b"@"):
            word = args[0].decode("utf-8", "replace")
            if word.startswith("@"):
                if not word[1:].isdigit() or int(word[1:]) < 1:
                    raise ScriptError("line %d: bad connection %s (use @1, @2, ...)"
                                      % (lineno, word))
                conn = int(word[1:])
                args = args[1:]
            elif word in FLAG_MODS:
                pending[word[1:]] = True
                args = args[1:]
            elif word == "!range":
                try:
                    pending["range"] = (int(args[1]), int(args[2]))
                except (IndexError, ValueError):
                    raise ScriptError("line %d: usage: !range LO HI" % lineno)
                args = args[3:]
            elif word == "!sleep":
                if len(args) != 2 or not args[1].isdigit() or pending:
                    raise ScriptError("line %d: usage: !sleep MS (alone)" % lineno)
                steps.append(Step(lineno, conn, "sleep", [int(args[1])], {}))
                args = []
                break
            elif word == "!blocked":
                if len(args) != 2 or not args[1].isdigit() or pending:
                    raise ScriptError("line %d: usage: !blocked N (alone)" % lineno)
                steps.append(Step(lineno, conn, "blocked", [int(args[1])], {}))
                args = []
                break
            elif word == "!read":
                if len(args) > 2 or (len(args) == 2 and not args[1].isdigit()):
                    raise ScriptError("line %d: usage: !read [COUNT]" % lineno)
                for _ in range(int(args[1]) if len(args) == 2 else 1):
                    steps.append(Step(lineno, conn, "read", [b""], dict(pending)))
                pending, args = {}, []
                break
            elif word == "!cluster":
                if len(args) != 1 or steps or pending or conn != 1:
                    raise ScriptError("line %d: !cluster stands alone, before any command" % lineno)
                steps.append(Step(lineno, conn, "cluster", [], {}))
                args = []
                break
            elif word == "!raw":
                if len(args) != 2:
                    raise ScriptError("line %d: usage: !raw \"BYTES\"" % lineno)
                steps.append(Step(lineno, conn, "raw", [args[1]], pending))
                pending, args = {}, []
                break
            else:
                raise ScriptError("line %d: unknown directive %s" % (lineno, word))
        if args:
            if pending.get("scan") and scan_cursor_index(args) >= len(args):
                raise ScriptError("line %d: !scan needs a cursor argument" % lineno)
            steps.append(Step(lineno, conn, "cmd", args, pending))
            pending = {}
    if pending:
        raise ScriptError("modifiers %s at the end of the script apply to nothing"
                          % ", ".join(sorted(pending)))
    return steps


# --------------------------------------------------------------------------
# Server processes
# --------------------------------------------------------------------------

_children = []      # every Server started, for cleanup on any exit path


def _set_pdeathsig():
    """In the child: die with the harness even if the harness is SIGKILLed."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process on a free port in its own temporary directory."""

    def __init__(self, name, argv_for_port, workdir):
        self.name = name
        self.argv_for_port = argv_for_port
        self.workdir = workdir
        self.proc = None
        self.port = None
        self.log_path = os.path.join(workdir, "%s.log" % name)

    def start(self, attempts=5):
        """Start on a free port.  A server that exits before answering may
        have lost the race for its port, so it is retried on another one."""
        for _ in range(attempts):
            self.port = free_port()
            try:
                with open(self.log_path, "wb") as log:
                    self.proc = subprocess.Popen(
                        self.argv_for_port(self.port), cwd=self.workdir,
                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                        start_new_session=True, preexec_fn=_set_pdeathsig)
            except OSError as e:
                raise ServerError("%s: cannot run %s: %s"
                                  % (self.name, self.argv_for_port(0)[0], e)) from None
            _children.append(self)
            state = self._wait_ready()
            if state == "ready":
                return
            self.stop()
            if state == "timeout":
                break
        raise ServerError("%s did not start (%s); its output ends with:\n%s"
                          % (self.name, state, self.log_tail()))

    def _wait_ready(self):
        """Poll until the server answers PING: "ready", "exited" or "timeout"."""
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return "exited"
            try:
                c = RespConn(self.port, timeout=1.0)
                try:
                    c.send(encode_command([b"PING"]))
                    if c.read_reply().raw == b"+PONG\r\n" and self._owns_port():
                        return "ready" if self.proc.poll() is None else "exited"
                finally:
                    c.close()
            except (OSError, ConnectionLost):
                pass
            time.sleep(0.01)
        return "timeout"

    def _owns_port(self):
        """True unless /proc shows that another process holds our port (a
        parallel test won the race; our server is about to exit)."""
        try:
            inodes = set()
            for table in ("/proc/net/tcp", "/proc/net/tcp6"):
                with open(table) as f:
                    for row in f.readlines()[1:]:
                        cols = row.split()
                        if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == self.port:
                            inodes.add("socket:[%s]" % cols[9])
            fd_dir = "/proc/%d/fd" % self.proc.pid
            return any(os.readlink(os.path.join(fd_dir, fd)) in inodes
                       for fd in os.listdir(fd_dir))
        except (OSError, IndexError, ValueError):
            return True             # no /proc to ask: trust the PING

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        if self in _children:
            _children.remove(self)

    def log_tail(self, n=20):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""


def _subdir(workdir, name):
    path = os.path.join(workdir, name)
    os.makedirs(path, exist_ok=True)
    return path


def _program_path(binary):
    """A path given relative to our directory, made absolute: servers run in
    their own work directory."""
    return os.path.abspath(binary) if os.sep in binary else binary


CLUSTER_NODE_ID = "difftest"  # the cachenode's --node-id in cluster mode


def redis_server(binary, workdir, name, cluster=False):
    workdir = _subdir(workdir, name)
    binary = _program_path(binary)
    extra = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"] if cluster else []
    return Server(name, lambda port: [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", workdir, "--daemonize", "no",
        "--logfile", "", "--enable-debug-command", "local"] + extra, workdir)


def cachenode_server(binary, workdir, cluster=False):
    workdir = _subdir(workdir, "cachenode")
    binary = _program_path(binary)
    extra = ["--cluster-enabled", "yes", "--node-id", CLUSTER_NODE_ID] if cluster else []
    return Server("cachenode", lambda port: [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir] + extra,
        workdir)


def make_single_node_cluster(side, redis):
    """!cluster: the server owns all 16384 slots, redis-server by ADDSLOTSRANGE
    (then cluster_state:ok, polled against the reply timeout), cachenode by a
    one-shard topology naming itself."""
    if redis:
        cmds = [[b"CLUSTER", b"ADDSLOTSRANGE", b"0", b"16383"]]
    else:
        cmds = [[b"CLUSTER", b"SETTOPOLOGY", b"1", b"1", b"0001", b"0-16383", b"1",
                 CLUSTER_NODE_ID.encode(), b"127.0.0.1", str(side.server.port).encode()]]
    for args in cmds:
        r = side.request(CONTROL_CONN, encode_command(args))
        if not isinstance(r, Reply) or r.is_error:
            raise ServerError("%s: %s failed: %r" % (side.server.name, args[1].decode(), r))
    deadline = time.monotonic() + side.timeout
    while time.monotonic() < deadline:
        r = side.request(CONTROL_CONN, encode_command([b"CLUSTER", b"INFO"]))
        if isinstance(r, Reply) and r.kind == "$" and r.value.startswith(b"cluster_state:ok"):
            return
        time.sleep(0.02)
    raise ServerError("%s: cluster_state is not ok" % side.server.name)


def stop_all():
    for s in list(_children):
        s.stop()


def _on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


# --------------------------------------------------------------------------
# Running a script
# --------------------------------------------------------------------------

CONTROL_CONN = -1  # the harness's own connection (!blocked), never compared


class Side:
    """One server under test plus its numbered client connections."""

    def __init__(self, server, timeout):
        self.server = server
        self.timeout = timeout
        self.conns = {}

    def conn(self, n):
        if n not in self.conns:
            self.conns[n] = RespConn(self.server.port, self.timeout)
        return self.conns[n]

    def drop(self, n):
        c = self.conns.pop(n, None)
        if c:
            c.close()

    def close_all(self):
        for n in list(self.conns):
            self.drop(n)

    def request(self, n, data, want_reply=True):
        """Send data on connection n and read one reply.  Returns a Reply or,
        if the connection broke, a str describing what happened."""
        try:
            c = self.conn(n)
            c.send(data)
            return c.read_reply() if want_reply else None
        except (ConnectionLost, OSError) as e:
            self.drop(n)
            return "<%s>" % e


class Runner:
    def __init__(self, ref, cand, verbose=False):
        self.sides = (ref, cand)
        self.names = (ref.server.name, cand.server.name)
        self.verbose = verbose
        self.passed = self.failed = 0

    # -- reporting ----------------------------------------------------------
    def fail(self, step, why, ref, cand):
        self.failed += 1
        width = max(len(n) for n in self.names) + 1
        print("line %d: %s" % (step.lineno, step.describe()))
        if why:
            print("  %s" % why)
        elif isinstance(ref, Reply) and isinstance(cand, Reply) and \
                max(len(ref.raw), len(cand.raw)) > SHOW_MAX:
            print("  replies differ from byte %d" % _first_difference(ref.raw, cand.raw))
        print("  %-*s %s" % (width, self.names[0] + ":", _shown(ref)))
        print("  %-*s %s" % (width, self.names[1] + ":", _shown(cand)))

    def trace(self, step, ref, cand):
        if self.verbose:
            print("line %d: %s\n    -> %r | %r" % (step.lineno, step.describe(), ref, cand))

    # -- execution ----------------------------------------------------------
    def run(self, steps):
        # Line 0: the automatic FLUSHALL, compared like any other command.
        steps = [Step(0, 1, "cmd", [b"FLUSHALL"], {})] + steps
        for done, step in enumerate(steps):
            if step.op == "sleep":
                time.sleep(step.args[0] / 1000.0)
            elif step.op == "blocked":
                self.wait_blocked(step)
            elif step.mods.get("scan"):
                self.run_scan(step)
            else:
                self.run_one(step)
            dead = [s.server for s in self.sides if s.server.proc.poll() is not None]
            if dead:
                left = len(steps) - done - 1
                self.failed += left
                for srv in dead:
                    print("%s exited (status %s) after line %d; %d steps not run; "
                          "its output ends with:\n%s" % (srv.name, srv.proc.returncode,
                                                         step.lineno, left, srv.log_tail()))
                return

    def wait_blocked(self, step):
        """!blocked N: polls each server until N clients are blocked."""
        want = step.args[0]
        for side, name in zip(self.sides, self.names):
            deadline = time.monotonic() + side.timeout
            seen = None
            while time.monotonic() < deadline:
                reply = side.request(CONTROL_CONN, encode_command([b"INFO", b"clients"]))
                if isinstance(reply, Reply) and isinstance(reply.value, bytes):
                    for line in reply.value.split(b"\r\n"):
                        if line.startswith(b"blocked_clients:"):
                            seen = int(line.split(b":")[1])
                if seen == want:
                    break
                time.sleep(0.005)
            if seen != want:
                self.fail(step, "%s has %s blocked clients, not %d" % (name, seen, want), None, None)
                return

    def run_one(self, step):
        mods = step.mods
        data = step.args[0] if step.op in ("raw", "read") else encode_command(step.args)
        want = not mods.get("noreply")
        ref, cand = (s.request(step.conn, data, want) for s in self.sides)
        self.trace(step, ref, cand)
        if not want:
            if ref is None and cand is None:
                self.passed += 1
            else:
                self.fail(step, "could not send", ref, cand)
            return
        broken = [not isinstance(r, Reply) for r in (ref, cand)]
        if any(broken):
            # A broken connection means the sides are out of step: start over.
            # Both servers closing is a match; a timeout never is (the script
            # waits for a reply that does not come).
            for side in self.sides:
                side.drop(step.conn)
            if all(broken) and all(CLOSED_PREFIX in r for r in (ref, cand)):
                self.passed += 1
            else:
                self.fail(step, "no reply from %s" % " and ".join(
                    n for n, b in zip(self.names, broken) if b), ref, cand)
            return
        ok, why = self.compare(mods, ref, cand)
        closes = mods.get("closes") or self.closes_after(step, ref)
        if closes:
            closed = [s.conn(step.conn).eof_within(CLOSE_DEADLINE) for s in self.sides]
            for side in self.sides:
                side.drop(step.conn)
            if ok and closed != [True, True]:
                ok = False
                why = "server must close the connection after this reply " \
                      "(closed: %s=%s, %s=%s)" % (self.names[0], closed[0],
                                                  self.names[1], closed[1])
        if ok:
            self.passed += 1
        else:
            self.fail(step, why, ref, cand)

    @staticmethod
    def closes_after(step, ref):
        if step.op == "cmd" and step.args[0].upper() == b"QUIT":
            return True
        return ref.is_error and (ref.error_text() or b"").startswith(b"ERR Protocol error")

    @staticmethod
    def compare(mods, ref, cand):
        exact = bool(mods.get("exact"))
        if mods.get("ignore"):
            return True, None
        if mods.get("type"):
            if kind_of(ref) == kind_of(cand):
                return True, None
            return False, "reply kinds differ: %s vs %s" % (kind_of(ref), kind_of(cand))
        if mods.get("shape"):
            if shape(ref) == shape(cand):
                return True, None
            return False, "reply structures differ: %r vs %r" % (shape(ref), shape(cand))
        if "range" in mods:
            lo, hi = mods["range"]
            good = [r.kind == ":" and lo <= r.value <= hi for r in (ref, cand)]
            if all(good):
                return True, None
            return False, "expected an integer in [%d, %d] from both" % (lo, hi)
        if mods.get("unordered"):
            if unordered_key(ref, exact) == unordered_key(cand, exact):
                return True, None
            return False, "replies differ (ignoring element order)"
        if canonical(ref, exact) == canonical(cand, exact):
            return True, None
        return False, None

    def run_scan(self, step):
        """Iterate a *SCAN cursor to 0 on each side; compare the element sets."""
        name = step.args[0].upper()
        at = scan_cursor_index(step.args)
        pairs = name in (b"HSCAN", b"ZSCAN")
        results = [self.scan_side(side, step, at, pairs) for side in self.sides]
        (ref, ref_err), (cand, cand_err) = results
        self.trace(step, ref if ref_err is None else ref_err,
                   cand if cand_err is None else cand_err)
        if isinstance(ref_err, str) or isinstance(cand_err, str):
            for side in self.sides:         # out of step: start both afresh
                side.drop(step.conn)
        if ref_err is not None or cand_err is not None:
            ok = (ref_err is not None and cand_err is not None and
                  isinstance(ref_err, Reply) and isinstance(cand_err, Reply) and
                  self.compare(step.mods, ref_err, cand_err)[0])
            if ok:
                self.passed += 1
            else:
                self.fail(step, "scan failed", ref_err if ref_err is not None else ref,
                          cand_err if cand_err is not None else cand)
            return
        if ref == cand:
            self.passed += 1
        else:
            self.fail(step, "scanned element sets differ", ref, cand)

    def scan_side(self, side, step, at, pairs):
        """Returns (sorted elements, None) or (None, the failing reply/str)."""
        args = list(step.args)
        seen = set()
        for _ in range(SCAN_MAX_CALLS):
            r = side.request(step.conn, encode_command(args))
            if not isinstance(r, Reply):
                return None, r
            if r.is_error:
                return None, r
            if (r.kind != "*" or not r.value or len(r.value) != 2 or
                    r.value[0].kind != "$" or r.value[1].kind != "*" or
                    r.value[1].value is None):
                return None, "<malformed scan reply %r>" % r.raw
            items = [e.value for e in r.value[1].value]
            if pairs:
                items = list(zip(items[0::2], items[1::2]))
            seen.update(items)
            args[at] = r.value[0].value
            if args[at] == b"0":
                return sorted(seen), None
        return None, "<cursor did not return to 0 after %d calls>" % SCAN_MAX_CALLS


def run_script(path, args, workdir):
    with open(path, encoding="utf-8") as f:
        steps = parse_script(f.read())
    cluster = bool(steps) and steps[0].op == "cluster"
    steps = steps[1:] if cluster else steps
    ref_srv = redis_server(args.redis_server, workdir, "redis", cluster)
    if args.against_redis:
        cand_srv = redis_server(args.redis_server, workdir, "redis2", cluster)
    else:
        cand_srv = cachenode_server(args.cachenode, workdir, cluster)
    sides = []
    try:
        ref_srv.start()
        cand_srv.start()
        sides = [Side(ref_srv, args.timeout), Side(cand_srv, args.timeout)]
        if cluster:
            make_single_node_cluster(sides[0], True)
            make_single_node_cluster(sides[1], args.against_redis)
        runner = Runner(*sides, verbose=args.verbose)
        runner.run(steps)
        return runner.passed, runner.failed
    finally:
        for side in sides:
            side.close_all()
        ref_srv.stop()
        cand_srv.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cachenode", help="path to the cachenode binary")
    p.add_argument("--against-redis", action="store_true",
                   help="use a second redis-server as the candidate "
                        "(validates that the scripts are deterministic)")
    p.add_argument("--redis-server", default=DEFAULT_REDIS,
                   help="reference redis-server binary (default %(default)s)")
    p.add_argument("--timeout", type=float, default=REPLY_TIMEOUT,
                   help="seconds to wait for one reply (default %(default)s)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print every command and both replies")
    p.add_argument("scripts", nargs="+", help="script files to run")
    args = p.parse_args()
    if not args.against_redis and not args.cachenode:
        p.error("give --cachenode PATH or --against-redis")

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    atexit.register(stop_all)

    total_pass = total_fail = 0
    workdir = tempfile.mkdtemp(prefix="difftest-")
    try:
        for path in args.scripts:
            if len(args.scripts) > 1:
                print("== %s" % path)
            passed, failed = run_script(path, args, workdir)
            if len(args.scripts) > 1:
                print("   %d passed, %d failed" % (passed, failed))
            total_pass += passed
            total_fail += failed
    except (ScriptError, ServerError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    finally:
        stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    print("%d passed, %d failed" % (total_pass, total_fail))
    return 1 if total_fail else 0


if __name__ == "__main__":
    sys.exit(main())
