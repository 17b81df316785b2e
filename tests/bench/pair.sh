# pair.sh: sourced by the per-type benchmarks (hash-vs-redis.sh,
# zset-vs-redis.sh, list-vs-redis.sh, bits-vs-redis.sh): their common
# command line (--cachenode PATH --rounds N --memory-only), a temp dir,
# `start KIND PORT` for a redis-server or a cachenode on a free port (every
# server stopped by pid on exit), and `speed_table`, the side-by-side
# redis-benchmark runs of a command list.
# CACHENODE_ARGS (split on blanks) adds flags to cachenode's command line.
# The caller sets bench_name before sourcing.
cachenode="$here/../../build/bin/cachenode"
rounds=3
memory_only=0
while [ $# -gt 0 ]; do
    case "$1" in
    --cachenode) cachenode=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --memory-only) memory_only=1; shift ;;
    *) echo "usage: $0 [--cachenode PATH] [--rounds N] [--memory-only]" >&2; exit 2 ;;
    esac
done
tmp=$(mktemp -d "/tmp/${bench_name}-bench.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start KIND PORT: starts a server, sets $started_pid, waits for PING
start() {
    local kind=$1 port=$2 dir="$tmp/$1-$2"
    mkdir -p "$dir"
    if [ "$kind" = redis ]; then
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" >"$dir/log" 2>&1 &
    else
        # shellcheck disable=SC2086 # CACHENODE_ARGS is a list of flags
        "$cachenode" --port "$port" --bind 127.0.0.1 --dir "$dir" ${CACHENODE_ARGS:-} >"$dir/log" 2>&1 &
    fi
    started_pid=$!
    pids+=("$started_pid")
    wait_ping "$kind" "$port"
}

# wait_ping KIND PORT: polls PING for 5 s; exits the script if no answer
wait_ping() {
    for _ in $(seq 100); do
        redis-cli -p "$2" PING >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "$1 did not start on $2" >&2
    exit 1
}

# best A B: the larger of two numbers (an empty A counts as 0)
best() { awk -v a="${1:-0}" -v b="$2" 'BEGIN{print (a>b)?a:b}'; }

# speed_table REDIS_PORT CACHENODE_PORT: for each "name keyspace command..."
# line on stdin, the best requests/sec of $rounds interleaved redis-benchmark
# runs (-n 100000 -r keyspace -c 20 -P 16) on each server, and their ratio.
speed_table() {
    local rp=$1 cp=$2 name r cmd br bc a b
    run() { redis-benchmark -p "$1" -n 100000 -r "$3" -c 20 -P 16 -q $2 2>/dev/null | tr '\r' '\n' | tail -1 | grep -o '[0-9.]* requests per second' | cut -d' ' -f1; }
    while read -r name r cmd; do
        br=0
        bc=0
        for _ in $(seq "$rounds"); do
            a=$(run "$rp" "$cmd" "$r")
            b=$(run "$cp" "$cmd" "$r")
            br=$(best "$a" "$br")
            bc=$(best "$b" "$bc")
        done
        awk -v n="$name" -v r="$br" -v c="$bc" 'BEGIN{printf "speed %-24s redis %10.0f  cachenode %10.0f  ratio %.2f\n", n, r, c, (r>0)?c/r:0}'
    done
}
