//! `labctl report merge`: two real runs (one per user, as pods of the
//! in-cluster Job would make them) merged into json, junit and html.

use std::path::Path;

use crate::support::labctl::{Labctl, Ran};
use crate::support::workshop::Workshop;

fn labctl(args: &[&str], dir: &Path) -> Ran {
    Labctl::new(args).dir(dir).run()
}

fn text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

// Long: two runs, then their merge read as json, junit and html; the merge needs both runs.
#[test]
fn merges_two_runs_into_json_junit_and_html() {
    let dir = Workshop::new().page(
        "ws/lab.md",
        "# Lab\n\n```execute {name=hello}\necho \"hello <%username%>\"\n```\n\n\
         ```execute {name=gate}\ntest \"%expected%\" = ok\n```\n",
    );
    let ws = dir.path().join("ws").display().to_string();

    let one = labctl(
        &[
            "run",
            &ws,
            "--users",
            "user1",
            "--var",
            "expected=ok",
            "--report",
            "json=r1.json",
        ],
        dir.path(),
    );
    one.code(0);
    let two = labctl(
        &[
            "run",
            &ws,
            "--users",
            "user2",
            "--var",
            "expected=no",
            "--report",
            "json=r2.json",
        ],
        dir.path(),
    );
    two.code(1);
    // A pod log: console lines, then the report (what the Job's script prints).
    let log = format!(
        "== user2\nsomething went wrong\n{}\n",
        text(&dir.path().join("r2.json"))
    );
    std::fs::write(dir.path().join("pod-1.txt"), log).unwrap();

    // Given in reverse order: users still come out user1, user2.
    // Report folders must exist (issue 11: targets are checked before anything runs).
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let merged = labctl(
        &[
            "report",
            "merge",
            "pod-1.txt",
            "r1.json",
            "--report",
            "json=out/m.json",
            "--report",
            "junit=out/m.xml",
            "--report",
            "html=out/m.html",
        ],
        dir.path(),
    );
    merged.code(1);

    let doc: serde_json::Value =
        serde_json::from_str(&text(&dir.path().join("out/m.json"))).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["outcome"], "failed");
    let users: Vec<_> = doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["user"].clone())
        .collect();
    assert_eq!(users, ["user1", "user2"]);
    assert_eq!(doc["runs"][0]["outcome"], "passed");
    assert_eq!(doc["runs"][1]["outcome"], "failed");
    assert_eq!(doc["runs"][1]["labs"][0]["steps"][1]["outcome"], "failed");

    let junit =
        quick_junit::Report::deserialize_from_str(&text(&dir.path().join("out/m.xml"))).unwrap();
    assert_eq!(junit.test_suites.len(), 2);
    assert_eq!(junit.failures, 1);

    let html = text(&dir.path().join("out/m.html"));
    assert!(html.contains("user1") && html.contains("user2"));
    assert!(
        html.contains("<a href=\"#u-user2-gate\">user2</a> failed <code>gate</code>"),
        "{html}"
    );
    assert!(html.contains("hello &lt;user1&gt;"), "{html}");
}

#[test]
fn bad_input_exits_2_naming_the_file() {
    let dir = Workshop::new().file("junk.txt", "no report here\n");
    let out = labctl(&["report", "merge", "junk.txt"], dir.path());
    out.code(2).stderr_has("junk.txt: no JSON report");
}
