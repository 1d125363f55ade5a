//! Processes that left their terminal's session or their command's process
//! group (`setsid`, a double fork), found and ended all the same.
//!
//! labctl makes itself a child subreaper (`PR_SET_CHILD_SUBREAPER`): an
//! orphan below it becomes *its* child instead of init's. Every terminal and
//! one-shot command gets a scope in its environment ([`SCOPE_VAR`]), which
//! whatever it starts inherits, so an adopted process says whose it is.
//! Listing labctl's own children reads one small file per labctl thread, far
//! cheaper than scanning `/proc`; it is done when a terminal or command ends,
//! when a step is stopped, and when the run ends, never per trivial step.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::cancel::Cancel;

/// The environment variable that marks every process of a run (`<labctl pid>.<random>`).
pub(crate) const RUN_ID_VAR: &str = "LABCTL_RUN_ID";
/// The environment variable that says which terminal, background step or
/// command a process belongs to (labctl-internal).
pub(crate) const SCOPE_VAR: &str = "LABCTL_SCOPE";

/// Pids labctl started itself (shells, commands): children, but not escapees.
static SPAWNED: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Makes labctl the reaper of every orphan below it; false where the kernel refuses.
pub(crate) fn become_subreaper() -> bool {
    nix::sys::prctl::set_child_subreaper(true).is_ok()
}

/// A run id for [`RUN_ID_VAR`]: labctl's pid and a random part.
pub(crate) fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("{}.{:08x}", std::process::id(), h.finish() as u32)
}

/// A fresh scope value for [`SCOPE_VAR`].
pub(crate) fn new_scope() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

/// A process labctl spawned itself; removed from the registry when dropped.
#[derive(Debug)]
pub(crate) struct Spawned(i32);

impl Drop for Spawned {
    fn drop(&mut self) {
        registry().remove(&self.0);
    }
}

fn registry() -> std::sync::MutexGuard<'static, BTreeSet<i32>> {
    SPAWNED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Spawns with the registry held, so that no scan takes the fresh child for an escapee.
pub(crate) fn spawn_registered(
    cmd: &mut tokio::process::Command,
) -> std::io::Result<(tokio::process::Child, Spawned)> {
    let mut reg = registry();
    let child = cmd.spawn()?;
    let pid = child.id().map(|p| p as i32).unwrap_or(0);
    reg.insert(pid);
    Ok((child, Spawned(pid)))
}

/// labctl's children that it did not spawn itself: adopted orphans. Those
/// that already ended are reaped here.
fn adopted() -> Vec<i32> {
    let mut pids = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return pids;
    };
    let reg = registry();
    for task in tasks.flatten() {
        let Ok(list) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        pids.extend(
            list.split_ascii_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
                .filter(|p| !reg.contains(p)),
        );
    }
    drop(reg);
    pids.retain(|&pid| {
        matches!(
            waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)),
            Ok(WaitStatus::StillAlive)
        )
    });
    pids
}

/// The scope in a process's environment, if any.
fn scope_of(pid: i32) -> Option<String> {
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{SCOPE_VAR}=");
    env.split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(prefix.as_bytes()))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// True when `scope` is `want` or one of its background steps (`want.N`).
fn within(scope: &str, want: &str) -> bool {
    scope
        .strip_prefix(want)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// Adopted processes of scope `want` (every adopted process with None).
pub(crate) fn find(want: Option<&str>) -> Vec<i32> {
    let mut pids = adopted();
    if let Some(want) = want {
        pids.retain(|&p| scope_of(p).is_some_and(|s| within(&s, want)));
    }
    pids
}

/// Sends `sig` to the adopted processes of scope `want`; how many there were.
pub(crate) fn signal(want: Option<&str>, sig: Signal) -> usize {
    let pids = find(want);
    for &p in &pids {
        let _ = kill(Pid::from_raw(p), sig);
    }
    pids.len()
}

/// Ends every adopted process of scope `want` (all with None): SIGTERM,
/// the grace period (cut short by `cancel` turning to kill), SIGKILL; again
/// while some are found, since ending a daemon hands its children to labctl.
pub(crate) async fn end(want: Option<&str>, grace: Duration, cancel: &Cancel) {
    for _ in 0..8 {
        if signal(want, Signal::SIGTERM) == 0 {
            return;
        }
        let gone = async {
            while !find(want).is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::select! {
            _ = gone => {}
            _ = cancel.grace(grace) => {}
        }
        signal(want, Signal::SIGKILL);
    }
}

/// [`end`] with no wait: SIGKILL at once (for `Drop`).
pub(crate) fn kill_now(want: Option<&str>) {
    for _ in 0..8 {
        if signal(want, Signal::SIGKILL) == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest_by_dots() {
        assert!(within("3", "3"));
        assert!(within("3.1", "3"));
        assert!(!within("31", "3"));
        assert!(!within("2", "3"));
    }
}
