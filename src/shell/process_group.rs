//! Finding and signalling the processes of a terminal's session.
//!
//! A terminal's shell is a session leader; everything a step starts stays in
//! that session (in its own process groups, thanks to `set -m`) unless it calls
//! setsid itself. Scanning `/proc` for the session id finds every such process,
//! including `$(...)` children that share the shell's own process group.

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// One process as `/proc/PID/stat` describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcInfo {
    pub pid: i32,
    pub pgid: i32,
    pub sid: i32,
    pub zombie: bool,
}

/// Parses `/proc/PID/stat`; the command name may contain spaces and parentheses.
fn parse_stat(pid: i32, stat: &str) -> Option<ProcInfo> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?;
    let _ppid = fields.next()?;
    let pgid = fields.next()?.parse().ok()?;
    let sid = fields.next()?.parse().ok()?;
    Some(ProcInfo {
        pid,
        pgid,
        sid,
        zombie: state == "Z" || state == "X",
    })
}

/// Every process (zombies included) whose session id is `sid`.
pub(crate) fn session_members(sid: i32) -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        parse_stat(pid, &stat)
    })
    .filter(|p| p.sid == sid)
    .collect()
}

/// Live (non-zombie) members of session `sid` other than `except`.
pub(crate) fn live_members(sid: i32, except: Option<i32>) -> Vec<ProcInfo> {
    session_members(sid)
        .into_iter()
        .filter(|p| !p.zombie && Some(p.pid) != except)
        .collect()
}

/// Sends `sig` to every live process of session `sid` except `except` (the shell).
///
/// Signals each pid (not only each group) because command substitutions run in
/// the shell's own group, which must not be signalled as a whole. Rescans a few
/// times so children forked while we were signalling are caught too. Returns
/// how many processes were signalled.
pub(crate) fn signal_session(sid: i32, except: Option<i32>, sig: Signal) -> usize {
    let mut signalled = std::collections::HashSet::new();
    for _ in 0..4 {
        let mut new = 0;
        for p in live_members(sid, except) {
            if signalled.insert(p.pid) {
                new += 1;
            }
            let _ = kill(Pid::from_raw(p.pid), sig);
        }
        if new == 0 {
            break;
        }
    }
    signalled.len()
}

/// Sends `sig` to process group `pgid`; false when the group no longer exists.
pub(crate) fn signal_group(pgid: i32, sig: Signal) -> bool {
    pgid > 1 && killpg(Pid::from_raw(pgid), sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let stat = "4242 (my (odd) cmd) S 1 4240 4200 0 -1 4194560 0 0";
        assert_eq!(
            parse_stat(4242, stat),
            Some(ProcInfo {
                pid: 4242,
                pgid: 4240,
                sid: 4200,
                zombie: false
            })
        );
        let zombie = "7 (sleep) Z 1 7 7 0";
        assert!(parse_stat(7, zombie).unwrap().zombie);
    }

    #[test]
    fn finds_own_session() {
        let me = std::process::id() as i32;
        let sid = nix::unistd::getsid(None).unwrap().as_raw();
        assert!(session_members(sid).iter().any(|p| p.pid == me));
    }
}
