# Sourced by etop's tmux tests after `harness_name=NAME` (and node_bin=AGNER_NODE): a private temp dir
# ($dir, $sock for the node), start_node, a private tmux server ($tmx) whose pane $sess (default etop)
# holds etop, cleanup of both and of $node_pid on exit (continued first, should a test have stopped
# it), fail() that prints the screen, and waits that poll the screen (the bound of 100 s only stops a
# hang; nothing is timed).
dir=$(mktemp -d "/tmp/agner-etop-${harness_name}-XXXXXX")
sock="$dir/n.sock"
tmx=(tmux -L "agner-etop-${harness_name}-$$" -f /dev/null)
node_pid=""
sess=${sess:-etop}

cleanup() {
  "${tmx[@]}" kill-server 2>/dev/null || true
  # A stopped node cannot act on SIGTERM: continue it first.
  [ -n "$node_pid" ] && { kill -CONT "$node_pid"; kill "$node_pid"; } 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'fail "line $LINENO: $BASH_COMMAND failed"' ERR

fail() {
  echo "FAIL: $*" >&2
  echo "--- screen ---" >&2
  screen >&2 || true
  exit 1
}
screen() { "${tmx[@]}" capture-pane -p -t "$sess"; }
# Starts agner-node on $sock with the flags given (its output in $dir/node.log) and waits for its
# socket; sets $node_pid.
start_node() {
  "$node_bin" --socket "$sock" "$@" >"$dir/node.log" 2>&1 &
  node_pid=$!
  for _ in $(seq 1 1000); do [ -S "$sock" ] && return 0; sleep 0.1; done
  fail "agner-node did not start: $(cat "$dir/node.log")"
}
# Until the screen matches the extended regex $1.
wait_re() {
  for _ in $(seq 1 1000); do
    screen 2>/dev/null | grep -qE -- "$1" && return 0
    sleep 0.1
  done
  fail "the screen never matched: $1"
}
# Until the screen shows the text $1.
wait_for() {
  for _ in $(seq 1 1000); do
    screen 2>/dev/null | grep -qF -- "$1" && return 0
    sleep 0.1
  done
  fail "the screen never showed: $1"
}
# Until the screen no longer shows the text $1.
wait_gone() {
  for _ in $(seq 1 1000); do
    screen 2>/dev/null | grep -qF -- "$1" || return 0
    sleep 0.1
  done
  fail "the screen kept showing: $1"
}
# Until the screen no longer matches the extended regex $1.
wait_gone_re() {
  for _ in $(seq 1 1000); do
    screen 2>/dev/null | grep -qE -- "$1" || return 0
    sleep 0.1
  done
  fail "the screen kept matching: $1"
}
keys() { "${tmx[@]}" send-keys -t "$sess" "$@"; }
# A session that outlives etop's: killing the only session ends the tmux server, and a new-session
# racing that exit fails ("server exited unexpectedly").
"${tmx[@]}" new-session -d -s keep "sleep 100000"
