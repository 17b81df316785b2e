#!/usr/bin/env bash
# create.sh NAME: a cluster with 1 primary and 2 replicas (64 MB each) in
# distinct zones; waits until it is available and prints its endpoints.
# curl retries a failed call with the same Idempotency-Key (see common.sh).
here=$(dirname "$0"); . "$here/common.sh"
name=${1:-demo}
key=$(idempotency_key "create-$name")
cf POST /v1/clusters "{\"name\":\"$name\",\"engine\":\"redis\",\"replicas\":2,\"node_memory_mb\":64,\"eviction_policy\":\"allkeys-lru\"}" \
   -H "Idempotency-Key: $key" --retry 3
wait_status "$name" available
cf GET "/v1/clusters/$name" | python3 -c 'import json,sys; c=json.load(sys.stdin); print("primary:", c["endpoints"]["primary"]); print("readers:", " ".join(c["endpoints"]["reader"]))'
