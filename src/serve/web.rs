//! Routes of `labctl serve`: the page, the JSON API the page uses, the terminal
//! WebSockets and the files beside the labs, all behind `access::guard`.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};

use super::access::{self, Access};
use super::assets::{self, SERVE_ASSETS};
use super::page::workshop_file;
use super::screen::Viewer;
use super::steps::{ActionError, Workshop};

/// Everything the routes share.
pub(crate) struct App {
    /// The token layer.
    pub access: Arc<Access>,
    /// The workshop, its terminals and progress.
    pub workshop: Arc<Workshop>,
    /// The rendered page.
    pub page: String,
    /// Where images beside the labs are.
    pub files_root: PathBuf,
}

type Shared = Arc<App>;

/// Every route, behind the token guard.
pub(crate) fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/workshop", get(workshop))
        .route("/api/progress", get(progress).delete(reset))
        .route("/api/progress/reset", post(reset))
        .route("/api/steps/{id}/{action}", post(step_action))
        .route("/api/terminals/{n}/restart", post(restart))
        .route("/api/terminals/{n}/ws", get(terminal_ws))
        .merge(assets::router(SERVE_ASSETS))
        .fallback(get(file))
        .layer(middleware::from_fn_with_state(
            app.access.clone(),
            access::guard,
        ))
        .with_state(app)
}

async fn index(State(app): State<Shared>) -> Response {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Html(app.page.clone()),
    )
        .into_response()
}

async fn workshop(State(app): State<Shared>) -> Response {
    axum::Json(app.workshop.workshop_json()).into_response()
}

async fn progress(State(app): State<Shared>) -> Response {
    axum::Json(app.workshop.progress_json()).into_response()
}

async fn reset(State(app): State<Shared>) -> Response {
    match app.workshop.reset() {
        Ok(()) => axum::Json(app.workshop.progress_json()).into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": e.to_string()}),
        ),
    }
}

fn error(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn action_error(e: ActionError) -> Response {
    match &e {
        ActionError::UnknownStep(id) => error(
            StatusCode::NOT_FOUND,
            json!({"error": e.to_string(), "step": id}),
        ),
        ActionError::NotApplicable(_) => {
            error(StatusCode::CONFLICT, json!({"error": e.to_string()}))
        }
        ActionError::Terminal(..) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": e.to_string()}),
        ),
    }
}

async fn step_action(
    State(app): State<Shared>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    if let Err(e) = app.workshop.find(&id) {
        return action_error(e);
    }
    if action == "cancel" {
        return match app.workshop.cancel(&id) {
            Ok(was) => axum::Json(json!({"cancelled": was})).into_response(),
            Err(e) => action_error(e),
        };
    }
    if !matches!(action.as_str(), "run" | "check" | "interrupt") {
        return error(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no action `{action}`: use run, check, interrupt or cancel")}),
        );
    }
    // Its own task: a browser that goes away never stops a running command.
    let ws = app.workshop.clone();
    let task = tokio::spawn(async move {
        match action.as_str() {
            "run" => ws.run(&id).await,
            "check" => ws.check(&id).await,
            _ => ws.interrupt(&id).await,
        }
    });
    match task.await {
        Ok(Ok(rec)) => axum::Json(rec).into_response(),
        Ok(Err(e)) => action_error(e),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": e.to_string()}),
        ),
    }
}

async fn restart(State(app): State<Shared>, Path(n): Path<u32>) -> Response {
    if !app.workshop.terminal_numbers().contains(&n) {
        return error(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no terminal {n}")}),
        );
    }
    match app.workshop.terminals.restart(n) {
        Ok(_) => axum::Json(json!({"terminal": n})).into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": e.to_string()}),
        ),
    }
}

async fn terminal_ws(
    State(app): State<Shared>,
    Path(n): Path<u32>,
    ws: WebSocketUpgrade,
) -> Response {
    if !app.workshop.terminal_numbers().contains(&n) {
        return error(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no terminal {n}")}),
        );
    }
    ws.on_upgrade(move |socket| terminal_session(app, n, socket))
}

/// One viewer of a terminal: screen diffs out, keystrokes and resizes in. The
/// shell lives on when the viewer goes; the next one gets the whole screen.
async fn terminal_session(app: Shared, n: u32, socket: WebSocket) {
    let (mut tx, mut rx) = socket.split();
    let term = match app.workshop.terminals.get(n) {
        Ok(t) => t,
        Err(e) => {
            let msg =
                json!({"type": "error", "error": format!("terminal {n} could not start: {e}")});
            let _ = tx.send(Message::Text(msg.to_string().into())).await;
            return;
        }
    };
    let mut changes = term.screen_changes();
    let mut viewer = Viewer::default();
    loop {
        if let Some(mut frame) = term.with_screen(|s| viewer.frame(s)) {
            frame["busy"] = json!(term.busy());
            frame["lastExit"] = json!(term.last_exit());
            if tx
                .send(Message::Text(frame.to_string().into()))
                .await
                .is_err()
            {
                return;
            }
        }
        if term.exited() {
            // The last word: the page offers a new shell, which is a new connection.
            let msg = json!({"type": "exited"}).to_string();
            if tx.send(Message::Text(msg.into())).await.is_err() {
                return;
            }
            while let Some(Ok(m)) = rx.next().await {
                if matches!(m, Message::Close(_)) {
                    return;
                }
            }
            return;
        }
        tokio::select! {
            _ = changes.changed() => {},
            m = rx.next() => match m {
                Some(Ok(Message::Text(t))) => handle_input(&term, &t),
                Some(Ok(Message::Binary(b))) => { let _ = term.input(&b); }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

fn handle_input(term: &super::terminal::Terminal, text: &str) {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return;
    };
    match v["type"].as_str() {
        Some("input") => {
            if let Some(d) = v["data"].as_str() {
                let _ = term.input(d.as_bytes());
            }
        }
        Some("resize") => {
            if let (Some(r), Some(c)) = (v["rows"].as_u64(), v["cols"].as_u64()) {
                term.resize(r as u16, c as u16);
            }
        }
        _ => {}
    }
}

async fn file(State(app): State<Shared>, uri: axum::http::Uri) -> Response {
    let rel = uri.path().trim_start_matches('/');
    let rel = percent_decode(rel);
    let Some(path) = workshop_file(&app.files_root, &rel) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, mime_of(&path))], bytes).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

fn mime_of(p: &std::path::Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()) {
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("css") => "text/css",
        Some("txt" | "yaml" | "yml") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
