//! The console of `labctl check`, written for a student checking their work:
//! per step ✓ done / ✗ not done with why (expected vs actual, the hint) and what
//! to do next; a waiting check says what it waits for and how long it may wait.
//! Writes to stderr.

use std::io::Write;
use std::time::Duration;

use console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::failure::duration;
use super::live_line::{Suspend, write_line};
use super::{ReportError, Reporter};
use crate::event::{CheckStatus, Event, EventKind, StepOutcome, StepResult, UserName};

/// Settings decided at the edge.
#[derive(Debug, Clone)]
pub(crate) struct CheckConsoleOptions {
    /// Colour.
    pub color: bool,
    /// Redraw a waiting line in place (stderr is a terminal that can).
    pub live: bool,
    /// Only what is not done, and the summary.
    pub quiet: bool,
    /// The workshop as the student named it, for "run it with `labctl run PATH --only STEP`".
    pub workshop: String,
}

/// How one step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Done,
    NotDone,
    /// Only running it can tell (no state checks).
    Unjudged,
    /// Skipped for another reason (manual step, `skip`, interrupted).
    Skipped,
}

fn standing(s: &StepResult) -> Standing {
    match s.outcome {
        StepOutcome::Passed => Standing::Done,
        StepOutcome::Failed | StepOutcome::TimedOut | StepOutcome::Error => Standing::NotDone,
        StepOutcome::Skipped
            if s.tries > 0 && s.checks.iter().all(|c| c.outcome == CheckStatus::Skipped) =>
        {
            Standing::Unjudged
        }
        StepOutcome::Skipped | StepOutcome::Interrupted => Standing::Skipped,
    }
}

/// Prints what `labctl check` found.
pub(crate) struct CheckConsole {
    opts: CheckConsoleOptions,
    out: Box<dyn Write + Send>,
    waiting: Option<ProgressBar>,
    announced_wait: bool,
    counts: [usize; 4],
}

impl CheckConsole {
    /// On stderr.
    pub(crate) fn new(opts: CheckConsoleOptions) -> Self {
        CheckConsole {
            opts,
            out: Box::new(std::io::stderr()),
            waiting: None,
            announced_wait: false,
            counts: [0; 4],
        }
    }

    fn style(&self, s: Style) -> Style {
        s.force_styling(self.opts.color)
    }

    fn line(&mut self, text: String) {
        let live = self.waiting.as_ref().map(|pb| pb as &dyn Suspend);
        write_line(&mut *self.out, text, live);
    }

    fn prefix(user: &UserName) -> String {
        user.as_ref().map(|u| format!("[{u}] ")).unwrap_or_default()
    }

    fn stop_waiting(&mut self) {
        if let Some(pb) = self.waiting.take() {
            pb.finish_and_clear();
        }
        self.announced_wait = false;
    }

    fn waiting(&mut self, user: &UserName, id: &str, message: &str) {
        let text = format!("{}  … {id}: {message}", Self::prefix(user));
        if self.opts.live {
            let pb = self.waiting.get_or_insert_with(|| {
                let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                pb.set_style(ProgressStyle::with_template("{msg}").expect("static template"));
                pb
            });
            pb.set_message(text);
        } else if !self.announced_wait {
            // A log gets one line per waiting check, not one per try.
            self.announced_wait = true;
            let without_try = match text.rsplit_once(" (try ") {
                Some((head, _)) => head.to_string(),
                None => text,
            };
            self.line(without_try);
        }
    }

    fn step(&mut self, user: &UserName, s: &StepResult) {
        let st = standing(s);
        self.counts[st as usize] += 1;
        if self.opts.quiet && st != Standing::NotDone {
            return;
        }
        let pre = Self::prefix(user);
        let dim = self.style(Style::new().dim());
        let what = match s.number {
            Some(_) => s.id.clone(),
            None => "before you start".to_string(),
        };
        match st {
            Standing::Done => {
                let mark = self.style(Style::new().green()).apply_to("✓");
                self.line(format!("{pre}  {mark} {what}: done"));
            }
            Standing::Unjudged => {
                let mark = dim.apply_to("–");
                self.line(format!(
                    "{pre}  {mark} {what}: nothing labctl can check without running it; run it with `labctl run {} --only {}`",
                    self.opts.workshop, s.id
                ));
            }
            Standing::Skipped => {
                let mark = dim.apply_to("⊘");
                let why = s.reason.clone().unwrap_or_else(|| "skipped".into());
                self.line(format!("{pre}  {mark} {what}: {}", dim.apply_to(why)));
            }
            Standing::NotDone => self.not_done(&pre, &what, s),
        }
    }

    fn not_done(&mut self, pre: &str, what: &str, s: &StepResult) {
        let red = self.style(Style::new().red().bold());
        self.line(format!("{pre}  {} {what}: not done", red.apply_to("✗")));
        let ind = format!("{pre}      ");
        if let Some(r) = &s.reason {
            self.line(format!("{ind}{r}"));
        }
        for c in s.checks.iter().filter(|c| c.outcome.is_failure()) {
            let mark = if c.outcome == CheckStatus::Error {
                "!"
            } else {
                "✗"
            };
            self.line(format!("{ind}{mark} {}", c.description));
            for l in c.message.iter().flat_map(|m| m.lines()) {
                self.line(format!("{ind}    {l}"));
            }
            if let Some(h) = &c.hint {
                let hint = self.style(Style::new().yellow()).apply_to("hint:");
                self.line(format!("{ind}    {hint} {h}"));
            }
        }
        let next = match s.number {
            Some(_) => {
                let command = s.command.lines().next().unwrap_or("");
                let more = if s.command.lines().count() > 1 {
                    " …"
                } else {
                    ""
                };
                format!(
                    "do step {} ({}:{}): `{command}`{more}",
                    s.id,
                    s.path.display(),
                    s.line
                )
            }
            None => format!(
                "the lab starts from a state that is not there ({}:{}); ask whoever runs the workshop",
                s.path.display(),
                s.line
            ),
        };
        let arrow = self.style(Style::new().bold()).apply_to("→");
        self.line(format!("{ind}{arrow} {next}"));
    }

    fn summary(&mut self, elapsed: Duration, interrupted: bool) {
        let [done, not_done, unjudged, skipped] = self.counts;
        let mut parts = vec![format!("{done} done"), format!("{not_done} not done")];
        if unjudged > 0 {
            parts.push(format!("{unjudged} to check with `labctl run`"));
        }
        if skipped > 0 {
            parts.push(format!("{skipped} skipped"));
        }
        let mut text = format!(
            "{}; {}",
            parts.join(", "),
            duration(elapsed.as_millis() as u64)
        );
        if interrupted {
            text.push_str("; interrupted");
        }
        let style = if not_done > 0 || interrupted {
            Style::new().red().bold()
        } else {
            Style::new().green().bold()
        };
        let t = self.style(style).apply_to(text).to_string();
        self.line(t);
    }
}

impl Reporter for CheckConsole {
    fn event(&mut self, event: &Event) -> Result<(), ReportError> {
        match &event.kind {
            EventKind::RunStarted { .. }
            | EventKind::UserStarted { .. }
            | EventKind::UserFinished { .. }
            | EventKind::LabFinished { .. } => {}
            EventKind::LabStarted { user, path, title } => {
                if !self.opts.quiet {
                    let t = format!(
                        "{}{} {}",
                        Self::prefix(user),
                        self.style(Style::new().bold()).apply_to(title),
                        self.style(Style::new().dim())
                            .apply_to(format!("({})", path.display()))
                    );
                    self.line(t);
                }
            }
            EventKind::StepStarted { .. } => self.stop_waiting(),
            EventKind::TryFailedWillRetry {
                user, id, message, ..
            } => self.waiting(user, id, message),
            EventKind::StepFinished { user, result } => {
                self.stop_waiting();
                self.step(user, result);
            }
            EventKind::RunCancelling { reason } => {
                self.stop_waiting();
                let t = format!(
                    "{} {reason}",
                    self.style(Style::new().yellow().bold())
                        .apply_to("stopping:")
                );
                self.line(t);
            }
            EventKind::RunFinished { stats } => {
                self.stop_waiting();
                self.summary(event.elapsed, stats.interrupted);
            }
        }
        Ok(())
    }
}
