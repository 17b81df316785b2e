#!/usr/bin/env bash
# Installs, with apt-get, whatever cachefleet needs to build and test that is
# missing. Idempotent and quiet when everything is already present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libsqlite3-dev libcmocka-dev
  libzstd-dev
  redis-server redis-tools python3-redis memcached nodejs
  python3-pymemcache libmemcached-tools
  liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
  prometheus
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive

# Some machines ship Node.js with npm inside the nodejs package; Debian's
# own nodejs needs the separate npm package.
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The OpenAPI validator the tests run on api/openapi.yaml, from the npm
# registry, kept inside the checkout (git-ignored .tools/).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ ! -x "$root/.tools/node_modules/.bin/validate-api" ]; then
  echo "install-deps: installing the OpenAPI validator into .tools/"
  npm install --silent --no-audit --no-fund --prefix "$root/.tools" \
    @seriousme/openapi-schema-validator@2 >/dev/null
fi
# ioredis, the Node.js client the integration tests drive cachenode with
# (Lua scripts defined with defineCommand, pub/sub, pipelines, MULTI).
if [ ! -f "$root/.tools/node_modules/ioredis/package.json" ]; then
  echo "install-deps: installing ioredis into .tools/"
  npm install --silent --no-audit --no-fund --prefix "$root/.tools" ioredis@5 >/dev/null
fi
[ ${#missing[@]} -eq 0 ] && exit 0
# The Debian redis-server package starts a system instance; the oracle is
# launched by tests on their own ports, so the system one is not needed.
if command -v systemctl >/dev/null 2>&1; then
  "${sudo_cmd[@]}" systemctl disable --now redis-server >/dev/null 2>&1 || true
  # prometheus is installed for promtool (the metrics test); no server needed.
  "${sudo_cmd[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
