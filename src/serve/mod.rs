//! `labctl serve`: the workshop in the browser. Each lab rendered as in the
//! book beside real terminals (bash on a pty, drawn from a server-side screen),
//! with Run and Check on every step, guarded by a token (see `access`).
//! `server` starts it, and the instructor board's page too.

pub(crate) mod access;
pub(crate) mod assets;
pub(crate) mod marks;
pub(crate) mod page;
pub(crate) mod progress;
pub(crate) mod screen;
pub(crate) mod server;
pub(crate) mod steps;
pub(crate) mod terminal;
mod web;

use std::path::PathBuf;

pub(crate) use web::{App, router};

/// The folder images and other files beside the labs are served from.
pub(crate) fn files_root(workshop_root: &std::path::Path) -> PathBuf {
    if workshop_root.is_dir() {
        workshop_root.to_path_buf()
    } else {
        workshop_root
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}
