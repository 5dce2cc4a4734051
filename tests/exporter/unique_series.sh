#!/usr/bin/env bash
# Fails (exit 1, naming them) when two samples of one scrape share a metric name and label set:
# Prometheus keeps one and drops the rest silently. Usage: unique_series.sh SCRAPE_FILE
# Every test that scrapes /metrics runs its scrape through this (or scrape.hpp's duplicate_series).
set -u
awk '
  /^#/ || NF == 0 { next }
  { series = $0; sub(/ [^ ]*$/, "", series); if (seen[series]++) { print "duplicate series: " series; bad = 1 } }
  END { exit bad }
' "$1"
