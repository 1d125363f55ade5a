//! Interactive runs: before each step the user chooses run, skip or quit; after a
//! failure, retry, continue or quit. The engine asks and tells; the console layer
//! answers and draws (the engine knows no output format).

use crate::event::StepResult;
use crate::plan::{PlannedLab, PlannedStep};

/// The answer before a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BeforeStep {
    /// Run it.
    Run,
    /// Skip it.
    Skip,
    /// Stop the run.
    Quit,
}

/// The answer after a failed step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterFailure {
    /// Run it again.
    Retry,
    /// Go on with the next step.
    Continue,
    /// Stop the run.
    Quit,
}

/// Asks the user; implemented by the console layer. Calls come in page order,
/// from one task, so what it prints never interleaves with anything else.
pub(crate) trait Prompter: Send {
    /// A lab begins (before its preconditions are judged).
    fn lab_started(&mut self, lab: &PlannedLab);
    /// Shown the step's prose and command; returns the choice.
    fn before_step(&mut self, lab: &PlannedLab, step: &PlannedStep) -> BeforeStep;
    /// Shown a failed try (checks, expected vs actual, hints); returns the choice.
    fn after_failure(&mut self, step: &PlannedStep, result: &StepResult) -> AfterFailure;
    /// A step's final result (also preconditions, setup, cleanup and skipped steps).
    fn step_finished(&mut self, result: &StepResult);
    /// The lab ended: the prose after its last step.
    fn lab_finished(&mut self, lab: &PlannedLab);
}
