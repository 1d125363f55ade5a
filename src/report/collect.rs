//! The run as the file reporters see it, rebuilt from events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::event::{Event, EventKind, LabOutcome, LabResult, Stats, StepResult, UserName};

/// One user's part.
#[derive(Debug, Clone)]
pub(crate) struct UserRecord {
    pub user: UserName,
    /// Their variables (redacted).
    pub vars: BTreeMap<String, String>,
    /// Labs in order.
    pub labs: Vec<Arc<LabResult>>,
    /// When each lab (same order) started and how long it took.
    pub lab_times: Vec<LabTime>,
    /// Totals.
    pub stats: Stats,
}

/// When a lab started for a user and how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LabTime {
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// Start to end.
    pub duration: Duration,
}

impl UserRecord {
    /// A user with nothing recorded yet.
    pub(crate) fn new(user: UserName) -> UserRecord {
        UserRecord {
            user,
            vars: BTreeMap::new(),
            labs: Vec::new(),
            lab_times: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// Any step failed, timed out or errored, or a lab was interrupted.
    pub(crate) fn failed(&self) -> bool {
        self.labs.iter().any(|l| l.outcome != LabOutcome::Passed)
    }
}

/// The whole run.
#[derive(Debug, Clone)]
pub(crate) struct Collected {
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
    /// Labs begun and not yet finished: (user, path) -> start.
    lab_started: Vec<(UserName, std::path::PathBuf, SystemTime)>,
}

impl Default for Collected {
    fn default() -> Self {
        Collected {
            started_at: SystemTime::now(),
            duration: Duration::ZERO,
            users: Vec::new(),
            stats: Stats::default(),
            finished: false,
            lab_started: Vec::new(),
        }
    }
}

impl Collected {
    fn user(&mut self, u: &UserName) -> &mut UserRecord {
        if let Some(i) = self.users.iter().position(|r| r.user == *u) {
            return &mut self.users[i];
        }
        self.users.push(UserRecord::new(u.clone()));
        self.users.last_mut().expect("just pushed")
    }

    /// Folds one event in.
    pub(crate) fn apply(&mut self, e: &Event) {
        match &e.kind {
            EventKind::RunStarted { users, .. } => {
                self.started_at = e.at;
                for u in users {
                    self.user(u);
                }
            }
            EventKind::UserStarted { user, vars } => self.user(user).vars = vars.clone(),
            EventKind::UserFinished { user, stats } => self.user(user).stats = *stats,
            EventKind::LabStarted { user, path, .. } => {
                self.lab_started.push((user.clone(), path.clone(), e.at))
            }
            EventKind::StepStarted { .. }
            | EventKind::TryFailedWillRetry { .. }
            | EventKind::StepFinished { .. }
            | EventKind::RunCancelling { .. } => {}
            EventKind::LabFinished { user, result } => {
                let started = self
                    .lab_started
                    .iter()
                    .position(|(u, p, _)| u == user && *p == result.path)
                    .map(|i| self.lab_started.remove(i).2)
                    .unwrap_or(e.at);
                let time = LabTime {
                    started_at: started,
                    duration: e.at.duration_since(started).unwrap_or_default(),
                };
                let rec = self.user(user);
                rec.labs.push(result.clone());
                rec.lab_times.push(time);
            }
            EventKind::RunFinished { stats } => {
                self.stats = *stats;
                self.duration = e.elapsed;
                self.finished = true;
            }
        }
    }

    /// How the whole run ended.
    pub(crate) fn outcome(&self) -> LabOutcome {
        if self.stats.interrupted {
            LabOutcome::Interrupted
        } else if self.stats.failed > 0 {
            LabOutcome::Failed
        } else {
            LabOutcome::Passed
        }
    }
}

/// A JSON report that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FromJsonError {
    /// Not version 1 of the schema in cli.md.
    #[error("not a labctl JSON report: `version` is {0}, expected 1")]
    Version(String),
    /// A field is missing or has the wrong type.
    #[error("not a labctl JSON report: {0}")]
    Shape(#[from] serde_json::Error),
    /// `started_at` is not RFC 3339.
    #[error("`started_at` `{0}` is not an RFC 3339 time")]
    StartedAt(String),
}

/// The JSON report's top level, as written by `report::json::document`.
#[derive(serde::Deserialize)]
struct Document {
    outcome: LabOutcome,
    started_at: String,
    duration_ms: u64,
    runs: Vec<RunDocument>,
}

#[derive(serde::Deserialize)]
struct RunDocument {
    user: UserName,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    labs: Vec<LabResult>,
}

impl Collected {
    /// Rebuilds a finished run from a JSON report (version 1). Totals are
    /// recounted from the steps; `interrupted` comes from the report's outcome.
    pub(crate) fn from_json(doc: &serde_json::Value) -> Result<Collected, FromJsonError> {
        match doc.get("version") {
            Some(v) if v == 1 => {}
            Some(v) => return Err(FromJsonError::Version(v.to_string())),
            None => return Err(FromJsonError::Version("missing".into())),
        }
        let d: Document = serde_json::from_value(doc.clone())?;
        let started_at = humantime::parse_rfc3339_weak(&d.started_at)
            .map_err(|_| FromJsonError::StartedAt(d.started_at.clone()))?;
        let mut run = Collected {
            started_at,
            duration: Duration::from_millis(d.duration_ms),
            users: Vec::new(),
            stats: Stats::default(),
            finished: true,
            lab_started: Vec::new(),
        };
        for r in d.runs {
            let mut stats = Stats::default();
            let mut lab_times = Vec::new();
            let labs = r
                .labs
                .into_iter()
                .map(|mut lab| {
                    // Steps do not carry their file in JSON; the failure block needs it.
                    let mut ms = 0;
                    for s in &mut lab.steps {
                        let step: &mut StepResult = Arc::make_mut(s);
                        step.path = lab.path.clone();
                        stats.add(step);
                        ms += step.duration_ms;
                    }
                    // Reports from before these fields: what the path tells.
                    if lab.file.as_os_str().is_empty() {
                        lab.file = lab.path.clone();
                    }
                    if lab.stem.is_empty() {
                        lab.stem = lab
                            .path
                            .file_stem()
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_default();
                    }
                    // The JSON report keeps no lab times: the run's start and the steps' sum.
                    lab_times.push(LabTime {
                        started_at,
                        duration: Duration::from_millis(ms),
                    });
                    Arc::new(lab)
                })
                .collect();
            run.stats.passed += stats.passed;
            run.stats.failed += stats.failed;
            run.stats.skipped += stats.skipped;
            run.stats.warnings += stats.warnings;
            run.users.push(UserRecord {
                user: r.user,
                vars: r.vars,
                labs,
                lab_times,
                stats,
            });
        }
        run.stats.interrupted = d.outcome == LabOutcome::Interrupted;
        Ok(run)
    }

    /// Merges finished runs into one: users in natural name order (`user2`
    /// before `user10`; the user-less run first), started at the earliest
    /// start, lasting until the latest end, totals recounted from the steps.
    /// A user found in several runs keeps the result of the run that started
    /// last (a rerun of what failed replaces the failure); the names so
    /// replaced are returned, once each.
    pub(crate) fn merge(mut parts: Vec<Collected>) -> (Collected, Vec<UserName>) {
        let Some(started_at) = parts.iter().map(|p| p.started_at).min() else {
            let empty = Collected {
                finished: true,
                ..Collected::default()
            };
            return (empty, Vec::new());
        };
        let end = parts
            .iter()
            .map(|p| p.started_at + p.duration)
            .max()
            .unwrap_or(started_at);
        let mut run = Collected {
            started_at,
            duration: end.duration_since(started_at).unwrap_or_default(),
            finished: true,
            ..Collected::default()
        };
        // Stable: runs that started at the same time keep the order given.
        parts.sort_by_key(|p| p.started_at);
        let mut replaced: Vec<UserName> = Vec::new();
        let mut interrupted: Vec<(UserName, bool)> = Vec::new();
        for p in parts {
            for u in p.users {
                if let Some(i) = run.users.iter().position(|r| r.user == u.user) {
                    if !replaced.contains(&u.user) {
                        replaced.push(u.user.clone());
                    }
                    interrupted.retain(|(n, _)| *n != u.user);
                    run.users.remove(i);
                }
                interrupted.push((u.user.clone(), p.stats.interrupted));
                run.users.push(u);
            }
        }
        run.users.sort_by_key(|u| natural_key(&u.user));
        for u in &run.users {
            for s in u.labs.iter().flat_map(|l| l.steps.iter()) {
                run.stats.add(s);
            }
        }
        run.stats.interrupted = interrupted.iter().any(|(_, i)| *i);
        replaced.sort_by_key(natural_key);
        (run, replaced)
    }
}

/// A piece of a user name for natural ordering: digit runs compare as numbers.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum NamePart {
    Number(u128, usize),
    Text(String),
}

/// `None` first, then names piece by piece so `user2` < `user10`.
fn natural_key(u: &UserName) -> Option<Vec<NamePart>> {
    let name = u.as_deref()?;
    let mut parts = Vec::new();
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        let digits = c.is_ascii_digit();
        let end = rest
            .find(|ch: char| ch.is_ascii_digit() != digits)
            .unwrap_or(rest.len());
        let (piece, tail) = rest.split_at(end);
        parts.push(if digits {
            // Too long for u128: compare as text after all numbers of that length.
            match piece.parse() {
                Ok(n) => NamePart::Number(n, piece.len()),
                Err(_) => NamePart::Text(piece.to_string()),
            }
        } else {
            NamePart::Text(piece.to_string())
        });
        rest = tail;
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_puts_user2_before_user10() {
        let mut names = vec![
            Some("user10".to_string()),
            Some("user2".to_string()),
            None,
            Some("alice".to_string()),
            Some("user1".to_string()),
        ];
        names.sort_by_key(natural_key);
        assert_eq!(
            names,
            vec![
                None,
                Some("alice".to_string()),
                Some("user1".to_string()),
                Some("user2".to_string()),
                Some("user10".to_string()),
            ]
        );
    }

    #[test]
    fn json_round_trip_keeps_users_steps_and_outcome() {
        let doc = serde_json::json!({
            "version": 1, "outcome": "failed",
            "started_at": "2025-01-01T10:00:00.000Z", "duration_ms": 1500,
            "runs": [{"user": "user2", "vars": {"username": "user2"}, "outcome": "failed",
              "labs": [{"path": "labs/a.md", "title": "A", "outcome": "failed",
                "steps": [{"id": "a:1", "name": null, "line": 3, "terminal": 1,
                  "command": "false", "outcome": "failed", "exit_code": 1, "tries": 1,
                  "duration_ms": 5, "checks": [{"kind": "exit", "description": "exit status is 0",
                  "outcome": "failed", "message": "got 1"}], "warnings": [], "stderr": "boom"}]}]}]
        });
        let run = Collected::from_json(&doc).unwrap();
        assert_eq!(run.outcome(), LabOutcome::Failed);
        assert_eq!(run.stats.failed, 1);
        let step = &run.users[0].labs[0].steps[0];
        assert_eq!(step.path, std::path::Path::new("labs/a.md"));
        assert_eq!(step.stderr, "boom");
        let again = crate::report::json::document(&run);
        assert_eq!(
            again["runs"][0]["labs"][0]["steps"],
            doc["runs"][0]["labs"][0]["steps"]
        );
        assert_eq!(again["started_at"], doc["started_at"]);

        let mut other = doc.clone();
        other["version"] = serde_json::json!(2);
        assert!(matches!(
            Collected::from_json(&other),
            Err(FromJsonError::Version(_))
        ));
    }

    #[test]
    fn merge_spans_the_runs_and_recomputes_the_outcome() {
        let mk = |user: &str, start: u64, ms: u64, failed: bool| Collected {
            started_at: std::time::UNIX_EPOCH + Duration::from_secs(start),
            duration: Duration::from_millis(ms),
            users: vec![UserRecord {
                labs: vec![Arc::new(LabResult {
                    path: "a.md".into(),
                    file: "a.md".into(),
                    stem: "a".into(),
                    title: "A".into(),
                    outcome: if failed {
                        LabOutcome::Failed
                    } else {
                        LabOutcome::Passed
                    },
                    steps: vec![Arc::new(StepResult {
                        outcome: if failed {
                            crate::event::StepOutcome::Failed
                        } else {
                            crate::event::StepOutcome::Passed
                        },
                        ..StepResult::new(
                            "a:1".into(),
                            "a.md".into(),
                            1,
                            crate::lab::TerminalSel::One(1),
                            "true".into(),
                        )
                    })],
                })],
                ..UserRecord::new(Some(user.into()))
            }],
            finished: true,
            ..Collected::default()
        };
        let (m, replaced) = Collected::merge(vec![
            mk("user10", 5, 1000, false),
            mk("user9", 2, 1000, true),
        ]);
        assert_eq!(m.started_at, std::time::UNIX_EPOCH + Duration::from_secs(2));
        assert_eq!(m.duration, Duration::from_secs(4));
        assert_eq!(m.outcome(), LabOutcome::Failed);
        assert_eq!(m.stats.passed, 1);
        assert!(replaced.is_empty());
        let users: Vec<_> = m.users.iter().map(|u| u.user.clone().unwrap()).collect();
        assert_eq!(users, ["user9", "user10"]);

        // user9 rerun later and passed: its later result replaces the failure.
        let (m, replaced) = Collected::merge(vec![
            mk("user9", 9, 1000, false),
            mk("user9", 2, 1000, true),
            mk("user10", 5, 1000, false),
        ]);
        assert_eq!(replaced, [Some("user9".to_string())]);
        assert_eq!(m.users.len(), 2);
        assert_eq!(m.outcome(), LabOutcome::Passed);
        assert_eq!((m.stats.passed, m.stats.failed), (2, 0));
    }
}
