#!/usr/bin/env bash
# matchstream-floor (the kernel floor bench.sh measures beside the servers) speaks enough of the
# protocol for the same tools: a watcher's events are answered OK and reach every client without a gap,
# and on SIGTERM it prints its CPU per million delivered blocks. A bad --listen gets a sentence, exit 2.
# Usage: floor_test.sh BIN_DIR   (run from the project root)
set -euo pipefail
bin=$(cd "${1:?usage: floor_test.sh BIN_DIR}" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
wait_for() {
  local deadline=$((SECONDS + $3))
  until grep -Eq "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || { cat "$1" >&2 || true; fail "no line matching '$2' in $1 within $3 s"; }
    sleep 0.1
  done
}
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {'j': j}))" "$@"; }

set +e
"$bin/matchstream-floor" --listen nonsense >/dev/null 2>"$work/flag.err"; rc=$?
set -e
[ "$rc" = 2 ] || fail "matchstream-floor --listen nonsense exited $rc, expected 2"
grep -q -- "--listen 'nonsense' is not" "$work/flag.err" || fail "no sentence naming --listen: $(cat "$work/flag.err")"

"$bin/matchstream-floor" --listen 127.0.0.1:0 >"$work/floor.log" 2>&1 &
floor=$!
pids+=("$floor")
wait_for "$work/floor.log" "matchstream: listening on " 60
server=$(sed -n 's/^matchstream: listening on \([^ ]*\).*/\1/p' "$work/floor.log" | head -1)

mkfifo "$work/go"
exec 3<>"$work/go"
"$bin/matchstream-watcher" --server "$server" --synthetic 2 --rate 20 --hold-after-start <"$work/go" >"$work/watcher.out" 2>"$work/watcher.err" &
watcher=$!
pids+=("$watcher")
wait_for "$work/watcher.err" "waiting for a line" 60
echo >&3
"$bin/matchstream-load" --server "$server" --clients 40 --matches synthetic-0,synthetic-1 --duration 3 >"$work/load.json" 2>"$work/load.err" ||
  fail "matchstream-load exited non-zero: $(tail -3 "$work/load.err")"
[ "$(json "$work/load.json" "j['failed_total']")" = 0 ] || fail "clients refused: $(json "$work/load.json" "j['failed']")"
[ "$(json "$work/load.json" "j['gaps']")" = 0 ] || fail "seq gaps: $(json "$work/load.json" "j['gaps']")"
[ "$(json "$work/load.json" "j['events'] > 40")" = True ] || fail "only $(json "$work/load.json" "j['events']") blocks arrived"
if grep -q "answered" "$work/watcher.err"; then fail "the watcher reported errors: $(cat "$work/watcher.err")"; fi

kill "$floor"
wait "$floor" || true
grep -Eq "^floor matchstream_cpu cpu_s_per_million_events=[0-9.]+ user_s_per_million=[0-9.]+ sys_s_per_million=[0-9.]+ .* events=[1-9][0-9]* short_writes=0" \
  "$work/floor.log" || fail "no CPU line on SIGTERM: $(cat "$work/floor.log")"
echo "floor: ok"
