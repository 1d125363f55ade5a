//! `labctl job PATH --users SPEC --image IMAGE`: prints Kubernetes manifests
//! (a YAML multi-document stream) that run the workshop for every user inside
//! the cluster, one pod per user, as a batch/v1 Indexed Job:
//!
//! - a ConfigMap `NAME-workshop` with every file under PATH (dot files and
//!   folders left out) under a flattened key (`/` becomes `__`);
//! - a Secret `NAME-secrets`: the key `labctl-users` holds one users-file line
//!   per user (`name k=v ...`, `user_index` pinned so pod i runs user i+1 with
//!   the index of the spec; lines may carry passwords), and `var-NAME` the
//!   value of each `--var NAME=V` that `--secret NAME` names, given to the pod
//!   as `LABCTL_VAR_NAME` instead of on its command line;
//! - a ServiceAccount `labctl` for the pods;
//! - the Job: completions = users, parallelism = `-j` (default 10), no retries;
//!   pod i copies the workshop to a writable folder, picks line i+1 of the
//!   users list and runs `labctl run` for that user, then prints the JSON
//!   report to stdout so `kubectl logs` + `labctl report merge` collect it.
//!   The pod succeeds when labctl ran (exit 0 or 1: failed steps are in the
//!   report); it fails only on exit 2, 3 or 130, which stops the Job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::ByteString;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EnvVar, EnvVarSource, KeyToPath, PodSpec,
    PodTemplateSpec, Secret, SecretKeySelector, SecretVolumeSource, ServiceAccount, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::cli::JobArgs;
use crate::exit_code::Exit;
use crate::plan::User;
use crate::shell::quote::quoted_if_needed;
use crate::workshop_files::{self, EntryKind, Selection};

/// Where the workshop's ConfigMap is mounted (read-only).
const WORKSHOP_MOUNT: &str = "/workshop";
/// Where the users list is mounted.
const USERS_MOUNT: &str = "/etc/labctl";
/// ConfigMap key of the users list.
const USERS_KEY: &str = "labctl-users";
/// Key prefix in the Secret for a `--secret` variable's value.
const VAR_KEY_PREFIX: &str = "var-";
/// Kubernetes refuses ConfigMaps larger than this.
const CONFIGMAP_LIMIT: usize = 1024 * 1024;

/// Why manifests could not be generated.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JobError {
    /// PATH cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file name cannot become a ConfigMap key.
    #[error(
        "{path}: cannot be a ConfigMap key (only letters, digits, `-`, `_` and `.`); rename it or use --configmap/--volume-source"
    )]
    Key {
        /// The file, relative to PATH.
        path: PathBuf,
    },
    /// Two files flatten to one key.
    #[error("{a} and {b} both become the ConfigMap key `{key}`")]
    KeyClash { a: PathBuf, b: PathBuf, key: String },
    /// `--volume-source` is not a volume source.
    #[error("--volume-source: {0}")]
    VolumeSource(String),
    /// `-j 0`.
    #[error("-j must be at least 1")]
    Parallelism,
    /// YAML serialisation failed.
    #[error("cannot write YAML: {0}")]
    Yaml(String),
}

/// Files of the workshop: ConfigMap key, path relative to PATH, contents.
type Files = Vec<(String, PathBuf, Vec<u8>)>;

/// `a/b.md` → `a__b.md`; None when the result is not a valid ConfigMap key.
pub(crate) fn flat_key(rel: &Path) -> Option<String> {
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_str().map(str::to_string))
        .collect::<Option<_>>()?;
    let key = parts.join("__");
    let valid = !key.is_empty()
        && key.len() <= 253
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    valid.then_some(key)
}

fn walk(root: &Path, out: &mut Files) -> Result<(), JobError> {
    let selection = Selection { skip_hidden: true };
    let list = workshop_files::entries(root, selection).map_err(|e| JobError::Read {
        path: root.to_path_buf(),
        source: std::io::Error::other(e.source),
    })?;
    for e in list {
        let path = root.join(&e.rel);
        // A link is read through, as `cp -L` would; one to a folder or a special file is not.
        let is_file = match e.kind {
            EntryKind::File => true,
            EntryKind::Symlink => std::fs::metadata(&path).is_ok_and(|m| m.is_file()),
            EntryKind::Dir => false,
        };
        if is_file {
            push_file(root, &path, out)?;
        }
    }
    Ok(())
}

fn push_file(root: &Path, path: &Path, out: &mut Files) -> Result<(), JobError> {
    let rel = path.strip_prefix(root).unwrap_or(path).to_path_buf();
    let key = flat_key(&rel).ok_or_else(|| JobError::Key { path: rel.clone() })?;
    if let Some((_, other, _)) = out.iter().find(|(k, _, _)| *k == key) {
        return Err(JobError::KeyClash {
            a: other.clone(),
            b: rel,
            key,
        });
    }
    let bytes = std::fs::read(path).map_err(|source| JobError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    out.push((key, rel, bytes));
    Ok(())
}

/// Every file under `path` (or `path` itself when it is a file).
fn workshop_files(path: &Path) -> Result<Files, JobError> {
    let mut files = Vec::new();
    let meta = std::fs::metadata(path).map_err(|source| JobError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_dir() {
        walk(path, &mut files)?;
    } else {
        let dir = path.parent().unwrap_or(Path::new(""));
        push_file(dir, path, &mut files)?;
    }
    Ok(files)
}

/// The pod's script: pick this pod's user, run, print the report, keep the status.
fn script(run_path: &str, extra: &[String]) -> String {
    let extra: String = extra
        .iter()
        .map(|a| format!(" {}", quoted_if_needed(a)))
        .collect();
    format!(
        r#"set -u
line=$((JOB_COMPLETION_INDEX + 1))
sed -n "${{line}}p" {USERS_MOUNT}/users.txt > /tmp/user.txt
if [ ! -s /tmp/user.txt ]; then echo "labctl job: no user for index $JOB_COMPLETION_INDEX" >&2; exit 2; fi
# The ConfigMap mount is read-only; steps may write beside the labs.
# `*` leaves out the mount's own `..data` links.
mkdir -p /tmp/workshop && cp -rL {WORKSHOP_MOUNT}/* /tmp/workshop/
cd /tmp/workshop
labctl --color never run {run_path} --users @/tmp/user.txt --report json=/tmp/report.json{extra}
status=$?
if [ -f /tmp/report.json ]; then cat /tmp/report.json; fi
# A failed step is a result (it is in the report), not a pod failure: with
# backoffLimit 0 one failed pod would stop every other user's pod.
if [ "$status" -eq 1 ]; then exit 0; fi
exit $status
"#
    )
}

/// The run arguments without the values of `--secret` variables, and those
/// values (name, value): they go to the Secret, never the pod's command line.
fn split_secret_vars(run_args: &[String]) -> (Vec<String>, Vec<(String, String)>) {
    let mut names = Vec::new();
    let mut it = run_args.iter();
    while let Some(a) = it.next() {
        if a == "--secret" {
            names.extend(it.next().cloned());
        } else if let Some(n) = a.strip_prefix("--secret=") {
            names.push(n.to_string());
        }
    }
    let mut kept = Vec::new();
    let mut secret = Vec::new();
    let mut it = run_args.iter().peekable();
    while let Some(a) = it.next() {
        let (value, joined) = match a.strip_prefix("--var=") {
            Some(v) => (Some(v.to_string()), true),
            None if a == "--var" => (it.peek().map(|v| v.to_string()), false),
            None => (None, false),
        };
        let hidden = value
            .as_deref()
            .and_then(|v| v.split_once('='))
            .filter(|(k, _)| names.iter().any(|n| n == k));
        match hidden {
            Some((k, v)) => {
                secret.push((k.to_string(), v.to_string()));
                if !joined {
                    it.next();
                }
            }
            None => kept.push(a.clone()),
        }
    }
    (kept, secret)
}

fn meta(name: &str, namespace: &Option<String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.clone(),
        labels: Some(managed_by()),
        ..ObjectMeta::default()
    }
}

fn managed_by() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "app.kubernetes.io/managed-by".to_string(),
        "labctl".to_string(),
    )])
}

/// The manifests as a YAML multi-document stream.
pub(crate) fn manifests(args: &JobArgs) -> Result<String, JobError> {
    if args.jobs == 0 {
        return Err(JobError::Parallelism);
    }
    let users = &args.users.0;
    let cm_name = format!("{}-workshop", args.name);
    let secret_name = format!("{}-secrets", args.name);
    let (run_args, secret_vars) = split_secret_vars(&args.run_args);
    // Users-file lines may carry passwords: the list lives in the Secret.
    let mut secret_data = BTreeMap::from([(USERS_KEY.to_string(), users_file(users))]);
    let mut env = vec![EnvVar {
        name: "NO_COLOR".into(),
        value: Some("1".into()),
        ..EnvVar::default()
    }];
    for (name, value) in &secret_vars {
        let key = format!("{VAR_KEY_PREFIX}{name}");
        env.push(secret_env(&secret_name, name, &key));
        secret_data.insert(key, value.clone());
    }
    let mounted = mounted_workshop(args, &cm_name)?;
    let config_map = config_map(&cm_name, &args.namespace, mounted.files);
    let secret = Secret {
        metadata: meta(&secret_name, &args.namespace),
        string_data: Some(secret_data),
        type_: Some("Opaque".into()),
        ..Secret::default()
    };
    let account = ServiceAccount {
        metadata: meta("labctl", &args.namespace),
        ..ServiceAccount::default()
    };
    let container = Container {
        name: "labctl".into(),
        image: Some(args.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec![
            "sh".into(),
            "-c".into(),
            script(&mounted.run_path, &run_args),
        ]),
        env: Some(env),
        volume_mounts: Some(vec![
            read_only_mount("workshop", WORKSHOP_MOUNT),
            read_only_mount("users", USERS_MOUNT),
        ]),
        ..Container::default()
    };
    let volumes = vec![mounted.volume, users_volume(&secret_name)];
    let job = job(args, users.len() as i32, container, volumes);
    let docs = [
        to_yaml(&config_map)?,
        to_yaml(&secret)?,
        to_yaml(&account)?,
        to_yaml(&job)?,
    ];
    Ok(docs.join("---\n"))
}

/// One users-file line per user: `name k=v ...`.
fn users_file(users: &[User]) -> String {
    users
        .iter()
        .map(|u| {
            let mut line = u.name.clone();
            let mut vars = u.vars.clone();
            // Each pod runs a one-user spec; pin the index the full spec gives.
            vars.insert("user_index".into(), u.index.to_string());
            for (k, v) in &vars {
                line.push_str(&format!(" {k}={v}"));
            }
            line + "\n"
        })
        .collect()
}

/// `LABCTL_VAR_NAME` read from the Secret's `key`.
fn secret_env(secret_name: &str, name: &str, key: &str) -> EnvVar {
    EnvVar {
        name: format!("LABCTL_VAR_{name}"),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret_name.to_string(),
                key: key.to_string(),
                ..SecretKeySelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// The workshop as the pods see it.
struct Mounted {
    /// The `workshop` volume.
    volume: Volume,
    /// What each pod passes to `labctl run`.
    run_path: String,
    /// The files the generated ConfigMap carries (none with
    /// `--volume-source` or `--configmap`).
    files: Files,
}

/// The `workshop` volume: `--volume-source`, `--configmap`, or a ConfigMap of PATH's files.
fn mounted_workshop(args: &JobArgs, cm_name: &str) -> Result<Mounted, JobError> {
    // A copy of the mount is what runs: the mount itself is read-only.
    let copied = "/tmp/workshop".to_string();
    if let Some(json) = &args.volume_source {
        return Ok(Mounted {
            volume: volume_from_json(json)?,
            run_path: copied,
            files: Vec::new(),
        });
    }
    if let Some(existing) = &args.configmap {
        return Ok(Mounted {
            volume: config_map_volume(existing, None),
            run_path: copied,
            files: Vec::new(),
        });
    }
    let files = workshop_files(&args.path)?;
    let total: usize = files.iter().map(|(_, _, b)| b.len()).sum();
    if total > CONFIGMAP_LIMIT * 9 / 10 {
        eprintln!(
            "warning: the workshop's files take {total} bytes; a ConfigMap holds at most 1 MiB (use --volume-source)"
        );
    }
    let items = key_paths(&files);
    // A single lab file is run by name; a folder as the workshop.
    let run_path = if args.path.is_file() {
        format!("/tmp/workshop/{}", items[0].path)
    } else {
        copied
    };
    Ok(Mounted {
        volume: config_map_volume(cm_name, Some(items)),
        run_path,
        files,
    })
}

/// `--volume-source JSON` as the `workshop` volume.
fn volume_from_json(json: &str) -> Result<Volume, JobError> {
    let mut v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| JobError::VolumeSource(e.to_string()))?;
    let Some(obj) = v.as_object_mut() else {
        return Err(JobError::VolumeSource(
            "must be a JSON object such as {\"persistentVolumeClaim\": {\"claimName\": \"labs\"}}"
                .into(),
        ));
    };
    obj.insert("name".into(), "workshop".into());
    serde_json::from_value(v).map_err(|e| JobError::VolumeSource(e.to_string()))
}

fn config_map_volume(name: &str, items: Option<Vec<KeyToPath>>) -> Volume {
    Volume {
        name: "workshop".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: name.to_string(),
            items,
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// Where each ConfigMap key lands under the mount.
fn key_paths(files: &Files) -> Vec<KeyToPath> {
    files
        .iter()
        .map(|(key, rel, _)| KeyToPath {
            key: key.clone(),
            path: rel.to_string_lossy().into_owned(),
            ..KeyToPath::default()
        })
        .collect()
}

/// The ConfigMap of the workshop's files: text as data, the rest as binary
/// data, and the key-to-path map in an annotation.
fn config_map(name: &str, namespace: &Option<String>, files: Files) -> ConfigMap {
    let paths: BTreeMap<String, String> = key_paths(&files)
        .into_iter()
        .map(|i| (i.key, i.path))
        .collect();
    let mut data = BTreeMap::new();
    let mut binary = BTreeMap::new();
    for (key, _, bytes) in files {
        match String::from_utf8(bytes) {
            Ok(text) => {
                data.insert(key, text);
            }
            Err(e) => {
                binary.insert(key, ByteString(e.into_bytes()));
            }
        }
    }
    let mut metadata = meta(name, namespace);
    metadata.annotations = Some(BTreeMap::from([(
        "labctl.dev/files".to_string(),
        serde_json::to_string(&paths).unwrap_or_default(),
    )]));
    ConfigMap {
        metadata,
        data: Some(data),
        binary_data: (!binary.is_empty()).then_some(binary),
        ..ConfigMap::default()
    }
}

fn read_only_mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: Some(true),
        ..VolumeMount::default()
    }
}

/// The users list, from the Secret, as `users.txt`.
fn users_volume(secret_name: &str) -> Volume {
    Volume {
        name: "users".into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret_name.to_string()),
            items: Some(vec![KeyToPath {
                key: USERS_KEY.into(),
                path: "users.txt".into(),
                ..KeyToPath::default()
            }]),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// The Indexed Job: one completion per user, `-j` at once, no retries.
fn job(args: &JobArgs, count: i32, container: Container, volumes: Vec<Volume>) -> Job {
    Job {
        metadata: meta(&args.name, &args.namespace),
        spec: Some(JobSpec {
            completion_mode: Some("Indexed".into()),
            completions: Some(count),
            parallelism: Some((args.jobs as i32).min(count.max(1))),
            backoff_limit: Some(0),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(managed_by()),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    service_account_name: Some("labctl".into()),
                    containers: vec![container],
                    volumes: Some(volumes),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    }
}

fn to_yaml<T: serde::Serialize>(v: &T) -> Result<String, JobError> {
    let mut s = serde_saphyr::to_string(v).map_err(|e| JobError::Yaml(e.to_string()))?;
    if !s.ends_with('\n') {
        s.push('\n');
    }
    Ok(s)
}

/// Runs `labctl job`.
pub(crate) fn run(args: &JobArgs) -> Exit {
    match manifests(args) {
        Ok(yaml) => {
            crate::stdout::print(&yaml);
            Exit::Success
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::BadInput
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keys() {
        assert_eq!(flat_key(Path::new("a/b.md")).as_deref(), Some("a__b.md"));
        assert_eq!(
            flat_key(Path::new("book.toml")).as_deref(),
            Some("book.toml")
        );
        assert_eq!(flat_key(Path::new("a b.md")), None);
    }

    #[test]
    fn secret_vars_leave_the_command_line() {
        let args: Vec<String> = [
            "--secret",
            "tok",
            "--var",
            "tok=hunter22",
            "--var=a=b",
            "--var=tok=x2",
        ]
        .map(String::from)
        .into();
        let (kept, secret) = split_secret_vars(&args);
        assert_eq!(kept, ["--secret", "tok", "--var=a=b"]);
        assert_eq!(
            secret,
            [
                ("tok".into(), "hunter22".into()),
                ("tok".into(), "x2".into())
            ]
        );
    }
}
