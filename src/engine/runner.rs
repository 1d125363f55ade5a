//! The ScriptRunner that `command:` checks and examiner tests use: the shell
//! module's one-shot runner (own process group, timeout, bounded capture).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use crate::cancel::Cancel;
use crate::check::{ScriptError, ScriptRequest, ScriptRunner, TryOutput};
use crate::shell::{OneShot, StepOutput, run_once};

/// Runs check scripts in the step environment.
pub(crate) struct ShellRunner {
    /// Working directory.
    pub workdir: PathBuf,
    /// Environment added to labctl's.
    pub env: Vec<(String, String)>,
    /// Stops scripts on Ctrl-C.
    pub cancel: Cancel,
    /// Bytes kept per stream end.
    pub capture_cap: usize,
    /// SIGTERM → SIGKILL grace.
    pub grace: std::time::Duration,
}

/// What checks see of a step's (or script's) output.
pub(crate) fn try_output(o: &StepOutput) -> TryOutput {
    TryOutput {
        exit_code: o.exit_code,
        stdout: o.stdout.text.clone(),
        stderr: o.stderr.text.clone(),
    }
}

impl ScriptRunner for ShellRunner {
    fn run<'a>(
        &'a self,
        req: ScriptRequest,
    ) -> Pin<Box<dyn Future<Output = Result<TryOutput, ScriptError>> + Send + 'a>> {
        Box::pin(async move {
            let shot = OneShot {
                script: req.script,
                argv: req.argv,
                workdir: self.workdir.clone(),
                env: self.env.clone(),
                timeout: req.timeout,
                capture_cap: self.capture_cap,
                grace: self.grace,
            };
            let out = run_once(shot, &self.cancel)
                .await
                .map_err(|e| ScriptError::Start(e.to_string()))?;
            if out.timed_out {
                return Err(ScriptError::TimedOut(req.timeout));
            }
            Ok(try_output(&out))
        })
    }
}
