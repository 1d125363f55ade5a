//! Observing without running: the state checks of every user's steps, over and over,
//! for `labctl board`. Kube checks follow watches (a change arrives within a second);
//! http and command checks are polled every interval, their first tries spread over
//! the interval so sixty users do not fire at once, at most `jobs` at a time. Nothing
//! here runs a step's command; what is seen goes out as [`Observation`]s.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::{Semaphore, mpsc};

use super::runner::ShellRunner;
use crate::cancel::Cancel;
use crate::check::kube::{KubeChecker, KubeOptions, Seen, connect};
use crate::check::{CheckContext, CheckError, CheckOutcome, ScriptRunner, for_spec};
use crate::lab::check_spec::{Assertion, CheckSpec, parse_check};

/// What one probe looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ProbeId {
    /// The user's namespace exists (their environment is there).
    Environment(String),
    /// State check `check` of board column `column`.
    Check {
        /// Column (a step with state checks, or a lab's preconditions).
        column: usize,
        /// Index among that column's state checks.
        check: usize,
    },
}

/// One answer (or silence) about one probe of one user.
#[derive(Debug, Clone)]
pub(crate) struct Observation {
    /// Index of the user.
    pub user: usize,
    /// What was looked at.
    pub probe: ProbeId,
    /// What came back.
    pub answer: Answer,
    /// When.
    pub at: Instant,
}

/// The result of one look.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    /// The check was judged (it holds or it does not).
    Judged(CheckOutcome),
    /// No verdict: the cluster or service did not answer, or the check could not be evaluated.
    Trouble(String),
}

/// One user's share of the board.
#[derive(Debug, Clone)]
pub(crate) struct Watched {
    /// The user's index, echoed in observations.
    pub user: usize,
    /// Environment for the checks (a kubeconfig with their namespace, the sandbox's proxies).
    pub env: Vec<(String, String)>,
    /// Working directory of command checks.
    pub workdir: PathBuf,
    /// The state checks of each column, variables filled for this user.
    pub columns: Vec<Vec<CheckSpec>>,
}

/// How often and how many.
#[derive(Debug, Clone)]
pub(crate) struct ObserveConfig {
    /// Time between two polls of an http or command check.
    pub interval: Duration,
    /// Checks running at once (a watch counts until its first answer).
    pub jobs: usize,
    /// The kubeconfig and the connections, shared by every user.
    pub kube: Arc<KubeOptions>,
    /// Bytes kept per stream end of a command check.
    pub capture_cap: usize,
}

/// A probe ready to run.
struct Probe {
    user: usize,
    id: ProbeId,
    spec: CheckSpec,
    env: Arc<Vec<(String, String)>>,
    workdir: PathBuf,
}

/// Every user's probes, ready to run: known before the first look, so the board can
/// wait for each user's environment probes before it shows their checks' answers.
pub(crate) struct Observers {
    cfg: ObserveConfig,
    probes: Vec<Probe>,
}

impl Observers {
    /// The probes of every user: their environment (namespaces), then their checks.
    pub(crate) async fn prepare(cfg: ObserveConfig, users: Vec<Watched>) -> Observers {
        let mut probes = Vec::new();
        for u in users {
            let env = Arc::new(u.env.clone());
            let probe = |id, spec| Probe {
                user: u.user,
                id,
                spec,
                env: env.clone(),
                workdir: u.workdir.clone(),
            };
            for ns in environment_namespaces(&cfg.kube, &u).await {
                probes.push(probe(
                    ProbeId::Environment(ns.clone()),
                    namespace_check(&ns),
                ));
            }
            for (column, checks) in u.columns.iter().enumerate() {
                for (check, spec) in checks.iter().enumerate() {
                    probes.push(probe(ProbeId::Check { column, check }, spec.clone()));
                }
            }
        }
        Observers { cfg, probes }
    }

    /// The namespaces each user's environment is, by user index (`users` long).
    pub(crate) fn environments(&self, users: usize) -> Vec<Vec<String>> {
        let mut out = vec![Vec::new(); users];
        for p in &self.probes {
            if let (ProbeId::Environment(ns), Some(list)) = (&p.id, out.get_mut(p.user)) {
                list.push(ns.clone());
            }
        }
        out
    }

    /// Observes every probe until `cancel`; returns when every probe has stopped.
    pub(crate) async fn run(self, tx: mpsc::UnboundedSender<Observation>, cancel: Cancel) {
        let Observers { cfg, probes } = self;
        let polled = probes
            .iter()
            .filter(|p| !matches!(p.spec.kind, Assertion::Kube(_)))
            .count()
            .max(1);
        let permits = Arc::new(Semaphore::new(cfg.jobs.max(1)));
        let cfg = Arc::new(cfg);
        let mut tasks = Vec::new();
        let mut nth_polled = 0;
        for p in probes {
            let (cfg, tx, cancel, permits) =
                (cfg.clone(), tx.clone(), cancel.clone(), permits.clone());
            if matches!(p.spec.kind, Assertion::Kube(_)) {
                tasks.push(tokio::spawn(follow(cfg, p, tx, cancel, permits)));
            } else {
                let offset = cfg.interval.mul_f64(nth_polled as f64 / polled as f64);
                nth_polled += 1;
                tasks.push(tokio::spawn(poll(cfg, p, offset, tx, cancel, permits)));
            }
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// The namespaces a user's kube checks look in: each check's own, else the namespace
/// of the user's kubeconfig context. Empty when the workshop has no kube checks.
async fn environment_namespaces(kube: &KubeOptions, u: &Watched) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut needs_default = false;
    for spec in u.columns.iter().flatten() {
        if let Assertion::Kube(k) = &spec.kind {
            match &k.namespace {
                Some(ns) => {
                    out.insert(ns.clone());
                }
                None => needs_default = true,
            }
        }
    }
    if needs_default && let Ok(conn) = connect::connect(kube, &u.env).await {
        out.insert(conn.namespace.clone());
    }
    out
}

/// `kube: v1/Namespace, name: NS`.
fn namespace_check(ns: &str) -> CheckSpec {
    let raw = json!({"kube": "v1/Namespace", "name": ns});
    let (kind, timing) = parse_check(&raw).expect("a namespace check parses");
    CheckSpec {
        line: 0,
        raw,
        timing,
        kind,
        hint: None,
    }
}

/// What a probe's check sees: no step output, the user's environment and folder.
fn context<'a>(
    cfg: &'a ObserveConfig,
    p: &'a Probe,
    runner: &'a ShellRunner,
    cancel: &'a Cancel,
) -> CheckContext<'a> {
    CheckContext {
        output: None,
        env: &p.env,
        workdir: &p.workdir,
        runner: runner as &dyn ScriptRunner,
        cancel,
        kube: Some(&cfg.kube),
    }
}

fn runner(cfg: &ObserveConfig, p: &Probe, cancel: &Cancel) -> ShellRunner {
    ShellRunner {
        workdir: p.workdir.clone(),
        env: p.env.as_ref().clone(),
        cancel: cancel.clone(),
        capture_cap: cfg.capture_cap,
        // A check script is read-only: two seconds after SIGTERM is plenty.
        grace: Duration::from_secs(2),
    }
}

fn send(tx: &mpsc::UnboundedSender<Observation>, p: &Probe, answer: Answer) {
    let _ = tx.send(Observation {
        user: p.user,
        probe: p.id.clone(),
        answer,
        at: Instant::now(),
    });
}

fn answer_of(r: Result<CheckOutcome, CheckError>) -> Option<Answer> {
    match r {
        Ok(o) => Some(Answer::Judged(o)),
        Err(CheckError::Cancelled) => None,
        Err(e) => Some(Answer::Trouble(e.to_string())),
    }
}

/// A kube check: a watch, judged after every change; holds a permit until its first answer.
async fn follow(
    cfg: Arc<ObserveConfig>,
    p: Probe,
    tx: mpsc::UnboundedSender<Observation>,
    cancel: Cancel,
    permits: Arc<Semaphore>,
) {
    let Assertion::Kube(k) = &p.spec.kind else {
        return;
    };
    let mut permit = tokio::select! {
        p = permits.acquire_owned() => p.ok(),
        _ = cancel.cancelled() => return,
    };
    let runner = runner(&cfg, &p, &cancel);
    let ctx = context(&cfg, &p, &runner, &cancel);
    KubeChecker(k)
        .follow(&ctx, cfg.interval, |seen| {
            permit.take();
            let answer = match seen {
                Seen::Judged(r) => answer_of(r),
                Seen::Trouble(e) => answer_of(Err(e)),
            };
            if let Some(a) = answer {
                send(&tx, &p, a);
            }
        })
        .await;
}

/// An http or command check: one evaluation every interval, the first after `offset`.
async fn poll(
    cfg: Arc<ObserveConfig>,
    p: Probe,
    offset: Duration,
    tx: mpsc::UnboundedSender<Observation>,
    cancel: Cancel,
    permits: Arc<Semaphore>,
) {
    let runner = runner(&cfg, &p, &cancel);
    let ctx = context(&cfg, &p, &runner, &cancel);
    let check = for_spec(&p.spec.kind);
    let mut ticks = tokio::time::interval_at(
        tokio::time::Instant::now() + offset,
        cfg.interval.max(Duration::from_millis(10)),
    );
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = cancel.cancelled() => return,
        }
        let result = {
            let _permit = tokio::select! {
                p = permits.acquire() => p,
                _ = cancel.cancelled() => return,
            };
            check.evaluate(&ctx).await
        };
        match answer_of(result) {
            Some(a) => send(&tx, &p, a),
            None => return,
        }
    }
}
