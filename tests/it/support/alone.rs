//! One test in a test process of its own, for the few that change or read what
//! is process-wide: the environment, or the peak memory of all children. The
//! test runs this binary again filtered to itself; in that process the body runs.

use std::process::Command;

/// Marks the process started for one test (a `LABCTL_` name, so the labctl
/// builder never passes it on).
const ALONE: &str = "LABCTL_TEST_ALONE";

/// True in the process started for `test` (module path inside this binary,
/// such as `flood::name`): the caller then runs its body. Anywhere else, runs
/// `test` alone with `env` changed (None removes a variable), asserts that it
/// ran and passed, and returns false.
pub fn alone(test: &str, env: &[(&str, Option<&str>)]) -> bool {
    if std::env::var(ALONE).is_ok_and(|t| t == test) {
        return true;
    }
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary's path"));
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ALONE, test);
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().expect("the test binary starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test}, alone in its process, did not pass ({:?}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    // What the test said (shown with --nocapture, as if it had run here).
    eprint!("{stderr}");
    false
}
