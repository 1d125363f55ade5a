//! `labctl list` on every dialect's fixture workshop.

use serde_json::{Value, json};

use crate::support::labctl::Labctl;

fn steps(v: &Value) -> Vec<Value> {
    v["labs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["steps"].as_array().unwrap().clone())
        .collect()
}

fn titles(v: &Value) -> Vec<String> {
    v["labs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["title"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn homeroom_workshop_yaml_order_titles_and_kinds() {
    let r = Labctl::new(&[
        "list",
        "--format",
        "json",
        "--var",
        "username=user1",
        "homeroom",
    ])
    .run();
    r.code(0);
    let v = r.json();
    assert_eq!(titles(&v), ["Workshop Overview", "Terminals Keep State"]);
    let s = steps(&v);
    let summary: Vec<(Value, Value, Value, Value)> = s
        .iter()
        .map(|s| {
            (
                s["kind"].clone(),
                s["terminal"].clone(),
                s["background"].clone(),
                s["line"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!("execute"), json!(1), json!(false), json!(3)),
            (json!("manual"), Value::Null, json!(false), json!(11)),
            (json!("execute"), json!(1), json!(false), json!(3)),
            (json!("execute"), json!(2), json!(true), json!(9)),
            (json!("interrupt"), json!(2), json!(false), json!(15)),
            (json!("execute"), json!("all"), json!(false), json!(21)),
            (json!("execute"), json!(1), json!(false), json!(31)),
        ]
    );
    assert_eq!(s[0]["command"], "echo \"hello user1\"\n");
    assert_eq!(
        s[0]["expected_output"],
        json!({"line": 7, "mode": "similar"})
    );
    assert_eq!(s[5]["checks"][0]["kind"], "exit");
    assert_eq!(s[6]["id"], "route-host");
    assert_eq!(s[6]["command"], "echo '{{.spec.host}}'\n");
}

#[test]
fn list_shows_undefined_variables_unfilled() {
    let r = Labctl::new(&["list", "--format", "json", "homeroom"]).run();
    r.code(0);
    assert_eq!(
        steps(&r.json())[0]["command"],
        "echo \"hello %username%\"\n"
    );
}

#[test]
fn educates_hugo_pathway_order_examiner_and_sessions() {
    let r = Labctl::new(&["list", "--format", "json", "educates-hugo"]).run();
    r.code(0);
    let v = r.json();
    // The pathway lists setup first although its weight is higher.
    assert_eq!(titles(&v), ["Setup", "Check"]);
    let s = steps(&v);
    assert_eq!(s[0]["terminal"], 2);
    assert_eq!(s[0]["command"], "echo {{< param session_namespace >}}");
    assert_eq!(s[1]["terminal"], "all");
    assert_eq!(
        (s[2]["kind"].clone(), s[2]["terminal"].clone()),
        (json!("interrupt"), json!(2))
    );
    assert_eq!(s[3]["kind"], "manual");
    assert_eq!(
        (s[4]["kind"].clone(), s[4]["terminal"].clone()),
        (json!("check"), Value::Null)
    );
    assert_eq!(s[4]["command"], "test-that-file-exists /tmp");
}

#[test]
fn educates_weight_order_without_pathways() {
    let r = Labctl::new(&["list", "--format", "json", "educates-weight"]).run();
    r.code(0);
    assert_eq!(
        titles(&r.json()),
        ["First by weight", "Second by weight", "No weight, last"]
    );
}

#[test]
fn educates_classic_workshop_yaml_order() {
    let r = Labctl::new(&[
        "list",
        "--format",
        "json",
        "--var",
        "session_namespace=lab-w01-s001",
        "educates-classic",
    ])
    .run();
    r.code(0);
    let v = r.json();
    assert_eq!(
        titles(&v),
        ["Second (listed first)", "First (listed second)"]
    );
    assert_eq!(steps(&v)[0]["command"], "kubectl get pods -n lab-w01-s001");
}

#[test]
fn runme_readme_runs_only_exec_blocks() {
    let r = Labctl::new(&["list", "--format", "json", "runme/README.md"]).run();
    r.code(0);
    let s = steps(&r.json());
    assert_eq!(s.len(), 2);
    assert_eq!(s[0]["id"], "build");
    assert_eq!(s[1]["id"], "test");
    assert_eq!(s[1]["expected_output"]["mode"], "strict");
}

#[test]
fn mdbook_summary_order_book_vars_and_checks() {
    let r = Labctl::new(&["list", "--format", "json", "mdbook"]).run();
    r.code(0);
    let v = r.json();
    assert_eq!(titles(&v), ["Intro", "Lab 2", "Lab 10"]);
    let s = steps(&v);
    assert_eq!(s[0]["command"], "echo intro user1\n");
    assert_eq!(
        (s[1]["id"].clone(), s[1]["terminal"].clone()),
        (json!("two"), json!(2))
    );
    let checks: Vec<&str> = s[2]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["json", "json", "http"]);
    assert_eq!(
        s[2]["checks"][0]["description"],
        "$.oops.cause.code equals ECONNRESET"
    );
    assert!(
        s[2]["checks"][2]["description"]
            .as_str()
            .unwrap()
            .contains("context-scraper.user1:8080")
    );
    // The book source folder itself resolves to the same book.
    let r2 = Labctl::new(&["list", "--format", "json", "mdbook/src"]).run();
    assert_eq!(titles(&r2.json()), ["Intro", "Lab 2", "Lab 10"]);
}

#[test]
fn text_outline_reads_well() {
    let r = Labctl::new(&["list", "--var", "username=user1", "mdbook"]).run();
    r.code(0);
    assert!(
        r.stdout.contains("Lab 10 (mdbook/src/lab10.md)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("○ $.oops.cause.code equals ECONNRESET"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with("3 labs, 3 steps\n"), "{}", r.stdout);
}

#[test]
fn var_flag_overrides_book_vars() {
    let r = Labctl::new(&[
        "list",
        "--format",
        "json",
        "--var",
        "username=alice",
        "mdbook",
    ])
    .run();
    assert_eq!(steps(&r.json())[0]["command"], "echo intro alice\n");
    let r = Labctl::new(&["list", "--format", "json", "mdbook"])
        .env("LABCTL_VAR_username", "bob")
        .run();
    assert_eq!(steps(&r.json())[0]["command"], "echo intro bob\n");
}
