//! Regexes and JSONPaths compiled once per distinct text (workshops repeat the same
//! patterns step after step), with errors that point at the bad character.

use crate::diag::Code;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonpath_rust::parser::model::JpQuery;
use regex::Regex;

use super::{JsonQuery, Pattern, SpecError};

/// Compiled values by their source text, shared: a clone of the `Arc` is all a caller pays.
struct CompileCache<T>(OnceLock<Mutex<HashMap<String, Arc<T>>>>);

impl<T> CompileCache<T> {
    const fn new() -> Self {
        CompileCache(OnceLock::new())
    }

    /// The compiled value for `text`, compiling it the first time; errors are not kept.
    fn get_or_compile<E>(
        &self,
        text: &str,
        compile: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        let cache = self.0.get_or_init(Default::default);
        if let Some(found) = cache.lock().ok().and_then(|c| c.get(text).cloned()) {
            return Ok(found);
        }
        let compiled = Arc::new(compile(text)?);
        if let Ok(mut c) = cache.lock() {
            c.insert(text.to_string(), compiled.clone());
        }
        Ok(compiled)
    }
}

/// Compiles a regex in multi-line mode; the error names the column of the bad character.
pub fn compile_regex(text: &str) -> Result<Pattern, SpecError> {
    static CACHE: CompileCache<Regex> = CompileCache::new();
    match CACHE.get_or_compile(text, |t| {
        regex::RegexBuilder::new(t).multi_line(true).build()
    }) {
        Ok(regex) => Ok(Pattern {
            text: text.to_string(),
            regex,
        }),
        Err(err) => Err(regex_error(text, &err)),
    }
}

fn regex_error(text: &str, err: &regex::Error) -> SpecError {
    let msg = err.to_string();
    // regex renders "    PATTERN\n    ^^^\nerror: WHAT"; take the caret column and the last line.
    let lines: Vec<&str> = msg.lines().collect();
    let caret = lines
        .iter()
        .find(|l| l.trim_start().starts_with('^') && l.trim().chars().all(|c| c == '^' || c == '-'))
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
    e.help("regexes use Rust regex syntax (like RE2); escape special characters with \\")
}

/// Compiles a JSONPath (RFC 9535); the error names the column of the bad character.
pub fn compile_jsonpath(text: &str) -> Result<JsonQuery, SpecError> {
    static CACHE: CompileCache<JpQuery> = CompileCache::new();
    match CACHE.get_or_compile(text, jsonpath_rust::parser::parse_json_path) {
        Ok(query) => Ok(JsonQuery {
            text: text.to_string(),
            query,
        }),
        Err(err) => Err(jsonpath_error(text, &err)),
    }
}

fn jsonpath_error(text: &str, err: &jsonpath_rust::parser::errors::JsonPathError) -> SpecError {
    let mut offset = 0;
    let mut what = err.to_string();
    if let jsonpath_rust::parser::errors::JsonPathError::PestError(pe) = err {
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
    e.help("JSONPath starts with `$`, e.g. `$.oops.cause.code` or `$[*].link` (RFC 9535)")
}
