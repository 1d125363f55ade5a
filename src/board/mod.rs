//! `labctl board`: a live users × steps matrix from the state checks of every step,
//! observed by `engine::observe` and folded into [`model::Board`]; shown full-screen
//! ([`terminal`]) or as a line per change ([`lines`]), written as snapshots and reports
//! ([`report`]) in the schemas of `labctl run`.

pub(crate) mod lines;
pub(crate) mod model;
pub(crate) mod report;
pub(crate) mod terminal;
pub(crate) mod web;

use crate::lab::check_spec::CheckSpec;
use crate::plan::PlannedLab;

/// Where a column comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// The preconditions of lab N.
    Preconditions(usize),
    /// Step S of lab N.
    Step(usize, usize),
}

/// The board's columns for one user's labs: each lab's preconditions and each step
/// that has state checks, with those checks (steps with none cannot be observed).
pub(crate) fn columns(labs: &[PlannedLab]) -> Vec<(Place, Vec<CheckSpec>)> {
    let state = |checks: &[CheckSpec]| -> Vec<CheckSpec> {
        checks
            .iter()
            .filter(|c| c.kind.is_state())
            .cloned()
            .collect()
    };
    let mut out = Vec::new();
    for (li, l) in labs.iter().enumerate() {
        let pre = state(&l.preconditions);
        if !pre.is_empty() {
            out.push((Place::Preconditions(li), pre));
        }
        for (si, s) in l.steps.iter().enumerate() {
            let checks = state(&s.checks);
            if !checks.is_empty() {
                out.push((Place::Step(li, si), checks));
            }
        }
    }
    out
}

/// The column's id: the step id, or `<lab stem>:preconditions`.
pub(crate) fn column_id(labs: &[PlannedLab], place: Place) -> String {
    match place {
        Place::Preconditions(l) => format!("{}:preconditions", labs[l].lab.stem),
        Place::Step(l, s) => labs[l].steps[s].step.id.clone(),
    }
}
