//! Secrets never reach a report, the console or an error message: values named
//! by `--secret` (also JSON-escaped and URL-encoded) and well-known forms
//! (`key=` query parameters, JSON fields such as `"token"`, `x-api-key:` and
//! `Authorization:` headers) are replaced by `[redacted]`.
//!
//! Text reaches the redactor already cut (the capture keeps head and tail, a
//! check shows 400 characters), so at every cut marker a partial secret is
//! hidden too: the end of the text before the marker that begins a secret,
//! and the start of the text after it that ends one.

use std::sync::OnceLock;

use regex::Regex;

use crate::vars::Vars;

/// Shortest `--secret` value: shorter ones would garble the output they hide in.
pub(crate) const MIN_SECRET_LEN: usize = 4;

/// What a redacted value is replaced by.
pub(crate) const REDACTED: &str = MARK;
const MARK: &str = "[redacted]";

/// A `--secret` that cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SecretError {
    /// Its value is too short to redact without garbling everything.
    #[error(
        "--secret {name}: the value has {len} characters; a secret needs at least {MIN_SECRET_LEN} (shorter ones cannot be redacted without garbling the output)"
    )]
    TooShort {
        /// The variable's name.
        name: String,
        /// Its length in characters.
        len: usize,
    },
}

/// Replaces secrets in text.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    /// Every form of every secret value, longest first.
    forms: Vec<String>,
}

fn patterns() -> &'static [(Regex, &'static str)] {
    static RE: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    RE.get_or_init(|| {
        let names = r"key|token|password|passwd|secret|apikey|api_key|api-key|access_token|client_secret";
        let re = |s: &str| Regex::new(s).expect("static regex");
        vec![
            // A query parameter after any separator: ? & ; # \u0026 %26 (and `=` or %3D).
            (
                re(&format!(
                    r#"(?i)((?:[?&;#]|\\u0026|%26|%3F)(?:{names})(?:=|%3D))(?:[^&;#\s"'<>\\%]|%[^2]|%2[^6])+"#
                )),
                "${1}[redacted]",
            ),
            // A JSON field with one of those names (`"apiKey": "AIza..."`).
            (
                re(r#"(?i)("(?:key|apikey|api_key|api-key|token|access_token|password|secret|client_secret)"\s*:\s*")(?:[^"\\]|\\.)*""#),
                "${1}[redacted]\"",
            ),
            // Headers, bare or inside JSON/YAML: keep the scheme of Authorization.
            (
                re(r#"(?i)(x-api-key"?\s*[:=]\s*"?)[^\s"'\\,]+"#),
                "${1}[redacted]",
            ),
            (
                re(r#"(?i)(authorization"?\s*[:=]\s*"?(?:(?:bearer|basic|token|digest|negotiate)\s+)?)[^\s"'\\,]+"#),
                "${1}[redacted]",
            ),
        ]
    })
}

/// Where labctl cut text: the capture's omission line and a check's 400-character preview.
fn cut_markers() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\[\.\.\. \d+ bytes omitted \.\.\.\]|\.\.\. \(\d+ bytes\)")
            .expect("static regex")
    })
}

/// `value` as it appears inside a JSON string.
fn json_escaped(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    quoted[1..quoted.len() - 1].to_string()
}

/// `value` percent-encoded as a URL query component (upper and lower hex).
fn url_encoded(value: &str, upper: bool) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

impl Redactor {
    /// Secrets are the values of these names, looked up in `vars`, then the
    /// process environment. A name with no value redacts nothing.
    pub(crate) fn new(names: &[String], vars: &Vars) -> Result<Redactor, SecretError> {
        let mut values = Vec::new();
        for n in names {
            let Some(v) = vars.get(n).cloned().or_else(|| std::env::var(n).ok()) else {
                continue;
            };
            let len = v.chars().count();
            if len < MIN_SECRET_LEN {
                return Err(SecretError::TooShort {
                    name: n.clone(),
                    len,
                });
            }
            values.push(v);
        }
        Ok(Redactor::of_values(values))
    }

    fn of_values(values: Vec<String>) -> Redactor {
        let mut forms: Vec<String> = values
            .iter()
            .flat_map(|v| {
                [
                    v.clone(),
                    json_escaped(v),
                    url_encoded(v, true),
                    url_encoded(v, false),
                ]
            })
            .collect();
        // Longest first, so a secret that contains another is replaced whole.
        forms.sort_by_key(|v| std::cmp::Reverse(v.len()));
        forms.dedup();
        Redactor { forms }
    }

    /// One redactor hiding what any of these hide (for output shared by users).
    pub(crate) fn union<'a>(all: impl IntoIterator<Item = &'a Redactor>) -> Redactor {
        let mut forms: Vec<String> = all.into_iter().flat_map(|r| r.forms.clone()).collect();
        forms.sort_by_key(|v| std::cmp::Reverse(v.len()));
        forms.dedup();
        Redactor { forms }
    }

    /// The text with every secret replaced.
    pub(crate) fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.forms {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MARK);
            }
        }
        if !self.forms.is_empty() && cut_markers().is_match(&out) {
            out = self.hide_cut_secrets(&out);
        }
        for (re, with) in patterns() {
            if re.is_match(&out) {
                out = re.replace_all(&out, *with).into_owned();
            }
        }
        out
    }

    /// Around each cut marker, hides the part of a secret the cut left.
    fn hide_cut_secrets(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest_start = 0;
        for m in cut_markers().find_iter(text) {
            let before = &text[rest_start..m.start()];
            out.push_str(&self.hide_secret_prefix_at_end(before));
            out.push_str(m.as_str());
            rest_start = m.end();
            // The capture's marker has a tail after it: hide a secret's end there.
            if m.as_str().starts_with('[') {
                let after = &text[rest_start..];
                let next = cut_markers()
                    .find(after)
                    .map(|n| n.start())
                    .unwrap_or(after.len());
                let skip = self.secret_suffix_at_start(&after[..next]);
                if skip > 0 {
                    let lead = after[..next].len() - after[..next].trim_start().len();
                    out.push_str(&after[..lead]);
                    out.push_str(MARK);
                    rest_start += lead + skip;
                }
            }
        }
        out.push_str(&text[rest_start..]);
        out
    }

    /// `text` with a trailing beginning of a secret (before any line break
    /// the capture added) replaced.
    fn hide_secret_prefix_at_end(&self, text: &str) -> String {
        let trimmed = text.trim_end();
        let best = self
            .forms
            .iter()
            .filter_map(|f| {
                (1..f.len())
                    .rev()
                    .filter(|&k| f.is_char_boundary(k))
                    .find(|&k| trimmed.ends_with(&f[..k]))
            })
            .max();
        match best {
            Some(k) => format!(
                "{}{MARK}{}",
                &trimmed[..trimmed.len() - k],
                &text[trimmed.len()..]
            ),
            None => text.to_string(),
        }
    }

    /// Length of the longest end of a secret that `text` (past its leading
    /// whitespace) starts with.
    fn secret_suffix_at_start(&self, text: &str) -> usize {
        let trimmed = text.trim_start();
        self.forms
            .iter()
            .filter_map(|f| {
                (1..f.len())
                    .filter(|&k| f.is_char_boundary(k))
                    .find(|&k| trimmed.starts_with(&f[k..]))
                    .map(|k| f.len() - k)
            })
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(value: &str) -> Redactor {
        let vars = [("token".to_string(), value.to_string())]
            .into_iter()
            .collect();
        Redactor::new(&["token".into()], &vars).unwrap()
    }

    #[test]
    fn query_parameters_and_named_values() {
        let r = redactor("s3cr3t-value");
        let s = r.apply(r#"{"uri": "https://www.googleapis.com/customsearch/v1?key=AIzaXYZ&cx=1&q=skynet"} s3cr3t-value"#);
        assert_eq!(
            s,
            r#"{"uri": "https://www.googleapis.com/customsearch/v1?key=[redacted]&cx=1&q=skynet"} [redacted]"#
        );
    }

    #[test]
    fn every_separator_form_of_key_is_hidden() {
        let r = Redactor::default();
        for sep in ["?", "&", ";", "#", r"\u0026", "%26", "%3F"] {
            let s = r.apply(&format!("https://x/v1{sep}key=AIzaSECRET&cx=1"));
            assert!(!s.contains("AIzaSECRET"), "{sep}: {s}");
        }
        let s = r.apply("https%3A%2F%2Fx%2Fv1%3Fq%3D1%26key%3DAIzaSECRET%26cx%3D1");
        assert!(!s.contains("AIzaSECRET"), "{s}");
        assert!(s.contains("%26cx%3D1"), "{s}");
    }

    #[test]
    fn json_fields_and_headers_are_hidden() {
        let r = Redactor::default();
        for text in [
            r#"{"key": "AIzaSECRET"}"#,
            r#"{"apiKey":"AIzaSECRET"}"#,
            r#"{"api_key" : "AIzaSECRET"}"#,
            r#"{"Token": "AIzaSECRET"}"#,
            r#"{"password": "AIza\"SECRET"}"#,
            r#"{"secret": "AIzaSECRET"}"#,
            "x-api-key: AIzaSECRET",
            "X-Api-Key:AIzaSECRET",
            "Authorization: Bearer AIzaSECRET",
            "authorization: AIzaSECRET",
            r#"{"Authorization": "Basic AIzaSECRET"}"#,
        ] {
            let s = r.apply(text);
            assert!(!s.contains("SECRET"), "{text} -> {s}");
            assert!(s.contains(MARK), "{text} -> {s}");
        }
        assert_eq!(
            r.apply("Authorization: Bearer abc.def"),
            "Authorization: Bearer [redacted]"
        );
    }

    #[test]
    fn values_are_matched_json_escaped_and_url_encoded() {
        let r = redactor("p@ss w\"rd/1");
        for text in [
            "p@ss w\"rd/1",
            r#""p@ss w\"rd/1""#,
            "q=p%40ss%20w%22rd%2F1",
            "q=p%40ss%20w%22rd%2f1",
        ] {
            let s = r.apply(text);
            assert!(
                s.contains(MARK) && !s.contains("ss w") && !s.contains("ss%20"),
                "{s}"
            );
        }
    }

    #[test]
    fn a_secret_cut_by_a_marker_is_still_hidden() {
        let r = redactor("hunter22-long-secret");
        let s = r.apply("head hunter22-lo\n[... 100 bytes omitted ...]\nng-secret tail");
        assert_eq!(
            s,
            "head [redacted]\n[... 100 bytes omitted ...]\n[redacted] tail"
        );
        let s = r.apply("value: hunter22-long-se... (5000 bytes)");
        assert_eq!(s, "value: [redacted]... (5000 bytes)");
    }

    #[test]
    fn short_secrets_are_refused() {
        let vars = [("pin".to_string(), "abc".to_string())]
            .into_iter()
            .collect();
        assert!(matches!(
            Redactor::new(&["pin".into()], &vars),
            Err(SecretError::TooShort { len: 3, .. })
        ));
    }
}
