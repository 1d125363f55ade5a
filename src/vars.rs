//! Variables: the forms pages use (`%name%`, `{{ name }}`, `{{< param name >}}`),
//! where values come from and in what precedence, substitution and the safety rule.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

/// Homeroom's and Educates' own variables: the platform supplies them at run time.
pub(crate) const PLATFORM_VARS: &[&str] = &[
    // Homeroom
    "username",
    "project_namespace",
    "cluster_subdomain",
    "base_url",
    "console_url",
    "terminal_url",
    "slides_url",
    "workshop_namespace",
    "user_index",
    "password",
    "login_url",
    "cluster_url",
    // Educates
    "session_namespace",
    "session_name",
    "session_id",
    "session_url",
    "session_hostname",
    "ingress_domain",
    "ingress_protocol",
    "ingress_port_suffix",
    "workshop_name",
    "environment_name",
    "training_portal",
    "storage_class",
    "policy_engine",
    "policy_name",
    "services_password",
    "ssh_private_key",
    "ssh_public_key",
    "image_repository",
    "assets_repository",
    "oci_image_cache",
    "kubernetes_token",
    "kubernetes_ca_crt",
    "kubernetes_api_url",
    "platform_arch",
    "config_password",
];

/// Go template words that look like `{{word}}` but are never labctl variables.
const GO_TEMPLATE_WORDS: &[&str] = &[
    "end", "else", "range", "if", "with", "define", "template", "block", "nil", "break",
    "continue", "true", "false",
];

/// How a use is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `%name%` (Homeroom); other `%word%` text stays as written when undefined.
    Percent,
    /// `{{ name }}` or `{{< param name >}}` (Educates).
    Template,
}

/// One place a variable is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Use {
    pub name: String,
    /// How it is written.
    pub form: Form,
    /// Byte range of the whole use in the text.
    pub range: Range<usize>,
}

fn pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"%([A-Za-z_][A-Za-z0-9_]*)%|\{\{<\s*param\s+"?([A-Za-z_][A-Za-z0-9_]*)"?\s*>\}\}|\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}"#)
            .expect("static regex")
    })
}

/// Every variable-shaped use in `text`.
pub(crate) fn uses(text: &str) -> Vec<Use> {
    pattern()
        .captures_iter(text)
        .filter_map(|c| {
            let whole = c.get(0)?;
            let (name, form) = match (c.get(1), c.get(2), c.get(3)) {
                (Some(n), _, _) => (n.as_str(), Form::Percent),
                (_, Some(n), _) => (n.as_str(), Form::Template),
                (_, _, Some(n)) if !GO_TEMPLATE_WORDS.contains(&n.as_str()) => {
                    (n.as_str(), Form::Template)
                }
                _ => return None,
            };
            Some(Use {
                name: name.to_string(),
                form,
                range: whole.range(),
            })
        })
        .collect()
}

/// True when a use must have a value: a platform name or a template form.
pub(crate) fn is_required(u: &Use) -> bool {
    u.form == Form::Template || PLATFORM_VARS.contains(&u.name.as_str())
}

/// The safety rule: values are pasted into shell commands.
pub(crate) fn is_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._:/@+=,-".contains(&b))
}

/// Resolved variable values for one (user, lab).
pub(crate) type Vars = BTreeMap<String, String>;

/// Where values come from, lowest precedence last.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Fan-out: `username`, `user_index` and per-user extras.
    pub user: Vars,
    /// `--var k=v`.
    pub cli: Vars,
    /// `LABCTL_VAR_k` from the environment.
    pub env: Vars,
    /// `[preprocessor.labctl.vars]` of book.toml.
    pub book: Vars,
}

impl Sources {
    /// Reads `LABCTL_VAR_*` from the process environment.
    pub fn env_vars() -> Vars {
        std::env::vars()
            .filter_map(|(k, v)| k.strip_prefix("LABCTL_VAR_").map(|n| (n.to_string(), v)))
            .collect()
    }

    /// Values for one lab: fan-out > --var > env > front matter > book.toml.
    pub fn resolve(&self, front_matter: &Vars) -> Vars {
        let mut out = self.book.clone();
        for layer in [front_matter, &self.env, &self.cli, &self.user] {
            out.extend(layer.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        out
    }
}

/// A use that cannot be filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VarProblem {
    /// Required and has no value.
    Undefined(Use),
    /// Has a value that fails the safety rule.
    Unsafe(Use, String),
}

/// Fills defined variables; leaves the rest as written and reports required ones missing.
pub(crate) fn substitute(text: &str, vars: &Vars, allow_unsafe: bool) -> (String, Vec<VarProblem>) {
    if !text.contains('%') && !text.contains("{{") {
        return (text.to_string(), Vec::new());
    }
    let mut out = String::with_capacity(text.len());
    let mut problems = Vec::new();
    let mut last = 0;
    for u in uses(text) {
        out.push_str(&text[last..u.range.start]);
        last = u.range.end;
        match vars.get(&u.name) {
            Some(v) if allow_unsafe || is_safe(v) => out.push_str(v),
            Some(v) => {
                problems.push(VarProblem::Unsafe(u.clone(), v.clone()));
                out.push_str(&text[u.range.clone()]);
            }
            None => {
                if is_required(&u) {
                    problems.push(VarProblem::Undefined(u.clone()));
                }
                out.push_str(&text[u.range.clone()]);
            }
        }
    }
    out.push_str(&text[last..]);
    (out, problems)
}

/// True when some string in `v` could hold a variable (`%` or `{{`): the cheap test
/// that spares checks without variables a copy and a re-parse.
pub(crate) fn mentions_variable(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => s.contains('%') || s.contains("{{"),
        Value::Array(a) => a.iter().any(mentions_variable),
        Value::Object(m) => m
            .iter()
            .any(|(k, x)| k.contains('%') || mentions_variable(x)),
        _ => false,
    }
}

/// Substitutes in every string of a JSON value (checks parsed from YAML).
pub(crate) fn substitute_value(
    v: &serde_json::Value,
    vars: &Vars,
    allow_unsafe: bool,
    problems: &mut Vec<VarProblem>,
) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            let (t, p) = substitute(s, vars, allow_unsafe);
            problems.extend(p);
            Value::String(t)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute_value(x, vars, allow_unsafe, problems))
                .collect(),
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), substitute_value(x, vars, allow_unsafe, problems)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fills_defined_and_keeps_the_rest() {
        let v = vars(&[("username", "user1")]);
        let (t, p) = substitute(
            "oc get cm -n %username%-istio --template='{{.spec.host}}' 100% %20 {{< param username >}} {{end}}",
            &v,
            false,
        );
        assert_eq!(
            t,
            "oc get cm -n user1-istio --template='{{.spec.host}}' 100% %20 user1 {{end}}"
        );
        assert!(p.is_empty());
    }

    #[test]
    fn platform_variable_undefined_is_a_problem() {
        let (_, p) = substitute("echo %project_namespace% %other%", &Vars::new(), false);
        assert_eq!(p.len(), 1);
        assert!(matches!(&p[0], VarProblem::Undefined(u) if u.name == "project_namespace"));
    }

    #[test]
    fn template_form_is_required() {
        let (_, p) = substitute(
            "echo {{ session_namespace }} {{ foo }}",
            &vars(&[("session_namespace", "s")]),
            false,
        );
        assert!(matches!(&p[..], [VarProblem::Undefined(u)] if u.name == "foo"));
    }

    #[test]
    fn unsafe_values_refused() {
        let v = vars(&[("username", "a;rm -rf /")]);
        let (_, p) = substitute("%username%", &v, false);
        assert!(matches!(&p[0], VarProblem::Unsafe(..)));
        let (t, p) = substitute("%username%", &v, true);
        assert!(p.is_empty());
        assert_eq!(t, "a;rm -rf /");
    }

    #[test]
    fn precedence() {
        let s = Sources {
            user: vars(&[("username", "u")]),
            cli: vars(&[("username", "c"), ("x", "c")]),
            env: vars(&[("x", "e"), ("y", "e")]),
            book: vars(&[("z", "b"), ("y", "b")]),
        };
        let r = s.resolve(&vars(&[("y", "f"), ("z", "f")]));
        assert_eq!(
            (
                r["username"].as_str(),
                r["x"].as_str(),
                r["y"].as_str(),
                r["z"].as_str()
            ),
            ("u", "c", "e", "f")
        );
    }
}
