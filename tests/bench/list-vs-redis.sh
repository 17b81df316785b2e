#!/bin/bash
# list-vs-redis.sh: the resident memory of big lists in cachenode against
# redis-server 7.0, in the same run on the same machine, for a few shapes of
# element (1M elements each, RPUSHed 1000 at a time with redis-cli --pipe
# into a fresh server of each kind):
#
#   seq     the decimal numbers 0 .. N-1 (integers to both servers)
#   digits  random 12-digit strings (some with a leading zero)
#   hex     random 16-character hex strings
#   job     job:000000 ..., the list1m element of engine-vs-redis.sh
#
# For each it prints the resident memory the list added (VmRSS after the
# load minus before), used_memory's growth, and cachenode's share of
# redis-server's resident memory (lower is better; issue 11's target for
# list1m is at most 0.80). Both servers run with their defaults, so the
# ratio includes cachenode's list-compress-depth 1 (redis-server: 0);
# CACHENODE_ARGS adds flags, e.g. CACHENODE_ARGS="--list-compress-depth 0".
# List throughput is engine-vs-redis.sh's (see tests/bench/README.md).
#
# usage: tests/bench/list-vs-redis.sh [--cachenode PATH]   (LIST_N=100000 for a quick run)
# Stops both servers by pid on exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bench_name=list
. "$here/pair.sh"
n=${LIST_N:-1000000}
shapes=${LIST_SHAPES:-seq digits hex job}

# dataset SHAPE: the RESP stream of RPUSHes, 1000 elements each
dataset() {
    awk -v N="$n" -v shape="$1" 'BEGIN {
        srand(7)
        for (b = 0; b < N; b += 1000) {
            m = (N - b < 1000) ? N - b : 1000
            printf "*%d\r\n$5\r\nRPUSH\r\n$4\r\nlist\r\n", m + 2
            for (i = b; i < b + m; i++) {
                if (shape == "seq") s = sprintf("%d", i)
                else if (shape == "job") s = sprintf("job:%06d", i)
                else if (shape == "digits") { s = ""; for (k = 0; k < 12; k++) s = s int(rand() * 10) }
                else { s = ""; for (k = 0; k < 16; k++) s = s substr("0123456789abcdef", int(rand() * 16) + 1, 1) }
                printf "$%d\r\n%s\r\n", length(s), s
            }
        }
    }'
}

rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
used_kb() { redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" {printf "%d", $2 / 1024}'; }

printf "%-7s %-28s %-28s %s\n" shape "redis-server rss (used) kB" "cachenode rss (used) kB" "rss ratio"
for shape in $shapes; do
    dataset "$shape" >"$tmp/ds.resp"
    declare -A rss=() used=()
    for kind in redis cachenode; do
        port=$(free_port)
        start "$kind" "$port"
        pid=$started_pid
        r0=$(rss_kb "$pid"); u0=$(used_kb "$port")
        redis-cli -p "$port" --pipe <"$tmp/ds.resp" >"$tmp/pipe.out" 2>&1
        grep -q "errors: 0, replies: $(((n + 999) / 1000))" "$tmp/pipe.out" || {
            echo "loading $shape into $kind failed: $(tail -n 2 "$tmp/pipe.out")" >&2; exit 1; }
        len=$(redis-cli -p "$port" LLEN list)
        [ "$len" = "$n" ] || { echo "$kind holds $len elements, expected $n" >&2; exit 1; }
        rss[$kind]=$(($(rss_kb "$pid") - r0))
        used[$kind]=$(($(used_kb "$port") - u0))
        kill "$pid"
        wait "$pid" 2>/dev/null
    done
    awk -v s="$shape" -v r="${rss[redis]}" -v ru="${used[redis]}" -v c="${rss[cachenode]}" -v cu="${used[cachenode]}" \
        'BEGIN { printf "%-7s %10d (%10d)        %10d (%10d)        %.2fx\n", s, r, ru, c, cu, c / r }'
done
