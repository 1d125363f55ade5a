//! Operator evaluation shared by every check kind, over a JSON value or over text.
//! Each operator is a small function returning a `Verdict`; the negated operators
//! (`not-equals`, `not-contains`, `exists: false`, `empty: false`...) are their positive
//! twin with the verdict flipped in one place (`eval_value`, `eval_text`).

use serde_json::Value;

use crate::json_text::to_text;
use crate::lab::check_spec::{Pattern, Predicate};

/// Longest value shown in `actual` before it is cut.
const SHOW_MAX: usize = 400;

/// The result of one operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The operator held.
    pub ok: bool,
    /// The operator as written (`equals ECONNRESET`).
    pub expected: String,
    /// What was found.
    pub actual: String,
    /// Why it did not hold when that is not obvious (a diff, "a string is not a number").
    pub note: Option<String>,
}

/// A value shown in a report: strings bare, everything else as JSON, long ones cut.
pub(crate) fn show(v: &Value) -> String {
    cut(&to_text(v))
}

/// Cuts long text for reports.
pub(crate) fn cut(s: &str) -> String {
    if s.chars().count() <= SHOW_MAX {
        return s.to_string();
    }
    let head: String = s.chars().take(SHOW_MAX).collect();
    format!("{head}... ({} bytes)", s.len())
}

/// A value operator reduced to its positive form.
enum Base<'a> {
    Equals(&'a Value),
    Contains(&'a str),
    Matches(&'a Pattern),
    OneOf(&'a [Value]),
    Cmp(Cmp, f64),
    Empty,
}

#[derive(Clone, Copy)]
enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Gt => a > b,
            Cmp::Gte => a >= b,
            Cmp::Lt => a < b,
            Cmp::Lte => a <= b,
        }
    }
}

/// Splits a value operator into its positive form and whether it is negated;
/// None for list operators (exists, absent, count, each, any, none).
fn base(p: &Predicate) -> Option<(Base<'_>, bool)> {
    Some(match p {
        Predicate::Equals(v) => (Base::Equals(v), false),
        Predicate::NotEquals(v) => (Base::Equals(v), true),
        Predicate::Contains(s) => (Base::Contains(s), false),
        Predicate::NotContains(s) => (Base::Contains(s), true),
        Predicate::Matches(p) => (Base::Matches(p), false),
        Predicate::OneOf(vs) => (Base::OneOf(vs), false),
        Predicate::Gt(n) => (Base::Cmp(Cmp::Gt, *n), false),
        Predicate::Gte(n) => (Base::Cmp(Cmp::Gte, *n), false),
        Predicate::Lt(n) => (Base::Cmp(Cmp::Lt, *n), false),
        Predicate::Lte(n) => (Base::Cmp(Cmp::Lte, *n), false),
        Predicate::Empty(want) => (Base::Empty, !*want),
        _ => return None,
    })
}

/// Typed JSON equality; numbers compare by value so `1` equals `1.0`, but `"1"` is not `1`.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// "a string", "an array"...: how messages name a JSON value's type.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// (held, note) for a positive operator on a JSON value.
fn eval_base_value(b: &Base<'_>, v: &Value) -> (bool, Option<String>) {
    match b {
        Base::Equals(want) => {
            let ok = json_eq(v, want);
            let note = (!ok && type_name(v) != type_name(want)).then(|| {
                format!(
                    "values are typed: found {} {}, expected {} {}",
                    type_name(v),
                    v,
                    type_name(want),
                    want
                )
            });
            (ok, note)
        }
        Base::Contains(s) => match v {
            Value::String(t) => (t.contains(s), None),
            // An element equal to the text; non-string elements compare by their JSON text
            // because the operand was written as text in YAML.
            Value::Array(items) => (
                items.iter().any(|i| match i {
                    Value::String(t) => t == s,
                    other => other.to_string().as_str() == *s,
                }),
                None,
            ),
            Value::Object(m) => (
                m.contains_key(*s),
                Some("on an object, contains means has the key".into()),
            ),
            other => (
                false,
                Some(format!(
                    "contains applies to strings and arrays, found {}",
                    type_name(other)
                )),
            ),
        },
        Base::Matches(p) => match v {
            Value::String(t) => (p.regex.is_match(t), None),
            other => (
                false,
                Some(format!(
                    "matches applies to strings, found {}",
                    type_name(other)
                )),
            ),
        },
        Base::OneOf(vs) => (vs.iter().any(|w| json_eq(v, w)), None),
        Base::Cmp(c, n) => match v {
            Value::Number(x) => (x.as_f64().is_some_and(|x| c.holds(x, *n)), None),
            Value::String(s) if s.trim().parse::<f64>().is_ok() => (
                false,
                Some(format!(
                    "found the string \"{s}\", which is not a number: values are typed, numeric strings are not compared as numbers"
                )),
            ),
            other => (
                false,
                Some(format!(
                    "gt/gte/lt/lte compare numbers, found {}",
                    type_name(other)
                )),
            ),
        },
        Base::Empty => match v {
            Value::String(s) => (s.is_empty(), None),
            Value::Array(a) => (a.is_empty(), None),
            Value::Object(m) => (m.is_empty(), None),
            other => (
                false,
                Some(format!(
                    "empty applies to strings, arrays and objects, found {}",
                    type_name(other)
                )),
            ),
        },
    }
}

/// Evaluates a value operator on one JSON value. List operators (exists, count,
/// each...) are judged by `eval_nodes`; given here they do not hold.
pub(crate) fn eval_value(p: &Predicate, v: &Value) -> Verdict {
    let expected = p.to_string();
    let actual = show(v);
    let Some((b, negated)) = base(p) else {
        return Verdict {
            ok: false,
            expected,
            actual,
            note: Some("this operator judges a list of nodes, not a value".into()),
        };
    };
    let (held, note) = eval_base_value(&b, v);
    Verdict {
        ok: held != negated,
        expected,
        actual,
        // A note explains a failure of the positive form; for a negated operator
        // that failed, the positive one held and needs no explanation.
        note: if held == negated && !negated {
            note
        } else {
            None
        },
    }
}

/// Text as compared by text operators: trailing spaces on each line and trailing
/// newlines dropped, so `echo hi` equals `hi`.
pub(crate) fn normalize_text(s: &str) -> String {
    let lines: Vec<&str> = s.lines().map(|l| l.trim_end()).collect();
    let mut out = lines.join("\n");
    let keep = out.trim_end().len();
    out.truncate(keep);
    out
}

/// A unified diff of expected and actual text.
pub(crate) fn unified_diff(expected: &str, actual: &str) -> String {
    let e = with_newline(expected);
    let a = with_newline(actual);
    similar::TextDiff::from_lines(&e, &a)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

fn with_newline(s: &str) -> String {
    if s.is_empty() || s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
}

/// (held, note) for a positive operator on text; `text` is already normalized.
fn eval_base_text(b: &Base<'_>, text: &str) -> (bool, Option<String>) {
    match b {
        Base::Equals(want) => {
            let want = normalize_text(&to_text(want));
            let ok = want == text;
            (ok, (!ok).then(|| unified_diff(&want, text)))
        }
        Base::Contains(s) => (text.contains(s), None),
        Base::Matches(p) => (p.regex.is_match(text), None),
        Base::OneOf(vs) => (vs.iter().any(|v| normalize_text(&to_text(v)) == text), None),
        // Output is text, so here a number is read out of it.
        Base::Cmp(c, n) => match text.trim().parse::<f64>() {
            Ok(x) => (c.holds(x, *n), None),
            Err(_) => (false, Some("the text is not a number".into())),
        },
        Base::Empty => (text.is_empty(), None),
    }
}

/// Evaluates a text operator on stdout, stderr, a header or a body.
pub(crate) fn eval_text(p: &Predicate, raw: &str) -> Verdict {
    let text = normalize_text(raw);
    let expected = p.to_string();
    let Some((b, negated)) = base(p) else {
        return Verdict {
            ok: false,
            expected,
            actual: cut(&text),
            note: Some("this operator judges a list of JSON nodes, not text".into()),
        };
    };
    let (held, note) = eval_base_text(&b, &text);
    Verdict {
        ok: held != negated,
        expected,
        actual: cut(&text),
        note: if held == negated && !negated {
            note
        } else {
            None
        },
    }
}

/// Evaluates all text operators.
pub(crate) fn eval_text_all(preds: &[Predicate], raw: &str) -> Vec<Verdict> {
    preds.iter().map(|p| eval_text(p, raw)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::check_spec::{CountSpec, compile_regex};
    use serde_json::json;

    fn ok(p: Predicate, v: Value) -> bool {
        eval_value(&p, &v).ok
    }

    #[test]
    fn equals_is_typed() {
        assert!(ok(Predicate::Equals(json!(1)), json!(1)));
        assert!(ok(Predicate::Equals(json!(1)), json!(1.0)));
        assert!(!ok(Predicate::Equals(json!("1")), json!(1)));
        assert!(!ok(Predicate::Equals(json!(1)), json!("1")));
        let v = eval_value(&Predicate::Equals(json!(1)), &json!("1"));
        assert!(v.note.unwrap().contains("typed"));
        assert!(ok(Predicate::NotEquals(json!("1")), json!(1)));
        assert!(!ok(Predicate::NotEquals(json!(1)), json!(1)));
        assert!(ok(
            Predicate::Equals(json!({"a": [1, "x"]})),
            json!({"a": [1, "x"]})
        ));
    }

    #[test]
    fn contains_on_strings_and_arrays() {
        assert!(ok(Predicate::Contains("RESET".into()), json!("ECONNRESET")));
        assert!(!ok(Predicate::Contains("nope".into()), json!("ECONNRESET")));
        assert!(ok(Predicate::Contains("b".into()), json!(["a", "b"])));
        // Element equality, not substring of an element.
        assert!(!ok(Predicate::Contains("b".into()), json!(["abc"])));
        assert!(ok(Predicate::NotContains("z".into()), json!(["a"])));
        assert!(!ok(Predicate::NotContains("a".into()), json!(["a"])));
        assert!(!ok(Predicate::Contains("1".into()), json!(1)));
    }

    #[test]
    fn matches_and_one_of() {
        let p = compile_regex("^https://").unwrap();
        assert!(ok(Predicate::Matches(p.clone()), json!("https://x")));
        assert!(!ok(Predicate::Matches(p.clone()), json!("http://x")));
        assert!(!ok(Predicate::Matches(p), json!(5)));
        assert!(ok(Predicate::OneOf(vec![json!("a"), json!(2)]), json!(2)));
        assert!(!ok(
            Predicate::OneOf(vec![json!("a"), json!("2")]),
            json!(2)
        ));
    }

    #[test]
    fn numbers_compare_as_numbers_only() {
        assert!(ok(Predicate::Gt(1.0), json!(2)));
        assert!(!ok(Predicate::Gt(2.0), json!(2)));
        assert!(ok(Predicate::Gte(2.0), json!(2)));
        assert!(ok(Predicate::Lt(10.0), json!(9.5)));
        assert!(!ok(Predicate::Lt(10.0), json!(10)));
        assert!(ok(Predicate::Lte(10.0), json!(10)));
        let v = eval_value(&Predicate::Gt(1.0), &json!("5"));
        assert!(!v.ok);
        assert!(v.note.unwrap().contains("not a number"));
    }

    #[test]
    fn empty() {
        for e in [json!(""), json!([]), json!({})] {
            assert!(ok(Predicate::Empty(true), e.clone()));
            assert!(!ok(Predicate::Empty(false), e));
        }
        assert!(!ok(Predicate::Empty(true), json!("x")));
        assert!(ok(Predicate::Empty(false), json!([1])));
    }

    #[test]
    fn list_operator_on_a_value_does_not_hold() {
        let c = CountSpec {
            min: Some(1),
            max: None,
        };
        assert!(!ok(Predicate::Count(c), json!(1)));
    }

    #[test]
    fn text_ignores_trailing_space_and_newlines() {
        assert!(eval_text(&Predicate::Equals(json!("hi")), "hi\n").ok);
        assert!(eval_text(&Predicate::Equals(json!("hi  \n\n")), "hi").ok);
        assert!(eval_text(&Predicate::Equals(json!("a\nb")), "a  \nb \n").ok);
        let v = eval_text(&Predicate::Equals(json!("a\nb")), "a\nc\n");
        assert!(!v.ok);
        let diff = v.note.unwrap();
        assert!(diff.contains("-b") && diff.contains("+c"), "{diff}");
    }

    #[test]
    fn text_operators() {
        let t = "mode: REGISTRY_ONLY\nother\n";
        assert!(eval_text(&Predicate::Contains("REGISTRY_ONLY".into()), t).ok);
        assert!(!eval_text(&Predicate::NotContains("REGISTRY_ONLY".into()), t).ok);
        assert!(eval_text(&Predicate::NotContains("ALLOW_ANY".into()), t).ok);
        let m = compile_regex("^other$").unwrap();
        assert!(eval_text(&Predicate::Matches(m), t).ok);
        let m = compile_regex("^mode: ALLOW").unwrap();
        assert!(!eval_text(&Predicate::Matches(m), t).ok);
        assert!(eval_text(&Predicate::Gt(2.0), " 3\n").ok);
        assert!(!eval_text(&Predicate::Gt(2.0), "abc").ok);
        assert!(eval_text(&Predicate::Empty(true), "\n\n").ok);
        assert!(eval_text(&Predicate::OneOf(vec![json!("x"), json!("hi")]), "hi\n").ok);
        assert!(eval_text(&Predicate::NotEquals(json!("x")), "hi").ok);
    }
}
