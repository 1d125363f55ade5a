#!/usr/bin/env bash
# Benchmark: `labctl lint` on one page with N diagnostics (default 20,000: N/2
# steps, each with an unknown attribute and no check, so one error and one
# info each). Lint time must grow linearly with N (issue 11).
# usage: benches/lint_diagnostics.sh [N] [BIN]   (BIN defaults to a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}; BIN=${2:-}
if [ -z "$BIN" ]; then cargo build --release -q; BIN=target/release/labctl; fi
W=target/bench-lint; rm -rf "$W"; mkdir -p "$W"
awk -v n=$((N / 2)) 'BEGIN {
  print "# Many mistakes\n"
  for (i = 1; i <= n; i++) printf "```execute {name=s%d timout=3s}\necho %d\n```\n\n", i, i
}' > "$W/lab.md"
for k in 1 2 4; do
  m=$((N * k / 4))
  head -n $((m / 2 * 4 + 2)) "$W/lab.md" > "$W/part.md"
  start=$(date +%s.%N)
  "$BIN" lint "$W/part.md" > "$W/err.txt" 2>&1 || true
  end=$(date +%s.%N)
  printf '%6d diagnostics: %.3f s\n' "$(grep -c '^error\|^info\|^warning' "$W/err.txt")" "$(echo "$end - $start" | bc)"
done
