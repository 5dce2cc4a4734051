#!/usr/bin/env bash
# Select the last row on a short terminal, make the terminal tall: are all rows shown again?
# (From ../shared/cases/08; waits on what the screen shows, with generous bounds, instead of sleeping.)
set -u
BIN=${AGNER_BIN:-$(pwd)/build/bin}
W=$(mktemp -d /tmp/etopgrow.XXXXXX); chmod 700 "$W"
T="tmux -L etopgrow-$$ -f /dev/null"
"$BIN/agner-node" --name grow --schedulers 1 --workload none --idle-processes 12 --socket "$W/node.sock" \
  --metrics-listen off > "$W/out" 2>&1 & NODE=$!
trap '$T kill-server 2>/dev/null; kill -TERM $NODE 2>/dev/null; wait $NODE 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 1 1200); do [ -S "$W/node.sock" ] && break; sleep 0.1; done
rows() { $T capture-pane -p -t s | grep -c '^<0\.'; }
# Waits (bounded) until the pane shows $1 process rows; prints how many it shows.
wait_rows() { for _ in $(seq 1 1200); do [ "$(rows)" = "$1" ] && break; sleep 0.1; done; rows; }
$T new-session -d -s s -x 100 -y 40 "LANG=C.UTF-8 LC_ALL=C.UTF-8 $BIN/etop --interval 0.5 $W/node.sock"
before=$(wait_rows 12)
$T resize-window -t s -x 100 -y 10
short=$(wait_rows 4)
$T send-keys -t s End
for _ in $(seq 1 1200); do $T capture-pane -p -t s | grep -q '^<0\.11\.0>' && break; sleep 0.1; done
$T resize-window -t s -x 100 -y 40
after=$(wait_rows 12)
$T capture-pane -p -t s > "$W/pane.txt"
echo "rows shown in 100x40 before: $before; in 100x10: $short; after End in 100x10 and growing back to 100x40: $after"
sed -n '4,18p' "$W/pane.txt"
RC=0
[ "$after" = "$before" ] && [ "$before" = 12 ] || RC=1
[ "$short" -ge 3 ] || { echo "fewer than 3 process rows at 100x10"; RC=1; }
# 30x10: the header gives up lines, process rows still show.
$T resize-window -t s -x 30 -y 10
tiny=$(wait_rows 4)
echo "rows shown at 30x10: $tiny"; $T capture-pane -p -t s | sed 's/^/    /'
[ "$tiny" -ge 3 ] || RC=1
$T send-keys -t s q
[ $RC = 0 ] && echo PASS || echo FAIL
exit $RC
