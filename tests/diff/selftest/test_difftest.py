#!/usr/bin/python3
"""Unit tests of the differential harness itself (tests/diff/difftest.py):
argument splitting, script parsing, the RESP reader and the comparisons,
plus one end-to-end run that must report a mismatch.

    /usr/bin/python3 tests/diff/selftest/test_difftest.py
"""

import os
import socket
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(os.path.dirname(HERE), "difftest.py")
sys.path.insert(0, os.path.dirname(HERE))

import difftest as d  # noqa: E402


def parse(data):
    """Parse one reply from bytes, through a real socket."""
    a, b = socket.socketpair()
    try:
        b.sendall(data)
        conn = d.RespConn.__new__(d.RespConn)
        conn.sock, conn.buf, conn.pos = a, bytearray(), 0
        a.settimeout(1)
        return conn.read_reply()
    finally:
        a.close()
        b.close()


class SplitArgs(unittest.TestCase):
    def test_plain_and_quoted(self):
        self.assertEqual(d.split_args('SET k "a b" \'c d\'', 1),
                         [b"SET", b"k", b"a b", b"c d"])

    def test_escapes_and_empty(self):
        self.assertEqual(d.split_args(r'X "\x00\xff\r\n\t\"\\" ""', 1),
                         [b"X", b"\x00\xff\r\n\t\"\\", b""])

    def test_single_quotes_are_literal(self):
        self.assertEqual(d.split_args(r"X 'a\x00\'b'", 1), [b"X", b"a\\x00'b"])

    def test_comments(self):
        self.assertEqual(d.split_args("# all comment", 1), [])
        self.assertEqual(d.split_args("GET k # trailing", 1), [b"GET", b"k"])
        self.assertEqual(d.split_args("GET a#b", 1), [b"GET", b"a#b"])

    def test_utf8(self):
        self.assertEqual(d.split_args("SET é", 1), [b"SET", "é".encode()])

    def test_unbalanced(self):
        with self.assertRaises(d.ScriptError):
            d.split_args('SET k "abc', 7)
        with self.assertRaises(d.ScriptError):
            d.split_args('SET k "a"b', 7)


class ParseScript(unittest.TestCase):
    def test_modifiers(self):
        steps = d.parse_script("!exact\nGET\n!range 1 2 TTL k\n@2 !type PING\n"
                               "!type @3 PING\n!sleep 5\n!noreply !raw \"x\"\n!blocked 2\n")
        self.assertEqual([s.op for s in steps], ["cmd", "cmd", "cmd", "cmd", "sleep", "raw", "blocked"])
        self.assertEqual(steps[0].mods, {"exact": True})
        self.assertEqual(steps[0].lineno, 2)
        self.assertEqual(steps[1].mods, {"range": (1, 2)})
        self.assertEqual((steps[2].conn, steps[2].mods), (2, {"type": True}))
        self.assertEqual(steps[3].conn, 3)
        self.assertEqual(steps[4].args, [5])
        self.assertEqual((steps[5].args, steps[5].mods), ([b"x"], {"noreply": True}))
        self.assertEqual(steps[6].args, [2])

    def test_errors(self):
        for bad in ["!nosuch GET", "!range 1 GET", "!exact", "@0 PING", "@x PING",
                    "!sleep abc", "!raw a b", "!blocked", "!blocked x", "!exact !blocked 1"]:
            with self.assertRaises(d.ScriptError, msg=bad):
                d.parse_script(bad)


class Reader(unittest.TestCase):
    def test_scalars(self):
        for raw in [b"+OK\r\n", b"-ERR x\r\n", b":-5\r\n", b"$3\r\na\r\n\r\n",
                    b"$-1\r\n", b"_\r\n", b"#t\r\n", b",1.5\r\n", b"(123\r\n",
                    b"=7\r\ntxt:abc\r\n", b"!5\r\nERR x\r\n"]:
            self.assertEqual(parse(raw).raw, raw)

    def test_aggregates(self):
        raw = b"*2\r\n%1\r\n+k\r\n~1\r\n:1\r\n>1\r\n*-1\r\n"
        r = parse(raw)
        self.assertEqual((r.kind, r.raw, len(r.value)), ("*", raw, 2))
        self.assertEqual(len(r.value[0].value), 2)        # one map pair

    def test_attribute_precedes_reply(self):
        raw = b"|1\r\n+a\r\n:1\r\n$2\r\nhi\r\n"
        r = parse(raw)
        self.assertEqual((r.kind, r.value, r.raw), ("$", b"hi", raw))
        self.assertEqual(r.attrs.kind, "|")

    def test_incomplete_and_garbage(self):
        with self.assertRaises(d.ConnectionLost):
            parse(b"$5\r\nab")
        with self.assertRaises(d.ConnectionLost):
            parse(b"?x\r\n")


class Compare(unittest.TestCase):
    def test_error_codes(self):
        a = parse(b"*2\r\n:1\r\n-ERR one text\r\n")
        b = parse(b"*2\r\n:1\r\n-ERR another\r\n")
        c = parse(b"*2\r\n:1\r\n-WRONGTYPE x\r\n")
        self.assertEqual(d.canonical(a, False), d.canonical(b, False))
        self.assertNotEqual(d.canonical(a, True), d.canonical(b, True))
        self.assertNotEqual(d.canonical(a, False), d.canonical(c, False))

    def test_unordered(self):
        a, b = parse(b"*2\r\n+x\r\n+y\r\n"), parse(b"*2\r\n+y\r\n+x\r\n")
        self.assertEqual(d.unordered_key(a, False), d.unordered_key(b, False))
        m1 = parse(b"%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n")
        m2 = parse(b"%2\r\n+b\r\n:2\r\n+a\r\n:1\r\n")
        m3 = parse(b"%2\r\n+b\r\n:1\r\n+a\r\n:2\r\n")
        self.assertEqual(d.unordered_key(m1, False), d.unordered_key(m2, False))
        self.assertNotEqual(d.unordered_key(m1, False), d.unordered_key(m3, False))

    def test_kinds_and_shape(self):
        self.assertEqual(d.kind_of(parse(b"$-1\r\n")), "$-1")
        self.assertNotEqual(d.kind_of(parse(b"$-1\r\n")), d.kind_of(parse(b"_\r\n")))
        h1 = parse(b"%2\r\n$2\r\nid\r\n:4\r\n$1\r\nv\r\n$1\r\n7\r\n")
        h2 = parse(b"%2\r\n$2\r\nid\r\n:9\r\n$1\r\nv\r\n$2\r\n12\r\n")
        h3 = parse(b"%2\r\n$2\r\nID\r\n:9\r\n$1\r\nv\r\n$2\r\n12\r\n")
        self.assertEqual(d.shape(h1), d.shape(h2))
        self.assertNotEqual(d.shape(h1), d.shape(h3))


@unittest.skipUnless(os.access(d.DEFAULT_REDIS, os.X_OK), "no redis-server")
class EndToEnd(unittest.TestCase):
    def run_harness(self, script, *extra):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "case.txt")
            with open(path, "w") as f:
                f.write(script)
            fake = os.path.join(tmp, "fake-cachenode")
            with open(fake, "w") as f:   # a "cachenode" that has 4 databases
                f.write('#!/bin/sh\nexec %s "$@" --save "" --logfile "" '
                        '--databases 4\n' % d.DEFAULT_REDIS)
            os.chmod(fake, stat.S_IRWXU)
            return subprocess.run([sys.executable, HARNESS, *extra, "--cachenode", fake,
                                   path], capture_output=True, text=True, timeout=60)

    def test_match(self):
        r = self.run_harness("SET k v\nGET k\n!exact GET\n")   # + FLUSHALL
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.endswith("4 passed, 0 failed\n"), r.stdout)

    def test_mismatch_is_reported(self):
        r = self.run_harness("PING\n\nSELECT 5\n")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("line 3: SELECT 5", r.stdout)
        self.assertIn("-ERR DB index is out of range", r.stdout)
        self.assertTrue(r.stdout.endswith("2 passed, 1 failed\n"), r.stdout)

    def test_script_error(self):
        r = self.run_harness('GET "unterminated\n')
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
