//! Front matter: YAML between `---` lines or TOML between `+++` lines at the top;
//! labctl reads `title` and its own keys under `labctl:`.

use serde_json::Value;

use super::check_spec::{nearest, parse_duration};
use super::model::{LabSettings, OutputPolicy};

/// The front matter block found at the top of a page.
pub struct FrontMatter<'a> {
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
pub struct Parsed {
    /// `title`.
    pub title: Option<String>,
    /// `labctl:` settings.
    pub settings: LabSettings,
}

/// A front matter problem.
pub struct FrontMatterError {
    /// Byte offset in the page.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

/// Finds the front matter block, if the page starts with one.
pub fn split(src: &str) -> Option<FrontMatter<'_>> {
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

/// Parses the block into a title and labctl settings.
pub fn parse(fm: &FrontMatter<'_>) -> Result<Parsed, FrontMatterError> {
    let err = |offset: usize, message: String, help: &str| FrontMatterError {
        offset,
        message,
        help: help.to_string(),
    };
    let value: Value = if fm.toml {
        let t: toml::Value = toml::from_str(fm.text).map_err(|e| {
            let off = e.span().map(|s| s.start).unwrap_or(0);
            err(
                fm.text_offset + off,
                format!("front matter is not valid TOML: {}", e.message()),
                "fix the TOML between the +++ lines",
            )
        })?;
        serde_json::to_value(t).unwrap_or(Value::Null)
    } else if fm.text.trim().is_empty() {
        Value::Null
    } else {
        serde_saphyr::from_str(fm.text).map_err(|e| {
            let line = e.location().map(|l| l.line() as usize).unwrap_or(1);
            let off = fm
                .text
                .split_inclusive('\n')
                .take(line.saturating_sub(1))
                .map(str::len)
                .sum::<usize>();
            err(
                fm.text_offset + off,
                format!(
                    "front matter is not valid YAML: {}",
                    e.to_string().lines().next().unwrap_or("")
                ),
                "fix the YAML between the --- lines",
            )
        })?
    };
    let title = value
        .get("title")
        .and_then(|t| t.as_str())
        .map(str::to_string);
    let mut settings = LabSettings::default();
    let key_offset = |k: &str| {
        fm.text
            .find(&format!("{k}:"))
            .or_else(|| fm.text.find(&format!("{k} =")))
            .map(|o| fm.text_offset + o)
            .unwrap_or(fm.text_offset)
    };
    if let Some(l) = value.get("labctl") {
        let m = l.as_object().ok_or_else(|| {
            err(
                key_offset("labctl"),
                "`labctl:` must be a map".into(),
                "e.g. labctl: { vars: { username: user1 } }",
            )
        })?;
        const KEYS: &[&str] = &["vars", "timeout", "output", "setup", "cleanup"];
        for (k, v) in m {
            match k.as_str() {
                "vars" => {
                    let vars = v.as_object().ok_or_else(|| {
                        err(
                            key_offset("vars"),
                            "`labctl.vars` must be a map of name: value".into(),
                            "e.g. vars: { username: user1 }",
                        )
                    })?;
                    for (name, val) in vars {
                        let text = match val {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => other.to_string(),
                        };
                        settings.vars.insert(name.clone(), text);
                    }
                }
                "timeout" => {
                    settings.timeout = Some(parse_duration(v).map_err(|e| {
                        err(
                            key_offset("timeout"),
                            format!("`labctl.timeout`: {e}"),
                            "e.g. timeout: 2m",
                        )
                    })?)
                }
                "output" => {
                    settings.output = match v.as_str() {
                        Some("similar") => OutputPolicy::Similar,
                        Some("strict") => OutputPolicy::Strict,
                        Some("ignore") => OutputPolicy::Ignore,
                        _ => {
                            return Err(err(
                                key_offset("output"),
                                format!("`labctl.output: {v}` is not a policy"),
                                "write similar, strict or ignore",
                            ));
                        }
                    }
                }
                "setup" => settings.setup = v.as_str().map(str::to_string),
                "cleanup" => settings.cleanup = v.as_str().map(str::to_string),
                other => {
                    let help = nearest(other, KEYS.iter().copied())
                        .map(|n| format!("did you mean `{n}`?"))
                        .unwrap_or_else(|| format!("known keys: {}", KEYS.join(", ")));
                    return Err(err(
                        key_offset(other),
                        format!("unknown key `{other}` under `labctl:`"),
                        &help,
                    ));
                }
            }
        }
    }
    Ok(Parsed { title, settings })
}

/// Hugo's `weight` from a page's front matter, for ordering Educates content.
pub fn weight(src: &str) -> Option<f64> {
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
