//! `http:` — a request made by labctl itself, through the proxies of the step
//! environment (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY` from `CheckContext::env`), so a
//! check sees the network the student's shell sees. When the step environment sets no
//! proxy variable at all, labctl's own environment decides: `labctl check` run inside
//! the sandbox shell, or behind a corporate proxy, sees what `curl` there sees.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::json::{assert_json, parse_json_text};
use super::predicate::{Verdict, eval_text_all};
use super::{Check, CheckContext, CheckError, Evaluation, Waiting, error_chain, outcome, retry};
use crate::lab::Timing;
use crate::lab::check_spec::{Assertion, HttpCheck, HttpTls};

/// Longest one request may take, connect to last body byte.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes kept at each end of a response body: the step-output capture's cap.
pub(crate) const BODY_CAP: usize = crate::shell::DEFAULT_CAPTURE_CAP;

/// Most bytes read from one body; past it the rest is not waited for (an
/// endless body ends here, in memory bounded by twice [`BODY_CAP`]).
const BODY_READ_LIMIT: u64 = 16 * BODY_CAP as u64;

/// A response body as kept: head and tail, like step output.
#[derive(Debug, Default)]
struct Body {
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    total: u64,
    /// The body went on past [`BODY_READ_LIMIT`] and was not read to its end.
    unfinished: bool,
}

impl Body {
    fn push(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        let room = BODY_CAP - self.head.len();
        let n = room.min(data.len());
        self.head.extend_from_slice(&data[..n]);
        data = &data[n..];
        if data.len() >= BODY_CAP {
            self.tail.clear();
            data = &data[data.len() - BODY_CAP..];
        }
        let overflow = (self.tail.len() + data.len()).saturating_sub(BODY_CAP);
        self.tail.drain(..overflow);
        self.tail.extend(data);
    }

    fn omitted(&self) -> u64 {
        self.total - (self.head.len() + self.tail.len()) as u64
    }

    /// The text checks judge, with the capture's marker line where bytes were dropped.
    fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if self.omitted() > 0 {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("[... {} bytes omitted ...]\n", self.omitted()));
        }
        let (a, b) = self.tail.as_slices();
        text.push_str(&String::from_utf8_lossy(&[a, b].concat()));
        text
    }

    /// Said beside a failed verdict over a cut body.
    fn cut_note(&self) -> Option<String> {
        (self.omitted() > 0).then(|| {
            let read = if self.unfinished {
                format!(
                    "the body went on past {} bytes and was not read further",
                    self.total
                )
            } else {
                format!("the body was {} bytes", self.total)
            };
            format!("{read}; checks saw its first and last {BODY_CAP} bytes")
        })
    }
}

/// Reads at most [`BODY_READ_LIMIT`] bytes, keeping head and tail.
async fn read_body(mut resp: reqwest::Response) -> Result<Body, reqwest::Error> {
    let mut body = Body::default();
    while let Some(chunk) = resp.chunk().await? {
        body.push(&chunk);
        if body.total >= BODY_READ_LIMIT {
            body.unfinished = true;
            break;
        }
    }
    Ok(body)
}

/// Runs an `http:` check.
pub(crate) struct HttpChecker<'s>(pub &'s HttpCheck);

/// The proxy variables curl reads, in both cases.
pub(crate) const PROXY_VARS: &[&str] = &[
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// The first non-empty value among `names`, from the step environment when it
/// sets any proxy variable, else from the process's.
fn env_first(ctx: &CheckContext<'_>, names: &[&str]) -> Option<String> {
    let step_sets_proxies = PROXY_VARS.iter().any(|n| ctx.env_var(n).is_some());
    names
        .iter()
        .filter_map(|n| match step_sets_proxies {
            true => ctx.env_var(n).map(str::to_string),
            false => std::env::var(n).ok(),
        })
        .find(|v| !v.trim().is_empty())
}

/// Why labctl could not set up the client for an `http:` check.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum ClientError {
    /// The platform's certificate verifier or the TLS protocol versions.
    #[error("{0}")]
    Tls(String),
    /// A `ca`, `cert` or `key` file could not be read.
    #[error("cannot read {path}: {why}")]
    Read {
        /// The file as the check names it.
        path: String,
        /// The system's reason.
        why: String,
    },
    /// A file was read but is not what it should be (PEM bundle, identity).
    #[error("{what}: {why}")]
    BadPem {
        /// The file(s) as the check names them.
        what: String,
        /// The TLS library's reason.
        why: String,
    },
    /// A proxy variable holds no usable URL.
    #[error("bad {var} `{url}`: {why}")]
    Proxy {
        /// `HTTP_PROXY` or `HTTPS_PROXY`.
        var: &'static str,
        /// Its value.
        url: String,
        /// Why, with its causes.
        why: String,
    },
    /// reqwest refused the configuration.
    #[error("{0}")]
    Build(String),
}

/// The TLS configuration reqwest builds by default (ring, the platform's verifier, h2
/// and http/1.1), made once per process: building it reads and parses the system's
/// root certificates, which cost more than the request itself when `labctl board`
/// polls sixty users' http checks (and `within` retries one every second).
fn tls_config() -> Result<rustls::ClientConfig, ClientError> {
    static TLS: OnceLock<Result<rustls::ClientConfig, ClientError>> = OnceLock::new();
    TLS.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).map_err(|e| {
            ClientError::Tls(format!("cannot set up TLS certificate verification: {e}"))
        })?;
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(cfg)
    })
    .clone()
}

/// The client for `h`: the step environment's proxies, and the shared TLS
/// configuration unless the check brings its own CA or client certificate.
fn client_for(h: &HttpCheck, ctx: &CheckContext<'_>) -> Result<reqwest::Client, ClientError> {
    let b = client_builder_for(ctx)?;
    let b = if h.tls.ca.is_none() && h.tls.cert.is_none() && h.tls.key.is_none() {
        b.use_preconfigured_tls(tls_config()?)
    } else {
        with_tls(b, &h.tls, ctx.workdir)?
    };
    b.build().map_err(|e| ClientError::Build(error_chain(&e)))
}

/// Trusts only `ca` and presents `cert`/`key`, as `curl --cacert --cert --key` does; files are
/// read relative to the working directory, when the check runs (a step may have just made them).
fn with_tls(
    mut b: reqwest::ClientBuilder,
    tls: &HttpTls,
    workdir: &std::path::Path,
) -> Result<reqwest::ClientBuilder, ClientError> {
    let read = |p: &str| {
        std::fs::read(workdir.join(p)).map_err(|e| ClientError::Read {
            path: p.to_string(),
            why: e.to_string(),
        })
    };
    let bad_pem = |what: String, e: reqwest::Error| ClientError::BadPem {
        what,
        why: error_chain(&e),
    };
    if let Some(ca) = &tls.ca {
        let pem = read(ca)?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad_pem(ca.clone(), e))?;
        b = b.tls_certs_only(certs);
    }
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        let mut pem = read(cert)?;
        pem.push(b'\n');
        pem.extend(read(key)?);
        let id = reqwest::Identity::from_pem(&pem)
            .map_err(|e| bad_pem(format!("{cert} and {key}"), e))?;
        b = b.identity(id);
    }
    Ok(b)
}

/// A builder with the step environment's proxies and labctl's timeouts.
fn client_builder_for(env_ctx: &CheckContext<'_>) -> Result<reqwest::ClientBuilder, ClientError> {
    // The binary installs it too; a library user (tests, `labctl check`) may not have.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Lower case first, as curl does; `no_proxy()` drops the process environment's proxies.
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT);
    let no_proxy = env_first(env_ctx, &["no_proxy", "NO_PROXY"]).unwrap_or_default();
    let all = env_first(env_ctx, &["all_proxy", "ALL_PROXY"]);
    let http = env_first(env_ctx, &["http_proxy", "HTTP_PROXY"]).or(all.clone());
    let https = env_first(env_ctx, &["https_proxy", "HTTPS_PROXY"]).or(all);
    type MakeProxy = fn(&str) -> reqwest::Result<reqwest::Proxy>;
    let proxies: [(&str, Option<String>, MakeProxy); 2] = [
        ("HTTP_PROXY", http, |u| reqwest::Proxy::http(u)),
        ("HTTPS_PROXY", https, |u| reqwest::Proxy::https(u)),
    ];
    for (var, url, proxy) in proxies {
        let Some(url) = url else { continue };
        let proxy = proxy(url.as_str()).map_err(|e| ClientError::Proxy {
            var,
            why: error_chain(&e),
            url: url.clone(),
        })?;
        b = b.proxy(proxy.no_proxy(reqwest::NoProxy::from_string(&no_proxy)));
    }
    Ok(b)
}

/// Pause between tries of an HTTP check without its own `interval`. A try is
/// one request, so polling at 1 s (the default for what starts processes)
/// only adds waiting: after a change that takes effect 2 s later (the mesh
/// delay) a 1 s poll passed on average half a second late, and for some of 20
/// users a full second.
pub(crate) const HTTP_INTERVAL: Duration = Duration::from_millis(200);

impl Check for HttpChecker<'_> {
    fn evaluate_within<'a>(&'a self, ctx: &'a CheckContext<'a>, timing: &'a Timing) -> Waiting<'a> {
        Box::pin(async move {
            let timing = Timing {
                interval: timing.interval.or(Some(HTTP_INTERVAL)),
                ..*timing
            };
            retry::eventually(&timing, ctx.cancel, move || self.evaluate(ctx)).await
        })
    }

    fn evaluate<'a>(&'a self, ctx: &'a CheckContext<'a>) -> Evaluation<'a> {
        Box::pin(async move {
            let h = self.0;
            let fail = |error: String| CheckError::Http {
                method: h.method.clone(),
                url: h.url.clone(),
                error,
            };
            let client = client_for(h, ctx).map_err(|e| fail(e.to_string()))?;
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
                let body = read_body(resp).await.map_err(|e| fail(error_chain(&e)))?;
                Ok::<_, CheckError>(Response {
                    status,
                    headers,
                    body,
                })
            };
            let response = tokio::select! {
                r = fetch => r?,
                _ = ctx.cancel.cancelled() => return Err(CheckError::Cancelled),
            };
            let verdicts = judge(h, &response)?;
            Ok(outcome(Assertion::Http(h.clone()).describe(), verdicts))
        })
    }
}

/// What came back from the request.
struct Response {
    status: reqwest::StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Body,
}

/// The verdicts of `h`'s status, headers, body and json over `r`; a failed
/// verdict over a cut body says so.
fn judge(h: &HttpCheck, r: &Response) -> Result<Vec<Verdict>, CheckError> {
    let body = r.body.text();
    let mut verdicts = Vec::new();
    if let Some(want) = h.status {
        let ok = r.status.as_u16() == want;
        verdicts.push(Verdict {
            ok,
            expected: format!("status {want}"),
            actual: format!("status {}", r.status),
            note: (!ok && !body.trim().is_empty())
                .then(|| format!("body: {}", super::predicate::cut(body.trim()))),
        });
    }
    for (name, preds) in &h.headers {
        let values: Vec<&str> = r
            .headers
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
    if let Some(note) = r.body.cut_note() {
        for v in verdicts.iter_mut().filter(|v| !v.ok) {
            v.note = Some(match v.note.take() {
                Some(n) => format!("{n}\n{note}"),
                None => note.clone(),
            });
        }
    }
    Ok(verdicts)
}
