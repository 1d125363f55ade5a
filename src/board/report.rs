//! The board as reports: the results of `labctl run` (a step `passed` when its state
//! checks hold, `failed` with the reason when not), so `report merge` and the HTML report
//! read them, plus a `board` section with what only the board knows (broken, stale, no
//! environment, progress). A snapshot is the same document written at any moment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::model::{Board, Cell, Mark};
use super::{Place, columns};
use crate::event::{
    CheckResult, CheckStatus, Event, EventKind, LabOutcome, LabResult, Stats, StepOutcome,
    StepResult,
};
use crate::lab::model::TerminalSel;
use crate::plan::PlannedLab;
use crate::report::collect::Collected;
use crate::report::github::GithubReporter;
use crate::report::html::HtmlReporter;
use crate::report::junit::JunitReporter;
use crate::report::tap::TapReporter;
use crate::report::{ReportError, ReportFormat, ReportTarget, Reporter, write_atomic};

/// One user of the board, as the reports name them.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// User name.
    pub name: String,
    /// Their variables.
    pub vars: BTreeMap<String, String>,
    /// Their labs, variables filled.
    pub labs: Vec<PlannedLab>,
}

/// When the board started, for the reports' `started_at` and `duration_ms`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Started {
    /// Wall clock.
    pub at: SystemTime,
    /// Monotonic.
    pub instant: std::time::Instant,
}

fn check_results(
    board: &Board,
    user: usize,
    column: usize,
    labs: &[PlannedLab],
    place: Place,
) -> Vec<CheckResult> {
    let specs = &columns(labs)
        .into_iter()
        .find(|(p, _)| *p == place)
        .map(|(_, c)| c)
        .unwrap_or_default();
    board
        .checks(user, column)
        .into_iter()
        .zip(specs)
        .map(|(v, spec)| {
            let (outcome, message) = match (&v.verdict, &v.trouble) {
                (_, Some(t)) if v.verdict.is_none() => (CheckStatus::Error, Some(t.clone())),
                (Some(o), _) if o.passed => (CheckStatus::Passed, None),
                (Some(o), _) => {
                    let mut m = format!("expected: {}\n  actual: {}", o.expected, o.actual);
                    if let Some(extra) = &o.message {
                        m.push('\n');
                        m.push_str(extra);
                    }
                    (CheckStatus::Failed, Some(m))
                }
                (None, _) => (CheckStatus::Skipped, Some("not checked yet".into())),
            };
            CheckResult {
                kind: spec.kind.kind().into(),
                description: spec.kind.describe(),
                outcome,
                message,
                plain: crate::mdbook::plain_english::sentence(spec),
                hint: spec.hint.clone().filter(|_| outcome.is_failure()),
                line: spec.line,
            }
        })
        .collect()
}

/// The run-report result of one column's cell.
fn cell_result(mut r: StepResult, cell: &Cell, checks: Vec<CheckResult>) -> StepResult {
    r.outcome = match cell.mark {
        Mark::Done => StepOutcome::Passed,
        Mark::NotYet | Mark::Broken => StepOutcome::Failed,
        Mark::NoAnswer => StepOutcome::Error,
        Mark::Checking => StepOutcome::Skipped,
    };
    r.tries = u32::from(cell.mark != Mark::Checking);
    r.reason = match cell.mark {
        Mark::Checking => Some("not checked yet".into()),
        Mark::Broken => Some(format!(
            "broken: it was done and is not any more; {}",
            cell.reason.clone().unwrap_or_default()
        )),
        Mark::NoAnswer | Mark::NotYet => cell.reason.clone(),
        Mark::Done => None,
    };
    if let Some(age) = cell.stale {
        r.warnings.push(format!(
            "stale: the last answer is {} old; {}",
            humantime::format_duration(Duration::from_secs(age.as_secs())),
            cell.reason.clone().unwrap_or_default()
        ));
    }
    r.checks = checks;
    r
}

/// One user's lab results.
fn lab_results(board: &Board, user: usize, m: &Member) -> Vec<Arc<LabResult>> {
    let places: Vec<Place> = columns(&m.labs).into_iter().map(|(p, _)| p).collect();
    let column_of = |p: Place| places.iter().position(|q| *q == p);
    let missing = board.missing_environment(user);
    let mut first = true;
    let mut out = Vec::new();
    for (li, l) in m.labs.iter().enumerate() {
        let mut steps = Vec::new();
        let mut entries: Vec<(Place, StepResult)> = Vec::new();
        if let Some(c) = l.preconditions.first() {
            let r = StepResult::new(
                format!("{}:preconditions", l.lab.stem),
                l.lab.path.clone(),
                c.line,
                TerminalSel::None,
                String::new(),
            );
            entries.push((Place::Preconditions(li), r));
        }
        for (si, s) in l.steps.iter().enumerate() {
            let mut r = StepResult::new(
                s.step.id.clone(),
                l.lab.path.clone(),
                s.step.span.line,
                s.step.terminal,
                s.command.clone(),
            );
            r.name = s.step.name.clone();
            entries.push((Place::Step(li, si), r));
        }
        for (place, mut r) in entries {
            let result = match (&missing, column_of(place)) {
                (Some(why), _) => {
                    // One error for the user, not one per step.
                    r.reason = Some(format!("no environment: {why}"));
                    if std::mem::take(&mut first) {
                        r.outcome = StepOutcome::Error;
                    }
                    r
                }
                (None, Some(c)) => {
                    let checks = check_results(board, user, c, &m.labs, place);
                    cell_result(r, &board.cell(user, c), checks)
                }
                (None, None) => {
                    r.reason = Some("no state checks: the board does not run steps".into());
                    r
                }
            };
            steps.push(Arc::new(result));
        }
        let failed = steps.iter().any(|s| s.outcome.is_failure());
        out.push(Arc::new(LabResult {
            path: l.lab.path.clone(),
            title: l.lab.title.clone(),
            file: crate::lab::source_root::relative_file(&l.lab.path),
            stem: l.lab.stem.clone(),
            outcome: if failed {
                LabOutcome::Failed
            } else {
                LabOutcome::Passed
            },
            steps,
        }));
    }
    out
}

/// The board as the engine's events, so the run reporters can write it.
pub(crate) fn events(board: &Board, members: &[Member], started: Started) -> Vec<Event> {
    let elapsed = started.instant.elapsed();
    let ev = |kind| Event {
        at: started.at + elapsed,
        elapsed,
        kind,
    };
    let mut out = vec![Event {
        at: started.at,
        elapsed: Duration::ZERO,
        kind: EventKind::RunStarted {
            users: members.iter().map(|m| Some(m.name.clone())).collect(),
        },
    }];
    let mut total = Stats::default();
    for (u, m) in members.iter().enumerate() {
        let user = Some(m.name.clone());
        out.push(ev(EventKind::UserStarted {
            user: user.clone(),
            vars: m.vars.clone(),
        }));
        let mut stats = Stats::default();
        for lab in lab_results(board, u, m) {
            for s in &lab.steps {
                stats.add(s);
                total.add(s);
            }
            out.push(ev(EventKind::LabFinished {
                user: user.clone(),
                result: lab,
            }));
        }
        out.push(ev(EventKind::UserFinished { user, stats }));
    }
    out.push(ev(EventKind::RunFinished { stats: total }));
    out
}

/// What only the board knows, per user and column.
pub(crate) fn board_section(board: &Board) -> Value {
    let cols = board.columns();
    let users: Vec<Value> = board
        .users()
        .enumerate()
        .map(|(u, name)| {
            let missing = board.missing_environment(u);
            let cells: Vec<Value> = (0..cols.len())
                .map(|c| {
                    let cell = board.cell(u, c);
                    json!({
                        "step": cols[c].id,
                        "state": if missing.is_some() { "no_environment" } else { cell.mark.word() },
                        "stale_ms": cell.stale.map(|d| d.as_millis() as u64),
                        "reason": cell.reason,
                    })
                })
                .collect();
            json!({
                "user": name,
                "environment": missing.as_ref().map_or("ok", |_| "missing"),
                "environment_reason": missing,
                "furthest": board.furthest(u).map(|c| cols[c].id.clone()),
                "since_progress_ms": board.since_progress(u).as_millis() as u64,
                "stuck": board.stuck(u),
                "cells": cells,
            })
        })
        .collect();
    json!({
        "steps": cols.iter().enumerate().map(|(c, col)| json!({
            "id": col.id,
            "done": board.done_count(c),
            "common_reason": board.common_reason(c).map(|(r, _)| r),
        })).collect::<Vec<_>>(),
        "users": users,
    })
}

/// The JSON report of `labctl run` with a `board` section.
pub(crate) fn json_document(board: &Board, members: &[Member], started: Started) -> Value {
    let mut run = Collected::default();
    for e in events(board, members, started) {
        run.apply(&e);
    }
    let mut doc = crate::report::json::document(&run);
    doc["board"] = board_section(board);
    doc
}

/// Writes one JSON snapshot to `path`.
pub(crate) fn write_snapshot(
    path: &Path,
    board: &Board,
    members: &[Member],
    started: Started,
) -> Result<(), ReportError> {
    let text =
        serde_json::to_string_pretty(&json_document(board, members, started)).map_err(|e| {
            ReportError::Build {
                format: "json",
                message: e.to_string(),
            }
        })?;
    write_atomic("json", path, text.as_bytes())
}

/// Writes every `--report` as the board stands.
pub(crate) fn write_reports(
    targets: &[ReportTarget],
    board: &Board,
    members: &[Member],
    started: Started,
) -> Result<(), ReportError> {
    for t in targets {
        let mut r: Box<dyn Reporter> = match t.format {
            ReportFormat::Json => {
                write_snapshot(&t.path, board, members, started)?;
                continue;
            }
            ReportFormat::Html => Box::new(HtmlReporter::new(t.path.clone())),
            ReportFormat::Junit => Box::new(JunitReporter::new(t.path.clone())),
            ReportFormat::Tap => Box::new(TapReporter::new(t.path.clone())),
            ReportFormat::Github => Box::new(GithubReporter::from_env()),
        };
        for e in events(board, members, started) {
            r.event(&e)?;
        }
    }
    Ok(())
}

/// `DIR/board-0007.json`: snapshots numbered in the order taken.
pub(crate) fn snapshot_path(dir: &Path, n: usize) -> PathBuf {
    dir.join(format!("board-{n:04}.json"))
}
