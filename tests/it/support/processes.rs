//! Finding processes by their command line, to prove a run left none behind.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// How long a killed process may take to leave /proc on a loaded machine. A
/// SIGKILL is delivered asynchronously, so a process can still be listed just
/// after labctl returns; the sleeps the tests leave behind run for 100 s and
/// more, so one that was never killed still fails.
pub const GONE_WITHIN: Duration = Duration::from_secs(10);

/// How long processes may take to be started (exec'd) on a loaded machine.
pub const STARTED_WITHIN: Duration = Duration::from_secs(10);

/// Live (not zombie) processes whose command line contains `marker`, as
/// (pid, command line).
pub fn processes_with(marker: &str) -> Vec<(i32, String)> {
    let Ok(proc_dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in proc_dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        if !zombie && cmdline.contains(marker) {
            found.push((pid, cmdline));
        }
    }
    found
}

/// Live (not zombie) processes whose environment has an entry starting with
/// `entry` (such as `LABCTL_RUN_ID=4242.`), as (pid, command line).
pub fn processes_with_env(entry: &str) -> Vec<(i32, String)> {
    let Ok(proc_dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for e in proc_dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if environ
            .split(|b| *b == 0)
            .any(|kv| kv.starts_with(entry.as_bytes()))
        {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            found.push((pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")));
        }
    }
    found
}

/// Fails the test when a live process carrying `marker` is still there once
/// [`GONE_WITHIN`] has passed; returns as soon as none is.
#[track_caller]
pub fn assert_gone(marker: &str) {
    let deadline = Instant::now() + GONE_WITHIN;
    loop {
        let left = processes_with(marker);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still running after {GONE_WITHIN:?}: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until `count` live processes carry `marker` (they may still be
/// exec'ing), or [`STARTED_WITHIN`] passes; returns how many there are.
pub fn wait_for_processes(marker: &str, count: usize) -> usize {
    let deadline = Instant::now() + STARTED_WITHIN;
    loop {
        let found = processes_with(marker).len();
        if found >= count || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
