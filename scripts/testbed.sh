#!/usr/bin/env bash
# testbed.sh: several "hosts" on one machine, for multi-host tests (DESIGN.md,
# testing ladder step 4).
#
#   scripts/testbed.sh [--hosts H] [--ranks-per-host R] [--rate RATE] [--delay D]
#                      [--keep] -- COMMAND [ARGS...]
#   scripts/testbed.sh exec HOST -- COMMAND [ARGS...]   run inside one host
#   scripts/testbed.sh cleanup [--all | cb-PID]         remove leftovers
#
# What a host is. Host i (0-based) of the testbed started by process PID is:
#   - a network namespace  cb-PID-h<i>  (/run/netns/cb-PID-h<i>) with loopback
#     up and one interface, eth0, addressed 10.77.0.<i+1>/24;
#   - a UTS namespace bind-mounted at /run/colossus-testbed/cb-PID-h<i>.uts
#     whose hostname is cb-PID-h<i>, so gethostname() tells hosts apart.
# Each eth0 is a veth whose peer (p<i>) is a port of bridge br0, and the
# bridge lives in a namespace of its own (cb-PID-sw): the root namespace's
# network is never touched, and 10.77.0.0/24 exists only inside the testbed,
# with no route out of it.
#
# Shaping. --rate puts a tbf qdisc (rate RATE, burst = 10 ms of RATE, at least
# 32 KiB, or --burst BYTES; 50 ms of queue) on both ends of every host's link: eth0's egress
# (host -> switch) and p<i>'s egress (switch -> host). A transfer between
# two hosts therefore runs at RATE, and two hosts sending to one share RATE,
# as on a switched fabric. --delay D adds a netem delay D on each host's
# egress only, so D is the one-way latency between two hosts (RTT 2D). RATE
# uses tc's units: 100mbit, 1gbit, 10gbit, 125mbps (bytes/s), ... Shaping
# only means something below what an unshaped veth pair carries on the
# machine (about 3 Gbit/s of one TCP flow on a 2-core VM): measure first.
#
# COMMAND runs in the root namespaces (it usually is colossus-run --hosts)
# with these variables:
#   TESTBED_HOSTS           cb-PID-h0,cb-PID-h1,...   (host = namespace = hostname)
#   TESTBED_ADDRS           10.77.0.1,10.77.0.2,...   (each host's eth0 address)
#   TESTBED_RANKS_PER_HOST  R (default 1), TESTBED_NRANKS  H*R
#   TESTBED_SCRIPT          this script's absolute path, for "$TESTBED_SCRIPT exec"
# e.g.  scripts/testbed.sh --hosts 2 --ranks-per-host 2 --rate 1gbit -- \
#         sh -c 'build/bin/colossus-run --hosts "$TESTBED_HOSTS" \
#                  --ranks-per-host "$TESTBED_RANKS_PER_HOST" -- ./my_program'
#
# Entering a host by hand is what `exec` does:
#   nsenter --uts=/run/colossus-testbed/HOST.uts -- ip netns exec HOST CMD...
# (`ip netns exec` also remounts /sys so /sys/class/net shows the host's own
# interfaces; colossus-run --hosts does the same with setns(2) directly).
#
# Exit status: COMMAND's. 77 (ctest's SKIP_RETURN_CODE) with one line on
# stderr when the machine cannot host a testbed (not root, no ip netns, no
# veth/bridge, no tbf or netem qdisc for --rate/--delay); 2 on bad usage. The testbed is always
# removed when the script exits, also on SIGINT/SIGTERM, unless --keep. Every
# run first removes what crashed runs (killed with SIGKILL) left behind;
# `cleanup` also removes kept testbeds, `cleanup --all` even the testbeds of
# runs still going, and `cleanup cb-PID` exactly one testbed.
set -euo pipefail

readonly NETNS_DIR=/run/netns
readonly UTS_DIR=/run/colossus-testbed  # colossus-run looks for HOST.uts here too
readonly SUBNET=10.77.0                 # a /24 that exists only inside testbeds
readonly MAX_HOSTS=250

die() { echo "testbed: $*" >&2; exit 2; }
skip() { echo "testbed: $*; skipping" >&2; exit 77; }

usage() {
  cat >&2 <<'EOF'
usage: testbed.sh [--hosts H] [--ranks-per-host R] [--rate RATE] [--burst BYTES] [--delay D] [--keep] -- COMMAND...
       testbed.sh exec HOST -- COMMAND...
       testbed.sh cleanup [--all | cb-PID]
EOF
  exit 2
}

need_root_and_netns() {
  local tool
  [ "$(id -u)" -eq 0 ] || skip "needs root and ip netns"
  for tool in ip tc nsenter unshare; do
    command -v "$tool" >/dev/null 2>&1 || skip "needs root and ip netns"
  done
  ip netns list >/dev/null 2>&1 || skip "needs root and ip netns"
}

# remove_testbed PID: everything of the testbed that process PID made. Safe to
# call on a half-built or already removed testbed.
remove_testbed() {
  local id=$1 path ns pids
  for path in "$NETNS_DIR"/cb-"$id"-*; do
    [ -e "$path" ] || continue
    ns=${path##*/}
    # Anything still running inside belongs to the testbed; left alive it
    # would keep the namespace (and its addresses) around after the delete.
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    # shellcheck disable=SC2086 # one word per pid
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    ip netns delete "$ns" 2>/dev/null || true
  done
  for path in "$UTS_DIR"/cb-"$id"-*.uts; do
    [ -e "$path" ] || continue
    umount "$path" 2>/dev/null || true
    rm -f "$path"
  done
  rm -f "$UTS_DIR/cb-$id.keep"
}

# cleanup_leftovers MODE: remove testbeds whose creator process is gone.
#   auto: not those kept with --keep (what every run does first)
#   dead: kept ones too (`cleanup`)
#   all:  every testbed, even ones whose creator still runs (`cleanup --all`)
cleanup_leftovers() {
  local mode=$1 path name id
  local -A seen=()
  for path in "$NETNS_DIR"/cb-* "$UTS_DIR"/cb-*; do
    [ -e "$path" ] || continue
    name=${path##*/}
    id=${name#cb-}
    id=${id%%[-.]*}
    [[ $id =~ ^[0-9]+$ ]] || continue
    [ -z "${seen[$id]:-}" ] || continue
    seen[$id]=1
    if [ "$mode" != all ]; then
      kill -0 "$id" 2>/dev/null && continue
      [ "$mode" = auto ] && [ -e "$UTS_DIR/cb-$id.keep" ] && continue
    fi
    echo "testbed: removing testbed cb-$id-*" >&2
    remove_testbed "$id"
  done
}

# rate_to_bits RATE: bits per second of a tc rate (bare number = bit/s).
rate_to_bits() {
  local rate=${1,,}
  [[ $rate =~ ^([0-9]+(\.[0-9]+)?)([kmgt]?)(bit|bps)?$ ]] || return 1
  local num=${BASH_REMATCH[1]} prefix=${BASH_REMATCH[3]} unit=${BASH_REMATCH[4]:-bit}
  awk -v n="$num" -v p="$prefix" -v u="$unit" 'BEGIN {
    m = 1; if (p == "k") m = 1e3; else if (p == "m") m = 1e6; else if (p == "g") m = 1e9; else if (p == "t") m = 1e12;
    if (u == "bps") m *= 8;
    printf "%.0f\n", n * m }'
}

# shape NS DEV SIDE: tbf (and on the host side netem) on DEV's egress.
shape() {
  local ns=$1 dev=$2 side=$3 parent=(root)
  if [ -n "$delay" ] && [ "$side" = host ]; then
    tc -n "$ns" qdisc add dev "$dev" root handle 1: netem delay "$delay" limit 100000
    parent=(parent 1:1)
  fi
  if [ -n "$rate" ]; then
    tc -n "$ns" qdisc add dev "$dev" "${parent[@]}" handle 10: tbf rate "$rate" \
      burst "$burst" latency 50ms
  fi
}

# Tries, in a scratch namespace, everything a testbed needs, so that a
# machine that cannot host one (a container without CAP_SYS_ADMIN, a kernel
# without veth, bridge, tbf or netem) gets one clear line and exit 77 rather
# than a failure halfway through.
check_capabilities() {
  local probe=cb-$$-probe
  ip netns add "$probe" 2>/dev/null || skip "needs root and ip netns"
  lacking() { ip netns delete "$probe" 2>/dev/null || true; skip "$1"; }
  unshare --uts true 2>/dev/null || lacking "needs root and ip netns (UTS namespaces)"
  ip -n "$probe" link add name pa type veth peer name pb 2>/dev/null ||
    lacking "needs veth pairs (CONFIG_VETH)"
  ip -n "$probe" link add name pbr type bridge 2>/dev/null || lacking "needs bridges (CONFIG_BRIDGE)"
  if [ -n "$rate" ] && ! tc -n "$probe" qdisc add dev pa root tbf rate "$rate" burst "$burst" \
      latency 50ms 2>/dev/null; then
    lacking "--rate needs the tbf qdisc (CONFIG_NET_SCH_TBF), which this kernel lacks"
  fi
  if [ -n "$delay" ] && ! tc -n "$probe" qdisc add dev pb root netem delay "$delay" 2>/dev/null; then
    lacking "--delay needs the netem qdisc (CONFIG_NET_SCH_NETEM), which this kernel lacks"
  fi
  ip netns delete "$probe"
}

build_testbed() {
  local sw=cb-$$-sw i host
  mkdir -p "$UTS_DIR"
  ip netns add "$sw"
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  for ((i = 0; i < nhosts; i++)); do
    host=cb-$$-h$i
    ip netns add "$host"
    ip -n "$host" link set lo up
    # Made directly inside the two namespaces: the root namespace never sees either end.
    ip link add name eth0 netns "$host" type veth peer name "p$i" netns "$sw"
    ip -n "$sw" link set "p$i" master br0
    ip -n "$sw" link set "p$i" up
    ip -n "$host" addr add "$SUBNET.$((i + 1))/24" dev eth0
    ip -n "$host" link set eth0 up
    shape "$host" eth0 host
    shape "$sw" "p$i" switch
    # A UTS namespace outlives `unshare` through its bind mount on the file.
    touch "$UTS_DIR/$host.uts"
    unshare --uts="$UTS_DIR/$host.uts" hostname "$host"
    hosts+=("$host")
    addrs+=("$SUBNET.$((i + 1))")
  done
}

join() { local IFS=,; echo "$*"; }

case "${1:-}" in
  exec)
    shift
    [ $# -ge 3 ] && [ "$2" = -- ] || usage
    host=$1
    shift 2
    need_root_and_netns
    [ -e "$NETNS_DIR/$host" ] || die "no host $host ($NETNS_DIR/$host does not exist)"
    if [ -e "$UTS_DIR/$host.uts" ]; then
      exec nsenter --uts="$UTS_DIR/$host.uts" -- ip netns exec "$host" "$@"
    fi
    exec ip netns exec "$host" "$@"
    ;;
  cleanup)
    shift
    [ $# -le 1 ] || usage
    need_root_and_netns
    case "${1:-}" in
      "") cleanup_leftovers dead ;;
      --all) cleanup_leftovers all ;;
      cb-*) id=${1#cb-}; id=${id%%-*}; [[ $id =~ ^[0-9]+$ ]] || usage; remove_testbed "$id" ;;
      *) usage ;;
    esac
    exit 0
    ;;
esac

nhosts=2 ranks_per_host=1 rate="" delay="" burst_arg="" keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) [ $# -ge 2 ] || usage; nhosts=$2; shift 2 ;;
    --ranks-per-host) [ $# -ge 2 ] || usage; ranks_per_host=$2; shift 2 ;;
    --rate) [ $# -ge 2 ] || usage; rate=$2; shift 2 ;;
    --delay) [ $# -ge 2 ] || usage; delay=$2; shift 2 ;;
    --burst) [ $# -ge 2 ] || usage; burst_arg=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) echo "testbed: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ $nhosts =~ ^[0-9]+$ ]] && [ "$nhosts" -ge 1 ] && [ "$nhosts" -le $MAX_HOSTS ] ||
  die "--hosts expects 1..$MAX_HOSTS, got '$nhosts'"
[[ $ranks_per_host =~ ^[0-9]+$ ]] && [ "$ranks_per_host" -ge 1 ] ||
  die "--ranks-per-host expects a positive integer, got '$ranks_per_host'"
[[ -z $delay || ${delay,,} =~ ^[0-9]+(\.[0-9]+)?(s|ms|us|usec|msec|sec)$ ]] ||
  die "--delay expects a time such as 100us or 2ms, got '$delay'"
burst=""
if [ -n "$rate" ]; then
  bits=$(rate_to_bits "$rate") || die "--rate expects a tc rate such as 100mbit or 1gbit, got '$rate'"
  [ "$bits" -gt 0 ] || die "--rate must be positive"
  # 10 ms of traffic: large enough for the timer granularity and for GSO
  # packets at high rates, small next to any measured transfer.
  burst=$((bits / 8 / 100))
  [ "$burst" -ge 32768 ] || burst=32768
  if [ -n "$burst_arg" ]; then
    [[ $burst_arg =~ ^[0-9]+$ ]] && [ "$burst_arg" -ge 2048 ] ||
      die "--burst expects bytes >= 2048, got '$burst_arg'"
    burst=$burst_arg
  fi
fi
[ $# -gt 0 ] || [ $keep -eq 1 ] || { echo "testbed: no COMMAND given" >&2; usage; }

need_root_and_netns
cleanup_leftovers auto

hosts=() addrs=() child="" built=0
on_exit() {
  local rc=$?
  if [ $keep -eq 1 ] && [ $built -eq 1 ]; then
    touch "$UTS_DIR/cb-$$.keep"
    echo "testbed: kept cb-$$-*; remove it with: $0 cleanup cb-$$" >&2
  else
    remove_testbed $$
  fi
  exit $rc
}
on_signal() {  # SIGNAL NUMBER: pass the signal on, let COMMAND finish, then clean up
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

check_capabilities
build_testbed
built=1
export TESTBED_HOSTS TESTBED_ADDRS TESTBED_RANKS_PER_HOST TESTBED_NRANKS TESTBED_SCRIPT
TESTBED_HOSTS=$(join "${hosts[@]}")
TESTBED_ADDRS=$(join "${addrs[@]}")
TESTBED_RANKS_PER_HOST=$ranks_per_host
TESTBED_NRANKS=$((nhosts * ranks_per_host))
TESTBED_SCRIPT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

if [ $# -eq 0 ]; then  # --keep without COMMAND: leave the testbed for interactive use
  echo "export TESTBED_HOSTS=$TESTBED_HOSTS TESTBED_ADDRS=$TESTBED_ADDRS" \
       "TESTBED_RANKS_PER_HOST=$TESTBED_RANKS_PER_HOST TESTBED_NRANKS=$TESTBED_NRANKS" \
       "TESTBED_SCRIPT=$TESTBED_SCRIPT"
  exit 0
fi

# In the background so that `wait` returns when a signal arrives and the trap
# runs at once. Job control on (set -m) puts COMMAND in its own process
# group: without it bash starts background commands with SIGINT ignored, and
# a forwarded SIGINT would be lost; with it a terminal's Ctrl-C reaches only
# this script, which forwards it once.
set -m
"$@" &
child=$!
rc=0
wait "$child" || rc=$?
child=""
exit $rc
