//! Educates step bodies: `terminal:execute`/`terminal:interrupt` YAML (`command`,
//! `session`) and `examiner:execute-test` YAML (`name`, `args`, `retries`...).

use crate::diag::Code;
use std::time::Duration;

use serde_json::Value;

use super::{Fence, PageParser, first_line};
use crate::diag::Severity;
use crate::lab::check_spec;
use crate::lab::info::BodyFormat;
use crate::lab::model::ExaminerTest;

impl PageParser<'_> {
    fn yaml_body(
        &mut self,
        f: &Fence,
        body: &str,
        what: &str,
    ) -> Option<serde_json::Map<String, Value>> {
        if body.trim().is_empty() {
            return Some(serde_json::Map::new());
        }
        match serde_saphyr::from_str::<Value>(body) {
            Ok(Value::Object(m)) => Some(m),
            Ok(Value::Null) => Some(serde_json::Map::new()),
            Ok(other) => {
                self.diag(
                    Severity::Error,
                    Code::BadYaml,
                    f.body_range.start..f.body_range.start + 1,
                    format!("the {what} body must be a YAML map, found `{other}`"),
                    None,
                );
                None
            }
            Err(e) => {
                let at = self.yaml_error_at(f, &e);
                self.diag(
                    Severity::Error,
                    Code::BadYaml,
                    at..at + 1,
                    format!(
                        "the {what} body is not valid YAML: {}",
                        first_line(&e.to_string())
                    ),
                    None,
                );
                None
            }
        }
    }

    pub(super) fn educates_body(
        &mut self,
        f: &Fence,
        body: &str,
        format: BodyFormat,
    ) -> Option<(String, Option<u32>)> {
        let m = self.yaml_body(f, body, "Educates terminal")?;
        let session = m
            .get("session")
            .and_then(|s| {
                s.as_u64()
                    .or_else(|| s.as_str().and_then(|t| t.parse().ok()))
            })
            .map(|n| n as u32);
        let known: &[&str] = if format == BodyFormat::EducatesCommand {
            &[
                "command",
                "session",
                "clear",
                "prefix",
                "description",
                "autorestart",
                "cascade",
                "hidden",
            ]
        } else {
            &["session", "prefix", "description", "cascade", "hidden"]
        };
        for k in m.keys() {
            if !known.contains(&k.as_str()) {
                self.diag(
                    Severity::Warning,
                    Code::UnknownAttribute,
                    f.body_range.start..f.body_range.start + 1,
                    format!("unknown key `{k}` in an Educates terminal block"),
                    check_spec::nearest(k, known.iter().copied())
                        .map(|n| format!("did you mean `{n}`?")),
                );
            }
        }
        if format == BodyFormat::EducatesCommand {
            match m.get("command") {
                Some(Value::String(c)) => Some((c.clone(), session)),
                _ => {
                    self.fence_error(
                        f,
                        Code::BadYaml,
                        "a terminal:execute block needs `command:`",
                        "write `command: echo hello`",
                    );
                    None
                }
            }
        } else {
            Some((String::new(), session))
        }
    }

    pub(super) fn examiner_body(&mut self, f: &Fence, body: &str) -> Option<ExaminerTest> {
        // YAML's .INF is a float JSON cannot hold; Educates uses it for "retry forever".
        static INF: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        let inf = INF.get_or_init(|| {
            regex::Regex::new(r"(?mi)^(\s*retries:\s*)[+]?\.inf\s*$").expect("static regex")
        });
        let body = inf.replace_all(body, "${1}-1");
        let m = self.yaml_body(f, &body, "examiner test")?;
        let Some(Value::String(name)) = m.get("name") else {
            self.fence_error(
                f,
                Code::BadYaml,
                "an examiner:execute-test block needs `name:`",
                "name the script under workshop/examiner/tests/",
            );
            return None;
        };
        let secs = |k: &str, d: f64| {
            m.get(k)
                .and_then(|v| {
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .unwrap_or(d)
        };
        let retries = match m.get("retries") {
            None => Some(0),
            Some(Value::String(s)) if s.eq_ignore_ascii_case(".inf") => None,
            Some(v) => match v.as_f64() {
                Some(n) if n < 0.0 || n.is_infinite() => None,
                Some(n) => Some(n as u32),
                // serde-saphyr turns .INF into a float that JSON cannot hold: it arrives as null.
                None => None,
            },
        };
        let args = match m.get("args") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect(),
            // Quoted words stay whole, as Educates' shell would keep them.
            Some(Value::String(s)) => match shlex::split(s) {
                Some(words) => words,
                None => {
                    self.fence_error(
                        f,
                        Code::BadYaml,
                        format!("examiner `args: {s}` has a quote that is never closed"),
                        "close the quote, or write `args:` as a YAML list",
                    );
                    return None;
                }
            },
            _ => Vec::new(),
        };
        Some(ExaminerTest {
            name: name.clone(),
            title: m.get("title").and_then(|t| t.as_str()).map(str::to_string),
            args,
            timeout: Duration::from_secs_f64(secs("timeout", 15.0).max(0.0)),
            retries,
            delay: Duration::from_secs_f64(secs("delay", 1.0).max(0.0)),
        })
    }
}
