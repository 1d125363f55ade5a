//! Educates examiner tests: `workshop/examiner/tests/NAME ARGS...` run with no shell;
//! a try passes on exit 0. Retries are the caller's: `timing` turns the test's
//! `retries`/`delay`/`timeout` into a `Timing` for `retry::eventually`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Check, CheckContext, CheckError, CheckOutcome, Evaluation, ScriptRequest};
use crate::lab::model::{ExaminerTest, Timing};

/// Deadline used for `retries: .INF` (or -1): Educates would retry forever while the
/// student works; an unattended run gives up after this long.
pub const UNLIMITED_CAP: Duration = Duration::from_secs(10 * 60);

/// Where examiner tests live, under the workshop root.
pub const TESTS_DIR: &str = "workshop/examiner/tests";

/// The retry timing of an examiner test: within = (retries+1) × (timeout+delay),
/// capped at `UNLIMITED_CAP` when retries are unlimited; interval = delay.
pub fn timing(t: &ExaminerTest) -> Timing {
    let per_try = t.timeout + t.delay;
    let within = match t.retries {
        Some(r) => per_try.saturating_mul(r.saturating_add(1)),
        None => UNLIMITED_CAP,
    };
    Timing {
        within: Some(within),
        interval: Some(t.delay),
        hold: None,
    }
}

/// Runs one try of an examiner test.
pub struct ExaminerCheck<'s> {
    /// The test.
    pub test: &'s ExaminerTest,
    /// The workshop root holding `workshop/examiner/tests/`.
    pub root: PathBuf,
}

impl<'s> ExaminerCheck<'s> {
    /// The check for `test` in the workshop at `root`.
    pub fn new(test: &'s ExaminerTest, root: &Path) -> Self {
        ExaminerCheck {
            test,
            root: root.to_path_buf(),
        }
    }

    /// The script's path.
    pub fn script(&self) -> PathBuf {
        self.root.join(TESTS_DIR).join(&self.test.name)
    }
}

impl Check for ExaminerCheck<'_> {
    fn evaluate<'a>(&'a self, ctx: &'a CheckContext<'a>) -> Evaluation<'a> {
        Box::pin(async move {
            let script = self.script();
            if !script.is_file() {
                return Err(CheckError::ScriptNotFound(script));
            }
            let mut argv = vec![script.to_string_lossy().into_owned()];
            argv.extend(self.test.args.iter().cloned());
            let req = ScriptRequest {
                script: None,
                argv,
                timeout: self.test.timeout,
            };
            // The runner stops the script itself on cancel (its group and what
            // left it, after the grace period): dropping it here would leave them.
            let out = ctx.runner.run(req).await.map_err(CheckError::Script)?;
            if ctx.cancel.is_cancelled() {
                return Err(CheckError::Cancelled);
            }
            let passed = out.exit_code == Some(0);
            let title = self.test.title.as_deref().unwrap_or(&self.test.name);
            let said = [out.stderr.trim(), out.stdout.trim()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            Ok(CheckOutcome {
                passed,
                description: format!("examiner test {title}"),
                expected: "exit status 0".into(),
                actual: match out.exit_code {
                    Some(c) => format!("exit status {c}"),
                    None => "killed (timeout or signal)".into(),
                },
                message: (!passed && !said.is_empty()).then(|| super::predicate::cut(&said)),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(retries: Option<u32>) -> ExaminerTest {
        ExaminerTest {
            name: "t".into(),
            title: None,
            args: vec![],
            timeout: Duration::from_secs(15),
            retries,
            delay: Duration::from_secs(1),
        }
    }

    #[test]
    fn timing_from_retries() {
        let t = timing(&test(Some(2)));
        assert_eq!(t.within, Some(Duration::from_secs(48)));
        assert_eq!(t.interval, Some(Duration::from_secs(1)));
        assert_eq!(timing(&test(None)).within, Some(UNLIMITED_CAP));
        assert_eq!(timing(&test(Some(0))).within, Some(Duration::from_secs(16)));
    }
}
