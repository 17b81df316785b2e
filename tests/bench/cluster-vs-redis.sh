#!/bin/bash
# cluster-vs-redis.sh: `redis-benchmark --cluster` against three local
# cachenode shards and against a three-node redis-server cluster, in the
# same run on the same machine. The redis-server cluster is made with
# `redis-cli --cluster create` (slots 0-5460, 5461-10922, 10923-16383); the
# cachenode one gets the same slots through CLUSTER SETTOPOLOGY, as the
# agent gives them (docs/cluster.md). Runs interleave, best of ROUNDS, for
# SET and GET at pipelines 1 and 16; ratio = cachenode/redis (target >= 1.0).
#
# usage: tests/bench/cluster-vs-redis.sh [--cachenode PATH] [--rounds N]
# Stops every server by pid on exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bench_name=cluster
. "$here/pair.sh"

ranges=(0-5460 5461-10922 10923-16383)

# start_cluster_node KIND PORT: like pair.sh's start, in cluster mode
start_cluster_node() {
    local kind=$1 port=$2 dir="$tmp/$1-$2"
    mkdir -p "$dir"
    if [ "$kind" = redis ]; then
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
            --cluster-enabled yes --cluster-config-file nodes.conf >"$dir/log" 2>&1 &
    else
        "$cachenode" --port "$port" --bind 127.0.0.1 --dir "$dir" --cluster-enabled yes \
            --node-id "bench-$port" >"$dir/log" 2>&1 &
    fi
    pids+=("$!")
    wait_ping "$kind" "$port"
}

# wait_cluster_ok PORT...: every node says cluster_state:ok (20 s at most)
wait_cluster_ok() {
    local port ok
    for _ in $(seq 400); do
        ok=1
        for port in "$@"; do
            redis-cli -p "$port" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok' || ok=0
        done
        [ "$ok" = 1 ] && return 0
        sleep 0.05
    done
    echo "cluster on $* did not reach cluster_state:ok" >&2
    exit 1
}

rports=() cports=()
for i in 0 1 2; do
    p=$(free_port); start_cluster_node redis "$p"; rports+=("$p")
    p=$(free_port); start_cluster_node cachenode "$p"; cports+=("$p")
done
create=()
for p in "${rports[@]}"; do create+=("127.0.0.1:$p"); done
redis-cli --cluster create "${create[@]}" --cluster-yes >"$tmp/create.log" 2>&1 ||
    { cat "$tmp/create.log" >&2; exit 1; }
topology=(1 3)
for i in 0 1 2; do topology+=("000$((i + 1))" "${ranges[$i]}" 1 "bench-${cports[$i]}" 127.0.0.1 "${cports[$i]}"); done
for p in "${cports[@]}"; do
    reply=$(redis-cli -p "$p" CLUSTER SETTOPOLOGY "${topology[@]}")
    [ "$reply" = OK ] || { echo "CLUSTER SETTOPOLOGY on $p: $reply" >&2; exit 1; }
done
wait_cluster_ok "${rports[@]}"
wait_cluster_ok "${cports[@]}"

run() { # port pipeline test
    redis-benchmark --cluster -h 127.0.0.1 -p "$1" -n 200000 -r 100000 -c 50 -P "$2" -t "$3" -q 2>/dev/null |
        tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1
}
for test in set get; do
    for pipe in 1 16; do
        br=0; bc=0
        for _ in $(seq "$rounds"); do
            br=$(best "$(run "${rports[0]}" "$pipe" "$test")" "$br")
            bc=$(best "$(run "${cports[0]}" "$pipe" "$test")" "$bc")
        done
        awk -v n="$test" -v p="$pipe" -v r="$br" -v c="$bc" \
            'BEGIN{printf "speed cluster %-4s -P%-3s redis %10.0f  cachenode %10.0f  ratio %.2f (target >= 1.00)\n", n, p, r, c, (r>0)?c/r:0}'
    done
done
