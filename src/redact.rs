//! Secrets never reach a report or the console: values named by `--secret` and
//! query parameters such as `key=` are replaced by `[redacted]`.

use std::sync::OnceLock;

use regex::Regex;

/// Replaces secrets in text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
}

/// What a redacted value is replaced by.
pub const REDACTED: &str = MARK;
const MARK: &str = "[redacted]";

fn query_params() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#"(?i)([?&](?:key|token|password|secret|apikey|api_key|access_token)=)[^&\s"'<>]+"#,
        )
        .expect("static regex")
    })
}

impl Redactor {
    /// Secrets are the values of these names, looked up in variables, then the environment.
    pub fn new(names: &[String], vars: &crate::vars::Vars, env: &[(String, String)]) -> Redactor {
        let mut values: Vec<String> = names
            .iter()
            .filter_map(|n| {
                vars.get(n)
                    .cloned()
                    .or_else(|| {
                        env.iter()
                            .rev()
                            .find(|(k, _)| k == n)
                            .map(|(_, v)| v.clone())
                    })
                    .or_else(|| std::env::var(n).ok())
            })
            .filter(|v| v.len() >= 3)
            .collect();
        // Longest first, so a secret that contains another is replaced whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Redactor { values }
    }

    /// The text with every secret replaced.
    pub fn apply(&self, text: &str) -> String {
        let mut out = query_params()
            .replace_all(text, format!("${{1}}{MARK}"))
            .into_owned();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MARK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_and_named_values() {
        let vars = [("token".to_string(), "s3cr3t-value".to_string())]
            .into_iter()
            .collect();
        let r = Redactor::new(&["token".into()], &vars, &[]);
        let s = r.apply(r#"{"uri": "https://www.googleapis.com/customsearch/v1?key=AIzaXYZ&cx=1&q=skynet"} s3cr3t-value"#);
        assert_eq!(
            s,
            r#"{"uri": "https://www.googleapis.com/customsearch/v1?key=[redacted]&cx=1&q=skynet"} [redacted]"#
        );
    }
}
