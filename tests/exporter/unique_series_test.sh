#!/usr/bin/env bash
# unique_series.sh must pass distinct series (label values with spaces included) and fail on a duplicate.
set -u
here=$(cd "$(dirname "$0")" && pwd)
f=$(mktemp /tmp/agner-series-XXXXXX)
trap 'rm -f "$f"' EXIT
printf '# HELP a x\na{l="1 x"} 1\na{l="2 x"} 1\nb 2\n' >"$f"
bash "$here/unique_series.sh" "$f" || { echo "FAIL: distinct series flagged"; exit 1; }
printf 'a{l="1"} 1\nb 2\na{l="1"} 3\n' >"$f"
out=$(bash "$here/unique_series.sh" "$f") && { echo "FAIL: a duplicate series passed"; exit 1; }
[ "$out" = 'duplicate series: a{l="1"}' ] || { echo "FAIL: said '$out'"; exit 1; }
echo PASS
