#!/usr/bin/env bash
# One run, one machine: colossus all_reduce_perf as N processes over shm
# (launched by colossus-run) beside Open MPI's MPI_Allreduce (mpirun, its own
# shared-memory transport), for each N, repeated R times; then the medians,
# the ratios and the memory-traffic floor in one markdown table per N.
#
# The floor: a ring allreduce of S bytes on n ranks, each reducing straight
# out of its peer's FIFO slot, reads and writes (6n-4)/n * S bytes per rank
# (first send: read src + write slot, 2 per block; n-2 reduce-and-forward
# steps: read slot + src, write slot, 3; the finishing step: read 2, write 2;
# n-2 copy-forward steps: read slot, write dst + slot, 3; the last receive:
# read + write, 2). Over the machine's copy rate (memcpy's read+write
# traffic, measured here in the same run, shared by all ranks when they
# outnumber the cores) that is the least time the call can take.
# Recursive doubling (small sizes) is not compared against the floor.
#
# Usage: bench/scripts/shm_vs_mpi.sh [build-dir] [repeats] [rank counts...]
set -euo pipefail
build=${1:-build}; reps=${2:-3}; shift 2 || true
ranks=${*:-"2 4"}
flags=(-b 4 -e 64M -f 4 -n 20 -w 5)
mpirun_flags=(--oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && mpirun_flags+=(--allow-run-as-root)
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
cores=$(nproc)

memcpy=$("$build/bench/micro/reduce_bench" --benchmark_filter='memcpy/64MiB' \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true 2>/dev/null |
  awk '/median/ { for (i = 1; i <= NF; i++) if ($i ~ /^bytes_per_second=/) {
         v = $i; sub(/^bytes_per_second=/, "", v); scale = (v ~ /M\/s$/) ? 1e-3 : 1; sub(/[GM]\/s$/, "", v); print v * scale } }')
echo "# memcpy 64 MiB (median of 5): ${memcpy} GB/s payload; ${cores} cores"

for n in $ranks; do
  for r in $(seq "$reps"); do
    "$build/bin/colossus-run" -n "$n" --no-tag -- "$build/bench/all_reduce_perf" "${flags[@]}" \
      > "$out/colossus.$n.$r" 2>&1
    mpirun "${mpirun_flags[@]}" -np "$n" "$build/bench/mpi_allreduce_perf" "${flags[@]}" \
      > "$out/mpi.$n.$r" 2>&1
  done
  echo
  echo "## $n processes, fp32 sum, out of place; medians of $reps runs (time in us, busbw in GB/s)"
  echo
  echo "| size | colossus time | MPI time | time ratio | colossus busbw | MPI busbw | busbw ratio | floor time | of floor | #wrong |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  awk -v n="$n" -v reps="$reps" -v memcpy="$memcpy" -v cores="$cores" '
    function median(list,   k, a, m, i, j, t) {
      m = split(list, a, " ")
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    FNR == 1 { tool = (FILENAME ~ /colossus/) ? "c" : "m" }
    /^ *[0-9]+ +[0-9]+ +float/ {
      size = $1; sizes[size] = 1
      t[tool, size] = t[tool, size] " " $6; bw[tool, size] = bw[tool, size] " " $8; wrong[tool, size] += $9
    }
    END {
      share = (n > cores) ? cores / n : 1
      for (s in sizes) order[++k] = s + 0
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (order[j] < order[i]) { x = order[i]; order[i] = order[j]; order[j] = x }
      for (i = 1; i <= k; i++) {
        s = order[i]
        ct = median(t["c", s]); mt = median(t["m", s]); cb = median(bw["c", s]); mb = median(bw["m", s])
        floor = ""; frac = ""
        if (s >= 1048576) {
          bytes = (6 * n - 4) / n * s
          fl = bytes / (2 * memcpy * 1e3 * share)
          floor = sprintf("%.0f", fl); frac = sprintf("%.2f", fl / ct)
        }
        label = (s >= 1048576) ? sprintf("%d MiB", s / 1048576) : (s >= 1024 ? sprintf("%d KiB", s / 1024) : sprintf("%d B", s))
        printf "| %s | %s | %s | %.2f | %s | %s | %s | %s | %s | %d |\n", label, ct, mt, ct / mt, cb, mb,
               (mb > 0 ? sprintf("%.2f", cb / mb) : "-"), floor, frac, wrong["c", s] + wrong["m", s]
      }
    }' "$out"/colossus."$n".* "$out"/mpi."$n".*
done
