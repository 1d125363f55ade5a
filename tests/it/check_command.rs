//! `command:` checks, output checks and examiner tests, with a test runner built on
//! tokio::process (the engine's runner lives in the shell module).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;

use labctl::cancel::Cancel;
use labctl::check::examiner::{ExaminerCheck, timing};
use labctl::check::retry::eventually;
use labctl::check::{
    Check, CheckContext, CheckError, CheckOutcome, ScriptError, ScriptRequest, ScriptRunner,
    TryOutput, for_spec,
};
use labctl::lab::check_spec::{
    Assertion, CommandCheck, JsonAssert, Predicate, compile_jsonpath, parse_check,
};
use labctl::lab::model::{ExaminerTest, ExpectedExit};
use serde_json::{Value, json};

use crate::support::workshop::Workshop;

/// Runs `bash -c SCRIPT` or an argv in `dir`; a timeout kills it and reports no exit code.
struct BashRunner {
    dir: PathBuf,
}

impl ScriptRunner for BashRunner {
    fn run<'a>(
        &'a self,
        req: ScriptRequest,
    ) -> Pin<Box<dyn Future<Output = Result<TryOutput, ScriptError>> + Send + 'a>> {
        Box::pin(async move {
            let mut cmd = match &req.script {
                Some(s) => {
                    let mut c = tokio::process::Command::new("bash");
                    c.arg("-c").arg(s);
                    c
                }
                None => {
                    let mut c = tokio::process::Command::new(&req.argv[0]);
                    c.args(&req.argv[1..]);
                    c
                }
            };
            cmd.current_dir(&self.dir)
                .stdin(Stdio::null())
                .kill_on_drop(true);
            match tokio::time::timeout(req.timeout, cmd.output()).await {
                Err(_) => Ok(TryOutput::default()),
                Ok(Err(e)) => Err(ScriptError::Start(e.to_string())),
                Ok(Ok(out)) => Ok(TryOutput {
                    exit_code: out.status.code(),
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                }),
            }
        })
    }
}

struct BrokenRunner;

impl ScriptRunner for BrokenRunner {
    fn run<'a>(
        &'a self,
        _req: ScriptRequest,
    ) -> Pin<Box<dyn Future<Output = Result<TryOutput, ScriptError>> + Send + 'a>> {
        Box::pin(async { Err(ScriptError::Start("bash: not found".into())) })
    }
}

/// What a check sees here: no step environment and no cluster; scripts run
/// by `runner` in `workdir`.
fn context<'a>(
    workdir: &'a Path,
    output: Option<&'a TryOutput>,
    runner: &'a dyn ScriptRunner,
    cancel: &'a Cancel,
) -> CheckContext<'a> {
    CheckContext {
        output,
        env: &[],
        workdir,
        runner,
        cancel,
        kube: None,
    }
}

/// One evaluation of `kind`, never cancelled, in the working directory.
async fn evaluate(
    kind: &Assertion,
    output: Option<&TryOutput>,
    runner: &dyn ScriptRunner,
) -> Result<CheckOutcome, CheckError> {
    let cancel = Cancel::never();
    let ctx = context(Path::new("."), output, runner, &cancel);
    for_spec(kind).evaluate(&ctx).await
}

async fn eval_with(
    spec: Value,
    output: Option<&TryOutput>,
    runner: &dyn ScriptRunner,
) -> Result<CheckOutcome, CheckError> {
    let (kind, _) = parse_check(&spec).expect("valid check");
    evaluate(&kind, output, runner).await
}

async fn eval(spec: Value) -> Result<CheckOutcome, CheckError> {
    let runner = BashRunner {
        dir: std::env::temp_dir(),
    };
    eval_with(spec, None, &runner).await
}

/// A command check built by hand: the parser in src/lab/check_spec.rs currently picks
/// `exit`/`stdout`/`stderr` as the head of a map that also has `command:` (reported).
fn command(
    script: &str,
    exit: ExpectedExit,
    stdout: Vec<Predicate>,
    stderr: Vec<Predicate>,
    json: Option<(&str, Predicate)>,
) -> Assertion {
    Assertion::Command(CommandCheck {
        script: script.into(),
        exit,
        stdout,
        stderr,
        json: json.map(|(path, p)| JsonAssert {
            path: compile_jsonpath(path).unwrap(),
            preds: vec![p],
        }),
    })
}

async fn eval_kind(kind: Assertion) -> Result<CheckOutcome, CheckError> {
    let runner = BashRunner {
        dir: std::env::temp_dir(),
    };
    evaluate(&kind, None, &runner).await
}

#[tokio::test]
async fn command_exit_stdout_stderr_json() {
    let o = eval_kind(command(
        "echo '{\"mode\": \"REGISTRY_ONLY\", \"n\": 2}'; echo warn >&2",
        ExpectedExit::Code(0),
        vec![Predicate::Contains("REGISTRY_ONLY".into())],
        vec![Predicate::Equals(json!("warn"))],
        Some(("$.n", Predicate::Gte(2.0))),
    ))
    .await
    .unwrap();
    assert!(o.passed, "{o:?}");

    let o = eval_kind(command(
        "echo ALLOW_ANY",
        ExpectedExit::Code(0),
        vec![Predicate::Contains("REGISTRY_ONLY".into())],
        vec![],
        None,
    ))
    .await
    .unwrap();
    assert!(!o.passed);
    assert_eq!(o.expected, "stdout contains \"REGISTRY_ONLY\"");
    assert_eq!(o.actual, "ALLOW_ANY");

    let e = eval_kind(command(
        "echo plain",
        ExpectedExit::Code(0),
        vec![],
        vec![],
        Some(("$.n", Predicate::Gte(2.0))),
    ))
    .await
    .unwrap_err();
    assert!(matches!(e, CheckError::NotJson { .. }), "{e}");
}

#[tokio::test]
async fn command_exit_status() {
    let o = eval(json!({"command": "echo nope >&2; exit 3"}))
        .await
        .unwrap();
    assert!(!o.passed);
    assert_eq!(o.actual, "exit status 3");
    assert!(o.message.unwrap().contains("nope"));
    let o = eval_kind(command(
        "exit 3",
        ExpectedExit::Nonzero,
        vec![],
        vec![],
        None,
    ))
    .await
    .unwrap();
    assert!(o.passed);
}

#[tokio::test]
async fn command_that_cannot_start_is_an_error() {
    let e = eval_with(json!({"command": "true"}), None, &BrokenRunner)
        .await
        .unwrap_err();
    assert_eq!(e, CheckError::Script("bash: not found".into()));
}

#[tokio::test]
async fn output_checks_judge_the_try() {
    let out = TryOutput {
        exit_code: Some(0),
        stdout: "  % Total\n{\"oops\": {\"cause\": {\"code\": \"ECONNRESET\"}}}\n".into(),
        stderr: "hi  \n".into(),
    };
    let r = BrokenRunner;
    let ok = |spec: Value| {
        let out = out.clone();
        let r = &r;
        async move { eval_with(spec, Some(&out), r).await.unwrap().passed }
    };
    assert!(ok(json!({"exit": 0})).await);
    assert!(!ok(json!({"exit": 1})).await);
    assert!(ok(json!({"stderr": "hi"})).await);
    assert!(!ok(json!({"stderr": {"matches": "^bye$"}})).await);
    assert!(ok(json!({"json": "$.oops.cause.code", "equals": "ECONNRESET"})).await);
    assert!(!ok(json!({"json": "$.oops.cause.code", "one-of": ["EPIPE"]})).await);
    let e = eval_with(json!({"exit": 0}), None, &r).await.unwrap_err();
    assert_eq!(e, CheckError::NoOutput);
}

fn examiner_workshop(script: &str) -> Workshop {
    Workshop::new().script("workshop/examiner/tests/egress-blocked", script)
}

#[tokio::test]
async fn examiner_fails_twice_then_passes_with_retries() {
    // Counts its runs in the file given as argument; exits 0 from the third run on.
    let dir = examiner_workshop(
        "#!/bin/bash\nn=$(cat \"$1\" 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > \"$1\"\n[ $n -ge 3 ] || { echo \"not yet ($n)\" >&2; exit 1; }\n",
    );
    let counter = dir.path().join("count");
    let test = ExaminerTest {
        name: "egress-blocked".into(),
        title: Some("Egress is blocked".into()),
        args: vec![counter.to_string_lossy().into_owned()],
        timeout: Duration::from_secs(2),
        retries: Some(5),
        delay: Duration::from_millis(100),
    };
    let runner = BashRunner {
        dir: dir.path().to_path_buf(),
    };
    let cancel = Cancel::never();
    let ctx = context(dir.path(), None, &runner, &cancel);
    let check = ExaminerCheck::new(&test, dir.path());

    let first = check.evaluate(&ctx).await.unwrap();
    assert!(!first.passed);
    assert_eq!(first.message.as_deref(), Some("not yet (1)"));
    assert_eq!(first.description, "examiner test Egress is blocked");

    let r = eventually(&timing(&test), &cancel, || check.evaluate(&ctx)).await;
    assert!(r.passed(), "{r:?}");
    assert_eq!(r.tries, 2);
    assert_eq!(std::fs::read_to_string(&counter).unwrap().trim(), "3");
    // Retried at its delay (0.1 s), not at the default interval (1 s) nor
    // the test's timeout (2 s): two retries at either would take 2 s or more.
    assert!(r.elapsed < Duration::from_millis(1900), "{r:?}");
}

#[tokio::test]
async fn examiner_script_missing_or_timing_out() {
    let dir = examiner_workshop("#!/bin/bash\nsleep 5\n");
    let runner = BashRunner {
        dir: dir.path().to_path_buf(),
    };
    let cancel = Cancel::never();
    let ctx = context(dir.path(), None, &runner, &cancel);
    let mut test = ExaminerTest {
        name: "egress-blocked".into(),
        title: None,
        args: vec![],
        timeout: Duration::from_millis(200),
        retries: Some(0),
        delay: Duration::from_millis(10),
    };
    let o = ExaminerCheck::new(&test, dir.path())
        .evaluate(&ctx)
        .await
        .unwrap();
    assert!(!o.passed);
    assert!(o.actual.contains("killed"), "{o:?}");

    test.name = "missing".into();
    let e = ExaminerCheck::new(&test, dir.path())
        .evaluate(&ctx)
        .await
        .unwrap_err();
    assert!(matches!(e, CheckError::ScriptNotFound(_)), "{e}");
}
