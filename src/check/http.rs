//! `http:` — a request made by labctl itself, through the proxies of the step
//! environment (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY` from `CheckContext::env`, never
//! from labctl's own environment, so a check sees the network the student's shell sees).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::json::{assert_json, parse_json_text};
use super::predicate::{Verdict, eval_text_all};
use super::{Check, CheckContext, CheckError, Evaluation, error_chain, outcome};
use crate::lab::check_spec::{CheckKind, HttpCheck, HttpTls};

/// Longest one request may take, connect to last body byte.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs an `http:` check.
pub struct HttpChecker<'s>(pub &'s HttpCheck);

/// The first non-empty value among `names` in the step environment.
fn env_first<'c>(ctx: &'c CheckContext<'_>, names: &[&str]) -> Option<&'c str> {
    names
        .iter()
        .filter_map(|n| ctx.env_var(n))
        .find(|v| !v.trim().is_empty())
}

/// The TLS configuration reqwest builds by default (ring, the platform's verifier, h2
/// and http/1.1), made once per process: building it reads and parses the system's
/// root certificates, which cost more than the request itself when `labctl board`
/// polls sixty users' http checks (and `within` retries one every second).
fn tls_config() -> Result<rustls::ClientConfig, String> {
    static TLS: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    TLS.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
            .map_err(|e| format!("cannot set up TLS certificate verification: {e}"))?;
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(cfg)
    })
    .clone()
}

/// A client whose proxies come from the step environment only.
pub fn client_for(env_ctx: &CheckContext<'_>) -> Result<reqwest::Client, String> {
    client_builder_for(env_ctx)?
        .use_preconfigured_tls(tls_config()?)
        .build()
        .map_err(|e| error_chain(&e))
}

/// Trusts only `ca` and presents `cert`/`key`, as `curl --cacert --cert --key` does; files are
/// read relative to the working directory, when the check runs (a step may have just made them).
fn with_tls(
    mut b: reqwest::ClientBuilder,
    tls: &HttpTls,
    workdir: &std::path::Path,
) -> Result<reqwest::ClientBuilder, String> {
    let read =
        |p: &str| std::fs::read(workdir.join(p)).map_err(|e| format!("cannot read {p}: {e}"));
    if let Some(ca) = &tls.ca {
        let pem = read(ca)?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{ca}: {}", error_chain(&e)))?;
        b = b.tls_certs_only(certs);
    }
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        let mut pem = read(cert)?;
        pem.push(b'\n');
        pem.extend(read(key)?);
        let id = reqwest::Identity::from_pem(&pem)
            .map_err(|e| format!("{cert} and {key}: {}", error_chain(&e)))?;
        b = b.identity(id);
    }
    Ok(b)
}

/// The builder behind [`client_for`], for checks that add TLS files.
fn client_builder_for(env_ctx: &CheckContext<'_>) -> Result<reqwest::ClientBuilder, String> {
    // The binary installs it too; a library user (tests, `labctl check`) may not have.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Lower case first, as curl does; `no_proxy()` drops the process environment's proxies.
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT);
    let no_proxy = env_first(env_ctx, &["no_proxy", "NO_PROXY"]).unwrap_or("");
    let all = env_first(env_ctx, &["all_proxy", "ALL_PROXY"]);
    let http = env_first(env_ctx, &["http_proxy", "HTTP_PROXY"]).or(all);
    let https = env_first(env_ctx, &["https_proxy", "HTTPS_PROXY"]).or(all);
    if let Some(p) = http {
        let proxy = reqwest::Proxy::http(p)
            .map_err(|e| format!("bad HTTP_PROXY `{p}`: {}", error_chain(&e)))?
            .no_proxy(reqwest::NoProxy::from_string(no_proxy));
        b = b.proxy(proxy);
    }
    if let Some(p) = https {
        let proxy = reqwest::Proxy::https(p)
            .map_err(|e| format!("bad HTTPS_PROXY `{p}`: {}", error_chain(&e)))?
            .no_proxy(reqwest::NoProxy::from_string(no_proxy));
        b = b.proxy(proxy);
    }
    Ok(b)
}

impl Check for HttpChecker<'_> {
    fn evaluate<'a>(&'a self, ctx: &'a CheckContext<'a>) -> Evaluation<'a> {
        Box::pin(async move {
            let h = self.0;
            let fail = |error: String| CheckError::Http {
                method: h.method.clone(),
                url: h.url.clone(),
                error,
            };
            let client = client_builder_for(ctx)
                .and_then(|b| {
                    // The shared configuration knows no check's own CA or client certificate.
                    if h.tls.ca.is_none() && h.tls.cert.is_none() && h.tls.key.is_none() {
                        Ok(b.use_preconfigured_tls(tls_config()?))
                    } else {
                        with_tls(b, &h.tls, ctx.workdir)
                    }
                })
                .and_then(|b| b.build().map_err(|e| error_chain(&e)))
                .map_err(fail)?;
            let method = reqwest::Method::from_bytes(h.method.as_bytes())
                .map_err(|e| fail(e.to_string()))?;
            let fetch = async {
                let resp = client
                    .request(method, &h.url)
                    .send()
                    .await
                    .map_err(|e| fail(error_chain(&e)))?;
                let status = resp.status();
                let headers = resp.headers().clone();
                let body = resp.text().await.map_err(|e| fail(error_chain(&e)))?;
                Ok::<_, CheckError>((status, headers, body))
            };
            let (status, headers, body) = tokio::select! {
                r = fetch => r?,
                _ = ctx.cancel.cancelled() => return Err(CheckError::Cancelled),
            };
            let mut verdicts = Vec::new();
            if let Some(want) = h.status {
                verdicts.push(Verdict {
                    ok: status.as_u16() == want,
                    expected: format!("status {want}"),
                    actual: format!("status {status}"),
                    note: (status.as_u16() != want && !body.trim().is_empty())
                        .then(|| format!("body: {}", super::predicate::cut(body.trim()))),
                });
            }
            for (name, preds) in &h.headers {
                let values: Vec<&str> = headers
                    .get_all(name.as_str())
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                // A missing header is judged as empty text, so `not-contains` holds.
                let value = values.join(", ");
                verdicts.extend(eval_text_all(preds, &value).into_iter().map(|mut v| {
                    v.expected = format!("header {name} {}", v.expected);
                    if values.is_empty() {
                        v.actual = format!("no {name} header");
                    }
                    v
                }));
            }
            verdicts.extend(eval_text_all(&h.body, &body).into_iter().map(|mut v| {
                v.expected = format!("body {}", v.expected);
                v
            }));
            if let Some(j) = &h.json {
                let doc = parse_json_text(&body, "the response body")?;
                verdicts.extend(assert_json(j, &doc)?);
            }
            Ok(outcome(CheckKind::Http(h.clone()).describe(), verdicts))
        })
    }
}
