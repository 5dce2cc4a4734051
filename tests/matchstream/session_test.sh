#!/bin/bash
# MatchStream: the "session" scenario of ms_check.py against build/bin/matchstream, over loopback (port 0).
set -euo pipefail
bin=${1:?usage: session_test.sh BIN_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
exec python3 "$(dirname "$0")/ms_check.py" "$bin" session "$tmp"
