#!/usr/bin/env bash
# One run, one machine: colossus all_reduce_perf as N processes over shm
# (launched by colossus-run) beside Open MPI's MPI_Allreduce (mpirun, its own
# shared-memory transport), for each N, repeated R times; then the medians,
# the ratios and the memory-traffic floor in one markdown table per N.
# COLL=alltoall compares alltoall_perf with MPI_Alltoall (mpi_alltoall_perf)
# the same way.
#
# The floor: whatever the algorithm, every rank must read its input and
# write its output once (allreduce and alltoall alike: an alltoall moves
# each byte from one rank's buffer to another's at least once), 2 S bytes
# of memory traffic per rank, and all ranks
# share the machine's memory. The machine's copy rate is measured here, in
# the same run: memcpy of 64 MiB on every core at once (one reduce_bench per
# core, medians summed). floor time = n * 2 S / (2 * summed memcpy payload
# rate); "of floor" = floor time / measured time. (Transport slots are
# small and stay in cache, so they are not DRAM traffic.)
#
# Small sizes (<= 1 KiB) run with -n 200 -w 20 so their medians hold still;
# larger ones with -n 20 -w 5. Both tools get the same flags.
#
# Usage: bench/scripts/shm_vs_mpi.sh [build-dir] [repeats] [rank counts...]
set -euo pipefail
build=${1:-build}; reps=${2:-3}; shift 2 || true
ranks=${*:-"2 4"}
coll=${COLL:-allreduce}
case "$coll" in
  allreduce) tool=all_reduce_perf; peer=mpi_allreduce_perf; what="fp32 sum" ;;
  alltoall) tool=alltoall_perf; peer=mpi_alltoall_perf; what="fp32" ;;
  *) echo "COLL must be allreduce or alltoall" >&2; exit 2 ;;
esac
small=(-b 4 -e 1K -f 4 -n 200 -w 20)
large=(-b 4K -e 64M -f 4 -n 20 -w 5)
# Each launcher binds as it does by default: colossus-run and mpirun pin one
# rank per core when the ranks fit the cores; beyond that neither pins
# (mpirun needs --oversubscribe --bind-to none to start at all).
root_flag=(); [ "$(id -u)" = 0 ] && root_flag=(--allow-run-as-root)
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
cores=$(nproc)

one_memcpy() {
  "$build/bench/micro/reduce_bench" --benchmark_filter='memcpy/64MiB' \
    --benchmark_repetitions=5 --benchmark_report_aggregates_only=true 2>/dev/null |
    awk '/median/ { for (i = 1; i <= NF; i++) if ($i ~ /^bytes_per_second=/) {
           v = $i; sub(/^bytes_per_second=/, "", v); scale = (v ~ /M\/s$/) ? 1e-3 : 1; sub(/[GM]\/s$/, "", v); print v * scale } }'
}
for c in $(seq "$cores"); do one_memcpy > "$out/memcpy.$c" & done
wait
memcpy=$(cat "$out"/memcpy.* | awk '{ s += $1 } END { printf "%.2f", s }')
echo "# memcpy 64 MiB on all ${cores} cores at once (medians of 5, summed): ${memcpy} GB/s payload"

for n in $ranks; do
  mpirun_flags=("${root_flag[@]}")
  [ "$n" -gt "$cores" ] && mpirun_flags+=(--oversubscribe --bind-to none)
  for r in $(seq "$reps"); do
    for range in small large; do
      declare -n f=$range
      "$build/bin/colossus-run" -n "$n" --no-tag -- "$build/bench/$tool" "${f[@]}" \
        >> "$out/colossus.$n.$r" 2>&1
      mpirun "${mpirun_flags[@]}" -np "$n" "$build/bench/$peer" "${f[@]}" \
        >> "$out/mpi.$n.$r" 2>&1
    done
  done
  echo
  echo "## $coll, $n processes, $what, out of place; medians of $reps runs (time in us, busbw in GB/s)"
  echo
  echo "| size | colossus time | MPI time | time ratio | colossus busbw | MPI busbw | busbw ratio | floor time | of floor | #wrong |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  awk -v n="$n" -v reps="$reps" -v memcpy="$memcpy" -v cores="$cores" '
    function median(list,   k, a, m, i, j, t) {
      m = split(list, a, " ")
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    FNR == 1 { tool = (FILENAME ~ /colossus\./) ? "c" : "m" }
    /^ *[0-9]+ +[0-9]+ +float/ {
      size = $1; sizes[size] = 1
      t[tool, size] = t[tool, size] " " $6; bw[tool, size] = bw[tool, size] " " $8; wrong[tool, size] += $9
    }
    END {
      for (s in sizes) order[++k] = s + 0
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (order[j] < order[i]) { x = order[i]; order[i] = order[j]; order[j] = x }
      for (i = 1; i <= k; i++) {
        s = order[i]
        ct = median(t["c", s]); mt = median(t["m", s]); cb = median(bw["c", s]); mb = median(bw["m", s])
        floor = ""; frac = ""
        if (s >= 1048576) {
          fl = n * 2 * s / (2 * memcpy * 1e3)
          floor = sprintf("%.0f", fl); frac = sprintf("%.2f", fl / ct)
        }
        label = (s >= 1048576) ? sprintf("%d MiB", s / 1048576) : (s >= 1024 ? sprintf("%d KiB", s / 1024) : sprintf("%d B", s))
        printf "| %s | %s | %s | %.2f | %s | %s | %s | %s | %s | %d |\n", label, ct, mt, ct / mt, cb, mb,
               (mb > 0 ? sprintf("%.2f", cb / mb) : "-"), floor, frac, wrong["c", s] + wrong["m", s]
      }
    }' "$out"/colossus."$n".* "$out"/mpi."$n".*
done
