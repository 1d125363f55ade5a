//! Flag values are parsed with the command line: a bad one is refused before
//! anything runs, with exit 2, the flag's name and what to write instead.

use crate::support::labctl::Labctl;
use crate::support::workshop::Workshop;

/// Each line: the command line | the flag it names | what it says to write instead.
const BAD_VALUES: &str = "\
run lab.md --var novalue | --var | must be NAME=VALUE
lint lab.md --var =v | --var | must be NAME=VALUE
list lab.md --var k | --var | must be NAME=VALUE
run lab.md --timeout soon | --timeout | write e.g. 30s
run lab.md --mesh-delay x | --mesh-delay | write e.g. 30s
run lab.md --users 5..1 | --users | runs backwards
run lab.md --users @missing.txt | --users | cannot read the users file
run lab.md --report junit | --report | must be FORMAT=FILE
run lab.md --report xml=a | --report | use junit, json, html, tap or github
board lab.md --users 1 --interval 0s | --interval | longer than 0s
board lab.md --users 1 --stuck 0 | --stuck | longer than 0s
serve lab.md --listen localhost | --listen | e.g. 127.0.0.1:8080
serve lab.md --timeout 1x | --timeout | write e.g. 30s
job lab.md --image i --users a..b | --users | not a range
report merge r.json --report json= | --report | names no file
sandbox --mesh-delay later -- true | --mesh-delay | write e.g. 30s
";

#[test]
fn a_bad_flag_value_names_the_flag_and_runs_nothing() {
    let w = Workshop::new().page("lab.md", "# L\n\n```execute\ntouch ran\n```\n");
    for case in BAD_VALUES.lines() {
        let [args, flag, hint]: [&str; 3] = case
            .split(" | ")
            .collect::<Vec<_>>()
            .try_into()
            .unwrap_or_else(|_| panic!("not three fields: {case}"));
        let args: Vec<&str> = args.split(' ').collect();
        let r = Labctl::new(&args).dir(w.path()).run();
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(flag) && r.stderr.contains(hint),
            "{args:?}: want {flag} and {hint:?} in: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    }
    assert!(!w.join("ran").exists(), "a step ran despite a bad flag");
}

#[test]
fn good_flag_values_still_run() {
    let w = Workshop::new().page("lab.md", "# L\n\n```execute\ntouch ran\n```\n");
    let r = Labctl::new(&[
        "run",
        "lab.md",
        "--var",
        "k=a=b",
        "--timeout",
        "1m30s",
        "--users",
        "user1..user1",
    ])
    .dir(w.path())
    .run();
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(w.join("ran").exists());
}
