#!/usr/bin/env bash
# Builds colossus and runs every test: a Release build, then (unless
# SANITIZE=0) the same tests built with AddressSanitizer + UBSan.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
jobs=${JOBS:-$(nproc)}

echo "=== Formatting (clang-format, .clang-format)"
bash "$root/scripts/check-format.sh"

run_suite() {  # build-dir, extra cmake args...
  local build=$1; shift
  BUILD_DIR=$build bash "$root/scripts/build.sh" "$@"
  (cd "$build" && ctest --output-on-failure -j "$jobs" --timeout 1200)
}

echo "=== Release build and tests"
run_suite "$root/build"
if [ "${SANITIZE:-1}" != 0 ]; then
  echo "=== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
  # Same suites, sanitized: the *_perf tests exercise the tools under ASan too.
  # The fuzz targets are sanitized builds of their own: the first suite ran them.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    BUILD_TYPE=RelWithDebInfo run_suite "$root/build-asan" -DCOLOSSUS_SANITIZE=ON \
    -DCOLOSSUS_BUILD_FUZZ=OFF
fi
