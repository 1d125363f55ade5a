//! Typed checks parsed from `verify` blocks: every mistake (unknown key, a check
//! that asserts nothing, a bad JSONPath or regex) surfaces here, before anything runs.

use std::fmt;
use std::time::Duration;

use jsonpath_rust::parser::model::JpQuery;
use regex::Regex;
use serde_json::{Map, Value};

use super::model::{ExpectedExit, Timing};
use crate::diag::Code;

/// One check as written, typed, with where it came from.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    /// 1-based line of the check's `- ` item in the page.
    pub line: usize,
    /// The check as parsed from YAML, variables unfilled (re-typed after substitution).
    pub raw: Value,
    /// Retry timing (`within`, `interval`, `hold`).
    pub timing: Timing,
    /// What it asserts.
    pub kind: CheckKind,
    /// `hint:`: one line for the student, shown when the check fails.
    pub hint: Option<String>,
}

/// The kinds of check.
#[derive(Debug, Clone)]
pub enum CheckKind {
    /// The step's exit status.
    Exit(ExpectedExit),
    /// The step's stdout or stderr text.
    Text {
        /// Which stream.
        stream: TextStream,
        /// What must hold.
        preds: Vec<Predicate>,
    },
    /// A JSONPath over the step's stdout parsed as JSON.
    Json(JsonAssert),
    /// An HTTP request made by labctl.
    Http(HttpCheck),
    /// A Kubernetes resource.
    Kube(KubeCheck),
    /// A read-only shell command.
    Command(CommandCheck),
}

impl CheckKind {
    /// Short name of the kind, as in reports.
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Exit(_) => "exit",
            CheckKind::Text {
                stream: TextStream::Stdout,
                ..
            } => "stdout",
            CheckKind::Text {
                stream: TextStream::Stderr,
                ..
            } => "stderr",
            CheckKind::Json(_) => "json",
            CheckKind::Http(_) => "http",
            CheckKind::Kube(_) => "kube",
            CheckKind::Command(_) => "command",
        }
    }

    /// State checks ask the world and can run alone; output checks judge a step's try.
    pub fn is_state(&self) -> bool {
        matches!(
            self,
            CheckKind::Http(_) | CheckKind::Kube(_) | CheckKind::Command(_)
        )
    }
}

/// stdout or stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// A compiled JSONPath with its text.
#[derive(Debug, Clone)]
pub struct JsonQuery {
    /// As written.
    pub text: String,
    /// Compiled.
    pub query: std::sync::Arc<JpQuery>,
}

/// `json: PATH` plus operators.
#[derive(Debug, Clone)]
pub struct JsonAssert {
    /// The path.
    pub path: JsonQuery,
    /// What must hold of the nodes it selects.
    pub preds: Vec<Predicate>,
}

/// A compiled regex with its text.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// As written.
    pub text: String,
    /// Compiled in multi-line mode; shared, since a cloned Regex allocates its own cache pool.
    pub regex: std::sync::Arc<Regex>,
}

/// `count: N` or `count: {min, max}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountSpec {
    /// At least.
    pub min: Option<u64>,
    /// At most.
    pub max: Option<u64>,
}

/// One operator.
#[derive(Debug, Clone)]
pub enum Predicate {
    /// Typed equality.
    Equals(Value),
    /// Typed inequality.
    NotEquals(Value),
    /// Substring (text) or element (array).
    Contains(String),
    /// Not a substring.
    NotContains(String),
    /// Regex search.
    Matches(Pattern),
    /// Equal to one of these.
    OneOf(Vec<Value>),
    /// Numeric comparisons.
    Gt(f64),
    /// Greater or equal.
    Gte(f64),
    /// Less than.
    Lt(f64),
    /// Less or equal.
    Lte(f64),
    /// The path selects something (`true`) or nothing (`false`).
    Exists(bool),
    /// The path selects nothing (`true`).
    Absent(bool),
    /// Empty string/array/object (`true`) or not (`false`).
    Empty(bool),
    /// Number of nodes selected.
    Count(CountSpec),
    /// Every node satisfies these.
    Each(Vec<Predicate>),
    /// At least one node satisfies these.
    Any(Vec<Predicate>),
    /// No node satisfies these.
    None(Vec<Predicate>),
}

impl Predicate {
    /// Judges the node list rather than a single value.
    pub fn is_list_predicate(&self) -> bool {
        matches!(
            self,
            Predicate::Exists(_)
                | Predicate::Absent(_)
                | Predicate::Count(_)
                | Predicate::Each(_)
                | Predicate::Any(_)
                | Predicate::None(_)
        )
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |ps: &[Predicate]| {
            ps.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(" and ")
        };
        match self {
            Predicate::Equals(v) => write!(f, "equals {}", show(v)),
            Predicate::NotEquals(v) => write!(f, "not-equals {}", show(v)),
            Predicate::Contains(s) => write!(f, "contains {s:?}"),
            Predicate::NotContains(s) => write!(f, "not-contains {s:?}"),
            Predicate::Matches(p) => write!(f, "matches /{}/", p.text),
            Predicate::OneOf(vs) => write!(
                f,
                "one-of [{}]",
                vs.iter().map(show).collect::<Vec<_>>().join(", ")
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

/// `http: URL` and what its reply must show.
#[derive(Debug, Clone)]
pub struct HttpCheck {
    /// The URL (variables filled at plan time).
    pub url: String,
    /// GET unless given.
    pub method: String,
    /// Expected status.
    pub status: Option<u16>,
    /// Header name → predicates on its value.
    pub headers: Vec<(String, Vec<Predicate>)>,
    /// Predicates on the body text.
    pub body: Vec<Predicate>,
    /// A JSONPath over the body.
    pub json: Option<JsonAssert>,
    /// `ca:`, `cert:`, `key:`: PEM files (relative to the working directory) to judge TLS
    /// as `curl --cacert --cert --key` would.
    pub tls: HttpTls,
}

/// The TLS files of an `http:` check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpTls {
    /// CA certificate(s) to trust besides none other.
    pub ca: Option<String>,
    /// Client certificate.
    pub cert: Option<String>,
    /// The client certificate's key.
    pub key: Option<String>,
}

/// `kube: apiVersion/Kind` and what the object(s) must show.
#[derive(Debug, Clone)]
pub struct KubeCheck {
    /// e.g. `networking.istio.io/v1alpha3` or `v1`.
    pub api_version: String,
    /// e.g. `ServiceEntry`.
    pub kind: String,
    /// Object name.
    pub name: Option<String>,
    /// Namespace (default: the context's).
    pub namespace: Option<String>,
    /// Label selector.
    pub selector: Option<String>,
    /// Expected number of selected objects.
    pub count: Option<CountSpec>,
    /// Subset the object must contain.
    pub fields: Option<Value>,
    /// A JSONPath over the object.
    pub json: Option<JsonAssert>,
    /// The object must not exist.
    pub absent: bool,
    /// A status condition that must be True, e.g. `Ready`.
    pub condition: Option<String>,
}

/// `command: SCRIPT` and what it must show.
#[derive(Debug, Clone)]
pub struct CommandCheck {
    /// The script.
    pub script: String,
    /// Expected exit (default 0).
    pub exit: ExpectedExit,
    /// Predicates on stdout.
    pub stdout: Vec<Predicate>,
    /// Predicates on stderr.
    pub stderr: Vec<Predicate>,
    /// A JSONPath over stdout.
    pub json: Option<JsonAssert>,
}

/// A check that could not be parsed: what is wrong and which text to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Stable code for lint.
    pub code: Code,
    /// What is wrong.
    pub message: String,
    /// Text in the block to put the caret under.
    pub near: Option<String>,
    /// Column offset into `near` where the problem is.
    pub near_offset: usize,
    /// What to do.
    pub help: Option<String>,
}

impl SpecError {
    fn new(code: Code, message: impl Into<String>) -> Self {
        SpecError {
            code,
            message: message.into(),
            near: None,
            near_offset: 0,
            help: None,
        }
    }
    fn near(mut self, text: &str) -> Self {
        self.near = Some(text.to_string());
        self
    }
    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

const TIMING_KEYS: &[&str] = &["within", "interval", "hold", "hint"];
const VALUE_OPS: &[&str] = &[
    "equals",
    "not-equals",
    "contains",
    "not-contains",
    "matches",
    "one-of",
    "gt",
    "gte",
    "lt",
    "lte",
    "empty",
];
const LIST_OPS: &[&str] = &["exists", "absent", "count", "each", "any", "none"];

/// The closest known key, for "did you mean".
pub fn nearest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(word, k), k))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

fn unknown_key(key: &str, known: &[&str], context: &str) -> SpecError {
    let mut e = SpecError::new(
        Code::VerifySchema,
        format!("unknown key `{key}` in {context}"),
    )
    .near(key);
    e.help = Some(match nearest(key, known.iter().copied()) {
        Some(k) => format!("did you mean `{k}`?"),
        None => format!("known keys: {}", known.join(", ")),
    });
    e
}

/// Parses a duration such as `30s`, `2m`, `1m30s`, `500ms` or a bare number of seconds.
pub fn parse_duration(v: &Value) -> Result<Duration, String> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|f| *f >= 0.0 && f.is_finite())
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("`{n}` is not a duration")),
        Value::String(s) => parse_duration_str(s),
        other => Err(format!("`{other}` is not a duration; write e.g. 30s or 2m")),
    }
}

/// Parses a duration string (`30s`, `2m`, `1m30s`, `500ms`, `10`).
pub fn parse_duration_str(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if let Ok(secs) = t.parse::<f64>()
        && secs >= 0.0
        && secs.is_finite()
    {
        return Ok(Duration::from_secs_f64(secs));
    }
    humantime::parse_duration(t)
        .map_err(|_| format!("`{s}` is not a duration; write e.g. 30s, 2m or 1m30s"))
}

/// Compiles a regex in multi-line mode; the error names the column of the bad character.
pub fn compile_regex(text: &str) -> Result<Pattern, SpecError> {
    // Workshops repeat the same patterns step after step; a compiled Regex is
    // cheap to clone (shared), so compile each distinct pattern once.
    type Cache = std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<Regex>>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(regex) = cache.lock().ok().and_then(|c| c.get(text).cloned()) {
        return Ok(Pattern {
            text: text.to_string(),
            regex,
        });
    }
    match regex::RegexBuilder::new(text).multi_line(true).build() {
        Ok(regex) => {
            let regex = std::sync::Arc::new(regex);
            if let Ok(mut c) = cache.lock() {
                c.insert(text.to_string(), regex.clone());
            }
            Ok(Pattern {
                text: text.to_string(),
                regex,
            })
        }
        Err(err) => {
            let msg = err.to_string();
            // regex renders "    PATTERN\n    ^^^\nerror: WHAT"; take the caret column and the last line.
            let lines: Vec<&str> = msg.lines().collect();
            let caret = lines
                .iter()
                .find(|l| {
                    l.trim_start().starts_with('^')
                        && l.trim().chars().all(|c| c == '^' || c == '-')
                })
                .map(|l| l.find('^').unwrap_or(4).saturating_sub(4))
                .unwrap_or(0);
            let what = lines
                .iter()
                .rev()
                .find(|l| l.starts_with("error:"))
                .map(|l| l.trim_start_matches("error:").trim());
            let mut e = SpecError::new(
                Code::BadRegex,
                format!("invalid regex: {}", what.unwrap_or(&msg)),
            )
            .near(text);
            e.near_offset = caret;
            Err(e.help(
                "regexes use Rust regex syntax (like RE2); escape special characters with \\",
            ))
        }
    }
}

/// Compiles a JSONPath (RFC 9535); the error names the column of the bad character.
pub fn compile_jsonpath(text: &str) -> Result<JsonQuery, SpecError> {
    // As with regexes: the same paths recur across steps; parse each once.
    type Cache = std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<JpQuery>>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(query) = cache.lock().ok().and_then(|c| c.get(text).cloned()) {
        return Ok(JsonQuery {
            text: text.to_string(),
            query,
        });
    }
    match jsonpath_rust::parser::parse_json_path(text) {
        Ok(query) => {
            let query = std::sync::Arc::new(query);
            if let Ok(mut c) = cache.lock() {
                c.insert(text.to_string(), query.clone());
            }
            Ok(JsonQuery {
                text: text.to_string(),
                query,
            })
        }
        Err(err) => {
            let mut offset = 0;
            let mut what = err.to_string();
            if let jsonpath_rust::parser::errors::JsonPathError::PestError(pe) = &err {
                offset = match pe.location {
                    pest::error::InputLocation::Pos(p) => p,
                    pest::error::InputLocation::Span((a, _)) => a,
                };
                what = format!("unexpected text at column {}", offset + 1);
            }
            let mut e = SpecError::new(
                Code::BadJsonpath,
                format!("invalid JSONPath `{text}`: {what}"),
            )
            .near(text);
            e.near_offset = offset;
            Err(e.help(
                "JSONPath starts with `$`, e.g. `$.oops.cause.code` or `$[*].link` (RFC 9535)",
            ))
        }
    }
}

fn as_str<'a>(v: &'a Value, key: &str) -> Result<&'a str, SpecError> {
    v.as_str().ok_or_else(|| {
        SpecError::new(
            Code::VerifySchema,
            format!("`{key}` needs a string, found `{v}`"),
        )
        .near(key)
    })
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn number(v: &Value, key: &str) -> Result<f64, SpecError> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .ok_or_else(|| {
            SpecError::new(
                Code::VerifySchema,
                format!("`{key}` needs a number, found `{v}`"),
            )
            .near(key)
        })
}

fn boolean(v: &Value, key: &str) -> Result<bool, SpecError> {
    v.as_bool().ok_or_else(|| {
        SpecError::new(
            Code::VerifySchema,
            format!("`{key}` needs true or false, found `{v}`"),
        )
        .near(key)
    })
}

fn count_spec(v: &Value) -> Result<CountSpec, SpecError> {
    let int = |v: &Value, k: &str| {
        v.as_u64().ok_or_else(|| {
            SpecError::new(
                Code::VerifySchema,
                format!("`{k}` needs a whole number, found `{v}`"),
            )
            .near("count")
        })
    };
    match v {
        Value::Number(_) => {
            let n = int(v, "count")?;
            Ok(CountSpec {
                min: Some(n),
                max: Some(n),
            })
        }
        Value::Object(m) => {
            let mut c = CountSpec {
                min: None,
                max: None,
            };
            for (k, val) in m {
                match k.as_str() {
                    "min" => c.min = Some(int(val, "min")?),
                    "max" => c.max = Some(int(val, "max")?),
                    other => return Err(unknown_key(other, &["min", "max"], "count")),
                }
            }
            if c.min.is_none() && c.max.is_none() {
                return Err(SpecError::new(
                    Code::CheckAssertsNothing,
                    "`count` needs a number or {min, max}",
                )
                .near("count"));
            }
            Ok(c)
        }
        other => Err(SpecError::new(
            Code::VerifySchema,
            format!("`count` needs a number or {{min, max}}, found `{other}`"),
        )
        .near("count")),
    }
}

/// Parses one operator `key: value` (None when `key` is not an operator).
fn predicate(key: &str, v: &Value) -> Result<Option<Predicate>, SpecError> {
    let nested = |v: &Value, key: &str| operator_map(v, key, "matches: '^https://'");
    Ok(Some(match key {
        "equals" => Predicate::Equals(v.clone()),
        "not-equals" => Predicate::NotEquals(v.clone()),
        "contains" => Predicate::Contains(text_of(v)),
        "not-contains" => Predicate::NotContains(text_of(v)),
        "matches" => Predicate::Matches(compile_regex(as_str(v, key)?)?),
        "one-of" => Predicate::OneOf(v.as_array().cloned().ok_or_else(|| {
            SpecError::new(Code::VerifySchema, "`one-of` needs a list").near(key)
        })?),
        "gt" => Predicate::Gt(number(v, key)?),
        "gte" => Predicate::Gte(number(v, key)?),
        "lt" => Predicate::Lt(number(v, key)?),
        "lte" => Predicate::Lte(number(v, key)?),
        "exists" => Predicate::Exists(boolean(v, key)?),
        "absent" => Predicate::Absent(boolean(v, key)?),
        "empty" => Predicate::Empty(boolean(v, key)?),
        "count" => Predicate::Count(count_spec(v)?),
        "each" => Predicate::Each(nested(v, key)?),
        "any" => Predicate::Any(nested(v, key)?),
        "none" => Predicate::None(nested(v, key)?),
        _ => return Ok(None),
    }))
}

/// A map of value operators (`{contains: X, matches: Y}`); `example` shows the form.
fn operator_map(v: &Value, key: &str, example: &str) -> Result<Vec<Predicate>, SpecError> {
    let m = v.as_object().ok_or_else(|| {
        SpecError::new(
            Code::VerifySchema,
            format!("`{key}` needs operators, e.g. {key}: {{ {example} }}"),
        )
        .near(key)
    })?;
    let mut ps = Vec::new();
    for (k, val) in m {
        if !VALUE_OPS.contains(&k.as_str()) {
            return Err(unknown_key(k, VALUE_OPS, key));
        }
        ps.extend(predicate(k, val)?);
    }
    if ps.is_empty() {
        return Err(SpecError::new(
            Code::CheckAssertsNothing,
            format!("`{key}` lists no operator"),
        )
        .near(key));
    }
    Ok(ps)
}

/// Text predicates: `{contains: X}` etc.; a bare string means `equals`.
fn text_preds(v: &Value, key: &str) -> Result<Vec<Predicate>, SpecError> {
    if let Value::String(s) = v {
        return Ok(vec![Predicate::Equals(Value::String(s.clone()))]);
    }
    operator_map(v, key, "contains: text")
}

fn expected_exit(v: &Value) -> Result<ExpectedExit, SpecError> {
    parse_exit(v).map_err(|m| SpecError::new(Code::VerifySchema, m).near("exit"))
}

/// Parses `exit`: a number, `any` or `nonzero`.
/// A process exit status: 0 to 255 (a shell reports 256 as 0, -1 as 255).
fn exit_code(c: i64) -> Option<ExpectedExit> {
    (0..=255)
        .contains(&c)
        .then_some(ExpectedExit::Code(c as i32))
}

pub fn parse_exit(v: &Value) -> Result<ExpectedExit, String> {
    match v {
        Value::Number(n) => n.as_i64().and_then(exit_code).ok_or_else(|| {
            format!("`exit: {n}` is not an exit status; statuses run from 0 to 255")
        }),
        Value::String(s) if s == "any" => Ok(ExpectedExit::Any),
        Value::String(s) if s == "nonzero" => Ok(ExpectedExit::Nonzero),
        Value::String(s) => s.parse::<i64>().ok().and_then(exit_code).ok_or_else(|| {
            format!(
                "`exit: {s}` is not an exit status; write a number from 0 to 255, any or nonzero"
            )
        }),
        other => Err(format!(
            "`exit: {other}` is not an exit status; write a number, any or nonzero"
        )),
    }
}

/// Splits the JSON part (`json` + operators) out of a check map.
fn json_assert(
    m: &Map<String, Value>,
    used: &mut Vec<&'static str>,
) -> Result<Option<JsonAssert>, SpecError> {
    let Some(path) = m.get("json") else {
        return Ok(None);
    };
    used.push("json");
    let path = compile_jsonpath(as_str(path, "json")?)?;
    let mut preds = Vec::new();
    for op in VALUE_OPS.iter().chain(LIST_OPS) {
        if let Some(v) = m.get(*op) {
            used.push(op);
            preds.extend(predicate(op, v)?);
        }
    }
    if preds.is_empty() {
        return Err(SpecError::new(
            Code::CheckAssertsNothing,
            format!("`json: {}` asserts nothing", path.text),
        )
        .near("json")
        .help("add an operator: equals, contains, matches, exists, count, each/any/none ..."));
    }
    Ok(Some(JsonAssert { path, preds }))
}

fn timing(m: &Map<String, Value>) -> Result<Timing, SpecError> {
    let d = |k: &str| -> Result<Option<Duration>, SpecError> {
        m.get(k)
            .map(|v| parse_duration(v).map_err(|e| SpecError::new(Code::VerifySchema, e).near(k)))
            .transpose()
    };
    Ok(Timing {
        within: d("within")?,
        interval: d("interval")?,
        hold: d("hold")?,
    })
}

/// The check's `hint:`, if any (`parse_check` has already refused a hint that is not text).
pub fn hint_of(v: &Value) -> Option<String> {
    v.get("hint")
        .and_then(Value::as_str)
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// Parses one check (a YAML map already turned into JSON).
pub fn parse_check(v: &Value) -> Result<(CheckKind, Timing), SpecError> {
    let m = v.as_object().ok_or_else(|| {
        SpecError::new(
            Code::VerifySchema,
            format!("a check must be a map such as `- exit: 0`, found `{v}`"),
        )
    })?;
    // State checks lead: `command:` may carry `exit`/`stdout`, `http:` and `kube:` carry `json`.
    let kinds = [
        "http", "kube", "command", "exit", "stdout", "stderr", "json",
    ];
    let head = kinds.iter().find(|k| m.contains_key(**k));
    let Some(head) = head else {
        let first = m.keys().next().cloned().unwrap_or_default();
        return Err(
            unknown_key(&first, &kinds, "a check").help(match nearest(&first, kinds) {
                Some(k) => format!(
                    "did you mean `{k}`? a check starts with one of: {}",
                    kinds.join(", ")
                ),
                None => format!("a check starts with one of: {}", kinds.join(", ")),
            }),
        );
    };
    let own: &[&str] = match *head {
        "exit" => &["exit"],
        "stdout" => &["stdout"],
        "stderr" => &["stderr"],
        "json" => &["json"],
        "http" => &[
            "http", "method", "status", "headers", "body", "json", "ca", "cert", "key",
        ],
        "kube" => &[
            "kube",
            "name",
            "namespace",
            "selector",
            "count",
            "fields",
            "absent",
            "condition",
            "json",
        ],
        _ => &["command", "exit", "stdout", "stderr", "json"],
    };
    let takes_ops = own.contains(&"json");
    let allowed: Vec<&str> = own
        .iter()
        .chain(TIMING_KEYS)
        .chain(if takes_ops {
            VALUE_OPS.iter().chain(LIST_OPS)
        } else {
            [].iter().chain(&[])
        })
        .copied()
        .collect();
    for key in m.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(unknown_key(key, &allowed, &format!("a `{head}` check")));
        }
        let kube_own = *head == "kube" && matches!(key.as_str(), "absent" | "count");
        let is_op =
            !own.contains(&key.as_str()) && !TIMING_KEYS.contains(&key.as_str()) && !kube_own;
        if takes_ops && is_op && !m.contains_key("json") {
            return Err(SpecError::new(
                Code::VerifySchema,
                format!("`{key}` needs a `json:` path to apply to"),
            )
            .near(key));
        }
    }
    let timing = timing(m)?;
    if let Some(h) = m.get("hint") {
        as_str(h, "hint")?;
    }
    let mut used: Vec<&'static str> = TIMING_KEYS.to_vec();
    let kind = match *head {
        "exit" => {
            used.push("exit");
            CheckKind::Exit(expected_exit(&m["exit"])?)
        }
        "stdout" | "stderr" => {
            let stream = if *head == "stdout" {
                TextStream::Stdout
            } else {
                TextStream::Stderr
            };
            used.push(if *head == "stdout" {
                "stdout"
            } else {
                "stderr"
            });
            CheckKind::Text {
                stream,
                preds: text_preds(&m[*head], head)?,
            }
        }
        "json" => CheckKind::Json(json_assert(m, &mut used)?.expect("json key present")),
        "http" => {
            used.extend([
                "http", "method", "status", "headers", "body", "ca", "cert", "key",
            ]);
            let url = as_str(&m["http"], "http")?.to_string();
            let status = m
                .get("status")
                .map(|s| {
                    s.as_u64()
                        .filter(|n| (100..600).contains(n))
                        .map(|n| n as u16)
                        .ok_or_else(|| {
                            SpecError::new(
                                Code::VerifySchema,
                                format!("`status: {s}` is not an HTTP status"),
                            )
                            .near("status")
                        })
                })
                .transpose()?;
            let mut headers = Vec::new();
            if let Some(h) = m.get("headers") {
                let hm = h.as_object().ok_or_else(|| {
                    SpecError::new(Code::VerifySchema, "`headers` needs a map of name: value")
                        .near("headers")
                })?;
                for (name, hv) in hm {
                    headers.push((name.to_ascii_lowercase(), text_preds(hv, name)?));
                }
            }
            let body = m
                .get("body")
                .map(|b| text_preds(b, "body"))
                .transpose()?
                .unwrap_or_default();
            let json = json_assert(m, &mut used)?;
            if status.is_none() && headers.is_empty() && body.is_empty() && json.is_none() {
                return Err(SpecError::new(
                    Code::CheckAssertsNothing,
                    format!("`http: {url}` asserts nothing"),
                )
                .near("http")
                .help(
                    "add `status: 200`, `body: {contains: ...}` or `json: $... ` with an operator",
                ));
            }
            let method = m
                .get("method")
                .map(|v| as_str(v, "method").map(str::to_ascii_uppercase))
                .transpose()?
                .unwrap_or_else(|| "GET".into());
            let file = |k: &str| {
                m.get(k)
                    .map(|v| as_str(v, k).map(str::to_string))
                    .transpose()
            };
            let tls = HttpTls {
                ca: file("ca")?,
                cert: file("cert")?,
                key: file("key")?,
            };
            if tls.cert.is_some() != tls.key.is_some() {
                return Err(SpecError::new(
                    Code::VerifySchema,
                    "`cert:` and `key:` go together (a client certificate and its key)",
                )
                .near(if tls.cert.is_some() { "cert" } else { "key" }));
            }
            CheckKind::Http(HttpCheck {
                url,
                method,
                status,
                headers,
                body,
                json,
                tls,
            })
        }
        "kube" => {
            used.extend([
                "kube",
                "name",
                "namespace",
                "selector",
                "count",
                "fields",
                "absent",
                "condition",
            ]);
            let gvk = as_str(&m["kube"], "kube")?;
            let (api_version, kind) = gvk.rsplit_once('/').filter(|(a, k)| !a.is_empty() && !k.is_empty()).ok_or_else(|| {
                SpecError::new(Code::VerifySchema, format!("`kube: {gvk}` must be apiVersion/Kind"))
                    .near(gvk)
                    .help("e.g. `kube: v1/ConfigMap` or `kube: networking.istio.io/v1alpha3/ServiceEntry`")
            })?;
            let s = |k: &str| {
                m.get(k)
                    .map(|v| as_str(v, k).map(str::to_string))
                    .transpose()
            };
            let absent = m
                .get("absent")
                .map(|v| boolean(v, "absent"))
                .transpose()?
                .unwrap_or(false);
            let name = s("name")?;
            let selector = s("selector")?;
            if name.is_some() && selector.is_some() {
                return Err(SpecError::new(
                    Code::VerifySchema,
                    "a kube check takes `name` or `selector`, not both",
                )
                .near("selector"));
            }
            let count = m.get("count").map(count_spec).transpose()?;
            if count.is_some() && name.is_some() {
                return Err(SpecError::new(
                    Code::VerifySchema,
                    "`count` goes with `selector`, not `name`",
                )
                .near("count"));
            }
            let mut json_used = Vec::new();
            let json = json_assert(m, &mut json_used)?;
            used.extend(json_used.into_iter().filter(|k| *k != "count"));
            if name.is_none() && selector.is_none() {
                return Err(SpecError::new(
                    Code::VerifySchema,
                    format!("`kube: {gvk}` needs `name` or `selector`"),
                )
                .near("kube"));
            }
            CheckKind::Kube(KubeCheck {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                name,
                namespace: s("namespace")?,
                selector,
                count,
                fields: m.get("fields").cloned(),
                json,
                absent,
                condition: s("condition")?,
            })
        }
        "command" => {
            used.extend(["command", "exit", "stdout", "stderr"]);
            let script = as_str(&m["command"], "command")?.to_string();
            let exit = m
                .get("exit")
                .map(expected_exit)
                .transpose()?
                .unwrap_or(ExpectedExit::Code(0));
            let stdout = m
                .get("stdout")
                .map(|v| text_preds(v, "stdout"))
                .transpose()?
                .unwrap_or_default();
            let stderr = m
                .get("stderr")
                .map(|v| text_preds(v, "stderr"))
                .transpose()?
                .unwrap_or_default();
            let json = json_assert(m, &mut used)?;
            CheckKind::Command(CommandCheck {
                script,
                exit,
                stdout,
                stderr,
                json,
            })
        }
        _ => unreachable!("head is one of the kinds"),
    };
    for key in m.keys() {
        if !used.contains(&key.as_str()) {
            return Err(unknown_key(key, &used, &format!("a `{head}` check")));
        }
    }
    Ok((kind, timing))
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

impl CheckKind {
    /// A one-line description, as in reports: `$.oops.cause.code equals ECONNRESET`.
    pub fn describe(&self) -> String {
        match self {
            CheckKind::Exit(e) => format!("exit status is {e}"),
            CheckKind::Text { stream, preds } => {
                format!(
                    "{} {}",
                    if *stream == TextStream::Stdout {
                        "stdout"
                    } else {
                        "stderr"
                    },
                    join_preds(preds)
                )
            }
            CheckKind::Json(j) => j.describe(),
            CheckKind::Http(h) => {
                let mut parts = Vec::new();
                if let Some(s) = h.status {
                    parts.push(format!("status {s}"));
                }
                for (name, ps) in &h.headers {
                    parts.push(format!("header {name} {}", join_preds(ps)));
                }
                if !h.body.is_empty() {
                    parts.push(format!("body {}", join_preds(&h.body)));
                }
                if let Some(j) = &h.json {
                    parts.push(j.describe());
                }
                format!("{} {}: {}", h.method, h.url, parts.join(", "))
            }
            CheckKind::Kube(k) => {
                let what = match (&k.name, &k.selector) {
                    (Some(n), _) => format!("{} {n}", k.kind),
                    (_, Some(s)) => format!("{} with labels {s}", k.kind),
                    _ => k.kind.clone(),
                };
                let ns = k
                    .namespace
                    .as_ref()
                    .map(|n| format!(" in {n}"))
                    .unwrap_or_default();
                let mut parts = Vec::new();
                if k.absent {
                    parts.push("is absent".to_string());
                }
                if let Some(c) = &k.count {
                    parts.push(Predicate::Count(*c).to_string());
                }
                if let Some(f) = &k.fields {
                    parts.push(format!(
                        "has {}",
                        serde_json::to_string(f).unwrap_or_default()
                    ));
                }
                if let Some(c) = &k.condition {
                    parts.push(format!("is {c}"));
                }
                if let Some(j) = &k.json {
                    parts.push(j.describe());
                }
                if parts.is_empty() {
                    parts.push("exists".into());
                }
                format!("{what}{ns} {}", parts.join(", "))
            }
            CheckKind::Command(c) => {
                let mut parts = vec![format!("exits {}", c.exit)];
                if !c.stdout.is_empty() {
                    parts.push(format!("stdout {}", join_preds(&c.stdout)));
                }
                if !c.stderr.is_empty() {
                    parts.push(format!("stderr {}", join_preds(&c.stderr)));
                }
                if let Some(j) = &c.json {
                    parts.push(j.describe());
                }
                format!("`{}` {}", c.script.trim(), parts.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_check_with_value_operator() {
        let (kind, _) =
            parse_check(&json!({"json": "$.oops.cause.code", "equals": "ECONNRESET"})).unwrap();
        let CheckKind::Json(j) = kind else { panic!() };
        assert_eq!(j.path.text, "$.oops.cause.code");
        assert!(matches!(j.preds[0], Predicate::Equals(_)));
    }

    #[test]
    fn json_without_operator_asserts_nothing() {
        let e = parse_check(&json!({"json": "$.a"})).unwrap_err();
        assert_eq!(e.code, "check-asserts-nothing");
    }

    #[test]
    fn unknown_key_suggests_nearest() {
        let e = parse_check(&json!({"json": "$.a", "equal": 1})).unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `equals`?"));
    }

    #[test]
    fn bad_jsonpath_points_at_column() {
        let e = parse_check(&json!({"json": "$.a[?", "exists": true})).unwrap_err();
        assert_eq!(e.code, "bad-jsonpath");
        assert!(e.near_offset >= 3, "{e:?}");
    }

    #[test]
    fn bad_regex_points_at_column() {
        let e = parse_check(&json!({"stdout": {"matches": "ab(c"}})).unwrap_err();
        assert_eq!(e.code, "bad-regex");
        assert_eq!(e.near_offset, 2);
    }

    #[test]
    fn command_check_with_stdout_and_exit() {
        let (kind, _) = parse_check(
            &json!({"command": "oc get se -o name", "exit": 0, "stdout": {"contains": "egress"}}),
        )
        .unwrap();
        assert!(matches!(kind, CheckKind::Command(_)));
    }

    #[test]
    fn kube_check_parses() {
        let (kind, t) = parse_check(&json!({"kube": "networking.istio.io/v1alpha3/ServiceEntry", "name": "x", "namespace": "user1", "fields": {"spec": {}}, "within": "30s"})).unwrap();
        let CheckKind::Kube(k) = kind else { panic!() };
        assert_eq!(k.api_version, "networking.istio.io/v1alpha3");
        assert_eq!(t.within, Some(Duration::from_secs(30)));
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration_str("1m30s").unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(parse_duration_str("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration_str("soon").is_err());
    }
}
