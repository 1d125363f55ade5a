//! `stdout:` / `stderr:` — text operators over the step's output.

use super::predicate::eval_text_all;
use super::{Check, CheckContext, CheckError, Evaluation, outcome};
use crate::lab::check_spec::{Predicate, TextStream};

/// Judges the text of one stream of the step's last try.
pub(crate) struct TextCheck<'s> {
    /// Which stream.
    pub stream: TextStream,
    /// What must hold.
    pub preds: &'s [Predicate],
}

impl Check for TextCheck<'_> {
    fn evaluate<'a>(&'a self, ctx: &'a CheckContext<'a>) -> Evaluation<'a> {
        Box::pin(async move {
            let out = ctx.output.ok_or(CheckError::NoOutput)?;
            let (name, text) = match self.stream {
                TextStream::Stdout => ("stdout", &out.stdout),
                TextStream::Stderr => ("stderr", &out.stderr),
            };
            let description = format!(
                "{name} {}",
                self.preds
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            );
            Ok(outcome(description, eval_text_all(self.preds, text)))
        })
    }
}
