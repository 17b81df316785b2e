#!/usr/bin/env bash
# delete.sh NAME: stops every node and forgets the cluster; waits for the 404.
here=$(dirname "$0"); . "$here/common.sh"
name=${1:?cluster name}
cf DELETE "/v1/clusters/$name"
deadline=$(( SECONDS + 60 ))
while [ $SECONDS -lt $deadline ]; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "@$auth_header" "$CACHEFLEET_URL/v1/clusters/$name")
  if [ "$code" = 404 ]; then echo "deleted $name"; exit 0; fi
  sleep 0.2
done
echo "timed out waiting for $name to go" >&2; exit 1
