//! A real terminal for tests: labctl runs in a tmux pane (a pseudo-terminal with
//! a screen), keys are typed into it and the screen is read back as a person sees it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// One tmux server on a private socket, holding one pane; killed on drop.
pub struct Screen {
    dir: tempfile::TempDir,
}

impl Screen {
    /// Starts `command` (run by `sh -c`) in `cwd` on an 80x30 terminal with TERM=`term`.
    pub fn start(command: &str, cwd: &Path, term: &str) -> Screen {
        let dir = tempfile::tempdir().unwrap();
        let s = Screen { dir };
        let script = s.dir.path().join("run.sh");
        // Keep the pane after labctl exits so its last screen can be read, and record the status.
        std::fs::write(
            &script,
            format!(
                "cd '{}' && export TERM={term} && unset CI NO_COLOR CLICOLOR_FORCE && {command}; echo \"[exit $?]\"; sleep 600\n",
                cwd.display()
            ),
        )
        .unwrap();
        let ok = s
            .tmux(&[
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "80",
                "-y",
                "30",
            ])
            .arg(format!("sh {}", script.display()))
            .status()
            .expect("tmux runs (install tmux)")
            .success();
        assert!(ok, "tmux new-session");
        s
    }

    fn tmux(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(self.dir.path().join("sock")).args(args);
        c
    }

    /// Types keys (tmux key names: "Enter", "q", ...).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status().unwrap().success());
    }

    /// The screen (whole scrollback), trailing blank lines dropped.
    pub fn text(&self) -> String {
        let out = self
            .tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", "0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Waits until `done(screen)` holds; panics with the screen after `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let t = self.text();
            if done(&t) {
                return t;
            }
            assert!(
                start.elapsed() < limit,
                "waited {limit:?} for {what}; the screen:\n{t}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until labctl has exited; returns its status and the final screen.
    pub fn exit(&self, limit: Duration) -> (i32, String) {
        let t = self.wait_for("labctl to exit", limit, |t| t.contains("[exit "));
        let code = t
            .rsplit("[exit ")
            .next()
            .and_then(|r| r.split(']').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(-1);
        (code, t)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]).status();
    }
}
