//! `labctl serve`: checks the workshop (lint errors refuse to start), starts the
//! sandbox when asked, and serves the page until Ctrl-C or SIGTERM, then stops
//! every terminal and the sandbox.

use std::path::Path;
use std::sync::Arc;

use super::{Output, cli_sources, load_all, print_diagnostics};
use crate::check::kube::KubeOptions;
use crate::cli::ServeArgs;
use crate::diag::has_errors;
use crate::engine::{EngineConfig, Mode, StepJudge, UserPlan};
use crate::exit_code::Exit;
use crate::lab::parse::ParseOptions;
use crate::plan::{FillMode, PlannedLab, fill_workshop};
use crate::sandbox::Sandbox;
use crate::serve::progress::ProgressFile;
use crate::serve::server::{Server, stop_signal};
use crate::serve::steps::{TerminalSet, Workshop};
use crate::serve::terminal::{ShellSpec, write_rcfile};
use crate::serve::{App, files_root, page, router};
use crate::vars::Sources;

fn bad(msg: impl std::fmt::Display) -> Exit {
    eprintln!("error: {msg}");
    Exit::BadInput
}

/// Runs `labctl serve`.
pub(crate) fn run(args: &ServeArgs, out: Output) -> Exit {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run_async(args, out))
}

async fn run_async(args: &ServeArgs, out: Output) -> Exit {
    let sources = cli_sources(&args.vars);
    let (labs, workshops) = match fill(args, &sources, out) {
        Ok(filled) => filled,
        Err(exit) => return exit,
    };
    let workdir = args
        .workdir
        .clone()
        .unwrap_or_else(|| workshops[0].default_workdir());
    let server = match Server::bind(args.listen).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Environment;
        }
    };
    let named = sources
        .cli
        .get("username")
        .or_else(|| sources.env.get("username"))
        .cloned();
    let names = named.iter().cloned().collect();
    let sandbox = match super::sandbox_if_asked(args.sandbox, args.mesh_delay, names).await {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let exit = match terminal_env(sandbox.as_ref(), named.as_deref()) {
        Ok(env) => {
            let served = Served {
                workdir: &workdir,
                workshops: &workshops,
                sources: &sources,
                env,
                server,
            };
            serve(args, labs, served).await
        }
        Err(exit) => exit,
    };
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    exit
}

/// The workshop loaded and filled; lint errors or an undefined variable refuse to start.
fn fill(
    args: &ServeArgs,
    sources: &Sources,
    out: Output,
) -> Result<(Vec<PlannedLab>, Vec<crate::lab::Workshop>), Exit> {
    let (loaded, diags) = load_all(std::slice::from_ref(&args.path), ParseOptions::default());
    if has_errors(&diags) {
        super::print_errors(diags, out);
        eprintln!(
            "error: the workshop has errors (above); labctl serve starts once they are fixed"
        );
        return Err(Exit::BadInput);
    }
    let Some(first) = loaded.first() else {
        return Err(bad("no workshop given"));
    };
    let fill_mode = FillMode {
        allow_unsafe: false,
        require_defined: true,
    };
    let (labs, problems) = fill_workshop(&first.workshop, sources, fill_mode);
    if !problems.is_empty() {
        print_diagnostics(&problems, out);
        return Err(Exit::BadInput);
    }
    Ok((labs, loaded.into_iter().map(|l| l.workshop).collect()))
}

/// The terminals' environment: the sandbox's, logged in as `named` when
/// `--var username=alice` names a student, as in `labctl run`.
fn terminal_env(
    sandbox: Option<&Sandbox>,
    named: Option<&str>,
) -> Result<Vec<(String, String)>, Exit> {
    let Some(s) = sandbox else {
        return Ok(Vec::new());
    };
    let mut env = s.env();
    if let Some(u) = named {
        let prepared = s.env_for_user(u).map_err(|e| {
            eprintln!("error: the sandbox could not prepare {u}: {e}");
            Exit::Environment
        })?;
        env.extend(prepared.into_iter().filter(|(k, _)| k == "KUBECONFIG"));
    }
    Ok(env)
}

/// What `serve` serves besides the labs.
struct Served<'a> {
    workdir: &'a Path,
    workshops: &'a [crate::lab::Workshop],
    sources: &'a Sources,
    env: Vec<(String, String)>,
    server: Server,
}

async fn serve(args: &ServeArgs, labs: Vec<PlannedLab>, served: Served<'_>) -> Exit {
    let scratch = match tempfile::Builder::new().prefix("labctl-serve-").tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot create a temporary folder: {e}");
            return Exit::Environment;
        }
    };
    let rcfile = match write_rcfile(scratch.path()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot write the terminals' rc file: {e}");
            return Exit::Environment;
        }
    };
    let judge = judge(args, &labs, &served);
    let terminals = TerminalSet::new(ShellSpec {
        shell: args.shell.clone(),
        rcfile,
        workdir: served.workdir.to_path_buf(),
        env: served.env,
    });
    let workshop = Arc::new(Workshop::new(
        labs,
        judge,
        terminals,
        ProgressFile::open(served.workdir),
        args.timeout,
    ));
    let page = page::render(
        served.workshops,
        served.sources,
        &workshop.terminal_numbers(),
    );
    let html = match page {
        Ok(h) => h,
        Err(d) => {
            let plain = Output {
                color: false,
                quiet: false,
                verbose: false,
                live: false,
            };
            print_diagnostics(&d, plain);
            return Exit::BadInput;
        }
    };
    let app = Arc::new(App {
        access: served.server.access.clone(),
        workshop: workshop.clone(),
        page: html,
        files_root: files_root(&args.path),
    });
    served.server.announce("serve", args.open);
    let result = served.server.run(router(app), stop_signal()).await;
    workshop.terminals.close_all();
    drop(scratch);
    match result {
        Ok(()) => Exit::Success,
        Err(e) => {
            eprintln!("error: the server stopped: {e}");
            Exit::Environment
        }
    }
}

/// Judges Run and Check exactly as `labctl run` would for one student.
fn judge(args: &ServeArgs, labs: &[PlannedLab], served: &Served<'_>) -> StepJudge {
    let cfg = Arc::new(EngineConfig {
        mode: Mode::Run,
        no_wait: false,
        colocation: None,
        shell: args.shell.clone(),
        env: served.env.clone(),
        default_timeout: args.timeout,
        keep_going: true,
        strict_output: false,
        strict_checks: false,
        capture_cap: crate::shell::DEFAULT_CAPTURE_CAP,
        grace: std::time::Duration::from_secs(2),
        workshop_root: served
            .workshops
            .first()
            .map(|w| w.default_workdir())
            .unwrap_or_default(),
        kube: Arc::new(KubeOptions::new(
            args.kubeconfig.clone(),
            args.context.clone(),
        )),
    });
    let plan = UserPlan {
        user: None,
        vars: Default::default(),
        labs: labs.to_vec(),
        workdir: served.workdir.to_path_buf(),
        env: Vec::new(),
        redactor: Default::default(),
    };
    StepJudge::new(cfg, &plan)
}
