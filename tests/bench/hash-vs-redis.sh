#!/bin/bash
# hash-vs-redis.sh: the hash type of cachenode against redis-server 7.0, in
# the same run on the same machine.
#
#   1. memory: 100k hashes of 10 small fields (HSET user:N with 5 short
#      strings and 5 small integers) loaded with redis-cli --pipe into a
#      fresh server of each kind; prints used_memory and resident memory
#      (/proc/PID/statm) and cachenode's share of redis-server's (target:
#      at most 0.80 resident).
#   2. speed: each hash command with redis-benchmark (-c 20 -P 16), both
#      servers up, runs interleaved, best of ROUNDS; ratio = cachenode/redis.
#
# usage: tests/bench/hash-vs-redis.sh [--cachenode PATH] [--rounds N] [--memory-only]
# Stops both servers by pid on exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bench_name=hash
. "$here/pair.sh"

dataset() {
    python3 - <<'EOF'
import random, sys
random.seed(7)
out = sys.stdout.buffer
names = ["name", "email", "age", "city", "country", "score", "visits", "plan", "created", "status"]
for i in range(100000):
    args = [b"HSET", b"user:%d" % i]
    for j, f in enumerate(names):
        if j % 2 == 0:
            v = str(random.randint(0, 100000))
        else:
            v = "".join(random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(random.randint(4, 12)))
        args += [f.encode(), v.encode()]
    out.write(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
EOF
}

dataset >"$tmp/ds.resp"
declare -A rss used
for kind in redis cachenode; do
    port=$(free_port)
    start "$kind" "$port"
    pid=$started_pid
    redis-cli -p "$port" --pipe <"$tmp/ds.resp" >/dev/null
    used[$kind]=$(redis-cli -p "$port" INFO memory | tr -d '\r' | awk -F: '$1=="used_memory"{print $2}')
    rss[$kind]=$(($(awk '{print $2}' /proc/"$pid"/statm) * $(getconf PAGESIZE)))
    enc=$(redis-cli -p "$port" OBJECT ENCODING user:5)
    printf "memory %-10s keys %s  used_memory %10s  rss %10s  encoding %s\n" "$kind" \
        "$(redis-cli -p "$port" DBSIZE)" "${used[$kind]}" "${rss[$kind]}" "$enc"
    kill "$pid"
    wait "$pid" 2>/dev/null
done
awk -v c="${rss[cachenode]}" -v r="${rss[redis]}" -v cu="${used[cachenode]}" -v ru="${used[redis]}" \
    'BEGIN { printf "memory ratio cachenode/redis: rss %.2f (target <= 0.80), used_memory %.2f\n", c / r, cu / ru }'
[ "$memory_only" = 1 ] && exit 0

rp=$(free_port); start redis "$rp"
cp=$(free_port); start cachenode "$cp"
for port in $rp $cp; do
    redis-benchmark -p "$port" -n 200000 -r 10000 -c 20 -P 16 -q HSET h:__rand_int__ f1 __rand_int__ f2 v2 f3 v3 f4 v4 f5 v5 f6 v6 f7 v7 f8 v8 >/dev/null
    redis-benchmark -p "$port" -n 200000 -r 10000 -c 20 -P 16 -q HSET big f__rand_int__ __rand_int__ >/dev/null
done
run() { redis-benchmark -p "$1" -n 100000 -r 10000 -c 20 -P 16 -q $2 2>/dev/null | tail -1 | grep -o '[0-9.]* requests per second' | cut -d' ' -f1; }
while read -r name cmd; do
    br=0; bc=0
    for _ in $(seq "$rounds"); do
        r=$(run "$rp" "$cmd"); c=$(run "$cp" "$cmd")
        br=$(awk -v a="${r:-0}" -v b="$br" 'BEGIN{print (a>b)?a:b}')
        bc=$(awk -v a="${c:-0}" -v b="$bc" 'BEGIN{print (a>b)?a:b}')
    done
    awk -v n="$name" -v r="$br" -v c="$bc" 'BEGIN{printf "speed %-16s redis %10.0f  cachenode %10.0f  ratio %.2f\n", n, r, c, (r>0)?c/r:0}'
done <<'CMDS'
hset HSET h:__rand_int__ f9 __rand_int__
hset_big HSET big f__rand_int__ x
hsetnx HSETNX h:__rand_int__ f__rand_int__ v
hget HGET h:__rand_int__ f5
hget_big HGET big f__rand_int__
hmget HMGET h:__rand_int__ f1 f4 f8 nope
hlen HLEN h:__rand_int__
hstrlen HSTRLEN h:__rand_int__ f3
hexists HEXISTS h:__rand_int__ f7
hgetall HGETALL h:__rand_int__
hkeys HKEYS h:__rand_int__
hvals HVALS h:__rand_int__
hincrby HINCRBY h:__rand_int__ cnt 3
hincrbyfloat HINCRBYFLOAT h:__rand_int__ fl 1.5
hdel HDEL h:__rand_int__ f__rand_int__
hrandfield HRANDFIELD h:__rand_int__ 3 WITHVALUES
hrandfield_big HRANDFIELD big -5
hscan HSCAN h:__rand_int__ 0
hscan_big HSCAN big 0 COUNT 20
CMDS
