//! The resource types the sandbox API server knows, as one table.

/// One kind of resource served by the sandbox.
#[derive(Debug)]
pub(super) struct ResourceType {
    /// API group ("" for the core group).
    pub group: &'static str,
    /// Served versions, preferred first; all share one stored object.
    pub versions: &'static [&'static str],
    /// Kind, e.g. `ConfigMap`.
    pub kind: &'static str,
    /// Plural resource name used in URLs, e.g. `configmaps`.
    pub plural: &'static str,
    /// Singular resource name, e.g. `configmap`.
    pub singular: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Short names kubectl accepts, e.g. `cm`.
    pub short_names: &'static [&'static str],
    /// Categories, e.g. `all`.
    pub categories: &'static [&'static str],
}

const ISTIO_NET: &[&str] = &["v1", "v1beta1", "v1alpha3"];
const ISTIO_SEC: &[&str] = &["v1", "v1beta1"];
const ISTIO_CAT: &[&str] = &["istio-io", "networking-istio-io"];
const ISTIO_SEC_CAT: &[&str] = &["istio-io", "security-istio-io"];

macro_rules! rt {
    ($g:expr, $v:expr, $k:expr, $p:expr, $s:expr, $ns:expr, $short:expr, $cat:expr) => {
        ResourceType {
            group: $g,
            versions: $v,
            kind: $k,
            plural: $p,
            singular: $s,
            namespaced: $ns,
            short_names: $short,
            categories: $cat,
        }
    };
}

/// Every type the sandbox serves.
pub(super) static TYPES: &[ResourceType] = &[
    rt!(
        "",
        &["v1"],
        "Namespace",
        "namespaces",
        "namespace",
        false,
        &["ns"],
        &[]
    ),
    rt!(
        "",
        &["v1"],
        "ConfigMap",
        "configmaps",
        "configmap",
        true,
        &["cm"],
        &[]
    ),
    rt!("", &["v1"], "Secret", "secrets", "secret", true, &[], &[]),
    // `labctl job` manifests create one; stored like any other object.
    rt!(
        "",
        &["v1"],
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        true,
        &["sa"],
        &[]
    ),
    rt!(
        "",
        &["v1"],
        "Service",
        "services",
        "service",
        true,
        &["svc"],
        &["all"]
    ),
    rt!("", &["v1"], "Pod", "pods", "pod", true, &["po"], &["all"]),
    rt!("", &["v1"], "Event", "events", "event", true, &["ev"], &[]),
    rt!(
        "apps",
        &["v1"],
        "Deployment",
        "deployments",
        "deployment",
        true,
        &["deploy"],
        &["all"]
    ),
    rt!("batch", &["v1"], "Job", "jobs", "job", true, &[], &["all"]),
    rt!(
        "networking.istio.io",
        ISTIO_NET,
        "ServiceEntry",
        "serviceentries",
        "serviceentry",
        true,
        &["se"],
        ISTIO_CAT
    ),
    rt!(
        "networking.istio.io",
        ISTIO_NET,
        "VirtualService",
        "virtualservices",
        "virtualservice",
        true,
        &["vs"],
        ISTIO_CAT
    ),
    rt!(
        "networking.istio.io",
        ISTIO_NET,
        "DestinationRule",
        "destinationrules",
        "destinationrule",
        true,
        &["dr"],
        ISTIO_CAT
    ),
    rt!(
        "networking.istio.io",
        ISTIO_NET,
        "Gateway",
        "gateways",
        "gateway",
        true,
        &["gw"],
        ISTIO_CAT
    ),
    rt!(
        "networking.istio.io",
        ISTIO_NET,
        "Sidecar",
        "sidecars",
        "sidecar",
        true,
        &[],
        ISTIO_CAT
    ),
    rt!(
        "security.istio.io",
        ISTIO_SEC,
        "PeerAuthentication",
        "peerauthentications",
        "peerauthentication",
        true,
        &["pa"],
        ISTIO_SEC_CAT
    ),
    rt!(
        "security.istio.io",
        ISTIO_SEC,
        "AuthorizationPolicy",
        "authorizationpolicies",
        "authorizationpolicy",
        true,
        &["ap"],
        ISTIO_SEC_CAT
    ),
    rt!(
        "route.openshift.io",
        &["v1"],
        "Route",
        "routes",
        "route",
        true,
        &[],
        &[]
    ),
];

/// The verbs every type supports, as discovery reports them.
pub(super) const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// The API groups in discovery order (core group first).
pub(super) fn groups() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for t in TYPES {
        if !out.contains(&t.group) {
            out.push(t.group);
        }
    }
    out
}

/// The versions a group serves, preferred first.
pub(super) fn group_versions(group: &str) -> Option<&'static [&'static str]> {
    TYPES.iter().find(|t| t.group == group).map(|t| t.versions)
}

/// The type served at `group/version` under `plural`, if any.
pub(super) fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    TYPES
        .iter()
        .find(|t| t.group == group && t.plural == plural && t.versions.contains(&version))
}

/// The type with this kind in `group` (any version).
pub(super) fn by_kind(group: &str, kind: &str) -> Option<&'static ResourceType> {
    TYPES.iter().find(|t| t.group == group && t.kind == kind)
}

impl ResourceType {
    /// `apiVersion` for `version` of this type.
    pub(super) fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{}", self.group, version)
        }
    }
}
