//! Cooperative cancellation shared by the engine, shells and checks (first Ctrl-C).

use tokio::sync::watch;

/// The side that requests cancellation.
#[derive(Debug, Clone)]
pub struct CancelHandle(watch::Sender<bool>);

/// The side that observes cancellation; cheap to clone.
#[derive(Debug, Clone)]
pub struct Cancel(watch::Receiver<bool>);

/// A connected handle and observer.
pub fn pair() -> (CancelHandle, Cancel) {
    let (tx, rx) = watch::channel(false);
    (CancelHandle(tx), Cancel(rx))
}

impl CancelHandle {
    /// Requests cancellation; every observer wakes.
    pub fn cancel(&self) {
        let _ = self.0.send(true);
    }
}

impl Cancel {
    /// An observer that is never cancelled.
    pub fn never() -> Cancel {
        let (tx, rx) = watch::channel(false);
        std::mem::forget(tx);
        Cancel(rx)
    }

    /// True once cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when cancellation is requested (at once if it already was).
    pub async fn cancelled(&self) {
        let mut rx = self.0.clone();
        let _ = rx.wait_for(|c| *c).await;
    }
}
