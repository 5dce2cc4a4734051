#!/usr/bin/env bash
# scripts/demo as a newcomer runs it: in a real terminal (a tmux pane), etop opens on the matchstream node
# under load; pressing q quits etop and the demo stops everything it started (each process carries
# AGNER_DEMO_TAG in its environment, read back from /proc).
# Usage (from the project root): demo_tmux_test.sh BIN_DIR. Exit 77 (skipped) when the programs are not built.
set -euo pipefail
bin=$1
for p in matchstream matchstream-watcher matchstream-load etop; do
  [ -x "$bin/$p" ] || { echo "SKIP: $bin/$p is not built"; exit 77; }
done
dir=$(mktemp -d /tmp/agner-demo-tmux-XXXXXX)
tag="demo-tmux-test-$$-$RANDOM"
tmx=(tmux -L "agner-demo-$$" -f /dev/null)
survivors() { grep -l "AGNER_DEMO_TAG=$tag" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 || true; }
cleanup() {
  local logs
  logs=$(screen | grep -oE "logs(:| in) /tmp/agner-demo-[A-Za-z0-9]+" | grep -oE "/tmp/agner-demo-[A-Za-z0-9]+" | head -1 || true)
  "${tmx[@]}" kill-server 2>/dev/null || true
  for p in $(survivors); do kill -KILL "$p" 2>/dev/null; done
  [ -n "$logs" ] && rm -rf "$logs"
  rm -rf "$dir"
}
trap cleanup EXIT
screen() { "${tmx[@]}" capture-pane -p -S -200 -t demo 2>/dev/null; }
fail() { echo "FAIL: $*" >&2; echo "--- screen ---" >&2; screen >&2 || true; exit 1; }
# Waits (polling; the bound only stops a hang) until the screen shows $1.
wait_for() {
  for _ in $(seq 1 1200); do screen | grep -qF -- "$1" && return 0; sleep 0.1; done
  fail "the screen never showed: $1"
}

"${tmx[@]}" new-session -d -s demo -x 160 -y 45 \
  "env LANG=C.UTF-8 LC_ALL=C.UTF-8 AGNER_DEMO_TAG=$tag AGNER_DEMO_NO_BUILD=1 AGNER_DEMO_BUILD_DIR=$(dirname "$bin") \
   AGNER_DEMO_CLIENTS=200 AGNER_DEMO_SURGE=300 AGNER_DEMO_SURGE_EVERY=3 AGNER_DEMO_SYNTHETIC=2 AGNER_DEMO_RATE=10 \
   bash scripts/demo; echo demo-exited >$dir/done; sleep 600"
wait_for "MSGQ"                   # etop's table is up
wait_for "matchstream-demo-"      # on the demo's node
[ -n "$(survivors)" ] || fail "no process of the demo is running while etop shows it"
"${tmx[@]}" send-keys -t demo q
for _ in $(seq 1 300); do [ -f "$dir/done" ] && break; sleep 0.1; done
[ -f "$dir/done" ] || fail "the demo did not end after q"
wait_for "stopped everything it started"
left=$(survivors)
[ -z "$left" ] || fail "processes the demo started survived q: $(for p in $left; do tr '\0' ' ' </proc/$p/cmdline; echo; done)"
echo "PASS"
