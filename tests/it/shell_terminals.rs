//! Terminals against a real bash: state, isolation, exits, timeouts,
//! background steps, cancellation and cleanup.

use std::time::{Duration, Instant};

use labctl::cancel::{self, Cancel};
use labctl::shell::{ShellConfig, StepOutput, Terminals};

use crate::support::processes::{STARTED_WITHIN, assert_gone, processes_with, wait_for_processes};

const T: Duration = Duration::from_secs(10);

/// A timeout the steps that test stopping run past.
const SHORT: Duration = Duration::from_millis(300);

fn config(workdir: &std::path::Path) -> ShellConfig {
    ShellConfig {
        workdir: workdir.to_path_buf(),
        env: vec![("LABCTL_TEST_VAR".into(), "from-config".into())],
        grace: Duration::from_millis(500),
        ..ShellConfig::default()
    }
}

async fn run(terms: &mut Terminals, n: u32, body: &str) -> StepOutput {
    run_with_timeout(terms, n, body, T).await
}

/// A terminal set working in a fresh directory (kept alive by the first).
fn terminals() -> (tempfile::TempDir, Terminals) {
    let dir = tempfile::tempdir().unwrap();
    let terms = Terminals::new(config(dir.path()));
    (dir, terms)
}

/// Runs a step in terminal `n`, stopped after `timeout`.
async fn run_with_timeout(
    terms: &mut Terminals,
    n: u32,
    body: &str,
    timeout: Duration,
) -> StepOutput {
    terms
        .run(n, body, timeout, &Cancel::never())
        .await
        .expect("step runs")
}

/// Terminals whose grace is [`LONG_GRACE`].
fn terminals_with_long_grace() -> (tempfile::TempDir, Terminals) {
    let dir = tempfile::tempdir().unwrap();
    let terms = Terminals::new(ShellConfig {
        grace: LONG_GRACE,
        ..config(dir.path())
    });
    (dir, terms)
}

/// Starts `body` in the background in terminal `n` and returns once it is
/// under way, that is once a process carrying `marker` runs (a fixed pause
/// would be too short on a loaded machine).
async fn start_background_until(terms: &mut Terminals, n: u32, body: &str, marker: &str) {
    terms.start_background(n, body).await.unwrap();
    assert_eq!(wait_for_processes(marker, 1), 1, "{marker} never started");
}

/// Waits until `file` has `count` lines: a background loop's progress.
async fn wait_for_lines(file: &std::path::Path, count: usize) {
    let deadline = Instant::now() + STARTED_WITHIN;
    loop {
        let lines = std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .count();
        if lines >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} has {lines} lines",
            file.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Far below the sleeps and endless loops the steps run and the long graces
/// some tests set: a step that waited for one takes longer; one that was
/// stopped does not, however loaded the machine is.
const NOT_HUNG: Duration = Duration::from_secs(30);

/// A grace no stop may wait out within [`NOT_HUNG`]: with it, a step that
/// ends in time was ended by its first signal.
const LONG_GRACE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn state_persists_across_steps() {
    let (dir, mut terms) = terminals();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let first = run(
        &mut terms,
        1,
        "export EXPORTED=e1\nPLAIN=p1\ngreet() { echo \"hello $1\"; }\nalias ll='echo aliased'\ncd sub",
    )
    .await;
    assert_eq!(first.exit_code, Some(0), "{first:?}");
    let second = run(
        &mut terms,
        1,
        "echo \"$EXPORTED $PLAIN\"\ngreet you\nll\npwd\nbash -c 'echo child sees $EXPORTED'\necho $LABCTL_TEST_VAR",
    )
    .await;
    let sub = dir.path().join("sub").canonicalize().unwrap();
    assert_eq!(
        second.stdout.text,
        format!(
            "e1 p1\nhello you\naliased\n{}\nchild sees e1\nfrom-config\n",
            sub.display()
        )
    );
    assert_eq!(terms.opened(), vec![1]);
    terms.shutdown().await;
}

#[tokio::test]
async fn alias_defined_in_a_step_works_later_in_the_same_step() {
    let (_dir, mut terms) = terminals();
    let out = run(&mut terms, 1, "alias hi='echo hi there'\nhi").await;
    assert_eq!(out.stdout.text, "hi there\n");
    terms.shutdown().await;
}

#[tokio::test]
async fn declare_in_a_step_makes_a_global_as_at_a_prompt() {
    let (_dir, mut terms) = terminals();
    run(
        &mut terms,
        1,
        "declare -A colour=([sky]=blue); declare -i n=41",
    )
    .await;
    let out = run(&mut terms, 1, "n+=1; echo \"${colour[sky]} $n\"").await;
    assert_eq!(out.stdout.text, "blue 42\n");
    terms.shutdown().await;
}

#[tokio::test]
async fn student_aliases_and_functions_do_not_change_how_steps_run() {
    let (_dir, mut terms) = terminals();
    // The wrapper uses echo and source; a student may redefine both.
    run(&mut terms, 1, "alias echo='printf x'; alias source=false").await;
    let out = run(&mut terms, 1, "command echo aliases-ignored").await;
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.stdout.text, "aliases-ignored\n");
    run(
        &mut terms,
        1,
        "echo() { printf fn; }; source() { return 7; }",
    )
    .await;
    let out = run(&mut terms, 1, "command echo functions-ignored; (exit 4)").await;
    assert_eq!(out.exit_code, Some(4));
    assert_eq!(out.stdout.text, "functions-ignored\n");
    terms.shutdown().await;
}

#[tokio::test]
async fn steps_still_run_after_a_step_turns_aliases_off() {
    let (_dir, mut terms) = terminals();
    run(&mut terms, 1, "shopt -u expand_aliases; X=kept").await;
    let out = run(&mut terms, 1, "echo \"$X\"; exit 3 2>/dev/null || false").await;
    assert_eq!(out.stdout.text, "kept\n");
    let out = run(&mut terms, 1, "echo again").await;
    assert_eq!(out.stdout.text, "again\n");
    terms.shutdown().await;
}

#[tokio::test]
async fn terminals_are_isolated() {
    let (dir, mut terms) = terminals();
    run(&mut terms, 1, "X=one; cd /").await;
    let two = run(&mut terms, 2, "echo \"x=$X\"; pwd").await;
    let wd = dir.path().canonicalize().unwrap();
    assert_eq!(two.stdout.text, format!("x=\n{}\n", wd.display()));
    let one = run(&mut terms, 1, "echo \"x=$X\"; pwd").await;
    assert_eq!(one.stdout.text, "x=one\n/\n");
    assert_eq!(terms.opened(), vec![1, 2]);
    terms.shutdown().await;
}

#[tokio::test]
async fn multi_line_body_runs_as_one_script() {
    let (_dir, mut terms) = terminals();
    let body = "for i in 1 2 3; do\n  echo \"line $i\"\ndone\ncat <<EOF\nheredoc $((1+1))\nEOF\nif true; then\n  echo end\nfi";
    let out = run(&mut terms, 1, body).await;
    assert_eq!(out.stdout.text, "line 1\nline 2\nline 3\nheredoc 2\nend\n");
    assert_eq!(out.exit_code, Some(0));
    terms.shutdown().await;
}

#[tokio::test]
async fn syntax_error_fails_the_step_and_the_shell_goes_on() {
    let (_dir, mut terms) = terminals();
    run(&mut terms, 1, "KEEP=kept").await;
    let bad = run(&mut terms, 1, "if then fi").await;
    assert_eq!(bad.exit_code, Some(2), "{bad:?}");
    assert!(
        bad.stderr.text.contains("syntax error"),
        "{:?}",
        bad.stderr.text
    );
    let unclosed = run(&mut terms, 1, "echo \"never closed").await;
    assert_eq!(unclosed.exit_code, Some(2), "{unclosed:?}");
    let next = run(&mut terms, 1, "echo $KEEP").await;
    assert_eq!(next.stdout.text, "kept\n");
    assert!(!next.shell_exited);
    terms.shutdown().await;
}

#[tokio::test]
async fn exit_ends_the_shell_and_the_next_step_gets_a_fresh_one() {
    let (_dir, mut terms) = terminals();
    run(&mut terms, 1, "GONE=soon").await;
    let out = run(&mut terms, 1, "echo bye\nexit 3").await;
    assert!(out.shell_exited, "{out:?}");
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.stdout.text, "bye\n");
    let fresh = run(&mut terms, 1, "echo \"gone=$GONE\"").await;
    assert!(!fresh.shell_exited);
    assert_eq!(fresh.stdout.text, "gone=\n");
    assert_eq!(terms.opened(), vec![1]);
    terms.shutdown().await;
}

#[tokio::test]
async fn stdout_stderr_and_exit_codes_stay_apart() {
    let (_dir, mut terms) = terminals();
    let out = run(&mut terms, 1, "echo to-out; echo to-err >&2; false").await;
    assert_eq!(out.stdout.text, "to-out\n");
    assert_eq!(out.stderr.text, "to-err\n");
    assert_eq!(out.exit_code, Some(1));
    assert_eq!(run(&mut terms, 1, "(exit 42)").await.exit_code, Some(42));
    assert_eq!(run(&mut terms, 1, "true").await.exit_code, Some(0));
    let missing = run(&mut terms, 1, "no-such-command-labctl").await;
    assert_eq!(missing.exit_code, Some(127));
    assert!(missing.stderr.text.contains("not found"));
    terms.shutdown().await;
}

#[tokio::test]
async fn stdin_is_dev_null_so_prompts_fail() {
    let (_dir, mut terms) = terminals();
    let out = run(
        &mut terms,
        1,
        "read -r answer; echo \"rc=$? answer=$answer\"",
    )
    .await;
    assert_eq!(out.stdout.text, "rc=1 answer=\n");
    let cat = run(&mut terms, 1, "cat; echo after").await;
    assert_eq!(cat.stdout.text, "after\n");
    terms.shutdown().await;
}

#[tokio::test]
async fn leftover_child_holding_stdout_does_not_hang() {
    let (_dir, mut terms) = terminals();
    let started = Instant::now();
    let out = run(&mut terms, 1, "sleep 1000.11 &\necho started").await;
    // Neither waited for the sleeper nor for the step's timeout to cut it short.
    assert!(!out.timed_out, "{out:?}");
    assert!(started.elapsed() < NOT_HUNG, "{:?}", started.elapsed());
    assert_eq!(out.stdout.text, "started\n");
    // A leftover that keeps writing does not leak into later steps.
    run(
        &mut terms,
        1,
        "(for i in $(seq 1 50); do echo leak; sleep 0.01; done) &",
    )
    .await;
    let later = run(&mut terms, 1, "sleep 0.2; echo clean").await;
    assert_eq!(later.stdout.text, "clean\n");
    assert_eq!(wait_for_processes("sleep 1000.11", 1), 1);
    terms.shutdown().await;
    assert_gone("sleep 1000.11");
}

#[tokio::test]
async fn output_is_whole_for_quick_slow_and_large_steps_in_turn() {
    // Quick steps are read after they end, through pipes reused from step to
    // step; slower ones are read as they run. Each must get exactly its own output.
    let (_dir, mut terms) = terminals();
    for i in 0..30 {
        let body = match i % 3 {
            0 => format!("echo quick-{i}; echo err-{i} >&2"),
            1 => format!("sleep 0.05; head -c 200000 /dev/zero | tr '\\0' x; echo; echo slow-{i}"),
            _ => format!("head -c 300000 /dev/zero | tr '\\0' y; echo; echo big-{i} >&2"),
        };
        let out = run(&mut terms, 1, &body).await;
        assert_eq!(out.exit_code, Some(0), "step {i}");
        match i % 3 {
            0 => {
                assert_eq!(out.stdout.text, format!("quick-{i}\n"));
                assert_eq!(out.stderr.text, format!("err-{i}\n"));
            }
            1 => {
                assert_eq!(
                    out.stdout.total_bytes,
                    200_000 + 1 + format!("slow-{i}\n").len() as u64
                );
                assert!(out.stdout.text.ends_with(&format!("x\nslow-{i}\n")));
                assert_eq!(out.stderr.text, "");
            }
            _ => {
                assert_eq!(out.stdout.total_bytes, 300_001);
                assert_eq!(out.stderr.text, format!("big-{i}\n"));
            }
        }
    }
    terms.shutdown().await;
}

#[tokio::test]
async fn timeout_terminates_and_the_shell_survives() {
    let (_dir, mut terms) = terminals();
    run(&mut terms, 1, "SURVIVES=yes").await;
    let started = Instant::now();
    let out = run_with_timeout(
        &mut terms,
        1,
        "echo before; sleep 100.21; echo after",
        Duration::from_secs(1),
    )
    .await;
    let took = started.elapsed();
    assert!(out.timed_out, "{out:?}");
    assert!(
        took >= Duration::from_secs(1) && took < NOT_HUNG,
        "{took:?}"
    );
    assert_eq!(
        out.stdout.text, "before\n",
        "the rest of the body must not run"
    );
    assert_eq!(out.signal, Some(15));
    assert_gone("sleep 100.21");
    let next = run(&mut terms, 1, "echo $SURVIVES").await;
    assert_eq!(next.stdout.text, "yes\n");
    terms.shutdown().await;
}

#[tokio::test]
async fn timeout_stops_a_loop_in_the_body() {
    let (_dir, mut terms) = terminals();
    let started = Instant::now();
    let out = run_with_timeout(&mut terms, 1, "while true; do sleep 0.05; done", SHORT).await;
    assert!(out.timed_out && !out.shell_exited, "{out:?}");
    assert!(started.elapsed() < NOT_HUNG, "{:?}", started.elapsed());
    let busy = run_with_timeout(&mut terms, 1, "while :; do :; done", SHORT).await;
    assert!(busy.timed_out && !busy.shell_exited, "{busy:?}");
    run(&mut terms, 1, "MARK=kept").await;
    let again = run_with_timeout(&mut terms, 1, "sleep 100.22; sleep 100.22", SHORT).await;
    assert!(again.timed_out && !again.shell_exited, "{again:?}");
    assert_eq!(run(&mut terms, 1, "echo $MARK").await.stdout.text, "kept\n");
    assert_eq!(run(&mut terms, 1, "echo ok").await.stdout.text, "ok\n");
    terms.shutdown().await;
}

#[tokio::test]
async fn step_ignoring_sigterm_is_killed_after_grace() {
    let (_dir, mut terms) = terminals();
    let started = Instant::now();
    let out = run_with_timeout(
        &mut terms,
        1,
        "bash -c \"trap '' TERM; sleep 100.31\"",
        Duration::from_millis(500),
    )
    .await;
    let took = started.elapsed();
    assert!(out.timed_out);
    assert_eq!(out.signal, Some(9), "{out:?}");
    // The timeout (0.5 s) and the whole grace (0.5 s) went by before SIGKILL.
    assert!(
        took >= Duration::from_millis(1000) && took < NOT_HUNG,
        "{took:?}"
    );
    assert_gone("sleep 100.31");
    assert_eq!(run(&mut terms, 1, "echo ok").await.stdout.text, "ok\n");
    terms.shutdown().await;
}

#[tokio::test]
async fn trap_in_the_terminal_itself_is_killed_after_grace() {
    let (_dir, mut terms) = terminals();
    let out = run_with_timeout(&mut terms, 1, "trap '' TERM; sleep 100.32", SHORT).await;
    assert!(out.timed_out);
    assert_gone("sleep 100.32");
    assert_eq!(run(&mut terms, 1, "echo ok").await.stdout.text, "ok\n");
    terms.shutdown().await;
}

#[tokio::test]
async fn cancel_stops_the_step() {
    let (_dir, mut terms) = terminals();
    let (handle, cancel) = cancel::pair();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        handle.cancel();
    });
    let started = Instant::now();
    let out = terms
        .run(1, "echo go; sleep 100.41", T, &cancel)
        .await
        .unwrap();
    // Stopped by the cancel (at 0.3 s), not by the timeout (T).
    assert!(out.cancelled && !out.timed_out, "{out:?}");
    assert!(started.elapsed() < T, "{:?}", started.elapsed());
    assert_eq!(out.stdout.text, "go\n");
    assert_gone("sleep 100.41");
    assert_eq!(run(&mut terms, 1, "echo ok").await.stdout.text, "ok\n");
    terms.shutdown().await;
}

#[tokio::test]
async fn background_step_is_stopped_by_the_next_step() {
    // A grace far longer than NOT_HUNG: only SIGINT can end the loop in time.
    let (dir, mut terms) = terminals_with_long_grace();
    terms
        .start_background(
            1,
            "while true; do date; echo tick; echo >>ticks; sleep 0.1; done",
        )
        .await
        .unwrap();
    wait_for_lines(&dir.path().join("ticks"), 3).await;
    let started = Instant::now();
    let next = run(&mut terms, 1, "echo next").await;
    assert!(
        started.elapsed() < NOT_HUNG,
        "SIGINT must stop it: {:?}",
        started.elapsed()
    );
    assert_eq!(next.stdout.text, "next\n");
    let stopped = terms.take_stopped_background();
    assert_eq!(stopped.len(), 1);
    let (n, bg) = &stopped[0];
    assert_eq!(*n, 1);
    assert!(
        bg.stdout.text.matches("tick").count() >= 3,
        "{:?}",
        bg.stdout.text
    );
    assert_eq!(bg.exit_code, Some(130), "{bg:?}");
    assert_eq!(bg.signal, Some(2));
    assert!(terms.shutdown().await.is_empty());
}

#[tokio::test]
async fn interrupt_returns_background_output() {
    let (_dir, mut terms) = terminals();
    assert!(terms.interrupt(1).await.is_none());
    start_background_until(
        &mut terms,
        2,
        "echo started; sleep 100.51; echo never",
        "sleep 100.51",
    )
    .await;
    let out = terms.interrupt(2).await.expect("a background step ran");
    assert_eq!(out.stdout.text, "started\n");
    assert_gone("sleep 100.51");
    assert!(terms.interrupt(2).await.is_none());
    // The terminal still works, and a step in it is unaffected.
    assert_eq!(run(&mut terms, 2, "echo ok").await.stdout.text, "ok\n");
    terms.shutdown().await;
}

#[tokio::test]
async fn a_background_body_larger_than_a_pipe_runs() {
    let (_dir, mut terms) = terminals();
    let body = format!("# {}\necho big-started; sleep 100.53", "x".repeat(200_000));
    start_background_until(&mut terms, 1, &body, "sleep 100.53").await;
    let out = terms.interrupt(1).await.expect("a background step ran");
    assert_eq!(out.stdout.text, "big-started\n");
    assert_gone("sleep 100.53");
    terms.shutdown().await;
}

#[tokio::test]
async fn background_ignoring_sigint_is_terminated() {
    let (_dir, mut terms) = terminals();
    start_background_until(
        &mut terms,
        1,
        "trap '' INT; echo stubborn; sleep 100.52",
        "sleep 100.52",
    )
    .await;
    let started = Instant::now();
    let out = terms.interrupt(1).await.unwrap();
    assert!(started.elapsed() < NOT_HUNG, "{:?}", started.elapsed());
    // SIGINT was ignored; the SIGTERM after the grace ended it.
    assert_eq!(out.signal, Some(15), "{out:?}");
    assert_eq!(out.stdout.text, "stubborn\n");
    assert_gone("sleep 100.52");
    terms.shutdown().await;
}

#[tokio::test]
async fn shutdown_leaves_no_process_behind() {
    let (_dir, mut terms) = terminals();
    run(
        &mut terms,
        1,
        "sleep 1234.5 &\n(sleep 1234.5 &)\nnohup sleep 1234.5 >/dev/null 2>&1 &",
    )
    .await;
    run(&mut terms, 2, "bash -c \"trap '' TERM; sleep 1234.5\" &").await;
    terms.start_background(3, "sleep 1234.5").await.unwrap();
    assert_eq!(wait_for_processes("sleep 1234.5", 5), 5);
    let outs = terms.shutdown().await;
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].0, 3);
    assert!(
        processes_with("sleep 1234.5").is_empty(),
        "left: {:?}",
        processes_with("sleep 1234.5")
    );
    assert_gone("labctl-term-");
}

#[tokio::test]
async fn drop_kills_the_sessions() {
    let (_dir, mut terms) = terminals();
    run(&mut terms, 1, "sleep 1234.6 &").await;
    terms.start_background(2, "sleep 1234.6").await.unwrap();
    assert_eq!(wait_for_processes("sleep 1234.6", 2), 2);
    drop(terms);
    assert_gone("sleep 1234.6");
}

#[tokio::test]
async fn flood_is_captured_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ShellConfig {
        capture_cap: 64 * 1024,
        ..config(dir.path())
    };
    let mut terms = Terminals::new(cfg);
    let out = run_with_timeout(
        &mut terms,
        1,
        "head -c 300000000 /dev/zero | tr '\\0' a; echo; echo END",
        NOT_HUNG,
    )
    .await;
    // Read to the end without stalling (how fast is the benchmarks' business).
    assert!(!out.timed_out, "{out:?}");
    assert_eq!(out.stdout.total_bytes, 300_000_000 + 5);
    assert_eq!(out.stdout.omitted_bytes, 300_000_005 - 2 * 64 * 1024);
    assert!(
        out.stdout.text.len() <= 2 * 64 * 1024 + 100,
        "{}",
        out.stdout.text.len()
    );
    assert!(out.stdout.text.contains("bytes omitted ...]"));
    assert!(out.stdout.text.ends_with("a\nEND\n"));
    terms.shutdown().await;
}

#[tokio::test]
async fn ansi_and_progress_are_cleaned() {
    let (_dir, mut terms) = terminals();
    let out = run(
        &mut terms,
        1,
        r"printf '\033[32mgreen\033[0m\n 10%%\r 50%%\r100%%\n'",
    )
    .await;
    assert_eq!(out.stdout.text, "green\n100%\n");
    terms.shutdown().await;
}

#[tokio::test]
async fn terminal_zero_is_refused() {
    let (_dir, mut terms) = terminals();
    assert!(terms.run(0, "true", T, &Cancel::never()).await.is_err());
    assert!(terms.opened().is_empty());
}

#[tokio::test]
async fn large_body_and_shell_edge_cases() {
    let (_dir, mut terms) = terminals();
    // Larger than a pipe buffer: goes through a file.
    let big = format!("# {}\necho big", "x".repeat(200_000));
    assert_eq!(run(&mut terms, 1, &big).await.stdout.text, "big\n");
    // `exec >file` in a step does not redirect later steps.
    run(&mut terms, 1, "exec >/dev/null; echo hidden").await;
    assert_eq!(
        run(&mut terms, 1, "echo shown").await.stdout.text,
        "shown\n"
    );
    // `return` ends the body only.
    let ret = run(&mut terms, 1, "echo a; return 5; echo b").await;
    assert_eq!((ret.exit_code, ret.stdout.text.as_str()), (Some(5), "a\n"));
    // A failing cd keeps the old directory.
    assert_eq!(
        run(&mut terms, 1, "cd /no/such/dir").await.exit_code,
        Some(1)
    );
    // `set -e` persists, as in a real terminal: the next failure closes the shell.
    run(&mut terms, 1, "set -e").await;
    let closed = run(&mut terms, 1, "false").await;
    assert!(closed.shell_exited, "{closed:?}");
    assert_eq!(
        run(&mut terms, 1, "false; echo fresh").await.stdout.text,
        "fresh\n"
    );
    terms.shutdown().await;
}

#[tokio::test]
async fn missing_workdir_is_a_setup_error() {
    let mut terms = Terminals::new(ShellConfig {
        workdir: "/no/such/labctl/dir".into(),
        ..ShellConfig::default()
    });
    let err = terms.run(1, "true", T, &Cancel::never()).await.unwrap_err();
    assert!(err.to_string().contains("/no/such/labctl/dir"), "{err}");
}

#[tokio::test]
async fn background_date_loop_stops_on_sigint() {
    // A grace far longer than NOT_HUNG: only SIGINT can end the loop in time.
    let (dir, mut terms) = terminals_with_long_grace();
    terms
        .start_background(1, "while true; do date; echo >>dates; sleep 0.2; done")
        .await
        .unwrap();
    wait_for_lines(&dir.path().join("dates"), 3).await;
    let started = Instant::now();
    let out = terms.interrupt(1).await.unwrap();
    // Well under the grace: SIGINT alone stopped it, and it died of SIGINT
    // (a TERM or KILL after the grace would say 15 or 9).
    assert!(started.elapsed() < NOT_HUNG, "{:?}", started.elapsed());
    assert_eq!(out.exit_code, Some(130), "{out:?}");
    assert!(
        out.stdout.text.lines().count() >= 3,
        "{:?}",
        out.stdout.text
    );
    assert_eq!(out.signal, Some(2), "{out:?}");
    terms.shutdown().await;
}
