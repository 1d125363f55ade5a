//! `command:` — a read-only shell script run through the engine's runner.

use std::time::Duration;

use super::exit::ExitCheck;
use super::json::{assert_json, parse_json_text};
use super::predicate::{Verdict, eval_text_all};
use super::{Check, CheckContext, CheckError, Evaluation, ScriptRequest, outcome};
use crate::lab::check_spec::{CommandCheck, TextStream};

/// How long one run of a command check may take; a check that asks the world
/// should answer quickly, and `within` gives it more tries, not a longer one.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a `command:` check.
pub(crate) struct CommandChecker<'s>(pub &'s CommandCheck);

impl Check for CommandChecker<'_> {
    fn evaluate<'a>(&'a self, ctx: &'a CheckContext<'a>) -> Evaluation<'a> {
        Box::pin(async move {
            let c = self.0;
            let req = ScriptRequest {
                script: Some(c.script.clone()),
                argv: Vec::new(),
                timeout: COMMAND_TIMEOUT,
            };
            // The runner stops the script itself on cancel (its group and what
            // left it, after the grace period): dropping it here would leave them.
            let out = ctx.runner.run(req).await?;
            if ctx.cancel.is_cancelled() {
                return Err(CheckError::Cancelled);
            }
            let exit = ExitCheck(c.exit).judge(out.exit_code);
            let mut verdicts = vec![Verdict {
                ok: exit.passed,
                expected: format!("exit status {}", exit.expected),
                actual: format!("exit status {}", exit.actual),
                // A failing command explains itself on stderr.
                note: (!exit.passed && !out.stderr.trim().is_empty())
                    .then(|| format!("stderr: {}", super::predicate::cut(out.stderr.trim()))),
            }];
            for (stream, preds, text) in [
                (TextStream::Stdout, &c.stdout, &out.stdout),
                (TextStream::Stderr, &c.stderr, &out.stderr),
            ] {
                let name = if stream == TextStream::Stdout {
                    "stdout"
                } else {
                    "stderr"
                };
                verdicts.extend(eval_text_all(preds, text).into_iter().map(|mut v| {
                    v.expected = format!("{name} {}", v.expected);
                    v
                }));
            }
            if let Some(j) = &c.json {
                let doc = parse_json_text(&out.stdout, "the command's stdout")?;
                verdicts.extend(assert_json(j, &doc)?);
            }
            let description = crate::lab::check_spec::Assertion::Command(c.clone()).describe();
            Ok(outcome(description, verdicts))
        })
    }
}
