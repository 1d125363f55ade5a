//! Examiner tests.
