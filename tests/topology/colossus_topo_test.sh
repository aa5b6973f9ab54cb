#!/usr/bin/env bash
# colossus-topo as a user runs it: colossus_topo_test.sh TOOL CASE
set -euo pipefail
tool=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

case $2 in
  discovered)  # this machine: one host with cores and NUMA, never an error
    "$tool" --ranks 2 >"$tmp/out"
    grep -qE '^Topology: discovered: 1 host' "$tmp/out" || fail "no host line"
    grep -qE '^Host 0 .*: [1-9][0-9]* cores' "$tmp/out" || fail "no cores"
    grep -qE '^  NUMA [0-9]+: ' "$tmp/out" || fail "no NUMA"
    grep -q 'intra-node rank 0 <-> rank 1' "$tmp/out" || fail "no path";;
  deterministic)  # the same input prints the same text, byte for byte
    for spec in laptop dgx-h100:nodes=2 colossus:nodes=600 gb200-nvl72:nodes=36; do
      "$tool" --preset "$spec" --ranks 16 >"$tmp/a"
      "$tool" --preset "$spec" --ranks 16 >"$tmp/b"
      cmp -s "$tmp/a" "$tmp/b" || fail "$spec output differs between runs"
    done
    "$tool" >"$tmp/a"; "$tool" >"$tmp/b"
    cmp -s "$tmp/a" "$tmp/b" || fail "discovered output differs between runs";;
  dump_and_load)  # --dump then --file shows the same topology
    for spec in dgx-h100:nodes=2 gb200-nvl72 colossus:nodes=600; do
      "$tool" --preset "$spec" --dump "$tmp/t.xml" --ranks 16 | tail -n +2 >"$tmp/a"
      "$tool" --file "$tmp/t.xml" --ranks 16 | tail -n +2 >"$tmp/b"
      cmp -s "$tmp/a" "$tmp/b" || { diff "$tmp/a" "$tmp/b" | head; fail "$spec: dump/load differs"; }
    done;;
  env_file)  # COLOSSUS_TOPO_DUMP_FILE writes, COLOSSUS_TOPO_FILE loads instead of discovering
    COLOSSUS_TOPO_DUMP_FILE="$tmp/%h.xml" "$tool" | tail -n +2 >"$tmp/a"
    ls "$tmp"/*.xml >/dev/null 2>&1 || fail "no dump written"
    COLOSSUS_TOPO_FILE=$(ls "$tmp"/*.xml) "$tool" >"$tmp/out"
    head -1 "$tmp/out" | grep -q '^Topology: file ' || fail "not loaded: $(head -1 "$tmp/out")"
    tail -n +2 "$tmp/out" | cmp -s - "$tmp/a" || fail "loaded file prints differently"
    echo '<colossus_topology version="1"><host name="x"><gpu nvlnks="3"/></host></colossus_topology>' >"$tmp/bad.xml"
    if COLOSSUS_TOPO_FILE="$tmp/bad.xml" "$tool" 2>"$tmp/err"; then fail "bad file accepted"; fi
    grep -q "bad.xml:1: <gpu>: unknown attribute 'nvlnks'" "$tmp/err" || fail "error: $(cat "$tmp/err")";;
  usage)
    set +e
    "$tool" --preset nope 2>"$tmp/err"; rc=$?
    [ $rc -eq 1 ] || fail "unknown preset: exit $rc"
    grep -q "unknown preset (expected NAME or NAME:nodes=N; names: laptop, dgx-h100, colossus, gb200-nvl72)" "$tmp/err" || fail "$(cat "$tmp/err")"
    "$tool" --preset dgx-h100:nodes=0 2>"$tmp/err"; [ $? -eq 1 ] || fail "nodes=0 accepted"
    "$tool" --preset dgx-h100 --ranks 9 2>"$tmp/err"; [ $? -eq 1 ] || fail "9 ranks on 8 GPUs accepted"
    grep -q "9 ranks do not fit 1 host(s) x 8" "$tmp/err" || fail "$(cat "$tmp/err")"
    "$tool" --bogus 2>/dev/null; [ $? -eq 2 ] || fail "--bogus not usage"
    "$tool" --ranks x 2>/dev/null; [ $? -eq 2 ] || fail "--ranks x not usage"
    "$tool" --help | grep -q '^usage: colossus-topo' || fail "--help";;
  *) fail "unknown case $2";;
esac
