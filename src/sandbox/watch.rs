//! Streaming watches: one JSON event per line over a chunked response, with bookmarks.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, Interval};

use super::select::{FieldSelector, LabelSelector};
use super::store::Change;
use super::table;
use super::types::ResourceType;

/// How often an idle watch that allows bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(5);

/// What the client asked of a watch.
#[derive(Debug)]
pub(super) struct WatchRequest {
    /// Type being watched.
    pub rtype: &'static ResourceType,
    /// Version the client asked for (objects are rewritten to it).
    pub version: String,
    /// Namespace being watched; `None` for all.
    pub namespace: Option<String>,
    /// Label filter.
    pub labels: LabelSelector,
    /// Field filter.
    pub fields: FieldSelector,
    /// `allowWatchBookmarks=true`.
    pub bookmarks: bool,
    /// `sendInitialEvents=true`: end the initial events with an annotated bookmark.
    pub initial_events_end: bool,
    /// Send each object as a one-row Table (`kubectl get -w`), with this `includeObject`.
    pub table: Option<Option<String>>,
    /// `timeoutSeconds`, after which the server ends the watch.
    pub timeout: Duration,
}

struct State {
    req: WatchRequest,
    pending: VecDeque<Bytes>,
    rx: broadcast::Receiver<Arc<Change>>,
    shutdown: watch::Receiver<bool>,
    deadline: Instant,
    tick: Interval,
    rv: u64,
}

fn line(v: &Value) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

impl State {
    fn event(&self, kind: &str, object: &Value) -> Bytes {
        let mut object = object.clone();
        object["apiVersion"] = json!(self.req.rtype.api_version(&self.req.version));
        if let Some(include) = &self.req.table {
            let rv = object
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            object = table::table(
                self.req.rtype,
                std::slice::from_ref(&object),
                rv,
                include.as_deref(),
            );
        }
        line(&json!({"type": kind, "object": object}))
    }

    fn bookmark(&self, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": self.rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({
            "kind": self.req.rtype.kind,
            "apiVersion": self.req.rtype.api_version(&self.req.version),
            "metadata": meta
        });
        line(&json!({"type": "BOOKMARK", "object": obj}))
    }

    fn wanted(&self, obj: &Value) -> bool {
        let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str);
        self.req.namespace.as_deref().is_none_or(|n| ns == Some(n))
            && self.req.labels.matches(obj)
            && self.req.fields.matches(obj)
    }
}

/// The response body of a watch: `initial` events first, then live changes from `rx` after `rv`,
/// until the client goes away (the stream is dropped), the timeout passes, or `shutdown` fires.
pub(super) fn body(
    req: WatchRequest,
    initial: Vec<Arc<Change>>,
    rv: u64,
    rx: broadcast::Receiver<Arc<Change>>,
    shutdown: watch::Receiver<bool>,
) -> Body {
    let mut tick = tokio::time::interval_at(Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut st = State {
        deadline: Instant::now() + req.timeout,
        req,
        pending: VecDeque::new(),
        rx,
        shutdown,
        tick,
        rv,
    };
    for c in &initial {
        if st.wanted(&c.object) {
            let b = st.event(c.kind.as_str(), &c.object);
            st.pending.push_back(b);
        }
    }
    if st.req.initial_events_end {
        let b = st.bookmark(true);
        st.pending.push_back(b);
    }
    let stream = futures::stream::unfold(st, |mut st| async move {
        loop {
            if let Some(b) = st.pending.pop_front() {
                return Some((Ok::<Bytes, Infallible>(b), st));
            }
            let next = tokio::select! {
                _ = st.shutdown.wait_for(|down| *down) => return None,
                _ = tokio::time::sleep_until(st.deadline) => return None,
                _ = st.tick.tick(), if st.req.bookmarks => None,
                r = st.rx.recv() => match r {
                    Ok(c) => Some(c),
                    // A client that fell this far behind re-lists, as with a real API server.
                    Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return None,
                },
            };
            match next {
                None => {
                    let b = st.bookmark(false);
                    st.pending.push_back(b);
                }
                Some(c) if c.rv > st.rv => {
                    st.rv = c.rv;
                    let same = c.rtype.group == st.req.rtype.group
                        && c.rtype.plural == st.req.rtype.plural;
                    if same && st.wanted(&c.object) {
                        let b = st.event(c.kind.as_str(), &c.object);
                        st.pending.push_back(b);
                    }
                }
                Some(_) => {}
            }
        }
    });
    Body::from_stream(stream)
}
