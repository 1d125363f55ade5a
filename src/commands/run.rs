//! `labctl run` and `labctl check`: validate everything, then run the plan for
//! every user with reporters attached; Ctrl-C still writes the reports.
//!
//! [`run_phases`] reads as the run's phases in order; what a phase starts
//! (working copies, the sandbox, detached processes) belongs to one
//! [`Started`] guard that ends it on every path.

mod plans;
mod reporters;
mod started;

use std::sync::Arc;
use std::time::Duration;

use super::Output;
use crate::cancel::{self, CancelHandle};
use crate::check::kube::KubeOptions;
use crate::cli::RunArgs;
use crate::cli::values::{UserList, VarArg};
use crate::engine::{self, EngineConfig, Mode, RunSummary, UserPlan};
use crate::exit_code::Exit;
use crate::lab::check_spec::Assertion;
use crate::plan::{Selection, StepRef, User};
use crate::report::{ReportTarget, with_github_default};
use crate::shell::affinity::Colocation;
use crate::shell::escapees;
use crate::signals::{self, Signals};
use crate::vars::{Sources, Vars};

use plans::Prepared;
use started::Started;

/// Why a run stops before its end: the message is printed once, by [`Stop::report`].
#[derive(Debug)]
enum Stop {
    /// Bad input: `error: …`, exit status 2.
    BadInput(String),
    /// The machine or cluster is not ready: `error: …`, exit status 3.
    Environment(String),
    /// Already told (diagnostics printed, nothing to run): only the exit status.
    Told(Exit),
}

impl Stop {
    fn report(self) -> Exit {
        match self {
            Stop::BadInput(msg) => {
                eprintln!("error: {msg}");
                Exit::BadInput
            }
            Stop::Environment(msg) => {
                eprintln!("error: {msg}");
                Exit::Environment
            }
            Stop::Told(exit) => exit,
        }
    }
}

fn bad(msg: impl std::fmt::Display) -> Stop {
    Stop::BadInput(msg.to_string())
}

/// Runs `labctl run` (mode Run) or `labctl check` (mode CheckOnly).
pub(crate) fn run(args: &RunArgs, mode: Mode, out: Output) -> Exit {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run_async(args, mode, out))
}

async fn run_async(args: &RunArgs, mode: Mode, out: Output) -> Exit {
    // Listening from the start: a signal during the copies or the sandbox's start stops too.
    let grace = match signals::grace_from_env() {
        Ok(g) => g,
        Err(e) => return bad(e).report(),
    };
    let (cancel_handle, cancel) = cancel::pair();
    let signals = match Signals::listen(cancel_handle.clone(), grace) {
        Ok(s) => s,
        Err(e) => return Stop::Environment(format!("cannot listen for signals: {e}")).report(),
    };
    // Processes that steps detach (setsid, double fork) become ours, to be ended.
    escapees::become_subreaper();
    let mut started = Started::new(grace, cancel);
    let exit = run_phases(args, mode, out, &mut started, cancel_handle)
        .await
        .unwrap_or_else(Stop::report);
    started.end().await;
    match (exit, signals.received()) {
        (Exit::Interrupted, Some(sig)) => sig.exit(),
        (exit, _) => exit,
    }
}

/// The run's phases in order; an error is reported by the caller, and what was
/// started is ended by the caller's [`Started`], whichever phase stopped.
async fn run_phases(
    args: &RunArgs,
    mode: Mode,
    out: Output,
    started: &mut Started,
    cancel_handle: CancelHandle,
) -> Result<Exit, Stop> {
    check_flags(args, mode)?;
    let request = Request::parse(args)?;
    let Some(users) = users_of(args)? else {
        return Ok(Exit::Success);
    };
    let Prepared {
        mut plans,
        workdir,
        workshop_root,
        redactor,
    } = plans::prepare(args, &request, &users, out)?;
    if args.dry_run {
        plans::print(&plans, out);
        return Ok(Exit::Success);
    }
    if plans.len() > 1 {
        started.copy_working_folders(&mut plans, &workdir)?;
    }
    let mut env = vec![(escapees::RUN_ID_VAR.to_string(), escapees::new_run_id())];
    if let Some(sandbox) = started
        .sandbox_if_asked(args.sandbox, &request, &users)
        .await?
    {
        env.extend(sandbox.env());
        started::log_users_in(sandbox, &mut plans, request.named_user())?;
    }
    kube_preflight(&request.kube, &env, &plans).await?;
    let cfg = engine_config(
        args,
        mode,
        &request,
        users.len(),
        started.grace(),
        env,
        workshop_root,
    );
    let reporters = reporters::build(args, mode, out, &request.targets);
    let mesh = reporters::mesh_graph_fetch(&reporters, &plans, started.sandbox(), request.vars());
    let (sink, reporting) = reporters::Reporting::start(reporters, mesh, cancel_handle);
    let prompter = args.interactive.then(|| {
        Box::new(super::interactive::StdinPrompter::new(out.color, redactor))
            as Box<dyn engine::prompt::Prompter>
    });
    let jobs = if args.interactive { 1 } else { args.jobs };
    let summary = engine::run(cfg, plans, jobs, sink, started.cancel(), prompter).await;
    if args.interactive {
        let st = summary.stats;
        eprintln!(
            "{} passed, {} failed, {} skipped",
            st.passed, st.failed, st.skipped
        );
    }
    let reports_ok = reporting.finish().await;
    if args.update_output {
        update_output(&summary)?;
    }
    Ok(exit_of(&summary, reports_ok))
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

fn check_flags(args: &RunArgs, mode: Mode) -> Result<(), Stop> {
    if let Some(flag) = foreign_flag(args, mode) {
        return Err(bad(match mode {
            Mode::CheckOnly => format!(
                "`{flag}` is a flag of `labctl run`; `labctl check` runs no step (see `labctl check --help`)"
            ),
            Mode::Run => format!("`{flag}` is a flag of `labctl check`"),
        }));
    }
    if args.interactive && args.users.is_some() {
        return Err(bad(
            "`--interactive` is one student at a time: drop `--users` (or drop `--interactive`)",
        ));
    }
    Ok(())
}

/// The command line's values, parsed and checked before anything is read or started.
struct Request {
    /// `--var`.
    cli_vars: Vars,
    /// `LABCTL_VAR_*`, with the sandbox's `cluster_subdomain` under `--sandbox`.
    env_vars: Vars,
    targets: Vec<ReportTarget>,
    default_timeout: Duration,
    mesh_delay: Duration,
    selection: Selection,
    /// Kubeconfig choice and the run's kube connections.
    kube: Arc<KubeOptions>,
}

impl Request {
    fn parse(args: &RunArgs) -> Result<Request, Stop> {
        let cli_vars = VarArg::collect(&args.vars);
        let targets = with_github_default(args.reports.clone());
        let default_timeout = args.timeout.unwrap_or(Duration::from_secs(120));
        if default_timeout.is_zero() {
            return Err(bad(
                "--timeout 0s would stop every step at once; give a duration such as 30s",
            ));
        }
        let mesh_delay = args.mesh_delay;
        let mut env_vars = Sources::env_vars();
        if args.sandbox {
            // The sandbox's Routes live under its apps domain, as a cluster's under its own.
            env_vars
                .entry("cluster_subdomain".into())
                .or_insert_with(|| crate::sandbox::APPS_DOMAIN.into());
        }
        Ok(Request {
            cli_vars,
            env_vars,
            targets,
            default_timeout,
            mesh_delay,
            selection: Selection {
                from: args.from.as_deref().map(StepRef::parse),
                to: args.to.as_deref().map(StepRef::parse),
                only: args.only.iter().map(|s| StepRef::parse(s)).collect(),
            },
            kube: Arc::new(KubeOptions::new(
                args.kubeconfig.clone(),
                args.context.clone(),
            )),
        })
    }

    /// `--var` first, then the environment.
    fn vars(&self) -> [&Vars; 2] {
        [&self.cli_vars, &self.env_vars]
    }

    /// The `username` the run names (`--var` or `LABCTL_VAR_username`), if any.
    fn named_user(&self) -> Option<&String> {
        self.vars().into_iter().find_map(|v| v.get("username"))
    }
}

/// The users to run for (one `None` without `--users`/`--users-from`); `None`
/// when `--users-from` names nobody, which is said and is no error.
fn users_of(args: &RunArgs) -> Result<Option<Vec<Option<User>>>, Stop> {
    let users = match (&args.users, &args.users_from) {
        (Some(UserList(users)), _) => users.clone(),
        (None, Some(report)) => {
            let users = super::users_from::users(report, args.failed)
                .map_err(|e| bad(format!("--users-from: {e}")))?;
            if users.is_empty() {
                eprintln!(
                    "{}: no user {}; nothing to run",
                    report.display(),
                    if args.failed { "failed" } else { "in it" }
                );
                return Ok(None);
            }
            users
        }
        (None, None) => return Ok(Some(vec![None])),
    };
    Ok(Some(users.into_iter().map(Some).collect()))
}

/// A workshop without kube checks never reads a kubeconfig; one with them
/// stops here, before any step, when no cluster answers.
async fn kube_preflight(
    kube: &Arc<KubeOptions>,
    env: &[(String, String)],
    plans: &[UserPlan],
) -> Result<(), Stop> {
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
    if !uses_kube {
        return Ok(());
    }
    let mut probe_env = env.to_vec();
    probe_env.extend(plans.first().map(|p| p.env.clone()).unwrap_or_default());
    crate::check::kube::preflight(Some(kube), &probe_env)
        .await
        .map_err(|e| {
            Stop::Environment(format!(
                "this workshop has kube checks, but {e}\n  = help: pass --kubeconfig FILE (and --context NAME), set KUBECONFIG, or run with --sandbox"
            ))
        })
}

fn engine_config(
    args: &RunArgs,
    mode: Mode,
    request: &Request,
    users: usize,
    grace: Duration,
    env: Vec<(String, String)>,
    workshop_root: std::path::PathBuf,
) -> Arc<EngineConfig> {
    // One user's steps run one at a time: keep labctl and its shells on one
    // CPU (see shell::affinity). With users in parallel, both CPUs are busy.
    let one_at_a_time = users <= 1 || args.jobs <= 1 || args.interactive;
    let colocation = match one_at_a_time && std::env::var_os("LABCTL_NO_PIN").is_none() {
        true => Colocation::pin_process(),
        false => None,
    };
    Arc::new(EngineConfig {
        mode,
        colocation,
        shell: args.shell.clone(),
        env,
        default_timeout: request.default_timeout,
        keep_going: args.keep_going,
        no_wait: args.no_wait,
        strict_output: args.strict_output,
        strict_checks: args.strict_checks,
        capture_cap: crate::shell::DEFAULT_CAPTURE_CAP,
        grace,
        workshop_root,
        kube: request.kube.clone(),
    })
}

/// `--update-output`: rewrites the fences that drifted; a page that changed
/// under the run is bad input.
fn update_output(summary: &RunSummary) -> Result<(), Stop> {
    if summary.updates.is_empty() {
        return Ok(());
    }
    let places = super::update_output::apply(&summary.updates).map_err(bad)?;
    eprintln!(
        "updated {}",
        super::list::plural(places.len(), "expected-output fence")
    );
    for place in places {
        eprintln!("  rewrote {place}");
    }
    Ok(())
}

fn exit_of(summary: &RunSummary, reports_ok: bool) -> Exit {
    if summary.stats.interrupted {
        Exit::Interrupted
    } else if summary.stats.failed > 0 || !reports_ok {
        Exit::Failed
    } else {
        Exit::Success
    }
}
