//! The files of a workshop folder that belong to it: what a per-user working
//! copy and `labctl job`'s ConfigMap take. `.gitignore` (and `.ignore`) rules
//! apply as ripgrep applies them, through the `ignore` crate, even outside a
//! git repository; `.git` and `target` are always left out. FIFOs, sockets and
//! devices are never opened: a FIFO would block the reader forever.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// What an entry is, as found (symlinks not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// A folder.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link (kept as a link by a copy).
    Symlink,
}

/// One entry under the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Path relative to the root.
    pub rel: PathBuf,
    pub kind: EntryKind,
}

/// Which entries to take.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Selection {
    /// Leave out names starting with `.` (besides `.git`, always left out).
    pub skip_hidden: bool,
}

/// A folder could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("cannot list {root}: {source}")]
pub(crate) struct WalkError {
    /// The folder walked.
    pub root: PathBuf,
    /// Cause.
    pub source: ignore::Error,
}

/// Every entry under `root` that belongs to the workshop, parents before
/// children, in name order; special files are left out.
pub(crate) fn entries(root: &Path, selection: Selection) -> Result<Vec<Entry>, WalkError> {
    let walker = ignore::WalkBuilder::new(root)
        .hidden(selection.skip_hidden)
        .parents(false)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|e| {
            e.depth() == 0 || !matches!(e.file_name().to_str(), Some(".git" | "target"))
        })
        .build();
    let mut out = Vec::new();
    for found in walker {
        let e = found.map_err(|source| WalkError {
            root: root.to_path_buf(),
            source,
        })?;
        if e.depth() == 0 {
            continue;
        }
        let Some(ft) = e.file_type() else { continue };
        let kind = if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_symlink() {
            EntryKind::Symlink
        } else if ft.is_file() {
            EntryKind::File
        } else {
            // FIFO, socket, device: never part of a copy.
            debug_assert!(
                ft.is_fifo() || ft.is_socket() || ft.is_char_device() || ft.is_block_device()
            );
            continue;
        };
        let rel = e
            .path()
            .strip_prefix(root)
            .unwrap_or(e.path())
            .to_path_buf();
        out.push(Entry { rel, kind });
    }
    Ok(out)
}

/// Copies the workshop's entries from `src` into the existing folder `dst`.
pub(crate) fn copy(src: &Path, dst: &Path) -> std::io::Result<()> {
    let list = entries(src, Selection::default()).map_err(std::io::Error::other)?;
    for e in list {
        let (from, to) = (src.join(&e.rel), dst.join(&e.rel));
        match e.kind {
            EntryKind::Dir => std::fs::create_dir_all(&to)?,
            EntryKind::Symlink => std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?,
            EntryKind::File => {
                std::fs::copy(&from, &to)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitignore_rules_special_files_and_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::write(r.join(".gitignore"), "build/\n*.log\n!keep.log\n").unwrap();
        for f in [
            "lab.md",
            "build/out.bin",
            "a.log",
            "keep.log",
            "sub/b.md",
            ".env",
            ".git/HEAD",
            "target/x",
        ] {
            std::fs::create_dir_all(r.join(f).parent().unwrap()).unwrap();
            std::fs::write(r.join(f), f).unwrap();
        }
        std::os::unix::fs::symlink("lab.md", r.join("link.md")).unwrap();
        nix::unistd::mkfifo(&r.join("pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let names: Vec<String> = entries(r, Selection::default())
            .unwrap()
            .iter()
            .map(|e| e.rel.display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                ".env",
                ".gitignore",
                "keep.log",
                "lab.md",
                "link.md",
                "sub",
                "sub/b.md"
            ]
        );
        let hidden: Vec<_> = entries(r, Selection { skip_hidden: true }).unwrap();
        assert!(hidden.iter().all(|e| !e.rel.starts_with(".env")));
        let out = tempfile::tempdir().unwrap();
        copy(r, out.path()).unwrap();
        assert!(
            std::fs::symlink_metadata(out.path().join("link.md"))
                .unwrap()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(out.path().join("sub/b.md")).unwrap(),
            "sub/b.md"
        );
        assert!(!out.path().join("pipe").exists() && !out.path().join("build").exists());
    }
}
