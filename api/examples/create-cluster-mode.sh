#!/usr/bin/env bash
# create-cluster-mode.sh NAME [SHARDS]: a cluster-mode cluster of SHARDS
# shards (default 3), each 1 primary and 1 replica (64 MB) on distinct hosts
# and zones, the 16384 slots spread evenly; waits until it is available and
# prints its shards and configuration endpoints. Use it with a cluster client:
#   redis-cli -c -h HOST -p PORT set hello world
# curl retries a failed call with the same Idempotency-Key (see common.sh).
here=$(dirname "$0"); . "$here/common.sh"
name=${1:-demo}; shards=${2:-3}
key=$(idempotency_key "create-$name")
cf POST /v1/clusters "{\"name\":\"$name\",\"engine\":\"redis\",\"cluster_mode\":true,\"shards\":$shards,\"replicas\":1,\"node_memory_mb\":64}" \
   -H "Idempotency-Key: $key" --retry 3
wait_status "$name" available
cf GET "/v1/clusters/$name" | python3 -c '
import json, sys
c = json.load(sys.stdin)
for s in c["shards"]:
    print("shard", s["id"], "slots", s["slots"], "primary", s["primary"], "replicas", " ".join(s["replicas"]))
print("topology epoch:", c["topology_epoch"])
print("configuration:", " ".join(c["endpoints"]["configuration"]))'
