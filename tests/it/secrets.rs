//! No secret in any output: console, JSON, JUnit, HTML, error messages,
//! `--dry-run`, `--interactive` prompts; cut text and encoded forms included.

use crate::support::labctl::Labctl;
use crate::support::workshop::Workshop;

/// A `--secret` value with characters that JSON and URLs encode.
const TOKEN: &str = "Hunter \"22\"/x y";
const CAP: usize = 1 << 20;

/// Runs with every report; returns (status, console + all reports).
fn run_all(w: &Workshop, extra: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut args: Vec<String> = vec!["run".into()];
    for (f, name) in [("json", "r.json"), ("junit", "r.xml"), ("html", "r.html")] {
        let _ = std::fs::remove_file(w.join(name));
        args.push("--report".into());
        args.push(format!("{f}={}", w.join(name).display()));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(w.arg());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut l = Labctl::new(&argv).dir(w.path());
    for (k, v) in env {
        l = l.env(k, v);
    }
    let ran = l.run();
    let mut all = format!("{}\n{}", ran.stdout, ran.stderr);
    for name in ["r.json", "r.xml", "r.html"] {
        let text = std::fs::read_to_string(w.join(name)).unwrap_or_default();
        assert!(!text.is_empty(), "{name} missing:\n{all}");
        all.push_str(&text);
    }
    (ran.code.unwrap_or(-1), all)
}

fn assert_absent(all: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!all.contains(s), "`{s}` leaked");
    }
    assert!(all.contains("[redacted]"));
}

#[test]
fn secret_values_plain_json_escaped_and_url_encoded_are_hidden_everywhere() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\n```execute {name=leak}\nprintf '%s\\n' \"$TOKEN\"; jq -cn --arg t \"$TOKEN\" '{t: $t}'; jq -rn --arg t \"$TOKEN\" '$t|@uri'; echo \"$TOKEN\" >&2; false\n```\n",
    )]);
    let (code, all) = run_all(&w, &["--secret", "TOKEN"], &[("TOKEN", TOKEN)]);
    assert_eq!(code, 1, "{all}");
    // JSON-escaped (`\"22\"`) and URL-encoded (`%2222%22`) forms.
    assert_absent(
        &all,
        &[TOKEN, r#"Hunter \"22\""#, "Hunter%20%2222", "22\\\"/x"],
    );
}

#[test]
fn built_in_key_forms_are_hidden_everywhere() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\n```execute {name=keys}\ncat <<'EOF'\n{\"key\": \"AIzaJSON1\", \"apiKey\": \"AIzaJSON2\", \"api_key\": \"AIzaJSON3\", \"token\": \"AIzaJSON4\", \"password\": \"AIzaJSON5\", \"secret\": \"AIzaJSON6\"}\nx-api-key: AIzaHDR1\nAuthorization: Bearer AIzaHDR2\nhttps://x/v1?key=AIzaQ1&a=1&key=AIzaQ2;key=AIzaQ3#key=AIzaQ4\n{\"u\": \"https://x/v1?a=1\\u0026key=AIzaQ5\"}\nhttps%3A%2F%2Fx%2Fv1%3Fa%3D1%26key%3DAIzaQ6%26b%3D2\nEOF\nfalse\n```\n",
    )]);
    let (code, all) = run_all(&w, &[], &[]);
    assert_eq!(code, 1, "{all}");
    assert!(all.contains("x-api-key: [redacted]"), "{all}");
    assert_absent(&all, &["AIza"]);
}

#[test]
fn a_secret_cut_by_the_capture_head_and_tail_or_the_preview_is_hidden() {
    let secret = "Zq7-cut-secret-value";
    let w = Workshop::new().pages(&[(
        "lab.md",
        &format!(
            "# L\n\n```execute {{name=head}}\nhead -c {} /dev/zero | tr '\\0' a; printf '%s' \"$CUT\"; head -c {} /dev/zero | tr '\\0' b\nfalse\n```\n\n\
             ```execute {{name=tail}}\nhead -c {} /dev/zero | tr '\\0' c; printf '%s' \"$CUT\"; head -c {} /dev/zero | tr '\\0' d\nfalse\n```\n\n\
             ```execute {{name=preview}}\nprintf '{{\"v\": \"%s%s\"}}' \"$(head -c 396 /dev/zero | tr '\\0' e)\" \"$CUT\"\n```\n\n\
             ```verify\n- json: $.v\n  equals: nothing\n```\n",
            CAP - 6,
            2 * CAP,
            2 * CAP,
            CAP - 7,
        ),
    )]);
    let (code, all) = run_all(&w, &["--keep-going", "--secret", "CUT"], &[("CUT", secret)]);
    assert_eq!(code, 1);
    assert!(all.contains("bytes omitted"), "no cut happened");
    // Any 6 characters of the secret would be a leak.
    for i in 0..=secret.len() - 6 {
        assert!(
            !all.contains(&secret[i..i + 6]),
            "`{}` leaked",
            &secret[i..i + 6]
        );
    }
    assert!(
        all.contains("eeee[redacted]"),
        "the preview cut is not redacted"
    );
}

#[test]
fn a_secret_shorter_than_4_characters_is_refused_with_exit_2() {
    let w = Workshop::new().pages(&[("lab.md", "# L\n\n```execute\ntouch ran\n```\n")]);
    let ran = Labctl::new(&["run", "--secret", "PIN", &w.arg()])
        .env("PIN", "abc")
        .dir(w.path())
        .run();
    ran.code(2);
    assert!(
        ran.stderr.contains("--secret PIN") && !ran.stderr.contains("abc"),
        "{}",
        ran.stderr
    );
    assert!(!w.join("ran").exists());
}

#[test]
fn secrets_are_hidden_in_refusals_dry_run_and_prompts() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\nUse %token%.\n\n```execute\necho %token%\n```\n",
    )]);
    // `labctl run EXTRA` with the secret `token` set to `value`.
    let run_with_token = |extra: &[&str], value: &str| {
        let var = format!("token={value}");
        w.labctl(&["run", "--var", &var, "--secret", "token", &w.arg()])
            .args(extra)
    };
    // An unsafe value is refused; the message does not show it.
    let ran = run_with_token(&[], "hunter2222;rm -rf x").run();
    ran.code(2);
    assert!(!ran.stderr.contains("hunter2222"), "{}", ran.stderr);
    assert!(ran.stderr.contains("[redacted]"), "{}", ran.stderr);
    let ran = run_with_token(&["--dry-run"], "hunter2222").run();
    ran.code(0);
    assert!(
        !ran.stdout.contains("hunter2222") && ran.stdout.contains("[redacted]"),
        "{}",
        ran.stdout
    );
    let ran = run_with_token(&["--interactive"], "hunter2222")
        .stdin("q\n")
        .run();
    assert!(ran.stderr.contains("[redacted]"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("hunter2222"), "{}", ran.stderr);
}
