"""difffuzz.py: what the differential fuzzers (hash_difffuzz.py,
set_difffuzz.py) share: free ports, starting a server and connecting to it,
and a minimal RESP client whose replies compare with ==."""
import socket
import subprocess
import sys
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(argv, port):
    """Starts argv (a server on port); returns (process, connection)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(250):
        try:
            sock = socket.create_connection(("127.0.0.1", port))
            return proc, (sock, sock.makefile("rb"))
        except OSError:
            time.sleep(0.02)
    proc.kill()
    sys.exit("server on port %d did not start" % port)


def read_reply(f):
    line = f.readline()
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+", b"-", b":"):
        return (kind, rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise RuntimeError("unexpected reply line %r" % line)


def call(conn, args):
    """Sends one command (a list of bytes) and reads its reply."""
    sock, f = conn
    sock.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
    return read_reply(f)
