//! Views of a run shared by the reports: the step columns of the users x
//! steps matrix, failures grouped by step, and the stable name of a lab.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::collect::{Collected, UserRecord};
use super::failure;
use crate::event::{LabResult, StepResult, UserName};

/// Step ids in order of first appearance over all users (a user whose run
/// was cut short has fewer steps; the columns are the union).
pub(crate) fn columns(run: &Collected) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for u in &run.users {
        for s in u.labs.iter().flat_map(|l| l.steps.iter()) {
            if !ids.contains(&s.id) {
                ids.push(s.id.clone());
            }
        }
    }
    ids
}

/// One step that failed the same way for one or more users.
#[derive(Debug, Clone)]
pub(crate) struct FailureGroup {
    /// Step id.
    pub id: String,
    /// What went wrong (`failed: exit status is 0`).
    pub problem: String,
    /// The lab's file from its source root.
    pub file: PathBuf,
    /// Users it happened to, in run order (`-` in a single-user run).
    pub users: Vec<String>,
    /// The first user's result, to explain it once.
    pub first: Arc<StepResult>,
}

/// How a user is shown: the name, or `-` in a single-user run.
pub(crate) fn user_label(u: &UserRecord) -> &str {
    u.user.as_deref().unwrap_or("-")
}

/// Failed, timed-out and errored steps, grouped by (step, problem), in step order.
pub(crate) fn failure_groups(run: &Collected) -> Vec<FailureGroup> {
    let ids = columns(run);
    let mut groups: BTreeMap<(usize, String, String), FailureGroup> = BTreeMap::new();
    for u in &run.users {
        for lab in &u.labs {
            for s in &lab.steps {
                if !s.outcome.is_failure() {
                    continue;
                }
                let position = ids
                    .iter()
                    .position(|i| *i == s.id)
                    .map_or(usize::MAX, |p| p + 1);
                let problem = failure::problem(s);
                groups
                    .entry((position, s.id.clone(), problem.clone()))
                    .or_insert_with(|| FailureGroup {
                        id: s.id.clone(),
                        problem,
                        file: lab_file(lab),
                        users: Vec::new(),
                        first: s.clone(),
                    })
                    .users
                    .push(user_label(u).to_string());
            }
        }
    }
    groups.into_values().collect()
}

/// The lab's file from its source root, else its path as given.
pub(crate) fn lab_file(lab: &LabResult) -> PathBuf {
    if lab.file.as_os_str().is_empty() {
        lab.path.clone()
    } else {
        lab.file.clone()
    }
}

/// The stable name of a user's lab: `<user>.<lab>` (the lab alone without
/// users), where the lab is its file stem, or for a page bundle
/// (`…/intro/index.md`, Hugo's `_index.md`) its folder's name. Dots inside
/// either part become `_`: Jenkins splits a classname at the last dot.
pub(crate) fn class_name(user: &UserName, lab: &LabResult) -> String {
    let stem = if lab.stem.is_empty() {
        lab.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        lab.stem.clone()
    };
    let stem = if matches!(stem.as_str(), "index" | "_index" | "README") {
        lab_file(lab)
            .parent()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or(stem)
    } else {
        stem
    };
    let stem = stem.replace('.', "_");
    match user {
        Some(u) => format!("{}.{stem}", u.replace('.', "_")),
        None => stem,
    }
}
