//! The one builder for throwaway workshops: a temporary folder with pages and
//! files, removed when dropped. `Workshop::new().page("lab.md", "...").file(...)`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::labctl::Labctl;

/// A temporary workshop folder.
pub struct Workshop {
    /// The folder, removed when dropped.
    pub dir: tempfile::TempDir,
}

impl Workshop {
    /// An empty folder.
    pub fn new() -> Workshop {
        Workshop {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Writes a markdown page (folders created as needed).
    pub fn page(self, name: &str, text: &str) -> Workshop {
        self.file(name, text)
    }

    /// Writes each `(name, text)` page.
    pub fn pages(self, pages: &[(&str, &str)]) -> Workshop {
        pages
            .iter()
            .fold(self, |w, (name, text)| w.file(name, text))
    }

    /// Writes any other file (folders created as needed).
    pub fn file(self, name: &str, text: impl AsRef<[u8]>) -> Workshop {
        let p = self.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    /// Writes an executable script (mode 755).
    pub fn script(self, name: &str, text: &str) -> Workshop {
        use std::os::unix::fs::PermissionsExt;
        let w = self.file(name, text);
        std::fs::set_permissions(w.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
        w
    }

    /// Copies the file or folder `from` (modes kept) to `to` inside the workshop.
    pub fn copy(self, from: &Path, to: &str) -> Workshop {
        copy_tree(from, &self.join(to));
        self
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The folder as a command-line argument.
    pub fn arg(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// The path of `name` inside the folder.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The text of `name` inside the folder, naming it when it cannot be read.
    pub fn read(&self, name: &str) -> String {
        let p = self.join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// `labctl ARGS...` started in this folder.
    pub fn labctl(&self, args: &[&str]) -> Labctl {
        Labctl::new(args).dir(self.path())
    }

    /// Runs labctl with a JSON report; returns (status, report, stderr).
    pub fn run(&self, extra: &[&str]) -> (i32, Value, String) {
        self.run_with_env(extra, &[])
    }

    /// [`Workshop::run`] with environment variables set for labctl.
    pub fn run_with_env(&self, extra: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
        let report = self.join("report.json");
        let _ = std::fs::remove_file(&report);
        let r = format!("json={}", report.display());
        let mut labctl = self
            .labctl(&["run", "--report", &r])
            .args(extra)
            .arg(self.arg());
        for (k, v) in env {
            labctl = labctl.env(k, v);
        }
        let ran = labctl.run();
        let json = std::fs::read_to_string(&report)
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap_or(Value::Null);
        (ran.code.unwrap_or(-1), json, ran.stderr)
    }
}

/// `cp -r` without following symlinks inside `src` (they are recreated as symlinks).
fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    let kind = std::fs::symlink_metadata(src).unwrap().file_type();
    if kind.is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(src).unwrap(), dst).unwrap();
    } else if kind.is_dir() {
        std::fs::create_dir_all(dst).unwrap();
        for e in std::fs::read_dir(src).unwrap().flatten() {
            copy_tree(&e.path(), &dst.join(e.file_name()));
        }
    } else {
        std::fs::copy(src, dst).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    }
}
