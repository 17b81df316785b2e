#!/usr/bin/env bash
# describe.sh [NAME]: one cluster (or all), the hosts, and the cluster's events.
here=$(dirname "$0"); . "$here/common.sh"
if [ $# -ge 1 ]; then
  cf GET "/v1/clusters/$1"
  cf GET "/v1/events?cluster=$1"
else
  cf GET /v1/clusters
fi
cf GET /v1/hosts
