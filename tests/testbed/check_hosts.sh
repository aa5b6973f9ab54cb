#!/usr/bin/env bash
# Runs inside scripts/testbed.sh --hosts 2 --ranks-per-host 2: colossus-run
# --hosts puts ranks 0,1 on host 0 and 2,3 on host 1, each host with its own
# hostname and network, and COLOSSUS_BOOTSTRAP_ADDR names host 0's testbed
# address with a port that rank 0 can listen on and every rank can reach.
#   check_hosts.sh PATH/TO/colossus-run PATH/TO/tcp_rate
set -euo pipefail
run=$1
tcp_rate=$2
IFS=, read -r -a hosts <<<"$TESTBED_HOSTS"
IFS=, read -r -a addrs <<<"$TESTBED_ADDRS"
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$run" --hosts "$TESTBED_HOSTS" --ranks-per-host "$TESTBED_RANKS_PER_HOST" --timeout 20 -- sh -c \
  'echo "$COLOSSUS_RANK $(hostname) $COLOSSUS_LOCAL_RANK $COLOSSUS_LOCAL_SIZE $COLOSSUS_WORLD_SIZE $COLOSSUS_BOOTSTRAP_ADDR"' \
  >"$out"
cat "$out"
for r in 0 1 2 3; do
  host=${hosts[$((r / 2))]}
  grep -qE "^\[$r\] $r $host $((r % 2)) 2 4 ${addrs[0]//./\\.}:[0-9]+$" "$out" ||
    fail "rank $r: expected host $host, local rank $((r % 2)) of 2, bootstrap at ${addrs[0]}"
done
[ "$(awk '{ print $3 }' "$out" | sort -u | wc -l)" -eq 2 ] || fail "expected two distinct hostnames"
[ "$(hostname)" != "${hosts[0]}" ] || fail "the testbed changed the machine's own hostname"

# A rank's /sys/class/net lists its host's interfaces, not the machine's
# (topology discovery reads NIC speeds there).
"$run" --hosts "$TESTBED_HOSTS" -n 2 --ranks-per-host 1 -- ls /sys/class/net >"$out"
[ "$(sort "$out" | tr '\n' ' ')" = "[0] eth0 [0] lo [1] eth0 [1] lo " ] ||
  fail "/sys/class/net inside the hosts: $(cat "$out")"

# The bootstrap address works: rank 0 listens on it, the three others (two
# of them on the other host) connect to it and send.
"$run" --hosts "$TESTBED_HOSTS" --ranks-per-host "$TESTBED_RANKS_PER_HOST" --timeout 20 -- sh -c '
  addr=${COLOSSUS_BOOTSTRAP_ADDR%:*} port=${COLOSSUS_BOOTSTRAP_ADDR##*:}
  if [ "$COLOSSUS_RANK" = 0 ]; then exec "$0" recv "$addr" "$port" 3; fi
  exec "$0" send "$addr" "$port" 0.2' "$tcp_rate" >"$out"
cat "$out"
grep -qE '^\[0\] bytes=[1-9][0-9]* ' "$out" || fail "rank 0 received nothing at the bootstrap address"
echo "ok: 4 ranks on ${hosts[*]}, bootstrap at ${addrs[0]}"
