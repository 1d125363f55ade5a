//! Persistent terminals: one long-lived bash per terminal number.
//!
//! How a step runs. The shell is started once, reading its commands as a
//! script from a pipe (bash keeps a script at fd 255, close-on-exec, so no
//! step inherits it), with stdin on /dev/null (which steps inherit: a prompt
//! gets EOF, as the design asks) and stdout piped: that is the status channel.
//! Each terminal reserves three file descriptors in labctl (`StepSlots`: body, stdout, stderr); for every step we
//! make fresh pipes and `dup3` them onto those numbers, so bash always finds the
//! step at the same paths, `/proc/<labctl pid>/fd/N`. That lets the wrapper be
//! an alias defined once, and the line we send per step is `__L NONCE` (bash
//! reads a piped script one byte per read(2), so the line is kept short):
//!
//! ```text
//! alias __L='__labctl_id=$((__labctl_id+1)); \builtin source BODY >OUT 2>ERR; \builtin echo "done $__labctl_id $?"'
//! ```
//!
//! - `source` (not `{ BODY }`) makes bash parse the body as a file: a syntax
//!   error fails that step with status 2 instead of wedging the shell's parser,
//!   and aliases defined on one line work on the next. Being a builtin, it
//!   keeps variables, functions, aliases and `cd` in the shell. An alias (not a
//!   function) keeps the body at top level, so `declare` in a step makes a
//!   global as it would at a prompt. Should a step turn `expand_aliases` off, a
//!   function of the same name runs the step instead.
//! - Both sides count steps, so the step id needs no bytes on the line. The
//!   nonce, a new one per step, follows the alias on the line and so becomes
//!   `echo`'s last word: `done ID STATUS NONCE`. It is in no variable and in no
//!   environment, so a step that writes a `done` line to the status pipe by
//!   accident (bash keeps it on fd 10+ while OUT replaces it) cannot end itself.
//! - The status channel is the shell's own stdout, which the step's `>OUT`
//!   replaces: no step process inherits it, so EOF on it means the shell itself
//!   is gone (`exit`). The `done` line, never EOF on the step's stdout, ends the
//!   step: a leftover `sleep 100 &` holding stdout open cannot hang us.
//! - A leftover child that keeps writing can never mix its bytes into a later
//!   step's output: after `done` we read what the pipes already hold
//!   (everything the finished processes wrote is in the pipe buffer by then)
//!   and a pipe still open for writing is handed to a task that discards until
//!   EOF (so the leftover neither blocks nor dies of SIGPIPE) and the next step
//!   gets fresh pipes. A pipe that reads EOF has no writer left anywhere, and
//!   serves the next step as it is. Memory stays bounded by `Capture`.
//! - Output pipes are read only after `done`, unless the step runs longer than
//!   `WATCH_AFTER`; from then on they are read as output arrives, and we hold
//!   a write end of our own until `done` so the reader never sees a premature
//!   EOF should bash not have opened them yet.
//!
//! Timeouts and cancellation: we mark the step aborted (`abort.ID`), send
//! SIGUSR1 to the shell, whose trap runs `return` out of the `source` once the
//! current child ends (so a `while` loop in the body stops too), and SIGTERM
//! every other process of the terminal's session and every process that left
//! it (see `escapees`); after `grace`, SIGKILL; if the shell still does not
//! answer after another grace, it is killed and the terminal starts afresh.
//!
//! Background steps run as `{ ... } >OUT 2>ERR &`: with `set -m` the job has its
//! own process group (its pid, reported on fd 3) and default SIGINT, so
//! stopping it is SIGINT to that group, then SIGTERM, then SIGKILL.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::sys::signal::{SigHandler, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::unix::pipe;
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::affinity::{Colocation, widen_on_exec};
use super::capture::{Capture, Drained, Echo, READ_BUF, discard_until_eof, drain_now};
use super::escapees::{self, Spawned};
use super::process_group::{
    AFTER_KILL, Escalation, Procs, Target, signal_session, stop, until_gone,
};
use super::{ShellConfig, ShellError, StepOutput};
use crate::cancel::Cancel;

/// The alias (and fallback function) that runs the next foreground step.
const STEP_COMMAND: &str = "__L";
/// Characters of the per-step nonce on the `done` line (base 36).
const NONCE_LEN: usize = 6;
/// How long the shell may take to acknowledge a command between steps.
const SHELL_ANSWER: Duration = Duration::from_secs(10);

/// All terminals of one user; terminal N (1-based) is opened on first use.
pub struct Terminals {
    cfg: ShellConfig,
    live: BTreeMap<u32, Terminal>,
    opened: BTreeSet<u32>,
    stopped: Vec<(u32, StepOutput)>,
    echo: bool,
}

impl Terminals {
    /// Also write what foreground steps print to labctl's own stdout and stderr,
    /// as it arrives (interactive runs: the student watches the command work).
    pub fn echo_output(&mut self, on: bool) {
        self.echo = on;
    }

    /// Terminals that will start with `cfg`; no shell runs until first use.
    pub fn new(cfg: ShellConfig) -> Terminals {
        Terminals {
            cfg,
            live: BTreeMap::new(),
            opened: BTreeSet::new(),
            stopped: Vec::new(),
            echo: false,
        }
    }

    /// Runs BODY (a multi-line shell script, as pasted) in terminal N and waits for it; stops that terminal's background step first (SIGINT) if one runs.
    ///
    /// The stopped background step's output is kept for
    /// [`Terminals::take_stopped_background`] and [`Terminals::shutdown`].
    pub async fn run(
        &mut self,
        terminal: u32,
        body: &str,
        timeout: Duration,
        cancel: &Cancel,
    ) -> Result<StepOutput, ShellError> {
        if let Some(out) = self.interrupt(terminal).await {
            self.stopped.push((terminal, out));
        }
        let (cap, grace, echo) = (self.cfg.capture_cap, self.cfg.grace, self.echo);
        let term = self.open(terminal)?;
        let result = term.run_step(body, timeout, cancel, cap, grace, echo).await;
        self.forget_if_dead(terminal);
        result
    }

    /// Starts BODY as the terminal's background step and returns at once (stopping an earlier background step first).
    pub async fn start_background(&mut self, terminal: u32, body: &str) -> Result<(), ShellError> {
        if let Some(out) = self.interrupt(terminal).await {
            self.stopped.push((terminal, out));
        }
        let cap = self.cfg.capture_cap;
        let term = self.open(terminal)?;
        let result = term.start_background(body, cap).await;
        self.forget_if_dead(terminal);
        result
    }

    /// Stops the background step of terminal N with SIGINT (then TERM/KILL after grace) and returns what it printed; None when none ran.
    pub async fn interrupt(&mut self, terminal: u32) -> Option<StepOutput> {
        let term = self.live.get_mut(&terminal)?;
        let out = term.stop_background(self.cfg.grace).await;
        self.forget_if_dead(terminal);
        out
    }

    /// Terminals opened so far, ascending.
    pub fn opened(&self) -> Vec<u32> {
        self.opened.iter().copied().collect()
    }

    /// Background outputs of steps stopped because a later step of their terminal started.
    pub fn take_stopped_background(&mut self) -> Vec<(u32, StepOutput)> {
        std::mem::take(&mut self.stopped)
    }

    /// Stops background steps (SIGINT), ends every shell, kills whatever is left in their sessions; returns background outputs by terminal.
    ///
    /// Includes outputs of background steps stopped earlier by [`Terminals::run`]
    /// and not yet taken.
    pub async fn shutdown(&mut self) -> Vec<(u32, StepOutput)> {
        let grace = self.cfg.grace;
        let live = std::mem::take(&mut self.live);
        let closing = live.into_iter().map(|(n, mut term)| async move {
            let out = term.stop_background(grace).await;
            term.close(grace).await;
            out.map(|o| (n, o))
        });
        let mut outs = self.take_stopped_background();
        outs.extend(
            futures::future::join_all(closing)
                .await
                .into_iter()
                .flatten(),
        );
        outs
    }

    fn open(&mut self, terminal: u32) -> Result<&mut Terminal, ShellError> {
        if terminal == 0 {
            return Err(ShellError::BadTerminal(terminal));
        }
        if !self.live.contains_key(&terminal) {
            let term = Terminal::spawn(terminal, &self.cfg)?;
            self.live.insert(terminal, term);
            self.opened.insert(terminal);
        }
        Ok(self.live.get_mut(&terminal).expect("inserted above"))
    }

    /// Drops a terminal whose shell ended, killing what was left in its session
    /// (as closing a terminal window would); the next use opens a fresh one.
    fn forget_if_dead(&mut self, terminal: u32) {
        if self.live.get(&terminal).is_some_and(|t| t.dead) {
            self.live.remove(&terminal);
        }
    }
}

/// One shell and its private directory of step files.
struct Terminal {
    number: u32,
    child: Child,
    /// The shell's pid, which is also its session id.
    pid: i32,
    /// Where we write the shell's commands; dropping it ends the shell.
    commands: Option<pipe::Sender>,
    /// The read end the shell opened by path; held for the shell's life.
    _script: OwnedFd,
    status: Lines<BufReader<ChildStdout>>,
    dir: tempfile::TempDir,
    /// Where each foreground step's body and output pipes are put for bash.
    slots: StepSlots,
    /// Foreground steps sent; bash counts them too (the step id).
    steps_sent: u64,
    /// Ids of background steps.
    next_id: u64,
    bg: Option<Background>,
    out_buf: Vec<u8>,
    err_buf: Vec<u8>,
    /// The shell ended or stopped answering; this terminal must not be reused.
    dead: bool,
    /// Setup commands not yet written to the shell (sent with the first command).
    pending_init: Option<String>,
    /// Pins the shell to labctl's CPU between steps (see `affinity`).
    colocation: Option<Colocation>,
    /// The shell is pinned now and must be released before it runs anything.
    pinned: bool,
    /// Marks every process of this terminal, to find those that left its session.
    scope: String,
    /// Makes each step's nonce.
    nonces: Nonces,
    /// Stops and cuts the grace of everything this terminal waits for.
    cancel: Cancel,
    _registered: Spawned,
}

/// A running background step.
struct Background {
    id: u64,
    pgid: i32,
    started: Instant,
    /// The body stays readable until the job ends: its `source` may start late.
    _body: OwnedFd,
    finish: Option<oneshot::Sender<()>>,
    reader: JoinHandle<(Capture, Capture)>,
}

/// Why processes a step detached were stopped, and with what.
struct DetachedStop {
    timed_out: bool,
    cancelled: bool,
    signal: Option<Signal>,
}

/// True when process `pid` has one of the pipes `inodes` open.
fn holds_pipe(pid: i32, inodes: &[u64]) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            let t = target.to_string_lossy();
            t.strip_prefix("pipe:[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| inodes.contains(&n))
        })
    })
}

/// How a foreground step's wait ended.
enum Ending {
    Done(i32),
    ShellGone,
}

/// A foreground step from the line that started it to its end.
struct RunningStep {
    id: u64,
    /// Only a `done` line with it ends the step.
    nonce: String,
    files: StepPipes,
    out: Capture,
    err: Capture,
    /// Stdout, stderr read to EOF while the step ran: no writer is left.
    eof: [bool; 2],
    deadline: tokio::time::Instant,
    grace: Duration,
    stopping: Escalation,
    timed_out: bool,
    cancelled: bool,
}

impl RunningStep {
    /// From now on the pipes are read as output arrives, so a step that
    /// writes more than a pipe holds does not block.
    fn watch_pipes(&mut self) {
        let [out_eof, err_eof] = &mut self.eof;
        for (stream, eof) in [
            (&mut self.files.out, out_eof),
            (&mut self.files.err, err_eof),
        ] {
            match stream.writer() {
                Ok(w) if stream.watch().is_ok() => self.files.keep.push(w),
                _ => *eof = true,
            }
        }
    }
}

impl Terminal {
    fn spawn(number: u32, cfg: &ShellConfig) -> Result<Terminal, ShellError> {
        // Otherwise the spawn error would blame the shell for a missing directory.
        if !cfg.workdir.is_dir() {
            return Err(ShellError::Setup {
                path: cfg.workdir.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            });
        }
        let dir = tempfile::Builder::new()
            .prefix("labctl-term-")
            .tempdir()
            .map_err(|source| ShellError::Setup {
                path: std::env::temp_dir(),
                source,
            })?;
        // The shell reads its commands as a script from this pipe (at fd 255,
        // close-on-exec, so no step inherits it); its stdin is /dev/null, which
        // every step then inherits without a redirection of its own.
        let setup_pipe = |source: std::io::Error| ShellError::Setup {
            path: PathBuf::from(format!("/proc/{}/fd", my_pid())),
            source,
        };
        let (script_r, script_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
            .map_err(|e| setup_pipe(e.into()))?;
        let commands = pipe::Sender::from_owned_fd_unchecked(script_w).map_err(setup_pipe)?;
        let scope = escapees::new_scope();
        let mut cmd = shell_command(cfg, &script_r, &scope);
        widen_on_exec(&mut cmd);
        let (mut child, registered) =
            escapees::spawn_registered(&mut cmd).map_err(|source| ShellError::Spawn {
                program: cfg.shell.display().to_string(),
                source,
            })?;
        let slots = StepSlots::reserve().map_err(|source| ShellError::Setup {
            path: PathBuf::from("/dev/null"),
            source,
        })?;
        let pid = child.id().map(|p| p as i32).unwrap_or(0);
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut term = Terminal {
            number,
            child,
            pid,
            commands: Some(commands),
            _script: script_r,
            status: BufReader::new(stdout).lines(),
            dir,
            slots,
            steps_sent: 0,
            next_id: 0,
            bg: None,
            out_buf: vec![0; READ_BUF],
            err_buf: vec![0; READ_BUF],
            dead: false,
            pending_init: None,
            colocation: cfg.colocation,
            pinned: false,
            scope,
            nonces: Nonces::new(),
            cancel: cfg.cancel.clone(),
            _registered: registered,
        };
        // Sent with the first step: writing to a fresh pipe does not block.
        let init = init_script(term.dir.path(), &term.slots);
        term.pending_init = Some(init);
        Ok(term)
    }
}

impl Terminal {
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Writes commands to the shell; false when the shell is gone.
    async fn send(&mut self, line: &str) -> bool {
        let Some(stdin) = self.commands.as_mut() else {
            return false;
        };
        let mut all = self.pending_init.take().unwrap_or_default();
        all.push_str(line);
        let ok = match (self.pinned, self.colocation) {
            // bash executes nothing before the newline: unpin it in between,
            // so nothing the line starts inherits the pin.
            (true, Some(colocation)) => {
                let (head, newline) = all.split_at(all.len() - 1);
                let head_ok = stdin.write_all(head.as_bytes()).await.is_ok();
                colocation.release(self.pid);
                self.pinned = false;
                head_ok && stdin.write_all(newline.as_bytes()).await.is_ok()
            }
            _ => stdin.write_all(all.as_bytes()).await.is_ok(),
        };
        ok && stdin.flush().await.is_ok()
    }

    /// Waits for the status line `KIND ID VALUE`; None when the shell is gone or silent.
    async fn expect_status(&mut self, kind: &str, id: u64, limit: Duration) -> Option<i32> {
        let wait = async {
            loop {
                match self.status.next_line().await {
                    Ok(Some(line)) => {
                        if let Some(v) = parse_status(&line, kind, id) {
                            return Some(v);
                        }
                    }
                    _ => return None,
                }
            }
        };
        tokio::time::timeout(limit, wait).await.ok().flatten()
    }

    async fn run_step(
        &mut self,
        body: &str,
        timeout: Duration,
        cancel: &Cancel,
        cap: usize,
        grace: Duration,
        echo: bool,
    ) -> Result<StepOutput, ShellError> {
        let started = Instant::now();
        if cancel.is_cancelled() {
            return Ok(StepOutput {
                cancelled: true,
                ..StepOutput::default()
            });
        }
        let mut step = self.start_step(body, timeout, cap, grace, echo).await?;
        let ending = self.await_ending(&mut step, cancel).await;
        let mut output = self.finish_step(step, ending, cancel).await;
        output.duration = started.elapsed();
        Ok(output)
    }

    /// Puts BODY and fresh output pipes where bash finds them and sends the
    /// line that runs it.
    async fn start_step(
        &mut self,
        body: &str,
        timeout: Duration,
        cap: usize,
        grace: Duration,
        echo: bool,
    ) -> Result<RunningStep, ShellError> {
        let files = self.slots.fill(self.dir.path(), body)?;
        self.steps_sent += 1;
        let id = self.steps_sent;
        let nonce = self.nonces.next();
        // A failed write means the shell is gone; the status pipe says so later.
        self.send(&format!("{STEP_COMMAND} {nonce}\n")).await;

        let mut out = Capture::new(cap);
        let mut err = Capture::new(cap);
        if echo {
            out.echo_to(Echo::Stdout);
            err.echo_to(Echo::Stderr);
        }
        Ok(RunningStep {
            id,
            nonce,
            files,
            out,
            err,
            eof: [false, false],
            deadline: tokio::time::Instant::now() + timeout,
            grace,
            stopping: Escalation::new(&[Signal::SIGTERM], grace),
            timed_out: false,
            cancelled: false,
        })
    }

    /// Waits for the step's `done` line or the shell's end, stopping the step
    /// at its deadline or on cancel.
    async fn await_ending(&mut self, step: &mut RunningStep, cancel: &Cancel) -> Ending {
        let watch_at = tokio::time::Instant::now() + WATCH_AFTER;
        let mut watched = false;
        loop {
            tokio::select! {
                line = self.status.next_line() => match line {
                    Ok(Some(line)) => {
                        if let Some(code) = parse_done(&line, step.id, &step.nonce) {
                            // It waits for its next line now: keep it by us.
                            if let Some(colocation) = self.colocation {
                                self.pinned = colocation.pin(self.pid);
                            }
                            return Ending::Done(code);
                        }
                    }
                    _ => return Ending::ShellGone,
                },
                r = step.files.out.read(&mut self.out_buf), if !step.eof[0] => {
                    step.eof[0] = step.out.absorb(r, &self.out_buf);
                }
                r = step.files.err.read(&mut self.err_buf), if !step.eof[1] => {
                    step.eof[1] = step.err.absorb(r, &self.err_buf);
                }
                _ = tokio::time::sleep_until(watch_at), if !watched => {
                    watched = true;
                    step.watch_pipes();
                }
                _ = tokio::time::sleep_until(step.stopping.due(step.deadline)) => {
                    if !step.stopping.started() {
                        step.timed_out = true;
                        self.abort_step(step.id, &mut step.stopping);
                    } else if !step.stopping.advance(&self.step_target()) {
                        // The shell itself does not come back: give up on it.
                        signal_session(self.pid, None, Signal::SIGKILL);
                        return Ending::ShellGone;
                    }
                }
                _ = cancel.cancelled(), if !step.stopping.started() => {
                    step.cancelled = true;
                    self.abort_step(step.id, &mut step.stopping);
                }
                _ = cancel.killing(), if step.stopping.started() && !step.stopping.killed() => {
                    step.stopping.hurry(&self.step_target());
                }
            }
        }
    }

    /// The step's output once it ended as `ending`: what processes it detached
    /// still write, its status, and its pipes kept for the next step if they can be.
    async fn finish_step(
        &mut self,
        mut step: RunningStep,
        ending: Ending,
        cancel: &Cancel,
    ) -> StepOutput {
        let mut last_signal = step.stopping.last();
        // Everything the step's finished processes wrote is in the pipes now.
        step.files.keep.clear();
        // Streams read to EOF after `done` (no writer left), to spare a second read.
        let mut drained = step.eof;
        if matches!(ending, Ending::Done(_)) && !step.stopping.started() {
            let [out_done, err_done] = &mut drained;
            let streams = [(out_done, &mut step.out), (err_done, &mut step.err)];
            if let Some(stop) = self
                .wait_detached(&step.files, streams, step.deadline, cancel, step.grace)
                .await
            {
                (step.timed_out, step.cancelled) = (stop.timed_out, stop.cancelled);
                last_signal = stop.signal;
            }
        }
        let captures = [&mut step.out, &mut step.err];
        self.keep_spare_pipes(step.files, step.eof, drained, captures);
        if step.timed_out || step.cancelled {
            let _ = std::fs::remove_file(self.dir.path().join(format!("abort.{}", step.id)));
        }
        let mut output = StepOutput {
            timed_out: step.timed_out,
            cancelled: step.cancelled,
            ..StepOutput::default()
        };
        self.ending_status(ending, last_signal, step.grace, &mut output)
            .await;
        output.stdout = step.out.finish();
        output.stderr = step.err.finish();
        output
    }

    /// Keeps the step's pipes for the next step when both can be reused: read
    /// to EOF already (`eof`), emptied after `done` (`drained`), or drained now.
    fn keep_spare_pipes(
        &mut self,
        files: StepPipes,
        eof: [bool; 2],
        drained: [bool; 2],
        [out, err]: [&mut Capture; 2],
    ) {
        let out_spare = match (eof[0], drained[0]) {
            (true, _) => None,
            (false, true) => files.out.into_reusable(),
            (false, false) => files.out.drain(out, &mut self.out_buf),
        };
        let err_spare = match (eof[1], drained[1]) {
            (true, _) => None,
            (false, true) => files.err.into_reusable(),
            (false, false) => files.err.drain(err, &mut self.err_buf),
        };
        if let (Some(o), Some(e)) = (out_spare, err_spare) {
            self.slots.spare = Some((o, e));
        }
    }

    /// The exit status or signal of a step that ended as `ending`; a shell that
    /// went away is reaped (killed after `grace`) and marked dead.
    async fn ending_status(
        &mut self,
        ending: Ending,
        last_signal: Option<Signal>,
        grace: Duration,
        output: &mut StepOutput,
    ) {
        let stopped = output.timed_out || output.cancelled;
        match ending {
            Ending::Done(_) if stopped => {
                output.signal = last_signal.map(|s| s as i32);
            }
            Ending::Done(code) => {
                output.exit_code = Some(code);
                output.signal = signal_of_status(code);
            }
            Ending::ShellGone => {
                self.dead = true;
                output.shell_exited = true;
                let status = match tokio::time::timeout(grace, self.child.wait()).await {
                    Ok(status) => status.ok(),
                    Err(_) => {
                        let _ = self.child.start_kill();
                        self.child.wait().await.ok()
                    }
                };
                if let Some(status) = status {
                    output.exit_code = status.code();
                    output.signal = status.signal();
                }
                if stopped {
                    output.exit_code = None;
                }
            }
        }
    }

    /// After `done`: a process that left the terminal's session (`setsid`, a
    /// double fork) and still holds the step's output is still the step's
    /// (`setsid sleep 44 & wait` waits for nothing, since with job control
    /// setsid forks): wait for it under the step's timeout, reading its output.
    /// A job left with `&` stays in the session and is not waited for, and
    /// none of this costs anything unless a writer is left on a step's pipe.
    async fn wait_detached(
        &mut self,
        files: &StepPipes,
        mut streams: [(&mut bool, &mut Capture); 2],
        deadline: tokio::time::Instant,
        cancel: &Cancel,
        grace: Duration,
    ) -> Option<DetachedStop> {
        let pipes = [&files.out, &files.err];
        let drain = |streams: &mut [(&mut bool, &mut Capture); 2], buf: &mut [u8]| {
            let mut held = Vec::new();
            for ((eof, capture), stream) in streams.iter_mut().zip(pipes) {
                let Some(fd) = stream.as_fd().filter(|_| !**eof) else {
                    continue;
                };
                match drain_now(fd, capture, buf) {
                    Drained::Eof => **eof = true,
                    Drained::Pending => held.extend(nix::sys::stat::fstat(fd).map(|st| st.st_ino)),
                }
            }
            held
        };
        let held = drain(&mut streams, &mut self.out_buf);
        if held.is_empty() {
            return None;
        }
        let scope = self.scope.clone();
        let holders = || {
            escapees::find(Some(&scope))
                .into_iter()
                .any(|pid| holds_pipe(pid, &held))
        };
        loop {
            if !holders() {
                return None;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => {
                    drain(&mut streams, &mut self.out_buf);
                }
                _ = tokio::time::sleep_until(deadline) => break,
                _ = cancel.cancelled() => break,
            }
        }
        let target = self.step_target();
        let (_, signal) = stop(
            &target,
            &[Signal::SIGTERM],
            grace,
            cancel,
            until_gone(&target),
        )
        .await;
        drain(&mut streams, &mut self.out_buf);
        Some(DetachedStop {
            timed_out: !cancel.is_cancelled(),
            cancelled: cancel.is_cancelled(),
            signal,
        })
    }

    /// First stage of stopping a foreground step: make the shell's trap return
    /// from the body, SIGTERM everything else in the session and what left it.
    fn abort_step(&mut self, id: u64, stopping: &mut Escalation) {
        let _ = File::create(self.dir.path().join(format!("abort.{id}")));
        let _ = nix::sys::signal::kill(Pid::from_raw(self.pid), Signal::SIGUSR1);
        stopping.start(&self.step_target(), &self.cancel);
    }

    /// Everything a step of this terminal may have started: its session but
    /// the shell, and the processes that left it.
    fn step_target(&self) -> Target<'_> {
        Target {
            procs: Procs::Session {
                sid: self.pid,
                except: Some(self.pid),
            },
            scope: Some(&self.scope),
        }
    }

    async fn start_background(&mut self, body: &str, cap: usize) -> Result<(), ShellError> {
        let id = self.next_id();
        let mut files = StepFiles::create(self.dir.path(), id, body)?;
        // The subshell reports its pid (= its process group) only after its
        // redirections are open, so our keep-alive write ends can go then.
        let line = format!(
            "{{ trap - INT QUIT; export {}={}.{id}; \\builtin echo \"bgstart {id} $BASHPID\" >&3; exec 3>&-; __labctl_id={id}; \\builtin source {}; }} 3>&1 >{} 2>{} &\n",
            escapees::SCOPE_VAR,
            self.scope,
            sh_quote(&files.body),
            sh_quote(&files.out),
            sh_quote(&files.err),
        );
        let sent = self.send(&line).await;
        let pgid = match sent {
            true => self.expect_status("bgstart", id, SHELL_ANSWER).await,
            false => None,
        };
        let Some(pgid) = pgid else {
            self.dead = true;
            return Err(ShellError::Shell {
                terminal: self.number,
                what: "exited or stopped answering while starting a background step".into(),
            });
        };
        files.keep = None;
        let (finish_tx, finish_rx) = oneshot::channel();
        let reader = tokio::spawn(read_background(files.out_rx, files.err_rx, cap, finish_rx));
        self.bg = Some(Background {
            id,
            pgid,
            started: Instant::now(),
            _body: files.body_keep,
            finish: Some(finish_tx),
            reader,
        });
        Ok(())
    }

    async fn stop_background(&mut self, grace: Duration) -> Option<StepOutput> {
        let mut bg = self.bg.take()?;
        let mut sent = None;
        let mut captures = None;
        if !bg.reader.is_finished() {
            let scope = format!("{}.{}", self.scope, bg.id);
            let target = Target {
                procs: Procs::Group(bg.pgid),
                scope: Some(&scope),
            };
            // Ends with its output, or with its processes (something else may hold the output).
            let gone = async {
                tokio::select! {
                    r = &mut bg.reader => r.ok(),
                    _ = until_gone(&target) => None,
                }
            };
            let (res, last) = stop(
                &target,
                &[Signal::SIGINT, Signal::SIGTERM],
                grace,
                &self.cancel,
                gone,
            )
            .await;
            captures = res.flatten();
            sent = last;
        }
        if captures.is_none() {
            // Ended, or something outside its group still holds its output open.
            if let Some(tx) = bg.finish.take() {
                let _ = tx.send(());
            }
            captures = (&mut bg.reader).await.ok();
        }
        let (out, err) = captures.unwrap_or_else(|| (Capture::new(0), Capture::new(0)));

        let line = format!(
            "wait {} 2>/dev/null; \\builtin echo \"bgwait {} $?\"\n",
            bg.pgid, bg.id
        );
        let mut code = None;
        if self.send(&line).await {
            code = self
                .expect_status("bgwait", bg.id, grace + SHELL_ANSWER)
                .await;
        }
        if code.is_none() {
            self.dead = true;
        }
        Some(StepOutput {
            exit_code: code,
            signal: code
                .and_then(signal_of_status)
                .or_else(|| sent.map(|s| s as i32).filter(|_| code.is_none())),
            stdout: out.finish(),
            stderr: err.finish(),
            duration: bg.started.elapsed(),
            ..StepOutput::default()
        })
    }

    /// Ends the shell and everything left in its session, or that left it.
    async fn close(mut self, grace: Duration) {
        let cancel = self.cancel.clone();
        let scope = self.scope.clone();
        // Leftovers first, while the shell is alive to reap them.
        let target = self.step_target();
        let leftovers = target.alive();
        if leftovers {
            stop(
                &target,
                &[Signal::SIGTERM],
                grace,
                &cancel,
                until_gone(&target),
            )
            .await;
        }
        // EOF on its script ends the shell.
        self.commands = None;
        let exited = tokio::select! {
            r = tokio::time::timeout(grace, self.child.wait()) => r.is_ok(),
            _ = cancel.killing() => false,
        };
        if !exited {
            let _ = self.child.start_kill();
            let _ = tokio::time::timeout(AFTER_KILL, self.child.wait()).await;
        }
        // A shell that was idle with nothing else in its session, and ended on
        // its own, left nothing to find: each scan of /proc reads every
        // process, which adds up with many users.
        if leftovers || !exited {
            signal_session(self.pid, None, Signal::SIGKILL);
        }
        escapees::end(Some(&scope), grace, &cancel).await;
        self.dead = true;
        self.pid = 0;
    }
}

impl Drop for Terminal {
    /// Last resort when a terminal is dropped without `shutdown`: kill its whole session.
    fn drop(&mut self) {
        if self.pid > 0 {
            signal_session(self.pid, None, Signal::SIGKILL);
            escapees::kill_now(Some(&self.scope));
        }
    }
}

/// Reads a background step's output until it ends (EOF on both streams) or
/// until told to stop waiting.
async fn read_background(
    mut out_rx: pipe::Receiver,
    mut err_rx: pipe::Receiver,
    cap: usize,
    mut finish: oneshot::Receiver<()>,
) -> (Capture, Capture) {
    let mut out = Capture::new(cap);
    let mut err = Capture::new(cap);
    let mut out_buf = vec![0; READ_BUF];
    let mut err_buf = vec![0; READ_BUF];
    let (mut out_eof, mut err_eof) = (false, false);
    let mut finished = false;
    while !(out_eof && err_eof) {
        tokio::select! {
            r = out_rx.read(&mut out_buf), if !out_eof => out_eof = out.absorb(r, &out_buf),
            r = err_rx.read(&mut err_buf), if !err_eof => err_eof = err.absorb(r, &err_buf),
            _ = &mut finish => {
                finished = true;
                break;
            }
        }
    }
    if finished {
        if !out_eof {
            StepStream::Watched(out_rx).drain(&mut out, &mut out_buf);
        }
        if !err_eof {
            StepStream::Watched(err_rx).drain(&mut err, &mut err_buf);
        }
    }
    (out, err)
}

/// The three descriptor numbers a terminal reserves in labctl for its
/// foreground steps; each step's pipes are `dup3`ed onto them, so bash opens
/// them at fixed paths, `/proc/<labctl pid>/fd/<n>`.
///
/// Measured: `mkfifo` + `open` + `unlink` on the temp dir's filesystem and a
/// body file cost ~100-250 us per step; `pipe2` costs a few microseconds and
/// touches no filesystem. Fixed numbers let the per-step wrapper be an alias
/// defined once (see the module docs).
struct StepSlots {
    body: OwnedFd,
    out: OwnedFd,
    err: OwnedFd,
    /// Our read ends of the output pipes behind `out` and `err`, when the last
    /// step left them with no writer: the next step uses them as they are.
    spare: Option<(OwnedFd, OwnedFd)>,
}

/// A foreground step's output pipes, read by labctl.
struct StepPipes {
    out: StepStream,
    err: StepStream,
    /// Our own write ends, opened when the pipes start being watched and held
    /// until `done`: a pipe with no writer reads as EOF.
    keep: Vec<OwnedFd>,
}

/// How long a foreground step runs before its output pipes are watched by the
/// reactor. Most steps end sooner, and then their output is read once, after
/// `done`, which saves registering and deregistering two pipes per step; a
/// longer step with more output than a pipe holds waits at most this long.
const WATCH_AFTER: Duration = Duration::from_millis(2);

/// The read end of a step's output pipe: plain until the step has run for
/// [`WATCH_AFTER`], then registered with the reactor.
enum StepStream {
    Unwatched(OwnedFd),
    Watched(pipe::Receiver),
    /// Only while being converted.
    Gone,
}

impl StepStream {
    /// Opens a write end of our own, so reading sees no EOF before `done`.
    fn writer(&self) -> std::io::Result<OwnedFd> {
        let fd = self.as_fd().ok_or(std::io::ErrorKind::NotFound)?;
        let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
        let flags = OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        Ok(nix::fcntl::open(
            path.as_str(),
            flags,
            nix::sys::stat::Mode::empty(),
        )?)
    }

    /// Registers the pipe with the reactor (no-op when it already is).
    fn watch(&mut self) -> std::io::Result<()> {
        if let StepStream::Unwatched(_) = self {
            let StepStream::Unwatched(fd) = std::mem::replace(self, StepStream::Gone) else {
                unreachable!("matched above");
            };
            *self = StepStream::Watched(pipe::Receiver::from_owned_fd_unchecked(fd)?);
        }
        Ok(())
    }

    /// Reads what arrives; never ready while unwatched.
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            StepStream::Watched(rx) => rx.read(buf).await,
            _ => std::future::pending().await,
        }
    }

    fn as_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        match self {
            StepStream::Unwatched(fd) => Some(fd.as_fd()),
            StepStream::Watched(rx) => Some(rx.as_fd()),
            StepStream::Gone => None,
        }
    }

    /// A pipe already read to EOF: its read end serves the next step unless
    /// it is registered with the reactor.
    fn into_reusable(self) -> Option<OwnedFd> {
        match self {
            StepStream::Unwatched(fd) => Some(fd),
            _ => None,
        }
    }

    /// After `done`: keeps what the pipe holds now; a pipe a leftover process
    /// still writes to is handed to a task that discards until EOF. Returns
    /// the read end when the pipe can serve the next step (no writer left, and
    /// not registered with the reactor).
    fn drain(mut self, capture: &mut Capture, buf: &mut [u8]) -> Option<OwnedFd> {
        let fd = self.as_fd()?;
        match drain_now(fd, capture, buf) {
            Drained::Eof => self.into_reusable(),
            Drained::Pending => {
                if self.watch().is_ok()
                    && let StepStream::Watched(rx) = self
                {
                    discard_until_eof(rx);
                }
                None
            }
        }
    }
}

impl StepSlots {
    /// Three descriptors (on /dev/null until the first step), close-on-exec.
    fn reserve() -> std::io::Result<StepSlots> {
        let null = || File::open("/dev/null").map(OwnedFd::from);
        Ok(StepSlots {
            body: null()?,
            out: null()?,
            err: null()?,
            spare: None,
        })
    }

    fn body_path(&self) -> String {
        proc_path(&self.body)
    }

    fn out_path(&self) -> String {
        proc_path(&self.out)
    }

    fn err_path(&self) -> String {
        proc_path(&self.err)
    }

    /// Puts BODY and fresh output pipes behind the slots.
    ///
    /// A body too large for a pipe's buffer goes to a file in `dir`, opened and
    /// unlinked at once: the slot keeps it readable until the next step.
    fn fill(&mut self, dir: &Path, body: &str) -> Result<StepPipes, ShellError> {
        let setup =
            |path: PathBuf| move |source: std::io::Error| ShellError::Setup { path, source };
        let proc_fds = || PathBuf::from(format!("/proc/{}/fd", my_pid()));
        let body_fd = body_source(dir, "large-body.sh", body)?;
        let place = |fd: &OwnedFd, slot: &mut OwnedFd| {
            nix::unistd::dup3(fd, slot, OFlag::O_CLOEXEC).map_err(|e| setup(proc_fds())(e.into()))
        };
        place(&body_fd, &mut self.body)?;
        let (out_r, err_r) = match self.spare.take() {
            Some(spare) => spare,
            None => {
                // The write ends close at once: nothing reads these pipes
                // before bash has opened them (see `StepPipes::keep`).
                let (out_r, _) = output_pipe().map_err(setup(proc_fds()))?;
                let (err_r, _) = output_pipe().map_err(setup(proc_fds()))?;
                place(&out_r, &mut self.out)?;
                place(&err_r, &mut self.err)?;
                (out_r, err_r)
            }
        };
        Ok(StepPipes {
            out: StepStream::Unwatched(out_r),
            err: StepStream::Unwatched(err_r),
            keep: Vec::new(),
        })
    }
}

/// A non-blocking pipe for a step's output: (read end, write end).
fn output_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?)
}

/// The path under which another process opens our descriptor FD.
fn proc_path(fd: &OwnedFd) -> String {
    format!("/proc/{}/fd/{}", my_pid(), fd.as_raw_fd())
}

/// Where a background step's body and output go: pipes of its own (not the
/// slots, which the next step takes over while the job may still be starting).
struct StepFiles {
    /// Path bash sources the body from.
    body: String,
    /// Path bash sends stdout to.
    out: String,
    /// Path bash sends stderr to.
    err: String,
    /// The body's descriptor, kept until bash has read it.
    body_keep: OwnedFd,
    out_rx: pipe::Receiver,
    err_rx: pipe::Receiver,
    /// Our own write ends, held until bash has opened the pipes.
    keep: Option<(OwnedFd, OwnedFd)>,
}

/// Bodies up to this size go through a pipe (whose default buffer is 64 KiB,
/// so writing never blocks); larger ones through a file.
const BODY_PIPE_MAX: usize = 60 * 1024;

/// Makes `body` readable through a descriptor, so bash can open it at
/// `/proc/<labctl pid>/fd/N`: a pipe when it fits the pipe's buffer, else a
/// file named `name` in `dir`, opened and unlinked at once (the descriptor
/// keeps it readable, and nothing is left behind).
fn body_source(dir: &Path, name: &str, body: &str) -> Result<OwnedFd, ShellError> {
    let setup = |path: PathBuf| move |source: std::io::Error| ShellError::Setup { path, source };
    if body.len() <= BODY_PIPE_MAX {
        let proc_fds = || PathBuf::from(format!("/proc/{}/fd", my_pid()));
        let (r, w) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| setup(proc_fds())(e.into()))?;
        File::from(w)
            .write_all(body.as_bytes())
            .map_err(setup(proc_fds()))?;
        Ok(r)
    } else {
        let path = dir.join(name);
        std::fs::write(&path, body).map_err(setup(path.clone()))?;
        let file = File::open(&path).map_err(setup(path.clone()))?;
        let _ = std::fs::remove_file(&path);
        Ok(OwnedFd::from(file))
    }
}

impl StepFiles {
    fn create(dir: &Path, id: u64, body: &str) -> Result<StepFiles, ShellError> {
        let setup = |source: std::io::Error| ShellError::Setup {
            path: PathBuf::from(format!("/proc/{}/fd", my_pid())),
            source,
        };
        let body_keep = body_source(dir, &format!("{id}.sh"), body)?;
        let (out_r, out_w) = output_pipe().map_err(setup)?;
        let (err_r, err_w) = output_pipe().map_err(setup)?;
        Ok(StepFiles {
            body: proc_path(&body_keep),
            out: proc_path(&out_r),
            err: proc_path(&err_r),
            body_keep,
            out_rx: pipe::Receiver::from_owned_fd_unchecked(out_r).map_err(setup)?,
            err_rx: pipe::Receiver::from_owned_fd_unchecked(err_r).map_err(setup)?,
            keep: Some((out_w, err_w)),
        })
    }
}

/// Our pid, asked once (it is part of every step's pipe paths).
fn my_pid() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// Parses `KIND ID VALUE` status lines written by our wrappers.
fn parse_status(line: &str, kind: &str, id: u64) -> Option<i32> {
    let mut parts = line.split_ascii_whitespace();
    if parts.next()? != kind || parts.next()?.parse::<u64>().ok()? != id {
        return None;
    }
    parts.next()?.parse().ok()
}

/// Parses the `done ID STATUS NONCE` line that ends foreground step `id`; a
/// line without this step's nonce is ignored (a step that writes a status
/// line by accident, to a descriptor that reaches the status pipe).
fn parse_done(line: &str, id: u64, nonce: &str) -> Option<i32> {
    let (status, got) = line.rsplit_once(' ')?;
    if got != nonce {
        return None;
    }
    parse_status(status, "done", id)
}

/// Per-step nonces: a random seed, stepped with splitmix64 (no system call per step).
struct Nonces(u64);

impl Nonces {
    fn new() -> Nonces {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(my_pid());
        Nonces(h.finish())
    }

    fn next(&mut self) -> String {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        (0..NONCE_LEN)
            .map(|i| DIGITS[(z >> (i * 6)) as usize % 36] as char)
            .collect()
    }
}

/// The terminal's shell: its script read from `script` (fd 255), stdin
/// /dev/null, stdout the status pipe, in a session of its own.
fn shell_command(cfg: &ShellConfig, script: &OwnedFd, scope: &str) -> Command {
    let mut cmd = Command::new(&cfg.shell);
    if cfg
        .shell
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("bash"))
    {
        cmd.args(["--noprofile", "--norc"]);
    }
    cmd.arg(proc_path(script))
        .current_dir(&cfg.workdir)
        .envs(cfg.env.iter().map(|(k, v)| (k, v)))
        .env(escapees::SCOPE_VAR, scope)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe calls (setsid, signal); setting SIG_DFL installs no handler.
    unsafe {
        cmd.pre_exec(|| {
            // Own session: every process a step starts can be found by sid.
            nix::unistd::setsid()?;
            // If labctl itself was started with SIGINT ignored, background
            // steps would inherit that and ignore our Ctrl-C.
            for sig in [Signal::SIGINT, Signal::SIGQUIT] {
                nix::sys::signal::signal(sig, SigHandler::SigDfl)?;
            }
            Ok(())
        });
    }
    cmd
}

/// The shell's first lines: job control, the abort trap and the `__L` step
/// alias that sources each body from `slots`.
fn init_script(dir: &Path, slots: &StepSlots) -> String {
    // Quoted words (`\\builtin`) are not alias-expanded: a student's
    // `alias echo=...` cannot change the wrapper.
    // The line per step is `__L NONCE`: the alias ends in `echo "done ID $?"`,
    // so the nonce becomes echo's last word without passing through a variable.
    let step = format!(
        "__labctl_id=$((__labctl_id+1)); \\builtin source {} >{} 2>{}; \\builtin echo \"done $__labctl_id $?\"",
        slots.body_path(),
        slots.out_path(),
        slots.err_path(),
    );
    format!(
        "BASH_ARGV0=bash\nset -m\nshopt -s expand_aliases\n__labctl_dir={}\n\
         trap '[[ -e \"$__labctl_dir/abort.$__labctl_id\" ]] && return 124 2>/dev/null' USR1\n\
         {STEP_COMMAND}() {{ {step} \"$1\"; }}\nalias {STEP_COMMAND}={}\n",
        sh_quote(dir),
        sh_quote(&step),
    )
}

/// The signal a shell status > 128 stands for.
fn signal_of_status(code: i32) -> Option<i32> {
    (129..=128 + 64).contains(&code).then(|| code - 128)
}

/// A path single-quoted for bash.
fn sh_quote(path: impl AsRef<Path>) -> String {
    super::quote::single_quoted(&path.as_ref().to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(parse_status("done 3 0", "done", 3), Some(0));
        assert_eq!(parse_status("done 3 127", "done", 3), Some(127));
        assert_eq!(parse_status("done 2 0", "done", 3), None);
        assert_eq!(parse_status("bgstart 3 99", "done", 3), None);
        assert_eq!(parse_status("done", "done", 3), None);
    }

    #[test]
    fn done_lines_need_the_nonce() {
        assert_eq!(parse_done("done 3 0 k2x9q1", 3, "k2x9q1"), Some(0));
        assert_eq!(parse_done("done 3 0", 3, "k2x9q1"), None);
        assert_eq!(parse_done("done 3 0 k2x9q2", 3, "k2x9q1"), None);
        let mut n = Nonces::new();
        let (a, b) = (n.next(), n.next());
        assert!(a.len() == NONCE_LEN && a != b, "{a} {b}");
    }

    #[test]
    fn statuses_above_128_are_signals() {
        assert_eq!(signal_of_status(130), Some(2));
        assert_eq!(signal_of_status(1), None);
        assert_eq!(signal_of_status(255), None);
    }

    #[test]
    fn quoting() {
        assert_eq!(sh_quote(Path::new("/tmp/a b")), "'/tmp/a b'");
        assert_eq!(sh_quote(Path::new("/tmp/it's")), r"'/tmp/it'\''s'");
    }
}
