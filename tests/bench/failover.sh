#!/bin/sh
# failover.sh: kill -9 of the primary -> first write acknowledged by the new
# primary through a Sentinel-aware client (redis-py); median and worst over
# 10 runs. Usage: tests/bench/failover.sh [BUILD_DIR] [RUNS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
exec /usr/bin/python3 "$here/failover.py" --cachenode "$build/bin/cachenode" --runs "${2:-10}"
