//! Similar text: noise dropped (curl's meter and `-v` chatter, progress bars),
//! then expected lines found in order with digit-bearing tokens masked.

use std::sync::LazyLock;

use regex::Regex;

use super::lines::{has_wildcards, is_more, line_regex};
use super::mismatch::Mismatch;

static CURL_METER: LazyLock<Regex> = LazyLock::new(|| {
    let n = r"[\d.]+[kMGTP]?";
    let t = r"(?:--:--:--|\d+:\d+:\d+)";
    Regex::new(&format!(
        r"^\s*\d{{1,3}}\s+{n}\s+\d{{1,3}}\s+{n}\s+\d{{1,3}}\s+{n}\s+{n}\s+{n}\s+{t}\s+{t}\s+{t}\s+{n}\s*$"
    ))
    .expect("valid")
});

static PROGRESS_BAR: LazyLock<Regex> = LazyLock::new(|| {
    let bar = r"(?:\[[=#>.\- ]{4,}\]|[█▓▒░■━#]{4,})";
    Regex::new(&format!(
        r"{bar}.*\d+(?:\.\d+)?\s?%|\d+(?:\.\d+)?\s?%.*{bar}"
    ))
    .expect("valid")
});

/// curl's progress meter, `curl -v` chatter, progress bars.
pub(super) fn is_noise(line: &str) -> bool {
    let t = line.trim();
    t.starts_with("% Total")
        || t.starts_with("Dload  Upload")
        || CURL_METER.is_match(line)
        || matches!(t, "*" | ">" | "<")
        || line.starts_with("* ")
        || line.starts_with("> ")
        || line.starts_with("< ")
        || ((t.starts_with("{ [") || t.starts_with("} [")) && t.ends_with("data]"))
        || PROGRESS_BAR.is_match(line)
}

/// The text without noise lines.
pub fn drop_noise(text: &str) -> String {
    let mut out: String = text
        .lines()
        .filter(|l| !is_noise(l))
        .collect::<Vec<_>>()
        .join("\n");
    if text.ends_with('\n') && !out.is_empty() {
        out.push('\n');
    }
    out
}

static DIGITS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\S*\d\S*").expect("valid"));

/// A line as compared in similar mode: trimmed, spaces collapsed, digit-bearing tokens masked.
fn masked(line: &str) -> String {
    let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
    DIGITS.replace_all(&collapsed, "#").into_owned()
}

pub(super) fn similar_lines(expected: &str, actual: &str) -> Result<(), Mismatch> {
    let act: Vec<(String, String)> = actual
        .lines()
        .map(|l| {
            (
                l.split_whitespace().collect::<Vec<_>>().join(" "),
                masked(l),
            )
        })
        .collect();
    let mut from = 0;
    for line in expected
        .lines()
        .filter(|l| !l.trim().is_empty() && !is_more(l) && !is_noise(l))
    {
        let found = if has_wildcards(line) {
            let re = line_regex(&line.split_whitespace().collect::<Vec<_>>().join(" "));
            act[from..].iter().position(|(plain, _)| re.is_match(plain))
        } else {
            let want = masked(line);
            act[from..].iter().position(|(_, m)| *m == want)
        };
        match found {
            // Greedy earliest match is enough for an in-order (subsequence) match.
            Some(k) => from += k + 1,
            None => return Err(Mismatch::LineOutOfOrder(line.trim().to_string())),
        }
    }
    Ok(())
}
