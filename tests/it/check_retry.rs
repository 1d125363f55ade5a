//! The retry loop: deadlines, intervals, hold and cancellation, in real time.
//! Each upper bound lies well past the moment the loop should end and short of
//! the next moment a wrong schedule would end it (the next interval, the slow
//! try's own end), so a loaded machine does not make them flake.

use std::time::{Duration, Instant};

use labctl::cancel::{self, Cancel};
use labctl::check::retry::eventually;
use labctl::check::{CheckError, CheckOutcome};
use labctl::lab::model::Timing;

fn outcome(passed: bool) -> Result<CheckOutcome, CheckError> {
    Ok(CheckOutcome {
        passed,
        description: "the thing is up".into(),
        expected: "up".into(),
        actual: if passed { "up" } else { "down" }.into(),
        message: None,
    })
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[tokio::test]
async fn passes_within_one_interval_of_the_flip() {
    let start = Instant::now();
    let flip = secs(2.0);
    let timing = Timing {
        within: Some(secs(5.0)),
        ..Timing::default()
    };
    let r = eventually(&timing, &Cancel::never(), || async {
        outcome(start.elapsed() >= flip)
    })
    .await;
    assert!(r.passed(), "{r:?}");
    let seen_at = start.elapsed();
    assert!(seen_at >= flip);
    // Within one interval (1 s) of the flip: a missed try would see it at +2 s.
    assert!(seen_at < flip + secs(1.9), "seen at {seen_at:?}");
    assert!((3..=4).contains(&r.tries), "{r:?}");
}

#[tokio::test]
async fn gives_up_at_the_deadline_with_a_last_try_there() {
    let start = Instant::now();
    let timing = Timing {
        within: Some(secs(1.2)),
        interval: Some(secs(1.0)),
        hold: None,
    };
    let r = eventually(&timing, &Cancel::never(), || async { outcome(false) }).await;
    assert!(!r.passed());
    // Tries at 0, 1.0 and the deadline 1.2 (not at the next interval, 2.0).
    assert_eq!(r.tries, 3);
    let took = start.elapsed();
    assert!(took >= secs(1.2) && took < secs(1.9), "{took:?}");
    assert_eq!(r.result.unwrap().actual, "down");
}

#[tokio::test]
async fn without_within_one_try() {
    let r = eventually(&Timing::default(), &Cancel::never(), || async {
        outcome(false)
    })
    .await;
    assert_eq!(r.tries, 1);
    // No wait for an interval (1 s).
    assert!(r.elapsed < secs(0.5), "{:?}", r.elapsed);
}

#[tokio::test]
async fn errors_are_retried() {
    let mut n = 0;
    let timing = Timing {
        within: Some(secs(2.0)),
        interval: Some(secs(0.05)),
        hold: None,
    };
    let r = eventually(&timing, &Cancel::never(), || {
        n += 1;
        let now = n;
        async move {
            if now < 3 {
                Err(CheckError::Script("connection refused".into()))
            } else {
                outcome(true)
            }
        }
    })
    .await;
    assert!(r.passed());
    assert_eq!(r.tries, 3);
}

#[tokio::test]
async fn hold_fails_when_the_state_flips_back() {
    let start = Instant::now();
    let timing = Timing {
        within: None,
        interval: None,
        hold: Some(secs(1.0)),
    };
    let r = eventually(&timing, &Cancel::never(), || async {
        outcome(start.elapsed() < secs(0.5))
    })
    .await;
    assert!(!r.passed());
    let o = r.result.unwrap();
    let msg = o.message.unwrap();
    assert!(msg.starts_with("held for "), "{msg}");
    assert!(msg.ends_with("then: down"), "{msg}");
    assert_eq!(r.tries, 2);
    // Failed at the check at 1.0, not one interval (1 s) later.
    assert!(
        r.elapsed >= secs(1.0) && r.elapsed < secs(1.9),
        "{:?}",
        r.elapsed
    );
}

#[tokio::test]
async fn hold_passes_when_it_keeps_holding() {
    let timing = Timing {
        within: Some(secs(1.0)),
        interval: Some(secs(0.9)),
        hold: Some(secs(1.0)),
    };
    let r = eventually(&timing, &Cancel::never(), || async { outcome(true) }).await;
    assert!(r.passed(), "{r:?}");
    // Ends at the end of the hold (1.0), not at the next interval (1.8).
    assert!(
        r.elapsed >= secs(1.0) && r.elapsed < secs(1.6),
        "{:?}",
        r.elapsed
    );
    // 1 pass, then a check at 0.9 and one at the end of the hold at 1.0.
    assert_eq!(r.tries, 3);
}

#[tokio::test]
async fn cancel_stops_the_loop_at_once() {
    let (handle, cancel) = cancel::pair();
    tokio::spawn(async move {
        tokio::time::sleep(secs(0.3)).await;
        handle.cancel();
    });
    let timing = Timing {
        within: Some(secs(30.0)),
        interval: Some(secs(5.0)),
        hold: None,
    };
    let r = eventually(&timing, &cancel, || async { outcome(false) }).await;
    assert_eq!(r.result, Err(CheckError::Cancelled));
    // Cancelled at 0.3 s, not at the next try (5 s).
    assert!(r.elapsed < secs(4.0), "{:?}", r.elapsed);
}

#[tokio::test]
async fn a_slow_try_is_left_to_stop_itself_until_cancel_turns_to_kill() {
    // A try in flight stops itself on cancel (a step gets its grace period
    // and keeps its output); one that does not is dropped at kill.
    let (handle, cancel) = cancel::pair();
    tokio::spawn(async move {
        tokio::time::sleep(secs(0.2)).await;
        handle.cancel();
        tokio::time::sleep(secs(0.4)).await;
        handle.kill();
    });
    let timing = Timing {
        within: Some(secs(30.0)),
        ..Timing::default()
    };
    let r = eventually(&timing, &cancel, || async {
        tokio::time::sleep(secs(10.0)).await;
        outcome(true)
    })
    .await;
    assert_eq!(r.result, Err(CheckError::Cancelled));
    // Dropped at the kill (0.6 s), not at the cancel (0.2 s) nor at the try's own end (10 s).
    assert!(
        r.elapsed >= secs(0.55) && r.elapsed < secs(5.0),
        "{:?}",
        r.elapsed
    );
}
