//! Expected lines: `...` for any run of lines, `[..]` and placeholders within a line.

use std::sync::LazyLock;

use regex::Regex;

use super::mismatch::Mismatch;

/// One expected line: `...` or a pattern.
pub(super) enum LinePat {
    More,
    Line(Regex),
}

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(\.\.|UUID|HEX|INT|NUM|IP|DATE|DURATION|VERSION)\]").expect("valid")
});

fn placeholder_regex(name: &str) -> &'static str {
    match name {
        ".." => ".*?",
        "UUID" => r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "HEX" => r"(?:0x)?[0-9a-fA-F]+",
        "INT" => r"[-+]?\d+",
        "NUM" => r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?",
        "IP" => r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]*:[0-9a-fA-F:]+)",
        "DATE" => {
            r"(?:\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?|[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [A-Z]{3})"
        }
        "DURATION" => r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d))+",
        "VERSION" => r"v?\d+(?:\.\d+)+(?:[-+][0-9A-Za-z.+-]+)?",
        _ => unreachable!("listed in PLACEHOLDER"),
    }
}

/// True when the line uses `[..]` or a placeholder.
pub(super) fn has_wildcards(line: &str) -> bool {
    PLACEHOLDER.is_match(line)
}

/// A whole-line regex for an expected line (trailing spaces ignored).
pub(super) fn line_regex(line: &str) -> Regex {
    let mut re = String::from("^");
    let mut last = 0;
    for m in PLACEHOLDER.captures_iter(line) {
        let all = m.get(0).expect("match");
        re.push_str(&regex::escape(&line[last..all.start()]));
        re.push_str(placeholder_regex(&m[1]));
        last = all.end();
    }
    re.push_str(&regex::escape(&line[last..]));
    re.push('$');
    Regex::new(&re).expect("escaped text and fixed placeholders")
}

pub(super) fn is_more(line: &str) -> bool {
    matches!(line.trim(), "..." | "…")
}

/// Lines with trailing spaces dropped, and blank lines at both ends dropped.
pub(super) fn lines(text: &str) -> Vec<&str> {
    let mut ls: Vec<&str> = text.lines().map(str::trim_end).collect();
    while ls.last().is_some_and(|l| l.is_empty()) {
        ls.pop();
    }
    let lead = ls.iter().take_while(|l| l.is_empty()).count();
    ls.drain(..lead);
    ls
}

pub(super) fn patterns(expected: &[&str]) -> Vec<LinePat> {
    expected
        .iter()
        .map(|l| {
            if is_more(l) {
                LinePat::More
            } else {
                LinePat::Line(line_regex(l))
            }
        })
        .collect()
}

/// Whether `pats` match `items` entirely, `More` standing for any run of items.
pub(super) fn seq_match<P, T>(
    pats: &[P],
    items: &[T],
    is_more: impl Fn(&P) -> bool,
    one: impl Fn(&P, &T) -> bool,
) -> bool {
    let (n, m) = (pats.len(), items.len());
    // ok[i][j]: pats[i..] match items[j..].
    let mut ok = vec![vec![false; m + 1]; n + 1];
    ok[n][m] = true;
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            ok[i][j] = if is_more(&pats[i]) {
                ok[i + 1][j] || (j < m && ok[i][j + 1])
            } else {
                j < m && ok[i + 1][j + 1] && one(&pats[i], &items[j])
            };
        }
    }
    ok[0][0]
}

pub(super) fn strict_lines(expected: &str, actual: &str) -> Result<(), Mismatch> {
    let exp = lines(expected);
    let act = lines(actual);
    let pats = patterns(&exp);
    if seq_match(
        &pats,
        &act,
        |p| matches!(p, LinePat::More),
        |p, l| match p {
            LinePat::Line(re) => re.is_match(l),
            LinePat::More => true,
        },
    ) {
        return Ok(());
    }
    // Name the first expected line that is found nowhere, a useful hint for long outputs.
    let missing = exp.iter().zip(&pats).find(|(_, p)| match p {
        LinePat::Line(re) => !act.iter().any(|l| re.is_match(l)),
        LinePat::More => false,
    });
    Err(match missing {
        Some((l, _)) => Mismatch::LineMissing(l.trim().to_string()),
        None => Mismatch::LinesDiffer,
    })
}
