//! Reporters: each a consumer of the engine's events. Console prints as events
//! arrive; json, junit and html collect and write atomically at the end.

pub mod collect;
pub mod console;
pub mod failure;
pub mod html;
pub mod json;
pub mod junit;
pub mod target;
pub mod xml_text;

use std::path::PathBuf;

pub use target::{check_targets, write_atomic};

use crate::event::Event;

/// A report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Writing the file failed.
    #[error("cannot write the {format} report to {path}: {source}")]
    Write {
        /// Report format.
        format: &'static str,
        /// Target file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Serialising failed.
    #[error("cannot build the {format} report: {message}")]
    Build {
        /// Report format.
        format: &'static str,
        /// Cause.
        message: String,
    },
}

/// A consumer of events.
pub trait Reporter: Send {
    /// Handles one event; an error cancels the run.
    fn event(&mut self, event: &Event) -> Result<(), ReportError>;
}

/// `--report FORMAT=FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTarget {
    /// junit, json or html.
    pub format: String,
    /// Where to write.
    pub path: PathBuf,
}

/// Parses `FORMAT=FILE`.
pub fn parse_target(s: &str) -> Result<ReportTarget, String> {
    let (format, path) = s
        .split_once('=')
        .ok_or_else(|| format!("--report `{s}` must be FORMAT=FILE, e.g. junit=report.xml"))?;
    if !["junit", "json", "html"].contains(&format) {
        return Err(format!(
            "--report: unknown format `{format}`; use junit, json or html"
        ));
    }
    if path.is_empty() {
        return Err(format!("--report `{s}` names no file"));
    }
    Ok(ReportTarget {
        format: format.to_string(),
        path: PathBuf::from(path),
    })
}

/// Parses every `--report FORMAT=FILE`; the first bad one is the error.
pub fn parse_targets(args: &[String]) -> Result<Vec<ReportTarget>, String> {
    args.iter().map(|a| parse_target(a)).collect()
}
