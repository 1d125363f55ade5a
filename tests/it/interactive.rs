//! `run --interactive` driven through a real terminal (a tmux pane): what the
//! student sees, and that the prompt is the last line whenever labctl waits.

use std::time::Duration;

use crate::screen::Screen;
use crate::support::workshop::Workshop;

const GUIDED: &str = r#"---
labctl:
  vars:
    username: user9
---
# Guided tour

Say **hello** to `%username%`:

```execute {name=greet timeout=30s}
echo hello-%username%
```

```verify
- stdout: { contains: hello-user9 }
```

Now something that does not work yet:

```execute {name=oops}
echo not-there-yet
```

```verify
- stdout: { contains: there-now }
  hint: the marker is missing; create it first
```

```execute {name=later}
echo later-step-output
```

## Summary

- You said *hello*.
"#;

const LIMIT: Duration = Duration::from_secs(30);

fn start(w: &Workshop) -> Screen {
    Screen::start(
        &format!(
            "{} run --interactive {}",
            crate::support::labctl::binary(),
            w.arg()
        ),
        w.path(),
        "xterm",
    )
}

/// Waits until labctl waits at a prompt starting with `prompt`, on the last line.
fn prompt(s: &Screen, prompt: &str, nth: usize) -> String {
    s.wait_for(
        &format!("prompt {nth} `{prompt}` on the last line"),
        LIMIT,
        |t| {
            t.lines().last().is_some_and(|l| l.starts_with(prompt))
                && t.matches(prompt).count() == nth
        },
    )
}

fn before(t: &str, first: &str, then: &str) -> bool {
    match (t.find(first), t.find(then)) {
        (Some(a), Some(b)) => a < b,
        _ => false,
    }
}

#[test]
fn a_guided_lab_shows_prose_output_results_hints_and_the_summary() {
    let w = Workshop::new().pages(&[("lab.md", GUIDED)]);
    let s = start(&w);
    let t = prompt(&s, "▶ Enter run", 1);
    assert!(
        t.contains("Guided tour") && t.contains("Say hello to user9:"),
        "{t}"
    );
    assert!(
        t.contains("── step 1 · greet · Terminal 1") && t.contains("$ echo hello-user9"),
        "{t}"
    );
    for raw in ["```", "timeout=", "verify", "username: user9", "**"] {
        assert!(!t.contains(raw), "`{raw}` reached the screen:\n{t}");
    }
    s.keys(&["Enter"]);
    let t = prompt(&s, "▶ Enter run", 2);
    assert!(
        before(&t, "\nhello-user9", "✓ greet done"),
        "output before ✓:\n{t}"
    );
    assert!(t.contains("✓ The output contains “hello-user9”"), "{t}");
    assert!(t.contains("$ echo not-there-yet"), "{t}");
    s.keys(&["Enter"]);
    let t = prompt(&s, "▶ r retry", 1);
    let failure = &t[t.rfind("$ echo not-there-yet").unwrap()..];
    assert!(
        before(failure, "\nnot-there-yet", "✗ oops failed"),
        "{failure}"
    );
    assert!(
        before(failure, "expected:", "▶ r retry") && failure.contains("actual:"),
        "{failure}"
    );
    assert!(
        before(
            failure,
            "hint: the marker is missing; create it first",
            "▶ r retry"
        ),
        "{failure}"
    );
    s.keys(&["r", "Enter"]);
    let t = prompt(&s, "▶ r retry", 2);
    assert_eq!(
        t.matches("\nnot-there-yet").count(),
        2,
        "retry ran it again:\n{t}"
    );
    s.keys(&["c", "Enter"]);
    let t = prompt(&s, "▶ Enter run", 3);
    assert!(t.contains("$ echo later-step-output"), "{t}");
    s.keys(&["s", "Enter"]);
    let (code, t) = s.exit(LIMIT);
    assert_eq!(code, 1, "{t}");
    assert!(t.contains("⊘ later skipped: skipped at the prompt"), "{t}");
    assert!(!t.contains("\nlater-step-output"), "{t}");
    assert!(
        before(&t, "Summary", "You said hello."),
        "the summary prose:\n{t}"
    );
    assert!(t.contains("1 passed, 1 failed, 1 skipped"), "{t}");
}

#[test]
fn quit_at_the_first_prompt_runs_nothing() {
    let w = Workshop::new().pages(&[("lab.md", GUIDED)]);
    let s = start(&w);
    prompt(&s, "▶ Enter run", 1);
    s.keys(&["?", "Enter"]);
    let t = prompt(&s, "▶ Enter run", 2);
    assert!(t.contains("skip this step"), "help:\n{t}");
    s.keys(&["q", "Enter"]);
    let (code, t) = s.exit(LIMIT);
    assert_eq!(code, 0, "{t}");
    assert!(!t.contains("\nhello-user9"), "{t}");
    assert!(!t.contains("You said hello."), "{t}");
    assert!(t.contains("0 passed, 0 failed, 3 skipped"), "{t}");
}
