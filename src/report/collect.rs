//! The run as the file reporters see it, rebuilt from events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::event::{Event, EventKind, LabResult, Stats, UserName};

/// One user's part.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// The user.
    pub user: UserName,
    /// Their variables (redacted).
    pub vars: BTreeMap<String, String>,
    /// Labs in order.
    pub labs: Vec<Arc<LabResult>>,
    /// Totals.
    pub stats: Stats,
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct Collected {
    /// When it started.
    pub started_at: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// Users in start order.
    pub users: Vec<UserRecord>,
    /// Totals (set at RunFinished).
    pub stats: Stats,
    /// RunFinished arrived.
    pub finished: bool,
}

impl Default for Collected {
    fn default() -> Self {
        Collected {
            started_at: SystemTime::now(),
            duration: Duration::ZERO,
            users: Vec::new(),
            stats: Stats::default(),
            finished: false,
        }
    }
}

impl Collected {
    fn user(&mut self, u: &UserName) -> &mut UserRecord {
        if let Some(i) = self.users.iter().position(|r| r.user == *u) {
            return &mut self.users[i];
        }
        self.users.push(UserRecord {
            user: u.clone(),
            vars: BTreeMap::new(),
            labs: Vec::new(),
            stats: Stats::default(),
        });
        self.users.last_mut().expect("just pushed")
    }

    /// Folds one event in.
    pub fn apply(&mut self, e: &Event) {
        match &e.kind {
            EventKind::RunStarted { users, .. } => {
                self.started_at = e.at;
                for u in users {
                    self.user(u);
                }
            }
            EventKind::UserStarted { user, vars } => self.user(user).vars = vars.clone(),
            EventKind::UserFinished { user, stats } => self.user(user).stats = *stats,
            EventKind::LabStarted { .. }
            | EventKind::StepStarted { .. }
            | EventKind::TryFailedWillRetry { .. }
            | EventKind::StepFinished { .. }
            | EventKind::RunCancelling { .. } => {}
            EventKind::LabFinished { user, result } => self.user(user).labs.push(result.clone()),
            EventKind::RunFinished { stats } => {
                self.stats = *stats;
                self.duration = e.elapsed;
                self.finished = true;
            }
        }
    }

    /// passed, failed or interrupted.
    pub fn outcome(&self) -> &'static str {
        if self.stats.interrupted {
            "interrupted"
        } else if self.stats.failed > 0 {
            "failed"
        } else {
            "passed"
        }
    }
}
