//! Diagnostics: what is wrong with the input, where, and what to do; rendered once,
//! compiler style (`--> file:line:col`, the source line, a caret, a help line).

use std::path::{Path, PathBuf};

use console::Style;

mod code;

pub(crate) use code::Code;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Noted; changes nothing.
    Info,
    /// Worth fixing; does not stop a run.
    Warning,
    /// Stops everything with exit 2.
    Error,
}

/// One finding about the input.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Diagnostic {
    pub path: PathBuf,
    /// 1-based line (0 when the whole file is meant).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Width of the caret.
    #[serde(skip)]
    pub len: usize,
    pub severity: Severity,
    /// Stable code, e.g. `unknown-attribute`.
    pub code: Code,
    /// What is wrong.
    pub message: String,
    /// What to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The source line, for the caret display.
    #[serde(skip)]
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// A diagnostic for a whole file.
    pub fn file(
        path: &Path,
        severity: Severity,
        code: Code,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            len: 0,
            severity,
            code,
            message: message.into(),
            help: None,
            source_line: None,
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Points at `line:column` (1-based) of `source`, `len` characters wide.
    pub fn at(self, source: &str, line: usize, column: usize, len: usize) -> Diagnostic {
        let text = source.lines().nth(line.saturating_sub(1));
        self.at_line(text, line, column, len)
    }

    /// Like [`Diagnostic::at`] with the line's text already found (a caller
    /// with many diagnostics keeps a line index: `at` scans the source).
    pub fn at_line(
        mut self,
        line_text: Option<&str>,
        line: usize,
        column: usize,
        len: usize,
    ) -> Diagnostic {
        self.line = line;
        self.column = column.max(1);
        self.len = len.max(1);
        self.source_line = line_text.map(|l| l.trim_end_matches(['\r', '\n']).to_string());
        self
    }
}

/// True when any diagnostic is an error.
pub(crate) fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(|d| d.severity == Severity::Error)
}

/// Renders diagnostics for a terminal; `color` decides styling at the edge.
pub(crate) fn render(diags: &[Diagnostic], color: bool) -> String {
    let mut out = String::new();
    for d in diags {
        render_one(&mut out, d, color);
    }
    out
}

fn render_one(out: &mut String, d: &Diagnostic, color: bool) {
    let paint = |s: Style| s.force_styling(color);
    let (label, style) = match d.severity {
        Severity::Error => ("error", paint(Style::new().red().bold())),
        Severity::Warning => ("warning", paint(Style::new().yellow().bold())),
        Severity::Info => ("info", paint(Style::new().cyan().bold())),
    };
    let blue = paint(Style::new().blue().bold());
    let bold = paint(Style::new().bold());
    out.push_str(&format!(
        "{}{} {}\n",
        style.apply_to(format!("{label}[{}]", d.code)),
        bold.apply_to(":"),
        bold.apply_to(&d.message)
    ));
    let location = if d.line == 0 {
        d.path.display().to_string()
    } else {
        format!("{}:{}:{}", d.path.display(), d.line, d.column)
    };
    let gutter = " ".repeat(d.line.max(1).to_string().len());
    out.push_str(&format!("{gutter}{} {location}\n", blue.apply_to("-->")));
    if let Some(src) = &d.source_line {
        let shown: String = src
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .collect();
        out.push_str(&format!("{gutter} {}\n", blue.apply_to("|")));
        out.push_str(&format!(
            "{} {} {}\n",
            blue.apply_to(d.line),
            blue.apply_to("|"),
            shown
        ));
        let width = d
            .len
            .min(shown.chars().count().saturating_sub(d.column - 1).max(1));
        out.push_str(&format!(
            "{gutter} {} {}{}\n",
            blue.apply_to("|"),
            " ".repeat(d.column - 1),
            style.apply_to("^".repeat(width))
        ));
    }
    if let Some(help) = &d.help {
        out.push_str(&format!(
            "{gutter} {} {}: {help}\n",
            blue.apply_to("="),
            bold.apply_to("help")
        ));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_span() {
        let src = "# t\n```execute {timout=3s}\nls\n```\n";
        let d = Diagnostic::file(
            Path::new("lab.md"),
            Severity::Error,
            Code::UnknownAttribute,
            "unknown attribute `timout`",
        )
        .at(src, 2, 13, 6)
        .with_help("did you mean `timeout`?");
        let text = render(&[d], false);
        assert!(text.contains("--> lab.md:2:13"), "{text}");
        assert!(
            text.contains("2 | ```execute {timout=3s}\n  |             ^^^^^^\n"),
            "{text}"
        );
        assert!(text.contains("= help: did you mean `timeout`?"), "{text}");
    }
}
