//! What the mesh proxy saw: one record per request or upstream connection, as Istio's
//! standard metrics label them, kept in a bounded ring for the Kiali graph API.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Records kept at most; the oldest go first (a long `labctl sandbox` stays bounded).
pub(super) const CAPACITY: usize = 50_000;

/// Who sent a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Source {
    /// A client outside the mesh (the student's terminal, curl on the host).
    Unknown,
    /// A meshed workload.
    Workload(Workload),
}

/// A workload as Istio labels it (`source_workload`, `source_app`, `source_version`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Workload {
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
pub(super) enum Destination {
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
    pub(super) fn namespace(&self) -> &str {
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
pub(super) enum Protocol {
    /// HTTP requests with a response code.
    Http,
    /// TCP connections (TLS to an outside host), judged by response flags.
    Tcp,
}

impl Protocol {
    /// Kiali's name.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Tcp => "tcp",
        }
    }
}

/// One request or connection.
#[derive(Debug, Clone)]
pub(super) struct Record {
    /// When it finished.
    pub at: SystemTime,
    /// Who, where, how: the metric labels it counts under.
    pub labels: Labels,
    /// Bytes of the response.
    pub bytes: u64,
}

/// What a record says besides its time and size: Istio's metric labels. Thousands of records
/// share a handful of these, so the log keeps each once and counts by its index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Labels {
    /// Who sent it.
    pub source: Source,
    /// Where it went.
    pub destination: Destination,
    /// The host the caller asked for.
    pub host: String,
    /// HTTP or TCP.
    pub protocol: Protocol,
    /// The HTTP status; `None` for TCP.
    pub code: Option<u16>,
    /// Envoy's response flags.
    pub flags: &'static str,
}

/// One record as kept: its time, its label set's index, its size.
#[derive(Debug, Clone, Copy)]
struct Entry {
    at: SystemTime,
    labels: u32,
    bytes: u64,
}

#[derive(Debug, Default)]
struct Log {
    entries: VecDeque<Entry>,
    labels: Vec<Labels>,
    ids: HashMap<Labels, u32>,
}

impl Log {
    fn intern(&mut self, l: Labels) -> u32 {
        if let Some(id) = self.ids.get(&l) {
            return *id;
        }
        // Distinct label sets stay few; should they not, keep only those still referenced
        // (at most CAPACITY, so this runs at most once per CAPACITY new sets).
        if self.labels.len() >= 2 * CAPACITY {
            self.compact();
        }
        let id = self.labels.len() as u32;
        self.ids.insert(l.clone(), id);
        self.labels.push(l);
        id
    }

    fn compact(&mut self) {
        let mut renumber: HashMap<u32, u32> = HashMap::new();
        let mut labels = Vec::new();
        for e in &mut self.entries {
            let next = renumber.len() as u32;
            e.labels = *renumber.entry(e.labels).or_insert_with(|| {
                labels.push(self.labels[e.labels as usize].clone());
                next
            });
        }
        self.ids = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), i as u32))
            .collect();
        self.labels = labels;
    }
}

/// How many records of one label set fell in a window, and their bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Count {
    pub records: u64,
    /// Their bytes in all.
    pub bytes: u64,
}

/// The bounded log of records.
#[derive(Debug, Default)]
pub(super) struct Telemetry {
    log: Mutex<Log>,
}

impl Telemetry {
    /// Adds a record, dropping the oldest beyond [`CAPACITY`].
    pub(super) fn record(&self, r: Record) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let labels = log.intern(r.labels);
        if log.entries.len() >= CAPACITY {
            log.entries.pop_front();
        }
        log.entries.push_back(Entry {
            at: r.at,
            labels,
            bytes: r.bytes,
        });
    }

    /// Calls `f` with each label set seen within `window` and its count (under the lock, so
    /// `f` borrows instead of cloning). One pass over the window's records, no hashing.
    pub(super) fn counts_within<T>(
        &self,
        window: Duration,
        f: impl FnOnce(&mut dyn Iterator<Item = (&Labels, Count)>) -> T,
    ) -> T {
        let since = SystemTime::now()
            .checked_sub(window)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        // Records arrive in time order: skip the old ones from the front.
        let first = log.entries.partition_point(|e| e.at < since);
        let mut counts = vec![Count::default(); log.labels.len()];
        for e in log.entries.range(first..) {
            let c = &mut counts[e.labels as usize];
            c.records += 1;
            c.bytes += e.bytes;
        }
        f(&mut log.labels.iter().zip(counts).filter(|(_, c)| c.records > 0))
    }

    /// How many records are kept, for `/debug/state`.
    pub(super) fn count(&self) -> usize {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .len()
    }
}

/// A call to www.googleapis.com that the mesh's blackhole dropped.
#[cfg(test)]
pub(super) fn blackholed(source: Source, at: SystemTime) -> Record {
    Record {
        at,
        labels: Labels {
            source,
            destination: Destination::BlackHole {
                namespace: "user1".into(),
            },
            host: "www.googleapis.com".into(),
            protocol: Protocol::Tcp,
            code: None,
            flags: "UH",
        },
        bytes: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(at: SystemTime) -> Record {
        blackholed(Source::Unknown, at)
    }

    #[test]
    fn only_the_window_counts_and_memory_is_bounded() {
        let t = Telemetry::default();
        t.record(rec(SystemTime::now() - Duration::from_secs(120)));
        t.record(rec(SystemTime::now()));
        let records =
            |t: &Telemetry, w| t.counts_within(w, |cs| cs.map(|(_, c)| c.records).sum::<u64>());
        assert_eq!(records(&t, Duration::from_secs(60)), 1);
        assert_eq!(records(&t, Duration::from_secs(180)), 2);
        for _ in 0..CAPACITY + 10 {
            t.record(rec(SystemTime::now()));
        }
        assert_eq!(t.count(), CAPACITY);
    }

    #[test]
    fn compaction_keeps_the_referenced_label_sets() {
        let t = Telemetry::default();
        for i in 0..2 * CAPACITY + 5 {
            let mut r = rec(SystemTime::now());
            r.labels.host = format!("h{i}");
            t.record(r);
        }
        let hosts = t.counts_within(Duration::from_secs(60), |cs| {
            cs.map(|(l, _)| l.host.clone()).collect::<Vec<_>>()
        });
        assert_eq!(hosts.len(), CAPACITY);
        assert_eq!(hosts.last(), Some(&format!("h{}", 2 * CAPACITY + 4)));
        assert!(t.log.lock().unwrap().labels.len() <= 2 * CAPACITY);
    }
}
