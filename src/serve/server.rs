//! Starting a labctl web server, the one way `serve` and `board --web` do it: bind,
//! make the access token for the bound port, print the URL with the token, and serve
//! routes until told to stop, letting open requests finish for a moment.

use std::future::{Future, IntoFuture as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use super::access::Access;

/// How long open requests may take to finish once the server is told to stop.
/// Longer-lived connections (a terminal's WebSocket) are dropped after it.
const DRAIN: Duration = Duration::from_secs(1);

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The system's reason.
        source: std::io::Error,
    },
    /// /dev/urandom could not be read.
    #[error("cannot make an access token: {0}")]
    Token(std::io::Error),
}

/// A bound listener and the token that guards it.
pub(crate) struct Server {
    listener: TcpListener,
    /// The token layer for the bound port.
    pub access: Arc<Access>,
}

impl Server {
    /// Binds `addr` (port 0: a free port) and makes the token for the port bound.
    pub(crate) async fn bind(addr: SocketAddr) -> Result<Server, StartError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let access = Access::new(port).map_err(StartError::Token)?;
        Ok(Server {
            listener,
            access: Arc::new(access),
        })
    }

    /// The address to open, with the token: loopback when bound to every interface.
    pub(crate) fn url(&self) -> String {
        let (host, port) = match self.listener.local_addr() {
            Ok(a) if a.ip().is_unspecified() => ("127.0.0.1".to_string(), a.port()),
            Ok(a) => (a.ip().to_string(), a.port()),
            Err(_) => ("127.0.0.1".to_string(), 0),
        };
        format!("http://{host}:{port}/?token={}", self.access.token())
    }

    /// Prints `labctl COMMAND: open URL` on stdout (scripts read it there) and, with
    /// `open`, hands the URL to the desktop's browser.
    pub(crate) fn announce(&self, command: &str, open: bool) {
        let url = self.url();
        crate::stdout::print(&format!("labctl {command}: open {url}\n"));
        if open {
            let _ = std::process::Command::new("xdg-open")
                .arg(&url)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
        }
    }

    /// Serves `routes` until `stop` completes, then gives open requests [`DRAIN`] to end.
    pub(crate) async fn run(
        self,
        routes: Router,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Keystrokes and their echo are small frames: without TCP_NODELAY, Nagle's
        // algorithm and delayed ACKs hold each one ~40 ms.
        let listener = axum::serve::ListenerExt::tap_io(self.listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let (stopped, stopping) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(listener, routes)
            .with_graceful_shutdown(async move {
                let _ = stopping.await;
            })
            .into_future();
        tokio::pin!(server);
        tokio::select! {
            r = &mut server => return r,
            () = stop => {}
        }
        let _ = stopped.send(());
        // A connection that outlives the drain (a WebSocket) is dropped with the server.
        tokio::time::timeout(DRAIN, server).await.unwrap_or(Ok(()))
    }
}

/// Ctrl-C or SIGTERM, for a server that has no other reason to stop.
pub(crate) async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
