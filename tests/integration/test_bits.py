#!/usr/bin/python3
"""Bitmaps, HyperLogLogs and geo sets across the engine's machinery, seen
from outside the process: the HyperLogLog estimate on 100k..1M random
elements, a replica's digest after these commands' writes (the PFCOUNT
cache and PFDEBUG's conversions propagate as Redis's do), and snapshot round
trips of sparse and dense HyperLogLogs.

    test_bits.py --cachenode build/bin/cachenode

Exit status 0 when every check passed; the last line is "N passed, M failed".
"""

import random
import sys

from nodeutil import RawReplica, Suite, wait_synced, wait_until

STD_ERR = 1.04 / 16384 ** 0.5  # 0.81%, Redis's documented standard error


def digest(c):
    return c.execute_command("DEBUG", "DIGEST")


def pfadd_batches(c, key, elements, batch=2000):
    p = c.pipeline(transaction=False)
    for i in range(0, len(elements), batch):
        p.pfadd(key, *elements[i:i + batch])
    p.execute()


def test_hll_error_rate_on_random_elements(s):
    c = s.node().client()
    rnd = random.Random(20261205)
    seen = 0
    errors = []
    for target in (100_000, 250_000, 500_000, 1_000_000):
        fresh = [f"{rnd.getrandbits(64):x}:{i}" for i in range(seen, target)]
        pfadd_batches(c, "hll", fresh)
        seen = target
        est = c.pfcount("hll")
        err = abs(est - seen) / seen
        errors.append(err)
        assert err < 3 * STD_ERR, f"{seen} elements: estimate {est}, error {err:.4%}"
    assert sum(errors) / len(errors) < 1.5 * STD_ERR, errors
    assert c.execute_command("PFDEBUG", "ENCODING", "hll") == b"dense"
    # the union of two halves estimates the whole
    pfadd_batches(c, "half1", [str(i) for i in range(0, 200_000)])
    pfadd_batches(c, "half2", [str(i) for i in range(100_000, 300_000)])
    union = c.pfcount("half1", "half2")
    assert abs(union - 300_000) / 300_000 < 3 * STD_ERR, union
    c.pfmerge("both", "half1", "half2")
    assert c.pfcount("both") == union
    return " ".join(f"{e:.3%}" for e in errors)


def write_bits(c, rnd, prefix, n):
    """Bitmap and HyperLogLog writes of every kind."""
    p = c.pipeline(transaction=False)
    for i in range(n):
        k = f"{prefix}{i % 20}"
        p.setbit(f"{k}:bm", rnd.randrange(0, 5000), rnd.randrange(0, 2))
        p.execute_command("BITFIELD", f"{k}:bf", "OVERFLOW", "SAT", "INCRBY", "i12", f"#{i % 30}",
                          rnd.randrange(-900, 900), "SET", "u7", rnd.randrange(0, 300), i % 128)
        p.pfadd(f"{k}:hll", *[rnd.getrandbits(32) for _ in range(rnd.choice((1, 5, 50)))])
        if i % 7 == 0:
            p.pfcount(f"{k}:hll")  # refreshes the cached cardinality: a write
        if i % 11 == 0:
            p.bitop("XOR", f"{k}:op", f"{k}:bm", f"{prefix}{(i + 1) % 20}:bm")
            p.pfmerge(f"{prefix}merged", f"{k}:hll")
        if i % 97 == 0:
            p.execute_command("PFDEBUG", "TODENSE", f"{k}:hll")
        p.geoadd(f"{k}:geo", (rnd.uniform(-10, 10), rnd.uniform(-10, 10), f"m{i % 300}"))
        if i % 13 == 0:
            p.georadius(f"{k}:geo", 0, 0, 800, unit="km", store=f"{k}:near")
            p.geosearchstore(f"{k}:box", f"{k}:geo", longitude=1, latitude=1, width=900, height=900,
                             unit="km", storedist=True)
    p.execute()


def test_replica_digest_after_bit_and_hll_writes(s):
    p = s.node()
    c = p.client()
    rnd = random.Random(7)
    write_bits(c, rnd, "pre", 2000)
    r = s.replica(p)
    write_bits(c, rnd, "live", 2000)
    write_bits(c, rnd, "pre", 500)
    wait_synced(p, r)
    rc = r.client()
    assert digest(rc) == digest(c), "replica digest differs from the primary's"
    for k in ("pre3:hll", "live5:hll", "premerged", "live0:bf", "pre1:op"):
        assert rc.get(k) == c.get(k), k
    for k in ("pre2:near", "live4:box"):
        assert rc.zrange(k, 0, -1, withscores=True) == c.zrange(k, 0, -1, withscores=True), k


def test_propagation_of_geo_and_hll_writes(s):
    """GEOADD reaches replicas as the ZADD it is, GEORADIUS STORE as itself,
    a PFCOUNT that refreshes the cache as itself; reads send nothing."""
    p = s.node()
    c = p.client()
    raw = RawReplica(p)
    try:
        c.execute_command("GEOADD", "g", "CH", 13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania")
        c.georadius("g", 15, 37, 200, unit="km", withdist=True)
        c.georadius("g", 15, 37, 200, unit="km", store="dst")
        c.pfadd("h", "a", "b")
        c.pfcount("h")
        c.pfcount("h")  # cached: no write
        c.setbit("b", 7, 1)
        c.set("end", 1)
        cmds = raw.commands_until(b"SET")
    finally:
        raw.close()
    names = [cmd[0] for cmd in cmds if cmd[0] != b"SELECT"]
    assert names == [b"ZADD", b"GEORADIUS", b"PFADD", b"PFCOUNT", b"SETBIT", b"SET"], names
    zadd = next(cmd for cmd in cmds if cmd[0] == b"ZADD")
    assert zadd == [b"ZADD", b"g", b"CH", b"3479099956230698", b"Palermo", b"3479447370796909", b"Catania"], zadd


def test_snapshot_round_trip_of_sparse_and_dense_hlls(s):
    c = s.node().client()
    c.pfadd("sparse", *[f"s{i}" for i in range(100)])
    c.pfadd("dense", *[f"d{i}" for i in range(20000)])
    c.pfadd("stale", "a", "b")
    c.pfcount("sparse")  # cached
    assert c.execute_command("PFDEBUG", "ENCODING", "sparse") == b"sparse"
    assert c.execute_command("PFDEBUG", "ENCODING", "dense") == b"dense"
    # promoted to its exact size (12304 bytes), not a doubled buffer
    assert c.memory_usage("dense") < 13000, c.memory_usage("dense")
    keys = ("sparse", "dense", "stale")
    before = {k: c.get(k) for k in keys}
    d = digest(c)
    assert c.execute_command("DEBUG", "RELOAD")
    assert {k: c.get(k) for k in keys} == before
    assert digest(c) == d
    assert c.execute_command("PFDEBUG", "ENCODING", "sparse") == b"sparse"
    assert c.execute_command("PFDEBUG", "ENCODING", "dense") == b"dense"
    assert c.pfcount("stale") == 2
    assert abs(c.pfcount("dense") - 20000) < 20000 * 3 * STD_ERR
    # a DUMP payload restores the same bytes
    c.restore("copy", 0, c.dump("dense"))
    assert c.get("copy") == c.get("dense")


def main():
    return Suite().run([
        test_hll_error_rate_on_random_elements,
        test_replica_digest_after_bit_and_hll_writes,
        test_snapshot_round_trip_of_sparse_and_dense_hlls,
        test_propagation_of_geo_and_hll_writes,
    ])


if __name__ == "__main__":
    sys.exit(main())
