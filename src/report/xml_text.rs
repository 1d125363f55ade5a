//! Text that XML 1.0 can carry: JUnit and HTML reports hold command output,
//! which may contain any byte.

use std::borrow::Cow;

/// What XML 1.0 allows (`Char` production): tab, LF, CR, U+0020..U+D7FF,
/// U+E000..U+FFFD, U+10000..; not even a character reference may name the rest.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `s` with every character XML 1.0 forbids replaced by U+FFFD. Lone
/// surrogates from invalid UTF-8 became U+FFFD when the output was decoded.
pub(crate) fn xml_safe(s: &str) -> Cow<'_, str> {
    if s.chars().all(is_xml_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(
            s.chars()
                .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_characters_are_replaced() {
        assert_eq!(
            xml_safe("a\u{0}b\u{1b}c\u{FFFE}d\u{FFFF}e\tf\r\n\u{10348}"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FFFD}e\tf\r\n\u{10348}"
        );
        assert!(matches!(xml_safe("plain"), Cow::Borrowed(_)));
    }
}
