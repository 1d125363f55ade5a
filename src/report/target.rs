//! Where a report may be written, decided before anything runs, and the atomic
//! write itself (a recognisable temp file beside the target, then a rename).

use std::fs::FileType;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use super::{ReportError, ReportTarget};

/// Why a report target is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TargetError {
    /// The folder it would go in does not exist.
    #[error("--report {path}: the folder {dir} does not exist; create it first")]
    NoFolder {
        /// Target.
        path: PathBuf,
        /// Its parent folder.
        dir: PathBuf,
    },
    /// The folder exists but a file cannot be created in it.
    #[error("--report {path}: cannot write in {dir}: {source}")]
    Unwritable {
        /// Target.
        path: PathBuf,
        /// Its parent folder.
        dir: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Something other than a regular file is there.
    #[error("--report {path} is {what}; a report replaces only a regular file, give another path")]
    NotAFile {
        /// Target.
        path: PathBuf,
        /// What is there.
        what: &'static str,
    },
    /// It is one of the lab pages being run.
    #[error("--report {path} is a lab page of this run; give another path")]
    InputPage {
        /// Target.
        path: PathBuf,
    },
    /// Two reports would go to one file.
    #[error("--report {path} is named twice; give each report its own file")]
    Twice {
        /// Target.
        path: PathBuf,
    },
}

/// Refuses every target a report must not replace (see README, "Reports").
/// `inputs` are the files the run reads (lab pages).
pub(crate) fn check_targets(
    targets: &[ReportTarget],
    inputs: &[PathBuf],
) -> Result<(), TargetError> {
    let inputs: Vec<PathBuf> = inputs
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    let mut seen: Vec<PathBuf> = Vec::new();
    for t in targets {
        // `github` writes to stdout and $GITHUB_STEP_SUMMARY, never to a target of its own.
        if t.format == super::ReportFormat::Github {
            continue;
        }
        let path = t.path.clone();
        let dir = folder_of(&t.path);
        match std::fs::symlink_metadata(&t.path) {
            Ok(m) => {
                if let Some(what) = not_a_file(m.file_type()) {
                    return Err(TargetError::NotAFile { path, what });
                }
                let canon = t.path.canonicalize().unwrap_or_else(|_| t.path.clone());
                if inputs.contains(&canon) {
                    return Err(TargetError::InputPage { path });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) if !dir.is_dir() => return Err(TargetError::NoFolder { path, dir }),
            Err(source) => return Err(TargetError::Unwritable { path, dir, source }),
        }
        if !dir.is_dir() {
            return Err(TargetError::NoFolder { path, dir });
        }
        // A real probe, not access(2): it also sees read-only mounts when run as root.
        if let Err(source) = temp_beside(&t.path) {
            return Err(TargetError::Unwritable { path, dir, source });
        }
        let key = dir
            .canonicalize()
            .unwrap_or(dir)
            .join(t.path.file_name().unwrap_or_default());
        if seen.contains(&key) {
            return Err(TargetError::Twice { path });
        }
        seen.push(key);
    }
    Ok(())
}

fn not_a_file(ft: FileType) -> Option<&'static str> {
    if ft.is_file() {
        None
    } else if ft.is_symlink() {
        Some("a symbolic link")
    } else if ft.is_dir() {
        Some("a directory")
    } else if ft.is_fifo() {
        Some("a FIFO")
    } else if ft.is_socket() {
        Some("a socket")
    } else if ft.is_char_device() || ft.is_block_device() {
        Some("a device")
    } else {
        Some("not a regular file")
    }
}

fn folder_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// `.labctl-NAME-XXXXXX.tmp` in the target's folder; removed when dropped.
fn temp_beside(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".labctl-{name}-"))
        .suffix(".tmp")
        .tempfile_in(folder_of(path))
}

/// Writes `bytes` to `path` atomically: a temp file beside it, then a rename.
/// The temp file is removed on every error path (NamedTempFile's drop).
pub(crate) fn write_atomic(
    format: &'static str,
    path: &Path,
    bytes: &[u8],
) -> Result<(), ReportError> {
    use std::io::Write;
    let err = |source| ReportError::Write {
        format,
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = temp_beside(path).map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_data().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(p: &Path) -> ReportTarget {
        ReportTarget {
            format: crate::report::ReportFormat::Json,
            path: p.to_path_buf(),
        }
    }

    #[test]
    fn a_failed_write_leaves_no_temp_file() {
        let d = tempfile::tempdir().unwrap();
        // A folder appeared where the report goes after the check: the rename fails.
        let target = d.path().join("r.json");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("inside"), "x").unwrap();
        let e = write_atomic("json", &target, b"{}").unwrap_err();
        assert!(
            e.to_string().contains("r.json") && !e.to_string().contains(".labctl-"),
            "{e}"
        );
        let names: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["r.json"]);
    }

    #[test]
    fn refuses_what_is_not_a_regular_file_and_accepts_absent_or_files() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("r.json");
        std::fs::write(&file, "old").unwrap();
        let link = d.path().join("link.json");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let page = d.path().join("lab.md");
        std::fs::write(&page, "# Lab").unwrap();
        assert!(check_targets(&[target(&file)], &[]).is_ok());
        assert!(check_targets(&[target(&d.path().join("new.json"))], &[]).is_ok());
        for (p, inputs) in [
            (link.clone(), vec![]),
            (d.path().to_path_buf(), vec![]),
            (PathBuf::from("/dev/null"), vec![]),
            (page.clone(), vec![page.clone()]),
            (d.path().join("no/such/r.json"), vec![]),
        ] {
            assert!(check_targets(&[target(&p)], &inputs).is_err(), "{p:?}");
        }
        assert!(check_targets(&[target(&file), target(&file)], &[]).is_err());
        let leftovers: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".labctl-"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
