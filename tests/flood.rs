//! A step that prints 300 MB completes, and labctl's peak memory stays bounded.
//! Its own test binary, so the children whose peak RSS we read are only labctl.

use std::process::{Command, Stdio};

#[test]
fn three_hundred_megabytes_of_output_complete_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lab.md"), "# Flood\n\n```execute\nhead -c 300000000 /dev/zero | tr '\\0' a\necho\necho done-flooding\n```\n\n```verify\n- stdout: { contains: done-flooding }\n```\n").unwrap();
    let report = dir.path().join("r.json");
    let status = Command::new(env!("CARGO_BIN_EXE_labctl"))
        .args([
            "run",
            "--report",
            &format!("json={}", report.display()),
            &dir.path().display().to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let usage =
        nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
    let peak_mb = usage.max_rss() / 1024;
    assert!(peak_mb < 100, "labctl peaked at {peak_mb} MB");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    let step = &v["runs"][0]["labs"][0]["steps"][0];
    assert_eq!(step["outcome"], "passed");
    assert!(
        step["warnings"]
            .to_string()
            .contains("300000015 bytes on stdout"),
        "{}",
        step["warnings"]
    );
    eprintln!("peak RSS of labctl for a 300 MB flood: {peak_mb} MB");
}
