#!/usr/bin/env bash
# Builds and runs fault_bench: SIGKILL-to-error (20 trials, shm and tcp, 4
# and 8 processes), abort-to-return (20 trials), shrink (median of 10).
#   bench/fault/run.sh [fault_bench options...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
TARGETS=fault_bench bash "$root/scripts/build.sh" >/dev/null
echo "fault_bench on $(nproc) cores, $(uname -r), $(date -u +%F)"
exec "$build/bench/fault_bench" "$@"
