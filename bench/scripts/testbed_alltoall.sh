#!/usr/bin/env bash
# Issue 13's evidence: a 64 MiB alltoall (fp32, the size being each rank's
# whole send buffer, as nccl-tests counts it) across two network-namespace
# hosts linked at 1 Gbit/s by tc tbf, P ranks per host (ranks within a host
# on shm), R runs in one testbed session each; prints per run the measured
# time and busbw and the share of what the link allows.
#
# What the link allows: each rank sends (n - P)/n of its buffer to the other
# host, so each host's link carries P * S * (n - P)/n bytes each way, and
# the call cannot take less than that over the shaped rate. "of link" is
# that bound over the measured time (1.0 = the link never idles).
# Needs root. Usage: bench/scripts/testbed_alltoall.sh [build-dir] [runs] [ranks-per-host...]
set -euo pipefail
build=${1:-build}; runs=${2:-3}; shift 2 || true
per_host=${*:-"1 2"}
root=$(cd "$(dirname "$0")/../.." && pwd)
size=$((64 << 20)); rate_bps=125000000  # 1 Gbit/s
for p in $per_host; do
  inner=$(mktemp)
  cat > "$inner" <<INNER
for r in \$(seq $runs); do
  $build/bin/colossus-run --hosts "\$TESTBED_HOSTS" --ranks-per-host $p --timeout 300 --no-tag -- \\
    $build/bench/alltoall_perf -b 64M -e 64M -n 5 -w 1 2>&1 | grep -E "^ +$size " | sed "s/^/run \$r: /"
done
INNER
  echo "## 2 hosts x $p ranks, 64 MiB alltoall fp32, 1 Gbit/s link"
  "$root/scripts/testbed.sh" --hosts 2 --ranks-per-host "$p" --rate 1gbit -- bash "$inner" |
    awk -v p="$p" -v s="$size" -v rate="$rate_bps" '
      /^run/ {
        n = 2 * p; t = $8 / 1e6  # time column (us)
        bound = p * s * (n - p) / n / rate
        printf "%s %s  time %.1f ms  busbw %s GB/s  #wrong %s  link bound %.1f ms  of link %.2f\n",
               $1, $2, t * 1e3, $10, $11, bound * 1e3, bound / t
      }'
  rm -f "$inner"
done
