//! Smaller hostile inputs from issue 11: each a lint error or a clear message
//! with exit 2, and the limits that keep a run from spinning.

use crate::run::steps;
use crate::support::labctl::Labctl;
use crate::support::workshop::Workshop;

/// `labctl lint --format json PAGE` in a workshop with these files: (status, error codes).
fn lint_errors(files: &[(&str, &str)], page: &str) -> (i32, Vec<String>, String) {
    let w = Workshop::new().pages(files);
    let r = Labctl::new(&["lint", "--format", "json", page])
        .dir(w.path())
        .run();
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let v = r.json();
    let codes = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect();
    (r.code.unwrap(), codes, r.stdout)
}

#[test]
fn each_bad_page_is_a_lint_error() {
    let step = |info: &str| format!("# L\n\n```{info}\necho hi\n```\n");
    let cases: Vec<(String, &str)> = vec![
        (step("execute {name=a\u{200B}b}"), "invisible-name"),
        (step("execute {name=\u{202E}evil}"), "invisible-name"),
        (step("execute-0"), "bad-terminal"),
        (step("execute-x"), "bad-terminal"),
        (
            step("execute {terminal=99999999999}"),
            "bad-attribute-value",
        ),
        (step("execute {exit=256}"), "bad-attribute-value"),
        (step("execute {exit=-1}"), "bad-attribute-value"),
        (step("execute {name=a name=b}"), "duplicate-attribute"),
        (
            "# L\r\r```execute\recho hi\r```\r".to_string(),
            "cr-line-endings",
        ),
        (
            "# L\n\n```execute\necho hi\n```\n\n```output\nhi\n".to_string(),
            "unclosed-fence",
        ),
        // The yaml fence would swallow the step after it.
        (
            "# L\n\n```yaml\na: 1\n\n```execute\necho hi\n".to_string(),
            "unclosed-fence",
        ),
    ];
    for (page, code) in cases {
        let (status, codes, out) = lint_errors(&[("lab.md", &page)], "lab.md");
        assert_eq!(status, 2, "{page:?}: {out}");
        assert!(
            codes.iter().any(|c| c == code),
            "{page:?}: want {code}, got {codes:?}"
        );
    }
}

#[test]
fn a_book_toml_that_does_not_parse_is_an_error() {
    let (status, codes, out) = lint_errors(
        &[
            ("book.toml", "[book\ntitle = 1\n"),
            ("lab.md", "# L\n\n```execute\ntrue\n```\n"),
        ],
        ".",
    );
    assert_eq!(status, 2, "{out}");
    assert!(codes.contains(&"bad-book-toml".to_string()), "{codes:?}");
    assert!(out.contains("book.toml"), "{out}");
}

#[test]
fn no_labs_found_exits_2() {
    let w = Workshop::new().pages(&[("notes.txt", "```execute\ntouch ran\n```\n")]);
    std::fs::create_dir(w.join("empty")).unwrap();
    for path in [
        w.join("empty").display().to_string(),
        w.join("notes.txt").display().to_string(),
        "/dev/null".into(),
    ] {
        let r = Labctl::new(&["run", &path]).dir(w.path()).run();
        r.code(2);
        assert!(
            r.stderr.contains("no labs found") && r.stderr.contains(&path),
            "{path}: {}",
            r.stderr
        );
    }
    assert!(!w.join("ran").exists());
}

#[test]
fn timeout_0s_is_refused() {
    let w = Workshop::new().pages(&[("lab.md", "# L\n\n```execute\ntouch ran\n```\n")]);
    let r = Labctl::new(&["run", "--timeout", "0s", &w.arg()])
        .dir(w.path())
        .run();
    r.code(2);
    assert!(r.stderr.contains("--timeout"), "{}", r.stderr);
    assert!(!w.join("ran").exists());
}

#[test]
fn hold_with_interval_0s_rechecks_at_a_floor_not_in_a_busy_loop() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\n```execute\ntrue\n```\n\n```verify\n- command: 'echo try >> tries.txt'\n  hold: 1s\n  interval: 0s\n```\n",
    )]);
    let (code, v, err) = w.run(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(steps(&v)[0]["outcome"], "passed");
    let tries = std::fs::read_to_string(w.join("tries.txt"))
        .unwrap()
        .lines()
        .count();
    assert!((2..=30).contains(&tries), "{tries} tries in a 1s hold");
}

#[test]
fn a_json_check_over_output_larger_than_the_capture_says_so() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\n```execute\njq -cn '[range(400000)] | {items: .}'\n```\n\n```verify\n- json: $.items[0]\n  equals: 0\n```\n",
    )]);
    let (code, v, _) = w.run(&[]);
    assert_eq!(code, 1);
    let message = steps(&v)[0]["checks"][1]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("larger than labctl keeps"), "{message}");
    assert!(!message.contains("not JSON"), "{message}");
}

#[test]
fn a_fence_inside_a_blockquote_runs() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\n> Note:\n>\n> > ```execute {name=quoted}\n> > echo from-the-quote\n> > ```\n> >\n> > ```verify\n> > - stdout: { contains: from-the-quote }\n> > ```\n",
    )]);
    let (code, v, err) = w.run(&[]);
    assert_eq!(code, 0, "{err}");
    let s = steps(&v);
    assert_eq!((s.len(), s[0]["id"].as_str()), (1, Some("quoted")));
    assert_eq!(s[0]["checks"].as_array().unwrap().len(), 2);
}
