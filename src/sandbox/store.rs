//! The in-memory object store: one global resourceVersion, a change log for watches.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::ids;
use super::mesh::{self, MESH_CONFIGMAP, Mesh, MeshView};
use super::select::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::types::{self, ResourceType};

/// How many past changes a watch may resume from.
const LOG_CAPACITY: usize = 20_000;

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChangeKind {
    /// Created.
    Added,
    /// Updated or patched.
    Modified,
    Deleted,
}

impl ChangeKind {
    /// The watch event `type`.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        }
    }
}

/// One committed change, as watches see it.
#[derive(Debug)]
pub(super) struct Change {
    /// resourceVersion of the change.
    pub rv: u64,
    /// Type of the changed object.
    pub rtype: &'static ResourceType,
    /// What happened.
    pub kind: ChangeKind,
    /// The object after the change (before it, for deletes).
    pub object: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    group: &'static str,
    plural: &'static str,
    ns: String,
    name: String,
}

impl Key {
    fn new(rt: &'static ResourceType, ns: Option<&str>, name: &str) -> Key {
        Key {
            group: rt.group,
            plural: rt.plural,
            ns: ns.unwrap_or_default().to_string(),
            name: name.to_string(),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    log: VecDeque<Arc<Change>>,
}

/// Where a watch starts.
#[derive(Debug)]
pub(super) struct WatchStart {
    /// Changes to send first (synthetic ADDED events or replayed history), already filtered by type.
    pub initial: Vec<Arc<Change>>,
    /// The resourceVersion the initial events bring the client to.
    pub rv: u64,
    /// Live changes after `rv`.
    pub rx: broadcast::Receiver<Arc<Change>>,
}

/// The store shared by the API server, the proxy and the seeder.
#[derive(Debug)]
pub(super) struct Store {
    inner: Mutex<Inner>,
    changes: broadcast::Sender<Arc<Change>>,
    mesh: Arc<Mesh>,
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Everything but metadata and status: a change here bumps `metadata.generation`.
fn content(obj: &Value) -> Value {
    let mut c = obj.clone();
    if let Value::Object(m) = &mut c {
        m.remove("metadata");
        m.remove("status");
        m.remove("apiVersion");
    }
    c
}

/// Pretends a controller rolled the Deployment out at once, so `rollout status` and
/// readiness checks see a healthy workload.
fn reconcile_deployment(obj: &mut Value) {
    let generation = obj
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let n = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    obj["status"] = json!({
        "observedGeneration": generation,
        "replicas": n, "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
             "message": "Deployment has minimum availability."},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": "ReplicaSet has successfully progressed."}
        ]
    });
}

impl Store {
    /// An empty store feeding `mesh`.
    pub(super) fn new(mesh: Arc<Mesh>) -> Store {
        let (changes, _) = broadcast::channel(4096);
        Store {
            inner: Mutex::new(Inner::default()),
            changes,
            mesh,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-written object (writes are single
        // inserts), so the state is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The object, with `apiVersion` as stored (the preferred version).
    pub(super) fn get(
        &self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        self.lock()
            .objects
            .get(&Key::new(rt, ns, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, name))
    }

    /// Matching objects in `ns` (all namespaces when `None`) and the list's resourceVersion.
    pub(super) fn list(
        &self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> (Vec<Value>, u64) {
        let inner = self.lock();
        let items = inner
            .objects
            .iter()
            .filter(|(k, _)| k.group == rt.group && k.plural == rt.plural)
            .filter(|(k, _)| ns.is_none_or(|n| k.ns == n))
            .filter(|(_, v)| labels.matches(v) && fields.matches(v))
            .map(|(_, v)| v.clone())
            .collect();
        (items, inner.rv)
    }

    /// Commits `obj` under `key` and tells watches and the mesh.
    fn commit(
        &self,
        inner: &mut Inner,
        rt: &'static ResourceType,
        key: Key,
        kind: ChangeKind,
        mut obj: Value,
    ) -> Value {
        inner.rv += 1;
        let rv = inner.rv;
        if kind != ChangeKind::Deleted {
            obj["metadata"]["resourceVersion"] = json!(rv.to_string());
            inner.objects.insert(key.clone(), obj.clone());
        } else {
            inner.objects.remove(&key);
        }
        let change = Arc::new(Change {
            rv,
            rtype: rt,
            kind,
            object: obj.clone(),
        });
        inner.log.push_back(change.clone());
        if inner.log.len() > LOG_CAPACITY {
            inner.log.pop_front();
        }
        // No receivers is fine: nobody is watching.
        let _ = self.changes.send(change);
        self.update_mesh(inner, rt, &key);
        obj
    }

    /// Recomputes the mesh view of the user whose mesh inputs `key` touches.
    fn update_mesh(&self, inner: &Inner, rt: &'static ResourceType, key: &Key) {
        let user = match (rt.group, rt.plural) {
            ("", "configmaps") if key.name == MESH_CONFIGMAP => match key.ns.strip_suffix("-istio")
            {
                Some(u) => u.to_string(),
                None => return,
            },
            ("networking.istio.io", "serviceentries") => key.ns.clone(),
            _ => return,
        };
        let cm_key = Key::new(
            types::by_kind("", "ConfigMap").unwrap_or(&types::TYPES[1]),
            Some(&format!("{user}-istio")),
            MESH_CONFIGMAP,
        );
        let mode = match mesh::mode_from_configmap(inner.objects.get(&cm_key)) {
            Some(m) => m,
            None => self
                .mesh
                .latest(&user)
                .map(|v| v.mode)
                .unwrap_or_else(|| "ALLOW_ANY".into()),
        };
        let registry = inner
            .objects
            .iter()
            .filter(|(k, _)| {
                k.group == "networking.istio.io" && k.plural == "serviceentries" && k.ns == user
            })
            .flat_map(|(_, v)| mesh::registry_entries(v))
            .collect();
        self.mesh.record(&user, MeshView { mode, registry });
    }

    fn check_body(rt: &'static ResourceType, obj: &Value) -> Result<(), ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request is not a JSON object",
            ));
        }
        if let Some(kind) = obj.get("kind").and_then(Value::as_str)
            && kind != rt.kind
        {
            return Err(ApiError::bad_request(format!(
                "the kind {kind:?} in the body does not match the resource {:?} ({})",
                rt.plural, rt.kind
            )));
        }
        Ok(())
    }

    /// What create and replace ask of a body alike: the right kind, a
    /// metadata map, and the namespace of the URL.
    fn prepare_body(
        rt: &'static ResourceType,
        ns: Option<&str>,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        Self::check_body(rt, obj)?;
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        Self::normalise_ns(rt, ns, obj)
    }

    fn normalise_ns(
        rt: &'static ResourceType,
        ns: Option<&str>,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        if !rt.namespaced {
            if let Some(m) = obj["metadata"].as_object_mut() {
                m.remove("namespace");
            }
            return Ok(());
        }
        let Some(ns) = ns else {
            return Err(ApiError::bad_request(
                "a namespaced object needs a namespace in the path",
            ));
        };
        match obj.pointer("/metadata/namespace").and_then(Value::as_str) {
            Some(n) if !n.is_empty() && n != ns => Err(ApiError::bad_request(format!(
                "the namespace of the provided object ({n}) does not match the namespace sent on the request ({ns})"
            ))),
            _ => {
                obj["metadata"]["namespace"] = json!(ns);
                Ok(())
            }
        }
    }

    /// Creates an object (POST); 409 if it exists, 404 if its namespace does not.
    pub(super) fn create(
        &self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        obj: Value,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        self.create_in(&mut inner, rt, ns, obj)
    }

    fn create_in(
        &self,
        inner: &mut Inner,
        rt: &'static ResourceType,
        ns: Option<&str>,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        Self::prepare_body(rt, ns, &mut obj)?;
        let name = match obj.pointer("/metadata/name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => match obj
                .pointer("/metadata/generateName")
                .and_then(Value::as_str)
            {
                Some(g) => format!("{g}{}", ids::name_suffix()),
                None => {
                    return Err(ApiError::invalid(
                        rt.kind,
                        "",
                        "metadata.name: Required value: name or generateName is required",
                    ));
                }
            },
        };
        if !valid_name(&name) {
            return Err(ApiError::invalid(
                rt.kind,
                &name,
                &format!(
                    "metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                ),
            ));
        }
        if let Some(ns) = ns.filter(|_| rt.namespaced) {
            let ns_type = &types::TYPES[0];
            if !inner.objects.contains_key(&Key::new(ns_type, None, ns)) {
                return Err(ApiError::not_found("", "namespaces", ns));
            }
        }
        let key = Key::new(rt, ns.filter(|_| rt.namespaced), &name);
        if inner.objects.contains_key(&key) {
            return Err(ApiError::already_exists(rt.group, rt.plural, &name));
        }
        obj["apiVersion"] = json!(rt.api_version(rt.versions[0]));
        obj["kind"] = json!(rt.kind);
        let meta = &mut obj["metadata"];
        meta["name"] = json!(name);
        meta["uid"] = json!(ids::uuid());
        meta["creationTimestamp"] = json!(now_rfc3339());
        meta["generation"] = json!(1);
        if let Some(m) = meta.as_object_mut() {
            m.remove("resourceVersion");
            m.remove("deletionTimestamp");
        }
        // apiVersion, kind and metadata first, as the real server writes them.
        if let Value::Object(m) = &mut obj {
            for key in ["metadata", "kind", "apiVersion"] {
                if let Some(v) = m.shift_remove(key) {
                    m.shift_insert(0, key.to_string(), v);
                }
            }
        }
        if rt.plural == "namespaces" {
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
        }
        if rt.plural == "deployments" {
            reconcile_deployment(&mut obj);
        }
        Ok(self.commit(inner, rt, key, ChangeKind::Added, obj))
    }

    /// Replaces an object (PUT); 409 on a stale resourceVersion.
    pub(super) fn update(
        &self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
        obj: Value,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        self.update_in(&mut inner, rt, ns, name, obj)
    }

    fn update_in(
        &self,
        inner: &mut Inner,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        Self::prepare_body(rt, ns, &mut obj)?;
        if let Some(n) = obj.pointer("/metadata/name").and_then(Value::as_str)
            && n != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        obj["metadata"]["name"] = json!(name);
        let key = Key::new(rt, ns.filter(|_| rt.namespaced), name);
        let Some(old) = inner.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(rt.group, rt.plural, name));
        };
        if let Some(rv) = obj
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            && !rv.is_empty()
            && Some(rv)
                != old
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
        {
            return Err(ApiError::conflict(rt.group, rt.plural, name));
        }
        let obj = Self::carry_over(rt, &old, obj);
        Ok(self.commit(inner, rt, key, ChangeKind::Modified, obj))
    }

    /// Keeps the server-owned fields of `old` in the new version and bumps the generation.
    fn carry_over(rt: &'static ResourceType, old: &Value, mut obj: Value) -> Value {
        obj["apiVersion"] = json!(rt.api_version(rt.versions[0]));
        obj["kind"] = json!(rt.kind);
        for f in ["uid", "creationTimestamp", "generation"] {
            obj["metadata"][f] = old["metadata"][f].clone();
        }
        if content(old) != content(&obj) {
            let g = old
                .pointer("/metadata/generation")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            obj["metadata"]["generation"] = json!(g + 1);
        }
        if rt.plural == "deployments" {
            reconcile_deployment(&mut obj);
        }
        obj
    }

    /// Applies `f` to the stored object (PATCH); `create_missing` makes a missing object from an
    /// empty one instead of failing with 404 (server-side apply).
    pub(super) fn patch(
        &self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
        create_missing: bool,
        f: impl FnOnce(&mut Value) -> Result<(), ApiError>,
    ) -> Result<Value, ApiError> {
        // One lock for read-modify-write: concurrent patches never see a spurious conflict.
        let mut inner = self.lock();
        let existing = inner
            .objects
            .get(&Key::new(rt, ns.filter(|_| rt.namespaced), name))
            .cloned();
        let Some(old) = existing else {
            if !create_missing {
                return Err(ApiError::not_found(rt.group, rt.plural, name));
            }
            let mut obj = json!({"metadata": {"name": name}});
            f(&mut obj)?;
            return self.create_in(&mut inner, rt, ns, obj);
        };
        let mut obj = old.clone();
        f(&mut obj)?;
        // The patch may not carry a resourceVersion; when it does, it must be current.
        let patched_rv = obj.pointer("/metadata/resourceVersion").cloned();
        if patched_rv.is_some() && patched_rv != old.pointer("/metadata/resourceVersion").cloned() {
            return Err(ApiError::conflict(rt.group, rt.plural, name));
        }
        self.update_in(&mut inner, rt, ns, name, obj)
    }

    /// Deletes an object (and, for a namespace, everything in it); returns the deleted object.
    pub(super) fn delete(
        &self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let key = Key::new(rt, ns.filter(|_| rt.namespaced), name);
        let Some(obj) = inner.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(rt.group, rt.plural, name));
        };
        if rt.plural == "namespaces" {
            let inside: Vec<(Key, Value)> = inner
                .objects
                .iter()
                .filter(|(k, _)| k.ns == name)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for (k, v) in inside {
                let kt = types::TYPES
                    .iter()
                    .find(|t| t.group == k.group && t.plural == k.plural)
                    .unwrap_or(rt);
                self.commit(&mut inner, kt, k, ChangeKind::Deleted, v);
            }
        }
        Ok(self.commit(&mut inner, rt, key, ChangeKind::Deleted, obj))
    }

    /// Starts a watch on `rt` in `ns`: from `since` (replaying the log) or, when `None`, with a
    /// synthetic ADDED event per existing object. 410 Gone when `since` is no longer in the log.
    pub(super) fn watch(
        &self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        since: Option<u64>,
    ) -> Result<WatchStart, ApiError> {
        let inner = self.lock();
        let rx = self.changes.subscribe();
        let same_type = |c: &Change| c.rtype.group == rt.group && c.rtype.plural == rt.plural;
        let in_ns = |v: &Value| {
            ns.is_none_or(|n| v.pointer("/metadata/namespace").and_then(Value::as_str) == Some(n))
        };
        let initial = match since {
            Some(rv) => {
                if let Some(first) = inner.log.front()
                    && rv + 1 < first.rv
                {
                    return Err(ApiError::gone(rv));
                }
                inner
                    .log
                    .iter()
                    .filter(|c| c.rv > rv && same_type(c) && in_ns(&c.object))
                    .cloned()
                    .collect()
            }
            None => inner
                .objects
                .iter()
                .filter(|(k, v)| k.group == rt.group && k.plural == rt.plural && in_ns(v))
                .map(|(_, v)| {
                    let rv = v
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    Arc::new(Change {
                        rv,
                        rtype: rt,
                        kind: ChangeKind::Added,
                        object: v.clone(),
                    })
                })
                .collect(),
        };
        Ok(WatchStart {
            initial,
            rv: inner.rv,
            rx,
        })
    }

    /// Every stored object, grouped by `apiVersion/kind`, for `/debug/state`.
    pub(super) fn dump(&self) -> Value {
        let inner = self.lock();
        let mut by_type = serde_json::Map::new();
        for (k, v) in &inner.objects {
            let label = if k.group.is_empty() {
                k.plural.to_string()
            } else {
                format!("{}.{}", k.plural, k.group)
            };
            let entry = by_type.entry(label).or_insert_with(|| json!([]));
            if let Value::Array(a) = entry {
                a.push(v.clone());
            }
        }
        json!({"resourceVersion": inner.rv.to_string(), "objects": by_type, "mesh": self.mesh.dump()})
    }
}
