//! Turns raw terminal bytes into the text a student would read: ANSI escape
//! codes removed and carriage-return overwrites applied line by line.

/// Cleans captured output: lossy UTF-8, ANSI escapes stripped, `\r` overwrites
/// (progress bars) applied per line, `\r\n` read as `\n`.
pub fn clean_terminal_text(raw: &[u8]) -> String {
    let decoded = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(decoded.len());
    let mut line = Line::default();
    let mut chars = decoded.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => csi(&mut chars, &mut line),
                Some(']') => string_sequence(&mut chars, true),
                Some('P' | 'X' | '^' | '_') => string_sequence(&mut chars, false),
                // Character-set designation: ESC ( B and friends take one more byte.
                Some('(' | ')' | '*' | '+' | '-' | '.' | '/' | '#' | '%') => {
                    chars.next();
                }
                _ => {}
            },
            '\u{9b}' => csi(&mut chars, &mut line),
            '\r' => line.col = 0,
            '\n' => {
                line.flush_into(&mut out);
                out.push('\n');
            }
            '\u{8}' => line.col = line.col.saturating_sub(1),
            '\t' => line.put('\t'),
            c if c.is_control() => {}
            c => line.put(c),
        }
    }
    line.flush_into(&mut out);
    out
}

/// The line being drawn, with the cursor column.
#[derive(Default)]
struct Line {
    chars: Vec<char>,
    col: usize,
}

impl Line {
    fn put(&mut self, c: char) {
        if self.col < self.chars.len() {
            self.chars[self.col] = c;
        } else {
            self.chars.resize(self.col, ' ');
            self.chars.push(c);
        }
        self.col += 1;
    }

    /// Applies "erase in line" (`ESC [ n K`).
    fn erase(&mut self, mode: &str) {
        match mode {
            "" | "0" => self.chars.truncate(self.col),
            "1" => {
                let end = (self.col + 1).min(self.chars.len());
                self.chars[..end].fill(' ');
            }
            "2" => self.chars.clear(),
            _ => {}
        }
    }

    fn flush_into(&mut self, out: &mut String) {
        out.extend(self.chars.drain(..));
        self.col = 0;
    }
}

/// Skips a control sequence (`ESC [` params, intermediates, final byte); only
/// "erase in line" changes the text, since progress bars use it after `\r`.
fn csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, line: &mut Line) {
    let mut params = String::new();
    for c in chars.by_ref() {
        match c {
            '\u{30}'..='\u{3f}' => params.push(c),
            '\u{20}'..='\u{2f}' => {}
            'K' => {
                line.erase(&params);
                return;
            }
            '\u{40}'..='\u{7e}' => return,
            // Malformed: stop at the first byte that cannot belong to it.
            _ => return,
        }
    }
}

/// Skips OSC/DCS-style strings, ended by BEL (OSC only) or `ESC \`.
fn string_sequence(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, bel_ends: bool) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' if bel_ends => return,
            '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::clean_terminal_text as clean;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(clean(b"hello\nworld\n"), "hello\nworld\n");
        assert_eq!(clean(b"no newline"), "no newline");
        assert_eq!(clean(b""), "");
    }

    #[test]
    fn colours_are_stripped() {
        assert_eq!(clean(b"\x1b[1;31mERROR\x1b[0m: bad\n"), "ERROR: bad\n");
        assert_eq!(clean(b"\x1b[38;5;208morange\x1b[m"), "orange");
        assert_eq!(clean(b"\x1b(Bplain"), "plain");
    }

    #[test]
    fn osc_titles_and_hyperlinks_are_stripped() {
        assert_eq!(clean(b"\x1b]0;my title\x07prompt"), "prompt");
        assert_eq!(
            clean(b"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ text"),
            "link text"
        );
    }

    #[test]
    fn crlf_becomes_lf() {
        assert_eq!(clean(b"a\r\nb\r\n"), "a\nb\n");
    }

    #[test]
    fn carriage_return_overwrites_progress() {
        assert_eq!(
            clean(b"  0%\r 50%\r100%\ndone\n"),
            "100%\ndone\n",
            "each \\r redraws the line"
        );
        // A shorter redraw leaves the end of the longer one, as on a terminal.
        assert_eq!(clean(b"abcdef\rXY\n"), "XYcdef\n");
        // Unless the line is erased first, as progress bars do.
        assert_eq!(clean(b"abcdef\r\x1b[KXY\n"), "XY\n");
        assert_eq!(clean(b"abcdef\r\x1b[2KXY"), "XY");
    }

    #[test]
    fn curl_progress_meter_keeps_final_state() {
        let raw = b"  % Total    % Received\n\r  0     0    0     0\r100    12  100    12\n";
        assert_eq!(
            clean(raw),
            "  % Total    % Received\n100    12  100    12\n"
        );
    }

    #[test]
    fn backspace_and_bell() {
        assert_eq!(clean(b"ab\x08c\x07\n"), "ac\n");
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(clean(b"a\xffb"), "a\u{fffd}b");
    }
}
