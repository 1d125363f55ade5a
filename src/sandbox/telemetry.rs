//! What the mesh proxy saw: one record per request or upstream connection, as Istio's
//! standard metrics label them, kept in a bounded ring for the Kiali graph API.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Records kept at most; the oldest go first (a long `labctl sandbox` stays bounded).
pub const CAPACITY: usize = 50_000;

/// Who sent a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// A client outside the mesh (the student's terminal, curl on the host).
    Unknown,
    /// A meshed workload.
    Workload(Workload),
}

/// A workload as Istio labels it (`source_workload`, `source_app`, `source_version`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Workload {
    /// Namespace.
    pub namespace: String,
    /// Deployment name.
    pub name: String,
    /// `app` label.
    pub app: String,
    /// `version` label.
    pub version: String,
}

/// Where a request went (`destination_service`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    /// A Kubernetes Service and the workload behind it.
    Service {
        /// The Service's namespace.
        namespace: String,
        /// The Service's name.
        name: String,
        /// The workload that answered.
        workload: Option<Workload>,
    },
    /// Dropped by the sidecar under `REGISTRY_ONLY`; `namespace` is the caller's.
    BlackHole {
        /// The caller's namespace.
        namespace: String,
    },
    /// Let out under `ALLOW_ANY` with no ServiceEntry.
    Passthrough {
        /// The caller's namespace.
        namespace: String,
    },
    /// An outside host registered by a ServiceEntry in `namespace`.
    ServiceEntry {
        /// The ServiceEntry's namespace.
        namespace: String,
        /// The registered host.
        host: String,
    },
}

impl Destination {
    /// The namespace Kiali draws the destination in.
    pub fn namespace(&self) -> &str {
        match self {
            Destination::Service { namespace, .. }
            | Destination::BlackHole { namespace }
            | Destination::Passthrough { namespace }
            | Destination::ServiceEntry { namespace, .. } => namespace,
        }
    }
}

/// `request_protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// HTTP requests with a response code.
    Http,
    /// TCP connections (TLS to an outside host), judged by response flags.
    Tcp,
}

impl Protocol {
    /// Kiali's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Tcp => "tcp",
        }
    }
}

/// One request or connection.
#[derive(Debug, Clone)]
pub struct Record {
    /// When it finished.
    pub at: SystemTime,
    /// Who sent it.
    pub source: Source,
    /// Where it went.
    pub destination: Destination,
    /// The host the caller asked for (Kiali's `hosts`).
    pub host: String,
    /// HTTP or TCP.
    pub protocol: Protocol,
    /// The HTTP status; `None` for TCP.
    pub code: Option<u16>,
    /// Envoy's response flags: `-` for none, `UH` when the blackhole dropped it.
    pub flags: &'static str,
    /// Bytes of the response.
    pub bytes: u64,
}

/// The bounded log of records.
#[derive(Debug, Default)]
pub struct Telemetry {
    records: Mutex<VecDeque<Record>>,
}

impl Telemetry {
    /// Adds a record, dropping the oldest beyond [`CAPACITY`].
    pub fn record(&self, r: Record) {
        let mut q = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= CAPACITY {
            q.pop_front();
        }
        q.push_back(r);
    }

    /// Calls `f` with the records newer than `window` ago, oldest first (under the lock, so
    /// `f` can borrow from them instead of cloning).
    pub fn within<T>(
        &self,
        window: Duration,
        f: impl FnOnce(&mut dyn Iterator<Item = &Record>) -> T,
    ) -> T {
        let since = SystemTime::now()
            .checked_sub(window)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let q = self.records.lock().unwrap_or_else(|e| e.into_inner());
        // Records arrive in time order: skip the old ones from the front.
        let first = q.partition_point(|r| r.at < since);
        f(&mut q.range(first..))
    }

    /// How many records are kept, for `/debug/state`.
    pub fn count(&self) -> usize {
        self.records.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(at: SystemTime) -> Record {
        Record {
            at,
            source: Source::Unknown,
            destination: Destination::BlackHole {
                namespace: "user1".into(),
            },
            host: "www.googleapis.com".into(),
            protocol: Protocol::Tcp,
            code: None,
            flags: "UH",
            bytes: 0,
        }
    }

    #[test]
    fn only_the_window_counts_and_memory_is_bounded() {
        let t = Telemetry::default();
        t.record(rec(SystemTime::now() - Duration::from_secs(120)));
        t.record(rec(SystemTime::now()));
        assert_eq!(t.within(Duration::from_secs(60), |rs| rs.count()), 1);
        for _ in 0..CAPACITY + 10 {
            t.record(rec(SystemTime::now()));
        }
        assert_eq!(t.count(), CAPACITY);
    }
}
