//! The only waiting loop: tries a check until it passes or its deadline passes,
//! then, with `hold`, until it has kept passing that long.

use std::future::Future;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::{CheckError, CheckOutcome};
use crate::cancel::Cancel;
use crate::lab::model::Timing;

/// Shortest pause between tries: `interval: 0s` would otherwise re-check in a
/// busy loop (a `hold` for its whole length).
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);

/// Pause between tries when `interval` is not given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// What `eventually` ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eventually {
    /// The last try's result (`Err(Cancelled)` when cancelled).
    pub result: Result<CheckOutcome, CheckError>,
    /// How many tries were made.
    pub tries: u32,
    /// Time from the first try to the end.
    pub elapsed: Duration,
}

impl Eventually {
    /// The check passed (and held).
    pub fn passed(&self) -> bool {
        matches!(&self.result, Ok(o) if o.passed)
    }
}

fn passed(r: &Result<CheckOutcome, CheckError>) -> bool {
    matches!(r, Ok(o) if o.passed)
}

/// Waits until `at`; false when cancelled first.
async fn pause(at: Instant, cancel: &Cancel) -> bool {
    tokio::select! {
        _ = sleep_until(at) => true,
        _ = cancel.cancelled() => false,
    }
}

/// Tries `attempt` until it passes or `timing.within` has elapsed (one try without
/// `within`), `timing.interval` apart (default 1s) but never past the deadline:
/// the last try happens at the deadline. With `timing.hold`, a pass must keep passing
/// for that long, re-checked every interval, or the result is a failure saying how
/// long it held. Errors (could not evaluate) are retried like failures, since a
/// service that is not up yet refuses connections. On `cancel`, no new try
/// starts and a try in flight ends as it stops itself (at once when `cancel` turns to kill).
pub async fn eventually<F, Fut>(timing: &Timing, cancel: &Cancel, mut attempt: F) -> Eventually
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<CheckOutcome, CheckError>>,
{
    let start = Instant::now();
    let interval = timing
        .interval
        .unwrap_or(DEFAULT_INTERVAL)
        .max(MIN_INTERVAL);
    let deadline = start + timing.within.unwrap_or(Duration::ZERO);
    let mut tries = 0;
    let done = |result, tries| Eventually {
        result,
        tries,
        elapsed: start.elapsed(),
    };
    let cancelled = |tries| Eventually {
        result: Err(CheckError::Cancelled),
        tries,
        elapsed: start.elapsed(),
    };
    let result = loop {
        if cancel.is_cancelled() {
            return cancelled(tries);
        }
        let tried_at = Instant::now();
        tries += 1;
        // A try in flight stops itself on cancel (a step or command is
        // stopped with its grace period, its output kept); it is dropped only
        // once no grace is left.
        let r = tokio::select! {
            r = attempt() => r,
            _ = cancel.killing() => return cancelled(tries),
        };
        if passed(&r) {
            break r;
        }
        let now = Instant::now();
        if now >= deadline {
            return done(r, tries);
        }
        // Scheduled from the start of the try, so slow checks do not drift the cadence.
        if !pause((tried_at + interval).min(deadline), cancel).await {
            return cancelled(tries);
        }
    };
    let Some(hold) = timing.hold else {
        return done(Ok(result.expect("passed")), tries);
    };
    let held_from = Instant::now();
    let hold_end = held_from + hold;
    let mut last = result;
    loop {
        let now = Instant::now();
        if now >= hold_end {
            return done(last, tries);
        }
        if !pause((now + interval).min(hold_end), cancel).await {
            return cancelled(tries);
        }
        tries += 1;
        let r = tokio::select! {
            r = attempt() => r,
            _ = cancel.killing() => return cancelled(tries),
        };
        if !passed(&r) {
            // Could not even be evaluated any more: an error is reported as it was.
            return done(
                r.map(|o| stopped_holding(o, held_from.elapsed(), hold)),
                tries,
            );
        }
        last = r;
    }
}

/// A failure after passing for `held` of the `hold` asked for: says so.
fn stopped_holding(mut o: CheckOutcome, held: Duration, hold: Duration) -> CheckOutcome {
    let held = humantime::format_duration(round_ms(held));
    let then = o
        .message
        .take()
        .map(|m| format!("{}; {m}", o.actual))
        .unwrap_or_else(|| o.actual.clone());
    o.message = Some(format!("held for {held}, then: {then}"));
    o.expected = format!("{} for {}", o.expected, humantime::format_duration(hold));
    o
}

/// Durations in messages to the millisecond.
fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}
