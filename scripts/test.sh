#!/usr/bin/env bash
# Builds colossus and runs every test: a Release build, then (unless
# SANITIZE=0) the same tests built with AddressSanitizer + UBSan, then
# (unless TSAN=0) the threaded core under ThreadSanitizer: the executor over
# loopback, shm and tcp, the bootstrap, the host proxy and the fault paths.
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
if [ "${TSAN:-1}" != 0 ]; then
  echo "=== ThreadSanitizer build and tests (executor, loopback, shm, tcp, bootstrap, host proxy, groups, split, abort, shrink)"
  tsan_bins="collectives_test loopback_group_test shm_test tcp_test peer_failure_test bootstrap_test
             host_proxy_test executor_fault_test group_test split_test abort_test shrink_test"
  # The executor's collectives over every transport on threads (one
  # collective each: the sweep's other collectives add time, not threads),
  # and shm's alltoall, whose messages go by reference (single copy).
  tsan_tests='^(collectives_test: ?(loopback|shm|tcp) threads: allreduce'
  tsan_tests+='|collectives_test: ?shm threads: alltoall|loopback_group_test|shm_test'
  tsan_tests+='|tcp_test|peer_failure_test|bootstrap_test|host_proxy_test|executor_fault_test'
  tsan_tests+='|group_test|split_test|abort_test|shrink_test)'
  TARGETS=$tsan_bins BUILD_DIR=$root/build-tsan BUILD_TYPE=RelWithDebInfo \
    bash "$root/scripts/build.sh" -DCOLOSSUS_TSAN=ON -DCOLOSSUS_CUDA=OFF -DCOLOSSUS_BUILD_FUZZ=OFF \
    -DCOLOSSUS_BUILD_BENCH=OFF
  (cd "$root/build-tsan" && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --output-on-failure -j "$jobs" --timeout 1200 -R "$tsan_tests")
fi
