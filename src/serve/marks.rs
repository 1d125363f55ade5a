//! Shell-integration marks (OSC 133, as VS Code and other terminals read them):
//! `A` prompt start, `B` input start, `C` command started, `D;status` finished.
//! The scanner splits a pty's byte stream into text and marks, holding back a
//! mark cut in two by a read until its end arrives.

/// A shell-integration mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// The prompt is being drawn.
    PromptStart,
    /// The prompt is drawn; what follows is typed input.
    InputStart,
    /// The command line was accepted and runs now (PS0).
    CommandStart,
    /// The command finished with this status (None when the shell gave none).
    CommandEnd(Option<i32>),
}

/// A piece of the stream: text to draw, or a mark between texts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// Bytes for the screen.
    Text(&'a [u8]),
    /// A mark at this point.
    Mark(Mark),
}

const INTRO: &[u8] = b"\x1b]133;";
/// A mark longer than this is not one of ours: pass it on as text.
const LONGEST: usize = 64;

/// Splits a byte stream into text and marks across reads.
#[derive(Debug, Default)]
pub(crate) struct MarkScanner {
    held: Vec<u8>,
    buf: Vec<u8>,
}

impl MarkScanner {
    /// Feeds one read; calls `each` for every piece in order.
    pub(crate) fn feed(&mut self, bytes: &[u8], mut each: impl FnMut(Piece<'_>)) {
        self.buf.clear();
        self.buf.append(&mut self.held);
        self.buf.extend_from_slice(bytes);
        let data = std::mem::take(&mut self.buf);
        let mut at = 0;
        while at < data.len() {
            let rest = &data[at..];
            let Some(start) = find(rest, INTRO) else {
                // The tail may be the start of a mark the next read completes.
                let keep = partial_intro(rest);
                each(Piece::Text(&rest[..rest.len() - keep]));
                self.held.extend_from_slice(&rest[rest.len() - keep..]);
                break;
            };
            if start > 0 {
                each(Piece::Text(&rest[..start]));
            }
            let body = &rest[start + INTRO.len()..];
            match terminator(body) {
                Some((end, len)) => {
                    if let Some(m) = parse(&body[..end]) {
                        each(Piece::Mark(m));
                    }
                    at += start + INTRO.len() + end + len;
                }
                None if body.len() < LONGEST => {
                    self.held.extend_from_slice(&rest[start..]);
                    break;
                }
                None => {
                    each(Piece::Text(&rest[start..start + INTRO.len()]));
                    at += start + INTRO.len();
                }
            }
        }
        self.buf = data;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// How many bytes at the end of `data` could begin INTRO.
fn partial_intro(data: &[u8]) -> usize {
    (1..INTRO.len())
        .rev()
        .find(|&n| data.len() >= n && data[data.len() - n..] == INTRO[..n])
        .unwrap_or(0)
}

/// Position and length of BEL or ST (ESC \).
fn terminator(body: &[u8]) -> Option<(usize, usize)> {
    body.iter().enumerate().find_map(|(i, &b)| match b {
        0x07 => Some((i, 1)),
        0x1b if body.get(i + 1) == Some(&b'\\') => Some((i, 2)),
        _ => None,
    })
}

fn parse(body: &[u8]) -> Option<Mark> {
    let text = std::str::from_utf8(body).ok()?;
    let mut parts = text.split(';');
    match parts.next()? {
        "A" => Some(Mark::PromptStart),
        "B" => Some(Mark::InputStart),
        "C" => Some(Mark::CommandStart),
        "D" => Some(Mark::CommandEnd(
            parts.next().and_then(|s| s.trim().parse().ok()),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = MarkScanner::default();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |p| {
                out.push(match p {
                    Piece::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    Piece::Mark(m) => format!("{m:?}"),
                })
            });
        }
        out.retain(|s| !s.is_empty());
        out
    }

    #[test]
    fn marks_between_text() {
        assert_eq!(
            scan(&[b"a\x1b]133;C\x07out\r\n\x1b]133;D;3\x07\x1b]133;A\x07$ "]),
            [
                "a",
                "CommandStart",
                "out\r\n",
                "CommandEnd(Some(3))",
                "PromptStart",
                "$ "
            ]
        );
    }

    #[test]
    fn mark_split_across_reads_is_held() {
        assert_eq!(
            scan(&[b"out\x1b]13", b"3;D;0", b"\x1b\\next"]),
            ["out", "CommandEnd(Some(0))", "next"]
        );
        assert_eq!(scan(&[b"x\x1b", b"]133;B\x07"]), ["x", "InputStart"]);
    }

    #[test]
    fn other_sequences_pass_as_text() {
        assert_eq!(
            scan(&[b"\x1b]0;title\x07\x1b[1mb"]),
            ["\x1b]0;title\x07\x1b[1mb"]
        );
        assert_eq!(scan(&[b"\x1b]133;Z\x07t"]), ["t"]);
    }
}
