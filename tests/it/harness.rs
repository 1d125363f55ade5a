//! One builder around the real binary: arguments, env, stdin; asserts on status and output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The folder of fixture workshops.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A labctl invocation.
pub struct Labctl {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

/// What an invocation produced.
pub struct Ran {
    /// Exit status (None when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Labctl {
    /// `labctl ARGS...` run in the fixtures folder.
    pub fn new(args: &[&str]) -> Labctl {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_labctl"));
        cmd.args(args)
            .current_dir(fixtures())
            .env("NO_COLOR", "1")
            .env_remove("LABCTL_VAR_username");
        Labctl { cmd, stdin: None }
    }

    /// Runs in another folder.
    pub fn dir(mut self, d: &Path) -> Labctl {
        self.cmd.current_dir(d);
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, k: &str, v: &str) -> Labctl {
        self.cmd.env(k, v);
        self
    }

    /// Removes an environment variable.
    pub fn unset(mut self, k: &str) -> Labctl {
        self.cmd.env_remove(k);
        self
    }

    /// Feeds stdin.
    pub fn stdin(mut self, s: &str) -> Labctl {
        self.stdin = Some(s.as_bytes().to_vec());
        self
    }

    /// Runs to completion.
    pub fn run(mut self) -> Ran {
        use std::io::Write;
        self.cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("labctl starts");
        if let Some(input) = self.stdin.take() {
            child
                .stdin
                .take()
                .expect("piped")
                .write_all(&input)
                .expect("stdin written");
        }
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().expect("labctl ends");
        Ran {
            code: status.code(),
            stdout: String::from_utf8_lossy(&stdout).into(),
            stderr: String::from_utf8_lossy(&stderr).into(),
        }
    }
}

impl Ran {
    /// Asserts the exit status, showing output when it differs.
    pub fn code(&self, expected: i32) -> &Ran {
        assert_eq!(
            self.code,
            Some(expected),
            "exit status\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}
