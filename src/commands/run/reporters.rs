//! The run's reporters: the console (or the prompter, interactively) and every
//! `--report` target, fed from one task that reads the engine's events.

use std::time::Instant;

use crate::cancel::CancelHandle;
use crate::cli::RunArgs;
use crate::commands::Output;
use crate::engine::{EventSink, Mode, UserPlan};
use crate::event::EventKind;
use crate::report::check_console::{CheckConsole, CheckConsoleOptions};
use crate::report::console::{ConsoleOptions, ConsoleReporter};
use crate::report::github::GithubReporter;
use crate::report::html::HtmlReporter;
use crate::report::json::JsonReporter;
use crate::report::junit::JunitReporter;
use crate::report::mesh_fetch::{GraphApi, GraphTarget};
use crate::report::tap::TapReporter;
use crate::report::{ReportFormat, ReportTarget, Reporter};
use crate::sandbox::Sandbox;
use crate::vars::Vars;

/// The console for `mode` (none under `--interactive`: the prompter draws
/// everything, in page order) and one reporter per target.
pub(super) fn build(
    args: &RunArgs,
    mode: Mode,
    out: Output,
    targets: &[ReportTarget],
) -> Vec<Box<dyn Reporter>> {
    // A prompt must never sit under a spinner: interactive runs print plain lines.
    let live = out.live && !args.interactive;
    let mut reporters: Vec<Box<dyn Reporter>> = Vec::new();
    if !args.interactive {
        reporters.push(match mode {
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
        });
    }
    for t in targets {
        reporters.push(match t.format {
            ReportFormat::Json => Box::new(JsonReporter::new(t.path.clone())),
            ReportFormat::Html => Box::new(HtmlReporter::new(t.path.clone())),
            ReportFormat::Junit => Box::new(JunitReporter::new(t.path.clone())),
            ReportFormat::Tap => Box::new(TapReporter::new(t.path.clone())),
            ReportFormat::Github => Box::new(GithubReporter::from_env()),
        });
    }
    reporters
}

/// The paths as the student typed them, for commands labctl suggests.
fn workshop_words(paths: &[std::path::PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where the HTML report's mesh graphs come from, and for whom.
pub(super) struct MeshFetch {
    api: GraphApi,
    targets: Vec<GraphTarget>,
    started: Instant,
}

/// The mesh graphs to fetch, when a reporter draws them and there is a graph
/// API: `--var kiali_url=URL` (a real Kiali), else the sandbox. Each user's
/// namespace is their `username`; the run's clock sets the window.
pub(super) fn mesh_graph_fetch(
    reporters: &[Box<dyn Reporter>],
    plans: &[UserPlan],
    sandbox: Option<&Sandbox>,
    vars: [&Vars; 2],
) -> Option<MeshFetch> {
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
    Some(MeshFetch {
        api,
        targets,
        started: Instant::now(),
    })
}

/// The task that hands every event to every reporter.
pub(super) struct Reporting {
    task: tokio::task::JoinHandle<bool>,
}

impl Reporting {
    /// Starts the task; the sink it returns is the engine's. A reporter's error
    /// is printed and cancels the run.
    pub(super) fn start(
        mut reporters: Vec<Box<dyn Reporter>>,
        mesh: Option<MeshFetch>,
        cancel: CancelHandle,
    ) -> (EventSink, Reporting) {
        let (sink, mut rx) = EventSink::new();
        let task = tokio::spawn(async move {
            let mut ok = true;
            while let Some(ev) = rx.recv().await {
                // The graph is drawn from the cluster as the run left it, before the sandbox stops.
                if let (EventKind::RunFinished { .. }, Some(m)) = (&ev.kind, &mesh) {
                    let graphs = m.api.fetch(&m.targets, m.started.elapsed()).await;
                    reporters.iter_mut().for_each(|r| r.mesh_graphs(&graphs));
                }
                for r in &mut reporters {
                    if let Err(e) = r.event(&ev) {
                        eprintln!("error: {e}");
                        ok = false;
                        cancel.cancel();
                    }
                }
            }
            ok
        });
        (sink, Reporting { task })
    }

    /// Waits for the last event to be reported (every sink dropped); whether
    /// every report was written.
    pub(super) async fn finish(self) -> bool {
        self.task.await.unwrap_or(false)
    }
}
