#!/bin/bash
# zset-vs-redis.sh: the sorted set type of cachenode against redis-server
# 7.0, in the same run on the same machine.
#
#   1. memory: 100k sorted sets of 20 members (ZADD zset:N with members
#      "user:NNNNNN" and, per dataset, small integer, timestamp or 2-decimal
#      scores) loaded with redis-cli --pipe into a fresh server of each kind;
#      prints used_memory, resident memory (/proc/PID/statm), its growth over
#      the empty server, and cachenode's share of redis-server's (target: at
#      most 0.80 resident).
#   2. speed: redis-benchmark's own zadd and zpopmin tests at -P 1 and -P 16
#      (target: >= 1.00), then sorted-set commands on small (listpack) and
#      big (skiplist) sets at -P 16; both servers up, runs interleaved, best
#      of ROUNDS; ratio = cachenode/redis.
#
# usage: tests/bench/zset-vs-redis.sh [--cachenode PATH] [--rounds N] [--memory-only]
# Stops both servers by pid on exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bench_name=zset
. "$here/pair.sh"

dataset() {
    python3 - "$1" <<'PYEOF'
import random, sys
kind = sys.argv[1]
random.seed(7)
out = sys.stdout.buffer
for i in range(100000):
    args = [b"ZADD", b"zset:%d" % i]
    for j in range(20):
        if kind == "int":
            s = str(random.randint(0, 1000))
        elif kind == "ts":
            s = str(1700000000 + random.randint(0, 10**6))
        else:
            s = "%.2f" % (random.random() * 1000)
        args += [s.encode(), b"user:%06d" % random.randint(0, 999999)]
    out.write(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
PYEOF
}

rss_of() { echo $(($(awk '{print $2}' /proc/"$1"/statm) * $(getconf PAGESIZE))); }

declare -A rss used grow
for ds in int ts float; do
    dataset "$ds" >"$tmp/ds.resp"
    for kind in redis cachenode; do
        port=$(free_port)
        start "$kind" "$port"
        pid=$started_pid
        base=$(rss_of "$pid")
        redis-cli -p "$port" --pipe <"$tmp/ds.resp" >/dev/null
        used[$kind]=$(redis-cli -p "$port" INFO memory | tr -d '\r' | awk -F: '$1=="used_memory"{print $2}')
        rss[$kind]=$(rss_of "$pid")
        grow[$kind]=$((rss[$kind] - base))
        enc=$(redis-cli -p "$port" OBJECT ENCODING zset:5)
        printf "memory %-5s %-10s keys %s  used_memory %10s  rss %10s  rss growth %10s  encoding %s\n" "$ds" "$kind" \
            "$(redis-cli -p "$port" DBSIZE)" "${used[$kind]}" "${rss[$kind]}" "${grow[$kind]}" "$enc"
        kill "$pid"
        wait "$pid" 2>/dev/null
    done
    awk -v d="$ds" -v c="${rss[cachenode]}" -v r="${rss[redis]}" -v cg="${grow[cachenode]}" -v rg="${grow[redis]}" \
        -v cu="${used[cachenode]}" -v ru="${used[redis]}" \
        'BEGIN { printf "memory %-5s ratio cachenode/redis: rss %.2f, rss growth %.2f (target <= 0.80), used_memory %.2f\n", d, c / r, cg / rg, cu / ru }'
done
[ "$memory_only" = 1 ] && exit 0

rp=$(free_port); start redis "$rp"
cp=$(free_port); start cachenode "$cp"
declare -A bz
for P in 1 16; do
    bz=([redis_ZADD]=0 [redis_ZPOPMIN]=0 [cachenode_ZADD]=0 [cachenode_ZPOPMIN]=0)
    for _ in $(seq "$rounds"); do
        for kind in redis cachenode; do
            port=$rp
            [ "$kind" = cachenode ] && port=$cp
            redis-cli -p "$port" FLUSHALL >/dev/null
            out=$(redis-benchmark -p "$port" -n 200000 -r 100000 -c 50 -P "$P" -t zadd,zpopmin -q 2>/dev/null | tr '\r' '\n')
            for t in ZADD ZPOPMIN; do
                v=$(echo "$out" | grep "^$t:" | tail -1 | grep -o '[0-9.]* requests per second' | cut -d' ' -f1)
                bz[${kind}_$t]=$(best "$v" "${bz[${kind}_$t]}")
            done
        done
    done
    for t in ZADD ZPOPMIN; do
        awk -v n="$t" -v p="$P" -v r="${bz[redis_$t]}" -v c="${bz[cachenode_$t]}" \
            'BEGIN{printf "speed %-8s -P %-2s          redis %10.0f  cachenode %10.0f  ratio %.2f (target >= 1.00)\n", n, p, r, c, (r>0)?c/r:0}'
    done
done
for port in $rp $cp; do
    redis-cli -p "$port" FLUSHALL >/dev/null
    redis-benchmark -p "$port" -n 200000 -r 100 -c 20 -P 16 -q ZADD z:__rand_int__ __rand_int__ m:__rand_int__ >/dev/null
    redis-benchmark -p "$port" -n 300000 -r 100000 -c 20 -P 16 -q ZADD big __rand_int__ m:__rand_int__ >/dev/null
done
speed_table "$rp" "$cp" <<'CMDS'
zadd_small 100 ZADD z:__rand_int__ __rand_int__ m:__rand_int__
zadd_big 100000 ZADD big __rand_int__ m:__rand_int__
zincrby_small 100 ZINCRBY z:__rand_int__ 1 m:__rand_int__
zscore_small 100 ZSCORE z:__rand_int__ m:__rand_int__
zscore_big 100000 ZSCORE big m:__rand_int__
zrank_small 100 ZRANK z:__rand_int__ m:__rand_int__
zrank_big 100000 ZRANK big m:__rand_int__
zcard 100 ZCARD z:__rand_int__
zrange_small 100 ZRANGE z:__rand_int__ 0 9 WITHSCORES
zrange_big 100000 ZRANGE big __rand_int__ +inf BYSCORE LIMIT 0 10
zrevrange_big 100000 ZREVRANGE big 0 9
zcount_big 100000 ZCOUNT big __rand_int__ +inf
zrangebyscore_small 100 ZRANGEBYSCORE z:__rand_int__ 10 60 WITHSCORES
zrem_small 100 ZREM z:__rand_int__ m:__rand_int__
zrandmember_small 100 ZRANDMEMBER z:__rand_int__ 5 WITHSCORES
zunion_small 100 ZUNION 2 z:__rand_int__ z:__rand_int__
zpopmax_big 100000 ZPOPMAX big
zscan_small 100 ZSCAN z:__rand_int__ 0
CMDS
