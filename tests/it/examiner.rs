//! Examiner scripts: found from the workshop root whatever the current
//! directory; a name that leaves workshop/examiner/tests is refused, never run.

use std::time::Duration;

use crate::support::labctl::fixtures;
use crate::support::workshop::Workshop;
use crate::working_copies::run_within;

#[test]
fn examiner_test_runs_from_the_parent_folder() {
    let parent = Workshop::new().copy(&fixtures().join("educates-hugo"), "hugo");
    let (code, _, err) = run_within(
        &[
            "run",
            "hugo",
            "--only",
            "01-check:1",
            "--var",
            "session_namespace=ns",
        ],
        parent.path(),
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 passed"), "{err}");
}

#[test]
fn names_leaving_the_tests_folder_are_lint_errors_and_never_run() {
    let w = Workshop::new()
        .script("workshop/examiner/tests/fine", "#!/bin/sh\nexit 0\n")
        .script(
            "evil.sh",
            "#!/bin/sh\ntouch \"$(dirname \"$0\")/evil-ran\"\n",
        );
    std::os::unix::fs::symlink(w.join("evil.sh"), w.join("workshop/examiner/tests/link")).unwrap();
    let evil = w.join("evil.sh").display().to_string();
    for name in ["../../../evil.sh", evil.as_str(), "link"] {
        std::fs::create_dir_all(w.join("workshop/content")).unwrap();
        std::fs::write(
            w.join("workshop/content/lab.md"),
            format!("# L\n\n```examiner:execute-test\nname: {name}\nretries: 0\ntimeout: 2\n```\n"),
        )
        .unwrap();
        let page = w.join("workshop/content/lab.md").display().to_string();
        let (code, out, err) = run_within(
            &["lint", "--format", "json", &page],
            w.path(),
            Duration::from_secs(30),
        );
        assert_eq!(code, 2, "{name}: {out}{err}");
        assert!(out.contains("examiner-outside"), "{name}: {out}");
        let (code, _, err) = run_within(&["run", &page], w.path(), Duration::from_secs(30));
        assert_eq!(code, 1, "{name}: {err}");
        assert!(
            err.contains("outside workshop/examiner/tests"),
            "{name}: {err}"
        );
        assert!(
            !w.join("evil-ran").exists(),
            "{name} ran a script outside the tests folder"
        );
    }
}

#[test]
fn quoted_examiner_args_are_kept_whole() {
    let w = Workshop::new()
        .script(
            "workshop/examiner/tests/check-thing",
            "#!/bin/sh\n[ \"$#\" = 3 ] && [ \"$1\" = first ] && [ \"$2\" = 'two words' ] && [ \"$3\" = 'x y' ] && exit 0\necho \"got $# args: $*\" >&2\nexit 1\n",
        )
        .page(
            "workshop/content/lab.md",
            "# L\n\n```examiner:execute-test\nname: check-thing\nargs: first \"two words\" 'x y'\nretries: 0\ntimeout: 5\n```\n",
        );
    let page = w.join("workshop/content/lab.md").display().to_string();
    let (code, _, err) = run_within(&["run", &page], w.path(), Duration::from_secs(30));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 passed"), "{err}");
}

#[test]
fn an_unclosed_quote_in_examiner_args_is_bad_input() {
    let w = Workshop::new()
        .script("workshop/examiner/tests/check-thing", "#!/bin/sh\nexit 0\n")
        .page(
            "workshop/content/lab.md",
            "# L\n\n```examiner:execute-test\nname: check-thing\nargs: first \"two words\nretries: 0\n```\n",
        );
    let page = w.join("workshop/content/lab.md").display().to_string();
    let (code, _, err) = run_within(&["run", &page], w.path(), Duration::from_secs(30));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("lab.md:3"), "{err}");
    assert!(err.contains("never closed"), "{err}");
}
