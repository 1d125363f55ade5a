//! `labctl board`: validate, fill every user's labs, start the observers, and show the
//! board until q, Ctrl-C or SIGTERM; then write the requested reports.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::{Output, load_all, print_diagnostics};
use crate::board::model::{Board, Change, Column};
use crate::board::report::{self, Member, Started};
use crate::board::terminal::{Key, Screen, Terminal, render};
use crate::board::{column_id, columns, lines};
use crate::cancel;
use crate::check::kube::KubeOptions;
use crate::cli::BoardArgs;
use crate::cli::values::VarArg;
use crate::diag::has_errors;
use crate::engine::observe::{Observation, ObserveConfig, Watched, observe};
use crate::exit_code::Exit;
use crate::lab::check_spec::CheckKind;
use crate::plan::{FillMode, fill_workshop};
use crate::report::{ReportTarget, check_targets};
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::vars::Sources;

fn bad(msg: impl std::fmt::Display) -> Exit {
    eprintln!("error: {msg}");
    Exit::BadInput
}

/// Validated arguments.
struct Settings {
    targets: Vec<ReportTarget>,
    interval: Duration,
    stuck: Duration,
    mesh_delay: Duration,
}

fn settings(args: &BoardArgs) -> Result<Settings, Exit> {
    let targets = args.reports.clone();
    // Targets are judged by run's rules (folder exists, a regular file or
    // none, never an input page) before anything is watched.
    check_targets(&targets, &args.paths).map_err(bad)?;
    // Snapshots go to a folder of the board's own: made here, so the first
    // snapshot cannot fail on a missing folder.
    if let Some(dir) = &args.snapshot_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| bad(format!("--snapshot-dir {}: {e}", dir.display())))?;
    }
    Ok(Settings {
        targets,
        interval: args.interval,
        stuck: args.stuck,
        mesh_delay: args.mesh_delay,
    })
}

/// Runs `labctl board`.
pub fn run(args: &BoardArgs, out: Output) -> Exit {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run_async(args, out))
}

/// Every user's labs, filled; an undefined variable is bad input.
fn members(args: &BoardArgs, out: Output) -> Result<(Vec<Member>, String, PathBuf), Exit> {
    let cli_vars = VarArg::collect(&args.vars);
    let users = &args.users.0;
    let (loaded, diags) = load_all(&args.paths);
    if has_errors(&diags) {
        super::print_errors(diags, out);
        return Err(Exit::BadInput);
    }
    let first = loaded.first().ok_or_else(|| bad("no lab paths given"))?;
    let workdir = first.workshop.default_workdir();
    let title = first
        .workshop
        .labs
        .first()
        .map(|l| l.title.clone())
        .unwrap_or_default();
    let mode = FillMode {
        allow_unsafe: args.allow_unsafe_vars,
        require_defined: true,
    };
    let env_vars = Sources::env_vars();
    let mut members = Vec::new();
    for u in users {
        let sources = Sources {
            user: u.variables(),
            cli: cli_vars.clone(),
            env: env_vars.clone(),
            ..Sources::default()
        };
        let mut labs = Vec::new();
        let mut problems = Vec::new();
        for l in &loaded {
            let (filled, d) = fill_workshop(&l.workshop, &sources, mode);
            labs.extend(filled);
            problems.extend(d);
        }
        if !problems.is_empty() {
            print_diagnostics(&problems, out);
            return Err(Exit::BadInput);
        }
        members.push(Member {
            name: u.name.clone(),
            vars: sources.user.into_iter().collect(),
            labs,
        });
    }
    Ok((members, title, workdir))
}

async fn start_sandbox(
    args: &BoardArgs,
    s: &Settings,
    members: &[Member],
) -> Result<Option<Sandbox>, Exit> {
    if !args.sandbox {
        return Ok(None);
    }
    let highest = members
        .iter()
        .filter_map(|m| m.name.strip_prefix("user")?.parse::<u32>().ok())
        .max()
        .unwrap_or(1);
    super::start_sandbox(SandboxConfig {
        users: highest,
        mesh_delay: s.mesh_delay,
        refuse: Vec::new(),
        names: members.iter().map(|m| m.name.clone()).collect(),
    })
    .await
    .map(Some)
}

async fn run_async(args: &BoardArgs, out: Output) -> Exit {
    let s = match settings(args) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let (members, title, workdir) = match members(args, out) {
        Ok(m) => m,
        Err(e) => return e,
    };
    let Some(first) = members.first() else {
        return bad("--users names no users");
    };
    let places = columns(&first.labs);
    if places.is_empty() {
        return bad(
            "these labs have no state checks (kube:, http:, command:); the board has nothing to watch",
        );
    }
    let cols: Vec<Column> = places
        .iter()
        .map(|(p, checks)| Column {
            id: column_id(&first.labs, *p),
            lab: match p {
                crate::board::Place::Preconditions(l) | crate::board::Place::Step(l, _) => *l,
            },
            checks: checks.iter().map(|c| c.kind.describe()).collect(),
        })
        .collect();
    let sandbox = match start_sandbox(args, &s, &members).await {
        Ok(sb) => sb,
        Err(e) => return e,
    };
    let exit = watch(
        args,
        &s,
        &members,
        cols,
        &title,
        workdir,
        sandbox.as_ref(),
        out,
    )
    .await;
    if let Some(sb) = sandbox {
        sb.shutdown().await;
    }
    exit
}

/// The observers' inputs, one per user.
fn watched(
    members: &[Member],
    sandbox: Option<&Sandbox>,
    workdir: &std::path::Path,
) -> Result<Vec<Watched>, Exit> {
    members
        .iter()
        .enumerate()
        .map(|(u, m)| {
            let env = match sandbox {
                Some(sb) => sb.env_for_user(&m.name).map_err(|e| {
                    eprintln!("error: the sandbox could not prepare {}: {e}", m.name);
                    Exit::Environment
                })?,
                None => proxy_env(),
            };
            Ok(Watched {
                user: u,
                env,
                workdir: workdir.to_path_buf(),
                columns: columns(&m.labs).into_iter().map(|(_, c)| c).collect(),
            })
        })
        .collect()
}

/// Off the sandbox, http checks go through labctl's own proxies, as the instructor's
/// curl would (`run` gives checks only the step environment).
fn proxy_env() -> Vec<(String, String)> {
    crate::check::http::PROXY_VARS
        .iter()
        .filter_map(|n| std::env::var(n).ok().map(|v| (n.to_string(), v)))
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn watch(
    args: &BoardArgs,
    s: &Settings,
    members: &[Member],
    cols: Vec<Column>,
    title: &str,
    workdir: PathBuf,
    sandbox: Option<&Sandbox>,
    out: Output,
) -> Exit {
    let users = match watched(members, sandbox, &workdir) {
        Ok(u) => u,
        Err(e) => return e,
    };
    let kube = Arc::new(KubeOptions::new(
        args.kubeconfig.clone(),
        args.context.clone(),
    ));
    let uses_kube = users
        .iter()
        .flat_map(|u| u.columns.iter().flatten())
        .any(|c| matches!(c.kind, CheckKind::Kube(_)));
    if uses_kube {
        let probe_env = users.first().map(|u| u.env.clone()).unwrap_or_default();
        if let Err(e) = crate::check::kube::preflight(Some(&kube), &probe_env).await {
            eprintln!(
                "error: this workshop has kube checks, but {e}\n  = help: pass --kubeconfig FILE (and --context NAME), set KUBECONFIG, or run with --sandbox"
            );
            return Exit::Environment;
        }
    }
    let mut board = Board::new(
        cols,
        members.iter().map(|m| m.name.clone()).collect(),
        s.stuck,
    );
    let started = Started {
        at: SystemTime::now(),
        instant: Instant::now(),
    };
    let (cancel_handle, cancel) = cancel::pair();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let cfg = ObserveConfig {
        interval: s.interval,
        jobs: args.jobs,
        kube,
        capture_cap: crate::shell::DEFAULT_CAPTURE_CAP,
    };
    let observers = tokio::spawn(observe(cfg, users, tx, cancel.clone()));
    let mut view = View::new(
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        out.color,
        title,
    );
    let mut snapshots = Snapshots {
        dir: args.snapshot_dir.clone(),
        taken: 0,
    };
    let (Ok(mut int), Ok(mut term), Ok(mut usr1)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::user_defined1()),
    ) else {
        eprintln!("error: cannot listen for signals");
        return Exit::Environment;
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut ok = true;
    view.draw(&board);
    loop {
        let mut changed = Vec::new();
        tokio::select! {
            o = rx.recv() => {
                let Some(o) = o else { break };
                changed.extend(apply_all(&mut board, o, &mut rx));
            }
            k = view.keys.recv(), if view.terminal.is_some() => match k {
                Some(Key::Quit) | None => break,
                Some(Key::Snapshot) => {
                    let saved = snapshots.take(&board, members, started);
                    view.screen.message = Some(saved);
                }
                Some(k) => { view.screen.key(k, &board); }
            },
            _ = usr1.recv() => {
                let saved = snapshots.take(&board, members, started);
                view.screen.message = Some(saved.clone());
                if view.terminal.is_none() {
                    eprintln!("{saved}");
                }
            }
            _ = tick.tick() => {}
            _ = int.recv() => break,
            _ = term.recv() => break,
        }
        if !changed.is_empty() && snapshots.dir.is_some() {
            let saved = snapshots.take(&board, members, started);
            if saved.starts_with("error") {
                ok = false;
            }
        }
        view.show(&board, &changed, started);
    }
    cancel_handle.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), observers).await;
    drop(view);
    if let Err(e) = report::write_reports(&s.targets, &board, members, started) {
        eprintln!("error: {e}");
        return Exit::Environment;
    }
    if ok { Exit::Success } else { Exit::Environment }
}

/// Folds `first` and everything already waiting.
fn apply_all(
    board: &mut Board,
    first: Observation,
    rx: &mut mpsc::UnboundedReceiver<Observation>,
) -> Vec<Change> {
    let mut changed: Vec<Change> = board.apply(&first).into_iter().collect();
    while let Ok(o) = rx.try_recv() {
        changed.extend(board.apply(&o));
    }
    changed
}

/// Numbered JSON snapshots.
struct Snapshots {
    dir: Option<PathBuf>,
    taken: usize,
}

impl Snapshots {
    /// Writes the next snapshot; the message says where (or why not).
    fn take(&mut self, board: &Board, members: &[Member], started: Started) -> String {
        self.taken += 1;
        let dir = self.dir.clone().unwrap_or_else(|| PathBuf::from("."));
        let path = report::snapshot_path(&dir, self.taken);
        match report::write_snapshot(&path, board, members, started) {
            Ok(()) => format!("snapshot saved to {}", path.display()),
            Err(e) => format!("error: {e}"),
        }
    }
}

/// The full-screen view, or a line per change.
struct View {
    terminal: Option<Terminal>,
    keys: mpsc::UnboundedReceiver<Key>,
    screen: Screen,
    color: bool,
    title: String,
}

impl View {
    fn new(tty: bool, color: bool, title: &str) -> View {
        let (tx, keys) = mpsc::unbounded_channel();
        let terminal = if tty { Terminal::enter(tx).ok() } else { None };
        View {
            terminal,
            keys,
            screen: Screen::default(),
            color,
            title: title.to_string(),
        }
    }

    fn draw(&mut self, board: &Board) {
        match &self.terminal {
            Some(t) => {
                let (w, h) = Terminal::size();
                t.draw(&render(
                    board,
                    &mut self.screen,
                    w,
                    h,
                    self.color,
                    &self.title,
                ));
            }
            None => eprintln!(
                "labctl board: {} users × {} steps watched; a line per change; Ctrl-C ends it",
                board.user_count(),
                board.columns().len(),
            ),
        }
    }

    fn show(&mut self, board: &Board, changed: &[Change], started: Started) {
        match &self.terminal {
            Some(_) => self.draw(board),
            None => {
                let quiet = |c: &&Change| matches!(c, Change::Cell { user, .. } if board.missing_environment(*user).is_some());
                for c in changed.iter().filter(|c| !quiet(c)) {
                    eprintln!("{}", lines::line(board, c, started.instant.elapsed()));
                }
            }
        }
    }
}
