#!/usr/bin/env bash
# Behaviour of colossus-run as a user sees it: its output, the environment of
# the ranks, exit statuses and that no rank outlives it.
#   colossus_run_test.sh PATH/TO/colossus-run CASE
# One ctest test per CASE (tests/launch/CMakeLists.txt). Each case runs in
# seconds: ranks that "hang" sleep 100 s, and a case fails if colossus-run
# takes more than a few seconds to end them.
set -euo pipefail

run=$1
case_name=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL [$case_name]: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# less_than A B: A < B, as decimals.
less_than() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# A process that is gone or a zombie no longer runs anything.
alive() {
  local state
  state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$state" != Z ]
}

# expect_gone PIDFILE...: every pid recorded by a rank has ended.
expect_gone() {
  local f pid
  for f in "$@"; do
    pid=$(cat "$f")
    ! alive "$pid" || fail "process $pid (from $(basename "$f")) still runs"
  done
}

# wait_for_files N GLOB: until N files match (ranks report their pids), at most 5 s.
wait_for_files() {
  local n=$1 glob=$2 i
  for ((i = 0; i < 500; i++)); do
    # shellcheck disable=SC2086
    [ "$(ls $glob 2>/dev/null | wc -l)" -ge "$n" ] && return 0
    sleep 0.01
  done
  fail "ranks did not start: $(ls $glob 2>/dev/null | wc -l) of $n"
}

# capture ARGS...: runs colossus-run, stdout to $tmp/out, stderr to $tmp/err, status in $rc.
capture() {
  rc=0
  "$run" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
}

case "$case_name" in
  tagging)
    # Lines written in pieces, from both streams, with a last line lacking '\n'.
    capture -n 3 -- sh -c 'printf "out-$COLOSSUS_RANK-"; sleep 0.1; printf "a\nsecond\n";
                           printf "err-$COLOSSUS_RANK\n" >&2; printf "tail"'
    [ $rc -eq 0 ] || fail "exit status $rc"
    for r in 0 1 2; do
      grep -qx "\[$r\] out-$r-a" "$tmp/out" || fail "no '[$r] out-$r-a' in: $(cat "$tmp/out")"
      grep -qx "\[$r\] second" "$tmp/out" || fail "rank $r: second line"
      grep -qx "\[$r\] tail" "$tmp/out" || fail "rank $r: unterminated last line"
      grep -qx "\[$r\] err-$r" "$tmp/err" || fail "rank $r: stderr not tagged on stderr"
    done
    [ "$(wc -l <"$tmp/out")" -eq 9 ] || fail "expected 9 stdout lines: $(cat "$tmp/out")"
    capture --no-tag -n 2 -- sh -c 'echo plain'
    [ "$(cat "$tmp/out")" = "$(printf 'plain\nplain')" ] || fail "--no-tag: $(cat "$tmp/out")"
    ;;

  no_interleaving)
    # 6 ranks each write 3000 lines as three separate writes per line; every
    # forwarded line must still be one rank's whole line.
    capture -n 6 -- bash -c 'for i in $(seq 3000); do printf "r%s" "$COLOSSUS_RANK"; printf -- "-%s-" "$i";
                                                       printf "%s\n" "$COLOSSUS_RANK"; done'
    [ $rc -eq 0 ] || fail "exit status $rc"
    [ "$(wc -l <"$tmp/out")" -eq 18000 ] || fail "expected 18000 lines, got $(wc -l <"$tmp/out")"
    bad=$(grep -cvE '^\[([0-9])\] r\1-[0-9]+-\1$' "$tmp/out" || true)
    [ "$bad" -eq 0 ] || fail "$bad mixed lines, e.g. $(grep -vE '^\[([0-9])\] r\1-[0-9]+-\1$' "$tmp/out" | head -3)"
    for r in 0 1 2 3 4 5; do
      # Each rank's lines arrive complete and in order.
      grep "^\[$r\] " "$tmp/out" | awk -F- -v r="$r" '$2 != NR { print "rank " r " line " NR ": " $0; exit 1 }' ||
        fail "rank $r lines out of order"
    done
    ;;

  environment)
    # An inherited COLOSSUS_RANK (a nested launch) must not leak through.
    COLOSSUS_RANK=99 capture -n 4 -- sh -c \
      'echo "$COLOSSUS_RANK $COLOSSUS_WORLD_SIZE $COLOSSUS_LOCAL_RANK $COLOSSUS_LOCAL_SIZE $COLOSSUS_BOOTSTRAP_ADDR $COLOSSUS_JOB_ID"'
    [ $rc -eq 0 ] || fail "exit status $rc"
    for r in 0 1 2 3; do
      grep -qE "^\[$r\] $r 4 $r 4 127\.0\.0\.1:[0-9]+ [0-9a-f]{16}$" "$tmp/out" ||
        fail "rank $r environment: $(cat "$tmp/out")"
    done
    [ "$(awk '{ print $6, $7 }' "$tmp/out" | sort -u | wc -l)" -eq 1 ] ||
      fail "ranks disagree on bootstrap address or job id: $(cat "$tmp/out")"
    port=$(awk '{ split($6, a, ":"); print a[2]; exit }' "$tmp/out")
    [ "$port" -gt 0 ] && [ "$port" -lt 65536 ] || fail "bad port $port"
    # Two jobs get different ids.
    id1=$(awk '{ print $7; exit }' "$tmp/out")
    capture -n 1 -- sh -c 'echo "$COLOSSUS_JOB_ID"'
    [ "$(cut -d' ' -f2 "$tmp/out")" != "$id1" ] || fail "job id repeated"
    ;;

  first_failure)
    # Rank 2 exits 3 while the others sleep: 3 comes back at once, the others are gone.
    start=$(now)
    capture -n 4 -- sh -c 'echo $$ > '"$tmp"'/pid.$COLOSSUS_RANK
                           if [ "$COLOSSUS_RANK" = 2 ]; then sleep 0.3; echo dying; exit 3; fi
                           exec sleep 100'
    t=$(elapsed_since "$start")
    [ $rc -eq 3 ] || fail "exit status $rc, expected 3"
    less_than "$t" 3 || fail "took ${t}s"
    grep -qx "colossus-run: rank 2 (pid [0-9]*) exited with code 3; stopping the other 3 rank(s)" "$tmp/err" ||
      fail "failure line: $(cat "$tmp/err")"
    grep -qx '\[2\] dying' "$tmp/out" || fail "the failing rank's output was lost"
    expect_gone "$tmp"/pid.*
    ;;

  term_ignored)
    # A rank that ignores SIGTERM gets SIGKILL after the 2 s grace period.
    start=$(now)
    capture -n 2 -- sh -c 'if [ "$COLOSSUS_RANK" = 0 ]; then sleep 0.2; exit 5; fi
                           trap "" TERM; echo $$ > '"$tmp"'/pid.1; while :; do sleep 0.05; done'
    t=$(elapsed_since "$start")
    [ $rc -eq 5 ] || fail "exit status $rc, expected 5"
    less_than 2 "$t" && less_than "$t" 5 || fail "took ${t}s, expected grace of 2 s"
    expect_gone "$tmp"/pid.1
    ;;

  signal_death)
    capture -n 2 -- sh -c 'if [ "$COLOSSUS_RANK" = 1 ]; then kill -USR1 $$; fi; exec sleep 100'
    [ $rc -eq 138 ] || fail "exit status $rc, expected 128+SIGUSR1=138"
    grep -q "rank 1 (pid [0-9]*) was killed by signal 10 (SIGUSR1)" "$tmp/err" || fail "$(cat "$tmp/err")"
    ;;

  timeout)
    start=$(now)
    capture -n 3 --timeout 1 -- sleep 100
    t=$(elapsed_since "$start")
    [ $rc -eq 124 ] || fail "exit status $rc, expected 124"
    less_than 0.9 "$t" && less_than "$t" 3 || fail "took ${t}s"
    grep -q "timeout after 1 s" "$tmp/err" || fail "$(cat "$tmp/err")"
    # A job that ends in time is not affected.
    capture --timeout 5 -n 2 -- true
    [ $rc -eq 0 ] || fail "exit status $rc with a generous timeout"
    ;;

  forward_signals)
    for sig in TERM INT; do
      rm -f "$tmp"/pid.*
      "$run" -n 3 -- sh -c 'trap "echo got-$0; exit 0" '"$sig"'; echo $$ > '"$tmp"'/pid.$COLOSSUS_RANK
                            while :; do sleep 0.05; done' "$sig" >"$tmp/out" 2>"$tmp/err" &
      launcher=$!
      wait_for_files 3 "$tmp/pid.*"
      kill -s "$sig" "$launcher"
      rc=0
      wait "$launcher" || rc=$?
      want=$((128 + $(kill -l "$sig")))
      [ $rc -eq $want ] || fail "SIG$sig: exit status $rc, expected $want"
      [ "$(grep -c "got-$sig" "$tmp/out")" -eq 3 ] || fail "SIG$sig not forwarded to every rank: $(cat "$tmp/out")"
      expect_gone "$tmp"/pid.*
    done
    ;;

  no_orphans)
    # Left-behind children of a finished rank are killed with it.
    capture -n 2 -- sh -c 'sleep 100 & echo $! > '"$tmp"'/bg.$COLOSSUS_RANK; exit 0'
    [ $rc -eq 0 ] || fail "exit status $rc"
    expect_gone "$tmp"/bg.*
    # So are daemons that left the rank's process group (setsid), found as
    # colossus-run's adopted children: it is their subreaper.
    capture -n 2 -- sh -c 'setsid sh -c "echo \$\$ > '"$tmp"'/daemon.\$COLOSSUS_RANK; exec sleep 100" \
                             </dev/null >/dev/null 2>&1 &
                           sleep 0.3'
    [ $rc -eq 0 ] || fail "exit status $rc"
    expect_gone "$tmp"/daemon.*
    # colossus-run killed outright (no chance to clean up): PR_SET_PDEATHSIG ends the ranks.
    "$run" -n 3 -- sh -c 'echo $$ > '"$tmp"'/pid.$COLOSSUS_RANK; exec sleep 100' >/dev/null 2>&1 &
    launcher=$!
    wait_for_files 3 "$tmp/pid.*"
    kill -KILL "$launcher"
    wait "$launcher" || true
    sleep 0.2
    expect_gone "$tmp"/pid.*
    ;;

  broken_pipe)
    # `colossus-run ... | head`: the job ends like a program killed by SIGPIPE.
    start=$(now)
    set +o pipefail
    "$run" -n 2 -- sh -c 'echo $$ > '"$tmp"'/pid.$COLOSSUS_RANK; exec yes' | head -2 >"$tmp/out"
    rc=${PIPESTATUS[0]}
    set -o pipefail
    [ $rc -eq 141 ] || fail "exit status $rc, expected 141"
    less_than "$(elapsed_since "$start")" 3 || fail "too slow"
    [ "$(wc -l <"$tmp/out")" -eq 2 ] || fail "head got: $(cat "$tmp/out")"
    expect_gone "$tmp"/pid.*
    ;;

  many_ranks)
    # More ranks than a soft limit of 256 fds allows at 2 pipes each:
    # colossus-run raises its own soft limit, and gives the ranks the original.
    hard=$(ulimit -Hn)
    if [ "$hard" = unlimited ] || [ "$hard" -ge 2048 ]; then ulimit -Sn 256; fi
    soft=$(ulimit -Sn)
    capture -n 600 -- sh -c 'echo "$COLOSSUS_RANK $(ulimit -n)"'
    [ $rc -eq 0 ] || fail "exit status $rc: $(head -3 "$tmp/err")"
    [ "$(sed 's/^\[\([0-9]*\)\] \1 '"$soft"'$/ok/' "$tmp/out" | grep -cx ok)" -eq 600 ] ||
      fail "missing ranks or wrong fd limit: $(head -3 "$tmp/out")"
    ;;

  exit_statuses)
    capture -n 3 -- true
    [ $rc -eq 0 ] || fail "all succeed: $rc"
    [ ! -s "$tmp/err" ] || fail "unexpected stderr: $(cat "$tmp/err")"
    capture -n 1 -- sh -c 'exit 42'
    [ $rc -eq 42 ] || fail "exit 42: got $rc"
    capture -n 2 -- /nonexistent/program
    [ $rc -eq 127 ] || fail "missing program: got $rc"
    grep -q "cannot execute '/nonexistent/program'" "$tmp/out" "$tmp/err" || fail "no exec error shown"
    capture -n 1 -- "$tmp"  # a directory: found but not executable
    [ $rc -eq 126 ] || fail "not executable: got $rc"
    ;;

  usage)
    for args in "" "-n" "-n 0" "-n x -- true" "-n 2" "-n 2 --" "--bogus -n 1 -- true" \
                "--timeout 0 -n 1 -- true" "--timeout abc -n 1 -- true" \
                "--ranks-per-host 1 -n 2 -- true" "--hosts a,a -n 2 -- true" \
                "--hosts a,,b -n 2 -- true" "--hosts a,b --ranks-per-host 1 -n 3 -- true" \
                "--hosts cb-no-such-namespace-$$ -n 1 -- true"; do
      # shellcheck disable=SC2086
      capture $args
      [ $rc -eq 2 ] || fail "'colossus-run $args': exit status $rc, expected 2"
      [ -s "$tmp/err" ] || fail "'colossus-run $args': no message"
    done
    capture --help
    [ $rc -eq 0 ] && grep -q "^usage: colossus-run" "$tmp/out" || fail "--help"
    # Options may be written --opt=value, and PROGRAM may follow without --.
    capture -n=2 --timeout=10 echo hi
    [ $rc -eq 0 ] && [ "$(sort "$tmp/out")" = "$(printf '[0] hi\n[1] hi')" ] || fail "-n=2 echo hi: $(cat "$tmp/out")"
    ;;

  *)
    fail "unknown case"
    ;;
esac
echo "PASS [$case_name]"
