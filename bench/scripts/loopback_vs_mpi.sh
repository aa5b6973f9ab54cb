#!/usr/bin/env bash
# One run, one machine: colossus all_reduce_perf (ranks as threads, loopback
# transport) beside Open MPI's MPI_Allreduce (ranks as processes, its shared-
# memory transport), for each rank count, plus the memcpy rate of 64 MiB
# (the physical limit the busbw figures are read against).
# Usage: bench/scripts/loopback_vs_mpi.sh [build-dir] [rank counts...]
set -euo pipefail
build=${1:-build}; shift || true
ranks=${*:-"2 8"}
flags=(-b 8 -e 64M -f 4 -n 10 -w 3)
mpirun_flags=(--oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && mpirun_flags+=(--allow-run-as-root)
"$build/bench/micro/reduce_bench" --benchmark_filter='(memcpy|sum_fp32)/64MiB' \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true 2>/dev/null | grep median
for n in $ranks; do
  echo "### colossus loopback, $n ranks (threads)"
  "$build/bench/all_reduce_perf" -t "$n" "${flags[@]}"
  echo "### Open MPI MPI_Allreduce, $n ranks (processes)"
  mpirun "${mpirun_flags[@]}" -np "$n" "$build/bench/mpi_allreduce_perf" "${flags[@]}"
done
