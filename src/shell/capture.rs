//! Bounded capture of one output stream: the first `cap` bytes, the last `cap`
//! bytes, and a count of what was dropped in between.

use std::collections::VecDeque;
use std::os::fd::AsFd;

use super::text_clean::clean_terminal_text;

/// Output of one stream as kept for checks and reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// Head + tail, lossily UTF-8, `\r` overwrites applied, ANSI codes stripped.
    pub text: String,
    /// Bytes the stream produced.
    pub total_bytes: u64,
    /// Bytes dropped between head and tail.
    pub omitted_bytes: u64,
}

/// Where a stream is also written as it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Echo {
    /// labctl's stdout.
    Stdout,
    /// labctl's stderr.
    Stderr,
}

impl Echo {
    fn write(self, data: &[u8]) {
        use std::io::Write;
        // A student's terminal that went away must not fail the step.
        let _ = match self {
            Echo::Stdout => {
                let mut o = std::io::stdout().lock();
                o.write_all(data).and_then(|_| o.flush())
            }
            Echo::Stderr => std::io::stderr().lock().write_all(data),
        };
    }
}

/// Accumulates a stream in bounded memory (at most `2 * cap` bytes).
#[derive(Debug)]
pub(crate) struct Capture {
    cap: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
    echo: Option<Echo>,
}

impl Capture {
    pub(crate) fn new(cap: usize) -> Capture {
        Capture {
            cap,
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
            echo: None,
        }
    }

    /// Takes the result of one read into BUF: keeps what was read; true when
    /// the stream has ended (EOF, or an error that ends reading alike).
    pub(crate) fn absorb(&mut self, read: std::io::Result<usize>, buf: &[u8]) -> bool {
        match read {
            Ok(0) | Err(_) => true,
            Ok(n) => {
                self.push(&buf[..n]);
                false
            }
        }
    }

    /// Also writes what is read to `echo` from now on.
    pub(crate) fn echo_to(&mut self, echo: Echo) {
        self.echo = Some(echo);
    }

    /// Adds bytes read from the stream.
    pub(crate) fn push(&mut self, mut data: &[u8]) {
        if let Some(e) = self.echo {
            e.write(data);
        }
        self.total += data.len() as u64;
        if self.head.len() < self.cap {
            let n = (self.cap - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        if data.is_empty() {
            return;
        }
        if data.len() >= self.cap {
            self.tail.clear();
            self.tail.extend(&data[data.len() - self.cap..]);
        } else {
            let overflow = (self.tail.len() + data.len()).saturating_sub(self.cap);
            self.tail.drain(..overflow);
            self.tail.extend(data);
        }
    }

    /// Turns the kept bytes into text, with a marker line where bytes were dropped.
    pub(crate) fn finish(self) -> Captured {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let omitted = self.total - kept;
        let (a, b) = self.tail.as_slices();
        let text = if omitted == 0 {
            let mut all = self.head;
            all.extend_from_slice(a);
            all.extend_from_slice(b);
            clean_terminal_text(&all)
        } else {
            let mut text = clean_terminal_text(&self.head);
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("[... {omitted} bytes omitted ...]\n"));
            let mut tail = Vec::with_capacity(self.tail.len());
            tail.extend_from_slice(a);
            tail.extend_from_slice(b);
            text.push_str(&clean_terminal_text(&tail));
            text
        };
        Captured {
            text,
            total_bytes: self.total,
            omitted_bytes: omitted,
        }
    }
}

/// Read buffer per stream; a pipe holds 64 KiB by default.
pub(crate) const READ_BUF: usize = 64 * 1024;

/// Most bytes read from a stream after its process ended before what is left
/// is given up on (more than a pipe can hold, so nothing a finished process
/// wrote is lost).
const DRAIN_LIMIT: usize = 2 << 20;

/// How a non-blocking drain ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Drained {
    /// No writer is left: the stream is finished.
    Eof,
    /// Nothing more to read right now (a writer still holds the stream open).
    Pending,
}

/// Reads what the pipe holds right now without waiting.
///
/// Reads the fd directly (it is non-blocking) instead of `try_read`, which
/// trusts tokio's cached readiness and could miss bytes the reactor has not
/// seen yet. Bounded by [`DRAIN_LIMIT`] so a flooding leftover cannot keep us here.
pub(crate) fn drain_now(fd: impl AsFd, capture: &mut Capture, buf: &mut [u8]) -> Drained {
    let mut read = 0;
    while read < DRAIN_LIMIT {
        match nix::unistd::read(fd.as_fd(), buf) {
            Ok(0) => return Drained::Eof,
            Ok(n) => {
                capture.push(&buf[..n]);
                read += n;
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::EAGAIN) => return Drained::Pending,
            Err(_) => return Drained::Eof,
        }
    }
    Drained::Pending
}

/// Keeps reading (and discarding) a stream that a leftover process still holds
/// open, so it neither blocks on a full pipe nor dies of SIGPIPE; ends at EOF.
pub(crate) fn discard_until_eof(mut rx: tokio::net::unix::pipe::Receiver) {
    use tokio::io::AsyncReadExt;
    tokio::spawn(async move {
        let mut buf = [0u8; 8192];
        while let Ok(n) = rx.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_is_kept_whole() {
        let mut c = Capture::new(8);
        c.push(b"hello ");
        c.push(b"world\n");
        let out = c.finish();
        assert_eq!(out.text, "hello world\n");
        assert_eq!(out.total_bytes, 12);
        assert_eq!(out.omitted_bytes, 0);
    }

    #[test]
    fn large_output_keeps_head_and_tail() {
        let mut c = Capture::new(4);
        for chunk in [&b"abcdefg"[..], b"hij", b"klmnop"] {
            c.push(chunk);
        }
        let out = c.finish();
        assert_eq!(out.total_bytes, 16);
        assert_eq!(out.omitted_bytes, 8);
        assert_eq!(out.text, "abcd\n[... 8 bytes omitted ...]\nmnop");
    }

    #[test]
    fn one_huge_chunk_keeps_its_end() {
        let mut c = Capture::new(3);
        c.push(b"0123456789");
        let out = c.finish();
        assert_eq!(out.text, "012\n[... 4 bytes omitted ...]\n789");
    }

    #[test]
    fn zero_cap_keeps_nothing() {
        let mut c = Capture::new(0);
        c.push(b"abc");
        let out = c.finish();
        assert_eq!(out.omitted_bytes, 3);
        assert_eq!(out.text, "[... 3 bytes omitted ...]\n");
    }
}
