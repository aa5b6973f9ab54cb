#!/usr/bin/env bash
# The simulator's fidelity check, measured side (issue 5): on the network-
# namespace testbed (scripts/testbed.sh; ranks within a host on shm, hosts
# linked at 1 Gbit/s by tc tbf), an fp32 sum allreduce of 1 MiB..256 MiB
# (factors of 4) with each of ring, tree and hierarchical forced by
# COLOSSUS_ALGO, `runs` times each, all in one testbed session; then
# colossus-sim's prediction of the same calls; prints a markdown table
# (measured median, predicted, error) and every run's time, for
# bench/RESULTS.md.
#
#   bench/scripts/sim_fidelity.sh [build-dir] [hosts: 2|4] [runs]
#     build-dir  default build; needs bin/colossus-run and bench/all_reduce_perf,
#                and bin/colossus-sim for the predictions (without it the
#                measured table is still printed, predictions skipped)
#     hosts      2 (2 hosts x 4 ranks, default) or 4 (4 hosts x 2 ranks); 8 ranks
#     runs       repetitions of every (algorithm, size), default 3; the
#                median over them is reported
#
# Environment (all optional):
#   SIZES="1M 4M 16M 64M 256M"  sizes, all_reduce_perf syntax; colossus-sim is
#                               asked for -b first -e last -f 4, so keep steps of 4
#   ALGOS="ring tree hierarchical"
#   NCH=2 CHUNK=512K  channels and pipelining chunk, forced on both sides through
#                     COLOSSUS_NCHANNELS / COLOSSUS_CHUNK_BYTES (the library's
#                     defaults; the tuner would otherwise try 1, 2, 4, 8 channels
#                     and 128K / 512K chunks per call and pick per size). NCH=auto
#                     or CHUNK=auto leaves that one to the tuner on both sides; the
#                     raw table shows what rank 0's tuner used (COLOSSUS_DEBUG=INFO).
#   ITERS=N           -n for every size (default: 5 up to 16 MiB, 3 at 64 MiB, 2
#                     above; -w 1 always). all_reduce_perf -c 1 (validation) as
#                     default: per size and run, 2 warm-up calls (-w at -b and at
#                     -e), then out of place and in place 1 + n + 1 calls each.
#   CHECK=0|1         all_reduce_perf -c (default 1; #wrong must be 0)
#   BURST=BYTES       tbf bucket (default: testbed.sh's, 10 ms of the rate =
#                     1250000 B, which bench/topologies/testbed-*x1gbit.xml tell
#                     the simulator). Smaller buckets starve TCP with GSO on this
#                     VM (64 KiB: a quarter of the rate), so keep the default.
#   SIM_ARGS="..."    extra colossus-sim arguments (e.g. its own channel/chunk flags)
#   BIND=core|none    colossus-run --bind-to (default: not given, i.e. core). Every
#                     netns host may use all of the machine's CPUs, so with 4 hosts x 2
#                     ranks each host's ranks "fit" 2 CPUs and get pinned: all 4 local
#                     rank 0s on the first CPU, all rank 1s on the second. 2 x 4 ranks
#                     do not fit and are left to the scheduler.
#   OUT=dir           also keep the report and every raw log there
#
# The measured time is all_reduce_perf's out-of-place time column (rank 0's
# clock, mean over -n calls); in place is in the raw table. Every rank loads
# bench/topologies/testbed-1gbit.xml (one testbed host, as in
# bench/scripts/testbed_algos.sh); colossus-sim gets the whole testbed,
# bench/topologies/testbed-<hosts>x1gbit.xml. Order: run-major, then size, then
# algorithm, so drift (other load on the machine) hits every algorithm alike.
#
# Needs root (the testbed does): exit 77 without it, as testbed.sh. The
# testbed removes itself on exit; this script forwards SIGINT/SIGTERM to it,
# waits for it, and removes its own temporary files.
set -euo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
root=$(cd "$(dirname "$self")/../.." && pwd)

to_bytes() {  # 1M -> 1048576 (all_reduce_perf's K/M/G are powers of 2)
  local s=$1 n m=1
  case "$s" in
    *[kK]) n=${s%?}; m=1024 ;;
    *[mM]) n=${s%?}; m=$((1 << 20)) ;;
    *[gG]) n=${s%?}; m=$((1 << 30)) ;;
    *) n=$s ;;
  esac
  [[ $n =~ ^[0-9]+$ ]] || { echo "sim_fidelity: bad size '$s'" >&2; return 1; }
  echo $((n * m))
}

iters_for() {  # BYTES: -n so that one size and algorithm takes seconds, not minutes
  if [ -n "${ITERS:-}" ]; then echo "$ITERS"
  elif [ "$1" -le $((16 << 20)) ]; then echo 5
  elif [ "$1" -le $((64 << 20)) ]; then echo 3
  else echo 2
  fi
}

# ---------------------------------------------------------------------------
# Inside the testbed (testbed.sh runs this script again with __measure):
# one colossus-run per (run, size, algorithm), its whole output in a log.
if [ "${1:-}" = __measure ]; then
  : "${FID_BUILD:?}" "${FID_RAW:?}" "${FID_RPH:?}" "${TESTBED_HOSTS:?}"
  FID_BIND=${FID_BIND:-}
  # env: every -u before the first NAME=VALUE (env stops reading options there)
  run_env=(-u COLOSSUS_NCHANNELS -u COLOSSUS_CHUNK_BYTES)
  [ "$FID_NCH" = auto ] || run_env+=(COLOSSUS_NCHANNELS="$FID_NCH")
  [ "$FID_CHUNK" = auto ] || run_env+=(COLOSSUS_CHUNK_BYTES="$FID_CHUNK")
  for ((r = 1; r <= FID_RUNS; r++)); do
    for size in $FID_SIZES; do
      bytes=$(to_bytes "$size")
      n=$(iters_for "$bytes")
      for algo in $FID_ALGOS; do
        log=$FID_RAW/run$r-$algo-$size.log
        t0=$(date +%s.%N)
        rc=0
        env "${run_env[@]}" COLOSSUS_ALGO="$algo" COLOSSUS_DEBUG=INFO \
          COLOSSUS_TOPO_FILE="$root/bench/topologies/testbed-1gbit.xml" \
          "$FID_BUILD/bin/colossus-run" --hosts "$TESTBED_HOSTS" --ranks-per-host "$FID_RPH" \
          --timeout 600 --no-tag ${FID_BIND:+--bind-to "$FID_BIND"} -- \
          "$FID_BUILD/bench/all_reduce_perf" -b "$size" -e "$size" -n "$n" -w 1 -c "$FID_CHECK" \
          >"$log" 2>&1 || rc=$?
        t1=$(date +%s.%N)
        us=$(awk -v b="$bytes" '$1 == b && NF >= 13 { print $6; exit }' "$log")
        if [ "$rc" -ne 0 ] || [ -z "$us" ]; then
          echo "sim_fidelity: run $r $algo $size FAILED (exit $rc); last lines of $log:" >&2
          tail -n 5 "$log" | sed 's/^/    /' >&2
        else
          awk -v r="$r" -v a="$algo" -v s="$size" -v us="$us" -v t0="$t0" -v t1="$t1" 'BEGIN {
            printf "sim_fidelity: run %d %-12s %5s: %10.2f ms  (%.1f s wall)\n", r, a, s, us / 1000, t1 - t0 }' >&2
        fi
      done
    done
  done
  exit 0
fi

# ---------------------------------------------------------------------------
build=${1:-build}; hosts=${2:-2}; runs=${3:-3}
case "$build" in /*) ;; *) build=$PWD/$build ;; esac
case "$hosts" in
  2) rph=4 ;;
  4) rph=2 ;;
  *) echo "sim_fidelity: hosts must be 2 or 4, got '$hosts'" >&2; exit 2 ;;
esac
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "sim_fidelity: runs must be a positive integer, got '$runs'" >&2; exit 2; }
nranks=$((hosts * rph))
sizes=${SIZES:-1M 4M 16M 64M 256M}
algos=${ALGOS:-ring tree hierarchical}
nch=${NCH:-2}; chunk=${CHUNK:-512K}
burst=${BURST:-}
check=${CHECK:-1}
bind=${BIND:-}
[[ $bind =~ ^(|core|none)$ ]] || { echo "sim_fidelity: BIND must be core or none" >&2; exit 2; }
[ -n "${ITERS:-}" ] && { [[ $ITERS =~ ^[1-9][0-9]*$ ]] || { echo "sim_fidelity: bad ITERS '$ITERS'" >&2; exit 2; }; }
[[ $check =~ ^[01]$ ]] || { echo "sim_fidelity: CHECK must be 0 or 1" >&2; exit 2; }
for s in $sizes; do to_bytes "$s" >/dev/null || exit 2; done
topo_sim=$root/bench/topologies/testbed-${hosts}x1gbit.xml
sim=$build/bin/colossus-sim
for f in "$build/bin/colossus-run" "$build/bench/all_reduce_perf"; do
  [ -x "$f" ] || { echo "sim_fidelity: $f not built" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "sim_fidelity: needs root (the testbed does); skipping" >&2; exit 77; }

tmp=$(mktemp -d /tmp/sim_fidelity.XXXXXX)
mkdir -p "$tmp/raw"
child=""
on_exit() {
  local rc=$?
  if [ -n "${OUT:-}" ] && [ -d "$tmp" ]; then
    mkdir -p "$OUT" && cp -r "$tmp"/. "$OUT"/ || echo "sim_fidelity: could not copy logs to $OUT" >&2
  fi
  rm -rf "$tmp"
  exit $rc
}
on_signal() {  # SIGNAL NUMBER: the testbed forwards it to its COMMAND and cleans up
  trap - INT TERM
  if [ -n "$child" ]; then
    kill -s "$1" "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit $((128 + $2))
}
trap on_exit EXIT
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM

start=$(date +%s)
echo "sim_fidelity: $hosts hosts x $rph ranks, sizes $sizes, algorithms $algos, $runs run(s)," \
  "nch $nch, chunk $chunk; started $(date -u '+%F %T') UTC, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Measure. testbed.sh in the background with job control on, as testbed.sh
# itself starts COMMAND: a background job otherwise starts with SIGINT
# ignored, and testbed.sh could not trap it to clean up.
export FID_BUILD=$build FID_RAW=$tmp/raw FID_RPH=$rph FID_RUNS=$runs FID_SIZES=$sizes \
  FID_ALGOS=$algos FID_NCH=$nch FID_CHUNK=$chunk FID_CHECK=$check FID_BIND=$bind
[ -n "${ITERS:-}" ] && export ITERS
set -m
"$root/scripts/testbed.sh" --hosts "$hosts" --ranks-per-host "$rph" --rate 1gbit ${burst:+--burst "$burst"} -- \
  bash "$self" __measure &
child=$!
rc=0
wait "$child" || rc=$?
child=""
set +m
[ "$rc" -eq 0 ] || { echo "sim_fidelity: testbed exited $rc" >&2; exit "$rc"; }
measured_s=$(($(date +%s) - start))

# Predict.
sim_note=""
declare -A sim_cmd=()
if [ -x "$sim" ]; then
  first=${sizes%% *}; last=${sizes##* }
  sim_env=(-u COLOSSUS_NCHANNELS -u COLOSSUS_CHUNK_BYTES -u COLOSSUS_TOPO_FILE -u COLOSSUS_ALGO)
  shown=""  # what the report shows: the variables set, paths relative to the repository
  fixed=()  # the measured runs' channels and chunk, fixed for the simulator too
  [ "$nch" = auto ] || fixed+=(--nch "$nch")
  [ "$chunk" = auto ] || fixed+=(--chunk "$chunk")
  for algo in $algos; do
    # shellcheck disable=SC2206 # SIM_ARGS: words on purpose
    cmd=("$sim" --topo "$topo_sim" -n "$nranks" --coll allreduce -b "$first" -e "$last" -f 4
         --algo "$algo" --pick "${fixed[@]}" --csv ${SIM_ARGS:-})
    sim_cmd[$algo]="$shown${cmd[*]#"$root/"}"
    rc=0
    env "${sim_env[@]}" "${cmd[@]}" >"$tmp/sim-$algo.csv" 2>"$tmp/sim-$algo.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
      echo "sim_fidelity: colossus-sim --algo $algo exited $rc:" >&2
      sed 's/^/    /' "$tmp/sim-$algo.err" >&2
    fi
  done
else
  sim_note="colossus-sim not built: predictions skipped"
  echo "$sim_note" >&2
fi

# sim_row ALGO BYTES: "TIME_US NCH CHUNK" of colossus-sim's row for that
# size and algorithm ("-" for what the CSV lacks), or nothing. Reads the CSV
# by its header: size = first column named size*/bytes*, time = first named
# *time* or *predicted* (milliseconds if the name says ms, else
# microseconds), then algo*, nch*/*channels*, *chunk*. Sizes may be bytes or
# 1M-style. A row whose algorithm column names ALGO wins over other rows of
# the size; a refused row (empty time) gives nothing.
sim_row() {
  local f=$tmp/sim-$1.csv
  [ -s "$f" ] || return 0
  awk -F, -v want="$2" -v algo="$1" '
    function bytes(s,   n, u) {
      gsub(/[ "\t]/, "", s); n = s + 0; u = toupper(substr(s, length(s)))
      if (u == "B") { s = substr(s, 1, length(s) - 1); u = toupper(substr(s, length(s))) }
      if (u == "K") n *= 1024; else if (u == "M") n *= 1048576; else if (u == "G") n *= 1073741824
      return n }
    function field(i,   v) { if (!i) return "-"; v = $i; gsub(/[ "\t]/, "", v); return v == "" ? "-" : v }
    /^[ \t]*#/ || NF < 2 { next }
    !hdr {
      if ($1 ~ /[A-Za-z]/) {
        hdr = 1
        for (i = 1; i <= NF; i++) {
          h = tolower($i); gsub(/[ "\t]/, "", h)
          if (!sc && (h ~ /^size/ || h ~ /^bytes/)) sc = i
          if (!tc && (h ~ /time/ || h ~ /predicted/)) { tc = i; scale = (h ~ /ms/ && h !~ /us/) ? 1000 : 1 }
          if (!ac && h ~ /^algo/) ac = i
          if (!nc && (h ~ /^nch/ || h ~ /channels/)) nc = i
          if (!cc && h ~ /chunk/) cc = i
        }
      }
      next
    }
    !sc || !tc || bytes($sc) != want { next }
    {
      t = field(tc); k = field(cc); if (k != "-") k = bytes(k)
      row = (t == "-" ? "" : sprintf("%.3f %s %s", t * scale, field(nc), k))
      if (ac && field(ac) == algo) { print row; found = 1; exit }
      if (first == "") first = row
    }
    END { if (!found && first != "") print first }' "$f"
}

median() { tr ' ' '\n' | { grep -v '^$' || true; } | sort -g | awk '{ v[NR] = $1 } END {
  if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ms() { awk -v us="$1" 'BEGIN { x = us / 1000; printf (x < 100 ? "%.2f" : "%.1f"), x }'; }
label() { local b; b=$(to_bytes "$1"); if [ "$b" -ge $((1 << 20)) ]; then echo "$((b >> 20)) MiB"; else echo "$b B"; fi; }
kib() { [ "$1" = - ] && echo - || echo "$(($1 / 1024))K"; }

# Gather per (algorithm, size): every run's times, rank 0's tuner line, the sim's row.
declare -A med=() runs_oop=() ipmed=() wrong=() tuner=() ran=() pred=() simset=()
mismatch=()
for algo in $algos; do
  for size in $sizes; do
    k=$algo/$size bytes=$(to_bytes "$size")
    oop="" ip="" w_sum=0 line=""
    for ((r = 1; r <= runs; r++)); do
      log=$tmp/raw/run$r-$algo-$size.log
      read -r o i w <<<"$(awk -v b="$bytes" '$1 == b && NF >= 13 {
        w = ($9 ~ /^[0-9]+$/ ? $9 : 0) + ($13 ~ /^[0-9]+$/ ? $13 : 0); print $6, $10, w; exit }' "$log" 2>/dev/null)" || true
      oop+=" ${o:-}"; ip+=" ${i:-}"; w_sum=$((w_sum + ${w:-0}))
      runs_oop[$k]+=" $([ -n "${o:-}" ] && ms "$o" || echo failed) |"
      # rank 0, COLOSSUS_DEBUG=INFO: "allreduce 1048576 B float on 8 ranks: ring, 2 ch,
      # chunk 524288 B, predicted 9034 us (NIC-bound) [COLOSSUS_ALGO]; ..."
      [ -n "$line" ] || line=$(grep -o "allreduce $bytes B float on [0-9]* ranks: [^;(]*" "$log" 2>/dev/null |
        head -n 1 | sed -nE 's/.*ranks: [a-z_]+, ([0-9]+) ch, chunk ([0-9]+) B, predicted ([0-9.]+) us.*/\1 \2 \3/p' || true)
      unset o i w
    done
    med[$k]=$(echo "$oop" | median); ipmed[$k]=$(echo "$ip" | median); wrong[$k]=$w_sum
    if [ -n "$line" ]; then
      read -r tc tk tp <<<"$line"
      ran[$k]="$tc $tk"; tuner[$k]="$tc ch, $(kib "$tk"), $(ms "$tp") ms"
    fi
    if [ -z "$sim_note" ]; then
      row=$(sim_row "$algo" "$bytes")
      if [ -n "$row" ]; then
        read -r st sn sk <<<"$row"
        pred[$k]=$st simset[$k]="$sn $sk"
        # What ran against what was simulated (an unknown side compares equal).
        if [ -n "${ran[$k]:-}" ]; then
          read -r tc tk <<<"${ran[$k]}"
          if { [ "$sn" != - ] && [ "$sn" != "$tc" ]; } || { [ "$sk" != - ] && [ "$sk" != "$tk" ]; }; then
            mismatch+=("$algo $(label "$size"): measured with $tc ch, chunk $(kib "$tk"); simulated with $sn ch, chunk $(kib "$sk")")
          fi
        fi
      fi
    fi
  done
done

{
  echo "Fidelity, ${hosts} hosts x ${rph} ranks, 1 Gbit/s tbf (burst ${burst:-1250000} B), fp32 sum allreduce, out of place;" \
    "nch ${nch}, chunk ${chunk}; median of ${runs}; measured $(date -u '+%F') UTC in ${measured_s} s:"
  echo
  echo "| hosts | algo | size | measured median (ms) | predicted (ms) | error % |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for algo in $algos; do
    for size in $sizes; do
      k=$algo/$size m=${med[$algo/$size]} p=${pred[$algo/$size]:-}
      err="-"
      [ -n "$m" ] && [ -n "$p" ] && err=$(awk -v p="$p" -v m="$m" 'BEGIN { printf "%+.1f", (p - m) / m * 100 }')
      echo "| $hosts | $algo | $(label "$size") | $([ -n "$m" ] && ms "$m" || echo failed) |" \
        "$([ -n "$p" ] && ms "$p" || echo -) | $err |"
    done
  done
  [ -z "$sim_note" ] || { echo; echo "$sim_note"; }
  if [ "${#mismatch[@]}" -gt 0 ]; then
    echo
    echo "Warning: colossus-sim did not simulate what ran (it may not read COLOSSUS_NCHANNELS /"
    echo "COLOSSUS_CHUNK_BYTES; give it its own flags through SIM_ARGS, or run with NCH=auto CHUNK=auto):"
    for m in "${mismatch[@]}"; do echo "- $m"; done
  fi

  echo
  echo "Every run (ms, out of place); in place median; rank 0's tuner: channels, chunk, its"
  echo "own analytic prediction; the simulated channels and chunk; #wrong over all runs:"
  echo
  hdr="| hosts | algo | size | -n |" sep="| --- | --- | --- | --- |"
  for ((r = 1; r <= runs; r++)); do hdr+=" run $r |"; sep+=" --- |"; done
  echo "$hdr in place median | tuner | simulated | #wrong |"
  echo "$sep --- | --- | --- | --- |"
  for algo in $algos; do
    for size in $sizes; do
      k=$algo/$size
      sim_set="-"
      if [ -n "${simset[$k]:-}" ]; then read -r sn sk <<<"${simset[$k]}"; sim_set="$sn ch, $(kib "$sk")"; fi
      echo "| $hosts | $algo | $(label "$size") | $(iters_for "$(to_bytes "$size")") |${runs_oop[$k]}" \
        "$([ -n "${ipmed[$k]}" ] && ms "${ipmed[$k]}" || echo failed) | ${tuner[$k]:--} | $sim_set | ${wrong[$k]} |"
    done
  done

  if [ -z "$sim_note" ]; then
    echo
    echo "Predictions (colossus-sim, raw CSV):"
    for algo in $algos; do
      echo
      echo "    \$ ${sim_cmd[$algo]}"
      sed 's/^/    /' "$tmp/sim-$algo.csv"
      [ ! -s "$tmp/sim-$algo.err" ] || sed 's/^/    (stderr) /' "$tmp/sim-$algo.err"
    done
  fi
  echo
  echo "Command: bench/scripts/sim_fidelity.sh ${build#"$root/"} $hosts $runs" \
    "(SIZES=\"$sizes\" NCH=$nch CHUNK=$chunk${ITERS:+ ITERS=$ITERS} CHECK=$check${bind:+ BIND=$bind});" \
    "total $(($(date +%s) - start)) s."
} | tee "$tmp/report.md"
