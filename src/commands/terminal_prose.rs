//! A lab's markdown prose as a terminal shows it: headings in bold, emphasis,
//! code spans, lists with bullets, images as `[image: alt text]`, code blocks
//! indented without their info string, and `verify` blocks left out (the checks
//! are shown in plain English after the step runs).

use console::Style;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::lab::info::{FenceRole, role};

/// Renders `markdown` (variables already filled) for a terminal.
// Long: one match over every markdown event, each arm a few lines, around
// the state the events share (open styles, lists, the heading being drawn).
pub(crate) fn render(markdown: &str, color: bool) -> String {
    let st = |s: Style| s.force_styling(color);
    let bold = st(Style::new().bold());
    let italic = st(Style::new().italic());
    let code = st(Style::new().cyan());
    let dim = st(Style::new().dim());
    let mut out = String::new();
    // Open inline styles, innermost last; text is styled by all of them.
    let mut styles: Vec<Style> = Vec::new();
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut skipping_block = false;
    let mut in_code = false;
    let mut in_image = false;
    // Continuation lines of a list item line up under its text.
    let mut item_indent = String::new();
    let mut heading: Option<(HeadingLevel, usize)> = None;
    let styled = |styles: &[Style], text: &str| -> String {
        styles
            .iter()
            .fold(text.to_string(), |t, s| s.apply_to(t).to_string())
    };
    for ev in Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    ) {
        if skipping_block {
            skipping_block = !matches!(ev, Event::End(TagEnd::CodeBlock));
            continue;
        }
        match ev {
            Event::Start(Tag::Heading { level, .. }) => {
                blank_line(&mut out);
                styles.push(bold.clone());
                heading = Some((level, out.len()));
            }
            Event::End(TagEnd::Heading(_)) => {
                styles.pop();
                // Underlined, so a heading stands out without colour too.
                if let Some((level, from)) = heading.take() {
                    let width = console::measure_text_width(&out[from..]);
                    let rule = if level == HeadingLevel::H1 {
                        "═"
                    } else {
                        "─"
                    };
                    out.push('\n');
                    out.push_str(&dim.apply_to(rule.repeat(width)).to_string());
                }
                out.push('\n');
            }
            Event::Start(Tag::Paragraph) if lists.is_empty() => blank_line(&mut out),
            Event::End(TagEnd::Paragraph) => out.push('\n'),
            Event::Start(Tag::Emphasis) => styles.push(italic.clone()),
            Event::Start(Tag::Strong) => styles.push(bold.clone()),
            Event::End(TagEnd::Emphasis | TagEnd::Strong) => {
                styles.pop();
            }
            Event::Start(Tag::List(first)) => {
                if lists.is_empty() {
                    blank_line(&mut out);
                }
                lists.push(first);
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
            }
            Event::Start(Tag::Item) => {
                if !out.ends_with('\n') && !out.is_empty() {
                    out.push('\n');
                }
                let depth = lists.len().saturating_sub(1);
                let marker = match lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{}.", *n - 1)
                    }
                    _ => "•".to_string(),
                };
                let lead = format!("{}  {marker} ", "  ".repeat(depth));
                item_indent = " ".repeat(console::measure_text_width(&lead));
                out.push_str(&lead);
            }
            Event::End(TagEnd::Item) if !out.ends_with('\n') => out.push('\n'),
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match &kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                let word = info.split_whitespace().next().unwrap_or("");
                if role(word) == FenceRole::Verify {
                    skipping_block = true;
                    continue;
                }
                blank_line(&mut out);
                in_code = true;
            }
            Event::End(TagEnd::CodeBlock) => in_code = false,
            Event::Start(Tag::Image { .. }) => {
                in_image = true;
                out.push_str(&dim.apply_to("[image: ").to_string());
            }
            Event::End(TagEnd::Image) => {
                in_image = false;
                out.push_str(&dim.apply_to("]").to_string());
            }
            Event::Text(t) if in_code => {
                for l in t.lines() {
                    out.push_str(&format!("    {}\n", dim.apply_to(l)));
                }
            }
            Event::Text(t) if in_image => out.push_str(&dim.apply_to(&*t).to_string()),
            Event::Text(t) => out.push_str(&styled(&styles, &t)),
            Event::Code(t) => {
                let shown = if color {
                    t.to_string()
                } else {
                    format!("`{t}`")
                };
                let mut all = styles.clone();
                all.push(code.clone());
                out.push_str(&styled(&all, &shown));
            }
            Event::SoftBreak | Event::HardBreak => {
                out.push('\n');
                if !lists.is_empty() {
                    out.push_str(&item_indent);
                }
            }
            Event::Rule => {
                blank_line(&mut out);
                out.push_str(&dim.apply_to("────────").to_string());
                out.push('\n');
            }
            // Comments and markup are for the browser; keep only text a reader would see.
            Event::Html(h) | Event::InlineHtml(h) if !h.trim_start().starts_with('<') => {
                out.push_str(&h)
            }
            _ => {}
        }
    }
    out.trim().to_string()
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
