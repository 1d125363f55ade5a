//! The terminal's screen as the page draws it: rows of styled runs, sent as
//! JSON diffs (only the rows that changed since the last frame a viewer saw).

use serde_json::{Value, json};

/// What one viewer last saw, to send only what changed.
#[derive(Debug, Default)]
pub(crate) struct Viewer {
    rows: Vec<String>,
    size: (u16, u16),
}

/// Style bits of a run: bold, italic, underline, inverse, dim.
const BOLD: u8 = 1;
const ITALIC: u8 = 2;
const UNDERLINE: u8 = 4;
const INVERSE: u8 = 8;
const DIM: u8 = 16;

impl Viewer {
    /// The next frame for this viewer, or None when nothing it shows changed.
    pub(crate) fn frame(&mut self, screen: &vt100::Screen) -> Option<Value> {
        let size = screen.size();
        let full = size != self.size;
        if full {
            self.rows = vec![String::new(); size.0 as usize];
            self.size = size;
        }
        let mut changed = serde_json::Map::new();
        for r in 0..size.0 {
            let row = row_json(screen, r, size.1);
            if self.rows[r as usize] != row {
                changed.insert(r.to_string(), serde_json::from_str(&row).expect("own JSON"));
                self.rows[r as usize] = row;
            }
        }
        let cursor = screen.cursor_position();
        Some(json!({
            "type": "screen",
            "full": full,
            "size": [size.0, size.1],
            "cursor": [cursor.0, cursor.1],
            "hideCursor": screen.hide_cursor(),
            "alternate": screen.alternate_screen(),
            "appCursor": screen.application_cursor(),
            "bracketedPaste": screen.bracketed_paste(),
            "rows": changed,
        }))
    }
}

fn color(c: vt100::Color) -> Value {
    match c {
        vt100::Color::Default => Value::Null,
        vt100::Color::Idx(i) => json!(i),
        vt100::Color::Rgb(r, g, b) => json!(format!("#{r:02x}{g:02x}{b:02x}")),
    }
}

fn style(cell: &vt100::Cell) -> (Value, Value, u8) {
    let mut bits = 0;
    for (on, bit) in [
        (cell.bold(), BOLD),
        (cell.italic(), ITALIC),
        (cell.underline(), UNDERLINE),
        (cell.inverse(), INVERSE),
        (cell.dim(), DIM),
    ] {
        if on {
            bits |= bit;
        }
    }
    (color(cell.fgcolor()), color(cell.bgcolor()), bits)
}

/// One row as `[[text, fg, bg, bits], ...]`, trailing default blanks left out.
fn row_json(screen: &vt100::Screen, r: u16, cols: u16) -> String {
    let mut runs: Vec<(String, (Value, Value, u8))> = Vec::new();
    for c in 0..cols {
        let Some(cell) = screen.cell(r, c) else {
            continue;
        };
        if cell.is_wide_continuation() {
            continue;
        }
        let text = if cell.has_contents() {
            cell.contents()
        } else {
            " "
        };
        let st = style(cell);
        match runs.last_mut() {
            Some((t, s)) if *s == st => t.push_str(text),
            _ => runs.push((text.to_string(), st)),
        }
    }
    if let Some((t, (Value::Null, Value::Null, bits))) = runs.last_mut()
        && *bits & (UNDERLINE | INVERSE) == 0
    {
        let trimmed = t.trim_end_matches(' ').len();
        t.truncate(trimmed);
        if t.is_empty() {
            runs.pop();
        }
    }
    let runs: Vec<Value> = runs
        .into_iter()
        .map(|(t, (fg, bg, bits))| json!([t, fg, bg, bits]))
        .collect();
    Value::Array(runs).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_rows_are_sent() {
        let mut p = vt100::Parser::new(3, 10, 0);
        let mut v = Viewer::default();
        p.process(b"ab\x1b[31mc\x1b[0m");
        let f = v.frame(p.screen()).unwrap();
        assert_eq!(f["full"], true);
        assert_eq!(
            f["rows"]["0"],
            json!([["ab", null, null, 0], ["c", 1, null, 0]])
        );
        assert_eq!(f["rows"]["1"], json!([]));
        p.process(b"\r\nx");
        let f = v.frame(p.screen()).unwrap();
        assert_eq!(f["full"], false);
        assert_eq!(f["rows"].as_object().unwrap().len(), 1);
        assert_eq!(f["rows"]["1"], json!([["x", null, null, 0]]));
        assert_eq!(f["cursor"], json!([1, 1]));
    }
}
