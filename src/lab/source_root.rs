//! Where a lab file is "from": its path relative to the enclosing git checkout
//! (else its own folder), so reports name it the same whichever folder labctl
//! was started in and however the path was typed (`labs/a.md`, `./labs/a.md`,
//! `/tmp/x/labs/a.md`).

use std::path::{Path, PathBuf};

/// `labs/securing-egress.md` for `/any/where/repo/labs/securing-egress.md`
/// when `/any/where/repo` holds `.git`; the file name alone outside a
/// checkout; the path as given when it cannot be resolved.
pub(crate) fn relative_file(path: &Path) -> PathBuf {
    let Ok(abs) = std::fs::canonicalize(path) else {
        return path.to_path_buf();
    };
    let root = abs
        .ancestors()
        .skip(1)
        .find(|a| a.join(".git").exists())
        .or_else(|| abs.parent());
    match root.and_then(|r| abs.strip_prefix(r).ok()) {
        Some(rel) => rel.to_path_buf(),
        None => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_to_the_checkout_however_typed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("repo/.git")).unwrap();
        std::fs::create_dir_all(dir.path().join("repo/labs")).unwrap();
        let lab = dir.path().join("repo/labs/a.md");
        std::fs::write(&lab, "# A\n").unwrap();
        assert_eq!(relative_file(&lab), Path::new("labs/a.md"));
        let dotted = dir.path().join("repo/./labs/../labs/a.md");
        assert_eq!(relative_file(&dotted), Path::new("labs/a.md"));
        std::fs::remove_dir(dir.path().join("repo/.git")).unwrap();
        assert_eq!(relative_file(&lab), Path::new("a.md"));
    }
}
