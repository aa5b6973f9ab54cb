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
    grep -q '8,.*node rotation: 8 classes of 12500 ranks' "$tmp/csv" || { cat "$tmp/csv"; fail "not folded"; };;
  refuse)  # a call the engine would hold too many Plans for: a clear row, exit 0
    "$tool" --topo colossus -b 1K -e 1K --algo ring --no-progress >"$tmp/out" 2>&1
    grep -q 'refused: simulator: ring allreduce on 100000 ranks' "$tmp/out" || { cat "$tmp/out"; fail "no refusal"; };;
  usage)  # bad arguments: one line, exit 2
    for args in "--topo" "--topo dgx-h100 -b 8M -e 1M" "--topo dgx-h100 -f 1" "--topo dgx-h100 --coll x" \
                "--topo dgx-h100 -n 9" "--loopback --topo dgx-h100" "--topo nosuch" "--bogus"; do
      rc=0; "$tool" $args >/dev/null 2>"$tmp/err" || rc=$?
      [ "$rc" = 2 ] || fail "'$args' exited $rc, not 2"
      [ "$(wc -l <"$tmp/err")" -ge 1 ] || fail "'$args' said nothing"
    done;;
  *) fail "unknown case $2";;
esac
echo "ok $2"
