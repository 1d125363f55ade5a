#!/usr/bin/env bash
# Benchmark: labctl's marginal cost per trivial step, release build.
# Runs labs of 500 and 5,000 `true` steps in one terminal (hyperfine, one run
# of all four commands, so the ratios share the machine's noise) and prints
# (t5000 - t500) / 4500, with labctl kept on one CPU between steps (the
# default for one user) and with LABCTL_NO_PIN=1.
# usage: benches/per_step.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for n in 500 5000; do
  for ((i = 0; i < n; i++)); do printf '```execute\ntrue\n```\n\n'; done > "$dir/s$n.md"
done
bin=$PWD/target/release/labctl
hyperfine -N -w 1 -r 10 --export-json "$dir/h.json" \
  "$bin run $dir/s500.md" "$bin run $dir/s5000.md" \
  "env LABCTL_NO_PIN=1 $bin run $dir/s500.md" "env LABCTL_NO_PIN=1 $bin run $dir/s5000.md" >/dev/null
python3 - "$dir/h.json" <<'PY'
import json, sys
r = [x["mean"] for x in json.load(open(sys.argv[1]))["results"]]
for label, (a, b) in (("pinned between steps", r[0:2]), ("LABCTL_NO_PIN=1", r[2:4])):
    print(f"{label:<22} 500 steps {a * 1000:6.1f} ms   5000 steps {b * 1000:7.1f} ms   "
          f"marginal {(b - a) / 4500 * 1000:.3f} ms per step")
PY
