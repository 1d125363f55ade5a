//! Property test: the parser (and variable filling) never panics on random or
//! mutated pages. `PROPTEST_CASES` raises the count (CI runs the default below).

use std::path::Path;

use labctl::lab::parse::{ParseOptions, parse_lab};
use labctl::plan::{FillMode, fill_lab};
use proptest::prelude::*;

const SEED_PAGE: &str = "---\ntitle: T\nlabctl:\n  vars: { username: user1 }\n---\n# Lab\n\n```execute {name=a timeout=3s within=5s}\necho %username% {{ session_namespace }}\n```\n\n```output\nhello [..]\n...\n```\n\n```verify\n- json: $.oops.cause.code\n  equals: ECONNRESET\n- stdout: { matches: '^a+$' }\n- http: http://x:8080/?key=1\n  status: 200\n- kube: v1/ConfigMap\n  name: c\n  fields: { data: { a: b } }\n```\n\n```terminal:execute\ncommand: ls\nsession: 2\n```\n\n```examiner:execute-test\nname: t\nretries: .INF\n```\n\n```execute-2\nwhile true; do date; done\n```\n\n```execute\n<ctrl+c>\n```\n";

const FRAGMENTS: &[&str] = &[
    "```",
    "```execute",
    "```execute-",
    "```verify\n",
    "{",
    "}",
    "{name=",
    "\"",
    "%username%",
    "{{",
    "}}",
    "$[",
    "- json: ",
    "\n",
    "---\n",
    "+++\n",
    "\u{feff}",
    "\r\n",
    ": ",
    "- ",
    "  ",
    "~~~",
    "```output {stream=",
    "\u{0}",
    "é",
    "[..]",
    "...",
];

/// 2,000 per property in CI; `PROPTEST_CASES=N` runs more.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn check(page: &[u8]) {
    let parsed = parse_lab(Path::new("fuzz.md"), page, ParseOptions::default());
    let vars = parsed.lab.settings.vars.clone();
    let _ = fill_lab(
        &std::sync::Arc::new(parsed.lab.clone()),
        &vars,
        FillMode {
            allow_unsafe: false,
            require_defined: true,
        },
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        check(&bytes);
    }

    #[test]
    fn mutated_pages_never_panic(
        cuts in proptest::collection::vec((0usize..SEED_PAGE.len(), 0usize..FRAGMENTS.len(), 0u8..3), 1..12)
    ) {
        let mut page = SEED_PAGE.as_bytes().to_vec();
        for (at, frag, op) in cuts {
            let at = at.min(page.len());
            match op {
                0 => { page.splice(at..at, FRAGMENTS[frag].bytes()); }
                1 => { let end = (at + FRAGMENTS[frag].len()).min(page.len()); page.drain(at..end); }
                _ => { page.truncate(at.max(1)); }
            }
        }
        check(&page);
    }
}
