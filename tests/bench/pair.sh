# pair.sh: sourced by the per-type benchmarks (hash-vs-redis.sh,
# zset-vs-redis.sh, list-vs-redis.sh): their common command line (--cachenode PATH --rounds N
# --memory-only), a temp dir, and `start KIND PORT` for a redis-server or a
# cachenode on a free port, every server stopped by pid on exit.
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
    for _ in $(seq 100); do
        redis-cli -p "$port" PING >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "$kind did not start on $port" >&2
    exit 1
}
