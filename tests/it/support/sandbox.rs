//! Helpers shared by the sandbox integration tests: a sandbox per test and real kubectl/bash.
#![allow(dead_code)]

use std::process::Output;
use std::time::Duration;

use labctl::sandbox::{Sandbox, SandboxConfig};

/// A sandbox with its own HOME, so kubectl's caches never mix between tests.
pub struct Env {
    pub sandbox: Sandbox,
    pub home: tempfile::TempDir,
}

pub async fn start(users: u32, mesh_delay: Duration) -> Env {
    start_with(SandboxConfig {
        users,
        mesh_delay,
        refuse: Vec::new(),
        ..Default::default()
    })
    .await
}

pub async fn start_with(cfg: SandboxConfig) -> Env {
    let sandbox = Sandbox::start(cfg).await.expect("sandbox starts");
    let home = tempfile::tempdir().expect("home dir");
    Env { sandbox, home }
}

impl Env {
    fn command(&self, program: &str) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(program);
        c.envs(self.sandbox.env())
            .env("HOME", self.home.path())
            .current_dir(self.home.path())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        c
    }

    /// Runs the real kubectl with the sandbox environment.
    pub async fn kubectl(&self, args: &[&str]) -> Output {
        tokio::time::timeout(
            Duration::from_secs(20),
            self.command("kubectl").args(args).output(),
        )
        .await
        .expect("kubectl finishes in time")
        .expect("kubectl runs")
    }

    /// Runs kubectl and returns stdout, failing the test with stderr if it exits non-zero.
    pub async fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a bash script with the sandbox environment.
    pub async fn bash(&self, script: &str) -> Output {
        tokio::time::timeout(
            Duration::from_secs(20),
            self.command("bash")
                .args(["--noprofile", "--norc", "-c", script])
                .output(),
        )
        .await
        .expect("script finishes in time")
        .expect("bash runs")
    }

    /// Writes `text` to a file in the test's HOME and returns its path.
    pub fn file(&self, name: &str, text: &str) -> String {
        let p = self.home.path().join(name);
        std::fs::write(&p, text).expect("write fixture");
        p.display().to_string()
    }

    /// Writes `text` to a file in the test's HOME, `kubectl apply -f`s it
    /// (failing the test if kubectl fails) and returns the file's path.
    pub async fn apply(&self, name: &str, text: &str) -> String {
        let f = self.file(name, text);
        self.kubectl_ok(&["apply", "-f", &f]).await;
        f
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
