//! Instructors: the egress workshop for 20 users at once on the sandbox; one
//! user's broken state fails exactly that user, and every report says so.

use crate::support::labctl::{Labctl, repo};
use crate::support::workshop::Workshop;

use serde_json::Value;

use crate::support::processes::processes_with;

/// The egress lab with a step that deletes user7's ServiceEntry after the apply.
fn lab_breaking_user7() -> Workshop {
    let lab = std::fs::read_to_string(repo().join("labs/securing-egress.md")).unwrap();
    let at = lab.find("## The application works again").unwrap();
    let sabotage = "```execute {name=sabotage}\nif [ %username% = user7 ]; then oc delete serviceentry context-scraper-egress -n %username% && sleep 2; fi\n```\n\n";
    let text = format!("{}{sabotage}{}", &lab[..at], &lab[at..]).replace("within=60s", "within=4s");
    let manifest = "manifests/istio/serviceentry-googleapis.yaml";
    Workshop::new()
        .page("securing-egress.md", &text)
        .copy(&repo().join("labs").join(manifest), manifest)
        // Each user's step writes here; per-user copies keep them apart.
        .file("SUMMARY.md", "- [Egress](securing-egress.md)\n")
}

// Long: one 20-user run on the sandbox, then each report read against it; a run per report would repeat the slowest part.
#[test]
fn twenty_users_at_once_exactly_user7_fails_and_reports_agree() {
    let dir = lab_breaking_user7();
    let json = dir.path().join("r.json");
    let junit = dir.path().join("r.xml");
    let html = dir.path().join("r.html");
    let out = Labctl::run_on_sandbox(dir.path().display().to_string())
        .args(["--users", "user1..user20", "-j", "20"])
        .args([
            "--report",
            &format!("json={}", json.display()),
            "--report",
            &format!("junit={}", junit.display()),
            "--report",
            &format!("html={}", html.display()),
        ])
        .run();
    out.code(1);
    let err = &out.stderr;
    // JSON: one run per user; only user7 failed, at the results step.
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 20);
    for r in runs {
        let user = r["user"].as_str().unwrap();
        let expected = if user == "user7" { "failed" } else { "passed" };
        assert_eq!(r["outcome"], expected, "{user}: {r:#}");
        assert_eq!(r["vars"]["username"], user);
    }
    let u7 = runs.iter().find(|r| r["user"] == "user7").unwrap();
    let failed: Vec<&str> = u7["labs"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "failed")
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["scrape-allowed"]);
    // Console: the matrix and the grouped failure line.
    assert!(
        err.lines().any(|l| l.starts_with("user7 failed step ")
            && l.contains("(scrape-allowed): step scrape-allowed failed")),
        "{err}"
    );
    let matrix_row = err
        .lines()
        .find(|l| l.starts_with("user7 "))
        .unwrap_or_else(|| panic!("no matrix row for user7:\n{err}"));
    assert!(matrix_row.contains('✗'), "{matrix_row}");
    assert!(
        err.lines()
            .filter(|l| l.starts_with("user1 "))
            .all(|l| !l.contains('✗')),
        "{err}"
    );
    // JUnit: a testsuite per (user, lab), one failure, in user7's suite.
    let report =
        quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(&junit).unwrap())
            .unwrap();
    assert_eq!(report.test_suites.len(), 20);
    let failing: Vec<&str> = report
        .test_suites
        .iter()
        .filter(|s| s.failures > 0)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(failing, ["user7: Securing Ingress and Egress"]);
    // HTML: parses, holds every user and step, and says who failed where.
    let page = std::fs::read_to_string(&html).unwrap();
    let mut reader = quick_xml::Reader::from_str(&page);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!(
                "the HTML report does not parse at {}: {e}",
                reader.buffer_position()
            ),
        }
    }
    for n in 1..=20 {
        assert!(
            page.contains(&format!(">user{n}<")),
            "user{n} missing from the HTML"
        );
    }
    for id in [
        "check-policy",
        "scrape-blocked",
        "apply-egress",
        "sabotage",
        "scrape-allowed",
    ] {
        assert!(page.contains(id), "{id} missing from the HTML");
    }
    assert!(
        page.contains("user7</a> failed <code>scrape-allowed</code>"),
        "no failure line for user7 in the HTML"
    );
}

#[test]
fn each_user_gets_a_private_working_copy() {
    let dir = Workshop::new()
        .page("lab.md", "# L\n\n```execute\ntest ! -e mine && echo %username% > mine && sleep 0.3 && cat mine\n```\n\n```verify\n- stdout: { equals: '%username%' }\n```\n");
    let out = Labctl::in_repo(&[])
        .args([
            "run",
            &dir.path().display().to_string(),
            "--users",
            "1..5",
            "-j",
            "5",
        ])
        .run();
    out.code(0);
    assert!(
        !dir.path().join("mine").exists(),
        "users wrote into the shared folder"
    );
}

#[test]
fn ctrl_c_with_twenty_users_writes_reports_and_leaves_nothing() {
    let dir = Workshop::new().page(
        "lab.md",
        "# L\n\n```execute\nsleep 4242.41 & sleep 4242.42\n```\n\n```execute\necho never\n```\n",
    );
    let json = dir.path().join("r.json");
    let html = dir.path().join("r.html");
    let mut child = Labctl::in_repo(&[])
        .args([
            "run",
            &dir.path().display().to_string(),
            "--users",
            "user1..user20",
            "-j",
            "20",
        ])
        .args([
            "--report",
            &format!("json={}", json.display()),
            "--report",
            &format!("html={}", html.display()),
        ])
        .spawn_quiet();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while processes_with("sleep 4242.42").len() < 20 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["outcome"], "interrupted");
    assert_eq!(v["runs"].as_array().unwrap().len(), 20);
    assert!(html.exists());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        processes_with("sleep 4242.4").is_empty(),
        "{:?}",
        processes_with("sleep 4242.4")
    );
}
