//! Reporters: each a consumer of the engine's events. Console prints as events
//! arrive; json, junit and html collect and write atomically at the end.

pub(crate) mod check_console;
pub(crate) mod collect;
pub(crate) mod console;
pub(crate) mod failure;
pub(crate) mod github;
pub(crate) mod groups;
pub(crate) mod html;
pub(crate) mod json;
pub(crate) mod junit;
pub(crate) mod live_line;
pub(crate) mod mesh_fetch;
pub(crate) mod mesh_graph;
pub(crate) mod tap;
pub(crate) mod target;
pub(crate) mod xml_text;

use std::path::PathBuf;

pub(crate) use target::{check_targets, write_atomic};

use crate::event::Event;

/// A report could not be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReportError {
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
pub(crate) trait Reporter: Send {
    /// Handles one event; an error cancels the run.
    fn event(&mut self, event: &Event) -> Result<(), ReportError>;

    /// The users' mesh graphs, handed over just before `RunFinished`; only
    /// reporters that draw them keep them.
    fn mesh_graphs(&mut self, _graphs: &mesh_graph::MeshGraphs) {}

    /// Whether [`Reporter::mesh_graphs`] is worth fetching for.
    fn wants_mesh_graphs(&self) -> bool {
        false
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportFormat {
    /// JUnit XML.
    Junit,
    /// The JSON report (cli.md).
    Json,
    /// One self-contained HTML page.
    Html,
    /// TAP 14.
    Tap,
    /// GitHub Actions: annotations on stdout, the job summary to
    /// `$GITHUB_STEP_SUMMARY`; takes no file.
    Github,
}

impl ReportFormat {
    /// The name on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ReportFormat::Junit => "junit",
            ReportFormat::Json => "json",
            ReportFormat::Html => "html",
            ReportFormat::Tap => "tap",
            ReportFormat::Github => "github",
        }
    }

    fn parse(s: &str) -> Option<ReportFormat> {
        [
            ReportFormat::Junit,
            ReportFormat::Json,
            ReportFormat::Html,
            ReportFormat::Tap,
            ReportFormat::Github,
        ]
        .into_iter()
        .find(|f| f.name() == s)
    }
}

/// `--report FORMAT=FILE` (`--report github` alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReportTarget {
    /// Which format.
    pub format: ReportFormat,
    /// Where to write (empty for github).
    pub path: PathBuf,
}

/// A `--report` argument that names no target; each says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TargetError {
    /// No `=`.
    #[error("--report `{0}` must be FORMAT=FILE, e.g. junit=report.xml")]
    NotFormatFile(String),
    /// `github=FILE`.
    #[error(
        "--report `{0}`: github takes no file (annotations go to stdout, the summary to $GITHUB_STEP_SUMMARY); write `--report github`"
    )]
    GithubTakesNoFile(String),
    /// A format labctl does not write.
    #[error("--report: unknown format `{0}`; use junit, json, html, tap or github")]
    UnknownFormat(String),
    /// `FORMAT=` with nothing after it.
    #[error("--report `{0}` names no file")]
    NoFile(String),
}

/// Parses `FORMAT=FILE`, or `github`.
pub(crate) fn parse_target(s: &str) -> Result<ReportTarget, TargetError> {
    if s == "github" {
        return Ok(ReportTarget {
            format: ReportFormat::Github,
            path: PathBuf::new(),
        });
    }
    let (format, path) = s
        .split_once('=')
        .ok_or_else(|| TargetError::NotFormatFile(s.to_string()))?;
    let format = match ReportFormat::parse(format) {
        Some(ReportFormat::Github) => return Err(TargetError::GithubTakesNoFile(s.to_string())),
        Some(f) => f,
        None => return Err(TargetError::UnknownFormat(format.to_string())),
    };
    if path.is_empty() {
        return Err(TargetError::NoFile(s.to_string()));
    }
    Ok(ReportTarget {
        format,
        path: PathBuf::from(path),
    })
}

/// Under GitHub Actions (`GITHUB_ACTIONS=true`), `github` is on without asking.
pub(crate) fn with_github_default(mut targets: Vec<ReportTarget>) -> Vec<ReportTarget> {
    let in_actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    if in_actions && !targets.iter().any(|t| t.format == ReportFormat::Github) {
        targets.push(ReportTarget {
            format: ReportFormat::Github,
            path: PathBuf::new(),
        });
    }
    targets
}
