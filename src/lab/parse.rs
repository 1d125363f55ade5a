//! The markdown walk: pulldown-cmark events (with byte offsets) → a Lab, plus
//! diagnostics for everything that is wrong. No I/O but what the caller passes in.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde_json::Value;

use super::check_spec::{self, CheckSpec, SpecError};
use super::front_matter;
use super::info::{self, BodyFormat, FenceRole, InfoString};
use super::model::*;
use crate::diag::{Code, Diagnostic, Severity};

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
pub fn parse_lab(path: &Path, bytes: &[u8]) -> ParsedLab {
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

    fn build_steps(&mut self, lab: &mut Lab, fences: Vec<Fence>, body_start: usize) {
        let mut prose_from = body_start;
        let mut run_index = 0usize;
        let mut manual_index = 0usize;
        let mut seen_names: BTreeMap<String, usize> = BTreeMap::new();
        // Index into lab.steps of the step that verify/output fences attach to.
        let mut anchor: Option<usize> = None;
        let mut steps: Vec<Step> = Vec::new();
        for f in fences {
            let info_start = f.range.start
                + f.indent
                + self.src[f.range.start + f.indent..]
                    .chars()
                    .take_while(|c| *c == '`' || *c == '~')
                    .count();
            let info_lead = self.src[info_start..].len()
                - self.src[info_start..].trim_start_matches([' ', '\t']).len();
            let info_base = info_start + info_lead;
            let parsed = match info::parse_info(f.info.trim()) {
                Ok(p) => p,
                Err(e) => {
                    let word = f.info.split_whitespace().next().unwrap_or("").to_string();
                    if !matches!(
                        info::role(&word),
                        FenceRole::Prose | FenceRole::Output { .. }
                    ) {
                        self.diag(Severity::Error, Code::BadAttributes, info_base + e.offset..info_base + e.offset + 1, e.message, Some("write attributes as {key=value key2=\"quoted value\"} or as JSON {\"key\": \"value\"}".into()));
                    }
                    InfoString {
                        word,
                        attributes: Vec::new(),
                    }
                }
            };
            let mut role = info::role(&parsed.word);
            if role == FenceRole::MaybeShell {
                let exec = parsed
                    .attributes
                    .iter()
                    .any(|a| a.key == "exec" && info::truthy(&a.value) != Some(false));
                role = if exec {
                    FenceRole::Step {
                        kind: StepKind::Execute,
                        terminal: TerminalSel::One(1),
                        body: BodyFormat::Script,
                    }
                } else {
                    FenceRole::Prose
                };
            }
            let body = f.body.replace("\r\n", "\n");
            if !f.closed && matches!(role, FenceRole::Prose | FenceRole::Output { .. }) {
                self.diag(Severity::Error, Code::UnclosedFence, f.range.start..f.range.start + 3,
                    format!("the `{}` fence is never closed", if parsed.word.is_empty() { "```" } else { &parsed.word }),
                    Some("close it with a ``` line; everything after it, steps included, is inside it otherwise".into()));
                continue;
            }
            if role == FenceRole::Prose && parsed.word.starts_with("execute-") {
                self.diag(
                    Severity::Error,
                    Code::BadTerminal,
                    info_base..info_base + parsed.word.len(),
                    format!("`{}` names no terminal", parsed.word),
                    Some(format!(
                        "write execute-N with N from 1 to {}, or execute-all",
                        info::MAX_TERMINAL
                    )),
                );
                continue;
            }
            match role {
                FenceRole::Prose => {}
                FenceRole::Verify => {
                    let checks = self.parse_verify(&f, &body);
                    match anchor {
                        Some(i) => steps[i].checks.extend(checks),
                        None => lab.preconditions.extend(checks),
                    }
                }
                FenceRole::Output { strict } => {
                    let Some(i) = anchor else { continue };
                    if steps[i].expected.is_some() {
                        continue;
                    }
                    let known: &[&str] = if strict { info::OUTPUT_KEYS } else { &[] };
                    self.check_keys(&parsed, known, info_base, strict);
                    let stream = match parsed
                        .attributes
                        .iter()
                        .find(|a| a.key == "stream")
                        .map(|a| a.value.clone())
                    {
                        None => OutputStream::Stdout,
                        Some(Value::String(s)) if s == "stdout" => OutputStream::Stdout,
                        Some(Value::String(s)) if s == "stderr" => OutputStream::Stderr,
                        Some(Value::String(s)) if s == "both" => OutputStream::Both,
                        Some(v) => {
                            self.diag(
                                Severity::Error,
                                Code::BadAttributeValue,
                                f.range.clone(),
                                format!("`stream={v}` is not a stream"),
                                Some("write stream=stdout, stream=stderr or stream=both".into()),
                            );
                            OutputStream::Stdout
                        }
                    };
                    steps[i].expected = Some(ExpectedOutput {
                        span: self.idx.span(f.range.start..f.range.start + 3),
                        mode: if strict {
                            OutputMode::Strict
                        } else {
                            OutputMode::Similar
                        },
                        stream,
                        text: body,
                        body_span: f.body_range.clone(),
                    });
                }
                FenceRole::Step {
                    kind,
                    terminal,
                    body: format,
                } => {
                    if !f.closed {
                        self.diag(Severity::Error, Code::UnclosedFence, f.range.start..f.range.start + 3,
                            format!("the `{}` fence is never closed", parsed.word),
                            Some("close it with a ``` line; CommonMark would otherwise run the rest of the page as shell".into()));
                        continue;
                    }
                    let prose = self.src[prose_from.min(f.range.start)..f.range.start]
                        .trim()
                        .to_string();
                    prose_from = f.range.end;
                    if let Some(step) = self.build_step(
                        &parsed,
                        &f,
                        body,
                        kind,
                        terminal,
                        format,
                        info_base,
                        prose,
                        &mut run_index,
                        &mut manual_index,
                    ) {
                        if let Some(name) = &step.name
                            && let Some(first) = seen_names.insert(name.clone(), step.span.line)
                        {
                            self.diag(Severity::Error, Code::DuplicateStep, f.range.start..f.range.start + 3,
                                    format!("step name `{name}` is used twice in this lab (first on line {first})"),
                                    Some("give each step a unique name".into()));
                        }
                        if step.kind != StepKind::Manual {
                            anchor = Some(steps.len());
                        }
                        steps.push(step);
                    }
                }
                FenceRole::MaybeShell => unreachable!("resolved above"),
            }
        }
        lab.steps = steps.into_iter().map(std::sync::Arc::new).collect();
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

    #[allow(clippy::too_many_arguments)]
    fn build_step(
        &mut self,
        parsed: &InfoString,
        f: &Fence,
        body: String,
        kind: StepKind,
        mut terminal: TerminalSel,
        format: BodyFormat,
        info_base: usize,
        prose: String,
        run_index: &mut usize,
        manual_index: &mut usize,
    ) -> Option<Step> {
        let runme = matches!(parsed.word.as_str(), "sh" | "bash" | "shell");
        let known: Vec<&str> = if runme {
            info::STEP_KEYS
                .iter()
                .chain(info::RUNME_KEYS)
                .copied()
                .collect()
        } else {
            info::STEP_KEYS.to_vec()
        };
        self.check_keys(
            parsed,
            &known,
            info_base,
            kind != StepKind::Manual || !parsed.attributes.is_empty(),
        );
        let attrs = parsed.map();
        let fence_start = f.range.start..f.range.start + 3;
        let attr_range = |key: &str| {
            parsed
                .attributes
                .iter()
                .find(|a| a.key == key)
                .map(|a| info_base + a.offset..info_base + a.offset + key.len())
                .unwrap_or(fence_start.clone())
        };
        let duration = |this: &mut Self, key: &str| -> Option<Duration> {
            let v = attrs.get(key)?;
            match check_spec::parse_duration(v) {
                Ok(d) => Some(d),
                Err(e) => {
                    this.diag(
                        Severity::Error,
                        Code::BadAttributeValue,
                        attr_range(key),
                        format!("`{key}`: {e}"),
                        Some("durations look like 30s, 2m or 1m30s".into()),
                    );
                    None
                }
            }
        };
        let timeout = duration(self, "timeout");
        let timing = Timing {
            within: duration(self, "within"),
            interval: duration(self, "interval"),
            hold: None,
        };
        let exit = match attrs.get("exit") {
            None => ExpectedExit::Code(0),
            Some(v) => match check_spec::parse_exit(v) {
                Ok(e) => e,
                Err(e) => {
                    self.diag(
                        Severity::Error,
                        Code::BadAttributeValue,
                        attr_range("exit"),
                        e,
                        None,
                    );
                    ExpectedExit::Code(0)
                }
            },
        };
        let skip = attrs.get("skip").and_then(|v| match v {
            Value::Bool(true) => Some("skipped by the author".to_string()),
            Value::String(s) if s == "false" => None,
            Value::String(s) if s == "true" => Some("skipped by the author".to_string()),
            Value::String(s) => Some(s.clone()),
            _ => None,
        });
        if let Some(t) = attrs.get("terminal") {
            match t
                .as_u64()
                .or_else(|| t.as_str().and_then(|s| s.parse().ok()))
            {
                Some(n) if (1..=u64::from(info::MAX_TERMINAL)).contains(&n) => {
                    terminal = TerminalSel::One(n as u32)
                }
                _ if t.as_str() == Some("all") => terminal = TerminalSel::All,
                _ => self.diag(
                    Severity::Error,
                    Code::BadAttributeValue,
                    attr_range("terminal"),
                    format!("`terminal={t}` is not a terminal number"),
                    Some(format!(
                        "write terminal=2 (1 to {}) or terminal=all",
                        info::MAX_TERMINAL
                    )),
                ),
            }
        }
        let name = match attrs
            .get("name")
            .or(if runme { attrs.get("id") } else { None })
        {
            Some(Value::String(s)) if s.chars().any(info::is_invisible) => {
                self.diag(
                    Severity::Error,
                    Code::InvisibleName,
                    attr_range("name"),
                    format!("step name {s:?} holds an invisible or bidi-control character"),
                    Some("retype the name: what the page shows is not what it says".into()),
                );
                None
            }
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(v) => {
                self.diag(
                    Severity::Error,
                    Code::BadAttributeValue,
                    attr_range("name"),
                    format!("`name={v}` must be a non-empty string"),
                    None,
                );
                None
            }
            None => None,
        };
        let mut script = body;
        let mut examiner = None;
        match format {
            BodyFormat::Script | BodyFormat::Manual => {}
            BodyFormat::EducatesCommand | BodyFormat::EducatesInterrupt => {
                match self.educates_body(f, &script, format) {
                    Some((command, session)) => {
                        script = command;
                        if let (Some(n), TerminalSel::One(_)) = (session, terminal) {
                            terminal = TerminalSel::One(n);
                        }
                    }
                    None => return None,
                }
            }
            BodyFormat::Examiner => {
                examiner = Some(self.examiner_body(f, &script)?);
                script = String::new();
            }
        }
        let mut kind = kind;
        if kind == StepKind::Execute && script.trim() == "<ctrl+c>" {
            kind = StepKind::Interrupt;
            script.clear();
        }
        let (background, background_auto) =
            match attrs.get("background").map(|v| (v, info::truthy(v))) {
                Some((_, Some(b))) => (b, false),
                Some((v, None)) => {
                    self.diag(
                        Severity::Error,
                        Code::BadAttributeValue,
                        attr_range("background"),
                        format!("`background={v}` must be true or false"),
                        None,
                    );
                    (false, false)
                }
                None => {
                    let auto = kind == StepKind::Execute && looks_endless(&script);
                    (auto, auto)
                }
            };
        let id = if kind == StepKind::Manual {
            *manual_index += 1;
            name.clone()
                .unwrap_or_else(|| format!("{}:manual-{}", self.stem, manual_index))
        } else {
            *run_index += 1;
            name.clone()
                .unwrap_or_else(|| format!("{}:{}", self.stem, run_index))
        };
        Some(Step {
            id,
            name,
            index: 0,
            span: self
                .idx
                .span(f.range.start + f.indent..f.range.start + f.indent + 3),
            info: parsed.word.clone(),
            kind,
            terminal,
            body: script,
            body_span: f.body_range.clone(),
            background,
            background_auto,
            timeout,
            timing,
            exit,
            skip,
            checks: Vec::new(),
            expected: None,
            examiner,
            prose,
            attributes: attrs,
        })
    }

    fn yaml_body(
        &mut self,
        f: &Fence,
        body: &str,
        what: &str,
    ) -> Option<serde_json::Map<String, Value>> {
        if body.trim().is_empty() {
            return Some(serde_json::Map::new());
        }
        match serde_saphyr::from_str::<Value>(body) {
            Ok(Value::Object(m)) => Some(m),
            Ok(Value::Null) => Some(serde_json::Map::new()),
            Ok(other) => {
                self.diag(
                    Severity::Error,
                    Code::BadYaml,
                    f.body_range.start..f.body_range.start + 1,
                    format!("the {what} body must be a YAML map, found `{other}`"),
                    None,
                );
                None
            }
            Err(e) => {
                let (line, col) = e
                    .location()
                    .map(|l| (l.line() as usize, l.column() as usize))
                    .unwrap_or((1, 1));
                let at = self
                    .idx
                    .line_start(self.idx.line_col(f.body_range.start).0 + line - 1)
                    + col.saturating_sub(1);
                self.diag(
                    Severity::Error,
                    Code::BadYaml,
                    at..at + 1,
                    format!(
                        "the {what} body is not valid YAML: {}",
                        first_line(&e.to_string())
                    ),
                    None,
                );
                None
            }
        }
    }

    fn educates_body(
        &mut self,
        f: &Fence,
        body: &str,
        format: BodyFormat,
    ) -> Option<(String, Option<u32>)> {
        let m = self.yaml_body(f, body, "Educates terminal")?;
        let session = m
            .get("session")
            .and_then(|s| {
                s.as_u64()
                    .or_else(|| s.as_str().and_then(|t| t.parse().ok()))
            })
            .map(|n| n as u32);
        let known: &[&str] = if format == BodyFormat::EducatesCommand {
            &[
                "command",
                "session",
                "clear",
                "prefix",
                "description",
                "autorestart",
                "cascade",
                "hidden",
            ]
        } else {
            &["session", "prefix", "description", "cascade", "hidden"]
        };
        for k in m.keys() {
            if !known.contains(&k.as_str()) {
                self.diag(
                    Severity::Warning,
                    Code::UnknownAttribute,
                    f.body_range.start..f.body_range.start + 1,
                    format!("unknown key `{k}` in an Educates terminal block"),
                    check_spec::nearest(k, known.iter().copied())
                        .map(|n| format!("did you mean `{n}`?")),
                );
            }
        }
        if format == BodyFormat::EducatesCommand {
            match m.get("command") {
                Some(Value::String(c)) => Some((c.clone(), session)),
                _ => {
                    self.diag(
                        Severity::Error,
                        Code::BadYaml,
                        f.range.start..f.range.start + 3,
                        "a terminal:execute block needs `command:`",
                        Some("write `command: echo hello`".into()),
                    );
                    None
                }
            }
        } else {
            Some((String::new(), session))
        }
    }

    fn examiner_body(&mut self, f: &Fence, body: &str) -> Option<ExaminerTest> {
        // YAML's .INF is a float JSON cannot hold; Educates uses it for "retry forever".
        static INF: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        let inf = INF.get_or_init(|| {
            regex::Regex::new(r"(?mi)^(\s*retries:\s*)[+]?\.inf\s*$").expect("static regex")
        });
        let body = inf.replace_all(body, "${1}-1");
        let m = self.yaml_body(f, &body, "examiner test")?;
        let Some(Value::String(name)) = m.get("name") else {
            self.diag(
                Severity::Error,
                Code::BadYaml,
                f.range.start..f.range.start + 3,
                "an examiner:execute-test block needs `name:`",
                Some("name the script under workshop/examiner/tests/".into()),
            );
            return None;
        };
        let secs = |k: &str, d: f64| {
            m.get(k)
                .and_then(|v| {
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .unwrap_or(d)
        };
        let retries = match m.get("retries") {
            None => Some(0),
            Some(Value::String(s)) if s.eq_ignore_ascii_case(".inf") => None,
            Some(v) => match v.as_f64() {
                Some(n) if n < 0.0 || n.is_infinite() => None,
                Some(n) => Some(n as u32),
                // serde-saphyr turns .INF into a float that JSON cannot hold: it arrives as null.
                None => None,
            },
        };
        let args = match m.get("args") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect(),
            Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
            _ => Vec::new(),
        };
        Some(ExaminerTest {
            name: name.clone(),
            title: m.get("title").and_then(|t| t.as_str()).map(str::to_string),
            args,
            timeout: Duration::from_secs_f64(secs("timeout", 15.0).max(0.0)),
            retries,
            delay: Duration::from_secs_f64(secs("delay", 1.0).max(0.0)),
        })
    }

    fn parse_verify(&mut self, f: &Fence, body: &str) -> Vec<CheckSpec> {
        let body_line = self.idx.line_col(f.body_range.start).0;
        if !f.closed {
            self.diag(
                Severity::Error,
                Code::UnclosedFence,
                f.range.start..f.range.start + 3,
                "the `verify` fence is never closed",
                Some("close it with a ``` line".into()),
            );
            return Vec::new();
        }
        let items = match serde_saphyr::from_str::<Value>(body) {
            Ok(Value::Array(items)) => items,
            Ok(Value::Null) => {
                self.diag(
                    Severity::Error,
                    Code::CheckAssertsNothing,
                    f.range.start..f.range.start + 3,
                    "this `verify` block is empty",
                    Some("list checks, e.g. `- exit: 0`".into()),
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
                let (line, col) = e
                    .location()
                    .map(|l| (l.line() as usize, l.column() as usize))
                    .unwrap_or((1, 1));
                let at = self.idx.line_start(body_line + line - 1) + col.saturating_sub(1);
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
        parse_lab(Path::new("lab.md"), src.as_bytes())
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
        assert_eq!(p.diagnostics[0].code, "unclosed-fence");
    }

    #[test]
    fn unclosed_fence_is_an_error() {
        let p = parse("# T\n```execute\nls\n");
        assert_eq!(p.diagnostics[0].code, "unclosed-fence");
        assert_eq!(p.diagnostics[0].line, 2);
    }

    #[test]
    fn unknown_attribute_names_column() {
        let p = parse("```execute {timout=3s}\nls\n```\n");
        let d = &p.diagnostics[0];
        assert_eq!(
            (d.code.as_str(), d.line, d.column),
            ("unknown-attribute", 1, 13)
        );
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
        assert_eq!(d.code, "bad-jsonpath");
        assert_eq!(d.line, 5);
        assert!(d.column > 9, "{d:?}");
    }

    #[test]
    fn non_utf8() {
        let p = parse_lab(Path::new("x.md"), b"# ok\nbad \xff here\n");
        assert_eq!(p.diagnostics[0].code, "non-utf8");
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
