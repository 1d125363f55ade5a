//! What students see: hints, `check` telling what to do next, numbering, output in every mode.

use crate::support::labctl::{Labctl, Ran};
use std::time::Duration;

use crate::run::steps;
use crate::screen::Screen;
use crate::support::workshop::Workshop;

/// `labctl lint` on a workshop of the one page lab.md holding `text`.
fn lint_page(text: &str) -> (Workshop, Ran) {
    let w = Workshop::new().page("lab.md", text);
    let ran = Labctl::new(&["lint", &w.arg()]).run();
    (w, ran)
}

const HINTED: &str = "# Hinted\n\n```execute {name=greet}\necho hello\n```\n\n```verify\n- stdout: { contains: goodbye }\n  hint: say goodbye, not hello\n```\n";

#[test]
fn a_failing_checks_hint_is_in_the_console_and_the_json_report() {
    let w = Workshop::new().pages(&[("lab.md", HINTED)]);
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
    let (_w, ran) =
        lint_page("# H\n\n```execute\necho hi\n```\n\n```verify\n- exit: 0\n  hint: [a, b]\n```\n");
    ran.code(2);
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert!(all.contains("`hint` needs a string"), "{all}");
}

#[test]
fn a_lab_file_run_alone_reads_its_books_variables() {
    let w = Workshop::new().pages(&[
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
    let file = w.join("labs/lab.md").display().to_string();
    let ran = Labctl::new(&["run", &file]).dir(w.path()).run();
    ran.code(0);
    let folder = w.join("labs").display().to_string();
    Labctl::new(&["run", &folder]).dir(w.path()).run().code(0);
}

const SLOW: &str = "# Slow\n\n```execute {name=slow}\nsleep 1.5; echo done\n```\n\n```execute {name=quick}\necho quick\n```\n";

#[test]
fn colour_forced_into_a_pipe_still_prints_every_line() {
    let w = Workshop::new().pages(&[("lab.md", SLOW)]);
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
    let w = Workshop::new().pages(&[("lab.md", SLOW)]);
    let s = Screen::start(
        &format!("{} run {}", crate::support::labctl::binary(), w.arg()),
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
    let w = Workshop::new().pages(&[("lab.md", SLOW)]);
    let s = Screen::start(
        &format!(
            "NO_COLOR=1 {} run {}",
            crate::support::labctl::binary(),
            w.arg()
        ),
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
    let w = Workshop::new().pages(&[
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

const TO_DO: &str = "# To do\n\n```execute {name=make-file}\ntouch done.txt\n```\n\n```verify\n- command: test -f done.txt\n  within: 2s\n  hint: create done.txt\n```\n\n```execute {name=show}\necho shown\n```\n\n```verify\n- stdout: { contains: shown }\n```\n";

#[test]
fn check_says_what_is_not_done_and_what_to_do_next() {
    // With a minute to wait, only --no-wait ends the check in well under it.
    let patient = TO_DO.replace("within: 2s", "within: 60s");
    let w = Workshop::new().pages(&[("lab.md", patient.as_str())]);
    let start = std::time::Instant::now();
    let before = Labctl::new(&["check", "--no-wait", &w.arg()])
        .dir(w.path())
        .run();
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    before.code(1);
    let e = &before.stderr;
    assert!(e.contains("✗ make-file: not done"), "{e}");
    assert!(e.contains("hint: create done.txt"), "{e}");
    assert!(
        e.contains("→ do step make-file (") && e.contains("lab.md:3): `touch done.txt`"),
        "{e}"
    );
    assert!(
        e.contains(&format!(
            "– show: nothing labctl can check without running it; run it with `labctl run {} --only show`",
            w.arg()
        )),
        "{e}"
    );
    assert!(
        e.contains("0 done, 1 not done, 1 to check with `labctl run`"),
        "{e}"
    );
    // Waiting says what for, and how long at most.
    let w = Workshop::new().pages(&[("lab.md", TO_DO)]);
    let waited = Labctl::new(&["check", "--only", "make-file", &w.arg()])
        .dir(w.path())
        .run();
    waited.code(1);
    assert!(
        waited
            .stderr
            .contains("… make-file: waiting up to 2s for `test -f done.txt` exits 0"),
        "{}",
        waited.stderr
    );
    std::fs::write(w.join("done.txt"), "").unwrap();
    let after = Labctl::new(&["check", &w.arg()]).dir(w.path()).run();
    after.code(0);
    assert!(
        after.stderr.contains("✓ make-file: done"),
        "{}",
        after.stderr
    );
    // A step with no state checks alone does not pass, and fails nothing either.
    let only_show = Labctl::new(&["check", "--only", "show", &w.arg()])
        .dir(w.path())
        .run();
    assert!(
        !only_show.stderr.contains("done\n") && only_show.stderr.contains("0 done"),
        "{}",
        only_show.stderr
    );
}

#[test]
fn check_refuses_run_only_flags_and_run_refuses_no_wait() {
    let w = Workshop::new().pages(&[("lab.md", TO_DO)]);
    for flag in ["--interactive", "--update-output", "--keep-going"] {
        let r = Labctl::new(&["check", flag, &w.arg()]).run();
        r.code(2);
        assert!(
            r.stderr
                .contains(&format!("`{flag}` is a flag of `labctl run`")),
            "{}",
            r.stderr
        );
    }
    let help = Labctl::new(&["check", "--help"]).run();
    assert!(
        !help.stdout.contains("--interactive") && help.stdout.contains("--no-wait"),
        "{}",
        help.stdout
    );
    Labctl::new(&["run", "--no-wait", &w.arg()]).run().code(2);
    let users = Labctl::new(&["run", "--interactive", "--users", "user1,user2", &w.arg()]).run();
    users.code(2);
    assert!(
        users.stderr.contains("one student at a time"),
        "{}",
        users.stderr
    );
}

#[test]
fn a_fence_name_one_edit_from_a_known_one_is_a_warning_with_a_suggestion() {
    let (_w, r) = lint_page(
        "# T\n\n```exectue\necho a\n```\n\n```verfy\n- exit: 0\n```\n\n```yaml\nkind: Pod\n```\n\n```execute\necho b\n```\n",
    );
    r.code(0);
    let out = &r.stdout;
    assert!(
        out.contains("warning[unknown-fence]: ```exectue is not a fence labctl knows"),
        "{out}"
    );
    assert!(
        out.contains("did you mean `execute`?") && out.contains("did you mean `verify`?"),
        "{out}"
    );
    assert!(
        out.contains("lab.md:3:4") && out.contains("lab.md:7:4"),
        "{out}"
    );
    assert!(!out.contains("```yaml is not"), "{out}");
    assert!(out.contains("0 errors, 2 warnings"), "{out}");
}

#[test]
fn lint_reports_the_undefined_variables_run_refuses_once_each_at_the_variable() {
    let (w, lint) = lint_page(
        "# T\n\n```execute\necho %username%\n```\n\n```verify\n- command: echo hi\n  stdout:\n    contains: '%username%'\n```\n\n```execute\necho %username% {{ missing_thing }}\n```\n",
    );
    lint.code(2);
    let run = Labctl::new(&["run", &w.arg()]).run();
    run.code(2);
    // Where each error points: the line after its `error[...]` header.
    let places = |text: &str| -> Vec<String> {
        let lines: Vec<&str> = text.lines().collect();
        lines
            .windows(2)
            .filter(|w| w[0].starts_with("error["))
            .filter_map(|w| w[1].trim_start().strip_prefix("--> "))
            .map(|p| p.rsplit('/').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        places(&lint.stdout),
        ["lab.md:4:6", "lab.md:14:20"],
        "{}",
        lint.stdout
    );
    assert_eq!(places(&run.stderr), places(&lint.stdout), "{}", run.stderr);
    assert_eq!(
        lint.stdout
            .matches("undefined variable `%username%`")
            .count(),
        1,
        "{}",
        lint.stdout
    );
    assert_eq!(
        run.stderr
            .matches("undefined variable `%username%`")
            .count(),
        1,
        "{}",
        run.stderr
    );
    assert!(lint.stdout.contains("2 errors"), "{}", lint.stdout);
}

#[test]
fn update_output_names_each_file_and_line_it_rewrote() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# T\n\n```execute\necho new-one\n```\n\n```\nold-one\n```\n\n```execute\necho same\n```\n\n```\nsame\n```\n\n```execute\necho new-two\n```\n\n```\nold-two\n```\n",
    )]);
    let (_, _, err) = w.run(&["--update-output"]);
    assert!(err.contains("updated 2 expected-output fences"), "{err}");
    let rewrote: Vec<&str> = err.lines().filter(|l| l.contains("rewrote ")).collect();
    assert_eq!(rewrote.len(), 2, "{err}");
    assert!(
        rewrote[0].ends_with("lab.md:8") && rewrote[1].ends_with("lab.md:24"),
        "{err}"
    );
}
