//! `labctl board --web`: the board as a page, served by `serve::server` behind the same
//! token guard as `labctl serve`. The page gets the board as server-sent events (the
//! whole view each time: a few kilobytes, and no client state to drift); its "Save
//! snapshot" button asks the board's loop, which owns the board, to take one.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use futures::Stream;
use serde_json::json;
use tokio::sync::{mpsc, oneshot, watch};

use super::model::Board;
use super::report::board_section;
use crate::report::ReportError;
use crate::serve::access::{self, Access};
use crate::serve::assets::{self, Asset};

/// The page's own files.
const BOARD_ASSETS: &[Asset] = &[
    Asset {
        name: "board.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("assets/board.js"),
    },
    Asset {
        name: "board.css",
        mime: "text/css; charset=utf-8",
        body: include_str!("assets/board.css"),
    },
];

const PAGE: &str = include_str!("assets/board.html");

/// A press of "Save snapshot": answered with where it was written, or why not.
pub(crate) type SnapshotRequest = oneshot::Sender<Result<PathBuf, ReportError>>;

/// What the routes share.
struct BoardPage {
    access: Arc<Access>,
    html: String,
    view: watch::Receiver<Arc<str>>,
    snapshots: mpsc::UnboundedSender<SnapshotRequest>,
}

type Shared = Arc<BoardPage>;

/// The board's side of the page: sends the view to every open page. Dropping it ends
/// their event streams.
pub(crate) struct Publisher {
    view: watch::Sender<Arc<str>>,
    title: String,
}

impl Publisher {
    /// Sends the board as it stands to every open page (and to the next to open).
    pub(crate) fn publish(&self, board: &Board) {
        let text: Arc<str> = view_json(board, &self.title).into();
        self.view.send_replace(text);
    }

    /// Whether a page is open (the routes hold one receiver themselves).
    pub(crate) fn watched(&self) -> bool {
        self.view.receiver_count() > 1
    }
}

/// The page's routes for `access`, the publisher that feeds them, and the presses of
/// "Save snapshot" for the board's loop to answer.
pub(crate) fn page(
    access: Arc<Access>,
    board: &Board,
    title: &str,
) -> (Router, Publisher, mpsc::UnboundedReceiver<SnapshotRequest>) {
    let (view, rx) = watch::channel::<Arc<str>>(view_json(board, title).into());
    let (snap_tx, snap_rx) = mpsc::unbounded_channel();
    // Per user and column, what each check asserts in that user's words: the page
    // lists it in a cell's detail. It does not change, so it is sent once, in the page.
    let checks: Vec<Vec<&[String]>> = (0..board.user_count())
        .map(|u| {
            (0..board.columns().len())
                .map(|c| board.wording(u, c))
                .collect()
        })
        .collect();
    // Inside <script>, only `</` could end the element early.
    let checks = serde_json::to_string(&checks)
        .unwrap_or_else(|_| "[]".into())
        .replace("</", "<\\/");
    let html = PAGE
        .replace("{{title}}", &crate::report::html::escape(title))
        .replace("{{checks}}", &checks);
    let shared = Arc::new(BoardPage {
        access: access.clone(),
        html,
        view: rx,
        snapshots: snap_tx,
    });
    let routes = Router::new()
        .route("/", get(index))
        .route("/api/board", get(current))
        .route("/api/events", get(events))
        .route("/api/snapshot", post(snapshot))
        .merge(assets::router(BOARD_ASSETS))
        .layer(middleware::from_fn_with_state(
            shared.access.clone(),
            access::guard,
        ))
        .with_state(shared);
    let publisher = Publisher {
        view,
        title: title.to_string(),
    };
    (routes, publisher, snap_rx)
}

/// What the page draws: the title, the columns and the snapshot's `board` section, so
/// the page and the snapshots agree.
fn view_json(board: &Board, title: &str) -> String {
    let columns: Vec<_> = board
        .columns()
        .iter()
        .map(|c| json!({"id": c.id}))
        .collect();
    json!({
        "title": title,
        "columns": columns,
        "board": board_section(board),
    })
    .to_string()
}

async fn index(State(page): State<Shared>) -> Response {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Html(page.html.clone()),
    )
        .into_response()
}

async fn current(State(page): State<Shared>) -> Response {
    let text = page.view.borrow().clone();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text.to_string(),
    )
        .into_response()
}

/// Where one page's event stream is.
enum Phase {
    First,
    Live,
    Ended,
}

/// The view now, then at every change; `end` once the board stops (the stream then
/// ends, so the server's drain is not held).
fn view_stream(rx: watch::Receiver<Arc<str>>) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold((rx, Phase::First), |(mut rx, phase)| async move {
        match phase {
            Phase::Ended => return None,
            Phase::Live if rx.changed().await.is_err() => {
                let end = Event::default().event("end").data("stopped");
                return Some((Ok(end), (rx, Phase::Ended)));
            }
            Phase::First | Phase::Live => {}
        }
        let text = rx.borrow_and_update().clone();
        let board = Event::default().event("board").data(&*text);
        Some((Ok(board), (rx, Phase::Live)))
    })
}

async fn events(State(page): State<Shared>) -> impl IntoResponse {
    Sse::new(view_stream(page.view.clone()))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn snapshot(State(page): State<Shared>) -> Response {
    let (tx, rx) = oneshot::channel();
    if page.snapshots.send(tx).is_err() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"error": "the board is stopping"})),
        )
            .into_response();
    }
    match rx.await {
        Ok(Ok(path)) => axum::Json(json!({"saved": path.display().to_string()})).into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"error": e.to_string()})),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"error": "the board is stopping"})),
        )
            .into_response(),
    }
}
