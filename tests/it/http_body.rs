//! `http:` checks read a bounded body: an endless one keeps labctl small.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::support::workshop::Workshop;

/// A loopback server whose every response body never ends.
fn endless_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut req = [0u8; 4096];
                let _ = conn.read(&mut req);
                let _ =
                    conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n[");
                let chunk = "\"flood\",".repeat(8192);
                while conn.write_all(chunk.as_bytes()).is_ok() {}
            });
        }
    });
    port
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn an_endless_http_body_keeps_rss_under_100_mb_and_the_check_says_it_was_cut() {
    let port = endless_server();
    let w = Workshop::new().pages(&[(
        "lab.md",
        &format!(
            "# L\n\n```execute {{name=ask}}\ntrue\n```\n\n```verify\n- http: http://127.0.0.1:{port}/\n  body: {{ contains: never-there }}\n  within: 2s\n  interval: 200ms\n- http: http://127.0.0.1:{port}/\n  json: $[0]\n  equals: flood\n```\n"
        ),
    )]);
    let report = w.join("r.json");
    let mut child = w
        .labctl(&[
            "run",
            "--report",
            &format!("json={}", report.display()),
            &w.arg(),
        ])
        .spawn_quiet();
    let started = Instant::now();
    let mut peak = 0;
    let status = loop {
        if let Some(kb) = vm_hwm_kb(child.id()) {
            peak = peak.max(kb);
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("labctl did not end; peak {peak} kB");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!("labctl VmHWM with an endless body: {peak} kB");
    assert!(peak > 0, "never read /proc/PID/status");
    assert!(peak < 100 * 1024, "VmHWM {peak} kB");
    assert_eq!(status.code(), Some(1));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let checks = &v["runs"][0]["labs"][0]["steps"][0]["checks"];
    let body = checks[1]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{v:#}"));
    assert!(body.contains("was not read further"), "{body}");
    let json = checks[2]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{checks:#}"));
    assert!(json.contains("larger than labctl keeps"), "{json}");
}
