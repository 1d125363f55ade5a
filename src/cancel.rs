//! Cooperative cancellation shared by the engine, shells and checks.
//!
//! Two levels, as cargo-nextest has: *stop* (the first signal: running
//! processes get SIGTERM, then SIGKILL after their grace period) and *kill*
//! (a second signal, or the stop taking too long: no grace is left, so every
//! wait for a process to end on its own is cut short).

use std::time::Duration;

use tokio::sync::watch;

/// How far cancellation has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Running,
    Stopping,
    Killing,
}

/// The side that requests cancellation.
#[derive(Debug, Clone)]
pub struct CancelHandle(watch::Sender<Level>);

/// The side that observes cancellation; cheap to clone.
#[derive(Debug, Clone)]
pub struct Cancel(watch::Receiver<Level>);

/// A connected handle and observer.
pub fn pair() -> (CancelHandle, Cancel) {
    let (tx, rx) = watch::channel(Level::Running);
    (CancelHandle(tx), Cancel(rx))
}

impl CancelHandle {
    /// Requests an orderly stop; every observer wakes.
    pub fn cancel(&self) {
        self.raise(Level::Stopping);
    }

    /// Requests a stop with no grace left (implies [`CancelHandle::cancel`]).
    pub fn kill(&self) {
        self.raise(Level::Killing);
    }

    fn raise(&self, to: Level) {
        self.0.send_if_modified(|l| {
            let raised = *l < to;
            *l = (*l).max(to);
            raised
        });
    }
}

impl Cancel {
    /// An observer that is never cancelled.
    pub fn never() -> Cancel {
        let (tx, rx) = watch::channel(Level::Running);
        std::mem::forget(tx);
        Cancel(rx)
    }

    /// True once cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow() >= Level::Stopping
    }

    /// True once no grace is left.
    pub fn is_killing(&self) -> bool {
        *self.0.borrow() >= Level::Killing
    }

    /// Resolves when cancellation is requested (at once if it already was).
    pub async fn cancelled(&self) {
        self.reached(Level::Stopping).await;
    }

    /// Resolves when no grace is left (at once if so already).
    pub async fn killing(&self) {
        self.reached(Level::Killing).await;
    }

    /// Sleeps for `grace`, or less when no grace is left.
    pub async fn grace(&self, grace: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(grace) => {}
            _ = self.killing() => {}
        }
    }

    async fn reached(&self, level: Level) {
        let mut rx = self.0.clone();
        // An error means every handle is gone: the level can no longer rise.
        if rx.wait_for(|l| *l >= level).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn kill_implies_cancel_and_cuts_grace() {
        let (h, c) = pair();
        assert!(!c.is_cancelled());
        h.cancel();
        assert!(c.is_cancelled() && !c.is_killing());
        h.kill();
        assert!(c.is_killing());
        h.cancel();
        assert!(c.is_killing(), "a later cancel does not lower the level");
        let t = std::time::Instant::now();
        c.grace(Duration::from_secs(30)).await;
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}
