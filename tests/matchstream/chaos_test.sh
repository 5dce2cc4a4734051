#!/bin/bash
# scripts/chaos, short: 300 clients of 3 matches, 10 kills/s for 20 s; then the node is up, its tree
# whole, every client back, sent == delivered + shed + dropped + dead_letters, RSS and fds at baseline.
set -euo pipefail
bin=${1:?usage: chaos_test.sh BIN_DIR}
work=$(mktemp -d /tmp/agner-chaos-test-XXXXXX)
trap 'rm -rf "$work"' EXIT
# Under ASan or TSan freed memory waits in the sanitizer's quarantine, so RSS says nothing about a
# leak there (ASan's leak check at exit covers that); every other check stands.
rss=()
[ -z "${AGNER_SANITIZE:-}" ] || rss=(--no-rss-check "a sanitizer build ($AGNER_SANITIZE) keeps freed memory in its quarantine")
if ! python3 scripts/chaos "${rss[@]}" --bin "$bin" --clients 300 --matches 3 --event-rate 5 --rate 10 --duration 20 \
      --warmup 3 --seed 1 --work "$work" >"$work/out" 2>&1; then
  cat "$work/out"; tail -n 30 "$work/node.log"; exit 1
fi
cat "$work/out"
grep -q "^chaos: PASS" "$work/out"
