//! The workshop itself on the embedded sandbox: the whole lab passes; without the
//! ServiceEntry step it fails at the results step, saying what was expected and
//! what came back; and a student can type the lab's commands by hand.

use std::path::Path;
use std::process::Stdio;

#[path = "support/binary.rs"]
mod binary;
use binary::labctl;

#[test]
fn the_egress_workshop_passes_on_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let out = labctl()
        .args([
            "run",
            "labs/",
            "--sandbox",
            "--mesh-delay",
            "1s",
            "--report",
            &format!("json={}", report.display()),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let steps = v["runs"][0]["labs"][0]["steps"].as_array().unwrap().clone();
    let ids: Vec<&str> = steps.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&"apply-egress") && ids.contains(&"scrape-allowed"),
        "{ids:?}"
    );
    assert!(steps.iter().all(|s| s["outcome"] == "passed"), "{steps:#?}");
    // The scraper leaks its API key in the error; the report must not.
    assert!(
        !v.to_string().contains("AIza"),
        "the API key leaked into the report"
    );
}

#[test]
fn without_the_service_entry_the_results_step_fails_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lab = std::fs::read_to_string(root.join("labs/securing-egress.md")).unwrap();
    let start = lab.find("```execute {name=apply-egress}").unwrap();
    let end = start + lab[start..].find("## The application works again").unwrap();
    let cut = format!("{}{}", &lab[..start], &lab[end..]);
    std::fs::write(
        dir.path().join("securing-egress.md"),
        cut.replace("within=60s", "within=3s"),
    )
    .unwrap();
    let out = labctl()
        .args([
            "run",
            &dir.path().display().to_string(),
            "--sandbox",
            "--mesh-delay",
            "1s",
            "--var",
            "username=user1",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("✗ scrape-allowed"), "{err}");
    assert!(
        err.contains("✗ $[*].link count at least 1") && err.contains("expected: count at least 1"),
        "{err}"
    );
    assert!(
        err.contains("\"ECONNRESET\""),
        "the failure shows what came back: {err}"
    );
}

#[test]
fn a_student_can_type_the_commands_in_a_sandbox_shell() {
    let script = r#"set -e
oc describe cm/istio-workshop-install -n user1-istio | grep outboundTrafficPolicy -A 1 | grep -q REGISTRY_ONLY
curl -s context-scraper.user1:8080/scrape/custom_search?term==skynet | jq -e '.oops.cause.code == "ECONNRESET"' >/dev/null
cd labs && oc apply -f ./manifests/istio/serviceentry-googleapis.yaml
for i in $(seq 50); do
  if curl -s context-scraper.user1:8080/scrape/custom_search?term==skynet | jq -e 'length > 0 and all(.[]; .link and .title)' >/dev/null 2>&1; then echo ALLOWED; exit 0; fi
  sleep 0.2
done
echo STILL-BLOCKED; exit 1
"#;
    let mut child = labctl()
        .args([
            "sandbox",
            "--users",
            "2",
            "--mesh-delay",
            "1s",
            "--",
            "bash",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("serviceentry.networking.istio.io/context-scraper-egress created"),
        "{stdout}"
    );
    assert!(stdout.contains("ALLOWED"), "{stdout}");
}
