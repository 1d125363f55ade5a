#!/usr/bin/env bash
# Benchmark: a state check that becomes true 2.5 s after its step is seen within
# one interval (default 1 s). Runs the lab 5 times (release build) and prints how
# long after the flip the step passed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cat > "$W/lab.md" <<'LAB'
# Latency

```execute
date +%s%N > started; (sleep 2.5; touch ready) >/dev/null 2>&1 &
```

```verify
- command: test -f ready
  within: 10s
```
LAB
for i in 1 2 3 4 5; do
  rm -f "$W/ready"
  target/release/labctl run "$W" --report "json=$W/r.json" >/dev/null 2>&1
  python3 - "$W/r.json" "$i" <<'PY'
import json, sys
step = json.load(open(sys.argv[1]))["runs"][0]["labs"][0]["steps"][0]
print(f"run {sys.argv[2]}: step took {step['duration_ms']} ms; seen {step['duration_ms'] - 2500} ms after the flip; {step['checks'][1]['outcome']}")
PY
done
