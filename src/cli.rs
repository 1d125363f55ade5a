//! Command-line definitions (clap derive). Wiring only: no behaviour lives here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(crate) mod values;

use crate::lab::check_spec::parse_duration_str as duration;
use crate::report::{ReportTarget, parse_target};
use values::{UserList, VarArg, listen_addr, nonzero_duration, users};

/// Runs and verifies hands-on workshop labs written in markdown.
#[derive(Debug, Parser)]
#[command(name = "labctl", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    /// When to colour output (NO_COLOR is honoured by `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only failures and the summary.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more: every check, retries, where things were looked for.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--color`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// `--format` of list and lint.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub(crate) enum Format {
    /// Readable text.
    #[default]
    Text,
    /// Machine-readable JSON (shapes in cli.md).
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show the labs, steps and checks labctl would run, in order.
    List(WorkshopArgs),
    /// Check labs for mistakes without running anything.
    Lint(WorkshopArgs),
    /// Run every step the way a student would and verify the outcome.
    #[command(mut_arg("no_wait", |a| a.hide(true)))]
    Run(RunArgs),
    /// Check your work: judge the state checks (http, kube, command) of each step and
    /// say what to do next; runs no step.
    #[command(
        mut_arg("interactive", |a| a.hide(true)),
        mut_arg("update_output", |a| a.hide(true)),
        mut_arg("keep_going", |a| a.hide(true)),
        mut_arg("strict_output", |a| a.hide(true)),
        mut_arg("strict_checks", |a| a.hide(true)),
        mut_arg("dry_run", |a| a.hide(true)),
        mut_arg("timeout", |a| a.hide(true))
    )]
    Check(RunArgs),
    /// A live board of every user's progress from their state checks; runs no step.
    Board(BoardArgs),
    /// Start the embedded cluster and mesh, print its environment or run a command in it.
    Sandbox(SandboxArgs),
    /// Print Kubernetes manifests that run the workshop for every user in the cluster.
    Job(JobArgs),
    /// Work with reports of earlier runs.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Act as an mdBook preprocessor (reads the book on stdin).
    Mdbook(MdbookArgs),
    /// Serve the workshop in the browser: each lab beside real terminals, with Run and Check.
    Serve(ServeArgs),
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// Arguments of `list` and `lint`: what to read, and how to print it.
#[derive(Debug, Args)]
pub(crate) struct WorkshopArgs {
    /// Lab files or workshop folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Set a variable (repeatable).
    #[arg(long = "var", value_name = "K=V", value_parser = VarArg::parse)]
    pub vars: Vec<VarArg>,
    /// Read `sh`/`bash`/`shell` fences as steps even without an `exec` attribute.
    #[arg(long)]
    pub shell_blocks: bool,
}

/// Arguments of `run` and `check`.
#[derive(Debug, Args, Clone)]
pub(crate) struct RunArgs {
    /// Lab files or workshop folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Set a variable (repeatable).
    #[arg(long = "var", value_name = "K=V", value_parser = VarArg::parse)]
    pub vars: Vec<VarArg>,
    /// Run for these users: user1..user40, 1..40, alice,bob or @FILE.
    #[arg(long, value_name = "SPEC", conflicts_with = "users_from", value_parser = users)]
    pub users: Option<UserList>,
    /// Run for the users of an earlier run's JSON report (with their variables).
    #[arg(long, value_name = "REPORT.json")]
    pub users_from: Option<PathBuf>,
    /// With --users-from: only the users that failed there (their whole labs).
    #[arg(long, requires = "users_from")]
    pub failed: bool,
    /// Users run at once.
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 1)]
    pub jobs: usize,
    /// Start at this step (id, 1-based index or FILE:LINE).
    #[arg(long, value_name = "STEP")]
    pub from: Option<String>,
    /// Stop after this step.
    #[arg(long, value_name = "STEP")]
    pub to: Option<String>,
    /// Run only this step (repeatable).
    #[arg(long, value_name = "STEP")]
    pub only: Vec<String>,
    /// Go on after a failed step instead of skipping the rest of the lab.
    #[arg(long)]
    pub keep_going: bool,
    /// Show the prose and command of each step and ask before running it.
    #[arg(long)]
    pub interactive: bool,
    /// Print the plan with variables filled; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Default step timeout (e.g. 30s, 2m).
    #[arg(long, value_name = "DUR", value_parser = duration)]
    pub timeout: Option<Duration>,
    /// Working directory of the terminals (default: the workshop folder).
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// Shell of the terminals.
    #[arg(long, value_name = "PATH", default_value = "bash")]
    pub shell: PathBuf,
    /// Write a report: junit=FILE, json=FILE, html=FILE, tap=FILE, or github
    /// (annotations and job summary; on by itself under GITHUB_ACTIONS=true). Repeatable.
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_target)]
    pub reports: Vec<ReportTarget>,
    /// Start the embedded sandbox cluster and mesh for this run.
    #[arg(long)]
    pub sandbox: bool,
    /// Sandbox: delay before mesh changes take effect.
    #[arg(long, value_name = "DUR", default_value = "2s", value_parser = duration)]
    pub mesh_delay: Duration,
    /// Rewrite expected-output fences with what the commands printed.
    #[arg(long)]
    pub update_output: bool,
    /// Documented-output drift fails the step.
    #[arg(long)]
    pub strict_output: bool,
    /// A state check that already holds before its step fails the step.
    #[arg(long)]
    pub strict_checks: bool,
    /// Redact this variable's or environment variable's value everywhere (repeatable).
    #[arg(long = "secret", value_name = "NAME")]
    pub secrets: Vec<String>,
    /// Accept variable values outside the safe character set.
    #[arg(long)]
    pub allow_unsafe_vars: bool,
    /// Run `sh`/`bash`/`shell` fences even without an `exec` attribute.
    #[arg(long)]
    pub shell_blocks: bool,
    /// `check`: try each state check once instead of waiting its `within`.
    #[arg(long)]
    pub no_wait: bool,
    /// Kubeconfig for kube checks.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context for kube checks.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// Arguments of `board`.
#[derive(Debug, Args, Clone)]
pub(crate) struct BoardArgs {
    /// Lab files or workshop folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Watch these users: user1..user40, 1..40, alice,bob or @FILE.
    #[arg(long, value_name = "SPEC", value_parser = users)]
    pub users: UserList,
    /// Checks running at once (a kube watch counts until its first answer).
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 10)]
    pub jobs: usize,
    /// Time between two polls of an http or command check (kube checks are watched).
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = nonzero_duration)]
    pub interval: Duration,
    /// A user with no progress for this long is stuck.
    #[arg(long, value_name = "DUR", default_value = "10m", value_parser = nonzero_duration)]
    pub stuck: Duration,
    /// Write the board at exit: junit=FILE, json=FILE or html=FILE (repeatable).
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_target)]
    pub reports: Vec<ReportTarget>,
    /// Write a JSON snapshot into DIR after every change (and on `s` or SIGUSR1).
    #[arg(long, value_name = "DIR")]
    pub snapshot_dir: Option<PathBuf>,
    /// Start the embedded sandbox cluster and mesh, seeded with the users.
    #[arg(long)]
    pub sandbox: bool,
    /// Sandbox: delay before mesh changes take effect.
    #[arg(long, value_name = "DUR", default_value = "2s", value_parser = duration)]
    pub mesh_delay: Duration,
    /// Set a variable (repeatable).
    #[arg(long = "var", value_name = "K=V", value_parser = VarArg::parse)]
    pub vars: Vec<VarArg>,
    /// Accept variable values outside the safe character set.
    #[arg(long)]
    pub allow_unsafe_vars: bool,
    /// Also serve the board as a web page (its URL, with the access token, is printed).
    #[arg(long)]
    pub web: bool,
    /// With --web: the port to listen on (0: a free port).
    #[arg(long, value_name = "N", default_value_t = 0, requires = "web")]
    pub port: u16,
    /// With --web: the address to listen on.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1",
        requires = "web"
    )]
    pub bind: std::net::IpAddr,
    /// Kubeconfig for kube checks.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context for kube checks.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// Arguments of `sandbox`.
#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// Users to seed (user1..userN).
    #[arg(long, default_value_t = 50)]
    pub users: u32,
    /// Delay before mesh changes take effect.
    #[arg(long, value_name = "DUR", default_value = "2s", value_parser = duration)]
    pub mesh_delay: Duration,
    /// Start the sandbox in the background and print its environment as `export` lines
    /// (the same as `labctl sandbox start`).
    #[arg(long)]
    pub print_env: bool,
    /// The workshop folder the command (or shell) starts in (default: the source
    /// folder of the book around the current folder, else the current folder).
    #[arg(long, value_name = "DIR")]
    pub workshop: Option<PathBuf>,
    /// What to do besides running a command.
    #[command(subcommand)]
    pub action: Option<SandboxAction>,
    /// A command to run inside the sandbox's environment.
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// `labctl sandbox shell|start|stop|status`.
#[derive(Debug, Subcommand)]
pub(crate) enum SandboxAction {
    /// Your login shell ($SHELL, else bash) inside the sandbox, with a banner.
    Shell {
        /// The workshop folder the shell starts in.
        #[arg(long, value_name = "DIR")]
        workshop: Option<PathBuf>,
    },
    /// Start it in the background; prints `export` lines: eval "$(labctl sandbox start)".
    Start {
        /// The workshop folder (for the banner's `labctl check`).
        #[arg(long, value_name = "DIR")]
        workshop: Option<PathBuf>,
    },
    /// Stop the sandbox `start` left running.
    Stop,
    /// Whether a background sandbox runs, and where.
    Status,
    /// The background sandbox itself (started by `start`).
    #[command(hide = true)]
    Serve {
        /// Where to write the state file once serving.
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
    },
}

/// Arguments of `job`.
#[derive(Debug, Args)]
pub(crate) struct JobArgs {
    /// The workshop folder (or one lab file).
    pub path: PathBuf,
    /// Users, one pod each: user1..user40, 1..40, alice,bob or @FILE.
    #[arg(long, value_name = "SPEC", value_parser = users)]
    pub users: UserList,
    /// Container image with labctl and the labs' tools (see Containerfile).
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// Pods running at once.
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 10)]
    pub jobs: usize,
    /// Namespace of the objects (default: kubectl's).
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Name of the Job (the ConfigMap is NAME-workshop).
    #[arg(long, value_name = "NAME", default_value = "labctl")]
    pub name: String,
    /// Mount this existing ConfigMap as the workshop (its keys are the file names).
    #[arg(long, value_name = "NAME", conflicts_with = "volume_source")]
    pub configmap: Option<String>,
    /// Mount this volume source as the workshop, as JSON, e.g.
    /// '{"persistentVolumeClaim": {"claimName": "labs"}}'.
    #[arg(long, value_name = "JSON")]
    pub volume_source: Option<String>,
    /// More arguments for `labctl run` in each pod (e.g. -- --var k=v).
    #[arg(last = true)]
    pub run_args: Vec<String>,
}

/// `labctl report ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ReportCommand {
    /// Merge JSON reports (or pod logs ending in one) of separate runs into one report.
    Merge(ReportMergeArgs),
}

/// Arguments of `report merge`.
#[derive(Debug, Args)]
pub(crate) struct ReportMergeArgs {
    /// JSON reports, or logs whose report starts at a line beginning with `{`.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write the merged report: junit=FILE, json=FILE, html=FILE, tap=FILE or
    /// github (repeatable; none prints the merged JSON).
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_target)]
    pub reports: Vec<ReportTarget>,
}

/// Arguments of `mdbook`.
#[derive(Debug, Args)]
pub(crate) struct MdbookArgs {
    /// `supports RENDERER` asks whether a renderer is supported.
    pub args: Vec<String>,
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The workshop folder (or one lab file).
    pub path: PathBuf,
    /// Start the embedded sandbox cluster and mesh for the terminals and checks.
    #[arg(long)]
    pub sandbox: bool,
    /// Set a variable (repeatable).
    #[arg(long = "var", value_name = "K=V", value_parser = VarArg::parse)]
    pub vars: Vec<VarArg>,
    /// Address to listen on (port 0: a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0", value_parser = listen_addr)]
    pub listen: SocketAddr,
    /// Open the page in the browser.
    #[arg(long)]
    pub open: bool,
    /// Working directory of the terminals and of the progress file (default: the workshop folder).
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// Shell of the terminals.
    #[arg(long, value_name = "PATH", default_value = "bash")]
    pub shell: PathBuf,
    /// Sandbox: delay before mesh changes take effect.
    #[arg(long, value_name = "DUR", default_value = "2s", value_parser = duration)]
    pub mesh_delay: Duration,
    /// How long Run waits for a command to finish.
    #[arg(long, value_name = "DUR", default_value = "10m", value_parser = duration)]
    pub timeout: Duration,
    /// Kubeconfig for kube checks.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context for kube checks.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}
