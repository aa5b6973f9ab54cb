#!/usr/bin/env bash
# The Open MPI peer of fault_bench's "SIGKILL -> last survivor's error": per
# trial, mpirun -np N mpi_kill; the time from the victim's SIGKILL to the
# last survivor's end (mpirun terminates them: Open MPI 4 has no error a
# survivor can catch). Prints median and max over the trials, in ms.
#   bench/fault/mpi_kill.sh [trials=20] [ranks="4 8"] [btls="vader tcp"]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
trials=${1:-20}
ranks=${2:-4 8}
btls=${3:-vader tcp}
TARGETS=mpi_kill bash "$root/scripts/build.sh" >/dev/null
root_flag=()
[ "$(id -u)" = 0 ] && root_flag=(--allow-run-as-root)
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "mpi_kill (Open MPI $(mpirun --version 2>/dev/null | head -1 | grep -o '[0-9][0-9.]*' | head -1)) on $cores cores, $(uname -r), $(date -u +%F)"
printf '| %-29s | %-8s | %5s | %6s | %10s | %10s |\n' measurement btl ranks trials "median ms" "max ms"
for btl in $btls; do
  for n in $ranks; do
    flags=("${root_flag[@]}" --mca btl "self,$btl")
    [ "$n" -gt "$cores" ] && flags+=(--oversubscribe --bind-to none)
    times=()
    for ((t = 0; t < trials; ++t)); do
      rm -f "$work"/kill "$work"/end.*
      mpirun "${flags[@]}" -np "$n" "$build/bench/mpi_kill" "$work" >/dev/null 2>&1 || true
      [ -f "$work/kill" ] || { echo "trial $t: the victim never ran" >&2; continue; }
      kill_ns=$(cat "$work/kill")
      last=0
      for f in "$work"/end.*; do
        [ -s "$f" ] || continue  # a survivor SIGKILLed mid-write leaves it empty
        e=$(cat "$f")
        [ "$e" -gt "$last" ] && last=$e
      done
      [ "$last" -gt 0 ] || { echo "trial $t: no survivor recorded its end" >&2; continue; }
      times+=("$(( (last - kill_ns) / 1000 ))")  # microseconds
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v btl="$btl" -v n="$n" '
      { v[NR] = $1 }
      END {
        if (NR == 0) exit;
        med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
        printf "| %-29s | %-8s | %5d | %6d | %10.2f | %10.2f |\n",
               "SIGKILL -> last survivor ends", btl, n, NR, med / 1000, v[NR] / 1000 }'
  done
done
