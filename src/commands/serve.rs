//! `labctl serve`: checks the workshop (lint errors refuse to start), starts the
//! sandbox when asked, and serves the page until Ctrl-C or SIGTERM, then stops
//! every terminal and the sandbox.

use std::net::SocketAddr;
use std::sync::Arc;

use super::{Output, load_all, parse_var_args, print_diagnostics};
use crate::check::kube::KubeOptions;
use crate::cli::ServeArgs;
use crate::diag::has_errors;
use crate::engine::{EngineConfig, Mode, StepJudge, UserPlan};
use crate::exit_code::Exit;
use crate::lab::check_spec::parse_duration_str;
use crate::lab::parse::ParseOptions;
use crate::plan::{FillMode, fill_workshop};
use crate::sandbox::{Sandbox, SandboxConfig};
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
pub fn run(args: &ServeArgs, out: Output) -> Exit {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run_async(args, out))
}

async fn run_async(args: &ServeArgs, out: Output) -> Exit {
    let cli_vars = match parse_var_args(&args.vars) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    let listen: SocketAddr = match args.listen.parse() {
        Ok(a) => a,
        Err(e) => {
            return bad(format!(
                "--listen `{}`: {e} (e.g. 127.0.0.1:8080)",
                args.listen
            ));
        }
    };
    let timeout = match parse_duration_str(&args.timeout) {
        Ok(d) => d,
        Err(e) => return bad(format!("--timeout: {e}")),
    };
    let mesh_delay = match parse_duration_str(&args.mesh_delay) {
        Ok(d) => d,
        Err(e) => return bad(format!("--mesh-delay: {e}")),
    };
    let (loaded, diags) = load_all(std::slice::from_ref(&args.path), ParseOptions::default());
    if has_errors(&diags) {
        super::print_errors(diags, out);
        eprintln!(
            "error: the workshop has errors (above); labctl serve starts once they are fixed"
        );
        return Exit::BadInput;
    }
    let Some(first) = loaded.first() else {
        return bad("no workshop given");
    };
    let workdir = args
        .workdir
        .clone()
        .unwrap_or_else(|| first.workshop.default_workdir());
    let sources = Sources {
        cli: cli_vars,
        env: Sources::env_vars(),
        ..Sources::default()
    };
    let fill_mode = FillMode {
        allow_unsafe: false,
        require_defined: true,
    };
    let (labs, problems) = fill_workshop(&first.workshop, &sources, fill_mode);
    if !problems.is_empty() {
        print_diagnostics(&problems, out);
        return Exit::BadInput;
    }
    let workshops: Vec<_> = loaded.iter().map(|l| l.workshop.clone()).collect();
    let server = match Server::bind(listen).await {
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
    let sandbox = if args.sandbox {
        match super::start_sandbox(SandboxConfig {
            users: 1,
            mesh_delay,
            names: named.iter().cloned().collect(),
            ..SandboxConfig::default()
        })
        .await
        {
            Ok(s) => Some(s),
            Err(exit) => return exit,
        }
    } else {
        None
    };
    let mut env = sandbox.as_ref().map(Sandbox::env).unwrap_or_default();
    // `--var username=alice`: the terminals are logged in as alice, as in `labctl run`.
    if let (Some(s), Some(u)) = (&sandbox, &named) {
        let prepared = s.env_for_user(u);
        match prepared {
            Ok(e) => env.extend(e.into_iter().filter(|(k, _)| k == "KUBECONFIG")),
            Err(e) => {
                eprintln!("error: the sandbox could not prepare {u}: {e}");
                if let Some(s) = sandbox {
                    s.shutdown().await;
                }
                return Exit::Environment;
            }
        }
    }
    let exit = serve(
        args, &workdir, labs, &workshops, &sources, env, server, timeout,
    )
    .await;
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    exit
}

async fn serve(
    args: &ServeArgs,
    workdir: &std::path::Path,
    labs: Vec<crate::plan::PlannedLab>,
    workshops: &[crate::lab::Workshop],
    sources: &Sources,
    env: Vec<(String, String)>,
    server: Server,
    timeout: std::time::Duration,
) -> Exit {
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
    let cfg = Arc::new(EngineConfig {
        mode: Mode::Run,
        no_wait: false,
        colocation: None,
        shell: args.shell.clone(),
        env: env.clone(),
        default_timeout: timeout,
        keep_going: true,
        strict_output: false,
        strict_checks: false,
        capture_cap: crate::shell::DEFAULT_CAPTURE_CAP,
        grace: std::time::Duration::from_secs(2),
        workshop_root: workshops
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
        labs: labs.clone(),
        workdir: workdir.to_path_buf(),
        env: Vec::new(),
        redactor: Default::default(),
    };
    let judge = StepJudge::new(cfg, &plan);
    let terminals = TerminalSet::new(ShellSpec {
        shell: args.shell.clone(),
        rcfile,
        workdir: workdir.to_path_buf(),
        env,
    });
    let workshop = Arc::new(Workshop::new(
        labs,
        judge,
        terminals,
        ProgressFile::open(workdir),
        timeout,
    ));
    let html = match page::render(workshops, sources, &workshop.terminal_numbers()) {
        Ok(h) => h,
        Err(d) => {
            print_diagnostics(
                &d,
                Output {
                    color: false,
                    quiet: false,
                    verbose: false,
                    live: false,
                },
            );
            return Exit::BadInput;
        }
    };
    let app = Arc::new(App {
        access: server.access.clone(),
        workshop: workshop.clone(),
        page: html,
        files_root: files_root(&args.path),
    });
    server.announce("serve", args.open);
    let result = server.run(router(app), stop_signal()).await;
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
