//! Who may use a labctl web server: a random token printed with the URL, traded
//! on first load for an HttpOnly SameSite=Strict cookie; WebSocket upgrades must
//! come from the server's own origin. Any web page the student visits could
//! otherwise reach a shell on localhost (why Jupyter has tokens). Kept apart so
//! every labctl web view (`serve`, the instructor board) guards the same way.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};

/// The page a request without a valid token gets.
const UNAUTHORIZED_PAGE: &str = include_str!("assets/401.html");

/// The token and the cookie that carries it.
#[derive(Debug, Clone)]
pub(crate) struct Access {
    token: String,
    cookie: String,
}

impl Access {
    /// A fresh random token; the cookie name carries the port, since browsers
    /// share cookies between ports of one host.
    pub(crate) fn new(port: u16) -> std::io::Result<Access> {
        let mut bytes = [0u8; 24];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
        let token = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Access {
            token,
            cookie: format!("labctl_{port}"),
        })
    }

    /// The token to print in the URL.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    fn matches(&self, candidate: &str) -> bool {
        // Same time for every wrong guess of the same length.
        candidate.len() == self.token.len()
            && candidate
                .bytes()
                .zip(self.token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    fn cookie_matches(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .any(|(k, v)| k == self.cookie && self.matches(v))
    }

    fn set_cookie(&self) -> HeaderValue {
        HeaderValue::from_str(&format!(
            "{}={}; HttpOnly; SameSite=Strict; Path=/",
            self.cookie, self.token
        ))
        .expect("token is hex")
    }
}

/// The `token` query parameter, and the query without it.
fn split_token(query: &str) -> (Option<&str>, String) {
    let mut token = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("token=") {
            Some(t) => token = Some(t),
            None => rest.push(pair),
        }
    }
    (token, rest.join("&"))
}

/// An Origin header that is not this server's own (by its Host).
fn foreign_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin = origin.to_str().unwrap_or("");
    !(origin == format!("http://{host}") || origin == format!("https://{host}"))
}

/// Middleware: lets a request through with a valid cookie (or token), refuses
/// it with 401 otherwise, and refuses cross-origin WebSockets and writes with 403.
pub(crate) async fn guard(State(access): State<Arc<Access>>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let is_upgrade = headers.contains_key(header::UPGRADE);
    if (is_upgrade || req.method() != Method::GET) && foreign_origin(headers) {
        return (
            StatusCode::FORBIDDEN,
            "labctl: requests from another site's page are refused\n",
        )
            .into_response();
    }
    if access.cookie_matches(headers) {
        return next.run(req).await;
    }
    let (token, rest) = split_token(req.uri().query().unwrap_or(""));
    match token {
        Some(t) if access.matches(t) => {
            if req.method() == Method::GET && !is_upgrade {
                // Trade the token for the cookie and drop it from the address bar.
                let path = req.uri().path();
                let to = if rest.is_empty() {
                    path.to_string()
                } else {
                    format!("{path}?{rest}")
                };
                let mut resp = Redirect::to(&to).into_response();
                resp.headers_mut()
                    .insert(header::SET_COOKIE, access.set_cookie());
                resp.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                return resp;
            }
            next.run(req).await
        }
        _ => (StatusCode::UNAUTHORIZED, Html(UNAUTHORIZED_PAGE)).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_taken_out_of_the_query() {
        assert_eq!(split_token("token=abc&x=1"), (Some("abc"), "x=1".into()));
        assert_eq!(split_token(""), (None, String::new()));
    }

    #[test]
    fn origin_must_be_the_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:4000"));
        assert!(!foreign_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:4000"),
        );
        assert!(!foreign_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(foreign_origin(&h));
    }

    #[test]
    fn wrong_tokens_do_not_match() {
        let a = Access::new(1).unwrap();
        assert!(a.matches(&a.token.clone()));
        assert!(!a.matches("x"));
        assert!(!a.matches(&"0".repeat(a.token.len())));
    }
}
