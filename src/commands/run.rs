//! `labctl run` and `labctl check`: validate everything, then run the plan for
//! every user with reporters attached; Ctrl-C still writes the reports.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{Output, load_all, print_diagnostics};
use crate::cancel;
use crate::check::kube::KubeOptions;
use crate::cli::RunArgs;
use crate::cli::values::{UserList, VarArg};
use crate::diag::{Diagnostic, Severity, has_errors};
use crate::engine::{self, EngineConfig, EventSink, Mode, UserPlan};
use crate::event::EventKind;
use crate::exit_code::Exit;
use crate::lab::check_spec::Assertion;
use crate::lab::parse::ParseOptions;
use crate::plan::{FillMode, Selection, StepRef, User, fill_workshop};
use crate::redact::Redactor;
use crate::report::check_console::{CheckConsole, CheckConsoleOptions};
use crate::report::console::{ConsoleOptions, ConsoleReporter};
use crate::report::github::GithubReporter;
use crate::report::html::HtmlReporter;
use crate::report::json::JsonReporter;
use crate::report::junit::JunitReporter;
use crate::report::mesh_fetch::{GraphApi, GraphTarget};
use crate::report::tap::TapReporter;
use crate::report::{ReportFormat, Reporter, check_targets, with_github_default};
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::shell::affinity::Colocation;
use crate::shell::{escapees, preflight};
use crate::signals::{self, Signals};
use crate::vars::Sources;

fn bad(msg: impl std::fmt::Display) -> Exit {
    eprintln!("error: {msg}");
    Exit::BadInput
}

/// Runs `labctl run` (mode Run) or `labctl check` (mode CheckOnly).
pub fn run(args: &RunArgs, mode: Mode, out: Output) -> Exit {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run_async(args, mode, out))
}

/// Flags that only one of `run` and `check` understands (`check` runs no step).
fn foreign_flag(args: &RunArgs, mode: Mode) -> Option<&'static str> {
    let run_only = [
        (args.interactive, "--interactive"),
        (args.update_output, "--update-output"),
        (args.keep_going, "--keep-going"),
        (args.strict_output, "--strict-output"),
        (args.strict_checks, "--strict-checks"),
        (args.dry_run, "--dry-run"),
        (args.timeout.is_some(), "--timeout"),
    ];
    match mode {
        Mode::CheckOnly => run_only.iter().find(|(set, _)| *set).map(|(_, f)| *f),
        Mode::Run => args.no_wait.then_some("--no-wait"),
    }
}

async fn run_async(args: &RunArgs, mode: Mode, out: Output) -> Exit {
    // Listening from the start: a signal during the copies or the sandbox's start stops too.
    let grace = match signals::grace_from_env() {
        Ok(g) => g,
        Err(e) => return bad(e),
    };
    let (cancel_handle, cancel) = cancel::pair();
    let signals = match Signals::listen(cancel_handle.clone(), grace) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot listen for signals: {e}");
            return Exit::Environment;
        }
    };
    // Processes that steps detach (setsid, double fork) become ours, to be ended.
    escapees::become_subreaper();
    let exit = run_steps(args, mode, out, grace, cancel_handle, cancel.clone()).await;
    // Whatever is still adopted now escaped every terminal and command.
    escapees::end(None, grace, &cancel).await;
    match (exit, signals.received()) {
        (Exit::Interrupted, Some(sig)) => sig.exit(),
        (exit, _) => exit,
    }
}

async fn run_steps(
    args: &RunArgs,
    mode: Mode,
    out: Output,
    grace: Duration,
    cancel_handle: cancel::CancelHandle,
    cancel: cancel::Cancel,
) -> Exit {
    if let Some(flag) = foreign_flag(args, mode) {
        return bad(match mode {
            Mode::CheckOnly => format!(
                "`{flag}` is a flag of `labctl run`; `labctl check` runs no step (see `labctl check --help`)"
            ),
            Mode::Run => format!("`{flag}` is a flag of `labctl check`"),
        });
    }
    if args.interactive && args.users.is_some() {
        return bad(
            "`--interactive` is one student at a time: drop `--users` (or drop `--interactive`)",
        );
    }
    let cli_vars = VarArg::collect(&args.vars);
    let targets = with_github_default(args.reports.clone());
    let default_timeout = args.timeout.unwrap_or(Duration::from_secs(120));
    if default_timeout.is_zero() {
        return bad("--timeout 0s would stop every step at once; give a duration such as 30s");
    }
    let mesh_delay = args.mesh_delay;
    let users: Vec<Option<User>> = match (&args.users, &args.users_from) {
        (Some(UserList(u)), _) => u.iter().cloned().map(Some).collect(),
        (None, Some(report)) => match super::users_from::users(report, args.failed) {
            Ok(u) if u.is_empty() => {
                eprintln!(
                    "{}: no user {}; nothing to run",
                    report.display(),
                    if args.failed { "failed" } else { "in it" }
                );
                return Exit::Success;
            }
            Ok(u) => u.into_iter().map(Some).collect(),
            Err(e) => return bad(format!("--users-from: {e}")),
        },
        (None, None) => vec![None],
    };
    let selection = Selection {
        from: args.from.as_deref().map(StepRef::parse),
        to: args.to.as_deref().map(StepRef::parse),
        only: args.only.iter().map(|s| StepRef::parse(s)).collect(),
    };
    let options = ParseOptions {
        shell_blocks: args.shell_blocks,
    };
    let (loaded, diags) = load_all(&args.paths, options);
    if has_errors(&diags) {
        print_diagnostics(
            &diags
                .into_iter()
                .filter(|d| d.severity == Severity::Error)
                .collect::<Vec<_>>(),
            out,
        );
        return Exit::BadInput;
    }
    let Some(first) = loaded.first() else {
        return bad("no lab paths given");
    };
    let pages: Vec<std::path::PathBuf> = loaded
        .iter()
        .flat_map(|l| l.workshop.labs.iter().map(|lab| lab.path.clone()))
        .collect();
    if let Err(e) = check_targets(&targets, &pages) {
        return bad(e);
    }
    let workdir = args
        .workdir
        .clone()
        .unwrap_or_else(|| first.workshop.default_workdir());
    let workshop_root = first.workshop.default_workdir();
    if let Err(e) = preflight::check(&args.shell, &workdir) {
        eprintln!("error: {e}");
        return Exit::Environment;
    }
    let mode_fill = FillMode {
        allow_unsafe: args.allow_unsafe_vars,
        require_defined: true,
    };
    let mut env_vars = Sources::env_vars();
    if args.sandbox {
        // The sandbox's Routes live under its apps domain, as a cluster's under its own.
        env_vars
            .entry("cluster_subdomain".into())
            .or_insert_with(|| crate::sandbox::APPS_DOMAIN.into());
    }
    let mut plans = Vec::new();
    let mut problems: Vec<Diagnostic> = Vec::new();
    let mut redactors = Vec::new();
    for u in &users {
        let sources = Sources {
            user: u.as_ref().map(User::variables).unwrap_or_default(),
            cli: cli_vars.clone(),
            env: env_vars.clone(),
            ..Sources::default()
        };
        let redactor = match secrets_of(&args.secrets, &loaded, &sources) {
            Ok(r) => r,
            Err(e) => return bad(e),
        };
        let mut labs = Vec::new();
        for l in &loaded {
            let (filled, d) = fill_workshop(&l.workshop, &sources, mode_fill);
            labs.extend(filled);
            problems.extend(d);
        }
        redactors.push(redactor.clone());
        if let Err(e) = selection.apply(&mut labs) {
            return bad(e);
        }
        plans.push(UserPlan {
            user: u.as_ref().map(|u| u.name.clone()),
            vars: sources.user.clone(),
            labs,
            workdir: workdir.clone(),
            env: Vec::new(),
            redactor,
        });
        if !problems.is_empty() {
            break;
        }
    }
    // Error messages, the dry-run plan and prompts are output like any other.
    let shared_redactor = Redactor::union(&redactors);
    if !problems.is_empty() {
        eprint!(
            "{}",
            shared_redactor.apply(&crate::diag::render(&problems, out.color))
        );
        return Exit::BadInput;
    }
    if args.dry_run {
        let mut text = String::new();
        for p in &plans {
            if let Some(u) = &p.user {
                text.push_str(&format!("== {u}\n"));
            }
            text.push_str(&p.redactor.apply(&super::list::to_text(&p.labs, out.color)));
        }
        crate::stdout::print(&text);
        return Exit::Success;
    }
    // Each user gets a private copy of the working directory: files steps write never clash.
    let mut copies = Vec::new();
    if plans.len() > 1 {
        for p in &mut plans {
            match copy_workdir(&workdir) {
                Ok(dir) => {
                    p.workdir = dir.path().to_path_buf();
                    copies.push(dir);
                }
                Err(e) => {
                    eprintln!(
                        "error: cannot copy the working directory {} for {}: {e}",
                        workdir.display(),
                        p.user.as_deref().unwrap_or("-")
                    );
                    return Exit::Environment;
                }
            }
        }
    }
    let sandbox = if args.sandbox {
        match super::start_sandbox(SandboxConfig {
            users: 1,
            mesh_delay,
            names: sandbox_users(&users, [&cli_vars, &env_vars]),
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
    let mut env = vec![(escapees::RUN_ID_VAR.to_string(), escapees::new_run_id())];
    if let Some(s) = &sandbox {
        env.extend(s.env());
        // `--var username=alice` alone: log in as alice, as the fan-out users are.
        let named = cli_vars
            .get("username")
            .or_else(|| env_vars.get("username"));
        for p in &mut plans {
            if let Some(u) = p.user.as_ref().or(named) {
                match s.env_for_user(u) {
                    Ok(e) => p.env = e.into_iter().filter(|(k, _)| k == "KUBECONFIG").collect(),
                    Err(e) => {
                        eprintln!("error: the sandbox could not prepare {u}: {e}");
                        return Exit::Environment;
                    }
                }
            }
        }
    }
    // A workshop without kube checks never reads a kubeconfig.
    let kube = Arc::new(KubeOptions::new(
        args.kubeconfig.clone(),
        args.context.clone(),
    ));
    let uses_kube = plans.iter().flat_map(|p| &p.labs).any(|l| {
        l.preconditions
            .iter()
            .chain(
                l.steps
                    .iter()
                    .filter(|s| s.selected)
                    .flat_map(|s| &s.checks),
            )
            .any(|c| matches!(c.kind, Assertion::Kube(_)))
    });
    if uses_kube {
        let mut probe_env = env.clone();
        probe_env.extend(plans.first().map(|p| p.env.clone()).unwrap_or_default());
        if let Err(e) = crate::check::kube::preflight(Some(&kube), &probe_env).await {
            eprintln!(
                "error: this workshop has kube checks, but {e}\n  = help: pass --kubeconfig FILE (and --context NAME), set KUBECONFIG, or run with --sandbox"
            );
            if let Some(s) = sandbox {
                s.shutdown().await;
            }
            return Exit::Environment;
        }
    }
    // One user's steps run one at a time: keep labctl and its shells on one
    // CPU (see shell::affinity). With users in parallel, both CPUs are busy.
    let one_at_a_time = users.len() <= 1 || args.jobs <= 1 || args.interactive;
    let colocation = match one_at_a_time && std::env::var_os("LABCTL_NO_PIN").is_none() {
        true => Colocation::pin_process(),
        false => None,
    };
    let cfg = Arc::new(EngineConfig {
        mode,
        colocation,
        shell: args.shell.clone(),
        env,
        default_timeout,
        keep_going: args.keep_going,
        no_wait: args.no_wait,
        strict_output: args.strict_output,
        strict_checks: args.strict_checks,
        capture_cap: crate::shell::DEFAULT_CAPTURE_CAP,
        grace,
        workshop_root,
        kube: kube.clone(),
    });
    // A prompt must never sit under a spinner: interactive runs print plain lines.
    let live = out.live && !args.interactive;
    let console: Box<dyn Reporter> = match mode {
        Mode::CheckOnly => Box::new(CheckConsole::new(CheckConsoleOptions {
            color: out.color,
            live,
            quiet: out.quiet,
            workshop: workshop_words(&args.paths),
        })),
        Mode::Run => Box::new(ConsoleReporter::new(ConsoleOptions {
            color: out.color,
            live,
            quiet: out.quiet,
            verbose: out.verbose,
        })),
    };
    // Interactive runs draw everything through the prompter, in page order.
    let mut reporters: Vec<Box<dyn Reporter>> = match args.interactive {
        true => Vec::new(),
        false => vec![console],
    };
    for t in &targets {
        reporters.push(match t.format {
            ReportFormat::Json => Box::new(JsonReporter::new(t.path.clone())),
            ReportFormat::Html => Box::new(HtmlReporter::new(t.path.clone())),
            ReportFormat::Junit => Box::new(JunitReporter::new(t.path.clone())),
            ReportFormat::Tap => Box::new(TapReporter::new(t.path.clone())),
            ReportFormat::Github => Box::new(GithubReporter::from_env()),
        });
    }
    let mesh = mesh_graph_fetch(&reporters, &plans, sandbox.as_ref(), [&cli_vars, &env_vars]);
    let (sink, mut rx) = EventSink::new();
    let reporter_cancel = cancel_handle.clone();
    let reporting = tokio::spawn(async move {
        let mut ok = true;
        while let Some(ev) = rx.recv().await {
            // The graph is drawn from the cluster as the run left it, before the sandbox stops.
            if let (EventKind::RunFinished { .. }, Some((api, targets, started))) =
                (&ev.kind, &mesh)
            {
                let graphs = api.fetch(targets, started.elapsed()).await;
                reporters.iter_mut().for_each(|r| r.mesh_graphs(&graphs));
            }
            for r in &mut reporters {
                if let Err(e) = r.event(&ev) {
                    eprintln!("error: {e}");
                    ok = false;
                    reporter_cancel.cancel();
                }
            }
        }
        ok
    });
    let prompter: Option<Box<dyn engine::prompt::Prompter>> = if args.interactive {
        Some(Box::new(super::interactive::StdinPrompter::new(
            out.color,
            shared_redactor.clone(),
        )))
    } else {
        None
    };
    let jobs = if args.interactive { 1 } else { args.jobs };
    let summary = engine::run(cfg, plans, jobs, sink, cancel.clone(), prompter).await;
    escapees::end(None, grace, &cancel).await;
    if args.interactive {
        let st = summary.stats;
        eprintln!(
            "{} passed, {} failed, {} skipped",
            st.passed, st.failed, st.skipped
        );
    }
    let reports_ok = reporting.await.unwrap_or(false);
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    drop(copies);
    if args.update_output && !summary.updates.is_empty() {
        match super::update_output::apply(&summary.updates) {
            Ok(places) => {
                eprintln!(
                    "updated {}",
                    super::list::plural(places.len(), "expected-output fence")
                );
                for place in places {
                    eprintln!("  rewrote {place}");
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::BadInput;
            }
        }
    }
    if summary.stats.interrupted {
        Exit::Interrupted
    } else if summary.stats.failed > 0 || !reports_ok {
        Exit::Failed
    } else {
        Exit::Success
    }
}

/// Where the HTML report's mesh graphs come from, when a reporter draws them and
/// there is a graph API: `--var kiali_url=URL` (a real Kiali), else the sandbox.
/// Each user's namespace is their `username`; the run's clock sets the window.
fn mesh_graph_fetch(
    reporters: &[Box<dyn Reporter>],
    plans: &[UserPlan],
    sandbox: Option<&Sandbox>,
    vars: [&crate::vars::Vars; 2],
) -> Option<(GraphApi, Vec<GraphTarget>, std::time::Instant)> {
    if !reporters.iter().any(|r| r.wants_mesh_graphs()) {
        return None;
    }
    let var = |k: &str| vars.iter().find_map(|v| v.get(k).cloned());
    let proxy = sandbox.and_then(|s| {
        s.env()
            .into_iter()
            .find_map(|(k, v)| (k == "http_proxy").then_some(v))
    });
    let api = GraphApi::choose(var("kiali_url").as_deref(), proxy)?;
    // On the sandbox a run without a username is user1's.
    let fallback = var("username").or_else(|| sandbox.map(|_| "user1".to_string()));
    let targets = plans
        .iter()
        .filter_map(|p| {
            let namespace = p.user.clone().or_else(|| fallback.clone())?;
            Some(GraphTarget {
                user: p.user.clone(),
                namespace,
            })
        })
        .collect();
    Some((api, targets, std::time::Instant::now()))
}

/// Every user the run names, so the sandbox seeds them all: fan-out users, and a
/// `username` from `--var` or `LABCTL_VAR_username` (user1 is always seeded).
fn sandbox_users(users: &[Option<User>], vars: [&crate::vars::Vars; 2]) -> Vec<String> {
    let fan_out = users.iter().flatten().map(|u| u.name.clone());
    let named = vars.into_iter().filter_map(|v| v.get("username").cloned());
    fan_out.chain(named).collect()
}

/// The paths as the student typed them, for commands labctl suggests.
fn workshop_words(paths: &[std::path::PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `--secret` values of one user: every value a lab of the run may resolve
/// the name to (front matter, book.toml, environment, --var, fan-out).
fn secrets_of(
    names: &[String],
    loaded: &[crate::lab::workshop::Loaded],
    sources: &Sources,
) -> Result<Redactor, crate::redact::SecretError> {
    let mut per_lab = Vec::new();
    for l in loaded {
        let mut s = sources.clone();
        s.book = l.workshop.book_vars.clone();
        for lab in &l.workshop.labs {
            per_lab.push(Redactor::new(names, &s.resolve(&lab.settings.vars))?);
        }
    }
    if per_lab.is_empty() {
        per_lab.push(Redactor::new(names, &sources.resolve(&Default::default()))?);
    }
    Ok(Redactor::union(&per_lab))
}

fn copy_workdir(src: &Path) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new().prefix("labctl-user-").tempdir()?;
    crate::workshop_files::copy(src, dir.path())?;
    Ok(dir)
}
