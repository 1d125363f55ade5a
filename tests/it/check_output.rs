//! Expected output through the public API: the egress lab's cases and --update-output.

use labctl::check::TryOutput;
use labctl::check::output::{Verdict, compare, stream_text, update_expected};
use labctl::lab::model::{ExpectedOutput, OutputMode, OutputStream, Span};

const DOCUMENTED_OOPS: &str = r#"{"oops": {"name": "RequestError", "message": "Error: read ECONNRESET", "cause": {"errno": "ECONNRESET", "code": "ECONNRESET", "syscall": "read"}}}"#;

#[test]
fn egress_blocked_reply_with_new_ids_is_similar() {
    let actual = r#"{
  "oops": {
    "name": "RequestError",
    "message": "Error: read ECONNRESET",
    "cause": {"errno": "ECONNRESET", "code": "ECONNRESET", "syscall": "read"},
    "options": {"uri": "https://www.googleapis.com/customsearch/v1?q=skynet", "requestId": "c0ffee-41"}
  },
  "traceId": "5d1e2b7a9f"
}"#;
    assert_eq!(
        compare(DOCUMENTED_OOPS, actual, OutputMode::Similar),
        Verdict::Pass
    );
}

#[test]
fn egress_results_where_the_error_was_documented_is_drift() {
    let actual = r#"[{"title": "Skynet - Wikipedia", "link": "https://en.wikipedia.org/wiki/Skynet_(Terminator)"},
 {"title": "Skynet (satellite)", "link": "https://en.wikipedia.org/wiki/Skynet_(satellite)"}]"#;
    match compare(DOCUMENTED_OOPS, actual, OutputMode::Similar) {
        Verdict::Drift { diff, reason } => {
            assert!(reason.contains("found an array"), "{reason}");
            assert!(diff.starts_with("--- expected\n+++ actual\n"), "{diff}");
        }
        Verdict::Pass => panic!("the results array must be drift"),
    }
}

#[test]
fn mesh_config_mode() {
    let documented = "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n";
    let actual = "apiVersion: v1\ndata:\n  mesh: |-\n    defaultConfig:\n      discoveryAddress: istiod.istio-system.svc:15012\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\nkind: ConfigMap\n";
    assert_eq!(
        compare(documented, actual, OutputMode::Similar),
        Verdict::Pass
    );
    let allow = actual.replace("REGISTRY_ONLY", "ALLOW_ANY");
    assert!(matches!(
        compare(documented, &allow, OutputMode::Similar),
        Verdict::Drift { .. }
    ));
}

#[test]
fn strict_output_fence() {
    let fence = "serviceentry.networking.istio.io/[..] created\n...\nNAME [..] AGE\ncontext-scraper-egress [..] [DURATION]\n";
    let actual = "serviceentry.networking.istio.io/context-scraper-egress created\nWarning: something\nNAME                     HOSTS                      LOCATION        RESOLUTION   AGE\ncontext-scraper-egress   [\"www.googleapis.com\"]   MESH_EXTERNAL   DNS          3s\n";
    assert_eq!(compare(fence, actual, OutputMode::Strict), Verdict::Pass);
    let gone = actual.replace("context-scraper-egress   ", "other   ");
    assert!(matches!(
        compare(fence, &gone, OutputMode::Strict),
        Verdict::Drift { .. }
    ));
}

#[test]
fn update_output_keeps_the_authors_elisions() {
    let fence = "serviceentry.networking.istio.io/[..] created\n...\nstatus: [INT]\n";
    let actual = "serviceentry.networking.istio.io/x created\na\nb\nstatus: 200\n";
    assert_eq!(update_expected(fence, actual, true), fence);
    let actual = "serviceentry.networking.istio.io/x created\na\nb\nerror: denied\n";
    let updated = update_expected(fence, actual, true);
    assert_eq!(
        updated,
        "serviceentry.networking.istio.io/[..] created\n...\nerror: denied\n"
    );
    assert_eq!(compare(&updated, actual, OutputMode::Strict), Verdict::Pass);
}

/// The engine's own comparison: the fence's stream, then `compare`.
#[test]
fn output_fence_reads_its_stream() {
    let fence = ExpectedOutput {
        span: Span::default(),
        mode: OutputMode::Strict,
        stream: OutputStream::Both,
        text: "out\nerr [INT]\n".into(),
        body_span: 0..0,
    };
    let out = TryOutput {
        exit_code: Some(0),
        stdout: "out".into(),
        stderr: "err 7\n".into(),
    };
    let judge =
        |fence: &ExpectedOutput| compare(&fence.text, &stream_text(&out, fence.stream), fence.mode);
    assert_eq!(judge(&fence), Verdict::Pass);
    let fence = ExpectedOutput {
        stream: OutputStream::Stdout,
        ..fence
    };
    let Verdict::Drift { diff, .. } = judge(&fence) else {
        panic!("stdout alone lacks the err line")
    };
    assert!(diff.contains("-err [INT]"), "{diff}");
}
