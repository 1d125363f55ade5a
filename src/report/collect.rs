//! The run as the file reporters see it, rebuilt from events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::event::{Event, EventKind, LabResult, Stats, StepResult, UserName};

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

/// A JSON report that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum FromJsonError {
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
    outcome: String,
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
    pub fn from_json(doc: &serde_json::Value) -> Result<Collected, FromJsonError> {
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
        };
        for r in d.runs {
            let mut stats = Stats::default();
            let labs = r
                .labs
                .into_iter()
                .map(|mut lab| {
                    // Steps do not carry their file in JSON; the failure block needs it.
                    for s in &mut lab.steps {
                        let step: &mut StepResult = Arc::make_mut(s);
                        step.path = lab.path.clone();
                        stats.add(step);
                    }
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
                stats,
            });
        }
        run.stats.interrupted = d.outcome == "interrupted";
        Ok(run)
    }

    /// Merges finished runs into one: users in natural name order (`user2`
    /// before `user10`; runs without a user first, in the order given; equal
    /// names keep the order given), started at the earliest start, lasting
    /// until the latest end, interrupted if any part was, totals summed.
    pub fn merge(parts: Vec<Collected>) -> Collected {
        let Some(started_at) = parts.iter().map(|p| p.started_at).min() else {
            return Collected {
                finished: true,
                ..Collected::default()
            };
        };
        let end = parts
            .iter()
            .map(|p| p.started_at + p.duration)
            .max()
            .unwrap_or(started_at);
        let mut run = Collected {
            started_at,
            duration: end.duration_since(started_at).unwrap_or_default(),
            users: Vec::new(),
            stats: Stats::default(),
            finished: true,
        };
        for p in parts {
            run.stats.passed += p.stats.passed;
            run.stats.failed += p.stats.failed;
            run.stats.skipped += p.stats.skipped;
            run.stats.warnings += p.stats.warnings;
            run.stats.interrupted |= p.stats.interrupted;
            run.users.extend(p.users);
        }
        run.users.sort_by_key(|u| natural_key(&u.user));
        run
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
        assert_eq!(run.outcome(), "failed");
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
        let mk = |user: &str, start: u64, ms: u64, failed: usize| Collected {
            started_at: std::time::UNIX_EPOCH + Duration::from_secs(start),
            duration: Duration::from_millis(ms),
            users: vec![UserRecord {
                user: Some(user.into()),
                vars: BTreeMap::new(),
                labs: vec![],
                stats: Stats::default(),
            }],
            stats: Stats {
                passed: 1,
                failed,
                ..Stats::default()
            },
            finished: true,
        };
        let m = Collected::merge(vec![mk("user10", 5, 1000, 0), mk("user9", 2, 1000, 1)]);
        assert_eq!(m.started_at, std::time::UNIX_EPOCH + Duration::from_secs(2));
        assert_eq!(m.duration, Duration::from_secs(4));
        assert_eq!(m.outcome(), "failed");
        assert_eq!(m.stats.passed, 2);
        let users: Vec<_> = m.users.iter().map(|u| u.user.clone().unwrap()).collect();
        assert_eq!(users, ["user9", "user10"]);
    }
}
