//! What differs between the documented output and the actual one: the first
//! difference a comparison finds, worded for the author in the drift report.

use serde_json::Value;

use crate::check::CheckError;

/// The first way the actual output differs from its fence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum Mismatch {
    /// The fence is JSON and the output is not.
    #[error("{0}")]
    NotJson(CheckError),
    /// Strict lines: this expected line appears nowhere in the output.
    #[error("expected line not found: {0}")]
    LineMissing(String),
    /// Strict lines: each appears, but not in the fence's order or count.
    #[error("the lines differ (order, count or extra lines)")]
    LinesDiffer,
    /// Similar lines: this expected line is not found after the ones before it.
    #[error("expected line not found in order: {0}")]
    LineOutOfOrder(String),
    /// JSON: an expected key is absent.
    #[error("{path}: missing")]
    KeyMissing {
        /// Where, `$.a.b`.
        path: String,
    },
    /// Strict JSON: an array with other elements than the fence's.
    #[error(
        "{path}: expected {expected} element(s){}, found {found}",
        if *more { " and more" } else { "" }
    )]
    Elements {
        /// Where.
        path: String,
        /// Elements the fence lists.
        expected: usize,
        /// The fence's `...` allows more.
        more: bool,
        /// Elements the output has.
        found: usize,
    },
    /// Strict JSON: a string that does not match the fence's pattern (`[..]`, `[UUID]`...).
    #[error("{path}: {found:?} does not match {pattern:?}")]
    NoMatch {
        /// Where.
        path: String,
        /// The fence's string.
        pattern: String,
        /// The output's.
        found: String,
    },
    /// JSON: another value.
    #[error("{path}: expected {expected}, found {found}")]
    Unequal {
        /// Where.
        path: String,
        /// The fence's value.
        expected: Value,
        /// The output's.
        found: Value,
    },
    /// Similar JSON: another type.
    #[error("{path}: expected {expected}, found {found}")]
    Type {
        /// Where.
        path: String,
        /// The fence's type (`an object`).
        expected: &'static str,
        /// The output's.
        found: &'static str,
    },
    /// Similar JSON: an empty array where the fence shows elements.
    #[error("{path}: expected a non-empty array, found []")]
    Empty {
        /// Where.
        path: String,
    },
    /// Similar JSON: no element has the shape of the fence's element `index`.
    #[error("{path}[{index}]: no element like it")]
    NoElementLike {
        /// The array.
        path: String,
        /// The fence's element.
        index: usize,
    },
}
