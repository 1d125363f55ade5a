//! `labctl serve` in a real headless Chromium: Run to the command's first output
//! in the page, keystroke echo round trip over 1,000 keys (p50/p99), and the
//! memory of `serve` with one student and two terminals. Figures in BENCHMARKS.md.
//!
//! cargo bench --bench serve

#[path = "../tests/it/support/browser.rs"]
mod browser;
#[path = "../tests/it/support/labctl.rs"]
mod labctl;
#[path = "../tests/it/support/served.rs"]
mod served;
#[path = "../tests/it/support/workshop.rs"]
mod workshop;

use std::time::Duration;

use served::Served;

const LAB: &str = "# Bench\n\n```execute {name=first-byte}\necho first-byte-$((1+1))\n```\n\n```execute-2 {name=second}\necho second-$((1+1))\n```\n";

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Clicks Run on `step` N times; each time the time from the click to the
/// frame that first shows the command's output line in the page.
const RUN_TO_OUTPUT: &str = r#"
const [step, marker, rounds, done] = arguments;
const term = labctl.terms[1];
const screen = () => term.screen.innerText.split('\n').filter(l => l.trim() === marker).length;
const times = [];
const clear = () => new Promise(res => {
  term.input('clear\r');
  const f = () => { if (screen() === 0 && !term.mode.busy) { term.listeners = term.listeners.filter(x => x !== f); res(); } };
  term.listeners.push(f);
});
(async () => {
  for (let i = 0; i < rounds; i++) {
    await clear();
    await new Promise(r => setTimeout(r, 30));
    const before = screen();
    await new Promise(res => {
      let t0;
      const f = () => { if (screen() > before) { times.push(performance.now() - t0); term.listeners = term.listeners.filter(x => x !== f); res(); } };
      term.listeners.push(f);
      t0 = performance.now();
      document.querySelector('[data-step="' + step + '"] [data-action="run"]').click();
    });
    await new Promise(r => setTimeout(r, 100));
  }
  done(times);
})();
"#;

/// Sends N keys one at a time; each round trip ends at the frame that echoes it.
const ECHO: &str = r#"
const [keys, done] = arguments;
const term = labctl.terms[1];
const times = [];
(async () => {
  for (let i = 0; i < keys; i++) {
    if (i % 60 === 0) { term.input('\x15'); await new Promise(r => setTimeout(r, 20)); }
    const before = term.mode.cursor[1];
    await new Promise(res => {
      const t0 = performance.now();
      const f = (m) => { if (m.cursor[1] !== before) { times.push(performance.now() - t0); term.listeners = term.listeners.filter(x => x !== f); res(); } };
      term.listeners.push(f);
      term.input('x');
    });
  }
  term.input('\x15');
  done(times);
})();
"#;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("labctl-serve-bench-")
        .tempdir()
        .unwrap();
    std::fs::create_dir(dir.path().join("labs")).unwrap();
    std::fs::write(dir.path().join("labs/bench.md"), LAB).unwrap();
    let s = Served::start_in(dir, &[]);
    let b = browser::start(false)
        .await
        .expect("chromium for the benchmark");
    let c = &b.client;
    c.goto(&s.url).await.unwrap();
    b.wait_js(
        "the page",
        "return document.body.dataset.ready",
        Duration::from_secs(30),
    )
    .await;
    b.wait_js(
        "a prompt",
        "return labctl.terms[1].mode.cursor && labctl.terms[1].mode.lastExit === null || true",
        Duration::from_secs(10),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let v = c
        .execute_async(
            RUN_TO_OUTPUT,
            vec!["first-byte".into(), "first-byte-2".into(), 50.into()],
        )
        .await
        .unwrap();
    let mut run: Vec<f64> = serde_json::from_value(v).unwrap();
    run.sort_by(f64::total_cmp);
    println!(
        "Run -> first output line in the page (50 runs): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&run, 0.5),
        percentile(&run, 0.99),
        run.last().unwrap()
    );

    c.update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
        Some(Duration::from_secs(120)),
        Some(Duration::from_secs(120)),
        Some(Duration::from_secs(0)),
    ))
    .await
    .unwrap();
    let v = c.execute_async(ECHO, vec![1000.into()]).await.unwrap();
    let mut echo: Vec<f64> = serde_json::from_value(v).unwrap();
    echo.sort_by(f64::total_cmp);
    println!(
        "keystroke echo round trip (1,000 keys): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&echo, 0.5),
        percentile(&echo, 0.99),
        echo.last().unwrap()
    );

    // Both terminals open (their tabs connect on load); run a step in terminal 2 too.
    c.execute(
        r#"document.querySelector('[data-step="second"] [data-action="run"]').click()"#,
        Vec::new(),
    )
    .await
    .unwrap();
    b.wait_js(
        "second passed",
        r#"return document.querySelector('[data-step="second"]').dataset.outcome === "passed""#,
        Duration::from_secs(30),
    )
    .await;
    let pid = s.child.as_ref().unwrap().id();
    println!(
        "memory of serve, one student, two terminals: VmRSS {:.1} MB (labctl alone, no sandbox)",
        rss_kib(pid) as f64 / 1024.0
    );
    b.close().await;
    drop(s);

    // The same with the embedded sandbox (it runs inside labctl's process).
    let mut s = Served::start(&["--sandbox"]);
    let b = browser::start(false).await.unwrap();
    b.client.goto(&s.url).await.unwrap();
    b.wait_js(
        "the page",
        "return document.body.dataset.ready",
        Duration::from_secs(30),
    )
    .await;
    b.client
        .execute(
            r#"document.querySelector('[data-step="scrape-blocked"] [data-action="run"]').click()"#,
            Vec::new(),
        )
        .await
        .unwrap();
    b.wait_js(
        "scrape-blocked passed",
        r#"return document.querySelector('[data-step="scrape-blocked"]').dataset.outcome === "passed""#,
        Duration::from_secs(30),
    )
    .await;
    let pid = s.child.as_ref().unwrap().id();
    println!(
        "memory of serve labs/ --sandbox after Run on scrape-blocked: VmRSS {:.1} MB (labctl with the embedded cluster and mesh)",
        rss_kib(pid) as f64 / 1024.0
    );
    b.close().await;
    s.stop();
}
