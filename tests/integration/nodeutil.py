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
import tempfile
import time

import redis


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class Node:
    """One cachenode process."""

    def __init__(self, binary, *args, port=None):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="cachenode-test-")
        self.args = list(args)
        self.port = port
        self.proc = None
        # a node started with --requirepass is reached with that password
        self.password = args[args.index("--requirepass") + 1] if "--requirepass" in args else None

    def start(self, timeout=10.0):
        for _ in range(5):
            port = self.port or free_port()
            log = open(os.path.join(self.dir, "node.log"), "ab")
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", self.dir] + self.args,
                stdout=log, stderr=subprocess.STDOUT)
            log.close()
            try:
                self.port = port
                wait_until(self._answers, timeout, what=f"cachenode on port {port}")
                return self
            except AssertionError:
                if self.proc.poll() is None:
                    raise
                self.port = None  # lost the port race: try another
        raise AssertionError("cachenode did not start: " + self.log_tail())

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError("exited")
        return self.client(socket_timeout=1).ping()

    def client(self, **kw):
        kw.setdefault("socket_timeout", 10)
        kw.setdefault("password", self.password)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    @property
    def pid(self):
        return self.proc.pid

    def log_tail(self, n=30):
        try:
            with open(os.path.join(self.dir, "node.log"), "rb") as f:
                return b"".join(f.readlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(timeout=10)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Suite:
    """Runs test functions, prints a closing line, returns the exit code."""

    def __init__(self):
        parser = argparse.ArgumentParser()
        parser.add_argument("--cachenode", required=True)
        self.args = parser.parse_args()
        self.nodes = []
        self.passed = self.failed = 0

    def node(self, *args):
        n = Node(self.args.cachenode, *args)
        self.nodes.append(n)
        return n.start()

    def run(self, tests):
        for test in tests:
            start = time.monotonic()
            try:
                test(self)
                self.passed += 1
                print(f"PASS {test.__name__} ({time.monotonic() - start:.2f}s)", flush=True)
            except Exception as e:
                self.failed += 1
                print(f"FAIL {test.__name__}: {type(e).__name__}: {e}", flush=True)
                for n in self.nodes:
                    print(f"--- log of node on port {n.port}:\n{n.log_tail()}")
            finally:
                for n in self.nodes:
                    n.cleanup()
                self.nodes = []
        print(f"{self.passed} passed, {self.failed} failed")
        return 0 if self.failed == 0 else 1
