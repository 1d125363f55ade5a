//! Runs 500 trivial steps through one terminal and prints the time per step,
//! with the shell free to run on any CPU, then kept on labctl's CPU between
//! steps as `labctl run` does for one user (`shell::affinity`).
//! `cargo bench --bench terminal_steps`

use std::time::{Duration, Instant};

use labctl::cancel::Cancel;
use labctl::shell::affinity::Colocation;
use labctl::shell::{ShellConfig, Terminals};

const STEPS: u32 = 500;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(steps(None));
    let colocation = Colocation::pin_process();
    if colocation.is_none() {
        println!("(could not pin to one CPU here)");
    }
    runtime.block_on(steps(colocation));
}

async fn steps(colocation: Option<Colocation>) {
    let label = match colocation {
        Some(_) => "pinned between steps",
        None => "unpinned",
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut terms = Terminals::new(ShellConfig {
        workdir: dir.path().to_path_buf(),
        colocation,
        ..ShellConfig::default()
    });
    let cancel = Cancel::never();
    let timeout = Duration::from_secs(10);
    // Warm up: the first step starts the shell.
    terms
        .run(1, "true", timeout, &cancel)
        .await
        .expect("first step");
    for body in ["true", "echo hi"] {
        let started = Instant::now();
        for _ in 0..STEPS {
            let out = terms.run(1, body, timeout, &cancel).await.expect("step");
            assert_eq!(out.exit_code, Some(0));
        }
        let total = started.elapsed();
        println!(
            "{label}: {STEPS} `{body}` steps: {total:.1?} total, {:.1?} per step",
            total / STEPS
        );
    }
    terms.shutdown().await;
}
