//! `sh`/`bash`/`shell` fences: steps under `--shell-blocks` (run, check, list and lint agree)
//! and as Runme cells (JSON attributes), prose otherwise.

use serde_json::Value;

use crate::run::steps;
use crate::support::labctl::Labctl;
use crate::support::workshop::Workshop;

const BARE_SHELL: &str = "# Readme\n\n```sh\necho one\n```\n\n```bash\necho two\n```\n\n```output\ntwo\n```\n\n```shell {exec=false}\necho never\n```\n";

fn listed_ids(w: &Workshop, extra: &[&str]) -> Vec<String> {
    let a = w.arg();
    let mut args = vec!["list", "--format", "json"];
    args.extend_from_slice(extra);
    args.push(&a);
    let r = Labctl::new(&args).run();
    r.code(0);
    r.json()["labs"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

fn outcomes(report: &Value) -> Vec<(String, String)> {
    steps(report)
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn shell_blocks_lists_bare_shell_fences_as_steps() {
    let w = Workshop::new().page("readme.md", BARE_SHELL);
    assert!(listed_ids(&w, &[]).is_empty());
    assert_eq!(
        listed_ids(&w, &["--shell-blocks"]),
        ["readme:1", "readme:2"],
        "exec=false keeps a fence prose even with --shell-blocks"
    );
}

#[test]
fn shell_blocks_runs_bare_shell_fences() {
    let w = Workshop::new().page("readme.md", BARE_SHELL);
    let (code, report, err) = w.run(&["--shell-blocks"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        outcomes(&report),
        [
            ("readme:1".to_string(), "passed".to_string()),
            ("readme:2".to_string(), "passed".to_string())
        ]
    );
}

#[test]
fn shell_blocks_in_check_attaches_verify_to_the_shell_step() {
    let w = Workshop::new().page(
        "readme.md",
        "# Readme\n\n```sh\ntouch ran\n```\n\n```verify\n- command: test -d .\n```\n",
    );
    let report = format!("json={}", w.join("r.json").display());
    w.labctl(&["check", "--shell-blocks", "--report", &report, &w.arg()])
        .run()
        .code(0);
    assert!(!w.join("ran").exists(), "check runs no step");
    let v: Value = serde_json::from_str(&w.read("r.json")).unwrap();
    let s = steps(&v);
    assert_eq!(s[0]["id"], "readme:1", "{s:#?}");
    assert_eq!(s[0]["checks"][0]["outcome"], "passed", "{s:#?}");
}

#[test]
fn shell_blocks_in_lint_reads_the_fence_attributes() {
    let w = Workshop::new().page("readme.md", "# Readme\n\n```sh {timeout=soon}\nls\n```\n");
    Labctl::new(&["lint", &w.arg()]).run().code(0);
    let r = Labctl::new(&["lint", "--shell-blocks", &w.arg()]).run();
    r.code(2);
    let said = format!("{}{}", r.stdout, r.stderr);
    assert!(said.contains("error[bad-attribute-value]"), "{said}");
    assert!(said.contains("readme.md:3:8"), "{said}");
}

const RUNME_CELLS: &str = "# Runme cells\n\n```sh {\"name\":\"install\",\"interactive\":\"false\"}\necho installed\n```\n\n```output\ninstalled\n```\n\n```sh {\"name\":\"lint\",\"excludeFromRunAll\":\"true\"}\ntouch linted\n```\n\n```bash {name=build exec}\necho built\n```\n\n```sh\necho shown only\n```\n";

#[test]
fn runme_json_cell_is_a_step() {
    let w = Workshop::new().page("cells.md", RUNME_CELLS);
    assert_eq!(listed_ids(&w, &[]), ["install", "lint", "build"]);
    let (code, report, err) = w.run(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        outcomes(&report),
        [
            ("install".to_string(), "passed".to_string()),
            ("lint".to_string(), "skipped".to_string()),
            ("build".to_string(), "passed".to_string())
        ]
    );
    assert!(!w.join("linted").exists(), "excludeFromRunAll is not run");
    let lint = &steps(&report)[1];
    assert!(
        lint.to_string().contains("excludeFromRunAll"),
        "the skip says why: {lint:#}"
    );
}
