//! The JUnit report: a testsuite per (user, lab), a testcase per step.

use std::path::PathBuf;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::collect::Collected;
use super::failure;
use super::xml_text::xml_safe;
use super::{ReportError, Reporter, write_atomic};
use crate::event::{Event, EventKind, StepOutcome};

/// Collects the run and writes JUnit XML at RunFinished.
pub struct JunitReporter {
    path: PathBuf,
    run: Collected,
}

impl JunitReporter {
    /// A reporter writing to `path`.
    pub fn new(path: PathBuf) -> Self {
        JunitReporter {
            path,
            run: Collected::default(),
        }
    }
}

/// The XML document.
pub fn document(run: &Collected) -> Result<String, ReportError> {
    let mut report = Report::new("labctl");
    report.set_time(run.duration);
    for u in &run.users {
        for lab in &u.labs {
            let name = match &u.user {
                Some(user) => format!("{user}: {}", lab.title),
                None => lab.title.clone(),
            };
            let mut suite = TestSuite::new(xml_safe(&name));
            for s in &lab.steps {
                let mut status = match s.outcome {
                    StepOutcome::Passed => TestCaseStatus::success(),
                    StepOutcome::Skipped => {
                        let mut st = TestCaseStatus::skipped();
                        if let Some(r) = &s.reason {
                            st.set_message(xml_safe(r));
                        }
                        st
                    }
                    StepOutcome::Failed | StepOutcome::TimedOut => {
                        TestCaseStatus::non_success(NonSuccessKind::Failure)
                    }
                    StepOutcome::Error | StepOutcome::Interrupted => {
                        TestCaseStatus::non_success(NonSuccessKind::Error)
                    }
                };
                if matches!(
                    s.outcome,
                    StepOutcome::Failed
                        | StepOutcome::TimedOut
                        | StepOutcome::Error
                        | StepOutcome::Interrupted
                ) {
                    status.set_message(xml_safe(&failure::headline(s)));
                    status.set_description(xml_safe(&failure::plain(s)));
                }
                let mut case = TestCase::new(xml_safe(&s.id), status);
                case.set_classname(xml_safe(&lab.path.display().to_string()));
                case.set_time(Duration::from_millis(s.duration_ms));
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
