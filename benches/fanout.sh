#!/usr/bin/env bash
# Benchmark: the egress workshop on the sandbox for 1 user, 50 users (-j 50) and
# 200 users (-j 50), release build. Prints wall time and labctl's peak RSS
# (labctl's own process; steps' children such as kubectl are not counted).
# usage: benches/fanout.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
run() { # run LABEL ARGS...
  local label=$1; shift
  python3 - "$label" "$@" <<'PY'
import resource, subprocess, sys, time, os
label, args = sys.argv[1], sys.argv[2:]
t = time.time()
p = subprocess.Popen(["target/release/labctl", "run", "labs/", "--sandbox", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
peak = 0
while p.poll() is None:
    try:
        for line in open(f"/proc/{p.pid}/status"):
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    except FileNotFoundError:
        pass
    time.sleep(0.05)
err = p.stderr.read()
summary = [l for l in err.splitlines() if " passed, " in l][-1:]
print(f"{label:<22} {time.time() - t:6.1f} s wall   labctl peak RSS {peak // 1024:4d} MB   exit {p.returncode}   {summary[0] if summary else ''}")
PY
}
run "1 user" 
run "50 users, -j 50" --users user1..user50 -j 50
run "200 users, -j 50" --users user1..user200 -j 50
