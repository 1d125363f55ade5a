//! The simulated `context-scraper` service: a search proxy whose upstream call obeys the mesh.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ids;
use super::mesh::MeshView;

/// The port the scraper's Service exposes.
pub(super) const PORT: u16 = 8080;

/// The upstream the scraper calls for every search.
pub(super) const UPSTREAM_HOST: &str = "www.googleapis.com";

/// A fake Google API key; it leaks in error messages exactly like the real service's does, so
/// labctl's redaction has something to redact.
const FAKE_API_KEY: &str = "AIzaSyD3mO-sandbox-4n0tAr3alK3y-x9Qw7e";

/// The search engine id the real service sends along.
const SEARCH_ENGINE: &str = "017576662512468239146:omuauf_lfve";

const RESULTS: &str = include_str!("../../assets/scraper/results.json");

/// Decodes `%XX` escapes and `+` in a query value; bad escapes are kept as written.
fn percent_decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = match (b[i], b.get(i + 1), b.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match (b[i], escaped) {
            (_, Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (c, None) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `term` query parameter (everything after the first `term=`; `term==x` gives `=x`).
fn term(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("term="))
        .map(percent_decode)
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The error body request-promise produces when the sidecar resets the upstream connection.
fn econnreset(term: &str) -> Value {
    let errno = json!({"errno": "ECONNRESET", "code": "ECONNRESET", "syscall": "read"});
    let trace = ids::hex(32);
    json!({
        "oops": {
            "name": "RequestError",
            "message": "Error: read ECONNRESET",
            "cause": errno,
            "error": errno,
            "options": {
                "uri": format!(
                    "https://{UPSTREAM_HOST}/customsearch/v1/siterestrict?key={FAKE_API_KEY}&cx={SEARCH_ENGINE}&q={}",
                    encode(term)
                ),
                "method": "GET",
                "json": true,
                "headers": {
                    "x-request-id": ids::uuid(),
                    "traceparent": format!("00-{trace}-{}-01", ids::hex(16)),
                    "user-agent": "context-scraper/1.4.2"
                },
                "simple": true,
                "resolveWithFullResponse": false,
                "transform2xxOnly": false
            }
        }
    })
}

/// Whether a request for `path?query` makes the scraper call its upstream.
pub(super) fn calls_upstream(path: &str, query: Option<&str>) -> bool {
    path == "/scrape/custom_search" && term(query).is_some()
}

/// Answers a request for `path?query` given the user's mesh as the sidecar currently sees it.
pub(super) fn handle(path: &str, query: Option<&str>, mesh: Option<&MeshView>) -> Response {
    match path {
        "/scrape/custom_search" => {}
        "/healthz" | "/health" => {
            return (StatusCode::OK, axum::Json(json!({"status": "UP"}))).into_response();
        }
        _ => return (StatusCode::NOT_FOUND, format!("Cannot GET {path}\n")).into_response(),
    }
    let Some(term) = term(query) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"oops": {"message": "missing query parameter 'term'"}})),
        )
            .into_response();
    };
    // Istio's default when nothing is known is ALLOW_ANY.
    let allowed = mesh.is_none_or(|m| m.allows(UPSTREAM_HOST, 443));
    if !allowed {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(econnreset(&term)),
        )
            .into_response();
    }
    match serde_json::from_str::<Value>(RESULTS) {
        Ok(v) => (StatusCode::OK, axum::Json(v)).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("fixture unreadable: {e}\n"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_is_an_array_of_results() {
        let v: Value = serde_json::from_str(RESULTS).unwrap();
        let items = v.as_array().unwrap();
        assert!(items.len() >= 5);
        for i in items {
            assert!(i["link"].is_string() && i["title"].is_string() && i["snippet"].is_string());
            assert!(i["thumbnail"][0]["src"].is_string());
        }
    }

    #[test]
    fn term_parsing() {
        assert_eq!(term(Some("term==skynet")).as_deref(), Some("=skynet"));
        assert_eq!(
            term(Some("a=1&term=sky%20net+x")).as_deref(),
            Some("sky net x")
        );
        assert_eq!(term(Some("term=%zz")).as_deref(), Some("%zz"));
        assert_eq!(term(Some("term=%")).as_deref(), Some("%"));
        assert_eq!(term(None), None);
    }

    #[test]
    fn blocked_errors_differ_and_leak_the_key() {
        let a = econnreset("skynet");
        let b = econnreset("skynet");
        assert_ne!(
            a["oops"]["options"]["headers"]["x-request-id"],
            b["oops"]["options"]["headers"]["x-request-id"]
        );
        assert!(
            a["oops"]["options"]["uri"]
                .as_str()
                .unwrap()
                .contains("key=AIza")
        );
    }
}
