//! Fetches each user's mesh graph from the graph API of the cluster the run
//! used, for the HTML report: the sandbox's `kiali` Route, or a real Kiali
//! named by `--var kiali_url=...`. A graph that cannot be fetched is a
//! warning, never a failed run: the report is a picture, not a check.

use std::time::Duration;

use super::mesh_graph::{MeshGraph, MeshGraphs};
use crate::event::UserName;

const TIMEOUT: Duration = Duration::from_secs(10);

/// One user's graph could not be fetched.
#[derive(Debug, thiserror::Error)]
enum GraphError {
    /// No answer, or an answer that is not JSON.
    #[error("{url}: {source}")]
    Request { url: String, source: reqwest::Error },
    /// An answer other than 2xx.
    #[error("{url}: {status}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },
}

/// Whose graph API to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GraphApi {
    /// The sandbox: each user's Route `kiali-USER-istio.DOMAIN`, through the sandbox's proxy.
    Sandbox {
        /// The sandbox proxy (`http_proxy`).
        proxy: String,
        apps_domain: String,
    },
    /// A real Kiali at this address, its web root included
    /// (`https://kiali-istio-system.apps.example.com`, or `.../kiali`).
    Kiali {
        /// Base URL, without a trailing slash.
        base: String,
    },
}

/// One user's graph to fetch: how the report names them and their namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GraphTarget {
    /// The report's user (None in a single-user run).
    pub user: UserName,
    /// The namespace whose graph is drawn (the user's `username`).
    pub namespace: String,
}

impl GraphApi {
    /// From `kiali_url` when given, else the sandbox when the run used one.
    pub(crate) fn choose(
        kiali_url: Option<&str>,
        sandbox_proxy: Option<String>,
    ) -> Option<GraphApi> {
        match (kiali_url, sandbox_proxy) {
            (Some(u), _) if !u.trim().is_empty() => Some(GraphApi::Kiali {
                base: u.trim().trim_end_matches('/').to_string(),
            }),
            (_, Some(proxy)) => Some(GraphApi::Sandbox {
                proxy,
                apps_domain: crate::sandbox::APPS_DOMAIN.to_string(),
            }),
            _ => None,
        }
    }

    fn url(&self, namespace: &str, window: Duration) -> String {
        let query = format!(
            "namespaces={namespace}&graphType=workload&duration={}s",
            window.as_secs().max(60)
        );
        match self {
            GraphApi::Sandbox { apps_domain, .. } => format!(
                "http://kiali-{namespace}-istio.{apps_domain}/kiali/api/namespaces/graph?{query}"
            ),
            GraphApi::Kiali { base } => format!("{base}/api/namespaces/graph?{query}"),
        }
    }

    fn client(&self) -> Result<reqwest::Client, reqwest::Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let b = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT);
        let b = match self {
            GraphApi::Sandbox { proxy, .. } => b.no_proxy().proxy(reqwest::Proxy::http(proxy)?),
            GraphApi::Kiali { .. } => b,
        };
        b.build()
    }

    async fn one(
        &self,
        client: &reqwest::Client,
        namespace: &str,
        window: Duration,
    ) -> Result<MeshGraph, GraphError> {
        let url = self.url(namespace, window);
        let failed = |source| GraphError::Request {
            url: url.clone(),
            source,
        };
        let resp = client.get(&url).send().await.map_err(failed)?;
        if !resp.status().is_success() {
            return Err(GraphError::Status {
                status: resp.status(),
                url,
            });
        }
        let v: serde_json::Value = resp.json().await.map_err(failed)?;
        Ok(MeshGraph::from_kiali(&v))
    }

    /// Every target's graph over the last `window`; failures are printed as warnings and left out.
    pub(crate) async fn fetch(&self, targets: &[GraphTarget], window: Duration) -> MeshGraphs {
        let client = match self.client() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("warning: no mesh graph in the report: {e}");
                return MeshGraphs::new();
            }
        };
        let graphs = futures::future::join_all(
            targets
                .iter()
                .map(|t| self.one(&client, &t.namespace, window)),
        )
        .await;
        let mut out = MeshGraphs::new();
        for (t, g) in targets.iter().zip(graphs) {
            match g {
                Ok(g) => {
                    out.insert(t.user.clone(), g);
                }
                Err(e) => eprintln!(
                    "warning: no mesh graph for {} in the report: {e}",
                    t.namespace
                ),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kiali_url_wins_and_urls_name_the_namespace() {
        let k = GraphApi::choose(Some("https://kiali.example/kiali/"), Some("p".into())).unwrap();
        assert_eq!(
            k.url("alice", Duration::from_secs(5)),
            "https://kiali.example/kiali/api/namespaces/graph?namespaces=alice&graphType=workload&duration=60s"
        );
        let s = GraphApi::choose(None, Some("http://127.0.0.1:1".into())).unwrap();
        assert!(
            s.url("user2", Duration::from_secs(90))
                .starts_with("http://kiali-user2-istio.apps.sandbox.local/kiali/api/namespaces/graph?namespaces=user2&graphType=workload&duration=90s")
        );
        assert_eq!(GraphApi::choose(None, None), None);
    }
}
