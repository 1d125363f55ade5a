//! The console: a line per finished step (a live spinner per running step on a
//! terminal), the failure block, and the summary line. With users (fan-out)
//! steps are not printed one by one, which would interleave 20 users' lines:
//! on a terminal a live view (a line per running user with its step i/n, an
//! overall bar with passed and failed counts), off one a line per finished
//! user; then the users x steps matrix and each failure once per step, with
//! the users it hit. Writes to stderr.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use console::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::collect::{Collected, UserRecord};
use super::failure;
use super::live_line::{Suspend, write_line};
use super::{ReportError, Reporter};
use crate::event::{CheckStatus, Event, EventKind, Stats, StepOutcome, StepResult, UserName};

/// Console settings decided at the edge.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConsoleOptions {
    /// Colour.
    pub color: bool,
    /// Live spinners (stderr is a terminal and not CI).
    pub live: bool,
    /// Only failures and the summary.
    pub quiet: bool,
    /// Every check.
    pub verbose: bool,
}

/// Prints the run as it happens.
pub(crate) struct ConsoleReporter {
    opts: ConsoleOptions,
    multi: MultiProgress,
    bars: BTreeMap<(UserName, String), ProgressBar>,
    run: Collected,
    fan_out: bool,
    out: Box<dyn Write + Send>,
    /// Fan-out: steps passed and failed so far.
    steps_passed: usize,
    steps_failed: usize,
    /// Fan-out, live: one bar per running user, and the overall bar.
    user_bars: BTreeMap<UserName, ProgressBar>,
    overall: Option<ProgressBar>,
    /// Width of the longest user name, for aligned columns.
    name_width: usize,
}

impl ConsoleReporter {
    /// A console reporter on stderr.
    pub(crate) fn new(opts: ConsoleOptions) -> Self {
        let target = if opts.live {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        ConsoleReporter {
            opts,
            multi: MultiProgress::with_draw_target(target),
            bars: BTreeMap::new(),
            run: Collected::default(),
            fan_out: false,
            out: Box::new(std::io::stderr()),
            steps_passed: 0,
            steps_failed: 0,
            user_bars: BTreeMap::new(),
            overall: None,
            name_width: 4,
        }
    }

    /// Fan-out: the overall bar's message, steps passed and failed so far.
    fn overall_message(&self) -> String {
        format!(
            "✓ {} passed  ✗ {} failed",
            self.steps_passed, self.steps_failed
        )
    }

    /// Fan-out: one line for a user that finished.
    fn user_line(&mut self, user: &UserName, stats: &Stats) {
        let failed = stats.failed > 0;
        if self.opts.quiet && !failed {
            return;
        }
        let (mark, style) = if failed {
            ("✗", Style::new().red().bold())
        } else {
            ("✓", Style::new().green())
        };
        let name = user.as_deref().unwrap_or("-");
        let rec = self.run.users.iter().find(|u| u.user == *user);
        let ms: u64 = rec
            .map(|u| {
                u.lab_times
                    .iter()
                    .map(|t| t.duration.as_millis() as u64)
                    .sum()
            })
            .unwrap_or(0);
        let mut text = format!(
            "{} {name:w$}  {} passed, {} failed, {} skipped  {}",
            self.style(style).apply_to(mark),
            stats.passed,
            stats.failed,
            stats.skipped,
            self.style(Style::new().dim())
                .apply_to(failure::duration(ms)),
            w = self.name_width,
        );
        if let Some(u) = rec {
            let why: Vec<String> = u
                .labs
                .iter()
                .flat_map(|l| l.steps.iter())
                .filter(|s| s.outcome.is_failure())
                .map(|s| s.id.clone() + " " + &failure::problem(s))
                .collect();
            if !why.is_empty() {
                text.push_str(&format!("  ({})", why.join("; ")));
            }
        }
        self.line(text);
    }

    fn style(&self, s: Style) -> Style {
        s.force_styling(self.opts.color)
    }

    fn line(&mut self, text: String) {
        let live = self.opts.live.then_some(&self.multi as &dyn Suspend);
        write_line(&mut *self.out, text, live);
    }

    fn prefix(&self, user: &UserName) -> String {
        match user {
            Some(u) if self.fan_out => format!("[{u}] "),
            _ => String::new(),
        }
    }

    fn step_line(&mut self, user: &UserName, s: &StepResult) {
        let (mark, style) = match s.outcome {
            StepOutcome::Passed => ("✓", Style::new().green()),
            StepOutcome::Failed | StepOutcome::Error | StepOutcome::Interrupted => {
                ("✗", Style::new().red().bold())
            }
            StepOutcome::TimedOut => ("⏱", Style::new().red().bold()),
            StepOutcome::Skipped => ("⊘", Style::new().dim()),
        };
        let failed = s.outcome.is_failure();
        if self.opts.quiet && !failed {
            return;
        }
        let dim = self.style(Style::new().dim());
        let mut text = format!(
            "{}  {} {}",
            self.prefix(user),
            self.style(style).apply_to(mark),
            s.id
        );
        match s.outcome {
            StepOutcome::Skipped => text.push_str(&format!(
                " {}",
                dim.apply_to(format!(
                    "(skipped: {})",
                    s.reason.clone().unwrap_or_default()
                ))
            )),
            _ => {
                let tries = if s.tries > 1 {
                    format!(", {} tries", s.tries)
                } else {
                    String::new()
                };
                text.push_str(&format!(
                    " {}",
                    dim.apply_to(format!("{}{tries}", failure::duration(s.duration_ms)))
                ));
            }
        }
        self.line(text);
        let pre = format!("{}     ", self.prefix(user));
        if self.opts.verbose {
            for c in &s.checks {
                let m = match c.outcome {
                    CheckStatus::Passed => "✓",
                    CheckStatus::Failed => "✗",
                    CheckStatus::Error => "!",
                    CheckStatus::Skipped => "⊘",
                };
                self.line(format!("{pre}{m} {}", c.description));
            }
        }
        if failed {
            self.failure_block(s, &pre);
        }
        self.warnings(s, &pre);
    }

    /// The failure block, its first line (FILE:LINE) in red.
    fn failure_block(&mut self, s: &StepResult, pre: &str) {
        let red = self.style(Style::new().red());
        for (i, l) in failure::block(s, pre).into_iter().enumerate() {
            self.line(if i == 0 {
                red.apply_to(l).to_string()
            } else {
                l
            });
        }
    }

    /// Warnings after the failure: a drift diff of a failed step is cut short.
    fn warnings(&mut self, s: &StepResult, pre: &str) {
        let warn = self.style(Style::new().yellow());
        let failed = s.outcome.is_failure();
        for w in &s.warnings {
            for (i, l) in failure::warning_lines(w, failed).into_iter().enumerate() {
                self.line(if i == 0 {
                    format!("{pre}{} {l}", warn.apply_to("warning:"))
                } else {
                    format!("{pre}  {l}")
                });
            }
        }
    }

    /// Fan-out, at the end: the users x steps grid, then each failure once.
    fn matrix(&mut self) {
        let users: Vec<_> = self.run.users.clone();
        let Some(first) = users.first() else { return };
        // Columns are the reported entries; a step's column carries its number
        // (as `list` and `--only N` count), preconditions/setup/cleanup a dot.
        let columns: Vec<(Option<usize>, String)> = first
            .labs
            .iter()
            .flat_map(|l| l.steps.iter().map(|s| (s.number, s.id.clone())))
            .collect();
        if columns.is_empty() {
            return;
        }
        self.grid(&users, &columns);
        self.shared_failures(&users);
    }

    /// A row per user, a cell per step, and the legend of the step numbers.
    fn grid(&mut self, users: &[UserRecord], columns: &[(Option<usize>, String)]) {
        let width = users
            .iter()
            .map(|u| u.user.as_deref().unwrap_or("-").len())
            .max()
            .unwrap_or(4)
            .max(4);
        self.line(String::new());
        let numbers: Vec<String> = columns
            .iter()
            .map(|(n, _)| match n {
                Some(n) => format!("{:<2}", n % 100),
                None => "· ".into(),
            })
            .collect();
        self.line(format!("{:width$}  {}", "", numbers.join(" ")));
        for u in users {
            let cells: Vec<String> = u
                .labs
                .iter()
                .flat_map(|l| l.steps.iter())
                .map(|s| self.cell(s.outcome))
                .collect();
            self.line(format!(
                "{:width$}  {}",
                u.user.as_deref().unwrap_or("-"),
                cells.join(" ")
            ));
        }
        let legend: Vec<String> = columns
            .iter()
            .map(|(n, id)| match n {
                Some(n) => format!("{n} {id}"),
                None => format!("· {id}"),
            })
            .collect();
        self.line(format!("{:width$}  steps: {}", "", legend.join(", ")));
    }

    fn cell(&self, o: StepOutcome) -> String {
        let (mark, style) = match o {
            StepOutcome::Passed => ("✓ ", Style::new().green()),
            StepOutcome::Skipped => ("⊘ ", Style::new().dim()),
            _ => ("✗ ", Style::new().red().bold()),
        };
        self.style(style).apply_to(mark).to_string()
    }

    /// Each failure once per step and problem, with the users it hit, explained
    /// as the first of them saw it.
    fn shared_failures(&mut self, users: &[UserRecord]) {
        // (position, id, problem) -> (users, the first user's result), so a
        // failure 20 users share is explained once.
        type Group = (Vec<String>, std::sync::Arc<StepResult>);
        let mut failed_by_step: BTreeMap<(usize, String, String), Group> = BTreeMap::new();
        for u in users {
            for (i, s) in u.labs.iter().flat_map(|l| l.steps.iter()).enumerate() {
                if s.outcome.is_failure() {
                    let what = match s.number {
                        Some(n) => format!("step {n} ({})", s.id),
                        None => s.id.clone(),
                    };
                    let e = failed_by_step
                        .entry((i, what, failure::problem(s)))
                        .or_insert_with(|| (Vec::new(), s.clone()));
                    e.0.push(u.user.clone().unwrap_or_default());
                }
            }
        }
        for ((_, what, _), (who, s)) in failed_by_step {
            self.line(String::new());
            let head = format!(
                "{} failed {what}: {}",
                who.join(", "),
                failure::headline(&s)
            );
            let head = self
                .style(Style::new().red().bold())
                .apply_to(head)
                .to_string();
            self.line(head);
            if who.len() > 1 {
                self.line(format!("  as seen by {}:", who[0]));
            }
            self.failure_block(&s, "  ");
            self.warnings(&s, "  ");
        }
    }
}

impl Reporter for ConsoleReporter {
    fn event(&mut self, event: &Event) -> Result<(), ReportError> {
        self.run.apply(event);
        match &event.kind {
            EventKind::RunStarted { users, .. } => self.run_started(users),
            EventKind::UserStarted { user, .. } => self.user_started(user),
            EventKind::UserFinished { user, stats } => self.user_finished(user, stats),
            EventKind::LabStarted { user, path, title } => self.lab_started(user, path, title),
            EventKind::StepStarted {
                user,
                id,
                position,
                total,
                command,
            } => self.step_started(user, id, format!("[{position}/{total}] {id}"), command),
            EventKind::TryFailedWillRetry {
                user,
                id,
                tries,
                message,
            } => self.try_failed(user, id, *tries, message),
            EventKind::StepFinished { user, result } => self.step_finished(user, result),
            EventKind::LabFinished { .. } => {}
            EventKind::RunCancelling { reason } => {
                let t = format!(
                    "{} {reason}",
                    self.style(Style::new().yellow().bold())
                        .apply_to("stopping:")
                );
                self.line(t);
            }
            EventKind::RunFinished { stats } => self.run_finished(stats, event.elapsed),
        }
        Ok(())
    }
}

/// One method per event kind, in the order a run sends them.
impl ConsoleReporter {
    fn run_started(&mut self, users: &[UserName]) {
        self.fan_out = users.len() > 1 || users.iter().any(|u| u.is_some());
        self.name_width = users
            .iter()
            .map(|u| u.as_deref().unwrap_or("-").chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        if self.fan_out && self.opts.live {
            let pb = self.multi.add(ProgressBar::new(users.len() as u64));
            pb.set_style(
                ProgressStyle::with_template(
                    "{bar:30.green/red} {pos}/{len} users done  {msg}  {elapsed}",
                )
                .expect("static template")
                .progress_chars("█▉ "),
            );
            pb.set_message(self.overall_message());
            pb.enable_steady_tick(Duration::from_millis(200));
            self.overall = Some(pb);
        }
    }

    fn user_started(&mut self, user: &UserName) {
        let Some(overall) = &self.overall else {
            return;
        };
        let pb = self
            .multi
            .insert_before(overall, ProgressBar::new_spinner());
        pb.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {msg} {elapsed}")
                .expect("static template"),
        );
        pb.set_prefix(format!(
            "{:w$}",
            user.as_deref().unwrap_or("-"),
            w = self.name_width
        ));
        pb.set_message("starting");
        pb.enable_steady_tick(Duration::from_millis(100));
        self.user_bars.insert(user.clone(), pb);
    }

    fn user_finished(&mut self, user: &UserName, stats: &Stats) {
        if let Some(pb) = self.user_bars.remove(user) {
            pb.finish_and_clear();
            self.multi.remove(&pb);
        }
        if self.fan_out {
            self.user_line(user, stats);
        }
        if let Some(o) = &self.overall {
            o.inc(1);
        }
    }

    fn lab_started(&mut self, user: &UserName, path: &Path, title: &str) {
        if self.opts.quiet || self.fan_out {
            return;
        }
        let bold = self.style(Style::new().bold());
        let dim = self.style(Style::new().dim());
        let t = format!(
            "{}{} {}",
            self.prefix(user),
            bold.apply_to(title),
            dim.apply_to(format!("({})", path.display()))
        );
        self.line(t);
    }

    /// `at` is the step's place, `[i/n] id`.
    fn step_started(&mut self, user: &UserName, id: &str, at: String, command: &str) {
        if let Some(pb) = self.user_bars.get(user) {
            pb.set_message(at);
        } else if self.opts.live && !self.fan_out {
            let pb = self.multi.add(ProgressBar::new_spinner());
            pb.set_style(
                ProgressStyle::with_template("{spinner} {prefix}{msg} {elapsed}")
                    .expect("static template"),
            );
            pb.set_prefix(self.prefix(user));
            let first = command.lines().next().unwrap_or("");
            pb.set_message(format!("{at}: {first}"));
            pb.enable_steady_tick(Duration::from_millis(100));
            self.bars.insert((user.clone(), id.to_string()), pb);
        }
    }

    fn try_failed(&mut self, user: &UserName, id: &str, tries: u32, message: &str) {
        if let Some(pb) = self.bars.get(&(user.clone(), id.to_string())) {
            pb.set_message(format!("{id}: try {tries} failed, retrying"));
        } else if let Some(pb) = self.user_bars.get(user) {
            let msg = pb.message();
            let base = msg.split(" (try").next().unwrap_or("").to_string();
            pb.set_message(format!("{base} (try {})", tries + 1));
        } else if self.opts.verbose && !self.fan_out {
            let m = message.lines().next().unwrap_or("").to_string();
            self.line(format!(
                "{}  … {id}: try {tries} failed ({m}); retrying",
                self.prefix(user)
            ));
        }
    }

    fn step_finished(&mut self, user: &UserName, result: &StepResult) {
        if let Some(pb) = self.bars.remove(&(user.clone(), result.id.clone())) {
            pb.finish_and_clear();
            self.multi.remove(&pb);
        }
        if !self.fan_out {
            self.step_line(user, result);
            return;
        }
        match result.outcome {
            StepOutcome::Passed => self.steps_passed += 1,
            o if o.is_failure() => self.steps_failed += 1,
            _ => {}
        }
        if let Some(o) = &self.overall {
            o.set_message(self.overall_message());
        }
    }

    fn run_finished(&mut self, stats: &Stats, elapsed: Duration) {
        for (_, pb) in std::mem::take(&mut self.bars) {
            pb.finish_and_clear();
        }
        for (_, pb) in std::mem::take(&mut self.user_bars) {
            pb.finish_and_clear();
        }
        if let Some(o) = self.overall.take() {
            o.finish_and_clear();
            self.multi.remove(&o);
        }
        if self.fan_out {
            self.matrix();
        }
        let mut summary = format!(
            "{} passed, {} failed, {} skipped",
            stats.passed, stats.failed, stats.skipped
        );
        if stats.warnings > 0 {
            summary.push_str(&format!(
                "; {} warning{}",
                stats.warnings,
                if stats.warnings == 1 { "" } else { "s" }
            ));
        }
        summary.push_str(&format!(
            "; {}",
            failure::duration(elapsed.as_millis() as u64)
        ));
        if stats.interrupted {
            summary.push_str("; interrupted");
        }
        let style = if stats.failed > 0 || stats.interrupted {
            Style::new().red().bold()
        } else {
            Style::new().green().bold()
        };
        let t = self.style(style).apply_to(summary).to_string();
        self.line(t);
    }
}
