#!/usr/bin/env bash
# testbed_rsh.sh: an "ssh" for Open MPI's mpirun on the network-namespace
# testbed (scripts/testbed.sh), so that mpirun, itself run inside one testbed
# host, can start its daemons (orted) in the other hosts:
#
#   $TESTBED_SCRIPT exec HOST0 -- mpirun --mca plm_rsh_agent bench/scripts/testbed_rsh.sh \
#       --host 10.77.0.1:1,10.77.0.2:1 ...
#
# Open MPI 4.1's rsh launcher calls its agent as ssh would be called:
#   testbed_rsh.sh [OPTIONS...] NODE WORD...
# where NODE is a name from --host (here a testbed address, 10.77.0.<i+1>) and
# the WORDs, joined with spaces, are one command line for a remote shell (they
# carry their own quoting, e.g. the daemon's -mca orte_hnp_uri "..."). The
# node is mapped back to its host by position in TESTBED_ADDRS/TESTBED_HOSTS
# (a host name, cb-PID-h<i>, is taken as is), and the command runs there as
#   $TESTBED_SCRIPT exec HOST -- sh -c "WORD..."
# TESTBED_ADDRS, TESTBED_HOSTS and TESTBED_SCRIPT come from the environment:
# the testbed sets them for its COMMAND, `exec` and mpirun pass them on.
set -euo pipefail
die() { echo "testbed_rsh: $*" >&2; exit 255; }
: "${TESTBED_SCRIPT:?testbed_rsh: TESTBED_SCRIPT is not set (run under scripts/testbed.sh)}"
: "${TESTBED_HOSTS:?testbed_rsh: TESTBED_HOSTS is not set}"
: "${TESTBED_ADDRS:?testbed_rsh: TESTBED_ADDRS is not set}"
# ssh-style options before the node (none are expected; -x and the like are
# skipped, options that take a value are not supported).
while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done
[ $# -ge 2 ] || die "usage: testbed_rsh.sh [OPTIONS] NODE COMMAND..."
node=$1; shift
node=${node#*@}  # user@node
IFS=, read -r -a hosts <<<"$TESTBED_HOSTS"
IFS=, read -r -a addrs <<<"$TESTBED_ADDRS"
host=
for i in "${!hosts[@]}"; do
  if [ "$node" = "${addrs[$i]:-}" ] || [ "$node" = "${hosts[$i]}" ]; then host=${hosts[$i]}; break; fi
done
[ -n "$host" ] || die "no testbed host for node '$node' (hosts $TESTBED_HOSTS, addrs $TESTBED_ADDRS)"
exec "$TESTBED_SCRIPT" exec "$host" -- sh -c "$*"
