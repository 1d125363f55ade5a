//! `--interactive`: the prose and command before each step, then a question.
//! Answers are read from stdin lines, so a script can drive a session.

use std::io::{BufRead, Write};

use console::Style;

use crate::engine::prompt::{AfterFailure, BeforeStep, Prompter};
use crate::plan::PlannedStep;
use crate::redact::Redactor;

/// Asks on stderr, reads answers from stdin.
pub struct StdinPrompter {
    color: bool,
    redactor: Redactor,
    stdin: std::io::Stdin,
}

impl StdinPrompter {
    /// A prompter on the process's stdin.
    pub fn new(color: bool, redactor: Redactor) -> Self {
        StdinPrompter {
            color,
            redactor,
            stdin: std::io::stdin(),
        }
    }

    fn ask(&mut self, question: &str, choices: &[(&str, char)]) -> Option<char> {
        loop {
            eprint!("{question} ");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            if self.stdin.lock().read_line(&mut answer).ok()? == 0 {
                return None;
            }
            let a = answer.trim().to_ascii_lowercase();
            if let Some((_, c)) = choices
                .iter()
                .find(|(word, c)| a == *word || a == c.to_string())
            {
                return Some(*c);
            }
            if a.is_empty() {
                return Some(choices[0].1);
            }
            eprintln!(
                "answer {}",
                choices
                    .iter()
                    .map(|(w, _)| *w)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
}

impl Prompter for StdinPrompter {
    fn before_step(&mut self, step: &PlannedStep) -> BeforeStep {
        let bold = Style::new().bold().force_styling(self.color);
        if !step.step.prose.is_empty() {
            eprintln!("\n{}", self.redactor.apply(&step.step.prose));
        }
        eprintln!(
            "{}",
            bold.apply_to(format!(
                "── step {} (line {})",
                step.step.id, step.step.span.line
            ))
        );
        for l in self.redactor.apply(&step.command).lines() {
            eprintln!("  $ {l}");
        }
        // End of input means the script driving us is done: quit rather than guess.
        match self.ask(
            "run, skip or quit? [r/s/q]",
            &[("run", 'r'), ("skip", 's'), ("quit", 'q')],
        ) {
            Some('r') => BeforeStep::Run,
            Some('s') => BeforeStep::Skip,
            _ => BeforeStep::Quit,
        }
    }

    fn after_failure(&mut self, step: &PlannedStep, summary: &str) -> AfterFailure {
        eprintln!("step {} failed:\n{summary}", step.step.id);
        match self.ask(
            "retry, continue or quit? [r/c/q]",
            &[("retry", 'r'), ("continue", 'c'), ("quit", 'q')],
        ) {
            Some('r') => AfterFailure::Retry,
            Some('c') => AfterFailure::Continue,
            _ => AfterFailure::Quit,
        }
    }
}
