//! The HTML report: one self-contained page (inline CSS, no script, no
//! network) with the users x steps matrix, the failures grouped by step and
//! every step's detail. The markup is well-formed XML (every tag closed,
//! attributes quoted, void elements self-closed) so tests can parse it strictly.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::collect::{Collected, UserRecord};
use super::failure;
use super::groups::{columns, failure_groups, user_label};
use super::mesh_graph::MeshGraphs;
use super::xml_text::is_xml_char;
use super::{ReportError, Reporter, write_atomic};
use crate::event::{CheckStatus, Event, EventKind, StepOutcome, StepResult};

/// Collects the run and writes the HTML page at RunFinished.
pub(crate) struct HtmlReporter {
    path: PathBuf,
    run: Collected,
    mesh: MeshGraphs,
}

impl HtmlReporter {
    /// A reporter writing to `path`.
    pub(crate) fn new(path: PathBuf) -> Self {
        HtmlReporter {
            path,
            run: Collected::default(),
            mesh: Default::default(),
        }
    }
}

impl Reporter for HtmlReporter {
    fn event(&mut self, event: &Event) -> Result<(), ReportError> {
        self.run.apply(event);
        if let EventKind::RunFinished { .. } = event.kind {
            let page = document_with_mesh(&self.run, &self.mesh);
            write_atomic("html", &self.path, page.as_bytes())?;
        }
        Ok(())
    }

    fn mesh_graphs(&mut self, graphs: &MeshGraphs) {
        self.mesh = graphs.clone();
    }

    fn wants_mesh_graphs(&self) -> bool {
        true
    }
}

/// Escapes text for element content and quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Characters XML 1.0 forbids, even as references, and other
            // controls (CR included) that a page should not carry.
            c if !is_xml_char(c) || (c.is_control() && c != '\n' && c != '\t') => {
                out.push('\u{fffd}')
            }
            c => out.push(c),
        }
    }
    out
}

/// The anchor of a user's step: `u-USER-STEPID`, with characters that would
/// need escaping in a URL fragment replaced so href and id always match.
pub(crate) fn anchor(user: &str, step_id: &str) -> String {
    format!("u-{}-{}", clean(user), clean(step_id))
}

/// The anchor of a user's section: `user-USER` (never equal to a step anchor,
/// which starts with `u-`).
fn user_anchor(label: &str) -> String {
    format!("user-{}", clean(label))
}

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Mark and CSS class of a step outcome.
fn mark(o: StepOutcome) -> (&'static str, &'static str) {
    match o {
        StepOutcome::Passed => ("✓", "passed"),
        StepOutcome::Skipped => ("⊘", "skipped"),
        StepOutcome::Failed
        | StepOutcome::TimedOut
        | StepOutcome::Error
        | StepOutcome::Interrupted => ("✗", "failed"),
    }
}

fn outcome_name(o: StepOutcome) -> &'static str {
    match o {
        StepOutcome::Passed => "passed",
        StepOutcome::Failed => "failed",
        StepOutcome::TimedOut => "timed out",
        StepOutcome::Skipped => "skipped",
        StepOutcome::Error => "error",
        StepOutcome::Interrupted => "interrupted",
    }
}

fn check_mark(c: CheckStatus) -> (&'static str, &'static str) {
    match c {
        CheckStatus::Passed => ("✓", "passed"),
        CheckStatus::Failed => ("✗", "failed"),
        CheckStatus::Error => ("!", "failed"),
        CheckStatus::Skipped => ("⊘", "skipped"),
    }
}

const CSS: &str = "
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #59636e; --border: #d1d9e0;
  --code-bg: #f6f8fa; --pass: #1a7f37; --fail: #cf222e; --fail-bg: #ffebe9; --skip: #6e7781;
  --warn: #9a6700; --add-bg: #dafbe1; --del-bg: #ffebe9; --hunk: #0550ae; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --border: #3d444d; --code-bg: #151b23;
    --pass: #3fb950; --fail: #f85149; --fail-bg: #3c1618; --skip: #9198a1; --warn: #d29922;
    --add-bg: #12361f; --del-bg: #4a1619; --hunk: #79c0ff; }
}
body { font-family: system-ui, sans-serif; margin: 2em; color: var(--fg); background: var(--bg); line-height: 1.4; }
a { color: inherit; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid var(--border); padding-bottom: 0.2em; margin-top: 1.6em; }
small, .muted { color: var(--muted); font-weight: normal; }
.summary { font-size: 1.1em; margin-bottom: 1.5em; }
.outcome-passed { color: var(--pass); font-weight: bold; }
.outcome-failed, .outcome-interrupted { color: var(--fail); font-weight: bold; }
table.matrix { border-collapse: collapse; margin-bottom: 0.5em; }
table.matrix th, table.matrix td { border: 1px solid var(--border); padding: 0.15em 0.45em; text-align: center; }
table.matrix th.user { text-align: left; }
table.matrix th.step { font-weight: normal; font-family: ui-monospace, monospace; font-size: 0.8em;
  vertical-align: bottom; white-space: nowrap; }
table.matrix th.step span { writing-mode: vertical-rl; transform: rotate(180deg); display: inline-block; max-height: 14em; overflow: hidden; text-overflow: ellipsis; }
td a { text-decoration: none; display: block; }
.passed, .passed a { color: var(--pass); }
.failed, .failed a { color: var(--fail); font-weight: bold; }
.skipped, .skipped a { color: var(--skip); }
td.failed { background: var(--fail-bg); }
ol.legend { font-family: ui-monospace, monospace; font-size: 0.85em; color: var(--muted); columns: 3 16em; margin-top: 0; }
.group { border-left: 4px solid var(--fail); padding: 0.1em 1em; margin: 1em 0; background: var(--code-bg); }
.group h3 { margin: 0.4em 0; font-size: 1.05em; }
details.user { margin: 0.3em 0; }
details.user > summary { cursor: pointer; font-size: 1.1em; padding: 0.2em 0; }
details.user[open] > summary { font-weight: bold; }
.step { margin: 0.3em 0 0.3em 1em; }
.step summary { cursor: pointer; font-family: ui-monospace, monospace; }
.step dl { margin: 0.5em 1.5em; }
.step dt { font-weight: bold; }
.step dd { margin: 0 0 0.4em 1em; }
pre { background: var(--code-bg); border: 1px solid var(--border); padding: 0.5em; overflow-x: auto; white-space: pre-wrap; margin: 0.3em 0; }
pre .add { background: var(--add-bg); display: block; }
pre .del { background: var(--del-bg); display: block; }
pre .hunk { color: var(--hunk); display: block; }
ul.checks { list-style: none; padding-left: 0; }
.kind { font-family: ui-monospace, monospace; font-size: 0.8em; color: var(--muted); border: 1px solid var(--border); border-radius: 3px; padding: 0 0.3em; }
.warning { color: var(--warn); }
";

/// The whole page.
pub(crate) fn document(run: &Collected) -> String {
    document_with_mesh(run, &MeshGraphs::new())
}

/// The whole page, each user's mesh graph closing their section.
pub(crate) fn document_with_mesh(run: &Collected, mesh: &MeshGraphs) -> String {
    let mut h = String::new();
    let outcome = run.outcome();
    let st = run.stats;
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n\
         <title>labctl report: {outcome}</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <h1>labctl report</h1>\n"
    );
    let _ = writeln!(
        h,
        "<p class=\"summary\">{} passed, {} failed, {} skipped{} in {}, started {}: \
         <span class=\"outcome-{outcome}\">{outcome}</span></p>",
        st.passed,
        st.failed,
        st.skipped,
        if st.warnings > 0 {
            format!(
                ", {} warning{}",
                st.warnings,
                if st.warnings == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        },
        failure::duration(run.duration.as_millis() as u64),
        humantime::format_rfc3339_seconds(run.started_at),
    );
    failures(&mut h, run);
    matrix(&mut h, run);
    if !run.users.is_empty() {
        h.push_str("<h2 id=\"users\">Steps by user</h2>\n");
    }
    for u in &run.users {
        user_section(&mut h, u, mesh);
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn matrix(h: &mut String, run: &Collected) {
    let ids = columns(run);
    if ids.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"matrix\">Users x steps</h2>\n<table class=\"matrix\">\n<tr><th></th>");
    for (i, id) in ids.iter().enumerate() {
        let _ = write!(
            h,
            "<th class=\"step\" title=\"{}\"><span>{} {}</span></th>",
            escape(id),
            i + 1,
            escape(id)
        );
    }
    h.push_str("</tr>\n");
    for u in &run.users {
        let label = user_label(u);
        let _ = write!(
            h,
            "<tr><th class=\"user\"><a href=\"#{}\">{}</a></th>",
            escape(&user_anchor(label)),
            escape(label)
        );
        let steps: BTreeMap<&str, &StepResult> = u
            .labs
            .iter()
            .flat_map(|l| l.steps.iter())
            .map(|s| (s.id.as_str(), s.as_ref()))
            .collect();
        for id in &ids {
            match steps.get(id.as_str()) {
                Some(s) => {
                    let (m, class) = mark(s.outcome);
                    let _ = write!(
                        h,
                        "<td class=\"{class}\"><a href=\"#{}\" title=\"{} {}: {}, {}\">{m}</a></td>",
                        escape(&anchor(label, id)),
                        escape(label),
                        escape(id),
                        outcome_name(s.outcome),
                        failure::duration(s.duration_ms),
                    );
                }
                None => h.push_str("<td></td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n<ol class=\"legend\">");
    for id in &ids {
        let _ = write!(h, "<li>{}</li>", escape(id));
    }
    h.push_str("</ol>\n");
}

/// "user7, user12 failed `scrape-allowed`: …", the way it failed (first
/// user's checks, diff and output) shown once for the group.
fn failures(h: &mut String, run: &Collected) {
    let groups = failure_groups(run);
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<h2 id=\"failures\">Failures <small>{} step{}</small></h2>",
        groups.len(),
        if groups.len() == 1 { "" } else { "s" }
    );
    for g in &groups {
        let links: Vec<String> = g
            .users
            .iter()
            .map(|u| {
                format!(
                    "<a href=\"#{}\">{}</a>",
                    escape(&anchor(u, &g.id)),
                    escape(u)
                )
            })
            .collect();
        let s = &g.first;
        let what = match s.outcome {
            StepOutcome::TimedOut => format!("timed out in <code>{}</code>", escape(&g.id)),
            StepOutcome::Error => format!(
                "could not run <code>{}</code>: {}",
                escape(&g.id),
                escape(s.reason.as_deref().unwrap_or(""))
            ),
            _ => format!(
                "failed <code>{}</code>: {}",
                escape(&g.id),
                escape(g.problem.strip_prefix("failed: ").unwrap_or(&g.problem))
            ),
        };
        let _ = writeln!(
            h,
            "<div class=\"group\">\n<h3>{} {what}</h3>\n<p class=\"muted\">{}:{} · {}</p>",
            links.join(", "),
            escape(&g.file.display().to_string()),
            s.line,
            escape(&failure::plain_message(s)),
        );
        if g.users.len() > 1 {
            let _ = writeln!(
                h,
                "<p class=\"muted\">As seen by {}:</p>",
                escape(&g.users[0])
            );
        }
        h.push_str("<dl>");
        step_body(h, s);
        h.push_str("</dl>\n</div>\n");
    }
}

/// A user: folded to one line when everything passed, open when not.
fn user_section(h: &mut String, u: &UserRecord, mesh: &MeshGraphs) {
    let label = user_label(u);
    let failed = u.failed();
    let ms: u64 = u
        .labs
        .iter()
        .flat_map(|l| l.steps.iter())
        .map(|s| s.duration_ms)
        .sum();
    let _ = writeln!(
        h,
        "<section class=\"user\" id=\"{}\">\n<details class=\"user\"{}><summary><span class=\"{}\">{}</span> {} \
         <small>{} passed, {} failed, {} skipped · {}</small></summary>",
        escape(&user_anchor(label)),
        if failed { " open=\"open\"" } else { "" },
        if failed { "failed" } else { "passed" },
        if failed { "✗" } else { "✓" },
        if u.user.is_some() {
            escape(label)
        } else {
            "Steps".to_string()
        },
        u.stats.passed,
        u.stats.failed,
        u.stats.skipped,
        failure::duration(ms),
    );
    for lab in &u.labs {
        let _ = writeln!(
            h,
            "<h3>{} <small>{} <span class=\"outcome-{}\">{}</span></small></h3>",
            escape(&lab.title),
            escape(&lab.path.display().to_string()),
            lab.outcome,
            lab.outcome,
        );
        for s in &lab.steps {
            step_detail(h, label, &lab.path, s);
        }
    }
    h.push_str(
        "</details>
",
    );
    h.push_str(&super::mesh_graph::section(mesh, &u.user));
    h.push_str("</section>\n");
}

fn step_detail(h: &mut String, user: &str, lab_path: &std::path::Path, s: &StepResult) {
    let (m, class) = mark(s.outcome);
    // The step's own path is not kept in JSON reports; the lab's is the same file.
    let path = if s.path.as_os_str().is_empty() {
        lab_path
    } else {
        s.path.as_path()
    };
    let _ = writeln!(
        h,
        "<div class=\"step\" id=\"{}\"><details{}><summary><span class=\"{class}\">{m}</span> {} \
         <small>{}:{} {}, {} {}, {}</small></summary>\n<dl>",
        escape(&anchor(user, &s.id)),
        if s.outcome.is_failure() {
            " open=\"open\""
        } else {
            ""
        },
        escape(&s.id),
        escape(&path.display().to_string()),
        s.line,
        outcome_name(s.outcome),
        s.tries,
        if s.tries == 1 { "try" } else { "tries" },
        failure::duration(s.duration_ms),
    );
    step_body(h, s);
    h.push_str("</dl></details></div>\n");
}

/// A step's command, checks, warnings and output, as `<dt>`/`<dd>` pairs.
fn step_body(h: &mut String, s: &StepResult) {
    if !s.command.is_empty() {
        let _ = write!(
            h,
            "<dt>Command</dt><dd><pre>{}</pre></dd>",
            escape(&s.command)
        );
    }
    if let Some(code) = s.exit_code {
        let _ = write!(h, "<dt>Exit status</dt><dd>{code}</dd>");
    }
    if let Some(r) = &s.reason {
        let _ = write!(h, "<dt>Reason</dt><dd>{}</dd>", escape(r));
    }
    if !s.checks.is_empty() {
        h.push_str("<dt>Checks</dt><dd><ul class=\"checks\">");
        for c in &s.checks {
            let (cm, cclass) = check_mark(c.outcome);
            let _ = write!(
                h,
                "<li><span class=\"{cclass}\">{cm}</span> {} <span class=\"kind\">{}</span>",
                escape(&c.description),
                c.kind.name()
            );
            if let Some(msg) = &c.message {
                let _ = write!(h, "<pre>{}</pre>", preformatted(msg));
            }
            if let Some(hint) = &c.hint {
                let _ = write!(h, "<p class=\"hint\">Hint: {}</p>", escape(hint));
            }
            h.push_str("</li>");
        }
        h.push_str("</ul></dd>");
    }
    if !s.warnings.is_empty() {
        h.push_str("<dt>Warnings</dt><dd><ul>");
        let failed = s.outcome.is_failure();
        for w in &s.warnings {
            let lines = failure::warning_lines(w, failed);
            let (first, rest) = lines
                .split_first()
                .map_or(("", &[][..]), |(f, r)| (f.as_str(), r));
            let _ = write!(h, "<li class=\"warning\">{}", escape(first));
            if !rest.is_empty() {
                let _ = write!(h, "<pre>{}</pre>", preformatted(&rest.join("\n")));
            }
            h.push_str("</li>");
        }
        h.push_str("</ul></dd>");
    }
    for (name, text) in [("stdout", &s.stdout), ("stderr", &s.stderr)] {
        if !text.is_empty() {
            let _ = write!(h, "<dt>{name}</dt><dd><pre>{}</pre></dd>", escape(text));
        }
    }
}

/// Preformatted text; a unified diff's lines coloured (added, removed, hunk).
fn preformatted(text: &str) -> String {
    let is_diff = text.lines().any(|l| l.starts_with("@@ "));
    if !is_diff {
        return escape(text);
    }
    let mut out = String::new();
    for l in text.lines() {
        let class = if l.starts_with("+++") || l.starts_with("---") {
            Some("hunk")
        } else if l.starts_with('+') {
            Some("add")
        } else if l.starts_with('-') {
            Some("del")
        } else if l.starts_with("@@") {
            Some("hunk")
        } else {
            None
        };
        match class {
            Some(c) => {
                let _ = write!(out, "<span class=\"{c}\">{}</span>", escape(l));
            }
            None => {
                out.push_str(&escape(l));
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use quick_xml::events::Event as Xml;

    use super::*;
    use crate::event::{CheckResult, Event, LabResult, Stats};

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"a<b>&"c" 'd'"#),
            "a&lt;b&gt;&amp;&quot;c&quot; &#39;d&#39;"
        );
        assert_eq!(escape("x\u{1b}[31m"), "x\u{fffd}[31m");
        assert_eq!(escape("tab\tnl\n"), "tab\tnl\n");
    }

    fn step(id: &str, outcome: StepOutcome) -> StepResult {
        let failed = outcome.is_failure();
        StepResult {
            id: id.into(),
            name: None,
            number: None,
            line: 10,
            terminal: crate::lab::TerminalSel::One(1),
            command: "curl -s 'http://x/?a=1&b=2' | grep \"<ok>\"".into(),
            outcome,
            exit_code: Some(if failed { 1 } else { 0 }),
            tries: 1,
            duration_ms: 12,
            checks: vec![CheckResult {
                kind: crate::event::CheckResultKind::Check(crate::lab::CheckKind::Exit),
                description: "exit status is 0".into(),
                outcome: if failed {
                    CheckStatus::Failed
                } else {
                    CheckStatus::Passed
                },
                message: failed.then(|| "expected 0, got 1 <&>".into()),
                plain: "The command succeeds (exit status 0)".into(),
                line: 0,
                hint: None,
            }],
            warnings: vec![],
            reason: None,
            path: PathBuf::from("labs/basics.md"),
            stdout: "<html>&amp;</html>\n".into(),
            stderr: String::new(),
        }
    }

    fn ev(kind: EventKind) -> Event {
        Event {
            at: SystemTime::UNIX_EPOCH,
            elapsed: Duration::from_millis(1500),
            kind,
        }
    }

    /// Three users; user2 fails step 2 and so skips step 3.
    fn three_users() -> Collected {
        let users: Vec<_> = ["user1", "user2", "user3"]
            .iter()
            .map(|u| Some(u.to_string()))
            .collect();
        let mut c = Collected::default();
        c.apply(&ev(EventKind::RunStarted {
            users: users.clone(),
        }));
        let mut total = Stats::default();
        for u in &users {
            let bad = u.as_deref() == Some("user2");
            let steps: Vec<Arc<StepResult>> = vec![
                step("basics:1", StepOutcome::Passed),
                step(
                    "basics:2",
                    if bad {
                        StepOutcome::Failed
                    } else {
                        StepOutcome::Passed
                    },
                ),
                step(
                    "basics:3",
                    if bad {
                        StepOutcome::Skipped
                    } else {
                        StepOutcome::Passed
                    },
                ),
            ]
            .into_iter()
            .map(Arc::new)
            .collect();
            let mut stats = Stats::default();
            for s in &steps {
                stats.add(s);
                total.add(s);
            }
            c.apply(&ev(EventKind::UserStarted {
                user: u.clone(),
                vars: BTreeMap::new(),
            }));
            c.apply(&ev(EventKind::LabFinished {
                user: u.clone(),
                result: Arc::new(LabResult {
                    path: PathBuf::from("labs/basics.md"),
                    file: PathBuf::from("labs/basics.md"),
                    stem: "basics".into(),
                    title: "Basics & <more>".into(),
                    outcome: if bad {
                        crate::event::LabOutcome::Failed
                    } else {
                        crate::event::LabOutcome::Passed
                    },
                    steps,
                }),
            }));
            c.apply(&ev(EventKind::UserFinished {
                user: u.clone(),
                stats,
            }));
        }
        c.apply(&ev(EventKind::RunFinished { stats: total }));
        c
    }

    /// Parses the page as XML; returns (ids, hrefs) and fails on any malformed markup.
    fn parse(page: &str) -> (BTreeSet<String>, Vec<String>) {
        let mut reader = quick_xml::Reader::from_str(page);
        let mut ids = BTreeSet::new();
        let mut hrefs = Vec::new();
        loop {
            match reader.read_event().expect("well-formed page") {
                Xml::Start(e) | Xml::Empty(e) => {
                    for a in e.attributes() {
                        let a = a.expect("attribute");
                        let v = a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .expect("value")
                            .to_string();
                        match a.key.as_ref() {
                            b"id" => assert!(ids.insert(v), "duplicate id"),
                            b"href" => hrefs.push(v),
                            _ => {}
                        }
                    }
                }
                Xml::Text(t) => {
                    t.decode().expect("text");
                }
                Xml::Eof => break,
                _ => {}
            }
        }
        (ids, hrefs)
    }

    #[test]
    fn page_has_users_steps_failures_and_working_links() {
        let page = document(&three_users());
        for u in ["user1", "user2", "user3"] {
            assert!(page.contains(&format!(">{u}</a>")), "{u} missing");
        }
        for id in ["basics:1", "basics:2", "basics:3"] {
            assert!(
                page.contains(&format!("<th class=\"step\" title=\"{id}\">")),
                "{id}"
            );
        }
        assert!(page.contains("7 passed, 1 failed, 1 skipped"));
        assert!(
            page.contains(
                "<a href=\"#u-user2-basics:2\">user2</a> failed <code>basics:2</code>: exit status is 0</h3>"
            ),
            "{page}"
        );
        assert!(!page.contains("failed: failed:"), "{page}");
        assert!(!page.contains("exit exit"), "{page}");
        // Failures come before the matrix and the users; passing users are folded.
        let at = |needle: &str| page.find(needle).unwrap_or_else(|| panic!("{needle}"));
        assert!(at("id=\"failures\"") < at("id=\"matrix\""));
        assert!(
            page.contains("<details class=\"user\"><summary><span class=\"passed\">✓</span> user1")
        );
        assert!(page.contains(
            "<details class=\"user\" open=\"open\"><summary><span class=\"failed\">✗</span> user2"
        ));
        assert!(page.contains("prefers-color-scheme: dark"));
        assert!(page.contains("Basics &amp; &lt;more&gt;"));
        assert!(page.contains("&lt;html&gt;&amp;amp;&lt;/html&gt;"));
        assert!(!page.contains("<script"));
        assert!(!page.contains("http://") || !page.contains("src=\"http"));

        let (ids, hrefs) = parse(&page);
        assert!(hrefs.len() > 9, "{hrefs:?}");
        for h in &hrefs {
            let target = h.strip_prefix('#').expect("only in-page links");
            assert!(ids.contains(target), "link to missing #{target}");
        }
        assert!(ids.contains("u-user2-basics:2"));
        assert!(hrefs.contains(&"#u-user3-basics:3".to_string()));
    }

    #[test]
    fn diffs_are_coloured_line_by_line() {
        let out = preformatted(
            "expected: x\n--- expected\n+++ actual\n@@ -1 +1 @@\n-old <a>\n+new\n same\n",
        );
        assert!(
            out.contains("<span class=\"del\">-old &lt;a&gt;</span>"),
            "{out}"
        );
        assert!(out.contains("<span class=\"add\">+new</span>"), "{out}");
        assert!(
            out.contains("<span class=\"hunk\">@@ -1 +1 @@</span>"),
            "{out}"
        );
        assert_eq!(preformatted("a - b\n+c"), "a - b\n+c");
    }

    #[test]
    fn single_user_run_has_one_dash_row() {
        let mut c = three_users();
        c.users.truncate(1);
        c.users[0].user = None;
        let page = document(&c);
        assert!(page.contains("<a href=\"#user--\">-</a>"), "{page}");
        let (ids, hrefs) = parse(&page);
        for h in &hrefs {
            assert!(ids.contains(&h[1..]), "{h}");
        }
    }
}
