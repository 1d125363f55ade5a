//! What stderr can show: colour and live progress are decided apart, so output
//! never vanishes (a pipe with `--color always` still gets every line, and
//! `NO_COLOR` on a terminal still gets progress).

use crate::cli::ColorChoice;

/// The facts the decision reads, gathered once at the edge.
#[derive(Debug, Clone, Default)]
pub(crate) struct Surroundings {
    /// stderr is a terminal.
    pub stderr_is_tty: bool,
    /// `TERM`.
    pub term: Option<String>,
    /// `NO_COLOR`.
    pub no_color: Option<String>,
    /// `CLICOLOR_FORCE`.
    pub clicolor_force: Option<String>,
    /// `CI` is set.
    pub ci: bool,
}

impl Surroundings {
    /// Reads the process's stderr and environment.
    pub(crate) fn of_process() -> Surroundings {
        use std::io::IsTerminal;
        let var = |k: &str| std::env::var(k).ok();
        Surroundings {
            stderr_is_tty: std::io::stderr().is_terminal(),
            term: var("TERM"),
            no_color: var("NO_COLOR"),
            clicolor_force: var("CLICOLOR_FORCE"),
            ci: std::env::var_os("CI").is_some(),
        }
    }

    fn dumb(&self) -> bool {
        self.term.as_deref() == Some("dumb")
    }

    /// Colour: `always`/`never` as said; `auto` follows NO_COLOR, then
    /// CLICOLOR_FORCE, then whether stderr is a terminal that is not dumb.
    pub(crate) fn color(&self, choice: ColorChoice) -> bool {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty() && v != "0");
        match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if set(&self.no_color) => false,
            ColorChoice::Auto if set(&self.clicolor_force) => true,
            ColorChoice::Auto => self.stderr_is_tty && !self.dumb(),
        }
    }

    /// Live progress (spinners redrawn in place) only where a terminal can redraw
    /// them; CI logs keep plain lines even when they fake a terminal.
    pub(crate) fn live(&self) -> bool {
        self.stderr_is_tty && !self.dumb() && !self.ci
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tty(term: &str) -> Surroundings {
        Surroundings {
            stderr_is_tty: true,
            term: Some(term.into()),
            ..Surroundings::default()
        }
    }

    #[test]
    fn colour_and_progress_are_decided_apart() {
        let pipe = Surroundings::default();
        assert!(pipe.color(ColorChoice::Always));
        assert!(!pipe.live());
        let dumb = tty("dumb");
        assert!(!dumb.color(ColorChoice::Auto));
        assert!(!dumb.live());
        let no_color = Surroundings {
            no_color: Some("1".into()),
            ..tty("xterm")
        };
        assert!(!no_color.color(ColorChoice::Auto));
        assert!(no_color.live());
        let forced = Surroundings {
            clicolor_force: Some("1".into()),
            ..Surroundings::default()
        };
        assert!(forced.color(ColorChoice::Auto));
        assert!(!forced.color(ColorChoice::Never));
    }
}
