#!/usr/bin/env bash
# scripts/demo without a terminal, as CI runs it: the programs already built (AGNER_DEMO_NO_BUILD=1), a small
# load and a short run. Its output must show etop's batch view with match:* processes, and no process it
# started may survive it (each carries AGNER_DEMO_TAG in its environment, read back from /proc).
# Usage (from the project root): demo_test.sh BIN_DIR (the programs must be built).
set -euo pipefail
bin=$1
for p in matchstream matchstream-watcher matchstream-load etop; do
  [ -x "$bin/$p" ] || { echo "FAIL: $bin/$p is not built"; exit 1; }
done
out=$(mktemp /tmp/agner-demo-test-XXXXXX)
tag="demo-test-$$-$RANDOM"
survivors() { grep -l "AGNER_DEMO_TAG=$tag" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 || true; }
logs_of() { grep -oE "logs(:| in) /tmp/agner-demo-[A-Za-z0-9]+" "$1" 2>/dev/null | grep -oE "/tmp/agner-demo-[A-Za-z0-9]+" | head -1 || true; }
trap 'for p in $(survivors); do kill -KILL "$p" 2>/dev/null; done; rm -rf "$(logs_of "$out")"; rm -f "$out"' EXIT
fail() { echo "FAIL: $*" >&2; echo "--- demo output ---" >&2; cat "$out" >&2; exit 1; }

# setsid -w: no controlling terminal, and wait for the demo to end
status=0
AGNER_DEMO_TAG=$tag AGNER_DEMO_NO_BUILD=1 AGNER_DEMO_BUILD_DIR="$(dirname "$bin")" AGNER_DEMO_CLIENTS=200 \
  AGNER_DEMO_SURGE=300 AGNER_DEMO_SURGE_EVERY=3 AGNER_DEMO_SYNTHETIC=2 AGNER_DEMO_RATE=10 AGNER_DEMO_SECONDS=6 \
  timeout -k 10 200 setsid -w bash scripts/demo </dev/null >"$out" 2>&1 || status=$?
[ "$status" = 0 ] || fail "scripts/demo exited with status $status"
grep -q "^MatchStream demo: node matchstream-demo-" "$out" || fail "the demo did not say what it started"
grep -qE '^ *<[0-9]+\.[0-9]+\.[0-9]+> ' "$out" || fail "no etop batch view in the output"
grep -qE '(^ *|^process )<[0-9]+\.[0-9]+\.[0-9]+> +match:' "$out" || fail "etop shows no match:* process"
# The batch view (sorted by reductions) shows the working processes, not only the supervisors.
grep -qE '^<[0-9]+\.[0-9]+\.[0-9]+> +(match:|client_process|watcher_process)' "$out" ||
  fail "etop's batch view shows no match, client or watcher row"
grep -q "stopped everything it started" "$out" || fail "the demo did not stop what it started"
# The demo waits for its process groups; a process it missed would still be here now.
left=$(survivors)
[ -z "$left" ] || fail "processes the demo started survived it: $(for p in $left; do tr '\0' ' ' </proc/$p/cmdline; echo; done)"
echo "PASS"
