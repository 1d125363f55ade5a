#!/usr/bin/env bash
# Benchmark: `labctl list` over a generated workshop of 1,000 labs x 20 steps
# (release build). Prints wall time and peak RSS for each of 5 runs.
# usage: benches/list.sh [LABS] [STEPS]; VERIFY=0 leaves out the verify block per step
set -euo pipefail
cd "$(dirname "$0")/.."
LABS=${1:-1000}; STEPS=${2:-20}; VERIFY=${VERIFY:-1}
cargo build --release -q
W=target/bench-list$([ "$VERIFY" = 0 ] && echo -plain || true); rm -rf "$W"; mkdir -p "$W"
for l in $(seq "$LABS"); do
  {
    printf -- '---\ntitle: Lab %d\nlabctl:\n  vars: { username: user1 }\n---\n# Lab %d\n\nSome prose about this lab.\n\n' "$l" "$l"
    for s in $(seq "$STEPS"); do
      printf '```execute {name=s%d timeout=30s}\ncurl -s context-scraper.%%username%%:8080/scrape?term=%d | jq\n```\n\n' "$s" "$s"
      [ "$VERIFY" = 0 ] || printf '```verify\n- json: $.oops.cause.code\n  equals: ECONNRESET\n- stdout: { matches: "^\\\\{" }\n```\n\n'
      printf '```\n{"oops": {"cause": {"code": "ECONNRESET"}}}\n```\n\n'
    done
  } > "$W/lab$l.md"
done
echo "workshop: $LABS labs x $STEPS steps, $(du -sh "$W" | cut -f1)"
/usr/bin/time -f "peak RSS %M KB" target/release/labctl list "$W" > /dev/null
hyperfine -N --warmup 2 --runs 15 "target/release/labctl list $W"
