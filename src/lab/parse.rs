//! The markdown walk: pulldown-cmark events (with byte offsets) → a Lab, plus
//! diagnostics for everything that is wrong. No I/O but what the caller passes in.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde_json::Value;

use super::check_spec::{self, CheckSpec, SpecError};
use super::front_matter;
use super::info::{self, FenceRole, InfoString};
use super::model::*;
use crate::diag::{Code, Diagnostic, Severity};

mod educates;
mod step;

use step::{FenceContext, StepShape, StepsSoFar};

/// How pages are read beyond their own text: the flags `run`, `check`, `list` and `lint` share.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// `--shell-blocks`: `sh`/`bash`/`shell` fences are steps even without `exec`.
    pub shell_blocks: bool,
}

/// Maps byte offsets to 1-based lines and columns.
pub struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes `src`.
    pub fn new(src: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { src, starts }
    }

    /// 1-based (line, column in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.src.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let col = self
            .src
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        (line, col)
    }

    /// Byte offset where a 1-based line starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.src.len())
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text(&self, line: usize) -> Option<&'a str> {
        let start = *self.starts.get(line.checked_sub(1)?)?;
        let end = self
            .starts
            .get(line)
            .map(|&next| next - 1)
            .unwrap_or(self.src.len());
        self.src.get(start..end)
    }

    /// A span for a byte range.
    pub fn span(&self, range: Range<usize>) -> Span {
        let (line, col) = self.line_col(range.start);
        Span {
            line,
            col,
            offset: range.start,
            len: range.len().max(1),
        }
    }
}

/// A parsed page and what was found wrong with it.
pub struct ParsedLab {
    /// The lab (possibly partial when there are errors).
    pub lab: Lab,
    /// Errors, warnings and infos in page order.
    pub diagnostics: Vec<Diagnostic>,
}

struct Fence {
    info: String,
    range: Range<usize>,
    body: String,
    body_range: Range<usize>,
    closed: bool,
    indent: usize,
}

impl Fence {
    /// The opening marker, where fence-wide diagnostics point.
    fn opening(&self) -> Range<usize> {
        self.range.start..self.range.start + 3
    }
}

/// Patterns that never end on their own: such a step runs in the background.
fn looks_endless(body: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"(?m)\bwhile\s+(true|:)\b|(^|[;&|(\s])watch\s|\btail\s+(-\w*\s+)*-f\b|\blogs\s+(.*\s)?(-f|--follow)\b|\b(kubectl|oc)\s.*(\s-w\b|\s--watch\b)|\bsleep\s+infinity\b",
        )
        .expect("static regex")
    });
    re.is_match(body)
}

/// Parses one page. `path` is only used in diagnostics and the model.
pub fn parse_lab(path: &Path, bytes: &[u8], options: ParseOptions) -> ParsedLab {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "lab".into());
    let mut diags = Vec::new();
    let src = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(e) => {
            let good = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned();
            let idx = LineIndex::new(&good);
            let (line, col) = idx.line_col(good.len());
            diags.push(
                Diagnostic::file(
                    path,
                    Severity::Error,
                    Code::NonUtf8,
                    format!(
                        "the file is not UTF-8 text (invalid byte at offset {})",
                        e.valid_up_to()
                    ),
                )
                .at(&good, line, col, 1)
                .with_help("save the page as UTF-8; a binary file does not belong among the labs"),
            );
            return ParsedLab {
                lab: empty_lab(path, &stem, String::new()),
                diagnostics: diags,
            };
        }
    };
    if src.contains('\r') && !src.contains('\n') && src.trim_end_matches('\r').contains('\r') {
        diags.push(
            Diagnostic::file(
                path,
                Severity::Error,
                Code::CrLineEndings,
                "the file ends its lines with CR only (classic Mac OS), which bash and labctl's line numbers do not read",
            )
            .with_help("save the page with LF (or CRLF) line endings, e.g. `tr '\\r' '\\n'`"),
        );
        return ParsedLab {
            lab: empty_lab(path, &stem, String::new()),
            diagnostics: diags,
        };
    }
    let mut p = PageParser {
        path,
        src: &src,
        idx: LineIndex::new(&src),
        diags: Vec::new(),
        stem: &stem,
        options,
    };
    let lab = p.run();
    diags.extend(p.diags);
    ParsedLab {
        lab,
        diagnostics: diags,
    }
}

fn empty_lab(path: &Path, stem: &str, source: String) -> Lab {
    Lab {
        path: path.to_path_buf(),
        stem: stem.to_string(),
        title: stem.to_string(),
        settings: LabSettings::default(),
        preconditions: Vec::new(),
        steps: Vec::new(),
        images: Vec::new(),
        source,
    }
}

struct PageParser<'a> {
    path: &'a Path,
    src: &'a str,
    idx: LineIndex<'a>,
    diags: Vec<Diagnostic>,
    stem: &'a str,
    options: ParseOptions,
}

impl<'a> PageParser<'a> {
    fn diag(
        &mut self,
        sev: Severity,
        code: Code,
        range: Range<usize>,
        msg: impl Into<String>,
        help: Option<String>,
    ) {
        let (line, col) = self.idx.line_col(range.start);
        let len = self
            .src
            .get(range.clone())
            .map(|s| s.lines().next().unwrap_or("").chars().count())
            .unwrap_or(1);
        let mut d = Diagnostic::file(self.path, sev, code, msg).at_line(
            self.idx.line_text(line),
            line,
            col,
            len,
        );
        d.help = help;
        self.diags.push(d);
    }

    /// An error pointed at the fence's opening backticks.
    fn fence_error(&mut self, f: &Fence, code: Code, msg: impl Into<String>, help: &str) {
        self.diag(Severity::Error, code, f.opening(), msg, Some(help.into()));
    }

    fn run(&mut self) -> Lab {
        let fm = front_matter::split(self.src);
        let mut lab = empty_lab(self.path, self.stem, self.src.to_string());
        let mut fm_title = None;
        if let Some(fm) = &fm {
            match front_matter::parse(fm) {
                Ok(parsed) => {
                    fm_title = parsed.title;
                    lab.settings = parsed.settings;
                }
                Err(e) => self.diag(
                    Severity::Error,
                    Code::FrontMatter,
                    e.offset..e.offset + 1,
                    e.message,
                    Some(e.help),
                ),
            }
        }
        let body_start = fm.as_ref().map(|f| f.end).unwrap_or(0);
        let md = &self.src[body_start..];
        let mut heading: Option<String> = None;
        let mut in_heading = false;
        let mut heading_text = String::new();
        let mut fence: Option<Fence> = None;
        let mut fences: Vec<Fence> = Vec::new();
        let opts =
            Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
        for (event, range) in Parser::new_ext(md, opts).into_offset_iter() {
            let range = range.start + body_start..range.end + body_start;
            match event {
                Event::Start(Tag::Heading { level, .. })
                    if heading.is_none() && level <= HeadingLevel::H2 =>
                {
                    in_heading = true;
                    heading_text.clear();
                }
                Event::End(TagEnd::Heading(_)) if in_heading => {
                    in_heading = false;
                    heading = Some(heading_text.trim().to_string());
                }
                Event::Text(t) | Event::Code(t) if in_heading => heading_text.push_str(&t),
                Event::Start(Tag::Image { dest_url, .. }) => {
                    lab.images
                        .push((dest_url.to_string(), self.idx.span(range.clone())));
                }
                Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                    fence = Some(self.open_fence(info.to_string(), range));
                }
                Event::Text(t) if fence.is_some() => {
                    let f = fence.as_mut().expect("checked");
                    f.body.push_str(&t);
                }
                Event::End(TagEnd::CodeBlock) => {
                    if let Some(f) = fence.take() {
                        fences.push(f);
                    }
                }
                _ => {}
            }
        }
        lab.title = fm_title
            .or(heading)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| self.stem.to_string());
        self.build_steps(&mut lab, fences, body_start);
        lab
    }

    fn open_fence(&self, info: String, range: Range<usize>) -> Fence {
        let text = &self.src[range.clone()];
        let first_nl = text
            .find('\n')
            .map(|i| range.start + i + 1)
            .unwrap_or(range.end);
        let opening = self.src[range.start..first_nl].trim_end();
        let indent = opening.len() - opening.trim_start().len();
        let marker = opening.trim_start();
        let ch = marker.chars().next().unwrap_or('`');
        let n = marker.chars().take_while(|c| *c == ch).count();
        // The fence is closed when its last line is a run of at least n fence characters.
        let trimmed_end = self.src[..range.end].trim_end_matches(['\n', '\r']).len();
        let last_line_start = self.src[..trimmed_end]
            .rfind('\n')
            .map(|i| i + 1)
            .unwrap_or(0);
        let mut last = self.src[last_line_start..trimmed_end].trim();
        // In a blockquote (`> ```` at any depth) the closing line carries the quote markers too.
        let line_start = self.src[..range.start]
            .rfind('\n')
            .map(|i| i + 1)
            .unwrap_or(0);
        if self.src[line_start..range.start].contains('>') {
            last = last.trim_start_matches(['>', ' ', '\t']);
        }
        let closed =
            last_line_start >= first_nl && last.len() >= n && last.chars().all(|c| c == ch);
        let body_end = if closed { last_line_start } else { range.end };
        Fence {
            info,
            range,
            body: String::new(),
            body_range: first_nl..body_end.max(first_nl),
            closed,
            indent,
        }
    }

    /// Turns the page's fences, in order, into steps, checks and expected output.
    fn build_steps(&mut self, lab: &mut Lab, fences: Vec<Fence>, body_start: usize) {
        let mut acc = StepsSoFar {
            steps: Vec::new(),
            anchor: None,
            prose_from: body_start,
            run_count: 0,
            manual_count: 0,
            seen_names: BTreeMap::new(),
        };
        for fence in &fences {
            let info_base = self.info_base(fence);
            let info = self.info_string(fence, info_base);
            let role = match info::role(&info.word) {
                FenceRole::MaybeShell => info.shell_role(self.options.shell_blocks),
                role => role,
            };
            if self.refused(fence, &info, &role, info_base) {
                continue;
            }
            let cx = FenceContext {
                fence,
                info: &info,
                info_base,
            };
            let body = fence.body.replace("\r\n", "\n");
            match role {
                FenceRole::Prose => {}
                FenceRole::Verify => {
                    let checks = self.parse_verify(fence, &body);
                    match acc.anchor {
                        Some(i) => acc.steps[i].checks.extend(checks),
                        None => lab.preconditions.extend(checks),
                    }
                }
                FenceRole::Output { strict } => self.attach_output(&cx, strict, body, &mut acc),
                FenceRole::Step {
                    kind,
                    terminal,
                    body: format,
                } => {
                    let shape = StepShape {
                        kind,
                        terminal,
                        format,
                    };
                    self.add_step(&cx, shape, body, &mut acc);
                }
                FenceRole::MaybeShell => unreachable!("resolved above"),
            }
        }
        lab.steps = acc.steps.into_iter().map(std::sync::Arc::new).collect();
    }

    /// Byte offset in the page where the fence's info string starts (after the marker and blanks).
    fn info_base(&self, f: &Fence) -> usize {
        let info_start = f.range.start
            + f.indent
            + self.src[f.range.start + f.indent..]
                .chars()
                .take_while(|c| *c == '`' || *c == '~')
                .count();
        let info_lead = self.src[info_start..].len()
            - self.src[info_start..].trim_start_matches([' ', '\t']).len();
        info_start + info_lead
    }

    /// The fence's info string; malformed attributes are an error on fences that could run.
    fn info_string(&mut self, f: &Fence, info_base: usize) -> InfoString {
        match info::parse_info(f.info.trim()) {
            Ok(p) => p,
            Err(e) => {
                let word = f.info.split_whitespace().next().unwrap_or("").to_string();
                if !matches!(
                    info::role(&word),
                    FenceRole::Prose | FenceRole::Output { .. }
                ) {
                    self.diag(Severity::Error, Code::BadAttributes, info_base + e.offset..info_base + e.offset + 1, e.message, Some("write attributes as {key=value key2=\"quoted value\"} or as JSON {\"key\": \"value\"}".into()));
                }
                InfoString::bare(word)
            }
        }
    }

    /// Reports a fence that cannot be read (left open, or `execute-N` with no such terminal);
    /// true when it is to be passed over.
    fn refused(
        &mut self,
        f: &Fence,
        info: &InfoString,
        role: &FenceRole,
        info_base: usize,
    ) -> bool {
        if !f.closed {
            let help = match role {
                FenceRole::Prose | FenceRole::Output { .. } => {
                    "close it with a ``` line; everything after it, steps included, is inside it otherwise"
                }
                FenceRole::Step { .. } => {
                    "close it with a ``` line; CommonMark would otherwise run the rest of the page as shell"
                }
                // A verify fence reports its own unclosed end (parse_verify).
                FenceRole::Verify | FenceRole::MaybeShell => return false,
            };
            let word = if info.word.is_empty() {
                "```"
            } else {
                &info.word
            };
            self.fence_error(
                f,
                Code::UnclosedFence,
                format!("the `{word}` fence is never closed"),
                help,
            );
            return true;
        }
        if *role == FenceRole::Prose && info.word.starts_with("execute-") {
            self.diag(
                Severity::Error,
                Code::BadTerminal,
                info_base..info_base + info.word.len(),
                format!("`{}` names no terminal", info.word),
                Some(format!(
                    "write execute-N with N from 1 to {}, or execute-all",
                    info::MAX_TERMINAL
                )),
            );
            return true;
        }
        false
    }

    /// An output fence: the expected output of the step above (the first one only).
    fn attach_output(
        &mut self,
        cx: &FenceContext<'_>,
        strict: bool,
        text: String,
        acc: &mut StepsSoFar,
    ) {
        let Some(i) = acc.anchor else { return };
        if acc.steps[i].expected.is_some() {
            return;
        }
        let known: &[&str] = if strict { info::OUTPUT_KEYS } else { &[] };
        self.check_keys(cx.info, known, cx.info_base, strict);
        let stream = match cx
            .info
            .attributes
            .iter()
            .find(|a| a.key == "stream")
            .map(|a| &a.value)
        {
            None => OutputStream::Stdout,
            Some(Value::String(s)) if s == "stdout" => OutputStream::Stdout,
            Some(Value::String(s)) if s == "stderr" => OutputStream::Stderr,
            Some(Value::String(s)) if s == "both" => OutputStream::Both,
            Some(v) => {
                self.diag(
                    Severity::Error,
                    Code::BadAttributeValue,
                    cx.fence.range.clone(),
                    format!("`stream={v}` is not a stream"),
                    Some("write stream=stdout, stream=stderr or stream=both".into()),
                );
                OutputStream::Stdout
            }
        };
        acc.steps[i].expected = Some(ExpectedOutput {
            span: self.idx.span(cx.opening()),
            mode: if strict {
                OutputMode::Strict
            } else {
                OutputMode::Similar
            },
            stream,
            text,
            body_span: cx.fence.body_range.clone(),
        });
    }

    /// A step fence: the step, with the prose before it; its name must be new in the lab.
    fn add_step(
        &mut self,
        cx: &FenceContext<'_>,
        shape: StepShape,
        body: String,
        acc: &mut StepsSoFar,
    ) {
        let f = cx.fence;
        let prose = self.src[acc.prose_from.min(f.range.start)..f.range.start]
            .trim()
            .to_string();
        acc.prose_from = f.range.end;
        let Some(step) = self.build_step(cx, shape, body, prose, acc) else {
            return;
        };
        if let Some(name) = &step.name
            && let Some(first) = acc.seen_names.insert(name.clone(), step.span.line)
        {
            self.diag(
                Severity::Error,
                Code::DuplicateStep,
                cx.opening(),
                format!("step name `{name}` is used twice in this lab (first on line {first})"),
                Some("give each step a unique name".into()),
            );
        }
        if step.kind != StepKind::Manual {
            acc.anchor = Some(acc.steps.len());
        }
        acc.steps.push(step);
    }

    fn check_keys(&mut self, parsed: &InfoString, known: &[&str], info_base: usize, report: bool) {
        if !report {
            return;
        }
        for (i, a) in parsed.attributes.iter().enumerate() {
            if parsed.attributes[..i].iter().any(|b| b.key == a.key) {
                let start = info_base + a.offset;
                self.diag(
                    Severity::Error,
                    Code::DuplicateAttribute,
                    start..start + a.key.len(),
                    format!("attribute `{}` is given twice", a.key),
                    Some("keep one; which one wins is not obvious to a reader".into()),
                );
            }
        }
        for a in &parsed.attributes {
            if !known.contains(&a.key.as_str()) {
                let help = match check_spec::nearest(&a.key, known.iter().copied()) {
                    Some(k) => format!("did you mean `{k}`?"),
                    None => format!("known attributes: {}", known.join(", ")),
                };
                let start = info_base + a.offset;
                self.diag(
                    Severity::Error,
                    Code::UnknownAttribute,
                    start..start + a.key.len(),
                    format!("unknown attribute `{}`", a.key),
                    Some(help),
                );
            }
        }
    }

    /// Where in the page a YAML error in the fence's body points.
    fn yaml_error_at(&self, f: &Fence, e: &serde_saphyr::Error) -> usize {
        let (line, col) = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize))
            .unwrap_or((1, 1));
        let body_line = self.idx.line_col(f.body_range.start).0;
        self.idx.line_start(body_line + line - 1) + col.saturating_sub(1)
    }

    fn parse_verify(&mut self, f: &Fence, body: &str) -> Vec<CheckSpec> {
        let body_line = self.idx.line_col(f.body_range.start).0;
        if !f.closed {
            self.fence_error(
                f,
                Code::UnclosedFence,
                "the `verify` fence is never closed",
                "close it with a ``` line",
            );
            return Vec::new();
        }
        let items = match serde_saphyr::from_str::<Value>(body) {
            Ok(Value::Array(items)) => items,
            Ok(Value::Null) => {
                self.fence_error(
                    f,
                    Code::CheckAssertsNothing,
                    "this `verify` block is empty",
                    "list checks, e.g. `- exit: 0`",
                );
                return Vec::new();
            }
            Ok(other @ Value::Object(_)) => vec![other],
            Ok(other) => {
                self.diag(
                    Severity::Error,
                    Code::VerifySchema,
                    f.body_range.start..f.body_range.start + 1,
                    format!("a verify block holds a YAML list of checks, found `{other}`"),
                    Some("write each check as a list item: `- stdout: { contains: text }`".into()),
                );
                return Vec::new();
            }
            Err(e) => {
                let at = self.yaml_error_at(f, &e);
                self.diag(Severity::Error, Code::VerifyYaml, at..at + 1, format!("the verify block is not valid YAML: {}", first_line(&e.to_string())), Some("check indentation and quote values that contain `: ` or start with `%`, `{` or `*`".into()));
                return Vec::new();
            }
        };
        // Item lines: each top-level `- ` in the block, in order.
        let item_lines: Vec<usize> = body
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("- ") || l.trim_end() == "-")
            .map(|(i, _)| body_line + i)
            .collect();
        let mut out = Vec::new();
        for (n, item) in items.iter().enumerate() {
            let line = item_lines.get(n).copied().unwrap_or(body_line);
            match check_spec::parse_check(item) {
                Ok((kind, timing)) => out.push(CheckSpec {
                    line,
                    raw: item.clone(),
                    timing,
                    kind,
                    hint: check_spec::hint_of(item),
                }),
                Err(e) => self.spec_error(
                    e,
                    line,
                    item_lines.get(n + 1).copied().unwrap_or(usize::MAX),
                ),
            }
        }
        out
    }

    fn spec_error(&mut self, e: SpecError, line: usize, next_item: usize) {
        // Point at the text the error names, searched within the item's lines.
        let mut at = self.idx.line_start(line);
        let mut len = 1;
        if let Some(near) = &e.near {
            let mut l = line;
            while l < next_item && l <= self.idx.starts.len() {
                let start = self.idx.line_start(l);
                let end = self.idx.line_start(l + 1);
                if let Some(pos) = self.src[start..end].find(near.as_str()) {
                    at = start + pos + e.near_offset.min(near.len());
                    len = if e.near_offset > 0 {
                        1
                    } else {
                        near.chars().count()
                    };
                    break;
                }
                l += 1;
            }
        }
        let (line, col) = self.idx.line_col(at);
        let mut d = Diagnostic::file(self.path, Severity::Error, e.code, e.message).at_line(
            self.idx.line_text(line),
            line,
            col,
            len,
        );
        d.help = e.help;
        self.diags.push(d);
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> ParsedLab {
        parse_lab(Path::new("lab.md"), src.as_bytes(), ParseOptions::default())
    }

    #[test]
    fn steps_checks_and_output() {
        let p = parse(
            "# Title\n\nRun it:\n\n```execute {name=first}\necho hi\n```\n\n```\nhi\n```\n\n```verify\n- stdout: { contains: hi }\n- exit: 0\n```\n\n```execute-2\nwhile true; do date; done\n```\n",
        );
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        let lab = p.lab;
        assert_eq!(lab.title, "Title");
        assert_eq!(lab.steps.len(), 2);
        assert_eq!(lab.steps[0].id, "first");
        assert_eq!(lab.steps[0].span.line, 5);
        assert_eq!(lab.steps[0].checks.len(), 2);
        assert_eq!(lab.steps[0].checks[1].line, 15);
        assert_eq!(lab.steps[0].expected.as_ref().unwrap().text, "hi\n");
        assert_eq!(lab.steps[1].id, "lab:2");
        assert_eq!(lab.steps[1].terminal, TerminalSel::One(2));
        assert!(lab.steps[1].background && lab.steps[1].background_auto);
    }

    #[test]
    fn fences_in_blockquotes_are_steps() {
        let p = parse(
            "# T\n\n> Run:\n>\n> ```execute {name=quoted}\n> echo hi\n> ```\n>\n> > ```execute-2\n> > echo deep\n> > ```\n> >\n> > ```verify\n> > - stdout: { contains: deep }\n> > ```\n",
        );
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        let s = &p.lab.steps;
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].id.as_str(), s[0].body.as_str()),
            ("quoted", "echo hi\n")
        );
        assert_eq!(s[1].body, "echo deep\n");
        assert_eq!(s[1].terminal, TerminalSel::One(2));
        assert_eq!(s[1].checks.len(), 1);
        let p = parse("# T\n\n> ```execute\n> ls\n");
        assert_eq!(p.diagnostics[0].code, Code::UnclosedFence);
    }

    #[test]
    fn unclosed_fence_is_an_error() {
        let p = parse("# T\n```execute\nls\n");
        assert_eq!(p.diagnostics[0].code, Code::UnclosedFence);
        assert_eq!(p.diagnostics[0].line, 2);
    }

    #[test]
    fn unknown_attribute_names_column() {
        let p = parse("```execute {timout=3s}\nls\n```\n");
        let d = &p.diagnostics[0];
        assert_eq!((d.code, d.line, d.column), (Code::UnknownAttribute, 1, 13));
        assert_eq!(d.help.as_deref(), Some("did you mean `timeout`?"));
    }

    #[test]
    fn educates_blocks() {
        let p = parse(
            "```terminal:execute\ncommand: echo hi\nsession: 2\n```\n\n```examiner:execute-test\nname: test-that-pod-exists\nargs:\n- a\nretries: .INF\n```\n\n```terminal:interrupt\nsession: 2\n```\n",
        );
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        let s = &p.lab.steps;
        assert_eq!(s[0].body, "echo hi");
        assert_eq!(s[0].terminal, TerminalSel::One(2));
        assert_eq!(s[1].kind, StepKind::Check);
        assert_eq!(s[1].examiner.as_ref().unwrap().retries, None);
        assert_eq!(s[2].kind, StepKind::Interrupt);
        assert_eq!(s[2].terminal, TerminalSel::One(2));
    }

    #[test]
    fn bad_jsonpath_caret_in_file() {
        let p = parse("```execute\nls\n```\n```verify\n- json: $.a[?\n  exists: true\n```\n");
        let d = &p.diagnostics[0];
        assert_eq!(d.code, Code::BadJsonpath);
        assert_eq!(d.line, 5);
        assert!(d.column > 9, "{d:?}");
    }

    #[test]
    fn non_utf8() {
        let p = parse_lab(
            Path::new("x.md"),
            b"# ok\nbad \xff here\n",
            ParseOptions::default(),
        );
        assert_eq!(p.diagnostics[0].code, Code::NonUtf8);
        assert_eq!(p.diagnostics[0].line, 2);
    }

    #[test]
    fn ctrl_c_and_runme() {
        let p = parse(
            "```sh {\"name\": \"build\", \"exec\": true, \"interactive\": false}\nmake\n```\n```sh\nnot run\n```\n```execute\n<ctrl+c>\n```\n",
        );
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        assert_eq!(p.lab.steps.len(), 2);
        assert_eq!(p.lab.steps[0].id, "build");
        assert_eq!(p.lab.steps[1].kind, StepKind::Interrupt);
    }
}
