# common.sh: sourced by the examples. CACHEFLEET_URL (default
# http://127.0.0.1:8700) and CACHEFLEET_TOKEN (required: the controller's
# --token-file content) come from the environment; the token is passed to
# curl through a header file so it never shows in `ps`.
set -euo pipefail
: "${CACHEFLEET_URL:=http://127.0.0.1:8700}"
: "${CACHEFLEET_TOKEN:?set CACHEFLEET_TOKEN to the controller API token}"
auth_header=$(mktemp)
trap 'rm -f "$auth_header"' EXIT
chmod 600 "$auth_header"
printf 'Authorization: Bearer %s\n' "$CACHEFLEET_TOKEN" >"$auth_header"

# cf METHOD PATH [JSON] [extra curl args...]: prints the body, fails on >= 400.
cf() {
  local method=$1 path=$2 body=${3:-}
  shift $(( $# < 3 ? $# : 3 ))
  local args=(-sS --fail-with-body -X "$method" -H "@$auth_header" "$CACHEFLEET_URL$path")
  if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' --data "$body"); fi
  curl "${args[@]}" "$@"
  echo
}

# idempotency_key WHAT: a key for one change. The controller keeps a key for
# 24 h and answers a repeat of the same call with the first reply, so a call
# sent again after a timeout or a lost connection (curl --retry below) is not
# carried out twice. A fixed key would make a later, meant change a silent
# replay (`scale-replicas.sh demo 3`, then 2, then 3 again), so every run
# gets a new one: WHAT, the time and 64 random bits. To retry a run that
# died, give it the key it printed: CACHEFLEET_IDEMPOTENCY_KEY=... script ...
idempotency_key() {
  local key=${CACHEFLEET_IDEMPOTENCY_KEY:-}
  if [ -z "$key" ]; then
    key="$1-$(date -u +%Y%m%dT%H%M%SZ)-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  fi
  echo "Idempotency-Key: $key" >&2
  printf '%s' "$key"
}

# wait_status NAME STATUS [SECONDS]: polls until the cluster has STATUS.
wait_status() {
  local name=$1 want=$2 deadline=$(( SECONDS + ${3:-60} ))
  while [ $SECONDS -lt $deadline ]; do
    if cf GET "/v1/clusters/$name" |
       python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)["status"] != sys.argv[1])' "$want"; then
      return 0
    fi
    sleep 0.2
  done
  echo "timed out waiting for $name to be $want" >&2
  return 1
}
