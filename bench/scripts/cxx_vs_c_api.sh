#!/usr/bin/env bash
# One run, one machine: a *_perf tool through the C++ API beside its
# *_perf_nccl twin through NCCL's C API (libnccl.so.2), alternating, REPS
# times each; prints each size's out-of-place busbw, the median over the
# runs, for both. The twins are host-only: no CUDA device may be visible.
# Usage: bench/scripts/cxx_vs_c_api.sh [build-dir] [tool] [flags...]
#   e.g. bench/scripts/cxx_vs_c_api.sh build all_reduce -t 2 -b 1M -e 64M -f 4
set -euo pipefail
build=${1:-build}; shift || true
tool=${1:-all_reduce}; shift || true
flags=("$@")
[ ${#flags[@]} -gt 0 ] || flags=(-t 2 -b 1M -e 64M -f 4)
reps=${REPS:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CUDA_VISIBLE_DEVICES=
for i in $(seq "$reps"); do
  "$build/bench/${tool}_perf" "${flags[@]}" >"$out/cxx.$i"
  "$build/bench/${tool}_perf_nccl" "${flags[@]}" >"$out/nccl.$i"
done
echo "# ${tool}_perf ${flags[*]}: out-of-place busbw (GB/s), median of $reps runs"
echo "# (avg: the tools' \"Avg bus bandwidth\", over both columns)"
printf '%12s %10s %10s %8s\n' size "C++ API" "C API" "C/C++"
# Column 8 of a row is the out-of-place busbw; the summary's average follows.
awk -v reps="$reps" '
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  FNR == 1 { api = FILENAME ~ /nccl/ ? "c" : "cxx" }
  /^ *[0-9]/ { bw[api, $1] = bw[api, $1] " " $8; if (!seen[$1]++) order[++rows] = $1 }
  /# Avg bus bandwidth/ { bw[api, "avg"] = bw[api, "avg"] " " $NF }
  END {
    order[++rows] = "avg"
    for (r = 1; r <= rows; r++) {
      s = order[r]; a = median(bw["cxx", s]); b = median(bw["c", s])
      printf "%12s %10.3f %10.3f %8.3f\n", s, a, b, (a > 0 ? b / a : 0)
    }
  }' "$out"/cxx.* "$out"/nccl.*
