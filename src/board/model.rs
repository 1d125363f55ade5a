//! The board as it stands: users × columns, folded from observations. Pure state, no
//! I/O: the views and the reports read [`Board`] through [`Board::cell`] and friends.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::check::CheckOutcome;
use crate::engine::observe::{Answer, Observation, ProbeId};

/// A column of the board: a step with state checks, or a lab's preconditions.
#[derive(Debug, Clone)]
pub struct Column {
    /// Step id (`egress:preconditions` for preconditions).
    pub id: String,
    /// Index of the lab among the workshop's labs.
    pub lab: usize,
    /// What each state check asserts (for users of the column that have not answered).
    pub checks: Vec<String>,
}

/// What a cell shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// No answer yet: the first look is under way.
    Checking,
    /// Every state check holds.
    Done,
    /// Not done, and never was.
    NotYet,
    /// Was done, is not any more.
    Broken,
    /// Never answered: the cluster or service did not answer.
    NoAnswer,
}

impl Mark {
    /// The one-character symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::Checking => "…",
            Mark::Done => "✓",
            Mark::NotYet => "·",
            Mark::Broken => "✗",
            Mark::NoAnswer => "?",
        }
    }

    /// The word used in snapshots and the line view.
    pub fn word(self) -> &'static str {
        match self {
            Mark::Checking => "checking",
            Mark::Done => "done",
            Mark::NotYet => "not_yet",
            Mark::Broken => "broken",
            Mark::NoAnswer => "no_answer",
        }
    }
}

/// What the last look at one check said.
#[derive(Debug, Clone, Default)]
struct ProbeState {
    /// The last verdict and when it came.
    verdict: Option<(CheckOutcome, Instant)>,
    /// Set while the latest look brought no verdict (cleared by the next verdict).
    trouble: Option<String>,
}

#[derive(Debug, Clone)]
struct CellState {
    checks: Vec<ProbeState>,
    ever_done: bool,
}

#[derive(Debug, Clone)]
struct UserState {
    name: String,
    environment: BTreeMap<String, ProbeState>,
    cells: Vec<CellState>,
    last_progress: Instant,
}

/// One cell, as the views show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The mark.
    pub mark: Mark,
    /// Some(age of the last answer) while the latest look brought none.
    pub stale: Option<Duration>,
    /// Why it is not done (expected/actual of the first failing check), or the trouble.
    pub reason: Option<String>,
}

/// One check of a cell, for the reports.
#[derive(Debug, Clone)]
pub struct CheckView {
    /// The last verdict.
    pub verdict: Option<CheckOutcome>,
    /// The trouble of the latest look, if it brought no verdict.
    pub trouble: Option<String>,
}

/// A visible change, for the line view and snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A cell changed mark, or went stale or fresh.
    Cell {
        /// User index.
        user: usize,
        /// Column index.
        column: usize,
        /// What it shows now.
        now: Cell,
    },
    /// The user's environment appeared or went away (None: it is there).
    Environment {
        /// User index.
        user: usize,
        /// Why there is none.
        missing: Option<String>,
    },
}

/// The whole board.
#[derive(Debug, Clone)]
pub struct Board {
    columns: Vec<Column>,
    users: Vec<UserState>,
    stuck_after: Duration,
}

/// `expected: … / actual: …` of the first failing outcome.
pub fn reason_of(o: &CheckOutcome) -> String {
    let mut s = format!(
        "{}: expected {}, actual {}",
        o.description, o.expected, o.actual
    );
    if let Some(m) = &o.message {
        s.push_str(" (");
        s.push_str(m.lines().next().unwrap_or_default());
        s.push(')');
    }
    s
}

impl Board {
    /// An empty board: every cell being checked.
    pub fn new(columns: Vec<Column>, users: Vec<String>, stuck_after: Duration) -> Board {
        let now = Instant::now();
        let users = users
            .into_iter()
            .map(|name| UserState {
                name,
                environment: BTreeMap::new(),
                cells: columns
                    .iter()
                    .map(|c| CellState {
                        checks: vec![ProbeState::default(); c.checks.len()],
                        ever_done: false,
                    })
                    .collect(),
                last_progress: now,
            })
            .collect();
        Board {
            columns,
            users,
            stuck_after,
        }
    }

    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// User names in order.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.users.iter().map(|u| u.name.as_str())
    }

    /// Number of users.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Folds one observation in; returns what visibly changed.
    pub fn apply(&mut self, o: &Observation) -> Option<Change> {
        let u = self.users.get(o.user)?;
        match &o.probe {
            ProbeId::Environment(ns) => {
                let before = self.missing_environment(o.user);
                let u = &mut self.users[o.user];
                record(u.environment.entry(ns.clone()).or_default(), o);
                let after = self.missing_environment(o.user);
                (before != after).then_some(Change::Environment {
                    user: o.user,
                    missing: after,
                })
            }
            ProbeId::Check { column, check } => {
                u.cells.get(*column)?.checks.get(*check)?;
                let before = self.cell_at(o.user, *column, o.at);
                let u = &mut self.users[o.user];
                record(&mut u.cells[*column].checks[*check], o);
                let after = self.cell_at(o.user, *column, o.at);
                if after.mark == Mark::Done {
                    let cell = &mut self.users[o.user].cells[*column];
                    cell.ever_done = true;
                    if before.mark != Mark::Done {
                        self.users[o.user].last_progress = o.at;
                    }
                }
                let visible = |c: &Cell| (c.mark, c.stale.is_some());
                (visible(&before) != visible(&after)).then_some(Change::Cell {
                    user: o.user,
                    column: *column,
                    now: after,
                })
            }
        }
    }

    /// Why the user has no environment (a namespace their checks look in does not exist).
    pub fn missing_environment(&self, user: usize) -> Option<String> {
        let missing: Vec<&str> = self.users[user]
            .environment
            .iter()
            .filter(|(_, p)| matches!(&p.verdict, Some((o, _)) if !o.passed))
            .map(|(ns, _)| ns.as_str())
            .collect();
        match missing.as_slice() {
            [] => None,
            [one] => Some(format!("namespace {one} does not exist")),
            many => Some(format!("namespaces {} do not exist", many.join(", "))),
        }
    }

    /// The cell of `user` in `column`, now.
    pub fn cell(&self, user: usize, column: usize) -> Cell {
        self.cell_at(user, column, Instant::now())
    }

    fn cell_at(&self, user: usize, column: usize, now: Instant) -> Cell {
        let c = &self.users[user].cells[column];
        let stale = c
            .checks
            .iter()
            .filter(|p| p.trouble.is_some())
            .filter_map(|p| {
                p.verdict
                    .as_ref()
                    .map(|(_, at)| now.saturating_duration_since(*at))
            })
            .max();
        let trouble = c.checks.iter().find_map(|p| p.trouble.clone());
        if c.checks.iter().any(|p| p.verdict.is_none()) {
            return match trouble {
                Some(t) => Cell {
                    mark: Mark::NoAnswer,
                    stale: None,
                    reason: Some(t),
                },
                None => Cell {
                    mark: Mark::Checking,
                    stale: None,
                    reason: None,
                },
            };
        }
        let failing = c
            .checks
            .iter()
            .filter_map(|p| p.verdict.as_ref())
            .find(|(o, _)| !o.passed);
        let mark = match failing {
            None => Mark::Done,
            Some(_) if c.ever_done => Mark::Broken,
            Some(_) => Mark::NotYet,
        };
        let reason = match (stale, failing) {
            (Some(_), _) => trouble,
            (None, Some((o, _))) => Some(reason_of(o)),
            (None, None) => None,
        };
        Cell {
            mark,
            stale,
            reason,
        }
    }

    /// The checks of a cell, for reports.
    pub fn checks(&self, user: usize, column: usize) -> Vec<CheckView> {
        self.users[user].cells[column]
            .checks
            .iter()
            .map(|p| CheckView {
                verdict: p.verdict.as_ref().map(|(o, _)| o.clone()),
                trouble: p.trouble.clone(),
            })
            .collect()
    }

    /// Users done with `column` (those without an environment count as not done).
    pub fn done_count(&self, column: usize) -> usize {
        (0..self.users.len())
            .filter(|&u| {
                self.missing_environment(u).is_none() && self.cell(u, column).mark == Mark::Done
            })
            .count()
    }

    /// The furthest column the user has done.
    pub fn furthest(&self, user: usize) -> Option<usize> {
        (0..self.columns.len())
            .rev()
            .find(|&c| self.cell(user, c).mark == Mark::Done)
    }

    /// Time since the user's last progress (a cell turning done), or since the start.
    pub fn since_progress(&self, user: usize) -> Duration {
        self.users[user].last_progress.elapsed()
    }

    /// No progress for `--stuck`, and not done with everything (a user without an
    /// environment is that, not stuck).
    pub fn stuck(&self, user: usize) -> bool {
        if self.missing_environment(user).is_some() {
            return false;
        }
        let all_done = (0..self.columns.len()).all(|c| self.cell(user, c).mark == Mark::Done);
        !all_done && self.since_progress(user) >= self.stuck_after
    }

    /// The most common reason among users not done with `column`, and how many share it.
    pub fn common_reason(&self, column: usize) -> Option<(String, usize)> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for u in 0..self.users.len() {
            if let Some(r) = self.cell(u, column).reason {
                // The user's name in a reason (their namespace) would split identical causes.
                let general = r.replace(&self.users[u].name, "<user>");
                *counts.entry(general).or_default() += 1;
            }
        }
        counts.into_iter().max_by_key(|(_, n)| *n)
    }
}

fn record(p: &mut ProbeState, o: &Observation) {
    match &o.answer {
        Answer::Judged(outcome) => {
            p.verdict = Some((outcome.clone(), o.at));
            p.trouble = None;
        }
        Answer::Trouble(t) => p.trouble = Some(t.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> Board {
        let cols = vec![Column {
            id: "apply".into(),
            lab: 0,
            checks: vec!["kube".into()],
        }];
        Board::new(
            cols,
            vec!["user1".into(), "user2".into()],
            Duration::from_secs(600),
        )
    }

    fn judged(user: usize, passed: bool) -> Observation {
        Observation {
            user,
            probe: ProbeId::Check {
                column: 0,
                check: 0,
            },
            answer: Answer::Judged(CheckOutcome {
                passed,
                description: "kube".into(),
                expected: "exists".into(),
                actual: if passed { "exists" } else { "not found" }.into(),
                message: None,
            }),
            at: Instant::now(),
        }
    }

    #[test]
    fn done_then_broken_then_done_again() {
        let mut b = board();
        assert_eq!(b.cell(0, 0).mark, Mark::Checking);
        b.apply(&judged(0, false));
        assert_eq!(b.cell(0, 0).mark, Mark::NotYet);
        assert!(b.apply(&judged(0, true)).is_some());
        assert_eq!(b.cell(0, 0).mark, Mark::Done);
        assert_eq!(b.done_count(0), 1);
        b.apply(&judged(0, false));
        let c = b.cell(0, 0);
        assert_eq!(c.mark, Mark::Broken);
        assert!(c.reason.unwrap().contains("actual not found"));
        b.apply(&judged(0, true));
        assert_eq!(b.cell(0, 0).mark, Mark::Done);
        assert_eq!(b.cell(1, 0).mark, Mark::Checking);
    }

    #[test]
    fn silence_is_stale_not_failed_and_recovers() {
        let mut b = board();
        b.apply(&judged(0, true));
        let mut t = judged(0, true);
        t.answer = Answer::Trouble("connection refused".into());
        assert!(b.apply(&t).is_some());
        let c = b.cell(0, 0);
        assert_eq!(c.mark, Mark::Done);
        assert!(c.stale.is_some());
        assert_eq!(c.reason.as_deref(), Some("connection refused"));
        b.apply(&judged(0, true));
        assert_eq!(b.cell(0, 0).stale, None);
        // Never answered at all: no answer, with the reason.
        b.apply(&Observation { user: 1, ..t });
        assert_eq!(b.cell(1, 0).mark, Mark::NoAnswer);
    }

    #[test]
    fn a_missing_namespace_is_no_environment() {
        let mut b = board();
        let mut o = judged(1, false);
        o.probe = ProbeId::Environment("user2".into());
        assert_eq!(
            b.apply(&o),
            Some(Change::Environment {
                user: 1,
                missing: Some("namespace user2 does not exist".into())
            })
        );
        assert_eq!(b.missing_environment(0), None);
    }
}
