//! One chapter, rendered for students: step fences become labelled code blocks,
//! verify blocks a "Check your work" box, everything else stays byte for byte.
//!
//! The chapter is parsed with labctl's own parser, so the page students read and
//! the page labctl runs are the same bytes read the same way.

use std::ops::Range;
use std::path::Path;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag};
use serde_json::Value;

use super::plain_english;
use crate::diag::{Diagnostic, Severity};
use crate::lab::check_spec::CheckSpec;
use crate::lab::front_matter;
use crate::lab::parse::{LineIndex, ParseOptions, parse_lab};
use crate::lab::{ExpectedOutput, Lab, OutputMode, Step, StepKind, TerminalSel};
use crate::vars::{self, Sources, Vars};

/// Renders one chapter's markdown; `path` (relative to the book root) names it
/// in diagnostics and in the `labctl` commands the page suggests.
pub(crate) fn render_chapter(
    content: &str,
    path: &Path,
    sources: &Sources,
) -> Result<String, Vec<Diagnostic>> {
    let parsed = parse_lab(path, content.as_bytes(), ParseOptions::default());
    let errors: Vec<Diagnostic> = parsed
        .diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let lab = parsed.lab;
    let vars = sources.resolve(&lab.settings.vars);
    let page = Page {
        lab: &lab,
        idx: LineIndex::new(content),
        vars: &vars,
        workshop: workshop_arg(path),
    };
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let body_start = match front_matter::split(content) {
        // mdBook knows no front matter: left in, it would show as a rule and a heading.
        Some(fm) => {
            edits.push((0..fm.end, String::new()));
            fm.end
        }
        None => 0,
    };
    for fence in fences(content, body_start) {
        if let Some(html) = page.replacement(&fence) {
            edits.push((fence.outer.clone(), fence.indent(&html)));
        }
    }
    let mut out = String::with_capacity(content.len() + 1024);
    let mut last = 0;
    for (range, text) in edits {
        out.push_str(&content[last..range.start]);
        out.push_str(&text);
        last = range.end;
    }
    out.push_str(&content[last..]);
    Ok(out)
}

/// The folder argument for suggested commands: the chapter's folder, e.g. `labs/`.
fn workshop_arg(path: &Path) -> String {
    match path.parent().map(|p| p.to_string_lossy().into_owned()) {
        Some(p) if !p.is_empty() => format!("{p}/"),
        _ => ".".into(),
    }
}

/// A fenced code block as it sits in the page.
struct FenceAt {
    /// From the start of the opening line to past the closing line's newline.
    outer: Range<usize>,
    /// Byte offset where the body starts (matches `Step::body_span.start`).
    body_start: usize,
    /// The info word, e.g. `execute-2` or `verify`.
    word: String,
    /// Text before the fence characters on the opening line (indent, `> `, `- `).
    lead: String,
}

impl FenceAt {
    /// Re-indents a replacement so it stays inside the list item or quote the fence was in.
    fn indent(&self, text: &str) -> String {
        if self.lead.is_empty() {
            return text.to_string();
        }
        let cont: String = self
            .lead
            .chars()
            .map(|c| if c == '>' || c == '\t' { c } else { ' ' })
            .collect();
        let mut out = String::with_capacity(text.len() + 64);
        for (i, line) in text.split_inclusive('\n').enumerate() {
            let prefix = if i == 0 { self.lead.as_str() } else { &cont };
            if line.trim().is_empty() {
                out.push_str(prefix.trim_end());
            } else {
                out.push_str(prefix);
            }
            out.push_str(line);
        }
        out
    }
}

/// Every fenced code block below the front matter, as pulldown-cmark sees them.
fn fences(src: &str, body_start: usize) -> Vec<FenceAt> {
    let md = &src[body_start..];
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut out = Vec::new();
    for (event, range) in Parser::new_ext(md, opts).into_offset_iter() {
        let Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) = event else {
            continue;
        };
        let start = range.start + body_start;
        let end = range.end + body_start;
        let line_start = src[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let fence_at = start + (src[start..].len() - src[start..].trim_start().len());
        let body_start = src[start..end]
            .find('\n')
            .map(|i| start + i + 1)
            .unwrap_or(end);
        let trimmed_end = src[..end].trim_end_matches(['\n', '\r']).len();
        let outer_end = src[trimmed_end..]
            .find('\n')
            .map(|i| trimmed_end + i + 1)
            .unwrap_or(src.len());
        let info = info.trim();
        let word_end = info
            .find(|c: char| c.is_whitespace() || c == '{')
            .unwrap_or(info.len());
        out.push(FenceAt {
            outer: line_start..outer_end.max(body_start),
            body_start,
            word: info[..word_end].to_string(),
            lead: src[line_start..fence_at].to_string(),
        });
    }
    out
}

/// What a replacement needs to know about the page.
struct Page<'a> {
    lab: &'a Lab,
    idx: LineIndex<'a>,
    vars: &'a Vars,
    workshop: String,
}

impl Page<'_> {
    /// The replacement for a fence, or None when it is prose and stays as written.
    fn replacement(&self, f: &FenceAt) -> Option<String> {
        if let Some(step) = self
            .lab
            .steps
            .iter()
            .find(|s| s.body_span.start == f.body_start)
        {
            return Some(self.step(step));
        }
        if let Some((step, out)) = self.lab.steps.iter().find_map(|s| {
            s.expected
                .as_ref()
                .filter(|e| e.body_span.start == f.body_start)
                .map(|e| (s, e))
        }) {
            return Some(self.output(step, out, &f.word));
        }
        if f.word == "verify" {
            return Some(self.verify(f));
        }
        None
    }

    fn fill(&self, text: &str) -> String {
        fill(text, self.vars)
    }

    fn step(&self, step: &Step) -> String {
        match step.kind {
            StepKind::Execute => {
                let label = terminal_label(step.terminal);
                let mut head = format!(
                    "<div class=\"labctl-step labctl-execute\" data-step=\"{}\">\n<div class=\"labctl-label\">{label}</div>\n",
                    escape(&step.id)
                );
                if step.background {
                    head.push_str("<div class=\"labctl-background\">Keeps running; stop it with Ctrl-C</div>\n");
                }
                format!(
                    "{head}\n{}\n</div>\n\n",
                    code_block("bash", &self.fill(&step.body))
                )
            }
            StepKind::Interrupt => {
                let where_ = match step.terminal {
                    TerminalSel::All => "every terminal".to_string(),
                    t => terminal_label(t),
                };
                format!(
                    "<div class=\"labctl-step labctl-interrupt\" data-step=\"{}\">\n<div class=\"labctl-label\">{}</div>\n<p>Press <kbd>Ctrl-C</kbd> in {where_} to stop the command running there.</p>\n</div>\n\n",
                    escape(&step.id),
                    terminal_label(step.terminal)
                )
            }
            StepKind::Check => {
                let title = step
                    .examiner
                    .as_ref()
                    .map(|e| e.title.clone().unwrap_or_else(|| e.name.clone()))
                    .unwrap_or_else(|| step.id.clone());
                format!(
                    "<div class=\"labctl-step labctl-examiner\" data-step=\"{}\">\n<div class=\"labctl-label\">Check</div>\n<p>{}</p>\n</div>\n\n",
                    escape(&step.id),
                    escape(&self.fill(&title))
                )
            }
            StepKind::Manual => self.manual(step),
        }
    }

    /// Manual steps look the way their platform shows them: a copy box, an editor action...
    fn manual(&self, step: &Step) -> String {
        let (label, code) = match self.manual_action(step) {
            Manual::Boxed { label, code } => (label, code),
            Manual::Section(title) => {
                return format!("<div class=\"labctl-section\">{}</div>\n\n", escape(&title));
            }
            Manual::Hidden => return String::new(),
        };
        let mut out = format!(
            "<div class=\"labctl-step labctl-manual\" data-step=\"{}\">\n<div class=\"labctl-label\">{}</div>\n",
            escape(&step.id),
            escape(&label)
        );
        if let Some(code) = code.filter(|c| !c.trim().is_empty()) {
            out.push('\n');
            out.push_str(&code_block("text", &code));
            out.push('\n');
        }
        out.push_str("</div>\n\n");
        out
    }

    /// What a manual step's platform action shows: a box with a label and
    /// the text to copy or type, a section heading, or nothing.
    fn manual_action(&self, step: &Step) -> Manual {
        let fields = ActionFields::of(self, &step.body);
        let body = || Some(self.fill(&step.body));
        let (label, code) = match step.info.as_str() {
            "copy" | "copypaste" => ("Copy".into(), body()),
            "copy-and-edit" => ("Copy and edit".into(), body()),
            "workshop:copy" | "clipboard:copy" => ("Copy".into(), Some(fields.text())),
            "workshop:copy-and-edit" | "clipboard:copy-and-edit" => {
                ("Copy and edit".into(), Some(fields.text()))
            }
            "section:begin" => {
                let title = fields.get("title").or_else(|| fields.get("name"));
                return Manual::Section(title.unwrap_or_default());
            }
            "section:end" => return Manual::Hidden,
            w => match w.split_once(':') {
                Some(("terminal", action)) => fields.terminal(action),
                Some(("editor", action)) => fields.editor(action),
                Some(("dashboard", action)) => fields.dashboard(action),
                Some(("files", action)) => fields.files(action),
                _ => None,
            }
            .unwrap_or_else(|| (w.to_string(), body())),
        };
        Manual::Boxed { label, code }
    }

    fn output(&self, _step: &Step, out: &ExpectedOutput, word: &str) -> String {
        let lang = if word == "json" { "json" } else { "text" };
        let class = match out.mode {
            OutputMode::Strict => "labctl-output labctl-strict",
            OutputMode::Similar => "labctl-output",
        };
        format!(
            "<div class=\"{class}\">\n<div class=\"labctl-label\">Expected output</div>\n\n{}\n</div>\n\n",
            code_block(lang, &self.fill(&out.text))
        )
    }

    /// A verify block as a collapsed box of sentences and the command that checks them.
    fn verify(&self, f: &FenceAt) -> String {
        let first = self.idx.line_col(f.outer.start).0;
        let last = self.idx.line_col(f.outer.end.saturating_sub(1)).0;
        let anchor = self
            .lab
            .steps
            .iter()
            .rfind(|s| s.kind != StepKind::Manual && s.body_span.start < f.outer.start);
        let checks: Vec<&CheckSpec> = match anchor {
            Some(s) => s.checks.iter(),
            None => self.lab.preconditions.iter(),
        }
        .filter(|c| (first..=last).contains(&c.line))
        .collect();
        let summary = if anchor.is_some() {
            "Check your work"
        } else {
            "Before you start"
        };
        let mut out =
            format!("<details class=\"labctl-check\">\n<summary>{summary}</summary>\n<ul>\n");
        for c in &checks {
            let hint = match &c.hint {
                Some(h) => format!(
                    " <span class=\"labctl-hint\">Hint: {}</span>",
                    code_spans(&self.fill(h))
                ),
                None => String::new(),
            };
            out.push_str(&format!(
                "<li>{}{hint}</li>\n",
                code_spans(&self.fill(&plain_english::sentence(c)))
            ));
        }
        out.push_str("</ul>\n");
        // State checks ask the world and can run alone; output checks need the step's output.
        let all_state = checks.iter().all(|c| c.kind.is_state());
        let command = match (anchor, all_state) {
            (Some(s), true) => format!("labctl check {} --only {}", self.workshop, s.id),
            (Some(s), false) => format!("labctl run {} --only {}", self.workshop, s.id),
            (None, _) => format!("labctl check {}", self.workshop),
        };
        out.push_str(&format!(
            "<p class=\"labctl-how\">labctl checks this with <code>{}</code></p>\n</details>\n\n",
            escape(&command)
        ));
        out
    }
}

/// Fills defined variables; required ones with no value show as ‹name›.
pub(crate) fn fill(text: &str, vars: &Vars) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for u in vars::uses(text) {
        out.push_str(&text[last..u.range.start]);
        last = u.range.end;
        match vars.get(&u.name) {
            Some(v) => out.push_str(v),
            None if vars::is_required(&u) => out.push_str(&format!("‹{}›", u.name)),
            None => out.push_str(&text[u.range.clone()]),
        }
    }
    out.push_str(&text[last..]);
    out
}

fn terminal_label(t: TerminalSel) -> String {
    match t {
        TerminalSel::One(n) => format!("Terminal {n}"),
        TerminalSel::All => "All terminals".into(),
        TerminalSel::None => String::new(),
    }
}

/// A fenced code block, kept as markdown so mdBook highlights it and adds its copy button.
fn code_block(lang: &str, body: &str) -> String {
    // A fence longer than any backtick run in the body cannot be closed by it.
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    let nl = if body.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{lang}\n{body}{nl}{fence}\n")
}

/// Escapes text for HTML.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a sentence and turns its `backticked` parts into `<code>`.
fn code_spans(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        // An odd number of backticks: show them as written rather than guess.
        return escape(s);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", escape(p))
            } else {
                escape(p)
            }
        })
        .collect()
}

/// A Homeroom or Educates action's YAML fields, variables filled in.
struct ActionFields<'p> {
    page: &'p Page<'p>,
    yaml: serde_json::Map<String, Value>,
}

/// A box's label and the text in it.
type Boxed = (String, Option<String>);

impl<'p> ActionFields<'p> {
    fn of(page: &'p Page<'p>, body: &str) -> ActionFields<'p> {
        let yaml = match serde_saphyr::from_str::<Value>(body) {
            Ok(Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        ActionFields { page, yaml }
    }

    fn get(&self, key: &str) -> Option<String> {
        self.yaml
            .get(key)
            .map(crate::json_text::to_text)
            .map(|s| self.page.fill(&s))
    }

    fn or_empty(&self, key: &str) -> String {
        self.get(key).unwrap_or_default()
    }

    fn text(&self) -> String {
        self.or_empty("text")
    }

    fn file(&self) -> String {
        self.get("file").unwrap_or_else(|| "the file".into())
    }

    fn path_or_file(&self) -> String {
        self.get("path").unwrap_or_else(|| self.file())
    }

    fn terminal(&self, action: &str) -> Option<Boxed> {
        let session = self.get("session").unwrap_or_else(|| "1".into());
        Some(match action {
            "input" => (format!("Type in Terminal {session}"), Some(self.text())),
            "clear" => (format!("Clear Terminal {session}"), None),
            "clear-all" => ("Clear every terminal".into(), None),
            _ => return None,
        })
    }

    fn editor(&self, action: &str) -> Option<Boxed> {
        let (file, text) = (self.file(), Some(self.text()));
        Some(match action {
            "append-lines-to-file" => (format!("Add to the end of {file}"), text),
            "insert-lines-before-line" => {
                let line = self.or_empty("line");
                (format!("In {file}, insert before line {line}"), text)
            }
            "select-matching-text" => (format!("In {file}, find"), text),
            "replace-text-selection" => (format!("In {file}, replace the selection with"), text),
            "insert-value-into-yaml" => {
                let path = self.or_empty("path");
                (format!("In {file}, set {path}"), self.get("value"))
            }
            "execute-command" => {
                let command = self.or_empty("command");
                (format!("Run the editor command {command}"), None)
            }
            // open-file, and any editor action newer than this list.
            _ => (format!("Open in the editor: {file}"), None),
        })
    }

    fn dashboard(&self, action: &str) -> Option<Boxed> {
        let (name, url) = (self.or_empty("name"), self.or_empty("url"));
        let label = match action {
            "open-dashboard" => format!("Open the {name} tab"),
            "open-url" => format!("Open {url}"),
            "create-dashboard" => format!("Open a new tab {name}: {url}"),
            "reload-dashboard" => format!("Reload the {name} tab"),
            "delete-dashboard" => format!("Close the {name} tab"),
            _ => return None,
        };
        Some((label, None))
    }

    fn files(&self, action: &str) -> Option<Boxed> {
        let path = self.path_or_file();
        let label = match action {
            "download-file" => format!("Download {path}"),
            "upload-file" => format!("Upload {path}"),
            "copy-file" => format!("Copy the contents of {path}"),
            _ => return None,
        };
        Some((label, None))
    }
}

/// What a manual step shows.
enum Manual {
    /// A labelled box, with text to copy or type when there is any.
    Boxed { label: String, code: Option<String> },
    /// A section's title (`section:begin`).
    Section(String),
    /// Nothing (`section:end`).
    Hidden,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(pairs: &[(&str, &str)]) -> Sources {
        Sources {
            book: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Sources::default()
        }
    }

    fn render(src: &str) -> String {
        render_chapter(
            src,
            Path::new("labs/lab.md"),
            &sources(&[("username", "user1")]),
        )
        .unwrap_or_else(|d| panic!("{}", crate::diag::render(&d, false)))
    }

    #[test]
    fn execute_step_becomes_a_labelled_bash_block() {
        let out = render(
            "# T\n\nRun:\n\n```execute {name=first timeout=30s}\necho %username%\n```\n\nAfter.\n",
        );
        assert!(out.starts_with("# T\n\nRun:\n\n"), "{out}");
        assert!(
            out.contains("<div class=\"labctl-label\">Terminal 1</div>"),
            "{out}"
        );
        assert!(out.contains("```bash\necho user1\n```\n"), "{out}");
        assert!(!out.contains("{name="), "{out}");
        assert!(!out.contains("timeout"), "{out}");
        assert!(out.ends_with("\nAfter.\n"), "{out}");
    }

    #[test]
    fn other_terminals_and_all() {
        let out = render("```execute-2\nls\n```\n\n```execute-all\npwd\n```\n");
        assert!(out.contains(">Terminal 2</div>"), "{out}");
        assert!(out.contains(">All terminals</div>"), "{out}");
    }

    #[test]
    fn background_step_is_marked() {
        let out = render("```execute-2\nwatch oc get pods\n```\n");
        assert!(out.contains("Keeps running; stop it with Ctrl-C"), "{out}");
        let out = render("```execute {background=true}\nserve\n```\n");
        assert!(out.contains("Keeps running"), "{out}");
        let out = render("```execute\nls\n```\n");
        assert!(!out.contains("Keeps running"), "{out}");
    }

    #[test]
    fn interrupt_says_press_ctrl_c() {
        let out = render("```execute-2\n<ctrl+c>\n```\n\n```terminal:interrupt\nsession: 3\n```\n");
        assert!(
            out.contains("Press <kbd>Ctrl-C</kbd> in Terminal 2"),
            "{out}"
        );
        assert!(
            out.contains("Press <kbd>Ctrl-C</kbd> in Terminal 3"),
            "{out}"
        );
        assert!(
            !out.contains("&lt;ctrl+c&gt;") && !out.contains("<ctrl+c>"),
            "{out}"
        );
    }

    #[test]
    fn educates_execute_uses_the_command() {
        let out = render("```terminal:execute\ncommand: echo {{ username }}\nsession: 2\n```\n");
        assert!(out.contains(">Terminal 2</div>"), "{out}");
        assert!(out.contains("```bash\necho user1\n```"), "{out}");
        assert!(!out.contains("command:"), "{out}");
    }

    #[test]
    fn examiner_is_a_check_box_with_its_title() {
        let out = render(
            "```examiner:execute-test\nname: test-pod\ntitle: The pod is running\nretries: .INF\n```\n",
        );
        assert!(
            out.contains("<div class=\"labctl-label\">Check</div>"),
            "{out}"
        );
        assert!(out.contains("<p>The pod is running</p>"), "{out}");
        assert!(!out.contains("retries"), "{out}");
    }

    #[test]
    fn manual_copy_and_editor() {
        let out = render("```copy\nexport X=%username%\n```\n");
        assert!(out.contains(">Copy</div>"), "{out}");
        assert!(out.contains("```text\nexport X=user1\n```"), "{out}");
        let out = render("```editor:open-file\nfile: ~/exercises/app.yaml\nline: 3\n```\n");
        assert!(
            out.contains(">Open in the editor: ~/exercises/app.yaml</div>"),
            "{out}"
        );
        assert!(!out.contains("line: 3"), "{out}");
        let out = render("```editor:append-lines-to-file\nfile: a.txt\ntext: |\n  hello\n```\n");
        assert!(out.contains(">Add to the end of a.txt</div>"), "{out}");
        assert!(out.contains("```text\nhello\n```"), "{out}");
    }

    #[test]
    fn manual_terminal_dashboard_and_section() {
        let out = render("```terminal:input\ntext: oc whoami\nsession: 2\n```\n");
        assert!(out.contains(">Type in Terminal 2</div>"), "{out}");
        assert!(out.contains("```text\noc whoami\n```"), "{out}");
        let out = render("```dashboard:open-dashboard\nname: Console\n```\n");
        assert!(out.contains(">Open the Console tab</div>"), "{out}");
        let out = render("```section:begin\ntitle: Extra\n```\n\ntext\n\n```section:end\n```\n");
        assert!(
            out.contains("<div class=\"labctl-section\">Extra</div>"),
            "{out}"
        );
        assert!(!out.contains("section:end"), "{out}");
    }

    #[test]
    fn strict_output_is_marked() {
        let out = render("```execute\necho hi\n```\n\n```output\nhi\n```\n");
        assert!(
            out.contains("<div class=\"labctl-output labctl-strict\">"),
            "{out}"
        );
        assert!(out.contains("```text\nhi\n```"), "{out}");
    }

    #[test]
    fn verify_becomes_check_your_work_in_english() {
        let out = render(
            "```execute {name=scrape}\ncurl -s x | jq\n```\n\n```verify\n- json: $.oops.cause.code\n  equals: ECONNRESET\n```\n\n```execute {name=apply}\noc apply -f x\n```\n\n```verify\n- http: http://scraper.%username%:8080/s\n  status: 200\n  json: $[*].link\n  count: { min: 1 }\n- kube: networking.istio.io/v1alpha3/ServiceEntry\n  name: egress\n  namespace: '%username%'\n  fields: { spec: { hosts: [www.googleapis.com] } }\n```\n",
        );
        assert!(
            out.contains("<details class=\"labctl-check\">\n<summary>Check your work</summary>"),
            "{out}"
        );
        assert!(
            out.contains("<li>The reply's <code>$.oops.cause.code</code> is ECONNRESET</li>"),
            "{out}"
        );
        assert!(
            out.contains("<code>labctl run labs/ --only scrape</code>"),
            "{out}"
        );
        assert!(out.contains("<li>http://scraper.user1:8080/s answers 200 with at least 1 <code>$[*].link</code></li>"), "{out}");
        assert!(
            out.contains(
                "The ServiceEntry egress in namespace user1 lists host www.googleapis.com"
            ),
            "{out}"
        );
        assert!(
            out.contains("<code>labctl check labs/ --only apply</code>"),
            "{out}"
        );
        assert!(!out.contains("json: $.oops"), "{out}");
        assert!(!out.contains("```verify"), "{out}");
    }

    #[test]
    fn verify_before_any_step_is_a_precondition() {
        let out = render("```verify\n- command: oc whoami\n```\n\n```execute\nls\n```\n");
        assert!(out.contains("<summary>Before you start</summary>"), "{out}");
        assert!(
            out.contains("The command <code>oc whoami</code> succeeds"),
            "{out}"
        );
    }

    #[test]
    fn expected_output_is_captioned() {
        let out = render("```execute\necho hi\n```\n\n```\nhi %username%\n```\n");
        assert!(
            out.contains(">Expected output</div>\n\n```text\nhi user1\n```"),
            "{out}"
        );
        let out = render("```execute\necho hi\n```\n\n```output {stream=stderr}\nhi\n```\n");
        assert!(out.contains(">Expected output</div>"), "{out}");
        assert!(!out.contains("stream="), "{out}");
        let out = render("```execute\necho '{}'\n```\n\n```json\n{}\n```\n");
        assert!(out.contains("```json\n{}\n```"), "{out}");
    }

    #[test]
    fn prose_fences_and_front_matter() {
        let src = "---\ntitle: T\nlabctl:\n  vars: { x: y }\n---\n# T\n\n```yaml\nkind: A # %username%\n```\n";
        let out = render(src);
        assert_eq!(out, "# T\n\n```yaml\nkind: A # %username%\n```\n");
    }

    #[test]
    fn missing_variable_shows_a_placeholder() {
        let out = render_chapter(
            "```execute\noc project %project_namespace% # 100% %20\n```\n",
            Path::new("lab.md"),
            &Sources::default(),
        )
        .unwrap();
        assert!(
            out.contains("oc project ‹project_namespace› # 100% %20"),
            "{out}"
        );
    }

    #[test]
    fn fence_in_a_list_item_stays_in_it() {
        let out = render("1. Run:\n\n   ```execute\n   ls\n   ```\n\n2. Next\n");
        assert!(out.contains("   ```bash\n   ls\n   ```\n"), "{out}");
        assert!(out.contains("   <div class=\"labctl-step"), "{out}");
    }

    #[test]
    fn body_with_backticks_gets_a_longer_fence() {
        let out = render("````execute\necho ```\n````\n");
        assert!(out.contains("````bash\necho ```\n````"), "{out}");
    }

    #[test]
    fn parse_error_fails_with_diagnostics() {
        let err = render_chapter(
            "# T\n\n```execute {timout=3s}\nls\n```\n",
            Path::new("labs/bad.md"),
            &Sources::default(),
        )
        .unwrap_err();
        assert_eq!(err[0].code, "unknown-attribute");
        let text = crate::diag::render(&err, false);
        assert!(text.contains("labs/bad.md:3:"), "{text}");
    }
}
