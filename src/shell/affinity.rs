//! Keeping labctl and a terminal's shell on one CPU between steps.
//!
//! A step is one round trip: labctl writes a line, the shell answers `done`.
//! Left to the scheduler, each wakeup lands on the *other* CPU (the waker's
//! CPU is busy at that instant, so an idle one is chosen), and waking a halted
//! CPU is slow, very slow in a VM: measured here, two such wakeups were ~0.27
//! ms of each trivial step, more than everything else together (BENCHMARKS.md).
//!
//! So for a single-user run labctl pins its own threads to the CPU it starts
//! on, and pins a shell to that CPU while the shell waits for its next line;
//! both wakeups are then local. Nothing a step starts may inherit the pin
//! (a JVM or Go program sizes its thread pools by it), so:
//!
//! - labctl unpins the shell before the shell can start anything: the line is
//!   written in two parts, and bash, which executes nothing before the
//!   newline, gets the newline only after it is unpinned;
//! - every process labctl spawns itself is given the CPUs labctl started with
//!   ([`widen_on_exec`]).
//!
//! Everything here is best effort: where affinity cannot be set (a restricted
//! container), nothing is pinned and steps are just slower.

use std::sync::OnceLock;

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

/// The CPUs labctl was allowed when it pinned itself (set once, read in forked children).
static WIDE: OnceLock<CpuSet> = OnceLock::new();

/// labctl pinned to one CPU, and the CPUs to give back to children.
#[derive(Clone, Copy, Debug)]
pub struct Colocation {
    one: CpuSet,
    wide: CpuSet,
}

impl Colocation {
    /// Pins every thread of labctl to the CPU this thread runs on; None when
    /// there is one CPU anyway, or affinity cannot be read or set.
    pub fn pin_process() -> Option<Colocation> {
        let me = Pid::from_raw(0);
        let wide = sched_getaffinity(me).ok()?;
        if (0..CpuSet::count())
            .filter(|&c| wide.is_set(c).unwrap_or(false))
            .count()
            < 2
        {
            return None;
        }
        let cpu = nix::sched::sched_getcpu().ok()?;
        let mut one = CpuSet::new();
        one.set(cpu).ok()?;
        // Children must get `wide` from the moment any thread is pinned.
        let wide = *WIDE.get_or_init(|| wide);
        let tasks = std::fs::read_dir("/proc/self/task").ok()?;
        for task in tasks.flatten() {
            if let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) {
                sched_setaffinity(Pid::from_raw(tid), &one).ok()?;
            }
        }
        Some(Colocation { one, wide })
    }

    /// Pins a shell that is waiting for its next line to labctl's CPU.
    pub fn pin(&self, pid: i32) -> bool {
        sched_setaffinity(Pid::from_raw(pid), &self.one).is_ok()
    }

    /// Gives a shell back every CPU, before it runs anything.
    pub fn release(&self, pid: i32) {
        let _ = sched_setaffinity(Pid::from_raw(pid), &self.wide);
    }
}

/// Has a child started by COMMAND run on the CPUs labctl started with, not
/// on the one CPU labctl may have pinned itself to. No-op when nothing is pinned.
pub fn widen_on_exec(command: &mut tokio::process::Command) {
    if WIDE.get().is_none() {
        return;
    }
    // SAFETY: runs between fork and exec; reads an initialised static and
    // makes one system call, both async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            if let Some(wide) = WIDE.get() {
                let _ = sched_setaffinity(Pid::from_raw(0), wide);
            }
            Ok(())
        });
    }
}
