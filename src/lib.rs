//! labctl: loads workshop labs written in markdown, runs every command the way a
//! student would, and verifies the outcome.

pub mod cancel;
pub mod check;
pub mod cli;
pub mod commands;
pub mod diag;
pub mod event;
pub mod exit_code;
pub mod lab;
pub mod plan;
pub mod redact;
pub mod sandbox;
pub mod shell;
pub mod vars;

use std::io::IsTerminal;

use clap::{CommandFactory, Parser};

use cli::{Cli, ColorChoice, Command};
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
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    };
    let out = commands::Output {
        color,
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    let exit = match &cli.command {
        Command::List(a) => commands::list::run(a, out),
        Command::Lint(a) => commands::lint::run(a, out),
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "labctl",
                &mut std::io::stdout(),
            );
            Exit::Success
        }
        Command::Run(_) | Command::Check(_) | Command::Sandbox(_) | Command::Mdbook(_) => {
            eprintln!("error: this command is not built yet");
            Exit::BadInput
        }
    };
    exit.into()
}
