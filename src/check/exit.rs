//! `exit:` — the step's exit status.

use super::{Check, CheckContext, CheckError, CheckOutcome, Evaluation};
use crate::lab::model::ExpectedExit;

/// Judges the exit status of the step's last try.
pub(crate) struct ExitCheck(pub ExpectedExit);

impl ExitCheck {
    /// Judges one try's exit status (None: killed by a signal).
    pub(crate) fn judge(&self, code: Option<i32>) -> CheckOutcome {
        let (passed, actual) = match code {
            Some(c) => (self.0.accepts(c), c.to_string()),
            // A process killed by a signal has no exit status; only `any` accepts that.
            None => (
                self.0 == ExpectedExit::Any,
                "none (killed by a signal)".to_string(),
            ),
        };
        CheckOutcome {
            passed,
            description: format!("exit status is {}", self.0),
            expected: self.0.to_string(),
            actual,
            message: None,
        }
    }
}

impl Check for ExitCheck {
    fn evaluate<'a>(&'a self, ctx: &'a CheckContext<'a>) -> Evaluation<'a> {
        Box::pin(async move {
            let out = ctx.output.ok_or(CheckError::NoOutput)?;
            Ok(self.judge(out.exit_code))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert!(ExitCheck(ExpectedExit::Code(0)).judge(Some(0)).passed);
        assert!(!ExitCheck(ExpectedExit::Code(0)).judge(Some(1)).passed);
        assert!(ExitCheck(ExpectedExit::Nonzero).judge(Some(7)).passed);
        assert!(!ExitCheck(ExpectedExit::Nonzero).judge(Some(0)).passed);
        assert!(ExitCheck(ExpectedExit::Any).judge(Some(3)).passed);
        assert!(ExitCheck(ExpectedExit::Any).judge(None).passed);
        let o = ExitCheck(ExpectedExit::Code(0)).judge(None);
        assert!(!o.passed);
        assert!(o.actual.contains("signal"));
    }
}
