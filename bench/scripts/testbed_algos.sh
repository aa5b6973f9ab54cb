#!/usr/bin/env bash
# Issue 4's evidence: on the network-namespace testbed (2 hosts x 4 ranks,
# ranks within a host on shm, hosts linked at 1 Gbit/s by tc tbf), a 64 MiB
# fp32 allreduce with the tuner's own pick and with each algorithm forced by
# COLOSSUS_ALGO, R runs each, all in one testbed session; prints per run the
# tuner's prediction (rank 0's INFO line) and the measured times.
# Needs root. Usage: bench/scripts/testbed_algos.sh [build-dir] [runs]
set -euo pipefail
build=${1:-build}; runs=${2:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
inner=$(mktemp); trap 'rm -f "$inner"' EXIT
cat > "$inner" <<INNER
for r in \$(seq $runs); do
  for algo in auto hierarchical ring tree; do
    a=\$algo; [ "\$a" = auto ] && a=
    line=\$(COLOSSUS_ALGO=\$a COLOSSUS_DEBUG=INFO COLOSSUS_TOPO_FILE=$root/bench/topologies/testbed-1gbit.xml \\
      $build/bin/colossus-run --hosts "\$TESTBED_HOSTS" --ranks-per-host 4 --timeout 300 --no-tag -- \\
      $build/bench/all_reduce_perf -b 64M -e 64M -n 5 -w 1 2>&1 |
      grep -E "INFO allreduce 67108864 B float|^ +67108864" | sed 's/.*INFO //' | tr '\n' ' ')
    echo "run \$r \$algo: \$line"
  done
done
INNER
"$root/scripts/testbed.sh" --hosts 2 --ranks-per-host 4 --rate 1gbit -- bash "$inner"
