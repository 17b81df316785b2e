#!/usr/bin/env bash
# memcached.sh NAME NODES: creates a memcached cluster of NODES nodes (1 to
# 40), or scales an existing one to NODES nodes online (PATCH {"nodes": N}),
# waits until it is available, and prints its nodes and the Auto Discovery
# list (GET /v1/clusters/NAME/discovery): what every node answers to
# `config get cluster`, and what AWS-style Auto Discovery clients read.
#   memcached.sh sessions 3    # create (or scale to) 3 nodes
#   memcached.sh sessions 5    # scale out: the new nodes join the list once up
#   memcached.sh sessions 2    # scale in: the leaving nodes leave the list before they stop
# MEMCACHED_NODE_MEMORY_MB (64) sizes the nodes of a new cluster.
# curl retries a failed call with the same Idempotency-Key (see common.sh).
here=$(dirname "$0"); . "$here/common.sh"
name=${1:?cluster name}; nodes=${2:?node count}
key=$(idempotency_key "memcached-$name-$nodes")
exists=$(curl -sS -o /dev/null -w '%{http_code}' -H "@$auth_header" "$CACHEFLEET_URL/v1/clusters/$name")
if [ "$exists" = 200 ]; then
  cf PATCH "/v1/clusters/$name" "{\"nodes\":$nodes}" -H "Idempotency-Key: $key" --retry 3 >/dev/null
else
  cf POST /v1/clusters "{\"name\":\"$name\",\"engine\":\"memcached\",\"nodes\":$nodes,\"node_memory_mb\":${MEMCACHED_NODE_MEMORY_MB:-64}}" \
     -H "Idempotency-Key: $key" --retry 3 >/dev/null
fi
wait_status "$name" available
cf GET "/v1/clusters/$name" | python3 -c '
import json, sys
c = json.load(sys.stdin)
for n in c["nodes"]:
    print("node", n["id"], n["az"], n["host"], "%s:%d" % (n["address"], n["port"]), n["status"])
print("configuration:", " ".join(c["endpoints"]["configuration"]))'
cf GET "/v1/clusters/$name/discovery" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("discovery version %d: %s" % (d["version"], " ".join(d["nodes"])))'
