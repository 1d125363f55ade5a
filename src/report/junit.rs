//! The JUnit report: a testsuite per (user, lab), a testcase per step.
//!
//! CI systems key a test by (classname, name) and keep its history by that
//! key, so both are made from what does not change between runs: the
//! classname is `<user>.<lab stem>` (the stem alone without users; Jenkins
//! splits at the last dot into package and class, so dots inside the stem
//! become `_`), the name is the step's id. Neither ever contains the path as
//! typed or the folder labctl ran from; `file` is the lab's path from its
//! source root (see `lab::source_root`).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite, XmlString};

use super::collect::Collected;
use super::failure;
use super::groups::{class_name, lab_file};
use super::xml_text::xml_safe;
use super::{ReportError, Reporter, write_atomic};
use crate::event::{Event, EventKind, StepOutcome, StepResult};

/// Collects the run and writes JUnit XML at RunFinished.
pub(crate) struct JunitReporter {
    path: PathBuf,
    run: Collected,
}

impl JunitReporter {
    /// A reporter writing to `path`.
    pub(crate) fn new(path: PathBuf) -> Self {
        JunitReporter {
            path,
            run: Collected::default(),
        }
    }
}

/// The first name not yet taken: `base`, else `base~2`, `base~3`...
fn unique(taken: &mut BTreeSet<String>, base: String) -> String {
    let mut name = base.clone();
    let mut n = 1;
    while !taken.insert(name.clone()) {
        n += 1;
        name = format!("{base}~{n}");
    }
    name
}

fn status(s: &StepResult) -> TestCaseStatus {
    match s.outcome {
        StepOutcome::Passed => TestCaseStatus::success(),
        StepOutcome::Skipped => {
            let mut st = TestCaseStatus::skipped();
            if let Some(r) = &s.reason {
                st.set_message(xml_safe(r));
            }
            st
        }
        StepOutcome::Failed
        | StepOutcome::TimedOut
        | StepOutcome::Error
        | StepOutcome::Interrupted => {
            let kind = if matches!(s.outcome, StepOutcome::Error | StepOutcome::Interrupted) {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut st = TestCaseStatus::non_success(kind);
            st.set_type(failure::kind(s));
            st.set_message(xml_safe(&match failure::first_hint(s) {
                Some(h) => format!("{} (hint: {h})", failure::plain_message(s)),
                None => failure::plain_message(s),
            }));
            st.set_description(xml_safe(&failure::plain(s)));
            st
        }
    }
}

/// The XML document.
pub(crate) fn document(run: &Collected) -> Result<String, ReportError> {
    let mut report = Report::new("labctl");
    report.set_time(run.duration);
    report.set_timestamp(chrono::DateTime::<chrono::Utc>::from(run.started_at));
    let mut classes = BTreeSet::new();
    for u in &run.users {
        for (i, lab) in u.labs.iter().enumerate() {
            let suite_name = match &u.user {
                Some(user) => format!("{user}: {}", lab.title),
                None => lab.title.clone(),
            };
            let mut suite = TestSuite::new(xml_safe(&suite_name));
            let class = xml_safe(&unique(&mut classes, class_name(&u.user, lab))).into_owned();
            let file = xml_safe(&lab_file(lab).display().to_string()).into_owned();
            match u.lab_times.get(i) {
                Some(t) => {
                    suite.set_timestamp(chrono::DateTime::<chrono::Utc>::from(t.started_at));
                    suite.set_time(t.duration);
                }
                None => {
                    let ms = lab.steps.iter().map(|s| s.duration_ms).sum();
                    suite.set_timestamp(chrono::DateTime::<chrono::Utc>::from(run.started_at));
                    suite.set_time(Duration::from_millis(ms));
                }
            }
            suite
                .extra
                .insert(XmlString::new("file"), XmlString::new(file.as_str()));
            let mut names = BTreeSet::new();
            for s in &lab.steps {
                let name = unique(&mut names, s.id.clone());
                let mut case = TestCase::new(xml_safe(&name), status(s));
                case.set_classname(class.as_str());
                case.set_time(Duration::from_millis(s.duration_ms));
                case.extra
                    .insert(XmlString::new("file"), XmlString::new(file.as_str()));
                case.extra
                    .insert(XmlString::new("line"), XmlString::new(s.line.to_string()));
                if !s.stdout.is_empty() {
                    case.set_system_out(xml_safe(&s.stdout));
                }
                if !s.stderr.is_empty() {
                    case.set_system_err(xml_safe(&s.stderr));
                }
                suite.add_test_case(case);
            }
            report.add_test_suite(suite);
        }
    }
    report.to_string().map_err(|e| ReportError::Build {
        format: "junit",
        message: e.to_string(),
    })
}

impl Reporter for JunitReporter {
    fn event(&mut self, event: &Event) -> Result<(), ReportError> {
        self.run.apply(event);
        if let EventKind::RunFinished { .. } = event.kind {
            write_atomic("junit", &self.path, document(&self.run)?.as_bytes())?;
        }
        Ok(())
    }
}
