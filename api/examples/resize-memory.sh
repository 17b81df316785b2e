#!/usr/bin/env bash
# resize-memory.sh NAME MB: every node's maxmemory changes live (no restart).
here=$(dirname "$0"); . "$here/common.sh"
name=${1:?cluster name}; mb=${2:?memory in MB}
# curl retries a failed call with the same Idempotency-Key (see common.sh).
key=$(idempotency_key "memory-$name-$mb")
cf PATCH "/v1/clusters/$name" "{\"node_memory_mb\":$mb}" -H "Idempotency-Key: $key" --retry 3
wait_status "$name" available
cf GET "/v1/clusters/$name"
