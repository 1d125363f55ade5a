//! One-shot commands against real processes.

use std::time::{Duration, Instant};

use labctl::cancel::{self, Cancel};
use labctl::shell::{OneShot, run_once};

use crate::support::processes::assert_gone;

fn script(body: &str) -> OneShot {
    OneShot {
        script: Some(body.to_string()),
        argv: Vec::new(),
        workdir: std::env::temp_dir(),
        env: vec![("ONESHOT_VAR".into(), "v".into())],
        timeout: Duration::from_secs(10),
        capture_cap: 1 << 20,
        grace: Duration::from_millis(500),
    }
}

/// `body` with a timeout (0.3 s) it runs past.
fn past_its_timeout(body: &str) -> OneShot {
    OneShot {
        timeout: Duration::from_millis(300),
        ..script(body)
    }
}

/// Far below the 100 s sleeps the commands leave: a run that waited for one
/// takes longer; one that stopped it does not, however loaded the machine is.
const NOT_HUNG: Duration = Duration::from_secs(30);

#[tokio::test]
async fn script_output_and_status() {
    let out = run_once(
        script("echo out $ONESHOT_VAR $1; echo err >&2; exit 4"),
        &Cancel::never(),
    )
    .await
    .unwrap();
    assert_eq!(out.stdout.text, "out v\n");
    assert_eq!(out.stderr.text, "err\n");
    assert_eq!(out.exit_code, Some(4));
    assert!(!out.timed_out);
}

#[tokio::test]
async fn argv_runs_without_a_shell() {
    let cmd = OneShot {
        script: None,
        argv: vec!["printf".into(), "%s|".into(), "a b".into(), "$HOME".into()],
        ..script("")
    };
    let out = run_once(cmd, &Cancel::never()).await.unwrap();
    assert_eq!(out.stdout.text, "a b|$HOME|");
    assert_eq!(out.exit_code, Some(0));
}

#[tokio::test]
async fn empty_command_is_an_error() {
    let cmd = OneShot {
        script: None,
        ..script("")
    };
    assert!(run_once(cmd, &Cancel::never()).await.is_err());
    let missing = OneShot {
        script: None,
        argv: vec!["/no/such/program".into()],
        ..script("")
    };
    assert!(run_once(missing, &Cancel::never()).await.is_err());
}

#[tokio::test]
async fn timeout_kills_the_group() {
    let cmd = past_its_timeout("sleep 100.61 | cat; echo never");
    let started = Instant::now();
    let out = run_once(cmd, &Cancel::never()).await.unwrap();
    assert!(out.timed_out);
    assert!(started.elapsed() < NOT_HUNG, "{:?}", started.elapsed());
    assert_eq!(out.stdout.text, "");
    assert_gone("sleep 100.61");
}

#[tokio::test]
async fn sigterm_ignored_means_sigkill_after_grace() {
    let cmd = past_its_timeout("trap '' TERM; sleep 100.62; sleep 100.62");
    let started = Instant::now();
    let out = run_once(cmd, &Cancel::never()).await.unwrap();
    let took = started.elapsed();
    assert!(out.timed_out);
    assert_eq!(out.signal, Some(9), "{out:?}");
    // The timeout (0.3 s) and the whole grace (0.5 s) went by before SIGKILL.
    assert!(
        took >= Duration::from_millis(800) && took < NOT_HUNG,
        "{took:?}"
    );
    assert_gone("sleep 100.62");
}

#[tokio::test]
async fn leftover_holding_stdout_does_not_hang() {
    let started = Instant::now();
    let out = run_once(script("sleep 100.63 & echo done"), &Cancel::never())
        .await
        .unwrap();
    // Neither waited for the sleeper nor for the timeout (10 s) to cut it short.
    assert!(!out.timed_out, "{out:?}");
    assert!(started.elapsed() < NOT_HUNG, "{:?}", started.elapsed());
    assert_eq!(out.stdout.text, "done\n");
    assert_eq!(out.exit_code, Some(0));
    assert_gone("sleep 100.63");
}

#[tokio::test]
async fn cancel_stops_it() {
    let (handle, cancel) = cancel::pair();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        handle.cancel();
    });
    let out = run_once(script("sleep 100.64"), &cancel).await.unwrap();
    assert!(out.cancelled && !out.timed_out);
    assert_gone("sleep 100.64");
}

#[tokio::test]
async fn flood_is_bounded() {
    let cmd = OneShot {
        capture_cap: 1000,
        ..script("head -c 50000000 /dev/zero | tr '\\0' b")
    };
    let out = run_once(cmd, &Cancel::never()).await.unwrap();
    assert_eq!(out.stdout.total_bytes, 50_000_000);
    assert_eq!(out.stdout.omitted_bytes, 50_000_000 - 2000);
    assert!(out.stdout.text.len() < 2100);
}
