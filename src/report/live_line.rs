//! A result line on stderr under a live progress display, never lost.

use std::io::Write;

use indicatif::{MultiProgress, ProgressBar};

/// A live display that can step aside while a line is written.
pub(crate) trait Suspend {
    /// Hides the display, runs `f`, draws it again.
    fn suspend_for(&self, f: &mut dyn FnMut());
}

impl Suspend for ProgressBar {
    fn suspend_for(&self, f: &mut dyn FnMut()) {
        self.suspend(f)
    }
}

impl Suspend for MultiProgress {
    fn suspend_for(&self, f: &mut dyn FnMut()) {
        self.suspend(f)
    }
}

/// Writes `text` and its newline in one write: stderr is unbuffered, and
/// `writeln!` would make the newline a second system call. Written under
/// `suspend`, not through `MultiProgress::println`, which drops lines when
/// indicatif decides the target cannot draw: a result line is never lost.
pub(crate) fn write_line(out: &mut dyn Write, mut text: String, live: Option<&dyn Suspend>) {
    text.push('\n');
    // A console that cannot be written to has no one to tell.
    let mut write = || {
        let _ = out.write_all(text.as_bytes());
    };
    match live {
        Some(display) => display.suspend_for(&mut write),
        None => write(),
    }
}
