//! One-shot commands (`command:` checks, Educates examiner scripts): a fresh
//! process in its own process group, with timeout, cancellation and capture.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::process::Command;

use super::capture::{Capture, READ_BUF, drain_now};
use super::escapees;
use super::process_group::{Escalation, Procs, Target, signal_group};
use super::{ShellError, StepOutput};
use crate::cancel::Cancel;

/// A command to run once.
#[derive(Debug, Clone)]
pub struct OneShot {
    /// Script for `bash -c`; when set, `argv` become its positional parameters `$1...`.
    pub script: Option<String>,
    /// Program and arguments, run with no shell when `script` is None.
    pub argv: Vec<String>,
    /// Working directory.
    pub workdir: PathBuf,
    /// Variables added to the inherited environment.
    pub env: Vec<(String, String)>,
    /// Kill the command after this long.
    pub timeout: Duration,
    /// Bytes kept at the head and at the tail of each stream.
    pub capture_cap: usize,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
}

/// The command in its own process group, its output to `stdout` and `stderr`.
fn command(
    cmd: &OneShot,
    program: &str,
    args: &[String],
    scope: &str,
    [stdout, stderr]: [std::os::fd::OwnedFd; 2],
) -> Command {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(&cmd.workdir)
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .env(escapees::SCOPE_VAR, scope)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .kill_on_drop(true);
    command
}

/// What to execute: `bash -c SCRIPT labctl ARGV...` for a script, else ARGV itself.
fn program_and_args(cmd: &OneShot) -> Result<(String, Vec<String>), ShellError> {
    match (&cmd.script, cmd.argv.split_first()) {
        (Some(script), _) => {
            let mut args = vec!["-c".to_string(), script.clone(), "labctl".to_string()];
            args.extend(cmd.argv.iter().cloned());
            Ok(("bash".to_string(), args))
        }
        (None, Some((program, rest))) => Ok((program.clone(), rest.to_vec())),
        (None, None) => Err(ShellError::EmptyCommand),
    }
}

/// A spawned one-shot command: the child, its registration as ours, and the
/// read ends of its output pipes.
struct Started {
    child: tokio::process::Child,
    registered: escapees::Spawned,
    out_rx: pipe::Receiver,
    err_rx: pipe::Receiver,
}

fn start(
    cmd: &OneShot,
    program: &str,
    args: &[String],
    scope: &str,
) -> Result<Started, ShellError> {
    let setup = |source| ShellError::Setup {
        path: cmd.workdir.clone(),
        source,
    };
    // Our own pipes (not Stdio::piped) so that after exit we can read what is
    // buffered without waiting for EOF, which a leftover child could withhold.
    let (out_tx, out_rx) = pipe::pipe().map_err(setup)?;
    let (err_tx, err_rx) = pipe::pipe().map_err(setup)?;
    let stdout = out_tx.into_blocking_fd().map_err(setup)?;
    let stderr = err_tx.into_blocking_fd().map_err(setup)?;
    let mut command = command(cmd, program, args, scope, [stdout, stderr]);
    super::affinity::widen_on_exec(&mut command);
    let spawned = escapees::spawn_registered(&mut command);
    // Drops our copies of the write ends.
    drop(command);
    let (child, registered) = spawned.map_err(|source| ShellError::Spawn {
        program: program.to_string(),
        source,
    })?;
    Ok(Started {
        child,
        registered,
        out_rx,
        err_rx,
    })
}

/// One-shot: runs a script with `bash -c` (or argv with no shell when `argv` is given) in its own process group with timeout and capture.
pub async fn run_once(cmd: OneShot, cancel: &Cancel) -> Result<StepOutput, ShellError> {
    let started = Instant::now();
    let (program, args) = program_and_args(&cmd)?;
    if cancel.is_cancelled() {
        return Ok(StepOutput {
            cancelled: true,
            ..StepOutput::default()
        });
    }
    let scope = escapees::new_scope();
    let Started {
        mut child,
        registered: _registered,
        mut out_rx,
        mut err_rx,
    } = start(&cmd, &program, &args, &scope)?;
    let pgid = child.id().map(|p| p as i32).unwrap_or(0);
    let target = Target {
        procs: Procs::Group(pgid),
        scope: Some(&scope),
    };

    let mut out = Capture::new(cmd.capture_cap);
    let mut err = Capture::new(cmd.capture_cap);
    let mut out_buf = vec![0u8; READ_BUF];
    let mut err_buf = vec![0u8; READ_BUF];
    let (mut out_eof, mut err_eof) = (false, false);
    let (mut timed_out, mut cancelled) = (false, false);
    let deadline = tokio::time::Instant::now() + cmd.timeout;
    let mut stopping = Escalation::new(&[Signal::SIGTERM], cmd.grace);
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.ok(),
            r = out_rx.read(&mut out_buf), if !out_eof => out_eof = out.absorb(r, &out_buf),
            r = err_rx.read(&mut err_buf), if !err_eof => err_eof = err.absorb(r, &err_buf),
            _ = tokio::time::sleep_until(stopping.due(deadline)) => {
                if stopping.started() {
                    if !stopping.advance(&target) {
                        // Not even SIGKILL ended it (stuck in the kernel): stop waiting.
                        break None;
                    }
                } else {
                    timed_out = true;
                    stopping.start(&target, cancel);
                }
            }
            _ = cancel.cancelled(), if !stopping.started() => {
                cancelled = true;
                stopping.start(&target, cancel);
            }
            _ = cancel.killing(), if stopping.started() && !stopping.killed() => stopping.hurry(&target),
        }
    };
    // The command is done: whatever it left in its group, or detached, goes too.
    signal_group(pgid, Signal::SIGKILL);
    escapees::end(Some(&scope), cmd.grace, cancel).await;
    if !out_eof {
        drain_now(&out_rx, &mut out, &mut out_buf);
    }
    if !err_eof {
        drain_now(&err_rx, &mut err, &mut err_buf);
    }
    let mut output = StepOutput {
        timed_out,
        cancelled,
        stdout: out.finish(),
        stderr: err.finish(),
        duration: started.elapsed(),
        ..StepOutput::default()
    };
    if let Some(status) = status {
        output.exit_code = status.code();
        output.signal = status.signal();
    }
    Ok(output)
}
