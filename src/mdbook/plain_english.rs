//! Checks in plain English, for the "Check your work" box: students read what
//! will be checked, never the verify YAML.
//!
//! Sentences are plain text with JSONPaths, patterns and commands wrapped in
//! backticks; the renderer escapes them and turns backticks into `<code>`.

use serde_json::Value;

use crate::json_text::to_text;
use crate::lab::check_spec::{
    Assertion, CheckSpec, CommandCheck, CountSpec, HttpCheck, JsonAssert, KubeCheck, Predicate,
    TextStream,
};
use crate::lab::{ExpectedExit, Timing};

/// One check as a sentence, e.g. "The reply's `$.oops.cause.code` is ECONNRESET".
pub(crate) fn sentence(check: &CheckSpec) -> String {
    let mut s = match &check.kind {
        Assertion::Exit(e) => exit_sentence(*e, "The command"),
        Assertion::Text { stream, preds } => {
            let what = match stream {
                TextStream::Stdout => "The output",
                TextStream::Stderr => "The error output",
            };
            format!("{what} {}", preds_phrase(preds))
        }
        Assertion::Json(j) => json_clauses(j, "the reply").join(", and "),
        Assertion::Http(h) => http_sentence(h),
        Assertion::Kube(k) => kube_sentence(k),
        Assertion::Command(c) => command_sentence(c),
    };
    s.push_str(&timing_phrase(&check.timing));
    s
}

/// "URL answers 200 with a body that contains ok".
fn http_sentence(h: &HttpCheck) -> String {
    let target = if h.method.eq_ignore_ascii_case("GET") {
        h.url.clone()
    } else {
        format!("{} {}", h.method, h.url)
    };
    let mut s = match h.status {
        Some(code) => format!("{target} answers {code}"),
        None => format!("{target} answers"),
    };
    let mut with = Vec::new();
    for (name, ps) in &h.headers {
        with.push(format!("a {name} header that {}", preds_phrase(ps)));
    }
    if !h.body.is_empty() {
        with.push(format!("a body that {}", preds_phrase(&h.body)));
    }
    if let Some(j) = &h.json {
        with.extend(with_clauses(j));
    }
    if !with.is_empty() {
        s.push_str(" with ");
        s.push_str(&with.join(" and "));
    }
    s
}

/// "The Deployment web in namespace user1 is Available", or "There is no ...".
fn kube_sentence(k: &KubeCheck) -> String {
    let what = match (&k.name, &k.selector) {
        (Some(n), _) => format!("{} {n}", k.kind),
        (None, Some(sel)) => format!("{} labelled {sel}", plural(&k.kind)),
        (None, None) => plural(&k.kind),
    };
    let ns = k
        .namespace
        .as_ref()
        .map(|n| format!(" in namespace {n}"))
        .unwrap_or_default();
    if k.absent {
        format!("There is no {what}{ns}")
    } else {
        let mut parts = Vec::new();
        if let Some(c) = k.count {
            parts.push(format!("number {}", count_phrase(c)));
        }
        if let Some(f) = &k.fields {
            parts.extend(field_phrases(f, ""));
        }
        if let Some(c) = &k.condition {
            parts.push(format!("is {c}"));
        }
        if let Some(j) = &k.json {
            parts.extend(with_clauses(j).into_iter().map(|c| format!("has {c}")));
        }
        if parts.is_empty() {
            parts.push("exists".into());
        }
        format!("The {what}{ns} {}", parts.join(" and "))
    }
}

/// "The command `curl ...` succeeds and its output contains ok".
fn command_sentence(c: &CommandCheck) -> String {
    let mut parts = vec![match c.exit {
        ExpectedExit::Code(0) => "succeeds".to_string(),
        ExpectedExit::Code(n) => format!("exits with status {n}"),
        ExpectedExit::Any => "runs".to_string(),
        ExpectedExit::Nonzero => "fails".to_string(),
    }];
    if !c.stdout.is_empty() {
        parts.push(format!("its output {}", preds_phrase(&c.stdout)));
    }
    if !c.stderr.is_empty() {
        parts.push(format!("its error output {}", preds_phrase(&c.stderr)));
    }
    if let Some(j) = &c.json {
        parts.extend(json_clauses(j, "its output"));
    }
    format!("The command `{}` {}", c.script.trim(), parts.join(" and "))
}

/// The implicit exit check of a step, as a sentence.
pub(crate) fn exit(e: ExpectedExit) -> String {
    exit_sentence(e, "The command")
}

fn exit_sentence(e: ExpectedExit, who: &str) -> String {
    match e {
        ExpectedExit::Code(0) => format!("{who} succeeds (exit status 0)"),
        ExpectedExit::Code(n) => format!("{who} exits with status {n}"),
        ExpectedExit::Any => format!("{who} may exit with any status"),
        ExpectedExit::Nonzero => format!("{who} fails (a non-zero exit status)"),
    }
}

fn timing_phrase(t: &Timing) -> String {
    let mut s = String::new();
    if let Some(w) = t.within {
        s.push_str(&format!(
            " (it may take up to {})",
            humantime::format_duration(w)
        ));
    }
    if let Some(h) = t.hold {
        s.push_str(&format!(
            ", and stays so for {}",
            humantime::format_duration(h)
        ));
    }
    s
}

fn plural(kind: &str) -> String {
    if kind.ends_with('s') {
        format!("{kind}es")
    } else if let Some(stem) = kind.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{kind}s")
    }
}

fn count_phrase(c: CountSpec) -> String {
    match (c.min, c.max) {
        (Some(a), Some(b)) if a == b => format!("exactly {a}"),
        (Some(a), Some(b)) => format!("between {a} and {b}"),
        (Some(a), None) => format!("at least {a}"),
        (None, Some(b)) => format!("at most {b}"),
        (None, None) => "any number of".into(),
    }
}

/// What a single value must be: "is ECONNRESET", "matches `^https://`".
fn pred_phrase(p: &Predicate) -> String {
    let list = |ps: &[Predicate]| preds_phrase(ps);
    match p {
        Predicate::Equals(v) => format!("is {}", to_text(v)),
        Predicate::NotEquals(v) => format!("is not {}", to_text(v)),
        Predicate::Contains(s) => format!("contains “{s}”"),
        Predicate::NotContains(s) => format!("does not contain “{s}”"),
        Predicate::Matches(pat) => format!("matches `{}`", pat.text),
        Predicate::OneOf(vs) => format!(
            "is one of {}",
            vs.iter().map(to_text).collect::<Vec<_>>().join(", ")
        ),
        Predicate::Gt(n) => format!("is more than {n}"),
        Predicate::Gte(n) => format!("is at least {n}"),
        Predicate::Lt(n) => format!("is less than {n}"),
        Predicate::Lte(n) => format!("is at most {n}"),
        Predicate::Exists(true) | Predicate::Absent(false) => "exists".into(),
        Predicate::Exists(false) | Predicate::Absent(true) => "is absent".into(),
        Predicate::Empty(true) => "is empty".into(),
        Predicate::Empty(false) => "is not empty".into(),
        Predicate::Count(c) => format!("has {} items", count_phrase(*c)),
        Predicate::Each(ps) => format!("each {}", list(ps)),
        Predicate::Any(ps) => format!("at least one {}", list(ps)),
        Predicate::None(ps) => format!("none {}", list(ps)),
    }
}

fn preds_phrase(ps: &[Predicate]) -> String {
    ps.iter().map(pred_phrase).collect::<Vec<_>>().join(" and ")
}

/// Clauses about a JSONPath over some JSON `owner` ("the reply", "its output").
fn json_clauses(j: &JsonAssert, owner: &str) -> Vec<String> {
    let path = &j.path.text;
    let value: Vec<&Predicate> = j.preds.iter().filter(|p| !p.is_list_predicate()).collect();
    let mut out = Vec::new();
    if !value.is_empty() {
        let ps: Vec<String> = value.iter().map(|p| pred_phrase(p)).collect();
        out.push(format!(
            "{}'s `{path}` {}",
            capital(owner),
            ps.join(" and ")
        ));
    }
    for p in j.preds.iter().filter(|p| p.is_list_predicate()) {
        out.push(match p {
            Predicate::Count(c) => format!("{} has {} `{path}`", capital(owner), count_phrase(*c)),
            Predicate::Exists(true) | Predicate::Absent(false) => {
                format!("{} has `{path}`", capital(owner))
            }
            Predicate::Exists(false) | Predicate::Absent(true) => {
                format!("{} has no `{path}`", capital(owner))
            }
            Predicate::Each(ps) => format!("Every `{path}` in {owner} {}", preds_phrase(ps)),
            Predicate::Any(ps) => format!("At least one `{path}` in {owner} {}", preds_phrase(ps)),
            Predicate::None(ps) => format!("No `{path}` in {owner} {}", preds_phrase(ps)),
            other => pred_phrase(other),
        });
    }
    // Later clauses continue a sentence: only the first keeps its capital.
    for c in out.iter_mut().skip(1) {
        *c = lower_first(c);
    }
    out
}

/// Clauses after "with": "at least 1 `$[*].link`", "`$[0].title` that is X".
fn with_clauses(j: &JsonAssert) -> Vec<String> {
    let path = &j.path.text;
    let mut out = Vec::new();
    let value: Vec<String> = j
        .preds
        .iter()
        .filter(|p| !p.is_list_predicate())
        .map(pred_phrase)
        .collect();
    if !value.is_empty() {
        out.push(format!("`{path}` that {}", value.join(" and ")));
    }
    for p in j.preds.iter().filter(|p| p.is_list_predicate()) {
        out.push(match p {
            Predicate::Count(c) => format!("{} `{path}`", count_phrase(*c)),
            Predicate::Exists(true) | Predicate::Absent(false) => format!("`{path}`"),
            Predicate::Exists(false) | Predicate::Absent(true) => format!("no `{path}`"),
            Predicate::Each(ps) => format!("every `{path}` that {}", preds_phrase(ps)),
            Predicate::Any(ps) => format!("some `{path}` that {}", preds_phrase(ps)),
            Predicate::None(ps) => format!("no `{path}` that {}", preds_phrase(ps)),
            other => pred_phrase(other),
        });
    }
    out
}

/// `fields:` as phrases: lists become "lists host X", scalars "has location Y".
fn field_phrases(v: &Value, key: &str) -> Vec<String> {
    match v {
        Value::Object(m) => m.iter().flat_map(|(k, v)| field_phrases(v, k)).collect(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let singular = key.strip_suffix('s').unwrap_or(key);
            let values: Vec<String> = items.iter().map(to_text).collect();
            vec![format!("lists {singular} {}", values.join(", "))]
        }
        Value::Array(items) => items.iter().flat_map(|i| field_phrases(i, key)).collect(),
        other if key.is_empty() => vec![format!("is {}", to_text(other))],
        other => vec![format!("has {key} {}", to_text(other))],
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::check_spec::parse_check;

    fn say(yaml: &str) -> String {
        let v: Value = serde_saphyr::from_str(yaml).unwrap();
        let (kind, timing) = parse_check(&v).unwrap();
        sentence(&CheckSpec {
            hint: None,
            line: 1,
            raw: v,
            timing,
            kind,
        })
    }

    #[test]
    fn kube_fields_read_as_english() {
        assert_eq!(
            say(
                "kube: networking.istio.io/v1alpha3/ServiceEntry\nname: context-scraper-egress\nnamespace: user1\nfields: { spec: { hosts: [www.googleapis.com] } }"
            ),
            "The ServiceEntry context-scraper-egress in namespace user1 lists host www.googleapis.com"
        );
        assert_eq!(
            say("kube: v1/ConfigMap\nname: forbidden\nnamespace: u\nabsent: true"),
            "There is no ConfigMap forbidden in namespace u"
        );
    }

    #[test]
    fn json_and_http() {
        assert_eq!(
            say("json: $.oops.cause.code\nequals: ECONNRESET"),
            "The reply's `$.oops.cause.code` is ECONNRESET"
        );
        assert_eq!(
            say("http: http://a:8080/x\nstatus: 200\njson: $[*].link\ncount: { min: 1 }"),
            "http://a:8080/x answers 200 with at least 1 `$[*].link`"
        );
        assert_eq!(
            say("json: $[*].link\neach: { matches: '^https://' }"),
            "Every `$[*].link` in the reply matches `^https://`"
        );
    }

    #[test]
    fn text_exit_command_and_timing() {
        assert_eq!(
            say("stdout: { contains: REGISTRY_ONLY }\nwithin: 30s"),
            "The output contains “REGISTRY_ONLY” (it may take up to 30s)"
        );
        assert_eq!(say("exit: 0"), "The command succeeds (exit status 0)");
        assert_eq!(
            say("command: oc get se -o name\nstdout: { contains: egress }"),
            "The command `oc get se -o name` succeeds and its output contains “egress”"
        );
    }
}
