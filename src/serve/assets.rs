//! Files the page needs, compiled into labctl: no CDN, no npm, nothing fetched.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asset {
    /// Its name under `/assets/`.
    pub name: &'static str,
    /// Its Content-Type.
    pub mime: &'static str,
    /// Its bytes.
    pub body: &'static str,
}

/// `serve`'s own assets.
pub(crate) const SERVE_ASSETS: &[Asset] = &[
    Asset {
        name: "serve.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("assets/serve.js"),
    },
    Asset {
        name: "serve.css",
        mime: "text/css; charset=utf-8",
        body: include_str!("assets/serve.css"),
    },
    Asset {
        name: "labctl.css",
        mime: "text/css; charset=utf-8",
        body: include_str!("../../assets/labctl.css"),
    },
];

/// Routes `/assets/{name}` to `assets`.
pub(crate) fn router<S: Clone + Send + Sync + 'static>(assets: &'static [Asset]) -> Router<S> {
    Router::new().route(
        "/assets/{name}",
        get(move |Path(name): Path<String>| async move { lookup(assets, &name) }),
    )
}

fn lookup(assets: &[Asset], name: &str) -> Response {
    match assets.iter().find(|a| a.name == name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(a.mime)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            a.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    }
}
