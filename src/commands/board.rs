//! `labctl board`: validate, fill every user's labs, start the observers, and show the
//! board until q, Ctrl-C or SIGTERM; then write the requested reports.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

use super::{Output, load_all, print_diagnostics};
use crate::board::model::{Board, Change, Column, Student};
use crate::board::report::{self, Member, Started};
use crate::board::terminal::{Key, Screen, Terminal, render};
use crate::board::web::{self, Publisher, SnapshotRequest};
use crate::board::{column_id, columns, lines};
use crate::cancel;
use crate::check::kube::KubeOptions;
use crate::cli::BoardArgs;
use crate::cli::values::VarArg;
use crate::diag::has_errors;
use crate::engine::observe::{Observation, ObserveConfig, Observers, Watched};
use crate::exit_code::Exit;
use crate::lab::check_spec::Assertion;
use crate::lab::parse::ParseOptions;
use crate::plan::{FillMode, fill_workshop};
use crate::report::{ReportError, ReportTarget, check_targets};
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::serve::server::Server;
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
pub(crate) fn run(args: &BoardArgs, out: Output) -> Exit {
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
    let (loaded, diags) = load_all(&args.paths, ParseOptions::default());
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

/// The board's columns, from the first user's labs (every user has the same labs).
fn board_columns(first: &Member) -> Result<Vec<Column>, Exit> {
    let places = columns(&first.labs);
    if places.is_empty() {
        return Err(bad(
            "these labs have no state checks (kube:, http:, command:); the board has nothing to watch",
        ));
    }
    Ok(places
        .iter()
        .map(|(p, _)| Column {
            id: column_id(&first.labs, *p),
        })
        .collect())
}

/// Each user's row: their checks' wording and the namespaces that are their environment.
fn students(members: &[Member], observers: &Observers) -> Vec<Student> {
    let environments = observers.environments(members.len());
    members
        .iter()
        .zip(environments)
        .map(|(m, environment)| Student {
            name: m.name.clone(),
            checks: columns(&m.labs)
                .into_iter()
                .map(|(_, specs)| specs.iter().map(|c| c.kind.describe()).collect())
                .collect(),
            environment,
        })
        .collect()
}

/// With --web, the listener and its token, bound before anything starts so a taken
/// port is said at once.
async fn bind_web(args: &BoardArgs) -> Result<Option<Server>, Exit> {
    if !args.web {
        return Ok(None);
    }
    match Server::bind(SocketAddr::new(args.bind, args.port)).await {
        Ok(s) => Ok(Some(s)),
        Err(e) => {
            eprintln!("error: --web: {e}");
            Err(Exit::Environment)
        }
    }
}

async fn run_async(args: &BoardArgs, out: Output) -> Exit {
    let prepared = async {
        let s = settings(args)?;
        let (members, title, workdir) = members(args, out)?;
        let first = members
            .first()
            .ok_or_else(|| bad("--users names no users"))?;
        let cols = board_columns(first)?;
        let web = bind_web(args).await?;
        Ok::<_, Exit>((s, members, title, workdir, cols, web))
    };
    let (s, members, title, workdir, cols, web) = match prepared.await {
        Ok(p) => p,
        Err(e) => return e,
    };
    let sandbox = match start_sandbox(args, &s, &members).await {
        Ok(sb) => sb,
        Err(e) => return e,
    };
    let watching = Watching {
        args,
        settings: &s,
        members: &members,
        title: &title,
        out,
    };
    let exit = match watched(&members, sandbox.as_ref(), &workdir) {
        Ok(users) => watching.run(users, cols, web).await,
        Err(e) => e,
    };
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

/// Stops the run with a message when a kube check cannot reach a cluster.
async fn preflight(users: &[Watched], kube: &KubeOptions) -> Result<(), Exit> {
    let uses_kube = users
        .iter()
        .flat_map(|u| u.columns.iter().flatten())
        .any(|c| matches!(c.kind, Assertion::Kube(_)));
    if !uses_kube {
        return Ok(());
    }
    let probe_env = users.first().map(|u| u.env.clone()).unwrap_or_default();
    crate::check::kube::preflight(Some(kube), &probe_env)
        .await
        .map_err(|e| {
            eprintln!(
                "error: this workshop has kube checks, but {e}\n  = help: pass --kubeconfig FILE (and --context NAME), set KUBECONFIG, or run with --sandbox"
            );
            Exit::Environment
        })
}

/// What the watch needs that does not change while it runs.
struct Watching<'a> {
    args: &'a BoardArgs,
    settings: &'a Settings,
    members: &'a [Member],
    title: &'a str,
    out: Output,
}

impl Watching<'_> {
    /// Observes every user until q, Ctrl-C or SIGTERM, then writes the reports.
    async fn run(&self, users: Vec<Watched>, cols: Vec<Column>, web: Option<Server>) -> Exit {
        let kube = Arc::new(KubeOptions::new(
            self.args.kubeconfig.clone(),
            self.args.context.clone(),
        ));
        if let Err(e) = preflight(&users, &kube).await {
            return e;
        }
        let Some(signals) = Signals::listen() else {
            eprintln!("error: cannot listen for signals");
            return Exit::Environment;
        };
        let cfg = ObserveConfig {
            interval: self.settings.interval,
            jobs: self.args.jobs,
            kube,
            capture_cap: crate::shell::DEFAULT_CAPTURE_CAP,
        };
        let observers = Observers::prepare(cfg, users).await;
        let board = Board::new(
            cols,
            students(self.members, &observers),
            self.settings.stuck,
        );
        let (cancel_handle, cancel) = cancel::pair();
        let (tx, observations) = mpsc::unbounded_channel();
        let observers = tokio::spawn(observers.run(tx, cancel.clone()));
        let web = web.map(|server| WebView::start(server, &board, self.title));
        // The full-screen view would hide the URL and own the keys the page is for:
        // with --web, a terminal gets the line view (decisions.md).
        let tty = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        let mut session = Session {
            board,
            members: self.members,
            started: Started {
                at: SystemTime::now(),
                instant: Instant::now(),
            },
            snapshots: Snapshots {
                dir: self.args.snapshot_dir.clone(),
                taken: 0,
            },
            view: View::new(tty && web.is_none(), self.out.color, self.title),
            ok: true,
        };
        let mut inputs = Inputs {
            observations,
            signals,
            tick: tokio::time::interval(Duration::from_secs(1)),
            web_snapshots: None,
        };
        let web = web.map(|(w, presses)| {
            inputs.web_snapshots = Some(presses);
            w
        });
        session.watch(&mut inputs, web.as_ref()).await;
        cancel_handle.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), observers).await;
        if let Some(w) = web {
            w.stop().await;
        }
        session.finish(&self.settings.targets)
    }
}

/// SIGINT and SIGTERM end the board; SIGUSR1 saves a snapshot.
struct Signals {
    int: Signal,
    term: Signal,
    usr1: Signal,
}

impl Signals {
    fn listen() -> Option<Signals> {
        Some(Signals {
            int: signal(SignalKind::interrupt()).ok()?,
            term: signal(SignalKind::terminate()).ok()?,
            usr1: signal(SignalKind::user_defined1()).ok()?,
        })
    }
}

/// Everything the board's loop waits on.
struct Inputs {
    observations: mpsc::UnboundedReceiver<Observation>,
    signals: Signals,
    tick: tokio::time::Interval,
    web_snapshots: Option<mpsc::UnboundedReceiver<SnapshotRequest>>,
}

/// What woke the loop.
enum Wake {
    Observed(Observation),
    Key(Key),
    /// SIGUSR1 (None) or the page's button (Some: answer it).
    Snapshot(Option<SnapshotRequest>),
    Tick,
    Stop,
}

impl Inputs {
    async fn next(&mut self, keys: Option<&mut mpsc::UnboundedReceiver<Key>>) -> Wake {
        tokio::select! {
            o = self.observations.recv() => o.map_or(Wake::Stop, Wake::Observed),
            k = next_or_pending(keys) => match k {
                Some(Key::Quit) | None => Wake::Stop,
                Some(k) => Wake::Key(k),
            },
            _ = self.signals.usr1.recv() => Wake::Snapshot(None),
            Some(r) = next_or_pending(self.web_snapshots.as_mut()) => Wake::Snapshot(Some(r)),
            _ = self.tick.tick() => Wake::Tick,
            _ = self.signals.int.recv() => Wake::Stop,
            _ = self.signals.term.recv() => Wake::Stop,
        }
    }
}

/// The next message of `rx`, or never when there is no `rx`.
async fn next_or_pending<T>(rx: Option<&mut mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The board while it runs: its state, its views and its snapshots.
struct Session<'a> {
    board: Board,
    members: &'a [Member],
    started: Started,
    snapshots: Snapshots,
    view: View,
    /// False once a snapshot could not be written.
    ok: bool,
}

impl Session<'_> {
    async fn watch(&mut self, inputs: &mut Inputs, web: Option<&WebView>) {
        self.view.draw(&self.board);
        loop {
            let keys = self.view.terminal.is_some().then_some(&mut self.view.keys);
            let wake = inputs.next(keys).await;
            let tick = matches!(wake, Wake::Tick);
            let changed = match wake {
                Wake::Stop => break,
                Wake::Observed(o) => apply_all(&mut self.board, o, &mut inputs.observations),
                Wake::Key(k) => {
                    self.key(k);
                    Vec::new()
                }
                Wake::Snapshot(press) => {
                    self.snapshot(press);
                    Vec::new()
                }
                Wake::Tick => Vec::new(),
            };
            if !changed.is_empty() && self.snapshots.dir.is_some() {
                let saved = self.snapshots.take(&self.board, self.members, self.started);
                self.ok &= saved.is_ok();
            }
            self.view.show(&self.board, &changed, self.started);
            if let Some(w) = web
                && (!changed.is_empty() || (tick && w.publisher.watched()))
            {
                w.publisher.publish(&self.board);
            }
        }
    }

    fn key(&mut self, k: Key) {
        match k {
            Key::Snapshot => self.snapshot(None),
            k => {
                self.view.screen.key(k, &self.board);
            }
        }
    }

    /// Saves a snapshot for `s`, SIGUSR1 or the page's button, and says where.
    fn snapshot(&mut self, press: Option<SnapshotRequest>) {
        let saved = self.snapshots.take(&self.board, self.members, self.started);
        let message = match &saved {
            Ok(path) => format!("snapshot saved to {}", path.display()),
            Err(e) => format!("error: {e}"),
        };
        if self.view.terminal.is_none() {
            eprintln!("{message}");
        }
        self.view.screen.message = Some(message);
        if let Some(reply) = press {
            let _ = reply.send(saved);
        }
    }

    /// Leaves the screen and writes the reports.
    fn finish(self, targets: &[ReportTarget]) -> Exit {
        drop(self.view);
        if let Err(e) = report::write_reports(targets, &self.board, self.members, self.started) {
            eprintln!("error: {e}");
            return Exit::Environment;
        }
        if self.ok {
            Exit::Success
        } else {
            Exit::Environment
        }
    }
}

/// The page of --web: its publisher and the server's task.
struct WebView {
    publisher: Publisher,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl WebView {
    /// Prints the URL and serves the page; returns it and the button's presses.
    fn start(
        server: Server,
        board: &Board,
        title: &str,
    ) -> (WebView, mpsc::UnboundedReceiver<SnapshotRequest>) {
        let (routes, publisher, presses) = web::page(server.access.clone(), board, title);
        server.announce("board", false);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(server.run(routes, async move {
            let _ = stopped.await;
        }));
        let view = WebView {
            publisher,
            stop,
            server,
        };
        (view, presses)
    }

    /// Ends every page's event stream, then the server.
    async fn stop(self) {
        drop(self.publisher);
        let _ = self.stop.send(());
        if let Ok(Err(e)) = self.server.await {
            eprintln!("error: the board's web server stopped: {e}");
        }
    }
}

/// Folds `first` and everything already waiting.
fn apply_all(
    board: &mut Board,
    first: Observation,
    rx: &mut mpsc::UnboundedReceiver<Observation>,
) -> Vec<Change> {
    let mut changed = board.apply(&first);
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
    /// Writes the next snapshot; returns where.
    fn take(
        &mut self,
        board: &Board,
        members: &[Member],
        started: Started,
    ) -> Result<PathBuf, ReportError> {
        self.taken += 1;
        let dir = self.dir.clone().unwrap_or_else(|| PathBuf::from("."));
        let path = report::snapshot_path(&dir, self.taken);
        report::write_snapshot(&path, board, members, started).map(|()| path)
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
