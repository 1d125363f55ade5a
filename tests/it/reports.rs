//! Reports for CI systems and classes: JUnit keys, GitHub annotations, TAP,
//! the fan-out console, rerunning the failed users, merging overlapping runs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::labctl::Labctl;
use crate::support::workshop::Workshop;

/// A lab whose `gate` step fails for every user that has a file in `flags/`.
fn class_workshop() -> Workshop {
    let w = Workshop::new().pages(&[(
        "egress.md",
        "# Egress\n\n```execute {name=hello}\necho hello %username%\n```\n\n```execute {name=gate}\ntest ! -e '%flags%/%username%'\n```\n\n```execute {name=after}\necho after\n```\n",
    )]);
    std::fs::create_dir_all(w.join("flags")).unwrap();
    w
}

fn flag(w: &Workshop, users: &[&str]) -> String {
    for u in users {
        std::fs::write(w.join("flags").join(u), "").unwrap();
    }
    format!("flags={}", w.join("flags").display())
}

/// `labctl run` of the class workshop for user1..user4, four at a time, the
/// gate failing for `failing`.
fn four_users(w: &Workshop, failing: &[&str]) -> Labctl {
    let vars = flag(w, failing);
    Labctl::new(&[
        "run",
        &w.arg(),
        "--users",
        "1..4",
        "-j",
        "4",
        "--var",
        &vars,
    ])
}

fn junit(path: &Path) -> quick_junit::Report {
    quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(path).unwrap())
        .expect("JUnit parses with quick-junit's reader")
}

/// (classname, name, file, line) of every testcase.
fn keys(r: &quick_junit::Report) -> Vec<(String, String, String, String)> {
    r.test_suites
        .iter()
        .flat_map(|s| s.test_cases.iter())
        .map(|c| {
            let attr = |k: &str| {
                c.extra
                    .get(k)
                    .map(|v| v.as_str().to_string())
                    .unwrap_or_else(|| panic!("testcase {} has no {k}", c.name.as_str()))
            };
            (
                c.classname.as_ref().unwrap().as_str().to_string(),
                c.name.as_str().to_string(),
                attr("file"),
                attr("line"),
            )
        })
        .collect()
}

// Long: the same 20-user run from two folders, compared key by key.
#[test]
fn junit_keys_are_unique_over_20_users_and_stable_from_another_folder() {
    let w = class_workshop();
    let vars = flag(&w, &["user7"]);
    let xml = w.join("r.xml");
    let report = format!("junit={}", xml.display());
    // Once as an absolute path from elsewhere...
    let ran = Labctl::new(&[
        "run",
        &w.arg(),
        "--users",
        "user1..user20",
        "-j",
        "20",
        "--var",
        &vars,
        "--report",
        &report,
    ])
    .dir(Path::new("/"))
    .run();
    ran.code(1);
    let first = junit(&xml);
    let k = keys(&first);
    assert_eq!(k.len(), 60);
    let unique: BTreeSet<_> = k
        .iter()
        .map(|(c, n, _, _)| (c.clone(), n.clone()))
        .collect();
    assert_eq!(unique.len(), 60, "(classname, name) repeats: {k:?}");
    assert!(k.contains(&(
        "user7.egress".into(),
        "gate".into(),
        "egress.md".into(),
        "7".into()
    )));
    assert!(
        k.iter()
            .all(|(c, ..)| !c.contains('/') && !c.contains(".md"))
    );
    for s in &first.test_suites {
        assert!(
            s.timestamp.is_some(),
            "suite {} has no timestamp",
            s.name.as_str()
        );
        assert!(s.time.is_some(), "suite {} has no time", s.name.as_str());
    }
    let failed: Vec<_> = first
        .test_suites
        .iter()
        .flat_map(|s| s.test_cases.iter())
        .filter_map(|c| match &c.status {
            quick_junit::TestCaseStatus::NonSuccess {
                message, ty, kind, ..
            } => Some((
                c.classname.as_ref().unwrap().to_string(),
                *kind,
                ty.as_ref().map(|t| t.to_string()),
                message.as_ref().map(|m| m.to_string()).unwrap_or_default(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "user7.egress");
    assert_eq!(failed[0].1, quick_junit::NonSuccessKind::Failure);
    assert_eq!(failed[0].2.as_deref(), Some("exit"));
    assert_eq!(
        failed[0].3,
        "Expected: The command succeeds (exit status 0); got: 1"
    );
    // ...and once as `.` from inside the workshop: the same keys.
    Labctl::new(&[
        "run",
        ".",
        "--users",
        "user1..user20",
        "-j",
        "20",
        "--var",
        &vars,
        "--report",
        &report,
    ])
    .dir(w.path())
    .run()
    .code(1);
    assert_eq!(keys(&junit(&xml)), k);
}

#[test]
fn github_annotations_and_job_summary_under_github_actions() {
    let w = class_workshop();
    let summary = w.join("summary.md");
    std::fs::write(&summary, "earlier step's summary\n").unwrap();
    let ran = four_users(&w, &["user2", "user3"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", summary.display().to_string())
        .run();
    ran.code(1);
    let errors: Vec<&str> = ran.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(
        errors,
        [
            "::error file=egress.md,line=7,title=gate::user2, user3 failed: exit status is 0: Expected: The command succeeds (exit status 0); got: 1"
        ],
        "{}",
        ran.stdout
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("earlier step's summary\n## labctl: failed"),
        "{md}"
    );
    assert!(md.contains("| user | 1 | 2 | 3 |"), "{md}");
    assert!(md.contains("| user2 | ✓ | ✗ | ⊘ |"), "{md}");
    assert!(md.contains("| user4 | ✓ | ✓ | ✓ |"), "{md}");
    assert!(md.contains("### Failures"), "{md}");
    assert!(
        md.contains("- **user2, user3** failed `gate` (egress.md:7)"),
        "{md}"
    );
    // Outside Actions nothing is printed on stdout.
    let plain = four_users(&w, &["user2", "user3"]).run();
    assert!(!plain.stdout.contains("::error"), "{}", plain.stdout);
}

/// tap-parser (npm), the TAP 14 reference parser; .ci/run installs it.
fn tap_parser() -> PathBuf {
    let p = crate::support::labctl::repo().join("target/tap-parser/node_modules/.bin/tap-parser");
    assert!(
        p.exists(),
        "{} is missing: npm install --prefix target/tap-parser tap-parser@18 (as .ci/run does)",
        p.display()
    );
    p
}

#[test]
fn tap_report_is_read_by_a_tap14_parser() {
    let w = class_workshop();
    let vars = flag(&w, &["user2"]);
    let tap = w.join("r.tap");
    Labctl::new(&[
        "run",
        &w.arg(),
        "--users",
        "1..3",
        "-j",
        "3",
        "--var",
        &vars,
        "--report",
        &format!("tap={}", tap.display()),
    ])
    .run()
    .code(1);
    let text = std::fs::read_to_string(&tap).unwrap();
    assert!(text.starts_with("TAP version 14\n"), "{text}");
    let out = Command::new(tap_parser())
        .arg("-j")
        .stdin(std::fs::File::open(&tap).unwrap())
        .output()
        .unwrap();
    let events: Value = serde_json::from_slice(&out.stdout).expect("tap-parser JSON");
    let complete = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e[0] == "complete")
        .unwrap_or_else(|| panic!("no complete event: {events:#}"));
    let c = &complete[1];
    assert_eq!(c["ok"], false, "{c:#}");
    assert_eq!(
        (c["count"].clone(), c["pass"].clone(), c["fail"].clone()),
        (9.into(), 8.into(), 1.into()),
        "{c:#}"
    );
    assert_eq!(c["skip"], 1, "{c:#}");
    assert!(
        c["failures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["tapError"].is_null()),
        "parse errors: {c:#}"
    );
    let f = &c["failures"][0];
    assert_eq!(f["name"], "user2.egress gate");
    assert_eq!(f["diag"]["check"], "exit");
    assert_eq!(f["diag"]["at"]["line"], 7);
    assert_eq!(
        f["diag"]["message"],
        "Expected: The command succeeds (exit status 0); got: 1"
    );
}

#[test]
fn console_with_users_off_a_terminal_prints_a_line_per_user_and_each_failure_once() {
    let w = class_workshop();
    let ran = four_users(&w, &["user2", "user3"]).run();
    ran.code(1);
    let err = &ran.stderr;
    assert!(!err.contains("[user"), "{err}");
    for u in ["user1", "user2", "user3", "user4"] {
        let finished: Vec<_> = err
            .lines()
            .filter(|l| l.starts_with(['✓', '✗']) && l.contains(&format!(" {u} ")))
            .collect();
        assert_eq!(finished.len(), 1, "{u}: {err}");
    }
    assert!(
        err.contains("✗ user2  1 passed, 1 failed, 1 skipped"),
        "{err}"
    );
    assert_eq!(
        err.matches("user2, user3 failed step 2 (gate): step gate failed: exit status is 0")
            .count(),
        1,
        "{err}"
    );
    assert_eq!(err.matches("✗ exit status is 0").count(), 1, "{err}");
    assert!(err.contains("as seen by user2"), "{err}");
}

// Long: one instructor workflow, run then rerun then merge, each step reading the files of the one before.
#[test]
fn rerun_the_failed_users_then_merge_keeps_the_later_results() {
    let w = class_workshop();
    let vars = flag(&w, &["user2", "user4"]);
    let first = w.join("first.json");
    Labctl::new(&[
        "run",
        &w.arg(),
        "--users",
        "1..5",
        "-j",
        "5",
        "--var",
        &vars,
        "--report",
        &format!("json={}", first.display()),
    ])
    .run()
    .code(1);
    // Fixed: the rerun of the failed ones passes.
    std::fs::remove_dir_all(w.join("flags")).unwrap();
    std::fs::create_dir_all(w.join("flags")).unwrap();
    let second = w.join("second.json");
    let ran = Labctl::new(&[
        "run",
        &w.arg(),
        "--users-from",
        &first.display().to_string(),
        "--failed",
        "-j",
        "5",
        "--var",
        &vars,
        "--report",
        &format!("json={}", second.display()),
    ])
    .run();
    ran.code(0);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&second).unwrap()).unwrap();
    let rerun: Vec<(String, String)> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["user"].as_str().unwrap().to_string(),
                r["vars"]["user_index"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rerun,
        [("user2".into(), "2".into()), ("user4".into(), "4".into())]
    );
    // Whole labs: every step ran again.
    assert_eq!(
        v["runs"][0]["labs"][0]["steps"].as_array().unwrap().len(),
        3
    );

    let merged = Labctl::new(&[
        "report",
        "merge",
        &first.display().to_string(),
        &second.display().to_string(),
    ])
    .run();
    merged.code(0);
    let m = merged.json();
    let users: Vec<&str> = m["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["user1", "user2", "user3", "user4", "user5"]);
    assert_eq!(m["outcome"], "passed");
    for u in ["user2", "user4"] {
        assert!(
            merged.stderr.contains(&format!(
                "note: {u} is in more than one report: kept the result of the run that started last"
            )),
            "{}",
            merged.stderr
        );
    }
    assert!(
        merged
            .stderr
            .contains("5 users: 15 passed, 0 failed, 0 skipped: passed"),
        "{}",
        merged.stderr
    );
    // The same reports the other way round: the later run still wins.
    let again = Labctl::new(&[
        "report",
        "merge",
        &second.display().to_string(),
        &first.display().to_string(),
    ])
    .run();
    again.code(0);

    // Nothing failed in the second report: nothing to rerun.
    let none = Labctl::new(&[
        "run",
        &w.arg(),
        "--users-from",
        &second.display().to_string(),
        "--failed",
    ])
    .run();
    none.code(0);
    assert!(none.stderr.contains("no user failed"), "{}", none.stderr);
}

#[test]
fn report_merge_into_a_closed_pipe_ends_quietly() {
    let w = class_workshop();
    let vars = flag(&w, &[]);
    let r = w.join("r.json");
    Labctl::new(&[
        "run",
        &w.arg(),
        "--users",
        "1..40",
        "-j",
        "20",
        "--var",
        &vars,
        "--report",
        &format!("json={}", r.display()),
    ])
    .run()
    .code(0);
    // More than a pipe holds (64 KiB), so the writer meets the closed pipe
    // whatever the timing.
    assert!(std::fs::metadata(&r).unwrap().len() > 70_000);
    let bin = crate::support::labctl::binary();
    for args in [
        format!("report merge {}", r.display()),
        format!("run --dry-run --users 1..400 {} --var {vars}", w.arg()),
        format!("list --format json {}", w.arg()),
    ] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "'{bin}' {args} 2>err.txt | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}}"
            ))
            .current_dir(w.path())
            .output()
            .unwrap();
        let err = std::fs::read_to_string(w.join("err.txt")).unwrap();
        assert!(!err.contains("panicked"), "{args}: {err}");
        assert!(!err.contains("Broken pipe"), "{args}: {err}");
        // 141: list and lint die of SIGPIPE as Unix tools do, silently.
        let status = String::from_utf8_lossy(&out.stdout);
        assert!(
            ["0", "1", "141"].contains(&status.trim()),
            "{args}: exit {status} {err}"
        );
    }
}
