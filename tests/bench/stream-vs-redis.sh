#!/bin/bash
# stream-vs-redis.sh: the stream type of cachenode against redis-server 7.0,
# in the same run on the same machine.
#
#   1. memory: 1,000,000 entries XADDed to one stream with auto IDs
#      (redis-benchmark -P 16), per dataset: "f v" and a five-field event
#      with random values; prints the used_memory growth per entry, the
#      resident growth per entry, and cachenode's share of redis-server's
#      (target: <= 1.00).
#   2. speed: XADD s * f v at -P 1 and -P 16, and XREADGROUP GROUP g c
#      COUNT 1 STREAMS s > (each run reads new entries from a stream filled
#      beforehand) at -P 1 and -P 16; both servers up, runs interleaved (the
#      one that goes first alternates); prints the ratio of the best runs
#      and the median of the per-round ratios, cachenode/redis (target >=
#      1.00; -P 1 is bound by the round trip and swings by +-30 % a round on
#      a shared machine).
#
# usage: tests/bench/stream-vs-redis.sh [--cachenode PATH] [--rounds N] [--memory-only]
# Stops both servers by pid on exit.
set -u
set -f # the commands hold "*" and ">"
here=$(cd "$(dirname "$0")" && pwd)
bench_name=stream
. "$here/pair.sh"

entries=1000000
used_of() { redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: '$1=="used_memory"{print $2}'; }
rss_of() { echo $(($(awk '{print $2}' /proc/"$1"/statm) * $(getconf PAGESIZE))); }
rps() { tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1; }
best() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN{print (a>b)?a:b}'; }

# ---- memory ----------------------------------------------------------------------
declare -A used rss
while read -r ds cmd; do
    for kind in redis cachenode; do
        port=$(free_port)
        start "$kind" "$port"
        pid=$started_pid
        u0=$(used_of "$port")
        r0=$(rss_of "$pid")
        redis-benchmark -p "$port" -n "$entries" -r 1000000 -c 20 -P 16 -q $cmd >/dev/null 2>&1
        n=$(redis-cli -p "$port" XLEN s)
        used[$kind]=$(awk -v a="$(used_of "$port")" -v b="$u0" -v n="$n" 'BEGIN{printf "%.2f", (a-b)/n}')
        rss[$kind]=$(awk -v a="$(rss_of "$pid")" -v b="$r0" -v n="$n" 'BEGIN{printf "%.2f", (a-b)/n}')
        printf "memory %-6s %-10s entries %s  used_memory/entry %8s  rss/entry %8s\n" "$ds" "$kind" "$n" \
            "${used[$kind]}" "${rss[$kind]}"
        kill "$pid"
        wait "$pid" 2>/dev/null
    done
    awk -v d="$ds" -v cu="${used[cachenode]}" -v ru="${used[redis]}" -v cr="${rss[cachenode]}" -v rr="${rss[redis]}" \
        'BEGIN { printf "memory %-6s ratio cachenode/redis: used_memory/entry %.2f, rss/entry %.2f (target <= 1.00)\n", d, cu / ru, cr / rr }'
done <<'DATASETS'
fv XADD s * f v
event XADD s * user u:__rand_int__ action click page /p/__rand_int__ ms __rand_int__ ok 1
DATASETS
[ "$memory_only" = 1 ] && exit 0

# ---- speed -------------------------------------------------------------------------
rp=$(free_port); start redis "$rp"
cp=$(free_port); start cachenode "$cp"
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END{print (NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2}'; }
report() { # NAME P REDIS CACHENODE RATIOS
    awk -v n="$1" -v p="$2" -v r="$3" -v c="$4" -v m="$(echo "$5" | median)" -v all="$5" \
        'BEGIN{printf "speed %-10s -P %-2s  redis %10.0f  cachenode %10.0f  ratio of bests %.2f, median of rounds %.2f (rounds:%s) (target >= 1.00)\n", n, p, r, c, (r>0)?c/r:0, m, all}'
}
# one run of a test on one server: requests per second
run() { # KIND P N CMD...
    local port=$rp
    [ "$1" = cachenode ] && port=$cp
    local p=$2 n=$3
    shift 3
    redis-benchmark -p "$port" -n "$n" -c 50 -P "$p" -q "$@" 2>/dev/null | rps
}
for P in 1 16; do
    n=100000
    [ "$P" -gt 1 ] && n=400000
    declare -A bx=([redis]=0 [cachenode]=0) br=([redis]=0 [cachenode]=0) vx vr
    rx="" rr=""
    for round in $(seq "$rounds"); do
        # the server that goes first alternates
        order="redis cachenode"
        [ $((round % 2)) = 0 ] && order="cachenode redis"
        for kind in $order; do
            port=$rp
            [ "$kind" = cachenode ] && port=$cp
            redis-cli -p "$port" FLUSHALL >/dev/null
            vx[$kind]=$(run "$kind" "$P" "$n" XADD s '*' f v)
            bx[$kind]=$(best "${vx[$kind]}" "${bx[$kind]}")
            # XREADGROUP: one new entry per request, from the stream just filled
            redis-cli -p "$port" XGROUP CREATE s g 0 >/dev/null
            vr[$kind]=$(run "$kind" "$P" "$n" XREADGROUP GROUP g c COUNT 1 STREAMS s '>')
            br[$kind]=$(best "${vr[$kind]}" "${br[$kind]}")
            pending=$(redis-cli -p "$port" XPENDING s g | head -1)
            [ "$pending" = "$n" ] || echo "warning: $kind delivered $pending entries, expected $n" >&2
        done
        rx="$rx $(awk -v c="${vx[cachenode]}" -v r="${vx[redis]}" 'BEGIN{printf "%.2f", (r>0)?c/r:0}')"
        rr="$rr $(awk -v c="${vr[cachenode]}" -v r="${vr[redis]}" 'BEGIN{printf "%.2f", (r>0)?c/r:0}')"
    done
    report XADD "$P" "${bx[redis]}" "${bx[cachenode]}" "$rx"
    report XREADGROUP "$P" "${br[redis]}" "${br[cachenode]}" "$rr"
done
