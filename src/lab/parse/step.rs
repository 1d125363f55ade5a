//! One step fence → a `Step`: its attributes (name, timing, exit, skip, terminal,
//! background), its body in the dialect it is written in, and its id.

use crate::diag::Code;
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use serde_json::Value;

use super::{Fence, PageParser, looks_endless};
use crate::diag::Severity;
use crate::lab::check_spec;
use crate::lab::info::{self, BodyFormat, InfoString};
use crate::lab::model::*;

/// A fence being read, with its parsed info string and where that string sits in the page.
pub(super) struct FenceContext<'f> {
    pub(super) fence: &'f Fence,
    pub(super) info: &'f InfoString,
    /// Byte offset in the page of the info string (attribute offsets count from here).
    pub(super) info_base: usize,
}

impl FenceContext<'_> {
    /// The fence's opening marker, where fence-wide diagnostics point.
    pub(super) fn opening(&self) -> Range<usize> {
        self.fence.opening()
    }

    /// The attribute named `key`; the last one when it is given twice, as in `InfoString::map`.
    pub(super) fn attribute(&self, key: &str) -> Option<&Value> {
        self.info
            .attributes
            .iter()
            .rfind(|a| a.key == key)
            .map(|a| &a.value)
    }

    /// Where attribute `key` is written, else the opening marker.
    fn attribute_range(&self, key: &str) -> Range<usize> {
        self.info
            .attributes
            .iter()
            .find(|a| a.key == key)
            .map(|a| self.info_base + a.offset..self.info_base + a.offset + key.len())
            .unwrap_or_else(|| self.opening())
    }

    /// `sh`/`bash`/`shell`: the fences that take Runme's attributes.
    fn is_runme(&self) -> bool {
        matches!(self.info.word.as_str(), "sh" | "bash" | "shell")
    }
}

/// What the fence's word says the step is.
pub(super) struct StepShape {
    pub(super) kind: StepKind,
    pub(super) terminal: TerminalSel,
    pub(super) format: BodyFormat,
}

/// The steps read so far in a page, and what the next fence needs to know of them.
pub(super) struct StepsSoFar {
    pub(super) steps: Vec<Step>,
    /// Index of the step that verify and output fences attach to.
    pub(super) anchor: Option<usize>,
    /// Where the prose of the next step starts.
    pub(super) prose_from: usize,
    /// Runnable steps so far (for `<stem>:<n>` ids).
    pub(super) run_count: usize,
    /// Manual steps so far (for `<stem>:manual-<k>` ids).
    pub(super) manual_count: usize,
    /// Step names seen, with the line of each.
    pub(super) seen_names: BTreeMap<String, usize>,
}

impl PageParser<'_> {
    /// The step a fence describes; None when its body cannot be read (already reported).
    pub(super) fn build_step(
        &mut self,
        cx: &FenceContext<'_>,
        shape: StepShape,
        body: String,
        prose: String,
        acc: &mut StepsSoFar,
    ) -> Option<Step> {
        let known: Vec<&str> = if cx.is_runme() {
            info::STEP_KEYS
                .iter()
                .chain(info::RUNME_KEYS)
                .copied()
                .collect()
        } else {
            info::STEP_KEYS.to_vec()
        };
        let report = shape.kind != StepKind::Manual || !cx.info.attributes.is_empty();
        self.check_keys(cx.info, &known, cx.info_base, report);
        let timeout = self.duration_attribute(cx, "timeout");
        let timing = Timing {
            within: self.duration_attribute(cx, "within"),
            interval: self.duration_attribute(cx, "interval"),
            hold: None,
        };
        let exit = self.exit_attribute(cx);
        let skip = skip_reason(cx);
        let terminal = self.terminal_attribute(cx, shape.terminal);
        let name = self.name_attribute(cx);
        let (mut kind, script, terminal, examiner) = {
            let b = self.step_body(cx.fence, body, shape.format, terminal)?;
            (shape.kind, b.script, b.terminal, b.examiner)
        };
        let mut script = script;
        if kind == StepKind::Execute && script.trim() == "<ctrl+c>" {
            kind = StepKind::Interrupt;
            script.clear();
        }
        let (background, background_auto) = self.background_attribute(cx, kind, &script);
        let id = step_id(self.stem, name.as_deref(), kind, acc);
        let f = cx.fence;
        Some(Step {
            id,
            name,
            span: self
                .idx
                .span(f.range.start + f.indent..f.range.start + f.indent + 3),
            info: cx.info.word.clone(),
            kind,
            terminal,
            body: script,
            body_span: f.body_range.clone(),
            background,
            background_auto,
            timeout,
            timing,
            exit,
            skip,
            checks: Vec::new(),
            expected: None,
            examiner,
            prose,
        })
    }

    fn duration_attribute(&mut self, cx: &FenceContext<'_>, key: &str) -> Option<Duration> {
        let v = cx.attribute(key)?;
        match check_spec::parse_duration(v) {
            Ok(d) => Some(d),
            Err(e) => {
                self.diag(
                    Severity::Error,
                    Code::BadAttributeValue,
                    cx.attribute_range(key),
                    format!("`{key}`: {e}"),
                    Some("durations look like 30s, 2m or 1m30s".into()),
                );
                None
            }
        }
    }

    fn exit_attribute(&mut self, cx: &FenceContext<'_>) -> ExpectedExit {
        let Some(v) = cx.attribute("exit") else {
            return ExpectedExit::Code(0);
        };
        check_spec::parse_exit(v).unwrap_or_else(|e| {
            self.diag(
                Severity::Error,
                Code::BadAttributeValue,
                cx.attribute_range("exit"),
                e.to_string(),
                None,
            );
            ExpectedExit::Code(0)
        })
    }

    /// `terminal=N` or `terminal=all` overrides the fence word's terminal.
    fn terminal_attribute(&mut self, cx: &FenceContext<'_>, default: TerminalSel) -> TerminalSel {
        let Some(t) = cx.attribute("terminal") else {
            return default;
        };
        match t
            .as_u64()
            .or_else(|| t.as_str().and_then(|s| s.parse().ok()))
        {
            Some(n) if (1..=u64::from(info::MAX_TERMINAL)).contains(&n) => {
                TerminalSel::One(n as u32)
            }
            _ if t.as_str() == Some("all") => TerminalSel::All,
            _ => {
                self.diag(
                    Severity::Error,
                    Code::BadAttributeValue,
                    cx.attribute_range("terminal"),
                    format!("`terminal={t}` is not a terminal number"),
                    Some(format!(
                        "write terminal=2 (1 to {}) or terminal=all",
                        info::MAX_TERMINAL
                    )),
                );
                default
            }
        }
    }

    /// `name`, or on a Runme cell its `id`; refused when empty or holding invisible characters.
    fn name_attribute(&mut self, cx: &FenceContext<'_>) -> Option<String> {
        let v = cx.attribute("name").or(if cx.is_runme() {
            cx.attribute("id")
        } else {
            None
        })?;
        match v {
            Value::String(s) if s.chars().any(info::is_invisible) => {
                self.diag(
                    Severity::Error,
                    Code::InvisibleName,
                    cx.attribute_range("name"),
                    format!("step name {s:?} holds an invisible or bidi-control character"),
                    Some("retype the name: what the page shows is not what it says".into()),
                );
                None
            }
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            v => {
                self.diag(
                    Severity::Error,
                    Code::BadAttributeValue,
                    cx.attribute_range("name"),
                    format!("`name={v}` must be a non-empty string"),
                    None,
                );
                None
            }
        }
    }

    /// (background, inferred): as written, else inferred from a body that never ends.
    fn background_attribute(
        &mut self,
        cx: &FenceContext<'_>,
        kind: StepKind,
        script: &str,
    ) -> (bool, bool) {
        match cx.attribute("background").map(|v| (v, info::truthy(v))) {
            Some((_, Some(b))) => (b, false),
            Some((v, None)) => {
                self.diag(
                    Severity::Error,
                    Code::BadAttributeValue,
                    cx.attribute_range("background"),
                    format!("`background={v}` must be true or false"),
                    None,
                );
                (false, false)
            }
            None => {
                let auto = kind == StepKind::Execute && looks_endless(script);
                (auto, auto)
            }
        }
    }

    /// The script to run, read from the body in the fence's dialect, and the terminal an
    /// Educates `session:` names.
    fn step_body(
        &mut self,
        f: &Fence,
        body: String,
        format: BodyFormat,
        terminal: TerminalSel,
    ) -> Option<StepBody> {
        let mut out = StepBody {
            script: body,
            terminal,
            examiner: None,
        };
        match format {
            BodyFormat::Script | BodyFormat::Manual => {}
            BodyFormat::EducatesCommand | BodyFormat::EducatesInterrupt => {
                let (command, session) = self.educates_body(f, &out.script, format)?;
                out.script = command;
                if let (Some(n), TerminalSel::One(_)) = (session, terminal) {
                    out.terminal = TerminalSel::One(n);
                }
            }
            BodyFormat::Examiner => {
                out.examiner = Some(self.examiner_body(f, &out.script)?);
                out.script = String::new();
            }
        }
        Some(out)
    }
}

/// A step's body once read in its dialect.
struct StepBody {
    script: String,
    terminal: TerminalSel,
    examiner: Option<ExaminerTest>,
}

/// Why the step is shown and not run: `skip` as written, else Runme's `excludeFromRunAll`.
fn skip_reason(cx: &FenceContext<'_>) -> Option<String> {
    const BY_AUTHOR: &str = "skipped by the author";
    if let Some(v) = cx.attribute("skip") {
        return match v {
            Value::Bool(true) => Some(BY_AUTHOR.to_string()),
            Value::String(s) if s == "false" => None,
            Value::String(s) if s == "true" => Some(BY_AUTHOR.to_string()),
            Value::String(s) => Some(s.clone()),
            _ => None,
        };
    }
    let excluded = cx.is_runme()
        && cx
            .attribute("excludeFromRunAll")
            .and_then(info::truthy)
            .unwrap_or(false);
    excluded.then(|| "excluded from run-all (Runme excludeFromRunAll)".to_string())
}

/// `name` when given, else `<stem>:<n>` counting runnable steps or `<stem>:manual-<k>`.
fn step_id(stem: &str, name: Option<&str>, kind: StepKind, acc: &mut StepsSoFar) -> String {
    let default = if kind == StepKind::Manual {
        acc.manual_count += 1;
        format!("{stem}:manual-{}", acc.manual_count)
    } else {
        acc.run_count += 1;
        format!("{stem}:{}", acc.run_count)
    };
    name.map(str::to_string).unwrap_or(default)
}
