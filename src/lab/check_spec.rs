//! Typed checks parsed from `verify` blocks: every mistake (unknown key, a check
//! that asserts nothing, a bad JSONPath or regex) surfaces here, before anything runs.

use crate::diag::Code;
use std::time::Duration;

use jsonpath_rust::parser::model::JpQuery;
use regex::Regex;
use serde_json::{Map, Value};

use crate::json_text::to_text;

use super::model::{CheckKind, ExpectedExit, Timing};

mod compile;
mod describe;

pub use compile::{compile_jsonpath, compile_regex};

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
    pub kind: Assertion,
    /// `hint:`: one line for the student, shown when the check fails.
    pub hint: Option<String>,
}

/// What a check asserts, with everything it needs to judge it.
#[derive(Debug, Clone)]
pub enum Assertion {
    /// The step's exit status.
    Exit(ExpectedExit),
    /// The step's stdout or stderr text.
    Text {
        /// The stream it reads.
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

impl Assertion {
    /// Which kind of check this is.
    pub fn kind(&self) -> CheckKind {
        match self {
            Assertion::Exit(_) => CheckKind::Exit,
            Assertion::Text {
                stream: TextStream::Stdout,
                ..
            } => CheckKind::Stdout,
            Assertion::Text {
                stream: TextStream::Stderr,
                ..
            } => CheckKind::Stderr,
            Assertion::Json(_) => CheckKind::Json,
            Assertion::Http(_) => CheckKind::Http,
            Assertion::Kube(_) => CheckKind::Kube,
            Assertion::Command(_) => CheckKind::Command,
        }
    }

    /// Short name of the kind, as in reports.
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// State checks ask the world and can run alone; output checks judge a step's try.
    pub fn is_state(&self) -> bool {
        self.kind().is_state()
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
    /// As written, for reports and diagnostics.
    pub text: String,
    /// Parsed once and shared (see `compile_jsonpath`).
    pub query: std::sync::Arc<JpQuery>,
}

/// `json: PATH` plus operators.
#[derive(Debug, Clone)]
pub struct JsonAssert {
    /// Where in the JSON to look.
    pub path: JsonQuery,
    /// What must hold of the nodes it selects.
    pub preds: Vec<Predicate>,
}

/// A compiled regex with its text.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// As written, for reports and diagnostics.
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
    /// The shell script, run once per try by the engine's script runner (not in a terminal).
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

/// A duration that cannot be read; the wording names the value and how to write one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// A number below zero, or not finite.
    #[error("`{0}` is not a duration")]
    BadNumber(String),
    /// Neither a number nor text.
    #[error("`{0}` is not a duration; write e.g. 30s or 2m")]
    NotText(String),
    /// Text that is no duration.
    #[error("`{0}` is not a duration; write e.g. 30s, 2m or 1m30s")]
    Unreadable(String),
}

/// Parses a duration such as `30s`, `2m`, `1m30s`, `500ms` or a bare number of seconds.
pub fn parse_duration(v: &Value) -> Result<Duration, DurationError> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|f| *f >= 0.0 && f.is_finite())
            .map(Duration::from_secs_f64)
            .ok_or_else(|| DurationError::BadNumber(n.to_string())),
        Value::String(s) => parse_duration_str(s),
        other => Err(DurationError::NotText(other.to_string())),
    }
}

/// Parses a duration string (`30s`, `2m`, `1m30s`, `500ms`, `10`).
pub fn parse_duration_str(s: &str) -> Result<Duration, DurationError> {
    let t = s.trim();
    if let Ok(secs) = t.parse::<f64>()
        && secs >= 0.0
        && secs.is_finite()
    {
        return Ok(Duration::from_secs_f64(secs));
    }
    humantime::parse_duration(t).map_err(|_| DurationError::Unreadable(s.to_string()))
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
        "contains" => Predicate::Contains(to_text(v)),
        "not-contains" => Predicate::NotContains(to_text(v)),
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
    parse_exit(v).map_err(|e| SpecError::new(Code::VerifySchema, e.to_string()).near("exit"))
}

/// An `exit` value that is no exit status; the wording says what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExitError {
    /// A number outside 0..=255.
    #[error("`exit: {0}` is not an exit status; statuses run from 0 to 255")]
    OutOfRange(String),
    /// Text that is neither a number nor `any`/`nonzero`.
    #[error("`exit: {0}` is not an exit status; write a number from 0 to 255, any or nonzero")]
    Unreadable(String),
    /// Neither a number nor text.
    #[error("`exit: {0}` is not an exit status; write a number, any or nonzero")]
    NotText(String),
}

/// A process exit status: 0 to 255 (a shell reports 256 as 0, -1 as 255).
fn exit_code(c: i64) -> Option<ExpectedExit> {
    (0..=255)
        .contains(&c)
        .then_some(ExpectedExit::Code(c as i32))
}

/// Parses `exit`: a number, `any` or `nonzero`.
pub fn parse_exit(v: &Value) -> Result<ExpectedExit, ExitError> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .and_then(exit_code)
            .ok_or_else(|| ExitError::OutOfRange(n.to_string())),
        Value::String(s) if s == "any" => Ok(ExpectedExit::Any),
        Value::String(s) if s == "nonzero" => Ok(ExpectedExit::Nonzero),
        Value::String(s) => s
            .parse::<i64>()
            .ok()
            .and_then(exit_code)
            .ok_or_else(|| ExitError::Unreadable(s.clone())),
        other => Err(ExitError::NotText(other.to_string())),
    }
}

/// Splits the JSON part (`json` + operators) out of a check map.
fn json_assert(m: &Map<String, Value>) -> Result<Option<JsonAssert>, SpecError> {
    let Some(path) = m.get("json") else {
        return Ok(None);
    };
    let path = compile_jsonpath(as_str(path, "json")?)?;
    let mut preds = Vec::new();
    for op in VALUE_OPS.iter().chain(LIST_OPS) {
        if let Some(v) = m.get(*op) {
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
            .map(|v| {
                parse_duration(v)
                    .map_err(|e| SpecError::new(Code::VerifySchema, e.to_string()).near(k))
            })
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

/// The keys a check of each kind takes besides timing (and, when it takes `json`, the
/// operators): the one table both parsing and "unknown key" diagnostics read.
fn own_keys(kind: CheckKind) -> &'static [&'static str] {
    match kind {
        CheckKind::Exit => &["exit"],
        CheckKind::Stdout => &["stdout"],
        CheckKind::Stderr => &["stderr"],
        CheckKind::Json => &["json"],
        CheckKind::Http => &[
            "http", "method", "status", "headers", "body", "json", "ca", "cert", "key",
        ],
        CheckKind::Kube => &[
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
        CheckKind::Command => &["command", "exit", "stdout", "stderr", "json"],
    }
}

/// Parses one check (a YAML map already turned into JSON).
pub fn parse_check(v: &Value) -> Result<(Assertion, Timing), SpecError> {
    let m = v.as_object().ok_or_else(|| {
        SpecError::new(
            Code::VerifySchema,
            format!("a check must be a map such as `- exit: 0`, found `{v}`"),
        )
    })?;
    let kind = leading_kind(m)?;
    check_keys(m, kind)?;
    let timing = timing(m)?;
    if let Some(h) = m.get("hint") {
        as_str(h, "hint")?;
    }
    let assertion = match kind {
        CheckKind::Exit => Assertion::Exit(expected_exit(&m["exit"])?),
        CheckKind::Stdout => Assertion::Text {
            stream: TextStream::Stdout,
            preds: text_preds(&m["stdout"], "stdout")?,
        },
        CheckKind::Stderr => Assertion::Text {
            stream: TextStream::Stderr,
            preds: text_preds(&m["stderr"], "stderr")?,
        },
        CheckKind::Json => Assertion::Json(json_assert(m)?.expect("json key present")),
        CheckKind::Http => Assertion::Http(http_check(m)?),
        CheckKind::Kube => Assertion::Kube(kube_check(m)?),
        CheckKind::Command => Assertion::Command(command_check(m)?),
    };
    Ok((assertion, timing))
}

/// The kind a check map names (the first of `CheckKind::BY_PRECEDENCE` among its keys).
fn leading_kind(m: &Map<String, Value>) -> Result<CheckKind, SpecError> {
    if let Some(kind) = CheckKind::BY_PRECEDENCE
        .into_iter()
        .find(|k| m.contains_key(k.as_str()))
    {
        return Ok(kind);
    }
    let kinds = CheckKind::BY_PRECEDENCE.map(CheckKind::as_str);
    let first = m.keys().next().cloned().unwrap_or_default();
    Err(
        unknown_key(&first, &kinds, "a check").help(match nearest(&first, kinds) {
            Some(k) => format!(
                "did you mean `{k}`? a check starts with one of: {}",
                kinds.join(", ")
            ),
            None => format!("a check starts with one of: {}", kinds.join(", ")),
        }),
    )
}

/// Refuses a key the kind does not take, and an operator with no `json:` path to apply to.
fn check_keys(m: &Map<String, Value>, kind: CheckKind) -> Result<(), SpecError> {
    let own = own_keys(kind);
    let takes_ops = own.contains(&"json");
    let mut allowed: Vec<&str> = own.iter().chain(TIMING_KEYS).copied().collect();
    if takes_ops {
        allowed.extend(VALUE_OPS.iter().chain(LIST_OPS));
    }
    for key in m.keys() {
        let key = key.as_str();
        if !allowed.contains(&key) {
            return Err(unknown_key(key, &allowed, &format!("a `{kind}` check")));
        }
        let is_op = !own.contains(&key) && !TIMING_KEYS.contains(&key);
        if takes_ops && is_op && !m.contains_key("json") {
            return Err(SpecError::new(
                Code::VerifySchema,
                format!("`{key}` needs a `json:` path to apply to"),
            )
            .near(key));
        }
    }
    Ok(())
}

/// An optional string key.
fn optional_str(m: &Map<String, Value>, key: &str) -> Result<Option<String>, SpecError> {
    m.get(key)
        .map(|v| as_str(v, key).map(str::to_string))
        .transpose()
}

/// Optional text predicates under `key` (none when absent).
fn optional_text_preds(m: &Map<String, Value>, key: &str) -> Result<Vec<Predicate>, SpecError> {
    Ok(m.get(key)
        .map(|v| text_preds(v, key))
        .transpose()?
        .unwrap_or_default())
}

fn http_check(m: &Map<String, Value>) -> Result<HttpCheck, SpecError> {
    let url = as_str(&m["http"], "http")?.to_string();
    let status = m.get("status").map(http_status).transpose()?;
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
    let body = optional_text_preds(m, "body")?;
    let json = json_assert(m)?;
    if status.is_none() && headers.is_empty() && body.is_empty() && json.is_none() {
        return Err(SpecError::new(
            Code::CheckAssertsNothing,
            format!("`http: {url}` asserts nothing"),
        )
        .near("http")
        .help("add `status: 200`, `body: {contains: ...}` or `json: $... ` with an operator"));
    }
    let method = optional_str(m, "method")?
        .map(|s| s.to_ascii_uppercase())
        .unwrap_or_else(|| "GET".into());
    let tls = HttpTls {
        ca: optional_str(m, "ca")?,
        cert: optional_str(m, "cert")?,
        key: optional_str(m, "key")?,
    };
    if tls.cert.is_some() != tls.key.is_some() {
        return Err(SpecError::new(
            Code::VerifySchema,
            "`cert:` and `key:` go together (a client certificate and its key)",
        )
        .near(if tls.cert.is_some() { "cert" } else { "key" }));
    }
    Ok(HttpCheck {
        url,
        method,
        status,
        headers,
        body,
        json,
        tls,
    })
}

fn http_status(s: &Value) -> Result<u16, SpecError> {
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
}

fn kube_check(m: &Map<String, Value>) -> Result<KubeCheck, SpecError> {
    let gvk = as_str(&m["kube"], "kube")?;
    let (api_version, kind) = gvk
        .rsplit_once('/')
        .filter(|(a, k)| !a.is_empty() && !k.is_empty())
        .ok_or_else(|| {
            SpecError::new(
                Code::VerifySchema,
                format!("`kube: {gvk}` must be apiVersion/Kind"),
            )
            .near(gvk)
            .help("e.g. `kube: v1/ConfigMap` or `kube: networking.istio.io/v1alpha3/ServiceEntry`")
        })?;
    let absent = m
        .get("absent")
        .map(|v| boolean(v, "absent"))
        .transpose()?
        .unwrap_or(false);
    let name = optional_str(m, "name")?;
    let selector = optional_str(m, "selector")?;
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
    let json = json_assert(m)?;
    if name.is_none() && selector.is_none() {
        return Err(SpecError::new(
            Code::VerifySchema,
            format!("`kube: {gvk}` needs `name` or `selector`"),
        )
        .near("kube"));
    }
    Ok(KubeCheck {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name,
        namespace: optional_str(m, "namespace")?,
        selector,
        count,
        fields: m.get("fields").cloned(),
        json,
        absent,
        condition: optional_str(m, "condition")?,
    })
}

fn command_check(m: &Map<String, Value>) -> Result<CommandCheck, SpecError> {
    let script = as_str(&m["command"], "command")?.to_string();
    let exit = m
        .get("exit")
        .map(expected_exit)
        .transpose()?
        .unwrap_or(ExpectedExit::Code(0));
    Ok(CommandCheck {
        script,
        exit,
        stdout: optional_text_preds(m, "stdout")?,
        stderr: optional_text_preds(m, "stderr")?,
        json: json_assert(m)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_check_with_value_operator() {
        let (kind, _) =
            parse_check(&json!({"json": "$.oops.cause.code", "equals": "ECONNRESET"})).unwrap();
        let Assertion::Json(j) = kind else { panic!() };
        assert_eq!(j.path.text, "$.oops.cause.code");
        assert!(matches!(j.preds[0], Predicate::Equals(_)));
    }

    #[test]
    fn json_without_operator_asserts_nothing() {
        let e = parse_check(&json!({"json": "$.a"})).unwrap_err();
        assert_eq!(e.code, Code::CheckAssertsNothing);
    }

    #[test]
    fn unknown_key_suggests_nearest() {
        let e = parse_check(&json!({"json": "$.a", "equal": 1})).unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `equals`?"));
    }

    #[test]
    fn bad_jsonpath_points_at_column() {
        let e = parse_check(&json!({"json": "$.a[?", "exists": true})).unwrap_err();
        assert_eq!(e.code, Code::BadJsonpath);
        assert!(e.near_offset >= 3, "{e:?}");
    }

    #[test]
    fn bad_regex_points_at_column() {
        let e = parse_check(&json!({"stdout": {"matches": "ab(c"}})).unwrap_err();
        assert_eq!(e.code, Code::BadRegex);
        assert_eq!(e.near_offset, 2);
    }

    #[test]
    fn command_check_with_stdout_and_exit() {
        let (kind, _) = parse_check(
            &json!({"command": "oc get se -o name", "exit": 0, "stdout": {"contains": "egress"}}),
        )
        .unwrap();
        assert!(matches!(kind, Assertion::Command(_)));
    }

    #[test]
    fn kube_check_parses() {
        let (kind, t) = parse_check(&json!({"kube": "networking.istio.io/v1alpha3/ServiceEntry", "name": "x", "namespace": "user1", "fields": {"spec": {}}, "within": "30s"})).unwrap();
        let Assertion::Kube(k) = kind else { panic!() };
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
