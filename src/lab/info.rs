//! Fence info strings: the word that says what a fence is (a small table per
//! dialect) and the attributes after it (`{key=value}` or Runme's JSON).

use serde_json::Value;

use super::model::{StepKind, TerminalSel};

/// What a fence is, by its info word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FenceRole {
    /// A step: run (or listed, for manual kinds).
    Step {
        /// What running it does.
        kind: StepKind,
        /// Where it runs.
        terminal: TerminalSel,
        /// How its body is written.
        body: BodyFormat,
    },
    /// A `sh`/`bash`/`shell` fence: a step only when attributes say `exec`.
    MaybeShell,
    /// Checks for the step above.
    Verify,
    /// Output: strict (```output) or documented.
    Output {
        /// True for ```output.
        strict: bool,
    },
    /// Anything else: prose.
    Prose,
}

/// How a step's body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFormat {
    /// The body is the script.
    Script,
    /// Educates YAML with `command` and `session`.
    EducatesCommand,
    /// Educates YAML with `session` only.
    EducatesInterrupt,
    /// Educates examiner YAML.
    Examiner,
    /// Not run.
    Manual,
}

const MANUAL_EXACT: &[&str] = &["copy", "copypaste", "copy-and-edit", "terminal:input"];
const MANUAL_PREFIXES: &[&str] = &[
    "editor:",
    "dashboard:",
    "workshop:",
    "files:",
    "terminal:clear",
    "section:",
    "clipboard:",
];

/// The highest terminal number (`execute-N`, `terminal=N`, `session: N`).
pub(crate) const MAX_TERMINAL: u32 = 99;

/// Characters that do not show, or reorder what is shown (zero-width, bidi
/// controls): a step name holding one is not the name the reader sees.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}' | '\u{180E}' | '\u{00AD}')
        || c.is_control()
}

/// Classifies an info word (the text before attributes).
pub(crate) fn role(word: &str) -> FenceRole {
    use BodyFormat::*;
    use FenceRole::Step as S;
    let step = |kind, terminal, body| S {
        kind,
        terminal,
        body,
    };
    match word {
        "execute" | "execute-1" => step(StepKind::Execute, TerminalSel::One(1), Script),
        "execute-all" => step(StepKind::Execute, TerminalSel::All, Script),
        "terminal:execute" => step(StepKind::Execute, TerminalSel::One(1), EducatesCommand),
        "terminal:execute-all" => step(StepKind::Execute, TerminalSel::All, EducatesCommand),
        "terminal:interrupt" => step(StepKind::Interrupt, TerminalSel::One(1), EducatesInterrupt),
        "terminal:interrupt-all" => step(StepKind::Interrupt, TerminalSel::All, EducatesInterrupt),
        "examiner:execute-test" => step(StepKind::Check, TerminalSel::None, Examiner),
        "sh" | "bash" | "shell" => FenceRole::MaybeShell,
        "verify" => FenceRole::Verify,
        "output" => FenceRole::Output { strict: true },
        "" | "text" | "console" | "json" => FenceRole::Output { strict: false },
        w if MANUAL_EXACT.contains(&w) || MANUAL_PREFIXES.iter().any(|p| w.starts_with(p)) => {
            step(StepKind::Manual, TerminalSel::None, Manual)
        }
        w => match w
            .strip_prefix("execute-")
            .and_then(|n| n.parse::<u32>().ok())
        {
            Some(n) if (1..=MAX_TERMINAL).contains(&n) => {
                step(StepKind::Execute, TerminalSel::One(n), Script)
            }
            _ => FenceRole::Prose,
        },
    }
}

/// labctl's own step attributes.
pub(crate) const STEP_KEYS: &[&str] = &[
    "name",
    "timeout",
    "within",
    "interval",
    "exit",
    "background",
    "skip",
    "terminal",
];
/// Attributes of output fences.
pub(crate) const OUTPUT_KEYS: &[&str] = &["stream"];
/// Runme's attributes, accepted on `sh`/`bash`/`shell` fences so READMEs run unchanged.
pub(crate) const RUNME_KEYS: &[&str] = &[
    "exec",
    "id",
    "interactive",
    "cwd",
    "excludeFromRunAll",
    "closeTerminalOnSuccess",
    "promptEnv",
    "mimeType",
    "terminalRows",
    "category",
    "interpreter",
    "tag",
    "skipPrompts",
];

/// One attribute with where its key sits in the info string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Attribute {
    /// The key as written (Runme's camelCase kept).
    pub key: String,
    /// The value (strings stay strings; JSON keeps its types).
    pub value: Value,
    /// Byte offset of the key within the info string.
    pub offset: usize,
}

/// An info string split into its word and attributes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InfoString {
    /// The first word.
    pub word: String,
    /// Attributes in order.
    pub attributes: Vec<Attribute>,
    /// How the attributes were written.
    pub syntax: AttributeSyntax,
}

/// How a fence's attributes are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttributeSyntax {
    /// `{key=value flag}`, or no attributes at all.
    KeyValue,
    /// `{"key": "value"}`: how Runme saves a cell, so a shell fence written so is a cell to run.
    Json,
}

impl InfoString {
    /// The word alone, with no attributes.
    pub(crate) fn bare(word: String) -> Self {
        InfoString {
            word,
            attributes: Vec::new(),
            syntax: AttributeSyntax::KeyValue,
        }
    }

    /// What a `sh`/`bash`/`shell` fence is: a step when its `exec` attribute says so, when it
    /// is a Runme cell (JSON attributes) or under `--shell-blocks`; `exec=false` keeps it prose.
    pub(crate) fn shell_role(&self, shell_blocks: bool) -> FenceRole {
        let exec = self
            .attributes
            .iter()
            .find(|a| a.key == "exec")
            .map(|a| truthy(&a.value) != Some(false));
        let runme_cell = self.syntax == AttributeSyntax::Json && !self.attributes.is_empty();
        if exec.unwrap_or(shell_blocks || runme_cell) {
            FenceRole::Step {
                kind: StepKind::Execute,
                terminal: TerminalSel::One(1),
                body: BodyFormat::Script,
            }
        } else {
            FenceRole::Prose
        }
    }
}

/// A malformed info string: what and where (byte offset in the info string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InfoError {
    /// What is wrong.
    pub message: String,
    /// Byte offset in the info string.
    pub offset: usize,
}

/// Splits `execute-2 {name=x timeout="30s"}` or `sh {"name": "x"}`.
pub(crate) fn parse_info(info: &str) -> Result<InfoString, InfoError> {
    let word_end = info
        .find(|c: char| c.is_whitespace() || c == '{')
        .unwrap_or(info.len());
    let word = info[..word_end].to_string();
    let rest = &info[word_end..];
    let lead = rest.len() - rest.trim_start().len();
    let rest_t = rest.trim();
    let base = word_end + lead;
    if rest_t.is_empty() {
        return Ok(InfoString::bare(word));
    }
    if !rest_t.starts_with('{') {
        // Other tools put free text after the word (```console $ or a title); keep it as prose.
        return Ok(InfoString::bare(word));
    }
    if !rest_t.ends_with('}') {
        return Err(InfoError {
            message: "attributes start with `{` but do not end with `}`".into(),
            offset: base,
        });
    }
    let inner = &rest_t[1..rest_t.len() - 1];
    let inner_base = base + 1;
    if inner.trim_start().starts_with('"') {
        return parse_json_attributes(rest_t, base).map(|attributes| InfoString {
            word,
            attributes,
            syntax: AttributeSyntax::Json,
        });
    }
    parse_kv_attributes(inner, inner_base).map(|attributes| InfoString {
        word,
        attributes,
        syntax: AttributeSyntax::KeyValue,
    })
}

fn parse_json_attributes(text: &str, base: usize) -> Result<Vec<Attribute>, InfoError> {
    let map: serde_json::Map<String, Value> =
        serde_json::from_str(text).map_err(|e| InfoError {
            message: format!("attributes are not valid JSON: {e}"),
            offset: base + e.column().saturating_sub(1),
        })?;
    Ok(map
        .into_iter()
        .map(|(key, value)| {
            let offset = text
                .find(&format!("\"{key}\""))
                .map(|o| base + o + 1)
                .unwrap_or(base);
            Attribute { key, value, offset }
        })
        .collect())
}

fn parse_kv_attributes(inner: &str, base: usize) -> Result<Vec<Attribute>, InfoError> {
    let bytes = inner.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b',') {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let key_start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && bytes[i] != b'='
            && bytes[i] != b','
        {
            i += 1;
        }
        let key = inner[key_start..i].to_string();
        if key.is_empty() {
            return Err(InfoError {
                message: "an attribute needs a name before `=`".into(),
                offset: base + key_start,
            });
        }
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            let value;
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let q = bytes[i];
                let start = i + 1;
                let Some(len) = inner[start..].find(q as char) else {
                    return Err(InfoError {
                        message: format!("the value of `{key}` opens a quote that is never closed"),
                        offset: base + i,
                    });
                };
                value = inner[start..start + len].to_string();
                i = start + len + 1;
            } else {
                let start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b',' {
                    i += 1;
                }
                value = inner[start..i].to_string();
            }
            out.push(Attribute {
                key,
                value: Value::String(value),
                offset: base + key_start,
            });
        } else {
            // A bare key is a flag: `{background}` means background=true.
            out.push(Attribute {
                key,
                value: Value::Bool(true),
                offset: base + key_start,
            });
        }
    }
    Ok(out)
}

/// Reads a boolean attribute written as JSON or text.
pub(crate) fn truthy(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" || s == "yes" => Some(true),
        Value::String(s) if s == "false" || s == "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        assert!(matches!(
            role("execute-2"),
            FenceRole::Step {
                terminal: TerminalSel::One(2),
                ..
            }
        ));
        assert!(matches!(
            role("execute-all"),
            FenceRole::Step {
                terminal: TerminalSel::All,
                ..
            }
        ));
        assert!(matches!(
            role("editor:append-lines-to-file"),
            FenceRole::Step {
                kind: StepKind::Manual,
                ..
            }
        ));
        assert_eq!(role("yaml"), FenceRole::Prose);
        assert_eq!(role("output"), FenceRole::Output { strict: true });
    }

    #[test]
    fn kv_attributes_with_quotes() {
        let i = parse_info("execute {name=apply-egress timeout=\"30 s\" background}").unwrap();
        assert_eq!(i.word, "execute");
        assert_eq!(i.attributes[0].key, "name");
        assert_eq!(i.attributes[1].value, Value::String("30 s".into()));
        assert_eq!(i.attributes[2].value, Value::Bool(true));
        assert_eq!(
            &"execute {name=apply-egress timeout=\"30 s\" background}"[i.attributes[1].offset..]
                [..7],
            "timeout"
        );
    }

    #[test]
    fn json_attributes() {
        let i = parse_info("sh {\"name\": \"x\", \"exec\": true}").unwrap();
        assert_eq!(i.word, "sh");
        assert_eq!(i.attributes.len(), 2);
    }

    #[test]
    fn unclosed_attributes() {
        assert!(parse_info("execute {name=x").is_err());
    }
}
