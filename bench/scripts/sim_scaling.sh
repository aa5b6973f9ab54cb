#!/usr/bin/env bash
# colossus-sim at scale (issue 5): on the `colossus` preset (8 GPUs and 8
# NICs per node, rail-optimized fat tree), allreduce and allgather for each
# rank count and size, simulating the tuner's pick only (--pick). Reports
# per run: the pick, whether ranks were folded, the predicted time, the
# engine's own wall time, steps, events and events per second (from
# colossus-sim's CSV), and the whole process's wall time and peak RSS
# (/usr/bin/time: topology build, tuner and engine together).
#
#   bench/scripts/sim_scaling.sh [build-dir]
#   RANKS="8 64 512 4096 32768 100000" COLLS="allreduce allgather"
#   ALLREDUCE_SIZES="64K 1M 1G" ALLGATHER_SIZES="1M 1G" (allgather's size is its
#   output: below 4 B x ranks no rank has an element)
set -euo pipefail
build=${1:-build}
ranks=${RANKS:-"8 64 512 4096 32768 100000"}
colls=${COLLS:-"allreduce allgather"}
sim=$build/bin/colossus-sim
[ -x "$sim" ] || { echo "sim_scaling: $sim not built" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "sim_scaling: needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

echo "| collective | size | ranks | pick | folded | predicted (us) | busbw (GB/s) | steps | events | engine (s) | events/s | process (s) | peak RSS (MB) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for coll in $colls; do
  if [ "$coll" = allgather ]; then sizes=${ALLGATHER_SIZES:-"1M 1G"}; else sizes=${ALLREDUCE_SIZES:-"64K 1M 1G"}; fi
  for size in $sizes; do
    for n in $ranks; do
      rc=0
      /usr/bin/time -f "%e %M" -o "$tmp/time" "$sim" --topo colossus -n "$n" --coll "$coll" \
        -b "$size" -e "$size" --pick --csv --no-progress > "$tmp/csv" 2> "$tmp/err" || rc=$?
      if [ "$rc" != 0 ]; then
        echo "| $coll | $size | $n | failed (exit $rc): $(tail -1 "$tmp/err") |"
        continue
      fi
      python3 - "$coll" "$size" "$n" "$tmp/csv" "$tmp/time" <<'PY'
import csv, sys
coll, size, n, csv_path, time_path = sys.argv[1:]
rows = list(csv.DictReader(open(csv_path)))
wall, rss_kb = open(time_path).read().split()[-2:]
if not rows:
    print(f"| {coll} | {size} | {n} | no row (size below one element per rank?) |")
    sys.exit(0)
r = rows[0]
if r.get("refused"):
    print(f"| {coll} | {size} | {n} | {r['algorithm']} refused: {r['refused']} |")
    sys.exit(0)
engine = float(r["sim_wall_ms"]) / 1e3
events = int(r["events"])
rate = events / engine if engine > 0 else float("nan")
print(f"| {coll} | {size} | {n} | {r['algorithm']}, {r['nchannels']} ch | {r['folding']} | "
      f"{float(r['time_us']):.1f} | {float(r['busbw_gbps']):.1f} | {r['steps']} | {events} | "
      f"{engine:.2f} | {rate/1e6:.2f}M | {float(wall):.2f} | {int(rss_kb)/1024:.0f} |")
PY
    done
  done
done
