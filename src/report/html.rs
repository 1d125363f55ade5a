//! The HTML report: one self-contained page (inline CSS, no script, no
//! network) with the users x steps matrix, the failures grouped by step and
//! every step's detail. The markup is well-formed XML (every tag closed,
//! attributes quoted, void elements self-closed) so tests can parse it strictly.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::collect::{Collected, UserRecord};
use super::failure;
use super::xml_text::is_xml_char;
use super::{ReportError, Reporter, write_atomic};
use crate::event::{CheckStatus, Event, EventKind, StepOutcome, StepResult};

/// Collects the run and writes the HTML page at RunFinished.
pub struct HtmlReporter {
    path: PathBuf,
    run: Collected,
}

impl HtmlReporter {
    /// A reporter writing to `path`.
    pub fn new(path: PathBuf) -> Self {
        HtmlReporter {
            path,
            run: Collected::default(),
        }
    }
}

impl Reporter for HtmlReporter {
    fn event(&mut self, event: &Event) -> Result<(), ReportError> {
        self.run.apply(event);
        if let EventKind::RunFinished { .. } = event.kind {
            write_atomic("html", &self.path, document(&self.run).as_bytes())?;
        }
        Ok(())
    }
}

/// Escapes text for element content and quoted attribute values.
pub fn escape(s: &str) -> String {
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

/// How a user is shown: the name, or `-` in a single-user run.
fn user_label(u: &UserRecord) -> &str {
    u.user.as_deref().unwrap_or("-")
}

/// The anchor of a user's step: `u-USER-STEPID`, with characters that would
/// need escaping in a URL fragment replaced so href and id always match.
pub fn anchor(user: &str, step_id: &str) -> String {
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

fn is_failure(o: StepOutcome) -> bool {
    matches!(
        o,
        StepOutcome::Failed | StepOutcome::TimedOut | StepOutcome::Error | StepOutcome::Interrupted
    )
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

/// What went wrong, without the `step ID` prefix of the headline (the
/// grouping line names the step already).
fn problem(s: &StepResult) -> String {
    let head = failure::headline(s);
    let prefix = format!("step {} ", s.id);
    head.strip_prefix(&prefix).unwrap_or(&head).to_string()
}

const CSS: &str = "
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { margin-bottom: 0.2em; }
.summary { font-size: 1.1em; margin-bottom: 1.5em; }
.outcome-passed { color: #1a7f37; font-weight: bold; }
.outcome-failed, .outcome-interrupted { color: #cf222e; font-weight: bold; }
table.matrix { border-collapse: collapse; margin-bottom: 2em; }
table.matrix th, table.matrix td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: center; }
table.matrix th.user { text-align: left; }
table.matrix th.step { font-weight: normal; font-family: monospace; font-size: 0.85em; }
td a { text-decoration: none; display: block; }
.passed, .passed a { color: #1a7f37; }
.failed, .failed a { color: #cf222e; font-weight: bold; }
.skipped, .skipped a { color: #888; }
td.failed { background: #ffebe9; }
.step { margin: 0.3em 0; }
.step summary { cursor: pointer; font-family: monospace; }
.step dl { margin: 0.5em 1.5em; }
.step dt { font-weight: bold; }
.step dd { margin: 0 0 0.4em 1em; }
pre { background: #f6f8fa; padding: 0.5em; overflow-x: auto; white-space: pre-wrap; }
ul.checks { list-style: none; padding-left: 0; }
.warning { color: #9a6700; }
";

/// The whole page.
pub fn document(run: &Collected) -> String {
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
    matrix(&mut h, run);
    failures(&mut h, run);
    for u in &run.users {
        user_section(&mut h, u);
    }
    h.push_str("</body>\n</html>\n");
    h
}

/// Step ids in order of first appearance over all users (a user whose run
/// was cut short has fewer steps; the columns are the union).
fn columns(run: &Collected) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for u in &run.users {
        for s in u.labs.iter().flat_map(|l| l.steps.iter()) {
            if !ids.contains(&s.id) {
                ids.push(s.id.clone());
            }
        }
    }
    ids
}

fn matrix(h: &mut String, run: &Collected) {
    let ids = columns(run);
    if ids.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"matrix\">Users x steps</h2>\n<table class=\"matrix\">\n<tr><th></th>");
    for id in &ids {
        let _ = write!(h, "<th class=\"step\">{}</th>", escape(id));
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
                        "<td class=\"{class}\"><a href=\"#{}\" title=\"{} {}: {}\">{m}</a></td>",
                        escape(&anchor(label, id)),
                        escape(label),
                        escape(id),
                        outcome_name(s.outcome),
                    );
                }
                None => h.push_str("<td></td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

fn failures(h: &mut String, run: &Collected) {
    // (column index, step id, problem) -> users, so groups follow step order.
    let ids = columns(run);
    let mut groups: BTreeMap<(usize, String, String), Vec<&str>> = BTreeMap::new();
    for u in &run.users {
        for s in u.labs.iter().flat_map(|l| l.steps.iter()) {
            if is_failure(s.outcome) {
                let col = ids.iter().position(|i| *i == s.id).unwrap_or(usize::MAX);
                groups
                    .entry((col, s.id.clone(), problem(s)))
                    .or_default()
                    .push(user_label(u));
            }
        }
    }
    if groups.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"failures\">Failures</h2>\n<ul class=\"failures\">\n");
    for ((_, id, problem), users) in &groups {
        let links: Vec<String> = users
            .iter()
            .map(|u| format!("<a href=\"#{}\">{}</a>", escape(&anchor(u, id)), escape(u)))
            .collect();
        let _ = writeln!(
            h,
            "<li>{} failed step <code>{}</code>: {}</li>",
            links.join(", "),
            escape(id),
            escape(problem)
        );
    }
    h.push_str("</ul>\n");
}

fn user_section(h: &mut String, u: &UserRecord) {
    let label = user_label(u);
    let _ = writeln!(
        h,
        "<section class=\"user\" id=\"{}\">\n<h2>{} <small>{} passed, {} failed, {} skipped</small></h2>",
        escape(&user_anchor(label)),
        if u.user.is_some() {
            escape(label)
        } else {
            "Steps".to_string()
        },
        u.stats.passed,
        u.stats.failed,
        u.stats.skipped,
    );
    for lab in &u.labs {
        let _ = writeln!(
            h,
            "<h3>{} <small>{} <span class=\"outcome-{}\">{}</span></small></h3>",
            escape(&lab.title),
            escape(&lab.path.display().to_string()),
            escape(&lab.outcome),
            escape(&lab.outcome),
        );
        for s in &lab.steps {
            step_detail(h, label, &lab.path, s);
        }
    }
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
        if is_failure(s.outcome) {
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
                "<li><span class=\"{cclass}\">{cm}</span> <code>{}</code> {}",
                escape(&c.kind),
                escape(&c.description)
            );
            if let Some(msg) = &c.message {
                let _ = write!(h, "<pre>{}</pre>", escape(msg));
            }
            h.push_str("</li>");
        }
        h.push_str("</ul></dd>");
    }
    if !s.warnings.is_empty() {
        h.push_str("<dt>Warnings</dt><dd><ul>");
        for w in &s.warnings {
            let _ = write!(h, "<li class=\"warning\">{}</li>", escape(w));
        }
        h.push_str("</ul></dd>");
    }
    for (name, text) in [("stdout", &s.stdout), ("stderr", &s.stderr)] {
        if !text.is_empty() {
            let _ = write!(h, "<dt>{name}</dt><dd><pre>{}</pre></dd>", escape(text));
        }
    }
    h.push_str("</dl></details></div>\n");
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
        let failed = is_failure(outcome);
        StepResult {
            id: id.into(),
            name: None,
            line: 10,
            terminal: serde_json::json!(1),
            command: "curl -s 'http://x/?a=1&b=2' | grep \"<ok>\"".into(),
            outcome,
            exit_code: Some(if failed { 1 } else { 0 }),
            tries: 1,
            duration_ms: 12,
            checks: vec![CheckResult {
                kind: "exit".into(),
                description: "exit status is 0".into(),
                outcome: if failed {
                    CheckStatus::Failed
                } else {
                    CheckStatus::Passed
                },
                message: failed.then(|| "expected 0, got 1 <&>".into()),
                line: 0,
                tries: 1,
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
            steps_per_user: 3,
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
                    title: "Basics & <more>".into(),
                    outcome: if bad { "failed" } else { "passed" }.into(),
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
                page.contains(&format!("<th class=\"step\">{id}</th>")),
                "{id}"
            );
        }
        assert!(page.contains("7 passed, 1 failed, 1 skipped"));
        assert!(
            page.contains(
                "<a href=\"#u-user2-basics:2\">user2</a> failed step <code>basics:2</code>: failed: exit status is 0"
            ),
            "{page}"
        );
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
