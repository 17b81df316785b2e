#!/bin/bash
# script-vs-redis.sh: scripting speed of cachenode against redis-server 7.0,
# in the same run on the same machine: EVALSHA of small scripts (an INCR,
# a read, a pure Lua loop) and FCALL of the same INCR as a function, with
# redis-benchmark (-c 20, pipelines of 1 and 16), both servers up, runs
# interleaved, best of ROUNDS; ratio = cachenode/redis (target >= 1.0).
#
# usage: tests/bench/script-vs-redis.sh [--cachenode PATH] [--rounds N]
# Stops both servers by pid on exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bench_name=script
. "$here/pair.sh"

incr="return redis.call('incr', KEYS[1])"
get="return redis.call('get', KEYS[1])"
loop="local s = 0 for i = 1, 100 do s = s + i end return s"
library="#!lua name=bench
redis.register_function('bump', function(keys) return redis.call('incr', keys[1]) end)"

rp=$(free_port); start redis "$rp"
cp=$(free_port); start cachenode "$cp"
for port in $rp $cp; do
    for body in "$incr" "$get" "$loop"; do redis-cli -p "$port" SCRIPT LOAD "$body" >/dev/null; done
    redis-cli -p "$port" FUNCTION LOAD REPLACE "$library" >/dev/null
    redis-cli -p "$port" SET k 1 >/dev/null
done
sha() { redis-cli -p "$rp" SCRIPT LOAD "$1"; }
sha_incr=$(sha "$incr"); sha_get=$(sha "$get"); sha_loop=$(sha "$loop")

run() { # port pipeline args...
    local port=$1 pipe=$2; shift 2
    redis-benchmark -p "$port" -n 100000 -r 10000 -c 20 -P "$pipe" -q "$@" 2>/dev/null |
        tail -1 | grep -o '[0-9.]* requests per second' | cut -d' ' -f1
}
while read -r name cmd; do
    for pipe in 1 16; do
        br=0; bc=0
        for _ in $(seq "$rounds"); do
            # shellcheck disable=SC2086  # cmd is a word list on purpose
            r=$(run "$rp" "$pipe" $cmd); c=$(run "$cp" "$pipe" $cmd)
            br=$(awk -v a="${r:-0}" -v b="$br" 'BEGIN{print (a>b)?a:b}')
            bc=$(awk -v a="${c:-0}" -v b="$bc" 'BEGIN{print (a>b)?a:b}')
        done
        awk -v n="$name" -v p="$pipe" -v r="$br" -v c="$bc" \
            'BEGIN{printf "speed %-14s -P%-3s redis %10.0f  cachenode %10.0f  ratio %.2f\n", n, p, r, c, (r>0)?c/r:0}'
    done
done <<CMDS
evalsha_incr EVALSHA $sha_incr 1 key:__rand_int__
evalsha_get EVALSHA $sha_get 1 k
evalsha_loop EVALSHA $sha_loop 0
fcall_incr FCALL bump 1 key:__rand_int__
CMDS
