//! One file per subcommand: each turns validated arguments into work and an exit status.

pub mod board;
pub mod interactive;
pub mod job;
pub mod lint;
pub mod list;
pub mod report_merge;
pub mod run;
pub mod sandbox;
pub mod serve;
pub mod stderr_mode;
pub mod terminal_prose;
pub mod update_output;
pub mod users_from;

use std::path::PathBuf;

use crate::diag::{self, Diagnostic};
use crate::lab::parse::ParseOptions;
use crate::lab::workshop::{self, Loaded};
use crate::vars::Vars;

/// Output settings decided at the edge.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Colour stderr/stdout.
    pub color: bool,
    /// Live progress on stderr (a terminal that can redraw).
    pub live: bool,
    /// Print less.
    pub quiet: bool,
    /// Print more.
    pub verbose: bool,
}

/// Loads every path; all diagnostics together.
pub fn load_all(paths: &[PathBuf], options: ParseOptions) -> (Vec<Loaded>, Vec<Diagnostic>) {
    let mut loaded = Vec::new();
    let mut diags = Vec::new();
    for p in paths {
        let mut l = workshop::load(p, options);
        diags.append(&mut l.diagnostics);
        loaded.push(l);
    }
    (loaded, diags)
}

/// Parses `--var K=V` arguments.
pub fn parse_var_args(args: &[String]) -> Result<Vars, String> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("--var `{a}` must be NAME=VALUE"))
        })
        .collect()
}

/// Starts the sandbox for `run`, `serve` and `board`; a sandbox that cannot
/// start is the environment's fault (exit 3).
pub async fn start_sandbox(
    cfg: crate::sandbox::SandboxConfig,
) -> Result<crate::sandbox::Sandbox, crate::exit_code::Exit> {
    crate::sandbox::Sandbox::start(cfg).await.map_err(|e| {
        eprintln!("error: the sandbox could not start: {e}");
        crate::exit_code::Exit::Environment
    })
}

/// Prints the errors among `diags` and says whether there were any.
pub fn print_errors(diags: Vec<Diagnostic>, out: Output) -> bool {
    let errors: Vec<_> = diags
        .into_iter()
        .filter(|d| d.severity == crate::diag::Severity::Error)
        .collect();
    print_diagnostics(&errors, out);
    !errors.is_empty()
}

/// Prints diagnostics to stderr.
pub fn print_diagnostics(diags: &[Diagnostic], out: Output) {
    if !diags.is_empty() {
        eprint!("{}", diag::render(diags, out.color));
    }
}
