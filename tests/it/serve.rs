//! `labctl serve`: the real binary on a copy of labs/ with the sandbox, over raw
//! HTTP on loopback and in a real headless Chromium (WebDriver).

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::key::Key;

use crate::support::browser::{self, Browser};
use crate::support::processes::processes_with;
use crate::support::served::Served;
use crate::support::workshop::Workshop;

#[test]
fn without_the_token_a_request_gets_401_saying_to_use_the_printed_url() {
    let s = Served::start(&[]);
    for path in ["/", "/api/workshop", "/api/progress", "/assets/serve.js"] {
        let (status, body) = s.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            s.addr
        ));
        assert_eq!(status, 401, "{path}: {body}");
        assert!(body.contains("address"), "{body}");
    }
    let (status, _) = s.request(&format!(
        "GET /?token=wrong HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        s.addr
    ));
    assert_eq!(status, 401);
    let (status, resp) = s.request(&format!(
        "GET /?token={} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        s.token, s.addr
    ));
    assert_eq!(status, 303, "{resp}");
    let lower = resp.to_ascii_lowercase();
    assert!(lower.contains("set-cookie: labctl_"), "{resp}");
    assert!(
        lower.contains("httponly") && lower.contains("samesite=strict"),
        "{resp}"
    );
    let (status, _) = s.request(&format!(
        "GET /api/workshop HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nConnection: close\r\n\r\n",
        s.addr,
        s.cookie()
    ));
    assert_eq!(status, 200);
}

#[test]
fn a_websocket_from_a_foreign_origin_is_refused() {
    let s = Served::start(&[]);
    let cookie = s.cookie();
    let upgrade = |origin: &str| {
        s.request(&format!(
            "GET /api/terminals/1/ws HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nOrigin: {origin}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            s.addr
        ))
    };
    let (status, resp) = upgrade("http://evil.example");
    assert_eq!(status, 403, "{resp}");
    let (status, resp) = upgrade(&s.base);
    assert_eq!(status, 101, "{resp}");
}

#[test]
fn an_unknown_step_is_a_404_naming_it() {
    let s = Served::start(&[]);
    let (status, resp) = s.request(&format!(
        "POST /api/steps/no-such-step/run HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        s.addr,
        s.cookie()
    ));
    assert_eq!(status, 404, "{resp}");
    assert!(resp.contains(r#""step":"no-such-step""#), "{resp}");
}

#[test]
fn a_lab_with_lint_errors_is_not_served() {
    let dir = Workshop::new().page("labs/bad.md", "# Bad\n\n```execute {timout=3s}\nls\n```\n");
    let out = dir.labctl(&["serve", "labs/"]).run();
    out.code(2);
    let stderr = &out.stderr;
    assert!(stderr.contains("unknown attribute `timout`"), "{stderr}");
    assert!(stderr.contains("labs/bad.md:3:"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing served");
}

#[test]
fn sigterm_stops_the_terminals_and_the_sandbox() {
    let mut s = Served::start(&["--sandbox"]);
    let (status, _) = s.request(&format!(
        "POST /api/steps/check-policy/run HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        s.addr,
        s.cookie()
    ));
    assert_eq!(status, 200);
    let marker = "labctl-serve-";
    assert!(!processes_with(marker).is_empty(), "a terminal runs");
    let code = s.stop();
    assert_eq!(code, Some(0));
    // No grace after the exit: labctl waits until its terminals' processes are gone.
    assert_eq!(processes_with(marker), Vec::new(), "nothing left running");
}

const TERMINAL_1: &str =
    r#"return document.querySelector('.terminal[data-terminal="1"] .screen').innerText"#;

fn outcome_is(step: &str, outcome: &str) -> String {
    format!(
        r#"return document.querySelector('[data-step="{step}"]').dataset.outcome === "{outcome}""#
    )
}

/// Presses a step's button (`action`: run, check) as a student would.
async fn press(b: &Browser, step: &str, action: &str) {
    let button = format!(r#"[data-step="{step}"] [data-action="{action}"]"#);
    b.client
        .find(Locator::Css(&button))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits until the page shows `step` with `outcome`.
async fn wait_outcome(b: &Browser, step: &str, outcome: &str, limit: Duration) {
    b.wait_js(
        &format!("{step} {outcome}"),
        &outcome_is(step, outcome),
        limit,
    )
    .await;
}

// Long: one student session in one browser, start to reload; splitting it would start Chromium once per part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_browser_run_check_type_vi_and_reload() {
    let Some(b) = browser::start(false).await else {
        return;
    };
    let s = Served::start(&["--sandbox"]);
    let c = &b.client;
    let long = Duration::from_secs(30);
    c.goto(&s.url).await.unwrap();
    b.wait_js("the page", "return document.body.dataset.ready", long)
        .await;

    // Run on scrape-blocked: the reply appears in terminal 1, the step passes.
    press(&b, "scrape-blocked", "run").await;
    wait_outcome(&b, "scrape-blocked", "passed", long).await;
    let screen = c.execute(TERMINAL_1, Vec::new()).await.unwrap();
    assert!(screen.as_str().unwrap().contains("ECONNRESET"), "{screen}");

    // Check on apply-egress before applying: ✗ with the reason.
    press(&b, "apply-egress", "check").await;
    wait_outcome(&b, "apply-egress", "failed", long).await;
    let result = c
        .find(Locator::Css(r#"[data-step="apply-egress"] .step-result"#))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(result.contains('✗'), "{result}");
    assert!(result.contains("not found"), "{result}");
    // The check's hint from the page says what to do.
    assert!(result.contains("Hint: apply the ServiceEntry"), "{result}");
    // Run applies it; Check then holds.
    press(&b, "apply-egress", "run").await;
    wait_outcome(&b, "apply-egress", "passed", Duration::from_secs(90)).await;
    press(&b, "apply-egress", "check").await;
    b.wait_js(
        "apply-egress check ✓",
        r#"const r = document.querySelector('[data-step="apply-egress"]');
           return r.dataset.outcome === "passed" && r.querySelector('.step-result').innerText.includes('✓') && !r.querySelector('.step-result').innerText.includes('✗')"#,
        Duration::from_secs(90),
    )
    .await;

    // Typing into the terminal.
    let term = c
        .find(Locator::Css(r#".terminal[data-terminal="1"]"#))
        .await
        .unwrap();
    term.click().await.unwrap();
    term.send_keys(&format!("echo typed-$((6*7)){}", char::from(Key::Enter)))
        .await
        .unwrap();
    b.wait_js(
        "typed-42",
        &format!("{TERMINAL_1}.split('\\n').some(l => l.trim() === 'typed-42')"),
        long,
    )
    .await;

    // vi full-screen, then :q back to the prompt.
    term.send_keys(&format!("vi{}", char::from(Key::Enter)))
        .await
        .unwrap();
    b.wait_js(
        "vi on the alternate screen",
        r#"const t = document.querySelector('.terminal[data-terminal="1"]');
           return t.classList.contains('alternate') && t.innerText.split('\n').filter(l => l.startsWith('~')).length > 5"#,
        long,
    )
    .await;
    term.send_keys(&format!(
        "{}:q{}",
        char::from(Key::Escape),
        char::from(Key::Enter)
    ))
    .await
    .unwrap();
    b.wait_js(
        "the prompt after :q",
        &format!(
            "return !document.querySelector('.terminal[data-terminal=\"1\"]').classList.contains('alternate') && {}.includes('typed-42')",
            TERMINAL_1.trim_start_matches("return ")
        ),
        long,
    )
    .await;

    // A reload keeps the outcomes (and the terminal's screen).
    c.refresh().await.unwrap();
    b.wait_js("the page again", "return document.body.dataset.ready", long)
        .await;
    b.wait_js(
        "outcomes kept",
        r#"return document.querySelector('[data-step="scrape-blocked"]').dataset.outcome === 'passed'
               && document.querySelector('[data-step="apply-egress"]').dataset.outcome === 'passed'"#,
        long,
    )
    .await;
    b.wait_js(
        "screen kept",
        &format!("{TERMINAL_1}.includes('typed-42')"),
        long,
    )
    .await;
    c.execute(
        r#"document.querySelector('[data-step="scrape-blocked"]').scrollIntoView({block: "start"})"#,
        Vec::new(),
    )
    .await
    .unwrap();
    screenshot(&b, "serve-light.png").await;
    b.close().await;

    let Some(dark) = browser::start(true).await else {
        return;
    };
    dark.client.goto(&s.url).await.unwrap();
    dark.wait_js(
        "the page (dark)",
        "return document.body.dataset.ready",
        long,
    )
    .await;
    wait_outcome(&dark, "scrape-blocked", "passed", long).await;
    dark.client
        .execute(
            r#"document.querySelector('[data-step="scrape-blocked"]').scrollIntoView({block: "start"})"#,
            Vec::new(),
        )
        .await
        .unwrap();
    screenshot(&dark, "serve-dark.png").await;

    dark.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_browser_an_exited_shell_offers_a_new_one() {
    let Some(b) = browser::start(false).await else {
        return;
    };
    let s = Served::start(&[]);
    let long = Duration::from_secs(30);
    b.client.goto(&s.url).await.unwrap();
    b.wait_js("the page", "return document.body.dataset.ready", long)
        .await;
    b.wait_js(
        "a prompt",
        r#"return document.querySelector('.terminal[data-terminal="1"] .screen').innerText.includes('labs ')"#,
        long,
    )
    .await;
    // A shell that exits: the tab says so and offers a new shell.
    let term = b
        .client
        .find(Locator::Css(r#".terminal[data-terminal="1"]"#))
        .await
        .unwrap();
    term.click().await.unwrap();
    term.send_keys(&format!("exit{}", char::from(Key::Enter)))
        .await
        .unwrap();
    b.wait_js(
        "the exited notice",
        r#"const t = document.querySelector('.terminal[data-terminal="1"]');
           return !t.querySelector('.exited').hidden && t.innerText.includes('exited')
               && document.querySelector('.tab[data-tab="1"]').dataset.state === 'exited'"#,
        long,
    )
    .await;
    b.client
        .find(Locator::Css(r#"[data-action="new-shell"]"#))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_js(
        "a new prompt",
        r#"const t = document.querySelector('.terminal[data-terminal="1"]');
           return t.querySelector('.exited').hidden && t.querySelector('.screen').innerText.includes('labs ')"#,
        long,
    )
    .await;
    b.close().await;
}

/// Saves a screenshot under target/screenshots/ (README's picture comes from there).
async fn screenshot(b: &browser::Browser, name: &str) {
    let png = b.client.screenshot().await.unwrap();
    let dir = crate::support::labctl::repo().join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}
