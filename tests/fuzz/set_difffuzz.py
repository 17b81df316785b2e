#!/usr/bin/env python3
"""set_difffuzz.py: random set commands against redis-server 7.0 and
cachenode. Replies are compared (member lists sorted, since a hashtable's
order differs between servers; random commands only where the answer is
determined: counts that take the whole set, sizes of negative-count
samples), and OBJECT ENCODING of every key is compared before every
command. set-max-intset-entries is set low (8) so that conversions happen
all the time; members include integers at the intset's width boundaries
and integer-like texts that are not canonical.

    tests/fuzz/set_difffuzz.py --cachenode build/bin/cachenode [--seed 1] [--ops 20000]

Starts both servers on free ports and stops them by pid. Exit 1 on the first
mismatch (printed with the command and both replies)."""
import argparse
import random
import sys
import tempfile

from difffuzz import call, free_port, start

KEYS = [b"s0", b"s1", b"s2", b"s3"]


def member():
    r = random.random()
    if r < 0.45:
        return str(random.randint(-20, 40)).encode()
    if r < 0.6:
        return random.choice([b"32767", b"32768", b"-32768", b"-32769", b"2147483647", b"2147483648",
                              b"-2147483649", b"9223372036854775807", b"-9223372036854775808",
                              b"9223372036854775808", b"-0", b"007", b"+3", b" 1", b"", b"1e3"])
    return ("m%d" % random.randint(0, 25)).encode()


def key():
    return random.choice(KEYS + [b"str", b"missing"])


def some_keys(lo=1, hi=4):
    return [key() for _ in range(random.randint(lo, hi))]


def sort_members(reply):
    if isinstance(reply, list):
        return sorted(x for x in reply if isinstance(x, bytes))
    return reply


def next_command(scard):
    """Returns (args, how): how is 'exact', 'sorted' or 'len'."""
    r = random.random()
    k = key()
    if r < 0.25:
        return [b"SADD", k] + [member() for _ in range(random.randint(1, 6))], "exact"
    if r < 0.37:
        return [b"SREM", k] + [member() for _ in range(random.randint(1, 4))], "exact"
    if r < 0.42:
        return [b"SISMEMBER", k, member()], "exact"
    if r < 0.45:
        return [b"SMISMEMBER", k] + [member() for _ in range(random.randint(1, 4))], "exact"
    if r < 0.48:
        return [b"SCARD", k], "exact"
    if r < 0.53:
        return [b"SMEMBERS", k], "sorted"
    if r < 0.58:
        return [b"SMOVE", k, key(), member()], "exact"
    if r < 0.64:
        op = random.choice([b"SINTER", b"SUNION", b"SDIFF"])
        return [op] + some_keys(), "sorted"
    if r < 0.72:
        op = random.choice([b"SINTERSTORE", b"SUNIONSTORE", b"SDIFFSTORE"])
        return [op, key()] + some_keys(), "exact"
    if r < 0.76:
        ks = some_keys()
        args = [b"SINTERCARD", str(len(ks)).encode()] + ks
        if random.random() < 0.5:
            args += [b"LIMIT", str(random.randint(0, 5)).encode()]
        return args, "exact"
    if r < 0.80:  # SPOP that takes the whole set, or of a missing key
        n = scard(k)
        return [b"SPOP", k, str(n + random.randint(0, 2)).encode()], "sorted"
    if r < 0.84:
        n = scard(k)
        if random.random() < 0.5:
            return [b"SRANDMEMBER", k, str(n + random.randint(0, 2)).encode()], "sorted"
        return [b"SRANDMEMBER", k, str(-random.randint(1, 12)).encode()], "len"
    if r < 0.88:
        return [b"SSCAN", k, b"0", b"COUNT", b"1000"], "scan"
    if r < 0.90:
        return [b"DEBUG", b"RELOAD"], "exact"
    if r < 0.92:
        return [b"SET", b"str", b"v"], "exact"
    if r < 0.94:
        return [b"DEL", key()], "exact"
    if r < 0.96:
        return [b"COPY", key(), key(), b"REPLACE"], "exact"
    return [b"SREM", k] + [member() for _ in range(8)], "exact"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cachenode", required=True)
    ap.add_argument("--redis-server", default="/usr/bin/redis-server")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ops", type=int, default=20000)
    args = ap.parse_args()
    random.seed(args.seed)
    tmp_r, tmp_c = tempfile.mkdtemp(), tempfile.mkdtemp()
    pr, pc = free_port(), free_port()
    redis, rc = start([args.redis_server, "--port", str(pr), "--bind", "127.0.0.1", "--save", "",
                       "--appendonly", "no", "--enable-debug-command", "yes", "--dir", tmp_r], pr)
    node, cc = start([args.cachenode, "--port", str(pc), "--bind", "127.0.0.1", "--dir", tmp_c], pc)
    try:
        for conn in (rc, cc):
            call(conn, [b"FLUSHALL"])
            call(conn, [b"CONFIG", b"SET", b"set-max-intset-entries", b"8"])

        def scard(k):
            reply = call(rc, [b"SCARD", k])
            call(cc, [b"SCARD", k])
            return int(reply[1]) if isinstance(reply, tuple) and reply[0] == b":" else 0

        for i in range(args.ops):
            for k in KEYS + [b"str"]:
                er, ec = call(rc, [b"OBJECT", b"ENCODING", k]), call(cc, [b"OBJECT", b"ENCODING", k])
                if er != ec:
                    print("op %d: OBJECT ENCODING %s: redis %r cachenode %r" % (i, k, er, ec))
                    return 1
            cmd, how = next_command(scard)
            if how == "scan":
                ar, ac = call(rc, cmd), call(cc, cmd)
                if isinstance(ar, list) and isinstance(ac, list):
                    # one call with a large COUNT returns everything for these sizes
                    ar = (ar[0] == b"0", sorted(ar[1]))
                    ac = (ac[0] == b"0", sorted(ac[1]))
            else:
                ar, ac = call(rc, cmd), call(cc, cmd)
                if how == "sorted":
                    ar, ac = sort_members(ar), sort_members(ac)
                elif how == "len" and isinstance(ar, list) and isinstance(ac, list):
                    ar, ac = len(ar), len(ac)
            if isinstance(ar, tuple) and ar[0] == b"-":
                ar, ac = ar[1].split(b" ")[0], ac[1].split(b" ")[0] if isinstance(ac, tuple) else ac
            if ar != ac:
                print("op %d: %r\n  redis:     %r\n  cachenode: %r" % (i, cmd, ar, ac))
                return 1
        print("%d operations, replies and encodings identical" % args.ops)
        return 0
    finally:
        redis.terminate()
        node.terminate()
        redis.wait()
        node.wait()


if __name__ == "__main__":
    sys.exit(main())
