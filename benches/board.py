#!/usr/bin/env python3
"""`labctl board` with 60 simulated students on the sandbox (issue 15).

Run inside a sandbox (release build):
    target/release/labctl sandbox --users 60 --mesh-delay 0s -- python3 "$PWD/benches/board.py"
Environment: LABCTL (default target/release/labctl), USERS (60), WINDOW (seconds, 600),
INTERVAL (10s), SEED (15).

Starts `labctl board benches/board --users user1..userN` with stderr a pipe (a line per
change), waits until every cell has its first answer, then plays students for WINDOW
seconds: each applies its ServiceEntry with kubectl at a random moment, touches its mark
(the command check) a little later, and some delete the ServiceEntry and apply it again.
Prints the time from each change (kubectl's start, the touch) to the board's line for it,
p50/p99 per check kind, labctl's CPU over the window (its own, and with its check
scripts), and its peak resident memory.
"""
import atexit, os, random, re, shutil, signal, statistics, subprocess, sys, tempfile, threading, time

# The sandbox runs its command in the workshop folder (labs/): every path below is
# from the repository root.
os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LABCTL = os.environ.get("LABCTL", "target/release/labctl")
USERS = int(os.environ.get("USERS", "60"))
WINDOW = float(os.environ.get("WINDOW", "600"))
INTERVAL = os.environ.get("INTERVAL", "10s")
random.seed(int(os.environ.get("SEED", "15")))
SE = "labs/manifests/istio/serviceentry-googleapis.yaml"
TICK = os.sysconf("SC_CLK_TCK")

marks = tempfile.mkdtemp(prefix="board-bench-")
atexit.register(shutil.rmtree, marks, ignore_errors=True)
board = subprocess.Popen(
    [LABCTL, "board", "benches/board", "--users", f"user1..user{USERS}", "--interval", INTERVAL,
     "--var", f"marks={marks}"],
    stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"}, text=True)

lines = []  # (monotonic time, user, step, state)
lock = threading.Lock()
pattern = re.compile(r"^\d\d:\d\d (\S+) (\S+) \S+ (done|not yet|broken)")

def read():
    for line in board.stderr:
        m = pattern.match(line)
        if m:
            with lock:
                lines.append((time.monotonic(), m.group(1), m.group(2), m.group(3)))

threading.Thread(target=read, daemon=True).start()

def cpu():
    f = open(f"/proc/{board.pid}/stat").read().rsplit(")", 1)[1].split()
    own = int(f[11]) + int(f[12])
    children = int(f[13]) + int(f[14])
    return own / TICK, (own + children) / TICK

deadline = time.monotonic() + 120
while True:
    with lock:
        seen = {(u, s) for _, u, s, st in lines if st == "not yet"}
    if len(seen) >= USERS * 3:
        break
    if time.monotonic() > deadline:
        sys.exit(f"only {len(seen)} of {USERS * 3} cells answered in 120 s")
    time.sleep(0.2)
print(f"{USERS} users x 3 steps answered; playing students for {WINDOW:.0f} s", flush=True)

actions = []  # (offset, kind, user)
for n in range(1, USERS + 1):
    u = f"user{n}"
    t = random.uniform(0, WINDOW * 0.5)
    actions.append((t, "apply", u))
    actions.append((t + random.uniform(5, 60), "touch", u))
    if random.random() < 0.4:
        d = t + random.uniform(20, WINDOW * 0.3)
        actions.append((d, "delete", u))
        actions.append((d + random.uniform(10, 60), "apply", u))
actions = sorted(a for a in actions if a[0] < WINDOW - 15)

expect = {"apply": [("apply-egress", "done"), ("scrape", "done")],
          "delete": [("apply-egress", "broken"), ("scrape", "broken")],
          "touch": [("label", "done")]}
kind_of = {"apply-egress": "kube", "scrape": "http", "label": "command"}
done_at = []  # (time of the change, user, kind)
kubectl_ms = []
cpu0, cpu0_all = cpu()
t0 = time.monotonic()
for offset, kind, user in actions:
    wait = t0 + offset - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    start = time.monotonic()
    if kind == "touch":
        open(os.path.join(marks, user), "w").close()
    elif kind == "apply":
        subprocess.run(["kubectl", "apply", "-n", user, "-f", SE], check=True, capture_output=True)
    else:
        subprocess.run(["kubectl", "delete", "-n", user, "serviceentry", "context-scraper-egress"],
                       check=True, capture_output=True)
    end = time.monotonic()
    if kind != "touch":
        kubectl_ms.append((end - start) * 1000)
    # The change lands between kubectl's start and its exit: latencies are given from
    # both (from the start, an upper bound that counts kubectl's own time).
    done_at.append((start, end, user, kind))
rest = t0 + WINDOW - time.monotonic()
if rest > 0:
    time.sleep(rest)
cpu1, cpu1_all = cpu()
elapsed = time.monotonic() - t0
status = dict(l.split(":", 1) for l in open(f"/proc/{board.pid}/status") if ":" in l)
board.send_signal(signal.SIGTERM)
board.wait(timeout=30)

latency = {"kube": [], "http": [], "command": []}
after_exit = {"kube": [], "http": [], "command": []}
missed = []
with lock:
    seen = list(lines)
for at, end, user, kind in done_at:
    for step, state in expect[kind]:
        hit = next((t for t, u, s, st in seen if t >= at and u == user and s == step and st == state), None)
        if hit is None:
            missed.append((user, kind, step))
        else:
            latency[kind_of[step]].append((hit - at) * 1000)
            after_exit[kind_of[step]].append((hit - end) * 1000)

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]

for k, xs in latency.items():
    if xs:
        ys = after_exit[k]
        print(f"{k:<8} change -> cell: p50 {statistics.median(xs):7.0f} ms   p99 {pct(xs, 0.99):7.0f} ms   "
              f"(from kubectl's exit: p50 {statistics.median(ys):6.0f} ms, p99 {pct(ys, 0.99):6.0f} ms; {len(xs)} changes)")
print(f"kubectl itself: p50 {statistics.median(kubectl_ms):.0f} ms (counted in the kube and http figures above)")
print(f"CPU over {elapsed:.0f} s: labctl {100 * (cpu1 - cpu0) / elapsed:.2f}% of one core; "
      f"with its check scripts {100 * (cpu1_all - cpu0_all) / elapsed:.2f}%")
print(f"memory: peak RSS {int(status['VmHWM'].split()[0]) / 1024:.1f} MB, at the end {int(status['VmRSS'].split()[0]) / 1024:.1f} MB")
if missed:
    print(f"MISSED {len(missed)}: {missed[:10]}")
    sys.exit(1)
