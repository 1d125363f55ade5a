//! One user's run: their terminals, their labs in order, each step tried,
//! judged and reported as events.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::prompt::{AfterFailure, BeforeStep, Prompter};
use super::runner::{ShellRunner, try_output};
use super::{EngineConfig, Mode, OutputUpdate, RunSummary, UserPlan};
use crate::cancel::Cancel;
use crate::check::examiner::{self, ExaminerCheck};
use crate::check::output::{Verdict, compare, stream_text};
use crate::check::retry::eventually;
use crate::check::{
    Check, CheckContext, CheckError, CheckOutcome, TryOutput, exit::ExitCheck, for_spec,
};
use crate::event::{
    CheckResult, CheckResultKind, CheckStatus, EventKind, LabOutcome, LabResult, StepOutcome,
    StepResult, UserName,
};
use crate::lab::check_spec::{Assertion, CheckSpec};
use crate::lab::{ExpectedOutput, OutputMode, OutputPolicy, StepKind, TerminalSel, Timing};
use crate::mdbook::plain_english;
use crate::plan::{PlannedLab, PlannedStep};
use crate::redact::Redactor;
use crate::shell::{ShellConfig, ShellError, StepOutput, Terminals};

use super::EventSink;

/// Lines of stdout/stderr kept in a step's result.
const TAIL_LINES: usize = 200;

struct UserRun<'a> {
    cfg: &'a EngineConfig,
    user: UserName,
    sink: &'a EventSink,
    cancel: &'a Cancel,
    terminals: Mutex<Terminals>,
    runner: ShellRunner,
    env: Vec<(String, String)>,
    workdir: PathBuf,
    redactor: Redactor,
    prompter: &'a Mutex<Option<Box<dyn Prompter>>>,
    position: std::sync::atomic::AtomicUsize,
    total: usize,
    /// The student quit at the prompt: the rest of the run is skipped.
    quit: std::sync::atomic::AtomicBool,
}

/// What judging one try found.
#[derive(Default)]
struct Judged {
    checks: Vec<CheckResult>,
    warnings: Vec<String>,
    /// The expected-output fence drifted: what `--update-output` would write.
    update: Option<OutputUpdate>,
}

/// What one try of a step produced.
struct TryRecord {
    output: StepOutput,
    judged: Judged,
    passed: bool,
}

impl TryRecord {
    /// The first check that did not hold, with why: what a retry announces.
    fn first_failure(&self) -> Option<String> {
        let c = self
            .judged
            .checks
            .iter()
            .find(|c| c.outcome != CheckStatus::Passed)?;
        Some(format!(
            "{}: {}",
            c.description,
            c.message.clone().unwrap_or_default()
        ))
    }
}

/// Why a step's command gave no try to judge.
#[derive(Debug, thiserror::Error)]
enum TryError {
    /// The terminal could not run it.
    #[error(transparent)]
    Shell(#[from] ShellError),
    /// The run was cancelled before the first try began.
    #[error("interrupted before its command ran")]
    NotRun,
}

pub(super) async fn run_user(
    cfg: &EngineConfig,
    plan: UserPlan,
    sink: &EventSink,
    cancel: &Cancel,
    prompter: &Mutex<Option<Box<dyn Prompter>>>,
) -> RunSummary {
    let mut env = cfg.env.clone();
    env.extend(plan.env.iter().cloned());
    let mut all_vars = plan.vars.clone();
    for l in &plan.labs {
        all_vars.extend(l.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let redactor = plan.redactor.clone();
    let shown_vars = all_vars
        .iter()
        .map(|(k, v)| (k.clone(), redactor.apply(v)))
        .collect();
    sink.emit(EventKind::UserStarted {
        user: plan.user.clone(),
        vars: shown_vars,
    });
    let mut terminals = Terminals::new(ShellConfig {
        shell: cfg.shell.clone(),
        workdir: plan.workdir.clone(),
        env: env.clone(),
        capture_cap: cfg.capture_cap,
        grace: cfg.grace,
        colocation: cfg.colocation,
        cancel: cancel.clone(),
    });
    // An interactive student watches each command's output as it comes.
    terminals.echo_output(prompter.lock().await.is_some());
    let total = plan.labs.iter().map(|l| reported_steps(l, cfg.mode)).sum();
    let run = UserRun {
        cfg,
        user: plan.user.clone(),
        sink,
        cancel,
        terminals: Mutex::new(terminals),
        runner: ShellRunner {
            workdir: plan.workdir.clone(),
            env: env.clone(),
            cancel: cancel.clone(),
            capture_cap: cfg.capture_cap,
            grace: cfg.grace,
        },
        env,
        workdir: plan.workdir.clone(),
        redactor,
        prompter,
        position: Default::default(),
        total,
        quit: Default::default(),
    };
    let mut summary = RunSummary::default();
    for lab in &plan.labs {
        if !lab.steps.iter().any(|s| s.selected) {
            continue;
        }
        let (result, updates) = run.run_lab(lab).await;
        for s in &result.steps {
            summary.stats.add(s);
        }
        summary.updates.extend(updates);
        sink.emit(EventKind::LabFinished {
            user: plan.user.clone(),
            result: Arc::new(result),
        });
    }
    run.terminals.lock().await.shutdown().await;
    sink.emit(EventKind::UserFinished {
        user: plan.user.clone(),
        stats: summary.stats,
    });
    summary
}

/// Entries a lab adds to the run's step count: its selected steps, plus its
/// preconditions, setup and cleanup, which are reported as steps too.
fn reported_steps(l: &PlannedLab, mode: Mode) -> usize {
    let selected = l.steps.iter().filter(|s| s.selected).count();
    if selected == 0 {
        return 0;
    }
    let scripts = if mode == Mode::Run {
        usize::from(l.setup.is_some()) + usize::from(l.cleanup.is_some())
    } else {
        0
    };
    selected + usize::from(!l.preconditions.is_empty()) + scripts
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(TAIL_LINES);
    let mut s = lines[from..].join("\n");
    if from > 0 {
        s = format!("[... {from} earlier lines ...]\n{s}");
    }
    s
}

fn is_output_kind(k: &Assertion) -> bool {
    !k.is_state()
}

impl UserRun<'_> {
    fn ctx<'b>(&'b self, output: Option<&'b TryOutput>) -> CheckContext<'b> {
        CheckContext {
            output,
            env: &self.env,
            workdir: &self.workdir,
            runner: &self.runner,
            cancel: self.cancel,
            kube: Some(&self.cfg.kube),
        }
    }

    fn check_result(
        &self,
        kind: CheckResultKind,
        line: usize,
        description: String,
        plain: String,
        res: Result<CheckOutcome, CheckError>,
    ) -> CheckResult {
        let (outcome, message) = match res {
            Ok(o) if o.passed => (CheckStatus::Passed, None),
            Ok(o) => {
                let mut m = format!("expected: {}\n  actual: {}", o.expected, o.actual);
                if let Some(extra) = o.message {
                    m.push('\n');
                    m.push_str(&extra);
                }
                (CheckStatus::Failed, Some(m))
            }
            Err(CheckError::Cancelled) => (CheckStatus::Skipped, Some("interrupted".into())),
            Err(e) => (CheckStatus::Error, Some(e.to_string())),
        };
        CheckResult {
            kind,
            description: self.redactor.apply(&description),
            outcome,
            message: message.map(|m| self.redactor.apply(&m)),
            plain: self.redactor.apply(&plain),
            line,
            hint: None,
        }
    }

    /// Evaluates one check; with `timed`, under its own within/hold.
    async fn eval(&self, spec: &CheckSpec, output: Option<&TryOutput>, timed: bool) -> CheckResult {
        let check = for_spec(&spec.kind);
        let ctx = self.ctx(output);
        let has_timing = spec.timing.within.is_some() || spec.timing.hold.is_some();
        let res = if timed && has_timing {
            check.evaluate_within(&ctx, &spec.timing).await.result
        } else {
            check.evaluate(&ctx).await
        };
        self.spec_result(spec, res)
    }

    /// The result of a check of the page, worded as the page's check, with its
    /// hint when it did not hold.
    fn spec_result(&self, spec: &CheckSpec, res: Result<CheckOutcome, CheckError>) -> CheckResult {
        let mut r = self.check_result(
            spec.kind.kind().into(),
            spec.line,
            spec.kind.describe(),
            plain_english::sentence(spec),
            res,
        );
        if r.outcome.is_failure() {
            r.hint = spec.hint.as_ref().map(|h| self.redactor.apply(h));
        }
        r
    }

    /// Judges one try: exit, output checks, expected output, state checks.
    async fn judge(&self, lab: &PlannedLab, ps: &PlannedStep, out: &TryOutput) -> Judged {
        let mut judged = Judged::default();
        if !ps
            .checks
            .iter()
            .any(|c| matches!(c.kind, Assertion::Exit(_)))
        {
            let o = ExitCheck(ps.step.exit).judge(out.exit_code);
            judged.checks.push(self.check_result(
                CheckResultKind::Check(crate::lab::CheckKind::Exit),
                0,
                o.description.clone(),
                plain_english::exit(ps.step.exit),
                Ok(o),
            ));
        }
        for c in &ps.checks {
            judged.checks.push(self.eval(c, Some(out), true).await);
        }
        if let (Some(e), Some(text)) = (&ps.step.expected, &ps.expected_text) {
            self.expected_output(lab, e, text, out, &mut judged);
        }
        judged
    }

    /// Compares the output with the expected-output fence (`text` is its body
    /// with variables filled): a check when it matches or the drift is hard
    /// (a strict fence, `--strict-output`, `output: strict`), else a warning.
    fn expected_output(
        &self,
        lab: &PlannedLab,
        e: &ExpectedOutput,
        text: &str,
        out: &TryOutput,
        judged: &mut Judged,
    ) {
        let policy = lab.lab.settings.output;
        let strict_fence = e.mode == OutputMode::Strict;
        if !strict_fence && policy == OutputPolicy::Ignore {
            return;
        }
        let line = e.span.line;
        let which = if strict_fence {
            "expected"
        } else {
            "documented"
        };
        let actual = stream_text(out, e.stream);
        let Verdict::Drift { diff, reason } = compare(text, &actual, e.mode) else {
            let how = if strict_fence { "as" } else { "similar to" };
            judged.checks.push(output_result(
                CheckStatus::Passed,
                format!("output is {how} the {which} output (line {line})"),
                None,
                String::new(),
                line,
            ));
            return;
        };
        let msg =
            format!("output differs from the {which} output at line {line}: {reason}\n{diff}");
        judged.update = Some(OutputUpdate {
            path: lab.lab.path.clone(),
            source: lab.lab.source.clone(),
            body_span: e.body_span.clone(),
            expected: e.text.clone(),
            actual,
            strict: strict_fence,
        });
        if strict_fence || self.cfg.strict_output || policy == OutputPolicy::Strict {
            judged.checks.push(output_result(
                CheckStatus::Failed,
                format!("output matches the expected output (line {line})"),
                Some(self.redactor.apply(&msg)),
                format!("The output matches the expected output at line {line}"),
                line,
            ));
        } else {
            judged
                .warnings
                .push(self.redactor.apply(&format!("drift: {msg}")));
        }
    }

    /// State checks evaluated once before the step: passing there proves nothing.
    async fn vacuous(&self, ps: &PlannedStep) -> (Vec<String>, Vec<CheckResult>) {
        let mut warnings = Vec::new();
        let mut failures = Vec::new();
        for c in ps.checks.iter().filter(|c| c.kind.is_state()) {
            let r = self.eval(c, None, false).await;
            if r.outcome == CheckStatus::Passed {
                let msg = format!(
                    "vacuous check: `{}` already held before the step ran, so it proves nothing",
                    r.description
                );
                if self.cfg.strict_checks {
                    failures.push(CheckResult {
                        kind: CheckResultKind::Vacuous,
                        description: r.description.clone(),
                        outcome: CheckStatus::Failed,
                        message: Some(msg),
                        plain: format!("{} only after the step", plain_english::sentence(c)),
                        line: c.line,
                        hint: None,
                    });
                } else {
                    warnings.push(msg);
                }
            }
        }
        (warnings, failures)
    }

    fn base_result(&self, lab: &PlannedLab, ps: &PlannedStep) -> StepResult {
        let s = &ps.step;
        let command = match &s.examiner {
            Some(e) => std::iter::once(e.name.as_str())
                .chain(e.args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            None => ps.command.clone(),
        };
        let mut r = StepResult::new(
            s.id.clone(),
            lab.lab.path.clone(),
            s.span.line,
            s.terminal,
            self.redactor.apply(&command),
        );
        r.name = s.name.clone();
        r.number = Some(ps.number);
        r
    }

    fn skipped(&self, lab: &PlannedLab, ps: &PlannedStep, reason: &str) -> StepResult {
        let mut r = self.base_result(lab, ps);
        r.reason = Some(reason.to_string());
        r
    }

    async fn run_lab(&self, lab: &PlannedLab) -> (LabResult, Vec<OutputUpdate>) {
        self.sink.emit(EventKind::LabStarted {
            user: self.user.clone(),
            path: lab.lab.path.clone(),
            title: lab.lab.title.clone(),
        });
        if let Some(p) = self.prompter.lock().await.as_mut() {
            p.lab_started(lab);
        }
        let mut steps: Vec<Arc<StepResult>> = Vec::new();
        let blocked = self.before_steps(lab, &mut steps).await;
        let updates = self.selected_steps(lab, blocked, &mut steps).await;
        if self.cfg.mode == Mode::Run
            && !self.cancel.is_cancelled()
            && let Some(cleanup) = &lab.cleanup
        {
            let r = self.script_step(lab, "cleanup", cleanup).await;
            self.finish(&mut steps, r);
        }
        if !self.quitted()
            && !self.cancel.is_cancelled()
            && let Some(p) = self.prompter.lock().await.as_mut()
        {
            p.lab_finished(lab);
        }
        let outcome = if self.cancel.is_cancelled() {
            LabOutcome::Interrupted
        } else if steps.iter().any(|s| s.outcome.is_failure()) {
            LabOutcome::Failed
        } else {
            LabOutcome::Passed
        };
        let result = LabResult {
            path: lab.lab.path.clone(),
            file: crate::lab::source_root::relative_file(&lab.lab.path),
            stem: lab.lab.stem.clone(),
            title: lab.lab.title.clone(),
            outcome,
            steps,
        };
        (result, updates)
    }

    /// The lab's preconditions, then its setup: why its steps cannot run, when one failed.
    async fn before_steps(
        &self,
        lab: &PlannedLab,
        steps: &mut Vec<Arc<StepResult>>,
    ) -> Option<String> {
        let mut blocked = None;
        if !lab.preconditions.is_empty() && !self.cancel.is_cancelled() {
            let r = self.preconditions(lab).await;
            if r.outcome != StepOutcome::Passed {
                blocked = Some("a precondition of the lab failed".into());
            }
            self.finish(steps, r);
        }
        if blocked.is_none()
            && self.cfg.mode == Mode::Run
            && let Some(setup) = &lab.setup
        {
            let r = self.script_step(lab, "setup", setup).await;
            if r.outcome != StepOutcome::Passed {
                blocked = Some("the lab's setup failed".into());
            }
            self.finish(steps, r);
        }
        blocked
    }

    /// The lab's selected steps in order; once one fails (or `blocked` says why
    /// none can run) the rest are skipped with the reason.
    async fn selected_steps(
        &self,
        lab: &PlannedLab,
        mut blocked: Option<String>,
        steps: &mut Vec<Arc<StepResult>>,
    ) -> Vec<OutputUpdate> {
        let mut updates = Vec::new();
        for ps in lab.steps.iter().filter(|s| s.selected) {
            let reason = if self.cancel.is_cancelled() {
                Some("interrupted".to_string())
            } else if self.quitted() {
                Some("quit at the prompt".to_string())
            } else {
                blocked.clone()
            };
            let result = match reason {
                Some(r) => self.skipped(lab, ps, &r),
                None => {
                    let (r, u) = self.run_step_interactive(lab, ps).await;
                    updates.extend(u);
                    r
                }
            };
            let failed = result.outcome.is_failure();
            self.finish(steps, result);
            // `check` judges every selected step: a student wants to know all that is not done;
            // at the prompt, the student has already chosen to go on.
            let goes_on = self.cfg.keep_going
                || self.cfg.mode == Mode::CheckOnly
                || self.prompter.try_lock().is_ok_and(|p| p.is_some());
            if failed && !goes_on && blocked.is_none() {
                blocked =
                    Some("an earlier step of the lab failed (--keep-going runs the rest)".into());
            }
        }
        updates
    }

    /// The student quit at the prompt.
    fn quitted(&self) -> bool {
        self.quit.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn finish(&self, steps: &mut Vec<Arc<StepResult>>, mut r: StepResult) {
        if self.cancel.is_cancelled() {
            mark_interrupted(&mut r);
        }
        // Reasons and warnings carry error texts that may quote a secret.
        r.reason = r.reason.map(|t| self.redactor.apply(&t));
        for w in &mut r.warnings {
            *w = self.redactor.apply(w);
        }
        if let Ok(mut p) = self.prompter.try_lock()
            && let Some(p) = p.as_mut()
        {
            p.step_finished(&r);
        }
        let r = Arc::new(r);
        self.sink.emit(EventKind::StepFinished {
            user: self.user.clone(),
            result: r.clone(),
        });
        steps.push(r);
    }

    fn started(&self, id: &str, command: &str) {
        let position = self
            .position
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        self.sink.emit(EventKind::StepStarted {
            user: self.user.clone(),
            id: id.to_string(),
            position,
            total: self.total,
            command: self.redactor.apply(command),
        });
    }

    async fn preconditions(&self, lab: &PlannedLab) -> StepResult {
        let started = Instant::now();
        let id = format!("{}:preconditions", lab.lab.stem);
        self.started(&id, "");
        let mut checks = Vec::new();
        for c in &lab.preconditions {
            checks.push(if is_output_kind(&c.kind) {
                self.check_result(
                    c.kind.kind().into(),
                    c.line,
                    c.kind.describe(),
                    plain_english::sentence(c),
                    Err(CheckError::NoOutput),
                )
            } else {
                self.eval(c, None, true).await
            });
        }
        let ok = checks.iter().all(|c| c.outcome == CheckStatus::Passed);
        let line = lab.preconditions.first().map(|c| c.line).unwrap_or(0);
        let mut r = StepResult::new(
            id,
            lab.lab.path.clone(),
            line,
            TerminalSel::None,
            String::new(),
        );
        r.outcome = if ok {
            StepOutcome::Passed
        } else {
            StepOutcome::Failed
        };
        r.tries = 1;
        r.duration_ms = started.elapsed().as_millis() as u64;
        r.checks = checks;
        r
    }

    async fn script_step(&self, lab: &PlannedLab, what: &str, script: &str) -> StepResult {
        let started = Instant::now();
        let id = format!("{}:{what}", lab.lab.stem);
        self.started(&id, script);
        let timeout = lab.lab.settings.timeout.unwrap_or(self.cfg.default_timeout);
        let out = self
            .terminals
            .lock()
            .await
            .run(1, script, timeout, self.cancel)
            .await;
        let mut r = StepResult::new(
            id,
            lab.lab.path.clone(),
            1,
            TerminalSel::One(1),
            self.redactor.apply(script),
        );
        r.outcome = StepOutcome::Passed;
        r.tries = 1;
        match out {
            Ok(o) => {
                self.fill_output(&mut r, &o);
                if !o.success() {
                    r.outcome = if o.timed_out {
                        StepOutcome::TimedOut
                    } else {
                        StepOutcome::Failed
                    };
                }
            }
            Err(e) => {
                r.outcome = StepOutcome::Error;
                r.reason = Some(e.to_string());
            }
        }
        r.duration_ms = started.elapsed().as_millis() as u64;
        r
    }

    fn fill_output(&self, r: &mut StepResult, o: &StepOutput) {
        r.exit_code = o.exit_code;
        r.stdout = self.redactor.apply(&tail(&o.stdout.text));
        r.stderr = self.redactor.apply(&tail(&o.stderr.text));
        if o.stdout.omitted_bytes > 0 || o.stderr.omitted_bytes > 0 {
            r.warnings.push(format!(
                "output was {} bytes on stdout and {} on stderr; checks saw the first and last {} bytes of each",
                o.stdout.total_bytes, o.stderr.total_bytes, self.cfg.capture_cap
            ));
        }
        if o.shell_exited {
            r.warnings
                .push("the step ended its shell (exit); the terminal starts afresh".into());
        }
    }

    async fn run_step_interactive(
        &self,
        lab: &PlannedLab,
        ps: &PlannedStep,
    ) -> (StepResult, Option<OutputUpdate>) {
        let mut guard = self.prompter.lock().await;
        if let Some(p) = guard.as_mut() {
            match p.before_step(lab, ps) {
                BeforeStep::Run => {}
                BeforeStep::Skip => return (self.skipped(lab, ps, "skipped at the prompt"), None),
                BeforeStep::Quit => {
                    self.quit.store(true, std::sync::atomic::Ordering::SeqCst);
                    return (self.skipped(lab, ps, "quit at the prompt"), None);
                }
            }
        } else {
            drop(guard);
            return self.run_step(lab, ps).await;
        }
        drop(guard);
        loop {
            let (r, u) = self.run_step(lab, ps).await;
            if !r.outcome.is_failure() || self.cancel.is_cancelled() {
                return (r, u);
            }
            let choice = self
                .prompter
                .lock()
                .await
                .as_mut()
                .map(|p| p.after_failure(ps, &r))
                .unwrap_or(AfterFailure::Continue);
            match choice {
                AfterFailure::Retry => continue,
                AfterFailure::Continue => return (r, u),
                AfterFailure::Quit => {
                    self.quit.store(true, std::sync::atomic::Ordering::SeqCst);
                    return (r, u);
                }
            }
        }
    }

    async fn run_step(
        &self,
        lab: &PlannedLab,
        ps: &PlannedStep,
    ) -> (StepResult, Option<OutputUpdate>) {
        let started = Instant::now();
        let mut r = self.base_result(lab, ps);
        if let Some(reason) = &ps.step.skip {
            r.reason = Some(reason.clone());
            return (r, None);
        }
        if ps.step.kind == StepKind::Manual {
            r.reason = Some(format!("manual step ({})", ps.step.info));
            return (r, None);
        }
        self.started(&ps.step.id, &r.command);
        let mut update = None;
        if self.cfg.mode == Mode::CheckOnly {
            self.check_only(ps, &mut r).await;
        } else {
            match ps.step.kind {
                StepKind::Execute => update = self.execute(lab, ps, &mut r).await,
                StepKind::Interrupt => self.interrupt(ps, &mut r).await,
                StepKind::Check => self.examiner(lab, ps, &mut r).await,
                StepKind::Manual => unreachable!("returned above"),
            }
        }
        r.duration_ms = started.elapsed().as_millis() as u64;
        (r, update)
    }

    /// A state check under `labctl check`: waits under its `within` (once with
    /// `--no-wait`), telling the console what it waits for before each new try.
    async fn eval_waiting(&self, ps: &PlannedStep, spec: &CheckSpec) -> CheckResult {
        let timing = match self.cfg.no_wait {
            true => Timing::default(),
            false => spec.timing,
        };
        let Some(within) = timing.within else {
            return self.eval(spec, None, false).await;
        };
        let check = for_spec(&spec.kind);
        let ctx = self.ctx(None);
        let target = match &spec.kind {
            Assertion::Http(h) => self.redactor.apply(&h.url),
            other => self.redactor.apply(&other.describe()),
        };
        let started = Instant::now();
        let tries = std::sync::atomic::AtomicU32::new(0);
        let ev = eventually(&timing, self.cancel, || {
            let n = tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            if n > 1 {
                self.sink.emit(EventKind::TryFailedWillRetry {
                    user: self.user.clone(),
                    id: ps.step.id.clone(),
                    tries: n - 1,
                    message: format!(
                        "waiting up to {} for {target} (try {n}, {:.1}s)",
                        humantime::format_duration(within),
                        started.elapsed().as_secs_f64()
                    ),
                });
            }
            check.evaluate(&ctx)
        })
        .await;
        self.spec_result(spec, ev.result)
    }

    async fn check_only(&self, ps: &PlannedStep, r: &mut StepResult) {
        for c in &ps.checks {
            r.checks.push(if c.kind.is_state() {
                self.eval_waiting(ps, c).await
            } else {
                CheckResult {
                    kind: c.kind.kind().into(),
                    description: self.redactor.apply(&c.kind.describe()),
                    outcome: CheckStatus::Skipped,
                    message: Some("output checks need the step to run".into()),
                    plain: self.redactor.apply(&plain_english::sentence(c)),
                    line: c.line,
                    hint: None,
                }
            });
        }
        r.tries = 1;
        r.outcome = outcome_of(
            &r.checks,
            !r.checks.iter().any(|c| c.outcome != CheckStatus::Skipped),
        );
        if r.outcome == StepOutcome::Skipped {
            r.reason = Some("no state checks".into());
        }
    }

    async fn interrupt(&self, ps: &PlannedStep, r: &mut StepResult) {
        let targets = match ps.step.terminal {
            TerminalSel::One(n) => vec![n],
            _ => self.terminals.lock().await.opened(),
        };
        let mut outs = Vec::new();
        for t in targets {
            if let Some(o) = self.terminals.lock().await.interrupt(t).await {
                outs.push(o);
            }
        }
        if let Some(o) = outs.first() {
            self.fill_output(r, o);
            r.exit_code = None;
        }
        r.tries = 1;
        r.outcome = StepOutcome::Passed;
    }

    async fn examiner(&self, lab: &PlannedLab, ps: &PlannedStep, r: &mut StepResult) {
        let Some(test) = &ps.step.examiner else {
            return;
        };
        let root = examiner::root_of(&lab.lab.path)
            .unwrap_or_else(|| std::path::absolute(&self.cfg.workshop_root).unwrap_or_default());
        let check = ExaminerCheck::new(test, &root);
        let ctx = self.ctx(None);
        let ev = eventually(&examiner::timing(test), self.cancel, || {
            check.evaluate(&ctx)
        })
        .await;
        r.tries = ev.tries;
        let desc = test
            .title
            .clone()
            .unwrap_or_else(|| format!("examiner test {} passes", test.name));
        let plain = format!("The examiner test {} passes", test.name);
        r.checks.push(self.check_result(
            CheckResultKind::Examiner,
            ps.step.span.line,
            desc,
            plain,
            ev.result,
        ));
        r.outcome = outcome_of(&r.checks, false);
    }

    /// Runs an executable step in its terminal(s), judged, retried under its `within`.
    async fn execute(
        &self,
        lab: &PlannedLab,
        ps: &PlannedStep,
        r: &mut StepResult,
    ) -> Option<OutputUpdate> {
        let (vacuous_warnings, vacuous_failures) = self.vacuous(ps).await;
        r.warnings.extend(vacuous_warnings);
        let terminals: Vec<u32> = match ps.step.terminal {
            TerminalSel::One(n) => vec![n],
            TerminalSel::All | TerminalSel::None => {
                let open = self.terminals.lock().await.opened();
                if open.is_empty() { vec![1] } else { open }
            }
        };
        let timeout = ps
            .step
            .timeout
            .or(lab.lab.settings.timeout)
            .unwrap_or(self.cfg.default_timeout);
        let mut update = None;
        let mut all_passed = true;
        for term in terminals {
            if ps.step.background {
                let started = self
                    .terminals
                    .lock()
                    .await
                    .start_background(term, &ps.command)
                    .await;
                r.tries = 1;
                if let Err(e) = started {
                    r.outcome = StepOutcome::Error;
                    r.reason = Some(e.to_string());
                    return None;
                }
                for c in ps.checks.iter().filter(|c| c.kind.is_state()) {
                    r.checks.push(self.eval(c, None, true).await);
                }
                continue;
            }
            let record = self.try_until(lab, ps, term, timeout).await;
            let (rec, tries) = match record {
                Ok(x) => x,
                Err(e) => {
                    r.outcome = StepOutcome::Error;
                    r.reason = Some(e.to_string());
                    return None;
                }
            };
            r.tries = r.tries.max(tries);
            self.fill_output(r, &rec.output);
            r.checks.extend(rec.judged.checks);
            r.warnings.extend(rec.judged.warnings);
            update = update.or(rec.judged.update);
            all_passed &= rec.passed;
            if rec.output.timed_out {
                r.outcome = StepOutcome::TimedOut;
                r.reason = Some(format!(
                    "killed after its timeout of {}",
                    humantime::format_duration(timeout)
                ));
                return update;
            }
            if rec.output.cancelled {
                r.outcome = StepOutcome::Interrupted;
                r.reason = Some("interrupted".into());
                return update;
            }
        }
        r.checks.extend(vacuous_failures);
        r.outcome = if all_passed && r.checks.iter().all(|c| c.outcome == CheckStatus::Passed) {
            StepOutcome::Passed
        } else {
            outcome_of(&r.checks, false)
        };
        update
    }

    /// Runs the command and judges it, again and again under the step's `within`.
    async fn try_until(
        &self,
        lab: &PlannedLab,
        ps: &PlannedStep,
        term: u32,
        timeout: Duration,
    ) -> Result<(TryRecord, u32), TryError> {
        let timing = retry_timing(ps);
        let last: std::sync::Mutex<Option<Result<TryRecord, TryError>>> =
            std::sync::Mutex::new(None);
        let deadline = Instant::now() + timing.within.unwrap_or_default();
        let tries = std::sync::atomic::AtomicU32::new(0);
        let ev = eventually(&timing, self.cancel, || async {
            let n = tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let rec = match self.one_try(lab, ps, term, timeout).await {
                Ok(rec) => rec,
                Err(e) => {
                    let err = CheckError::Script(e.to_string());
                    *last.lock().expect("not poisoned") = Some(Err(TryError::Shell(e)));
                    return Err(err);
                }
            };
            let (passed, first_failure) = (rec.passed, rec.first_failure());
            if !passed && timing.within.is_some() && Instant::now() < deadline {
                self.sink.emit(EventKind::TryFailedWillRetry {
                    user: self.user.clone(),
                    id: ps.step.id.clone(),
                    tries: n,
                    message: first_failure.clone().unwrap_or_else(|| "timed out".into()),
                });
            }
            *last.lock().expect("not poisoned") = Some(Ok(rec));
            Ok(CheckOutcome {
                passed,
                description: ps.step.id.clone(),
                expected: "every check passes".into(),
                actual: first_failure.unwrap_or_default(),
                message: None,
            })
        })
        .await;
        let rec = last
            .into_inner()
            .expect("not poisoned")
            .unwrap_or(Err(TryError::NotRun))?;
        Ok((rec, ev.tries))
    }

    /// One try: the command in terminal `term`, judged unless it timed out or was cut short.
    async fn one_try(
        &self,
        lab: &PlannedLab,
        ps: &PlannedStep,
        term: u32,
        timeout: Duration,
    ) -> Result<TryRecord, ShellError> {
        let output = self
            .terminals
            .lock()
            .await
            .run(term, &ps.command, timeout, self.cancel)
            .await?;
        let cut = output.timed_out || output.cancelled;
        let judged = match cut {
            true => Judged::default(),
            false => self.judge(lab, ps, &try_output(&output)).await,
        };
        let passed = !cut
            && judged
                .checks
                .iter()
                .all(|c| c.outcome == CheckStatus::Passed);
        Ok(TryRecord {
            output,
            judged,
            passed,
        })
    }
}

/// A step's retry timing: the longest `within` of the step and its output
/// checks (an output check's own `within` can only be met by running the step
/// again), at the step's interval.
fn retry_timing(ps: &PlannedStep) -> Timing {
    let within = ps
        .checks
        .iter()
        .filter(|c| is_output_kind(&c.kind))
        .filter_map(|c| c.timing.within)
        .chain(ps.step.timing.within)
        .max();
    Timing {
        within,
        interval: ps.step.timing.interval,
        hold: None,
    }
}

/// The result of the expected-output fence.
fn output_result(
    outcome: CheckStatus,
    description: String,
    message: Option<String>,
    plain: String,
    line: usize,
) -> CheckResult {
    CheckResult {
        kind: CheckResultKind::Output,
        description,
        outcome,
        message,
        plain,
        hint: None,
        line,
    }
}

/// A step the run's cancellation caught while it ran (it did not pass, or a
/// check of it was cut short) is `interrupted`; a step that ended before keeps its outcome.
fn mark_interrupted(r: &mut StepResult) {
    let cut = r
        .checks
        .iter()
        .any(|c| c.outcome == CheckStatus::Skipped && c.message.as_deref() == Some("interrupted"));
    let ran = r.tries > 0 || r.duration_ms > 0;
    if r.outcome != StepOutcome::Skipped && (cut || r.outcome != StepOutcome::Passed) && ran {
        r.outcome = StepOutcome::Interrupted;
        r.reason.get_or_insert_with(|| "interrupted".into());
    }
}

/// The engine's judging for callers that run steps their own way (`labctl serve`
/// types commands into a student's terminal): the same checks, messages and
/// redaction as a run, with no terminals of its own.
pub(crate) struct StepJudge {
    cfg: Arc<EngineConfig>,
    env: Vec<(String, String)>,
    workdir: PathBuf,
    redactor: Redactor,
    sink: EventSink,
    prompter: Mutex<Option<Box<dyn Prompter>>>,
}

impl StepJudge {
    /// A judge for one student: `env` is added to the config's, as a user plan's is.
    pub(crate) fn new(cfg: Arc<EngineConfig>, plan: &UserPlan) -> StepJudge {
        let mut env = cfg.env.clone();
        env.extend(plan.env.iter().cloned());
        StepJudge {
            cfg,
            env,
            workdir: plan.workdir.clone(),
            redactor: plan.redactor.clone(),
            sink: EventSink::new().0,
            prompter: Mutex::new(None),
        }
    }

    fn run<'a>(&'a self, cancel: &'a Cancel) -> UserRun<'a> {
        UserRun {
            cfg: &self.cfg,
            user: None,
            sink: &self.sink,
            cancel,
            terminals: Mutex::new(Terminals::new(ShellConfig {
                shell: self.cfg.shell.clone(),
                workdir: self.workdir.clone(),
                env: self.env.clone(),
                capture_cap: self.cfg.capture_cap,
                grace: self.cfg.grace,
                colocation: None,
                cancel: cancel.clone(),
            })),
            runner: ShellRunner {
                workdir: self.workdir.clone(),
                env: self.env.clone(),
                cancel: cancel.clone(),
                capture_cap: self.cfg.capture_cap,
                grace: self.cfg.grace,
            },
            env: self.env.clone(),
            workdir: self.workdir.clone(),
            redactor: self.redactor.clone(),
            prompter: &self.prompter,
            position: Default::default(),
            total: 0,
            quit: Default::default(),
        }
    }

    /// Judges a step's output as `labctl run` judges one try: exit status, output
    /// checks, expected output, and state checks under their own `within`.
    pub(crate) async fn judge_output(
        &self,
        lab: &PlannedLab,
        ps: &PlannedStep,
        out: &TryOutput,
        cancel: &Cancel,
    ) -> (Vec<CheckResult>, Vec<String>) {
        let judged = self.run(cancel).judge(lab, ps, out).await;
        (judged.checks, judged.warnings)
    }

    /// Evaluates one state check now, waiting as its `within`/`hold` says.
    pub(crate) async fn state_check(&self, spec: &CheckSpec, cancel: &Cancel) -> CheckResult {
        self.run(cancel).eval(spec, None, true).await
    }
}

fn outcome_of(checks: &[CheckResult], none_is_skip: bool) -> StepOutcome {
    if none_is_skip {
        return StepOutcome::Skipped;
    }
    if checks.iter().any(|c| c.outcome == CheckStatus::Failed) {
        StepOutcome::Failed
    } else if checks.iter().any(|c| c.outcome == CheckStatus::Error) {
        StepOutcome::Error
    } else {
        StepOutcome::Passed
    }
}
