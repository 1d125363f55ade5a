#!/usr/bin/env bash
# Benchmark: many users at once on the sandbox (mesh delay 2 s), release build.
#
# For each run: wall time, labctl's peak RSS (its own process), labctl's own
# CPU, and the CPU of everything the steps started (kubectl, jq, curl, bash).
# "floor" is that step CPU divided by the CPUs here: no runner can finish the
# run faster than that, whatever it does.
#
# Two workshops:
# - labs/ (the workshop as written, egress then ingress: oc = kubectl, jq, curl, openssl);
# - benches/fanout-io/ (the same steps and checks with curl as the only client),
#   which isolates what fanning out costs labctl itself.
#
# The 20-user line ends with the ratio of issue 16: wall time over the larger
# of one user's wall time and the CPU floor (labctl's CPU plus the steps',
# over the CPUs).
#
# usage: benches/fanout.sh [--quick]   (--quick skips the 200-user run)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
run() { # run LABEL PATH ARGS...
  local label=$1; shift
  python3 - "$label" "$@" <<'PY'
import os, resource, subprocess, sys, time
label, path, args = sys.argv[1], sys.argv[2], sys.argv[3:]
tick = os.sysconf("SC_CLK_TCK")
before = resource.getrusage(resource.RUSAGE_CHILDREN)
t = time.time()
p = subprocess.Popen(["target/release/labctl", "run", path, "--sandbox", *args],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
peak, own = 0, 0.0
while p.poll() is None:
    try:
        for line in open(f"/proc/{p.pid}/status"):
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
        fields = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()
        own = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    except (FileNotFoundError, ProcessLookupError, IndexError):
        pass
    time.sleep(0.02)
wall = time.time() - t
err = p.stderr.read()
after = resource.getrusage(resource.RUSAGE_CHILDREN)
total = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
steps = max(total - own, 0.0)
cpus = len(os.sched_getaffinity(0))
summary = [l for l in err.splitlines() if " passed, " in l][-1:]
floor = (steps + own) / cpus
one = os.environ.get("ONE_USER_WALL")
ratio = f"  ratio {wall / max(float(one), floor):.2f}x max({float(one):.2f}, {floor:.2f})" if one else ""
with open(os.environ.get("WALL_FILE", "/dev/null"), "w") as f:
    f.write(f"{wall:.3f}")
print(f"{label:<34} {wall:5.2f} s wall  {peak // 1024:3d} MB  labctl CPU {own:5.2f} s  "
      f"step CPU {steps:5.2f} s (floor {steps / cpus:4.1f} s)  exit {p.returncode}  "
      f"{summary[0] if summary else ''}{ratio}")
PY
}
wall_file=$(mktemp)
trap 'rm -f "$wall_file"' EXIT
WALL_FILE=$wall_file run "workshop, 1 user" labs/
ONE_USER_WALL=$(cat "$wall_file") run "workshop, 20 users, -j 20" labs/ --users user1..user20 -j 20
run "workshop, 50 users, -j 50" labs/ --users user1..user50 -j 50
run "curl-only egress, 1 user" benches/fanout-io/
run "curl-only egress, 50 users, -j 50" benches/fanout-io/ --users user1..user50 -j 50
if [[ "${1:-}" != "--quick" ]]; then
  run "workshop, 200 users, -j 50" labs/ --users user1..user200 -j 50
fi
