#!/usr/bin/env bash
# Builds colossus and runs every test: a Release build, then (unless
# SANITIZE=0) the same tests built with AddressSanitizer + UBSan, then
# (unless TSAN=0) the threaded core under ThreadSanitizer: the executor over
# loopback, shm and tcp, the bootstrap, the host proxy and the fault paths.
# The Release suite also runs PyTorch (from PyPI, in the venv that
# install-python.sh makes) on the drop-in libnccl.so.2, and builds the NCCL
# ABI tests against NVIDIA's 2.30 nccl.h from that venv.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
jobs=${JOBS:-$(nproc)}

python_args=()
if venv=$(bash "$root/scripts/install-python.sh" | tail -n 1) && [ -x "$venv/bin/python" ]; then
  python_args+=(-DCOLOSSUS_PYTHON="$venv/bin/python")
  nccl_h=$(ls "$venv"/lib/python3*/site-packages/nvidia/nccl/include/nccl.h 2>/dev/null | tail -n 1)
  [ -n "$nccl_h" ] && python_args+=(-DCOLOSSUS_NVIDIA_NCCL_230_H="$nccl_h")
else
  echo "=== install-python.sh failed: the PyTorch and NCCL 2.30 ABI tests are skipped"
fi

echo "=== Formatting (clang-format, .clang-format)"
bash "$root/scripts/check-format.sh"

run_suite() {  # build-dir, extra cmake args...
  local build=$1; shift
  BUILD_DIR=$build bash "$root/scripts/build.sh" "$@"
  (cd "$build" && ctest --output-on-failure -j "$jobs" --timeout 1200)
}

echo "=== Release build and tests"
run_suite "$root/build" "${python_args[@]}"
if [ "${SANITIZE:-1}" != 0 ]; then
  echo "=== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
  # Same suites, sanitized: the *_perf tests exercise the tools under ASan too.
  # The fuzz targets are sanitized builds of their own: the first suite ran them.
  # No COLOSSUS_PYTHON: python cannot LD_PRELOAD a sanitized libnccl.so.2.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    BUILD_TYPE=RelWithDebInfo run_suite "$root/build-asan" -DCOLOSSUS_SANITIZE=ON \
    -DCOLOSSUS_BUILD_FUZZ=OFF
fi
if [ "${TSAN:-1}" != 0 ]; then
  echo "=== ThreadSanitizer build and tests (executor, loopback, shm, tcp, ucx, bootstrap, host proxy, groups, split, abort, shrink)"
  tsan_bins="collectives_test loopback_group_test shm_test tcp_test peer_failure_test bootstrap_test
             host_proxy_test executor_fault_test group_test split_test abort_test shrink_test"
  pkg-config --exists ucx && tsan_bins+=" ucx_test"  # built only with UCX
  # The executor's collectives over every transport on threads (one
  # collective each: the sweep's other collectives add time, not threads),
  # and shm's alltoall, whose messages go by reference (single copy).
  tsan_tests='^(collectives_test: ?(loopback|shm|tcp) threads: allreduce'
  tsan_tests+='|collectives_test: ?shm threads: alltoall|loopback_group_test|shm_test'
  tsan_tests+='|tcp_test|peer_failure_test|bootstrap_test|host_proxy_test|executor_fault_test'
  tsan_tests+='|group_test|split_test|abort_test|shrink_test|ucx_test)'
  TARGETS=$tsan_bins BUILD_DIR=$root/build-tsan BUILD_TYPE=RelWithDebInfo \
    bash "$root/scripts/build.sh" -DCOLOSSUS_TSAN=ON -DCOLOSSUS_CUDA=OFF -DCOLOSSUS_BUILD_FUZZ=OFF \
    -DCOLOSSUS_BUILD_BENCH=OFF
  # UCX_MEM_EVENTS=no: UCX's memory hooks (libucm patches madvise, mmap,
  # ...) crash inside TSan's interceptors; the ucx transport needs none.
  (cd "$root/build-tsan" && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 UCX_MEM_EVENTS=no \
    ctest --output-on-failure -j "$jobs" --timeout 1200 -R "$tsan_tests")
fi
