//! `labctl report merge FILE... [--report FORMAT=FILE]...`: merges JSON reports
//! of separate runs (one per pod of the in-cluster Job, say) into one run and
//! writes it in every format asked for (the merged JSON on stdout if none).
//!
//! Each FILE is a JSON report, or a log that contains one: the document is read
//! from the first line starting with `{` from which a version-1 report parses
//! (pod logs carry console lines before it); anything after it is ignored.
//! Users come out in natural name order (`user2` before `user10`), whatever
//! order the shell globbed the files in. Exit status: 0 when the merged run
//! passed, 1 when it failed or was interrupted, 2 on unreadable input.

use std::path::{Path, PathBuf};

use crate::cli::ReportMergeArgs;
use crate::exit_code::Exit;
use crate::report::collect::{Collected, FromJsonError};
use crate::report::{
    ReportError, ReportFormat, check_targets, github, html, json, junit, tap, with_github_default,
    write_atomic,
};

/// Why an input file could not be merged.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MergeInputError {
    /// Unreadable file.
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// No line starting with `{` in it.
    #[error("{path}: no JSON report in it (no line starts with `{{`)")]
    NoJson { path: PathBuf },
    /// Not JSON from the first `{` line on.
    #[error("{path}:{line}: not valid JSON: {source}")]
    Json {
        path: PathBuf,
        /// 1-based line where the document starts.
        line: usize,
        source: serde_json::Error,
    },
    /// JSON, but not a labctl report.
    #[error("{path}:{line}: {source}")]
    Report {
        path: PathBuf,
        /// 1-based line where the document starts.
        line: usize,
        source: FromJsonError,
    },
}

/// Reads the report in `text`: from the first `{` line that yields a report;
/// when none does, the error of the first candidate (the likeliest intent).
pub(crate) fn read_report(path: &Path, text: &str) -> Result<Collected, MergeInputError> {
    let mut first_err = None;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += line.len();
        if !line.starts_with('{') {
            continue;
        }
        // The first value only: trailing lines (a shell's last words) are ignored.
        let mut values =
            serde_json::Deserializer::from_str(&text[start..]).into_iter::<serde_json::Value>();
        let err = match values.next() {
            Some(Ok(v)) => match Collected::from_json(&v) {
                Ok(c) => return Ok(c),
                Err(source) => MergeInputError::Report {
                    path: path.to_path_buf(),
                    line: i + 1,
                    source,
                },
            },
            Some(Err(source)) => MergeInputError::Json {
                path: path.to_path_buf(),
                line: i + 1,
                source,
            },
            None => continue,
        };
        first_err.get_or_insert(err);
    }
    Err(first_err.unwrap_or(MergeInputError::NoJson {
        path: path.to_path_buf(),
    }))
}

/// Runs `labctl report merge`.
pub(crate) fn run(args: &ReportMergeArgs) -> Exit {
    // Under GitHub Actions the annotations join files asked for; with none,
    // stdout is the merged JSON and stays clean.
    let targets = match args.reports.clone() {
        t if t.is_empty() => t,
        t => with_github_default(t),
    };
    if let Err(e) = check_targets(&targets, &args.files) {
        eprintln!("error: {e}");
        return Exit::BadInput;
    }
    let mut parts = Vec::new();
    for path in &args.files {
        let read = std::fs::read_to_string(path)
            .map_err(|source| MergeInputError::Read {
                path: path.clone(),
                source,
            })
            .and_then(|text| read_report(path, &text));
        match read {
            Ok(c) => parts.push(c),
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::BadInput;
            }
        }
    }
    let (merged, replaced) = Collected::merge(parts);
    for u in &replaced {
        eprintln!(
            "note: {} is in more than one report: kept the result of the run that started last",
            u.as_deref().unwrap_or("the single-user run")
        );
    }
    if let Err(e) = write_all(&merged, &targets) {
        eprintln!("error: {e}");
        return Exit::Environment;
    }
    let st = merged.stats;
    eprintln!(
        "{} users: {} passed, {} failed, {} skipped: {}",
        merged.users.len(),
        st.passed,
        st.failed,
        st.skipped,
        merged.outcome()
    );
    if merged.outcome() == crate::event::LabOutcome::Passed {
        Exit::Success
    } else {
        Exit::Failed
    }
}

fn write_all(
    merged: &Collected,
    targets: &[crate::report::ReportTarget],
) -> Result<(), ReportError> {
    let json_text = || {
        serde_json::to_string_pretty(&json::document(merged)).map_err(|e| ReportError::Build {
            format: "json",
            message: e.to_string(),
        })
    };
    if targets.iter().all(|t| t.format == ReportFormat::Github) {
        crate::stdout::print(&format!("{}\n", json_text()?));
    }
    for t in targets {
        match t.format {
            ReportFormat::Json => write_atomic("json", &t.path, json_text()?.as_bytes())?,
            ReportFormat::Html => write_atomic("html", &t.path, html::document(merged).as_bytes())?,
            ReportFormat::Junit => {
                write_atomic("junit", &t.path, junit::document(merged)?.as_bytes())?
            }
            ReportFormat::Tap => write_atomic("tap", &t.path, tap::document(merged).as_bytes())?,
            ReportFormat::Github => {
                crate::stdout::print(&github::annotations(merged));
                if let Some(p) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()) {
                    github::append(std::path::Path::new(&p), &github::summary(merged))?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"version": 1, "outcome": "passed", "started_at": "2025-01-01T10:00:00Z",
 "duration_ms": 10, "runs": [{"user": "user1", "vars": {}, "outcome": "passed", "labs": []}]}"#;

    #[test]
    fn reads_a_report_after_log_lines_and_ignores_trailing_ones() {
        let log = format!("== user1\n✓ a:1 {{weird}}\n{{not json\n{DOC}\nexit 0\n");
        let c = read_report(Path::new("pod.txt"), &log).unwrap();
        assert_eq!(c.users[0].user.as_deref(), Some("user1"));
    }

    #[test]
    fn says_what_is_wrong_and_where() {
        let e = read_report(Path::new("a.txt"), "hello\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.txt: no JSON report in it (no line starts with `{`)"
        );
        let e = read_report(Path::new("b.json"), "{\"version\": 2}\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("b.json:1: not a labctl JSON report"),
            "{e}"
        );
        let e = read_report(Path::new("c.json"), "x\n{\"version\": 1,\n").unwrap_err();
        assert!(e.to_string().starts_with("c.json:2: not valid JSON"), "{e}");
    }
}
