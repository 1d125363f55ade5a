//! `--update-output`: writes what commands printed into their expected-output
//! fences, keeping the author's elisions; only fence bodies change, atomically,
//! and never when the file changed during the run.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::check::output::update_expected;
use crate::engine::OutputUpdate;
use crate::report::ReportError;

/// Why a page was not updated.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpdateError {
    /// The page could not be read again.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The page.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The page is not what the run read: someone edited it meanwhile.
    #[error("{} changed during the run; not updating it (run again to update)", .0.display())]
    Changed(PathBuf),
    /// The page could not be written.
    #[error(transparent)]
    Write(#[from] ReportError),
}

/// Applies the updates; returns how many fences changed.
pub(crate) fn apply(updates: &[OutputUpdate]) -> Result<Vec<String>, UpdateError> {
    let mut by_file: BTreeMap<PathBuf, Vec<&OutputUpdate>> = BTreeMap::new();
    for u in updates {
        by_file.entry(u.path.clone()).or_default().push(u);
    }
    let mut changed = Vec::new();
    for (path, mut ups) in by_file {
        let now = match std::fs::read_to_string(&path) {
            Ok(now) => now,
            Err(source) => return Err(UpdateError::Read { path, source }),
        };
        if now != ups[0].source {
            return Err(UpdateError::Changed(path));
        }
        ups.sort_by_key(|u| std::cmp::Reverse(u.body_span.start));
        ups.dedup_by_key(|u| u.body_span.start);
        let mut text = now.clone();
        for u in ups {
            let mut body = update_expected(&u.expected, &u.actual, u.strict);
            if !body.is_empty() && !body.ends_with('\n') {
                body.push('\n');
            }
            if text[u.body_span.clone()] != body {
                text.replace_range(u.body_span.clone(), &body);
                let line = now[..u.body_span.start].matches('\n').count() + 1;
                changed.push(format!("{}:{line}", path.display()));
            }
        }
        if text != now {
            crate::report::write_atomic("lab", &path, text.as_bytes())?;
        }
    }
    // Bottom-up within a file while rewriting; top-down for the reader.
    changed.sort_by(|a, b| crate::lab::workshop::natural_cmp(a, b));
    Ok(changed)
}
