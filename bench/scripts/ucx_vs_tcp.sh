#!/usr/bin/env bash
# The ucx transport's evidence: a 64 MiB fp32 sum allreduce, 2 ranks, over
# colossus's ucx transport (UCX UCP) beside colossus's own transports and
# beside Open MPI's MPI_Allreduce on its UCX pml, all in one run.
#
# Across hosts: one network-namespace testbed session (scripts/testbed.sh,
# 2 hosts x 1 rank) per link setting, first the link shaped to 1 Gbit/s
# (tc tbf), then unshaped veth. In each session, R runs, alternating:
#   ucx       colossus all_reduce_perf, COLOSSUS_TRANSPORT=ucx COLOSSUS_UCX_TLS=tcp
#   tcp       colossus all_reduce_perf, COLOSSUS_TRANSPORT=tcp (colossus's own)
#   ompi-ucx  Open MPI mpi_allreduce_perf, mpirun --mca pml ucx, UCX_TLS=tcp
#             UCX_NET_DEVICES=eth0. --mca pml ucx makes the job fail rather
#             than fall back to ob1 when UCX cannot be used; pml_ucx_tls and
#             pml_ucx_devices are set to "any" because Open MPI 4.1 otherwise
#             refuses the UCX pml on machines without Mellanox devices.
# mpirun runs inside host 0 (the root namespace cannot reach the testbed's
# addresses) and starts its daemon in host 1 through bench/scripts/testbed_rsh.sh.
# Each session also measures one TCP flow's goodput h0 -> h1 with tcp_rate
# (the tool of tests/testbed/check_rate.sh). The link bound for busbw is the
# link rate: 1 Gbit/s = 0.125 GB/s when shaped; unshaped veth has no nominal
# rate, so the measured goodput of one flow stands for it there.
#
# On one host (no testbed), 2 processes, R runs alternating:
#   shm       colossus all_reduce_perf, COLOSSUS_TRANSPORT=shm
#   ucx-sm    colossus all_reduce_perf, COLOSSUS_TRANSPORT=ucx COLOSSUS_UCX_TLS=sm
#
# Prints per run the time (us, the out-of-place column) and busbw (GB/s) of
# each, the busbw computed from the time to 4 decimals (allreduce on 2 ranks:
# busbw = algbw * 2 (n-1)/n = bytes / time), then medians and ratios, as
# busbw ratios (> 1: the first is faster). A failed run prints its last lines
# and is left out of the medians.
# Iterations: ITERS (default 5) and WARMUP (default 1) across hosts,
# SHM_ITERS (20) and SHM_WARMUP (5) on one host; the same for every tool.
# Needs root, Open MPI (mpirun) with its UCX pml.
# Usage: bench/scripts/ucx_vs_tcp.sh [build-dir] [runs]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
self="$root/bench/scripts/ucx_vs_tcp.sh"

# row FILE: the 64 MiB row's out-of-place time (us) and busbw (GB/s), the
# busbw recomputed from the time (the table's has 2 decimals): on 2 ranks
# busbw = algbw * 2 (n-1)/n = bytes / time. Nothing if there is no row.
row() {
  awk '/^ *67108864 +[0-9]+ +float/ { printf "%s %.4f\n", $6, $1 / ($6 * 1e3); exit }' "$1" 2>/dev/null || true
}

# run_one OUT NAME CMD...: runs CMD with its output in OUT.NAME, prints the row
run_one() {
  local out=$1 name=$2 rc=0 r
  shift 2
  "$@" > "$out" 2>&1 || rc=$?
  r=$(row "$out")
  if [ "$rc" -ne 0 ] || [ -z "$r" ]; then
    printf '  %-9s FAILED (rc=%d); last lines:\n' "$name" "$rc"
    tail -5 "$out" | sed 's/^/      /'
  else
    # shellcheck disable=SC2086 # two words
    printf '  %-9s time %9s us  busbw %7s GB/s\n' "$name" $r
  fi
}

# --session LABEL OUTDIR BUILD RUNS: one testbed session (run by testbed.sh)
if [ "${1:-}" = --session ]; then
  label=$2; out=$3; build=$4; runs=$5
  IFS=, read -r -a hosts <<<"$TESTBED_HOSTS"
  IFS=, read -r -a addrs <<<"$TESTBED_ADDRS"
  in_host() { local h=$1; shift; "$TESTBED_SCRIPT" exec "$h" -- "$@"; }
  perf=(-b 64M -e 64M -n "${ITERS:-5}" -w "${WARMUP:-1}")
  # tcp_rate h0 -> h1, one flow, 3 s: Mbit/s of goodput
  in_host "${hosts[1]}" "$build/tests/testbed/tcp_rate" recv "${addrs[1]}" 5301 > "$out/$label.rate" 2>&1 &
  receiver=$!
  in_host "${hosts[0]}" "$build/tests/testbed/tcp_rate" send "${addrs[1]}" 5301 3 >/dev/null 2>&1 || true
  wait "$receiver" || true
  rate=$(sed -n 's/.*mbit_per_s=\([0-9.]*\).*/\1/p' "$out/$label.rate")
  echo "  tcp_rate h0 -> h1, one flow: ${rate:-FAILED} Mbit/s"
  echo "${rate:-}" > "$out/$label.mbit"
  colossus=("$build/bin/colossus-run" --hosts "$TESTBED_HOSTS" --ranks-per-host 1 --timeout 300 --no-tag --
            "$build/bench/all_reduce_perf" "${perf[@]}")
  mpi=(timeout 300 "$TESTBED_SCRIPT" exec "${hosts[0]}" --
       mpirun --allow-run-as-root -np 2 --host "${addrs[0]}:1,${addrs[1]}:1"
       --mca plm_rsh_agent "$root/bench/scripts/testbed_rsh.sh" --mca oob_tcp_if_include eth0
       --mca pml ucx --mca pml_ucx_tls any --mca pml_ucx_devices any --mca btl ^openib
       -x UCX_TLS=tcp -x UCX_NET_DEVICES=eth0
       "$build/bench/mpi_allreduce_perf" "${perf[@]}")
  for r in $(seq "$runs"); do
    echo " run $r"
    run_one "$out/$label.ucx.$r" ucx env COLOSSUS_TRANSPORT=ucx COLOSSUS_UCX_TLS=tcp "${colossus[@]}"
    run_one "$out/$label.tcp.$r" tcp env COLOSSUS_TRANSPORT=tcp "${colossus[@]}"
    run_one "$out/$label.ompi-ucx.$r" ompi-ucx "${mpi[@]}"
  done
  exit 0
fi

build=${1:-build}; runs=${2:-3}
build=$(cd "$build" && pwd)
[ "$(id -u)" = 0 ] || { echo "ucx_vs_tcp: needs root (network-namespace testbed)" >&2; exit 77; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT

# summary LABEL LINK_GBPS LINK_WHAT FLOW_MBIT NAMES...: medians of each
# NAME's runs, the busbw ratios of the first NAME to each other, to the link
# (if LINK_GBPS > 0; LINK_WHAT says what it is, "-": no link line) and to
# one TCP flow's goodput (if FLOW_MBIT is a number).
summary() {
  local label=$1 link=$2 what=$3 flow=$4 first=$5 name
  shift 4
  for name in "$@"; do
    for f in "$out/$label.$name".*; do if [ -e "$f" ]; then echo "$name $(row "$f")"; fi; done
  done | awk -v label="$label" -v link="$link" -v what="$what" -v flow="$flow" -v first="$first" -v names="$*" '
    function median(list,   a, m, i, j, t) {
      m = split(list, a, " ")
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    NF == 3 { t[$1] = t[$1] " " $2; bw[$1] = bw[$1] " " $3; cnt[$1]++ }
    END {
      k = split(names, nm, " ")
      printf "%s: medians of the successful runs\n", label
      for (i = 1; i <= k; i++) {
        if (cnt[nm[i]]) { mt[i] = median(t[nm[i]]); mb[i] = median(bw[nm[i]])
          printf "  %-9s time %9s us  busbw %.4f GB/s  (%d runs)\n", nm[i], mt[i], mb[i], cnt[nm[i]] }
        else printf "  %-9s no successful run\n", nm[i]
      }
      for (i = 2; i <= k; i++)
        if (cnt[first] && cnt[nm[i]] && mb[i] > 0) printf "  busbw %s / %s: %.2f\n", first, nm[i], mb[1] / mb[i]
      if (cnt[first] && link > 0) printf "  busbw %s / link (%s, %.4f GB/s): %.2f\n", first, what, link, mb[1] / link
      else if (cnt[first] && what != "-") printf "  busbw %s / link: %s\n", first, what
      if (cnt[first] && flow ~ /^[0-9.]+$/ && flow > 0)
        printf "  busbw %s / one TCP flow h0 -> h1 (tcp_rate, %s Mbit/s = %.4f GB/s): %.2f\n", first, flow, flow / 8000, mb[1] / (flow / 8000)
    }'
}

echo "# 64 MiB fp32 sum allreduce, 2 ranks; ITERS=${ITERS:-5} WARMUP=${WARMUP:-1} across hosts, $runs runs"
for link in 1gbit unshaped; do
  shape=(); [ "$link" = 1gbit ] && shape=(--rate 1gbit)
  echo
  echo "## testbed, 2 hosts x 1 rank, link $link"
  "$root/scripts/testbed.sh" --hosts 2 --ranks-per-host 1 "${shape[@]}" -- \
    bash "$self" --session "$link" "$out" "$build" "$runs" || echo "  testbed session failed (rc=$?)"
done

echo
echo "## one host, 2 processes; SHM_ITERS=${SHM_ITERS:-20} SHM_WARMUP=${SHM_WARMUP:-5}"
local_perf=("$build/bin/colossus-run" -n 2 --timeout 300 --no-tag -- "$build/bench/all_reduce_perf"
            -b 64M -e 64M -n "${SHM_ITERS:-20}" -w "${SHM_WARMUP:-5}")
for r in $(seq "$runs"); do
  echo " run $r"
  run_one "$out/local.shm.$r" shm env COLOSSUS_TRANSPORT=shm "${local_perf[@]}"
  run_one "$out/local.ucx-sm.$r" ucx-sm env COLOSSUS_TRANSPORT=ucx COLOSSUS_UCX_TLS=sm "${local_perf[@]}"
done

echo
echo "## summary"
mbit_1g=$(cat "$out/1gbit.mbit" 2>/dev/null || true)
summary 1gbit 0.125 "1 Gbit/s shaped" "${mbit_1g:--}" ucx tcp ompi-ucx
mbit=$(cat "$out/unshaped.mbit" 2>/dev/null || true)
if [ -n "$mbit" ]; then
  summary unshaped "$(awk -v m="$mbit" 'BEGIN { printf "%.4f", m / 8000 }')" \
    "unshaped veth: one TCP flow's goodput, as measured by tcp_rate" - ucx tcp ompi-ucx
else
  summary unshaped 0 "unshaped veth, not measured (tcp_rate failed)" - ucx tcp ompi-ucx
fi
summary local 0 - - ucx-sm shm
