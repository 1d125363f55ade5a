//! The real labctl binary, started from the repository root as the tests expect.
#![allow(dead_code)]

use std::process::{Command, Stdio};

/// `labctl` in the repository root, without colour, with stdin closed.
pub fn labctl() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_labctl"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    c
}
