//! `--report` targets are checked before the first step: exit 2 naming the path.

use crate::support::labctl::Labctl;
use crate::support::workshop::Workshop;

const LAB: &str = "# L\n\n```execute\ntouch ran-marker\n```\n";

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".labctl-"))
        .collect()
}

#[test]
fn each_refused_report_target_exits_2_before_the_first_step() {
    let w = Workshop::new().pages(&[("lab.md", LAB), ("keep.json", "precious")]);
    std::os::unix::fs::symlink(w.join("keep.json"), w.join("link.json")).unwrap();
    nix::unistd::mkfifo(&w.join("pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    std::fs::create_dir(w.join("folder")).unwrap();
    let cases = [
        (
            "json",
            w.join("link.json").display().to_string(),
            "symbolic link",
        ),
        ("json", w.join("pipe").display().to_string(), "FIFO"),
        ("junit", w.join("folder").display().to_string(), "directory"),
        ("json", "/dev/null".to_string(), "device"),
        ("html", w.join("lab.md").display().to_string(), "lab page"),
        ("json", "lab.md".to_string(), "lab page"),
        (
            "json",
            w.join("no/such/r.json").display().to_string(),
            "does not exist",
        ),
        (
            "json",
            "/proc/labctl-report.json".to_string(),
            "cannot write",
        ),
    ];
    for (format, path, why) in cases {
        let target = format!("{format}={path}");
        let ran = Labctl::new(&["run", "--report", &target, &w.arg()])
            .dir(w.path())
            .run();
        ran.code(2);
        assert!(
            ran.stderr.contains(&path) && ran.stderr.contains(why),
            "{target}: {}",
            ran.stderr
        );
        assert!(!w.join("ran-marker").exists(), "{target}: a step ran");
        assert!(leftovers(w.path()).is_empty(), "{:?}", leftovers(w.path()));
    }
    assert_eq!(
        std::fs::read_to_string(w.join("keep.json")).unwrap(),
        "precious"
    );
    assert!(std::fs::read_link(w.join("link.json")).is_ok());
    assert!(
        std::fs::read_to_string(w.join("lab.md"))
            .unwrap()
            .contains("ran-marker")
    );
    // The same file twice is refused too.
    let t = format!("json={}", w.join("r.json").display());
    Labctl::new(&["run", "--report", &t, "--report", &t, &w.arg()])
        .dir(w.path())
        .run()
        .code(2);
    assert!(!w.join("ran-marker").exists());
}

#[test]
fn a_regular_file_is_replaced_and_no_temp_file_is_left() {
    let w = Workshop::new().pages(&[("lab.md", LAB), ("r.json", "old")]);
    let t = format!("json={}", w.join("r.json").display());
    Labctl::new(&["run", "--report", &t, &w.arg()])
        .dir(w.path())
        .run()
        .code(0);
    let text = std::fs::read_to_string(w.join("r.json")).unwrap();
    assert!(text.starts_with('{'), "{text}");
    assert!(leftovers(w.path()).is_empty());
}

#[test]
fn report_merge_refuses_to_overwrite_its_input() {
    let w = Workshop::new().pages(&[("lab.md", LAB)]);
    let (code, _, _) = w.run(&[]);
    assert_eq!(code, 0);
    let input = w.join("report.json").display().to_string();
    let ran = Labctl::new(&[
        "report",
        "merge",
        &input,
        "--report",
        &format!("json={input}"),
    ])
    .dir(w.path())
    .run();
    ran.code(2);
    assert!(ran.stderr.contains(&input), "{}", ran.stderr);
}
