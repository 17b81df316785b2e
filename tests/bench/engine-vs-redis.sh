#!/usr/bin/env bash
# tests/bench/engine-vs-redis.sh
#
# Owns: the side-by-side benchmark of cachenode against redis-server (the
# "peer") in one run on one machine. It starts one of each on free loopback
# ports in a temp dir, measures
#   1. resident memory per key: 1,000,000 SETs of 16-byte keys and 16-byte
#      values loaded with `redis-cli --pipe`; VmRSS before/after (and INFO
#      used_memory where the server reports it);
#   2. throughput: redis-benchmark SET, GET, INCR, MSET at -P 1 and -P 16 with
#      50 clients, in several rounds that interleave the two servers (the one
#      that goes first alternates); the median requests/sec of each server and
#      the median of the per-round cachenode/peer ratios are reported
#      (BENCH_TESTS also takes the collection tests: LPUSH RPUSH LPOP RPOP
#      SADD HSET SPOP ZADD ZPOPMIN LRANGE_100 ... LRANGE_600);
#   3. with the phase "collections": the resident memory that each of the
#      collection datasets adds, on a fresh pair each: 100k hashes of 10
#      small fields, 100k sorted sets of 20 members, a 1M-member set of
#      integers, a 1M-element list;
# prints one line per measurement plus a summary, and stops both servers and
# removes its temp dir on any exit.
#
# Exit status: 0 whatever the numbers (it is a benchmark, not a test);
#              1 with --check when cachenode is slower than the peer at SET or
#                GET, or uses more RSS per key than the peer (or either could
#                not be measured);
#              2 when a server fails to start or dies, a tool is missing, or
#                the command line is wrong.
# See tests/bench/README.md for what each number means and every knob.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"

# ---------------------------------------------------------------- settings --
CACHENODE="${CACHENODE:-${REPO_ROOT}/build/bin/cachenode}"
PEER="${PEER:-redis-server}"
CACHENODE_ARGS="${CACHENODE_ARGS:-}"   # extra flags for cachenode, split on blanks
PEER_ARGS="${PEER_ARGS:-}"             # extra flags for the peer, split on blanks
BENCH_ROUNDS="${BENCH_ROUNDS:-12}"
BENCH_CLIENTS="${BENCH_CLIENTS:-50}"
BENCH_TESTS="${BENCH_TESTS:-SET GET INCR MSET}"
BENCH_PIPELINES="${BENCH_PIPELINES:-1 16}"
BENCH_KEYSPACE="${BENCH_KEYSPACE:-100000}"   # redis-benchmark -r
BENCH_DATASIZE="${BENCH_DATASIZE:-16}"       # redis-benchmark -d
BENCH_MAXMEMORY="${BENCH_MAXMEMORY-2gb}"     # passed to both; empty = not passed
BENCH_PHASES="${BENCH_PHASES:-memory throughput}"
MEM_KEYS_GIVEN="${MEM_KEYS:+1}"
MEM_KEYS="${MEM_KEYS:-1000000}"
SERVER_CPUS="${SERVER_CPUS:-}"   # taskset -c list for both servers; empty = no pinning
CLIENT_CPUS="${CLIENT_CPUS:-}"   # taskset -c list for redis-benchmark/redis-cli
START_TIMEOUT="${START_TIMEOUT:-20}"        # seconds to wait for PING
CLIENT_TIMEOUT="${CLIENT_TIMEOUT:-300}"     # seconds one client run may take
CHECK_TOLERANCE="${CHECK_TOLERANCE:-0}"     # --check slack, e.g. 0.03 = 3 %
CHECK=0
QUICK=0

usage() {
  cat <<EOF
usage: ${0##*/} [--check] [--quick] [--peer PATH] [--cachenode PATH]

Benchmarks cachenode against redis-server in one run; see tests/bench/README.md.
  --check           exit 1 if a SET/GET throughput ratio < 1.0 or the RSS/key
                    ratio > 1.0 (cachenode/peer; CHECK_TOLERANCE loosens both)
  --quick           a smoke run: a tenth of the requests and of the keys
  --peer PATH       the reference server (env PEER, default redis-server)
  --cachenode PATH  the engine under test (env CACHENODE,
                    default <repo>/build/bin/cachenode)
Environment: BENCH_ROUNDS BENCH_CLIENTS BENCH_TESTS BENCH_PIPELINES
  BENCH_N_P<k> BENCH_N_<TEST>_P<k> BENCH_KEYSPACE BENCH_DATASIZE BENCH_MAXMEMORY
  BENCH_PHASES MEM_KEYS SERVER_CPUS CLIENT_CPUS CACHENODE_ARGS PEER_ARGS
  START_TIMEOUT CLIENT_TIMEOUT CHECK_TOLERANCE
EOF
}

log() { printf '%s\n' "$*" >&2; }
die() { log "engine-vs-redis: $*"; exit 2; }

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --check) CHECK=1 ;;
      --quick) QUICK=1 ;;
      --peer) [ $# -ge 2 ] || die "--peer needs a path"; PEER="$2"; shift ;;
      --peer=*) PEER="${1#*=}" ;;
      --cachenode) [ $# -ge 2 ] || die "--cachenode needs a path"; CACHENODE="$2"; shift ;;
      --cachenode=*) CACHENODE="${1#*=}" ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
  done
}

require_uint() { # NAME VALUE
  [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, got '$2'"
}

# Absolute path of an executable given as a path or as a name on PATH.
resolve_binary() { # WHAT SPEC
  local what="$1" spec="$2" path
  if [[ "$spec" == */* ]]; then
    path="$spec"
  else
    path="$(command -v -- "$spec" || true)"
  fi
  if [ -z "$path" ] || [ ! -x "$path" ] || [ -d "$path" ]; then
    die "$what '$spec' not found or not executable${3:+ ($3)}"
  fi
  (cd "$(dirname "$path")" && printf '%s/%s\n' "$(pwd)" "$(basename "$path")")
}

# How many requests for TEST at pipeline P: BENCH_N_<TEST>_P<P>, else
# BENCH_N_P<P>, else the built-in default (MSET writes 10 keys a request, so
# it gets fewer requests to keep the run time in bounds).
requests_for() { # TEST P
  local test="$1" p="$2" var n
  var="BENCH_N_${test}_P${p}"
  if [ -n "${!var:-}" ]; then n="${!var}"
  else
    var="BENCH_N_P${p}"
    if [ -n "${!var:-}" ]; then n="${!var}"
    elif [ "$test" = MSET ]; then
      if [ "$p" -le 1 ]; then n=25000; else n=40000; fi
      [ "$QUICK" -eq 0 ] || n=$((n / 10))
    else
      if [ "$p" -le 1 ]; then n=50000; else n=200000; fi
      [ "$QUICK" -eq 0 ] || n=$((n / 10))
    fi
  fi
  require_uint "$var" "$n"
  printf '%s\n' "$n"
}

# ----------------------------------------------------------------- helpers --
CLIENT_PREFIX=()
SERVER_PREFIX=()
TMP=""
declare -A SRV_PID=() SRV_PORT=() SRV_LOG=() SRV_LABEL=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local name
  for name in "${!SRV_PID[@]}"; do stop_server "$name"; done
  if [ -n "$TMP" ] && [ -d "$TMP" ]; then rm -rf -- "$TMP"; fi
  exit "$rc"
}

# Two distinct free TCP ports on 127.0.0.1 (held open together while chosen).
free_ports() {
  if command -v python3 >/dev/null 2>&1; then
    python3 - <<'PY'
import socket
socks = []
for _ in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
  else
    local used port ports=()
    used="$(ss -Htan | awk '{n=split($4,a,":"); print a[n]}' | sort -u)"
    while [ "${#ports[@]}" -lt 2 ]; do
      port=$((20000 + RANDOM % 20000))
      grep -qx "$port" <<<"$used" && continue
      [ "${#ports[@]}" -eq 1 ] && [ "${ports[0]}" = "$port" ] && continue
      ports+=("$port")
    done
    printf '%s %s\n' "${ports[@]}"
  fi
}

cli() { # NAME ARGS... : one redis-cli command against server NAME, 5 s cap
  local name="$1"; shift
  timeout 5 redis-cli -h 127.0.0.1 -p "${SRV_PORT[$name]}" "$@"
}

# start_server NAME LABEL BINARY PORT ARGS... ; waits for PING with a deadline.
start_server() {
  local name="$1" label="$2" bin="$3" port="$4"; shift 4
  local dir="${TMP}/${name}" pid deadline
  mkdir -p "$dir"
  SRV_LOG[$name]="${TMP}/${name}.log"
  SRV_PORT[$name]="$port"
  SRV_LABEL[$name]="$label"
  "${SERVER_PREFIX[@]}" "$bin" --port "$port" --bind 127.0.0.1 --dir "$dir" "$@" \
    >"${SRV_LOG[$name]}" 2>&1 </dev/null &
  pid=$!
  SRV_PID[$name]="$pid"
  deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "engine-vs-redis: $label ($bin) exited during startup; its log:"
      tail -n 20 "${SRV_LOG[$name]}" >&2 || true
      unset 'SRV_PID[$name]'
      exit 2
    fi
    [ "$(cli "$name" PING 2>/dev/null || true)" = PONG ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "engine-vs-redis: $label did not answer PING on port $port within ${START_TIMEOUT}s; its log:"
      tail -n 20 "${SRV_LOG[$name]}" >&2 || true
      exit 2
    fi
    sleep 0.05
  done
  log "started $label pid $pid port $port"
}

stop_server() { # NAME
  local name="$1" pid="${SRV_PID[$1]:-}" deadline
  [ -n "$pid" ] || return 0
  unset 'SRV_PID[$name]'
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# run_client NAME IN OUT ERR CMD... : runs a client (redis-benchmark,
# redis-cli) against server NAME with the client pinning, stdin from IN and
# output to OUT/ERR; returns its exit status. The client is stopped after
# CLIENT_TIMEOUT seconds, and at once if the server dies (redis-benchmark
# would otherwise retry a dead server forever), in which case the run ends.
run_client() {
  local name="$1" in="$2" out="$3" err="$4"; shift 4
  local cpid wpid done_pid="" rc=0
  assert_alive "$name"
  "${CLIENT_PREFIX[@]}" timeout "$CLIENT_TIMEOUT" "$@" <"$in" >"$out" 2>"$err" &
  cpid=$!
  tail --pid="${SRV_PID[$name]}" -s 0.2 -f /dev/null &
  wpid=$!
  wait -n -p done_pid "$cpid" "$wpid" || true
  if [ "$done_pid" != "$cpid" ]; then   # the server went away first
    # timeout leads its own process group; end the client with it.
    kill -TERM -- "-$cpid" 2>/dev/null || kill -TERM "$cpid" 2>/dev/null || true
    wait "$cpid" 2>/dev/null || true
    assert_alive "$name"
  fi
  kill "$wpid" 2>/dev/null || true
  wait "$wpid" 2>/dev/null || true
  wait "$cpid" 2>/dev/null || rc=$?
  [ "$rc" -ne 124 ] || log "warning: $1 against ${SRV_LABEL[$name]} timed out after ${CLIENT_TIMEOUT}s"
  assert_alive "$name"
  return "$rc"
}

assert_alive() { # NAME
  local name="$1"
  if ! kill -0 "${SRV_PID[$name]}" 2>/dev/null; then
    log "engine-vs-redis: ${SRV_LABEL[$name]} (pid ${SRV_PID[$name]}) died; its log:"
    tail -n 20 "${SRV_LOG[$name]}" >&2 || true
    unset 'SRV_PID[$name]'
    exit 2
  fi
}

# Both servers, fresh, with persistence off where we know how to say it.
start_pair() {
  local ports peer_port node_port
  ports="$(free_ports)"
  read -r peer_port node_port <<<"$ports"
  start_server peer "$PEER_LABEL" "$PEER_BIN" "$peer_port" "${PEER_FLAGS[@]}"
  start_server node cachenode "$NODE_BIN" "$node_port" "${NODE_FLAGS[@]}"
}

stop_pair() { stop_server peer; stop_server node; }

rss_kb() { # NAME -> VmRSS in kB
  awk '$1 == "VmRSS:" {print $2}' "/proc/${SRV_PID[$1]}/status"
}

used_memory() { # NAME -> INFO used_memory in bytes, or empty
  { cli "$1" INFO memory 2>/dev/null || true; } \
    | tr -d '\r' | awk -F: '$1 == "used_memory" && $2 ~ /^[0-9]+$/ {print $2}'
}

median() { # numbers on stdin -> median, or empty if none
  sort -g | awk '{a[NR] = $1}
    END { if (NR == 0) exit
          if (NR % 2) printf "%.2f\n", a[(NR + 1) / 2]
          else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

ratio() { # A B -> A/B with 2 decimals, or n/a
  if [ -z "$1" ] || [ -z "$2" ]; then echo n/a; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'
}

xr() { # RATIO -> "1.05x", or n/a
  if [ "$1" = n/a ]; then echo n/a; else echo "${1}x"; fi
}

fmt_num() { # N DECIMALS -> formatted, or n/a
  if [ -z "$1" ]; then echo n/a; else printf "%.${2}f" "$1"; fi
}

# ----------------------------------------------------------------- memory --
declare -A MEM=()   # MEM[name|rss] MEM[name|used] bytes per key

load_keys() { # NAME RESPFILE [COMMANDS KEYS]: COMMANDS replies and KEYS keys expected
  local name="$1" file="$2" label="${SRV_LABEL[$1]}"
  local want_replies="${3:-$MEM_KEYS}" want_keys="${4:-$MEM_KEYS}"
  local rss0 rss1 um0 um1 out errors replies dbsize
  rss0="$(rss_kb "$name")"
  um0="$(used_memory "$name")"
  run_client "$name" "$file" "${TMP}/pipe.out" "${TMP}/pipe.err" \
      redis-cli -h 127.0.0.1 -p "${SRV_PORT[$name]}" --pipe \
    || log "warning: redis-cli --pipe into $label exited non-zero"
  out="$(cat "${TMP}/pipe.out" "${TMP}/pipe.err")"
  errors="$(sed -n 's/^errors: \([0-9]*\), replies: \([0-9]*\).*/\1/p' <<<"$out" | tail -n1)"
  replies="$(sed -n 's/^errors: \([0-9]*\), replies: \([0-9]*\).*/\2/p' <<<"$out" | tail -n1)"
  if [ "${errors:-x}" != 0 ] || [ "${replies:-x}" != "$want_replies" ]; then
    log "warning: loading $label: redis-cli --pipe said: $(tr '\n' ' ' <<<"$out")"
  fi
  dbsize="$({ cli "$name" DBSIZE 2>/dev/null || true; } | tr -d '\r')"
  if [ "$dbsize" != "$want_keys" ]; then
    log "warning: $label holds '${dbsize}' keys after loading, expected $want_keys"
    [[ "$dbsize" =~ ^[0-9]+$ ]] && [ "$dbsize" -lt "$want_keys" ] \
      && log "warning: $label lost keys; its per-key numbers are not comparable"
  fi
  rss1="$(rss_kb "$name")"
  um1="$(used_memory "$name")"
  MEM[$name|rss]="$(awk -v a="$rss0" -v b="$rss1" -v n="$want_keys" \
                     'BEGIN { printf "%.2f", (b - a) * 1024 / n }')"
  MEM[$name|rss_total]="$rss1"
  if [ -n "$um0" ] && [ -n "$um1" ]; then
    MEM[$name|used]="$(awk -v a="$um0" -v b="$um1" -v n="$want_keys" \
                        'BEGIN { printf "%.2f", (b - a) / n }')"
  else
    MEM[$name|used]=""
  fi
  log "memory: $label RSS ${rss0} kB -> ${rss1} kB, used_memory ${um0:-n/a} -> ${um1:-n/a}"
}

phase_memory() {
  local file="${TMP}/load.resp"
  log "memory: generating $MEM_KEYS SETs (16-byte keys, 16-byte values)"
  awk -v n="$MEM_KEYS" 'BEGIN {
    for (i = 0; i < n; i++)
      printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$16\r\nval:%012d\r\n", i, i
  }' >"$file"
  start_pair
  load_keys peer "$file"
  load_keys node "$file"
  stop_pair
  rm -f -- "$file"
  MEM_DONE=1
}

# ------------------------------------------------------ collections memory --
# The issue's datasets: name, commands, keys, and an awk program that writes
# the RESP commands (one per key, or one per element for the big ones).
COLL_SETS="${COLL_SETS:-hash10 zset20 intset1m list1m}"
declare -A COLL=()     # COLL[set|rss_peer] COLL[set|rss_node] bytes per key
coll_spec() { # SET: sets COLL_CMDS, COLL_KEYS (replies and keys expected), COLL_GEN, COLL_N
  local n_small=100000 n_big=1000000
  [ "$QUICK" -eq 0 ] || { n_small=10000; n_big=100000; }
  case "$1" in
    hash10) COLL_CMDS=$n_small COLL_KEYS=$n_small
      COLL_GEN='BEGIN { for (i = 0; i < N; i++) { printf "*22\r\n$4\r\nHSET\r\n$14\r\nsession:%06d\r\n", i
                for (f = 0; f < 10; f++) printf "$6\r\nfield%d\r\n$8\r\nv%07d\r\n", f, i } }'
      COLL_N=$n_small ;;
    zset20) COLL_CMDS=$n_small COLL_KEYS=$n_small
      COLL_GEN='BEGIN { for (i = 0; i < N; i++) { printf "*42\r\n$4\r\nZADD\r\n$12\r\nboard:%06d\r\n", i
                for (m = 0; m < 20; m++) { s = sprintf("%d", (i * 7 + m * 13) % 100000)
                  printf "$%d\r\n%s\r\n$9\r\nplayer:%02d\r\n", length(s), s, m } } }'
      COLL_N=$n_small ;;
    intset1m) COLL_CMDS=$((n_big / 1000)) COLL_KEYS=1
      COLL_GEN='BEGIN { for (b = 0; b < N / 1000; b++) { printf "*1002\r\n$4\r\nSADD\r\n$4\r\nints\r\n"
                for (i = b * 1000; i < (b + 1) * 1000; i++) { s = sprintf("%d", i); printf "$%d\r\n%s\r\n", length(s), s } } }'
      COLL_N=$n_big ;;
    list1m) COLL_CMDS=$((n_big / 1000)) COLL_KEYS=1
      COLL_GEN='BEGIN { for (b = 0; b < N / 1000; b++) { printf "*1002\r\n$5\r\nRPUSH\r\n$5\r\nqueue\r\n"
                for (i = b * 1000; i < (b + 1) * 1000; i++) printf "$10\r\njob:%06d\r\n", i } }'
      COLL_N=$n_big ;;
  esac
}

phase_collections() {
  local set file="${TMP}/coll.resp"
  for set in $COLL_SETS; do
    coll_spec "$set"
    log "collections: generating $set"
    awk -v N="$COLL_N" "$COLL_GEN" >"$file"
    start_pair
    load_keys peer "$file" "$COLL_CMDS" "$COLL_KEYS"
    load_keys node "$file" "$COLL_CMDS" "$COLL_KEYS"
    COLL[$set|peer_delta]="$(awk -v b="${MEM[peer|rss]}" -v k="$COLL_KEYS" 'BEGIN { printf "%.0f", b * k / 1024 }')"
    COLL[$set|node_delta]="$(awk -v b="${MEM[node|rss]}" -v k="$COLL_KEYS" 'BEGIN { printf "%.0f", b * k / 1024 }')"
    stop_pair
  done
  rm -f -- "$file"
  COLL_DONE=1
}

# ------------------------------------------------------------- throughput --
declare -A RPS=()      # RPS[name|TEST|P] = "r1 r2 r3 ..." requests/sec per round
declare -A PAIRED=()   # PAIRED[TEST|P]  = "q1 q2 q3 ..." cachenode/peer per round

# One redis-benchmark run; sets BENCH_RPS to requests/sec, empty on failure.
# Runs in the main shell (not in $(...)) so that assert_alive can end the run.
BENCH_RPS=""
bench_once() { # NAME TEST P N
  local name="$1" test="$2" p="$3" n="$4" out err rc=0 rps
  BENCH_RPS=""
  out="${TMP}/bench.out" err="${TMP}/bench.err"
  run_client "$name" /dev/null "$out" "$err" \
    redis-benchmark -h 127.0.0.1 -p "${SRV_PORT[$name]}" \
      -c "$BENCH_CLIENTS" -n "$n" -P "$p" -r "$BENCH_KEYSPACE" -d "$BENCH_DATASIZE" \
      -t "${test,,}" --csv || rc=$?
  rps="$(awk -F, -v t="$test" 'NR > 1 { gsub(/"/, ""); split($1, w, " ")
          if (w[1] == t && $2 ~ /^[0-9.]+$/) print $2 }' "$out" | tail -n1)"
  if [ "$rc" -ne 0 ] || grep -q 'Error from server' "$err" || [ -z "$rps" ]; then
    log "warning: $test -P$p against ${SRV_LABEL[$name]} failed (exit $rc):" \
        "$(grep -v 'Could not fetch server CONFIG' "$err" | head -n 3 | tr '\n' ' ')"
    return 0
  fi
  BENCH_RPS="$rps"
}

phase_throughput() {
  local round test p n first second name rps r
  start_pair
  for ((round = 1; round <= BENCH_ROUNDS; round++)); do
    # Alternate which server goes first so drift does not favour either.
    if ((round % 2)); then first=peer second=node; else first=node second=peer; fi
    for p in $BENCH_PIPELINES; do
      for test in $BENCH_TESTS; do
        n="$(requests_for "$test" "$p")"
        # The two runs of a round are back to back: their ratio cancels
        # slow drift in the machine's load, so it is the one we report.
        local -A this=()
        for name in "$first" "$second"; do
          bench_once "$name" "$test" "$p" "$n"
          rps="$BENCH_RPS"
          this[$name]="$rps"
          RPS[$name|$test|$p]="${RPS[$name|$test|$p]:-} ${rps}"
          log "round ${round}/${BENCH_ROUNDS}  $(printf '%-4s -P%-3s %-10s' "$test" "$p" "${SRV_LABEL[$name]}") $(fmt_num "$rps" 0) rps (-n $n)"
        done
        r="$(ratio "${this[node]}" "${this[peer]}")"
        [ "$r" = n/a ] || PAIRED[$test|$p]="${PAIRED[$test|$p]:-} $r"
      done
    done
  done
  stop_pair
  THROUGHPUT_DONE=1
}

# ----------------------------------------------------------------- report --
report() {
  local test p pr nr r spread failures=() ratios=() worst="" worst_name="" line
  echo
  echo "== throughput: median requests/sec of ${BENCH_ROUNDS} rounds; ratio = median over rounds of cachenode/${PEER_LABEL} (higher is better)"
  if [ "$THROUGHPUT_DONE" -eq 1 ]; then
    for p in $BENCH_PIPELINES; do
      for test in $BENCH_TESTS; do
        pr="$(tr ' ' '\n' <<<"${RPS[peer|$test|$p]:-}" | grep . | median || true)"
        nr="$(tr ' ' '\n' <<<"${RPS[node|$test|$p]:-}" | grep . | median || true)"
        r="$(tr ' ' '\n' <<<"${PAIRED[$test|$p]:-}" | grep . | median || true)"
        spread="$(tr ' ' '\n' <<<"${PAIRED[$test|$p]:-}" | grep . | sort -g \
                  | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%.2f-%.2f", lo, hi }')"
        r="$(fmt_num "$r" 2)"
        printf '%-4s -P%-3s  %s %9s rps   cachenode %9s rps   ratio %s   (rounds %s)\n' \
          "$test" "$p" "$PEER_LABEL" "$(fmt_num "$pr" 0)" "$(fmt_num "$nr" 0)" "$(xr "$r")" "${spread:-n/a}"
        if [ "$r" != n/a ]; then
          ratios+=("$r")
          if [ -z "$worst" ] || awk -v a="$r" -v b="$worst" 'BEGIN { exit !(a < b) }'; then
            worst="$r" worst_name="$test -P$p"
          fi
        fi
        if [ "$CHECK" -eq 1 ] && { [ "$test" = SET ] || [ "$test" = GET ]; }; then
          if [ "$r" = n/a ]; then failures+=("$test -P$p: not measured")
          elif awk -v a="$r" -v t="$CHECK_TOLERANCE" 'BEGIN { exit !(a < 1.0 - t) }'; then
            failures+=("$test -P$p: throughput ratio ${r}x < 1.00")
          fi
        fi
      done
    done
  else
    echo "(skipped)"
  fi

  local prss nrss pum num mr
  echo
  echo "== memory: ${MEM_KEYS} keys, 16-byte keys and values (bytes per key, ratio = cachenode/${PEER_LABEL}, lower is better)"
  if [ "$MEM_DONE" -eq 1 ]; then
    prss="${MEM[peer|rss]}" nrss="${MEM[node|rss]}"
    mr="$(ratio "$nrss" "$prss")"
    printf 'RSS/key          %s %7s B   cachenode %7s B   ratio %s   (RSS after load: %s %s kB, cachenode %s kB)\n' \
      "$PEER_LABEL" "$(fmt_num "$prss" 1)" "$(fmt_num "$nrss" 1)" "$(xr "$mr")" \
      "$PEER_LABEL" "${MEM[peer|rss_total]}" "${MEM[node|rss_total]}"
    pum="${MEM[peer|used]}" num="${MEM[node|used]}"
    printf 'used_memory/key  %s %7s B   cachenode %7s B   ratio %s\n' \
      "$PEER_LABEL" "$(fmt_num "$pum" 1)" "$(fmt_num "$num" 1)" "$(xr "$(ratio "$num" "$pum")")"
    if [ "$CHECK" -eq 1 ]; then
      if [ "$mr" = n/a ]; then failures+=("memory: RSS per key not measured")
      elif awk -v a="$mr" -v t="$CHECK_TOLERANCE" 'BEGIN { exit !(a > 1.0 + t) }'; then
        failures+=("memory: RSS/key ratio ${mr}x > 1.00")
      fi
    fi
  else
    echo "(skipped)"
  fi

  echo
  echo "== collections: resident memory the dataset added (kB; ratio = cachenode/${PEER_LABEL}, target <= 0.80)"
  if [ "${COLL_DONE:-0}" -eq 1 ]; then
    local set cr
    for set in $COLL_SETS; do
      cr="$(ratio "${COLL[$set|node_delta]}" "${COLL[$set|peer_delta]}")"
      printf '%-9s  %s %9s kB   cachenode %9s kB   ratio %s\n' "$set" "$PEER_LABEL" \
        "${COLL[$set|peer_delta]}" "${COLL[$set|node_delta]}" "$(xr "$cr")"
    done
  else
    echo "(skipped)"
  fi

  echo
  echo "== summary"
  echo "peer:      $PEER_BIN ($PEER_VERSION)"
  echo "cachenode: $NODE_BIN"
  if [ "${#ratios[@]}" -gt 0 ]; then
    line="$(printf '%s\n' "${ratios[@]}" | awk '{ s += log($1) } END { printf "%.2f", exp(s / NR) }')"
    echo "throughput: geometric mean ratio ${line}x over ${#ratios[@]} tests; lowest ${worst}x (${worst_name})"
  fi
  if [ "$MEM_DONE" -eq 1 ]; then echo "memory:     RSS/key ratio $(xr "$mr")"; fi
  echo "elapsed:    ${SECONDS}s; load average before the run ${LOAD_AT_START} on $(nproc) CPUs"
  if [ "$CHECK" -eq 1 ]; then
    if [ "${#failures[@]}" -eq 0 ]; then
      echo "check:      PASS (tolerance ${CHECK_TOLERANCE})"
    else
      echo "check:      FAIL (tolerance ${CHECK_TOLERANCE})"
      printf '  - %s\n' "${failures[@]}"
      return 1
    fi
  fi
  return 0
}

# ------------------------------------------------------------------- main --
main() {
  parse_args "$@"
  require_uint BENCH_ROUNDS "$BENCH_ROUNDS"
  require_uint BENCH_CLIENTS "$BENCH_CLIENTS"
  require_uint BENCH_KEYSPACE "$BENCH_KEYSPACE"
  require_uint BENCH_DATASIZE "$BENCH_DATASIZE"
  require_uint START_TIMEOUT "$START_TIMEOUT"
  require_uint CLIENT_TIMEOUT "$CLIENT_TIMEOUT"
  [[ "$CHECK_TOLERANCE" =~ ^[0-9]*\.?[0-9]+$ ]] || die "CHECK_TOLERANCE must be a number"
  if [ "$QUICK" -eq 1 ] && [ -z "$MEM_KEYS_GIVEN" ]; then MEM_KEYS=$((MEM_KEYS / 10)); fi
  require_uint MEM_KEYS "$MEM_KEYS"
  local t p
  for t in $BENCH_TESTS; do
    case "$t" in
      SET|GET|INCR|MSET|LPUSH|RPUSH|LPOP|RPOP|SADD|HSET|SPOP|ZADD|ZPOPMIN) ;;
      LRANGE_100|LRANGE_300|LRANGE_500|LRANGE_600) ;;
      *) die "BENCH_TESTS: unsupported test '$t'" ;;
    esac
    for p in $BENCH_PIPELINES; do require_uint "pipeline" "$p"; requests_for "$t" "$p" >/dev/null; done
  done
  for t in $BENCH_PHASES; do
    case "$t" in memory|throughput|collections) ;; *) die "BENCH_PHASES: unknown phase '$t'" ;; esac
  done

  local tool
  for tool in redis-benchmark redis-cli awk timeout tail; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (Debian: apt-get install redis-tools coreutils mawk)"
  done
  PEER_BIN="$(resolve_binary peer "$PEER" "Debian: apt-get install redis-server")"
  NODE_BIN="$(resolve_binary cachenode "$CACHENODE" "build it: cmake -S . -B build && cmake --build build -j")"
  PEER_LABEL="$(basename "$PEER_BIN")"; PEER_LABEL="${PEER_LABEL%-server}"
  PEER_VERSION="$("$PEER_BIN" --version 2>/dev/null | head -n1 || true)"

  if [ -n "$SERVER_CPUS" ]; then
    command -v taskset >/dev/null 2>&1 || die "SERVER_CPUS needs taskset (util-linux)"
    SERVER_PREFIX=(taskset -c "$SERVER_CPUS")
  fi
  if [ -n "$CLIENT_CPUS" ]; then
    command -v taskset >/dev/null 2>&1 || die "CLIENT_CPUS needs taskset (util-linux)"
    CLIENT_PREFIX=(taskset -c "$CLIENT_CPUS")
  fi

  # The peer runs without persistence. A redis-server standing in for
  # cachenode (the self-test) gets the same flags, so the two are identical.
  local -a extra_peer extra_node
  read -r -a extra_peer <<<"$PEER_ARGS"
  read -r -a extra_node <<<"$CACHENODE_ARGS"
  PEER_FLAGS=(--save "" --appendonly no)
  NODE_FLAGS=()
  case "$(basename "$(readlink -f "$NODE_BIN")")" in
    redis-server*) NODE_FLAGS+=(--save "" --appendonly no) ;;
  esac
  if [ -n "$BENCH_MAXMEMORY" ]; then
    PEER_FLAGS+=(--maxmemory "$BENCH_MAXMEMORY")
    NODE_FLAGS+=(--maxmemory "$BENCH_MAXMEMORY")
  fi
  PEER_FLAGS+=("${extra_peer[@]}")
  NODE_FLAGS+=("${extra_node[@]}")

  TMP="$(mktemp -d "${TMPDIR:-/tmp}/engine-vs-redis.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  log "engine-vs-redis: peer $PEER_BIN, cachenode $NODE_BIN, $(nproc) CPUs," \
      "rounds $BENCH_ROUNDS, clients $BENCH_CLIENTS, pipelines '$BENCH_PIPELINES'," \
      "server cpus '${SERVER_CPUS:-any}', client cpus '${CLIENT_CPUS:-any}'"
  LOAD_AT_START="$(cut -d' ' -f1 /proc/loadavg)"
  if awk -v l="$LOAD_AT_START" -v c="$(nproc)" 'BEGIN { exit !(l > 0.25 * c) }'; then
    log "warning: load average is ${LOAD_AT_START} on $(nproc) CPUs before starting;" \
        "other work on this machine will make the numbers noisy"
  fi
  MEM_DONE=0 THROUGHPUT_DONE=0
  for t in $BENCH_PHASES; do
    "phase_$t"
  done
  report || exit 1
}

main "$@"
