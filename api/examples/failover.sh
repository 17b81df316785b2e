#!/usr/bin/env bash
# failover.sh NAME [SHARD]: planned failover of a shard (default 0001): the
# primary stops taking writes, a replica catches up and is promoted, the old
# primary follows it; no acknowledged write is lost. Any shard of a
# cluster-mode cluster (0001, 0002, ...). Prints the shard's new primary.
here=$(dirname "$0"); . "$here/common.sh"
name=${1:?cluster name}; shard=${2:-0001}
# curl retries a failed call with the same Idempotency-Key (see common.sh).
key=$(idempotency_key "failover-$name-$shard")
op=$(cf POST "/v1/clusters/$name/failover" "{\"shard\":\"$shard\"}" -H "Idempotency-Key: $key" --retry 3 |
     python3 -c 'import json, sys; print(json.load(sys.stdin)["operation"]["id"])')
deadline=$(( SECONDS + 60 ))
while :; do
  status=$(cf GET "/v1/operations/$op" | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')
  case $status in
    succeeded) break ;;
    failed) echo "failover $op failed" >&2; cf GET "/v1/operations/$op" >&2; exit 1 ;;
  esac
  if [ $SECONDS -ge $deadline ]; then echo "timed out waiting for $op" >&2; exit 1; fi
  sleep 0.2
done
cf GET "/v1/clusters/$name" | python3 -c '
import json, sys
c, shard = json.load(sys.stdin), sys.argv[1]
primary = next(s["primary"] for s in c["shards"] if s["id"] == shard)
node = next(n for n in c["nodes"] if n["id"] == primary)
print("primary:", "%s:%s" % (node["address"], node["port"]), "(%s)" % primary)' "$shard"
