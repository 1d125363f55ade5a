//! How a check reads in one line, as reports and `labctl list` show it:
//! `$.oops.cause.code equals ECONNRESET`, `GET URL: status 200`.

use std::fmt;

use super::{Assertion, CommandCheck, HttpCheck, JsonAssert, KubeCheck, Predicate, TextStream};
use crate::json_text::to_text;

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |ps: &[Predicate]| {
            ps.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(" and ")
        };
        match self {
            Predicate::Equals(v) => write!(f, "equals {}", to_text(v)),
            Predicate::NotEquals(v) => write!(f, "not-equals {}", to_text(v)),
            Predicate::Contains(s) => write!(f, "contains {s:?}"),
            Predicate::NotContains(s) => write!(f, "not-contains {s:?}"),
            Predicate::Matches(p) => write!(f, "matches /{}/", p.text),
            Predicate::OneOf(vs) => write!(
                f,
                "one-of [{}]",
                vs.iter().map(to_text).collect::<Vec<_>>().join(", ")
            ),
            Predicate::Gt(n) => write!(f, "> {n}"),
            Predicate::Gte(n) => write!(f, ">= {n}"),
            Predicate::Lt(n) => write!(f, "< {n}"),
            Predicate::Lte(n) => write!(f, "<= {n}"),
            Predicate::Exists(true) | Predicate::Absent(false) => f.write_str("exists"),
            Predicate::Exists(false) | Predicate::Absent(true) => f.write_str("is absent"),
            Predicate::Empty(true) => f.write_str("is empty"),
            Predicate::Empty(false) => f.write_str("is not empty"),
            Predicate::Count(c) => match (c.min, c.max) {
                (Some(a), Some(b)) if a == b => write!(f, "count is {a}"),
                (Some(a), Some(b)) => write!(f, "count between {a} and {b}"),
                (Some(a), None) => write!(f, "count at least {a}"),
                (None, Some(b)) => write!(f, "count at most {b}"),
                (None, None) => f.write_str("any count"),
            },
            Predicate::Each(ps) => write!(f, "each {}", list(ps)),
            Predicate::Any(ps) => write!(f, "any {}", list(ps)),
            Predicate::None(ps) => write!(f, "none {}", list(ps)),
        }
    }
}

fn join_preds(ps: &[Predicate]) -> String {
    ps.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(" and ")
}

impl JsonAssert {
    /// `$.path equals X`.
    pub fn describe(&self) -> String {
        format!("{} {}", self.path.text, join_preds(&self.preds))
    }
}

impl HttpCheck {
    /// `GET URL: status 200, body contains "ok"`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.status {
            parts.push(format!("status {s}"));
        }
        for (name, ps) in &self.headers {
            parts.push(format!("header {name} {}", join_preds(ps)));
        }
        if !self.body.is_empty() {
            parts.push(format!("body {}", join_preds(&self.body)));
        }
        if let Some(j) = &self.json {
            parts.push(j.describe());
        }
        format!("{} {}: {}", self.method, self.url, parts.join(", "))
    }
}

impl KubeCheck {
    /// `ServiceEntry x in user1 has {...}`.
    pub fn describe(&self) -> String {
        let what = match (&self.name, &self.selector) {
            (Some(n), _) => format!("{} {n}", self.kind),
            (_, Some(s)) => format!("{} with labels {s}", self.kind),
            _ => self.kind.clone(),
        };
        let ns = self
            .namespace
            .as_ref()
            .map(|n| format!(" in {n}"))
            .unwrap_or_default();
        let mut parts = Vec::new();
        if self.absent {
            parts.push("is absent".to_string());
        }
        if let Some(c) = &self.count {
            parts.push(Predicate::Count(*c).to_string());
        }
        if let Some(f) = &self.fields {
            parts.push(format!(
                "has {}",
                serde_json::to_string(f).unwrap_or_default()
            ));
        }
        if let Some(c) = &self.condition {
            parts.push(format!("is {c}"));
        }
        if let Some(j) = &self.json {
            parts.push(j.describe());
        }
        if parts.is_empty() {
            parts.push("exists".into());
        }
        format!("{what}{ns} {}", parts.join(", "))
    }
}

impl CommandCheck {
    /// `` `SCRIPT` exits 0, stdout contains "x" ``.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("exits {}", self.exit)];
        if !self.stdout.is_empty() {
            parts.push(format!("stdout {}", join_preds(&self.stdout)));
        }
        if !self.stderr.is_empty() {
            parts.push(format!("stderr {}", join_preds(&self.stderr)));
        }
        if let Some(j) = &self.json {
            parts.push(j.describe());
        }
        format!("`{}` {}", self.script.trim(), parts.join(", "))
    }
}

impl Assertion {
    /// A one-line description, as in reports: `$.oops.cause.code equals ECONNRESET`.
    pub fn describe(&self) -> String {
        match self {
            Assertion::Exit(e) => format!("exit status is {e}"),
            Assertion::Text { stream, preds } => {
                let stream = match stream {
                    TextStream::Stdout => "stdout",
                    TextStream::Stderr => "stderr",
                };
                format!("{stream} {}", join_preds(preds))
            }
            Assertion::Json(j) => j.describe(),
            Assertion::Http(h) => h.describe(),
            Assertion::Kube(k) => k.describe(),
            Assertion::Command(c) => c.describe(),
        }
    }
}
