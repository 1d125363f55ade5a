//! Finding processes by their command line, to prove a run left none behind.
#![allow(dead_code)]

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
