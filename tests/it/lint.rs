//! `labctl lint` and the hostile inputs: exit 2 with file and line, never a panic.

use crate::support::labctl::Labctl;
use crate::support::workshop::Workshop;

fn lint_json(path: &str) -> (i32, Vec<serde_json::Value>) {
    lint_json_with(path, &[])
}

fn lint_json_with(path: &str, extra: &[&str]) -> (i32, Vec<serde_json::Value>) {
    let mut args = vec!["lint", "--format", "json"];
    args.extend_from_slice(extra);
    args.push(path);
    let r = Labctl::new(&args).run();
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let v = r.json();
    (
        r.code.unwrap(),
        v["diagnostics"].as_array().unwrap().clone(),
    )
}

fn codes(d: &[serde_json::Value], severity: &str) -> Vec<String> {
    d.iter()
        .filter(|d| d["severity"] == severity)
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn hostile_inputs_exit_2_with_file_and_line() {
    for (file, code, line) in [
        ("hostile/binary.md", "non-utf8", 2),
        ("hostile/open-fence.md", "unclosed-fence", 3),
        ("hostile/bad-yaml.md", "verify-yaml", 8),
        ("hostile/bad-jsonpath.md", "bad-jsonpath", 8),
        ("hostile/unknown-attribute.md", "unknown-attribute", 3),
        ("hostile/undefined-variable.md", "undefined-variable", 4),
    ] {
        let (status, d) = lint_json(file);
        assert_eq!(status, 2, "{file}: {d:?}");
        let e = d
            .iter()
            .find(|d| d["severity"] == "error")
            .unwrap_or_else(|| panic!("{file}: no error in {d:?}"));
        assert_eq!(
            (e["code"].as_str().unwrap(), e["line"].as_u64().unwrap()),
            (code, line),
            "{file}: {e}"
        );
        assert!(e["path"].as_str().unwrap().ends_with(file), "{e}");
        if code == "undefined-variable" {
            continue; // list shows undefined variables unfilled
        }
        // list refuses the same input with the same diagnostic on stderr.
        let r = Labctl::new(&["list", file]).run();
        r.code(2);
        assert!(
            r.stderr.contains(&format!("{file}:{line}:")),
            "{file}: {}",
            r.stderr
        );
    }
}

#[test]
fn text_diagnostic_has_caret_and_help() {
    let r = Labctl::new(&["lint", "hostile/unknown-attribute.md"]).run();
    r.code(2);
    assert!(
        r.stdout
            .contains("error[unknown-attribute]: unknown attribute `timout`"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(" --> hostile/unknown-attribute.md:3:20"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("3 | ```execute {name=a timout=3s}\n  |                    ^^^^^^\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("= help: did you mean `timeout`?"),
        "{}",
        r.stdout
    );
}

#[test]
fn empty_file_is_a_clean_listing() {
    Labctl::new(&["list", "hostile/empty.md"]).run().code(0);
    let (status, d) = lint_json("hostile/empty.md");
    assert_eq!((status, d.len()), (0, 0));
}

#[test]
fn undefined_variables_are_errors_as_run_refuses_them_platform_ones_too() {
    let (_, d) = lint_json("hostile/undefined-variable.md");
    assert_eq!(codes(&d, "info"), ["unchecked-step"]);
    assert_eq!(
        codes(&d, "error"),
        ["undefined-variable", "undefined-variable"]
    );
    // Given a value, it is no error.
    let (_, d) = lint_json_with(
        "hostile/undefined-variable.md",
        &["--var", "session_namespace=ns1"],
    );
    assert_eq!(codes(&d, "error"), ["undefined-variable"]);
    assert!(
        d.iter()
            .any(|d| d["message"].as_str().unwrap().contains("custom_thing"))
    );
}

#[test]
fn unsafe_variable_value_is_refused() {
    let r = Labctl::new(&["list", "--var", "username=x;rm", "hostile/username.md"]).run();
    // list shows values unfilled-or-filled but never fails on variables; run refuses (engine tests).
    r.code(0);
}

#[test]
fn warnings_and_infos_alone_exit_0() {
    let (status, d) = lint_json_with("homeroom", &["--var", "username=user1"]);
    assert_eq!(status, 0, "{d:?}");
    assert!(codes(&d, "info").contains(&"auto-background".to_string()));
}

#[test]
fn examiner_script_missing_is_an_error() {
    let dir = Workshop::new().page(
        "workshop/content/a.md",
        "```examiner:execute-test\nname: nope\n```\n",
    );
    let r = Labctl::new(&["lint", "--format", "json", dir.path().to_str().unwrap()]).run();
    r.code(2);
    assert!(r.stdout.contains("examiner-missing"), "{}", r.stdout);
    // The fixture's script exists: no such error there.
    let (_, d) = lint_json("educates-hugo");
    assert!(
        !codes(&d, "error").contains(&"examiner-missing".to_string()),
        "{d:?}"
    );
}

#[test]
fn workshop_level_warnings() {
    let dir = Workshop::new()
        .page("lab.md", "# L\n\n![d](img/none.svg)\n\n```execute\noc apply -f ./manifests/none.yaml -n %username%\necho user7\n```\n\n```verify\n- exit: 0\n```\n\n```execute\nls\n```\n");
    let r = Labctl::new(&[
        "lint",
        "--format",
        "json",
        "--var",
        "username=user1",
        dir.path().to_str().unwrap(),
    ])
    .run();
    r.code(0);
    let d = r.json()["diagnostics"].as_array().unwrap().clone();
    assert_eq!(
        codes(&d, "warning"),
        ["missing-image", "missing-file", "hardcoded-user"]
    );
    assert_eq!(codes(&d, "info"), ["unchecked-step"]);
}

#[test]
fn duplicate_step_names() {
    let dir = Workshop::new().page(
        "lab.md",
        "```execute {name=a}\nls\n```\n```execute {name=a}\nls\n```\n",
    );
    let r = Labctl::new(&["lint", "--format", "json", dir.path().to_str().unwrap()]).run();
    r.code(2);
    assert!(r.stdout.contains("duplicate-step"), "{}", r.stdout);
}

#[test]
fn fifty_megabyte_page_is_handled() {
    let mut page = String::from("# Big\n\n```execute\necho big\n```\n\n");
    let para = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(20) + "\n\n";
    while page.len() < 50 * 1024 * 1024 {
        page.push_str(&para);
    }
    page.push_str("```execute {timout=1s}\nls\n```\n");
    let lines = page.lines().count();
    let dir = Workshop::new().page("big.md", &page);
    let file = dir.join("big.md");
    let r = Labctl::new(&["list", file.to_str().unwrap()]).run();
    r.code(2);
    assert!(
        r.stderr.contains(&format!("big.md:{}:", lines - 2)),
        "{}",
        &r.stderr[..r.stderr.len().min(500)]
    );
}
