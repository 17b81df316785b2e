#!/usr/bin/env bash
# tests/bench/pubsub-vs-redis.sh
#
# Owns: the PUBLISH fan-out benchmark of cachenode against redis-server (the
# peer) in one run. It starts one of each on free loopback ports, and for
# each of PUBSUB_ROUNDS rounds (the server that goes first alternates):
# subscribes PUBSUB_SUBSCRIBERS raw sockets to one channel (a Python reader
# that drains them with large recv() calls and counts the bytes, no parsing),
# then runs redis-benchmark PUBLISH on that channel (PUBSUB_REQUESTS requests,
# PUBSUB_CLIENTS connections, pipeline PUBSUB_PIPELINE, PUBSUB_DATASIZE-byte
# messages) and checks that every subscriber received every message. It
# prints each round's requests/sec and the median cachenode/peer ratio, and
# stops both servers and removes its temp dir on any exit.
#
# Exit status: 0 whatever the numbers; 1 with --check when the median ratio
# is below 1.0; 2 when a server fails to start, a tool is missing or a
# subscriber lost messages.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"
CACHENODE="${CACHENODE:-${REPO_ROOT}/build/bin/cachenode}"
PEER="${PEER:-redis-server}"
PUBSUB_ROUNDS="${PUBSUB_ROUNDS:-5}"
PUBSUB_SUBSCRIBERS="${PUBSUB_SUBSCRIBERS:-50}"
PUBSUB_REQUESTS="${PUBSUB_REQUESTS:-100000}"
PUBSUB_CLIENTS="${PUBSUB_CLIENTS:-4}"
PUBSUB_PIPELINE="${PUBSUB_PIPELINE:-16}"
PUBSUB_DATASIZE="${PUBSUB_DATASIZE:-32}"
START_TIMEOUT="${START_TIMEOUT:-20}"
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1

die() { echo "pubsub-vs-redis: $*" >&2; exit 2; }
command -v redis-benchmark >/dev/null || die "redis-benchmark not found"
command -v "$PEER" >/dev/null || die "$PEER not found"
[ -x "$CACHENODE" ] || die "$CACHENODE not built"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_ping() {
  local port=$1 deadline=$((SECONDS + START_TIMEOUT))
  until [ "$(redis-cli -p "$port" ping 2>/dev/null)" = "PONG" ]; do
    [ $SECONDS -lt $deadline ] || die "no server answers on port $port"
    sleep 0.05
  done
}

PEER_PORT=$(free_port)
mkdir -p "$WORK/peer" "$WORK/cachenode"
"$PEER" --port "$PEER_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK/peer" >"$WORK/peer.log" 2>&1 &
PIDS+=($!)
CN_PORT=$(free_port)
"$CACHENODE" --port "$CN_PORT" --bind 127.0.0.1 --dir "$WORK/cachenode" >"$WORK/cachenode.log" 2>&1 &
PIDS+=($!)
wait_ping "$PEER_PORT"
wait_ping "$CN_PORT"

# The subscribers: subscribe, print "ready", drain until every subscriber has
# the expected byte count (or the deadline), print "ok" or what is missing.
cat >"$WORK/drain.py" <<'EOF'
import selectors, socket, sys, time
port, nsubs, expect = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
confirm = b"*3\r\n$9\r\nsubscribe\r\n$8\r\nbench:ch\r\n:1\r\n"
sel = selectors.DefaultSelector()
got = {}
for _ in range(nsubs):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.sendall(b"SUBSCRIBE bench:ch\r\n")
    sel.register(s, selectors.EVENT_READ)
    got[s] = -len(confirm)
deadline = time.monotonic() + 10
while any(v < 0 for v in got.values()) and time.monotonic() < deadline:
    for key, _ in sel.select(0.1):
        got[key.fileobj] += len(key.fileobj.recv(1 << 20))
print("ready", flush=True)
deadline = time.monotonic() + 300
while min(got.values()) < expect and time.monotonic() < deadline:
    for key, _ in sel.select(0.5):
        got[key.fileobj] += len(key.fileobj.recv(1 << 20))
short = [v for v in got.values() if v != expect]
print("ok" if not short else "short %d subscribers (e.g. %d of %d bytes)" % (len(short), short[0], expect), flush=True)
EOF

PAYLOAD=$(head -c "$PUBSUB_DATASIZE" /dev/zero | tr '\0' x)
MSG_BYTES=$(( 4 + 13 + 14 + ${#PUBSUB_DATASIZE} + 3 + PUBSUB_DATASIZE + 2 ))  # "*3" "$7 message" "$8 bench:ch" "$N payload"
EXPECT=$(( MSG_BYTES * PUBSUB_REQUESTS ))

run_round() {  # port -> requests/sec on stdout
  local port=$1
  coproc DRAIN { /usr/bin/python3 "$WORK/drain.py" "$port" "$PUBSUB_SUBSCRIBERS" "$EXPECT"; }
  local line
  read -r -t 15 line <&"${DRAIN[0]}" || die "subscribers did not start on port $port"
  [ "$line" = "ready" ] || die "subscribers: $line"
  local out
  out=$(redis-benchmark -p "$port" -n "$PUBSUB_REQUESTS" -c "$PUBSUB_CLIENTS" -P "$PUBSUB_PIPELINE" \
        --csv PUBLISH bench:ch "$PAYLOAD" 2>/dev/null | tail -1)
  read -r -t 300 line <&"${DRAIN[0]}" || die "subscribers did not finish on port $port"
  wait "$DRAIN_PID" 2>/dev/null || true
  [ "$line" = "ok" ] || die "port $port: $line"
  echo "$out" | awk -F'","' '{ gsub(/"/, "", $2); print $2 }'
}


ratios=()
for round in $(seq 1 "$PUBSUB_ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then
    peer=$(run_round "$PEER_PORT"); cn=$(run_round "$CN_PORT")
  else
    cn=$(run_round "$CN_PORT"); peer=$(run_round "$PEER_PORT")
  fi
  ratio=$(awk -v a="$cn" -v b="$peer" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$ratio")
  printf 'round %d: PUBLISH to %d subscribers: redis %s req/s, cachenode %s req/s, ratio %sx\n' \
    "$round" "$PUBSUB_SUBSCRIBERS" "$peer" "$cn" "$ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
echo "PUBLISH fan-out to $PUBSUB_SUBSCRIBERS subscribers, -c $PUBSUB_CLIENTS -P $PUBSUB_PIPELINE -d $PUBSUB_DATASIZE: median cachenode/redis ratio ${median}x"
if [ "$CHECK" = 1 ] && awk -v m="$median" 'BEGIN { exit !(m < 1.0) }'; then exit 1; fi
exit 0
