#!/usr/bin/env bash
# Runs inside scripts/testbed.sh --hosts 2 --ranks-per-host 2 (no --rate:
# the cut needs eth0's root qdisc). 4 ranks (0,1 on host 0; 2,3 on host 1)
# run allreduces in a loop; once all of them loop, the link between the
# hosts is cut: netem loss 100% both ways on host 1's link (the switch port
# and host 1's eth0); where the kernel lacks netem, host 1's bridge port is
# disabled (it forwards nothing, both ends keep their carrier); failing
# that, the switch port is set down. Nothing tells the kernel's TCP the peer is gone: the library
# must notice. Every rank must then end with a RemoteError naming a rank of
# the other host as failed or unreachable, before COLOSSUS_TIMEOUT_S runs
# out (a Timeout error, at the timeout, is what a library without failure
# detection gives: it fails this test).
#   link_cut.sh PATH/TO/colossus-run PATH/TO/link_cut_worker
set -euo pipefail
run=$1
worker=$2
timeout_s=${COLOSSUS_TIMEOUT_S:-20}
export COLOSSUS_TIMEOUT_S=$timeout_s
IFS=, read -r -a hosts <<<"$TESTBED_HOSTS"
[ "${#hosts[@]}" -eq 2 ] && [ "$TESTBED_RANKS_PER_HOST" -eq 2 ] || {
  echo "link_cut.sh: needs --hosts 2 --ranks-per-host 2" >&2
  exit 2
}
sw=${hosts[0]%-h0}-sw
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$(mktemp)
job=
trap 'rm -f "$out"; [ -z "$job" ] || kill "$job" 2>/dev/null || true' EXIT

"$run" --hosts "$TESTBED_HOSTS" --ranks-per-host 2 --timeout $((timeout_s + 60)) -- \
  "$worker" $((timeout_s + 50)) >"$out" 2>&1 &
job=$!

for ((i = 0; i < 600; i++)); do  # every rank loops (60 s at most)
  [ "$(grep -c 'LOOPING' "$out" || true)" -ge 4 ] && break
  kill -0 "$job" 2>/dev/null || { cat "$out"; fail "the job ended before all ranks looped"; }
  sleep 0.1
done
[ "$(grep -c 'LOOPING' "$out" || true)" -ge 4 ] || { cat "$out"; fail "ranks never all looped"; }
sleep 0.5

cut_t=$(date +%s.%N)
if tc -n "$sw" qdisc add dev p1 root netem loss 100% 2>/dev/null &&
   tc -n "${hosts[1]}" qdisc add dev eth0 root netem loss 100% 2>/dev/null; then
  how="netem loss 100% on host 1's link"
elif bridge -n "$sw" link set dev p1 state 0 2>/dev/null &&
     ip -n "$sw" -d link show p1 | grep -q 'state disabled'; then
  how="bridge port of host 1 disabled (a blackhole: both links keep their carrier)"
else
  ip -n "$sw" link set p1 down
  how="switch port of host 1 down"
fi
echo "link cut ($how) at $cut_t"

set +e
wait "$job"
rc=$?
set -e
job=
end_t=$(date +%s.%N)
cat "$out"
echo "colossus-run exited $rc, $(awk -v a="$cut_t" -v b="$end_t" 'BEGIN { printf "%.2f", b - a }') s after the cut"

bad=0
for r in 0 1 2 3; do
  if [ "$r" -lt 2 ]; then other="2|3"; else other="0|1"; fi
  line=$(grep -E "^\[$r\] LINKCUT-ERROR " "$out" | head -1 || true)
  if [ -z "$line" ]; then
    echo "FAIL: rank $r reported no error" >&2
    bad=1
    continue
  fi
  t=$(sed -E 's/.* t=([0-9.]+) .*/\1/' <<<"$line")
  dt=$(awk -v a="$cut_t" -v b="$t" 'BEGIN { printf "%.2f", b - a }')
  echo "rank $r: error ${dt} s after the cut"
  if ! grep -qE "rank ($other)([^0-9]|$)" <<<"$line"; then
    echo "FAIL: rank $r's error names no rank of the other host ($other): $line" >&2
    bad=1
  fi
  if ! grep -qE "LINKCUT-ERROR code=remote error " <<<"$line" ||
     ! grep -qiE "unreachable|failed" <<<"$line"; then
    echo "FAIL: rank $r's error is not a RemoteError saying failed/unreachable: $line" >&2
    bad=1
  fi
  if awk -v d="$dt" -v l="$timeout_s" 'BEGIN { exit !(d >= l - 2 || d < 0) }'; then
    echo "FAIL: rank $r's error came ${dt} s after the cut: not before COLOSSUS_TIMEOUT_S=$timeout_s" >&2
    bad=1
  fi
done
[ "$rc" -eq 0 ] || { echo "FAIL: colossus-run exited $rc" >&2; bad=1; }
[ "$bad" -eq 0 ] || exit 1
echo "ok: every rank failed naming a rank across the cut"
