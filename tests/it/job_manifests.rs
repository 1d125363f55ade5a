//! `labctl job`: the manifests parse, say what they should, and real kubectl
//! applies them (to the embedded sandbox).

use crate::support::labctl::{Labctl, Ran, binary, fixtures};
use crate::support::workshop::Workshop;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use labctl::sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

fn generate(extra: &[&str]) -> (i32, String, String) {
    let out = Labctl::new(&["job"])
        .arg(fixtures().join("mdbook"))
        .args([
            "--users",
            "user1..user3",
            "--image",
            "labctl:test",
            "-j",
            "2",
        ])
        .args(extra)
        .output();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("the manifests are UTF-8"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn docs(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple(yaml).expect("valid YAML stream")
}

#[test]
fn manifests_are_a_configmap_an_account_and_an_indexed_job() {
    let (code, yaml, err) = generate(&["--", "--var", "greeting=it's"]);
    assert_eq!(code, 0, "{err}");
    let d = docs(&yaml);
    let kinds: Vec<_> = d.iter().map(|v| v["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ConfigMap", "Secret", "ServiceAccount", "Job"]);

    let cm = &d[0];
    assert!(
        cm["data"]["src__lab2.md"]
            .as_str()
            .unwrap()
            .starts_with("# Lab 2")
    );
    assert!(cm["data"].get("labctl-users").is_none());
    assert_eq!(
        d[1]["stringData"]["labctl-users"],
        "user1 user_index=1\nuser2 user_index=2\nuser3 user_index=3\n"
    );

    let spec = &d[3]["spec"];
    assert_eq!(spec["completions"], 3);
    assert_eq!(spec["parallelism"], 2);
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["backoffLimit"], 0);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(pod["serviceAccountName"], "labctl");
    let container = &pod["containers"][0];
    assert_eq!(container["image"], "labctl:test");
    let script = container["command"][2].as_str().unwrap();
    assert!(script.contains("--users @/tmp/user.txt"), "{script}");
    assert!(
        script.contains("if [ \"$status\" -eq 1 ]; then exit 0; fi"),
        "{script}"
    );
    assert!(script.contains(r"--var 'greeting=it'\''s'"), "{script}");
    // Every workshop file is mounted back at its path.
    let items = pod["volumes"][0]["configMap"]["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|i| i["key"] == "src__lab10.md" && i["path"] == "src/lab10.md"),
        "{items:?}"
    );
}

#[test]
fn bad_users_spec_exits_2() {
    let out = Labctl::in_repo(&[
        "job",
        "tests/fixtures/mdbook",
        "--users",
        "user3..user1",
        "--image",
        "x",
    ])
    .run();
    out.code(2).stderr_has("--users");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_applies_the_manifests() {
    let (code, yaml, err) = generate(&[]);
    assert_eq!(code, 0, "{err}");
    let sandbox = Sandbox::start(SandboxConfig {
        users: 3,
        mesh_delay: Duration::ZERO,
        refuse: vec![],
        ..Default::default()
    })
    .await
    .expect("sandbox starts");
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("job.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let kubectl = |args: &[&str]| {
        let mut c = tokio::process::Command::new("kubectl");
        c.args(args)
            .envs(sandbox.env())
            .env("HOME", home.path())
            .current_dir(home.path());
        c.output()
    };
    let out = kubectl(&["apply", "-f", file.to_str().unwrap(), "-n", "user1"])
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("job.batch/labctl created"), "{stdout}");
    let out = kubectl(&["get", "job", "labctl", "-n", "user1", "-o", "json"])
        .await
        .unwrap();
    let job: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(job["spec"]["completions"], 3);
    let out = kubectl(&["get", "sa", "labctl", "-n", "user1", "-o", "name"])
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "serviceaccount/labctl"
    );
    sandbox.shutdown().await;
}

/// The pod's script, run here with its paths moved into a temp folder: pod
/// index 1 runs user2 with user_index 2 and prints a report `report merge` reads.
#[test]
fn pod_script_runs_its_user_and_prints_the_report() {
    let dir = Workshop::new().page(
        "ws/lab.md",
        "# Lab\n\n```execute {name=who}\necho \"I am %username% number %user_index%\"\n```\n\n\
         ```verify\n- stdout: { contains: 'number 2' }\n```\n",
    );
    let root = dir.path();
    let ws = root.join("ws");
    let out = Labctl::in_repo(&["job"])
        .arg(&ws)
        .args(["--users", "user1..user3", "--image", "x"])
        .output();
    assert_eq!(out.status.code(), Some(0));
    let d = docs(&String::from_utf8(out.stdout).unwrap());
    let users = d[1]["stringData"]["labctl-users"].as_str().unwrap();
    let lab = d[0]["data"]["lab.md"].as_str().unwrap();
    std::fs::create_dir_all(root.join("mnt/workshop")).unwrap();
    std::fs::create_dir_all(root.join("mnt/etc")).unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    std::fs::write(root.join("mnt/workshop/lab.md"), lab).unwrap();
    std::fs::write(root.join("mnt/etc/users.txt"), users).unwrap();
    let script = d[3]["spec"]["template"]["spec"]["containers"][0]["command"][2]
        .as_str()
        .unwrap()
        // /tmp first: the temp folder itself is under /tmp.
        .replace("/tmp/", &format!("{}/", root.join("tmp").display()))
        .replace(
            "cp -rL /workshop/",
            &format!("cp -rL {}/", root.join("mnt/workshop").display()),
        )
        .replace("/etc/labctl", &root.join("mnt/etc").display().to_string());
    let bin = Path::new(binary()).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let run = Command::new("sh")
        .args(["-c", &script])
        .env("JOB_COMPLETION_INDEX", "1")
        .env("PATH", path)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{script}\n{log}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::write(root.join("pod-1.txt"), log.as_bytes()).unwrap();
    let merged = Labctl::new(&["report", "merge", "pod-1.txt"])
        .dir(root)
        .run();
    merged.code(0);
    let doc: Value = merged.json();
    assert_eq!(doc["runs"][0]["user"], "user2");
    assert_eq!(doc["runs"][0]["vars"]["user_index"], "2");
    assert_eq!(doc["outcome"], "passed");
}

/// `--secret` values and users-file passwords go to the Secret: never into the
/// ConfigMap or the pod's command line; the pod gets them from a secretKeyRef.
#[test]
fn secrets_and_user_passwords_live_in_a_secret() {
    let dir = Workshop::new()
        .page("lab.md", "# Lab\n\n```execute\ntrue\n```\n")
        .file(
            "users.txt",
            "user1 password=Pw-one-1111\nuser2 password=Pw-two-2222\n",
        );
    let out = Labctl::in_repo(&["job"])
        .arg(dir.path().join("lab.md"))
        .arg("--users")
        .arg(format!("@{}", dir.path().join("users.txt").display()))
        .args([
            "--image",
            "x",
            "--",
            "--secret",
            "token",
            "--var",
            "token=hunter2222",
        ])
        .args(["--var", "plain=shown"])
        .output();
    let yaml = String::from_utf8(out.stdout.clone()).expect("the manifests are UTF-8");
    Ran::from(out).code(0);
    let d = docs(&yaml);
    let secret = d.iter().find(|v| v["kind"] == "Secret").unwrap();
    assert_eq!(secret["stringData"]["var-token"], "hunter2222");
    assert!(
        secret["stringData"]["labctl-users"]
            .as_str()
            .unwrap()
            .contains("Pw-two-2222")
    );
    for v in d.iter().filter(|v| v["kind"] != "Secret") {
        let text = v.to_string();
        for s in ["hunter2222", "Pw-one-1111", "Pw-two-2222"] {
            assert!(!text.contains(s), "{s} in {text}");
        }
    }
    let job = d.iter().find(|v| v["kind"] == "Job").unwrap();
    let pod = &job["spec"]["template"]["spec"];
    let env = pod["containers"][0]["env"].as_array().unwrap();
    let var = env
        .iter()
        .find(|e| e["name"] == "LABCTL_VAR_token")
        .unwrap();
    assert_eq!(var["valueFrom"]["secretKeyRef"]["key"], "var-token");
    assert_eq!(
        var["valueFrom"]["secretKeyRef"]["name"],
        secret["metadata"]["name"]
    );
    let script = pod["containers"][0]["command"][2].as_str().unwrap();
    assert!(
        script.contains("--secret token") && script.contains("plain=shown"),
        "{script}"
    );
    let users_volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "users")
        .unwrap();
    assert_eq!(
        users_volume["secret"]["secretName"],
        secret["metadata"]["name"]
    );
}
