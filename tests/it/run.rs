//! `labctl run` and `labctl check` with real shells and processes.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::labctl::Labctl;
use crate::support::processes::{processes_with, wait_for_processes};
use crate::support::workshop::Workshop;

/// Steps of the first run of a report, flattened over labs.
pub fn steps(report: &Value) -> Vec<Value> {
    report["runs"][0]["labs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["steps"].as_array().unwrap().clone())
        .collect()
}

fn step<'a>(steps: &'a [Value], id: &str) -> &'a Value {
    steps
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {steps:#?}"))
}

#[test]
fn state_persists_across_steps_and_labs_and_terminals_are_isolated() {
    let w = Workshop::new().pages(&[
        (
            "a.md",
            "# A\n\n```execute\nexport EXPORTED=one; PLAIN=two; greet() { echo \"hi $1\"; }; shopt -s expand_aliases; alias ll='echo aliased'; mkdir -p sub && cd sub\n```\n\n```execute-2\necho \"t2 sees [$PLAIN]\"; pwd\n```\n\n```verify\n- stdout: { contains: 't2 sees []' }\n- stdout: { not-contains: sub }\n```\n",
        ),
        (
            "b.md",
            "# B\n\n```execute\necho \"$EXPORTED $PLAIN\"; greet you; ll; basename \"$PWD\"\n```\n\n```output\none two\nhi you\naliased\nsub\n```\n",
        ),
    ]);
    let (code, report, err) = w.run(&[]);
    assert_eq!(code, 0, "{err}");
    let s = steps(&report);
    assert_eq!(s.len(), 3);
    assert!(s.iter().all(|s| s["outcome"] == "passed"), "{s:#?}");
}

#[test]
fn failure_stops_the_lab_and_says_what_was_expected() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\n```execute {name=first}\necho '{\"oops\": {\"cause\": {\"code\": \"ETIMEDOUT\"}}}'\n```\n\n```verify\n- json: $.oops.cause.code\n  equals: ECONNRESET\n```\n\n```execute {name=second}\necho never\n```\n",
    )]);
    let (code, report, err) = w.run(&[]);
    assert_eq!(code, 1, "{err}");
    let s = steps(&report);
    assert_eq!(step(&s, "first")["outcome"], "failed");
    assert_eq!(step(&s, "second")["outcome"], "skipped");
    assert!(err.contains("lab.md:3"), "{err}");
    assert!(err.contains("$ echo '{\"oops\""), "{err}");
    assert!(
        err.contains("✗ $.oops.cause.code equals ECONNRESET"),
        "{err}"
    );
    assert!(
        err.contains("expected: equals ECONNRESET") && err.contains("actual: ETIMEDOUT"),
        "{err}"
    );
    assert!(err.contains("0 passed, 1 failed, 1 skipped"), "{err}");
    // --keep-going runs the rest.
    let (code, report, _) = w.run(&["--keep-going"]);
    assert_eq!(code, 1);
    assert_eq!(step(&steps(&report), "second")["outcome"], "passed");
}

#[test]
fn endless_loop_is_backgrounded_and_stopped_with_its_output_kept() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\n```execute-2\nwhile true; do echo tick-4711; sleep 0.2; done\n```\n\n```execute\nsleep 1\n```\n\n```execute-2\n<ctrl+c>\n```\n\n```verify\n- stdout: { contains: tick-4711 }\n```\n",
    )]);
    let (code, report, err) = w.run(&[]);
    assert_eq!(code, 0, "{err}");
    let s = steps(&report);
    assert_eq!(s[2]["outcome"], "passed", "{s:#?}");
    assert!(
        processes_with("tick-4711").is_empty(),
        "{:?}",
        processes_with("tick-4711")
    );
}

#[test]
fn timeout_kills_the_step_at_the_limit_and_leaves_nothing() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\n```execute {timeout=1s}\nsleep 4242.11 & sleep 4242.12\n```\n",
    )]);
    let start = Instant::now();
    let (code, report, err) = w.run(&[]);
    let took = start.elapsed();
    assert_eq!(code, 1, "{err}");
    assert_eq!(steps(&report)[0]["outcome"], "timed_out");
    // Killed at the 1 s limit, not after the 4242 s sleeps (the bounds are far
    // from both, so a loaded machine does not matter).
    assert!(took < Duration::from_secs(30), "{took:?}");
    let ms = steps(&report)[0]["duration_ms"].as_u64().unwrap();
    assert!((1000..30_000).contains(&ms), "killed after {ms} ms");
    assert!(
        processes_with("4242.1").is_empty(),
        "{:?}",
        processes_with("4242.1")
    );
}

#[test]
fn orphaned_children_holding_stdout_do_not_hang_and_are_reaped() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\n```execute\nsleep 4242.21 &\necho started\n```\n\n```execute\necho next\n```\n",
    )]);
    let start = Instant::now();
    let (code, _, err) = w.run(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(
        processes_with("4242.21").is_empty(),
        "{:?}",
        processes_with("4242.21")
    );
}

#[test]
fn check_that_becomes_true_later_passes_with_within_and_hold_catches_a_flip() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\n```execute {name=later}\n(sleep 2; touch ready) >/dev/null 2>&1 &\n```\n\n```verify\n- command: test -f ready\n  within: 10s\n  interval: 200ms\n```\n\n```execute {name=flip}\ntouch up; (sleep 1; rm -f up) >/dev/null 2>&1 &\n```\n\n```verify\n- command: test -f up\n  hold: 3s\n  interval: 200ms\n```\n",
    )]);
    let (code, report, err) = w.run(&["--keep-going"]);
    assert_eq!(code, 1, "{err}");
    let s = steps(&report);
    let later = step(&s, "later");
    assert_eq!(later["outcome"], "passed", "{later:#}");
    assert!(later["duration_ms"].as_u64().unwrap() >= 1800);
    let flip = step(&s, "flip");
    assert_eq!(flip["outcome"], "failed", "{flip:#}");
    assert!(
        flip["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["message"].as_str().unwrap_or("").contains("held for")),
        "{flip:#}"
    );
}

#[test]
fn step_level_within_reruns_command_and_checks() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\n```execute {within=10s interval=200ms}\nn=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo $n\n```\n\n```verify\n- stdout: { equals: '3' }\n```\n",
    )]);
    let (code, report, err) = w.run(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(steps(&report)[0]["tries"], 3);
}

#[test]
fn vacuous_checks_are_flagged_and_fail_under_strict_checks() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\n```execute\ntouch made\n```\n\n```verify\n- command: 'true'\n```\n",
    )]);
    let (code, report, _) = w.run(&[]);
    assert_eq!(code, 0);
    let warnings = steps(&report)[0]["warnings"].clone();
    assert!(warnings.to_string().contains("vacuous"), "{warnings}");
    let (code, _, _) = w.run(&["--strict-checks"]);
    assert_eq!(code, 1);
}

#[test]
fn exit_statuses() {
    let ok = Workshop::new().pages(&[("lab.md", "# L\n```execute\ntrue\n```\n")]);
    assert_eq!(ok.run(&[]).0, 0);
    let fail = Workshop::new().pages(&[("lab.md", "# L\n```execute\nfalse\n```\n")]);
    assert_eq!(fail.run(&[]).0, 1);
    let nonzero =
        Workshop::new().pages(&[("lab.md", "# L\n```execute {exit=nonzero}\nfalse\n```\n")]);
    assert_eq!(nonzero.run(&[]).0, 0);
    // Bad input: nothing runs, not even the first step.
    let bad = Workshop::new().pages(&[(
        "lab.md",
        "# L\n```execute\ntouch ran\n```\n```execute {timout=1s}\ntrue\n```\n",
    )]);
    assert_eq!(bad.run(&[]).0, 2);
    assert!(!bad.join("ran").exists());
    let undefined = Workshop::new().pages(&[(
        "lab.md",
        "# L\n```execute\ntouch ran; echo %username%\n```\n",
    )]);
    let (code, _, err) = undefined.run(&[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("undefined variable `%username%`") && err.contains("lab.md:3"),
        "{err}"
    );
    let (code, _, err) = undefined.run(&["--var", "username=x;rm"]);
    assert_eq!(code, 2);
    assert!(err.contains("unsafe"), "{err}");
    assert!(!undefined.join("ran").exists());
    assert_eq!(undefined.run(&["--var", "username=user1"]).0, 0);
    let r = Labctl::new(&["run", "/no/such/path"]).run();
    assert_eq!(r.code, Some(2));
    let r = Labctl::new(&["run", "--report", "xml=out", "homeroom"]).run();
    assert_eq!(r.code, Some(2));
}

#[test]
fn ctrl_c_mid_step_writes_reports_exits_130_and_leaves_nothing() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\n```execute\necho first\n```\n\n```execute\nsleep 4242.31 & sleep 4242.32\n```\n\n```execute\necho never\n```\n",
    )]);
    let report = w.join("r.json");
    let junit = w.join("r.xml");
    let mut child = Labctl::new(&[
        "run",
        "--report",
        &format!("json={}", report.display()),
        "--report",
        &format!("junit={}", junit.display()),
        &w.arg(),
    ])
    .spawn_stderr();
    wait_for_processes("4242.32", 1);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(v["outcome"], "interrupted");
    let s = steps(&v);
    assert_eq!(s[0]["outcome"], "passed");
    assert_eq!(s[2]["outcome"], "skipped");
    assert!(junit.exists());
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        processes_with("4242.3").is_empty(),
        "{:?}",
        processes_with("4242.3")
    );
}

#[test]
fn junit_parses_and_json_matches_the_schema() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "---\ntitle: Schema\n---\n\n```execute {name=ok}\necho fine\n```\n\n```execute {name=bad}\necho '<&>' >&2; exit 3\n```\n\n```execute {name=later}\ntrue\n```\n",
    )]);
    let junit = w.join("r.xml");
    let j = format!("junit={}", junit.display());
    let (code, v, _) = w.run(&["--report", &j]);
    assert_eq!(code, 1);
    let report =
        quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(&junit).unwrap())
            .expect("JUnit parses");
    assert_eq!(report.test_suites.len(), 1);
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "Schema");
    assert_eq!(
        (
            suite.tests,
            suite.failures,
            suite
                .test_cases
                .iter()
                .filter(|c| matches!(c.status, quick_junit::TestCaseStatus::Skipped { .. }))
                .count()
        ),
        (3, 1, 1)
    );
    // JSON: the shape in cli.md.
    assert_eq!(v["version"], 1);
    assert_eq!(v["outcome"], "failed");
    assert!(v["started_at"].as_str().unwrap().contains('T'));
    assert!(v["duration_ms"].is_u64());
    let run = &v["runs"][0];
    assert!(run["user"].is_null());
    assert!(run["vars"].is_object());
    assert_eq!(run["outcome"], "failed");
    let lab = &run["labs"][0];
    assert_eq!(lab["title"], "Schema");
    assert!(lab["path"].as_str().unwrap().ends_with("lab.md"));
    for s in lab["steps"].as_array().unwrap() {
        for key in [
            "id",
            "name",
            "line",
            "terminal",
            "command",
            "outcome",
            "exit_code",
            "tries",
            "duration_ms",
            "checks",
            "warnings",
        ] {
            assert!(s.get(key).is_some(), "step lacks {key}: {s}");
        }
        assert!(
            ["passed", "failed", "timed_out", "skipped", "error"]
                .contains(&s["outcome"].as_str().unwrap())
        );
        for c in s["checks"].as_array().unwrap() {
            for key in ["kind", "description", "outcome", "message"] {
                assert!(c.get(key).is_some(), "check lacks {key}: {c}");
            }
        }
    }
    let bad = step(lab["steps"].as_array().unwrap(), "bad");
    assert_eq!(
        (bad["exit_code"].clone(), bad["line"].clone()),
        (Value::from(3), Value::from(9))
    );
}

#[test]
fn interactive_session_driven_through_stdin() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\nFirst, make a file.\n\n```execute {name=one}\ntouch one\n```\n\n```execute {name=two}\ntouch two\n```\n\n```execute {name=three}\ntest -f go\n```\n\n```execute {name=four}\ntouch four\n```\n",
    )]);
    let report = w.join("r.json");
    let ran = Labctl::new(&[
        "run",
        "--interactive",
        "--keep-going",
        "--report",
        &format!("json={}", report.display()),
        &w.arg(),
    ])
    .dir(w.path())
    .stdin("run\nskip\nr\nretry\nc\nq\n")
    .run();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let s = steps(&v);
    assert!(ran.stderr.contains("First, make a file."), "{}", ran.stderr);
    assert!(ran.stderr.contains("$ touch one"), "{}", ran.stderr);
    assert_eq!(step(&s, "one")["outcome"], "passed");
    assert_eq!(step(&s, "two")["outcome"], "skipped");
    assert_eq!(step(&s, "three")["outcome"], "failed");
    assert_eq!(step(&s, "four")["outcome"], "skipped");
    assert!(w.join("one").exists() && !w.join("two").exists() && !w.join("four").exists());
    assert_eq!(ran.code, Some(1));
}

#[test]
fn update_output_rewrites_only_fence_bodies() {
    let page = "# L\n\nSome *prose*   with  odd   spacing.\n\n```execute\nprintf 'alpha\\nbeta 42\\ngamma\\n'\n```\n\n```output\nalpha\n...\nold line\n```\n\nTrailing prose.\n";
    let w = Workshop::new().pages(&[("lab.md", page)]);
    let (code, _, _) = w.run(&[]);
    assert_eq!(code, 1, "strict output fence fails before the update");
    let (code, _, err) = w.run(&["--update-output"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("updated 1 expected-output fence"), "{err}");
    let now = std::fs::read_to_string(w.join("lab.md")).unwrap();
    let (before, after) = page.split_once("alpha\n...\nold line\n").unwrap();
    assert!(now.starts_with(before) && now.ends_with(after), "{now}");
    assert!(now.contains("alpha\n"), "{now}");
    assert!(now.contains("gamma\n"), "{now}");
    assert_eq!(w.run(&[]).0, 0, "the updated page passes");
}

#[test]
fn dry_run_prints_the_plan_and_runs_nothing() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n```execute\ntouch ran; echo %username%\n```\n",
    )]);
    let r = Labctl::new(&["run", "--dry-run", "--var", "username=alice", &w.arg()])
        .dir(w.path())
        .run();
    r.code(0);
    assert!(r.stdout.contains("touch ran; echo alice"), "{}", r.stdout);
    assert!(!w.join("ran").exists());
}

#[test]
fn check_runs_no_step_and_skips_output_checks() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n```execute\ntouch ran\n```\n```verify\n- stdout: { contains: x }\n- command: test -d .\n```\n",
    )]);
    let report = w.join("r.json");
    let r = Labctl::new(&[
        "check",
        "--report",
        &format!("json={}", report.display()),
        &w.arg(),
    ])
    .dir(w.path())
    .run();
    r.code(0);
    assert!(!w.join("ran").exists());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let checks = steps(&v)[0]["checks"].clone();
    assert_eq!(checks[0]["outcome"], "skipped");
    assert_eq!(checks[1]["outcome"], "passed");
}

#[test]
fn secrets_are_redacted_everywhere() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n```execute\necho \"token=%token% uri=https://x/api?key=AIzaSECRET&q=1\"; false\n```\n",
    )]);
    let j = w.join("r.xml");
    let (code, v, err) = w.run(&[
        "--var",
        "token=hunter22",
        "--secret",
        "token",
        "--report",
        &format!("junit={}", j.display()),
    ]);
    assert_eq!(code, 1);
    let all = format!("{v}{err}{}", std::fs::read_to_string(j).unwrap());
    assert!(
        !all.contains("hunter22") && !all.contains("AIzaSECRET"),
        "{all}"
    );
    assert!(all.contains("[redacted]"));
}

#[test]
fn execute_all_runs_in_every_open_terminal() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n```execute\nWHO=one\n```\n```execute-2\nWHO=two\n```\n```execute-all\necho \"$WHO\" >> all.txt\n```\n",
    )]);
    assert_eq!(w.run(&[]).0, 0);
    assert_eq!(
        std::fs::read_to_string(w.join("all.txt")).unwrap(),
        "one\ntwo\n"
    );
}

#[test]
fn a_step_that_exits_its_shell_is_reported_and_the_terminal_starts_afresh() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n```execute\nX=1; exit 0\n```\n```execute\necho \"[$X]\"\n```\n```output\n[]\n```\n",
    )]);
    let (code, v, err) = w.run(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        steps(&v)[0]["warnings"]
            .to_string()
            .contains("ended its shell")
    );
}

#[test]
fn kube_checks_without_a_kubeconfig_exit_3_before_any_step() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n```execute\ntouch ran\n```\n```verify\n- kube: v1/ConfigMap\n  name: x\n  namespace: default\n```\n",
    )]);
    let home = tempfile::tempdir().unwrap();
    let r = Labctl::new(&["run", &w.arg()])
        .dir(w.path())
        .env("KUBECONFIG", "/no/such/kubeconfig")
        .env("HOME", home.path().to_str().unwrap())
        .run();
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains("/no/such/kubeconfig"), "{}", r.stderr);
    assert!(!w.join("ran").exists());
    // Without kube checks, no kubeconfig is read at all.
    let plain = Workshop::new().pages(&[("lab.md", "# L\n```execute\ntrue\n```\n")]);
    let r = Labctl::new(&["run", &plain.arg()])
        .dir(plain.path())
        .env("KUBECONFIG", "/no/such/kubeconfig")
        .run();
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

/// This process's `Cpus_allowed_list` (e.g. `0-1`).
fn cpus_allowed() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn steps_and_checks_get_every_cpu_labctl_was_given() {
    // labctl pins itself, and its shells between steps, to one CPU; nothing a
    // step or a check starts may inherit that (a JVM sizes its pools by it).
    let cpus = cpus_allowed();
    let probe = "grep Cpus_allowed_list /proc/self/status";
    let lab = format!(
        "# L\n\n```execute\n{probe}\n```\n\n```verify\n- stdout: {{ matches: 'Cpus_allowed_list:\\s+{cpus}$' }}\n\
         - command: grep -Eq 'Cpus_allowed_list:\\s+{cpus}$' /proc/self/status\n```\n\n\
         ```execute\nsleep 0.1; {probe}; bash -c '{probe}'\n```\n\n\
         ```verify\n- stdout: {{ matches: '(?s)Cpus_allowed_list:\\s+{cpus}\\n.*Cpus_allowed_list:\\s+{cpus}$' }}\n```\n"
    );
    let w = Workshop::new().pages(&[("lab.md", &lab)]);
    let (code, report, err) = w.run(&[]);
    assert_eq!(code, 0, "{err}\n{report:#}");
}
