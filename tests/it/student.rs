//! What students see: hints, `check` telling what to do next, numbering, output in every mode.

use crate::harness::Labctl;
use crate::run::{Workshop, steps};

const HINTED: &str = "# Hinted\n\n```execute {name=greet}\necho hello\n```\n\n```verify\n- stdout: { contains: goodbye }\n  hint: say goodbye, not hello\n```\n";

#[test]
fn a_failing_checks_hint_is_in_the_console_and_the_json_report() {
    let w = Workshop::new(&[("lab.md", HINTED)]);
    let (code, report, stderr) = w.run(&[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("hint: say goodbye, not hello"), "{stderr}");
    let checks = steps(&report)[0]["checks"].as_array().unwrap().clone();
    let hinted: Vec<_> = checks.iter().filter(|c| c["hint"].is_string()).collect();
    assert_eq!(hinted.len(), 1, "{checks:?}");
    assert_eq!(hinted[0]["hint"], "say goodbye, not hello");
}

#[test]
fn a_hint_that_is_not_text_is_a_lint_error() {
    let w = Workshop::new(&[(
        "lab.md",
        "# H\n\n```execute\necho hi\n```\n\n```verify\n- exit: 0\n  hint: [a, b]\n```\n",
    )]);
    let ran = Labctl::new(&["lint", &w.arg()]).run();
    ran.code(2);
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert!(all.contains("`hint` needs a string"), "{all}");
}

#[test]
fn a_lab_file_run_alone_reads_its_books_variables() {
    let w = Workshop::new(&[
        (
            "book.toml",
            "[book]\nsrc = \"labs\"\n\n[preprocessor.labctl.vars]\nusername = \"user7\"\n",
        ),
        ("labs/SUMMARY.md", "- [Lab](lab.md)\n"),
        (
            "labs/lab.md",
            "# Lab\n\n```execute\necho I am %username%\n```\n\n```verify\n- stdout: { contains: I am user7 }\n```\n",
        ),
    ]);
    let file = w.file("labs/lab.md").display().to_string();
    let ran = Labctl::new(&["run", &file]).dir(w.path()).run();
    ran.code(0);
    let folder = w.file("labs").display().to_string();
    Labctl::new(&["run", &folder]).dir(w.path()).run().code(0);
}
