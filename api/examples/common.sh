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
