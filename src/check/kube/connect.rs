//! Connecting to the cluster: kubeconfig resolution as kubectl does it, one client per
//! cluster and identity for the run (kubeconfigs that differ only in namespace, as
//! fan-out users' do, share it), and API discovery cached per group.
//!
//! Nothing is read at module load: a workshop without kube checks never touches a
//! kubeconfig. The caches live in [`KubeOptions`], which the engine creates once per run
//! (a kube `Client` is bound to the tokio runtime it was made on, so a cache must not
//! outlive the run's runtime); without one, a process-wide default is used.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use kube::Client;
use kube::config::{Config, KubeConfigOptions, Kubeconfig};
use kube::discovery::{ApiCapabilities, ApiGroup, ApiResource, Scope};

/// How long connecting to the API server may take before the try counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where kube checks get their cluster from, and the connections made for the run.
#[derive(Debug, Default)]
pub struct KubeOptions {
    /// Explicit kubeconfig (`--kubeconfig`); otherwise KUBECONFIG, ~/.kube/config, in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// Explicit context (`--context`); otherwise the kubeconfig's current context.
    pub context: Option<String>,
    connections: Mutex<HashMap<String, Arc<Connection>>>,
    /// Clients and discovery by cluster and identity: fan-out users whose
    /// kubeconfigs differ only in namespace share one (a client loads the CA
    /// roots, and discovery asks the API server, each time one is made).
    clusters: Clusters,
}

/// Clusters by identity. The keys hold credentials, so Debug shows only the count.
#[derive(Default)]
struct Clusters(Mutex<HashMap<String, Arc<Cluster>>>);

impl std::fmt::Debug for Clusters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map(|m| m.len()).unwrap_or(0);
        write!(f, "{n} cluster(s)")
    }
}

impl KubeOptions {
    /// Options with an explicit kubeconfig and/or context (None: the standard resolution).
    pub fn new(kubeconfig: Option<PathBuf>, context: Option<String>) -> KubeOptions {
        KubeOptions {
            kubeconfig,
            context,
            connections: Mutex::default(),
            clusters: Clusters::default(),
        }
    }
}

/// The options used when the check context carries none.
pub(crate) fn default_options() -> &'static KubeOptions {
    static DEFAULT: OnceLock<KubeOptions> = OnceLock::new();
    DEFAULT.get_or_init(KubeOptions::default)
}

/// A client for one kubeconfig + context, and what discovery found so far.
pub struct Connection {
    /// The client.
    pub client: Client,
    /// The context's namespace, else "default".
    pub namespace: String,
    cluster: Arc<Cluster>,
}

/// What does not depend on the namespace: the client and what discovery found.
struct Cluster {
    client: Client,
    /// Discovered groups by name; the async lock is held during a discovery so that
    /// concurrent checks wait for it instead of repeating it.
    groups: tokio::sync::Mutex<HashMap<String, Arc<ApiGroup>>>,
    discoveries: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// Where the configuration comes from.
#[derive(Debug, Clone)]
enum Source {
    /// Kubeconfig files, merged in order, and what named them.
    Files(Vec<PathBuf>, String),
    /// The pod's service account.
    InCluster,
}

/// Why no client could be made: what was looked for, or what could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// `--kubeconfig` names a file that does not exist.
    #[error("the kubeconfig {} given to labctl does not exist", .0.display())]
    GivenMissing(PathBuf),
    /// Every file KUBECONFIG lists is missing.
    #[error("no Kubernetes configuration: KUBECONFIG={0} names no file that exists")]
    ListedMissing(String),
    /// Neither KUBECONFIG, nor ~/.kube/config, nor a service account.
    #[error(
        "no Kubernetes configuration: looked for KUBECONFIG (not set), {}, \
         and an in-cluster service account (KUBERNETES_SERVICE_HOST is not set)",
        match .default {
            Some(p) => format!("{} (does not exist)", p.display()),
            None => "~/.kube/config (HOME is not set)".into(),
        }
    )]
    NotFound {
        /// `$HOME/.kube/config`; None when HOME is not set.
        default: Option<PathBuf>,
    },
    /// A kubeconfig file could not be read.
    #[error("could not read kubeconfig {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// kube's complaint.
        source: kube::config::KubeconfigError,
    },
    /// A kubeconfig file could not be merged into the ones before it.
    #[error("could not merge kubeconfig {}: {source}", path.display())]
    Merge {
        /// The file.
        path: PathBuf,
        /// kube's complaint.
        source: kube::config::KubeconfigError,
    },
    /// The source named no file at all.
    #[error("{0} names no kubeconfig")]
    NoFile(String),
    /// The merged kubeconfig (or its context) could not be loaded.
    #[error("could not load the kubeconfig from {origin}: {source}")]
    Load {
        /// What named the files (`KUBECONFIG=...`, a path).
        origin: String,
        /// kube's complaint (an unknown context, say).
        source: kube::config::KubeconfigError,
    },
    /// The pod's service account could not be read.
    #[error("could not load the in-cluster configuration: {0}")]
    InCluster(#[source] kube::config::InClusterError),
    /// The configuration loaded, but no client could be made from it.
    #[error("could not make a client: {0}")]
    Client(#[source] kube::Error),
}

/// A value from the step environment, else from labctl's own.
fn env_or_process(env: &[(String, String)], key: &str) -> Option<String> {
    env.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var(key).ok())
        .filter(|v| !v.trim().is_empty())
}

/// Finds the configuration as kubectl would, without reading it; the error says what
/// was looked for.
fn locate(opts: &KubeOptions, env: &[(String, String)]) -> Result<Source, ConnectError> {
    if let Some(p) = &opts.kubeconfig {
        if !p.exists() {
            return Err(ConnectError::GivenMissing(p.clone()));
        }
        return Ok(Source::Files(vec![p.clone()], format!("{}", p.display())));
    }
    if let Some(v) = env_or_process(env, "KUBECONFIG") {
        let listed: Vec<PathBuf> = std::env::split_paths(&v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        // kubectl skips missing files in the list; only none at all is an error.
        let present: Vec<PathBuf> = listed.iter().filter(|p| p.exists()).cloned().collect();
        if present.is_empty() {
            return Err(ConnectError::ListedMissing(v));
        }
        return Ok(Source::Files(present, format!("KUBECONFIG={v}")));
    }
    let home = env_or_process(env, "HOME").map(PathBuf::from);
    let default = home.as_ref().map(|h| h.join(".kube").join("config"));
    if let Some(p) = &default
        && p.exists()
    {
        return Ok(Source::Files(vec![p.clone()], p.display().to_string()));
    }
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        return Ok(Source::InCluster);
    }
    Err(ConnectError::NotFound { default })
}

/// Reads the configuration `source` names.
async fn load(source: &Source, context: Option<&str>) -> Result<Config, ConnectError> {
    match source {
        Source::Files(paths, origin) => {
            let mut merged: Option<Kubeconfig> = None;
            for p in paths {
                let kc = Kubeconfig::read_from(p).map_err(|source| ConnectError::Read {
                    path: p.clone(),
                    source,
                })?;
                merged = Some(match merged {
                    None => kc,
                    Some(m) => m.merge(kc).map_err(|source| ConnectError::Merge {
                        path: p.clone(),
                        source,
                    })?,
                });
            }
            let kc = merged.ok_or_else(|| ConnectError::NoFile(origin.clone()))?;
            let options = KubeConfigOptions {
                context: context.map(str::to_string),
                ..KubeConfigOptions::default()
            };
            Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|source| ConnectError::Load {
                    origin: origin.clone(),
                    source,
                })
        }
        Source::InCluster => Config::incluster().map_err(ConnectError::InCluster),
    }
}

fn key(source: &Source, context: Option<&str>) -> String {
    let place = match source {
        Source::Files(paths, _) => paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":"),
        Source::InCluster => "in-cluster".into(),
    };
    format!("{place}#{}", context.unwrap_or(""))
}

/// `host` is named by a `NO_PROXY` list (`*`, the host, or a domain it ends in).
fn bypasses_proxy(host: &str, no_proxy: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|e| {
            let e = e.trim_start_matches('.');
            e == "*" || host == e || host.ends_with(&format!(".{e}"))
        })
}

/// Loads the configuration and makes a client, once per (kubeconfig, context) for the run.
pub async fn connect(
    opts: &KubeOptions,
    env: &[(String, String)],
) -> Result<Arc<Connection>, ConnectError> {
    let source = locate(opts, env)?;
    let context = opts.context.as_deref();
    let k = key(&source, context);
    if let Some(c) = opts.connections.lock().expect("not poisoned").get(&k) {
        return Ok(c.clone());
    }
    // The client speaks TLS through rustls; a library user (tests) may not have a provider yet.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = load(&source, context).await?;
    skip_proxy_for_no_proxy_hosts(&mut config, env);
    if config.connect_timeout.is_none_or(|t| t > CONNECT_TIMEOUT) {
        config.connect_timeout = Some(CONNECT_TIMEOUT);
    }
    // kube takes HTTPS_PROXY from the environment but, built without its proxy
    // features, ignores NO_PROXY and refuses every proxy: honour NO_PROXY here (the
    // sandbox exports both, for an API server on loopback).
    if config.proxy_url.is_some()
        && let Some(host) = config.cluster_url.host()
        && bypasses_proxy(
            host,
            &env_or_process(env, "NO_PROXY")
                .or_else(|| env_or_process(env, "no_proxy"))
                .unwrap_or_default(),
        )
    {
        config.proxy_url = None;
    }
    let namespace = config.default_namespace.clone();
    let identity = cluster_identity(&config);
    let known = identity.as_ref().and_then(|id| {
        opts.clusters
            .0
            .lock()
            .expect("not poisoned")
            .get(id)
            .cloned()
    });
    let cluster = match known {
        Some(cluster) => cluster,
        None => {
            let client = Client::try_from(config).map_err(ConnectError::Client)?;
            let cluster = Arc::new(Cluster {
                client,
                groups: tokio::sync::Mutex::default(),
                discoveries: Default::default(),
            });
            match identity {
                Some(id) => opts
                    .clusters
                    .0
                    .lock()
                    .expect("not poisoned")
                    .entry(id)
                    .or_insert(cluster)
                    .clone(),
                None => cluster,
            }
        }
    };
    let conn = Arc::new(Connection {
        client: cluster.client.clone(),
        namespace,
        cluster,
    });
    // Two checks may race to connect; the first one stored wins, so discovery is shared.
    let mut map = opts.connections.lock().expect("not poisoned");
    Ok(map.entry(k).or_insert(conn).clone())
}

/// kube-rs takes `HTTPS_PROXY` from the process environment but not `NO_PROXY`:
/// inside the sandbox shell (which sets both) the API server on 127.0.0.1 would
/// be asked through the mesh proxy. A host that `NO_PROXY` names goes direct.
fn skip_proxy_for_no_proxy_hosts(config: &mut Config, env: &[(String, String)]) {
    if config.proxy_url.is_none() {
        return;
    }
    let no_proxy = ["no_proxy", "NO_PROXY"]
        .iter()
        .find_map(|k| {
            env.iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var(k).ok())
        })
        .unwrap_or_default();
    let host = config.cluster_url.host().unwrap_or("").to_ascii_lowercase();
    let listed = no_proxy.split(',').map(str::trim).any(|entry| {
        let entry = entry.trim_start_matches('.').to_ascii_lowercase();
        !entry.is_empty() && (entry == "*" || host == entry || host.ends_with(&format!(".{entry}")))
    });
    if listed {
        config.proxy_url = None;
    }
}

/// Everything in `config` that decides where requests go and as whom, that is
/// all but the default namespace; None when it cannot be written down (then
/// the client is not shared).
fn cluster_identity(config: &Config) -> Option<String> {
    let auth = serde_json::to_string(&config.auth_info).ok()?;
    Some(format!(
        "{}|{auth}|{:?}|{:?}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
        config.cluster_url,
        config.root_cert,
        config.root_cert_file,
        config.accept_invalid_certs,
        config.proxy_url,
        config.tls_server_name,
        config.headers,
        config.connect_timeout,
        config.read_timeout,
        config.write_timeout,
        config.disable_compression,
    ))
}

/// Checks, before any step runs, that a configuration can be found and loaded; the
/// message says what was looked for (the engine maps it to exit 3). Does not contact the
/// API server: an unreachable one is a check failure, retried within `within`.
pub async fn preflight(
    opts: Option<&KubeOptions>,
    env: &[(String, String)],
) -> Result<(), ConnectError> {
    connect(
        match opts {
            Some(o) => o,
            None => default_options(),
        },
        env,
    )
    .await
    .map(|_| ())
}

/// Why a kind could not be resolved.
#[derive(Debug)]
pub enum ResolveError {
    /// The API could not be asked (retry may help).
    Api(kube::Error),
    /// The API answered, and the kind is not there.
    Unknown(String),
}

/// A resolved kind: the resource and whether it is namespaced.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// For `Api::*_with`.
    pub resource: ApiResource,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
}

/// The closest of `candidates` to `word`, if close enough to be what was meant.
pub fn suggest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

impl Connection {
    /// How many discoveries this connection has made (one per group per run).
    pub fn discoveries(&self) -> usize {
        self.cluster
            .discoveries
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The group, discovered on first use.
    async fn group(&self, name: &str) -> Result<Arc<ApiGroup>, ResolveError> {
        let mut groups = self.cluster.groups.lock().await;
        if let Some(g) = groups.get(name) {
            return Ok(g.clone());
        }
        self.cluster
            .discoveries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match kube::discovery::group(&self.client, name).await {
            Ok(g) => {
                let g = Arc::new(g);
                groups.insert(name.to_string(), g.clone());
                Ok(g)
            }
            Err(kube::Error::Discovery(kube::error::DiscoveryError::MissingApiGroup(_))) => {
                let known = self
                    .client
                    .list_api_groups()
                    .await
                    .map(|l| l.groups.into_iter().map(|g| g.name).collect::<Vec<_>>())
                    .unwrap_or_default();
                let hint = suggest(name, known.iter().map(String::as_str))
                    .map(|s| format!("; did you mean {s}?"))
                    .unwrap_or_default();
                Err(ResolveError::Unknown(format!(
                    "no API group {name} on this cluster{hint}"
                )))
            }
            Err(e) => Err(ResolveError::Api(e)),
        }
    }

    /// Resolves `apiVersion` + `kind` through discovery.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<Resolved, ResolveError> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let g = self.group(group).await?;
        let r = find(&g, group, version, api_version, kind);
        if r.is_err() {
            // Forget the group so a retry sees a CRD installed meanwhile.
            self.cluster.groups.lock().await.remove(group);
        }
        r
    }
}

/// Looks `version` + `kind` up in a discovered group.
fn find(
    g: &ApiGroup,
    group: &str,
    version: &str,
    api_version: &str,
    kind: &str,
) -> Result<Resolved, ResolveError> {
    let shown = if group.is_empty() {
        "the core group"
    } else {
        group
    };
    let served: Vec<&str> = g.versions().collect();
    if !served.contains(&version) {
        return Err(ResolveError::Unknown(format!(
            "{shown} does not serve version {version} (served: {})",
            served.join(", ")
        )));
    }
    let resources = g.versioned_resources(version);
    let hit = resources.iter().find(|(r, _)| r.kind == kind).or_else(|| {
        // kubectl accepts any case; a kind differing only in case is not a typo.
        resources
            .iter()
            .find(|(r, _)| r.kind.eq_ignore_ascii_case(kind))
    });
    match hit {
        Some((r, caps)) => Ok(Resolved {
            resource: r.clone(),
            namespaced: is_namespaced(caps),
        }),
        None => {
            let kinds: Vec<String> = g
                .versions()
                .flat_map(|v| g.versioned_resources(v))
                .map(|(r, _)| r.kind)
                .collect();
            let hint = suggest(kind, kinds.iter().map(String::as_str))
                .map(|s| format!("; did you mean {s}?"))
                .unwrap_or_default();
            let in_group = if group.is_empty() {
                format!("in {api_version}")
            } else {
                format!("in group {group}")
            };
            Err(ResolveError::Unknown(format!(
                "no kind {kind} {in_group}{hint}"
            )))
        }
    }
}

fn is_namespaced(caps: &ApiCapabilities) -> bool {
    matches!(caps.scope, Scope::Namespaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_lists() {
        assert!(bypasses_proxy("127.0.0.1", "127.0.0.1,localhost"));
        assert!(bypasses_proxy("api.example.com", ".example.com"));
        assert!(bypasses_proxy("api.example.com", "*"));
        assert!(!bypasses_proxy("api.example.com", "localhost,example.org"));
    }

    #[test]
    fn suggestions() {
        let kinds = [
            "ServiceEntry",
            "VirtualService",
            "DestinationRule",
            "Gateway",
        ];
        assert_eq!(suggest("ServiceEntr", kinds), Some("ServiceEntry"));
        assert_eq!(suggest("virtualservices", kinds), Some("VirtualService"));
        assert_eq!(suggest("Pod", kinds), None);
    }

    #[test]
    fn explicit_kubeconfig_that_does_not_exist() {
        let opts = KubeOptions::new(Some("/nope/config".into()), None);
        let e = locate(&opts, &[]).unwrap_err().to_string();
        assert!(e.contains("/nope/config"), "{e}");
    }
}
