//! Finding and signalling the processes of a terminal's session.
//!
//! A terminal's shell is a session leader; everything a step starts stays in
//! that session (in its own process groups, thanks to `set -m`) unless it calls
//! setsid itself. Scanning `/proc` for the session id finds every such process,
//! including `$(...)` children that share the shell's own process group.

use std::future::Future;
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use tokio::time::Instant;

use super::escapees;
use crate::cancel::Cancel;

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

/// The processes of one terminal, background step or command: what a stop signals.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// Where its processes are.
    pub procs: Procs,
    /// Its scope, to find the processes that left (see `escapees`).
    pub scope: Option<&'a str>,
}

/// Where a target's processes are.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Procs {
    /// A process group (a one-shot command, a background step).
    Group(i32),
    /// A terminal's session, but `except` (its shell).
    Session { sid: i32, except: Option<i32> },
}

impl Target<'_> {
    /// Sends `sig` to every process of the target; false when none was found.
    pub(crate) fn signal(&self, sig: Signal) -> bool {
        let mut any = match self.procs {
            Procs::Group(pgid) => signal_group(pgid, sig),
            Procs::Session { sid, except } => signal_session(sid, except, sig) > 0,
        };
        if let Some(scope) = self.scope {
            any |= escapees::signal(Some(scope), sig) > 0;
        }
        any
    }

    /// True while a process of the target is alive.
    pub(crate) fn alive(&self) -> bool {
        let mine = match self.procs {
            Procs::Group(pgid) => pgid > 1 && killpg(Pid::from_raw(pgid), None).is_ok(),
            Procs::Session { sid, except } => !live_members(sid, except).is_empty(),
        };
        mine || self
            .scope
            .is_some_and(|s| !escapees::find(Some(s)).is_empty())
    }
}

/// How long a SIGKILLed target may take to be seen gone.
pub(crate) const AFTER_KILL: Duration = Duration::from_millis(500);

/// The one way labctl stops processes, for loops that also read output:
/// each of the polite signals in turn, `grace` apart, then SIGKILL. The
/// grace is cut short when the run turns to kill (a second signal).
#[derive(Debug)]
pub(crate) struct Escalation {
    polite: &'static [Signal],
    sent: usize,
    grace: Duration,
    next: Option<Instant>,
}

impl Escalation {
    /// Not started: nothing is sent until [`Escalation::start`].
    pub(crate) fn new(polite: &'static [Signal], grace: Duration) -> Escalation {
        Escalation {
            polite,
            sent: 0,
            grace,
            next: None,
        }
    }

    /// Sends the first signal (SIGKILL when no grace is left).
    pub(crate) fn start(&mut self, target: &Target<'_>, cancel: &Cancel) {
        if self.next.is_none() {
            if cancel.is_killing() {
                self.sent = self.polite.len();
            }
            self.advance(target);
        }
    }

    /// True once the first signal went.
    pub(crate) fn started(&self) -> bool {
        self.next.is_some()
    }

    /// True once SIGKILL went.
    pub(crate) fn killed(&self) -> bool {
        self.sent > self.polite.len()
    }

    /// The last signal sent.
    pub(crate) fn last(&self) -> Option<Signal> {
        match self.sent {
            0 => None,
            n if n > self.polite.len() => Some(Signal::SIGKILL),
            n => Some(self.polite[n - 1]),
        }
    }

    /// When [`Escalation::advance`] is due; `otherwise` before the start.
    pub(crate) fn due(&self, otherwise: Instant) -> Instant {
        self.next.unwrap_or(otherwise)
    }

    /// Sends the next signal; false when SIGKILL went already and the target
    /// still did not end (the caller gives up on it).
    pub(crate) fn advance(&mut self, target: &Target<'_>) -> bool {
        if self.killed() {
            return false;
        }
        let sig = self
            .polite
            .get(self.sent)
            .copied()
            .unwrap_or(Signal::SIGKILL);
        target.signal(sig);
        self.sent += 1;
        let wait = if sig == Signal::SIGKILL {
            AFTER_KILL.max(self.grace)
        } else {
            self.grace
        };
        self.next = Some(Instant::now() + wait);
        true
    }

    /// No grace left: SIGKILL now, unless it went already.
    pub(crate) fn hurry(&mut self, target: &Target<'_>) {
        if self.started() && !self.killed() {
            self.sent = self.polite.len();
            self.advance(target);
        }
    }
}

/// Stops `target` for callers with nothing else to do meanwhile: the
/// [`Escalation`] until `gone` resolves. Returns `gone`'s output (None when
/// the target outlived SIGKILL) and the last signal sent.
pub(crate) async fn stop<F: Future>(
    target: &Target<'_>,
    polite: &'static [Signal],
    grace: Duration,
    cancel: &Cancel,
    gone: F,
) -> (Option<F::Output>, Option<Signal>) {
    let mut esc = Escalation::new(polite, grace);
    esc.start(target, cancel);
    tokio::pin!(gone);
    loop {
        tokio::select! {
            out = &mut gone => return (Some(out), esc.last()),
            _ = tokio::time::sleep_until(esc.due(Instant::now())) => {
                if !esc.advance(target) {
                    return (None, esc.last());
                }
            }
            _ = cancel.killing(), if !esc.killed() => esc.hurry(target),
        }
    }
}

/// Stops `target` for callers that cannot await (a `Drop`): each of `signals`
/// at once, no grace between them, then blocks until none of its processes is
/// alive, at most `limit` (a process stuck in the kernel must not hold the
/// caller). True when it is gone.
pub(crate) fn end_now(target: &Target<'_>, signals: &[Signal], limit: Duration) -> bool {
    for &sig in signals {
        target.signal(sig);
    }
    let deadline = std::time::Instant::now() + limit;
    while target.alive() {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// Resolves once no process of `target` is alive (polled: there is no event for it).
pub(crate) async fn until_gone(target: &Target<'_>) {
    while target.alive() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
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
