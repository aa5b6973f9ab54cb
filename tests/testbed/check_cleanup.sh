#!/usr/bin/env bash
# scripts/testbed.sh leaves nothing behind: not after COMMAND ends, not when
# it is stopped with SIGTERM (COMMAND is stopped too); the next run removes
# what a testbed killed with SIGKILL left, `cleanup cb-PID` what --keep kept. Also: a
# non-root user is told, in one line, that the testbed is skipped (exit 77).
#   check_cleanup.sh PATH/TO/testbed.sh
set -euo pipefail
testbed=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# Without root the testbed itself says why and exits 77: pass that on.
[ "$(id -u)" -eq 0 ] || { bash "$testbed" -- true; exit $?; }

# leftovers ID: names of anything of testbed cb-ID-* still present.
leftovers() { ls -d /run/netns/cb-"$1"-* /run/colossus-testbed/cb-"$1"-* 2>/dev/null || true; }
wait_for() {  # FILE: until it exists, at most 10 s
  local i
  for ((i = 0; i < 1000; i++)); do [ -s "$1" ] && return 0; sleep 0.01; done
  fail "$1 never appeared"
}
alive() { [ -e "/proc/$1" ] && [ "$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat")" != Z ]; }

# 1. Normal end: COMMAND's status comes back, nothing is left.
rc=0
bash "$testbed" --hosts 2 -- sh -c 'echo "$TESTBED_HOSTS" > '"$tmp"'/hosts; exit 7' || rc=$?
[ $rc -eq 7 ] || fail "COMMAND's exit status 7 came back as $rc"
id=$(sed 's/^cb-\([0-9]*\)-.*/\1/' "$tmp/hosts")
[ -z "$(leftovers "$id")" ] || fail "left behind: $(leftovers "$id")"
echo "ok: normal exit cleans up"

# 2. SIGTERM while COMMAND runs: COMMAND gets it, then the testbed goes.
bash "$testbed" --hosts 2 -- sh -c 'echo $$ > '"$tmp"'/cmd; exec sleep 100' &
tb=$!
wait_for "$tmp/cmd"
cmd=$(cat "$tmp/cmd")
kill -TERM "$tb"
rc=0
wait "$tb" || rc=$?
[ $rc -eq 143 ] || fail "SIGTERM: exit status $rc, expected 143"
[ -z "$(leftovers "$tb")" ] || fail "left behind after SIGTERM: $(leftovers "$tb")"
! alive "$cmd" || fail "COMMAND (pid $cmd) survived SIGTERM"
echo "ok: SIGTERM stops COMMAND and cleans up"

# 3. SIGKILL: nothing can run in the testbed; the next run removes it. (Not
# `cleanup`, which would also remove testbeds someone kept on this machine.)
rm -f "$tmp/cmd"
bash "$testbed" --hosts 3 -- sh -c 'echo $$ > '"$tmp"'/cmd; exec sleep 100' &
tb=$!
wait_for "$tmp/cmd"
cmd=$(cat "$tmp/cmd")
kill -KILL "$tb"
wait "$tb" || true
[ -n "$(leftovers "$tb")" ] || fail "expected leftovers after SIGKILL"
kill -KILL "$cmd"  # the orphaned COMMAND we started, by its pid
bash "$testbed" --hosts 1 -- true 2>/dev/null
[ -z "$(leftovers "$tb")" ] || fail "the next run left: $(leftovers "$tb")"
echo "ok: the next run removes a killed testbed"

# 4. --keep: the testbed stays, even across another run, until `cleanup`.
bash "$testbed" --hosts 2 --keep -- sh -c 'echo "$TESTBED_HOSTS" > '"$tmp"'/hosts' 2>/dev/null
id=$(sed 's/^cb-\([0-9]*\)-.*/\1/' "$tmp/hosts")
[ -n "$(leftovers "$id")" ] || fail "--keep did not keep"
bash "$testbed" --hosts 1 -- true
[ -n "$(leftovers "$id")" ] || fail "a later run removed a kept testbed"
bash "$testbed" cleanup "cb-$id"
[ -z "$(leftovers "$id")" ] || fail "cleanup cb-$id left: $(leftovers "$id")"
echo "ok: --keep keeps until cleanup"

# 5. Not root: one line, exit 77.
if command -v setpriv >/dev/null; then
  rc=0
  setpriv --reuid=65534 --regid=65534 --clear-groups bash "$testbed" -- true 2>"$tmp/err" || rc=$?
  [ $rc -eq 77 ] || fail "as nobody: exit status $rc, expected 77"
  [ "$(cat "$tmp/err")" = "testbed: needs root and ip netns; skipping" ] || fail "as nobody: $(cat "$tmp/err")"
  echo "ok: non-root skips with one line"
fi
