#!/bin/bash
# MatchStream: a refused line leaves no trace (no match process, nothing in GET /matches, no
# subscription), a bad match id is refused naming the rule, and duplicate keys, numbers past a double
# and invalid JSON get their own ERROR sentences: the "no-trace" scenario of ms_check.py, over loopback.
set -euo pipefail
bin=${1:?usage: no_trace_test.sh BIN_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
exec python3 "$(dirname "$0")/ms_check.py" "$bin" no-trace "$tmp"
