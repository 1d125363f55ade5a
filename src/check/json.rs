//! `json:` — a JSONPath over text parsed as JSON, and the node-list rules.
//!
//! Parsing: the whole text (trimmed) is read as a sequence of JSON documents and the
//! last one is used (so NDJSON or `cmd1; cmd2` printing two documents judge the last).
//! When that fails, the first line that starts with `{` or `[` and from which the
//! rest of the text parses is taken instead: noise printed before the document
//! (curl's progress meter, a `kubectl` warning) is skipped. Text after the document
//! is never skipped: it usually means the output is not what the author expected.

use serde_json::Value;

use super::predicate::{Verdict, eval_value, show};
use super::{Check, CheckContext, CheckError, Evaluation, outcome};
use crate::lab::check_spec::{JsonAssert, Predicate};

/// How many nodes are listed in messages.
const NODES_SHOWN: usize = 10;

/// Judges a JSONPath over the step's stdout.
pub(crate) struct JsonCheck<'s>(pub &'s JsonAssert);

impl Check for JsonCheck<'_> {
    fn evaluate<'a>(&'a self, ctx: &'a CheckContext<'a>) -> Evaluation<'a> {
        Box::pin(async move {
            let out = ctx.output.ok_or(CheckError::NoOutput)?;
            let doc = parse_json_text(&out.stdout, "stdout")?;
            Ok(outcome(self.0.describe(), assert_json(self.0, &doc)?))
        })
    }
}

/// The bytes dropped where the capture cut `text` (its `[... N bytes omitted ...]` line).
fn omitted_bytes(text: &str) -> Option<u64> {
    let at = text.find("\n[... ")?;
    let rest = &text[at + 6..];
    let (n, tail) = rest.split_once(' ')?;
    tail.starts_with("bytes omitted ...]")
        .then(|| n.parse().ok())?
}

/// Every document in `text` if all of it is JSON documents separated by whitespace.
fn all_documents(text: &str) -> Option<Vec<Value>> {
    let docs: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect();
    docs.ok().filter(|d| !d.is_empty())
}

/// Parses `text` as JSON (the last document; leading noise skipped, see the module doc).
pub(crate) fn parse_json_text(text: &str, what: &str) -> Result<Value, CheckError> {
    if let Some(mut docs) = all_documents(text) {
        return Ok(docs.pop().expect("not empty"));
    }
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if (t.starts_with('{') || t.starts_with('['))
            && let Some(mut docs) = all_documents(&text[offset..])
        {
            return Ok(docs.pop().expect("not empty"));
        }
        offset += line.len();
    }
    if let Some(omitted) = omitted_bytes(text) {
        return Err(CheckError::TooLargeForJson {
            what: what.to_string(),
            omitted,
            cap: crate::shell::DEFAULT_CAPTURE_CAP,
        });
    }
    let error = match serde_json::from_str::<Value>(text) {
        Err(e) => e.to_string(),
        Ok(_) => "no document".into(),
    };
    let excerpt: String = text.trim().chars().take(120).collect();
    Err(CheckError::NotJson {
        what: what.to_string(),
        error: if text.trim().is_empty() {
            "it is empty".into()
        } else {
            error
        },
        excerpt,
    })
}

/// `$['a'][0] = x, ...` for messages.
fn list_nodes(nodes: &[(String, &Value)]) -> String {
    if nodes.is_empty() {
        return "nothing".into();
    }
    let mut parts: Vec<String> = nodes
        .iter()
        .take(NODES_SHOWN)
        .map(|(p, v)| format!("{p} = {}", show(v)))
        .collect();
    if nodes.len() > NODES_SHOWN {
        parts.push(format!("... and {} more", nodes.len() - NODES_SHOWN));
    }
    parts.join(", ")
}

/// Every value operator in `preds` holds for `v`; the first failing verdict otherwise.
fn all_hold(preds: &[Predicate], v: &Value) -> Result<(), Verdict> {
    preds
        .iter()
        .map(|p| eval_value(p, v))
        .find(|r| !r.ok)
        .map_or(Ok(()), Err)
}

/// Evaluates every operator of `a` over the nodes its path selects in `doc`.
/// List operators judge the node list; value operators need exactly one node.
pub(crate) fn assert_json(a: &JsonAssert, doc: &Value) -> Result<Vec<Verdict>, CheckError> {
    let found = jsonpath_rust::query::js_path_process(&a.path.query, doc).map_err(|e| {
        CheckError::JsonPath {
            path: a.path.text.clone(),
            error: e.to_string(),
        }
    })?;
    let selected = Selected {
        path: &a.path.text,
        nodes: found.into_iter().map(|r| (r.path, r.val)).collect(),
    };
    a.preds.iter().map(|p| selected.judge(p)).collect()
}

/// The nodes a JSONPath selected, each with its normalized path.
struct Selected<'d> {
    path: &'d str,
    nodes: Vec<(String, &'d Value)>,
}

impl Selected<'_> {
    /// The nodes as a verdict's `actual`: `nothing`, or their count and values.
    fn listed(&self) -> String {
        match self.nodes.len() {
            0 => "nothing".to_string(),
            n => format!(
                "{n} node{}: {}",
                if n == 1 { "" } else { "s" },
                list_nodes(&self.nodes)
            ),
        }
    }

    fn verdict(&self, ok: bool, expected: String) -> Verdict {
        Verdict {
            ok,
            expected,
            actual: self.listed(),
            note: None,
        }
    }

    /// Failed because the path selects no node.
    fn nothing(&self, expected: String) -> Verdict {
        Verdict {
            ok: false,
            expected,
            actual: "nothing".into(),
            note: Some(format!("`{}` selects no node", self.path)),
        }
    }

    fn judge(&self, p: &Predicate) -> Result<Verdict, CheckError> {
        let expected = p.to_string();
        let n = self.nodes.len();
        Ok(match p {
            Predicate::Exists(want) | Predicate::Absent(want) => {
                let want_present = matches!(p, Predicate::Exists(_)) == *want;
                self.verdict((n > 0) == want_present, expected)
            }
            Predicate::Count(c) => self.verdict(
                c.min.is_none_or(|m| n as u64 >= m) && c.max.is_none_or(|m| n as u64 <= m),
                expected,
            ),
            Predicate::Each(ps) => self.each(ps, expected),
            Predicate::Any(ps) | Predicate::None(ps) => {
                let hit = self.nodes.iter().find(|(_, v)| all_hold(ps, v).is_ok());
                let want_hit = matches!(p, Predicate::Any(_));
                let mut v = self.verdict(hit.is_some() == want_hit, expected);
                if let Some((path, found)) = hit.filter(|_| !want_hit) {
                    v.actual = format!("{path} = {}", show(found));
                }
                v
            }
            value_op => match self.nodes.as_slice() {
                [] => self.nothing(expected),
                [(_, v)] => eval_value(value_op, v),
                _ => {
                    return Err(CheckError::SeveralNodes {
                        path: self.path.to_string(),
                        op: expected,
                        count: n,
                        nodes: list_nodes(&self.nodes),
                    });
                }
            },
        })
    }

    /// `each`: every node holds `ps`, and there is at least one node.
    fn each(&self, ps: &[Predicate], expected: String) -> Verdict {
        let failed = self
            .nodes
            .iter()
            .find_map(|(path, v)| all_hold(ps, v).err().map(|f| (path, f)));
        match failed {
            // Each over no node would hold vacuously and prove nothing.
            None if self.nodes.is_empty() => self.nothing(expected),
            None => self.verdict(true, expected),
            Some((path, f)) => Verdict {
                ok: false,
                expected,
                actual: format!("{path} = {}", f.actual),
                note: Some(match f.note {
                    Some(why) => format!("{path} does not hold `{}`: {why}", f.expected),
                    None => format!("{path} does not hold `{}`", f.expected),
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::check_spec::Assertion;
    use crate::lab::check_spec::parse_check;
    use serde_json::json;

    fn check(spec: Value, doc: &Value) -> Result<bool, CheckError> {
        let (Assertion::Json(a), _) = parse_check(&spec).unwrap() else {
            panic!("not a json check")
        };
        Ok(assert_json(&a, doc)?.iter().all(|v| v.ok))
    }

    fn oops() -> Value {
        json!({"oops": {"name": "RequestError", "message": "Error: read ECONNRESET",
            "cause": {"errno": "ECONNRESET", "code": "ECONNRESET", "syscall": "read"}},
            "results": [{"link": "https://a", "n": 1}, {"link": "https://b", "n": "2"}]})
    }

    #[test]
    fn single_value() {
        let d = oops();
        assert!(
            check(
                json!({"json": "$.oops.cause.code", "equals": "ECONNRESET"}),
                &d
            )
            .unwrap()
        );
        assert!(!check(json!({"json": "$.oops.cause.code", "equals": "EPIPE"}), &d).unwrap());
        assert!(!check(json!({"json": "$.nope", "equals": "x"}), &d).unwrap());
        assert!(check(json!({"json": "$.results[0].n", "equals": 1}), &d).unwrap());
        assert!(!check(json!({"json": "$.results[1].n", "equals": 2}), &d).unwrap());
        assert!(!check(json!({"json": "$.results[1].n", "gt": 1}), &d).unwrap());
    }

    #[test]
    fn several_nodes_with_value_operator_is_an_error() {
        let e = check(
            json!({"json": "$.results[*].link", "matches": "^https://"}),
            &oops(),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("selects 2 nodes"), "{msg}");
        assert!(
            msg.contains("https://a") && msg.contains("https://b"),
            "{msg}"
        );
        assert!(
            msg.contains("each:") && msg.contains("any:") && msg.contains("none:"),
            "{msg}"
        );
    }

    #[test]
    fn list_operators() {
        let d = oops();
        assert!(check(json!({"json": "$.results[*]", "count": 2}), &d).unwrap());
        assert!(!check(json!({"json": "$.results[*]", "count": 3}), &d).unwrap());
        assert!(check(json!({"json": "$.results[*]", "count": {"min": 1}}), &d).unwrap());
        assert!(!check(json!({"json": "$.results[*]", "count": {"max": 1}}), &d).unwrap());
        assert!(check(json!({"json": "$.oops", "exists": true}), &d).unwrap());
        assert!(!check(json!({"json": "$.nope", "exists": true}), &d).unwrap());
        assert!(check(json!({"json": "$.nope", "exists": false}), &d).unwrap());
        assert!(check(json!({"json": "$.nope", "absent": true}), &d).unwrap());
        assert!(!check(json!({"json": "$.oops", "absent": true}), &d).unwrap());
    }

    #[test]
    fn each_any_none() {
        let d = oops();
        for (quantifier, pattern, holds) in [
            ("each", "^https://", true),
            ("each", "a$", false),
            ("any", "a$", true),
            ("any", "z$", false),
            ("none", "z$", true),
            ("none", "a$", false),
        ] {
            let spec = json!({"json": "$.results[*].link", quantifier: {"matches": pattern}});
            assert_eq!(check(spec, &d).unwrap(), holds, "{quantifier} {pattern}");
        }
        // Each over nothing proves nothing.
        assert!(!check(json!({"json": "$.nope[*]", "each": {"equals": 1}}), &d).unwrap());
        // Typed per node: "2" is not a number.
        assert!(!check(json!({"json": "$.results[*].n", "each": {"gte": 1}}), &d).unwrap());
    }

    #[test]
    fn parses_last_document_after_noise() {
        let t = "  % Total    % Received\n100   12  100 12\n{\"a\": 1}\n";
        assert_eq!(parse_json_text(t, "stdout").unwrap(), json!({"a": 1}));
        assert_eq!(
            parse_json_text("{\"a\":1}\n{\"a\":2}\n", "stdout").unwrap(),
            json!({"a": 2})
        );
        assert_eq!(parse_json_text("\"x\"", "stdout").unwrap(), json!("x"));
        let cut = "{\"a\": [1,\n[... 5000 bytes omitted ...]\n2]}";
        assert!(matches!(
            parse_json_text(cut, "stdout"),
            Err(CheckError::TooLargeForJson { omitted: 5000, .. })
        ));
        let e = parse_json_text("hello", "stdout").unwrap_err();
        assert!(matches!(e, CheckError::NotJson { .. }));
        assert!(parse_json_text("{\"a\": 1}\ntrailing", "stdout").is_err());
        assert!(
            parse_json_text("", "stdout")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
    }
}
