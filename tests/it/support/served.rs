//! `labctl serve` on a copy of the repository's workshop (book.toml + labs/), or any
//! labctl command that serves a page (`board --web`), stopped with SIGTERM when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use super::labctl::{Labctl, repo};
use super::workshop::Workshop;

/// A running `labctl serve`.
pub struct Served {
    /// The child.
    pub child: Option<Child>,
    /// The printed URL, with its token.
    pub url: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The token.
    pub token: String,
    /// The folder holding the copy.
    pub dir: tempfile::TempDir,
    /// What it printed on stderr, read after it stops.
    pub stderr: Option<std::process::ChildStderr>,
}

impl Served {
    /// `labctl serve labs/ ARGS...` in a copy of the workshop.
    pub fn start(args: &[&str]) -> Served {
        let copy = Workshop::new()
            .copy(&repo().join("book.toml"), "book.toml")
            .copy(&repo().join("labs"), "labs");
        Served::start_in(copy.dir, args)
    }

    /// `labctl serve labs/ ARGS...` in `dir`.
    pub fn start_in(dir: tempfile::TempDir, args: &[&str]) -> Served {
        Served::spawn(Labctl::new(&["serve", "labs/"]).args(args), dir)
    }

    /// `labctl` serving a page (`serve`, `board --web`) run in `dir`, once it has
    /// printed its URL on stdout.
    pub fn spawn(labctl: Labctl, dir: tempfile::TempDir) -> Served {
        let mut child = labctl.dir(dir.path()).spawn();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let stderr = child.stderr.take();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        let base = url.split("/?").next().unwrap().to_string();
        let addr = base.trim_start_matches("http://").to_string();
        let token = url.split("token=").nth(1).unwrap().to_string();
        Served {
            child: Some(child),
            url,
            base,
            addr,
            token,
            dir,
            stderr,
        }
    }

    /// The working folder of the terminals (the labs).
    pub fn workdir(&self) -> PathBuf {
        self.dir.path().join("labs")
    }

    /// One raw HTTP/1.1 request; returns the status line, headers and body as text.
    pub fn request(&self, head: &str) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        // Read until the server closes or a WebSocket handshake's headers end.
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.starts_with(b"HTTP/1.1 101") && out.windows(4).any(|w| w == b"\r\n\r\n")
                    {
                        break;
                    }
                }
            }
        }
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, text)
    }

    /// The cookie header value that the token buys.
    pub fn cookie(&self) -> String {
        let (_, resp) = self.request(&format!(
            "GET /?token={} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.token, self.addr
        ));
        let line = resp
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
            .expect("a cookie");
        line.split_once(':')
            .unwrap()
            .1
            .split(';')
            .next()
            .unwrap()
            .trim()
            .to_string()
    }

    /// Stops it with SIGTERM; returns its exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
    }
}
