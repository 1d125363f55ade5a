//! `--users-from REPORT.json [--failed]`: the users of an earlier run, read
//! from its JSON report (or a log ending in one, as `report merge` reads),
//! with the variables they had, so a rerun of what failed is the same run for
//! them. Whole labs run again: steps build on each other.

use std::path::{Path, PathBuf};

use super::report_merge::{MergeInputError, read_report};
use crate::plan::User;

/// Why the report gives no users to run again.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UsersFromError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The report.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// It holds no labctl report.
    #[error(transparent)]
    Report(#[from] MergeInputError),
    /// The run had no `--users`.
    #[error("{} is a run without --users; there is no user to run again", .0.display())]
    NoUsers(PathBuf),
}

/// The report's users (only the failed ones with `failed_only`), in its order.
/// Variables the report redacted are left out: they come from where they
/// came from the first time (`--var`, the environment).
pub(crate) fn users(report: &Path, failed_only: bool) -> Result<Vec<User>, UsersFromError> {
    let text = std::fs::read_to_string(report).map_err(|source| UsersFromError::Read {
        path: report.to_path_buf(),
        source,
    })?;
    let run = read_report(report, &text)?;
    let mut users = Vec::new();
    for (i, u) in run.users.iter().enumerate() {
        let Some(name) = &u.user else {
            return Err(UsersFromError::NoUsers(report.to_path_buf()));
        };
        if failed_only && !u.failed() {
            continue;
        }
        let mut vars = u.vars.clone();
        vars.retain(|k, v| k != "username" && v != crate::redact::REDACTED);
        users.push(User {
            name: name.clone(),
            index: i + 1,
            vars,
        });
    }
    Ok(users)
}
