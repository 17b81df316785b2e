#!/usr/bin/env python3
"""hash_difffuzz.py: random hash commands against redis-server 7.0 and
cachenode, replies compared (HGETALL/HKEYS/HVALS/HRANDFIELD sorted when the
hash is a hashtable, whose order differs), with OBJECT ENCODING compared
before every command; thresholds are set low (8 entries, 6 bytes) so that
conversions happen all the time. Fields and values include integers at the
listpack's encoding boundaries and integer-like texts.

    tests/fuzz/hash_difffuzz.py --cachenode build/bin/cachenode [--seed 1] [--ops 20000]

Starts both servers on free ports and stops them by pid. Exit 1 on the first
mismatch (printed with the command and both replies)."""
import argparse
import os
import random
import subprocess
import sys
import tempfile

from difffuzz import call, free_port, start


def field():
    ch = random.random()
    if ch < 0.3:
        return str(random.randint(-200, 200)).encode()
    if ch < 0.4:
        return random.choice([b"", b"-0", b"007", b"9223372036854775807",
                              b"-9223372036854775808", b"1e3", b"+1", b"32768", b"-8388609"])
    return ("f%d" % random.randint(0, 15)).encode()


def value():
    ch = random.random()
    if ch < 0.4:
        return str(random.randint(-100000, 100000)).encode()
    if ch < 0.5:
        return b"x" * random.randint(0, 10)
    return ("v%d" % random.randint(0, 999)).encode()


def run(r, c, ops):
    def both(args, unordered=False):
        a, b = call(r, args), call(c, args)
        if unordered and isinstance(a, list) and isinstance(b, list):
            if args[0] == b"HGETALL":
                a, b = sorted(zip(a[::2], a[1::2])), sorted(zip(b[::2], b[1::2]))
            else:
                a, b = sorted(a), sorted(b)
        if a != b:
            print("MISMATCH", args, "redis:", a, "cachenode:", b)
            return False
        return True

    for cfg in ((b"hash-max-listpack-entries", b"8"), (b"hash-max-listpack-value", b"6")):
        if not both([b"CONFIG", b"SET", *cfg]):
            return 1
    keys = [b"k%d" % i for i in range(4)]
    for i in range(ops):
        k = random.choice(keys)
        enc = call(r, [b"OBJECT", b"ENCODING", k])
        enc2 = call(c, [b"OBJECT", b"ENCODING", k])
        if enc != enc2:
            print("ENCODING MISMATCH after %d commands:" % i, k, enc, enc2)
            return 1
        ht = enc == b"hashtable"
        op = random.random()
        if op < 0.3:
            args = [b"HSET", k]
            for _ in range(random.randint(1, 4)):
                args += [field(), value()]
            ok = both(args)
        elif op < 0.45:
            ok = both([b"HDEL", k] + [field() for _ in range(random.randint(1, 3))])
        elif op < 0.5:
            ok = both([b"HINCRBY", k, field(), str(random.randint(-50, 50)).encode()])
        elif op < 0.55:
            ok = both([b"HINCRBYFLOAT", k, field(), random.choice([b"1.5", b"-0.25", b"3", b"1e2"])])
        elif op < 0.6:
            ok = both([b"HSETNX", k, field(), value()])
        elif op < 0.7:
            ok = both([b"HGETALL", k], ht)
        elif op < 0.75:
            ok = both([b"HKEYS", k], ht)
        elif op < 0.8:
            ok = both([b"HVALS", k], ht)
        elif op < 0.85:
            ok = both([b"HMGET", k] + [field() for _ in range(3)])
        elif op < 0.88:
            ok = both([b"HLEN", k])
        elif op < 0.9:
            ok = both([b"HSTRLEN", k, field()])
        elif op < 0.92:
            ok = both([b"HEXISTS", k, field()])
        elif op < 0.94:
            ok = both([b"HRANDFIELD", k, b"100000", b"WITHVALUES"], True)  # the whole hash
        elif op < 0.96:
            ok = both([b"HSCAN", k, b"0", b"MATCH", b"*1*"]) if not ht else True
        elif op < 0.98:
            ok = both([b"DEL", k])
        else:
            ok = both([b"EXISTS", k])
        if not ok:
            return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cachenode", default="build/bin/cachenode")
    ap.add_argument("--redis-server", default="/usr/bin/redis-server")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ops", type=int, default=20000)
    opt = ap.parse_args()
    random.seed(opt.seed)
    tmp = tempfile.mkdtemp(prefix="hash-difffuzz.")
    procs = []
    try:
        rp, cp = free_port(), free_port()
        rproc, r = start([opt.redis_server, "--port", str(rp), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", tmp], rp)
        procs.append(rproc)
        cproc, c = start([opt.cachenode, "--port", str(cp), "--bind", "127.0.0.1", "--dir", tmp], cp)
        procs.append(cproc)
        rc = run(r, c, opt.ops)
        if rc == 0:
            print("ok: seed %d, %d commands" % (opt.seed, opt.ops))
        return rc
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)


if __name__ == "__main__":
    sys.exit(main())
