//! The console: a line per finished step (a live spinner per running step on a
//! terminal), the failure block, a users x steps matrix for fan-out runs, and
//! the summary line. Writes to stderr.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use console::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::collect::Collected;
use super::failure;
use super::{ReportError, Reporter};
use crate::event::{CheckStatus, Event, EventKind, StepOutcome, StepResult, UserName};

/// Console settings decided at the edge.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleOptions {
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
pub struct ConsoleReporter {
    opts: ConsoleOptions,
    multi: MultiProgress,
    bars: BTreeMap<(UserName, String), ProgressBar>,
    run: Collected,
    fan_out: bool,
    out: Box<dyn Write + Send>,
}

impl ConsoleReporter {
    /// A console reporter on stderr.
    pub fn new(opts: ConsoleOptions) -> Self {
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
        }
    }

    fn style(&self, s: Style) -> Style {
        s.force_styling(self.opts.color)
    }

    fn line(&mut self, text: String) {
        // One write per line: stderr is unbuffered, and `writeln!` would
        // make the newline a second system call. Written under `suspend`, not
        // through `MultiProgress::println`, which drops lines when indicatif
        // decides the target cannot draw: a result line is never lost.
        let mut text = text;
        text.push('\n');
        let out = &mut self.out;
        if self.opts.live {
            self.multi.suspend(|| out.write_all(text.as_bytes()))
        } else {
            out.write_all(text.as_bytes())
        }
        .ok();
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
        let failed = matches!(
            s.outcome,
            StepOutcome::Failed
                | StepOutcome::Error
                | StepOutcome::TimedOut
                | StepOutcome::Interrupted
        );
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
                    dim.apply_to(format!("{}{tries}", fmt_ms(s.duration_ms)))
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
        let warn = self.style(Style::new().yellow());
        for w in &s.warnings {
            let mut lines = w.lines();
            if let Some(first) = lines.next() {
                self.line(format!("{pre}{} {first}", warn.apply_to("warning:")));
            }
            for l in lines {
                self.line(format!("{pre}  {l}"));
            }
        }
        if failed {
            let red = self.style(Style::new().red());
            for (i, l) in failure::block(s, &pre).into_iter().enumerate() {
                self.line(if i == 0 {
                    red.apply_to(l).to_string()
                } else {
                    l
                });
            }
        }
    }

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
        let width = users
            .iter()
            .map(|u| u.user.as_deref().unwrap_or("-").len())
            .max()
            .unwrap_or(4)
            .max(4);
        self.line(String::new());
        self.line(format!(
            "{:width$}  {}",
            "",
            columns
                .iter()
                .map(|(n, _)| match n {
                    Some(n) => format!("{:<2}", n % 100),
                    None => "· ".into(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        ));
        for u in &users {
            let cells: Vec<String> = u
                .labs
                .iter()
                .flat_map(|l| l.steps.iter())
                .map(|s| match s.outcome {
                    StepOutcome::Passed => {
                        self.style(Style::new().green()).apply_to("✓ ").to_string()
                    }
                    StepOutcome::Skipped => {
                        self.style(Style::new().dim()).apply_to("⊘ ").to_string()
                    }
                    _ => self
                        .style(Style::new().red().bold())
                        .apply_to("✗ ")
                        .to_string(),
                })
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
        let mut failed_by_step: BTreeMap<(usize, String), (Vec<String>, String)> = BTreeMap::new();
        for u in &users {
            for (i, s) in u.labs.iter().flat_map(|l| l.steps.iter()).enumerate() {
                let what = match s.number {
                    Some(n) => format!("step {n} ({})", s.id),
                    None => s.id.clone(),
                };
                if matches!(
                    s.outcome,
                    StepOutcome::Failed
                        | StepOutcome::Error
                        | StepOutcome::TimedOut
                        | StepOutcome::Interrupted
                ) {
                    let e = failed_by_step
                        .entry((i, what))
                        .or_insert_with(|| (Vec::new(), failure::headline(s)));
                    e.0.push(u.user.clone().unwrap_or_default());
                }
            }
        }
        for ((_, what), (who, why)) in failed_by_step {
            self.line(format!("{} failed {what}: {why}", who.join(", ")));
        }
    }
}

fn fmt_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

impl Reporter for ConsoleReporter {
    fn event(&mut self, event: &Event) -> Result<(), ReportError> {
        self.run.apply(event);
        match &event.kind {
            EventKind::RunStarted { users, .. } => {
                self.fan_out = users.len() > 1 || users.iter().any(|u| u.is_some())
            }
            EventKind::UserStarted { .. } | EventKind::UserFinished { .. } => {}
            EventKind::LabStarted { user, path, title } => {
                if !self.opts.quiet && !self.fan_out {
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
            }
            EventKind::StepStarted {
                user,
                id,
                position,
                total,
                command,
            } => {
                if self.opts.live {
                    let pb = self.multi.add(ProgressBar::new_spinner());
                    pb.set_style(
                        ProgressStyle::with_template("{spinner} {prefix}{msg} {elapsed}")
                            .expect("static template"),
                    );
                    pb.set_prefix(self.prefix(user));
                    let first = command.lines().next().unwrap_or("");
                    pb.set_message(format!("[{position}/{total}] {id}: {first}"));
                    pb.enable_steady_tick(Duration::from_millis(100));
                    self.bars.insert((user.clone(), id.clone()), pb);
                }
            }
            EventKind::TryFailedWillRetry {
                user,
                id,
                tries,
                message,
            } => {
                if let Some(pb) = self.bars.get(&(user.clone(), id.clone())) {
                    pb.set_message(format!("{id}: try {tries} failed, retrying"));
                } else if self.opts.verbose {
                    let m = message.lines().next().unwrap_or("").to_string();
                    self.line(format!(
                        "{}  … {id}: try {tries} failed ({m}); retrying",
                        self.prefix(user)
                    ));
                }
            }
            EventKind::StepFinished { user, result } => {
                if let Some(pb) = self.bars.remove(&(user.clone(), result.id.clone())) {
                    pb.finish_and_clear();
                    self.multi.remove(&pb);
                }
                self.step_line(user, result);
            }
            EventKind::LabFinished { .. } => {}
            EventKind::RunCancelling { reason } => {
                let t = format!(
                    "{} {reason}",
                    self.style(Style::new().yellow().bold())
                        .apply_to("stopping:")
                );
                self.line(t);
            }
            EventKind::RunFinished { stats } => {
                for (_, pb) in std::mem::take(&mut self.bars) {
                    pb.finish_and_clear();
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
                summary.push_str(&format!("; {}", fmt_ms(event.elapsed.as_millis() as u64)));
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
        Ok(())
    }
}
