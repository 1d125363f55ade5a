//! `labctl serve`: the workshop in the browser. Each lab rendered as in the
//! book beside real terminals (bash on a pty, drawn from a server-side screen),
//! with Run and Check on every step, guarded by a token (see `access`).

pub mod access;
pub mod assets;
pub mod marks;
pub mod page;
pub mod progress;
pub mod screen;
pub mod steps;
pub mod terminal;
mod web;

use std::path::PathBuf;
use std::sync::Arc;

pub use web::{App, router};

/// Serves `app` until Ctrl-C or SIGTERM; prints the URL (with the token) first.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    open: bool,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let host = match local.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        ip => ip.to_string(),
    };
    let url = format!(
        "http://{host}:{}/?token={}",
        local.port(),
        app.access.token()
    );
    println!("labctl serve: open {url}");
    if open {
        let _ = std::process::Command::new("xdg-open")
            .arg(&url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
    let routes = router(app.clone());
    // Not a graceful shutdown: open WebSockets would hold it forever. Stopping
    // drops every connection; the terminals are closed by the caller.
    // Keystrokes and their echo are small frames: without TCP_NODELAY, Nagle's
    // algorithm and delayed ACKs hold each one ~40 ms.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::select! {
        r = axum::serve(listener, routes) => r,
        _ = stop_signal() => Ok(()),
    }
}

async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// The folder images and other files beside the labs are served from.
pub fn files_root(workshop_root: &std::path::Path) -> PathBuf {
    if workshop_root.is_dir() {
        workshop_root.to_path_buf()
    } else {
        workshop_root
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}
