//! The sandbox: an embedded Kubernetes API server, mesh proxy and context-scraper on loopback,
//! so a lab runs end to end with no cluster (see design/sandbox.md).

mod api;
mod discovery;
mod ids;
mod ingress;
mod kiali;
mod mesh;
mod openapi;
mod patch;
mod peer_auth;
mod protobuf;
mod proxy;
mod scraper;
mod seed;
mod select;
mod status;
mod store;
mod table;
mod telemetry;
mod types;
mod watch;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use seed::APPS_DOMAIN;

/// `oc` in the sandbox: kubectl, plus what students type and kubectl lacks.
const OC_SHIM: &str = r#"#!/bin/sh
# labctl sandbox: oc is kubectl here, plus the oc commands students type.
server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
current=$(kubectl config view --minify -o jsonpath='{..namespace}')
case "$1" in
whoami)
  case "$2" in
  --show-server) echo "$server" ;;
  *) echo "${LABCTL_SANDBOX_USER:-user1}" ;;
  esac ;;
project)
  if [ -n "$2" ]; then
    kubectl get namespace "$2" >/dev/null || exit 1
    kubectl config set-context --current --namespace="$2" >/dev/null || exit 1
    echo "Now using project '$2' on server '$server'."
  else
    echo "Using project '$current' on server '$server'."
  fi ;;
projects)
  echo "You have access to the following projects and can switch between them with 'oc project <projectname>':"
  echo
  for ns in $(kubectl get namespaces -o jsonpath='{.items[*].metadata.name}'); do
    if [ "$ns" = "$current" ]; then echo "  * $ns"; else echo "    $ns"; fi
  done
  echo
  echo "Using project '$current' on server '$server'." ;;
new-project)
  [ -n "$2" ] || { echo "error: give the project a name: oc new-project NAME" >&2; exit 1; }
  kubectl create namespace "$2" >/dev/null || exit 1
  kubectl config set-context --current --namespace="$2" >/dev/null || exit 1
  echo "Now using project '$2' on server '$server'." ;;
login)
  echo "The sandbox needs no login: you are ${LABCTL_SANDBOX_USER:-user1} on $server." ;;
logout)
  echo "The sandbox needs no login; leave it with exit." ;;
*)
  exec kubectl "$@" ;;
esac
"#;

/// How long shutdown waits for connections to finish before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// What the sandbox simulates.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Number of workshop users (user1..=users) to seed.
    pub users: u32,
    /// How long a mesh change takes to reach the proxy.
    pub mesh_delay: Duration,
    /// API verbs to refuse with 403 (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`).
    pub refuse: Vec<String>,
    /// Users seeded besides user1..=users (`--var username=alice`, `--users alice,bob`).
    pub names: Vec<String>,
}

impl SandboxConfig {
    /// Every user to seed, in order, each once: user1..=users, then the named ones.
    pub fn user_names(&self) -> Vec<String> {
        let mut out: Vec<String> = (1..=self.users).map(|k| format!("user{k}")).collect();
        for n in &self.names {
            if !out.contains(n) {
                out.push(n.clone());
            }
        }
        out
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            users: 50,
            mesh_delay: Duration::from_secs(2),
            refuse: Vec::new(),
            names: Vec::new(),
        }
    }
}

/// Why the sandbox could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A loopback port could not be bound.
    #[error("could not listen on 127.0.0.1 for the sandbox {what}: {source}")]
    Bind {
        /// Which server.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The private directory or a file in it could not be written.
    #[error("could not write {}: {source}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The initial workshop state could not be created (a bug in the seed).
    #[error("could not seed the sandbox: {0}")]
    Seed(String),
    /// The command to run inside the sandbox could not be started.
    #[error("could not run `{cmd}`: {source}")]
    Spawn {
        /// The program.
        cmd: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Waiting for the command or for a signal failed.
    #[error("could not wait for {what}: {source}")]
    Wait {
        /// What was waited for.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A running sandbox; shut it down with [`Sandbox::shutdown`] (dropping it stops it too).
#[derive(Debug)]
pub struct Sandbox {
    api_addr: SocketAddr,
    proxy_addr: SocketAddr,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    shim_dir: Option<PathBuf>,
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), SandboxError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let err = |source| SandboxError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)
}

fn mkdir(path: &Path) -> Result<(), SandboxError> {
    std::fs::create_dir_all(path).map_err(|source| SandboxError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Whether an executable named `name` is on `PATH`.
fn on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p).any(|d| {
            std::fs::metadata(d.join(name))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

fn kubeconfig_text(api: SocketAddr, namespace: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: sandbox
  cluster:
    server: http://{api}
users:
- name: sandbox
  user:
    token: sandbox-token
contexts:
- name: sandbox
  context:
    cluster: sandbox
    user: sandbox
    namespace: {namespace}
current-context: sandbox
preferences: {{}}
"
    )
}

async fn bind(what: &'static str) -> Result<TcpListener, SandboxError> {
    TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|source| SandboxError::Bind { what, source })
}

/// Serves `router` on `listener` until `shutdown` flips, with TCP_NODELAY on every connection
/// (without it each small response waits ~40 ms for delayed ACKs).
fn spawn_server(
    listener: TcpListener,
    router: axum::Router,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> JoinHandle<()> {
    let listener = listener.tap_io(|tcp| {
        // Only latency is at stake; serve the connection either way.
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        let signal = async move {
            let _ = shutdown.wait_for(|down| *down).await;
        };
        // Errors here are per-connection I/O errors axum already logs nowhere; nothing to do.
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(signal)
            .await;
    })
}

impl Sandbox {
    /// Starts the API server and the mesh proxy on loopback and writes a kubeconfig and `oc` shim.
    pub async fn start(cfg: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let dir = tempfile::Builder::new()
            .prefix("labctl-sandbox-")
            .tempdir()
            .map_err(|source| SandboxError::Write {
                path: std::env::temp_dir(),
                source,
            })?;
        let mesh = Arc::new(mesh::Mesh::new(cfg.mesh_delay));
        let store = Arc::new(store::Store::new(mesh.clone()));
        let telemetry = Arc::new(telemetry::Telemetry::default());
        let ingress = Arc::new(ingress::IngressState::default());
        seed::seed(&store, &cfg.user_names()).map_err(|e| SandboxError::Seed(e.to_string()))?;

        let api_listener = bind("API server").await?;
        let proxy_listener = bind("mesh proxy").await?;
        let local = |l: &TcpListener, what| {
            l.local_addr()
                .map_err(|source| SandboxError::Bind { what, source })
        };
        let api_addr = local(&api_listener, "API server")?;
        let proxy_addr = local(&proxy_listener, "mesh proxy")?;

        let kube_dir = dir.path().join("kube");
        mkdir(&kube_dir)?;
        mkdir(&dir.path().join("cache"))?;
        let kubeconfig = kube_dir.join("config");
        write_file(&kubeconfig, &kubeconfig_text(api_addr, "user1"), 0o600)?;
        let shim_dir = {
            let bin = dir.path().join("bin");
            mkdir(&bin)?;
            if !on_path("oc") {
                write_file(&bin.join("oc"), OC_SHIM, 0o755)?;
            }
            // `labctl check` inside the sandbox shell is this labctl, installed or not.
            if !on_path("labctl")
                && let Ok(exe) = std::env::current_exe()
            {
                let _ = std::os::unix::fs::symlink(exe, bin.join("labctl"));
            }
            Some(bin)
        };

        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        let api_state = api::ApiState {
            store: store.clone(),
            refuse: Arc::new(cfg.refuse.clone()),
            shutdown: shutdown_rx.clone(),
            address: api_addr.to_string(),
            telemetry: telemetry.clone(),
            ingress: ingress.clone(),
        };
        let proxy_state = proxy::ProxyState {
            store,
            mesh,
            telemetry,
            ingress,
        };
        let tasks = vec![
            spawn_server(api_listener, api::router(api_state), shutdown_rx.clone()),
            spawn_server(proxy_listener, proxy::router(proxy_state), shutdown_rx),
        ];
        Ok(Sandbox {
            api_addr,
            proxy_addr,
            dir,
            kubeconfig,
            shim_dir,
            shutdown,
            tasks,
        })
    }

    /// Environment variables that point kubectl, oc and curl at the sandbox.
    pub fn env(&self) -> Vec<(String, String)> {
        let proxy = self.proxy_url();
        let no_proxy = "127.0.0.1,localhost".to_string();
        let mut env = vec![
            (
                "KUBECONFIG".to_string(),
                self.kubeconfig.display().to_string(),
            ),
            (
                "KUBECACHEDIR".to_string(),
                self.dir.path().join("cache").display().to_string(),
            ),
            ("http_proxy".to_string(), proxy.clone()),
            ("HTTP_PROXY".to_string(), proxy.clone()),
            // HTTPS reaches the ingress gateway through the proxy's CONNECT.
            ("https_proxy".to_string(), proxy.clone()),
            ("HTTPS_PROXY".to_string(), proxy),
            ("no_proxy".to_string(), no_proxy.clone()),
            ("NO_PROXY".to_string(), no_proxy),
        ];
        if let Some(bin) = &self.shim_dir {
            let path = std::env::var("PATH").unwrap_or_default();
            let joined = if path.is_empty() {
                bin.display().to_string()
            } else {
                format!("{}:{path}", bin.display())
            };
            env.push(("PATH".to_string(), joined));
        }
        env.push(("LABCTL_SANDBOX".to_string(), "1".to_string()));
        env
    }

    /// Base URL of the API server, e.g. `http://127.0.0.1:41234`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    /// URL of the mesh proxy, for `http_proxy`.
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.proxy_addr)
    }

    /// The environment for one user of a fan-out run: a kubeconfig whose context
    /// namespace is the user's own, as a student's `oc login` would set it.
    pub fn env_for_user(&self, namespace: &str) -> Result<Vec<(String, String)>, SandboxError> {
        let path = self
            .kubeconfig
            .with_file_name(format!("config-{namespace}"));
        let api = self.api_addr;
        write_file(&path, &kubeconfig_text(api, namespace), 0o600)?;
        Ok(self
            .env()
            .into_iter()
            .map(|(k, v)| {
                if k == "KUBECONFIG" {
                    (k, path.display().to_string())
                } else {
                    (k, v)
                }
            })
            .collect())
    }

    /// The kubeconfig that points at the API server (context `sandbox`, namespace `user1`).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// Stops both servers, ends open watches and removes the private directory.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for mut task in std::mem::take(&mut self.tasks) {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                // A connection that ignores graceful shutdown: cut it (drops its socket).
                task.abort();
                let _ = task.await;
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Waits for SIGINT or SIGTERM.
pub async fn interrupted() -> Result<(), SandboxError> {
    use tokio::signal::unix::{SignalKind, signal};
    let wait = |source| SandboxError::Wait {
        what: "signals",
        source,
    };
    let mut term = signal(SignalKind::terminate()).map_err(wait)?;
    let mut int = signal(SignalKind::interrupt()).map_err(wait)?;
    let mut hup = signal(SignalKind::hangup()).map_err(wait)?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        _ = hup.recv() => {}
    }
    Ok(())
}

/// Runs `program` in the sandbox's environment, in `cwd`, and returns its exit
/// status; Ctrl-C and SIGTERM are passed on and waited for.
pub(crate) async fn run_child_in(
    sandbox: &Sandbox,
    program: &str,
    args: &[String],
    cwd: &Path,
) -> Result<i32, SandboxError> {
    use std::os::unix::process::ExitStatusExt as _;
    let mut cmd = tokio::process::Command::new(program);
    cmd.current_dir(cwd)
        .args(args)
        .envs(sandbox.env())
        .env(
            crate::shell::escapees::RUN_ID_VAR,
            crate::shell::escapees::new_run_id(),
        )
        .kill_on_drop(true);
    let (mut child, _registered) =
        crate::shell::escapees::spawn_registered(&mut cmd).map_err(|source| {
            SandboxError::Spawn {
                cmd: program.to_string(),
                source,
            }
        })?;
    let wait = |source| SandboxError::Wait {
        what: "the command",
        source,
    };
    let status = tokio::select! {
        s = child.wait() => s.map_err(wait)?,
        r = interrupted() => {
            r?;
            // The terminal already sent SIGINT to the child's process group; SIGTERM is ours to pass on.
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
            }
            let grace = crate::signals::grace_from_env().unwrap_or(crate::signals::DEFAULT_GRACE);
            match tokio::time::timeout(grace, child.wait()).await {
                Ok(s) => s.map_err(wait)?,
                Err(_) => {
                    let _ = child.start_kill();
                    child.wait().await.map_err(wait)?
                }
            }
        }
    };
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}
