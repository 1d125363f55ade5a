//! `kube:` — a Kubernetes object (or the objects a label selector picks) asked of the API
//! server through kube-rs: it exists or is absent, contains `fields` (subset match), has a
//! condition True, satisfies a JSONPath, or the selector picks `count` objects.
//!
//! `apiVersion/Kind` is resolved through discovery, once per group per connection
//! ([`connect`]). With `within`, [`KubeChecker::wait`] watches the object and passes the
//! moment the check holds; a refused watch (403) falls back to polling with
//! `retry::eventually`, as does `hold` (which means re-checking over time).

pub mod connect;
mod subset;

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use futures::StreamExt;
use kube::api::{Api, DynamicObject, ListParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;
use tokio::time::Instant;

pub use connect::{ConnectError, Connection, KubeOptions, preflight};

use super::json::assert_json;
use super::predicate::{Verdict, cut};
use super::retry::{self, Eventually};
use super::{
    Check, CheckContext, CheckError, CheckOutcome, Evaluation, Waiting, error_chain, outcome,
};
use crate::lab::check_spec::{Assertion, KubeCheck, Predicate};
use crate::lab::model::Timing;
use connect::{ResolveError, Resolved};

/// Runs a `kube:` check.
pub struct KubeChecker<'s>(pub &'s KubeCheck);

/// The resolved place to look: client, resource type and namespace.
struct Target {
    api: Api<DynamicObject>,
    resolved: Resolved,
    /// None for cluster-scoped kinds.
    namespace: Option<String>,
}

impl Target {
    /// `serviceentries.networking.istio.io`, `configmaps`.
    fn resource(&self) -> String {
        let r = &self.resolved.resource;
        if r.group.is_empty() {
            r.plural.clone()
        } else {
            format!("{}.{}", r.plural, r.group)
        }
    }

    /// `in namespace user1` or `at cluster scope`.
    fn scope(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("in namespace {ns}"),
            None => "at cluster scope".into(),
        }
    }

    /// A kube error as a check error that names the verb, resource and namespace.
    fn error(&self, verb: &str, e: &kube::Error) -> CheckError {
        match e {
            kube::Error::Api(s) if s.code == 403 => CheckError::Kube(format!(
                "forbidden: cannot {verb} {} {}",
                self.resource(),
                self.scope()
            )),
            other => CheckError::Kube(format!(
                "could not {verb} {} {}: {}",
                self.resource(),
                self.scope(),
                error_chain(other)
            )),
        }
    }
}

/// What was found: the named object (or not), or the selected objects.
enum Found {
    One(Option<Value>),
    Many(Vec<Value>),
}

/// The object as JSON, with `apiVersion`/`kind` filled in (list items lack them).
fn to_json(o: &DynamicObject, r: &Resolved) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.entry("apiVersion")
            .or_insert_with(|| Value::String(r.resource.api_version.clone()));
        m.entry("kind")
            .or_insert_with(|| Value::String(r.resource.kind.clone()));
    }
    v
}

fn name_of(v: &Value) -> &str {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?")
}

/// `status.conditions[type == want].status == "True"`.
fn condition(obj: &Value, want: &str) -> Verdict {
    let expected = format!("condition {want}=True");
    let conds = obj.pointer("/status/conditions").and_then(Value::as_array);
    let field = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let Some(conds) = conds else {
        return Verdict {
            ok: false,
            expected,
            actual: "no status.conditions".into(),
            note: None,
        };
    };
    match conds.iter().find(|c| field(c, "type") == want) {
        Some(c) => {
            let status = field(c, "status");
            let why = [field(c, "reason"), field(c, "message")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(": ");
            Verdict {
                ok: status == "True",
                expected,
                actual: format!("{want}={status}"),
                note: (status != "True" && !why.is_empty()).then(|| cut(&why)),
            }
        }
        None => Verdict {
            ok: false,
            expected,
            actual: format!(
                "no {want} condition (conditions: {})",
                conds
                    .iter()
                    .map(|c| format!("{}={}", field(c, "type"), field(c, "status")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            note: None,
        },
    }
}

impl KubeChecker<'_> {
    /// Connects, resolves the kind and picks the namespace.
    async fn target(&self, ctx: &CheckContext<'_>) -> Result<Target, CheckError> {
        let k = self.0;
        let opts = match ctx.kube {
            Some(o) => o,
            None => connect::default_options(),
        };
        let conn: Arc<Connection> = connect::connect(opts, ctx.env)
            .await
            .map_err(|e| CheckError::Kube(e.to_string()))?;
        let resolved = conn
            .resolve(&k.api_version, &k.kind)
            .await
            .map_err(|e| match e {
                ResolveError::Unknown(m) => CheckError::Kube(m),
                ResolveError::Api(e) => CheckError::Kube(format!(
                    "could not discover {}/{}: {}",
                    k.api_version,
                    k.kind,
                    error_chain(&e)
                )),
            })?;
        let client = conn.client.clone();
        let (api, namespace) = if resolved.namespaced {
            let ns = k
                .namespace
                .clone()
                .unwrap_or_else(|| conn.namespace.clone());
            (
                Api::namespaced_with(client, &ns, &resolved.resource),
                Some(ns),
            )
        } else {
            (Api::all_with(client, &resolved.resource), None)
        };
        Ok(Target {
            api,
            resolved,
            namespace,
        })
    }

    /// One GET (by name) or LIST (by selector).
    async fn fetch(&self, t: &Target) -> Result<Found, CheckError> {
        let k = self.0;
        match (&k.name, &k.selector) {
            (Some(name), _) => match t.api.get_opt(name).await {
                Ok(o) => Ok(Found::One(o.map(|o| to_json(&o, &t.resolved)))),
                Err(e) => Err(t.error("get", &e)),
            },
            (None, sel) => {
                let lp = match sel {
                    Some(s) => ListParams::default().labels(s),
                    None => ListParams::default(),
                };
                match t.api.list(&lp).await {
                    Ok(l) => Ok(Found::Many(
                        l.items.iter().map(|o| to_json(o, &t.resolved)).collect(),
                    )),
                    Err(e) => Err(t.error("list", &e)),
                }
            }
        }
    }

    /// The description, with the namespace actually used.
    fn describe(&self, t: &Target) -> String {
        let mut k = self.0.clone();
        k.namespace = t.namespace.clone();
        Assertion::Kube(k).describe()
    }

    /// Judges what was found.
    fn judge(&self, t: &Target, found: &Found) -> Result<CheckOutcome, CheckError> {
        let verdicts = match found {
            Found::One(obj) => self.judge_one(t, obj.as_ref())?,
            Found::Many(items) => self.judge_many(items)?,
        };
        Ok(outcome(self.describe(t), verdicts))
    }

    /// The verdicts for a named object, `None` when it was not found.
    fn judge_one(&self, t: &Target, obj: Option<&Value>) -> Result<Vec<Verdict>, CheckError> {
        let k = self.0;
        let name = k.name.as_deref().unwrap_or_default();
        let what = format!("{} {name} {}", k.kind, t.scope());
        let mut verdicts = Vec::new();
        match obj {
            None => verdicts.push(Verdict {
                ok: k.absent,
                expected: if k.absent { "absent" } else { "exists" }.into(),
                actual: "not found".into(),
                note: (!k.absent).then(|| format!("no {what}")),
            }),
            Some(_) if k.absent => verdicts.push(Verdict {
                ok: false,
                expected: "absent".into(),
                actual: "exists".into(),
                note: Some(format!("{what} exists")),
            }),
            Some(o) => {
                self.judge_object(o, &mut verdicts)?;
                if verdicts.is_empty() {
                    verdicts.push(Verdict {
                        ok: true,
                        expected: "exists".into(),
                        actual: "exists".into(),
                        note: None,
                    });
                }
            }
        }
        Ok(verdicts)
    }

    /// The verdicts for the objects a selector picked: count, absent or exists,
    /// then the first object failing `fields`, `condition` or `json`.
    fn judge_many(&self, items: &[Value]) -> Result<Vec<Verdict>, CheckError> {
        let k = self.0;
        let n = items.len();
        let listed = || {
            let names: Vec<&str> = items.iter().map(name_of).collect();
            if names.is_empty() {
                "no objects".to_string()
            } else {
                format!(
                    "{n} object{}: {}",
                    if n == 1 { "" } else { "s" },
                    cut(&names.join(", "))
                )
            }
        };
        let verdict = |ok: bool, expected: String| Verdict {
            ok,
            expected,
            actual: listed(),
            note: None,
        };
        let mut verdicts = Vec::new();
        if let Some(c) = &k.count {
            let ok = c.min.is_none_or(|m| n as u64 >= m) && c.max.is_none_or(|m| n as u64 <= m);
            verdicts.push(verdict(ok, Predicate::Count(*c).to_string()));
        }
        if k.absent {
            verdicts.push(verdict(n == 0, "absent".into()));
        } else if k.count.is_none() {
            // With no count, a selector that picks nothing proves nothing.
            verdicts.push(verdict(n > 0, "exists".into()));
        }
        // fields, condition and json must hold of every selected object.
        for o in items {
            let mut each = Vec::new();
            self.judge_object(o, &mut each)?;
            if let Some(mut f) = each.into_iter().find(|v| !v.ok) {
                f.actual = format!("{}: {}", name_of(o), f.actual);
                verdicts.push(f);
                break;
            }
        }
        Ok(verdicts)
    }

    /// The `fields`, `condition` and `json` verdicts for one object.
    fn judge_object(&self, o: &Value, out: &mut Vec<Verdict>) -> Result<(), CheckError> {
        let k = self.0;
        if let Some(f) = &k.fields {
            let ok = subset::matches(f, o);
            out.push(Verdict {
                ok,
                expected: format!("has {}", cut(&serde_json::to_string(f).unwrap_or_default())),
                actual: if ok {
                    "has them".into()
                } else {
                    "fields differ".into()
                },
                note: (!ok).then(|| subset::diff(f, o)),
            });
        }
        if let Some(c) = &k.condition {
            out.push(condition(o, c));
        }
        if let Some(j) = &k.json {
            out.extend(assert_json(j, o)?);
        }
        Ok(())
    }

    /// Polls with the shared retry loop for what is left of `within` (from `start`),
    /// adding `note` (why it polls) to the outcome.
    async fn poll(
        &self,
        ctx: &CheckContext<'_>,
        timing: &Timing,
        start: Instant,
        note: Option<String>,
    ) -> Eventually {
        let mut left = *timing;
        left.within = timing.within.map(|w| w.saturating_sub(start.elapsed()));
        let mut ev = retry::eventually(&left, ctx.cancel, || self.evaluate(ctx)).await;
        ev.elapsed = start.elapsed();
        if let Some(note) = note {
            ev.result = match ev.result {
                Ok(mut o) => {
                    o.message = Some(match o.message.take() {
                        Some(m) => format!("{note}\n{m}"),
                        None => note,
                    });
                    Ok(o)
                }
                Err(CheckError::Kube(m)) => Err(CheckError::Kube(format!("{m} ({note})"))),
                Err(e) => Err(e),
            };
        }
        ev
    }

    /// With `within`: watches and passes the moment the check holds; falls back to polling
    /// when the watch (or its list) is refused, the kind cannot be resolved yet, or `hold`
    /// asks for re-checking. Without `within`: one evaluation.
    pub async fn wait(&self, ctx: &CheckContext<'_>, timing: &Timing) -> Eventually {
        let start = Instant::now();
        let Some(within) = timing.within.filter(|_| timing.hold.is_none()) else {
            return self.poll(ctx, timing, start, None).await;
        };
        // Unreachable API or unknown kind: the shared loop retries and reports the last error.
        let Ok(t) = self.target(ctx).await else {
            return self.poll(ctx, timing, start, None).await;
        };
        match self.watch(ctx, &t, start, start + within).await {
            Ok(ev) => ev,
            Err(verb) => {
                let note = format!("{verb} refused (403); polling");
                self.poll(ctx, timing, start, Some(note)).await
            }
        }
    }

    /// Follows the object(s) with a watch until the check holds or `deadline`; Err(verb)
    /// when the API refuses the list or watch (403).
    async fn watch(
        &self,
        ctx: &CheckContext<'_>,
        t: &Target,
        start: Instant,
        deadline: Instant,
    ) -> Result<Eventually, &'static str> {
        let mut tries = 0;
        let mut last: Option<Result<CheckOutcome, CheckError>> = None;
        let end = self
            .follow_target(ctx, t, Some(deadline), |seen| match seen {
                Seen::Judged(r) => {
                    tries += 1;
                    let holds = matches!(&r, Ok(o) if o.passed);
                    last = Some(r);
                    if holds {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                }
                // Retried by the watcher's backoff; reported if nothing better comes.
                Seen::Trouble(e) => {
                    if !matches!(last, Some(Ok(_))) {
                        last = Some(Err(e));
                    }
                    ControlFlow::Continue(())
                }
            })
            .await;
        let result = match end {
            WatchEnd::Refused(verb) => return Err(verb),
            WatchEnd::Cancelled => Err(CheckError::Cancelled),
            WatchEnd::Stopped | WatchEnd::Deadline | WatchEnd::Ended => last.unwrap_or_else(|| {
                Err(CheckError::Kube(format!(
                    "no answer about {} {} from the API server in time",
                    t.resource(),
                    t.scope()
                )))
            }),
        };
        Ok(Eventually {
            result,
            tries,
            elapsed: start.elapsed(),
        })
    }

    /// Follows the check for as long as `ctx.cancel` allows, telling `on` every verdict
    /// (after each change of the object(s)) and every trouble (the API server does not
    /// answer, the kind is unknown); used by `labctl board`. A refused watch (403) falls
    /// back to one evaluation every `interval`.
    pub async fn follow(
        &self,
        ctx: &CheckContext<'_>,
        interval: std::time::Duration,
        mut on: impl FnMut(Seen) + Send,
    ) {
        while !ctx.cancel.is_cancelled() {
            let t = match self.target(ctx).await {
                Ok(t) => t,
                Err(e) => {
                    on(Seen::Trouble(e));
                    self.pause(ctx, interval).await;
                    continue;
                }
            };
            let end = self
                .follow_target(ctx, &t, None, |seen| {
                    on(seen);
                    ControlFlow::Continue(())
                })
                .await;
            match end {
                WatchEnd::Refused(_) => break,
                WatchEnd::Cancelled => return,
                WatchEnd::Stopped | WatchEnd::Deadline | WatchEnd::Ended => continue,
            }
        }
        while !ctx.cancel.is_cancelled() {
            match self.evaluate(ctx).await {
                Err(CheckError::Cancelled) => return,
                Err(e) => on(Seen::Trouble(e)),
                Ok(o) => on(Seen::Judged(Ok(o))),
            }
            self.pause(ctx, interval).await;
        }
    }

    async fn pause(&self, ctx: &CheckContext<'_>, d: std::time::Duration) {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = ctx.cancel.cancelled() => {}
        }
    }

    /// Watches the object(s), judging after each change, until `on` breaks, `deadline`
    /// passes, the run is cancelled or the API refuses the list or watch (403).
    async fn follow_target(
        &self,
        ctx: &CheckContext<'_>,
        t: &Target,
        deadline: Option<Instant>,
        mut on: impl FnMut(Seen) -> ControlFlow<()>,
    ) -> WatchEnd {
        let k = self.0;
        let mut cfg = watcher::Config::default();
        if let Some(n) = &k.name {
            cfg = cfg.fields(&format!("metadata.name={n}"));
        }
        if let Some(s) = &k.selector {
            cfg = cfg.labels(s);
        }
        let stream = watcher(t.api.clone(), cfg).default_backoff();
        let mut stream = std::pin::pin!(stream);
        let mut mirror = Mirror::default();
        let until = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let mut until = std::pin::pin!(until);
        loop {
            let next = tokio::select! {
                n = stream.next() => n,
                _ = &mut until => return WatchEnd::Deadline,
                _ = ctx.cancel.cancelled() => return WatchEnd::Cancelled,
            };
            let seen = match next {
                None => return WatchEnd::Ended,
                Some(Err(e)) => match watch_trouble(t, &e) {
                    Ok(trouble) => Seen::Trouble(trouble),
                    Err(refused) => return refused,
                },
                Some(Ok(event)) => {
                    if !mirror.apply(event, &t.resolved) {
                        continue;
                    }
                    let found = if k.name.is_some() {
                        Found::One(mirror.objects.values().next().cloned())
                    } else {
                        Found::Many(mirror.objects.values().cloned().collect())
                    };
                    Seen::Judged(self.judge(t, &found))
                }
            };
            if on(seen).is_break() {
                return WatchEnd::Stopped;
            }
        }
    }
}

/// The watched objects by name, as the watch's events leave them.
#[derive(Default)]
struct Mirror {
    objects: BTreeMap<String, Value>,
    /// A relist in progress: replaces `objects` when it is done.
    relist: Option<BTreeMap<String, Value>>,
}

impl Mirror {
    /// Applies one event; true when `objects` changed (and should be judged again).
    fn apply(&mut self, event: watcher::Event<DynamicObject>, r: &Resolved) -> bool {
        let key = |o: &DynamicObject| o.metadata.name.clone().unwrap_or_default();
        match event {
            watcher::Event::Init => {
                self.relist = Some(BTreeMap::new());
                return false;
            }
            watcher::Event::InitApply(o) => {
                if let Some(list) = self.relist.as_mut() {
                    list.insert(key(&o), to_json(&o, r));
                }
                return false;
            }
            watcher::Event::InitDone => self.objects = self.relist.take().unwrap_or_default(),
            watcher::Event::Apply(o) => {
                self.objects.insert(key(&o), to_json(&o, r));
            }
            watcher::Event::Delete(o) => {
                self.objects.remove(&key(&o));
            }
        }
        true
    }
}

/// A failed list or watch as trouble to report, or the end of watching when
/// the API refused it (403).
fn watch_trouble(t: &Target, e: &watcher::Error) -> Result<CheckError, WatchEnd> {
    let (verb, err) = match e {
        watcher::Error::InitialListFailed(e) => ("list", Some(e)),
        watcher::Error::WatchStartFailed(e) | watcher::Error::WatchFailed(e) => ("watch", Some(e)),
        watcher::Error::WatchError(s) if s.code == 403 => return Err(WatchEnd::Refused("watch")),
        _ => ("watch", None),
    };
    if let Some(kube::Error::Api(s)) = err
        && s.code == 403
    {
        return Err(WatchEnd::Refused(verb));
    }
    Ok(match err {
        Some(e) => t.error(verb, e),
        None => CheckError::Kube(format!(
            "watch of {} {} failed: {}",
            t.resource(),
            t.scope(),
            error_chain(e)
        )),
    })
}

/// What following a check saw.
#[derive(Debug)]
pub enum Seen {
    /// A verdict on the object(s) as they are now (or a check that could not be judged).
    Judged(Result<CheckOutcome, CheckError>),
    /// The API server did not answer or refused; the watch retries with backoff.
    Trouble(CheckError),
}

/// Why a watch stopped.
enum WatchEnd {
    /// The caller had seen enough.
    Stopped,
    /// The deadline passed.
    Deadline,
    /// The watcher's stream ended.
    Ended,
    /// The run was cancelled.
    Cancelled,
    /// The API refused this verb (403).
    Refused(&'static str),
}

impl Check for KubeChecker<'_> {
    fn evaluate<'a>(&'a self, ctx: &'a CheckContext<'a>) -> Evaluation<'a> {
        Box::pin(async move {
            let run = async {
                let t = self.target(ctx).await?;
                let found = self.fetch(&t).await?;
                self.judge(&t, &found)
            };
            tokio::select! {
                r = run => r,
                _ = ctx.cancel.cancelled() => Err(CheckError::Cancelled),
            }
        })
    }

    fn evaluate_within<'a>(&'a self, ctx: &'a CheckContext<'a>, timing: &'a Timing) -> Waiting<'a> {
        Box::pin(self.wait(ctx, timing))
    }
}
