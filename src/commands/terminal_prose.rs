//! A lab's markdown prose as a terminal shows it: headings in bold, emphasis,
//! code spans, lists with bullets, images as `[image: alt text]`, code blocks
//! indented without their info string, and `verify` blocks left out (the checks
//! are shown in plain English after the step runs).

use console::Style;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::lab::info::{FenceRole, role};

/// Renders `markdown` (variables already filled) for a terminal.
pub(crate) fn render(markdown: &str, color: bool) -> String {
    let mut prose = Prose::new(color);
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for ev in Parser::new_ext(markdown, options) {
        if prose.skipping_block {
            prose.skipping_block = !matches!(ev, Event::End(TagEnd::CodeBlock));
            continue;
        }
        prose.event(ev);
    }
    prose.out.trim().to_string()
}

/// The styles a terminal page uses, forced on or off.
struct Palette {
    bold: Style,
    italic: Style,
    code: Style,
    dim: Style,
}

/// The text drawn so far and the state markdown events share.
struct Prose {
    color: bool,
    palette: Palette,
    out: String,
    /// Open inline styles, innermost last; text is styled by all of them.
    styles: Vec<Style>,
    /// Open lists: the next number of an ordered one, None for bullets.
    lists: Vec<Option<u64>>,
    /// Inside a `verify` block, which the terminal leaves out.
    skipping_block: bool,
    in_code: bool,
    in_image: bool,
    /// Continuation lines of a list item line up under its text.
    item_indent: String,
    /// The heading being drawn: its level and where its text starts in `out`.
    heading: Option<(HeadingLevel, usize)>,
}

impl Prose {
    fn new(color: bool) -> Prose {
        let st = |s: Style| s.force_styling(color);
        Prose {
            color,
            palette: Palette {
                bold: st(Style::new().bold()),
                italic: st(Style::new().italic()),
                code: st(Style::new().cyan()),
                dim: st(Style::new().dim()),
            },
            out: String::new(),
            styles: Vec::new(),
            lists: Vec::new(),
            skipping_block: false,
            in_code: false,
            in_image: false,
            item_indent: String::new(),
            heading: None,
        }
    }

    fn event(&mut self, ev: Event<'_>) {
        match ev {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => self.text(&t),
            Event::Code(t) => self.code(&t),
            Event::SoftBreak | Event::HardBreak => {
                self.out.push('\n');
                if !self.lists.is_empty() {
                    self.out.push_str(&self.item_indent);
                }
            }
            Event::Rule => {
                blank_line(&mut self.out);
                self.push_dim("────────");
                self.out.push('\n');
            }
            // Comments and markup are for the browser; keep only text a reader would see.
            Event::Html(h) | Event::InlineHtml(h) if !h.trim_start().starts_with('<') => {
                self.out.push_str(&h)
            }
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { level, .. } => {
                blank_line(&mut self.out);
                self.styles.push(self.palette.bold.clone());
                self.heading = Some((level, self.out.len()));
            }
            Tag::Paragraph if self.lists.is_empty() => blank_line(&mut self.out),
            Tag::Emphasis => self.styles.push(self.palette.italic.clone()),
            Tag::Strong => self.styles.push(self.palette.bold.clone()),
            Tag::List(first) => {
                if self.lists.is_empty() {
                    blank_line(&mut self.out);
                }
                self.lists.push(first);
            }
            Tag::Item => self.item(),
            Tag::CodeBlock(kind) => {
                let info = match &kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                let word = info.split_whitespace().next().unwrap_or("");
                if role(word) == FenceRole::Verify {
                    self.skipping_block = true;
                    return;
                }
                blank_line(&mut self.out);
                self.in_code = true;
            }
            Tag::Image { .. } => {
                self.in_image = true;
                self.push_dim("[image: ");
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => {
                self.styles.pop();
                self.underline_heading();
                self.out.push('\n');
            }
            TagEnd::Paragraph => self.out.push('\n'),
            TagEnd::Emphasis | TagEnd::Strong => {
                self.styles.pop();
            }
            TagEnd::List(_) => {
                self.lists.pop();
            }
            TagEnd::Item if !self.out.ends_with('\n') => self.out.push('\n'),
            TagEnd::CodeBlock => self.in_code = false,
            TagEnd::Image => {
                self.in_image = false;
                self.push_dim("]");
            }
            _ => {}
        }
    }

    /// Underlined, so a heading stands out without colour too.
    fn underline_heading(&mut self) {
        if let Some((level, from)) = self.heading.take() {
            let width = console::measure_text_width(&self.out[from..]);
            let rule = if level == HeadingLevel::H1 {
                "═"
            } else {
                "─"
            };
            self.out.push('\n');
            self.push_dim(&rule.repeat(width));
        }
    }

    fn item(&mut self) {
        if !self.out.ends_with('\n') && !self.out.is_empty() {
            self.out.push('\n');
        }
        let depth = self.lists.len().saturating_sub(1);
        let marker = match self.lists.last_mut() {
            Some(Some(n)) => {
                *n += 1;
                format!("{}.", *n - 1)
            }
            _ => "•".to_string(),
        };
        let lead = format!("{}  {marker} ", "  ".repeat(depth));
        self.item_indent = " ".repeat(console::measure_text_width(&lead));
        self.out.push_str(&lead);
    }

    fn text(&mut self, t: &str) {
        if self.in_code {
            for l in t.lines() {
                let line = format!("    {}\n", self.palette.dim.apply_to(l));
                self.out.push_str(&line);
            }
        } else if self.in_image {
            self.push_dim(t);
        } else {
            let shown = styled(&self.styles, t);
            self.out.push_str(&shown);
        }
    }

    fn code(&mut self, t: &str) {
        let shown = if self.color {
            t.to_string()
        } else {
            format!("`{t}`")
        };
        let mut all = self.styles.clone();
        all.push(self.palette.code.clone());
        self.out.push_str(&styled(&all, &shown));
    }

    fn push_dim(&mut self, text: &str) {
        let dimmed = self.palette.dim.apply_to(text).to_string();
        self.out.push_str(&dimmed);
    }
}

fn styled(styles: &[Style], text: &str) -> String {
    styles
        .iter()
        .fold(text.to_string(), |t, s| s.apply_to(t).to_string())
}

fn blank_line(out: &mut String) {
    if out.is_empty() {
        return;
    }
    while !out.ends_with("\n\n") {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn prose_reads_as_text_without_markdown_or_checks() {
        let md = "## Register the destination\n\nA `ServiceEntry` adds a host *on purpose*.\n\n- one\n- two\n  more\n\n```verify\n- exit: 0\n```\n\n```yaml {title=x}\nkind: ServiceEntry\n```\n\n![Egress blocked: reset](images/x.svg)\n";
        let t = render(md, false);
        assert_eq!(
            t,
            "Register the destination\n────────────────────────\n\nA `ServiceEntry` adds a host on purpose.\n\n  • one\n  • two\n    more\n\n    kind: ServiceEntry\n\n[image: Egress blocked: reset]"
        );
    }
}
