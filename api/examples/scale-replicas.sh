#!/usr/bin/env bash
# scale-replicas.sh NAME COUNT: adds or removes replicas online (never the
# primary); new replicas count once in sync.
here=$(dirname "$0"); . "$here/common.sh"
name=${1:?cluster name}; count=${2:?replica count}
# curl retries a failed call with the same Idempotency-Key (see common.sh).
key=$(idempotency_key "replicas-$name-$count")
cf PATCH "/v1/clusters/$name" "{\"replicas\":$count}" -H "Idempotency-Key: $key" --retry 3
wait_status "$name" available
cf GET "/v1/clusters/$name"
