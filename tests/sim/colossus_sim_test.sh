#!/usr/bin/env bash
# colossus-sim as a user runs it: colossus_sim_test.sh TOOL CASE
set -euo pipefail
tool=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

case $2 in
  table)  # every algorithm per size, the tuner's pick marked once per size
    "$tool" --topo dgx-h100:nodes=2 -b 1M -e 16M -f 16 --no-progress >"$tmp/out"
    cat "$tmp/out"
    for a in ring tree hierarchical recursive_doubling; do
      [ "$(grep -cE "^ +[0-9]+ +[0-9]+ float +\*? *$a " "$tmp/out")" = 2 ] || fail "$a: not one row per size"
    done
    [ "$(grep -cE '^ +[0-9]+ +[0-9]+ float +\* ' "$tmp/out")" = 2 ] || fail "not one pick per size"
    grep -q '^# layout 2 nodes x 8 ranks' "$tmp/out" || fail "no layout line";;
  csv_json)  # CSV rows and one JSON document agree; times positive, busbw <= NVLink+NIC
    "$tool" --topo dgx-h100:nodes=2 -b 64K -e 64M -f 32 --csv --no-progress >"$tmp/csv"
    "$tool" --topo dgx-h100:nodes=2 -b 64K -e 64M -f 32 --json --no-progress >"$tmp/json"
    python3 - "$tmp/csv" "$tmp/json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
doc = json.load(open(sys.argv[2]))
assert len(rows) == len(doc) == 3 * 4, (len(rows), len(doc))
for r, d in zip(rows, doc):
    assert r["algorithm"] == d["algorithm"] and float(r["time_us"]) == d["time_us"]
    assert d["time_us"] > 0 and 0 < d["busbw_gbps"] < 450 + 50, d
    assert d["folding"] != "none" or d["slots"] == 16, d
assert sum(1 for d in doc if d["pick"]) == 3
PY
    ;;
  trace)  # --trace writes a Chrome trace of the pick at the first size
    "$tool" --topo dgx-h100 -b 1M -e 1M --trace "$tmp/t.json" --no-progress >/dev/null
    python3 - "$tmp/t.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
ev = t["traceEvents"]
x = [e for e in ev if e["ph"] == "X"]
s = {e["id"] for e in ev if e["ph"] == "s"}
f = {e["id"] for e in ev if e["ph"] == "f"}
assert x and s and s == f, (len(x), len(s), len(f))
assert {e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"} >= {f"rank {r}" for r in range(8)}
PY
    ;;
  loopback)  # real data on 8 threads, checked, next to the prediction
    "$tool" --loopback -n 8 --topo dgx-h100 -b 4K -e 1M -f 16 --no-progress >"$tmp/out"
    cat "$tmp/out"
    [ "$(grep -c ' ok' "$tmp/out")" = 3 ] || fail "not 3 checked sizes"
    ! grep -q FAIL "$tmp/out" || fail "a loopback result differs from the reference";;
  scale)  # 100k ranks fold to one node's ranks
    "$tool" --topo colossus -b 1G -e 1G --pick --csv --no-progress >"$tmp/csv"
    grep -q ',node rotation: 8 classes of 12500 ranks[^,]*,8,' "$tmp/csv" || { cat "$tmp/csv"; fail "not folded"; };;
  refuse)  # a call the engine would hold too many Plans for: a clear row, exit 0
    "$tool" --topo colossus -b 1K -e 1K --algo ring --no-progress >"$tmp/out" 2>&1
    grep -q 'refused: simulator: ring allreduce on 100000 ranks' "$tmp/out" || { cat "$tmp/out"; fail "no refusal"; };;
  alltoall)  # hierarchical, pairwise and Bruck rows per size, one pick each, busbw (n-1)/n of algbw
    "$tool" --topo dgx-h100:nodes=4 -c alltoall -b 64K -e 64M -f 1024 --csv --no-progress >"$tmp/csv"
    python3 - "$tmp/csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert sorted({r["algorithm"] for r in rows}) == ["bruck", "hierarchical", "pairwise"], rows
assert len(rows) == 6 and sum(r["pick"] == "true" for r in rows) == 2, rows
for r in rows:
    assert float(r["time_us"]) > 0 and float(r["tuner_us"]) > 0, r
    assert abs(float(r["busbw_gbps"]) / float(r["algbw_gbps"]) - 31 / 32) < 0.01, r
    assert r["folding"].startswith("node rotation: 8 classes of 4"), r
big = [r for r in rows if r["bytes"] == str(64 << 20) and r["algorithm"] == "pairwise"][0]
assert big["bound"] == "NIC" and float(big["busbw_gbps"]) < 50, big  # one 50 GB/s NIC per GPU
PY
    ;;
  alltoallv)  # skewed counts: the header names the hot rank; slower than the even call
    "$tool" --topo dgx-h100:nodes=4 -c alltoallv -b 16M -e 16M --skew 1.1 --jitter 0.2 --seed 3 \
      --no-progress >"$tmp/skew"
    "$tool" --topo dgx-h100:nodes=4 -c alltoallv -b 16M -e 16M --no-progress >"$tmp/even"
    cat "$tmp/skew"
    grep -q '^# alltoallv counts: .*zipf 1.1, jitter 0.2, seed 3: hottest rank [0-9]* receives' "$tmp/skew" \
      || fail "no skew line"
    skew=$(awk '$1 == 16777216 {print $9}' "$tmp/skew"); even=$(awk '$1 == 16777216 {print $9}' "$tmp/even")
    python3 -c "import sys; sys.exit(0 if float('$skew') > 1.5 * float('$even') else 1)" \
      || fail "skewed $skew us is not slower than even $even us";;
  sendrecv)  # a pipeline across nodes moves at the NIC's rate: busbw = algbw, near 50 GB/s
    "$tool" --topo colossus -n 1024 -c sendrecv --pattern pipeline:4 -b 1K -e 1G -f 1024 --csv \
      --no-progress >"$tmp/csv"
    python3 - "$tmp/csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 3 and all(r["algorithm"] == "direct" and r["pick"] == "true" for r in rows), rows
for r in rows:
    assert r["busbw_gbps"] == r["algbw_gbps"] and r["tuner_us"] == "", r
big = rows[-1]
assert 45 < float(big["busbw_gbps"]) <= 50 and big["bound"] == "NIC", big
assert float(rows[0]["time_us"]) > 2, rows[0]  # a 1 KiB message: a network latency
PY
    ;;
  scale_alltoall)  # 8192 ranks of the colossus preset fold to one node's 8
    "$tool" --topo colossus -n 8192 -c alltoall -b 1M -e 1M --pick --csv --no-progress >"$tmp/csv"
    grep -q ',node rotation: 8 classes of 1024 ranks (exact),8,' "$tmp/csv" \
      || { cat "$tmp/csv"; fail "not folded"; };;
  usage)  # bad arguments: one line, exit 2
    for args in "--topo" "--topo dgx-h100 -b 8M -e 1M" "--topo dgx-h100 -f 1" "--topo dgx-h100 --coll x" \
                "--topo dgx-h100 -n 9" "--loopback --topo dgx-h100" "--topo nosuch" "--bogus" \
                "--topo dgx-h100 --skew 1" "--topo dgx-h100 -c alltoallv --skew -1" \
                "--topo dgx-h100 -c alltoallv --jitter 1" "--topo dgx-h100 --pattern pipeline:2" \
                "--topo dgx-h100 -c sendrecv --pattern pipeline:3" \
                "--topo dgx-h100 -c sendrecv --pattern shift:8" "--topo dgx-h100 -c sendrecv --pattern ring" \
                "--loopback -n 8 --topo dgx-h100 -c alltoall"; do
      rc=0; "$tool" $args >/dev/null 2>"$tmp/err" || rc=$?
      [ "$rc" = 2 ] || fail "'$args' exited $rc, not 2"
      [ "$(wc -l <"$tmp/err")" -ge 1 ] || fail "'$args' said nothing"
    done;;
  *) fail "unknown case $2";;
esac
echo "ok $2"
