#!/bin/bash
# bits-vs-redis.sh: bitmaps, HyperLogLog and geo in cachenode against
# redis-server 7.0, in the same run on the same machine: redis-benchmark
# with random arguments at -P 16, 100k requests a run (SETBIT, GETBIT, BITCOUNT, BITFIELD, PFADD
# into sparse and dense HyperLogLogs, PFCOUNT, GEOADD, GEOSEARCH), both
# servers up, runs interleaved, best of ROUNDS; ratio = cachenode/redis.
# Not an acceptance target: it shows where these commands stand.
#
# usage: tests/bench/bits-vs-redis.sh [--cachenode PATH] [--rounds N]
# Stops both servers by pid on exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bench_name=bits
. "$here/pair.sh"

rp=$(free_port); start redis "$rp"
cp=$(free_port); start cachenode "$cp"
# datasets the reads need: a 1 MB bitmap, 100k small ones, a dense
# HyperLogLog, 100k random points in a 2x2 degree square
python3 - >"$tmp/geo.resp" <<'PYEOF'
import random, sys
random.seed(7)
out = sys.stdout.buffer
for i in range(0, 100000, 100):
    args = [b"GEOADD", b"geo"]
    for j in range(i, i + 100):
        args += [b"%.6f" % random.uniform(0, 2), b"%.6f" % random.uniform(44, 46), b"m:%d" % j]
    out.write(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
PYEOF
for port in $rp $cp; do
    redis-cli -p "$port" SETBIT bm 8000000 1 >/dev/null
    redis-benchmark -p "$port" -n 100000 -r 100000 -c 20 -P 16 -q SETBIT bm:__rand_int__ 4099 1 >/dev/null
    redis-benchmark -p "$port" -n 100000 -r 10000000 -c 20 -P 16 -q PFADD dense __rand_int__ >/dev/null
    redis-cli -p "$port" --pipe <"$tmp/geo.resp" >/dev/null
done
speed_table "$rp" "$cp" <<'CMDS'
setbit 100000 SETBIT bm:__rand_int__ 4099 1
getbit 100000 GETBIT bm:__rand_int__ 4099
bitcount_1mb 100 BITCOUNT bm
bitfield 1000000 BITFIELD bf:__rand_int__ INCRBY u8 #3 1 GET i16 0
pfadd_sparse 10000 PFADD h:__rand_int__ __rand_int__
pfadd_dense 100000000 PFADD dense __rand_int__
pfcount_dense 100 PFCOUNT dense
geoadd 1000000 GEOADD geo2 1.5 44.5 m:__rand_int__
geosearch 100 GEOSEARCH geo FROMLONLAT 1.5 45.5 BYRADIUS 5 km COUNT 10
CMDS
