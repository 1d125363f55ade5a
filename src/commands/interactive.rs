//! `--interactive`: a guided lab in the terminal. Before each step, the section's
//! prose (rendered, variables filled), the terminal and the command, then one
//! prompt; the command's output streams as it runs; then ✓/✗ with each check in
//! the book's plain English. A failure shows expected vs actual and the hint
//! before its prompt. Nothing else draws on the screen meanwhile (no spinner), so
//! the prompt is always the last line. Answers are read as lines from stdin, so a
//! script can drive a session too.

use std::io::{BufRead, Write};

use console::Style;

use super::terminal_prose;
use crate::engine::prompt::{AfterFailure, BeforeStep, Prompter};
use crate::event::{CheckResult, CheckStatus, StepOutcome, StepResult};
use crate::lab::TerminalSel;
use crate::lab::check_spec::CheckSpec;
use crate::mdbook::plain_english;
use crate::mdbook::render::fill;
use crate::plan::{PlannedLab, PlannedStep};
use crate::vars::Vars;

const BEFORE_HELP: &str = "Enter   run the command shown, here, as the lab says
s       skip this step (labctl will not check it)
q       quit (the steps not run yet are reported as skipped)
?       this help";

const AFTER_HELP: &str =
    "r       run the step again (after fixing what the hint says, in another terminal)
c       continue with the next step
q       quit (the steps not run yet are reported as skipped)
?       this help";
use crate::redact::Redactor;

/// Asks on stderr, reads answers from stdin.
pub(crate) struct StdinPrompter {
    color: bool,
    redactor: Redactor,
    stdin: std::io::Stdin,
    /// The checks of the step being run, for sentences in plain English.
    checks: Vec<CheckSpec>,
    vars: Vars,
    /// The step whose failure was just shown at the prompt: its final ✗ is not repeated.
    failure_shown: Option<String>,
}

impl StdinPrompter {
    /// A prompter on the process's stdin.
    pub(crate) fn new(color: bool, redactor: Redactor) -> Self {
        StdinPrompter {
            color,
            redactor,
            stdin: std::io::stdin(),
            checks: Vec::new(),
            vars: Vars::default(),
            failure_shown: None,
        }
    }

    fn style(&self, s: Style) -> Style {
        s.force_styling(self.color)
    }

    /// Every line goes through the redactor: prose, commands and check
    /// messages may hold a secret's value.
    fn say(&self, text: &str) {
        let mut text = self.redactor.apply(text);
        text.push('\n');
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    /// Asks until the answer is one of `keys` ("" for Enter), as the key or as
    /// the whole word; anything else (`?`) shows `help`. End of input means
    /// whoever drives us is done: `q`.
    fn ask(&mut self, question: &str, keys: &[(&str, &str)], help: &str) -> String {
        loop {
            let q = self.style(Style::new().bold()).apply_to(question);
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{q} ");
            let _ = err.flush();
            drop(err);
            let mut answer = String::new();
            match self.stdin.lock().read_line(&mut answer) {
                Ok(0) | Err(_) => {
                    self.say("");
                    return "q".into();
                }
                Ok(_) => {}
            }
            let a = answer.trim().to_ascii_lowercase();
            if let Some((key, _)) = keys.iter().find(|(k, w)| a == *k || a == *w) {
                return key.to_string();
            }
            self.say(help);
        }
    }

    fn sentence(&self, c: &CheckResult) -> String {
        let spec = (c.line > 0)
            .then(|| self.checks.iter().find(|s| s.line == c.line))
            .flatten();
        match spec {
            Some(s) => fill(&plain_english::sentence(s), &self.vars),
            None => capitalised(&c.description),
        }
    }

    fn result_lines(&self, r: &StepResult, with_details: bool) {
        let green = self.style(Style::new().green());
        let red = self.style(Style::new().red().bold());
        let dim = self.style(Style::new().dim());
        let (mark, what) = match r.outcome {
            StepOutcome::Passed => (green.apply_to("✓").to_string(), "done"),
            StepOutcome::Failed => (red.apply_to("✗").to_string(), "failed"),
            StepOutcome::TimedOut => (red.apply_to("⏱").to_string(), "timed out"),
            StepOutcome::Error => (red.apply_to("✗").to_string(), "could not run"),
            StepOutcome::Skipped => (dim.apply_to("⊘").to_string(), "skipped"),
            StepOutcome::Interrupted => (red.apply_to("✗").to_string(), "interrupted"),
        };
        let name = match r.number {
            Some(_) => r.id.as_str(),
            None if r.id.ends_with(":preconditions") => "before you start",
            None => r.id.as_str(),
        };
        let mut head = format!("{mark} {name} {what}");
        if let Some(reason) = &r.reason {
            head.push_str(&format!(": {reason}"));
        }
        self.say(&head);
        for c in &r.checks {
            let m = match c.outcome {
                CheckStatus::Passed => green.apply_to("✓").to_string(),
                CheckStatus::Failed => red.apply_to("✗").to_string(),
                CheckStatus::Error => red.apply_to("!").to_string(),
                CheckStatus::Skipped => dim.apply_to("⊘").to_string(),
            };
            self.say(&format!("  {m} {}", self.sentence(c)));
            if with_details && c.outcome.is_failure() {
                for l in c.message.iter().flat_map(|m| m.lines()) {
                    self.say(&format!("      {l}"));
                }
                if let Some(h) = &c.hint {
                    let hint = self.style(Style::new().yellow().bold()).apply_to("hint:");
                    self.say(&format!("      {hint} {h}"));
                }
            }
        }
        for w in &r.warnings {
            let first = w.lines().next().unwrap_or("");
            let warn = self.style(Style::new().yellow()).apply_to("warning:");
            self.say(&format!("  {warn} {first}"));
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn terminal_label(t: TerminalSel) -> String {
    match t {
        TerminalSel::One(n) => format!("Terminal {n}"),
        TerminalSel::All => "All terminals".into(),
        TerminalSel::None => "Manual step".into(),
    }
}

/// The page's text after the last step's fence (a lab's closing summary).
fn closing_prose(lab: &PlannedLab) -> &str {
    let src = &lab.lab.source;
    let Some(last) = lab.lab.steps.last() else {
        return "";
    };
    let after_body = last.body_span.end.min(src.len());
    match src[after_body..].find('\n') {
        Some(nl) => &src[after_body + nl + 1..],
        None => "",
    }
}

impl Prompter for StdinPrompter {
    fn lab_started(&mut self, lab: &PlannedLab) {
        self.checks = lab.preconditions.clone();
        self.vars = lab.vars.clone();
    }

    fn before_step(&mut self, lab: &PlannedLab, step: &PlannedStep) -> BeforeStep {
        self.checks = step.checks.clone();
        self.vars = lab.vars.clone();
        let prose = terminal_prose::render(&fill(&step.step.prose, &lab.vars), self.color);
        if !prose.is_empty() {
            self.say(&format!("\n{prose}\n"));
        }
        let dim = self.style(Style::new().dim());
        let bold = self.style(Style::new().bold());
        self.say(&format!(
            "{} {}",
            bold.apply_to(format!(
                "── step {} · {} · {}",
                step.number,
                step.step.id,
                terminal_label(step.step.terminal)
            )),
            dim.apply_to(format!(
                "({}:{})",
                lab.lab.path.display(),
                step.step.span.line
            ))
        ));
        let mut lines = step.command.lines();
        if let Some(first) = lines.next() {
            self.say(&format!("$ {first}"));
        }
        for l in lines {
            self.say(&format!("> {l}"));
        }
        match self
            .ask(
                "▶ Enter run · s skip · q quit · ? help:",
                &[("", "run"), ("", "r"), ("s", "skip"), ("q", "quit")],
                BEFORE_HELP,
            )
            .as_str()
        {
            "" => BeforeStep::Run,
            "s" => BeforeStep::Skip,
            _ => BeforeStep::Quit,
        }
    }

    fn after_failure(&mut self, _step: &PlannedStep, result: &StepResult) -> AfterFailure {
        self.result_lines(result, true);
        self.failure_shown = Some(result.id.clone());
        match self
            .ask(
                "▶ r retry · c continue · q quit · ? help:",
                &[("r", "retry"), ("c", "continue"), ("q", "quit")],
                AFTER_HELP,
            )
            .as_str()
        {
            "r" => AfterFailure::Retry,
            "c" => AfterFailure::Continue,
            _ => AfterFailure::Quit,
        }
    }

    fn step_finished(&mut self, result: &StepResult) {
        if self.failure_shown.take().as_deref() == Some(result.id.as_str()) {
            return;
        }
        if result.outcome == StepOutcome::Skipped && result.tries == 0 {
            self.say(&format!(
                "{} {} skipped: {}",
                self.style(Style::new().dim()).apply_to("⊘"),
                result.id,
                result.reason.as_deref().unwrap_or("")
            ));
            return;
        }
        self.result_lines(result, true);
    }

    fn lab_finished(&mut self, lab: &PlannedLab) {
        self.checks.clear();
        let prose = terminal_prose::render(&fill(closing_prose(lab), &lab.vars), self.color);
        if !prose.is_empty() {
            self.say(&format!("\n{prose}\n"));
        }
    }
}
