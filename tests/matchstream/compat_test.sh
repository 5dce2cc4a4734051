#!/bin/bash
# MatchStream: blocks and answers byte for byte as matchstream_peer.erl (both bundled matches, the
# first-line errors), apart from the instant; the "compat" scenario of ms_check.py, over loopback.
set -euo pipefail
bin=${1:?usage: compat_test.sh BIN_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
exec python3 "$(dirname "$0")/ms_check.py" "$bin" compat "$tmp"
