//! `--users-from REPORT.json [--failed]`: the users of an earlier run, read
//! from its JSON report (or a log ending in one, as `report merge` reads),
//! with the variables they had, so a rerun of what failed is the same run for
//! them. Whole labs run again: steps build on each other.

use std::path::Path;

use super::report_merge::read_report;
use crate::plan::User;

/// The report's users (only the failed ones with `failed_only`), in its order.
/// Variables the report redacted are left out: they come from where they
/// came from the first time (`--var`, the environment).
pub(crate) fn users(report: &Path, failed_only: bool) -> Result<Vec<User>, String> {
    let text = std::fs::read_to_string(report)
        .map_err(|e| format!("cannot read {}: {e}", report.display()))?;
    let run = read_report(report, &text).map_err(|e| e.to_string())?;
    let mut users = Vec::new();
    for (i, u) in run.users.iter().enumerate() {
        let Some(name) = &u.user else {
            return Err(format!(
                "{} is a run without --users; there is no user to run again",
                report.display()
            ));
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
