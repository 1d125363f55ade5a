//! Standard output for what commands print for other programs (JSON, YAML,
//! plans): a reader that stops early (`labctl report merge r.json | head`)
//! closes the pipe, and that is not an error: labctl ends quietly instead of
//! panicking the way `print!` does.

use std::io::Write;

/// Writes `text` to stdout and flushes. A closed pipe is ignored; any other
/// failure is reported on stderr once.
pub(crate) fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let res = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    if let Err(e) = res
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write to standard output: {e}");
    }
}
