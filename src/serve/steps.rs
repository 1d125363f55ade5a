//! What the buttons do: Run types a step's command into its terminal and judges
//! what came back with the engine's own checks; Check evaluates its state checks
//! now; Interrupt presses Ctrl-C. Results go to the progress file.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::progress::{CheckView, Outcome, ProgressFile, StepRecord, now};
use super::terminal::{ShellSpec, TermEvent, Terminal};
use crate::cancel::{self, CancelHandle};
use crate::check::TryOutput;
use crate::engine::StepJudge;
use crate::event::{CheckResult, CheckStatus};
use crate::lab::check_spec::CheckSpec;
use crate::lab::{StepKind, TerminalSel};
use crate::mdbook::plain_english;
use crate::plan::{PlannedLab, PlannedStep};

/// Why an action could not be done.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ActionError {
    /// No step has this id.
    #[error("no step has the id `{0}`")]
    UnknownStep(String),
    /// The action does not apply to this step.
    #[error("{0}")]
    NotApplicable(String),
    /// The terminal could not be started or written.
    #[error("terminal {0}: {1}")]
    Terminal(u32, std::io::Error),
}

/// The terminals of the one student, started on first use.
pub(crate) struct TerminalSet {
    spec: ShellSpec,
    live: Mutex<BTreeMap<u32, Arc<Terminal>>>,
}

impl TerminalSet {
    /// No shell runs until a terminal is first used.
    pub(crate) fn new(spec: ShellSpec) -> TerminalSet {
        TerminalSet {
            spec,
            live: Mutex::new(BTreeMap::new()),
        }
    }

    /// Terminal `n`, started when it is not running (a shell that exited is replaced
    /// only by `restart`, so its tab can say that it exited).
    pub(crate) fn get(&self, n: u32) -> std::io::Result<Arc<Terminal>> {
        let mut live = self.live.lock().expect("not poisoned");
        if let Some(t) = live.get(&n) {
            return Ok(t.clone());
        }
        let t = Terminal::spawn(n, &self.spec)?;
        live.insert(n, t.clone());
        Ok(t)
    }

    /// A new shell for terminal `n`.
    pub(crate) fn restart(&self, n: u32) -> std::io::Result<Arc<Terminal>> {
        if let Some(old) = self.live.lock().expect("not poisoned").remove(&n) {
            old.close();
        }
        self.get(n)
    }

    /// Ends every shell and what runs in its session.
    pub(crate) fn close_all(&self) {
        for (_, t) in std::mem::take(&mut *self.live.lock().expect("not poisoned")) {
            t.close();
        }
    }
}

/// The workshop as served: filled labs, the student's terminals, their progress.
pub(crate) struct Workshop {
    /// Labs in SUMMARY order, variables filled.
    pub labs: Vec<PlannedLab>,
    /// The engine's judging.
    pub judge: StepJudge,
    pub terminals: TerminalSet,
    /// Outcomes, kept on disk.
    pub progress: Mutex<ProgressFile>,
    /// Steps running or being checked now, with what stops them.
    running: Mutex<HashMap<String, CancelHandle>>,
    /// How long Run waits for a command before judging what it printed so far.
    pub default_timeout: Duration,
}

impl Workshop {
    /// A workshop with nothing running.
    pub(crate) fn new(
        labs: Vec<PlannedLab>,
        judge: StepJudge,
        terminals: TerminalSet,
        progress: ProgressFile,
        default_timeout: Duration,
    ) -> Workshop {
        Workshop {
            labs,
            judge,
            terminals,
            progress: Mutex::new(progress),
            running: Mutex::new(HashMap::new()),
            default_timeout,
        }
    }

    /// The lab and step with this id.
    pub(crate) fn find(&self, id: &str) -> Result<(&PlannedLab, &PlannedStep), ActionError> {
        self.labs
            .iter()
            .find_map(|l| l.steps.iter().find(|s| s.step.id == id).map(|s| (l, s)))
            .ok_or_else(|| ActionError::UnknownStep(id.to_string()))
    }

    /// Terminal numbers the labs use (at least terminal 1).
    pub(crate) fn terminal_numbers(&self) -> Vec<u32> {
        let mut n: Vec<u32> = self
            .labs
            .iter()
            .flat_map(|l| &l.steps)
            .filter_map(|s| match s.step.terminal {
                TerminalSel::One(n) => Some(n),
                _ => None,
            })
            .collect();
        n.push(1);
        n.sort_unstable();
        n.dedup();
        n
    }

    fn terminals_of(&self, ps: &PlannedStep) -> Vec<u32> {
        match ps.step.terminal {
            TerminalSel::One(n) => vec![n],
            TerminalSel::All | TerminalSel::None => self.terminal_numbers(),
        }
    }

    fn terminal(&self, n: u32) -> Result<Arc<Terminal>, ActionError> {
        self.terminals
            .get(n)
            .map_err(|e| ActionError::Terminal(n, e))
    }

    /// Marks a step running; the handle stops it.
    fn start(&self, id: &str) -> crate::cancel::Cancel {
        let (handle, cancel) = cancel::pair();
        if let Some(old) = self
            .running
            .lock()
            .expect("not poisoned")
            .insert(id.to_string(), handle)
        {
            old.cancel();
        }
        cancel
    }

    fn finish(&self, id: &str, rec: StepRecord) -> StepRecord {
        self.running.lock().expect("not poisoned").remove(id);
        if let Err(e) = self
            .progress
            .lock()
            .expect("not poisoned")
            .record(id, rec.clone())
        {
            eprintln!("warning: could not save progress: {e}");
        }
        rec
    }

    /// Stops a running Check (or the wait of a Run).
    pub(crate) fn cancel(&self, id: &str) -> Result<bool, ActionError> {
        self.find(id)?;
        Ok(
            match self.running.lock().expect("not poisoned").remove(id) {
                Some(h) => {
                    h.cancel();
                    true
                }
                None => false,
            },
        )
    }

    /// Run: types the command into its terminal (every terminal for `execute-all`),
    /// waits for the shell's end mark, and judges the output as `labctl run` does.
    pub(crate) async fn run(&self, id: &str) -> Result<StepRecord, ActionError> {
        let (lab, ps) = self.find(id)?;
        match ps.step.kind {
            StepKind::Execute => {}
            StepKind::Interrupt => return self.interrupt(id).await,
            StepKind::Manual => {
                return Err(ActionError::NotApplicable(format!(
                    "`{id}` is a manual step: copy it and do it by hand"
                )));
            }
            StepKind::Check => return self.check(id).await,
        }
        let cancel = self.start(id);
        let timeout = ps
            .step
            .timeout
            .or(lab.lab.settings.timeout)
            .unwrap_or(self.default_timeout);
        let mut last = None;
        for n in self.terminals_of(ps) {
            let term = self.terminal(n)?;
            if ps.step.background {
                if let Err(e) = term.type_command(&ps.command) {
                    self.running.lock().expect("not poisoned").remove(id);
                    return Err(ActionError::Terminal(n, e));
                }
                let mut checks = Vec::new();
                for c in ps.checks.iter().filter(|c| c.kind.is_state()) {
                    checks.push(self.judge.state_check(c, &cancel).await);
                }
                last = Some((None, checks, None));
                continue;
            }
            match self.run_until(lab, ps, &term, timeout, &cancel).await {
                Ok(done) => last = Some(done),
                Err(Tried::Io(e)) => {
                    self.running.lock().expect("not poisoned").remove(id);
                    return Err(ActionError::Terminal(n, e));
                }
                Err(Tried::NoEnd(reason)) => {
                    return Ok(self.finish(id, failed("run", reason)));
                }
            }
        }
        let (exit_code, checks, reason) = last.unwrap_or((None, Vec::new(), None));
        Ok(self.finish(id, judged(ps, "run", exit_code, &checks, reason)))
    }

    /// Types the command and judges it; under the step's `within`, types it
    /// again until its checks hold, as `labctl run` tries a step again.
    async fn run_until(
        &self,
        lab: &PlannedLab,
        ps: &PlannedStep,
        term: &Terminal,
        timeout: Duration,
        cancel: &crate::cancel::Cancel,
    ) -> Result<(Option<i32>, Vec<CheckResult>, Option<String>), Tried> {
        let within = ps
            .checks
            .iter()
            .filter(|c| !c.kind.is_state())
            .filter_map(|c| c.timing.within)
            .chain(ps.step.timing.within)
            .max();
        let deadline = tokio::time::Instant::now() + within.unwrap_or_default();
        let interval = ps
            .step
            .timing
            .interval
            .unwrap_or(crate::check::retry::DEFAULT_INTERVAL);
        let mut tries = 0;
        loop {
            tries += 1;
            let tried_at = tokio::time::Instant::now();
            let mut events = term.events();
            term.type_command(&ps.command).map_err(Tried::Io)?;
            let finished = tokio::select! {
                f = wait_finished(&mut events) => f,
                _ = tokio::time::sleep(timeout) => None,
                _ = cancel.cancelled() => None,
            };
            let Some(f) = finished else {
                return Err(Tried::NoEnd(if cancel.is_cancelled() {
                    "stopped waiting (cancelled)".to_string()
                } else if term.exited() {
                    format!("the shell of terminal {} exited", term.number())
                } else {
                    format!(
                        "did not finish within {}",
                        humantime::format_duration(timeout)
                    )
                }));
            };
            // One screen, one stream: the pty merges stdout and stderr, so both
            // output checks read what the student saw.
            let out = TryOutput {
                exit_code: f.exit_code,
                stdout: f.text.clone(),
                stderr: f.text,
            };
            let (checks, _) = self.judge.judge_output(lab, ps, &out, cancel).await;
            let passed = checks.iter().all(|c| c.outcome == CheckStatus::Passed);
            let next = (tried_at + interval).min(deadline);
            if passed || cancel.is_cancelled() || next >= deadline {
                let reason =
                    (tries > 1 && !passed).then(|| format!("still failing after {tries} tries"));
                return Ok((f.exit_code, checks, reason));
            }
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = cancel.cancelled() => return Ok((f.exit_code, checks, None)),
            }
        }
    }

    /// Check: the step's state checks, now, in order, each waiting as its
    /// `within` says; the first that fails ends the check (its reason is the one to fix).
    pub(crate) async fn check(&self, id: &str) -> Result<StepRecord, ActionError> {
        let (_, ps) = self.find(id)?;
        let state: Vec<&CheckSpec> = ps.checks.iter().filter(|c| c.kind.is_state()).collect();
        if state.is_empty() {
            return Err(ActionError::NotApplicable(format!(
                "`{id}` has no state checks to run alone: Run it to check its output"
            )));
        }
        let cancel = self.start(id);
        let mut results = Vec::new();
        for c in state {
            let r = self.judge.state_check(c, &cancel).await;
            let ok = r.outcome == CheckStatus::Passed;
            results.push(r);
            if !ok {
                break;
            }
        }
        let reason = cancel.is_cancelled().then(|| "cancelled".to_string());
        Ok(self.finish(id, judged(ps, "check", None, &results, reason)))
    }

    /// Interrupt: Ctrl-C into the step's terminal.
    pub(crate) async fn interrupt(&self, id: &str) -> Result<StepRecord, ActionError> {
        let (_, ps) = self.find(id)?;
        for n in self.terminals_of(ps) {
            self.terminal(n)?
                .interrupt()
                .map_err(|e| ActionError::Terminal(n, e))?;
        }
        let outcome = if ps.step.kind == StepKind::Interrupt {
            Outcome::Passed
        } else {
            Outcome::NotStarted
        };
        Ok(self.finish(
            id,
            StepRecord {
                outcome,
                action: "interrupt".into(),
                exit_code: None,
                reason: None,
                checks: Vec::new(),
                at: now(),
            },
        ))
    }

    /// Every step's record, with `running` for what runs now.
    pub(crate) fn progress_json(&self) -> Value {
        let stored = self.progress.lock().expect("not poisoned").progress.clone();
        let running = self.running.lock().expect("not poisoned");
        let mut steps = serde_json::Map::new();
        for l in &self.labs {
            for s in &l.steps {
                let id = &s.step.id;
                let rec = stored.steps.get(id);
                let outcome = if running.contains_key(id) {
                    Outcome::Running
                } else {
                    rec.map(|r| r.outcome).unwrap_or(Outcome::NotStarted)
                };
                let mut v = rec.map(|r| json!(r)).unwrap_or_else(|| json!({}));
                v["outcome"] = json!(outcome);
                steps.insert(id.clone(), v);
            }
        }
        json!({ "steps": steps })
    }

    /// Forgets every outcome.
    pub(crate) fn reset(&self) -> std::io::Result<()> {
        self.progress.lock().expect("not poisoned").reset()
    }

    /// The labs, steps and checks, for the page and for scripts.
    pub(crate) fn workshop_json(&self) -> Value {
        let labs: Vec<Value> = self
            .labs
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let steps: Vec<Value> = l.steps.iter().map(step_json).collect();
                json!({
                    "index": i,
                    "title": l.lab.title,
                    "path": l.lab.path.display().to_string(),
                    "steps": steps,
                })
            })
            .collect();
        json!({ "labs": labs, "terminals": self.terminal_numbers() })
    }
}

fn step_json(s: &PlannedStep) -> Value {
    let kind = match s.step.kind {
        StepKind::Execute => "execute",
        StepKind::Interrupt => "interrupt",
        StepKind::Check => "examiner",
        StepKind::Manual => "manual",
    };
    let terminal = match s.step.terminal {
        TerminalSel::One(n) => json!(n),
        TerminalSel::All => json!("all"),
        TerminalSel::None => Value::Null,
    };
    let checks: Vec<Value> = s
        .checks
        .iter()
        .map(|c| {
            json!({
                "kind": c.kind.name(),
                "state": c.kind.is_state(),
                "sentence": plain_english::sentence(c),
                "within_ms": c.timing.within.map(|d| d.as_millis() as u64),
                "line": c.line,
            })
        })
        .collect();
    let actions: Vec<&str> = match s.step.kind {
        StepKind::Manual => vec!["copy"],
        StepKind::Interrupt => vec!["run"],
        _ => {
            let mut a = vec!["run"];
            if s.checks.iter().any(|c| c.kind.is_state()) {
                a.push("check");
            }
            if s.step.background {
                a.push("interrupt");
            }
            a
        }
    };
    json!({
        "id": s.step.id,
        "kind": kind,
        "terminal": terminal,
        "command": s.command,
        "background": s.step.background,
        "line": s.step.span.line,
        "actions": actions,
        "checks": checks,
    })
}

async fn wait_finished(
    events: &mut tokio::sync::broadcast::Receiver<TermEvent>,
) -> Option<super::terminal::Finished> {
    loop {
        match events.recv().await {
            Ok(TermEvent::Finished(f)) => return Some(f),
            Ok(TermEvent::Exited) => return None,
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(_) => return None,
        }
    }
}

/// Why a Run ended without a judged try.
enum Tried {
    /// The terminal could not be written.
    Io(std::io::Error),
    /// No end mark came: timeout, cancel, or the shell exited.
    NoEnd(String),
}

fn failed(action: &str, reason: String) -> StepRecord {
    StepRecord {
        outcome: Outcome::Failed,
        action: action.into(),
        exit_code: None,
        reason: Some(reason),
        checks: Vec::new(),
        at: now(),
    }
}

/// A step's record from its checks: passed when every one held.
fn judged(
    ps: &PlannedStep,
    action: &str,
    exit_code: Option<i32>,
    checks: &[CheckResult],
    reason: Option<String>,
) -> StepRecord {
    let passed = checks.iter().all(|c| c.outcome == CheckStatus::Passed);
    StepRecord {
        outcome: if passed {
            Outcome::Passed
        } else {
            Outcome::Failed
        },
        action: action.into(),
        exit_code,
        reason,
        checks: views(ps, checks),
        at: now(),
    }
}

/// Check results as the page shows them: a plain-English sentence, expected and
/// actual apart.
fn views(ps: &PlannedStep, results: &[CheckResult]) -> Vec<CheckView> {
    results
        .iter()
        .map(|r| {
            let spec = ps.checks.iter().find(|c| c.line == r.line && r.line > 0);
            let sentence = if r.plain.is_empty() {
                spec.map(plain_english::sentence)
                    .unwrap_or_else(|| r.description.clone())
            } else {
                r.plain.clone()
            };
            let (expected, actual, detail) = split_message(r.message.as_deref());
            CheckView {
                kind: r.kind.name().to_string(),
                sentence,
                outcome: r.outcome,
                expected,
                actual,
                detail,
                hint: r.hint.clone(),
            }
        })
        .collect()
}

/// `expected: X\n  actual: Y\nmore` into its parts; any other message is detail.
fn split_message(m: Option<&str>) -> (Option<String>, Option<String>, Option<String>) {
    let Some(m) = m else {
        return (None, None, None);
    };
    let mut lines = m.lines();
    let first = lines.next().unwrap_or("");
    let Some(expected) = first.strip_prefix("expected: ") else {
        return (None, None, Some(m.to_string()));
    };
    let rest: Vec<&str> = lines.collect();
    let (actual, more) = match rest.first().map(|l| l.trim_start()) {
        Some(l) if l.starts_with("actual: ") => (
            Some(l["actual: ".len()..].to_string()),
            rest[1..].join("\n"),
        ),
        _ => (None, rest.join("\n")),
    };
    (
        Some(expected.to_string()),
        actual,
        (!more.trim().is_empty()).then_some(more),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_into_expected_actual_and_detail() {
        assert_eq!(
            split_message(Some("expected: 200\n  actual: 503\nbody: x")),
            (
                Some("200".into()),
                Some("503".into()),
                Some("body: x".into())
            )
        );
        assert_eq!(
            split_message(Some("could not connect")),
            (None, None, Some("could not connect".into()))
        );
    }
}
