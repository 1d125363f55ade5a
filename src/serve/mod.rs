//! `labctl serve`: the workshop in the browser. Each lab rendered as in the
//! book beside real terminals (bash on a pty, drawn from a server-side screen),
//! with Run and Check on every step, guarded by a token (see `access`).
//! `server` starts it, and the instructor board's page too.

pub mod access;
pub mod assets;
pub mod marks;
pub mod page;
pub mod progress;
pub mod screen;
pub mod server;
pub mod steps;
pub mod terminal;
mod web;

use std::path::PathBuf;

pub use web::{App, router};

/// The folder images and other files beside the labs are served from.
pub fn files_root(workshop_root: &std::path::Path) -> PathBuf {
    if workshop_root.is_dir() {
        workshop_root.to_path_buf()
    } else {
        workshop_root
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}
