//! The workshop itself on the embedded sandbox: the whole lab passes; without the
//! ServiceEntry step it fails at the results step, saying what was expected and
//! what came back; and a student can type the lab's commands by hand.

use crate::support::labctl::{Labctl, repo};
use crate::support::workshop::Workshop;

#[test]
fn the_egress_workshop_passes_on_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let out = Labctl::run_on_sandbox("labs/")
        .args(["--report", &format!("json={}", report.display())])
        .run();
    out.code(0);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let steps = v["runs"][0]["labs"][0]["steps"].as_array().unwrap().clone();
    let ids: Vec<&str> = steps.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&"apply-egress") && ids.contains(&"scrape-allowed"),
        "{ids:?}"
    );
    assert!(steps.iter().all(|s| s["outcome"] == "passed"), "{steps:#?}");
    // The scraper leaks its API key in the error; the report must not.
    assert!(
        !v.to_string().contains("AIza"),
        "the API key leaked into the report"
    );
}

#[test]
fn without_the_service_entry_the_results_step_fails_and_says_why() {
    let lab = std::fs::read_to_string(repo().join("labs/securing-egress.md")).unwrap();
    let start = lab.find("```execute {name=apply-egress}").unwrap();
    let end = start + lab[start..].find("## The application works again").unwrap();
    let cut = format!("{}{}", &lab[..start], &lab[end..]);
    let dir = Workshop::new().page(
        "securing-egress.md",
        &cut.replace("within=60s", "within=3s"),
    );
    let out = Labctl::run_on_sandbox(dir.path().display().to_string())
        .args(["--var", "username=user1"])
        .run();
    out.code(1);
    let err = &out.stderr;
    assert!(err.contains("✗ scrape-allowed"), "{err}");
    assert!(
        err.contains("✗ $[*].link count at least 1") && err.contains("expected: count at least 1"),
        "{err}"
    );
    assert!(
        err.contains("\"ECONNRESET\""),
        "the failure shows what came back: {err}"
    );
}

#[test]
fn a_student_can_type_the_commands_in_a_sandbox_shell() {
    let script = r#"set -e
oc describe cm/istio-workshop-install -n user1-istio | grep outboundTrafficPolicy -A 1 | grep -q REGISTRY_ONLY
curl -s context-scraper.user1:8080/scrape/custom_search?term==skynet | jq -e '.oops.cause.code == "ECONNRESET"' >/dev/null
# The shell starts in the workshop folder (labs/, the source of the book here).
oc apply -f ./manifests/istio/serviceentry-googleapis.yaml
for i in $(seq 50); do
  if curl -s context-scraper.user1:8080/scrape/custom_search?term==skynet | jq -e 'length > 0 and all(.[]; .link and .title)' >/dev/null 2>&1; then echo ALLOWED; exit 0; fi
  sleep 0.2
done
echo STILL-BLOCKED; exit 1
"#;
    let out = Labctl::in_repo(&[])
        .args([
            "sandbox",
            "--users",
            "2",
            "--mesh-delay",
            "1s",
            "--",
            "bash",
        ])
        .stdin(script)
        .run();
    out.code(0);
    let stdout = &out.stdout;
    assert!(
        stdout.contains("serviceentry.networking.istio.io/context-scraper-egress created"),
        "{stdout}"
    );
    assert!(stdout.contains("ALLOWED"), "{stdout}");
}

/// Runs `script` in `labctl sandbox ARGS -- bash` from the repository root: (status, stdout, stderr).
fn sandbox_bash(args: &[&str], script: &str) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = Labctl::in_repo(&[])
        .arg("sandbox")
        .args(args)
        .args(["--", "bash"])
        .env("HOME", dir.path())
        .stdin(script)
        .run();
    (out.code, out.stdout, out.stderr)
}

/// Each ingress step's failure side, the way a student sees it with curl, and the sandbox's
/// answers to a Gateway whose Secret is missing or malformed.
#[test]
fn ingress_failure_sides_missing_and_malformed_secrets() {
    let script = r#"set -u
# The sandbox shell starts in the workshop folder (labs/).
M=$PWD/manifests/istio
cd "$(mktemp -d)"
trap 'rm -rf "$PWD"' EXIT
U=user1
oc apply -n $U -f $M/serviceentry-googleapis.yaml >/dev/null
oc apply -n $U -f $M/ingress-gateway-http.yaml >/dev/null
GATEWAY_URL=$(oc get route istio-ingressgateway -n $U-istio -o jsonpath='{.spec.host}')
URL="https://$GATEWAY_URL/scrape/custom_search?term=skynet"
sleep 0.5
echo "http=$(curl -s -o /dev/null -w '%{http_code}' "http://$GATEWAY_URL/scrape/custom_search?term=skynet")"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=ca -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=$GATEWAY_URL" -keyout s.key -out s.csr 2>/dev/null
openssl x509 -req -in s.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile <(printf "subjectAltName=DNS:$GATEWAY_URL") -out s.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=client -keyout c.key -out c.csr 2>/dev/null
openssl x509 -req -in c.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile <(printf "extendedKeyUsage=clientAuth") -out c.crt 2>/dev/null
oc apply -n $U -f $M/ingress-gateway-simple.yaml >/dev/null
curl -s --cacert ca.crt -o /dev/null "$URL"; echo "missing-secret=$?"
echo "why-missing=$(kubectl get --raw /debug/state | jq -r '.ingress.tlsProblems[]')"
oc create secret generic scraper-credential -n $U-istio --from-literal=tls.crt=garbage --from-literal=tls.key=garbage >/dev/null
curl -s --cacert ca.crt -o /dev/null "$URL"; echo "malformed=$?"
echo "why-malformed=$(kubectl get --raw /debug/state | jq -r '.ingress.tlsProblems[]')"
oc delete secret scraper-credential -n $U-istio >/dev/null
oc create secret tls scraper-credential -n $U-istio --cert=s.crt --key=s.key >/dev/null
echo "simple=$(curl -s --cacert ca.crt -o /dev/null -w '%{http_code}' "$URL")"
curl -s -o /dev/null "$URL"; echo "no-ca=$?"
echo "problems-after-fix=$(kubectl get --raw /debug/state | jq -c '.ingress.tlsProblems')"
oc create secret generic scraper-credential-cacert -n $U-istio --from-file=ca.crt=ca.crt >/dev/null
oc apply -n $U -f $M/ingress-gateway-mutual.yaml >/dev/null
curl -s --cacert ca.crt -o /dev/null "$URL"; echo "no-client-cert=$?"
echo "mutual=$(curl -s --cacert ca.crt --cert c.crt --key c.key -o /dev/null -w '%{http_code}' "$URL")"
oc apply -n $U-istio -f $M/authorizationpolicy-deny-scrape.yaml >/dev/null
echo "denied=$(curl -s --cacert ca.crt --cert c.crt --key c.key -w ' %{http_code}' "$URL")"
oc delete authorizationpolicy ingress-deny-scrape -n $U-istio >/dev/null
echo "allowed=$(curl -s --cacert ca.crt --cert c.crt --key c.key -o /dev/null -w '%{http_code}' "$URL")"
DIRECT="http://context-scraper.$U:8080/scrape/custom_search?term=skynet"
oc apply -n $U -f $M/peerauthentication-strict.yaml >/dev/null
echo "outside-mesh=$(curl -s -o /dev/null -w '%{http_code}' "$DIRECT"; echo " $?")"
echo "through-mesh=$(curl -s --cacert ca.crt --cert c.crt --key c.key -o /dev/null -w '%{http_code}' "$URL")"
oc delete peerauthentication default -n $U >/dev/null
sed 's/STRICT/PERMISSIVE/' $M/peerauthentication-strict.yaml | oc apply -n $U -f - >/dev/null
oc apply -n $U-istio -f $M/peerauthentication-strict.yaml >/dev/null
echo "namespace-permissive-over-mesh-strict=$(curl -s -o /dev/null -w '%{http_code}' "$DIRECT")"
oc delete peerauthentication default -n $U >/dev/null
echo "mesh-wide-strict=$(curl -s -o /dev/null -w '%{http_code}' "$DIRECT")"
"#;
    let (code, out, err) = sandbox_bash(&["--users", "1", "--mesh-delay", "0s"], script);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let line = |key: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in {out}\n{err}"))
            .to_string()
    };
    assert_eq!(line("http"), "200");
    // No TLS for the host: the handshake fails (curl 35) and the debug state says why.
    assert_eq!(line("missing-secret"), "35");
    assert!(
        line("why-missing").contains("secret user1-istio/scraper-credential not found"),
        "{out}"
    );
    assert_eq!(line("malformed"), "35");
    assert!(line("why-malformed").contains("tls.crt"), "{out}");
    assert_eq!(line("simple"), "200");
    assert_eq!(line("no-ca"), "60");
    assert_eq!(line("problems-after-fix"), "{}");
    assert_eq!(line("no-client-cert"), "56");
    assert_eq!(line("mutual"), "200");
    assert_eq!(line("denied"), "RBAC: access denied 403");
    assert_eq!(line("allowed"), "200");
    // PeerAuthentication STRICT: no reply outside the mesh (curl 52), the gateway passes;
    // the most specific policy wins, and the control plane's namespace holds the mesh-wide one.
    assert_eq!(line("outside-mesh"), "000 52");
    assert_eq!(line("through-mesh"), "200");
    assert_eq!(line("namespace-permissive-over-mesh-strict"), "200");
    assert_eq!(line("mesh-wide-strict"), "000");
}

/// The sandbox seeds every user a run names: `--var username=user3` and `--users alice,bob`.
#[test]
fn named_users_run_on_the_sandbox() {
    for users in [
        &["--var", "username=user3"][..],
        &["--users", "alice,bob"][..],
    ] {
        let out = Labctl::run_on_sandbox("labs/securing-egress.md")
            .args(users)
            .run();
        assert_eq!(out.code, Some(0), "{users:?}: {}", out.stderr);
    }
}

/// Every element of `page` (strictly parsed as XML) with its attributes: (name, [(key, value)]).
fn elements(page: &str) -> Vec<(String, Vec<(String, String)>)> {
    use quick_xml::events::Event as Xml;
    let mut reader = quick_xml::Reader::from_str(page);
    let mut out = Vec::new();
    loop {
        match reader.read_event().expect("a well-formed page") {
            Xml::Start(e) | Xml::Empty(e) => {
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("attribute");
                        let v = a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .expect("value")
                            .to_string();
                        (String::from_utf8_lossy(a.key.as_ref()).into_owned(), v)
                    })
                    .collect();
                out.push((
                    String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                    attrs,
                ));
            }
            Xml::Text(t) => {
                t.decode().expect("text");
            }
            Xml::Eof => break,
            _ => {}
        }
    }
    out
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> &'a str {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

/// The HTML report closes the user's section with the mesh graph the sandbox's Kiali drew:
/// the blocked call is a red edge to the BlackHoleCluster, the allowed one green to the
/// ServiceEntry's host.
#[test]
fn the_html_report_draws_the_mesh_graph_of_the_egress_lab() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.html");
    let out = Labctl::run_on_sandbox("labs/securing-egress.md")
        .args([
            "--var",
            "username=user1",
            "--report",
            &format!("html={}", report.display()),
        ])
        .run();
    out.code(0);
    let page = std::fs::read_to_string(&report).unwrap();
    let svg_at = page.find("<svg").expect("a mesh graph in the report");
    assert!(
        svg_at > page.find("scrape-allowed").unwrap(),
        "the graph closes the user's section"
    );
    let els = elements(&page);
    let node = |needle: &str| {
        els.iter()
            .find(|(n, a)| n == "g" && attr(a, "data-id").contains(needle))
            .map(|(_, a)| attr(a, "data-id").to_string())
            .unwrap_or_else(|| panic!("no {needle} node in {page}"))
    };
    let blackhole = node("BlackHoleCluster");
    let outside = node("www.googleapis.com");
    let link_to = |target: &str| {
        els.iter()
            .find(|(n, a)| n == "g" && attr(a, "data-target") == target)
            .map(|(_, a)| attr(a, "class").to_string())
            .unwrap_or_else(|| panic!("no edge to {target}"))
    };
    assert_eq!(link_to(&blackhole), "link failing");
    assert_eq!(link_to(&outside), "link ok");
}

/// A run whose cluster saw no mesh traffic draws no graph.
#[test]
fn a_run_without_mesh_traffic_has_no_graph() {
    let dir = Workshop::new().page("plain.md", "# Plain\n\n```execute\necho hello\n```\n");
    let report = dir.path().join("r.html");
    let out = Labctl::in_repo(&[])
        .args([
            "run",
            &dir.path().join("plain.md").display().to_string(),
            "--sandbox",
        ])
        .arg("--report")
        .arg(format!("html={}", report.display()))
        .run();
    out.code(0);
    let err = &out.stderr;
    let page = std::fs::read_to_string(&report).unwrap();
    elements(&page);
    assert!(!page.contains("<svg"), "{page}");
    assert!(!err.contains("mesh graph"), "no warning either: {err}");
}
