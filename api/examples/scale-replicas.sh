#!/usr/bin/env bash
# scale-replicas.sh NAME COUNT: adds or removes replicas online (never the
# primary); new replicas count once in sync.
here=$(dirname "$0"); . "$here/common.sh"
name=${1:?cluster name}; count=${2:?replica count}
cf PATCH "/v1/clusters/$name" "{\"replicas\":$count}" -H "Idempotency-Key: replicas-$name-$count"
wait_status "$name" available
cf GET "/v1/clusters/$name"
