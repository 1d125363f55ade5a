//! The one builder around the real binary: arguments, folder, env, stdin; run
//! and capture, or spawn for a test that signals it; asserts on status and output.
//! Every invocation starts without colour and without the test process's own
//! `LABCTL_*` variables, so what the caller's shell exports never changes a test.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The repository root (book.toml, labs/).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder of fixture workshops.
pub fn fixtures() -> PathBuf {
    repo().join("tests/fixtures")
}

/// The path of the binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_labctl")
}

/// A labctl invocation, started in the fixtures folder unless [`Labctl::dir`] says otherwise.
pub struct Labctl {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

/// What a finished invocation produced.
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
        let mut cmd = Command::new(binary());
        cmd.args(args).current_dir(fixtures()).env("NO_COLOR", "1");
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("LABCTL_") {
                cmd.env_remove(k);
            }
        }
        Labctl { cmd, stdin: None }
    }

    /// `labctl ARGS...` run in the repository root (the labs/ workshop).
    pub fn in_repo(args: &[&str]) -> Labctl {
        Labctl::new(args).dir(&repo())
    }

    /// `labctl run LAB --sandbox --mesh-delay 1s` in the repository root: a
    /// lab on the embedded sandbox, its mesh changes taking effect after 1 s.
    pub fn run_on_sandbox(lab: impl AsRef<std::ffi::OsStr>) -> Labctl {
        Labctl::in_repo(&["run"])
            .arg(lab)
            .args(["--sandbox", "--mesh-delay", "1s"])
    }

    /// Appends an argument.
    pub fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> Labctl {
        self.cmd.arg(a);
        self
    }

    /// Appends arguments.
    pub fn args<S: AsRef<std::ffi::OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Labctl {
        self.cmd.args(args);
        self
    }

    /// Runs in another folder.
    pub fn dir(mut self, d: &Path) -> Labctl {
        self.cmd.current_dir(d);
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Labctl {
        self.cmd.env(k, v);
        self
    }

    /// Removes an environment variable.
    pub fn unset(mut self, k: &str) -> Labctl {
        self.cmd.env_remove(k);
        self
    }

    /// Feeds stdin (closed otherwise).
    pub fn stdin(self, s: &str) -> Labctl {
        self.stdin_bytes(s.as_bytes())
    }

    /// Feeds stdin bytes (closed otherwise).
    pub fn stdin_bytes(mut self, b: &[u8]) -> Labctl {
        self.stdin = Some(b.to_vec());
        self
    }

    /// Runs to completion, capturing stdout and stderr.
    pub fn run(self) -> Ran {
        Ran::from(self.output())
    }

    /// Runs to completion; the raw output, for a test that reads bytes.
    pub fn output(self) -> Output {
        self.piped(true, true)
            .wait_with_output()
            .expect("labctl ends")
    }

    /// Starts it with stdout and stderr piped (and stdin written, if given),
    /// for a test that reads it as it runs or signals it.
    pub fn spawn(self) -> Child {
        self.piped(true, true)
    }

    /// Starts it with stdout and stderr discarded.
    pub fn spawn_quiet(self) -> Child {
        self.piped(false, false)
    }

    /// Starts it with stdout discarded and stderr piped, for a test that reads
    /// only what it says on stderr (stdout unread would fill its pipe).
    pub fn spawn_stderr(self) -> Child {
        self.piped(false, true)
    }

    fn piped(mut self, stdout: bool, stderr: bool) -> Child {
        let pipe = |on: bool| if on { Stdio::piped() } else { Stdio::null() };
        self.cmd
            .stdin(pipe(self.stdin.is_some()))
            .stdout(pipe(stdout))
            .stderr(pipe(stderr));
        let mut child = self.cmd.spawn().expect("labctl starts");
        if let Some(input) = self.stdin.take() {
            // Dropped at the end of this statement: labctl sees end of input.
            child
                .stdin
                .take()
                .expect("piped")
                .write_all(&input)
                .expect("stdin written");
        }
        child
    }
}

impl From<Output> for Ran {
    fn from(out: Output) -> Ran {
        Ran {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
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

    /// Asserts stdout contains `text`, showing it when not.
    pub fn stdout_has(&self, text: &str) -> &Ran {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.stdout
        );
        self
    }

    /// Asserts stderr contains `text`, showing it when not.
    pub fn stderr_has(&self, text: &str) -> &Ran {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
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
