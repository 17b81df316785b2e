#!/usr/bin/env bash
# deploy/quickstart.sh [up|status|down]: a demo fleet on one machine.
#
# Owns the quickstart fleet: one cachefleet-controller on 127.0.0.1 and three
# cachefleet-agents on 127.0.0.2, 127.0.0.3 and 127.0.0.4 in zones az-a, az-b
# and az-c, plus a demo cluster (1 primary, 2 replicas). Everything it makes
# lives under .quickstart/ (git-ignored): the database and tokens, the agents'
# data dirs, logs/, run/*.pid and the ports it chose (state).
#
#   up      (default) install what is missing, build, start what is not
#           running, create the demo cluster, wait until it is available and
#           print how to use it. Running it again starts nothing twice.
#   status  the processes and the clusters.
#   down    stop every process it started, by pid (controller, agents, and the
#           cache nodes, which outlive agents by design), and forget the
#           fleet's state; logs stay in .quickstart/logs.
#
# Environment: QUICKSTART_DIR (default REPO/.quickstart), QUICKSTART_BIN_DIR
# (default REPO/build/bin), QUICKSTART_SKIP_BUILD=1 (no install, no build: the
# binaries in QUICKSTART_BIN_DIR are used as they are), QUICKSTART_CLUSTER
# (default demo), QUICKSTART_TIMEOUT (seconds per wait, default 60).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
qs_dir=${QUICKSTART_DIR:-$root/.quickstart}
bin_dir=${QUICKSTART_BIN_DIR:-$root/build/bin}
skip_build=${QUICKSTART_SKIP_BUILD:-0}
cluster=${QUICKSTART_CLUSTER:-demo}
timeout=${QUICKSTART_TIMEOUT:-60}

# host id, address, zone, preferred agent port, node port range
agents=(
  "h1 127.0.0.2 az-a 8701 7000-7099"
  "h2 127.0.0.3 az-b 8701 7000-7099"
  "h3 127.0.0.4 az-c 8701 7000-7099"
)
controller_addr=127.0.0.1

log() { printf 'quickstart: %s\n' "$*"; }
die() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }

# ---- paths and recorded state -------------------------------------------------

init_paths() {
  mkdir -p "$qs_dir"
  chmod 700 "$qs_dir"   # tokens, the database (cluster auth tokens) and the nodes' data
  qs_dir=$(cd "$qs_dir" && pwd)
  run_dir=$qs_dir/run
  logs_dir=$qs_dir/logs
  state_file=$qs_dir/state
  env_file=$qs_dir/env
  db=$qs_dir/controller.db
  api_token_file=$qs_dir/api.token
  agent_token_file=$qs_dir/agent.token
}

# state_get KEY: the recorded value (empty when none).
state_get() {
  [ -f "$state_file" ] || return 0
  awk -F= -v k="$1" '$1 == k { v = substr($0, length(k) + 2) } END { if (v != "") print v }' "$state_file"
}

state_set() {
  local key=$1 value=$2 tmp
  tmp=$(mktemp "$qs_dir/.state.XXXXXX")
  if [ -f "$state_file" ]; then awk -F= -v k="$key" '$1 != k' "$state_file" >"$tmp"; fi
  printf '%s=%s\n' "$key" "$value" >>"$tmp"
  mv "$tmp" "$state_file"
}

# ---- processes ----------------------------------------------------------------

# is_program PID NAME: PID is a live (not zombie) process running program NAME.
is_program() {
  local pid=$1 name=$2 stat argv0
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  case "${stat:0:1}" in Z|X) return 1 ;; esac
  argv0=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1) || return 1
  [ "$(basename -- "$argv0")" = "$name" ]
}

# running_pid NAME PROGRAM: prints the pid from run/NAME.pid if it still runs PROGRAM.
running_pid() {
  local file=$run_dir/$1.pid pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  is_program "$pid" "$2" || return 1
  printf '%s\n' "$pid"
}

# launch NAME PROGRAM ARGS...: starts PROGRAM in its own session (a Ctrl-C
# here does not reach it), output to logs/NAME.log, pid to run/NAME.pid.
launch() {
  local name=$1 program=$2
  shift 2
  setsid "$bin_dir/$program" "$@" </dev/null >>"$logs_dir/$name.log" 2>&1 &
  printf '%s\n' "$!" >"$run_dir/$name.pid"
}

# stop_pid PID PROGRAM: SIGTERM, then SIGKILL after a deadline; only if PID is still PROGRAM.
stop_pid() {
  local pid=$1 program=$2 deadline
  is_program "$pid" "$program" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$((SECONDS + 15))
  while is_program "$pid" "$program" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
  if is_program "$pid" "$program"; then
    log "$program (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 5))
    while is_program "$pid" "$program" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
  fi
  return 0
}

# wait_for WHAT SECONDS COMMAND...: polls COMMAND until it succeeds or the deadline passes.
wait_for() {
  local what=$1 secs=$2 deadline
  shift 2
  deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "timed out after ${secs}s waiting for $what"
      return 1
    fi
    sleep 0.1
  done
}

# port_free ADDR PORT: nothing listens there (PORT 0: prints a free port).
port_free() {
  python3 - "$1" "$2" <<'EOF'
import socket, sys
s = socket.socket()
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(1)
print(s.getsockname()[1])
EOF
}

# pick_port ADDR PREFERRED: PREFERRED if free, else any free port.
pick_port() {
  port_free "$1" "$2" 2>/dev/null || port_free "$1" 0
}

# ---- HTTP ---------------------------------------------------------------------

controller_url() { printf 'http://%s:%s' "$controller_addr" "$(state_get controller_port)"; }

# http_call TOKEN_FILE METHOD URL [BODY] [curl args...]: prints the body then a
# last line with the HTTP status. The token goes through a header read from a
# process substitution, so it never shows in ps.
http_call() {
  local token_file=$1 method=$2 url=$3 body=${4:-}
  shift $(($# < 4 ? $# : 4))
  local args=(-sS -m 10 -X "$method" -w '\n%{http_code}' "$url")
  if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' --data "$body"); fi
  curl "${args[@]}" -H @<(printf 'Authorization: Bearer %s\n' "$(cat "$token_file")") "$@"
}

# api METHOD PATH [BODY] [curl args...]: the controller API; prints the body,
# fails when the status is not 2xx.
api() {
  local out code
  out=$(http_call "$api_token_file" "$1" "$(controller_url)$2" "${@:3}") || return 1
  code=${out##*$'\n'}
  printf '%s\n' "${out%$'\n'*}"
  [[ "$code" == 2* ]]
}

api_status() { # api_status PATH: just the HTTP status
  local out
  out=$(http_call "$api_token_file" GET "$(controller_url)$1") || { echo 000; return 0; }
  printf '%s\n' "${out##*$'\n'}"
}

healthy() { curl -fsS -m 2 -o /dev/null "$1/healthz"; }

# json EXPR < DOC: evaluates a Python expression over the parsed document `d`.
json() { python3 -c 'import json, sys; d = json.load(sys.stdin); r = eval(sys.argv[1]); print(r if r is not None else "")' "$1"; }

# ---- up -----------------------------------------------------------------------

install_and_build() {
  if [ "$skip_build" = 1 ]; then
    log "QUICKSTART_SKIP_BUILD=1: using the binaries in $bin_dir"
    return 0
  fi
  log "installing what is missing (deploy/install-deps.sh)"
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    log "not root and no sudo: if packages are missing, run deploy/install-deps.sh as root"
  fi
  bash "$root/deploy/install-deps.sh"
  log "building (cmake, Release) into $root/build"
  cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build" -j"$(nproc 2>/dev/null || echo 2)" >"$qs_dir/build.log" 2>&1 ||
    { tail -n 40 "$qs_dir/build.log" >&2; die "build failed (full log: $qs_dir/build.log)"; }
  bin_dir=$root/build/bin
}

check_binaries() {
  local b
  for b in cachenode cachefleet-agent cachefleet-controller; do
    [ -x "$bin_dir/$b" ] || die "$bin_dir/$b is missing (build first, or set QUICKSTART_BIN_DIR)"
  done
  for b in curl python3; do
    command -v "$b" >/dev/null 2>&1 || die "$b is needed (deploy/install-deps.sh installs it)"
  done
}

controller_has_sentinel() { "$bin_dir/cachefleet-controller" --help 2>&1 | grep -q -- '--sentinel-listen'; }

# Nothing runs but an old fleet's state is there (a crash, a reboot): its
# nodes are gone, so it is cleared and the fleet starts fresh.
clear_stale_state() {
  local any=0 f
  for f in "$run_dir"/*.pid; do
    [ -e "$f" ] || continue
    case "$(basename "$f" .pid)" in
      controller) running_pid controller cachefleet-controller >/dev/null && any=1 ;;
      *) running_pid "$(basename "$f" .pid)" cachefleet-agent >/dev/null && any=1 ;;
    esac
  done
  if [ "$any" = 0 ] && [ -f "$state_file" ]; then
    log "no process of the previous fleet is running: clearing its state"
    forget_state
  fi
}

forget_state() {
  rm -rf "$qs_dir/agents" "$run_dir"
  rm -f "$db" "$db-wal" "$db-shm" "$db-journal" "$state_file" "$env_file" "$api_token_file" "$agent_token_file"
}

start_controller() {
  local pid port sentinel_port attempt args
  if pid=$(running_pid controller cachefleet-controller); then
    log "controller already running (pid $pid) on $(controller_url)"
    return 0
  fi
  for attempt in 1 2 3; do
    port=$(state_get controller_port)
    [ -n "$port" ] || port=$(pick_port "$controller_addr" 8700)
    state_set controller_port "$port"
    args=(--listen "$controller_addr:$port" --db "$db" --loglevel notice)
    if controller_has_sentinel; then
      sentinel_port=$(state_get sentinel_port)
      [ -n "$sentinel_port" ] || sentinel_port=$(pick_port "$controller_addr" 26379)
      state_set sentinel_port "$sentinel_port"
      args+=(--sentinel-listen "$controller_addr:$sentinel_port")
    fi
    launch controller cachefleet-controller "${args[@]}"
    pid=$(cat "$run_dir/controller.pid")
    if wait_for "the controller on $(controller_url)" 20 controller_ready "$pid"; then
      log "controller started (pid $pid) on $(controller_url)"
      return 0
    fi
    is_program "$pid" cachefleet-controller && { stop_pid "$pid" cachefleet-controller; break; }
    log "controller exited (attempt $attempt); its log says:"
    tail -n 5 "$logs_dir/controller.log" >&2 || true
    state_set controller_port ""   # maybe lost the port to someone else: pick again
    state_set sentinel_port ""
  done
  die "the controller did not start (log: $logs_dir/controller.log)"
}

controller_ready() { is_program "$1" cachefleet-controller && healthy "$(controller_url)"; }

agent_ready() { is_program "$1" cachefleet-agent && healthy "http://$2"; }

start_agent() {
  local host=$1 addr=$2 az=$3 preferred=$4 ports=$5 pid port attempt
  if pid=$(running_pid "agent-$host" cachefleet-agent); then
    log "agent $host already running (pid $pid) on $addr:$(state_get "agent_${host}_port")"
    return 0
  fi
  for attempt in 1 2 3; do
    port=$(state_get "agent_${host}_port")
    [ -n "$port" ] || port=$(pick_port "$addr" "$preferred")
    state_set "agent_${host}_port" "$port"
    launch "agent-$host" cachefleet-agent --listen "$addr:$port" --controller "$(controller_url)" \
      --host-id "$host" --az "$az" --data-dir "$qs_dir/agents/$host" --token-file "$agent_token_file" \
      --node-binary "$bin_dir/cachenode" --ports "$ports" --memory-mb 1024
    pid=$(cat "$run_dir/agent-$host.pid")
    if wait_for "agent $host on $addr:$port" 20 agent_ready "$pid" "$addr:$port"; then
      log "agent $host ($az) started (pid $pid) on $addr:$port"
      return 0
    fi
    is_program "$pid" cachefleet-agent && { stop_pid "$pid" cachefleet-agent; break; }
    log "agent $host exited (attempt $attempt); its log says:"
    tail -n 5 "$logs_dir/agent-$host.log" >&2 || true
    state_set "agent_${host}_port" ""
  done
  die "agent $host did not start (log: $logs_dir/agent-$host.log)"
}

hosts_up() {
  local n
  n=$(api GET /v1/hosts | json 'sum(1 for h in d["hosts"] if h["status"] == "up")') || return 1
  [ "$n" -ge "${#agents[@]}" ]
}

cluster_status() { api GET "/v1/clusters/$cluster" | json 'd["status"]'; }

cluster_available() { [ "$(cluster_status)" = available ]; }

create_cluster() {
  local code
  code=$(api_status "/v1/clusters/$cluster")
  if [ "$code" = 200 ]; then
    log "cluster $cluster exists ($(cluster_status))"
  elif [ "$code" = 404 ]; then
    log "creating cluster $cluster (1 primary, 2 replicas, 64 MB each, one per zone)"
    # a key per run: a fixed one would replay an old create for 24 h after a delete
    api POST /v1/clusters \
      "{\"name\":\"$cluster\",\"engine\":\"redis\",\"replicas\":2,\"node_memory_mb\":64,\"eviction_policy\":\"allkeys-lru\"}" \
      -H "Idempotency-Key: quickstart-$cluster-$(date -u +%s)-$$" >/dev/null || die "creating $cluster failed"
  else
    die "GET /v1/clusters/$cluster answered $code"
  fi
  local start=$SECONDS
  wait_for "cluster $cluster to be available" "$timeout" cluster_available ||
    die "cluster $cluster is $(cluster_status) (logs: $logs_dir)"
  log "cluster $cluster available (waited $((SECONDS - start))s)"
}

write_env() {
  local sentinel="" sp
  sp=$(state_get sentinel_port)
  [ -z "$sp" ] || sentinel="$controller_addr:$sp"
  {
    printf '# Written by deploy/quickstart.sh; load with: . %s\n' "$env_file"
    printf '# The token stays in its file (mode 0600); it is read when this is sourced.\n'
    printf 'export CACHEFLEET_URL=%q\n' "$(controller_url)"
    printf 'export CACHEFLEET_TOKEN_FILE=%q\n' "$api_token_file"
    # shellcheck disable=SC2016 # expanded when the file is sourced, not here
    printf 'export CACHEFLEET_TOKEN="$(cat %q)"\n' "$api_token_file"
    printf '# Sentinel discovery (SENTINEL get-master-addr-by-name); empty until the controller has --sentinel-listen\n'
    printf 'export CACHEFLEET_SENTINEL=%q\n' "$sentinel"
  } >"$env_file"
}

print_next_steps() {
  local url doc primary readers auth sp
  url=$(controller_url)
  doc=$(api GET "/v1/clusters/$cluster")
  primary=$(json 'd["endpoints"]["primary"]' <<<"$doc")
  readers=$(json '" ".join(d["endpoints"]["reader"])' <<<"$doc")
  auth="-H \"Authorization: Bearer \$(cat $api_token_file)\""
  sp=$(state_get sentinel_port)
  cat <<EOF

cachefleet quickstart is up.
  controller   $url  (logs in $logs_dir)
  cluster      $cluster: primary $primary, readers $readers
  API token    $api_token_file (mode 0600)
  settings     . $env_file   (CACHEFLEET_URL, CACHEFLEET_TOKEN, CACHEFLEET_SENTINEL; api/examples/*.sh use them)

Next:
  # list clusters, describe one, see the hosts and events
  curl -s $auth $url/v1/clusters
  curl -s $auth $url/v1/clusters/$cluster
  curl -s $auth $url/v1/hosts
  curl -s $auth "$url/v1/events?cluster=$cluster"
  # scale to 1 replica (or back to 2); resize memory live
  curl -s -X PATCH $auth -H 'Content-Type: application/json' -d '{"replicas":1}' $url/v1/clusters/$cluster
  curl -s -X PATCH $auth -H 'Content-Type: application/json' -d '{"node_memory_mb":128}' $url/v1/clusters/$cluster
  # planned failover of shard 0001$(controller_has_sentinel || printf ' (this controller does not have failover yet: issue 6)')
  curl -s -X POST $auth -H 'Content-Type: application/json' -d '{"shard":"0001"}' $url/v1/clusters/$cluster/failover
  # use the cluster
  redis-cli -h ${primary%:*} -p ${primary##*:} set hello world
  redis-cli -h ${primary%:*} -p ${primary##*:} get hello
EOF
  if [ -n "$sp" ]; then
    printf '  # ask Sentinel for the current primary (what Sentinel-aware clients do)\n'
    printf '  redis-cli -h %s -p %s SENTINEL get-master-addr-by-name %s\n' "$controller_addr" "$sp" "$cluster"
  fi
  cat <<EOF

  deploy/quickstart.sh status    # processes and clusters
  deploy/quickstart.sh down      # stop everything it started
EOF
}

cmd_up() {
  local started=$SECONDS a
  install_and_build
  check_binaries
  mkdir -p "$run_dir" "$logs_dir" "$qs_dir/agents"
  clear_stale_state
  mkdir -p "$run_dir" "$qs_dir/agents"
  start_controller
  [ -f "$agent_token_file" ] || die "the controller did not create $agent_token_file"
  for a in "${agents[@]}"; do
    # shellcheck disable=SC2086 # the fields are words
    start_agent $a
  done
  wait_for "${#agents[@]} hosts up" "$timeout" hosts_up || die "the agents did not register (logs: $logs_dir)"
  write_env
  create_cluster
  print_next_steps
  log "up in $((SECONDS - started))s"
}

# ---- status -------------------------------------------------------------------

cmd_status() {
  local all=0 pid a host addr az port
  printf '%-12s %-8s %-9s %s\n' PROCESS PID STATE LISTEN
  if pid=$(running_pid controller cachefleet-controller); then
    printf '%-12s %-8s %-9s %s\n' controller "$pid" running "$(controller_url)"
  else
    printf '%-12s %-8s %-9s %s\n' controller - stopped -
    all=1
  fi
  for a in "${agents[@]}"; do
    read -r host addr az _ _ <<<"$a"
    port=$(state_get "agent_${host}_port")
    if pid=$(running_pid "agent-$host" cachefleet-agent); then
      printf '%-12s %-8s %-9s %s\n' "agent-$host" "$pid" running "$addr:$port ($az)"
      http_call "$agent_token_file" GET "http://$addr:$port/v1/nodes" 2>/dev/null | sed '$d' |
        json '"\n".join("  node %-22s pid %-8s %-8s port %s health %s" % (n["id"], n.get("pid"), n.get("role"), n.get("port"), n.get("health")) for n in d["nodes"])' |
        sed '/^$/d' || true
    else
      printf '%-12s %-8s %-9s %s\n' "agent-$host" - stopped -
      all=1
    fi
  done
  if running_pid controller cachefleet-controller >/dev/null; then
    echo
    api GET /v1/clusters | json '"\n".join("cluster %s: %s, primary %s, readers %s" % (c["name"], c["status"], c["endpoints"].get("primary"), " ".join(c["endpoints"].get("reader", []))) for c in d["clusters"]) or "no clusters"'
  fi
  if [ "$all" -ne 0 ]; then
    echo
    echo "not everything is running: deploy/quickstart.sh up starts what is missing"
    return 3
  fi
}

# ---- down ---------------------------------------------------------------------

# node_pids: every cachenode pid the agents know of (their API while they
# run, their data dirs always).
node_pids() {
  local a host addr port f
  for a in "${agents[@]}"; do
    read -r host addr _ _ _ <<<"$a"
    port=$(state_get "agent_${host}_port")
    if [ -n "$port" ] && running_pid "agent-$host" cachefleet-agent >/dev/null; then
      http_call "$agent_token_file" GET "http://$addr:$port/v1/nodes" 2>/dev/null | sed '$d' |
        json '"\n".join(str(n["pid"]) for n in d["nodes"] if n.get("pid"))' 2>/dev/null || true
    fi
  done
  for f in "$qs_dir"/agents/*/nodes/*/pid; do
    [ -f "$f" ] && cat "$f"
  done
  for f in "$qs_dir"/agents/*/specs/*.json; do
    [ -f "$f" ] && json 'd.get("pid")' <"$f" 2>/dev/null
  done
  return 0
}

cmd_down() {
  local pids pid a host n=0
  pids=$(node_pids | grep -E '^[0-9]+$' | sort -un || true)
  # the controller first (it would react to nodes going), then the agents, then the nodes
  if pid=$(running_pid controller cachefleet-controller); then
    stop_pid "$pid" cachefleet-controller; log "stopped the controller (pid $pid)"; n=$((n + 1))
  fi
  for a in "${agents[@]}"; do
    read -r host _ _ _ _ <<<"$a"
    if pid=$(running_pid "agent-$host" cachefleet-agent); then
      stop_pid "$pid" cachefleet-agent; log "stopped agent $host (pid $pid)"; n=$((n + 1))
    fi
  done
  for pid in $pids; do
    if is_program "$pid" cachenode; then
      stop_pid "$pid" cachenode; log "stopped cachenode (pid $pid)"; n=$((n + 1))
    fi
  done
  forget_state
  log "down: $n processes stopped; logs kept in $logs_dir"
}

main() {
  local cmd=${1:-up}
  case "$cmd" in
    up|status|down) ;;
    -h|--help|help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
    *) die "usage: deploy/quickstart.sh [up|status|down]" ;;
  esac
  init_paths
  "cmd_$cmd"
}

main "$@"
