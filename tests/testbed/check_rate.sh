#!/usr/bin/env bash
# Runs inside scripts/testbed.sh --hosts 3 --rate RATE: measures TCP goodput
# between testbed hosts with tcp_rate and checks it against the shaped rate.
#   check_rate.sh PATH/TO/tcp_rate RATE_MBIT
# 1. h0 -> h1: one flow crosses h0's shaped egress and the switch's shaped
#    port towards h1, so it must run at about RATE (70%..105%: TCP/IP headers
#    take ~5%, and TCP does not keep a token bucket's queue full all the time).
# 2. h0 -> h1 and h2 -> h1 at once: each sender's own link allows RATE, so
#    only the switch -> h1 shaping keeps their sum at RATE. This is what makes
#    the testbed a switched fabric rather than two independent rate limits.
set -euo pipefail
tcp_rate=$1
rate_mbit=$2
IFS=, read -r -a hosts <<<"$TESTBED_HOSTS"
IFS=, read -r -a addrs <<<"$TESTBED_ADDRS"
seconds=2
port=5301

in_host() { local h=$1; shift; "$TESTBED_SCRIPT" exec "$h" -- "$@"; }

# measure NAME RECEIVER_INDEX SENDER_INDEX...: prints the receiver's mbit/s.
measure() {
  local name=$1 to=$2 from
  shift 2
  local out
  out=$(mktemp)
  in_host "${hosts[$to]}" "$tcp_rate" recv "${addrs[$to]}" "$port" $# >"$out" &
  local receiver=$!
  local senders=()
  for from in "$@"; do
    in_host "${hosts[$from]}" "$tcp_rate" send "${addrs[$to]}" "$port" "$seconds" &
    senders+=($!)
  done
  for pid in "${senders[@]}"; do wait "$pid"; done
  wait "$receiver"
  echo "$name: $(cat "$out")" >&2
  sed -n 's/.*mbit_per_s=\([0-9.]*\).*/\1/p' "$out"
  rm -f "$out"
  port=$((port + 1))
}

check() {  # NAME MEASURED
  awk -v m="$2" -v r="$rate_mbit" -v n="$1" 'BEGIN {
    lo = 0.70 * r; hi = 1.05 * r
    ok = (m >= lo && m <= hi)
    printf "%s: %.1f Mbit/s against a shaped %d Mbit/s (%.0f%%, accepted %.0f..%.0f) %s\n",
           n, m, r, 100 * m / r, lo, hi, ok ? "ok" : "FAIL"
    exit !ok }'
}

status=0
check "h0 -> h1" "$(measure "h0 -> h1" 1 0)" || status=1
check "h0 + h2 -> h1" "$(measure "h0 + h2 -> h1" 1 0 2)" || status=1
exit $status
