//! Signals on the real binary: SIGINT, SIGTERM, SIGHUP and a second SIGINT
//! stop a run in order, whatever its steps do (trap the signals, detach with
//! setsid or a double fork, loop in the background, sit in a check): the exit
//! status says which signal, all three reports are written and parse, no
//! process of the run is left (found by the run's marker in their
//! environment) and no labctl temp dir is left.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::support::labctl::Labctl;
use crate::support::processes::processes_with_env;
use crate::support::workshop::Workshop;

/// A foreground step that ignores every stop signal, as does its child; a
/// background `while true` loop; daemons detached with setsid (one also
/// ignoring signals) and a double fork.
const HOSTILE: &str = "# Hostile\n\n\
```execute-2\nwhile true; do sleep 0.2; done\n```\n\n\
```execute\nsetsid sleep 41 >/dev/null 2>&1 </dev/null &\n\
( ( exec sleep 43 >/dev/null 2>&1 ) & )\n\
setsid bash -c \"trap '' TERM INT HUP; sleep 44\" >/dev/null 2>&1 &\necho detached\n```\n\n\
```execute\necho before; trap '' TERM INT HUP; bash -c \"trap '' TERM INT HUP; sleep 42\"\n```\n\n\
```execute\necho never\n```\n";

/// Far below the hostile lab's sleeps (41 s and more) and the 60 s grace
/// some runs set: a stop that waited for either takes longer, one that did
/// not stays under it however loaded the machine is.
const NOT_HUNG: Duration = Duration::from_secs(30);

/// A `command:` check waiting (`within: 60s`) on a command whose child
/// sleeps; it fails at once before the step ran, so it is not vacuous.
const CHECKING: &str = "# Checking\n\n\
```execute\ntouch go; echo made\n```\n\n\
```verify\n- command: \"if [ -e go ]; then sleep 45; fi; false\"\n  within: 60s\n```\n";

/// A run of labctl with all three reports, its temp dir private to the test.
struct Run {
    w: Workshop,
    child: Child,
    tmp: tempfile::TempDir,
    /// An environment entry of the test's own, inherited by every step.
    tag: String,
}

impl Run {
    fn start(page: &str, extra_env: &[(&str, &str)]) -> Run {
        Run::start_with(page, extra_env, &[])
    }

    fn start_with(page: &str, extra_env: &[(&str, &str)], extra_args: &[&str]) -> Run {
        let w = Workshop::new().pages(&[("lab.md", page)]);
        let tmp = tempfile::tempdir().unwrap();
        let tag = format!("SIGNALS_TEST_RUN={}", tmp.path().display());
        let mut labctl = w
            .labctl(&["run"])
            .args(["--report", &format!("json={}", w.join("r.json").display())])
            .args(["--report", &format!("junit={}", w.join("r.xml").display())])
            .args(["--report", &format!("html={}", w.join("r.html").display())])
            .args(extra_args)
            .arg(w.join("lab.md"))
            .env("TMPDIR", tmp.path())
            .env("SIGNALS_TEST_RUN", tmp.path());
        for (k, v) in extra_env {
            labctl = labctl.env(k, v);
        }
        let child = labctl.spawn_quiet();
        Run { w, child, tmp, tag }
    }

    /// The environment entry labctl puts in every process of this run.
    fn marker(&self) -> String {
        format!("LABCTL_RUN_ID={}.", self.child.id())
    }

    /// The run's processes, by the test's tag or labctl's marker.
    fn processes(&self) -> Vec<(i32, String)> {
        let mut found = processes_with_env(&self.tag);
        for p in processes_with_env(&self.marker()) {
            if !found.contains(&p) {
                found.push(p);
            }
        }
        found
    }

    /// Waits until the run's processes include each of `commands`.
    fn wait_for(&self, commands: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let procs = self.processes();
            if commands
                .iter()
                .all(|c| procs.iter().any(|(_, cmd)| cmd.trim_end() == *c))
            {
                return;
            }
            assert!(Instant::now() < deadline, "never started: {procs:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    /// Waits for labctl's end; its exit status and the time it took.
    fn finish(&mut self, since: Instant) -> (Option<i32>, Duration) {
        let code = self.child.wait().unwrap().code();
        (code, since.elapsed())
    }

    fn report(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.w.join("r.json")).unwrap()).unwrap()
    }

    /// All three reports are there and parse; the JSON report is returned.
    fn assert_reports(&self) -> Value {
        let junit = std::fs::read_to_string(self.w.join("r.xml")).expect("JUnit written");
        quick_junit::Report::deserialize_from_str(&junit).expect("JUnit parses");
        let page = std::fs::read_to_string(self.w.join("r.html")).expect("HTML written");
        assert_xml(&page);
        let v = self.report();
        assert_eq!(v["outcome"], "interrupted");
        v
    }

    /// Nothing of the run is left: no process, no temp dir.
    fn assert_nothing_left(&self) {
        // Killed processes may take a moment to be gone from /proc.
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.processes().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(self.processes(), Vec::new());
        assert_eq!(leftovers(self.tmp.path()), Vec::<String>::new());
    }
}

impl Drop for Run {
    /// A failed assertion must leave nothing running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for (pid, _) in self.processes() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// No process has `tag` in its environment (those found are killed, then reported).
fn assert_none_left(tag: &str) {
    let left = processes_with_env(tag);
    for (pid, _) in &left {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    assert_eq!(left, Vec::new());
}

fn leftovers(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn assert_xml(page: &str) {
    let mut reader = quick_xml::Reader::from_str(page);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("the HTML report does not parse: {e}"),
        }
    }
}

fn steps(v: &Value) -> Vec<Value> {
    v["runs"][0]["labs"][0]["steps"].as_array().unwrap().clone()
}

/// Stops the hostile lab while its trapping step runs, with `signals` (one
/// after the other), and checks everything a stop promises.
fn stops_hostile_lab(signals: &[Signal], exit: i32) {
    let mut run = Run::start(HOSTILE, &[]);
    run.wait_for(&["sleep 41", "sleep 43", "sleep 44", "sleep 42", "sleep 0.2"]);
    let first = Instant::now();
    for (i, sig) in signals.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
        run.signal(*sig);
    }
    let (code, took) = run.finish(first);
    assert_eq!(code, Some(exit));
    assert!(took < NOT_HUNG, "reports took {took:?}");
    let v = run.assert_reports();
    let s = steps(&v);
    assert_eq!(s[0]["outcome"], "passed", "{s:?}");
    assert_eq!(s[1]["stdout"], "detached");
    // The step the signal caught: interrupted, with what it printed and its try.
    assert_eq!(s[2]["outcome"], "interrupted", "{:?}", s[2]);
    assert_eq!(s[2]["stdout"], "before");
    assert_eq!(s[2]["tries"], 1);
    assert_eq!(s[3]["outcome"], "skipped");
    run.assert_nothing_left();
}

#[test]
fn sigint_stops_steps_that_trap_signals_or_detach() {
    stops_hostile_lab(&[Signal::SIGINT], 130);
}

#[test]
fn sigterm_stops_like_sigint_and_exits_143() {
    stops_hostile_lab(&[Signal::SIGTERM], 143);
}

#[test]
fn sighup_stops_like_sigint_and_exits_129() {
    stops_hostile_lab(&[Signal::SIGHUP], 129);
}

#[test]
fn a_second_sigint_kills_at_once_and_still_writes_reports() {
    // With a grace of a minute, only the second signal can end the run in time.
    let mut run = Run::start(HOSTILE, &[("LABCTL_GRACE", "60s")]);
    run.wait_for(&["sleep 41", "sleep 43", "sleep 44", "sleep 42", "sleep 0.2"]);
    let first = Instant::now();
    run.signal(Signal::SIGINT);
    std::thread::sleep(Duration::from_millis(300));
    run.signal(Signal::SIGINT);
    let (code, took) = run.finish(first);
    assert_eq!(code, Some(130));
    assert!(took < NOT_HUNG, "took {took:?}");
    let v = run.assert_reports();
    assert_eq!(steps(&v)[2]["outcome"], "interrupted");
    run.assert_nothing_left();
}

#[test]
fn sigterm_stops_every_user_of_a_fan_out_and_removes_their_copies() {
    let mut run = Run::start_with(HOSTILE, &[], &["--users", "user1..user2", "-j", "2"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while run
        .processes()
        .iter()
        .filter(|(_, c)| c.trim_end() == "sleep 42")
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "{:?}", run.processes());
        std::thread::sleep(Duration::from_millis(20));
    }
    let first = Instant::now();
    run.signal(Signal::SIGTERM);
    let (code, took) = run.finish(first);
    assert_eq!(code, Some(143));
    assert!(took < NOT_HUNG, "took {took:?}");
    let v = run.assert_reports();
    for user in v["runs"].as_array().unwrap() {
        assert_eq!(
            user["labs"][0]["steps"][2]["outcome"], "interrupted",
            "{user}"
        );
    }
    // The per-user working copies were in the private TMPDIR too.
    run.assert_nothing_left();
}

#[test]
fn sigint_during_a_command_check_ends_the_check_and_its_children() {
    let mut run = Run::start(CHECKING, &[]);
    run.wait_for(&["sleep 45"]);
    let first = Instant::now();
    run.signal(Signal::SIGINT);
    let (code, _) = run.finish(first);
    assert_eq!(code, Some(130));
    let v = run.assert_reports();
    let s = steps(&v);
    assert_eq!(s[0]["outcome"], "interrupted", "{s:?}");
    assert_eq!(s[0]["stdout"], "made");
    assert_eq!(s[0]["tries"], 1);
    run.assert_nothing_left();
}

#[test]
fn detached_processes_end_with_the_run() {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# D\n\n```execute\nsetsid sleep 41 >/dev/null 2>&1 </dev/null &\n( ( exec sleep 43 >/dev/null 2>&1 ) & )\necho ok\n```\n",
    )]);
    let tag = format!("SIGNALS_TEST_TAG={}", std::process::id());
    let (k, v) = tag.split_once('=').unwrap();
    let (code, report, _) = {
        let tmp = tempfile::tempdir().unwrap();
        let r = w.run_with_env(
            &[],
            &[(k, v), ("TMPDIR", &tmp.path().display().to_string())],
        );
        assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
        r
    };
    assert_eq!(code, 0, "{report}");
    std::thread::sleep(Duration::from_millis(100));
    assert_none_left(&tag);
}

#[test]
fn setsid_and_wait_under_a_timeout_times_out_instead_of_passing() {
    // With job control, setsid forks and `wait` returns at once: the step
    // would "pass" in milliseconds while its sleep runs on.
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# T\n\n```execute {timeout=1s}\nsetsid sleep 44 & wait\n```\n",
    )]);
    let tag = format!("SIGNALS_TEST_TIMEOUT={}", std::process::id());
    let (k, v) = tag.split_once('=').unwrap();
    let (code, report, _) = w.run_with_env(&[], &[(k, v)]);
    assert_eq!(code, 1, "{report}");
    let s = &report["runs"][0]["labs"][0]["steps"][0];
    assert_eq!(s["outcome"], "timed_out", "{s}");
    assert!(s["duration_ms"].as_u64().unwrap() >= 1000, "{s}");
    assert_none_left(&tag);
}

#[test]
fn sandbox_command_leaves_nothing_running() {
    let tag = format!("SIGNALS_TEST_SANDBOX={}", std::process::id());
    let (k, v) = tag.split_once('=').unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let status = Labctl::in_repo(&["sandbox", "--", "bash", "-c", "sleep 46 &"])
        .env(k, v)
        .env("TMPDIR", tmp.path())
        .spawn_quiet()
        .wait()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    std::thread::sleep(Duration::from_millis(100));
    assert_none_left(&tag);
    assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
}

#[test]
fn a_fake_status_line_does_not_end_the_step() {
    // Bash keeps the shell's stdout (the status channel) on a descriptor of
    // 10 or more while a step's output is redirected; without the nonce this
    // line ended the step before `echo real`.
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# N\n\n```execute\nfor fd in 10 11 12; do echo \"done $__labctl_id 0\" >&$fd; done 2>/dev/null\nsleep 0.3; echo real\n```\n\n```execute\necho second\n```\n",
    )]);
    let (code, report, err) = w.run(&[]);
    assert_eq!(code, 0, "{err}");
    let s = &report["runs"][0]["labs"][0]["steps"];
    assert_eq!(s[0]["stdout"], "real", "{s}");
    assert_eq!(s[1]["stdout"], "second", "{s}");
}

#[test]
fn a_shell_or_workdir_that_cannot_serve_is_an_environment_error() {
    let w = Workshop::new().pages(&[("lab.md", "# E\n\n```execute\ntouch ran\n```\n")]);
    let not_a_program = w.join("not-a-program");
    std::fs::write(&not_a_program, "plain text").unwrap();
    for args in [
        vec!["--shell", "/nonexistent"],
        vec!["--shell", not_a_program.to_str().unwrap()],
        vec!["--workdir", "/nonexistent"],
    ] {
        let (code, _, err) = w.run(&args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(err.contains(args[1]) && err.contains(args[0]), "{err}");
        assert!(!w.join("ran").exists());
    }
}
