//! Expected output: a step's stdout against the fence after it.
//!
//! * Strict (```` ```output ````): line by line; a line `...` (indent allowed) matches any
//!   number of lines, `[..]` any text within a line, and placeholders such as `[UUID]`
//!   match one token of that kind. Expected text that is JSON (bare `...` allowed as
//!   "more", `"..."` as any value) is compared as JSON: every expected key present with
//!   an equal value, extra keys allowed.
//! * Similar (documented output): noise is dropped first (curl's progress meter, `curl -v`
//!   lines, progress bars); if the expected text is JSON (after joining hard-wrapped
//!   strings, reading `...` as "more" and closing unclosed brackets) the actual JSON must
//!   have its shape (same keys at the same paths, same types, non-empty arrays stay
//!   non-empty) and its stable values (strings with no digits and no spaces, booleans);
//!   otherwise the expected lines must appear in order in the actual text once tokens
//!   bearing digits are masked and runs of spaces collapsed.
//!
//! One file per concern: `lines` (line patterns, placeholders, `...`), `json`
//! (documented JSON repaired and compared), `similar_text` (noise and masked lines),
//! `mismatch` (what differs, for the drift report), `update` (`--update-output`).

mod json;
mod lines;
mod mismatch;
mod similar_text;
mod update;

use super::TryOutput;
use super::json::parse_json_text;
use super::predicate::unified_diff;
use crate::lab::model::{OutputMode, OutputStream};
use mismatch::Mismatch;

pub use similar_text::drop_noise;
pub use update::update_expected;

/// The verdict of an expected-output comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The output is as documented.
    Pass,
    /// It is not: a unified diff (expected → actual) and the first reason found.
    Drift {
        /// Unified diff of the expected and actual text.
        diff: String,
        /// Why, e.g. `$: expected an object, found an array`.
        reason: String,
    },
}

/// The text an output fence describes.
pub fn stream_text(out: &TryOutput, stream: OutputStream) -> String {
    match stream {
        OutputStream::Stdout => out.stdout.clone(),
        OutputStream::Stderr => out.stderr.clone(),
        OutputStream::Both => {
            let mut s = out.stdout.clone();
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str(&out.stderr);
            s
        }
    }
}

/// Compares `actual` with the `expected` fence body.
pub fn compare(expected: &str, actual: &str, mode: OutputMode) -> Verdict {
    let (result, shown_actual) = match mode {
        OutputMode::Strict => (strict(expected, actual), actual.to_string()),
        OutputMode::Similar => {
            let clean = drop_noise(actual);
            (similar(expected, &clean), clean)
        }
    };
    match result {
        Ok(()) => Verdict::Pass,
        Err(reason) => Verdict::Drift {
            diff: unified_diff(expected, &shown_actual),
            reason: reason.to_string(),
        },
    }
}

/// Strict mode: documented JSON as a subset, else line patterns.
fn strict(expected: &str, actual: &str) -> Result<(), Mismatch> {
    if let Some(exp) = json::expected_json(expected, false) {
        let act = parse_json_text(actual, "the output").map_err(Mismatch::NotJson)?;
        return json::json_subset(&exp, &act, "$");
    }
    lines::strict_lines(expected, actual)
}

/// Similar mode: documented JSON's shape, else expected lines in order.
fn similar(expected: &str, actual: &str) -> Result<(), Mismatch> {
    let expected = drop_noise(expected);
    if let Some(exp) = json::expected_json(&expected, true) {
        let act = parse_json_text(actual, "the output").map_err(Mismatch::NotJson)?;
        return json::json_shape(&exp, &act, "$");
    }
    similar_text::similar_lines(&expected, actual)
}

#[cfg(test)]
mod tests {
    use super::*;
    use similar_text::is_noise;

    fn strict_ok(e: &str, a: &str) -> bool {
        compare(e, a, OutputMode::Strict) == Verdict::Pass
    }

    fn similar_ok(e: &str, a: &str) -> bool {
        compare(e, a, OutputMode::Similar) == Verdict::Pass
    }

    #[test]
    fn strict_lines_and_elisions() {
        assert!(strict_ok("a\nb\n", "a\nb"));
        assert!(!strict_ok("a\nb\n", "a\nc"));
        assert!(strict_ok("a\n...\nz", "a\nb\nc\nz\n"));
        assert!(strict_ok("a\n  ...\nz", "a\nz"));
        assert!(!strict_ok("a\n...\nz", "a\nb\ny"));
        assert!(strict_ok("pod/web-[..] created", "pod/web-7d9f8 created"));
        assert!(!strict_ok("pod/web-[..] created", "pod/web-7d9f8 deleted"));
        assert!(!strict_ok("a", "a\nextra"));
    }

    #[test]
    fn strict_placeholders() {
        assert!(strict_ok(
            "id [UUID] at [IP] took [DURATION]",
            "id 123e4567-e89b-12d3-a456-426614174000 at 10.1.2.3 took 1m30s"
        ));
        assert!(!strict_ok("id [UUID]", "id 123"));
        assert!(strict_ok(
            "count [INT], ratio [NUM], sha [HEX]",
            "count 42, ratio 0.5, sha deadbeef"
        ));
        assert!(!strict_ok("count [INT]", "count many"));
        assert!(strict_ok(
            "on [DATE] istio [VERSION]",
            "on 2024-05-01T10:00:00Z istio 1.22.3"
        ));
        assert!(!strict_ok("istio [VERSION]", "istio latest"));
    }

    #[test]
    fn strict_json() {
        let e =
            r#"{"oops": {"name": "RequestError", "id": "...", "cause": {"code": "ECONNRESET"}}}"#;
        let a = r#"{"oops": {"name": "RequestError", "id": 42, "extra": 1, "cause": {"code": "ECONNRESET", "errno": -104}}}"#;
        assert!(strict_ok(e, a));
        let changed = a.replace("ECONNRESET", "EPIPE");
        let Verdict::Drift { reason, .. } = compare(e, &changed, OutputMode::Strict) else {
            panic!("drift expected")
        };
        assert!(reason.starts_with("$.oops.cause.code"), "{reason}");
        assert!(strict_ok(
            r#"{"items": [1, 2, ...], ...}"#,
            r#"{"items": [1, 2, 3, 4], "kind": "List"}"#
        ));
        assert!(!strict_ok(
            r#"{"items": [1, 2]}"#,
            r#"{"items": [1, 2, 3]}"#
        ));
        assert!(strict_ok(
            r#"{"id": "[UUID]"}"#,
            r#"{"id": "123e4567-e89b-12d3-a456-426614174000"}"#
        ));
        assert!(!strict_ok(r#"{"n": "1"}"#, r#"{"n": 1}"#));
        assert!(!strict_ok(r#"{"a": 1}"#, "not json"));
    }

    const OOPS: &str = r#"{"oops": {"name": "RequestError", "message": "Error: read ECONNRESET", "cause": {"errno": "ECONNRESET", "code": "ECONNRESET", "syscall": "read"}}}"#;

    #[test]
    fn similar_egress_oops_with_new_ids_passes() {
        let actual = r#"{"requestId": "7f3a", "oops": {"name": "RequestError", "message": "Error: read ECONNRESET", "stack": "at 12:3",
            "cause": {"errno": "ECONNRESET", "code": "ECONNRESET", "syscall": "read", "id": 99}}}"#;
        assert!(similar_ok(OOPS, actual));
    }

    #[test]
    fn similar_elided_strings() {
        assert!(similar_ok(
            r#"[{"link": "https://...", "title": "..."}, ...]"#,
            r#"[{"link": "https://a.org/x", "title": "T"}]"#
        ));
        assert!(!similar_ok(
            r#"[{"link": "https://..."}]"#,
            r#"[{"link": "ftp://a.org/x"}]"#
        ));
    }

    #[test]
    fn similar_egress_results_array_is_drift() {
        let actual = r#"[{"title": "Skynet", "link": "https://en.wikipedia.org/wiki/Skynet"}]"#;
        let v = compare(OOPS, actual, OutputMode::Similar);
        let Verdict::Drift { diff, reason } = v else {
            panic!("drift expected")
        };
        assert_eq!(reason, "$: expected an object, found an array");
        assert!(diff.contains("+[{\"title\""), "{diff}");
    }

    #[test]
    fn similar_stable_values_and_types() {
        let changed = OOPS.replace(r#""syscall": "read""#, r#""syscall": "write""#);
        assert!(!similar_ok(OOPS, &changed));
        let typed = OOPS.replace(r#""syscall": "read""#, r#""syscall": 3"#);
        assert!(!similar_ok(OOPS, &typed));
        let missing = OOPS.replace(r#", "syscall": "read""#, "");
        assert!(!similar_ok(OOPS, &missing));
        assert!(!similar_ok(r#"{"items": [{"a": 1}]}"#, r#"{"items": []}"#));
        assert!(similar_ok(r#"{"items": []}"#, r#"{"items": [{"a": 1}]}"#));
    }

    #[test]
    fn similar_repairs_documented_json() {
        // Hard-wrapped string, `...` for more, unclosed brackets.
        let doc = "{\"oops\": {\"name\": \"RequestError\", \"message\": \"Error: read\n    ECONNRESET\",\n  ...\n  \"cause\": {\"code\": \"ECONNRESET\"";
        assert!(similar_ok(doc, OOPS));
        let doc = "[\n  {\"title\": \"Skynet\"},\n  ...\n]";
        assert!(similar_ok(
            doc,
            r#"[{"title": "Skynet", "n": 1}, {"title": "Other"}]"#
        ));
    }

    #[test]
    fn similar_drops_curl_noise() {
        let actual = "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n                                 Dload  Upload   Total   Spent    Left  Speed\n100   182  100   182    0     0   1820      0 --:--:-- --:--:-- --:--:--  1820\n* Connected to x (10.0.0.1) port 80\n> GET / HTTP/1.1\n< HTTP/1.1 200 OK\n".to_string()
            + OOPS;
        assert!(similar_ok(OOPS, &actual));
        assert_eq!(drop_noise(&actual).trim(), OOPS);
        assert!(is_noise(
            "######################################################################## 100.0%"
        ));
        assert!(is_noise("[=====>      ] 45%"));
        assert!(!is_noise("mode: REGISTRY_ONLY"));
    }

    const MESH: &str = "apiVersion: v1\ndata:\n  mesh: |-\n    accessLogFile: /dev/stdout\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n    trustDomain: cluster.local\nkind: ConfigMap\n";

    #[test]
    fn similar_text_lines_in_order() {
        let doc = "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY";
        assert!(similar_ok(doc, MESH));
        let allow = MESH.replace("REGISTRY_ONLY", "ALLOW_ANY");
        let Verdict::Drift { reason, .. } = compare(doc, &allow, OutputMode::Similar) else {
            panic!("drift expected")
        };
        assert!(reason.contains("mode: REGISTRY_ONLY"), "{reason}");
        // Out of order is drift.
        assert!(!similar_ok(
            "mode: REGISTRY_ONLY\noutboundTrafficPolicy:",
            MESH
        ));
        // Digit-bearing tokens are masked; column alignment may change.
        assert!(similar_ok(
            "NAME    READY   AGE\nweb-1   1/1     5m",
            "NAME      READY   AGE\nweb-7f9   1/1     12s\n"
        ));
        assert!(!similar_ok(
            "NAME READY STATUS\nweb-1 1/1 Running",
            "NAME READY STATUS\nweb-1 0/1 Pending"
        ));
    }
}
