#!/usr/bin/env bash
# etop run where it cannot draw: stdout redirected, stdin not a terminal, TERM=dumb, TERM unset.
# (From ../shared/cases/10: without a terminal etop says so and exits with status 2; on a terminal
# that cannot draw a screen it falls back to batch output, checked here in a real terminal (tmux).)
set -u
BIN=${AGNER_BIN:-$(pwd)/build/bin}
W=$(mktemp -d /tmp/notty.XXXXXX); chmod 700 "$W"
T="tmux -L notty-$$ -f /dev/null"
"$BIN/agner-node" --name notty --schedulers 1 --workload none --socket "$W/node.sock" --metrics-listen off > "$W/out" 2>&1 & NODE=$!
trap '$T kill-server 2>/dev/null; kill -TERM $NODE 2>/dev/null; wait $NODE 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 1 1200); do [ -S "$W/node.sock" ] && break; sleep 0.1; done
RC=0
# 1. stdout is a file (as in `etop NODE > snapshot.txt` or `etop NODE | less`)
TERM=xterm-256color timeout 20 "$BIN/etop" "$W/node.sock" > "$W/redirect.txt" 2> "$W/redirect.err" < /dev/null; r=$?
esc=$(tr -cd '\033' < "$W/redirect.txt" | wc -c)
echo "stdout to a file: exit $r, $esc ESC bytes written, stderr: '$(cat "$W/redirect.err")'"
[ $r = 2 ] && [ "$esc" = 0 ] && grep -q -- '--batch' "$W/redirect.err" || RC=1
# 2-4. In a real terminal (a tmux pane): TERM=dumb, TERM unset, stdin not a terminal.
# A terminal that cannot draw a screen gets batch refreshes (plain lines, no escape codes) and one
# sentence saying why; it keeps refreshing until interrupted.
lines_pane() { # $1: name, $2: command prefix, $3: the sentence expected
  # pipe-pane keeps every byte etop writes to the pane (escape codes included) in $1.raw.
  $T new-session -d -s "$1" -x 100 -y 15 "sleep 1; $2 $BIN/etop --interval 0.5 $W/node.sock; sleep 60"
  $T pipe-pane -t "$1" -o "cat >> $W/$1.raw"
  for _ in $(seq 1 1200); do
    [ "$(grep -c 'etop: notty' "$W/$1.raw" 2>/dev/null)" -ge 2 ] && break; sleep 0.1
  done
  $T capture-pane -p -t "$1" | grep -v '^$' > "$W/$1.txt"
  echo "$1 in a 100x15 pane:"; sed 's/^/    /' "$W/$1.txt"
  grep -q -- "$3" "$W/$1.raw" && grep -q -- '--batch' "$W/$1.raw" || RC=1
  [ "$(grep -c 'etop: notty' "$W/$1.raw")" -ge 2 ] || RC=1   # refreshes keep coming
  [ "$(tr -cd '\033' < "$W/$1.raw" | wc -c)" = 0 ] || RC=1    # and carry no escape codes
  grep -q 'etop: notty' "$W/$1.txt" || RC=1
}
lines_pane dumb "TERM=dumb" 'TERM=dumb cannot move the cursor'
lines_pane unset "env -u TERM" 'TERM is not set'
$T new-session -d -s stdin2 -x 100 -y 15 "$BIN/etop $W/node.sock < /dev/null; echo EXIT=\$?; sleep 60"
for _ in $(seq 1 1200); do $T capture-pane -p -t stdin2 | grep -q '^EXIT=' && break; sleep 0.1; done
$T capture-pane -p -t stdin2 | grep -v '^$' > "$W/stdin2.txt"
echo "stdin from /dev/null in a pane:"; sed 's/^/    /' "$W/stdin2.txt"
grep -q '^EXIT=2$' "$W/stdin2.txt" && grep -q 'stdin is not a terminal' "$W/stdin2.txt" || RC=1
[ $RC = 0 ] && echo PASS || echo FAIL
exit $RC
