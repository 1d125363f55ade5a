//! How soon a `kube:` check with `within` passes after the API server stores the object it
//! waits for: through a watch, and polling every 1 s (the sandbox refusing `watch`).
//! Median of 20 runs each. Run with `cargo bench --bench kube_watch`.

use std::time::Duration;

use kube::api::{Api, DynamicObject, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::{Client, Config};
use labctl::cancel::Cancel;
use labctl::check::kube::KubeOptions;
use labctl::check::{CheckContext, for_spec};
use labctl::lab::check_spec::parse_check;
use labctl::sandbox::{Sandbox, SandboxConfig};
use serde_json::json;
use tokio::time::Instant;

#[path = "../tests/it/support/no_scripts.rs"]
mod no_scripts;
use no_scripts::NoScripts;

const RUNS: usize = 20;

/// Lags to the check passing from each create being sent (an upper bound on
/// store-to-pass, as it includes the create's own round trip) and from its response.
async fn measure(refuse: &[&str]) -> (Vec<Duration>, Vec<Duration>) {
    let sandbox = Sandbox::start(SandboxConfig {
        users: 1,
        mesh_delay: Duration::ZERO,
        refuse: refuse.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
    .await
    .expect("sandbox starts");
    let kc = Kubeconfig::read_from(sandbox.kubeconfig_path()).unwrap();
    let cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    let client = Client::try_from(cfg).unwrap();
    let (ar, _) =
        kube::discovery::pinned_kind(&client, &GroupVersionKind::gvk("", "v1", "ConfigMap"))
            .await
            .unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(client, "user1", &ar);
    let env = sandbox.env();
    let opts = KubeOptions::default();
    let cancel = Cancel::never();
    let dir = std::env::temp_dir();
    let (mut from_sent, mut from_reply) = (Vec::new(), Vec::new());
    for i in 0..RUNS {
        let name = format!("bench-{i}");
        let (kind, timing) = parse_check(
            &json!({"kube": "v1/ConfigMap", "name": name, "within": "30s", "interval": "1s"}),
        )
        .unwrap();
        let ctx = CheckContext {
            output: None,
            env: &env,
            workdir: &dir,
            runner: &NoScripts,
            cancel: &cancel,
            kube: Some(&opts),
        };
        // Spread the create over the polling phase, as a student's command would land.
        let delay = Duration::from_millis(300 + (i as u64 * 397) % 1000);
        let check = for_spec(&kind);
        let started = Instant::now();
        let (ev, (sent, replied)) = tokio::join!(check.evaluate_within(&ctx, &timing), async {
            tokio::time::sleep(delay).await;
            let mut o = DynamicObject::new(&name, &ar);
            o.data = json!({"data": {"k": "v"}});
            let sent = Instant::now();
            api.create(&PostParams::default(), &o).await.unwrap();
            (sent, Instant::now())
        });
        assert!(ev.passed(), "{ev:?}");
        let passed_at = started + ev.elapsed;
        from_sent.push(passed_at.saturating_duration_since(sent));
        from_reply.push(passed_at.saturating_duration_since(replied));
    }
    sandbox.shutdown().await;
    (from_sent, from_reply)
}

fn report(what: &str, mut lags: Vec<Duration>) {
    lags.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<24} median {:>8.1} ms   min {:>8.1} ms   max {:>8.1} ms   (n={})",
        ms(lags[lags.len() / 2]),
        ms(lags[0]),
        ms(lags[lags.len() - 1]),
        lags.len()
    );
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        println!("time from the create to the check passing, {RUNS} runs each");
        let (sent, reply) = measure(&[]).await;
        report("watch, from request", sent);
        report("watch, from response", reply);
        let (sent, reply) = measure(&["watch"]).await;
        report("poll 1s, from request", sent);
        report("poll 1s, from response", reply);
    });
}
