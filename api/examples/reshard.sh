#!/usr/bin/env bash
# reshard.sh NAME SHARDS: online resharding of a cluster-mode cluster to
# SHARDS shards (PATCH {"shards": N}); "rebalance" instead of a number
# evens the slots out over the shards it has (POST .../rebalance). Whole
# slot ranges move while clients keep running; prints the operation's
# progress (slots and keys moved, bytes per second) until it is done, then
# the shards. Clients follow the moves through MOVED.
# curl retries a failed call with the same Idempotency-Key (see common.sh).
here=$(dirname "$0"); . "$here/common.sh"
name=${1:?cluster name}; shards=${2:?shard count or rebalance}
key=$(idempotency_key "reshard-$name-$shards")
if [ "$shards" = rebalance ]; then
  reply=$(cf POST "/v1/clusters/$name/rebalance" "" -H "Idempotency-Key: $key" --retry 3)
else
  reply=$(cf PATCH "/v1/clusters/$name" "{\"shards\":$shards}" -H "Idempotency-Key: $key" --retry 3)
fi
op=$(python3 -c 'import json, sys; o = json.load(sys.stdin)["operation"]; print(o["id"] if o else "")' <<<"$reply")
if [ -z "$op" ]; then echo "nothing to move: the slots are already even"; exit 0; fi
deadline=$(( SECONDS + ${RESHARD_TIMEOUT:-3600} ))
while [ $SECONDS -lt $deadline ]; do
  status=$(cf GET "/v1/operations/$op" | python3 -c '
import json, sys
o = json.load(sys.stdin)
m = o.get("moves") or {}
print(o["status"], "moves %d/%d, slots %d/%d, keys %d, %.1f MB/s" % (
      m.get("done", 0), m.get("total", 0), m.get("slots_moved", 0), m.get("slots_total", 0),
      m.get("keys_moved", 0), m.get("bytes_per_second", 0) / 1e6), file=sys.stderr)
print(o["status"])')
  case "$status" in
    succeeded) break ;;
    failed) cf GET "/v1/operations/$op"; exit 1 ;;
  esac
  sleep 1
done
[ "$status" = succeeded ] || { echo "timed out waiting for operation $op" >&2; exit 1; }
wait_status "$name" available
cf GET "/v1/clusters/$name" | python3 -c '
import json, sys
c = json.load(sys.stdin)
for s in c["shards"]:
    print("shard", s["id"], "slots", s["slots"], "primary", s["primary"])
print("topology epoch:", c["topology_epoch"])'
