//! The full-screen board: the alternate screen redrawn in place (cursor home, each line
//! rewritten and cleared to its end), keys read from stdin in raw mode by a thread that
//! polls so it can be stopped, and the terminal restored however the board ends.

use std::io::Write as _;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use console::{Alignment, Style, measure_text_width, pad_str};
use nix::sys::termios::{self, SetArg, Termios};

use super::model::{Board, Mark};

/// A key the board understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    /// Arrow up or k.
    Up,
    /// Arrow down or j.
    Down,
    /// Arrow left or h.
    Left,
    /// Arrow right or l.
    Right,
    /// Enter or space: open or close the cell's detail.
    Open,
    /// Escape: close the detail.
    Close,
    /// s: save a snapshot.
    Snapshot,
    /// q or Ctrl-C.
    Quit,
}

/// Keys in a chunk of bytes read from the terminal (unknown bytes are ignored).
pub(crate) fn parse_keys(bytes: &[u8]) -> Vec<Key> {
    let mut keys = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let (key, used) = match bytes[i..] {
            [0x1b, b'[' | b'O', b'A', ..] => (Some(Key::Up), 3),
            [0x1b, b'[' | b'O', b'B', ..] => (Some(Key::Down), 3),
            [0x1b, b'[' | b'O', b'C', ..] => (Some(Key::Right), 3),
            [0x1b, b'[' | b'O', b'D', ..] => (Some(Key::Left), 3),
            [0x1b, b'[', ..] => (None, 2),
            [0x1b, ..] => (Some(Key::Close), 1),
            [b'k', ..] => (Some(Key::Up), 1),
            [b'j', ..] => (Some(Key::Down), 1),
            [b'h', ..] => (Some(Key::Left), 1),
            [b'l', ..] => (Some(Key::Right), 1),
            [b'\r' | b'\n' | b' ', ..] => (Some(Key::Open), 1),
            [b's' | b'S', ..] => (Some(Key::Snapshot), 1),
            [b'q' | b'Q' | 0x03, ..] => (Some(Key::Quit), 1),
            _ => (None, 1),
        };
        keys.extend(key);
        i += used;
    }
    keys
}

/// Where the cursor is and what is open.
#[derive(Debug, Clone, Default)]
pub(crate) struct Screen {
    /// Row: a user, or `users` for the "done" row.
    pub row: usize,
    /// Column.
    pub col: usize,
    /// The detail of the cell under the cursor is shown.
    pub open: bool,
    /// A one-line message (snapshot saved...).
    pub message: Option<String>,
    row_offset: usize,
    col_offset: usize,
}

impl Screen {
    /// Moves or toggles; returns true for keys the caller acts on (snapshot, quit).
    pub(crate) fn key(&mut self, k: Key, board: &Board) -> bool {
        let rows = board.user_count() + 1;
        let cols = board.columns().len().max(1);
        match k {
            Key::Up => self.row = self.row.saturating_sub(1),
            Key::Down => self.row = (self.row + 1).min(rows - 1),
            Key::Left => self.col = self.col.saturating_sub(1),
            Key::Right => self.col = (self.col + 1).min(cols - 1),
            Key::Open => self.open = !self.open,
            Key::Close => self.open = false,
            Key::Snapshot | Key::Quit => return true,
        }
        false
    }
}

/// `3m12s`, `45s`, `1h05m`.
fn short_age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

struct Paint {
    color: bool,
}

impl Paint {
    fn style(&self, s: Style, text: &str) -> String {
        if self.color {
            s.force_styling(true).apply_to(text).to_string()
        } else {
            text.to_string()
        }
    }

    fn mark(&self, m: Mark, stale: bool) -> String {
        let text = format!("{}{}", m.symbol(), if stale { "~" } else { "" });
        let s = match (m, stale) {
            (_, true) => Style::new().dim(),
            (Mark::Done, _) => Style::new().green(),
            (Mark::Broken, _) => Style::new().red().bold(),
            (Mark::NotYet, _) => Style::new().dim(),
            (Mark::Checking, _) => Style::new().yellow(),
            (Mark::NoAnswer, _) => Style::new().magenta(),
        };
        self.style(s, &text)
    }
}

/// The legend and keys line.
pub(crate) const LEGEND: &str = "✓ done · not yet ✗ broken … checking ? no answer ~ stale │ ←↑↓→ move, enter open, s snapshot, q quit";

/// Lines of a cell's reason shown under the board.
const DETAIL_LINES: usize = 3;

/// `text` cut into at most `max` lines of `width` characters, the last ending in … if cut.
fn wrap(text: &str, width: usize, max: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let width = width.max(10);
    let mut out: Vec<String> = chars
        .chunks(width)
        .take(max)
        .map(|c| c.iter().collect())
        .collect();
    if chars.len() > width * max
        && let Some(last) = out.last_mut()
    {
        *last = fit(last, width);
        last.pop();
        last.push('…');
    }
    out
}

fn fit(text: &str, width: usize) -> String {
    pad_str(text, width, Alignment::Left, Some("…")).into_owned()
}

/// Widths and what fits: the columns and rows shown, after scrolling to the cursor.
struct Layout {
    name_w: usize,
    col_w: Vec<usize>,
    shown: Vec<usize>,
    /// Users shown: `first..last`.
    first: usize,
    last: usize,
}

/// Columns of the furthest step, the time since progress and the stuck marker.
const TAIL_W: usize = 16 + 8 + 6;

impl Layout {
    /// Fits the board into `width` × `height`, moving the screen's offsets so the cursor
    /// stays in view.
    fn fit(board: &Board, screen: &mut Screen, width: usize, height: usize) -> Layout {
        let cols = board.columns();
        let n_users = board.user_count();
        let name_w = board
            .users()
            .map(measure_text_width)
            .max()
            .unwrap_or(4)
            .clamp(4, 16)
            + 1;
        // A mark's column: a space (the cursor's bracket), the id, a space between columns.
        let col_w: Vec<usize> = cols
            .iter()
            .map(|c| measure_text_width(&c.id).clamp(5, 14) + 2)
            .collect();
        screen.col = screen.col.min(cols.len().saturating_sub(1));
        screen.row = screen.row.min(n_users);
        let room = width.saturating_sub(name_w + TAIL_W).max(6);
        let shown = scroll_columns(screen, &col_w, room);
        let detail_lines = if screen.open { 2 + DETAIL_LINES } else { 0 };
        let body = height
            .saturating_sub(5 + detail_lines + usize::from(screen.message.is_some()))
            .max(1);
        let cursor_user = screen.row.min(n_users.saturating_sub(1));
        if cursor_user < screen.row_offset {
            screen.row_offset = cursor_user;
        }
        if cursor_user >= screen.row_offset + body {
            screen.row_offset = cursor_user + 1 - body;
        }
        Layout {
            name_w,
            col_w,
            shown,
            first: screen.row_offset,
            last: (screen.row_offset + body).min(n_users),
        }
    }
}

/// The columns that fit in `room` from the screen's column offset, moved so the
/// cursor's column is among them.
fn scroll_columns(screen: &mut Screen, col_w: &[usize], room: usize) -> Vec<usize> {
    if screen.col < screen.col_offset {
        screen.col_offset = screen.col;
    }
    let fits_from = |from: usize| {
        let mut used = 0;
        let mut n = 0;
        for w in &col_w[from..] {
            if used + w > room && n > 0 {
                break;
            }
            used += w;
            n += 1;
        }
        n
    };
    while screen.col >= screen.col_offset + fits_from(screen.col_offset).max(1) {
        screen.col_offset += 1;
    }
    (screen.col_offset..screen.col_offset + fits_from(screen.col_offset)).collect()
}

/// The first line: title, sizes, and how many are stuck, without environment or stale.
fn headline(board: &Board, title: &str) -> String {
    let n_users = board.user_count();
    let n_cols = board.columns().len();
    let stuck = (0..n_users).filter(|&u| board.stuck(u)).count();
    let no_env = (0..n_users)
        .filter(|&u| board.missing_environment(u).is_some())
        .count();
    let stale = (0..n_users)
        .flat_map(|u| (0..n_cols).map(move |c| (u, c)))
        .filter(|&(u, c)| board.cell(u, c).stale.is_some())
        .count();
    let mut head = format!("labctl board · {title} · {n_users} users · {n_cols} steps watched");
    if stuck > 0 {
        head.push_str(&format!(" · {stuck} stuck"));
    }
    if no_env > 0 {
        head.push_str(&format!(" · {no_env} without environment"));
    }
    if stale > 0 {
        head.push_str(&format!(" · {stale} cells stale (no answer)"));
    }
    head
}

/// Draws one frame's lines.
struct Frame<'a> {
    board: &'a Board,
    screen: &'a Screen,
    layout: Layout,
    paint: Paint,
}

impl Frame<'_> {
    /// Step ids over their columns, the cursor's underlined.
    fn column_header(&self) -> String {
        let cols = self.board.columns();
        let mut header = fit("user", self.layout.name_w);
        for &c in &self.layout.shown {
            let h = fit(&cols[c].id, self.layout.col_w[c] - 2);
            let h = if c == self.screen.col {
                self.paint.style(Style::new().underlined(), &h)
            } else {
                h
            };
            header.push(' ');
            header.push_str(&h);
            header.push(' ');
        }
        header.push_str(&fit("furthest", 16));
        header.push_str("since");
        header
    }

    /// One user's marks (or why they have no environment), furthest step, age and stuck.
    fn user_row(&self, u: usize, user: &str) -> String {
        let (board, screen, paint) = (self.board, self.screen, &self.paint);
        let name = fit(user, self.layout.name_w);
        let mut line = if u == screen.row {
            paint.style(Style::new().reverse(), &name)
        } else {
            name
        };
        if let Some(why) = board.missing_environment(u) {
            line.push_str(&paint.style(Style::new().magenta(), &format!("no environment: {why}")));
            return line;
        }
        for &c in &self.layout.shown {
            let cell = board.cell(u, c);
            let m = paint.mark(cell.mark, cell.stale.is_some());
            let visible = 1 + usize::from(cell.stale.is_some());
            let col_w = self.layout.col_w[c];
            if u == screen.row && c == screen.col {
                line.push_str(&format!("[{m}]"));
                line.push_str(&" ".repeat(col_w.saturating_sub(visible + 2)));
            } else {
                line.push_str(&format!(
                    " {m}{}",
                    " ".repeat(col_w.saturating_sub(visible + 1))
                ));
            }
        }
        let furthest = board
            .furthest(u)
            .map_or("-".to_string(), |c| board.columns()[c].id.clone());
        line.push_str(&fit(&furthest, 16));
        line.push_str(&fit(&short_age(board.since_progress(u)), 8));
        if board.stuck(u) {
            line.push_str(&paint.style(Style::new().red(), "stuck"));
        }
        line
    }

    /// The bottom row: users done per column.
    fn done_row(&self) -> String {
        let n_users = self.board.user_count();
        let mut done = fit("done", self.layout.name_w);
        if self.screen.row == n_users {
            done = self.paint.style(Style::new().reverse(), &done);
        }
        for &c in &self.layout.shown {
            done.push_str(&fit(
                &format!(" {}/{n_users}", self.board.done_count(c)),
                self.layout.col_w[c],
            ));
        }
        done
    }

    /// What the open cell says: its state and reason, or on the done row the most
    /// common reason among the users not done.
    fn detail(&self) -> (String, String) {
        let (board, screen) = (self.board, self.screen);
        let cols = board.columns();
        let n_users = board.user_count();
        let c = screen.col;
        if screen.row == n_users {
            let not_done = n_users - board.done_count(c);
            let why = board
                .common_reason(c)
                .map_or("-".into(), |(r, n)| format!("{n} users: {r}"));
            return (
                format!("{}: {not_done} of {n_users} users not done", cols[c].id),
                why,
            );
        }
        let u = screen.row;
        let cell = board.cell(u, c);
        let state = match cell.stale {
            Some(age) => format!(
                "{} (stale: last answer {} ago)",
                cell.mark.word(),
                short_age(age)
            ),
            None => cell.mark.word().to_string(),
        };
        let why = board
            .missing_environment(u)
            .map(|m| format!("no environment: {m}"))
            .or(cell.reason)
            .unwrap_or_else(|| board.wording(u, c).join("; "));
        let user = board.users().nth(u).unwrap_or("?");
        (format!("{user} · {}: {state}", cols[c].id), why)
    }
}

/// The whole screen as lines (no escape codes but colours).
pub(crate) fn render(
    board: &Board,
    screen: &mut Screen,
    width: usize,
    height: usize,
    color: bool,
    title: &str,
) -> Vec<String> {
    let layout = Layout::fit(board, screen, width, height);
    let frame = Frame {
        board,
        screen,
        layout,
        paint: Paint { color },
    };
    let paint = &frame.paint;
    let mut lines = vec![paint.style(Style::new().bold(), &fit(&headline(board, title), width))];
    lines.push(frame.column_header());
    for (u, user) in board
        .users()
        .enumerate()
        .take(frame.layout.last)
        .skip(frame.layout.first)
    {
        lines.push(frame.user_row(u, user));
    }
    lines.push(frame.done_row());
    if screen.open && !board.columns().is_empty() {
        let (what, why) = frame.detail();
        lines.push(String::new());
        lines.push(paint.style(Style::new().bold(), &fit(&what, width)));
        lines.extend(wrap(&why, width, DETAIL_LINES));
    }
    if let Some(m) = &screen.message {
        lines.push(fit(m, width));
    }
    lines.push(paint.style(Style::new().dim(), &fit(LEGEND, width)));
    lines
}

/// The terminal in raw mode on the alternate screen; restored on drop.
pub(crate) struct Terminal {
    saved: Termios,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Terminal {
    /// Enters raw mode and the alternate screen, and starts reading keys into `keys`.
    pub(crate) fn enter(
        keys: tokio::sync::mpsc::UnboundedSender<Key>,
    ) -> std::io::Result<Terminal> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd())?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        // Keep output processing so a newline still returns the carriage.
        raw.output_flags = saved.output_flags;
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)?;
        let mut err = std::io::stderr();
        let _ = write!(err, "\x1b[?1049h\x1b[?25l");
        let _ = err.flush();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let reader = std::thread::spawn(move || read_keys(&flag, &keys));
        Ok(Terminal {
            saved,
            stop,
            reader: Some(reader),
        })
    }

    /// Draws `lines` over the previous frame.
    pub(crate) fn draw(&self, lines: &[String]) {
        let mut frame = String::from("\x1b[H");
        for l in lines {
            frame.push_str(l);
            frame.push_str("\x1b[K\r\n");
        }
        frame.push_str("\x1b[J");
        let mut err = std::io::stderr();
        let _ = err.write_all(frame.as_bytes());
        let _ = err.flush();
    }

    /// Width and height.
    pub(crate) fn size() -> (usize, usize) {
        let (h, w) = console::Term::stderr().size();
        (usize::from(w), usize::from(h))
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
        let mut err = std::io::stderr();
        let _ = write!(err, "\x1b[?25h\x1b[?1049l");
        let _ = err.flush();
    }
}

fn read_keys(stop: &AtomicBool, keys: &tokio::sync::mpsc::UnboundedSender<Key>) {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let mut buf = [0u8; 64];
    while !stop.load(Ordering::SeqCst) {
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u8)) {
            Ok(n) if n > 0 => {}
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                for k in parse_keys(&buf[..n]) {
                    if keys.send(k).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::board::model::{Column, Student};
    use crate::check::CheckOutcome;
    use crate::engine::observe::{Answer, Observation, ProbeId};

    fn judged(user: usize, column: usize, passed: bool) -> Observation {
        Observation {
            user,
            probe: ProbeId::Check { column, check: 0 },
            answer: Answer::Judged(CheckOutcome {
                passed,
                description: "ServiceEntry egress in user2".into(),
                expected: "exists".into(),
                actual: if passed { "exists" } else { "not found" }.into(),
                message: None,
            }),
            at: std::time::Instant::now(),
        }
    }

    #[test]
    fn a_frame_shows_marks_counts_and_the_open_reason() {
        let cols = ["apply-egress", "scrape"]
            .map(|id| Column { id: id.into() })
            .to_vec();
        let students = ["user1", "user2"]
            .map(|name| Student {
                name: name.into(),
                checks: vec![vec![format!("ServiceEntry egress in {name}")]; 2],
                environment: Vec::new(),
            })
            .to_vec();
        let mut b = Board::new(cols, students, Duration::from_secs(600));
        b.apply(&judged(0, 0, true));
        b.apply(&judged(1, 0, true));
        b.apply(&judged(1, 0, false));
        b.apply(&judged(0, 1, false));
        let mut screen = Screen::default();
        screen.key(Key::Down, &b);
        screen.key(Key::Open, &b);
        let lines = render(&b, &mut screen, 100, 30, false, "Egress");
        let text = lines.join("\n");
        assert!(
            lines[0].starts_with("labctl board · Egress · 2 users · 2 steps watched"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("user   apply-egress  scrape furthest"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("user1  ✓             ·      apply-egress    0s"),
            "{text}"
        );
        assert!(
            lines[3].starts_with("user2 [✗]            …      -               0s"),
            "{text}"
        );
        assert!(lines[4].starts_with("done   1/2           0/2"), "{text}");
        assert!(
            lines[6].starts_with("user2 · apply-egress: broken"),
            "{text}"
        );
        assert_eq!(
            lines[7], "ServiceEntry egress in user2: expected exists, actual not found",
            "{text}"
        );
        assert!(lines[8].ends_with("q quit"), "{text}");
        // A cell with no reason lists its checks in its own user's words.
        screen.key(Key::Right, &b);
        let lines = render(&b, &mut screen, 100, 30, false, "Egress");
        assert!(
            lines[6].starts_with("user2 · scrape: checking"),
            "{lines:?}"
        );
        assert_eq!(lines[7], "ServiceEntry egress in user2", "{lines:?}");
    }

    #[test]
    fn keys() {
        assert_eq!(
            parse_keys(b"\x1b[Aj\rsq\x03\x1b"),
            [
                Key::Up,
                Key::Down,
                Key::Open,
                Key::Snapshot,
                Key::Quit,
                Key::Quit,
                Key::Close
            ]
        );
    }
}
