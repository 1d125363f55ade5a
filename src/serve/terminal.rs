//! A student's terminal: an interactive bash on a pseudo-terminal, its screen
//! kept by a server-side emulator (vt100), and the shell-integration marks that
//! tell where each command starts and ends and how it exited (typed or clicked).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use nix::pty::{Winsize, openpty};
use nix::sys::signal::Signal;
use tokio::sync::{broadcast, watch};

use super::marks::{Mark, MarkScanner, Piece};
use crate::shell::clean_terminal_text;
use crate::shell::process_group::{Procs, Target, end_now, signal_session};

/// Screen size a terminal starts with (the page resizes it).
pub(crate) const DEFAULT_SIZE: (u16, u16) = (30, 100);
/// Bytes of one command's output kept for its checks.
const CAPTURE_CAP: usize = 1 << 20;

/// The rc file every terminal's bash reads: marks in PROMPT_COMMAND and PS0
/// (OSC 133, as VS Code's shell integration sets them), a short prompt.
pub(crate) const RC: &str = r#"# labctl serve: shell integration (OSC 133) for every command, typed or clicked.
__labctl_status() { local s=$?; printf '\033]133;D;%s\007' "$s"; }
PROMPT_COMMAND=__labctl_status
PS1='\[\033]133;A\007\]\[\033[1;34m\]\W\[\033[0m\] \$ \[\033]133;B\007\]'
PS0='\033]133;C\007'
HISTFILE=
"#;

/// How a command run in a terminal ended.
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    /// Exit status from the `D` mark.
    pub exit_code: Option<i32>,
    /// What it printed, control sequences removed.
    pub text: String,
}

/// What happens in a terminal, for whoever waits on it.
#[derive(Debug, Clone)]
pub(crate) enum TermEvent {
    /// A command started (the `C` mark).
    Started,
    /// The first output bytes after a start arrived.
    FirstOutput,
    /// A command ended (the `D` mark after a `C`).
    Finished(Finished),
    /// The shell exited.
    Exited,
}

/// Command tracking between marks.
#[derive(Debug, Default)]
struct Tracker {
    /// Output since the `C` mark, while a command runs.
    capture: Option<Vec<u8>>,
    /// Status of the last finished command.
    last_exit: Option<i32>,
}

struct State {
    parser: vt100::Parser,
    scanner: MarkScanner,
    tracker: Tracker,
    exited: bool,
}

/// One terminal: the shell's pty, its screen and its events.
pub(crate) struct Terminal {
    number: u32,
    writer: Mutex<File>,
    master: OwnedFd,
    pid: i32,
    state: Arc<Mutex<State>>,
    screen_version: watch::Receiver<u64>,
    events: broadcast::Sender<TermEvent>,
}

/// How to start a terminal's shell.
#[derive(Debug, Clone)]
pub(crate) struct ShellSpec {
    /// The shell (bash).
    pub shell: PathBuf,
    /// The rc file with the marks.
    pub rcfile: PathBuf,
    /// Working directory.
    pub workdir: PathBuf,
    /// Environment added to labctl's.
    pub env: Vec<(String, String)>,
}

impl Terminal {
    /// Starts terminal `number`'s shell on a new pty.
    pub(crate) fn spawn(number: u32, spec: &ShellSpec) -> std::io::Result<Arc<Terminal>> {
        let size = Winsize {
            ws_row: DEFAULT_SIZE.0,
            ws_col: DEFAULT_SIZE.1,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&size), None).map_err(std::io::Error::from)?;
        // Neither end may leak into other children: a stray copy of the slave
        // would keep the pty open after the shell exits.
        for fd in [&pty.master, &pty.slave] {
            nix::fcntl::fcntl(
                fd,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            )
            .map_err(std::io::Error::from)?;
        }
        let slave = pty.slave;
        let mut cmd = Command::new(&spec.shell);
        cmd.arg("--rcfile")
            .arg(&spec.rcfile)
            .arg("-i")
            .current_dir(&spec.workdir)
            .env("TERM", "xterm-256color")
            .env("LABCTL_TERMINAL", number.to_string())
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave.try_clone()?))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                if nix::libc::ioctl(0, nix::libc::TIOCSCTTY as _, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        let master = pty.master;
        let reader = File::from(master.try_clone()?);
        let writer = File::from(master.try_clone()?);
        let (version_tx, version_rx) = watch::channel(0u64);
        let (events, _) = broadcast::channel(64);
        let state = Arc::new(Mutex::new(State {
            parser: vt100::Parser::new(DEFAULT_SIZE.0, DEFAULT_SIZE.1, 0),
            scanner: MarkScanner::default(),
            tracker: Tracker::default(),
            exited: false,
        }));
        let pid = child.id() as i32;
        let term = Arc::new(Terminal {
            number,
            writer: Mutex::new(writer),
            master,
            pid,
            state: state.clone(),
            screen_version: version_rx,
            events: events.clone(),
        });
        let version_tx = Arc::new(version_tx);
        let (v, ev, st) = (version_tx.clone(), events.clone(), state.clone());
        std::thread::Builder::new()
            .name(format!("terminal-{number}"))
            .spawn(move || read_loop(reader, st, v, ev))?;
        std::thread::Builder::new()
            .name(format!("terminal-{number}-wait"))
            .spawn(move || wait_exit(child, state, version_tx, events))?;
        Ok(term)
    }

    /// Its number (`execute-2` is terminal 2).
    pub(crate) fn number(&self) -> u32 {
        self.number
    }

    /// Writes keystrokes (or a paste) to the shell.
    pub(crate) fn input(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut w = self.writer.lock().expect("not poisoned");
        w.write_all(bytes)?;
        w.flush()
    }

    /// Types a command the way a paste does (bracketed when the shell asked
    /// for it, as readline does), then Enter.
    pub(crate) fn type_command(&self, command: &str) -> std::io::Result<()> {
        let text = command.trim_end_matches('\n').replace('\n', "\r");
        let bracketed = self.lock().parser.screen().bracketed_paste();
        let mut bytes = Vec::with_capacity(text.len() + 16);
        if bracketed {
            bytes.extend_from_slice(b"\x1b[200~");
        }
        bytes.extend_from_slice(text.as_bytes());
        if bracketed {
            bytes.extend_from_slice(b"\x1b[201~");
        }
        bytes.push(b'\r');
        self.input(&bytes)
    }

    /// Ctrl-C, as the student would press it.
    pub(crate) fn interrupt(&self) -> std::io::Result<()> {
        self.input(b"\x03")
    }

    /// Resizes the pty and the screen.
    pub(crate) fn resize(&self, rows: u16, cols: u16) {
        let (rows, cols) = (rows.clamp(2, 500), cols.clamp(10, 500));
        let size = Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one Winsize from a valid pointer.
        unsafe {
            nix::libc::ioctl(self.master.as_raw_fd(), nix::libc::TIOCSWINSZ, &size);
        }
        self.lock().parser.screen_mut().set_size(rows, cols);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("not poisoned")
    }

    /// Runs `f` on the current screen.
    pub(crate) fn with_screen<R>(&self, f: impl FnOnce(&vt100::Screen) -> R) -> R {
        f(self.lock().parser.screen())
    }

    /// Changes whenever the screen does.
    pub(crate) fn screen_changes(&self) -> watch::Receiver<u64> {
        self.screen_version.clone()
    }

    /// Command starts, ends and the shell's exit.
    pub(crate) fn events(&self) -> broadcast::Receiver<TermEvent> {
        self.events.subscribe()
    }

    /// The shell has exited.
    pub(crate) fn exited(&self) -> bool {
        self.lock().exited
    }

    /// A command runs now (a `C` mark with no `D` yet).
    pub(crate) fn busy(&self) -> bool {
        self.lock().tracker.capture.is_some()
    }

    /// Status of the last command that finished.
    pub(crate) fn last_exit(&self) -> Option<i32> {
        self.lock().tracker.last_exit
    }

    /// Ends the shell and everything in its session. A killed process lives on
    /// until the kernel has torn it down; waiting for that (bounded) is what lets
    /// `labctl serve` say nothing is left running when it exits.
    pub(crate) fn close(&self) {
        if self.pid > 0 {
            let session = Target {
                procs: Procs::Session {
                    sid: self.pid,
                    except: None,
                },
                scope: None,
            };
            end_now(
                &session,
                &[Signal::SIGHUP, Signal::SIGKILL],
                std::time::Duration::from_secs(2),
            );
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.close();
    }
}

/// The shell's end is the terminal's end, whoever else still holds the pty:
/// what is left in its session is hung up, so the reader reaches EOF too.
fn wait_exit(
    mut child: Child,
    state: Arc<Mutex<State>>,
    version: Arc<watch::Sender<u64>>,
    events: broadcast::Sender<TermEvent>,
) {
    let pid = child.id() as i32;
    let _ = child.wait();
    state.lock().expect("not poisoned").exited = true;
    version.send_modify(|v| *v += 1);
    let _ = events.send(TermEvent::Exited);
    signal_session(pid, None, Signal::SIGHUP);
}

fn read_loop(
    mut reader: File,
    state: Arc<Mutex<State>>,
    version: Arc<watch::Sender<u64>>,
    events: broadcast::Sender<TermEvent>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut st = state.lock().expect("not poisoned");
        let State {
            parser,
            scanner,
            tracker,
            ..
        } = &mut *st;
        scanner.feed(&buf[..n], |piece| match piece {
            Piece::Text(t) => {
                parser.process(t);
                if let Some(c) = &mut tracker.capture {
                    if c.is_empty() && !t.is_empty() {
                        let _ = events.send(TermEvent::FirstOutput);
                    }
                    if c.len() < CAPTURE_CAP {
                        c.extend_from_slice(&t[..t.len().min(CAPTURE_CAP - c.len())]);
                    }
                }
            }
            Piece::Mark(Mark::CommandStart) => {
                tracker.capture = Some(Vec::new());
                let _ = events.send(TermEvent::Started);
            }
            Piece::Mark(Mark::CommandEnd(code)) => {
                if let Some(raw) = tracker.capture.take() {
                    tracker.last_exit = code;
                    let _ = events.send(TermEvent::Finished(Finished {
                        exit_code: code,
                        text: clean_terminal_text(&raw),
                    }));
                }
            }
            Piece::Mark(Mark::PromptStart | Mark::InputStart) => {}
        });
        drop(st);
        version.send_modify(|v| *v += 1);
    }
}

/// Writes the rc file into `dir`.
pub(crate) fn write_rcfile(dir: &Path) -> std::io::Result<PathBuf> {
    let path = dir.join("bashrc");
    std::fs::write(&path, RC)?;
    Ok(path)
}
