//! The lab model: what the parser produces and everything else reads.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::lab::check_spec::CheckSpec;

/// A place in a source file: 1-based line and column, byte offset and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Span {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// Byte offset in the file.
    pub offset: usize,
    /// Length in bytes (at least 1 for display).
    pub len: usize,
}

/// A folder or a file of labs, in the order they run.
#[derive(Debug, Clone)]
pub struct Workshop {
    /// The path the user gave.
    pub root: PathBuf,
    /// Labs in run order.
    pub labs: Vec<Lab>,
    /// `[preprocessor.labctl.vars]` from book.toml (lowest precedence).
    pub book_vars: BTreeMap<String, String>,
}

impl Workshop {
    /// Where commands run unless --workdir says otherwise: the workshop folder,
    /// or the folder of a single lab file (so `-f ./manifests/...` resolves beside the labs).
    pub fn default_workdir(&self) -> PathBuf {
        let dir = if self.root.is_dir() {
            self.root.clone()
        } else {
            self.root
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default()
        };
        if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        }
    }
}

/// One markdown page.
#[derive(Debug, Clone)]
pub struct Lab {
    /// Path as shown to the user.
    pub path: PathBuf,
    /// File stem, used in default step ids.
    pub stem: String,
    /// Front matter `title`, else the first heading, else the stem.
    pub title: String,
    /// labctl's own front-matter keys.
    pub settings: LabSettings,
    /// Checks from a `verify` block before the first step.
    pub preconditions: Vec<CheckSpec>,
    /// Steps in page order.
    pub steps: Vec<std::sync::Arc<Step>>,
    /// Images the page shows: link target and where.
    pub images: Vec<(String, Span)>,
    /// The page's bytes (needed for --update-output and the mdBook renderer).
    pub source: String,
}

/// Front matter under `labctl:`.
#[derive(Debug, Clone, Default)]
pub struct LabSettings {
    /// Default variable values.
    pub vars: BTreeMap<String, String>,
    /// Default step timeout.
    pub timeout: Option<Duration>,
    /// How documented output is compared.
    pub output: OutputPolicy,
    /// Script run before the first step.
    pub setup: Option<String>,
    /// Script run after the last step, also after a failure.
    pub cleanup: Option<String>,
}

/// Front matter `output:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputPolicy {
    /// Drift is a warning.
    #[default]
    Similar,
    /// Drift is a failure.
    Strict,
    /// Documented output is not compared.
    Ignore,
}

/// What a step does when run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// A shell command in a terminal.
    Execute,
    /// An Educates examiner test: runs a script until it exits 0.
    Check,
    /// Stops the background command of a terminal (Ctrl-C).
    Interrupt,
    /// Shown to the student, not run (copy, editor, dashboard...).
    Manual,
}

/// What a check looks at: the word a `verify` item starts with, and the `kind` reports show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// `exit:` the step's exit status.
    Exit,
    /// `stdout:` the step's standard output.
    Stdout,
    /// `stderr:` the step's standard error.
    Stderr,
    /// `json:` a JSONPath over the step's stdout.
    Json,
    /// `http:` a request labctl makes.
    Http,
    /// `kube:` a Kubernetes object.
    Kube,
    /// `command:` a read-only shell command.
    Command,
}

impl CheckKind {
    /// Every kind, in the order a check's leading key is looked for: state checks first,
    /// since `command:` may carry `exit`/`stdout`, and `http:`/`kube:` carry `json`.
    pub const BY_PRECEDENCE: [CheckKind; 7] = [
        CheckKind::Http,
        CheckKind::Kube,
        CheckKind::Command,
        CheckKind::Exit,
        CheckKind::Stdout,
        CheckKind::Stderr,
        CheckKind::Json,
    ];

    /// The name as written in a `verify` block and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Exit => "exit",
            CheckKind::Stdout => "stdout",
            CheckKind::Stderr => "stderr",
            CheckKind::Json => "json",
            CheckKind::Http => "http",
            CheckKind::Kube => "kube",
            CheckKind::Command => "command",
        }
    }

    /// State checks ask the world and can run alone; output checks judge a step's try.
    pub fn is_state(self) -> bool {
        matches!(self, CheckKind::Http | CheckKind::Kube | CheckKind::Command)
    }
}

impl std::fmt::Display for CheckKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which terminal a step runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalSel {
    /// Terminal N (1-based).
    One(u32),
    /// Every terminal opened so far (at least 1).
    All,
    /// Not run in a terminal (checks, manual steps).
    None,
}

/// The expected exit status of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedExit {
    /// Exactly this code.
    Code(i32),
    /// Any code.
    Any,
    /// Any code but 0.
    Nonzero,
}

impl ExpectedExit {
    /// True when `code` satisfies the expectation.
    pub fn accepts(self, code: i32) -> bool {
        match self {
            ExpectedExit::Code(c) => c == code,
            ExpectedExit::Any => true,
            ExpectedExit::Nonzero => code != 0,
        }
    }
}

impl std::fmt::Display for ExpectedExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectedExit::Code(c) => write!(f, "{c}"),
            ExpectedExit::Any => f.write_str("any"),
            ExpectedExit::Nonzero => f.write_str("nonzero"),
        }
    }
}

/// Retry timing shared by steps and checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    /// Retry until this long has passed.
    pub within: Option<Duration>,
    /// Pause between tries (default 1s).
    pub interval: Option<Duration>,
    /// Must keep holding this long.
    pub hold: Option<Duration>,
}

/// An Educates examiner test invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct ExaminerTest {
    /// Script name under workshop/examiner/tests/.
    pub name: String,
    /// Title shown to the student.
    pub title: Option<String>,
    /// Arguments passed to the script.
    pub args: Vec<String>,
    /// Seconds per try (default 15).
    pub timeout: Duration,
    /// Extra tries; None is unlimited.
    pub retries: Option<u32>,
    /// Pause between tries (default 1s).
    pub delay: Duration,
}

/// A step: one executable (or manual) fence.
#[derive(Debug, Clone)]
pub struct Step {
    /// `name`, else `<lab-stem>:<n>`.
    pub id: String,
    /// The `name` attribute when given.
    pub name: Option<String>,
    /// Span of the opening fence line.
    pub span: Span,
    /// The fence's info word (e.g. `execute-2`, `terminal:execute`).
    pub info: String,
    /// What running it does.
    pub kind: StepKind,
    /// Where it runs.
    pub terminal: TerminalSel,
    /// The shell script, variables not yet filled.
    pub body: String,
    /// Byte range of the fence body in the page.
    pub body_span: std::ops::Range<usize>,
    /// Starts and does not wait.
    pub background: bool,
    /// Background was inferred from the body, not declared.
    pub background_auto: bool,
    /// Per-step timeout.
    pub timeout: Option<Duration>,
    /// Step-level retry timing.
    pub timing: Timing,
    /// Expected exit status.
    pub exit: ExpectedExit,
    /// Shown, not run, with the reason.
    pub skip: Option<String>,
    /// Checks from the `verify` block(s) after it.
    pub checks: Vec<CheckSpec>,
    /// The expected output fence after it.
    pub expected: Option<ExpectedOutput>,
    /// Examiner test details for `examiner:execute-test`.
    pub examiner: Option<ExaminerTest>,
    /// Markdown prose between the previous step and this one.
    pub prose: String,
}

/// How an expected output fence is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputMode {
    /// A hard check (```output).
    Strict,
    /// Documented output compared loosely; drift is a warning.
    Similar,
}

/// Which stream an output fence describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// Both, stdout then stderr.
    Both,
}

/// The expected output fence of a step.
#[derive(Debug, Clone)]
pub struct ExpectedOutput {
    /// Span of the opening fence line.
    pub span: Span,
    /// Strict or similar.
    pub mode: OutputMode,
    /// Which stream the fence documents (`stream=`, default stdout).
    pub stream: OutputStream,
    /// Fence body, variables not yet filled.
    pub text: String,
    /// Byte range of the body in the page (rewritten by --update-output).
    pub body_span: std::ops::Range<usize>,
}
