"""nodeutil: start and stop cachenode processes for process-level tests.

Every node gets a free port and its own temporary directory, is polled for
readiness against a deadline (never a fixed sleep), and is killed by pid when
the test ends, whatever happens."""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import redis

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def encode_command(*args):
    """A RESP multibulk request for raw-socket tests."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as e:  # the thing may not be up yet
            last_error = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


def wait_synced(primary, *replicas, timeout=20):
    """Waits until every replica's link is up at the primary's offset."""
    def synced():
        off = primary.client().info("replication")["master_repl_offset"]
        for r in replicas:
            info = r.client().info("replication")
            if info.get("master_link_status") != "up" or info.get("slave_repl_offset") != off:
                return False
        return True
    wait_until(synced, timeout, what="replicas in sync")


def digest(node):
    return node.client().execute_command("DEBUG", "DIGEST")


def wait_equal_digests(primary, replica, timeout=10):
    wait_until(lambda: digest(replica) == digest(primary), timeout, what="equal digests")


class Node:
    """One cachenode process.

    args are cachenode options after --port/--bind/--dir. port: a fixed port
    (default: a free one, another if that one is lost to a race). dir: an
    existing directory to run in, e.g. another node's to load its snapshot
    (default: a new temporary one, removed by cleanup()). config: the text of
    a config file, written to DIR/node.conf and passed as the first argument;
    it must set the port (given here too) and the bind address, so --port and
    --bind are not passed. The process runs in DIR; its output goes to
    DIR/node.log, or to the file given with --logfile. client_timeout: the
    socket timeout of client() and r."""

    def __init__(self, binary, *args, port=None, dir=None, config=None, client_timeout=10):
        # an absolute path, so that the process may run in its own directory
        self.binary = os.path.abspath(binary) if os.sep in binary else binary
        self.own_dir = dir is None
        self.dir = tempfile.mkdtemp(prefix="cachenode-test-") if dir is None else dir
        self.args = list(args)
        self.port = port
        self.config = config
        self.client_timeout = client_timeout
        if config is not None and port is None:
            raise ValueError("a node started from a config file needs the file's port")
        self.proc = None
        self._r = None
        self._terminated = False
        # a node started with --requirepass is reached with that password
        self.password = args[args.index("--requirepass") + 1] if "--requirepass" in args else None
        # a relative --logfile is in DIR, where the process runs
        self.log_path = os.path.join(self.dir, args[args.index("--logfile") + 1] if "--logfile" in args
                                     else "node.log")

    def _spawn(self, port):
        argv = [self.binary]
        if self.config is not None:
            conf = os.path.join(self.dir, "node.conf")
            with open(conf, "w") as f:
                f.write(self.config)
            argv.append(conf)
        else:
            argv += ["--port", str(port), "--bind", "127.0.0.1"]
        argv += ["--dir", self.dir] + self.args
        log = open(os.path.join(self.dir, "node.log"), "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        log.close()
        self.port = port
        self._terminated = False

    def start(self, timeout=10.0):
        """Starts (or restarts, on the same dir and port) the node and returns
        it once it answers PING."""
        for _ in range(1 if self.config is not None else 5):
            self._spawn(self.port or free_port())
            wait_until(self._answers, timeout, what=f"cachenode on port {self.port}")
            if self.proc.poll() is None:
                return self
            self.port = None  # exited: most likely lost the port race; try another
        raise AssertionError("cachenode did not start: " + self.log_tail())

    def start_expecting_exit(self, timeout=30.0):
        """Starts a node that must fail to start: returns its exit status, or
        None when it still runs after timeout (see log_text() for why)."""
        self._spawn(self.port or free_port())
        return self.wait_exit(timeout)

    def _answers(self):
        if self.proc.poll() is not None:
            return True  # start() looks at the exit
        c = self.client(socket_timeout=1)
        try:
            if not c.ping():
                return False
            # our process, not another server that holds the port: it reports our dir
            try:
                got = c.config_get("dir").get("dir")
            except redis.ResponseError:
                got = None
            return got is None or os.path.realpath(got) == os.path.realpath(self.dir)
        finally:
            c.close()

    def client(self, **kw):
        kw.setdefault("socket_timeout", self.client_timeout)
        kw.setdefault("password", self.password)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    @property
    def r(self):
        """One client kept for the life of the process (closed by stop())."""
        if self._r is None:
            self._r = self.client()
        return self._r

    def connect(self, timeout=20):
        """A raw TCP connection to the node, Nagle off."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def alive(self):
        """The process runs and answers PING on a new connection."""
        if self.proc.poll() is not None:
            return False
        c = self.client(socket_timeout=10)
        try:
            return c.ping()
        finally:
            c.close()

    def rss(self):
        """The resident set size in bytes, from /proc/PID/status."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def used_memory(self):
        """INFO's used_memory, or None when this build has no INFO memory."""
        try:
            info = self.r.info("memory")
        except redis.ResponseError:
            return None
        return info.get("used_memory")

    @property
    def pid(self):
        return self.proc.pid

    @property
    def dump(self):
        """The snapshot file's path (the default dbfilename)."""
        return os.path.join(self.dir, "dump.cfs")

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""

    def wait_exit(self, timeout=10.0):
        """The exit status, or None when the process still runs after timeout."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def _close_client(self):
        if self._r is not None:
            self._r.close()
            self._r = None

    def stop(self):
        """SIGKILL, by pid."""
        self._close_client()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(timeout=10)

    def terminate(self, timeout=10.0, check=False):
        """SIGTERM and wait (SIGKILL after timeout); returns the exit status.
        With check, raises AssertionError when the node did not end cleanly:
        a status other than 0 after the SIGTERM, or a sanitizer report in the
        log. Does nothing (returns None) once done for this process."""
        if self.proc is None or self._terminated:
            self._close_client()
            return None
        self._terminated = True
        clean = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.wait_exit(timeout) is None:
                self.proc.kill()
                self.proc.wait()
            clean = self.proc.returncode == 0
        self._close_client()
        rc = self.proc.returncode
        if check:
            log = self.log_text()
            if any(marker in log for marker in SANITIZER_MARKERS):
                raise AssertionError("sanitizer report in the log:\n" + log[-4000:])
            if not clean:
                raise AssertionError("cachenode exited with %r after SIGTERM" % rc)
        return rc

    def cleanup(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


class RawReplica:
    """A replica on a raw socket: syncs, acknowledges once, then stays
    connected without acknowledging again (as a replica does that was moved
    to another primary or cut off). command() reads the replication stream
    one command at a time, as a list of bytes arguments."""

    def __init__(self, primary):
        import socket
        self.sock = socket.create_connection(("127.0.0.1", primary.port), timeout=10)
        self.buf = b""
        self.sock.sendall(b"REPLCONF listening-port 1\r\nPSYNC ? -1\r\n")
        assert self.line() == b"+OK"
        offset = int(self.line().split()[2])
        header = self.line()
        while header == b"":
            header = self.line()
        self.read(int(header[1:]))
        self.sock.sendall(b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$%d\r\n%d\r\n" % (len(str(offset)), offset))

    def read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            assert chunk, "primary closed the connection"
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            assert chunk, "primary closed the connection"
            self.buf += chunk
        out, _, self.buf = self.buf.partition(b"\r\n")
        return out

    def command(self):
        header = self.line()
        assert header.startswith(b"*"), header
        args = []
        for _ in range(int(header[1:])):
            size = self.line()
            assert size.startswith(b"$"), size
            args.append(self.read(int(size[1:]) + 2)[:-2])
        return args

    def commands_until(self, last, limit=1000):
        """The stream's commands (upper-cased names) up to the first whose
        name is `last`, PINGs and REPLCONFs left out."""
        out = []
        while len(out) < limit:
            cmd = self.command()
            cmd[0] = cmd[0].upper()
            if cmd[0] in (b"PING", b"REPLCONF"):
                continue
            out.append(cmd)
            if cmd[0] == last:
                return out
        raise AssertionError(f"no {last!r} in the stream's first {limit} commands")

    def close(self):
        self.sock.close()


class Suite:
    """Runs test functions, prints a closing line, returns the exit code."""

    def __init__(self):
        parser = argparse.ArgumentParser()
        parser.add_argument("--cachenode", required=True)
        self.args = parser.parse_args()
        self.nodes = []
        self.kept = []
        self.passed = self.failed = 0

    @property
    def binary(self):
        return self.args.cachenode

    def node(self, *args, keep=False, timeout=10.0, start=True, **kw):
        """A started node (with start=False, one not started yet, e.g. for
        start_expecting_exit()), cleaned up when the current test ends, or
        with keep when the run ends (a node that several tests share). kw
        goes to Node (port, dir, config, client_timeout)."""
        n = Node(self.args.cachenode, *args, **kw)
        (self.kept if keep else self.nodes).append(n)
        return n.start(timeout) if start else n

    def replica(self, primary, *args, timeout=20.0, **kw):
        """A started replica of primary (args: more flags) whose link to it
        is up; cleaned up as node() says."""
        r = self.node("--replicaof", "127.0.0.1", str(primary.port), *args, **kw)
        wait_until(lambda: r.client().info("replication").get("master_link_status") == "up", timeout,
                   what=f"replica link to {primary.port} up")
        return r

    def _record(self, name, fn, counted=True):
        start = time.monotonic()
        try:
            detail = fn(self)
            if counted:
                self.passed += 1
                print(f"PASS {name} ({time.monotonic() - start:.2f}s)" + (f": {detail}" if detail is not None else ""),
                      flush=True)
        except Exception as e:
            self.failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(file=sys.stdout)
            for n in self.kept + self.nodes:
                print(f"--- log of node on port {n.port}:\n{n.log_tail()}")
            return False
        finally:
            for n in self.nodes:
                n.cleanup()
            self.nodes = []
        return True

    def run(self, tests, setup=None, teardown=None):
        """tests: functions called with the suite, or (name, function) pairs;
        what a test returns, when not None, is printed after PASS. setup(suite)
        runs first: when it fails, that is one failure and no test runs.
        teardown(suite) runs last: when it fails, that is one failure more."""
        try:
            if setup is None or self._record("setup", setup, counted=False):
                for test in tests:
                    name, fn = test if isinstance(test, tuple) else (test.__name__, test)
                    self._record(name, fn)
                if teardown is not None:
                    self._record("teardown", teardown, counted=False)
        finally:
            for n in self.kept + self.nodes:
                n.cleanup()
            self.kept, self.nodes = [], []
        print(f"{self.passed} passed, {self.failed} failed")
        return 0 if self.failed == 0 else 1
