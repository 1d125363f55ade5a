//! Builds the repository's book with the real `mdbook` and labctl as its
//! preprocessor, and reads the HTML students get. `.ci/run` installs the pinned
//! mdbook, so CI always runs these; locally they skip when mdbook is missing.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::labctl::{Labctl, binary, repo};
use crate::support::workshop::Workshop;

/// True when `mdbook` 0.5 is on PATH; says why the test is skipped otherwise.
fn have_mdbook() -> bool {
    match Command::new("mdbook").arg("--version").output() {
        Ok(out) => {
            let v = String::from_utf8_lossy(&out.stdout);
            assert!(
                v.contains("v0.5."),
                "mdbook {v} is installed but labctl speaks mdBook 0.5's protocol; run .ci/run or `cargo install mdbook --version 0.5.4 --locked`"
            );
            true
        }
        Err(_) => {
            eprintln!(
                "SKIPPED: mdbook is not installed; `cargo install mdbook --version 0.5.4 --locked` (CI installs it)"
            );
            false
        }
    }
}

/// `mdbook build ROOT -d DEST` with this test's labctl binary as the preprocessor.
fn mdbook_build(root: &Path, dest: &Path) -> Output {
    // mdBook reads `preprocessor.labctl.command` from MDBOOK_PREPROCESSOR__LABCTL__COMMAND;
    // it splits the command like a shell, so quote the binary's path.
    let command = format!("'{}' mdbook", binary());
    Command::new("mdbook")
        .arg("build")
        .arg(root)
        .arg("-d")
        .arg(dest)
        .env("MDBOOK_PREPROCESSOR__LABCTL__COMMAND", command)
        .env_remove("LABCTL_VAR_username")
        .env("NO_COLOR", "1")
        .output()
        .expect("run mdbook")
}

#[test]
fn supports_only_html() {
    let status = |r: &str| Labctl::new(&["mdbook", "supports", r]).run().code;
    assert_eq!(status("html"), Some(0));
    assert_eq!(status("latex"), Some(1));
}

#[test]
fn the_egress_chapter_reads_like_a_workshop_page() {
    if !have_mdbook() {
        return;
    }
    let dest = tempfile::tempdir().unwrap();
    let out = mdbook_build(&repo(), dest.path());
    assert!(
        out.status.success(),
        "mdbook build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(dest.path().join("securing-egress.html")).unwrap();

    // Steps: labelled, variables filled, a real code block so mdBook adds its copy button.
    assert!(html.contains(">Terminal 1</div>"), "no terminal label");
    assert!(
        html.contains("<code class=\"language-bash\">curl -s context-scraper.user1:8080"),
        "the curl command does not show user1"
    );
    assert!(html.contains("-n user1-istio"), "variables not filled");
    assert!(!html.contains("%username%"), "a variable was left unfilled");
    // Attributes and front matter never reach the page.
    assert!(!html.contains("{name="), "attribute text shown");
    assert!(!html.contains("within=60s"), "attribute text shown");
    assert!(!html.contains("timeout: 2m"), "front matter shown");

    // Checks: a collapsed box in plain English, not YAML to paste.
    assert!(html.contains("<details class=\"labctl-check\">"));
    assert!(html.contains("<summary>Check your work</summary>"));
    assert!(html.contains("The reply's <code>$.oops.cause.code</code> is ECONNRESET"));
    assert!(html.contains(
        "http://context-scraper.user1:8080/scrape/custom_search?term=skynet answers 200 with at least 1 <code>$[*].link</code>"
    ));
    assert!(html.contains("labctl check labs/ --only apply-egress"));
    assert!(!html.contains("json: $.oops"), "verify YAML shown");
    assert!(
        !html.contains("language-verify"),
        "verify YAML shown as code"
    );

    // Expected output is captioned, and kept as code.
    assert!(html.contains(">Expected output</div>"));
    assert!(html.contains("mode: REGISTRY_ONLY"));

    // Diagrams are copied and referenced; the stylesheet too.
    for img in ["egress-blocked.svg", "egress-allowed.svg"] {
        assert!(
            dest.path().join("images").join(img).is_file(),
            "{img} not copied"
        );
        assert!(
            html.contains(&format!("src=\"images/{img}\"")),
            "{img} not referenced"
        );
    }
    // mdBook 0.5 adds a content hash to static files: assets/labctl-1a2b3c4d.css.
    let css = std::fs::read_dir(dest.path().join("assets"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("labctl") && n.ends_with(".css"))
        .expect("assets/labctl*.css copied");
    assert!(
        html.contains(&format!("href=\"assets/{css}\"")),
        "{css} not linked"
    );
}

#[test]
fn a_page_with_an_error_fails_the_build() {
    if !have_mdbook() {
        return;
    }
    let book = Workshop::new()
        .file(
            "book.toml",
            "[book]\ntitle = \"t\"\nsrc = \"labs\"\n[preprocessor.labctl]\ncommand = \"labctl mdbook\"\n",
        )
        .file("labs/SUMMARY.md", "# Summary\n\n- [Bad](bad.md)\n")
        .page("labs/bad.md", "# Bad\n\n```execute {timout=3s}\nls\n```\n");
    let root = book.path();
    let dest = tempfile::tempdir().unwrap();
    let out = mdbook_build(root, dest.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build passed:\n{stderr}");
    assert!(stderr.contains("error[unknown-attribute]"), "{stderr}");
    assert!(stderr.contains("labs/bad.md:3:"), "{stderr}");
    assert!(stderr.contains("did you mean `timeout`?"), "{stderr}");
}
