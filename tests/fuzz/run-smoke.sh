#!/usr/bin/env bash
# run-smoke.sh BUILD_DIR SECONDS: builds the libFuzzer targets with clang in
# BUILD_DIR and runs each (the request parser, the value loaders) for
# SECONDS, starting from its seed corpus. Exits non-zero if the build fails or
# the fuzzer finds a crash, a sanitizer report, a leak, a timeout or an
# out-of-memory; the reproducer is then left in BUILD_DIR/fuzz-artifacts/.
# See tests/fuzz/README.md.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$1
seconds=$2
case "$seconds" in ''|*[!0-9]*) echo "SECONDS must be a whole number" >&2; exit 2 ;; esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cc=${CC:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "run-smoke.sh: $cc not found; the fuzz smoke needs clang" >&2
  exit 1
fi

CC=$cc cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCACHEFLEET_FUZZ=ON >/dev/null
cmake --build "$build" --target fuzz_proto fuzz_payload -j"$(nproc 2>/dev/null || echo 2)"

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

# fuzz TARGET SEEDS: runs one target for SECONDS. libFuzzer writes new
# inputs into the first corpus dir, so the seeds stay clean. -max_total_time
# bounds the run, -rss_limit_mb and -timeout bound each input, -max_len
# keeps request inputs under the parser's inline limit, where fuzz_proto
# also checks that chunked and whole parsing agree.
fuzz() {
  local target=$1 seeds=$2
  local work="$build/fuzz-corpus-$target" artifacts="$build/fuzz-artifacts"
  mkdir -p "$work" "$artifacts"
  set +e
  "$build/tests/$target" "$work" "$root/tests/fuzz/$seeds" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=8192 \
    -artifact_prefix="$artifacts/" -print_final_stats=1
  local rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    echo "fuzz smoke of $target FAILED (exit $rc); reproducers in $artifacts:" >&2
    ls -l "$artifacts" >&2 || true
    exit 1
  fi
}

fuzz fuzz_proto corpus
fuzz fuzz_payload corpus-payload
echo "fuzz smoke passed (${seconds}s per target)"
