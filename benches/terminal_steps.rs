//! Runs 500 trivial steps through one terminal and prints the time per step.
//! `cargo bench --bench terminal_steps`

use std::time::{Duration, Instant};

use labctl::cancel::Cancel;
use labctl::shell::{ShellConfig, Terminals};

const STEPS: u32 = 500;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut terms = Terminals::new(ShellConfig {
            workdir: dir.path().to_path_buf(),
            ..ShellConfig::default()
        });
        let cancel = Cancel::never();
        let timeout = Duration::from_secs(10);
        // Warm up: the first step starts the shell.
        terms
            .run(1, "true", timeout, &cancel)
            .await
            .expect("first step");
        let started = Instant::now();
        for _ in 0..STEPS {
            let out = terms.run(1, "true", timeout, &cancel).await.expect("step");
            assert_eq!(out.exit_code, Some(0));
        }
        let total = started.elapsed();
        println!(
            "{STEPS} `true` steps: {total:.1?} total, {:.1?} per step",
            total / STEPS
        );
        let started = Instant::now();
        for _ in 0..STEPS {
            terms
                .run(1, "echo hi", timeout, &cancel)
                .await
                .expect("step");
        }
        let total = started.elapsed();
        println!(
            "{STEPS} `echo hi` steps: {total:.1?} total, {:.1?} per step",
            total / STEPS
        );
        terms.shutdown().await;
    });
}
