//! Headless Chromium over WebDriver (/usr/bin/chromedriver), loopback only.
//! Missing Chromium skips a browser test on a laptop and fails it under CI=true.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver and one browser session, ended when dropped.
pub struct Browser {
    /// The session.
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// Starts Chromium, or says why not: None (skip) unless CI=true, where it panics.
pub async fn start(dark: bool) -> Option<Browser> {
    if !std::path::Path::new(CHROMEDRIVER).exists() || which("chromium").is_none() {
        let msg = "chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}; browser tests cannot be skipped under CI=true");
        }
        eprintln!("skipped: {msg}");
        return None;
    }
    let port = free_port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .env("SE_AVOID_STATS", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: Chromium is chromedriver's child, and a test
        // that panics must not leave the browser running (see `end`).
        .process_group(0)
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::Builder::new()
        .prefix("labctl-chromium-")
        .tempdir()
        .unwrap();
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        "--window-size=1400,900".into(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    if dark {
        args.push("--blink-settings=preferredColorScheme=0".into());
        args.push("--force-dark-mode".into());
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "args": args, "binary": which("chromium").unwrap() }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => break c,
            Err(e) if Instant::now() > deadline => panic!("no WebDriver session: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    Some(Browser {
        client,
        driver,
        _profile: profile,
    })
}

impl Browser {
    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        self.end();
    }

    /// Kills chromedriver and the browser it started (one process group).
    fn end(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.driver.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.driver.wait();
    }

    /// Evaluates `script` (a function body that returns a value) until it returns
    /// something truthy, or panics after `limit` naming `what`.
    pub async fn wait_js(&self, what: &str, script: &str, limit: Duration) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        loop {
            let v = self
                .client
                .execute(script, Vec::new())
                .await
                .unwrap_or(serde_json::Value::Null);
            let truthy = !matches!(&v, serde_json::Value::Null | serde_json::Value::Bool(false))
                && v != serde_json::json!("");
            if truthy {
                return v;
            }
            if Instant::now() > deadline {
                let page = self
                    .client
                    .execute("return document.body.innerText", Vec::new())
                    .await
                    .unwrap_or_default();
                panic!(
                    "timed out waiting for {what}; the page says:\n{}",
                    page.as_str().unwrap_or("")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.end();
    }
}

fn which(name: &str) -> Option<String> {
    std::env::var("PATH").ok()?.split(':').find_map(|d| {
        let p = std::path::Path::new(d).join(name);
        p.exists().then(|| p.display().to_string())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
