//! The board when stderr is not a terminal: one line per visible change.

use std::time::Duration;

use super::model::{Board, Change, Mark};

/// `mm:ss` since the board started.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// The line for one change.
pub(crate) fn line(board: &Board, change: &Change, elapsed: Duration) -> String {
    let name = |u: usize| board.users().nth(u).unwrap_or("?").to_string();
    match change {
        Change::Environment { user, missing } => match missing {
            Some(why) => format!("{} {} no environment: {why}", clock(elapsed), name(*user)),
            None => format!("{} {} environment found", clock(elapsed), name(*user)),
        },
        Change::Cell { user, column, now } => {
            let step = &board.columns()[*column].id;
            let what = match (now.mark, now.stale) {
                (_, Some(age)) => format!("stale (last answer {}s ago)", age.as_secs()),
                (Mark::Done, None) => "✓ done".into(),
                (Mark::NotYet, None) => "· not yet".into(),
                (Mark::Broken, None) => "✗ broken".into(),
                (Mark::Checking, None) => "… checking".into(),
                (Mark::NoAnswer, None) => "? no answer".into(),
            };
            let mut s = format!("{} {} {step} {what}", clock(elapsed), name(*user));
            if (matches!(now.mark, Mark::Broken | Mark::NoAnswer) || now.stale.is_some())
                && let Some(r) = &now.reason
            {
                s.push_str(": ");
                s.push_str(r);
            }
            s
        }
    }
}
