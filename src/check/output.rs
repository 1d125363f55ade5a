//! Expected output: a step's stdout against the fence after it.
//!
//! * Strict (```` ```output ````): line by line; a line `...` (indent allowed) matches any
//!   number of lines, `[..]` any text within a line, and placeholders such as `[UUID]`
//!   match one token of that kind. Expected text that is JSON (bare `...` allowed as
//!   "more", `"..."` as any value) is compared as JSON: every expected key present with
//!   an equal value, extra keys allowed.
//! * Similar (documented output): noise is dropped first (curl's progress meter, `curl -v`
//!   lines, progress bars); if the expected text is JSON (after joining hard-wrapped
//!   strings, reading `...` as "more" and closing unclosed brackets) the actual JSON must
//!   have its shape (same keys at the same paths, same types, non-empty arrays stay
//!   non-empty) and its stable values (strings with no digits and no spaces, booleans);
//!   otherwise the expected lines must appear in order in the actual text once tokens
//!   bearing digits are masked and runs of spaces collapsed.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::json::parse_json_text;
use super::predicate::{type_name, unified_diff};
use super::{Check, CheckContext, CheckError, CheckOutcome, Evaluation, TryOutput};
use crate::lab::model::{ExpectedOutput, OutputMode, OutputStream};

/// The verdict of an expected-output comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The output is as documented.
    Pass,
    /// It is not: a unified diff (expected → actual) and the first reason found.
    Drift {
        /// Unified diff of the expected and actual text.
        diff: String,
        /// Why, e.g. `$: expected an object, found an array`.
        reason: String,
    },
}

/// A JSON string standing for a bare `...` inside an array ("more elements").
const MORE: &str = "\u{1}labctl:more\u{1}";

/// The text an output fence describes.
pub fn stream_text(out: &TryOutput, stream: OutputStream) -> String {
    match stream {
        OutputStream::Stdout => out.stdout.clone(),
        OutputStream::Stderr => out.stderr.clone(),
        OutputStream::Both => {
            let mut s = out.stdout.clone();
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str(&out.stderr);
            s
        }
    }
}

/// Compares `actual` with the `expected` fence body.
pub fn compare(expected: &str, actual: &str, mode: OutputMode) -> Verdict {
    let (result, shown_actual) = match mode {
        OutputMode::Strict => (strict(expected, actual), actual.to_string()),
        OutputMode::Similar => {
            let clean = drop_noise(actual);
            (similar(expected, &clean), clean)
        }
    };
    match result {
        Ok(()) => Verdict::Pass,
        Err(reason) => Verdict::Drift {
            diff: unified_diff(expected, &shown_actual),
            reason,
        },
    }
}

/// Judges a step's output against its expected-output fence (passed = no drift).
pub struct OutputCheck<'s>(pub &'s ExpectedOutput);

impl Check for OutputCheck<'_> {
    fn evaluate<'a>(&'a self, ctx: &'a CheckContext<'a>) -> Evaluation<'a> {
        Box::pin(async move {
            let out = ctx.output.ok_or(CheckError::NoOutput)?;
            let actual = stream_text(out, self.0.stream);
            let mode = match self.0.mode {
                OutputMode::Strict => "matches",
                OutputMode::Similar => "is similar to",
            };
            let description = format!("output {mode} the expected output");
            Ok(match compare(&self.0.text, &actual, self.0.mode) {
                Verdict::Pass => CheckOutcome {
                    passed: true,
                    description,
                    expected: "as documented".into(),
                    actual: "as documented".into(),
                    message: None,
                },
                Verdict::Drift { diff, reason } => CheckOutcome {
                    passed: false,
                    description,
                    expected: "as documented".into(),
                    actual: reason,
                    message: Some(diff),
                },
            })
        })
    }
}

// ---------------------------------------------------------------- lines

/// One expected line: `...` or a pattern.
enum LinePat {
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
fn has_wildcards(line: &str) -> bool {
    PLACEHOLDER.is_match(line)
}

/// A whole-line regex for an expected line (trailing spaces ignored).
fn line_regex(line: &str) -> Regex {
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

fn is_more(line: &str) -> bool {
    matches!(line.trim(), "..." | "…")
}

/// Lines with trailing spaces dropped, and blank lines at both ends dropped.
fn lines(text: &str) -> Vec<&str> {
    let mut ls: Vec<&str> = text.lines().map(str::trim_end).collect();
    while ls.last().is_some_and(|l| l.is_empty()) {
        ls.pop();
    }
    let lead = ls.iter().take_while(|l| l.is_empty()).count();
    ls.drain(..lead);
    ls
}

fn patterns(expected: &[&str]) -> Vec<LinePat> {
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
fn seq_match<P, T>(
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

fn strict_lines(expected: &str, actual: &str) -> Result<(), String> {
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
        Some((l, _)) => format!("expected line not found: {}", l.trim()),
        None => "the lines differ (order, count or extra lines)".into(),
    })
}

// ---------------------------------------------------------------- JSON

/// Rewrites documented JSON into parseable JSON: bare `...` becomes "more" in arrays
/// and disappears in objects; raw newlines inside strings (hard wraps) become one
/// space; with `close`, unclosed strings and brackets are closed; dangling commas go.
fn repair_json(text: &str, close: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut stack: Vec<char> = Vec::new();
    let mut in_str = false;
    let mut escaped = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if in_str {
            if escaped {
                escaped = false;
                out.push(c);
            } else if c == '\\' {
                escaped = true;
                out.push(c);
            } else if c == '"' {
                in_str = false;
                out.push(c);
            } else if c == '\n' || c == '\r' {
                while out.ends_with([' ', '\t']) {
                    out.pop();
                }
                while chars.peek().is_some_and(|(_, n)| n.is_whitespace()) {
                    chars.next();
                }
                out.push(' ');
            } else {
                out.push(c);
            }
            continue;
        }
        let rest = &text[i..];
        if rest.starts_with("...") || rest.starts_with('…') {
            let skip = if rest.starts_with("...") { 2 } else { 0 };
            for _ in 0..skip {
                chars.next();
            }
            if stack.last() == Some(&'[') {
                out.push_str(&serde_json::to_string(MORE).expect("string"));
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' | '[' => stack.push(c),
            '}' | ']' => {
                stack.pop();
            }
            _ => {}
        }
        out.push(c);
    }
    if close {
        if in_str {
            out.push('"');
        }
        while let Some(open) = stack.pop() {
            out.push(if open == '{' { '}' } else { ']' });
        }
    }
    drop_dangling_commas(&out)
}

/// Removes commas with nothing on one side (`[, 1]`, `{"a": 1, }`, `1, , 2`).
fn drop_dangling_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_str {
            escaped = !escaped && c == '\\';
            if c == '"' && !escaped {
                in_str = false;
            }
            out.push(c);
            continue;
        }
        if c == ',' {
            let next = text[i + 1..].trim_start().chars().next();
            let prev = out.trim_end().chars().last();
            if matches!(next, None | Some('}' | ']' | ','))
                || matches!(prev, None | Some('{' | '[' | ','))
            {
                continue;
            }
        }
        if c == '"' {
            in_str = true;
        }
        out.push(c);
    }
    out
}

/// The expected text as JSON, when it is an object or array (after repair).
fn expected_json(text: &str, close: bool) -> Option<Value> {
    let t = text.trim();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str(&repair_json(t, close)).ok()
}

fn is_any(v: &Value) -> bool {
    v.as_str() == Some("...")
}

fn is_more_value(v: &Value) -> bool {
    v.as_str() == Some(MORE)
}

fn key_path(path: &str, key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("{path}.{key}")
    } else {
        format!("{path}[{key:?}]")
    }
}

/// Strict JSON: every expected key present with an equal value; `"..."` matches
/// anything; strings may use `[..]` and placeholders; `...` in an array means more.
fn json_subset(exp: &Value, act: &Value, path: &str) -> Result<(), String> {
    if is_any(exp) {
        return Ok(());
    }
    match (exp, act) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let p = key_path(path, k);
                match a.get(k) {
                    Some(av) => json_subset(ev, av, &p)?,
                    None => return Err(format!("{p}: missing")),
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if seq_match(e, a, is_more_value, |ev, av| {
                json_subset(ev, av, path).is_ok()
            }) {
                return Ok(());
            }
            // Point into the first element that differs when lengths agree.
            if e.len() == a.len() {
                for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                    json_subset(ev, av, &format!("{path}[{i}]"))?;
                }
            }
            Err(format!(
                "{path}: expected {} element(s){}, found {}",
                e.iter().filter(|v| !is_more_value(v)).count(),
                if e.iter().any(is_more_value) {
                    " and more"
                } else {
                    ""
                },
                a.len()
            ))
        }
        (Value::String(e), Value::String(a)) if has_wildcards(e) => line_regex(e)
            .is_match(a)
            .then_some(())
            .ok_or_else(|| format!("{path}: {a:?} does not match {e:?}")),
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => Ok(()),
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, found {a}")),
    }
}

fn strict(expected: &str, actual: &str) -> Result<(), String> {
    if let Some(exp) = expected_json(expected, false) {
        let act = parse_json_text(actual, "the output").map_err(|e| e.to_string())?;
        return json_subset(&exp, &act, "$");
    }
    strict_lines(expected, actual)
}

/// A string value stable across runs: no digits, no spaces (names, codes, modes).
fn stable(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c.is_ascii_digit() || c.is_whitespace())
}

/// True when `actual` matches `expected` with each `...` standing for any text.
fn elided_match(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split("...").collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first)
        || actual.len() < first.len() + last.len()
        || !actual.ends_with(last)
    {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Similar JSON: same shape and the same stable values.
fn json_shape(exp: &Value, act: &Value, path: &str) -> Result<(), String> {
    if is_any(exp) {
        return Ok(());
    }
    if type_name(exp) != type_name(act) {
        return Err(format!(
            "{path}: expected {}, found {}",
            type_name(exp),
            type_name(act)
        ));
    }
    match (exp, act) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let p = key_path(path, k);
                match a.get(k) {
                    Some(av) => json_shape(ev, av, &p)?,
                    None => return Err(format!("{p}: missing")),
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            let items: Vec<&Value> = e.iter().filter(|v| !is_more_value(v)).collect();
            if !items.is_empty() && a.is_empty() {
                return Err(format!("{path}: expected a non-empty array, found []"));
            }
            for (i, ev) in items.iter().enumerate() {
                // Order and ids change between runs; some element must have the shape.
                if !a.iter().any(|av| json_shape(ev, av, path).is_ok()) {
                    let first = json_shape(ev, &a[0], &format!("{path}[0]")).err();
                    return Err(first.unwrap_or_else(|| format!("{path}[{i}]: no element like it")));
                }
            }
            Ok(())
        }
        // An author's `...` inside a string elides: "https://..." is any https URL.
        (Value::String(e), Value::String(a)) if e.contains("...") && elided_match(e, a) => Ok(()),
        (Value::String(e), Value::String(a)) if stable(e) && e != a => {
            Err(format!("{path}: expected {e:?}, found {a:?}"))
        }
        (Value::Bool(e), Value::Bool(a)) if e != a => {
            Err(format!("{path}: expected {e}, found {a}"))
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------- similar text

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
fn is_noise(line: &str) -> bool {
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

fn similar_lines(expected: &str, actual: &str) -> Result<(), String> {
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
            None => return Err(format!("expected line not found in order: {}", line.trim())),
        }
    }
    Ok(())
}

fn similar(expected: &str, actual: &str) -> Result<(), String> {
    let expected = drop_noise(expected);
    if let Some(exp) = expected_json(&expected, true) {
        return match parse_json_text(actual, "the output") {
            Ok(act) => json_shape(&exp, &act, "$"),
            Err(e) => Err(e.to_string()),
        };
    }
    similar_lines(&expected, actual)
}

// ---------------------------------------------------------------- --update-output

/// The new fence body for `--update-output`: `expected` itself when it still holds,
/// else the actual text with the author's `...` lines kept where they still cover
/// lines, and the author's lines (with `[..]` or placeholders) kept where they still
/// match. In similar mode noise is dropped from the actual text unless the author
/// documented noise. Alignment is by lines, so reformatted JSON is written as actual.
pub fn update_expected(expected: &str, actual: &str, strict: bool) -> String {
    let mode = if strict {
        OutputMode::Strict
    } else {
        OutputMode::Similar
    };
    if compare(expected, actual, mode) == Verdict::Pass {
        return expected.to_string();
    }
    let documented_noise = expected.lines().any(is_noise);
    let actual = if strict || documented_noise {
        actual.to_string()
    } else {
        drop_noise(actual)
    };
    let exp = lines(expected);
    let act = lines(&actual);
    let pats = patterns(&exp);
    let (n, m) = (pats.len(), act.len());
    let matches = |i: usize, j: usize| match &pats[i] {
        LinePat::Line(re) => re.is_match(act[j]),
        LinePat::More => false,
    };
    // cost[i][j]: fewest lines dropped from expected plus lines taken from actual
    // to align exp[i..] with act[j..]; `...` covers any run of lines for free.
    let mut cost = vec![vec![0usize; m + 1]; n + 1];
    for (j, c) in cost[n].iter_mut().enumerate() {
        *c = m - j;
    }
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            cost[i][j] = match pats[i] {
                LinePat::More => {
                    let stop = cost[i + 1][j];
                    if j < m {
                        stop.min(cost[i][j + 1])
                    } else {
                        stop
                    }
                }
                LinePat::Line(_) => {
                    let mut best = 1 + cost[i + 1][j];
                    if j < m {
                        // Taking the actual line in place of the expected one.
                        best = best.min(1 + cost[i][j + 1]).min(1 + cost[i + 1][j + 1]);
                        if matches(i, j) {
                            best = best.min(cost[i + 1][j + 1]);
                        }
                    }
                    best
                }
            };
        }
    }
    let mut out: Vec<&str> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i == n {
            out.push(act[j]);
            j += 1;
            continue;
        }
        match pats[i] {
            LinePat::More => {
                // Keep the author's `...` once, where it was, covering as few lines as
                // the best alignment allows.
                if cost[i][j] == cost[i + 1][j] {
                    out.push(exp[i]);
                    i += 1;
                } else {
                    j += 1;
                }
            }
            LinePat::Line(_) => {
                if j < m && matches(i, j) && cost[i][j] == cost[i + 1][j + 1] {
                    out.push(exp[i]);
                    i += 1;
                    j += 1;
                } else if j < m && cost[i][j] == 1 + cost[i + 1][j + 1] {
                    out.push(act[j]);
                    i += 1;
                    j += 1;
                } else if j < m && cost[i][j] == 1 + cost[i][j + 1] {
                    out.push(act[j]);
                    j += 1;
                } else {
                    i += 1;
                }
            }
        }
    }
    let mut body = out.join("\n");
    if expected.ends_with('\n') || expected.is_empty() {
        body.push('\n');
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict_ok(e: &str, a: &str) -> bool {
        compare(e, a, OutputMode::Strict) == Verdict::Pass
    }

    fn similar_ok(e: &str, a: &str) -> bool {
        compare(e, a, OutputMode::Similar) == Verdict::Pass
    }

    #[test]
    fn strict_lines_and_elisions() {
        assert!(strict_ok("a\nb\n", "a\nb"));
        assert!(!strict_ok("a\nb\n", "a\nc"));
        assert!(strict_ok("a\n...\nz", "a\nb\nc\nz\n"));
        assert!(strict_ok("a\n  ...\nz", "a\nz"));
        assert!(!strict_ok("a\n...\nz", "a\nb\ny"));
        assert!(strict_ok("pod/web-[..] created", "pod/web-7d9f8 created"));
        assert!(!strict_ok("pod/web-[..] created", "pod/web-7d9f8 deleted"));
        assert!(!strict_ok("a", "a\nextra"));
    }

    #[test]
    fn strict_placeholders() {
        assert!(strict_ok(
            "id [UUID] at [IP] took [DURATION]",
            "id 123e4567-e89b-12d3-a456-426614174000 at 10.1.2.3 took 1m30s"
        ));
        assert!(!strict_ok("id [UUID]", "id 123"));
        assert!(strict_ok(
            "count [INT], ratio [NUM], sha [HEX]",
            "count 42, ratio 0.5, sha deadbeef"
        ));
        assert!(!strict_ok("count [INT]", "count many"));
        assert!(strict_ok(
            "on [DATE] istio [VERSION]",
            "on 2024-05-01T10:00:00Z istio 1.22.3"
        ));
        assert!(!strict_ok("istio [VERSION]", "istio latest"));
    }

    #[test]
    fn strict_json() {
        let e =
            r#"{"oops": {"name": "RequestError", "id": "...", "cause": {"code": "ECONNRESET"}}}"#;
        let a = r#"{"oops": {"name": "RequestError", "id": 42, "extra": 1, "cause": {"code": "ECONNRESET", "errno": -104}}}"#;
        assert!(strict_ok(e, a));
        let changed = a.replace("ECONNRESET", "EPIPE");
        let Verdict::Drift { reason, .. } = compare(e, &changed, OutputMode::Strict) else {
            panic!("drift expected")
        };
        assert!(reason.starts_with("$.oops.cause.code"), "{reason}");
        assert!(strict_ok(
            r#"{"items": [1, 2, ...], ...}"#,
            r#"{"items": [1, 2, 3, 4], "kind": "List"}"#
        ));
        assert!(!strict_ok(
            r#"{"items": [1, 2]}"#,
            r#"{"items": [1, 2, 3]}"#
        ));
        assert!(strict_ok(
            r#"{"id": "[UUID]"}"#,
            r#"{"id": "123e4567-e89b-12d3-a456-426614174000"}"#
        ));
        assert!(!strict_ok(r#"{"n": "1"}"#, r#"{"n": 1}"#));
        assert!(!strict_ok(r#"{"a": 1}"#, "not json"));
    }

    const OOPS: &str = r#"{"oops": {"name": "RequestError", "message": "Error: read ECONNRESET", "cause": {"errno": "ECONNRESET", "code": "ECONNRESET", "syscall": "read"}}}"#;

    #[test]
    fn similar_egress_oops_with_new_ids_passes() {
        let actual = r#"{"requestId": "7f3a", "oops": {"name": "RequestError", "message": "Error: read ECONNRESET", "stack": "at 12:3",
            "cause": {"errno": "ECONNRESET", "code": "ECONNRESET", "syscall": "read", "id": 99}}}"#;
        assert!(similar_ok(OOPS, actual));
    }

    #[test]
    fn similar_elided_strings() {
        assert!(similar_ok(
            r#"[{"link": "https://...", "title": "..."}, ...]"#,
            r#"[{"link": "https://a.org/x", "title": "T"}]"#
        ));
        assert!(!similar_ok(
            r#"[{"link": "https://..."}]"#,
            r#"[{"link": "ftp://a.org/x"}]"#
        ));
    }

    #[test]
    fn similar_egress_results_array_is_drift() {
        let actual = r#"[{"title": "Skynet", "link": "https://en.wikipedia.org/wiki/Skynet"}]"#;
        let v = compare(OOPS, actual, OutputMode::Similar);
        let Verdict::Drift { diff, reason } = v else {
            panic!("drift expected")
        };
        assert_eq!(reason, "$: expected an object, found an array");
        assert!(diff.contains("+[{\"title\""), "{diff}");
    }

    #[test]
    fn similar_stable_values_and_types() {
        let changed = OOPS.replace(r#""syscall": "read""#, r#""syscall": "write""#);
        assert!(!similar_ok(OOPS, &changed));
        let typed = OOPS.replace(r#""syscall": "read""#, r#""syscall": 3"#);
        assert!(!similar_ok(OOPS, &typed));
        let missing = OOPS.replace(r#", "syscall": "read""#, "");
        assert!(!similar_ok(OOPS, &missing));
        assert!(!similar_ok(r#"{"items": [{"a": 1}]}"#, r#"{"items": []}"#));
        assert!(similar_ok(r#"{"items": []}"#, r#"{"items": [{"a": 1}]}"#));
    }

    #[test]
    fn similar_repairs_documented_json() {
        // Hard-wrapped string, `...` for more, unclosed brackets.
        let doc = "{\"oops\": {\"name\": \"RequestError\", \"message\": \"Error: read\n    ECONNRESET\",\n  ...\n  \"cause\": {\"code\": \"ECONNRESET\"";
        assert!(similar_ok(doc, OOPS));
        let doc = "[\n  {\"title\": \"Skynet\"},\n  ...\n]";
        assert!(similar_ok(
            doc,
            r#"[{"title": "Skynet", "n": 1}, {"title": "Other"}]"#
        ));
    }

    #[test]
    fn similar_drops_curl_noise() {
        let actual = "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n                                 Dload  Upload   Total   Spent    Left  Speed\n100   182  100   182    0     0   1820      0 --:--:-- --:--:-- --:--:--  1820\n* Connected to x (10.0.0.1) port 80\n> GET / HTTP/1.1\n< HTTP/1.1 200 OK\n".to_string()
            + OOPS;
        assert!(similar_ok(OOPS, &actual));
        assert_eq!(drop_noise(&actual).trim(), OOPS);
        assert!(is_noise(
            "######################################################################## 100.0%"
        ));
        assert!(is_noise("[=====>      ] 45%"));
        assert!(!is_noise("mode: REGISTRY_ONLY"));
    }

    const MESH: &str = "apiVersion: v1\ndata:\n  mesh: |-\n    accessLogFile: /dev/stdout\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n    trustDomain: cluster.local\nkind: ConfigMap\n";

    #[test]
    fn similar_text_lines_in_order() {
        let doc = "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY";
        assert!(similar_ok(doc, MESH));
        let allow = MESH.replace("REGISTRY_ONLY", "ALLOW_ANY");
        let Verdict::Drift { reason, .. } = compare(doc, &allow, OutputMode::Similar) else {
            panic!("drift expected")
        };
        assert!(reason.contains("mode: REGISTRY_ONLY"), "{reason}");
        // Out of order is drift.
        assert!(!similar_ok(
            "mode: REGISTRY_ONLY\noutboundTrafficPolicy:",
            MESH
        ));
        // Digit-bearing tokens are masked; column alignment may change.
        assert!(similar_ok(
            "NAME    READY   AGE\nweb-1   1/1     5m",
            "NAME      READY   AGE\nweb-7f9   1/1     12s\n"
        ));
        assert!(!similar_ok(
            "NAME READY STATUS\nweb-1 1/1 Running",
            "NAME READY STATUS\nweb-1 0/1 Pending"
        ));
    }

    #[test]
    fn update_keeps_elisions_that_still_match() {
        let e = "pod/web-[..] created\n...\ndone in [DURATION]\n";
        let a = "pod/web-abc created\nline 1\nline 2\ndone in 3s\n";
        assert_eq!(update_expected(e, a, true), e);
        let a = "pod/web-abc created\nline 1\nservice/web created\nfailed\n";
        assert_eq!(
            update_expected(e, a, true),
            "pod/web-[..] created\n...\nfailed\n"
        );
        let e = "header\n...\nfooter [INT]\n";
        let a = "header\nx\nnew line\nfooter 7\n";
        assert_eq!(update_expected(e, a, true), e);
        let a = "HEADER\nx\nfooter 7\n";
        assert_eq!(update_expected(e, a, true), "HEADER\n...\nfooter [INT]\n");
        // Similar mode writes new values, not stale ones, and drops curl noise.
        let e = "mode: REGISTRY_ONLY\n";
        let a = "  % Total    % Received % Xferd\nmode: ALLOW_ANY\n";
        assert_eq!(update_expected(e, a, false), "mode: ALLOW_ANY\n");
        let up = update_expected(e, a, false);
        assert_eq!(compare(&up, a, OutputMode::Similar), Verdict::Pass);
    }
}
