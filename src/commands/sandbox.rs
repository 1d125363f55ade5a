//! `labctl sandbox`: the embedded cluster and mesh for a student to learn in.
//! `-- CMD` and `shell` run inside it (with a banner, in the workshop folder);
//! `start` leaves it running in the background and prints `export` lines,
//! `stop` and `status` find it again through a state file in the user's runtime dir.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::{SandboxAction, SandboxArgs};
use crate::exit_code::Exit;
use crate::lab::workshop::book_source_around;
use crate::sandbox::{Sandbox, SandboxConfig, SandboxError, interrupted, run_child_in};
use crate::shell::quote::single_quoted as shell_quote;

/// How long `start` waits for the background sandbox to serve.
const START_LIMIT: Duration = Duration::from_secs(20);
/// How long `stop` waits for it to end.
const STOP_LIMIT: Duration = Duration::from_secs(10);

/// What `start` leaves for `stop` and `status`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct State {
    pid: i32,
    api: String,
    proxy: String,
    users: u32,
    env: Vec<(String, String)>,
}

/// Runs `labctl sandbox`; with `-- CMD` the exit status is CMD's.
pub(crate) fn run(args: &SandboxArgs) -> std::process::ExitCode {
    let cfg = SandboxConfig {
        users: args.users.max(1),
        mesh_delay: args.mesh_delay,
        refuse: Vec::new(),
        ..Default::default()
    };
    let code = match &args.action {
        Some(SandboxAction::Stop) => return stop(),
        Some(SandboxAction::Status) => return status(),
        Some(SandboxAction::Start { workshop }) => {
            return start(args, workshop.as_deref().or(args.workshop.as_deref()));
        }
        _ if args.print_env => return start(args, args.workshop.as_deref()),
        Some(SandboxAction::Serve { state }) => block_on(serve(cfg, state.clone())),
        Some(SandboxAction::Shell { workshop }) => {
            let shell = std::env::var("SHELL")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "bash".into());
            let dir = workshop_dir(workshop.as_deref().or(args.workshop.as_deref()));
            block_on(inside(cfg, vec![shell], dir))
        }
        None if args.command.is_empty() => {
            let dir = workshop_dir(args.workshop.as_deref());
            block_on(inside(cfg, vec!["bash".into()], dir))
        }
        None => {
            let dir = workshop_dir(args.workshop.as_deref());
            block_on(inside(cfg, args.command.clone(), dir))
        }
    };
    match code {
        Ok(code) => std::process::ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Environment.into()
        }
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// `--workshop DIR`, else the source folder of the book around here, else here.
fn workshop_dir(given: Option<&Path>) -> PathBuf {
    let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    match given {
        Some(d) => here.join(d),
        None => book_source_around(&here).unwrap_or(here),
    }
}

/// What a student needs on entering: who they are, where, how to check, how to leave.
fn banner(api: &str, users: u32, workshop: &Path, leave: &str) -> String {
    let shown = std::env::current_dir()
        .ok()
        .and_then(|here| workshop.strip_prefix(&here).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| workshop.display().to_string());
    let last = if users > 1 {
        format!(" … user{users}")
    } else {
        String::new()
    };
    format!(
        "labctl sandbox: a Kubernetes API and a service mesh on this machine, for you alone
  you are      user1 (your project: user1; your mesh control plane: user1-istio)
  namespaces   user1{last}, each with a -istio twin
  API server   {api} (oc and kubectl use it; try `oc whoami`, `oc project`)
  workshop     {shown}
  check        labctl check . (what is done, and what to do next)
  leave        {leave}
"
    )
}

/// Why `labctl sandbox` (in the foreground, or as `serve` for `start`) gave up.
#[derive(Debug, thiserror::Error)]
enum SandboxCommandError {
    /// The sandbox did not come up.
    #[error("the sandbox could not start: {0}")]
    Start(SandboxError),
    /// `--workshop` (or the folder found) is not a folder.
    #[error("the workshop folder {} does not exist; pass --workshop DIR", .0.display())]
    NoWorkshop(PathBuf),
    /// `serve` could not write the state file `start` waits for.
    #[error("cannot write {}: {source}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The command or the wait for a signal failed.
    #[error(transparent)]
    Run(#[from] SandboxError),
}

async fn inside(
    cfg: SandboxConfig,
    cmd: Vec<String>,
    dir: PathBuf,
) -> Result<i32, SandboxCommandError> {
    let users = cfg.users;
    let sandbox = Sandbox::start(cfg)
        .await
        .map_err(SandboxCommandError::Start)?;
    if !dir.is_dir() {
        sandbox.shutdown().await;
        return Err(SandboxCommandError::NoWorkshop(dir));
    }
    eprint!("{}", banner(&sandbox.api_url(), users, &dir, "exit"));
    let (program, rest) = cmd.split_first().expect("a command");
    // What CMD leaves running (`bash -c 'sleep 46 &'`) becomes ours when CMD
    // ends, and is ended before the sandbox goes.
    crate::shell::escapees::become_subreaper();
    let result = run_child_in(&sandbox, program, rest, &dir).await;
    let grace = crate::signals::grace_from_env().unwrap_or(crate::signals::DEFAULT_GRACE);
    crate::shell::escapees::end(None, grace, &crate::cancel::Cancel::never()).await;
    sandbox.shutdown().await;
    Ok(result?)
}

/// Where `start` records the background sandbox: `$XDG_RUNTIME_DIR/labctl/`, else a
/// private folder in the temporary directory.
fn state_file() -> PathBuf {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(|| {
            use std::os::unix::fs::MetadataExt as _;
            let uid = std::fs::metadata("/proc/self")
                .map(|m| m.uid())
                .unwrap_or(0);
            std::env::temp_dir().join(format!("labctl-{uid}"))
        });
    base.join("labctl").join("sandbox.json")
}

fn read_state(path: &Path) -> Option<State> {
    let state: State = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    alive(state.pid).then_some(state)
}

/// The process exists and is not a zombie waiting for a parent that never reaps
/// (a container's init may not).
fn alive(pid: i32) -> bool {
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    });
    !zombie && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

fn exports(state: &State) -> String {
    state
        .env
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", shell_quote(v)))
        .collect()
}

fn start(args: &SandboxArgs, workshop: Option<&Path>) -> std::process::ExitCode {
    let path = state_file();
    let dir = workshop_dir(workshop);
    if let Some(state) = read_state(&path) {
        eprintln!(
            "labctl sandbox: already running (pid {}); labctl sandbox stop ends it",
            state.pid
        );
        print!("{}", exports(&state));
        return Exit::Success.into();
    }
    let state = match spawn_background(args, &path).and_then(|child| wait_for_state(child, &path)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Environment.into();
        }
    };
    print!("{}", exports(&state));
    eprint!(
        "{}",
        banner(
            &state.api,
            state.users,
            &dir,
            "labctl sandbox stop (when you are done)"
        )
    );
    eprintln!(
        "  (running in the background, pid {}; eval \"$(labctl sandbox start)\" sets this shell up)",
        state.pid
    );
    Exit::Success.into()
}

/// Why `start` could not leave a sandbox running.
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("cannot create {}: {source}", dir.display())]
    StateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot find labctl's own program: {0}")]
    OwnProgram(std::io::Error),
    #[error("cannot start the background sandbox: {0}")]
    Spawn(std::io::Error),
    #[error("the background sandbox ended at once ({0})")]
    EndedAtOnce(std::process::ExitStatus),
    #[error("the background sandbox did not start within {START_LIMIT:?}")]
    TooSlow,
}

/// `labctl sandbox serve --state PATH` in a session of its own, writing its
/// state file once it serves.
fn spawn_background(args: &SandboxArgs, path: &Path) -> Result<std::process::Child, StartError> {
    let _ = std::fs::remove_file(path);
    if let Some(parent) = path.parent() {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|source| StartError::StateDir {
                dir: parent.to_path_buf(),
                source,
            })?;
    }
    let exe = std::env::current_exe().map_err(StartError::OwnProgram)?;
    let mut child = std::process::Command::new(exe);
    child
        .args(["sandbox", "--users", &args.users.to_string()])
        .args([
            "--mesh-delay",
            &humantime::format_duration(args.mesh_delay).to_string(),
            "serve",
            "--state",
        ])
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    {
        use std::os::unix::process::CommandExt as _;
        // Its own session: the terminal's Ctrl-C and hang-up are not for it.
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
        unsafe {
            child.pre_exec(|| {
                nix::unistd::setsid()
                    .map(|_| ())
                    .map_err(std::io::Error::from)
            });
        }
    }
    child.spawn().map_err(StartError::Spawn)
}

/// The state file the background sandbox writes once it serves; a sandbox
/// too slow to start is ended.
fn wait_for_state(mut spawned: std::process::Child, path: &Path) -> Result<State, StartError> {
    let started = Instant::now();
    loop {
        if let Some(s) = read_state(path) {
            return Ok(s);
        }
        if let Ok(Some(status)) = spawned.try_wait() {
            return Err(StartError::EndedAtOnce(status));
        }
        if started.elapsed() > START_LIMIT {
            let _ = spawned.kill();
            let _ = spawned.wait();
            return Err(StartError::TooSlow);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn serve(cfg: SandboxConfig, path: PathBuf) -> Result<i32, SandboxCommandError> {
    let users = cfg.users;
    let sandbox = Sandbox::start(cfg)
        .await
        .map_err(SandboxCommandError::Start)?;
    let state = State {
        pid: std::process::id() as i32,
        api: sandbox.api_url(),
        proxy: sandbox.proxy_url(),
        users,
        env: sandbox.env(),
    };
    // Written whole, then renamed: `start` never reads half a file.
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string(&state).expect("plain values");
    let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(source) = written {
        sandbox.shutdown().await;
        return Err(SandboxCommandError::State { path, source });
    }
    let waited = interrupted().await;
    sandbox.shutdown().await;
    let _ = std::fs::remove_file(&path);
    Ok(waited.map(|()| 0)?)
}

fn stop() -> std::process::ExitCode {
    let path = state_file();
    let Some(state) = read_state(&path) else {
        let _ = std::fs::remove_file(&path);
        eprintln!("labctl sandbox: none is running");
        return Exit::Failed.into();
    };
    let pid = nix::unistd::Pid::from_raw(state.pid);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let started = Instant::now();
    while alive(state.pid) && started.elapsed() < STOP_LIMIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    if alive(state.pid) {
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    }
    let _ = std::fs::remove_file(&path);
    eprintln!("labctl sandbox: stopped (pid {})", state.pid);
    Exit::Success.into()
}

fn status() -> std::process::ExitCode {
    let path = state_file();
    match read_state(&path) {
        Some(s) => {
            println!(
                "running (pid {}): API server {}, mesh proxy {}, {} users; state in {}",
                s.pid,
                s.api,
                s.proxy,
                s.users,
                path.display()
            );
            Exit::Success.into()
        }
        None => {
            let _ = std::fs::remove_file(&path);
            println!("not running (labctl sandbox start starts one)");
            Exit::Failed.into()
        }
    }
}
