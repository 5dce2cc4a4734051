#!/bin/bash
# MatchStream: the "rerun" scenario of store_check.py against build/bin/matchstream, over loopback (port 0).
set -euo pipefail
bin=${1:?usage: store_rerun_test.sh BIN_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
exec python3 "$(dirname "$0")/store_check.py" "$bin" rerun "$tmp"
