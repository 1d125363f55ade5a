#!/usr/bin/env bash
# Benchmark: `labctl list` over a generated workshop of 1,000 labs x 20 steps
# (release build). Prints wall time and peak RSS for each of 5 runs.
# usage: benches/list.sh [LABS] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
LABS=${1:-1000}; STEPS=${2:-20}
cargo build --release -q
W=target/bench-list; rm -rf "$W"; mkdir -p "$W"
for l in $(seq "$LABS"); do
  {
    printf -- '---\ntitle: Lab %d\nlabctl:\n  vars: { username: user1 }\n---\n# Lab %d\n\nSome prose about this lab.\n\n' "$l" "$l"
    for s in $(seq "$STEPS"); do
      printf '```execute {name=s%d timeout=30s}\ncurl -s context-scraper.%%username%%:8080/scrape?term=%d | jq\n```\n\n' "$s" "$s"
      printf '```verify\n- json: $.oops.cause.code\n  equals: ECONNRESET\n- stdout: { matches: "^\\\\{" }\n```\n\n'
      printf '```\n{"oops": {"cause": {"code": "ECONNRESET"}}}\n```\n\n'
    done
  } > "$W/lab$l.md"
done
echo "workshop: $LABS labs x $STEPS steps, $(du -sh "$W" | cut -f1)"
for i in 1 2 3 4 5; do
  /usr/bin/time -f "run $i: %e s wall, %M KB peak RSS" target/release/labctl list "$W" > /dev/null
done
