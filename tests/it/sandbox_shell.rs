//! The sandbox as a student uses it: a shell with a banner in the workshop folder,
//! the lab done by hand, `labctl check` inside it; `sandbox start/stop/status`.

use std::path::Path;
use std::time::Duration;

use crate::support::labctl::{Labctl, repo};

/// The lab's commands typed by hand, with `labctl check` before and after the apply.
const BY_HAND: &str = r#"
set -u
oc whoami
oc project
oc describe cm/istio-workshop-install -n user1-istio | grep outboundTrafficPolicy -A 1
curl -s context-scraper.user1:8080/scrape/custom_search?term==skynet | jq -r .oops.cause.code
s=$(date +%s%N)
labctl check securing-egress.md --only apply-egress --no-wait
echo "before-apply rc=$? ms=$(( ($(date +%s%N) - s) / 1000000 ))"
oc apply -f ./manifests/istio/serviceentry-googleapis.yaml
sleep 2
curl -s context-scraper.user1:8080/scrape/custom_search?term==skynet | jq -r '.[0].link'
labctl check securing-egress.md
echo "after-apply rc=$?"
"#;

#[test]
fn a_student_does_the_lab_by_hand_in_the_sandbox_shell_and_checks_it() {
    let ran = Labctl::new(&[
        "sandbox",
        "--workshop",
        "labs/",
        "--",
        "bash",
        "-c",
        BY_HAND,
    ])
    .dir(&repo())
    .run();
    ran.code(0);
    let (out, err) = (&ran.stdout, &ran.stderr);
    // The banner: who, where, how to check, how to leave.
    for line in [
        "you are      user1",
        "API server   http://127.0.0.1:",
        "check        labctl check .",
        "leave        exit",
    ] {
        assert!(err.contains(line), "banner lacks {line:?}:\n{err}");
    }
    assert!(
        out.starts_with("user1\nUsing project 'user1' on server 'http://127.0.0.1:"),
        "{out}"
    );
    assert!(
        out.contains("mode: REGISTRY_ONLY") && out.contains("ECONNRESET"),
        "{out}"
    );
    // Before the apply: fails at once, naming the step and its command.
    let before = out
        .lines()
        .find(|l| l.starts_with("before-apply"))
        .unwrap_or_else(|| panic!("{out}"));
    let ms: u64 = before.rsplit("ms=").next().unwrap().parse().unwrap();
    assert!(
        before.starts_with("before-apply rc=1") && ms < 2000,
        "{before}"
    );
    let apply_line = std::fs::read_to_string(repo().join("labs/securing-egress.md"))
        .unwrap()
        .lines()
        .position(|l| l.starts_with("```execute {name=apply-egress"))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!(
            "→ do step apply-egress (securing-egress.md:{apply_line}): `oc apply -f ./manifests/istio/serviceentry-googleapis.yaml`"
        )),
        "{err}"
    );
    // After it, in the same shell: the http check goes through the shell's mesh proxy.
    assert!(out.contains("after-apply rc=0"), "{out}\n{err}");
    assert!(err.contains("✓ apply-egress: done"), "{err}");
}

#[test]
fn sandbox_start_status_and_stop_find_the_background_sandbox() {
    let runtime = tempfile::tempdir().unwrap();
    let rt = runtime.path().display().to_string();
    let status = |want: i32| {
        let r = Labctl::new(&["sandbox", "status"])
            .env("XDG_RUNTIME_DIR", &rt)
            .run();
        r.code(want);
        r
    };
    assert!(status(1).stdout.contains("not running"));
    let started = Labctl::new(&["sandbox", "--users", "2", "start"])
        .env("XDG_RUNTIME_DIR", &rt)
        .run();
    started.code(0);
    assert!(
        started.stdout.contains("export KUBECONFIG='"),
        "{}",
        started.stdout
    );
    assert!(
        started.stderr.contains("labctl sandbox stop"),
        "{}",
        started.stderr
    );
    let running = status(0);
    assert!(
        running.stdout.starts_with("running (pid "),
        "{}",
        running.stdout
    );
    // The printed environment reaches the sandbox from another shell.
    let script = format!("{}\nkubectl get namespace user2 -o name", started.stdout);
    let kubectl = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&kubectl.stdout),
        "namespace/user2\n",
        "{}",
        String::from_utf8_lossy(&kubectl.stderr)
    );
    // A second start finds the first.
    let again = Labctl::new(&["sandbox", "start"])
        .env("XDG_RUNTIME_DIR", &rt)
        .run();
    again.code(0);
    assert!(again.stderr.contains("already running"), "{}", again.stderr);
    let kubeconfig = started
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("export KUBECONFIG='"))
        .unwrap()
        .trim_end_matches('\'')
        .to_string();
    Labctl::new(&["sandbox", "stop"])
        .env("XDG_RUNTIME_DIR", &rt)
        .run()
        .code(0);
    status(1);
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        !Path::new(&kubeconfig).exists(),
        "the sandbox's files stay: {kubeconfig}"
    );
    assert_eq!(
        std::fs::read_dir(runtime.path().join("labctl"))
            .unwrap()
            .count(),
        0
    );
    Labctl::new(&["sandbox", "stop"])
        .env("XDG_RUNTIME_DIR", &rt)
        .run()
        .code(1);
}

/// `--print-env` is `start` (README, cli.md): the sandbox is left running in
/// the background and its environment printed as `export` lines.
#[test]
fn sandbox_print_env_leaves_it_running_as_start_does() {
    let runtime = tempfile::tempdir().unwrap();
    let rt = runtime.path().display().to_string();
    let printed = Labctl::new(&["sandbox", "--print-env"])
        .env("XDG_RUNTIME_DIR", &rt)
        .run();
    printed.code(0);
    assert!(
        printed.stdout.contains("export KUBECONFIG='"),
        "{}",
        printed.stdout
    );
    let running = Labctl::new(&["sandbox", "status"])
        .env("XDG_RUNTIME_DIR", &rt)
        .run();
    running.code(0);
    assert!(
        running.stdout.starts_with("running (pid "),
        "{}",
        running.stdout
    );
    Labctl::new(&["sandbox", "stop"])
        .env("XDG_RUNTIME_DIR", &rt)
        .run()
        .code(0);
}

/// `labctl sandbox -- CMD`: CMD sees the sandbox (kubectl, `LABCTL_SANDBOX`, a private
/// KUBECONFIG), its exit status is labctl's, and the private folder is gone after.
#[test]
fn sandbox_command_returns_its_exit_code_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("seen");
    let script = format!(
        "kubectl get ns user2-istio -o name > {m} && echo \"$LABCTL_SANDBOX $KUBECONFIG\" >> {m} && exit 7",
        m = marker.display()
    );
    let args = ["sandbox", "--users", "2", "--mesh-delay", "0s", "--"];
    Labctl::new(&args)
        .dir(dir.path())
        .args(["bash", "-c", &script])
        .run()
        .code(7);
    let seen = std::fs::read_to_string(&marker).unwrap();
    let mut lines = seen.lines();
    assert_eq!(lines.next(), Some("namespace/user2-istio"));
    let kubeconfig = lines.next().unwrap().strip_prefix("1 ").unwrap();
    assert!(
        !Path::new(kubeconfig).exists(),
        "the private dir is removed"
    );

    let missing = Labctl::new(&args)
        .dir(dir.path())
        .arg("/nonexistent/prog")
        .run();
    assert_ne!(missing.code, Some(0), "{}", missing.stderr);
    missing.stderr_has("/nonexistent/prog");
}
