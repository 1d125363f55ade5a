//! `--update-output`: the fence body rewritten from the actual output, keeping
//! the author's elisions and patterns where they still match.

use super::lines::{LinePat, lines, patterns};
use super::similar_text::{drop_noise, is_noise};
use super::{Verdict, compare};
use crate::lab::model::OutputMode;

/// The new fence body for `--update-output`: `expected` itself when it still holds,
/// else the actual text with the author's `...` lines kept where they still cover
/// lines, and the author's lines (with `[..]` or placeholders) kept where they still
/// match. In similar mode noise is dropped from the actual text unless the author
/// documented noise. Alignment is by lines, so reformatted JSON is written as actual.
pub fn update_expected(expected: &str, actual: &str, strict: bool) -> String {
    let mode = if strict {
        OutputMode::Strict
    } else {
        OutputMode::Similar
    };
    if compare(expected, actual, mode) == Verdict::Pass {
        return expected.to_string();
    }
    let documented_noise = expected.lines().any(is_noise);
    let actual = if strict || documented_noise {
        actual.to_string()
    } else {
        drop_noise(actual)
    };
    let exp = lines(expected);
    let act = lines(&actual);
    let align = Alignment::new(&exp, &act);
    let mut body = align.merged().join("\n");
    if expected.ends_with('\n') || expected.is_empty() {
        body.push('\n');
    }
    body
}

/// The cheapest alignment of expected lines with actual lines.
struct Alignment<'t> {
    exp: &'t [&'t str],
    act: &'t [&'t str],
    pats: Vec<LinePat>,
    /// `cost[i][j]`: fewest lines dropped from expected plus lines taken from
    /// actual to align `exp[i..]` with `act[j..]`; `...` covers any run of lines for free.
    cost: Vec<Vec<usize>>,
}

impl<'t> Alignment<'t> {
    fn new(exp: &'t [&'t str], act: &'t [&'t str]) -> Self {
        let pats = patterns(exp);
        let (n, m) = (pats.len(), act.len());
        let mut align = Alignment {
            exp,
            act,
            pats,
            cost: vec![vec![0usize; m + 1]; n + 1],
        };
        for (j, c) in align.cost[n].iter_mut().enumerate() {
            *c = m - j;
        }
        for i in (0..n).rev() {
            for j in (0..=m).rev() {
                align.cost[i][j] = align.step_cost(i, j);
            }
        }
        align
    }

    fn matches(&self, i: usize, j: usize) -> bool {
        match &self.pats[i] {
            LinePat::Line(re) => re.is_match(self.act[j]),
            LinePat::More => false,
        }
    }

    /// `cost[i][j]` from the costs after it.
    fn step_cost(&self, i: usize, j: usize) -> usize {
        let (cost, m) = (&self.cost, self.act.len());
        match self.pats[i] {
            LinePat::More => {
                let stop = cost[i + 1][j];
                if j < m {
                    stop.min(cost[i][j + 1])
                } else {
                    stop
                }
            }
            LinePat::Line(_) => {
                let mut best = 1 + cost[i + 1][j];
                if j < m {
                    // Taking the actual line in place of the expected one.
                    best = best.min(1 + cost[i][j + 1]).min(1 + cost[i + 1][j + 1]);
                    if self.matches(i, j) {
                        best = best.min(cost[i + 1][j + 1]);
                    }
                }
                best
            }
        }
    }

    /// The lines of the cheapest alignment: the author's where they hold, else actual.
    fn merged(&self) -> Vec<&'t str> {
        let (exp, act, cost) = (self.exp, self.act, &self.cost);
        let (n, m) = (self.pats.len(), act.len());
        let mut out: Vec<&str> = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i == n {
                out.push(act[j]);
                j += 1;
                continue;
            }
            match self.pats[i] {
                LinePat::More => {
                    // Keep the author's `...` once, where it was, covering as few lines as
                    // the best alignment allows.
                    if cost[i][j] == cost[i + 1][j] {
                        out.push(exp[i]);
                        i += 1;
                    } else {
                        j += 1;
                    }
                }
                LinePat::Line(_) => {
                    if j < m && self.matches(i, j) && cost[i][j] == cost[i + 1][j + 1] {
                        out.push(exp[i]);
                        i += 1;
                        j += 1;
                    } else if j < m && cost[i][j] == 1 + cost[i + 1][j + 1] {
                        out.push(act[j]);
                        i += 1;
                        j += 1;
                    } else if j < m && cost[i][j] == 1 + cost[i][j + 1] {
                        out.push(act[j]);
                        j += 1;
                    } else {
                        i += 1;
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_keeps_elisions_that_still_match() {
        let e = "pod/web-[..] created\n...\ndone in [DURATION]\n";
        let a = "pod/web-abc created\nline 1\nline 2\ndone in 3s\n";
        assert_eq!(update_expected(e, a, true), e);
        let a = "pod/web-abc created\nline 1\nservice/web created\nfailed\n";
        assert_eq!(
            update_expected(e, a, true),
            "pod/web-[..] created\n...\nfailed\n"
        );
        let e = "header\n...\nfooter [INT]\n";
        let a = "header\nx\nnew line\nfooter 7\n";
        assert_eq!(update_expected(e, a, true), e);
        let a = "HEADER\nx\nfooter 7\n";
        assert_eq!(update_expected(e, a, true), "HEADER\n...\nfooter [INT]\n");
        // Similar mode writes new values, not stale ones, and drops curl noise.
        let e = "mode: REGISTRY_ONLY\n";
        let a = "  % Total    % Received % Xferd\nmode: ALLOW_ANY\n";
        assert_eq!(update_expected(e, a, false), "mode: ALLOW_ANY\n");
        let up = update_expected(e, a, false);
        assert_eq!(compare(&up, a, OutputMode::Similar), Verdict::Pass);
    }
}
