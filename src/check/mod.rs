//! Checks: judge a step's try (exit, stdout, stderr, json) or ask the world (http,
//! command, kube). "Failed" (`CheckOutcome{passed: false}`) and "could not be
//! evaluated" (`CheckError`) are different results. `evaluate` never waits; waiting
//! goes through `Check::evaluate_within`, whose only polling loop is `retry::eventually`
//! (kube checks wait on a watch instead, and fall back to that loop).

pub(crate) mod command;
pub mod examiner;
pub(crate) mod exit;
pub(crate) mod http;
pub(crate) mod json;
pub mod kube;
pub mod output;
pub(crate) mod predicate;
pub mod retry;
pub(crate) mod text;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use crate::cancel::Cancel;
use crate::lab::check_spec::Assertion;
use crate::lab::model::Timing;

/// An error with its causes, as one line (a cause already in the text is not repeated).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let c_text = c.to_string();
        if !s.contains(&c_text) {
            s.push_str(": ");
            s.push_str(&c_text);
        }
        src = c.source();
    }
    s
}

/// What one try of a step produced (text already cleaned: `\r` applied, ANSI stripped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TryOutput {
    /// Exit status; None when the process was killed by a signal.
    pub exit_code: Option<i32>,
    /// Captured standard output.
    pub stdout: String,
    /// Captured standard error.
    pub stderr: String,
}

/// Everything a check may look at.
pub struct CheckContext<'a> {
    /// The step's last try, for output checks.
    pub output: Option<&'a TryOutput>,
    /// The step environment (HTTP(S)_PROXY, NO_PROXY, KUBECONFIG...), not the process env.
    pub env: &'a [(String, String)],
    /// Working directory for scripts.
    pub workdir: &'a Path,
    /// Runs `command:` checks and examiner tests.
    pub runner: &'a dyn ScriptRunner,
    /// Stops evaluation early.
    pub cancel: &'a Cancel,
    /// Cluster options and the run's connections for `kube:` checks (None: standard
    /// kubeconfig resolution with a process-wide cache).
    pub kube: Option<&'a kube::KubeOptions>,
}

impl CheckContext<'_> {
    /// The value of `key` in the step environment (last definition wins).
    pub fn env_var(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Runs scripts for `command:` checks and examiner tests; the engine supplies one built
/// on the shell module (own process group, timeout, bounded capture).
pub trait ScriptRunner: Send + Sync {
    /// Runs one script; `Err` when it could not be started or ran out of time.
    fn run<'a>(
        &'a self,
        req: ScriptRequest,
    ) -> Pin<Box<dyn Future<Output = Result<TryOutput, ScriptError>> + Send + 'a>>;
}

/// Why a script gave no output to judge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// It could not be started (the runner's own words).
    #[error("{0}")]
    Start(String),
    /// It ran past its timeout and was killed.
    #[error("timed out after {}", humantime::format_duration(*.0))]
    TimedOut(Duration),
}

/// A script to run: `script` through `bash -c`, else `argv` executed directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRequest {
    /// Run through `bash -c`.
    pub script: Option<String>,
    /// Executed directly (no shell) when `script` is None.
    pub argv: Vec<String>,
    /// Kill it after this long.
    pub timeout: Duration,
}

/// The verdict of one evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    /// The check held.
    pub passed: bool,
    /// What was checked, one line.
    pub description: String,
    /// What was expected (of the first failing operator, or all of them on a pass).
    pub expected: String,
    /// What was found.
    pub actual: String,
    /// More detail: a unified diff, the nodes a JSONPath found...
    pub message: Option<String>,
}

/// A check that could not be evaluated (as opposed to one that failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// An output check with no step output to judge.
    #[error("this check judges a step's output, but there is no output to judge")]
    NoOutput,
    /// The text is not JSON.
    #[error("{what} is not JSON ({error}): {excerpt}")]
    NotJson {
        /// Which text (stdout, the response body).
        what: String,
        /// The parser's complaint.
        error: String,
        /// The start of the text.
        excerpt: String,
    },
    /// The text was longer than the capture keeps, so its middle is missing.
    #[error(
        "{what} is larger than labctl keeps ({omitted} bytes were dropped between the first and last {cap} bytes), so it cannot be read as JSON; have the command print less (select with jq, head or tail)"
    )]
    TooLargeForJson {
        /// Which text (stdout, the response body).
        what: String,
        /// Bytes dropped.
        omitted: u64,
        /// Bytes kept at each end.
        cap: usize,
    },
    /// A value operator was given a JSONPath that selects several nodes.
    #[error(
        "`{path}` selects {count} nodes, but `{op}` needs exactly one: {nodes}; say which must hold with each: {{...}}, any: {{...}} or none: {{...}}"
    )]
    SeveralNodes {
        /// The JSONPath.
        path: String,
        /// The operator.
        op: String,
        /// How many nodes.
        count: usize,
        /// The nodes, `path = value`.
        nodes: String,
    },
    /// The JSONPath could not be applied.
    #[error("JSONPath `{path}` failed: {error}")]
    JsonPath {
        /// The JSONPath.
        path: String,
        /// Why.
        error: String,
    },
    /// The HTTP request could not be made (connect error, timeout, bad URL, bad proxy).
    #[error("HTTP {method} {url} failed: {error}")]
    Http {
        /// As the page wrote it (`GET` by default).
        method: String,
        /// The URL requested, variables filled in.
        url: String,
        /// Why, with its causes.
        error: String,
    },
    /// The script could not be started.
    #[error("the script could not be run: {0}")]
    Script(String),
    /// The examiner test script does not exist.
    #[error("examiner test {0} does not exist")]
    ScriptNotFound(PathBuf),
    /// A `kube:` check could not ask the API (no kubeconfig, unknown kind, 403, unreachable).
    #[error("{0}")]
    Kube(String),
    /// The run was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl From<ScriptError> for CheckError {
    fn from(e: ScriptError) -> CheckError {
        CheckError::Script(e.to_string())
    }
}

/// A boxed evaluation future.
pub type Evaluation<'a> =
    Pin<Box<dyn Future<Output = Result<CheckOutcome, CheckError>> + Send + 'a>>;

/// A boxed evaluation over time (`within`, `hold`).
pub type Waiting<'a> = Pin<Box<dyn Future<Output = retry::Eventually> + Send + 'a>>;

/// A check of any kind.
pub trait Check: Send + Sync {
    /// Evaluates the check once; never waits for anything but the evaluation itself.
    fn evaluate<'a>(&'a self, ctx: &'a CheckContext<'a>) -> Evaluation<'a>;

    /// Evaluates until it holds within `timing` (one try without `within`): by default
    /// `retry::eventually` over `evaluate`; a kind that can be told of changes (kube
    /// watches) overrides it to pass the moment the check holds.
    fn evaluate_within<'a>(&'a self, ctx: &'a CheckContext<'a>, timing: &'a Timing) -> Waiting<'a> {
        Box::pin(retry::eventually(timing, ctx.cancel, move || {
            self.evaluate(ctx)
        }))
    }
}

/// The check that evaluates `kind`.
pub fn for_spec(kind: &Assertion) -> Box<dyn Check + Send + Sync + '_> {
    match kind {
        Assertion::Exit(e) => Box::new(exit::ExitCheck(*e)),
        Assertion::Text { stream, preds } => Box::new(text::TextCheck {
            stream: *stream,
            preds,
        }),
        Assertion::Json(j) => Box::new(json::JsonCheck(j)),
        Assertion::Http(h) => Box::new(http::HttpChecker(h)),
        Assertion::Command(c) => Box::new(command::CommandChecker(c)),
        Assertion::Kube(k) => Box::new(kube::KubeChecker(k)),
    }
}

/// Gathers operator verdicts into one outcome: passes when all hold; reports the first failure.
pub(crate) fn outcome(description: String, verdicts: Vec<predicate::Verdict>) -> CheckOutcome {
    match verdicts.iter().find(|v| !v.ok) {
        Some(f) => CheckOutcome {
            passed: false,
            description,
            expected: f.expected.clone(),
            actual: f.actual.clone(),
            message: f.note.clone(),
        },
        None => CheckOutcome {
            passed: true,
            description,
            expected: verdicts
                .iter()
                .map(|v| v.expected.as_str())
                .collect::<Vec<_>>()
                .join(" and "),
            actual: verdicts
                .first()
                .map(|v| v.actual.clone())
                .unwrap_or_default(),
            message: None,
        },
    }
}
