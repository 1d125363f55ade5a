//! One file per subcommand: each turns validated arguments into work and an exit status.

pub(crate) mod board;
pub(crate) mod interactive;
pub(crate) mod job;
pub(crate) mod lint;
pub(crate) mod list;
pub(crate) mod report_merge;
pub(crate) mod run;
pub(crate) mod sandbox;
pub(crate) mod serve;
pub(crate) mod stderr_mode;
pub(crate) mod terminal_prose;
pub(crate) mod update_output;
pub(crate) mod users_from;

use std::path::PathBuf;

use crate::cli::values::VarArg;
use crate::diag::{self, Diagnostic};
use crate::lab::parse::ParseOptions;
use crate::lab::workshop::{self, Loaded};
use crate::vars::Sources;

/// Output settings decided at the edge.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    /// Colour stderr/stdout.
    pub color: bool,
    /// Live progress on stderr (a terminal that can redraw).
    pub live: bool,
    /// `--quiet`: only failures and the summary.
    pub quiet: bool,
    /// `--verbose`: every check, retries, where things were looked for.
    pub verbose: bool,
}

/// Loads every path; all diagnostics together.
pub(crate) fn load_all(paths: &[PathBuf], options: ParseOptions) -> (Vec<Loaded>, Vec<Diagnostic>) {
    let mut loaded = Vec::new();
    let mut diags = Vec::new();
    for p in paths {
        let mut l = workshop::load(p, options);
        diags.append(&mut l.diagnostics);
        loaded.push(l);
    }
    (loaded, diags)
}

/// Where variables come from for one student: `--var`, then `LABCTL_VAR_*`.
pub(crate) fn cli_sources(vars: &[VarArg]) -> Sources {
    Sources {
        cli: VarArg::collect(vars),
        env: Sources::env_vars(),
        ..Sources::default()
    }
}

/// Starts the sandbox for `run`, `serve` and `board`; a sandbox that cannot
/// start is the environment's fault (exit 3).
pub(crate) async fn start_sandbox(
    cfg: crate::sandbox::SandboxConfig,
) -> Result<crate::sandbox::Sandbox, crate::exit_code::Exit> {
    crate::sandbox::Sandbox::start(cfg).await.map_err(|e| {
        eprintln!("error: the sandbox could not start: {e}");
        crate::exit_code::Exit::Environment
    })
}

/// `--sandbox` of `run` and `serve`: a sandbox for one student, its
/// namespaces named after `names` (none: user1); `None` when not asked for.
pub(crate) async fn sandbox_if_asked(
    asked: bool,
    mesh_delay: std::time::Duration,
    names: Vec<String>,
) -> Result<Option<crate::sandbox::Sandbox>, crate::exit_code::Exit> {
    if !asked {
        return Ok(None);
    }
    let cfg = crate::sandbox::SandboxConfig {
        users: 1,
        mesh_delay,
        names,
        ..crate::sandbox::SandboxConfig::default()
    };
    start_sandbox(cfg).await.map(Some)
}

/// Prints the errors among `diags` and says whether there were any.
pub(crate) fn print_errors(diags: Vec<Diagnostic>, out: Output) -> bool {
    let errors: Vec<_> = diags
        .into_iter()
        .filter(|d| d.severity == crate::diag::Severity::Error)
        .collect();
    print_diagnostics(&errors, out);
    !errors.is_empty()
}

/// Prints diagnostics to stderr.
pub(crate) fn print_diagnostics(diags: &[Diagnostic], out: Output) {
    if !diags.is_empty() {
        eprint!("{}", diag::render(diags, out.color));
    }
}
