//! What students see: hints, `check` telling what to do next, numbering, output in every mode.

use crate::harness::Labctl;
use std::time::Duration;

use crate::run::{Workshop, steps};
use crate::screen::Screen;

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

const SLOW: &str = "# Slow\n\n```execute {name=slow}\nsleep 1.5; echo done\n```\n\n```execute {name=quick}\necho quick\n```\n";

fn labctl_bin() -> &'static str {
    env!("CARGO_BIN_EXE_labctl")
}

#[test]
fn colour_forced_into_a_pipe_still_prints_every_line() {
    let w = Workshop::new(&[("lab.md", SLOW)]);
    for colour in ["always", "never", "auto"] {
        let ran = Labctl::new(&["--color", colour, "run", &w.arg()])
            .unset("CI")
            .unset("NO_COLOR")
            .run();
        ran.code(0);
        assert!(
            ran.stderr.contains("✓") && ran.stderr.contains("slow"),
            "--color {colour}: {:?}",
            ran.stderr
        );
        assert!(
            ran.stderr.contains("2 passed"),
            "--color {colour}: {:?}",
            ran.stderr
        );
        assert_eq!(
            ran.stderr.contains("\x1b["),
            colour == "always",
            "--color {colour}: {:?}",
            ran.stderr
        );
    }
    let forced = Labctl::new(&["run", &w.arg()])
        .unset("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .run();
    assert!(
        forced.stderr.contains("\x1b[") && forced.stderr.contains("2 passed"),
        "{:?}",
        forced.stderr
    );
}

#[test]
fn a_dumb_terminal_gets_plain_lines_and_no_progress() {
    let w = Workshop::new(&[("lab.md", SLOW)]);
    let s = Screen::start(
        &format!("{} run {}", labctl_bin(), w.arg()),
        w.path(),
        "dumb",
    );
    let (code, screen) = s.exit(Duration::from_secs(30));
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("✓ slow") && screen.contains("✓ quick") && screen.contains("2 passed"),
        "{screen}"
    );
    assert!(
        !screen.contains('\x1b') && !screen.contains("[1/2]"),
        "{screen}"
    );
}

#[test]
fn no_color_on_a_terminal_still_shows_progress_then_every_result() {
    let w = Workshop::new(&[("lab.md", SLOW)]);
    let s = Screen::start(
        &format!("NO_COLOR=1 {} run {}", labctl_bin(), w.arg()),
        w.path(),
        "xterm",
    );
    s.wait_for(
        "the progress line of the slow step",
        Duration::from_secs(20),
        |t| t.contains("[1/2] slow: sleep 1.5"),
    );
    let (code, screen) = s.exit(Duration::from_secs(30));
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("✓ slow") && screen.contains("✓ quick") && screen.contains("2 passed"),
        "{screen}"
    );
    assert!(
        !screen.contains("[1/2] slow"),
        "the finished step's progress line stays:\n{screen}"
    );
}

#[test]
fn one_step_numbering_in_list_matrix_reports_and_only() {
    let w = Workshop::new(&[
        ("SUMMARY.md", "- [A](a.md)\n- [B](b.md)\n"),
        (
            "a.md",
            "# A\n\n```execute {name=a-one}\necho one\n```\n\n```execute {name=a-two}\necho two\n```\n",
        ),
        (
            "b.md",
            "# B\n\n```verify\n- command: 'true'\n```\n\n```execute {name=b-fail}\ntest %username% != user2\n```\n",
        ),
    ]);
    let list = Labctl::new(&["list", &w.arg()]).run();
    list.code(0);
    assert!(list.stdout.contains("   3. T1   test"), "{}", list.stdout);
    assert!(list.stdout.contains("2 labs, 3 steps"), "{}", list.stdout);
    let (code, report, stderr) = w.run(&["--users", "user1,user2"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("user2 failed step 3 (b-fail)"), "{stderr}");
    let header = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("1 "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["1", "2", "·", "3"],
        "{stderr}"
    );
    let numbers: Vec<_> = steps(&report).iter().map(|s| s["number"].clone()).collect();
    assert_eq!(
        numbers,
        [
            serde_json::json!(1),
            serde_json::json!(2),
            serde_json::Value::Null,
            serde_json::json!(3)
        ]
    );
    let (_, only, stderr) = w.run(&["--only", "3", "--users", "user1"]);
    let ran: Vec<_> = steps(&only)
        .iter()
        .filter(|s| s["outcome"] != "skipped")
        .map(|s| s["id"].clone())
        .collect();
    assert!(
        ran.contains(&serde_json::json!("b-fail")) && !ran.contains(&serde_json::json!("a-one")),
        "{ran:?} {stderr}"
    );
}
