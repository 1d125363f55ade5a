//! labctl: loads workshop labs written in markdown, runs every command the way a
//! student would, and verifies the outcome.

#![warn(missing_docs, unreachable_pub)]

pub(crate) mod board;
pub mod cancel;
pub mod check;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod diag;
pub(crate) mod engine;
pub(crate) mod event;
pub(crate) mod exit_code;
pub(crate) mod json_text;
pub mod lab;
pub(crate) mod mdbook;
pub mod plan;
pub(crate) mod redact;
pub(crate) mod report;
pub mod sandbox;
pub(crate) mod serve;
pub mod shell;
pub(crate) mod signals;
pub(crate) mod stdout;
pub(crate) mod vars;
pub(crate) mod workshop_files;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};
use exit_code::Exit;

/// Entry point of the binary: parses the command line and runs it.
pub fn run() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::BadInput
            } else {
                Exit::Success
            };
            let _ = e.print();
            return code.into();
        }
    };
    let surroundings = commands::stderr_mode::Surroundings::of_process();
    let color = surroundings.color(cli.color);
    let out = commands::Output {
        color,
        live: surroundings.live(),
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    if matches!(
        cli.command,
        Command::List(_) | Command::Lint(_) | Command::Completions { .. }
    ) {
        // Printing commands end quietly when their reader goes away (`labctl list | head`),
        // as Unix tools do; commands that run steps keep SIGPIPE ignored for their pipes.
        // SAFETY: called before any thread starts; SIG_DFL is a valid disposition.
        unsafe {
            let _ = nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGPIPE,
                nix::sys::signal::SigHandler::SigDfl,
            );
        }
    }
    if let Command::Sandbox(a) = &cli.command {
        return commands::sandbox::run(a);
    }
    let exit = match &cli.command {
        Command::List(a) => commands::list::run(a, out),
        Command::Lint(a) => commands::lint::run(a, out),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "labctl", &mut script);
            stdout::print(&String::from_utf8_lossy(&script));
            Exit::Success
        }
        Command::Run(a) => commands::run::run(a, engine::Mode::Run, out),
        Command::Check(a) => commands::run::run(a, engine::Mode::CheckOnly, out),
        Command::Board(a) => commands::board::run(a, out),
        Command::Sandbox(_) => unreachable!("handled above"),
        Command::Job(a) => commands::job::run(a),
        Command::Report(cli::ReportCommand::Merge(a)) => commands::report_merge::run(a),
        Command::Mdbook(a) => mdbook::run(&a.args, out.color),
        Command::Serve(a) => commands::serve::run(a, out),
    };
    exit.into()
}
