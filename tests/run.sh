#!/usr/bin/env bash
# tests/run.sh: the project's one test command (.ci/run calls exactly this).
# Installs what is missing, builds twice (release, and AddressSanitizer +
# UndefinedBehaviorSanitizer), runs every test through ctest on both builds,
# then a short bounded fuzz smoke. Exits non-zero on any failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)

step() { printf '\n==== %s ====\n' "$*"; }

# Repeats, at the end of the run, which tests of a build failed and the last
# lines of their output, so a failure is visible in the run's tail.
failures=""
record_failures() { # BUILD_DIR
  local failed="$1/Testing/Temporary/LastTestsFailed.log" log="$1/Testing/Temporary/LastTest.log" t
  [ -s "$failed" ] || return 0
  while IFS=: read -r _ t; do
    failures+=$'\n'"---- $1: $t (last lines of its output) ----"$'\n'
    failures+=$(awk -v t="$t" '$0 ~ "^[0-9]+/[0-9]+ Testing: " t "$" {on = 1; next}
                               on && /^"/ && $0 ~ "end time" {on = 0} on' "$log" | tail -n 60)
  done <"$failed"
}

step "dependencies"
bash deploy/install-deps.sh

step "release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"

step "sanitizer build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCACHEFLEET_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"

status=0
step "tests: release build"
(cd build && ctest --output-on-failure -j"$jobs" --timeout 300) || { status=1; record_failures build; }

step "tests: sanitizer build"
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
(cd build-asan && ctest --output-on-failure -j"$jobs" --timeout 600) || { status=1; record_failures build-asan; }
unset ASAN_OPTIONS UBSAN_OPTIONS

if [ -f tests/fuzz/run-smoke.sh ]; then
  step "fuzz smoke"
  bash tests/fuzz/run-smoke.sh build-fuzz "${FUZZ_SECONDS:-20}" || status=1
fi

step "result"
if [ "$status" -eq 0 ]; then echo "all test stages passed"; else
  [ -z "$failures" ] || printf 'failed tests:%s\n' "$failures"
  echo "some test stage FAILED"
fi
exit "$status"
