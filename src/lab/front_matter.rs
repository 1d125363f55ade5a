//! Front matter: YAML between `---` lines or TOML between `+++` lines at the top;
//! labctl reads `title` and its own keys under `labctl:`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::check_spec::{nearest, parse_duration};
use super::model::{LabSettings, OutputPolicy};
use crate::json_text::to_text;

/// The front matter block found at the top of a page.
pub(crate) struct FrontMatter<'a> {
    /// The text between the delimiters.
    pub text: &'a str,
    /// Byte offset of `text` in the page.
    pub text_offset: usize,
    /// Byte offset just past the closing delimiter line.
    pub end: usize,
    /// TOML (`+++`) rather than YAML.
    pub toml: bool,
}

/// What labctl takes from front matter.
pub(crate) struct Parsed {
    /// `title`.
    pub title: Option<String>,
    /// `labctl:` settings.
    pub settings: LabSettings,
}

/// A front matter problem.
pub(crate) struct FrontMatterError {
    /// Byte offset in the page.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

/// Finds the front matter block, if the page starts with one.
pub(crate) fn split(src: &str) -> Option<FrontMatter<'_>> {
    let start = if src.starts_with('\u{feff}') { 3 } else { 0 };
    let rest = &src[start..];
    let (delim, toml) = if rest.starts_with("---\n") || rest.starts_with("---\r\n") {
        ("---", false)
    } else if rest.starts_with("+++\n") || rest.starts_with("+++\r\n") {
        ("+++", true)
    } else {
        return None;
    };
    let text_offset = start + rest.find('\n')? + 1;
    let mut pos = text_offset;
    for line in src[text_offset..].split_inclusive('\n') {
        let t = line.trim_end();
        if t == delim || (!toml && t == "...") {
            return Some(FrontMatter {
                text: &src[text_offset..pos],
                text_offset,
                end: pos + line.len(),
                toml,
            });
        }
        pos += line.len();
    }
    None
}

impl FrontMatterError {
    fn new(offset: usize, message: impl Into<String>, help: impl Into<String>) -> Self {
        FrontMatterError {
            offset,
            message: message.into(),
            help: help.into(),
        }
    }
}

/// labctl's own keys under `labctl:`.
const LABCTL_KEYS: &[&str] = &["vars", "timeout", "output", "setup", "cleanup"];

/// Parses the block into a title and labctl settings.
pub(crate) fn parse(fm: &FrontMatter<'_>) -> Result<Parsed, FrontMatterError> {
    let value = fm.value()?;
    let title = value
        .get("title")
        .and_then(|t| t.as_str())
        .map(str::to_string);
    let settings = match value.get("labctl") {
        Some(l) => fm.labctl_settings(l)?,
        None => LabSettings::default(),
    };
    Ok(Parsed { title, settings })
}

impl FrontMatter<'_> {
    /// The block as JSON: TOML or YAML, an empty block being null.
    fn value(&self) -> Result<Value, FrontMatterError> {
        if self.toml {
            let t: toml::Value = toml::from_str(self.text).map_err(|e| {
                let off = e.span().map(|s| s.start).unwrap_or(0);
                FrontMatterError::new(
                    self.text_offset + off,
                    format!("front matter is not valid TOML: {}", e.message()),
                    "fix the TOML between the +++ lines",
                )
            })?;
            return Ok(serde_json::to_value(t).unwrap_or(Value::Null));
        }
        if self.text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_saphyr::from_str(self.text).map_err(|e| {
            let line = e.location().map(|l| l.line() as usize).unwrap_or(1);
            let off = self
                .text
                .split_inclusive('\n')
                .take(line.saturating_sub(1))
                .map(str::len)
                .sum::<usize>();
            FrontMatterError::new(
                self.text_offset + off,
                format!(
                    "front matter is not valid YAML: {}",
                    e.to_string().lines().next().unwrap_or("")
                ),
                "fix the YAML between the --- lines",
            )
        })
    }

    /// Byte offset in the page of the first `KEY:` (or `KEY =`), else of the block.
    fn key_offset(&self, k: &str) -> usize {
        self.text
            .find(&format!("{k}:"))
            .or_else(|| self.text.find(&format!("{k} =")))
            .map(|o| self.text_offset + o)
            .unwrap_or(self.text_offset)
    }

    /// The settings under `labctl:`; an unknown key is an error with a "did you mean".
    fn labctl_settings(&self, l: &Value) -> Result<LabSettings, FrontMatterError> {
        let m = l.as_object().ok_or_else(|| {
            FrontMatterError::new(
                self.key_offset("labctl"),
                "`labctl:` must be a map",
                "e.g. labctl: { vars: { username: user1 } }",
            )
        })?;
        let mut settings = LabSettings::default();
        for (k, v) in m {
            match k.as_str() {
                "vars" => settings.vars = self.vars(v)?,
                "timeout" => {
                    settings.timeout = Some(parse_duration(v).map_err(|e| {
                        FrontMatterError::new(
                            self.key_offset("timeout"),
                            format!("`labctl.timeout`: {e}"),
                            "e.g. timeout: 2m",
                        )
                    })?)
                }
                "output" => settings.output = self.output_policy(v)?,
                "setup" => settings.setup = v.as_str().map(str::to_string),
                "cleanup" => settings.cleanup = v.as_str().map(str::to_string),
                other => {
                    let help = nearest(other, LABCTL_KEYS.iter().copied())
                        .map(|n| format!("did you mean `{n}`?"))
                        .unwrap_or_else(|| format!("known keys: {}", LABCTL_KEYS.join(", ")));
                    return Err(FrontMatterError::new(
                        self.key_offset(other),
                        format!("unknown key `{other}` under `labctl:`"),
                        help,
                    ));
                }
            }
        }
        Ok(settings)
    }

    /// `labctl.vars`: name → text (null is empty, other values as JSON).
    fn vars(&self, v: &Value) -> Result<BTreeMap<String, String>, FrontMatterError> {
        let vars = v.as_object().ok_or_else(|| {
            FrontMatterError::new(
                self.key_offset("vars"),
                "`labctl.vars` must be a map of name: value",
                "e.g. vars: { username: user1 }",
            )
        })?;
        Ok(vars
            .iter()
            .map(|(name, val)| {
                let text = match val {
                    Value::Null => String::new(),
                    other => to_text(other),
                };
                (name.clone(), text)
            })
            .collect())
    }

    fn output_policy(&self, v: &Value) -> Result<OutputPolicy, FrontMatterError> {
        match v.as_str() {
            Some("similar") => Ok(OutputPolicy::Similar),
            Some("strict") => Ok(OutputPolicy::Strict),
            Some("ignore") => Ok(OutputPolicy::Ignore),
            _ => Err(FrontMatterError::new(
                self.key_offset("output"),
                format!("`labctl.output: {v}` is not a policy"),
                "write similar, strict or ignore",
            )),
        }
    }
}

/// Hugo's `weight` from a page's front matter, for ordering Educates content.
pub(crate) fn weight(src: &str) -> Option<f64> {
    let fm = split(src)?;
    let v: Value = if fm.toml {
        serde_json::to_value(toml::from_str::<toml::Value>(fm.text).ok()?).ok()?
    } else {
        serde_saphyr::from_str(fm.text).ok()?
    };
    v.get("weight")?.as_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_front_matter() {
        let src = "---\ntitle: Egress\nlabctl:\n  vars: { username: user1 }\n  timeout: 2m\n---\n# Heading\n";
        let fm = split(src).unwrap();
        assert_eq!(&src[fm.end..], "# Heading\n");
        let p = parse(&fm).ok().unwrap();
        assert_eq!(p.title.as_deref(), Some("Egress"));
        assert_eq!(p.settings.vars["username"], "user1");
    }

    #[test]
    fn toml_front_matter() {
        let src = "+++\ntitle = \"Hugo page\"\nweight = 3\n+++\nbody\n";
        let p = parse(&split(src).unwrap()).ok().unwrap();
        assert_eq!(p.title.as_deref(), Some("Hugo page"));
    }

    #[test]
    fn unknown_labctl_key() {
        let src = "---\nlabctl:\n  timout: 3s\n---\n";
        let e = parse(&split(src).unwrap()).err().unwrap();
        assert!(e.help.contains("timeout"));
    }
}
