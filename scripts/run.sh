#!/usr/bin/env bash
# The main job: set up a fresh machine, build, and run an allreduce and an
# allgather across 8 loopback ranks (threads), printing nccl-tests' table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
BUILD_DIR=${BUILD_DIR:-$root/build} bash "$root/scripts/build.sh" >/dev/null
bench=${BUILD_DIR:-$root/build}/bench
"$bench/all_reduce_perf" -t 8 -b 8 -e 64M -f 4
"$bench/all_gather_perf" -t 8 -b 8 -e 64M -f 4
