//! A step that prints 300 MB completes, and labctl's peak memory stays bounded.
//! Alone in its own test process, so the children whose peak RSS we read are only labctl.

use crate::support::alone::alone;
use crate::support::workshop::Workshop;

#[test]
fn three_hundred_megabytes_of_output_complete_in_bounded_memory() {
    if !alone(
        "flood::three_hundred_megabytes_of_output_complete_in_bounded_memory",
        &[],
    ) {
        return;
    }
    let w = Workshop::new().page("lab.md", "# Flood\n\n```execute\nhead -c 300000000 /dev/zero | tr '\\0' a\necho\necho done-flooding\n```\n\n```verify\n- stdout: { contains: done-flooding }\n```\n");
    let report = w.join("r.json");
    let status = w
        .labctl(&["run", "--report", &format!("json={}", report.display())])
        .arg(w.arg())
        .spawn_quiet()
        .wait()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let usage =
        nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
    let peak_mb = usage.max_rss() / 1024;
    assert!(peak_mb < 100, "labctl peaked at {peak_mb} MB");
    let v: serde_json::Value = serde_json::from_str(&w.read("r.json")).unwrap();
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
