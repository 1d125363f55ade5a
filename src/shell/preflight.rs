//! Before anything runs: the shell and the working directory must be usable,
//! else the run stops with exit 3 (the environment is wrong), not with
//! every step failing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Why the shell or the working directory cannot serve.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PreflightError {
    /// `--workdir` is missing or not a directory.
    #[error("the working directory {0} does not exist or is not a directory (--workdir)")]
    Workdir(PathBuf),
    /// `--shell` names nothing that can be found.
    #[error("the shell `{0}` was not found (--shell: a path, or a name on PATH)")]
    ShellNotFound(PathBuf),
    /// The shell was found but does not run a trivial command.
    #[error("the shell {path} cannot run `exit 0`: {why} (--shell)")]
    ShellBroken {
        /// The resolved shell.
        path: PathBuf,
        /// What happened.
        why: String,
    },
}

/// How long the shell may take to run `exit 0`.
const PROBE_LIMIT: Duration = Duration::from_secs(10);

/// Checks that `workdir` is a directory and that `shell` starts and runs `exit 0`.
pub(crate) fn check(shell: &Path, workdir: &Path) -> Result<(), PreflightError> {
    if !workdir.is_dir() {
        return Err(PreflightError::Workdir(workdir.to_path_buf()));
    }
    let path = resolve(shell).ok_or_else(|| PreflightError::ShellNotFound(shell.to_path_buf()))?;
    let broken = |why: String| PreflightError::ShellBroken {
        path: path.clone(),
        why,
    };
    let mut child = Command::new(&path)
        .args(["-c", "exit 0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| broken(e.to_string()))?;
    let until = Instant::now() + PROBE_LIMIT;
    loop {
        match child.try_wait().map_err(|e| broken(e.to_string()))? {
            Some(s) if s.success() => return Ok(()),
            Some(s) => return Err(broken(format!("it ended with {s}"))),
            None if Instant::now() > until => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(broken(format!("no answer within {PROBE_LIMIT:?}")));
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// The file a shell name stands for: a path as given, or the first match on PATH.
fn resolve(shell: &Path) -> Option<PathBuf> {
    if shell.components().count() > 1 {
        return shell.is_file().then(|| shell.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(shell))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_missing_shells_and_workdirs() {
        let here = Path::new(".");
        assert!(check(Path::new("bash"), here).is_ok());
        assert!(matches!(
            check(Path::new("/nonexistent"), here),
            Err(PreflightError::ShellNotFound(_))
        ));
        let not_a_program = tempfile::NamedTempFile::new().unwrap();
        assert!(matches!(
            check(not_a_program.path(), here),
            Err(PreflightError::ShellBroken { .. })
        ));
        assert!(matches!(
            check(Path::new("false"), here),
            Err(PreflightError::ShellBroken { .. })
        ));
        assert!(matches!(
            check(Path::new("bash"), Path::new("/nonexistent")),
            Err(PreflightError::Workdir(_))
        ));
    }
}
