//! Per-user working copies and `labctl job`'s ConfigMap take the workshop's
//! files only: `.gitignore` rules apply, FIFOs and sockets are skipped,
//! symlinks stay symlinks; a FIFO never blocks a run.

use std::time::{Duration, Instant};

use crate::support::labctl::Labctl;
use crate::support::workshop::Workshop;

/// Runs labctl; panics when it takes longer than `limit` (and kills it).
pub fn run_within(args: &[&str], dir: &std::path::Path, limit: Duration) -> (i32, String, String) {
    let mut child = Labctl::new(args).dir(dir).spawn();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("labctl {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn workshop_with_fifo() -> Workshop {
    let w = Workshop::new().pages(&[
        (
            "lab.md",
            "# L\n\n```execute {name=look}\nls -A; test -L link.md && test -f sub/kept.md && test ! -e build && test ! -e pipe && test ! -e debug.log\n```\n",
        ),
        (".gitignore", "build/\n*.log\n"),
        ("build/huge.bin", "output of a build"),
        ("debug.log", "noise"),
        ("sub/kept.md", "kept"),
    ]);
    nix::unistd::mkfifo(&w.join("pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    std::os::unix::net::UnixListener::bind(w.join("socket")).unwrap();
    std::os::unix::fs::symlink("lab.md", w.join("link.md")).unwrap();
    w
}

#[test]
fn a_fifo_in_the_workshop_does_not_hang_a_fan_out_and_copies_follow_gitignore() {
    let w = workshop_with_fifo();
    let report = w.join("r.json");
    let (code, _, err) = run_within(
        &[
            "run",
            "--users",
            "user1..user2",
            "--report",
            &format!("json={}", report.display()),
            "lab.md",
        ],
        w.path(),
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    for run in v["runs"].as_array().unwrap() {
        let out = run["labs"][0]["steps"][0]["stdout"].as_str().unwrap();
        assert!(
            out.contains(".gitignore") && out.contains("sub") && !out.contains("pipe"),
            "{out}"
        );
    }
}

#[test]
fn a_fifo_in_the_workshop_does_not_hang_labctl_job() {
    let w = workshop_with_fifo();
    let (code, yaml, err) = run_within(
        &["job", ".", "--users", "user1..user2", "--image", "x"],
        w.path(),
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{err}");
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    let data = docs[0]["data"].as_object().unwrap();
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    assert!(
        keys.contains(&"lab.md") && keys.contains(&"sub__kept.md"),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"link.md"),
        "a link is read through: {keys:?}"
    );
    for absent in ["pipe", "socket", "build__huge.bin", "debug.log"] {
        assert!(!keys.contains(&absent), "{absent} in {keys:?}");
    }
}
