//! The board as it stands: users × columns, folded from observations. Pure state, no
//! I/O: the views and the reports read [`Board`] through [`Board::cell`] and friends.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::check::CheckOutcome;
use crate::engine::observe::{Answer, Observation, ProbeId};

/// A column of the board: a step with state checks, or a lab's preconditions.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    /// Step id (`egress:preconditions` for preconditions).
    pub id: String,
}

/// One user's row before any answer.
#[derive(Debug, Clone)]
pub(crate) struct Student {
    /// The user's name.
    pub name: String,
    /// Per column, what each state check asserts, in this user's words (their
    /// namespace, their host): a cell's detail lists these.
    pub checks: Vec<Vec<String>>,
    /// The namespaces whose existence is the user's environment; until each has
    /// answered, the user's cells stay "checking" (a check may answer first, and a
    /// user without a namespace must never show its answer).
    pub environment: Vec<String>,
}

/// What a cell shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
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
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Mark::Checking => "…",
            Mark::Done => "✓",
            Mark::NotYet => "·",
            Mark::Broken => "✗",
            Mark::NoAnswer => "?",
        }
    }

    /// The word used in snapshots and the line view.
    pub(crate) fn word(self) -> &'static str {
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
    /// What each check asserts, in the user's words.
    wording: Vec<String>,
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
pub(crate) struct Cell {
    pub mark: Mark,
    /// Some(age of the last answer) while the latest look brought none.
    pub stale: Option<Duration>,
    /// Why it is not done (expected/actual of the first failing check), or the trouble.
    pub reason: Option<String>,
}

/// One check of a cell, for the reports.
#[derive(Debug, Clone)]
pub(crate) struct CheckView {
    /// The last verdict.
    pub verdict: Option<CheckOutcome>,
    /// The trouble of the latest look, if it brought no verdict.
    pub trouble: Option<String>,
}

/// A visible change, for the line view and snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
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
pub(crate) struct Board {
    columns: Vec<Column>,
    users: Vec<UserState>,
    stuck_after: Duration,
}

/// `expected: … / actual: …` of the first failing outcome.
pub(crate) fn reason_of(o: &CheckOutcome) -> String {
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
    pub(crate) fn new(
        columns: Vec<Column>,
        students: Vec<Student>,
        stuck_after: Duration,
    ) -> Board {
        let now = Instant::now();
        let users = students
            .into_iter()
            .map(|s| UserState {
                name: s.name,
                environment: s
                    .environment
                    .into_iter()
                    .map(|ns| (ns, ProbeState::default()))
                    .collect(),
                cells: (0..columns.len())
                    .map(|c| {
                        let wording = s.checks.get(c).cloned().unwrap_or_default();
                        CellState {
                            checks: vec![ProbeState::default(); wording.len()],
                            wording,
                            ever_done: false,
                        }
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

    pub(crate) fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// User names in order.
    pub(crate) fn users(&self) -> impl Iterator<Item = &str> {
        self.users.iter().map(|u| u.name.as_str())
    }

    /// What each state check of `user`'s cell in `column` asserts, in that user's words.
    pub(crate) fn wording(&self, user: usize, column: usize) -> &[String] {
        &self.users[user].cells[column].wording
    }

    /// Number of users.
    pub(crate) fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Folds one observation in; returns what visibly changed.
    pub(crate) fn apply(&mut self, o: &Observation) -> Vec<Change> {
        let Some(u) = self.users.get(o.user) else {
            return Vec::new();
        };
        match &o.probe {
            ProbeId::Environment(ns) => {
                let before = self.missing_environment(o.user);
                // The first answer of the environment releases every held cell.
                let cells: Vec<Cell> = (0..self.columns.len())
                    .map(|c| self.cell_at(o.user, c, o.at))
                    .collect();
                let u = &mut self.users[o.user];
                record(u.environment.entry(ns.clone()).or_default(), o);
                let after = self.missing_environment(o.user);
                let mut changes: Vec<Change> = (before != after)
                    .then_some(Change::Environment {
                        user: o.user,
                        missing: after,
                    })
                    .into_iter()
                    .collect();
                for (column, before) in cells.into_iter().enumerate() {
                    changes.extend(self.settle(o.user, column, &before, o.at));
                }
                changes
            }
            ProbeId::Check { column, check } => {
                if u.cells
                    .get(*column)
                    .and_then(|c| c.checks.get(*check))
                    .is_none()
                {
                    return Vec::new();
                }
                let before = self.cell_at(o.user, *column, o.at);
                let u = &mut self.users[o.user];
                record(&mut u.cells[*column].checks[*check], o);
                self.settle(o.user, *column, &before, o.at)
                    .into_iter()
                    .collect()
            }
        }
    }

    /// After an answer: marks the cell as once done and the user's progress, and says
    /// whether it visibly changed from `before`.
    fn settle(&mut self, user: usize, column: usize, before: &Cell, at: Instant) -> Option<Change> {
        let after = self.cell_at(user, column, at);
        if after.mark == Mark::Done {
            self.users[user].cells[column].ever_done = true;
            if before.mark != Mark::Done {
                self.users[user].last_progress = at;
            }
        }
        let visible = |c: &Cell| (c.mark, c.stale.is_some());
        (visible(before) != visible(&after)).then_some(Change::Cell {
            user,
            column,
            now: after,
        })
    }

    /// Some environment probe of the user has not answered yet.
    fn environment_pending(&self, user: usize) -> bool {
        self.users[user]
            .environment
            .values()
            .any(|p| p.verdict.is_none() && p.trouble.is_none())
    }

    /// Why the user has no environment (a namespace their checks look in does not exist).
    pub(crate) fn missing_environment(&self, user: usize) -> Option<String> {
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
    pub(crate) fn cell(&self, user: usize, column: usize) -> Cell {
        self.cell_at(user, column, Instant::now())
    }

    fn cell_at(&self, user: usize, column: usize, now: Instant) -> Cell {
        if self.environment_pending(user) {
            return Cell {
                mark: Mark::Checking,
                stale: None,
                reason: None,
            };
        }
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
    pub(crate) fn checks(&self, user: usize, column: usize) -> Vec<CheckView> {
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
    pub(crate) fn done_count(&self, column: usize) -> usize {
        (0..self.users.len())
            .filter(|&u| {
                self.missing_environment(u).is_none() && self.cell(u, column).mark == Mark::Done
            })
            .count()
    }

    /// The furthest column the user has done.
    pub(crate) fn furthest(&self, user: usize) -> Option<usize> {
        (0..self.columns.len())
            .rev()
            .find(|&c| self.cell(user, c).mark == Mark::Done)
    }

    /// Time since the user's last progress (a cell turning done), or since the start.
    pub(crate) fn since_progress(&self, user: usize) -> Duration {
        self.users[user].last_progress.elapsed()
    }

    /// No progress for `--stuck`, and not done with everything (a user without an
    /// environment is that, not stuck).
    pub(crate) fn stuck(&self, user: usize) -> bool {
        if self.missing_environment(user).is_some() {
            return false;
        }
        let all_done = (0..self.columns.len()).all(|c| self.cell(user, c).mark == Mark::Done);
        !all_done && self.since_progress(user) >= self.stuck_after
    }

    /// The most common reason among users not done with `column`, and how many share it.
    pub(crate) fn common_reason(&self, column: usize) -> Option<(String, usize)> {
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

    fn board_with(environment: &[&str]) -> Board {
        let cols = vec![Column { id: "apply".into() }];
        let students = ["user1", "user2"]
            .map(|name| Student {
                name: name.into(),
                checks: vec![vec![format!("ServiceEntry egress in {name}")]],
                environment: environment.iter().map(|e| e.replace("%u", name)).collect(),
            })
            .to_vec();
        Board::new(cols, students, Duration::from_secs(600))
    }

    fn board() -> Board {
        board_with(&[])
    }

    fn namespace(user: usize, exists: bool) -> Observation {
        let mut o = judged(user, exists);
        o.probe = ProbeId::Environment(format!("user{}", user + 1));
        o
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
        assert!(!b.apply(&judged(0, true)).is_empty());
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
        assert!(!b.apply(&t).is_empty());
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
            [Change::Environment {
                user: 1,
                missing: Some("namespace user2 does not exist".into())
            }]
        );
        assert_eq!(b.missing_environment(0), None);
    }

    #[test]
    fn a_check_answering_before_the_namespace_probe_is_held_until_it_answers() {
        let mut b = board_with(&["%u"]);
        // user2 has no namespace, but its check answers first.
        assert_eq!(b.apply(&judged(1, false)), []);
        assert_eq!(b.cell(1, 0).mark, Mark::Checking);
        let changes = b.apply(&namespace(1, false));
        assert_eq!(
            changes[0],
            Change::Environment {
                user: 1,
                missing: Some("namespace user2 does not exist".into())
            }
        );
        assert!(b.missing_environment(1).is_some());
        // user1's namespace exists: the held answer shows once it has said so.
        assert_eq!(b.apply(&judged(0, true)), []);
        assert_eq!(b.cell(0, 0).mark, Mark::Checking);
        assert_eq!(b.done_count(0), 0);
        let changes = b.apply(&namespace(0, true));
        assert!(
            matches!(changes.as_slice(), [Change::Cell { user: 0, column: 0, now }] if now.mark == Mark::Done),
            "{changes:?}"
        );
        assert_eq!(b.done_count(0), 1);
        assert_eq!(b.furthest(0), Some(0));
    }

    #[test]
    fn every_user_has_their_own_wording() {
        let b = board();
        assert_eq!(b.wording(1, 0), ["ServiceEntry egress in user2"]);
        assert_eq!(b.wording(0, 0), ["ServiceEntry egress in user1"]);
    }
}
