//! Documented JSON: repaired into JSON (`...`, hard wraps, unclosed brackets),
//! then compared as a subset (strict) or by shape and stable values (similar).

use serde_json::{Map, Value};

use super::lines::{has_wildcards, line_regex, seq_match};
use super::mismatch::Mismatch;
use crate::check::predicate::type_name;

/// A JSON string standing for a bare `...` inside an array ("more elements").
const MORE: &str = "\u{1}labctl:more\u{1}";

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
pub(super) fn expected_json(text: &str, close: bool) -> Option<Value> {
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

/// Every expected key present in `act`, its value judged by `judge`.
fn each_key(
    exp: &Map<String, Value>,
    act: &Map<String, Value>,
    path: &str,
    judge: fn(&Value, &Value, &str) -> Result<(), Mismatch>,
) -> Result<(), Mismatch> {
    for (k, ev) in exp {
        let p = key_path(path, k);
        match act.get(k) {
            Some(av) => judge(ev, av, &p)?,
            None => return Err(Mismatch::KeyMissing { path: p }),
        }
    }
    Ok(())
}

/// Strict JSON: every expected key present with an equal value; `"..."` matches
/// anything; strings may use `[..]` and placeholders; `...` in an array means more.
pub(super) fn json_subset(exp: &Value, act: &Value, path: &str) -> Result<(), Mismatch> {
    if is_any(exp) {
        return Ok(());
    }
    match (exp, act) {
        (Value::Object(e), Value::Object(a)) => each_key(e, a, path, json_subset),
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
            Err(Mismatch::Elements {
                path: path.to_string(),
                expected: e.iter().filter(|v| !is_more_value(v)).count(),
                more: e.iter().any(is_more_value),
                found: a.len(),
            })
        }
        (Value::String(e), Value::String(a)) if has_wildcards(e) => line_regex(e)
            .is_match(a)
            .then_some(())
            .ok_or_else(|| Mismatch::NoMatch {
                path: path.to_string(),
                pattern: e.clone(),
                found: a.clone(),
            }),
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => Ok(()),
        (e, a) if e == a => Ok(()),
        (e, a) => Err(unequal(path, e, a)),
    }
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
pub(super) fn json_shape(exp: &Value, act: &Value, path: &str) -> Result<(), Mismatch> {
    if is_any(exp) {
        return Ok(());
    }
    if type_name(exp) != type_name(act) {
        return Err(Mismatch::Type {
            path: path.to_string(),
            expected: type_name(exp),
            found: type_name(act),
        });
    }
    match (exp, act) {
        (Value::Object(e), Value::Object(a)) => each_key(e, a, path, json_shape),
        (Value::Array(e), Value::Array(a)) => {
            let items: Vec<&Value> = e.iter().filter(|v| !is_more_value(v)).collect();
            if !items.is_empty() && a.is_empty() {
                return Err(Mismatch::Empty {
                    path: path.to_string(),
                });
            }
            for (i, ev) in items.iter().enumerate() {
                // Order and ids change between runs; some element must have the shape.
                if !a.iter().any(|av| json_shape(ev, av, path).is_ok()) {
                    let first = json_shape(ev, &a[0], &format!("{path}[0]")).err();
                    return Err(first.unwrap_or_else(|| Mismatch::NoElementLike {
                        path: path.to_string(),
                        index: i,
                    }));
                }
            }
            Ok(())
        }
        // An author's `...` inside a string elides: "https://..." is any https URL.
        (Value::String(e), Value::String(a)) if e.contains("...") && elided_match(e, a) => Ok(()),
        (e @ Value::String(es), a @ Value::String(s)) if stable(es) && es != s => {
            Err(unequal(path, e, a))
        }
        (e @ Value::Bool(eb), a @ Value::Bool(b)) if eb != b => Err(unequal(path, e, a)),
        _ => Ok(()),
    }
}

fn unequal(path: &str, expected: &Value, found: &Value) -> Mismatch {
    Mismatch::Unequal {
        path: path.to_string(),
        expected: expected.clone(),
        found: found.clone(),
    }
}
