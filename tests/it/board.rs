//! `labctl board` on the sandbox: twenty students played by kubectl, the board's JSON
//! snapshots read back, a user without a namespace, and the full-screen view through a
//! real pseudo-terminal (`script`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use labctl::sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

use crate::support::labctl::{Labctl, binary, fixtures, repo};
use crate::support::served::Served;
use crate::support::workshop::Workshop;

const SE: &str = "labs/manifests/istio/serviceentry-googleapis.yaml";

/// The sandbox, served by its own runtime while the test drives processes.
struct Classroom {
    rt: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
    home: tempfile::TempDir,
}

impl Classroom {
    fn open(users: u32) -> Classroom {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let sandbox = rt
            .block_on(Sandbox::start(SandboxConfig {
                users,
                mesh_delay: Duration::ZERO,
                refuse: Vec::new(),
                names: Vec::new(),
            }))
            .unwrap();
        Classroom {
            rt,
            sandbox: Some(sandbox),
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        let mut env = self.sandbox.as_ref().unwrap().env();
        env.push(("HOME".into(), self.home.path().display().to_string()));
        env
    }

    /// A student at the keyboard: real kubectl in their namespace.
    fn kubectl(&self, args: &[&str]) {
        let root = repo();
        let out = Command::new("kubectl")
            .args(args)
            .envs(self.env())
            .current_dir(root)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn board(&self, args: &[&str]) -> Labctl {
        let mut l = Labctl::new(&["board"])
            .arg(fixtures().join("board"))
            .args(args)
            .dir(self.home.path());
        for (k, v) in self.env() {
            l = l.env(&k, v);
        }
        l
    }
}

impl Drop for Classroom {
    fn drop(&mut self) {
        if let Some(s) = self.sandbox.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

/// Every snapshot written so far, in order.
fn snapshots(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter_map(|f| serde_json::from_str(&std::fs::read_to_string(f).ok()?).ok())
        .collect()
}

/// `state` of `user`'s cell for `step` in a snapshot.
fn state<'a>(snap: &'a Value, user: &str, step: &str) -> &'a str {
    let u = snap["board"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user"] == user)
        .unwrap();
    let c = u["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["step"] == step)
        .unwrap();
    c["state"].as_str().unwrap()
}

/// Waits until the latest snapshot satisfies `ok`.
fn wait_for(dir: &Path, what: &str, ok: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if snapshots(dir).last().is_some_and(&ok) {
            return;
        }
        assert!(Instant::now() < deadline, "the board never showed {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn users(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("user{i}")).collect()
}

/// The states a cell went through, checking and repeats left out.
fn history(snaps: &[Value], user: &str, step: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in snaps {
        let st = state(s, user, step);
        if st != "checking" && out.last().map(String::as_str) != Some(st) {
            out.push(st.to_string());
        }
    }
    out
}

fn term(child: &Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
}

// Long: one classroom story over one 20-user sandbox and one board process; its parts depend on the state before them.
#[test]
fn twenty_students_the_board_shows_each_change_for_exactly_the_right_users() {
    let room = Classroom::open(20);
    let snaps = room.home.path().join("snaps");
    let json = room.home.path().join("board.json");
    let junit = room.home.path().join("board.xml");
    let html = room.home.path().join("board.html");
    let mut board = room
        .board(&["--users", "user1..user21", "--interval", "1s"])
        .arg("--snapshot-dir")
        .arg(&snaps)
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .arg("--report")
        .arg(format!("junit={}", junit.display()))
        .arg("--report")
        .arg(format!("html={}", html.display()))
        .spawn();
    let everyone = users(20);
    let all_answered = |s: &Value| {
        everyone.iter().all(|u| {
            ["apply-egress", "scrape", "label"]
                .iter()
                .all(|st| state(s, u, st) == "not_yet")
        }) && state(s, "user21", "apply-egress") == "no_environment"
    };
    wait_for(
        &snaps,
        "every user not yet, user21 without environment",
        all_answered,
    );

    // Three students register the destination; user3 also labels it.
    for u in ["user3", "user7", "user12"] {
        room.kubectl(&["apply", "-n", u, "-f", SE]);
    }
    let done = ["user3", "user7", "user12"];
    wait_for(&snaps, "the three ServiceEntries and their searches", |s| {
        done.iter()
            .all(|u| state(s, u, "apply-egress") == "done" && state(s, u, "scrape") == "done")
    });
    room.kubectl(&[
        "label",
        "-n",
        "user3",
        "serviceentry",
        "context-scraper-egress",
        "checked=yes",
    ]);
    wait_for(&snaps, "user3's label", |s| {
        state(s, "user3", "label") == "done"
    });
    // user7 deletes theirs: broken, for user7 only.
    room.kubectl(&[
        "delete",
        "-n",
        "user7",
        "serviceentry",
        "context-scraper-egress",
    ]);
    wait_for(&snaps, "user7's broken steps", |s| {
        state(s, "user7", "apply-egress") == "broken" && state(s, "user7", "scrape") == "broken"
    });
    term(&board);
    let status = board.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(board.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");

    let all = snapshots(&snaps);
    let expected: BTreeMap<(&str, &str), Vec<&str>> = [
        (("user3", "apply-egress"), vec!["not_yet", "done"]),
        (("user3", "scrape"), vec!["not_yet", "done"]),
        (("user3", "label"), vec!["not_yet", "done"]),
        (("user7", "apply-egress"), vec!["not_yet", "done", "broken"]),
        (("user7", "scrape"), vec!["not_yet", "done", "broken"]),
        (("user12", "apply-egress"), vec!["not_yet", "done"]),
        (("user12", "scrape"), vec!["not_yet", "done"]),
    ]
    .into_iter()
    .collect();
    for u in &everyone {
        for step in ["apply-egress", "scrape", "label"] {
            let want = expected
                .get(&(u.as_str(), step))
                .cloned()
                .unwrap_or_else(|| vec!["not_yet"]);
            assert_eq!(history(&all, u, step), want, "{u} {step}");
        }
    }
    for step in ["apply-egress", "scrape", "label"] {
        assert_eq!(history(&all, "user21", step), ["no_environment"], "{step}");
    }
    let last = all.last().unwrap();
    let u21 = &last["board"]["users"][20];
    assert_eq!(u21["environment_reason"], "namespace user21 does not exist");
    assert_eq!(last["board"]["steps"][0]["done"], 2);

    // The line view said the same, one line per change.
    assert!(err.contains("user7 apply-egress ✗ broken"), "{err}");
    assert!(
        err.contains("user21 no environment: namespace user21 does not exist"),
        "{err}"
    );

    // The JSON report is `run`'s: user7's apply-egress failed, with why.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 21);
    let step = |user: &str, id: &str| -> Value {
        let r = runs.iter().find(|r| r["user"] == user).unwrap();
        r["labs"][0]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(step("user3", "label")["outcome"], "passed");
    assert_eq!(step("user12", "apply-egress")["outcome"], "passed");
    let broken = step("user7", "apply-egress");
    assert_eq!(broken["outcome"], "failed");
    assert!(
        broken["reason"].as_str().unwrap().starts_with("broken"),
        "{broken:#}"
    );
    assert!(
        broken["checks"][0]["message"]
            .as_str()
            .unwrap()
            .contains("actual: not found"),
        "{broken:#}"
    );
    // No environment: one error, not one failure per step.
    let u21: Vec<&str> = runs[20]["labs"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(u21, ["error", "skipped", "skipped"]);
    // report merge reads it back; JUnit parses with one suite per user.
    let merged = Labctl::in_repo(&["report", "merge"]).arg(&json).run();
    // Exit 1: the merged run has failed steps, as `run` would say.
    let merged = merged.code(1).json();
    assert_eq!(merged["runs"].as_array().unwrap().len(), 21);
    let junit =
        quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(&junit).unwrap())
            .unwrap();
    assert_eq!(junit.test_suites.len(), 21);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(">user21<"), "user21 missing from the HTML");
}

#[test]
fn a_silent_cluster_makes_cells_stale_not_failed() {
    let mut room = Classroom::open(2);
    let snaps = room.home.path().join("snaps");
    room.kubectl(&["apply", "-n", "user1", "-f", SE]);
    let mut board = room
        .board(&["--users", "user1..user2", "--interval", "1s"])
        .arg("--snapshot-dir")
        .arg(&snaps)
        .spawn_stderr();
    wait_for(&snaps, "user1 done", |s| {
        state(s, "user1", "apply-egress") == "done"
            && state(s, "user2", "apply-egress") == "not_yet"
    });
    let sandbox = room.sandbox.take().unwrap();
    room.rt.block_on(sandbox.shutdown());
    wait_for(&snaps, "stale cells", |s| {
        let cell = &s["board"]["users"][0]["cells"][0];
        !cell["stale_ms"].is_null()
    });
    let last = snapshots(&snaps).pop().unwrap();
    // The last answer still shows: done stays done, not yet stays not yet.
    assert_eq!(state(&last, "user1", "apply-egress"), "done");
    assert_eq!(state(&last, "user2", "apply-egress"), "not_yet");
    term(&board);
    assert_eq!(board.wait().unwrap().code(), Some(0));
}

/// Strips escape sequences, keeping the text.
fn text_of(screen: &str) -> String {
    let mut out = String::new();
    let mut chars = screen.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                while let Some(&n) = chars.peek() {
                    chars.next();
                    if n.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        if c != '\r' {
            out.push(c);
        }
    }
    out
}

#[test]
fn the_full_screen_board_through_a_pseudo_terminal() {
    use std::io::Write as _;
    let room = Classroom::open(3);
    room.kubectl(&["apply", "-n", "user2", "-f", SE]);
    let cmd = format!(
        "stty rows 30 cols 120; exec {} board {} --users user1..user4 --interval 1s",
        binary(),
        fixtures().join("board").display()
    );
    let mut script = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .envs(room.env())
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .current_dir(room.home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut keys = script.stdin.take().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    // Down to user2, open the cell, then down to the "done" row, save a snapshot, quit.
    for k in ["j", "\r", "s"] {
        keys.write_all(k.as_bytes()).unwrap();
        keys.flush().unwrap();
        std::thread::sleep(Duration::from_millis(700));
    }
    keys.write_all(b"q").unwrap();
    keys.flush().unwrap();
    let out = script.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let raw = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        raw.contains("\x1b[?1049h"),
        "never entered the alternate screen"
    );
    assert!(
        raw.trim_end().ends_with("\x1b[?1049l"),
        "did not restore the screen: {raw:?}"
    );
    let screen = text_of(&raw);
    assert!(
        screen.contains("labctl board · Egress, three ways to see it · 4 users"),
        "{screen}"
    );
    assert!(
        screen.contains("no environment: namespace user4 does not exist"),
        "{screen}"
    );
    // The detail of user2's apply-egress after Enter: done, so it lists the check in
    // user2's words (not the first user's).
    assert!(screen.contains("user2 · apply-egress: done"), "{screen}");
    let detail = screen
        .lines()
        .skip_while(|l| !l.contains("user2 · apply-egress: done"))
        .nth(1)
        .unwrap_or_default();
    assert!(
        detail.contains("ServiceEntry context-scraper-egress in user2"),
        "{detail:?}"
    );
    assert!(!detail.contains("in user1"), "{detail:?}");
    assert!(
        screen.contains("snapshot saved to ./board-0001.json"),
        "{screen}"
    );
    assert!(room.home.path().join("board-0001.json").is_file());
    let frame_rows: Vec<&str> = screen.lines().filter(|l| l.starts_with("user2 ")).collect();
    assert!(frame_rows.iter().any(|l| l.contains('✓')), "{frame_rows:?}");
}

/// A tiny HTTP server on `listener` answering 200 until `stop` is set.
fn serve(
    listener: std::net::TcpListener,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    use std::io::{Read as _, Write as _};
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf);
                    let _ = s.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    );
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })
}

#[test]
fn a_service_that_stops_answering_goes_stale_and_recovers() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = Workshop::new().page(
        "lab.md",
        &format!("# Up\n\n```execute {{name=up}}\ntrue\n```\n\n```verify\n- http: http://127.0.0.1:{port}/\n  status: 200\n```\n"),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let server = serve(listener, stop.clone());
    let snaps = dir.path().join("snaps");
    let mut board = dir
        .labctl(&["board", "lab.md", "--users", "user1", "--interval", "300ms"])
        .arg("--snapshot-dir")
        .arg(&snaps)
        .unset("http_proxy")
        .unset("HTTP_PROXY")
        .spawn_stderr();
    let cell = |s: &Value| s["board"]["users"][0]["cells"][0].clone();
    wait_for(&snaps, "up done", |s| cell(s)["state"] == "done");
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
    wait_for(&snaps, "a stale cell", |s| !cell(s)["stale_ms"].is_null());
    let stale = cell(&snapshots(&snaps).pop().unwrap());
    assert_eq!(stale["state"], "done", "{stale}");
    assert!(
        stale["reason"].as_str().unwrap().contains("Connect"),
        "{stale}"
    );
    // The same port answers again: the cell is fresh by itself.
    let again = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let server = serve(again, stop.clone());
    wait_for(&snaps, "a fresh cell", |s| {
        cell(s)["stale_ms"].is_null() && cell(s)["state"] == "done"
    });
    term(&board);
    assert_eq!(board.wait().unwrap().code(), Some(0));
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
}

/// A script returning the state of a cell of the web board, as the page shows it.
fn web_cell(user: &str, step: &str) -> String {
    format!(
        r#"const b = document.querySelector('tr[data-user="{user}"] button[data-step="{step}"]'); return b && b.dataset.state"#
    )
}

#[test]
fn the_web_board_in_chromium_turns_a_cell_done_then_broken_without_a_reload() {
    use fantoccini::Locator;
    use fantoccini::key::Key;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(b) = rt.block_on(crate::support::browser::start(false)) else {
        return;
    };
    let room = Classroom::open(3);
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("board.json");
    let board = room
        .board(&["--users", "user1..user4", "--interval", "1s", "--web"])
        .arg("--report")
        .arg(format!("json={}", report.display()));
    let mut served = Served::spawn(board, dir);
    let long = Duration::from_secs(30);
    rt.block_on(async {
        let c = &b.client;
        c.goto(&served.url).await.unwrap();
        for u in ["user1", "user2", "user3"] {
            let script = format!("{} === 'not_yet'", web_cell(u, "apply-egress"));
            b.wait_js(&format!("{u} not yet"), &script, long).await;
        }
        b.wait_js(
            "user4 without environment",
            r#"const r = document.querySelector('tr[data-user="user4"]'); return r && r.innerText.includes('no environment: namespace user4 does not exist')"#,
            long,
        )
        .await;
        // A mark the page keeps until it is loaded again.
        c.execute("window.sameLoad = true; return true", Vec::new())
            .await
            .unwrap();

        room.kubectl(&["apply", "-n", "user2", "-f", SE]);
        b.wait_js(
            "user2's cell done",
            &format!("{} === 'done'", web_cell("user2", "apply-egress")),
            long,
        )
        .await;
        room.kubectl(&["delete", "-n", "user2", "serviceentry", "context-scraper-egress"]);
        b.wait_js(
            "user2's cell broken",
            &format!("{} === 'broken'", web_cell("user2", "apply-egress")),
            long,
        )
        .await;
        let same = c.execute("return window.sameLoad === true", Vec::new()).await.unwrap();
        assert_eq!(same, serde_json::json!(true), "the page was loaded again");
        for u in ["user1", "user3"] {
            let st = c.execute(&web_cell(u, "apply-egress"), Vec::new()).await.unwrap();
            assert_eq!(st, "not_yet", "{u}");
        }
        // user1 gets there too (and stays there): the picture has every kind of cell.
        room.kubectl(&["apply", "-n", "user1", "-f", SE]);
        b.wait_js(
            "user1's cell done",
            &format!("{} === 'done'", web_cell("user1", "apply-egress")),
            long,
        )
        .await;
        b.wait_js(
            "the change in the log",
            r#"return document.getElementById('changes').innerText.includes('user2 apply-egress ✗ broken')"#,
            long,
        )
        .await;

        // A click opens the reason.
        c.find(Locator::Css(r#"tr[data-user="user2"] button[data-step="apply-egress"]"#))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let reason = b
            .wait_js(
                "the reason of user2's cell",
                r#"const d = document.getElementById('detail'); return !d.hidden && d.innerText"#,
                long,
            )
            .await;
        let reason = reason.as_str().unwrap().to_string();
        assert!(reason.contains("user2 · apply-egress: broken"), "{reason}");
        assert!(reason.contains("actual not found"), "{reason}");
        // The list of the step's checks is in user2's words, not the first user's.
        let bullets = c
            .execute(
                "return document.getElementById('detail-checks').innerText",
                Vec::new(),
            )
            .await
            .unwrap();
        let bullets = bullets.as_str().unwrap();
        assert!(bullets.contains("ServiceEntry context-scraper-egress in user2"), "{bullets}");
        assert!(!bullets.contains("in user1"), "{bullets}");
        screenshot(&b, "board.png").await;

        // Keyboard only: down to user3, Enter opens theirs, Escape closes it.
        let focused = c.active_element().await.unwrap();
        focused
            .send_keys(&format!("{}{}", char::from(Key::Down), char::from(Key::Enter)))
            .await
            .unwrap();
        b.wait_js(
            "user3's cell opened from the keyboard",
            r#"return document.getElementById('detail-title').innerText.startsWith('user3 · apply-egress: not yet')"#,
            long,
        )
        .await;
        c.active_element()
            .await
            .unwrap()
            .send_keys(&char::from(Key::Escape).to_string())
            .await
            .unwrap();
        b.wait_js("the detail closed", "return document.getElementById('detail').hidden", long)
            .await;

        // The button saves what `s` saves, and says where.
        c.find(Locator::Id("snapshot")).await.unwrap().click().await.unwrap();
        let saved = b
            .wait_js(
                "the snapshot's path",
                "return document.getElementById('saved').dataset.path",
                long,
            )
            .await;
        let path = served.dir.path().join(saved.as_str().unwrap());
        let snap: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for u in ["user1", "user2", "user3"] {
            let page = c.execute(&web_cell(u, "apply-egress"), Vec::new()).await.unwrap();
            assert_eq!(state(&snap, u, "apply-egress"), page, "{u}");
        }
        assert_eq!(state(&snap, "user4", "apply-egress"), "no_environment");
        b.close().await;
    });
    // SIGTERM ends the server and the board, and the report is written.
    assert_eq!(served.stop(), Some(0));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["runs"].as_array().unwrap().len(), 4);
    assert_eq!(state(&report, "user2", "apply-egress"), "broken");
}

/// Saves a screenshot under target/screenshots/ (docs/board.png is copied from there).
async fn screenshot(b: &crate::support::browser::Browser, name: &str) {
    let png = b.client.screenshot().await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

#[test]
fn the_web_board_refuses_requests_without_the_token_or_from_another_site() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: the board has something to watch and needs no cluster.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.path().join("lab.md"),
        format!("# Up\n\n```execute {{name=up}}\ntrue\n```\n\n```verify\n- http: http://127.0.0.1:{port}/\n  status: 200\n```\n"),
    )
    .unwrap();
    let board = Labctl::new(&["board", "lab.md", "--users", "user1", "--web"])
        .unset("http_proxy")
        .unset("HTTP_PROXY");
    let mut served = Served::spawn(board, dir);
    let get = |path: &str, cookie: &str| {
        served.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{cookie}Connection: close\r\n\r\n",
            served.addr
        ))
    };
    for path in ["/", "/api/board", "/api/events", "/assets/board.js"] {
        let (status, body) = get(path, "");
        assert_eq!(status, 401, "{path}: {body}");
    }
    let cookie = format!("Cookie: {}\r\n", served.cookie());
    let (status, body) = get("/api/board", &cookie);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""user":"user1""#), "{body}");
    let post = |origin: &str| {
        served.request(&format!(
            "POST /api/snapshot HTTP/1.1\r\nHost: {}\r\n{cookie}Origin: {origin}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            served.addr
        ))
    };
    let (status, body) = post("http://evil.example");
    assert_eq!(status, 403, "{body}");
    assert!(!served.dir.path().join("board-0001.json").exists());
    let (status, body) = post(&served.base.clone());
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("board-0001.json"), "{body}");
    let snap: Value = serde_json::from_str(
        &std::fs::read_to_string(served.dir.path().join("board-0001.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(snap["board"]["users"][0]["user"], "user1");
    assert_eq!(served.stop(), Some(0));
}
