#!/usr/bin/env bash
# Two builds of colossus, one run, alternated: loopback all_reduce_perf of
# build A and build B in turn, R rounds, and the medians side by side. For
# checking that a change moved no figure (a refactoring), where comparing
# against a table from another day would compare the machine, not the code.
# Prints out-of-place busbw (GB/s) at 2 MiB and 32 MiB and the 8-byte time
# (us), with 2 and 8 threads.
# Usage: bench/scripts/loopback_ab.sh BUILD_A BUILD_B [rounds]
set -euo pipefail
a=$1; b=$2; rounds=${3:-5}
out=$(mktemp); trap 'rm -f "$out"' EXIT
for _ in $(seq "$rounds"); do
  for build in "$a" "$b"; do
    for t in 2 8; do
      "$build/bench/all_reduce_perf" -t "$t" -b 8 -e 8 -n 200 -w 20 |
        awk -v v="$build" -v t="$t" '/^ +8 /{ print v, t, "8B(us)", $6 }' >> "$out"
      "$build/bench/all_reduce_perf" -t "$t" -b 2M -e 32M -f 16 -n 10 -w 3 |
        awk -v v="$build" -v t="$t" '/^ +(2097152|33554432) /{ print v, t, $1, $8 }' >> "$out"
    done
  done
done
python3 - "$out" "$a" "$b" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    build, threads, what, value = line.split()
    runs[(threads, what, build)].append(float(value))
a, b = sys.argv[2], sys.argv[3]
print(f"| threads | what | A median | B median | B/A | A runs | B runs |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for threads, what in sorted({(t, w) for t, w, _ in runs}, key=lambda k: (int(k[0]), k[1])):
    ra, rb = runs[(threads, what, a)], runs[(threads, what, b)]
    ma, mb = statistics.median(ra), statistics.median(rb)
    print(f"| {threads} | {what} | {ma:g} | {mb:g} | {mb / ma:.2f} | {ra} | {rb} |")
PY
