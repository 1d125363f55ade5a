//! Interactive runs: before each step the user chooses run, skip or quit; after a
//! failure, retry, continue or quit. The engine asks; the console layer answers.

use crate::plan::PlannedStep;

/// The answer before a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeforeStep {
    /// Run it.
    Run,
    /// Skip it.
    Skip,
    /// Stop the run.
    Quit,
}

/// The answer after a failed step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Run it again.
    Retry,
    /// Go on with the next step.
    Continue,
    /// Stop the run.
    Quit,
}

/// Asks the user; implemented by the console layer.
pub trait Prompter: Send {
    /// Shown the step's prose and command; returns the choice.
    fn before_step(&mut self, step: &PlannedStep) -> BeforeStep;
    /// Shown the failure; returns the choice.
    fn after_failure(&mut self, step: &PlannedStep, summary: &str) -> AfterFailure;
}
