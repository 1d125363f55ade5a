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
    /// The page's `examiner:execute-test` block: script name, args, retries.
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

    /// The script's absolute path, inside the tests folder.
    pub fn script(&self) -> Result<PathBuf, ScriptPathError> {
        script_in(&self.root, &self.test.name)
    }
}

/// Why an examiner test name does not lead to a script that may run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptPathError {
    /// The name leaves `workshop/examiner/tests` (`..`, absolute, a symlink out).
    #[error(
        "examiner test `{name}` is outside {TESTS_DIR}: a test name must stay inside it (no `..`, no absolute path, no symlink out)"
    )]
    Escapes {
        /// The name as written.
        name: String,
    },
    /// No such script.
    #[error("examiner test script `{name}` does not exist")]
    Missing {
        /// The name as written.
        name: String,
        /// Where it was looked for.
        path: PathBuf,
    },
}

/// The workshop root of a lab page: the nearest folder above it holding
/// `workshop/examiner/tests`, as an absolute path (so the current directory
/// never matters).
pub fn root_of(lab_path: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(lab_path).ok()?;
    abs.ancestors()
        .skip(1)
        .find(|a| a.join(TESTS_DIR).is_dir())
        .map(Path::to_path_buf)
}

/// `root/workshop/examiner/tests/NAME`, made absolute, refused when the name
/// or a symlink leads out of the tests folder.
pub fn script_in(root: &Path, name: &str) -> Result<PathBuf, ScriptPathError> {
    let escapes = || ScriptPathError::Escapes {
        name: name.to_string(),
    };
    let rel = Path::new(name);
    let plain = rel
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if name.is_empty() || !plain {
        return Err(escapes());
    }
    let dir = std::path::absolute(root.join(TESTS_DIR)).unwrap_or_else(|_| root.join(TESTS_DIR));
    let path = dir.join(rel);
    let missing = || ScriptPathError::Missing {
        name: name.to_string(),
        path: path.clone(),
    };
    let (Ok(real), Ok(real_dir)) = (path.canonicalize(), dir.canonicalize()) else {
        return Err(missing());
    };
    if !real.starts_with(&real_dir) {
        return Err(escapes());
    }
    if !real.is_file() {
        return Err(missing());
    }
    Ok(path)
}

impl Check for ExaminerCheck<'_> {
    fn evaluate<'a>(&'a self, ctx: &'a CheckContext<'a>) -> Evaluation<'a> {
        Box::pin(async move {
            let script = match self.script() {
                Ok(p) => p,
                Err(ScriptPathError::Missing { path, .. }) => {
                    return Err(CheckError::ScriptNotFound(path));
                }
                Err(e) => return Err(CheckError::Script(e.to_string())),
            };
            let mut argv = vec![script.to_string_lossy().into_owned()];
            argv.extend(self.test.args.iter().cloned());
            let req = ScriptRequest {
                script: None,
                argv,
                timeout: self.test.timeout,
            };
            // The runner stops the script itself on cancel (its group and what
            // left it, after the grace period): dropping it here would leave them.
            let out = ctx.runner.run(req).await?;
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
    fn names_that_leave_the_tests_folder_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let tests = d.path().join(TESTS_DIR);
        std::fs::create_dir_all(&tests).unwrap();
        std::fs::write(tests.join("ok.sh"), "").unwrap();
        std::fs::write(d.path().join("evil.sh"), "").unwrap();
        std::os::unix::fs::symlink(d.path().join("evil.sh"), tests.join("link.sh")).unwrap();
        assert!(script_in(d.path(), "ok.sh").unwrap().is_absolute());
        for name in [
            "../../../evil.sh",
            "/etc/passwd",
            "link.sh",
            "",
            "a/../ok.sh",
        ] {
            assert!(
                matches!(
                    script_in(d.path(), name),
                    Err(ScriptPathError::Escapes { .. })
                ),
                "{name}"
            );
        }
        assert!(matches!(
            script_in(d.path(), "nope"),
            Err(ScriptPathError::Missing { .. })
        ));
        let lab = d.path().join("content/lab.md");
        assert_eq!(root_of(&lab).as_deref(), Some(d.path()));
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
